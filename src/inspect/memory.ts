/**
 * The memory experiment: delayed recall, the argument for gated cells made measurable.
 *
 * Task (after Hochreiter & Schmidhuber 1997, §5's long-time-lag experiments): one of K symbols is
 * shown, then N steps of a distractor symbol (distinct from the K), and after the last one the
 * network must name the first symbol. Inputs are one-hot vectors of K + 1 features (index K is the
 * distractor); the sequence has N + 1 steps; the model is a many-to-one classifier over K classes
 * read from the final state. Chance is 1/K.
 *
 * A plain tanh RNN carries the symbol through N multiplications by W_hh and tanh', so its
 * gradient dL/dh_t shrinks (or grows) geometrically with the distance N - t (Bengio et al. 1994;
 * Pascanu et al. 2013); the LSTM's cell state c_t = f c_{t-1} + i g is a running sum whose
 * gradient is scaled only by the forget gate. `memoryExperiment` trains the three cells at equal
 * hidden size for each N, and the RNN and GRU again at the LSTM's parameter count for the longest
 * delays, measures test accuracy on fresh sequences, and measures the gradient norm against the
 * distance at initialisation and after training, from the real backward pass
 * (`gradientThroughTime`).
 *
 * Initialisation of the gated cells (`gateInit`). PyTorch's U(-1/sqrt(H), 1/sqrt(H)) biases put
 * the LSTM forget gate and the GRU update gate near σ(0) = 0.5, so the state keeps half of itself
 * per step and the symbol's trace (forward) and its gradient (backward) shrink like 0.5^N: at
 * N = 100 both are gone in float32 before training starts, and the gate cannot be learned open
 * because the gradient that would open it is that same vanished one. Hochreiter & Schmidhuber's
 * argument is about a cell that keeps its state (their 1997 LSTM had no forget gate: f = 1), so
 * the default here is the chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural
 * networks warp time?", §3): keep-gate biases b ~ log(U(1, T_max - 1)), forgetting times
 * 1 + e^b spread over [2, T_max] with T_max the longest delay of the experiment (one init for all
 * runs), and for the LSTM the input gate's bias -b, so that the distractor does not keep writing
 * into c. "pytorch" keeps PyTorch's init; a number sets that constant keep-gate bias (1:
 * Jozefowicz et al. 2015 and Keras's unit_forget_bias). The tanh RNN has no gate and always
 * starts from PyTorch's init.
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import type { Example } from "../data/batches.js";
import { defaults } from "../defaults.js";
import { type ModelConfig, SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { RnnkitError, checkPositiveInt, describe } from "../tensor.js";
import { evaluate, fit } from "../train/trainer.js";
import type { MemoryRow } from "./charts.js";
import { gradientThroughTime } from "./inspect.js";
import { parameterCounts } from "./parameters.js";

/** The cells the experiment compares (the tanh RNN is "rnn"). */
export const MEMORY_CELLS = ["rnn", "lstm", "gru"] as const;
export type MemoryCell = (typeof MEMORY_CELLS)[number];

/** How the gated cells' keep-gate biases start (see the file comment); a number: that constant bias. */
export const MEMORY_GATE_INITS = ["chrono", "pytorch"] as const;
export type MemoryGateInit = (typeof MEMORY_GATE_INITS)[number] | number;

/**
 * `count` delayed-recall examples: inputs [N+1][K+1] one-hot (symbol at step 0, the distractor K
 * at steps 1..N), target the symbol in [0, K). Seeded: the same seed gives the same examples.
 */
export function delayedRecall(opts: { symbols?: number; delay: number; count: number; seed?: number }): Example[] {
  const where = "delayedRecall";
  const K = checkPositiveInt(where, "symbols", opts.symbols ?? defaults.memorySymbols);
  if (K < 2) throw new RnnkitError(`${where}: symbols: expected at least 2 symbols to choose from, got ${K}`);
  const N = opts.delay;
  if (!Number.isInteger(N) || N < 0) throw new RnnkitError(`${where}: delay: expected an integer >= 0 (distractor steps), got ${describe(N)}`);
  const count = checkPositiveInt(where, "count", opts.count);
  const rng = new Rng(opts.seed ?? defaults.seed);
  const out: Example[] = [];
  for (let e = 0; e < count; e++) {
    const s = Math.floor(rng.next() * K);
    const inputs: number[][] = [];
    for (let t = 0; t <= N; t++) {
      const row = new Array<number>(K + 1).fill(0);
      row[t === 0 ? s : K] = 1;
      inputs.push(row);
    }
    out.push({ inputs, target: s });
  }
  return out;
}

/** The classifier config of the task for a cell and hidden size. */
export function memoryModelConfig(cell: MemoryCell, hidden: number, symbols: number, seed: number): ModelConfig {
  return { task: "classify", cell, inputSize: symbols + 1, hiddenSize: hidden, outputSize: symbols, pooling: "last", seed };
}

/** The hidden size whose parameter count is closest to `target` for `cell` (ties: the smaller). */
export function hiddenForParameters(cell: MemoryCell, target: number, symbols: number): number {
  let best = 1, bestGap = Infinity;
  for (let H = 1; H <= defaults.maxHiddenSize; H++) {
    const n = parameterCounts(memoryModelConfig(cell, H, symbols, 0)).total;
    const gap = Math.abs(n - target);
    if (gap < bestGap) {
      best = H;
      bestGap = gap;
    }
    if (n > target) break;
  }
  return best;
}

export interface MemoryOptions {
  /** the same runs with fewer steps, test sequences and gradient samples (a smoke run under a minute) */
  quick?: boolean;
  /** N values (default defaults.memoryDelays = 5, 10, 20, 50, 100) */
  delays?: number[];
  /** K (default 8) */
  symbols?: number;
  /** the equal hidden size of all cells (default defaults.memoryHidden) */
  hidden?: number;
  /** how many of the longest delays also get the runs at equal parameter count (default 2) */
  equalParameterDelays?: number;
  /** optimizer steps per run (default from defaults.memorySteps, fewer under quick) */
  steps?: number;
  batchSize?: number;
  lr?: number;
  /** fresh test sequences per run (default defaults.memoryTestSize; fewer under quick) */
  testSize?: number;
  /** independent runs (seeds) of every configuration (default defaults.memorySeeds; 1 under quick) */
  seeds?: number;
  /** sequences whose gradient norms are averaged (default 16; 4 under quick) */
  gradientSamples?: number;
  /**
   * The biases of the gate that keeps the state, the LSTM's forget gate and the GRU's update gate
   * z (h' = (1-z) n + z h) (default defaults.memoryGateInit, "chrono": see the file comment and
   * setChronoGateBias); "pytorch": PyTorch's init unchanged; a number b: that constant bias
   * (setKeepGateBias; 1 as Jozefowicz et al. 2015 recommend). The RNN has no gate and is unchanged.
   */
  gateInit?: MemoryGateInit;
  /** T_max of the chrono init: the longest dependency it prepares for (default the longest delay) */
  chronoMaxDelay?: number;
  seed?: number;
  backend?: Backend;
  /** called after each run */
  onRun?: (row: MemoryRow & { seed: number; seconds: number }, done: number, total: number) => void;
}

/** Mean ||dL/dh_t|| (and ||dL/dc_t||) against the distance N - t from the loss, for one cell at one delay. */
export interface MemoryGradient {
  cell: MemoryCell;
  delay: number;
  hidden: number;
  phase: "init" | "trained";
  /** index = distance N - t, 0..N */
  dh: number[];
  dc?: number[];
}

export interface MemoryResult {
  rows: (MemoryRow & { seed: number; seconds: number; steps: number; finalLoss: number })[];
  gradients: MemoryGradient[];
  settings: { seeds: number; gateInit: MemoryGateInit; chronoMaxDelay?: number; symbols: number; delays: number[]; hidden: number; steps: number; batchSize: number; lr: number; testSize: number; gradientSamples: number; chance: number; backend: string; quick: boolean };
  seconds: number;
}

/** Sets the bias of the LSTM forget gate / GRU update gate (block 1 of both) to `bias`: b_ih = bias, b_hh = 0, every layer. */
export function setKeepGateBias(model: SequenceModel, bias: number): void {
  const cell = model.config.cell;
  if (cell !== "lstm" && cell !== "gru") return;
  const H = model.config.hiddenSize;
  for (const p of model.parameters()) {
    const own = p.name.slice(p.name.lastIndexOf(".") + 1);
    if (!p.name.startsWith("rnn.") || !own.startsWith("bias_")) continue;
    p.value.data.fill(own.startsWith("bias_ih") ? bias : 0, H, 2 * H);
  }
}

/**
 * The chrono initialisation (Tallec & Ollivier 2018, §3, "chrono initialization"): each unit j of
 * the keep gate (LSTM forget gate, GRU update gate; block 1 of both) gets b_ih = log(u_j) with u_j
 * ~ U(1, maxDelay - 1), so that its forgetting time 1 / (1 - σ(b)) = 1 + u_j lies in [2, maxDelay];
 * the LSTM's input gate (block 0) gets b_ih = -log(u_j); b_hh of those blocks is zeroed, every
 * layer. (Their GRU convention keeps h with the gate they bias, as PyTorch's z does.) Other blocks
 * and the RNN are untouched.
 */
export function setChronoGateBias(model: SequenceModel, maxDelay: number, rng: Rng): void {
  const cell = model.config.cell;
  if (!(typeof maxDelay === "number" && maxDelay >= 2)) throw new RnnkitError(`setChronoGateBias: maxDelay: expected a number >= 2, got ${describe(maxDelay)}`);
  if (cell !== "lstm" && cell !== "gru") return;
  const H = model.config.hiddenSize;
  const params = model.parameters().filter((p) => p.name.startsWith("rnn.bias_"));
  for (const ih of params.filter((p) => p.name.startsWith("rnn.bias_ih"))) {
    const hh = params.find((p) => p.name === ih.name.replace("bias_ih", "bias_hh"));
    if (!hh) throw new RnnkitError(`setChronoGateBias: expected ${ih.name.replace("bias_ih", "bias_hh")} beside ${ih.name}, got none`);
    for (let j = 0; j < H; j++) {
      const b = Math.log(rng.uniform(1, maxDelay - 1));
      ih.value.data[H + j] = b;
      hh.value.data[H + j] = 0;
      if (cell === "lstm") {
        ih.value.data[j] = -b;
        hh.value.data[j] = 0;
      }
    }
  }
}

function meanGradients(model: SequenceModel, examples: readonly Example[], N: number): { dh: number[]; dc?: number[] } {
  const dh = new Array<number>(N + 1).fill(0);
  let dc: number[] | undefined;
  for (const e of examples) {
    const g = gradientThroughTime(model, e).layers[0];
    for (let t = 0; t <= N; t++) dh[N - t] += g.dh[t] / examples.length;
    if (g.dc) {
      dc ??= new Array<number>(N + 1).fill(0);
      for (let t = 0; t <= N; t++) dc[N - t] += g.dc[t] / examples.length;
    }
  }
  return dc ? { dh, dc } : { dh };
}

/**
 * Runs the delayed-recall experiment (see the file comment): one row per run
 * `{cell, delay, hidden, parameters, accuracy, equal}`, plus the gradient norms against distance
 * at initialisation and after training for the first seed of every configuration.
 * Every run trains on fresh sequences from the generator and is tested on other fresh ones.
 */
export async function memoryExperiment(options: MemoryOptions = {}): Promise<MemoryResult> {
  const where = "memoryExperiment";
  if (options === null || typeof options !== "object") throw new RnnkitError(`${where}: expected an options object, got ${describe(options)}`);
  const quick = options.quick ?? false;
  const K = checkPositiveInt(where, "symbols", options.symbols ?? defaults.memorySymbols);
  const delays = options.delays ?? [...defaults.memoryDelays];
  if (!Array.isArray(delays) || delays.length === 0) throw new RnnkitError(`${where}: delays: expected a non-empty array of integers >= 1, got ${describe(delays)}`);
  delays.forEach((d) => checkPositiveInt(where, "delays[]", d));
  const hidden = checkPositiveInt(where, "hidden", options.hidden ?? defaults.memoryHidden);
  const steps = checkPositiveInt(where, "steps", options.steps ?? (quick ? defaults.memoryQuickSteps : defaults.memorySteps));
  const batchSize = checkPositiveInt(where, "batchSize", options.batchSize ?? defaults.memoryBatchSize);
  const testSize = checkPositiveInt(where, "testSize", options.testSize ?? (quick ? defaults.memoryQuickTestSize : defaults.memoryTestSize));
  const gradientSamples = checkPositiveInt(where, "gradientSamples", options.gradientSamples ?? (quick ? 4 : 16));
  const seeds = checkPositiveInt(where, "seeds", options.seeds ?? (quick ? 1 : defaults.memorySeeds));
  const lr = options.lr ?? defaults.memoryLr;
  if (typeof lr !== "number" || !(lr > 0)) throw new RnnkitError(`${where}: lr: expected a positive number, got ${describe(lr)}`);
  const nEqual = options.equalParameterDelays ?? 2;
  if (!Number.isInteger(nEqual) || nEqual < 0) throw new RnnkitError(`${where}: equalParameterDelays: expected an integer >= 0, got ${describe(nEqual)}`);
  const seed = options.seed ?? defaults.seed;
  const gateInit: MemoryGateInit = options.gateInit ?? defaults.memoryGateInit;
  if (!(typeof gateInit === "number" ? Number.isFinite(gateInit) : (MEMORY_GATE_INITS as readonly unknown[]).includes(gateInit))) {
    throw new RnnkitError(`${where}: gateInit: expected ${MEMORY_GATE_INITS.join(", ")} or a finite number (a constant keep-gate bias), got ${describe(gateInit)}`);
  }
  const backend = options.backend ?? getBackend();
  const sorted = [...delays].sort((a, b) => a - b);
  const longest = sorted[sorted.length - 1];
  const chronoMaxDelay = options.chronoMaxDelay ?? Math.max(2, longest);
  if (typeof chronoMaxDelay !== "number" || !(chronoMaxDelay >= 2)) throw new RnnkitError(`${where}: chronoMaxDelay: expected a number >= 2, got ${describe(chronoMaxDelay)}`);
  const equalDelays = new Set(sorted.slice(Math.max(0, sorted.length - nEqual)));
  const lstmCount = parameterCounts(memoryModelConfig("lstm", hidden, K, seed)).total;

  const configs: { cell: MemoryCell; delay: number; hidden: number; equal: "hidden" | "parameters" }[] = [];
  for (const delay of sorted) {
    for (const cell of MEMORY_CELLS) configs.push({ cell, delay, hidden, equal: "hidden" });
    if (equalDelays.has(delay)) {
      for (const cell of ["rnn", "gru"] as const) configs.push({ cell, delay, hidden: hiddenForParameters(cell, lstmCount, K), equal: "parameters" });
    }
  }
  // run k of configuration i has the seed seed + 1000 i + 7919 k; the gradient curves are run 0's
  const plan = configs.flatMap((c, i) => Array.from({ length: seeds }, (_, k) => ({ ...c, runSeed: seed + 1000 * i + 7919 * k, first: k === 0 })));

  const t0 = performance.now();
  const rows: MemoryResult["rows"] = [];
  const gradients: MemoryGradient[] = [];
  for (const [i, run] of plan.entries()) {
    const t1 = performance.now();
    const runSeed = run.runSeed;
    const model = new SequenceModel(memoryModelConfig(run.cell, run.hidden, K, runSeed), { backend });
    if (gateInit === "chrono") setChronoGateBias(model, chronoMaxDelay, new Rng(runSeed + 4));
    else if (typeof gateInit === "number") setKeepGateBias(model, gateInit);
    const probe = run.first
      ? delayedRecall({ symbols: K, delay: run.delay, count: gradientSamples, seed: runSeed + 3 })
      : null;
    if (probe) gradients.push({ cell: run.cell, delay: run.delay, hidden: run.hidden, phase: "init", ...meanGradients(model, probe, run.delay) });
    // the pool is capped: with one distractor symbol there are only K distinct sequences anyway
    const train = delayedRecall({ symbols: K, delay: run.delay, count: Math.min(steps * batchSize, 1024), seed: runSeed + 1 });
    const r = await fit(model, { kind: "examples", train }, { steps, batchSize, optimizerOptions: { lr }, clipNorm: defaults.clipNorm, seed: runSeed });
    const test = delayedRecall({ symbols: K, delay: run.delay, count: testSize, seed: runSeed + 2 });
    const m = evaluate(model, { kind: "examples", examples: test }, { batchSize: 256 });
    if (probe) gradients.push({ cell: run.cell, delay: run.delay, hidden: run.hidden, phase: "trained", ...meanGradients(model, probe, run.delay) });
    const parameters = parameterCounts(model.config).total;
    const last = r.epochs[r.epochs.length - 1];
    const row = {
      cell: run.cell, delay: run.delay, hidden: run.hidden, parameters, accuracy: m.accuracy ?? 0, equal: run.equal, seed: runSeed,
      seconds: (performance.now() - t1) / 1000, steps: r.steps, finalLoss: last ? last.train.loss : NaN,
    };
    model.dispose();
    rows.push(row);
    options.onRun?.(row, i + 1, plan.length);
  }
  return {
    rows,
    gradients,
    settings: { seeds, gateInit, ...(gateInit === "chrono" ? { chronoMaxDelay } : {}), symbols: K, delays: sorted, hidden, steps, batchSize, lr, testSize, gradientSamples, chance: 1 / K, backend: backend.name, quick },
    seconds: (performance.now() - t0) / 1000,
  };
}
