/**
 * rnnkit inspect, plot, experiment memory and train --history end to end on small files: the
 * files written, SVGs with data marks, PNG signatures and sizes, the numbers in the JSON, and
 * files never replaced without --force.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadModel } from "../io/model-file.js";
import { inspect } from "../inspect/inspect.js";
import { parameterCounts } from "../inspect/parameters.js";
import { JsBackend } from "../backend/js.js";

const bin = fileURLToPath(new URL("./main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rnnkit-inspect-"));

function rnnkit(...args: string[]): { status: number | null; stdout: string; stderr: string; json: Record<string, unknown> | null } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, RNNKIT_BACKEND: "js" } });
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // not (only) JSON
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** Width and height of a PNG from its IHDR chunk, after checking the 8-byte signature. */
function pngSize(path: string): { width: number; height: number } {
  const b = readFileSync(path);
  assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path}: PNG signature`);
  assert.equal(b.subarray(12, 16).toString("latin1"), "IHDR");
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** How many data marks of a kind an SVG of vega's renderer holds (each item says aria-roledescription="rect mark"). */
function marks(svg: string, kind: string): number {
  return (svg.match(new RegExp(`aria-roledescription="${kind} mark"`, "g")) ?? []).length;
}

const text = join(dir, "t.txt");
writeFileSync(text, "the cat sat on the mat. a dog ran. ".repeat(60));
const model = join(dir, "lm.safetensors");
const history = join(dir, "run.jsonl");

test("train --history writes JSON lines (step, epoch, loss, lr, throughput; validation per epoch) and never replaces a file without --force", () => {
  const t = rnnkit("train", "lm", "--text", text, "--hidden", "16", "--embedding", "8", "--steps", "25", "--batch-size", "4", "--seq-len", "16", "--out", model, "--history", history, "--json", "--quiet", "--sample", "0");
  assert.equal(t.status, 0, t.stderr);
  const lines = readFileSync(history, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  const progress = lines.filter((l) => "lr" in l);
  assert.deepEqual(progress.map((l) => l.step), [1, 10, 20]);
  for (const l of progress) {
    assert.ok(typeof l.loss === "number" && l.loss > 0 && typeof l.throughput === "number" && l.throughput > 0 && typeof l.epoch === "number", JSON.stringify(l));
    assert.equal(l.unit, "tok/s");
  }
  const epochs = lines.filter((l) => "validation" in l);
  assert.ok(epochs.length >= 1);
  assert.equal(typeof (epochs[0].validation as Record<string, number>).bpc, "number");
  const again = rnnkit("train", "lm", "--text", text, "--hidden", "16", "--steps", "5", "--out", join(dir, "other.safetensors"), "--history", history, "--quiet");
  assert.equal(again.status, 1);
  assert.match(again.stderr, /--history: .*run\.jsonl exists: pass --force/);
  assert.ok(!existsSync(join(dir, "other.safetensors")));
});

test("inspect an lm: gates, states, gradient norm and parameter files, SVG with data marks, PNG, numbers equal to the library's", () => {
  const out = join(dir, "plots");
  const r = rnnkit("inspect", model, "--input", "the cat sat", "--out-dir", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  const names = ["l0-forward-gates", "l0-forward-states", "gradient-norm", "parameters"];
  for (const n of names) {
    const svg = readFileSync(join(out, `${n}.svg`), "utf8");
    assert.match(svg, /^<svg /);
    const { width, height } = pngSize(join(out, `${n}.png`));
    assert.ok(width >= 200 && height >= 100, `${n}.png ${width}x${height}`);
  }
  const gates = readFileSync(join(out, "l0-forward-gates.svg"), "utf8");
  // 4 gates x 10 steps x 16 units
  assert.equal(marks(gates, "rect"), 4 * 10 * 16);
  assert.ok((gates.match(/class="mark-rect role-mark/g) ?? []).length === 4);
  assert.ok(marks(readFileSync(join(out, "gradient-norm.svg"), "utf8"), "line") >= 2);
  assert.deepEqual((r.json!.files as string[]).sort(), [...names.flatMap((n) => [join(out, `${n}.svg`), join(out, `${n}.png`)]), ...["parameters.json", "parameters.md", "inspect.json"].map((n) => join(out, n))].sort());
  const saved = loadModel(model, { backend: new JsBackend() });
  const dump = JSON.parse(readFileSync(join(out, "inspect.json"), "utf8"));
  assert.deepEqual(dump.tokens, ["t", "h", "e", " ", "c", "a", "t", " ", "s", "a"]);
  const want = inspect(saved.model, { tokens: saved.tokenizer!.encode("the cat sa"), target: Array.from(saved.tokenizer!.encode("he cat sat")) });
  assert.deepEqual(dump.inspection.layers[0].gates.f, want.layers[0].gates.f);
  assert.equal(dump.gradients.layers[0].dh.length, 10);
  assert.equal(JSON.parse(readFileSync(join(out, "parameters.json"), "utf8")).total, parameterCounts(saved.model.config as never).total);
  assert.match(readFileSync(join(out, "parameters.md"), "utf8"), /\| rnn\.weight_hh_l0 \| \[64, 16\] \| 1024 \|/);
  // never replaced without --force; replaced with it
  const before = statSync(join(out, "gradient-norm.svg")).mtimeMs;
  const again = rnnkit("inspect", model, "--input", "a dog", "--out-dir", out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /exist: pass --force/);
  assert.equal(statSync(join(out, "gradient-norm.svg")).mtimeMs, before);
  assert.equal(rnnkit("inspect", model, "--input", "a dog", "--out-dir", out, "--force").status, 0);
  const e = rnnkit("inspect", model, "--input", "a", "--out-dir", join(dir, "x"), "--json");
  assert.equal(e.status, 1);
  assert.match(e.json!.error as string, /expected at least 2 chars/);
});

test("plot a history: the loss curve as SVG (line marks) and PNG; a file that is not a history is refused", () => {
  const out = join(dir, "plot");
  const r = rnnkit("plot", history, "--out-dir", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  const svg = readFileSync(join(out, "loss.svg"), "utf8");
  assert.ok(marks(svg, "line") >= 1 && /training loss/.test(svg) && /validation bpc/.test(svg));
  assert.ok(pngSize(join(out, "loss.png")).width > 300);
  writeFileSync(join(dir, "bad.jsonl"), "{\"step\": 1, \"loss\": 2, \"lr\": 0.1}\nnot json\n");
  const bad = rnnkit("plot", join(dir, "bad.jsonl"), "--out-dir", out, "--force");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /line 2: expected a JSON object/);
});

test("experiment memory (tiny): one row per run with its fields, the equal-parameter runs, the files", () => {
  const out = join(dir, "mem");
  const r = rnnkit("experiment", "memory", "--delays", "2,4", "--hidden", "4", "--steps", "3", "--quick", "--out-dir", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  const rows = r.json!.rows as { cell: string; delay: number; hidden: number; parameters: number; accuracy: number; equal: string }[];
  assert.equal(rows.length, 3 * 2 + 2 * 2);
  for (const x of rows) {
    assert.deepEqual(Object.keys(x).sort(), ["accuracy", "cell", "delay", "equal", "hidden", "parameters", "seed"]);
    assert.ok(x.accuracy >= 0 && x.accuracy <= 1);
  }
  const lstm = rows.find((x) => x.cell === "lstm")!;
  for (const x of rows.filter((y) => y.equal === "parameters")) assert.ok(Math.abs(x.parameters - lstm.parameters) / lstm.parameters < 0.15, JSON.stringify(x));
  const json = JSON.parse(readFileSync(join(out, "memory.json"), "utf8"));
  assert.equal(json.rows.length, rows.length);
  assert.equal(json.gradients.length, 2 * rows.length); // every configuration's first seed, at init and trained
  for (const g of json.gradients as { delay: number; dh: number[] }[]) assert.equal(g.dh.length, g.delay + 1);
  assert.equal(json.settings.gateInit, "chrono");
  assert.equal(json.settings.chronoMaxDelay, 4);
  assert.match(readFileSync(join(out, "memory.md"), "utf8"), /\| lstm \| hidden \| 4 \| 4 \| 280 \| \d+ \|/);
  assert.ok(marks(readFileSync(join(out, "memory-accuracy.svg"), "utf8"), "line") >= 1);
  assert.ok(pngSize(join(out, "memory-gradient.png")).width > 300);
});

test("plain commands do not load the drawing libraries: the static import graph of main.js has no vega, vega-lite or resvg", () => {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, "utf8");
    // static imports only: `import ... from "x"` and `export ... from "x"` (not import("x"))
    for (const m of src.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)) {
      const spec = m[1];
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else packages.add(spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/"));
    }
  };
  visit(bin);
  assert.ok(seen.size > 20, `walked ${seen.size} files`);
  assert.ok(packages.has("commander"));
  for (const p of ["vega", "vega-lite", "@resvg/resvg-js"]) assert.ok(!packages.has(p), `${p} is imported statically`);
  assert.ok(![...seen].some((f) => f.endsWith("cli/inspect.js") || f.endsWith("cli/render.js")));
});

test("inspect a seq2seq model: encoder and decoder files, the attention map of its own translation; a forecaster from --data --row", () => {
  const pairs = join(dir, "pairs.tsv");
  writeFileSync(pairs, `src\ttgt\n${Array.from({ length: 40 }, (_, i) => { const w = "abcde".slice(i % 3, 3 + (i % 3)); return `${w}\t${[...w].reverse().join("")}`; }).join("\n")}\n`);
  const s2s = join(dir, "s2s.safetensors");
  assert.equal(rnnkit("train", "seq2seq", "--data", pairs, "--source-column", "src", "--target-column", "tgt", "--hidden", "8", "--steps", "3", "--out", s2s, "--quiet").status, 0);
  const out = join(dir, "s2s-plots");
  const r = rnnkit("inspect", s2s, "--input", "abc", "--out-dir", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  for (const n of ["encoder-l0-forward-gates", "encoder-l0-forward-states", "decoder-l0-forward-gates", "attention"]) assert.ok(pngSize(join(out, `${n}.png`)).width > 100, n);
  const dump = JSON.parse(readFileSync(join(out, "inspect.json"), "utf8"));
  assert.deepEqual(dump.tokens, ["a", "b", "c"]);
  assert.equal(dump.targetTokens[dump.targetTokens.length - 1], "<eos>");
  assert.equal(dump.inspection.attention.length, dump.targetTokens.length);
  for (const row of dump.inspection.attention as number[][]) assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5);
  assert.equal(marks(readFileSync(join(out, "attention.svg"), "utf8"), "rect"), 3 * dump.targetTokens.length);

  const series = join(dir, "series.csv");
  writeFileSync(series, `y\n${Array.from({ length: 80 }, (_, t) => Math.sin(t / 4).toFixed(4)).join("\n")}\n`);
  const fc = join(dir, "fc.safetensors");
  assert.equal(rnnkit("train", "forecast", "--data", series, "--column", "y", "--window", "6", "--horizon", "2", "--hidden", "4", "--steps", "3", "--out", fc, "--quiet").status, 0);
  const f = rnnkit("inspect", fc, "--data", series, "--row", "10", "--out-dir", join(dir, "fc-plots"), "--json");
  assert.equal(f.status, 0, f.stderr);
  assert.equal(f.json!.steps, 6);
  assert.match(f.json!.lossIs as string, /rows 11\.\.12/);
  const bad = rnnkit("inspect", fc, "--input", "1 2 3", "--out-dir", join(dir, "fc-bad"));
  assert.match(bad.stderr, /a forecast model reads --data FILE --row N/);
});

test("heatmaps of wide layers draw their first units only: at most defaults.inspectMaxCells cells", async () => {
  const { drawable } = await import("./inspect.js");
  const { defaults } = await import("../defaults.js");
  const T = 100, H = 300;
  const m = () => Array.from({ length: T }, (_, t) => Array.from({ length: H }, (_, j) => t + j / 1000));
  const lt = { part: "rnn", layer: 0, direction: "forward" as const, cell: "lstm" as const, steps: T, gateNames: ["i"], gates: { i: m() }, h: m(), c: m() };
  const d = drawable(lt);
  const keep = Math.floor(defaults.inspectMaxCells / T);
  assert.equal(d.h[0].length, keep);
  assert.equal(d.gates.i[99].length, keep);
  assert.equal(d.c![0][keep - 1], (keep - 1) / 1000);
  assert.equal(lt.h[0].length, H); // the input is not changed
  const small = { ...lt, h: [[1, 2]], gates: { i: [[0.5, 0.5]] }, c: [[0, 0]], steps: 1 };
  assert.equal(drawable(small), small);
});

test("experiment memory --gate-init: pytorch and a number are taken, anything else is an error that lists the choices", () => {
  for (const [v, want] of [["pytorch", "pytorch"], ["1", 1]] as const) {
    const r = rnnkit("experiment", "memory", "--delays", "2", "--hidden", "2", "--steps", "1", "--quick", "--gate-init", v, "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal((r.json!.settings as { gateInit: unknown }).gateInit, want);
  }
  const bad = rnnkit("experiment", "memory", "--delays", "2", "--hidden", "2", "--steps", "1", "--gate-init", "keras");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--gate-init: expected chrono, pytorch or a number in \[-100, 100\] \(a constant bias\), got "keras"/);
});

test("--help of inspect, plot and experiment memory names their flags", () => {
  for (const [cmd, flag] of [[["inspect"], "--out-dir"], [["plot"], "--out-dir"], [["experiment", "memory"], "--gate-init"], [["train", "lm"], "--history"]] as const) {
    const r = rnnkit(...cmd, "--help");
    assert.equal(r.status, 0);
    assert.ok(r.stdout.includes(flag), `${cmd.join(" ")} --help lacks ${flag}`);
  }
});
