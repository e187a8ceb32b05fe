/**
 * What a cell is to the sequence wrapper (src/layers/recurrent.ts): a step function with explicit
 * state, forward and backward, plus the input projection and the weight gradients that the
 * architecture hoists out of the time loop (one GEMM each over all rows).
 *
 * The wrapper owns time, direction, lengths and stacking. It hands the cell one `Run` per layer
 * and direction: packed buffers of N rows (N = sum of the sequence lengths), where the rows of
 * step s are the contiguous block [offsets[s], offsets[s] + n_s) and the active rows of step s are
 * a prefix of the rows of step s-1 (the batch is sorted by length, PyTorch's packed sequence).
 * A reverse direction runs on rows already reversed within each sequence, so a cell only ever
 * steps forward.
 *
 * Calling convention of every step function: (run, o, n) = (the run, first row of the step, active
 * rows); state in is `run.hPrev`/`run.cPrev` at row o, state out `run.h`/`run.c` at row o.
 * Backward steps read dh (and dc) at row o and ADD the gradient w.r.t. the previous state into
 * (dhPrev, dhpOff) / (dcPrev, dcpOff).
 */
import type { Backend, PackedB } from "../backend/backend.js";
import type { Floats } from "../tensor.js";

/** The weights of one layer and direction, PyTorch layout: W_ih [G*H, in], W_hh [G*H, H], b [G*H]. */
export interface Weights {
  wih: Floats;
  whh: Floats;
  bih: Floats | null;
  bhh: Floats | null;
  gwih: Floats;
  gwhh: Floats;
  gbih: Floats | null;
  gbhh: Floats | null;
}

/** Buffers of one layer and direction for one forward/backward pass. Sizes in the comments. */
export interface Run {
  be: Backend;
  w: Weights;
  H: number;
  inSize: number;
  N: number;
  /** layer input, packed (and reversed for the reverse direction) [N, in] */
  x: Floats;
  /** pre-activations, then activations: [N, G*H] (for the GRU: W_ih x + b_ih) */
  gates: Floats;
  /** GRU only: W_hh h_prev + b_hh per step [N, 3H]; GRU activations (r, z, n) [N, 3H] */
  gh: Floats;
  act: Floats;
  /** reset-before GRU only: r * h_prev [N, H] */
  rh: Floats;
  /** the state before each step [N, H] and after it [N, H] */
  hPrev: Floats;
  h: Floats;
  cPrev: Floats;
  c: Floats;
  /** backward: gradient w.r.t. h (and c) after each step [N, H], pre-activation gradients [N, G*H] */
  dh: Floats;
  dc: Floats;
  dG: Floats;
  /** GRU only: gradient w.r.t. the hidden-side pre-activations [N, 3H] */
  dGh: Floats;
  /** reset-before GRU scratch: d(r*h) of one step [B, H] */
  drh: Floats;
  /** [G*H] scratch: b_ih + b_hh, summed once for the input projection (projectInput) */
  bias: Floats;
  /**
   * Blocks of W_hh packed for this pass by `stepGemm` (backends with packB), by name; created
   * lazily. A Run lives for one forward and its backward, while the weights stay unchanged.
   */
  packs?: Map<string, PackedB>;
}

/** The steps of a pass: step s covers rows [offsets[s], offsets[s] + batchSizes[s]). */
export interface Sequence {
  steps: number;
  offsets: Int32Array;
  batchSizes: Int32Array;
}

export interface StepCell {
  /** Gate blocks per hidden unit: 1 (RNN), 3 (GRU), 4 (LSTM). */
  readonly G: number;
  readonly hasCellState: boolean;
  /** Which optional buffers of `Run` this cell uses. */
  readonly needs: { gh: boolean; act: boolean; rh: boolean; dGh: boolean; drh: boolean };
  /** One GEMM over all N rows: the input side of the pre-activations, plus the biases. */
  project(r: Run): void;
  forwardStep(r: Run, o: number, n: number): void;
  /**
   * Optional: all forward steps of the runs (the directions of one layer) in one backend call
   * (Backend.recurrentForward), the same as forwardStep over s < steps with the wrapper's state
   * copies between steps; false when the backend (or this cell's variant) has no such call, and
   * the wrapper steps instead.
   */
  forwardSequence?(runs: readonly Run[], seq: Sequence): boolean;
  backwardStep(r: Run, o: number, n: number, dhPrev: Floats, dhpOff: number, dcPrev: Floats, dcpOff: number): void;
  /**
   * Optional: all backward steps of one run in one backend call (Backend.recurrentBackward), the
   * same as backwardStep for s from steps-1 down to 0 with the wrapper's targets (dh/dc of the step
   * before, dh0/dc0 at s = 0); false when the backend (or this cell's variant) has none.
   */
  backwardSequence?(r: Run, seq: Sequence, dh0: Floats, dc0: Floats): boolean;
  /** After the backward loop: weight and bias gradients, one GEMM / reduction each. */
  accumulateGrads(r: Run): void;
  /** dX [N, in] = (gradient w.r.t. the input-side pre-activations) W_ih: one GEMM. */
  inputGrad(r: Run, dx: Floats): void;
}

/** gates [N, G*H] = x W_ih^T + b_ih (+ b_hh when `foldHidden`): the architecture's one input GEMM. */
export function projectInput(r: Run, G: number, out: Floats, foldHidden: boolean): void {
  const { be, w, N, H, inSize } = r;
  const GH = G * H;
  // b_ih + b_hh summed once into a [GH] vector (the same float32 sums per element as adding the
  // two broadcasts), so that the output is passed over once for the biases, or not at all where
  // the GEMM writes them (Backend.gemmBias: the output is then never read)
  let bias = w.bih;
  if (foldHidden && w.bhh) {
    if (w.bih) {
      be.broadcastRows(1, GH, w.bih, 0, r.bias, 0, GH, false);
      be.broadcastRows(1, GH, w.bhh, 0, r.bias, 0, GH, true);
      bias = r.bias;
    } else bias = w.bhh;
  }
  if (bias && be.gemmBias) {
    be.gemmBias(false, true, N, GH, inSize, 1, r.x, 0, inSize, w.wih, 0, inSize, bias, 0, out, 0, GH);
    return;
  }
  if (bias) be.broadcastRows(N, GH, bias, 0, out, 0, GH, false);
  be.gemm(false, true, N, GH, inSize, 1, r.x, 0, inSize, w.wih, 0, inSize, bias ? 1 : 0, out, 0, GH);
}

/**
 * A per-step GEMM whose B is a block of the weights: C = A op(B) + beta C, A [m, k] at aOff.
 * Where the backend packs (Backend.packB), op(B) is packed on the first step of the pass under
 * `key` and reused by every later one (W_hh is the same for all T steps); elsewhere a plain gemm.
 * A pass of one step (m = N: its rows are all the pass has, e.g. a decoder's step-by-step calls)
 * never packs: the packing would cost as much as the product and be used once (measured: packing
 * was 40% of greedy seq2seq decoding on the native backend, 5x slower than wasm). Both compute
 * the same product: the backend's kernel tests compare gemmPacked with gemm.
 */
export function stepGemm(
  r: Run, key: string, m: number, n: number, k: number, a: Floats, aOff: number, lda: number,
  transB: boolean, b: Floats, bOff: number, ldb: number, beta: number, c: Floats, cOff: number, ldc: number,
): void {
  const be = r.be;
  if (!be.packB || !be.gemmPacked || (m >= r.N && !r.packs?.has(key))) {
    be.gemm(false, transB, m, n, k, 1, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    return;
  }
  r.packs ??= new Map();
  let p = r.packs.get(key);
  if (!p) {
    p = be.packB(transB, k, n, b, bOff, ldb);
    r.packs.set(key, p);
  }
  be.gemmPacked(m, n, k, 1, a, aOff, lda, p, beta, c, cOff, ldc);
}

/**
 * The whole forward loop of the runs (a layer's directions) in one backend call where the backend
 * has one (Backend.recurrentForward), with op(W_hh) = W_hh^T packed under the same key as the
 * per-step path; false otherwise.
 */
export function forwardSequence(
  runs: readonly Run[], cell: "lstm" | "gru" | "rnn", G: number, hard: boolean, relu: boolean, seq: Sequence, withBias: boolean,
): boolean {
  const be = runs[0].be;
  // one step: the per-step path, which does not pack (see stepGemm)
  if (!be.recurrentForward || !be.packB || seq.steps < 2) return false;
  const H = runs[0].H;
  const key = cell === "gru" ? "whh^T@0" : "whh^T";
  const dirs = runs.map((r) => {
    r.packs ??= new Map();
    let p = r.packs.get(key);
    if (!p) {
      p = be.packB!(true, H, G * H, r.w.whh, 0, H);
      r.packs.set(key, p);
    }
    return { whh: p, bhh: withBias ? r.w.bhh : null, gates: r.gates, gh: r.gh, act: r.act, hPrev: r.hPrev, h: r.h, cPrev: r.cPrev, c: r.c };
  });
  be.recurrentForward(cell, hard, relu, seq.steps, seq.offsets, seq.batchSizes, H, dirs);
  return true;
}

/**
 * The whole backward loop of one run in one backend call where the backend has one, with
 * op(W_hh) = W_hh packed under the key of the per-step path (recurrentGrad); false otherwise.
 */
export function backwardSequence(
  r: Run, cell: "lstm" | "gru" | "rnn", G: number, hard: boolean, relu: boolean, seq: Sequence, dh0: Floats, dc0: Floats,
): boolean {
  const be = r.be;
  if (!be.recurrentBackward || !be.packB || seq.steps < 2) return false;
  const H = r.H;
  r.packs ??= new Map();
  let p = r.packs.get("whh");
  if (!p) {
    p = be.packB(false, G * H, H, r.w.whh, 0, H);
    r.packs.set("whh", p);
  }
  be.recurrentBackward(cell, hard, relu, seq.steps, seq.offsets, seq.batchSizes, H, [{
    whh: p, gates: cell === "gru" ? r.act : r.gates, gh: r.gh, hPrev: r.hPrev, h: r.h, cPrev: r.cPrev, c: r.c,
    dh: r.dh, dc: r.dc, dG: r.dG, dGh: r.dGh, dh0, dc0,
  }]);
  return true;
}

/** The hidden side of one step, added to the projected inputs: out[o:o+n] += h_prev W_hh^T (b_hh is already in out). */
export function recurrentMatmul(r: Run, G: number, o: number, n: number, out: Floats): void {
  const { be, w, H } = r;
  const GH = G * H;
  stepGemm(r, "whh^T", n, GH, H, r.hPrev, o * H, H, true, w.whh, 0, H, 1, out, o * GH, GH);
}

/** dW_ih += dGx^T x, db_ih += colsum(dGx); dW_hh += dGh^T h_prev, db_hh += colsum(dGh). */
export function accumulateStandardGrads(r: Run, G: number, dGx: Floats, dGh: Floats): void {
  const { be, w, N, H, inSize } = r;
  const GH = G * H;
  be.gemm(true, false, GH, inSize, N, 1, dGx, 0, GH, r.x, 0, inSize, 1, w.gwih, 0, inSize);
  be.gemm(true, false, GH, H, N, 1, dGh, 0, GH, r.hPrev, 0, H, 1, w.gwhh, 0, H);
  if (w.gbih) be.sumRows(N, GH, dGx, 0, GH, w.gbih, 0);
  if (w.gbhh) be.sumRows(N, GH, dGh, 0, GH, w.gbhh, 0);
}

/** dX [N, in] = dGx W_ih. */
export function inputGradient(r: Run, G: number, dGx: Floats, dx: Floats): void {
  const GH = G * r.H;
  r.be.gemm(false, false, r.N, r.inSize, GH, 1, dGx, 0, GH, r.w.wih, 0, r.inSize, 0, dx, 0, r.inSize);
}

/** dhPrev[0:n] += dGh[o:o+n] W_hh: the recurrent part of the gradient w.r.t. the previous state. */
export function recurrentGrad(r: Run, G: number, o: number, n: number, dGh: Floats, dhPrev: Floats, dhpOff: number): void {
  const GH = G * r.H;
  stepGemm(r, "whh", n, r.H, GH, dGh, o * GH, GH, false, r.w.whh, 0, r.H, 1, dhPrev, dhpOff, r.H);
}
