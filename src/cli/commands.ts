/**
 * The work behind each `rnnkit` command. Output: human-readable progress and results on stderr
 * and stdout; with `--json` the final result is one JSON object on the last line of stdout.
 */
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { SingleBar } from "cli-progress";
import type { Backend } from "../backend/backend.js";
import type { Example } from "../data/batches.js";
import { Scaler } from "../data/scaler.js";
import { Tokenizer } from "../data/tokenizer.js";
import { generateIds } from "../decode/sample.js";
import { type SavedModel, loadModel, saveModel } from "../io/model-file.js";
import type { CellName } from "../models/model.js";
import { type ModelConfig, SequenceModel, asSequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { RnnkitError } from "../tensor.js";
import type { Optimizer, OptimizerName, Schedule } from "../train/optimizers.js";
import { type EpochReport, type FitOptions, type Metrics, type Progress, evaluate, fit } from "../train/trainer.js";
import { column, mobyDick, numericColumn, readRecords, readText } from "./data.js";
import { padBatch, shuffleInPlace } from "../data/batches.js";

export interface CommonTrainOptions {
  cell: string;
  hidden: string;
  layers: string;
  embedding: string;
  dropout: string;
  epochs: string;
  batchSize: string;
  lr: string;
  optimizer: string;
  clip: string;
  timeBudget?: string;
  seed: string;
  valFraction: string;
  out: string;
  json?: boolean;
  quiet?: boolean;
  schedule: string;
  warmup: string;
  resume?: boolean;
}

/** Prints the final result: a human line, then (with --json) the JSON object last on stdout. */
export function report(result: Record<string, unknown>, json: boolean | undefined, human: string): void {
  if (human) console.log(human);
  if (json) console.log(JSON.stringify(result));
}

export function int(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new RnnkitError(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function num(name: string, v: string, lo: number, hi: number, loOpen = false): number {
  const n = Number(v);
  if (v === "" || !Number.isFinite(n) || n < lo || n > hi || (loOpen && n === lo)) {
    throw new RnnkitError(`--${name}: expected a number in ${loOpen ? "(" : "["}${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return n;
}

function cellOf(v: string): CellName {
  if (!["lstm", "gru", "rnn"].includes(v)) throw new RnnkitError(`--cell: expected lstm, gru or rnn, got ${JSON.stringify(v)}`);
  return v as CellName;
}

/** Checks --out before any training: its folder is created and must be writable, so no work is lost at the first checkpoint. */
function checkOut(out: string): void {
  if (!out) throw new RnnkitError("--out: expected the path of the model file to write, got nothing");
  if (!out.endsWith(".safetensors")) throw new RnnkitError(`--out: expected a path ending in .safetensors, got ${JSON.stringify(out)}`);
  const dir = dirname(out);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new RnnkitError(`--out: cannot write into ${dir}: ${(e as Error).message}`);
  }
}

/** A progress bar on stderr (a line per epoch when stderr is not a terminal). */
function progress(quiet: boolean | undefined, unit: string): { onProgress: (p: Progress) => void; onEpochLine: (line: string) => void; stop: () => void } {
  const tty = process.stderr.isTTY === true;
  if (quiet || !tty) {
    return { onProgress: () => {}, onEpochLine: (line) => { if (!quiet) process.stderr.write(`${line}\n`); }, stop: () => {} };
  }
  const bar = new SingleBar({
    stream: process.stderr,
    format: "epoch {epoch}/{epochs} |{bar}| {percentage}% | loss {loss} | {speed} " + unit + "/s | elapsed {elapsedS}s | left {left}",
    hideCursor: true,
    barsize: 24,
  });
  let started = false;
  let epoch = 0;
  return {
    onProgress: (p) => {
      const payload = {
        epoch: p.epoch, epochs: p.epochs, loss: p.epochLoss.toFixed(4), speed: Math.round(p.itemsPerSec),
        elapsedS: Math.round(p.elapsed), left: formatLeft(p),
      };
      if (!started || epoch !== p.epoch) {
        if (started) bar.stop();
        bar.start(p.batches, p.batch, payload);
        started = true;
        epoch = p.epoch;
      } else bar.update(p.batch, payload);
    },
    onEpochLine: (line) => {
      if (started) bar.stop();
      started = false;
      process.stderr.write(`${line}\n`);
    },
    stop: () => { if (started) bar.stop(); },
  };
}

let budgetEnd = Infinity;
function formatLeft(p: Progress): string {
  const perBatch = p.elapsed / Math.max(1, (p.epoch - 1) * p.batches + p.batch);
  const remaining = ((p.epochs - p.epoch) * p.batches + (p.batches - p.batch)) * perBatch;
  const left = Math.min(remaining, (budgetEnd - Date.now()) / 1000);
  return left === Infinity ? "?" : `${Math.max(0, Math.round(left))}s`;
}

function epochLine(r: EpochReport, task: string): string {
  const f = (m: { loss: number; accuracy?: number; bpc?: number } | undefined) =>
    !m ? "" : task === "lm" ? `bpc ${m.bpc!.toFixed(3)}` : task === "regress" ? `mse ${m.loss.toFixed(4)}` : `loss ${m.loss.toFixed(4)} acc ${(m.accuracy! * 100).toFixed(1)}%`;
  return `epoch ${r.epoch}: train ${f(r.train)}${r.val ? ` | validation ${f(r.val)}` : ""} | ${r.elapsed.toFixed(0)}s`;
}

/** Runs fit with a progress bar, Ctrl-C handling and checkpoints to `out`. */
async function trainLoop(
  model: SequenceModel, data: Parameters<typeof fit>[1], o: CommonTrainOptions, fitOpts: FitOptions,
  save: (optimizer: Parameters<NonNullable<FitOptions["onCheckpoint"]>>[0]["optimizer"], epoch: number) => void, unit: string,
): Promise<Awaited<ReturnType<typeof fit>>> {
  const bar = progress(o.quiet, unit);
  const ac = new AbortController();
  const onSigint = () => {
    bar.onEpochLine("stopping after this batch (Ctrl-C again to quit at once); the model is being saved");
    process.removeListener("SIGINT", onSigint);
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  const t0 = Date.now();
  budgetEnd = o.timeBudget !== undefined ? t0 + num("time-budget", o.timeBudget, 0, 1e9, true) * 1000 : Infinity;
  try {
    const r = await fit(model, data, {
      ...fitOpts,
      epochs: int("epochs", o.epochs),
      batchSize: int("batch-size", o.batchSize),
      optimizer: o.optimizer as OptimizerName,
      optimizerOptions: { lr: num("lr", o.lr, 0, 10, true) },
      clipNorm: num("clip", o.clip, 0, 1e9),
      schedule: scheduleOf(o.schedule),
      warmupSteps: int("warmup", o.warmup, 0),
      seed: int("seed", o.seed, 0),
      timeBudget: o.timeBudget !== undefined ? Number(o.timeBudget) : undefined,
      signal: ac.signal,
      onProgress: bar.onProgress,
      onEpoch: (e) => bar.onEpochLine(epochLine(e, model.config.task)),
      onCheckpoint: ({ optimizer, epoch }) => save(optimizer, epoch),
    });
    bar.stop();
    if (r.stoppedBy === "nan") throw new RnnkitError(r.message!);
    if (r.stoppedBy === "signal") process.stderr.write(`stopped by Ctrl-C; the model is saved in ${o.out}\n`);
    if (r.stoppedBy === "time") process.stderr.write(`time budget reached after ${((Date.now() - t0) / 1000).toFixed(0)}s; the model is saved in ${o.out}\n`);
    return r;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

function scheduleOf(v: string): Schedule {
  if (v === "constant") return { kind: "constant" };
  if (v === "cosine") return { kind: "cosine", totalSteps: 0 };
  const m = /^step:(\d+):([\d.]+)$/.exec(v);
  if (m) return { kind: "step", stepSize: Number(m[1]), gamma: Number(m[2]) };
  throw new RnnkitError(`--schedule: expected constant, cosine or step:EVERY:GAMMA (e.g. step:1000:0.5), got ${JSON.stringify(v)}`);
}

/** With --resume and an existing --out file: the saved model and where its training stopped. */
function resumeFrom(o: CommonTrainOptions, task: string, backend: Backend): { saved: ReturnType<typeof open>; fit: NonNullable<FitOptions["resume"]> } | null {
  if (!o.resume) return null;
  if (!existsSync(o.out)) throw new RnnkitError(`--resume: ${o.out} does not exist yet: run once without --resume`);
  const saved = open(o.out, backend);
  if (saved.task !== task) throw new RnnkitError(`--resume: ${o.out} is a ${saved.task} model, not ${task}`);
  const ck = saved.checkpoint;
  if (!ck) throw new RnnkitError(`--resume: ${o.out} holds no optimizer state (not a training checkpoint)`);
  process.stderr.write(`resuming ${o.out} after epoch ${ck.epoch}, step ${ck.step}\n`);
  return { saved, fit: { epoch: ck.epoch, optimizer: { step: ck.optimizer.step, lr: ck.optimizer.lr, tensors: saved.optimizerTensors ?? {} } } };
}

/**
 * The validation metrics of the trained model: those of the last epoch when training ended at an
 * epoch's end (the weights have not changed since), else computed now. Every way `trainLoop`
 * returns has already written the model file (at each epoch's end, or at the stop).
 */
function finalMetrics(r: Awaited<ReturnType<typeof fit>>, compute: () => Metrics): Metrics {
  const last = r.epochs[r.epochs.length - 1];
  const atEpochEnd = r.stoppedBy === "epochs" || r.stoppedBy === "early-stopping" || r.stoppedBy === "callback";
  return atEpochEnd && last?.val ? last.val : compute();
}

function modelOptions(o: CommonTrainOptions): Pick<ModelConfig, "cell" | "hiddenSize" | "numLayers" | "dropout" | "seed"> {
  if (!["sgd", "adam", "adamw", "rmsprop", "adagrad"].includes(o.optimizer)) {
    throw new RnnkitError(`--optimizer: expected sgd, adam, adamw, rmsprop or adagrad, got ${JSON.stringify(o.optimizer)}`);
  }
  return {
    cell: cellOf(o.cell), hiddenSize: int("hidden", o.hidden), numLayers: int("layers", o.layers),
    dropout: num("dropout", o.dropout, 0, 0.95), seed: int("seed", o.seed, 0),
  };
}

// ------------------------------------------------------------------ train lm

export async function trainLm(o: CommonTrainOptions & { text?: string; dataset?: string; seqLen: string; tokenizer: string; sample: string; temperature: string }, backend: Backend): Promise<void> {
  checkOut(o.out);
  if (!o.text === !o.dataset) throw new RnnkitError("train lm: expected exactly one of --text FILE or --dataset moby-dick");
  if (o.dataset && o.dataset !== "moby-dick") throw new RnnkitError(`--dataset: expected moby-dick (the bundled dataset), got ${JSON.stringify(o.dataset)}`);
  const text = o.text ? readText(o.text) : mobyDick();
  const kind = o.tokenizer === "word" ? "word" : o.tokenizer === "char" ? "char" : null;
  if (!kind) throw new RnnkitError(`--tokenizer: expected char or word, got ${JSON.stringify(o.tokenizer)}`);
  // the validation set is the tail of the text, as for the n-gram baseline
  const valFraction = num("val-fraction", o.valFraction, 0, 0.5);
  const cut = Math.floor(text.length * (1 - valFraction));
  const trainText = text.slice(0, cut), valText = text.slice(cut);
  const resume = resumeFrom(o, "lm", backend);
  const tokenizer = resume?.saved.tokenizer ?? Tokenizer.build(kind, trainText);
  const trainIds = tokenizer.encode(trainText), valIds = tokenizer.encode(valText);
  const seqLen = int("seq-len", o.seqLen, 2);
  if (trainIds.length < int("batch-size", o.batchSize) * 2 + 1) throw new RnnkitError(`the text is too short: ${trainIds.length} training tokens for --batch-size ${o.batchSize}; use a longer text or a smaller batch`);
  const model = resume?.saved.model ?? new SequenceModel({
    task: "lm", ...modelOptions(o), vocabSize: tokenizer.size, embeddingDim: int("embedding", o.embedding), outputSize: tokenizer.size,
  }, { backend });
  const source = o.text ?? "moby-dick";
  process.stderr.write(`training a ${o.cell} language model (${model.parameters().reduce((s, p) => s + p.value.data.length, 0)} parameters) on ${source}: ${trainIds.length} training and ${valIds.length} validation ${kind}s, vocabulary ${tokenizer.size}\n`);
  const info = { task: "lm", source, valFraction };
  const t0 = Date.now();
  let savedEpoch = resume?.fit.epoch ?? 0;
  const save = (optimizer: Optimizer, epoch: number, extra: Record<string, unknown> = {}) => {
    savedEpoch = epoch;
    saveModel(o.out, model, { tokenizer, optimizer, checkpoint: { step: optimizer.step, epoch }, info: { ...info, ...extra } });
  };
  const r = await trainLoop(model, { kind: "stream", train: trainIds, val: valIds.length > seqLen ? valIds : undefined }, o, { seqLen, resume: resume?.fit }, save, "tok");
  const seconds = (Date.now() - t0) / 1000;
  const val = valIds.length > 1 ? finalMetrics(r, () => evaluate(model, { kind: "stream", ids: valIds }, { batchSize: int("batch-size", o.batchSize), seqLen })) : null;
  // the checkpoint is already written; rewrite it once more with the validation result in its info
  save(r.optimizer, savedEpoch, { valBpc: val?.bpc });
  const sampleLen = int("sample", o.sample, 0);
  const sample = sampleLen > 0 ? tokenizer.decode(generateIds(model, tokenizer.encode("\n"), sampleLen, { temperature: num("temperature", o.temperature, 0, 10), seed: 1, exclude: [0, 1, 2, 3] })) : "";
  const result = { bpc: val ? round(val.bpc!) : null, valLoss: val ? round(val.loss) : null, epochs: r.epochs.length, steps: r.steps, seconds: round(seconds), stoppedBy: r.stoppedBy, model: o.out };
  report(result, o.json, `validation: ${val ? `${val.bpc!.toFixed(3)} bits per ${kind}` : "no validation text"} after ${seconds.toFixed(0)}s; model saved to ${o.out}${sample ? `\n--- sample ---\n${sample}\n---` : ""}`);
}

// ------------------------------------------------------------------ train classify

export async function trainClassify(o: CommonTrainOptions & { data: string; textColumn: string; labelColumn: string; tokenizer: string; maxLen: string; bidirectional?: boolean; pooling: string }, backend: Backend): Promise<void> {
  checkOut(o.out);
  const records = readRecords(o.data);
  const texts = column(o.data, records, o.textColumn);
  const labelsRaw = column(o.data, records, o.labelColumn);
  const labels = [...new Set(labelsRaw)].sort();
  if (labels.length < 2) throw new RnnkitError(`${o.data}: column ${JSON.stringify(o.labelColumn)} has ${labels.length} distinct label(s): a classifier needs at least 2`);
  const kind = o.tokenizer === "char" ? "char" : o.tokenizer === "word" ? "word" : null;
  if (!kind) throw new RnnkitError(`--tokenizer: expected char or word, got ${JSON.stringify(o.tokenizer)}`);
  const order = texts.map((_, i) => i);
  shuffleInPlace(order, new Rng(int("seed", o.seed, 0)));
  const nVal = Math.floor(order.length * num("val-fraction", o.valFraction, 0, 0.5));
  const valIdx = order.slice(0, nVal), trainIdx = order.slice(nVal);
  const resume = resumeFrom(o, "classify", backend);
  if (resume && JSON.stringify(resume.saved.info.labels) !== JSON.stringify(labels)) throw new RnnkitError(`--resume: the labels of ${o.data} differ from those of ${o.out}`);
  const tokenizer = resume?.saved.tokenizer ?? Tokenizer.build(kind, trainIdx.map((i) => texts[i]).join("\n"), { maxSize: 30000 });
  const maxLen = int("max-len", o.maxLen);
  const toExample = (i: number): Example => {
    let ids = tokenizer.encode(texts[i]);
    if (ids.length === 0) ids = Int32Array.of(1);
    return { tokens: ids.subarray(0, maxLen), target: labels.indexOf(labelsRaw[i]) };
  };
  const model = resume?.saved.model ?? new SequenceModel({
    task: "classify", ...modelOptions(o), vocabSize: tokenizer.size, embeddingDim: int("embedding", o.embedding), outputSize: labels.length,
    bidirectional: o.bidirectional === true, pooling: o.pooling as "last" | "mean" | "max",
  }, { backend });
  const info = { task: "classify", labels, textColumn: o.textColumn, labelColumn: o.labelColumn, maxLen };
  process.stderr.write(`training a ${o.cell} classifier on ${trainIdx.length} examples (${nVal} held out), ${labels.length} labels\n`);
  const val = valIdx.map(toExample);
  const r = await trainLoop(model, { kind: "examples", train: trainIdx.map(toExample), val }, o, { resume: resume?.fit },
    (optimizer, epoch) => saveModel(o.out, model, { tokenizer, optimizer, checkpoint: { step: optimizer.step, epoch }, info }), "seq");
  const m = val.length ? finalMetrics(r, () => evaluate(model, { kind: "examples", examples: val })) : r.epochs[r.epochs.length - 1]?.train;
  const result = { accuracy: m ? round(m.accuracy!) : null, loss: m ? round(m.loss) : null, epochs: r.epochs.length, stoppedBy: r.stoppedBy, model: o.out };
  report(result, o.json, `${val.length ? "validation" : "training"} accuracy ${m ? (m.accuracy! * 100).toFixed(1) : "?"}%, loss ${m?.loss.toFixed(4)}; model saved to ${o.out}`);
}

// ------------------------------------------------------------------ train forecast

function windows(series: number[], scaler: Scaler, window: number): Example[] {
  const s = series.map((v) => scaler.transform(v));
  const out: Example[] = [];
  for (let t = window; t < s.length; t++) out.push({ inputs: s.slice(t - window, t).map((v) => [v]), target: [s[t]] });
  return out;
}

export async function trainForecast(o: CommonTrainOptions & { data: string; column: string; window: string }, backend: Backend): Promise<void> {
  checkOut(o.out);
  const series = numericColumn(o.data, readRecords(o.data), o.column);
  const window = int("window", o.window, 1);
  const valFraction = num("val-fraction", o.valFraction, 0, 0.5);
  const cut = Math.floor(series.length * (1 - valFraction));
  if (cut <= window + 1) throw new RnnkitError(`${o.data}: ${series.length} values are too few for --window ${window}: expected more than ${Math.ceil((window + 2) / (1 - valFraction))}`);
  const resume = resumeFrom(o, "forecast", backend);
  const scaler = resume?.saved.scaler ?? Scaler.fit("standard", series.slice(0, cut));
  const train = windows(series.slice(0, cut), scaler, window);
  const val = windows(series.slice(Math.max(0, cut - window)), scaler, window);
  const model = resume?.saved.model ?? new SequenceModel({ task: "regress", ...modelOptions(o), inputSize: 1, outputSize: 1 }, { backend });
  const info = { task: "forecast", column: o.column, window };
  process.stderr.write(`training a ${o.cell} forecaster on ${train.length} windows of ${window} (${val.length} held out)\n`);
  const r = await trainLoop(model, { kind: "examples", train, val }, o, { resume: resume?.fit },
    (optimizer, epoch) => saveModel(o.out, model, { scaler, optimizer, checkpoint: { step: optimizer.step, epoch }, info }), "seq");
  const m = forecastMetrics(model, scaler, val.length ? val : train);
  report({ ...m, epochs: r.epochs.length, stoppedBy: r.stoppedBy, model: o.out }, o.json, `${val.length ? "validation" : "training"} MAE ${m.mae.toPrecision(4)} (in the units of ${o.column}), RMSE ${m.rmse.toPrecision(4)}; model saved to ${o.out}`);
}

function forecastPredict(model: SequenceModel, scaler: Scaler, examples: Example[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < examples.length; i += 256) {
    const part = examples.slice(i, i + 256);
    const T = part[0].inputs!.length, B = part.length;
    const inputs = new Float32Array(T * B);
    part.forEach((e, b) => e.inputs!.forEach((row, t) => (inputs[t * B + b] = row[0])));
    const r = model.forward({ T, B, lengths: new Array<number>(B).fill(T), inputs });
    for (let b = 0; b < B; b++) out.push(scaler.inverse(r.logits.data[b]));
  }
  return out;
}

function forecastMetrics(model: SequenceModel, scaler: Scaler, examples: Example[]): { mae: number; rmse: number; count: number } {
  const pred = forecastPredict(model, scaler, examples);
  let ae = 0, se = 0;
  pred.forEach((p, i) => {
    const y = scaler.inverse((examples[i].target as number[])[0]);
    ae += Math.abs(p - y);
    se += (p - y) ** 2;
  });
  return { mae: round(ae / pred.length), rmse: round(Math.sqrt(se / pred.length)), count: pred.length };
}

// ------------------------------------------------------------------ eval / generate / predict

export function open(path: string, backend: Backend): Omit<SavedModel, "model"> & { model: SequenceModel; task: string; info: Record<string, unknown> } {
  if (!existsSync(path)) throw new RnnkitError(`${path}: no such model file: train one with \`rnnkit train ... --out ${path}\``);
  const saved = loadModel(path, { backend });
  const info = saved.info ?? {};
  return { ...saved, model: asSequenceModel(path, saved.model), info, task: String(info.task ?? saved.model.task) };
}

export function evalCommand(path: string, o: { text?: string; dataset?: string; tail?: string; data?: string; textColumn?: string; labelColumn?: string; column?: string; json?: boolean }, backend: Backend): void {
  const m = open(path, backend);
  if (m.task === "lm") {
    if (!o.text === !o.dataset) throw new RnnkitError("eval: a language model is evaluated on --text FILE or --dataset moby-dick");
    let text = o.text ? readText(o.text) : mobyDick();
    const tail = o.tail !== undefined ? num("tail", o.tail, 0, 1, true) : o.dataset ? 0.1 : 1;
    text = text.slice(Math.floor(text.length * (1 - tail)));
    const r = evaluate(m.model, { kind: "stream", ids: m.tokenizer!.encode(text) }, { batchSize: 32, seqLen: 100 });
    report({ bpc: round(r.bpc!), loss: round(r.loss), tokens: r.count }, o.json, `${r.bpc!.toFixed(3)} bits per ${m.tokenizer!.kind} over ${r.count} ${m.tokenizer!.kind}s`);
    return;
  }
  if (!o.data) throw new RnnkitError(`eval: a ${m.task} model is evaluated on --data FILE`);
  const records = readRecords(o.data);
  if (m.task === "classify") {
    const ex = classifyExamples(m, o.data, records, o.textColumn, true, o.labelColumn);
    const r = evaluate(m.model, { kind: "examples", examples: ex });
    report({ accuracy: round(r.accuracy!), loss: round(r.loss), count: r.count }, o.json, `accuracy ${(r.accuracy! * 100).toFixed(1)}%, loss ${r.loss.toFixed(4)} over ${r.count} examples`);
    return;
  }
  const series = numericColumn(o.data, records, o.column ?? String(m.info.column));
  const r = forecastMetrics(m.model, m.scaler!, windows(series, m.scaler!, Number(m.info.window)));
  report(r, o.json, `MAE ${r.mae}, RMSE ${r.rmse} over ${r.count} one-step forecasts`);
}

function classifyExamples(m: ReturnType<typeof open>, path: string, records: Record<string, unknown>[], textColumn: string | undefined, withLabels: boolean, labelColumn?: string): Example[] {
  const labels = m.info.labels as string[];
  const texts = column(path, records, textColumn ?? String(m.info.textColumn));
  const gold = withLabels ? column(path, records, labelColumn ?? String(m.info.labelColumn)) : [];
  return texts.map((t, i) => {
    let ids = m.tokenizer!.encode(t);
    if (ids.length === 0) ids = Int32Array.of(1);
    let target = 0;
    if (withLabels) {
      target = labels.indexOf(gold[i]);
      if (target < 0) throw new RnnkitError(`${path}: row ${i + 1}: label ${JSON.stringify(gold[i])} is not one the model knows (${labels.join(", ")})`);
    }
    return { tokens: ids.subarray(0, Number(m.info.maxLen ?? 200)), target };
  });
}

export function generateCommand(path: string, o: { prompt?: string; length: string; temperature: string; topK: string; topP: string; seed: string; json?: boolean }, backend: Backend): void {
  const m = open(path, backend);
  if (m.task !== "lm" || !m.tokenizer) throw new RnnkitError(`generate: ${path} is a ${m.task} model; generation needs a language model (rnnkit train lm)`);
  const prompt = o.prompt ?? "\n";
  const ids = m.tokenizer.encode(prompt);
  if (ids.length === 0) throw new RnnkitError("--prompt: expected some text, got an empty prompt");
  const out = generateIds(m.model, ids, int("length", o.length, 0), {
    temperature: num("temperature", o.temperature, 0, 10), topK: int("top-k", o.topK, 0), topP: num("top-p", o.topP, 0, 1, true),
    seed: int("seed", o.seed, 0), exclude: [0, 1, 2, 3],
  });
  const text = m.tokenizer.decode(out);
  report({ text: (o.prompt ?? "") + (m.tokenizer.kind === "word" ? " " : "") + text }, o.json, `${o.prompt ?? ""}${m.tokenizer.kind === "word" && o.prompt ? " " : ""}${text}`);
}

export function predictCommand(path: string, o: { data: string; textColumn?: string; column?: string; json?: boolean }, backend: Backend): void {
  const m = open(path, backend);
  if (m.task === "lm") throw new RnnkitError("predict: a language model has nothing to predict per row: use `rnnkit generate` or `rnnkit eval`");
  const records = readRecords(o.data);
  let lines: string[];
  if (m.task === "classify") {
    const labels = m.info.labels as string[];
    const ex = classifyExamples(m, o.data, records, o.textColumn, false);
    lines = [];
    for (let i = 0; i < ex.length; i += 64) {
      const part = ex.slice(i, i + 64);
      const r = m.model.forward(padBatch(part, false));
      const O = labels.length;
      for (let b = 0; b < part.length; b++) {
        let best = 0;
        for (let k = 1; k < O; k++) if (r.logits.data[b * O + k] > r.logits.data[b * O + best]) best = k;
        lines.push(labels[best]);
      }
    }
  } else {
    const series = numericColumn(o.data, records, o.column ?? String(m.info.column));
    const window = Number(m.info.window);
    if (series.length < window) throw new RnnkitError(`${o.data}: expected at least ${window} values (the model's window), got ${series.length}`);
    // one-step-ahead forecasts of rows window..n-1, then the forecast of the row after the end
    const ex = windows([...series, 0], m.scaler!, window);
    lines = forecastPredict(m.model, m.scaler!, ex).map((v) => String(round(v)));
  }
  for (const l of lines) console.log(l);
  if (o.json) console.log(JSON.stringify({ predictions: lines.length }));
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
