/**
 * What the sequence-output examples (g2p, pos, names, captions) share: training for a FIXED
 * number of optimizer steps (so that a result reproduces across machines; the time budget only
 * caps it; common.ts `fitSteps`), and a few small helpers.
 */
import type { Example } from "../src/data/batches.js";
import type { Model } from "../src/models/model.js";
import { RnnkitError } from "../src/tensor.js";
import { fitSteps } from "./common.js";

export interface StepPlan {
  /** optimizer steps (one mini-batch each) */
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps?: number;
  seed: number;
  /** seconds: a cap only (a run that hits it says so in `stoppedBy`) */
  timeBudget?: number;
}

export interface StepResult {
  /** optimizer steps taken (fewer than planned only when the time budget cut the run) */
  steps: number;
  plannedSteps: number;
  /** epochs begun (the last one may be partial) */
  epochs: number;
  /** passes over the training examples: steps x batch size / examples */
  passes: number;
  stoppedBy: "steps" | "time" | "nan" | "epochs";
  /** the last mini-batch losses, averaged over up to 50 steps */
  finalLoss: number;
  trainSeconds: number;
}

/** Trains `model` on `train` for `plan.steps` steps (Adam, cosine schedule, gradient clipping at the default). */
export async function trainForSteps(model: Model, train: readonly Example[], plan: StepPlan, log?: (line: string) => void): Promise<StepResult> {
  const recent: number[] = [];
  let lastLog = 0;
  const warmupSteps = plan.warmupSteps ?? Math.min(100, Math.floor(plan.steps / 20));
  const { fit: r, seconds, batchesPerEpoch: perEpoch } = await fitSteps(model, train, { ...plan, warmupSteps }, (p) => {
    recent.push(p.loss);
    if (recent.length > 50) recent.shift();
    if (log && (Date.now() - lastLog > 15000 || p.step >= plan.steps)) {
      lastLog = Date.now();
      log(`step ${p.step}/${plan.steps} (epoch ${p.epoch}/${p.epochs}) loss ${mean(recent).toFixed(4)} lr ${p.lr.toExponential(2)} ${p.elapsed.toFixed(0)} s`);
    }
  });
  if (r.stoppedBy === "nan") throw new RnnkitError(r.message ?? "training stopped: a non-finite loss");
  const stoppedBy = r.stoppedBy === "signal" ? "steps" : r.stoppedBy === "time" ? "time" : "epochs";
  return {
    steps: r.steps, plannedSteps: plan.steps, epochs: Math.ceil(r.steps / perEpoch), passes: Math.round((100 * r.steps * plan.batchSize) / train.length) / 100, stoppedBy, finalLoss: mean(recent), trainSeconds: seconds,
  };
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** A progress line on stderr, prefixed by the example's name. */
export function logger(name: string): (line: string) => void {
  return (line) => process.stderr.write(`${name}: ${line}\n`);
}

/** Rounds for the JSON report (4 significant decimals of a fraction). */
export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The most frequent element of a list (ties: the one that reached the top count first). */
export function mostFrequent<T>(xs: Iterable<T>): T {
  const counts = new Map<T, number>();
  let best: T | undefined, bestN = 0;
  for (const x of xs) {
    const n = (counts.get(x) ?? 0) + 1;
    counts.set(x, n);
    if (n > bestN) {
      best = x;
      bestN = n;
    }
  }
  if (best === undefined) throw new Error("mostFrequent: expected at least one element");
  return best;
}
