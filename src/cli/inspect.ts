/**
 * `rnnkit inspect MODEL`, `rnnkit plot HISTORY`, `rnnkit experiment memory`: the inspection API
 * (src/inspect/) on files, drawn with the chart specs of src/inspect/charts.ts (SVG by vega, PNG
 * by resvg: src/cli/render.ts). Loaded only when one of these commands runs (src/cli/look.ts).
 *
 * File names of `inspect`, in --out-dir: `[encoder-|decoder-]l{k}-{forward|reverse}-gates` (not
 * for the plain RNN, which has no gates) and `-states`, `gradient-norm`, `attention` (seq2seq
 * with attention), `parameters` (.svg/.png table, plus parameters.json and parameters.md), each
 * chart as .svg and .png, and `inspect.json` with every number drawn.
 */
import { readFileSync } from "node:fs";
import type { Backend } from "../backend/backend.js";
import type { Example } from "../data/batches.js";
import { EOS } from "../data/tokenizer.js";
import { defaults } from "../defaults.js";
import {
  type ChartSpec, type HistoryPoint, type NormSeries, attentionChart, gatesChart, gradientNormChart, gradientSeries, lossChart, memoryAccuracyChart,
  parameterChart, statesChart,
} from "../inspect/charts.js";
import { type LayerTrace, type LossFunction, gradientThroughTime, inspect } from "../inspect/inspect.js";
import { MEMORY_CELLS, MEMORY_GATE_INITS, type MemoryGateInit, type MemoryResult, memoryExperiment } from "../inspect/memory.js";
import { parameterCounts } from "../inspect/parameters.js";
import type { Model } from "../models/model.js";
import { forecastRows, forecastWindows } from "../tasks/forecast.js";
import type { TaskModel } from "../tasks/open.js";
import { RnnkitError } from "../tensor.js";
import { int, num, open, report } from "./commands.js";
import { column, numericColumn, readRecords } from "./data.js";
import { claimFiles, outDir, writeChart, writeText } from "./render.js";
import { join } from "node:path";

interface InspectFlags {
  input?: string;
  data?: string;
  row: string;
  textColumn?: string;
  outDir: string;
  force?: boolean;
  json?: boolean;
}

/** What one input of a task becomes: the example the model runs, axis labels, and the loss for the gradient plot. */
interface Prepared {
  example: Example;
  /** labels of the steps the recurrent layers read (the encoder's, for seq2seq) */
  tokens: string[];
  /** seq2seq: the decoder's steps */
  targetTokens?: string[];
  /** what the gradient is of, in words */
  lossIs: string;
  loss?: LossFunction;
}

function pieces(t: { decode(ids: ArrayLike<number>): string }, ids: ArrayLike<number>): string[] {
  return Array.from(ids, (id) => (id === EOS ? "<eos>" : t.decode([id])));
}

function textOf(o: InspectFlags, t: TaskModel, textColumn: string | undefined): string {
  if (o.input !== undefined && o.data !== undefined) throw new RnnkitError("--input and --data: expected one of them, got both");
  if (o.input !== undefined) {
    if (o.input.trim() === "") throw new RnnkitError("--input: expected some text, got an empty string");
    return o.input;
  }
  if (o.data === undefined) throw new RnnkitError(`expected --input TEXT or --data FILE --row N (a ${t.task} model)`);
  const records = readRecords(o.data);
  const row = int("row", o.row, 1, Math.max(1, records.length));
  if (!textColumn) throw new RnnkitError(`--data: a ${t.task} model reads --input TEXT, not a data file`);
  return column(o.data, records, textColumn)[row - 1];
}

function prepare(t: TaskModel, o: InspectFlags): Prepared {
  switch (t.task) {
    case "lm": {
      const ids = t.tokenizer.encode(textOf(o, t, undefined));
      if (ids.length < 2) throw new RnnkitError(`--input: expected at least 2 ${t.tokenizer.kind}s (each step predicts the next), got ${ids.length}`);
      return { example: { tokens: ids.slice(0, -1), target: Array.from(ids.slice(1)) }, tokens: pieces(t.tokenizer, ids.slice(0, -1)), lossIs: "the cross-entropy of predicting each next token of the input" };
    }
    case "classify": {
      const text = textOf(o, t, o.textColumn ?? t.info.textColumn);
      const ids = t.tokenizer.encode(text).slice(0, t.info.maxLen);
      if (ids.length === 0) throw new RnnkitError("--input: expected some tokens, got none");
      const label = t.predictOne(text).label;
      return { example: { tokens: ids, target: t.labels.indexOf(label) }, tokens: pieces(t.tokenizer, ids), lossIs: `the cross-entropy of the predicted label ${JSON.stringify(label)}` };
    }
    case "tag": {
      const words = textOf(o, t, undefined).split(/\s+/).filter((w) => w !== "");
      const tags = t.predict([words])[0];
      return {
        example: { tokens: Int32Array.from(words, (w) => t.tokenizer.id(w)), target: tags.map((g) => t.tags.indexOf(g)) },
        tokens: words, lossIs: "the cross-entropy of the predicted tags",
      };
    }
    case "seq2seq": {
      const text = textOf(o, t, undefined);
      const src = t.tokenizer.encode(text).slice(0, t.info.maxLen);
      if (src.length === 0) throw new RnnkitError("--input: expected some tokens, got none");
      const out = t.translateMany([text]).translations[0].ids;
      const target = [...out, EOS];
      return {
        example: { tokens: src, target }, tokens: pieces(t.tokenizer, src), targetTokens: pieces(t.targetTokenizer, target),
        lossIs: "the cross-entropy of the model's own translation (teacher-forced)",
      };
    }
    case "forecast": {
      if (o.data === undefined || o.input !== undefined) throw new RnnkitError("a forecast model reads --data FILE --row N (the window of rows ending at row N), not --input");
      const records = readRecords(o.data);
      const rows = forecastRows(numericColumn(o.data, records, t.info.column), t.info.features.map((f) => numericColumn(o.data!, records, f)));
      const W = t.info.window, Hz = t.info.horizon;
      const row = int("row", o.row, W, Math.max(W, rows.length - Hz));
      const example = forecastWindows(rows, t.scaler, W, Hz)[row - W];
      return { example, tokens: Array.from({ length: W }, (_, k) => `row ${row - W + 1 + k}`), lossIs: `the mean squared error of the forecast of rows ${row + 1}..${row + Hz}` };
    }
  }
}

/** The trace cut to its first units so that a heatmap has at most defaults.inspectMaxCells cells (a note says so). */
export function drawable(lt: LayerTrace): LayerTrace {
  const H = lt.h[0]?.length ?? 0;
  const keep = Math.max(1, Math.min(H, Math.floor(defaults.inspectMaxCells / Math.max(1, lt.steps))));
  if (keep >= H) return lt;
  process.stderr.write(`note: ${lt.part} layer ${lt.layer} ${lt.direction}: the heatmaps show units 0..${keep - 1} of ${H} (defaults.inspectMaxCells = ${defaults.inspectMaxCells} cells; inspect.json has all)\n`);
  const cut = (m: number[][]) => m.map((row) => row.slice(0, keep));
  const gates: Record<string, number[][]> = {};
  for (const g of lt.gateNames) gates[g] = cut(lt.gates[g]);
  return { ...lt, gates, h: cut(lt.h), ...(lt.c ? { c: cut(lt.c) } : {}) };
}

/** The base name of a layer's files: "l0-forward", "encoder-l1-reverse", ... */
function layerName(part: string, layer: number, direction: string): string {
  const prefix = part === "rnn" ? "" : `${part.split(".")[0]}-`;
  return `${prefix}l${layer}-${direction}`;
}

export async function inspectCommand(path: string, o: InspectFlags, backend: Backend): Promise<void> {
  const dir = outDir(o.outDir);
  const { saved, task } = open(path, backend);
  const model: Model = saved.model;
  const p = prepare(task, o);
  const ins = inspect(model, p.example);
  const grads = gradientThroughTime(model, p.example, p.loss);
  const counts = parameterCounts(model.config as never);

  const charts: [string, ChartSpec][] = [];
  for (const full of ins.layers) {
    const lt = drawable(full);
    const labels = lt.part === "decoder.rnn" ? p.targetTokens : p.tokens;
    const name = layerName(lt.part, lt.layer, lt.direction);
    if (lt.gateNames.length) charts.push([`${name}-gates`, gatesChart(lt, labels)]);
    charts.push([`${name}-states`, statesChart(lt, labels)]);
  }
  charts.push(["gradient-norm", gradientNormChart(gradientSeries(grads), `gradient norm through time: ${p.lossIs}`)]);
  if (ins.attention) charts.push(["attention", attentionChart(ins.attention, p.tokens, p.targetTokens)]);
  charts.push(["parameters", parameterChart(counts)]);
  const md = ["| tensor | shape | count |", "| --- | --- | ---: |", ...counts.rows.map((r) => `| ${r.name} | [${r.shape.join(", ")}] | ${r.count} |`), `| **total** | | **${counts.total}** |`].join("\n");
  const texts: [string, string][] = [
    ["parameters.json", `${JSON.stringify(counts, null, 1)}\n`],
    ["parameters.md", `${md}\n`],
    ["inspect.json", `${JSON.stringify({ model: path, task: task.task, tokens: p.tokens, targetTokens: p.targetTokens, inspection: ins, gradients: grads, lossIs: p.lossIs })}\n`],
  ];
  claimFiles([...charts.flatMap(([n]) => [join(dir, `${n}.svg`), join(dir, `${n}.png`)]), ...texts.map(([n]) => join(dir, n))], o.force);
  const files: string[] = [];
  for (const [name, spec] of charts) files.push(...(await writeChart(dir, name, spec)));
  for (const [name, text] of texts) files.push(writeText(dir, name, text));
  for (const n of [...ins.notes, ...grads.notes]) process.stderr.write(`note: ${n}\n`);
  report({ files, steps: p.tokens.length, loss: grads.loss, lossIs: p.lossIs, parameters: counts.total }, o.json,
    `wrote ${files.length} files to ${dir} (${p.tokens.length} steps; gradients of ${p.lossIs}, loss ${grads.loss.toFixed(4)})`);
}

/** The points of a training history file (src/cli/history.ts), checked line by line. */
export function readHistory(path: string): HistoryPoint[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new RnnkitError(`${path}: cannot read the history: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: HistoryPoint[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new RnnkitError(`${path}: line ${i + 1}: expected a JSON object (a line of rnnkit train --history), got ${JSON.stringify(line.slice(0, 60))}`);
    }
    const r = v as { step?: unknown; loss?: unknown; lr?: unknown; validation?: Record<string, unknown> };
    if (!r || typeof r !== "object" || typeof r.step !== "number") throw new RnnkitError(`${path}: line ${i + 1}: expected an object with a numeric "step", got ${line.slice(0, 60)}`);
    const pt: HistoryPoint = { step: r.step };
    // progress lines carry lr; epoch lines carry the epoch mean, drawn only through their validation
    if (typeof r.lr === "number" && typeof r.loss === "number") pt.loss = r.loss;
    const val = r.validation;
    if (val && typeof val === "object") {
      const metric = ["bpc", "accuracy", "loss"].find((k) => typeof val[k] === "number");
      if (metric) {
        pt.validation = val[metric] as number;
        pt.metric = metric;
      }
    }
    if (pt.loss !== undefined || pt.validation !== undefined) out.push(pt);
  });
  if (out.length === 0) throw new RnnkitError(`${path}: expected lines with a loss or a validation metric (rnnkit train --history), got none`);
  return out;
}

export async function plotCommand(path: string, o: { outDir: string; force?: boolean; json?: boolean }): Promise<void> {
  const points = readHistory(path);
  const dir = outDir(o.outDir);
  claimFiles([join(dir, "loss.svg"), join(dir, "loss.png")], o.force);
  const files = await writeChart(dir, "loss", lossChart(points, `training loss: ${path}`));
  report({ files, points: points.length }, o.json, `wrote ${files.join(", ")} (${points.length} points)`);
}

interface MemoryFlags {
  quick?: boolean; delays: string; hidden: string; symbols: string; steps?: string; seeds?: string; lr: string; gateInit: string; seed: string;
  outDir?: string; force?: boolean; json?: boolean;
}

/** The experiment's table, in Markdown: one row per run. */
export function memoryTable(r: MemoryResult): string {
  const lines = ["| cell | equal | delay N | hidden | parameters | seed | accuracy | seconds |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"];
  for (const x of r.rows) lines.push(`| ${x.cell} | ${x.equal} | ${x.delay} | ${x.hidden} | ${x.parameters} | ${x.seed} | ${x.accuracy.toFixed(3)} | ${x.seconds.toFixed(1)} |`);
  return lines.join("\n");
}

/** The gradient-norm series of the experiment at the longest delay and equal hidden size: one per cell (and |dL/dc| for the LSTM), faceted by phase. */
export function memoryGradientSeries(r: MemoryResult): (NormSeries & { facet: string })[] {
  const longest = Math.max(...r.settings.delays);
  return r.gradients.filter((g) => g.delay === longest && g.hidden === r.settings.hidden).flatMap((g) => {
    const facet = g.phase === "init" ? "at initialisation" : "after training";
    const pts = (v: number[]) => v.map((norm, distance) => ({ distance, norm }));
    const s = [{ label: `${g.cell} |dL/dh|`, facet, points: pts(g.dh) }];
    if (g.dc) s.push({ label: `${g.cell} |dL/dc|`, facet, points: pts(g.dc) });
    return s;
  });
}

/** `--gate-init`: chrono, pytorch, or a number (a constant keep-gate bias). */
export function gateInitOf(v: string): MemoryGateInit {
  const name = (MEMORY_GATE_INITS as readonly string[]).find((x) => x === v);
  if (name !== undefined) return name as MemoryGateInit;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || Math.abs(n) > 100) throw new RnnkitError(`--gate-init: expected ${MEMORY_GATE_INITS.join(", ")} or a number in [-100, 100] (a constant bias), got ${JSON.stringify(v)}`);
  return n;
}

export async function memoryCommand(o: MemoryFlags, backend: Backend): Promise<void> {
  const delays = o.delays.split(",").map((s) => int("delays", s.trim(), 1, 10000));
  const dir = o.outDir !== undefined ? outDir(o.outDir) : null;
  const names = ["memory.json", "memory.md", "memory-accuracy.svg", "memory-accuracy.png", "memory-gradient.svg", "memory-gradient.png"];
  if (dir) claimFiles(names.map((n) => join(dir, n)), o.force);
  const r = await memoryExperiment({
    quick: o.quick, delays, hidden: int("hidden", o.hidden, 1, defaults.maxHiddenSize), symbols: int("symbols", o.symbols, 2, 1000),
    steps: o.steps !== undefined ? int("steps", o.steps) : undefined, seeds: o.seeds !== undefined ? int("seeds", o.seeds, 1, 100) : undefined, lr: num("lr", o.lr, 0, 10, true), gateInit: gateInitOf(o.gateInit),
    seed: int("seed", o.seed, 0), backend,
    onRun: (row, done, total) => process.stderr.write(`[${done}/${total}] ${row.cell.padEnd(4)} equal ${row.equal.padEnd(10)} N=${String(row.delay).padStart(3)} H=${String(row.hidden).padStart(3)} params ${row.parameters} seed ${row.seed}: accuracy ${row.accuracy.toFixed(3)} (${row.seconds.toFixed(1)}s)\n`),
  });
  const table = memoryTable(r);
  const files: string[] = [];
  if (dir) {
    files.push(writeText(dir, "memory.json", `${JSON.stringify(r, null, 1)}\n`));
    files.push(writeText(dir, "memory.md", `${table}\n`));
    files.push(...(await writeChart(dir, "memory-accuracy", memoryAccuracyChart(r.rows, r.settings.chance))));
    const longest = Math.max(...r.settings.delays);
    files.push(...(await writeChart(dir, "memory-gradient", gradientNormChart(memoryGradientSeries(r), `gradient norm against distance, N = ${longest}, H = ${r.settings.hidden} (${MEMORY_CELLS.join(", ")})`))));
  }
  const human = `${table}\n\nchance ${r.settings.chance.toFixed(3)}; ${r.rows.length} runs in ${r.seconds.toFixed(0)}s on ${r.settings.backend}${files.length ? `; wrote ${files.join(", ")}` : ""}`;
  report({ rows: r.rows.map(({ cell, delay, hidden, parameters, accuracy, equal, seed }) => ({ cell, delay, hidden, parameters, accuracy, equal, seed })), gradients: r.gradients, settings: r.settings, seconds: r.seconds, files }, o.json, human);
}
