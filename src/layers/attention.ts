/**
 * Attention over encoder outputs (a "memory"), for the encoder-decoder `Seq2Seq`.
 *
 * For each query q (a decoder state) and each source position s of its batch element b:
 *
 *     "luong-dot"  score(q, e_s) = q · e_s                     (Luong et al. 2015, "dot")
 *     "luong"      score(q, e_s) = q · (W e_s)                 (Luong et al. 2015, "general")
 *     "bahdanau"   score(q, e_s) = v · tanh(W_q q + W_k e_s)   (Bahdanau et al. 2015, additive)
 *
 *     a_s = softmax over the valid positions s < lengths[b] (padded positions: score -inf, so a_s = 0 exactly)
 *     context = sum_s a_s e_s
 *
 * Parameters (stateDict names; each is a `torch.nn.Linear(..., bias=False).weight`):
 *     luong:     `weight` [Q, E]            (nn.Linear(E, Q, bias=False): keys W e)
 *     bahdanau:  `query.weight` [A, Q], `key.weight` [A, E], `v.weight` [1, A]
 *     luong-dot: none (needs Q = E)
 *
 * Shapes: memory [S, B, E] (time-major encoder outputs), query [U, B, Q] (U decoder steps at once,
 * teacher forcing, or U = 1 per step), context [U, B, E], weights [U, B, S].
 *
 * How it is batched: the keys (W e, or W_k e) are one GEMM over all S*B memory rows, once per
 * memory. Scores and contexts are one GEMM per batch element b over all U queries, reading the
 * memory in place ([S, B, E] with leading dimension B*E, no copy). The additive score is a
 * pointwise tanh over [U, B, S, A] (the backend's tanh kernel) followed by one GEMM with v.
 * Only the softmax backward over S (not over any hidden size) is a plain loop.
 *
 * Protocol: `forward(query, memory, lengths)` / `backward(dContext)` for one call, or, for a
 * decoder that attends once per step (Bahdanau), `setMemory` once, `step(query)` per step and,
 * in reverse order, `stepBackward(dContext)` per step, then `memoryBackward()`. Backward returns
 * the gradient w.r.t. the queries and the memory and ADDS into the parameter gradients.
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { defaults } from "../defaults.js";
import { Rng } from "../rng.js";
import { type Floats, RnnkitError, type Tensor, type TensorLike, checkFinite, checkPositiveInt, checkTensor, describe } from "../tensor.js";
import { ParamSet } from "./params.js";

/** The attention kinds of a Seq2Seq ("none": the plain encoder-decoder of Sutskever et al. 2014). */
export const ATTENTIONS = ["none", "luong", "luong-dot", "bahdanau"] as const;
export type AttentionKind = (typeof ATTENTIONS)[number];
/** The kinds an `Attention` module computes. */
export type AttentionScore = Exclude<AttentionKind, "none">;

export interface AttentionOptions {
  kind: AttentionScore;
  /** Q: size of a query (the decoder state). */
  querySize: number;
  /** E: size of a memory row (the encoder output, directions concatenated). */
  keySize: number;
  /** A: bahdanau only, the size of the additive layer (default Q). */
  attentionSize?: number;
  backend?: Backend;
  seed?: number;
}

export interface AttentionOutput {
  /** [U, B, E] */
  context: Tensor;
  /** [U, B, S], zero at padded positions, each row sums to 1 */
  weights: Tensor;
}

interface StepCache {
  U: number;
  q: Floats;
  w: Floats;
  /** bahdanau: tanh(W_q q + W_k e) [U, B, S, A] */
  th: Floats | null;
}

function copyIn(dst: Floats, src: ArrayLike<number>): Floats {
  if (ArrayBuffer.isView(src)) dst.set(src as Floats, 0);
  else for (let i = 0; i < src.length; i++) dst[i] = src[i];
  return dst;
}

export class Attention extends ParamSet {
  readonly kind: AttentionScore;
  readonly querySize: number;
  readonly keySize: number;
  /** The size of what the scores compare: Q (dot, general) or A (additive). */
  readonly attentionSize: number;
  private S = 0;
  private B = 0;
  private lengths: number[] = [];
  private mem: Floats | null = null;
  /** luong: W e [S, B, Q]; bahdanau: W_k e [S, B, A]; dot: the memory itself */
  private keys: Floats | null = null;
  private dMem: Floats | null = null;
  private dKeys: Floats | null = null;
  private steps: StepCache[] = [];

  constructor(opts: AttentionOptions) {
    const where = "Attention";
    if (opts === null || typeof opts !== "object") throw new RnnkitError(`${where}: expected options {kind, querySize, keySize}, got ${describe(opts)}`);
    super(where, opts.backend ?? getBackend());
    const kinds = ATTENTIONS.filter((k) => k !== "none");
    if (!kinds.includes(opts.kind as AttentionScore)) throw new RnnkitError(`${where}: kind: expected one of ${kinds.join(", ")}, got ${describe(opts.kind)}`);
    this.kind = opts.kind;
    const Q = (this.querySize = checkPositiveInt(where, "querySize", opts.querySize));
    const E = (this.keySize = checkPositiveInt(where, "keySize", opts.keySize));
    const rng = new Rng(opts.seed ?? defaults.seed);
    // PyTorch's nn.Linear initialisation, U(-1/sqrt(in), 1/sqrt(in))
    const init = (fanIn: number) => () => rng.uniform(-1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
    if (this.kind === "luong-dot") {
      if (Q !== E) throw new RnnkitError(`${where}: luong-dot scores q · e: expected querySize = keySize, got querySize ${Q} and keySize ${E} (use "luong", which learns W)`);
      this.attentionSize = Q;
    } else if (this.kind === "luong") {
      this.attentionSize = Q;
      this.add("weight", [Q, E], init(E));
    } else {
      const A = (this.attentionSize = checkPositiveInt(where, "attentionSize", opts.attentionSize ?? Q));
      this.add("query.weight", [A, Q], init(Q));
      this.add("key.weight", [A, E], init(E));
      this.add("v.weight", [1, A], init(A));
    }
  }

  private value(name: string): Floats {
    return this.params.find((p) => p.name === name)!.value.data;
  }

  /** One call: `setMemory(memory, lengths)` then `step(query)`. */
  forward(query: TensorLike, memory: TensorLike, lengths: ArrayLike<number>): AttentionOutput {
    this.setMemory(memory, lengths);
    return this.step(query);
  }

  /** The backward of `forward`: gradients w.r.t. the query and the memory; parameter gradients add up. */
  backward(dContext: TensorLike): { dQuery: Tensor; dMemory: Tensor } {
    const dQuery = this.stepBackward(dContext);
    return { dQuery, dMemory: this.memoryBackward() };
  }

  /** Sets the memory [S, B, E] and its valid lengths (each in [1, S]); computes the keys once. */
  setMemory(memory: TensorLike, lengths: ArrayLike<number>): void {
    this.live();
    const where = "Attention.setMemory";
    const E = this.keySize;
    checkTensor(where, "memory", memory, ["S", "B", "E"], [-1, -1, E]);
    checkFinite(where, "memory", memory.data, memory.shape);
    const [S, B] = memory.shape;
    if (!lengths || typeof lengths.length !== "number" || lengths.length !== B) {
      throw new RnnkitError(`${where}: lengths: expected B = ${B} source lengths, got ${lengths && typeof lengths.length === "number" ? lengths.length : describe(lengths)}`);
    }
    const lens: number[] = [];
    for (let b = 0; b < B; b++) {
      const v = lengths[b];
      if (!Number.isInteger(v) || v < 1 || v > S) {
        throw new RnnkitError(`${where}: lengths[${b}]: expected an integer in [1, S] = [1, ${S}] (a row with no valid position has nothing to attend to), got ${describe(v)}`);
      }
      lens.push(v);
    }
    const { be, ws } = this;
    this.S = S;
    this.B = B;
    this.lengths = lens;
    const mem = (this.mem = copyIn(ws.get("mem", S * B * E), memory.data));
    this.dMem = ws.get("dMem", S * B * E);
    be.zero(S * B * E, this.dMem, 0);
    const K = this.attentionSize;
    if (this.kind === "luong-dot") {
      this.keys = mem;
      this.dKeys = this.dMem;
    } else {
      // keys [S*B, K] = memory [S*B, E] W^T: one GEMM over all rows
      this.keys = ws.get("keys", S * B * K);
      be.gemm(false, true, S * B, K, E, 1, mem, 0, E, this.value(this.kind === "luong" ? "weight" : "key.weight"), 0, E, 0, this.keys, 0, K);
      this.dKeys = ws.get("dKeys", S * B * K);
      be.zero(S * B * K, this.dKeys, 0);
    }
    const ident = ws.index("ident", S);
    for (let s = 0; s < S; s++) ident[s] = s;
    this.steps = [];
  }

  /**
   * Attends with U queries per batch element: query [U, B, Q] -> context [U, B, E], weights
   * [U, B, S]. `record` (default true) keeps what `stepBackward` needs; decoding passes false.
   */
  step(query: TensorLike, record = true): AttentionOutput {
    this.live();
    const where = "Attention.step";
    if (!this.mem || !this.keys) throw new RnnkitError(`${where}: expected setMemory() first, got no memory`);
    const { be, ws, S, B } = this;
    const Q = this.querySize, E = this.keySize, K = this.attentionSize;
    checkTensor(where, "query", query, ["U", "B", "Q"], [-1, B, Q]);
    checkFinite(where, "query", query.data, query.shape);
    const U = query.shape[0];
    const id = record ? String(this.steps.length) : "tmp";
    const q = copyIn(ws.get(`q${id}`, U * B * Q), query.data);
    const w = ws.get(`w${id}`, U * B * S);
    let th: Floats | null = null;
    if (this.kind !== "bahdanau") {
      // scores[u, b, :] = q[u, b] keys[:, b]^T: per b, [U, Q] x [Q, S], strided in place
      for (let b = 0; b < B; b++) be.gemm(false, true, U, S, Q, 1, q, b * Q, B * Q, this.keys, b * K, B * K, 0, w, b * S, B * S);
    } else {
      const qp = ws.get("qp", U * B * K);
      be.gemm(false, true, U * B, K, Q, 1, q, 0, Q, this.value("query.weight"), 0, Q, 0, qp, 0, K);
      th = ws.get(`t${id}`, U * B * S * K);
      const ident = ws.index("ident", S);
      for (let u = 0; u < U; u++) for (let b = 0; b < B; b++) {
        const r = u * B + b;
        // th[u, b, s] = W_k e[s, b] + W_q q[u, b]
        be.gatherRows(S, K, ident, 0, this.keys, b * K, B * K, th, r * S * K, K, false);
        be.broadcastRows(S, K, qp, r * K, th, r * S * K, K, true);
      }
      be.rnnForward(U * B * S, K, false, th, 0, th, 0); // tanh, in place
      be.gemm(false, true, U * B * S, 1, K, 1, th, 0, K, this.value("v.weight"), 0, K, 0, w, 0, 1);
    }
    // masked softmax: only the valid prefix of each row takes part; the padded tail is exactly 0
    for (let u = 0; u < U; u++) for (let b = 0; b < B; b++) {
      const r = (u * B + b) * S, len = this.lengths[b];
      be.softmax(1, len, 1, w, r, w, r);
      if (len < S) be.zero(S - len, w, r + len);
    }
    const ctx = ws.get("ctx", U * B * E);
    for (let b = 0; b < B; b++) be.gemm(false, false, U, E, S, 1, w, b * S, B * S, this.mem, b * E, B * E, 0, ctx, b * E, B * E);
    if (record) this.steps.push({ U, q, w, th });
    return { context: { shape: [U, B, E], data: ctx.slice(0, U * B * E) }, weights: { shape: [U, B, S], data: w.slice(0, U * B * S) } };
  }

  /** Backward of the last recorded `step` (steps go back in reverse order): returns dQuery [U, B, Q]. */
  stepBackward(dContext: TensorLike): Tensor {
    this.live();
    const where = "Attention.stepBackward";
    const c = this.steps.pop();
    if (!c || !this.mem || !this.keys || !this.dMem || !this.dKeys) throw new RnnkitError(`${where}: expected a recorded step() first, got none`);
    const { be, ws, S, B } = this;
    const Q = this.querySize, E = this.keySize, K = this.attentionSize;
    const { U, q, w, th } = c;
    checkTensor(where, "dContext", dContext, ["U", "B", "E"], [U, B, E]);
    const g = copyIn(ws.get("dctx", U * B * E), dContext.data);
    const dw = ws.get("dw", U * B * S);
    for (let b = 0; b < B; b++) {
      // context = w memory: dMemory += w^T dContext, dw = dContext memory^T
      be.gemm(true, false, S, E, U, 1, w, b * S, B * S, g, b * E, B * E, 1, this.dMem, b * E, B * E);
      be.gemm(false, true, U, S, E, 1, g, b * E, B * E, this.mem, b * E, B * E, 0, dw, b * S, B * S);
    }
    // softmax backward: dscore = a * (dw - sum_s a dw); padded positions have a = 0, so dscore = 0
    for (let r = 0; r < U * B; r++) {
      const o = r * S;
      let dotp = 0;
      for (let s = 0; s < S; s++) dotp += w[o + s] * dw[o + s];
      for (let s = 0; s < S; s++) dw[o + s] = w[o + s] * (dw[o + s] - dotp);
    }
    const dq = ws.get("dq", U * B * Q);
    if (this.kind !== "bahdanau") {
      for (let b = 0; b < B; b++) {
        be.gemm(false, false, U, Q, S, 1, dw, b * S, B * S, this.keys, b * K, B * K, 0, dq, b * Q, B * Q);
        be.gemm(true, false, S, K, U, 1, dw, b * S, B * S, q, b * Q, B * Q, 1, this.dKeys, b * K, B * K);
      }
    } else {
      const R = U * B * S;
      const dT = ws.get("dT", R * K);
      const v = this.value("v.weight");
      // score = th v^T: dth = dscore v, dv += dscore^T th
      be.gemm(false, false, R, K, 1, 1, dw, 0, 1, v, 0, K, 0, dT, 0, K);
      be.gemm(true, false, 1, K, R, 1, dw, 0, 1, th!, 0, K, 1, this.grad("v.weight"), 0, K);
      be.rnnBackward(R, K, false, th!, 0, dT, 0, dT, 0); // through tanh, in place
      const dqp = ws.get("dqp", U * B * K);
      be.zero(U * B * K, dqp, 0);
      const ident = ws.index("ident", S);
      for (let u = 0; u < U; u++) for (let b = 0; b < B; b++) {
        const r = u * B + b;
        be.sumRows(S, K, dT, r * S * K, K, dqp, r * K);
        be.scatterRows(S, K, ident, 0, dT, r * S * K, K, this.dKeys, b * K, B * K, true);
      }
      be.gemm(false, false, U * B, Q, K, 1, dqp, 0, K, this.value("query.weight"), 0, Q, 0, dq, 0, Q);
      be.gemm(true, false, K, Q, U * B, 1, dqp, 0, K, q, 0, Q, 1, this.grad("query.weight"), 0, Q);
    }
    return { shape: [U, B, Q], data: dq.slice(0, U * B * Q) };
  }

  /** After every step's backward: the key projection's backward; returns dMemory [S, B, E]. */
  memoryBackward(): Tensor {
    this.live();
    if (!this.mem || !this.dMem || !this.dKeys) throw new RnnkitError("Attention.memoryBackward: expected setMemory() first, got no memory");
    if (this.steps.length) throw new RnnkitError(`Attention.memoryBackward: expected every step's backward first, got ${this.steps.length} steps left`);
    const { be, S, B } = this;
    const E = this.keySize, K = this.attentionSize;
    if (this.kind !== "luong-dot") {
      const name = this.kind === "luong" ? "weight" : "key.weight";
      // keys = memory W^T: dW += dKeys^T memory, dMemory += dKeys W
      be.gemm(true, false, K, E, S * B, 1, this.dKeys, 0, K, this.mem, 0, E, 1, this.grad(name), 0, E);
      be.gemm(false, false, S * B, E, K, 1, this.dKeys, 0, K, this.value(name), 0, E, 1, this.dMem, 0, E);
    }
    return { shape: [S, B, E], data: this.dMem.slice(0, S * B * E) };
  }
}
