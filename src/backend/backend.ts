/**
 * The backend interface: the only place with raw numeric loops.
 *
 * Every kernel works on flat arrays that the backend itself allocated (`alloc`), addressed by
 * (array, offset[, leading dimension]). A WebAssembly backend allocates its arrays as views into
 * its own memory, so a kernel call passes pointers and nothing is copied in or out; the cells and
 * layers never look inside an array except through these calls (and plain `set`/`subarray` copies
 * at the public boundary, outside the time loop).
 *
 * Shapes in the comments: `n` active rows (a batch prefix), `H` hidden size; gate buffers are
 * `[n, G*H]` rows of G blocks of H in PyTorch's gate order (LSTM i,f,g,o; GRU r,z,n).
 * All pointwise buffers are contiguous (row stride = their width).
 */
import type { Floats } from "../tensor.js";

export type DType = "float32" | "float64";

/**
 * op(B) [k, n] of a GEMM, packed once by `packB` for many `gemmPacked` calls (the recurrent
 * weights W_hh, used by every time step of a pass). `data`'s layout is the backend's own.
 */
export interface PackedB {
  readonly k: number;
  readonly n: number;
  readonly data: Floats;
}

/** One direction's buffers for Backend.recurrentForward (unused ones may be empty arrays). */
export interface RecurrentDirection {
  whh: PackedB;
  bhh: Floats | null;
  gates: Floats;
  gh: Floats;
  act: Floats;
  hPrev: Floats;
  h: Floats;
  cPrev: Floats;
  c: Floats;
}

/**
 * One direction's buffers for Backend.recurrentBackward: what its forward left (gates or
 * activations, states) and the gradients it fills; dh0 / dc0 [B, H] (the sorted batch's rows)
 * receive the gradients w.r.t. the initial state, added to.
 */
export interface RecurrentBackwardDirection {
  /** op(W_hh) = W_hh [G*H, H] packed by packB(false, G*H, H, ...) */
  whh: PackedB;
  /** LSTM: the gate activations [N, 4H]; GRU: act (r, z, n) [N, 3H]; RNN: unused */
  gates: Floats;
  /** GRU: gh [N, 3H] */
  gh: Floats;
  hPrev: Floats;
  /** RNN: h [N, H] (tanh' from the output) */
  h: Floats;
  cPrev: Floats;
  c: Floats;
  /** dL/dh [N, H] on entry (output and final-state gradients), the totals on exit */
  dh: Floats;
  /** LSTM: dL/dc [N, H], likewise */
  dc: Floats;
  /** the pre-activation gradients written [N, G*H] (GRU: of the input side) */
  dG: Floats;
  /** GRU: of the hidden side [N, 3H] */
  dGh: Floats;
  dh0: Floats;
  dc0: Floats;
}

export interface Backend {
  readonly name: string;
  /** The element type of every array this backend allocates and computes in. */
  readonly dtype: DType;

  /** A zero-filled array of `n` elements that the kernels of this backend can address. */
  alloc(n: number): Floats;
  /**
   * True when `alloc` returns ordinary garbage-collected arrays and the kernels take any array of
   * the backend's dtype: a result can then be written straight into the array handed to the
   * caller, with no copy out of backend memory (js, native; not wasm, whose arrays live in its
   * memory).
   */
  readonly plainArrays?: boolean;
  /** A zero-filled index array (row permutations) that the kernels of this backend can address. */
  allocIndex(n: number): Int32Array;
  /** Returns an array from `alloc`/`allocIndex` to the backend (a no-op for garbage-collected memory). */
  free(a: Floats | Int32Array): void;

  /**
   * C = alpha * op(A) * op(B) + beta * C, row-major. op(A) is [m, k], op(B) is [k, n], C is [m, n].
   * A is stored [m, k] (lda >= k) or, when transA, [k, m] (lda >= m); likewise B. beta = 0 means
   * C is overwritten (its old contents, even NaN, are ignored), as in BLAS.
   */
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Floats, aOff: number, lda: number,
    b: Floats, bOff: number, ldb: number,
    beta: number, c: Floats, cOff: number, ldc: number,
  ): void;

  /**
   * Optional: C = alpha * op(A) * op(B) + bias, the row vector bias [n] (at biasOff) added to every
   * row, C's old contents ignored. The same per-element sums as broadcastRows of the bias then
   * gemm with beta = 1 (the input projection of every layer), in one pass over C instead of two:
   * where a backend fuses it, C is written once and never read. bias must not overlap C.
   */
  gemmBias?(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Floats, aOff: number, lda: number,
    b: Floats, bOff: number, ldb: number,
    bias: Floats, biasOff: number, c: Floats, cOff: number, ldc: number,
  ): void;

  /**
   * Optional, with gemmPacked: op(B) [k, n] (B stored as for `gemm`) packed for repeated use. The
   * packed copy does not follow later changes of B; pack again after B changes.
   */
  packB?(transB: boolean, k: number, n: number, b: Floats, bOff: number, ldb: number): PackedB;
  /** C = alpha * A * op(B) + beta * C with op(B) from packB; A [m, k] not transposed (lda >= k). */
  gemmPacked?(
    m: number, n: number, k: number, alpha: number, a: Floats, aOff: number, lda: number,
    packed: PackedB, beta: number, c: Floats, cOff: number, ldc: number,
  ): void;

  /**
   * Optional: the forward time loop of one layer in one call, for each of its directions `dirs`
   * (one, or two of a bidirectional layer, which a backend may run at once: they are independent);
   * the per-step calls below, made by the backend itself, with W_hh packed once. `cell`: "lstm"
   * (G = 4), "gru" (reset after, G = 3) or "rnn" (G = 1; `relu` selects relu over tanh); `hard` the
   * hard-sigmoid gates (LSTM, GRU). For each direction and s < steps, with o = offsets[s],
   * n = batchSizes[s] (a prefix of the previous step's rows) and p = offsets[s-1]:
   *   s > 0: hPrev[o:o+n] = h[p:p+n] (and cPrev from c for the LSTM), rows of H;
   *   LSTM, RNN: gates[o:o+n] += hPrev[o:o+n] op(B), then lstmForward / rnnForward on those rows;
   *   GRU: gh[o:o+n] = hPrev[o:o+n] op(B) + bhh (bhh may be null), then gruForward.
   * `whh` is op(B) = W_hh^T [H, G*H] from packB. Rows [0, batchSizes[0]) of hPrev (and cPrev)
   * hold the initial state on entry.
   */
  recurrentForward?(
    cell: "lstm" | "gru" | "rnn", hard: boolean, relu: boolean, steps: number, offsets: Int32Array, batchSizes: Int32Array,
    H: number, dirs: readonly RecurrentDirection[],
  ): void;

  /**
   * Optional: the backward time loop of one layer's directions in one call, the same as, for s
   * from steps-1 down to 0 (o = offsets[s], n = batchSizes[s], prev = rows offsets[s-1] of dh/dc,
   * or dh0/dc0 at s = 0): LSTM lstmBackward(.., dcPrev = prev) then dhPrev += dG[o] W_hh; GRU
   * (reset after) gruBackward(.., dhPrev = prev) then dhPrev += dGh[o] W_hh; RNN rnnBackward then
   * dhPrev += dG[o] W_hh.
   */
  recurrentBackward?(
    cell: "lstm" | "gru" | "rnn", hard: boolean, relu: boolean, steps: number, offsets: Int32Array, batchSizes: Int32Array,
    H: number, dirs: readonly RecurrentBackwardDirection[],
  ): void;

  /** dst[r, 0:cols] (+)= v[0:cols] for r < rows (row stride ldd); `accumulate` adds instead of writing. */
  broadcastRows(rows: number, cols: number, v: Floats, vOff: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean): void;

  /** out[c] += sum over r < rows of a[r, c], for c < cols (row stride lda). */
  sumRows(rows: number, cols: number, a: Floats, aOff: number, lda: number, out: Floats, oOff: number): void;

  /**
   * Row gather: dst[i, 0:cols] (+)= src[idx[i], 0:cols] for i < rows. Row strides lds / ldd.
   * Used once per layer at the boundary of the time loop (packing, reversing, unpacking).
   */
  gatherRows(
    rows: number, cols: number, idx: Int32Array, idxOff: number,
    src: Floats, sOff: number, lds: number,
    dst: Floats, dOff: number, ldd: number, accumulate: boolean,
  ): void;

  /** Row scatter: dst[idx[i], 0:cols] (+)= src[i, 0:cols] for i < rows. */
  scatterRows(
    rows: number, cols: number, idx: Int32Array, idxOff: number,
    src: Floats, sOff: number, lds: number,
    dst: Floats, dOff: number, ldd: number, accumulate: boolean,
  ): void;

  /** dst[0:n] = src[0:n] (contiguous copy). */
  copy(n: number, src: Floats, sOff: number, dst: Floats, dOff: number): void;

  /** dst[0:n] += alpha * src[0:n]. */
  axpy(n: number, alpha: number, src: Floats, sOff: number, dst: Floats, dOff: number): void;

  /** a[0:n] = 0. */
  zero(n: number, a: Floats, aOff: number): void;

  // ---- fused cell pointwise kernels (see src/cells/* for the equations) ----

  /**
   * RNN forward: h = act(pre), pre [n, H] holds W_ih x + b_ih + W_hh h_prev + b_hh.
   * `relu` selects relu over tanh.
   */
  rnnForward(n: number, H: number, relu: boolean, pre: Floats, pOff: number, h: Floats, hOff: number): void;
  /** RNN backward: dPre = dh * act'(pre), written from the output h. */
  rnnBackward(n: number, H: number, relu: boolean, h: Floats, hOff: number, dh: Floats, dhOff: number, dPre: Floats, dpOff: number): void;

  // The LSTM and GRU kernels take `hard`: their gates σ are then the hard sigmoid of Keras 2 and
  // TensorFlow.js, max(0, min(1, 0.2x + 0.5)), with derivative 0.2 inside (0 < σ < 1), else 0;
  // without it, the logistic sigmoid (derivative σ(1-σ)).

  /**
   * LSTM forward. `gates` [n, 4H] holds the pre-activations of i,f,g,o on entry and their
   * activations on exit (kept for backward). c = f*cPrev + i*g; h = o*tanh(c).
   */
  lstmForward(
    n: number, H: number, gates: Floats, gOff: number,
    cPrev: Floats, cpOff: number, c: Floats, cOff: number, h: Floats, hOff: number, hard?: boolean,
  ): void;
  /**
   * LSTM backward. From the activations `gates`, cPrev, c and the incoming dh, dc [n, H]:
   * writes dG [n, 4H] (pre-activation gradients) and adds f*dc_total into dcPrev [n, H].
   * dc_total = dc + dh*o*(1 - tanh(c)^2).
   */
  lstmBackward(
    n: number, H: number, gates: Floats, gOff: number, cPrev: Floats, cpOff: number, c: Floats, cOff: number,
    dh: Floats, dhOff: number, dc: Floats, dcOff: number, dG: Floats, dgOff: number, dcPrev: Floats, dcpOff: number,
    hard?: boolean,
  ): void;

  /**
   * GRU forward, reset after the recurrent matmul (PyTorch; Keras reset_after=true).
   * gx [n, 3H] = W_ih x + b_ih, gh [n, 3H] = W_hh h_prev + b_hh.
   * r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r*gh_n), h = (1-z)*n + z*hPrev.
   * Writes act [n, 3H] = (r, z, n) and h [n, H].
   */
  gruForward(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, h: Floats, hOff: number, hard?: boolean,
  ): void;
  /**
   * GRU backward (reset after). Writes dGx [n, 3H] = (dr_pre, dz_pre, dn_pre),
   * dGh [n, 3H] = (dr_pre, dz_pre, dn_pre*r), and adds z*dh into dhPrev [n, H].
   */
  gruBackward(
    n: number, H: number, act: Floats, aOff: number, gh: Floats, ghOff: number, hPrev: Floats, hpOff: number,
    dh: Floats, dhOff: number, dGx: Floats, dgxOff: number, dGh: Floats, dghOff: number, dhPrev: Floats, dhpOff: number,
    hard?: boolean,
  ): void;

  /**
   * GRU with the reset gate before the matmul (Cho et al. 2014; Keras reset_after=false), part 1:
   * r = σ(gx_r + gh_r), z = σ(gx_z + gh_z) into act[:, 0:2H]; rh = r*hPrev [n, H].
   * gx and gh are [n, 3H]; only their r and z blocks are read.
   */
  gruResetBeforeGates(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, rh: Floats, rhOff: number, hard?: boolean,
  ): void;
  /**
   * Part 2: n = tanh(gx_n + gh_n) (gh_n = W_hn (r*h) + b_hn) into act[:, 2H:3H];
   * h = (1-z)*n + z*hPrev.
   */
  gruResetBeforeOutput(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, h: Floats, hOff: number,
  ): void;
  /**
   * Backward part 1: from dh write dG[:, H:2H] = dz_pre and dG[:, 2H:3H] = dn_pre, add z*dh into dhPrev.
   */
  gruResetBeforeBackwardOutput(
    n: number, H: number, act: Floats, aOff: number, hPrev: Floats, hpOff: number,
    dh: Floats, dhOff: number, dG: Floats, dgOff: number, dhPrev: Floats, dhpOff: number, hard?: boolean,
  ): void;
  /**
   * Backward part 2: drh [n, H] = dn_pre W_hn (computed by a gemm in between).
   * Writes dG[:, 0:H] = dr_pre = drh*hPrev*r*(1-r) and adds drh*r into dhPrev.
   */
  gruResetBeforeBackwardGates(
    n: number, H: number, act: Floats, aOff: number, hPrev: Floats, hpOff: number,
    drh: Floats, drhOff: number, dG: Floats, dgOff: number, dhPrev: Floats, dhpOff: number, hard?: boolean,
  ): void;

  // ---- losses, optimizers and elementwise helpers (src/train/*) ----

  /**
   * Softmax cross-entropy over `rows` rows of V logits with integer targets. Rows whose target is
   * `ignoreIndex` count nothing and get a zero gradient. Writes dLogits = scale * (softmax - onehot)
   * (it may alias `logits`) and returns the summed loss -log softmax(logits)[target] of the counted
   * rows, computed stably (max subtracted).
   */
  softmaxCrossEntropy(
    rows: number, V: number, logits: Floats, lOff: number, targets: Int32Array, tOff: number,
    ignoreIndex: number, scale: number, dLogits: Floats, dOff: number,
  ): number;
  /** out[r, :] = softmax(x[r, :] / temperature) for r < rows (out may alias x). */
  softmax(rows: number, V: number, temperature: number, x: Floats, xOff: number, out: Floats, oOff: number): void;
  /**
   * Squared error: returns sum w_i (p_i - t_i)^2 and writes grad_i = scale * 2 w_i (p_i - t_i);
   * w = null means all weights 1 (w is a 0/1 mask or per-element weights).
   */
  mse(n: number, p: Floats, pOff: number, t: Floats, tOff: number, w: Floats | null, wOff: number, scale: number, grad: Floats, gOff: number): number;
  /**
   * Binary cross-entropy with logits, stably: returns sum w_i (max(x,0) - x t + log(1 + exp(-|x|)))
   * and writes grad_i = scale * w_i (sigmoid(x_i) - t_i).
   */
  bceWithLogits(n: number, x: Floats, xOff: number, t: Floats, tOff: number, w: Floats | null, wOff: number, scale: number, grad: Floats, gOff: number): number;
  /** sum of a_i^2 (in float64), for global-norm clipping. */
  sumSquares(n: number, a: Floats, aOff: number): number;
  /** a *= alpha. */
  scale(n: number, alpha: number, a: Floats, aOff: number): void;
  /** out = a * b elementwise (out may alias a or b). */
  mul(n: number, a: Floats, aOff: number, b: Floats, bOff: number, out: Floats, oOff: number): void;

  /**
   * SGD (PyTorch semantics): g' = g + wd p; with momentum, buf = first ? g' : m buf + g', and the
   * step direction is nesterov ? g' + m buf : buf; p -= lr * direction.
   */
  sgdStep(n: number, p: Floats, g: Floats, buf: Floats, lr: number, momentum: number, nesterov: boolean, weightDecay: number, first: boolean): void;
  /**
   * Adam / AdamW (PyTorch semantics; Kingma & Ba 2015, Loshchilov & Hutter 2019):
   * decoupled ? p *= 1 - lr wd : g' = g + wd p; m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
   * p -= lr (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps).
   */
  adamStep(
    n: number, p: Floats, g: Floats, m: Floats, v: Floats, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, decoupled: boolean, step: number,
  ): void;
  /** RMSprop (PyTorch, uncentered, no momentum): g' = g + wd p; s = a s + (1-a) g'^2; p -= lr g' / (sqrt(s) + eps). */
  rmspropStep(n: number, p: Floats, g: Floats, s: Floats, lr: number, alpha: number, eps: number, weightDecay: number): void;
  /** Adagrad (PyTorch): g' = g + wd p; s += g'^2; p -= lr g' / (sqrt(s) + eps). */
  adagradStep(n: number, p: Floats, g: Floats, s: Floats, lr: number, eps: number, weightDecay: number): void;
}
