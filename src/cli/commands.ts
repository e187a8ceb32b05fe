/**
 * The work behind each `rnnkit` command: flags -> tasks/ -> output. Output discipline: results on
 * stdout, progress and warnings on stderr; with `--json` stdout carries only JSON (one document,
 * or JSON Lines for per-row output) and everything for humans goes to stderr.
 */
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { dirname, extname } from "node:path";
import { SingleBar } from "cli-progress";
import type { Backend } from "../backend/backend.js";
import { shuffleInPlace } from "../data/batches.js";
import { Tokenizer } from "../data/tokenizer.js";
import { generateIds } from "../decode/sample.js";
import { parameterTable } from "../inspect/parameters.js";
import { type ModelExtras, type SavedModel, loadModel, saveModel } from "../io/model-file.js";
import { CELLS, type CellName, type Model, type Pooling } from "../models/model.js";
import { type ModelConfig, SequenceModel, asSequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { Classifier, balancedClassWeights, classifyExamples, classifyTokenizer, labelSet } from "../tasks/classify.js";
import { Forecaster, fitForecastScaler, forecastMetrics, forecastRows, forecastWindows } from "../tasks/forecast.js";
import type { RegressionMetrics } from "../tasks/metrics.js";
import { type TaskModel, openTask } from "../tasks/open.js";
import { type Sentence, type TaggedFormat, Tagger, formatTagged, parseTagged, tagExamples, tagVocabulary } from "../tasks/tag.js";
import { type Pair, Translator, seq2seqExamples, seq2seqPairs } from "../tasks/seq2seq.js";
import { classifyRow, round4, seq2seqRow, tagRow } from "../tasks/rows.js";
import { type ClassifyInfo, type ForecastInfo, type LmInfo, type Seq2SeqInfo, type TagInfo, type TaskName, vocabularyOf } from "../tasks/task.js";
import { ATTENTIONS, type AttentionKind } from "../layers/attention.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { RnnkitError } from "../tensor.js";
import type { Optimizer, OptimizerName, ScheduleOption } from "../train/optimizers.js";
import { type BestState, type EpochReport, type FitOptions, type FitResult, type Metrics, type Progress, type TrainerState, evaluate, fit } from "../train/trainer.js";
import { type DataStats, autoSizes, defaults, lengthStats, sizeRules } from "../defaults.js";
import { checkSpace, claimOut } from "./out.js";
import { openHistory } from "./history.js";
import { checkColumn, column, mobyDick, numericColumn, readRecords, readRecordsWithLines, readText } from "./data.js";

export interface CommonTrainOptions {
  cell: string;
  hidden?: string;
  layers: string;
  embedding?: string;
  dropout: string;
  epochs?: string;
  steps?: string;
  batchSize?: string;
  keep: string;
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
  warmup?: string;
  resume?: boolean;
  /** replace an existing --out file */
  force?: boolean;
  /** --history: a JSON Lines training history (src/cli/history.ts) */
  history?: string;
}

/**
 * Prints the final result. With --json: the result as ONE JSON document on stdout (so
 * `| jq .accuracy` works) and the human line on stderr; without: the human line on stdout.
 */
export function report(result: Record<string, unknown>, json: boolean | undefined, human: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (human) process.stderr.write(`${human}\n`);
  } else if (human) process.stdout.write(`${human}\n`);
}

/** Per-row results on stdout, in order (written in chunks: a closed pipe is handled in main.ts). */
export function writeLines(lines: readonly string[]): void {
  for (let i = 0; i < lines.length; i += 1000) process.stdout.write(`${lines.slice(i, i + 1000).join("\n")}\n`);
}

/** A message for humans: always stderr. */
export function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** ONE warning for all the inputs cut to --max-len. */
function warnTruncated(n: number, total: number, what: string, maxLen: number): void {
  if (n > 0) note(`warning: ${n} of ${total} ${what} were longer than --max-len ${maxLen} tokens and were cut to ${maxLen}`);
}

/** Runs `fn`, naming `path` in the "row N" / "line N" errors of the task layer. */
function inFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RnnkitError) {
      const m = /^line (\d+): ([\s\S]*)$/.exec(e.message);
      if (m) throw new RnnkitError(`${path}:${m[1]}: ${m[2]}`);
      if (/^(row \d+|column )/.test(e.message)) throw new RnnkitError(`${path}: ${e.message}`);
    }
    throw e;
  }
}

function tokenizerKind(flag: string, v: string): "char" | "word" {
  if (v !== "char" && v !== "word") throw new RnnkitError(`--${flag}: expected char or word, got ${JSON.stringify(v)}`);
  return v;
}

export function int(name: string, v: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  // a blank value is not 0 (Number("") is)
  if (String(v).trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new RnnkitError(`--${name}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`}, got ${JSON.stringify(v)}`);
  }
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
  if (!(CELLS as readonly string[]).includes(v)) throw new RnnkitError(`--cell: expected one of ${CELLS.join(", ")}, got ${JSON.stringify(v)}`);
  return v as CellName;
}

/** Claims --out before any training (src/cli/out.ts): never replaced without --resume or --force, locked, writable. */
function checkOut(o: { out: string; resume?: boolean; force?: boolean }): void {
  claimOut(o.out, o);
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
        epoch: p.epoch, epochs: Number.isFinite(p.epochs) ? p.epochs : "?", loss: p.epochLoss.toFixed(4), speed: Math.round(p.itemsPerSec),
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
  const remaining = Number.isFinite(p.epochs) ? ((p.epochs - p.epoch) * p.batches + (p.batches - p.batch)) * perBatch : Infinity;
  const left = Math.min(remaining, (budgetEnd - Date.now()) / 1000);
  return left === Infinity ? "?" : `${Math.max(0, Math.round(left))}s`;
}

function epochLine(r: EpochReport, task: string): string {
  const f = (m: { loss: number; accuracy?: number; bpc?: number } | undefined) =>
    !m ? "" : task === "lm" ? `bpc ${m.bpc!.toFixed(3)}` : task === "regress" ? `mse ${m.loss.toFixed(4)}` : `loss ${m.loss.toFixed(4)} acc ${(m.accuracy! * 100).toFixed(1)}%`;
  return `epoch ${r.epoch}${r.partial ? " (part)" : ""}: train ${f(r.train)}${r.val ? ` | validation ${f(r.val)}` : ""} | ${r.elapsed.toFixed(0)}s`;
}

/** What a checkpoint writes besides the task's tokenizer/scaler/info: optimizer, trainer state and (--keep best) both weight sets. */
export type CheckpointExtras = Pick<ModelExtras, "optimizer" | "checkpoint" | "weights" | "resumeWeights">;

function checkpointExtras(model: Model, i: { epoch: number; optimizer: Optimizer; trainer: TrainerState; best?: BestState }): CheckpointExtras {
  const best = i.best;
  const trainer: Record<string, unknown> = { ...i.trainer, ...(best ? { best: { epoch: best.epoch, step: best.step, loss: best.loss } } : {}) };
  const x: CheckpointExtras = { optimizer: i.optimizer, checkpoint: { step: i.optimizer.step, epoch: i.epoch, trainer } };
  // the best weights are the model's; the last ones ride along to resume from
  if (best && best.step !== i.optimizer.step) {
    x.weights = best.weights;
    x.resumeWeights = model.stateDict();
  }
  return x;
}

/** Runs fit with a progress bar, Ctrl-C handling and checkpoints to `out`; `autoEpochs`: the passes when nothing else bounds the run. */
async function trainLoop(
  model: Model, data: Parameters<typeof fit>[1], o: CommonTrainOptions, fitOpts: FitOptions & { batchSize: number; autoEpochs: number },
  save: (x: CheckpointExtras) => void, unit: string,
): Promise<FitResult & { saved?: CheckpointExtras }> {
  // the first checkpoint holds the weights and Adam's two moments (float32), and its metadata
  checkSpace(o.out, model.parameters().reduce((n, p) => n + p.value.data.length, 0) * 12 + (1 << 20));
  const bar = progress(o.quiet, unit);
  const history = o.history !== undefined ? openHistory(o.history, o, `${unit}/s`) : null;
  const ac = new AbortController();
  const onSigint = () => {
    bar.onEpochLine("stopping after this batch (Ctrl-C again to quit at once); the model is being saved");
    process.removeListener("SIGINT", onSigint);
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  const t0 = Date.now();
  budgetEnd = o.timeBudget !== undefined ? t0 + num("time-budget", o.timeBudget, 0, 1e9, true) * 1000 : Infinity;
  let saved: CheckpointExtras | undefined;
  const { autoEpochs, ...rest } = fitOpts;
  try {
    const r: FitResult & { saved?: CheckpointExtras } = await fit(model, data, {
      ...rest,
      ...runBounds(o, autoEpochs),
      optimizer: o.optimizer as OptimizerName,
      optimizerOptions: { lr: num("lr", o.lr, 0, 10, true) },
      clipNorm: num("clip", o.clip, 0, 1e9),
      schedule: scheduleOf(o.schedule),
      warmupSteps: o.warmup !== undefined ? int("warmup", o.warmup, 0) : undefined,
      seed: int("seed", o.seed, 0),
      keepBest: keepOf(o) === "best",
      signal: ac.signal,
      onProgress: history ? (p) => { history.progress(p); bar.onProgress(p); } : bar.onProgress,
      onEpoch: (e) => { history?.epoch(e); bar.onEpochLine(epochLine(e, model.config.task)); },
      onCheckpoint: (i) => {
        saved = checkpointExtras(model, i);
        save(saved);
      },
    });
    bar.stop();
    if (r.stoppedBy === "nan") throw new RnnkitError(r.message!);
    if (r.stoppedBy === "signal") {
      process.stderr.write(`stopped by Ctrl-C; the model is saved in ${o.out}\n`);
      // the result is still reported, and the exit status says "interrupted" (128 + SIGINT), as a shell expects
      process.exitCode = 130;
    }
    if (r.stoppedBy === "time") process.stderr.write(`time budget reached after ${((Date.now() - t0) / 1000).toFixed(0)}s; the model is saved in ${o.out}\n`);
    if (saved) r.saved = saved;
    return r;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

function keepOf(o: CommonTrainOptions): "best" | "last" {
  if (o.keep !== "best" && o.keep !== "last") throw new RnnkitError(`--keep: expected best or last, got ${JSON.stringify(o.keep)}`);
  return o.keep;
}

/** --epochs, --steps, --time-budget as fit's bounds; with none of them, `autoEpochs` passes. */
function runBounds(o: CommonTrainOptions, autoEpochs: number): Pick<FitOptions, "epochs" | "steps" | "timeBudget"> {
  const timeBudget = o.timeBudget !== undefined ? num("time-budget", o.timeBudget, 0, 1e9, true) : undefined;
  const steps = o.steps !== undefined ? int("steps", o.steps) : undefined;
  const epochs = o.epochs !== undefined ? int("epochs", o.epochs) : steps === undefined && timeBudget === undefined ? autoEpochs : undefined;
  return { epochs, steps, timeBudget };
}

/** The file's weights after training: which ones, for the result (JSON fields and a human note). */
function keptOf(r: FitResult): { result: Record<string, unknown>; note: string } {
  const k = r.kept;
  const at = `epoch ${k.epoch}${r.epochs.find((e) => e.epoch === k.epoch)?.partial ? " (part)" : ""}`;
  return {
    result: { kept: k.which, keptEpoch: k.epoch, keptStep: k.step, scheduleSteps: r.trainer?.horizon ?? null },
    note: k.which === "best" ? `kept the best validation weights (${at}, step ${k.step})` : `kept the last weights (step ${k.step})`,
  };
}

/** The extras of the file's last rewrite after training (the weights the model holds now are those kept). */
function finalExtras(r: FitResult & { saved?: CheckpointExtras }): CheckpointExtras {
  const x: CheckpointExtras = { ...r.saved, optimizer: r.optimizer };
  delete x.weights;
  delete x.resumeWeights;
  if (r.last) x.resumeWeights = r.last;
  return x;
}

/** One stderr line: the settings chosen (and why) and those given by flags. */
function settingsLine(parts: readonly string[], o: CommonTrainOptions, horizon: string): void {
  const sched = o.schedule === "auto"
    ? `schedule: warm-up ${o.warmup ?? "min(100, 5%)"} steps, flat, then linear to ${defaults.autoMinLrFactor}x over the last ${defaults.wsdDecayFraction * 100}% of ${horizon}`
    : `schedule ${o.schedule}`;
  note(`settings: ${[...parts, `lr ${o.lr}`, sched, `keep ${o.keep}`].join(", ")}`);
}

/** How the horizon will be fixed, in words. */
function horizonWords(o: CommonTrainOptions, autoEpochs: number, perEpoch: number): string {
  if (o.resume) return "the horizon saved in the checkpoint";
  if (o.steps !== undefined) return `--steps ${o.steps}`;
  if (o.epochs !== undefined) return `--epochs ${o.epochs} x ${perEpoch} batches`;
  if (o.timeBudget !== undefined) return `the time budget (speed measured on ${defaults.horizonProbeSteps} steps after the first ${defaults.horizonProbeSkip})`;
  return `${autoEpochs} epochs x ${perEpoch} batches (about ${sizeRules.targetSteps} steps)`;
}

/** A size: the flag's value, or the automatic one with its reason for the settings line. */
function sized(parts: string[], flag: string, given: string | undefined, auto: number, reason: string | undefined, min = 1): number {
  if (given !== undefined) {
    const v = int(flag, given, min);
    parts.push(`${flag} ${v}`);
    return v;
  }
  parts.push(`${flag} ${auto}${reason ? ` (${reason})` : ""}`);
  return auto;
}

function scheduleOf(v: string): ScheduleOption {
  if (v === "auto") return "auto";
  if (v === "constant") return { kind: "constant" };
  if (v === "cosine") return { kind: "cosine", totalSteps: 0 };
  const w = /^wsd(?::([\d.]+))?$/.exec(v);
  if (w) {
    const decayFraction = w[1] !== undefined ? num("schedule", w[1], 0, 1, true) : defaults.wsdDecayFraction;
    return { kind: "wsd", totalSteps: 0, decayFraction };
  }
  const m = /^step:(\d+):([\d.]+)$/.exec(v);
  if (m) return { kind: "step", stepSize: Number(m[1]), gamma: Number(m[2]) };
  throw new RnnkitError(`--schedule: expected auto, constant, cosine, wsd[:DECAY_FRACTION] or step:EVERY:GAMMA (e.g. step:1000:0.5), got ${JSON.stringify(v)}`);
}

/** With --resume and an existing --out file: the saved model, its task and where its training stopped. */
function resumeFrom(o: CommonTrainOptions, task: TaskName, backend: Backend): { saved: SavedModel; task: TaskModel; model: SequenceModel; fit: NonNullable<FitOptions["resume"]> } | null {
  if (!o.resume) return null;
  if (!existsSync(o.out)) throw new RnnkitError(`--resume: ${o.out} does not exist yet: run once without --resume`);
  const { saved, task: t } = open(o.out, backend);
  if (t.task !== task) throw new RnnkitError(`--resume: ${o.out} is a ${t.task} model, not ${task}`);
  const ck = saved.checkpoint;
  if (!ck) throw new RnnkitError(`--resume: ${o.out} holds no optimizer state (not a training checkpoint)`);
  note(`resuming ${o.out} after epoch ${ck.epoch}, step ${ck.step}`);
  const fitResume: NonNullable<FitOptions["resume"]> = { epoch: ck.epoch, optimizer: { step: ck.optimizer.step, lr: ck.optimizer.lr, tensors: saved.optimizerTensors ?? {} } };
  const tr = ck.trainer as { horizon?: unknown; warmup?: unknown; best?: { epoch: number; step: number; loss: number } } | undefined;
  if (tr && typeof tr.horizon === "number" && tr.horizon > 0 && typeof tr.warmup === "number") fitResume.trainer = { horizon: tr.horizon, warmup: tr.warmup };
  // --keep best: the file's model weights are the best so far; the last ones (to continue from) sit beside them
  if (tr?.best && typeof tr.best.loss === "number") fitResume.best = { ...tr.best, weights: saved.model.stateDict() };
  if (fitResume.best) fitResume.best.weights = Object.fromEntries(Object.entries(fitResume.best.weights).map(([k, v]) => [k, { shape: [...v.shape], data: v.data.slice() }]));
  if (saved.resumeWeights) saved.model.loadStateDict(saved.resumeWeights);
  return { saved, task: t, model: asSequenceModel(o.out, saved.model), fit: fitResume };
}

/**
 * The validation metrics of the trained model: those of the last epoch when training ended at an
 * epoch's end (the weights have not changed since), else computed now. Every way `trainLoop`
 * returns has already written the model file (at each epoch's end, or at the stop).
 */
function finalMetrics(r: FitResult, compute: () => Metrics): Metrics {
  return r.kept.val && r.kept.val.count > 0 ? r.kept.val : compute();
}

function modelOptions(o: CommonTrainOptions, hiddenSize: number): Pick<ModelConfig, "cell" | "hiddenSize" | "numLayers" | "dropout" | "seed"> {
  if (!["sgd", "adam", "adamw", "rmsprop", "adagrad"].includes(o.optimizer)) {
    throw new RnnkitError(`--optimizer: expected sgd, adam, adamw, rmsprop or adagrad, got ${JSON.stringify(o.optimizer)}`);
  }
  return {
    cell: cellOf(o.cell), hiddenSize, numLayers: int("layers", o.layers),
    dropout: num("dropout", o.dropout, 0, 0.95), seed: int("seed", o.seed, 0),
  };
}

// ------------------------------------------------------------------ train lm

export async function trainLm(o: CommonTrainOptions & { text?: string; dataset?: string; seqLen: string; tokenizer: string; sample: string; temperature: string }, backend: Backend): Promise<void> {
  checkOut(o);
  if (!o.text === !o.dataset) throw new RnnkitError("train lm: expected exactly one of --text FILE or --dataset moby-dick");
  if (o.dataset && o.dataset !== "moby-dick") throw new RnnkitError(`--dataset: expected moby-dick (the bundled dataset), got ${JSON.stringify(o.dataset)}`);
  const text = o.text ? readText(o.text) : mobyDick();
  const kind = tokenizerKind("tokenizer", o.tokenizer);
  // the validation set is the tail of the text, as for the n-gram baseline
  const valFraction = num("val-fraction", o.valFraction, 0, 0.5);
  const cut = Math.floor(text.length * (1 - valFraction));
  const trainText = text.slice(0, cut), valText = text.slice(cut);
  const resume = resumeFrom(o, "lm", backend);
  const tokenizer = resume?.saved.tokenizer ?? Tokenizer.build(kind, trainText);
  const trainIds = tokenizer.encode(trainText), valIds = tokenizer.encode(valText);
  const seqLen = int("seq-len", o.seqLen, 2);
  const auto = autoSizes("lm", { examples: trainIds.length, vocabulary: tokenizer.size }, seqLen);
  const parts: string[] = [];
  const batchSize = sized(parts, "batch-size", o.batchSize, auto.batchSize, undefined);
  if (trainIds.length < batchSize * 2 + 1) throw new RnnkitError(`the text is too short: ${trainIds.length} training tokens for --batch-size ${batchSize}; use a longer text or a smaller batch`);
  // validation reads the tail in chunks of --seq-len: fewer tokens than that validate nothing
  if (valFraction > 0 && valIds.length <= seqLen) {
    throw new RnnkitError(`the validation tail is too short: --val-fraction ${valFraction} of the text holds ${valIds.length} ${kind}s; expected more than --seq-len ${seqLen}. Use a longer text, a larger --val-fraction, or --val-fraction 0`);
  }
  const hidden = resume ? resume.model.config.hiddenSize : sized(parts, "hidden", o.hidden, auto.hiddenSize, auto.reasons.hiddenSize);
  const embedding = resume ? resume.model.config.embeddingDim! : sized(parts, "embedding", o.embedding, auto.embeddingDim, auto.reasons.embeddingDim);
  parts.push(`seq-len ${seqLen}`);
  const perEpoch = Math.max(1, Math.floor((trainIds.length - 1) / (batchSize * seqLen)));
  const model = resume?.model ?? new SequenceModel({
    task: "lm", ...modelOptions(o, hidden), vocabSize: tokenizer.size, embeddingDim: embedding, outputSize: tokenizer.size,
  }, { backend });
  const source = o.text ?? "moby-dick";
  note(`training a ${o.cell} language model (${parameterTable(model).total} parameters) on ${source}: ${trainIds.length} training and ${valIds.length} validation ${kind}s, vocabulary ${tokenizer.size}`);
  settingsLine(parts, o, horizonWords(o, auto.epochs, perEpoch));
  const info: LmInfo = { task: "lm", source, valFraction };
  const t0 = Date.now();
  const save = (x: CheckpointExtras, extra: Partial<LmInfo> = {}) => saveModel(o.out, model, { tokenizer, ...x, info: { ...info, ...extra } });
  const r = await trainLoop(model, { kind: "stream", train: trainIds, val: valIds.length > seqLen ? valIds : undefined }, o,
    { seqLen, batchSize, autoEpochs: auto.epochs, resume: resume?.fit }, save, "tok");
  const seconds = (Date.now() - t0) / 1000;
  const val = valIds.length > 1 ? finalMetrics(r, () => evaluate(model, { kind: "stream", ids: valIds }, { batchSize, seqLen })) : null;
  // the checkpoint is already written; rewrite it once more with the validation result in its info
  save(finalExtras(r), val?.bpc !== undefined ? { valBpc: val.bpc } : {});
  const sampleLen = int("sample", o.sample, 0);
  const sample = sampleLen > 0 ? tokenizer.decode(generateIds(model, tokenizer.encode("\n"), sampleLen, { temperature: num("temperature", o.temperature, 0, 10), seed: 1, exclude: [0, 1, 2, 3] })) : "";
  const kept = keptOf(r);
  const result = { bpc: val ? round(val.bpc!) : null, valLoss: val ? round(val.loss) : null, epochs: r.epochs.length, steps: r.steps, seconds: round(seconds), stoppedBy: r.stoppedBy, ...kept.result, model: o.out };
  report(result, o.json, `validation: ${val ? `${val.bpc!.toFixed(3)} bits per ${kind}` : "no validation text"} after ${seconds.toFixed(0)}s, ${r.steps} steps; ${kept.note}; model saved to ${o.out}${sample ? `\n--- sample ---\n${sample}\n---` : ""}`);
}

// ------------------------------------------------------------------ train classify

/**
 * Indices 0..n-1 shuffled (seeded) and split into validation and training parts. Refused before
 * any training: a validation part (--val-fraction > 0) of fewer than defaults.minValExamples, or
 * no training example left.
 */
function split(n: number, o: CommonTrainOptions, what: string): { trainIdx: number[]; valIdx: number[] } {
  const order = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, new Rng(int("seed", o.seed, 0)));
  const f = num("val-fraction", o.valFraction, 0, 0.5);
  const nVal = Math.floor(n * f);
  checkSplit(what, n, f, nVal, n - nVal);
  return { valIdx: order.slice(0, nVal), trainIdx: order.slice(nVal) };
}

function checkSplit(what: string, n: number, f: number, nVal: number, nTrain: number): void {
  const min = defaults.minValExamples;
  if (f > 0 && nVal < min) {
    throw new RnnkitError(`too little data for a validation split: --val-fraction ${f} of ${n} ${what} holds ${nVal}; expected at least ${min} (so at least ${Math.ceil(min / f)} ${what}). Use more data, a larger --val-fraction, or --val-fraction 0 to train without validation`);
  }
  if (nTrain < 1) throw new RnnkitError(`no training ${what} left: expected at least 1 after the validation split, got ${nTrain} of ${n}`);
}

/** Batches per epoch for the settings line and the epoch rule. */
function perEpochOf(n: number, batchSize: number): number {
  return Math.max(1, Math.ceil(n / batchSize));
}

/** DataStats of token sequences (lengths in tokens) and their distinct tokens. */
function tokenStats(lengths: readonly number[], vocabulary: number): DataStats {
  return { examples: lengths.length, vocabulary, ...lengthStats(lengths) };
}

export async function trainClassify(o: CommonTrainOptions & {
  data: string; textColumn: string; labelColumn: string; tokenizer: string; maxLen?: string; bidirectional?: boolean; pooling?: string; classWeights: string;
}, backend: Backend): Promise<void> {
  checkOut(o);
  const records = readRecords(o.data);
  const texts = column(o.data, records, o.textColumn);
  const gold = column(o.data, records, o.labelColumn);
  const labels = inFile(o.data, () => labelSet(gold, o.labelColumn));
  const kind = tokenizerKind("tokenizer", o.tokenizer);
  const { trainIdx, valIdx } = split(texts.length, o, "examples");
  const trainLabels = new Set(trainIdx.map((i) => gold[i]));
  if (trainLabels.size < 2) throw new RnnkitError(`the training part of ${o.data} holds ${trainLabels.size} distinct label(s) (${[...trainLabels].join(", ")}); expected at least 2`);
  const resume = resumeFrom(o, "classify", backend);
  if (resume && JSON.stringify((resume.task.info as ClassifyInfo).labels) !== JSON.stringify(labels)) throw new RnnkitError(`--resume: the labels of ${o.data} differ from those of ${o.out}`);
  const trainTexts = trainIdx.map((i) => texts[i]);
  // the sizes come from the training texts as a vocabulary without a cap reads them
  const full = classifyTokenizer(kind, trainTexts, Infinity);
  const auto = autoSizes("classify", tokenStats(trainTexts.map((t) => full.encode(t).length), full.size));
  const parts: string[] = [];
  const maxVocab = kind === "word" && !resume ? auto.maxVocab : defaults.maxVocab;
  const tokenizer = resume?.saved.tokenizer ?? classifyTokenizer(kind, trainTexts, maxVocab);
  if (kind === "word" && !resume) parts.push(`vocabulary ${tokenizer.size} of ${full.size} words (cap ${maxVocab}: ${auto.reasons.maxVocab})`);
  const maxLen = resume ? (resume.task.info as ClassifyInfo).maxLen : sized(parts, "max-len", o.maxLen, auto.maxLen, auto.reasons.maxLen);
  const all = inFile(o.data, () => classifyExamples(tokenizer, labels, texts, gold, maxLen));
  warnTruncated(all.truncated, texts.length, "texts", maxLen);
  const batchSize = sized(parts, "batch-size", o.batchSize, auto.batchSize, auto.reasons.batchSize);
  const hidden = resume ? resume.model.config.hiddenSize : sized(parts, "hidden", o.hidden, auto.hiddenSize, auto.reasons.hiddenSize);
  const embedding = resume ? resume.model.config.embeddingDim! : sized(parts, "embedding", o.embedding, auto.embeddingDim, auto.reasons.embeddingDim);
  const bidirectional = o.bidirectional ?? auto.bidirectional!;
  const pooling = (o.pooling ?? auto.pooling!) as Pooling;
  if (!resume) {
    parts.push(o.bidirectional !== undefined ? `${bidirectional ? "" : "not "}bidirectional (flag)` : `${bidirectional ? "" : "not "}bidirectional (${auto.reasons.bidirectional})`);
    parts.push(o.pooling !== undefined ? `pooling ${pooling}` : `pooling ${pooling} (${auto.reasons.pooling})`);
  }
  const model = resume?.model ?? new SequenceModel({
    task: "classify", ...modelOptions(o, hidden), vocabSize: tokenizer.size, embeddingDim: embedding, outputSize: labels.length, bidirectional, pooling,
  }, { backend });
  const train = trainIdx.map((i) => all.examples[i]);
  if (o.classWeights === "auto") {
    model.classWeights = balancedClassWeights(train.map((e) => e.target as number), labels.length);
    parts.push(`class weights ${labels.map((l, k) => `${l} ${model.classWeights![k].toFixed(2)}`).join(", ")} (inverse frequency, mean 1)`);
  }
  const info: ClassifyInfo = { task: "classify", labels, textColumn: o.textColumn, labelColumn: o.labelColumn, maxLen };
  note(`training a ${o.cell} classifier on ${trainIdx.length} examples (${valIdx.length} held out), ${labels.length} labels`);
  settingsLine(parts, o, horizonWords(o, auto.epochs, perEpochOf(train.length, batchSize)));
  const val = valIdx.map((i) => all.examples[i]);
  const r = await trainLoop(model, { kind: "examples", train, val }, o, { batchSize, autoEpochs: auto.epochs, resume: resume?.fit },
    (x) => saveModel(o.out, model, { tokenizer, ...x, info }), "seq");
  const m = val.length ? finalMetrics(r, () => evaluate(model, { kind: "examples", examples: val }, { batchSize })) : r.epochs[r.epochs.length - 1]?.train;
  const idx = valIdx.length ? valIdx : trainIdx;
  const e = new Classifier(model, tokenizer, info).evaluate(idx.map((i) => texts[i]), idx.map((i) => gold[i]));
  const kept = keptOf(r);
  const result = { accuracy: round(e.accuracy), macroF1: round(e.macroF1), loss: m ? round(m.loss) : null, epochs: r.epochs.length, steps: r.steps, stoppedBy: r.stoppedBy, ...kept.result, model: o.out };
  report(result, o.json, `${val.length ? "validation" : "training"} accuracy ${(e.accuracy * 100).toFixed(1)}%, macro-F1 ${e.macroF1.toFixed(3)}, loss ${m?.loss.toFixed(4)}; ${kept.note}; model saved to ${o.out}`);
}

// ------------------------------------------------------------------ train tag

function taggedFormat(path: string): TaggedFormat {
  const ext = extname(path).toLowerCase();
  return ext === ".jsonl" || ext === ".ndjson" ? "jsonl" : "conll";
}

function readSentences(path: string, requireTags: boolean): { sentences: Sentence[]; format: TaggedFormat } {
  const format = taggedFormat(path);
  return { sentences: parseTagged(readText(path), format, { requireTags, source: path }), format };
}

export async function trainTag(o: CommonTrainOptions & { data: string; maxLen?: string; bidirectional: boolean; lowercase?: boolean }, backend: Backend): Promise<void> {
  checkOut(o);
  const { sentences } = readSentences(o.data, true);
  const { trainIdx, valIdx } = split(sentences.length, o, "sentences");
  const resume = resumeFrom(o, "tag", backend);
  const vocab = tagVocabulary(trainIdx.map((i) => sentences[i]), { lowercase: o.lowercase === true });
  // every tag of the file: a tag seen only in the held-out part is still one the model can output
  const tags = resume ? (resume.task.info as TagInfo).tags : tagVocabulary(sentences).tags;
  const tokenizer = resume?.saved.tokenizer ?? vocab.tokenizer;
  const auto = autoSizes("tag", tokenStats(trainIdx.map((i) => sentences[i].tokens.length), tokenizer.size));
  const parts: string[] = [];
  const maxLen = resume ? (resume.task.info as TagInfo).maxLen : sized(parts, "max-len", o.maxLen, auto.maxLen, auto.reasons.maxLen);
  const all = inFile(o.data, () => tagExamples(tokenizer, tags, sentences, maxLen));
  warnTruncated(all.truncated, sentences.length, "sentences", maxLen);
  const batchSize = sized(parts, "batch-size", o.batchSize, auto.batchSize, auto.reasons.batchSize);
  const hidden = resume ? resume.model.config.hiddenSize : sized(parts, "hidden", o.hidden, auto.hiddenSize, auto.reasons.hiddenSize);
  const embedding = resume ? resume.model.config.embeddingDim! : sized(parts, "embedding", o.embedding, auto.embeddingDim, auto.reasons.embeddingDim);
  const model = resume?.model ?? new SequenceModel({
    task: "tag", ...modelOptions(o, hidden), vocabSize: tokenizer.size, embeddingDim: embedding, outputSize: tags.length,
    bidirectional: o.bidirectional,
  }, { backend });
  const info: TagInfo = { task: "tag", tags, maxLen };
  note(`training a ${o.bidirectional ? "bidirectional " : ""}${o.cell} tagger on ${trainIdx.length} sentences (${valIdx.length} held out), ${tags.length} tags, vocabulary ${tokenizer.size}`);
  settingsLine(parts, o, horizonWords(o, auto.epochs, perEpochOf(trainIdx.length, batchSize)));
  const val = valIdx.map((i) => all.examples[i]);
  const r = await trainLoop(model, { kind: "examples", train: trainIdx.map((i) => all.examples[i]), val }, o, { batchSize, autoEpochs: auto.epochs, resume: resume?.fit },
    (x) => saveModel(o.out, model, { tokenizer, ...x, info }), "seq");
  const idx = valIdx.length ? valIdx : trainIdx;
  const e = new Tagger(model, tokenizer, info).evaluate(idx.map((i) => sentences[i]));
  const kept = keptOf(r);
  const result = { tokenAccuracy: round(e.tokenAccuracy), tokens: e.tokens, epochs: r.epochs.length, steps: r.steps, stoppedBy: r.stoppedBy, ...kept.result, model: o.out };
  report(result, o.json, `${valIdx.length ? "validation" : "training"} token accuracy ${(e.tokenAccuracy * 100).toFixed(1)}% over ${e.tokens} tokens; ${kept.note}; model saved to ${o.out}`);
}

// ------------------------------------------------------------------ train forecast

function featureList(v: string | undefined, target: string): string[] {
  const list = (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (list.includes(target)) throw new RnnkitError(`--features: expected covariate columns other than the target ${JSON.stringify(target)}, got ${JSON.stringify(v)}`);
  if (new Set(list).size !== list.length) throw new RnnkitError(`--features: expected distinct column names, got ${JSON.stringify(v)}`);
  return list;
}

function readRows(path: string, column: string, features: readonly string[]): number[][] {
  const records = readRecords(path);
  return forecastRows(numericColumn(path, records, column), features.map((f) => numericColumn(path, records, f)));
}

export async function trainForecast(o: CommonTrainOptions & { data: string; column: string; window: string; horizon: string; features?: string }, backend: Backend): Promise<void> {
  checkOut(o);
  const features = featureList(o.features, o.column);
  const rows = readRows(o.data, o.column, features);
  const window = int("window", o.window, 1), horizon = int("horizon", o.horizon, 1);
  const valFraction = num("val-fraction", o.valFraction, 0, 0.5);
  const cut = Math.floor(rows.length * (1 - valFraction));
  if (cut < window + horizon + 1) throw new RnnkitError(`${o.data}: ${rows.length} rows are too few for --window ${window} and --horizon ${horizon}: expected at least ${Math.ceil((window + horizon + 1) / (1 - valFraction))}`);
  const resume = resumeFrom(o, "forecast", backend);
  const info: ForecastInfo = { task: "forecast", column: o.column, features, window, horizon };
  if (resume) {
    const was = resume.task.info as ForecastInfo;
    if (JSON.stringify(was) !== JSON.stringify(info)) throw new RnnkitError(`--resume: ${o.out} forecasts ${was.column} from [${[was.column, ...was.features].join(", ")}] with window ${was.window} and horizon ${was.horizon}; this run asks for ${info.column} from [${[info.column, ...features].join(", ")}], window ${window}, horizon ${horizon}`);
  }
  const scaler = resume?.saved.scaler ?? fitForecastScaler(rows.slice(0, cut));
  const train = forecastWindows(rows.slice(0, cut), scaler, window, horizon);
  const val = forecastWindows(rows.slice(Math.max(0, cut - window)), scaler, window, horizon);
  if (valFraction > 0) checkSplit("windows", train.length + val.length, valFraction, val.length, train.length);
  const auto = autoSizes("forecast", { examples: train.length });
  const parts: string[] = [];
  const batchSize = sized(parts, "batch-size", o.batchSize, auto.batchSize, auto.reasons.batchSize);
  const hidden = resume ? resume.model.config.hiddenSize : sized(parts, "hidden", o.hidden, auto.hiddenSize, auto.reasons.hiddenSize);
  const model = resume?.model ?? new SequenceModel({ task: "regress", ...modelOptions(o, hidden), inputSize: 1 + features.length, outputSize: horizon }, { backend });
  note(`training a ${o.cell} forecaster on ${train.length} windows of ${window} steps x ${1 + features.length} column(s), horizon ${horizon} (${val.length} held out)`);
  settingsLine(parts, o, horizonWords(o, auto.epochs, perEpochOf(train.length, batchSize)));
  const r = await trainLoop(model, { kind: "examples", train, val }, o, { batchSize, autoEpochs: auto.epochs, resume: resume?.fit },
    (x) => saveModel(o.out, model, { scaler, ...x, info }), "seq");
  const m = forecastMetrics(new Forecaster(model, scaler, info), val.length ? val : train);
  const kept = keptOf(r);
  report({ ...roundAll(m), horizon, epochs: r.epochs.length, steps: r.steps, stoppedBy: r.stoppedBy, ...kept.result, model: o.out }, o.json,
    `${val.length ? "validation" : "training"} ${regressionLine(m, o.column)}; ${kept.note}; model saved to ${o.out}`);
}

function regressionLine(m: RegressionMetrics, column: string): string {
  const mape = Number.isNaN(m.mape) ? "n/a" : `${m.mape.toFixed(2)}%`;
  return `MAE ${m.mae.toPrecision(4)} (in the units of ${column}), RMSE ${m.rmse.toPrecision(4)}, MAPE ${mape}${m.mapeSkipped ? ` (${m.mapeSkipped} zero value(s) skipped)` : ""}, sMAPE ${m.smape.toFixed(2)}%`;
}

// ------------------------------------------------------------------ train seq2seq

/** The pairs of a table file: a pair with a missing or empty side is refused with its line, or skipped and counted. */
function readPairs(path: string, sourceColumn: string, targetColumn: string, skipBadRows: boolean): { pairs: Pair[]; skipped: number } {
  const { records, lines } = readRecordsWithLines(path);
  for (const c of [sourceColumn, targetColumn]) checkColumn(path, records, c);
  const side = (c: string) => records.map((x) => (Object.hasOwn(x, c) ? x[c] : undefined));
  const r = inFile(path, () => seq2seqPairs(side(sourceColumn), side(targetColumn), lines, { skipBadRows }));
  if (r.skipped) note(`skipped ${r.skipped} pair(s) with a missing or empty side (--skip-bad-rows)`);
  return r;
}

function attentionOf(v: string): AttentionKind {
  if (!(ATTENTIONS as readonly string[]).includes(v)) throw new RnnkitError(`--attention: expected one of ${ATTENTIONS.join(", ")}, got ${JSON.stringify(v)}`);
  return v as AttentionKind;
}

export async function trainSeq2seq(o: CommonTrainOptions & {
  data: string; sourceColumn: string; targetColumn: string; tokenizer: string; sourceTokenizer?: string; targetTokenizer?: string;
  attention: string; beam: string; maxLen?: string; bidirectional?: boolean; skipBadRows?: boolean;
}, backend: Backend): Promise<void> {
  checkOut(o);
  const attention = attentionOf(o.attention);
  const beam = int("beam", o.beam);
  const srcKind = tokenizerKind(o.sourceTokenizer !== undefined ? "source-tokenizer" : "tokenizer", o.sourceTokenizer ?? o.tokenizer);
  const tgtKind = tokenizerKind(o.targetTokenizer !== undefined ? "target-tokenizer" : "tokenizer", o.targetTokenizer ?? o.tokenizer);
  const { pairs } = readPairs(o.data, o.sourceColumn, o.targetColumn, o.skipBadRows === true);
  const { trainIdx, valIdx } = split(pairs.length, o, "pairs");
  const resume = resumeFrom(o, "seq2seq", backend);
  const trainPairs = trainIdx.map((i) => pairs[i]);
  const source = resume?.saved.tokenizer ?? vocabularyOf(srcKind, trainPairs.map((p) => p.source));
  const target = resume ? (resume.task as Translator).targetTokenizer : vocabularyOf(tgtKind, trainPairs.map((p) => p.target));
  const sideLengths = trainPairs.flatMap((p) => [source.encode(p.source).length, target.encode(p.target).length + 1]);
  const auto = autoSizes("seq2seq", { ...tokenStats(sideLengths, Math.max(source.size, target.size)), examples: trainPairs.length });
  const parts: string[] = [];
  const maxLen = resume ? (resume.task.info as Seq2SeqInfo).maxLen : sized(parts, "max-len", o.maxLen, auto.maxLen, auto.reasons.maxLen, 2);
  const all = seq2seqExamples(source, target, pairs, maxLen);
  warnTruncated(all.truncated, pairs.length, "pairs", maxLen);
  const batchSize = sized(parts, "batch-size", o.batchSize, auto.batchSize, auto.reasons.batchSize);
  const hidden = resume ? (resume.saved.model.config as unknown as { hiddenSize: number }).hiddenSize : sized(parts, "hidden", o.hidden, auto.hiddenSize, auto.reasons.hiddenSize);
  // a resumed model keeps its own sizes (the value below is then unused)
  const embedding = resume ? 0 : sized(parts, "embedding", o.embedding, auto.embeddingDim, auto.reasons.embeddingDim);
  const arch = modelOptions(o, hidden);
  const model = resume ? resume.saved.model : new Seq2Seq({
    cell: arch.cell, sourceVocabSize: source.size, targetVocabSize: target.size, embeddingDim: embedding, hiddenSize: arch.hiddenSize,
    numLayers: arch.numLayers, bidirectional: o.bidirectional === true, dropout: arch.dropout, attention, seed: arch.seed,
  }, { backend });
  const info: Seq2SeqInfo = { task: "seq2seq", sourceColumn: o.sourceColumn, targetColumn: o.targetColumn, targetTokenizer: target.toJSON(), maxLen, beam };
  note(`training a ${o.cell} encoder-decoder (attention ${attention}, ${parameterTable(model).total} parameters) on ${trainIdx.length} pairs (${valIdx.length} held out), vocabularies ${source.size} -> ${target.size}`);
  settingsLine(parts, o, horizonWords(o, auto.epochs, perEpochOf(trainIdx.length, batchSize)));
  const r = await trainLoop(model, { kind: "examples", train: trainIdx.map((i) => all.examples[i]), val: valIdx.map((i) => all.examples[i]) }, o, { batchSize, autoEpochs: auto.epochs, resume: resume?.fit },
    (x) => saveModel(o.out, model, { tokenizer: source, ...x, info }), "seq");
  const idx = valIdx.length ? valIdx : trainIdx;
  const e = new Translator(model as Seq2Seq, source, info).evaluate(idx.map((i) => pairs[i].source), idx.map((i) => pairs[i].target));
  const kept = keptOf(r);
  report({ tokenErrorRate: round(e.tokenErrorRate), exactMatch: round(e.exactMatch), count: e.count, beam, epochs: r.epochs.length, steps: r.steps, stoppedBy: r.stoppedBy, ...kept.result, model: o.out }, o.json,
    `${valIdx.length ? "validation" : "training"} token error rate ${(e.tokenErrorRate * 100).toFixed(1)}%, exact match ${(e.exactMatch * 100).toFixed(1)}% (beam ${beam}); ${kept.note}; model saved to ${o.out}`);
}

// ------------------------------------------------------------------ eval / generate / predict / info

/** Opens a model file as its task (the task info checked against the model). */
export function open(path: string, backend: Backend): { saved: SavedModel; task: TaskModel } {
  if (!existsSync(path)) throw new RnnkitError(`${path}: no such model file: train one with \`rnnkit train ... --out ${path}\``);
  const saved = loadModel(path, { backend });
  return { saved, task: openTask(saved, path) };
}

function wrongTask(path: string, command: string, t: TaskModel, needs: string): RnnkitError {
  return new RnnkitError(`${command}: ${path} is a ${t.task} model; ${command} needs ${needs}`);
}

/** Refuses a data file whose kind does not fit the model's task, saying both. */
function checkDataKind(command: string, path: string, t: TaskModel, data: string): void {
  const ext = extname(data).toLowerCase();
  const table = ext === ".csv" || ext === ".tsv";
  if (t.task === "tag" && table) throw new RnnkitError(`${command}: ${path} is a tag model; it reads CoNLL (token<TAB>tag lines) or .jsonl ({"tokens": [...]}), got ${data}`);
  if ((t.task === "classify" || t.task === "forecast" || t.task === "seq2seq") && !table && ext !== ".jsonl" && ext !== ".ndjson") {
    throw new RnnkitError(`${command}: ${path} is a ${t.task} model; it reads a .csv, .tsv or .jsonl file with named columns, got ${data}`);
  }
}

export function evalCommand(path: string, o: {
  text?: string; dataset?: string; tail?: string; data?: string; textColumn?: string; labelColumn?: string; column?: string; features?: string;
  sourceColumn?: string; targetColumn?: string; beam?: string; skipBadRows?: boolean; json?: boolean;
}, backend: Backend): void {
  const { task: t } = open(path, backend);
  if (t.task === "lm") {
    if (!o.text === !o.dataset) throw new RnnkitError("eval: a language model is evaluated on --text FILE or --dataset moby-dick");
    let text = o.text ? readText(o.text) : mobyDick();
    const tail = o.tail !== undefined ? num("tail", o.tail, 0, 1, true) : o.dataset ? 0.1 : 1;
    text = text.slice(Math.floor(text.length * (1 - tail)));
    const r = t.evaluate(text, { batchSize: 32, seqLen: 100 });
    const kind = t.tokenizer.kind;
    report({ bpc: round(r.bpc), loss: round(r.loss), tokens: r.tokens, unknownTokens: r.unknownTokens }, o.json,
      `${r.bpc.toFixed(3)} bits per ${kind} over ${r.tokens} ${kind}s${unknownNote(r.unknownTokens, kind)}`);
    return;
  }
  if (!o.data) throw new RnnkitError(`eval: a ${t.task} model is evaluated on --data FILE`);
  checkDataKind("eval", path, t, o.data);
  if (t.task === "classify") {
    const records = readRecords(o.data);
    const texts = column(o.data, records, o.textColumn ?? t.info.textColumn);
    const gold = column(o.data, records, o.labelColumn ?? t.info.labelColumn);
    const r = inFile(o.data, () => t.evaluate(texts, gold));
    warnTruncated(r.truncated, texts.length, "texts", t.info.maxLen);
    const result = { accuracy: round(r.accuracy), macroF1: round(r.macroF1), labels: r.labels, confusion: r.confusion, count: r.count, unknownTokens: r.unknownTokens, truncated: r.truncated };
    report(result, o.json, `accuracy ${(r.accuracy * 100).toFixed(1)}%, macro-F1 ${r.macroF1.toFixed(3)} over ${r.count} examples${unknownNote(r.unknownTokens, t.tokenizer.kind)}\n${confusionTable(r.labels, r.confusion)}`);
    return;
  }
  if (t.task === "tag") {
    const { sentences } = readSentences(o.data, true);
    const r = inFile(o.data, () => t.evaluate(sentences));
    report({ tokenAccuracy: round(r.tokenAccuracy), tokens: r.tokens, sentences: r.count, unknownTokens: r.unknownTokens }, o.json,
      `token accuracy ${(r.tokenAccuracy * 100).toFixed(1)}% over ${r.tokens} tokens in ${r.count} sentences${unknownNote(r.unknownTokens, "token")}`);
    return;
  }
  if (t.task === "seq2seq") {
    const { pairs } = readPairs(o.data, o.sourceColumn ?? t.info.sourceColumn, o.targetColumn ?? t.info.targetColumn, o.skipBadRows === true);
    const beam = o.beam !== undefined ? int("beam", o.beam) : t.beam;
    const r = t.evaluate(pairs.map((p) => p.source), pairs.map((p) => p.target), { beam });
    warnTruncated(r.truncated, pairs.length, "sources", t.info.maxLen);
    report({ tokenErrorRate: round(r.tokenErrorRate), exactMatch: round(r.exactMatch), count: r.count, beam, unknownTokens: r.unknownTokens }, o.json,
      `token error rate ${(r.tokenErrorRate * 100).toFixed(1)}%, exact match ${(r.exactMatch * 100).toFixed(1)}% over ${r.count} pairs (beam ${beam})${unknownNote(r.unknownTokens, t.tokenizer.kind)}`);
    return;
  }
  const rows = readRows(o.data, o.column ?? t.info.column, o.features !== undefined ? featureList(o.features, o.column ?? t.info.column) : t.info.features);
  const r = t.evaluate(rows);
  report({ ...roundAll(r), horizon: t.horizon }, o.json, `${regressionLine(r, t.info.column)} over ${r.count} forecasts (${t.horizon} step(s) ahead from each window)`);
}

function unknownNote(n: number, kind: string): string {
  return n > 0 ? `; ${n} ${kind}(s) never seen in training read as <unk>` : "";
}

/** The confusion matrix as a text table: rows = true labels, columns = predicted. */
function confusionTable(labels: readonly string[], m: readonly (readonly number[])[]): string {
  const corner = "true \\ predicted";
  const first = Math.max(corner.length, ...labels.map((l) => l.length));
  const w = Math.max(...labels.map((l) => l.length), ...m.flat().map((v) => String(v).length));
  return [
    `${corner.padEnd(first)}  ${labels.map((l) => l.padStart(w)).join(" ")}`,
    ...labels.map((l, r) => `${l.padEnd(first)}  ${m[r].map((v) => String(v).padStart(w)).join(" ")}`),
  ].join("\n");
}

export function generateCommand(path: string, o: { prompt?: string; length: string; temperature: string; topK: string; topP: string; seed: string; json?: boolean }, backend: Backend): void {
  const { task: t } = open(path, backend);
  if (t.task !== "lm") throw wrongTask(path, "generate", t, "a language model (rnnkit train lm)");
  const prompt = o.prompt ?? "\n";
  const ids = t.tokenizer.encode(prompt);
  if (ids.length === 0) throw new RnnkitError("--prompt: expected some text, got an empty prompt");
  const out = generateIds(t.model, ids, int("length", o.length, 0), {
    temperature: num("temperature", o.temperature, 0, 10), topK: int("top-k", o.topK, 0), topP: num("top-p", o.topP, 0, 1, true),
    seed: int("seed", o.seed, 0), exclude: [0, 1, 2, 3],
  });
  const text = t.tokenizer.decode(out);
  const sep = t.tokenizer.kind === "word" && o.prompt ? " " : "";
  report({ text: (o.prompt ?? "") + sep + text }, o.json, `${o.prompt ?? ""}${sep}${text}`);
}

export function predictCommand(path: string, o: { data: string; textColumn?: string; column?: string; features?: string; sourceColumn?: string; beam?: string; json?: boolean }, backend: Backend): void {
  const { task: t } = open(path, backend);
  const json = o.json === true;
  if (t.task === "lm") throw wrongTask(path, "predict", t, "a classify, tag, forecast or seq2seq model; a language model is used with `rnnkit generate` or `rnnkit eval`");
  checkDataKind("predict", path, t, o.data);
  if (t.task === "classify") {
    const texts = column(o.data, readRecords(o.data), o.textColumn ?? t.info.textColumn);
    const r = t.predictMany(texts);
    warnTruncated(r.truncated, texts.length, "texts", t.info.maxLen);
    writeLines(r.predictions.map((p) => (json ? JSON.stringify(classifyRow(p)) : p.label)));
    return;
  }
  if (t.task === "tag") {
    const { sentences, format } = readSentences(o.data, false);
    const r = t.predictMany(sentences.map((s) => s.tokens));
    if (r.unknownTokens > 0) note(`${r.unknownTokens} token(s) never seen in training read as <unk>`);
    const tagged = sentences.map((s, i) => ({ tokens: s.tokens, tags: r.predictions[i].tags }));
    writeLines(json ? tagged.map((s, i) => JSON.stringify(tagRow(s.tokens, r.predictions[i]))) : formatTagged(tagged, format));
    return;
  }
  if (t.task === "seq2seq") {
    const { records } = readRecordsWithLines(o.data);
    const col = o.sourceColumn ?? t.info.sourceColumn;
    checkColumn(o.data, records, col);
    // a row without a source has nothing to translate: its line stays empty (JSON: null)
    const sources = records.map((r) => (!Object.hasOwn(r, col) || r[col] === undefined || r[col] === null ? "" : String(r[col])));
    const todo = sources.map((s, i) => (s.trim() ? i : -1)).filter((i) => i >= 0);
    const beam = o.beam !== undefined ? int("beam", o.beam) : t.beam;
    const r = todo.length ? t.translateMany(todo.map((i) => sources[i]), { beam }) : { outputs: [], translations: [], truncated: 0, unknownTokens: 0 };
    warnTruncated(r.truncated, todo.length, "sources", t.info.maxLen);
    // a row without a source: an empty line, or the row of rows.ts for an empty source
    const rows: Record<string, unknown>[] = sources.map(() => ({ output: null, score: null }));
    todo.forEach((i, k) => (rows[i] = seq2seqRow(r.outputs[k], r.translations[k])));
    writeLines(rows.map((row) => (json ? JSON.stringify(row) : (row.output as string | null) ?? "")));
    return;
  }
  const target = o.column ?? t.info.column;
  const rows = readRows(o.data, target, o.features !== undefined ? featureList(o.features, target) : t.info.features);
  if (rows.length < t.window) throw new RnnkitError(`${o.data}: expected at least ${t.window} rows (the model's window), got ${rows.length}`);
  // line i: the forecast of row i from the rows before it; then the horizon past the end
  const past = t.oneStepAhead(rows), ahead = t.forecast(rows);
  writeLines([
    ...past.map((v) => (json ? JSON.stringify({ forecast: v === null ? null : round(v) }) : v === null ? "" : String(round(v)))),
    ...ahead.map((v, k) => (json ? JSON.stringify({ ahead: k + 1, forecast: round(v) }) : String(round(v)))),
  ]);
}

export function infoCommand(path: string, o: { json?: boolean }, backend: Backend): void {
  if (!existsSync(path)) throw new RnnkitError(`${path}: no such model file`);
  const saved = loadModel(path, { backend });
  // a file whose task info does not check out is still described, with the reason
  let t: { task: string; info: unknown };
  let problem: string | undefined;
  try {
    t = openTask(saved, path);
  } catch (e) {
    if (!(e instanceof RnnkitError)) throw e;
    problem = e.message;
    t = { task: String(saved.info?.task ?? saved.model.task), info: saved.info ?? null };
    note(`warning: ${problem}`);
  }
  const table = parameterTable(saved.model);
  // a vocabulary inside the info (seq2seq's target tokenizer) is summarised, not listed
  let info = t.info;
  if (info && typeof info === "object" && "targetTokenizer" in info) {
    const tt = (info as Seq2SeqInfo).targetTokenizer;
    info = { ...info, targetTokenizer: { kind: tt?.kind, size: tt?.tokens?.length, lowercase: tt?.lowercase } };
  }
  const result: Record<string, unknown> = {
    task: t.task, kind: saved.model.kind, config: saved.model.config, info, ...(problem ? { problem } : {}),
    parameters: table.rows, totalParameters: table.total, formatVersion: saved.formatVersion, version: saved.version,
  };
  if (saved.tokenizer) result.tokenizer = { kind: saved.tokenizer.kind, size: saved.tokenizer.size, lowercase: saved.tokenizer.lowercase };
  if (saved.scaler) result.scaler = { kind: saved.scaler.kind, features: saved.scaler.features };
  const scheduleSteps = (saved.checkpoint?.trainer as { horizon?: number } | undefined)?.horizon;
  if (saved.checkpoint) result.checkpoint = { epoch: saved.checkpoint.epoch, step: saved.checkpoint.step, optimizer: saved.checkpoint.optimizer.name, ...(scheduleSteps ? { scheduleSteps } : {}) };
  const cfg = Object.entries(saved.model.config).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join("\n");
  const w = Math.max(4, ...table.rows.map((r) => r.name.length));
  const params = [`  ${"name".padEnd(w)}  ${"shape".padEnd(14)}  count`, ...table.rows.map((r) => `  ${r.name.padEnd(w)}  ${`[${r.shape.join(", ")}]`.padEnd(14)}  ${r.count}`), `  ${"total".padEnd(w)}  ${"".padEnd(14)}  ${table.total}`].join("\n");
  const human = [
    `${path}: a ${t.task} model (${saved.model.kind} model, task ${saved.model.task})`,
    `file format ${saved.formatVersion}, written by rnnkit ${saved.version}`,
    `architecture:\n${cfg}`,
    `task info: ${JSON.stringify(info)}`,
    ...(problem ? [`problem: ${problem}`] : []),
    ...(saved.tokenizer ? [`tokenizer: ${saved.tokenizer.kind}, ${saved.tokenizer.size} tokens${saved.tokenizer.lowercase ? ", lowercased" : ""}`] : []),
    ...(saved.checkpoint ? [`checkpoint: epoch ${saved.checkpoint.epoch}, step ${saved.checkpoint.step} (${saved.checkpoint.optimizer.name}${scheduleSteps ? `, schedule over ${scheduleSteps} steps` : ""})${saved.resumeWeights ? "; the model holds the best-validation weights, the last ones are kept to resume from" : ""}`] : []),
    `parameters:\n${params}`,
  ].join("\n");
  report(result, o.json, human);
}

// ------------------------------------------------------------------ helpers

const round = round4;

function roundAll<T extends object>(m: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = typeof v === "number" ? (Number.isFinite(v) ? round(v) : null) : v;
  return out as T;
}

