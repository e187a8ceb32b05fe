/**
 * The fit loop: mini-batches (shuffled, bucketed by length, padded with lengths) or truncated
 * BPTT over a long stream with the state carried across chunks; gradient clipping (on by
 * default); learning-rate schedule; validation each epoch; early stopping; callbacks; a time
 * budget; checkpoints written atomically; and a NaN/Inf guard that stops with a clear message
 * and keeps the last good checkpoint.
 *
 * The same seed gives the same run: batch order is a function of (seed, epoch), weights and
 * dropout masks come from seeded generators.
 */
import { type Example, bucketBatches, streamChunks } from "../data/batches.js";
import { defaults } from "../defaults.js";
import type { Batch } from "../data/batch.js";
import type { Model, StepResult } from "../models/model.js";
import { NonFiniteError, RnnkitError, type Tensor, checkPositiveInt } from "../tensor.js";
import { Optimizer, type OptimizerName, type OptimizerOptions, type Schedule, clipGradNorm, lrFactor } from "./optimizers.js";

/** Training data: examples (many-to-one / aligned tagging), or one long token stream (language model). */
export type TrainData =
  | { kind: "examples"; train: readonly Example[]; val?: readonly Example[] }
  | { kind: "stream"; train: ArrayLike<number>; val?: ArrayLike<number> };

export interface Progress {
  epoch: number;
  epochs: number;
  /** batch within the epoch (1-based) and batches per epoch */
  batch: number;
  batches: number;
  step: number;
  loss: number;
  /** mean loss of this epoch so far */
  epochLoss: number;
  /** sequences (examples) or tokens per second this epoch */
  itemsPerSec: number;
  elapsed: number;
  lr: number;
  gradNorm: number;
}

export interface Metrics {
  loss: number;
  /** classification / tagging / lm: fraction of arg-max hits */
  accuracy?: number;
  /** lm: bits per token (loss / ln 2) */
  bpc?: number;
  count: number;
}

export interface EpochReport {
  epoch: number;
  train: Metrics;
  val?: Metrics;
  elapsed: number;
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Truncated-BPTT chunk length for stream data. */
  seqLen?: number;
  optimizer?: OptimizerName;
  optimizerOptions?: OptimizerOptions;
  schedule?: Schedule;
  warmupSteps?: number;
  /** Global gradient-norm clipping threshold; 0 disables. */
  clipNorm?: number;
  seed?: number;
  /** Stop after this many seconds (the current state is checkpointed). */
  timeBudget?: number;
  /** Stop when the validation loss has not improved for this many epochs. */
  patience?: number;
  /** Called after every batch. */
  onProgress?: (p: Progress) => void;
  /** Called after every epoch; return false to stop. */
  onEpoch?: (r: EpochReport) => boolean | void;
  /** Called when a checkpoint should be written (end of each epoch, and at a stop). */
  onCheckpoint?: (info: { epoch: number; step: number; optimizer: Optimizer; reason: "epoch" | "stop" }) => void;
  /** Aborting it (Ctrl-C) stops after the current batch, with a checkpoint. */
  signal?: AbortSignal;
  /** Resume: an optimizer state and the epoch to continue from. */
  resume?: { epoch: number; optimizer: { step: number; lr: number; tensors: Record<string, { data: ArrayLike<number> }> } };
}

export interface FitResult {
  epochs: EpochReport[];
  stoppedBy: "epochs" | "time" | "signal" | "early-stopping" | "callback" | "nan";
  /** the message of a NaN/Inf stop */
  message?: string;
  steps: number;
  optimizer: Optimizer;
}

/**
 * Trains `model` on `data`. Asynchronous only to yield to the event loop between batches (at
 * most every 50 ms), so that Ctrl-C, timers and a browser page stay responsive.
 */
export async function fit(model: Model, data: TrainData, opts: FitOptions = {}): Promise<FitResult> {
  const where = "fit";
  const epochs = opts.epochs ?? defaults.epochs;
  const batchSize = opts.batchSize ?? defaults.batchSize;
  const seqLen = opts.seqLen ?? defaults.seqLen;
  const clip = opts.clipNorm ?? defaults.clipNorm;
  const seed = opts.seed ?? defaults.seed;
  for (const [k, v] of [["epochs", epochs], ["batchSize", batchSize], ["seqLen", seqLen]] as const) checkPositiveInt(where, k, v);
  if (data.kind === "stream" && model.task !== "lm") throw new RnnkitError(`${where}: stream data trains a language model, got task ${model.task}`);
  if (data.kind === "examples" && data.train.length === 0) throw new RnnkitError(`${where}: expected at least one training example, got none`);
  const collate = (part: readonly Example[]) => model.collate(part);
  const optimizer = new Optimizer(opts.optimizer ?? defaults.optimizer, model.parameters(), opts.optimizerOptions ?? {}, model.backend);
  const baseLr = optimizer.lr;
  let startEpoch = 1;
  if (opts.resume) {
    optimizer.loadStateDict(opts.resume.optimizer);
    startEpoch = opts.resume.epoch + 1;
  }
  let schedule: Schedule = opts.schedule ?? { kind: "constant" };
  const warmup = opts.warmupSteps ?? defaults.warmupSteps;
  const params = model.parameters();
  const t0 = Date.now();
  const reports: FitResult["epochs"] = [];
  let best = Infinity, sinceBest = 0;
  const finish = (stoppedBy: FitResult["stoppedBy"], epoch: number, message?: string): FitResult => {
    if (stoppedBy !== "nan" && stoppedBy !== "epochs" && stoppedBy !== "early-stopping" && stoppedBy !== "callback") {
      opts.onCheckpoint?.({ epoch, step: optimizer.step, optimizer, reason: "stop" });
    }
    model.eval();
    const r: FitResult = { epochs: reports, stoppedBy, steps: optimizer.step, optimizer };
    if (message) r.message = message;
    return r;
  };
  let lastYield = Date.now();
  const outOfTime = () => opts.timeBudget !== undefined && (Date.now() - t0) / 1000 >= opts.timeBudget;

  for (let epoch = startEpoch; epoch <= epochs; epoch++) {
    model.train();
    const batches = data.kind === "stream" ? streamChunks(data.train, batchSize, seqLen) : bucketBatches(data.train, batchSize, collate, seed + epoch);
    // a cosine schedule without a length anneals over the whole run
    if (schedule.kind === "cosine" && !(schedule.totalSteps > 0)) schedule = { ...schedule, totalSteps: epochs * batches.length };
    let h: Tensor | undefined, c: Tensor | undefined;
    let lossSum = 0, count = 0, correct = 0, items = 0;
    const te = Date.now();
    for (let i = 0; i < batches.length; i++) {
      const batch: Batch = batches[i];
      if (data.kind === "stream") {
        if (h) batch.h0 = h;
        if (c) batch.c0 = c;
      }
      optimizer.lr = baseLr * lrFactor(schedule, optimizer.step, warmup);
      model.zeroGrad();
      let r: StepResult;
      let gradNorm = NaN;
      let what = "";
      try {
        r = model.lossAndBackward(batch);
        if (clip > 0) gradNorm = clipGradNorm(model.backend, params, clip);
        if (!Number.isFinite(r.loss)) what = `the loss is ${r.loss}`;
        else if (clip > 0 && !Number.isFinite(gradNorm)) what = `the gradient norm is ${gradNorm}`;
      } catch (e) {
        if (!(e instanceof NonFiniteError)) throw e;
        what = e.message;
        r = undefined as never;
      }
      if (what) {
        return finish("nan", epoch,
          `training stopped at epoch ${epoch}, batch ${i + 1}, step ${optimizer.step + 1}: ${what}. ` +
          `The weights of this step were not applied; the last checkpoint is the last good state. Try a lower learning rate (now ${optimizer.lr}) or a smaller clipNorm.`);
      }
      optimizer.stepOnce();
      h = r.h;
      c = r.c;
      lossSum += r.loss * r.count;
      count += r.count;
      correct += r.correct;
      items += data.kind === "stream" ? batch.T * batch.B : batch.B;
      const elapsed = (Date.now() - t0) / 1000;
      opts.onProgress?.({
        epoch, epochs, batch: i + 1, batches: batches.length, step: optimizer.step, loss: r.loss, epochLoss: lossSum / Math.max(1, count),
        itemsPerSec: items / Math.max(1e-3, (Date.now() - te) / 1000), elapsed, lr: optimizer.lr, gradNorm,
      });
      if (Date.now() - lastYield > 50) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = Date.now();
      }
      if (opts.signal?.aborted) return finish("signal", epoch - 1);
      if (outOfTime()) return finish("time", epoch - 1);
    }
    const train = metrics(model, lossSum, count, correct);
    const report: EpochReport = { epoch, train, elapsed: (Date.now() - t0) / 1000 };
    if (data.val && data.val.length > 0) report.val = evaluate(model, data.kind === "stream" ? { kind: "stream", ids: data.val } : { kind: "examples", examples: data.val }, { batchSize, seqLen });
    reports.push(report);
    opts.onCheckpoint?.({ epoch, step: optimizer.step, optimizer, reason: "epoch" });
    if (opts.onEpoch?.(report) === false) return finish("callback", epoch);
    const vloss = report.val?.loss ?? train.loss;
    if (vloss < best - 1e-9) {
      best = vloss;
      sinceBest = 0;
    } else if (opts.patience !== undefined && ++sinceBest >= opts.patience) return finish("early-stopping", epoch);
  }
  return finish("epochs", epochs);
}

function metrics(model: Model, lossSum: number, count: number, correct: number): Metrics {
  const m: Metrics = { loss: lossSum / Math.max(1, count), count };
  if (model.task !== "regress") m.accuracy = correct / Math.max(1, count);
  if (model.task === "lm") m.bpc = m.loss / Math.LN2;
  return m;
}

/** Loss (and accuracy, bits per token) of a model on examples or a token stream, in eval mode. */
export function evaluate(
  model: Model, data: { kind: "examples"; examples: readonly Example[] } | { kind: "stream"; ids: ArrayLike<number> },
  opts: { batchSize?: number; seqLen?: number } = {},
): Metrics {
  const wasTraining = model.isTraining;
  model.eval();
  const batchSize = opts.batchSize ?? defaults.batchSize;
  let lossSum = 0, count = 0, correct = 0;
  if (data.kind === "stream") {
    // fewer, longer rows: the state carries over more context, as it does when generating
    const B = Math.max(1, Math.min(batchSize, Math.floor((data.ids.length - 1) / (opts.seqLen ?? defaults.seqLen))));
    let h: Tensor | undefined, c: Tensor | undefined;
    for (const batch of streamChunks(data.ids, B, opts.seqLen ?? defaults.seqLen)) {
      if (h) batch.h0 = h;
      if (c) batch.c0 = c;
      const r = model.lossOf(batch);
      lossSum += r.loss * r.count;
      count += r.count;
      correct += r.correct;
      h = r.h;
      c = r.c;
    }
  } else {
    for (const batch of bucketBatches(data.examples, batchSize, (part) => model.collate(part), 0, false)) {
      const r = model.lossOf(batch);
      lossSum += r.loss * r.count;
      count += r.count;
      correct += r.correct;
    }
  }
  if (wasTraining) model.train();
  return metrics(model, lossSum, count, correct);
}
