/**
 * The fit loop: mini-batches (shuffled, bucketed by length, padded with lengths) or truncated
 * BPTT over a long stream with the state carried across chunks; gradient clipping (on by
 * default); learning-rate schedule; validation each epoch; early stopping; callbacks; a time
 * budget; checkpoints written atomically; and a NaN/Inf guard that stops with a clear message
 * and keeps the last good checkpoint.
 *
 * The same seed gives the same run: batch order is a function of (seed, epoch), weights and
 * dropout masks come from seeded generators. The schedule's horizon (total optimizer steps) is
 * fixed once at the start: `steps`, else epochs x batches per epoch, else (a run bounded only by
 * `timeBudget`) measured from the speed of its first steps, which alone depends on the machine.
 */
import { type Example, bucketBatches, streamChunks } from "../data/batches.js";
import { defaults } from "../defaults.js";
import type { Batch } from "../data/batch.js";
import type { Model, StepResult } from "../models/model.js";
import { NonFiniteError, RnnkitError, type Tensor, checkPositiveInt } from "../tensor.js";
import { Optimizer, type OptimizerName, type OptimizerOptions, type Schedule, type ScheduleOption, checkSchedule, clipGradNorm, lrFactor, resolveSchedule } from "./optimizers.js";

/** Training data: examples (many-to-one / aligned tagging), or one long token stream (language model). */
export type TrainData =
  | { kind: "examples"; train: readonly Example[]; val?: readonly Example[] }
  | { kind: "stream"; train: ArrayLike<number>; val?: ArrayLike<number> };

export interface Progress {
  epoch: number;
  /** Infinity when only `steps` or a time budget bounds the run */
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
  /** true for the part of an epoch run before a stop (steps reached, time budget) */
  partial?: boolean;
  train: Metrics;
  val?: Metrics;
  elapsed: number;
}

/** The best validation state of a run so far (keepBest): weights copied when they were best. */
export interface BestState {
  epoch: number;
  step: number;
  loss: number;
  weights: Record<string, Tensor>;
}

/** Where a run stopped inside an epoch: what `resume` needs to go on with that epoch at its next batch. */
export interface EpochPosition {
  /** the epoch in progress (1-based) */
  epoch: number;
  /** how many of its batches are done */
  batch: number;
  /** its running training metrics: loss x count summed, the count, the arg-max hits */
  lossSum: number;
  count: number;
  correct: number;
}

/** What a checkpoint must hold besides the model and optimizer so that `resume` continues the same run. */
export interface TrainerState {
  /** the schedule's horizon in optimizer steps and its warm-up */
  horizon: number;
  warmup: number;
  horizonFrom: "steps" | "epochs" | "time" | "checkpoint";
  /** the model's random generators (dropout masks): `model.randomState()` */
  random?: number[];
  /** a stop inside an epoch: where in it (the checkpoint's `epoch` counts the epochs finished) */
  position?: EpochPosition;
  /** early stopping: the best loss so far (none before the first epoch ends) and the epochs since it */
  early?: { best?: number; since: number };
}

/** A language model's state carried from one chunk to the next (stream data), at a stop inside an epoch. */
export interface CarriedState {
  h?: Tensor;
  c?: Tensor;
}

export interface FitOptions {
  /** Passes over the data. Default: defaults.epochs, unless `steps` or `timeBudget` bounds the run (then unbounded). */
  epochs?: number;
  /** Total optimizer steps: stop after this many (counting the steps of a resumed run); the schedule's horizon. */
  steps?: number;
  batchSize?: number;
  /** Truncated-BPTT chunk length for stream data. */
  seqLen?: number;
  optimizer?: OptimizerName;
  optimizerOptions?: OptimizerOptions;
  /** Default "auto": warm-up, flat, then a linear decay over the last 20% of the horizon (see ScheduleOption). */
  schedule?: ScheduleOption;
  /** Default: autoWarmup(horizon) for "auto", else defaults.warmupSteps. */
  warmupSteps?: number;
  /**
   * Keep the best-validation weights (default false in the library, `--keep best` in the CLI):
   * when the run ends the model holds the weights of its best validation loss (each epoch's end,
   * and the state at a steps/time stop), and `FitResult.last` the last weights to resume from.
   */
  keepBest?: boolean;
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
  onCheckpoint?: (info: { epoch: number; step: number; optimizer: Optimizer; reason: "epoch" | "stop"; trainer: TrainerState; best?: BestState; carry?: CarriedState }) => void;
  /** Aborting it (Ctrl-C) stops after the current batch, with a checkpoint. */
  signal?: AbortSignal;
  /** Resume: an optimizer state and the epoch to continue from. */
  resume?: {
    epoch: number; optimizer: { step: number; lr: number; tensors: Record<string, { data: ArrayLike<number> }> };
    /**
     * The interrupted run's trainer state (a checkpoint's): its horizon and warm-up (the resumed run
     * follows the same schedule), its random generators, where it stopped inside an epoch and its
     * early-stopping count, so that the resumed run equals an uninterrupted one.
     */
    trainer?: Pick<TrainerState, "horizon" | "warmup"> & Partial<Pick<TrainerState, "random" | "position" | "early">>;
    /** stream data stopped inside an epoch: the state carried into its next chunk */
    carry?: CarriedState;
    /** keepBest: the best state of the interrupted run */
    best?: BestState;
  };
}

export interface FitResult {
  epochs: EpochReport[];
  stoppedBy: "epochs" | "steps" | "time" | "signal" | "early-stopping" | "callback" | "nan";
  /** the message of a NaN/Inf stop */
  message?: string;
  steps: number;
  optimizer: Optimizer;
  /** the schedule's horizon and warm-up (undefined horizon: stopped before it was measured) */
  trainer: TrainerState | undefined;
  /** which weights the model holds now: the last ones, or (keepBest) those of the best validation loss */
  kept: { which: "best" | "last"; epoch: number; step: number; val?: Metrics };
  /** keepBest, when the best is not the last: the last weights (what a checkpoint resumes from) */
  last?: Record<string, Tensor>;
}

function copyWeights(model: Model): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(model.stateDict())) out[k] = { shape: [...v.shape], data: v.data.slice() };
  return out;
}

/**
 * Trains `model` on `data`. Asynchronous only to yield to the event loop between batches (at
 * most every 50 ms), so that Ctrl-C, timers and a browser page stay responsive.
 */
export async function fit(model: Model, data: TrainData, opts: FitOptions = {}): Promise<FitResult> {
  const where = "fit";
  const timeOnly = opts.epochs === undefined && opts.steps === undefined && opts.timeBudget !== undefined;
  const epochs = opts.epochs ?? (opts.steps !== undefined || opts.timeBudget !== undefined ? Infinity : defaults.epochs);
  const batchSize = opts.batchSize ?? defaults.batchSize;
  const seqLen = opts.seqLen ?? defaults.seqLen;
  const clip = opts.clipNorm ?? defaults.clipNorm;
  const seed = opts.seed ?? defaults.seed;
  if (epochs !== Infinity) checkPositiveInt(where, "epochs", epochs);
  if (opts.steps !== undefined) checkPositiveInt(where, "steps", opts.steps);
  for (const [k, v] of [["batchSize", batchSize], ["seqLen", seqLen]] as const) checkPositiveInt(where, k, v);
  if (opts.timeBudget !== undefined && !(opts.timeBudget > 0)) throw new RnnkitError(`${where}: timeBudget: expected a positive number of seconds, got ${opts.timeBudget}`);
  if (data.kind === "stream" && model.task !== "lm") throw new RnnkitError(`${where}: stream data trains a language model, got task ${model.task}`);
  if (data.kind === "examples" && data.train.length === 0) throw new RnnkitError(`${where}: expected at least one training example, got none`);
  const collate = (part: readonly Example[]) => model.collate(part);
  const optimizer = new Optimizer(opts.optimizer ?? defaults.optimizer, model.parameters(), opts.optimizerOptions ?? {}, model.backend);
  const baseLr = optimizer.lr;
  let startEpoch = 1;
  const position = opts.resume?.trainer?.position;
  if (opts.resume) {
    optimizer.loadStateDict(opts.resume.optimizer);
    startEpoch = opts.resume.epoch + 1;
    if (position) checkPosition(where, position, startEpoch);
    if (opts.resume.trainer?.random) model.setRandomState(opts.resume.trainer.random);
  }
  const scheduleOption: ScheduleOption = checkSchedule(where, opts.schedule ?? "auto");
  // the horizon: fixed once, at the start (or measured on the first steps of a time-bounded run)
  let trainer: TrainerState | undefined;
  const fixHorizon = (horizon: number, from: TrainerState["horizonFrom"], warmup = opts.warmupSteps) => {
    const r = resolveSchedule(scheduleOption, horizon, warmup);
    trainer = { horizon, warmup: r.warmup, horizonFrom: from };
    schedule = r.schedule;
  };
  let schedule: Schedule = { kind: "constant" };
  // before the horizon is measured: the warm-up alone (of the length "auto" has for a long run)
  const probeWarmup = opts.warmupSteps ?? (scheduleOption === "auto" ? defaults.autoWarmupSteps : defaults.warmupSteps);
  if (opts.resume?.trainer) fixHorizon(opts.resume.trainer.horizon, "checkpoint", opts.resume.trainer.warmup);
  else if (opts.steps !== undefined) fixHorizon(opts.steps, "steps");
  const params = model.parameters();
  const t0 = performance.now();
  const probeStart = optimizer.step;
  let probeMark: { step: number; at: number } | undefined;
  const reports: FitResult["epochs"] = [];
  let best = Infinity, sinceBest = 0;
  let bestState: BestState | undefined = opts.keepBest ? opts.resume?.best : undefined;
  if (bestState) best = bestState.loss;
  const early = opts.resume?.trainer?.early;
  if (early) {
    if ((early.best !== undefined && !Number.isFinite(early.best)) || !Number.isInteger(early.since) || early.since < 0) throw new RnnkitError(`${where}: resume.trainer.early: expected { best?: finite number, since: integer >= 0 }, got ${JSON.stringify(early)}`);
    best = early.best ?? Infinity;
    sinceBest = early.since;
  }
  // what a checkpoint records besides the horizon: the random generators, a position inside an epoch, early stopping
  const stateNow = (pos?: EpochPosition): TrainerState => ({ ...trainer!, random: model.randomState(), ...(pos ? { position: pos } : {}), early: { ...(Number.isFinite(best) ? { best } : {}), since: sinceBest } });
  const hasVal = data.val !== undefined && data.val.length > 0;
  const validate = () => evaluate(model, data.kind === "stream" ? { kind: "stream", ids: data.val! } : { kind: "examples", examples: data.val! }, { batchSize, seqLen });
  const consider = (epoch: number, val: Metrics | undefined) => {
    if (!opts.keepBest || !val) return;
    if (!bestState || val.loss < bestState.loss - 1e-9) bestState = { epoch, step: optimizer.step, loss: val.loss, weights: copyWeights(model) };
  };
  let lastVal: { step: number; val: Metrics } | undefined;
  const finish = (stoppedBy: FitResult["stoppedBy"], epoch: number, message?: string, at?: { position: EpochPosition; carry: CarriedState }): FitResult => {
    // a stop inside an epoch: the state reached is validated, so that keepBest can keep it
    if ((stoppedBy === "time" || stoppedBy === "steps") && hasVal && lastVal?.step !== optimizer.step) {
      const val = validate();
      lastVal = { step: optimizer.step, val };
      consider(epoch, val);
    }
    // (a steps stop ends its epoch, checkpointed there)
    if (stoppedBy === "time" || stoppedBy === "signal") {
      if (!trainer) measureHorizon();
      opts.onCheckpoint?.({ epoch, step: optimizer.step, optimizer, reason: "stop", trainer: stateNow(at?.position), best: bestState, ...(at && (at.carry.h || at.carry.c) ? { carry: at.carry } : {}) });
    }
    model.eval();
    let kept: FitResult["kept"] = { which: "last", epoch, step: optimizer.step, ...(lastVal?.step === optimizer.step ? { val: lastVal.val } : {}) };
    let last: Record<string, Tensor> | undefined;
    if (opts.keepBest && bestState && bestState.step !== optimizer.step && stoppedBy !== "nan") {
      last = copyWeights(model);
      model.loadStateDict(bestState.weights);
      kept = { which: "best", epoch: bestState.epoch, step: bestState.step, val: { loss: bestState.loss, count: 0 } };
      const r = reports.find((x) => x.epoch === bestState!.epoch && !x.partial);
      if (r?.val) kept.val = r.val;
    } else if (opts.keepBest && bestState) kept = { ...kept, which: "best" };
    const r: FitResult = { epochs: reports, stoppedBy, steps: optimizer.step, optimizer, trainer, kept };
    if (last) r.last = last;
    if (message) r.message = message;
    return r;
  };
  // time-bounded: the horizon from the speed of the first steps (setup and first-step costs included, so it errs short)
  const measureHorizon = () => {
    const now = performance.now(), elapsed = (now - t0) / 1000;
    // the first defaults.horizonProbeSkip steps (compilation, first allocations) are left out when there are more
    const from = probeMark && optimizer.step > probeMark.step ? probeMark : { step: probeStart, at: t0 };
    const perStep = (now - from.at) / 1000 / Math.max(1, optimizer.step - from.step);
    fixHorizon(optimizer.step + Math.max(1, Math.floor(((opts.timeBudget! - elapsed) * defaults.horizonBudgetUse) / perStep)), "time");
  };
  let lastYield = performance.now();
  const outOfTime = () => opts.timeBudget !== undefined && (performance.now() - t0) / 1000 >= opts.timeBudget;

  for (let epoch = startEpoch; epoch <= epochs; epoch++) {
    model.train();
    const batches = data.kind === "stream" ? streamChunks(data.train, batchSize, seqLen) : bucketBatches(data.train, batchSize, collate, seed + epoch);
    if (!trainer && !timeOnly) fixHorizon(epochs * batches.length, "epochs");
    // a resumed run that stopped inside this epoch goes on at its next batch, with its running metrics and carried state
    const from = position && epoch === position.epoch ? position : undefined;
    if (from && from.batch >= batches.length) throw new RnnkitError(`${where}: resume.trainer.position: batch ${from.batch} of epoch ${epoch}, but the epoch has ${batches.length} batches: is the data or the batch size not that of the interrupted run?`);
    let h: Tensor | undefined = from ? opts.resume?.carry?.h : undefined, c: Tensor | undefined = from ? opts.resume?.carry?.c : undefined;
    let lossSum = from?.lossSum ?? 0, count = from?.count ?? 0, correct = from?.correct ?? 0, items = 0;
    const te = performance.now();
    let stop: FitResult["stoppedBy"] | undefined;
    const first = from?.batch ?? 0;
    let done = first;
    const here = (batchesDone: number): { position: EpochPosition; carry: CarriedState } => ({ position: { epoch, batch: batchesDone, lossSum, count, correct }, carry: data.kind === "stream" ? { h, c } : {} });
    for (let i = first; i < batches.length; i++, done++) {
      const batch: Batch = batches[i];
      if (data.kind === "stream") {
        if (h) batch.h0 = h;
        if (c) batch.c0 = c;
      }
      optimizer.lr = baseLr * lrFactor(schedule, optimizer.step, trainer ? trainer.warmup : probeWarmup);
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
      const elapsed = (performance.now() - t0) / 1000;
      if (!trainer && !probeMark && optimizer.step - probeStart >= defaults.horizonProbeSkip) probeMark = { step: optimizer.step, at: performance.now() };
      if (!trainer && (optimizer.step - probeStart >= defaults.horizonProbeSkip + defaults.horizonProbeSteps || elapsed >= defaults.horizonProbeSeconds)) measureHorizon();
      opts.onProgress?.({
        epoch, epochs, batch: i + 1, batches: batches.length, step: optimizer.step, loss: r.loss, epochLoss: lossSum / Math.max(1, count),
        itemsPerSec: items / Math.max(1e-3, (performance.now() - te) / 1000), elapsed, lr: optimizer.lr, gradNorm,
      });
      if (performance.now() - lastYield > 50) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
      if (opts.signal?.aborted) {
        if (i + 1 < batches.length) return finish("signal", epoch - 1, undefined, here(i + 1));
        stop = "signal";
        done++;
        break;
      }
      if (opts.steps !== undefined && optimizer.step >= opts.steps) {
        stop = "steps";
        done++;
        break;
      }
      if (outOfTime()) {
        if (i + 1 < batches.length) return finish("time", epoch - 1, undefined, here(i + 1));
        stop = "time";
        done++;
        break;
      }
    }
    const train = metrics(model, lossSum, count, correct);
    const report: EpochReport = { epoch, train, elapsed: (performance.now() - t0) / 1000 };
    if (stop && done < batches.length) report.partial = true;
    if (hasVal) {
      report.val = validate();
      lastVal = { step: optimizer.step, val: report.val };
      consider(epoch, report.val);
    }
    reports.push(report);
    if (!trainer) measureHorizon();
    let patienceOut = false;
    if (!report.partial) {
      const vloss = report.val?.loss ?? train.loss;
      if (vloss < best - 1e-9) {
        best = vloss;
        sinceBest = 0;
      } else if (opts.patience !== undefined && ++sinceBest >= opts.patience) patienceOut = true;
    }
    // a steps stop inside the epoch: the checkpoint counts the epochs finished and says where in this one it stopped
    const partial = report.partial ? here(done) : undefined;
    opts.onCheckpoint?.({
      epoch: partial ? epoch - 1 : epoch, step: optimizer.step, optimizer, reason: "epoch", trainer: stateNow(partial?.position), best: bestState,
      ...(partial && (partial.carry.h || partial.carry.c) ? { carry: partial.carry } : {}),
    });
    const go = opts.onEpoch?.(report);
    // (Ctrl-C or the time budget on an epoch's last batch: that epoch is finished and checkpointed)
    if (stop) return finish(stop, epoch);
    if (go === false) return finish("callback", epoch);
    if (patienceOut) return finish("early-stopping", epoch);
  }
  return finish("epochs", epochs);
}

/** A checkpoint's position inside an epoch, checked before it is used (it comes from a file). */
function checkPosition(where: string, p: EpochPosition, startEpoch: number): void {
  const ok = typeof p === "object" && p !== null && p.epoch === startEpoch && Number.isInteger(p.batch) && p.batch >= 1 &&
    Number.isFinite(p.lossSum) && Number.isInteger(p.count) && p.count >= 0 && Number.isInteger(p.correct) && p.correct >= 0 && p.correct <= p.count;
  if (!ok) {
    throw new RnnkitError(`${where}: resume.trainer.position: expected { epoch: ${startEpoch} (the one after resume.epoch), batch: integer >= 1, lossSum: finite, count and correct: integers, 0 <= correct <= count }, got ${JSON.stringify(p)?.slice(0, 200)}`);
  }
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
