/**
 * What the four many-to-one examples share beyond common.ts: training for a FIXED number of
 * optimizer steps (so that a result reproduces across machines; the time budget only caps it),
 * and writing the held-out data beside the saved model, so that
 * `node dist/src/cli/main.js predict <model> --data <file>` runs on it as it is.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Example } from "../src/data/batches.js";
import type { Tokenizer } from "../src/data/tokenizer.js";
import { saveModel } from "../src/io/model-file.js";
import type { Model } from "../src/models/model.js";
import type { SequenceModel } from "../src/models/sequence-model.js";
import { Classifier } from "../src/tasks/classify.js";
import type { ClassifyInfo } from "../src/tasks/task.js";
import type { FitResult } from "../src/train/trainer.js";
import { type ExampleArgs, fitSteps, report } from "./common.js";

export interface Plan {
  /** optimizer steps (epochs × batches per epoch on the fixed split, or --steps) */
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  /** seconds: a cap only */
  timeBudget: number;
}

/**
 * The plan of a run: `epochs` passes over `nTrain` examples in batches of `batchSize` — or
 * `--steps`, or `quickSteps` under `--quick` — capped by `--time-budget` (else `cap` seconds).
 */
export function plan(args: ExampleArgs, o: { nTrain: number; batchSize: number; epochs: number; lr: number; warmupSteps?: number; quickSteps?: number; cap?: number }): Plan {
  const perEpoch = Math.ceil(o.nTrain / o.batchSize);
  const steps = args.steps ?? (args.quick ? (o.quickSteps ?? 5) : o.epochs * perEpoch);
  return { steps, batchSize: o.batchSize, lr: o.lr, warmupSteps: Math.min(o.warmupSteps ?? 0, Math.floor(steps / 4)), timeBudget: args.timeBudget ?? o.cap ?? 900 };
}

export interface Trained {
  /** steps taken: `plan.steps` unless the time budget stopped it first */
  steps: number;
  seconds: number;
  /** "steps" (the plan), or "time" (the cap), or "nan" */
  stoppedBy: string;
  /** mean training loss of each full epoch */
  epochLosses: number[];
  fit: FitResult;
}

/** Trains for exactly `plan.steps` steps (common.ts `fitSteps`), logging every 15 s. */
export async function trainSteps(model: Model, train: readonly Example[], p: Plan, seed: number, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<Trained> {
  let lastLog = 0;
  const { fit: r, seconds } = await fitSteps(model, train, { steps: p.steps, batchSize: p.batchSize, lr: p.lr, warmupSteps: p.warmupSteps, seed, timeBudget: p.timeBudget }, (pr) => {
    if (Date.now() - lastLog > 15000) {
      lastLog = Date.now();
      log(`  step ${pr.step}/${p.steps}: loss ${pr.epochLoss.toFixed(4)} (epoch ${pr.epoch}), ${pr.elapsed.toFixed(0)} s`);
    }
  });
  if (r.stoppedBy === "nan") throw new Error(r.message);
  const stoppedBy = r.stoppedBy === "signal" || r.stoppedBy === "epochs" ? "steps" : r.stoppedBy;
  if (stoppedBy === "time") log(`  the time budget (${p.timeBudget} s) stopped training after ${r.steps} of ${p.steps} steps: the result is not the reproducible one`);
  // the losses of the epochs that ran to their end (a stop inside an epoch reports none for it)
  return { steps: r.steps, seconds, stoppedBy, epochLosses: r.epochs.map((e) => e.train.loss), fit: r };
}

/** Writes records as JSON Lines (a file the CLI's --data reads). */
export function writeJsonl(path: string, records: readonly object[]): void {
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

/** Rounds for the JSON report. */
export function round(v: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}


/**
 * The end of a text-classifier example (spam, gender): the test rows evaluated, the model saved
 * with the test rows beside it (`<name>-test.jsonl`), accuracy reported against the baseline.
 * `data` are the example's own counts (duplicates dropped, ...), reported after the split sizes.
 */
export function finishClassifier<T extends { label: string }>(name: string, o: {
  model: SequenceModel; tokenizer: Tokenizer; info: ClassifyInfo; train: readonly T[]; test: readonly T[]; text: (row: T) => string;
  baseline: number; baselineName: string; trained: Trained; plan: Plan; t0: number; out: string; data: Record<string, number>;
}): Record<string, unknown> {
  const e = new Classifier(o.model, o.tokenizer, o.info).evaluate(o.test.map(o.text), o.test.map((x) => x.label));
  saveModel(o.out, o.model, { tokenizer: o.tokenizer, info: o.info });
  const testFile = join(dirname(o.out), `${name}-test.jsonl`);
  writeJsonl(testFile, o.test);
  const rows = [{ metric: "accuracy", value: e.accuracy, baseline: o.baseline, baselineName: o.baselineName, target: o.baseline }];
  const r = o.trained;
  const extra = {
    accuracy: round(e.accuracy), baseline: round(o.baseline), macroF1: round(e.macroF1), confusion: e.confusion, labels: o.info.labels,
    train: o.train.length, test: o.test.length, ...o.data, steps: r.steps, plannedSteps: o.plan.steps, stoppedBy: r.stoppedBy,
    trainSeconds: round(r.seconds, 1), seconds: round((Date.now() - o.t0) / 1000, 1), model: o.out, testData: testFile,
  };
  report(name, rows, extra);
  return { example: name, results: rows, ...extra };
}
