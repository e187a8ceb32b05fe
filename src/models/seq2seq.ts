/**
 * Seq2Seq: the encoder-decoder of Sutskever et al. 2014, with the attention of Luong et al. 2015
 * or Bahdanau et al. 2015.
 *
 *   source [S, B] -> encoder.embedding -> encoder.rnn (any cell, stacked, bidirectional,
 *                    variable lengths)                      -> memory [S, B, C], C = D*H
 *   final encoder state -> bridge (Linear + tanh, only when C != Hd) -> decoder initial state
 *   target input [U, B] = <bos> y_1 .. y_{U-1} -> decoder.embedding -> decoder.rnn -> s_t
 *
 *   attention "none":      logits_t = head(s_t)                               (Sutskever et al.)
 *   "luong", "luong-dot":  c_t = attend(s_t, memory); h~_t = tanh(W_c [c_t; s_t]);
 *                          logits_t = head(h~_t)                              (Luong et al. eq. 5-6)
 *   "bahdanau":            c_t = attend(s_{t-1}, memory); s_t = rnn([emb(y_{t-1}); c_t], s_{t-1});
 *                          h~_t = tanh(W_c [c_t; s_t]); logits_t = head(h~_t)  (Bahdanau et al.)
 *
 * Design choices (documented deviations):
 * - No input feeding (Luong et al. §3.3): without it the Luong decoder is one call of the
 *   sequence wrapper over all U teacher-forced steps, then attention over all U steps at once
 *   (one GEMM per batch element), then W_c and the head over all U*B rows.
 * - Bahdanau feeds c_t into the decoder input, so its decoder runs step by step: a stack of the
 *   single-step cells (`CellStack` below), all B rows at once. Backward recomputes each step's
 *   forward just before its backward (a cell keeps the buffers of one call only), costing one
 *   more decoder forward in training; the dropout masks between layers are kept per step so the
 *   recomputation sees the same ones. The output layer is the same h~ = tanh(W_c [c; s]) as
 *   Luong's rather than Bahdanau's maxout deep output.
 * - Bridge: decoder layer l starts from encoder layer l + Le - Ld, clamped to [0, Le-1] (equal
 *   layer counts map one to one; a shallower decoder takes the top encoder layers; a deeper one
 *   gives its extra bottom layers encoder layer 0), both directions concatenated (C = D*H). When
 *   C differs from the decoder size Hd, one shared Linear + tanh maps h (and, when both cells are
 *   LSTMs, a second one maps c); an LSTM decoder after a non-LSTM encoder starts with c = 0.
 *   The default decoderHiddenSize is C, so by default there is no bridge and luong-dot works.
 * - `dropout` is PyTorch's between stacked layers, in the encoder and in the decoder.
 *
 * Parameter names: `encoder.embedding.weight`, `encoder.rnn.<nn.LSTM/GRU/RNN names>`,
 * `decoder.embedding.weight`, `decoder.rnn.*`, `bridge.h.weight`, `bridge.h.bias`,
 * `bridge.c.*` (nn.Linear), `attention.*` (see src/layers/attention.ts), `combine.weight`
 * (W_c, nn.Linear(C + Hd, Hd, bias=False), input [c; s]), `head.weight`, `head.bias`.
 *
 * Token ids: <pad> 0, <unk> 1, <bos> 2, <eos> 3 (src/data/tokenizer.ts). Batches: `tokens`
 * [S*B] source ids, `lengths`, `targets` [U*B] ending in <eos>, `U`, `targetLengths` (padPairs).
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { defaults } from "../defaults.js";
import { ATTENTIONS, Attention, type AttentionKind } from "../layers/attention.js";
import { GRUCell, LSTMCell, RNNCell } from "../layers/cells.js";
import { dropoutMask } from "../layers/dropout.js";
import { Embedding } from "../layers/embedding.js";
import { makeRecurrent } from "../layers/layers.js";
import { Linear } from "../layers/linear.js";
import type { Module, Parameter, WeightLike } from "../layers/module.js";
import { loadInto } from "../layers/params.js";
import { type Recurrent, recurrentShapes } from "../layers/recurrent.js";
import { Rng } from "../rng.js";
import { type Floats, RnnkitError, type Tensor, checkPositiveInt, describe } from "../tensor.js";
import { type Batch, checkBatch, checkLengths, idsOf } from "../data/batch.js";
import { type Example, padPairs } from "../data/batches.js";
import { BOS, PAD } from "../data/tokenizer.js";
import { PADDED, argmaxHits, crossEntropy } from "../losses/losses.js";
import { CELLS, type CellName, type Model, type StepResult } from "./model.js";
import { ComposedModel, type ParameterShapes, checkLimit, checkParameterBudget, prefixed } from "./composed.js";

export interface Seq2SeqConfig {
  task?: "seq2seq";
  /** Encoder cell, and the decoder's unless `decoderCell` is given. */
  cell: CellName;
  decoderCell?: CellName;
  /** Vs, Vt: vocabulary sizes (specials included). */
  sourceVocabSize: number;
  targetVocabSize: number;
  /** E: embedding size of both sides (default defaults.embeddingDim). */
  embeddingDim?: number;
  /** H: encoder hidden size per direction. */
  hiddenSize: number;
  /** Hd: decoder hidden size (default D*H, the encoder output size: no bridge). */
  decoderHiddenSize?: number;
  /** Le: encoder layers; Ld: decoder layers (default Le). */
  numLayers?: number;
  decoderLayers?: number;
  /** Encoder only. */
  bidirectional?: boolean;
  dropout?: number;
  attention?: AttentionKind;
  /** GRU parts only. */
  resetAfter?: boolean;
  /** LSTM/GRU parts only. */
  recurrentActivation?: "sigmoid" | "hardSigmoid";
  seed?: number;
}

type Resolved = Required<Omit<Seq2SeqConfig, "resetAfter" | "recurrentActivation">> & Pick<Seq2SeqConfig, "resetAfter" | "recurrentActivation">;

/** The decoder state of the rows being decoded (translate). */
export interface DecoderState {
  /** [Ld, N, Hd] */
  h: Tensor;
  /** [Ld, N, Hd], LSTM decoders */
  c?: Tensor;
}

interface Cache {
  batch: Batch;
  S: number; U: number; B: number;
  hE: Tensor; cE?: Tensor;
  h0: Tensor; c0?: Tensor;
  /** attention: the concatenation [c; s] went through W_c and tanh into ht [U, B, Hd] */
  ht?: Tensor;
  /** bahdanau: per step input, state before */
  xs?: Tensor[]; hs?: Tensor[]; cs?: (Tensor | undefined)[]; masks?: (Floats | null)[][];
}

/** Rows of [R, wa] and [R, wb] side by side: [R, wa + wb] (row copies). */
function concat(out: Floats, a: Floats, wa: number, b: Floats, wb: number, R: number): Floats {
  const w = wa + wb;
  for (let r = 0; r < R; r++) {
    out.set(a.subarray(r * wa, (r + 1) * wa), r * w);
    out.set(b.subarray(r * wb, (r + 1) * wb), r * w + wa);
  }
  return out;
}

type StepCellModule = LSTMCell | GRUCell | RNNCell;

/**
 * The step-by-step decoder of Bahdanau attention: Ld single-step cells (src/layers/cells.ts)
 * stacked by hand, one time step of N rows per call, with the interface of the sequence wrapper
 * for T = 1 (x [1, N, In], h0/c0 and h/c [Ld, N, Hd]). Parameter names are those of one PyTorch
 * nn.LSTM / nn.GRU / nn.RNN with Ld layers (`weight_ih_l{k}`, ...), so `decoder.rnn.*` loads into
 * torch.nn the same way for every attention kind. Dropout between layers (training mode) draws
 * its masks per call; `forward(x, state, masks)` replays given ones (the recomputation in
 * backward).
 */
class CellStack implements Module {
  readonly cells: StepCellModule[];
  readonly hasCellState: boolean;
  training = false;
  /** the dropout masks of the last forward, one per layer but the last (null: none) */
  lastMasks: (Floats | null)[] = [];
  private readonly rng: Rng;
  private readonly N: number[] = [];

  constructor(cell: CellName, private readonly o: { inputSize: number; hiddenSize: number; numLayers: number; dropout: number; backend: Backend; seed: number },
    resetAfter?: boolean, recurrentActivation?: "sigmoid" | "hardSigmoid") {
    this.cells = Array.from({ length: o.numLayers }, (_, k) => {
      const c = { inputSize: k === 0 ? o.inputSize : o.hiddenSize, hiddenSize: o.hiddenSize, backend: o.backend, seed: o.seed + k };
      if (cell === "lstm") return new LSTMCell({ ...c, recurrentActivation });
      if (cell === "gru") return new GRUCell({ ...c, resetAfter, recurrentActivation });
      return new RNNCell({ ...c, nonlinearity: cell === "rnn_relu" ? "relu" : "tanh" });
    });
    this.hasCellState = cell === "lstm";
    this.rng = new Rng(o.seed ^ 0x5eed);
  }

  parameters(): Parameter[] {
    return this.cells.flatMap((c, k) => c.parameters().map((p) => ({ ...p, name: `${p.name}_l${k}` })));
  }

  zeroGrad(): void {
    for (const c of this.cells) c.zeroGrad();
  }

  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.cells.forEach((c, k) => {
      for (const [n, v] of Object.entries(c.stateDict())) out[`${n}_l${k}`] = v;
    });
    return out;
  }

  loadStateDict(dict: Record<string, WeightLike>): void {
    loadInto("Seq2Seq.decoder.loadStateDict", this.parameters(), dict);
  }

  dispose(): void {
    for (const c of this.cells) c.dispose();
  }

  rngs(): Rng[] {
    return [this.rng];
  }

  train(on = true): this {
    this.training = on;
    return this;
  }

  /** One step: x [1, N, In], state [Ld, N, Hd] -> output [1, N, Hd] (the top layer) and the new state. */
  forward(x: Tensor, state: { h0: Tensor; c0?: Tensor }, masks?: (Floats | null)[]): { output: Tensor; h: Tensor; c?: Tensor } {
    const L = this.cells.length, H = this.o.hiddenSize, N = x.shape[1];
    const f64 = this.o.backend.dtype === "float64";
    const alloc = (n: number): Floats => (f64 ? new Float64Array(n) : new Float32Array(n));
    const h = alloc(L * N * H), c = this.hasCellState ? alloc(L * N * H) : null;
    let inp: Floats = x.data;
    this.lastMasks = [];
    for (let k = 0; k < L; k++) {
      const st: { hx: Tensor; cx?: Tensor } = { hx: { shape: [N, H], data: state.h0.data.subarray(k * N * H, (k + 1) * N * H) } };
      if (c && state.c0) st.cx = { shape: [N, H], data: state.c0.data.subarray(k * N * H, (k + 1) * N * H) };
      const r = this.cells[k].forward({ shape: [N, inp.length / N], data: inp }, st);
      h.set(r.h.data, k * N * H);
      if (c && r.c) c.set(r.c.data, k * N * H);
      inp = r.h.data;
      let mask: Floats | null = null;
      if (k < L - 1 && this.training && this.o.dropout > 0) {
        mask = masks?.[k] ?? null;
        if (!mask) dropoutMask(this.rng, this.o.dropout, (mask = alloc(N * H)), N * H);
        const dropped = alloc(N * H);
        for (let i = 0; i < N * H; i++) dropped[i] = inp[i] * mask[i];
        inp = dropped;
      }
      if (k < L - 1) this.lastMasks.push(mask);
    }
    const out: { output: Tensor; h: Tensor; c?: Tensor } = { output: { shape: [1, N, H], data: h.slice((L - 1) * N * H) }, h: { shape: [L, N, H], data: h } };
    if (c) out.c = { shape: [L, N, H], data: c };
    return out;
  }

  /** The backward of the last forward, from the gradients w.r.t. its new state [Ld, N, Hd]. */
  backward(g: { h: Tensor; c?: Tensor }): { dx: Tensor; dh0: Tensor; dc0?: Tensor } {
    const L = this.cells.length, H = this.o.hiddenSize, N = g.h.shape[1];
    const f64 = this.o.backend.dtype === "float64";
    const alloc = (n: number): Floats => (f64 ? new Float64Array(n) : new Float32Array(n));
    const dh0 = alloc(L * N * H), dc0 = this.hasCellState ? alloc(L * N * H) : null;
    let dIn: Floats | null = null;
    for (let k = L - 1; k >= 0; k--) {
      const gh = g.h.data.slice(k * N * H, (k + 1) * N * H);
      if (dIn) {
        const mask = this.lastMasks[k];
        for (let i = 0; i < N * H; i++) gh[i] += mask ? dIn[i] * mask[i] : dIn[i];
      }
      const gg: { h: Tensor; c?: Tensor } = { h: { shape: [N, H], data: gh } };
      if (dc0 && g.c) gg.c = { shape: [N, H], data: g.c.data.subarray(k * N * H, (k + 1) * N * H) };
      const d = this.cells[k].backward(gg);
      dh0.set(d.dhx.data, k * N * H);
      if (dc0 && d.dcx) dc0.set(d.dcx.data, k * N * H);
      dIn = d.dx.data;
    }
    const out: { dx: Tensor; dh0: Tensor; dc0?: Tensor } = { dx: { shape: [1, N, dIn!.length / N], data: dIn! }, dh0: { shape: [L, N, H], data: dh0 } };
    if (dc0) out.dc0 = { shape: [L, N, H], data: dc0 };
    return out;
  }
}

/**
 * The encoder-decoder (see the file comment for the equations and design choices):
 * `new Seq2Seq({ cell, sourceVocabSize, targetVocabSize, hiddenSize, attention })`, trained by
 * `fit` on examples `{ tokens: source ids, target: ids ending with <eos> }`, decoded by
 * `translate`. Shapes: source [S, B], target [U, B], logits [U, B, Vt], attention weights
 * [U, B, S], memory [S, B, C = D*H], decoder state [Ld, B, Hd].
 */
export class Seq2Seq extends ComposedModel implements Model {
  protected readonly name = "Seq2Seq";
  readonly kind = "seq2seq" as const;
  readonly task = "seq2seq" as const;
  readonly config: Resolved;
  readonly backend: Backend;
  readonly encoderEmbedding: Embedding;
  readonly encoder: Recurrent;
  readonly decoderEmbedding: Embedding;
  /** The sequence wrapper (attention none, luong, luong-dot) or, for bahdanau, a stack of single-step cells. */
  readonly decoder: Recurrent | CellStack;
  readonly bridgeH: Linear | null;
  readonly bridgeC: Linear | null;
  readonly attention: Attention | null;
  readonly combine: Linear | null;
  readonly head: Linear;
  /** C: encoder output size (directions concatenated). */
  readonly memorySize: number;
  private cache: Cache | null = null;
  private decodeSrcLen = 0;

  constructor(config: Seq2SeqConfig, opts: { backend?: Backend } = {}) {
    super();
    const where = "Seq2Seq";
    const cfg = (this.config = Seq2Seq.resolve(config));
    // every size is checked against the parameter budget before anything is allocated
    const shapes = Seq2Seq.parameterShapes(cfg);
    checkParameterBudget(where, shapes);
    this.backend = opts.backend ?? getBackend();
    const be = this.backend;
    const { seed, attention, numLayers, bidirectional, dropout, decoderCell: dcell } = cfg;
    const C = (this.memorySize = (bidirectional ? 2 : 1) * cfg.hiddenSize);
    const Hd = cfg.decoderHiddenSize, E = cfg.embeddingDim;
    const gates = (c: CellName) => ({ resetAfter: c === "gru" ? cfg.resetAfter : undefined, recurrentActivation: c === "lstm" || c === "gru" ? cfg.recurrentActivation : undefined });
    this.encoderEmbedding = new Embedding({ numEmbeddings: cfg.sourceVocabSize, embeddingDim: E, paddingIdx: PAD, backend: be, seed: seed + 1 });
    this.encoder = makeRecurrent(cfg.cell, { inputSize: E, hiddenSize: cfg.hiddenSize, numLayers, bidirectional, dropout, backend: be, seed: seed + 2, ...gates(cfg.cell) });
    this.decoderEmbedding = new Embedding({ numEmbeddings: cfg.targetVocabSize, embeddingDim: E, paddingIdx: PAD, backend: be, seed: seed + 3 });
    const bahdanau = attention === "bahdanau";
    const dopts = { inputSize: E + (bahdanau ? C : 0), hiddenSize: Hd, numLayers: cfg.decoderLayers, dropout, backend: be, seed: seed + 4 };
    this.decoder = bahdanau ? new CellStack(dcell, dopts, gates(dcell).resetAfter, gates(dcell).recurrentActivation) : makeRecurrent(dcell, { ...dopts, bidirectional: false, ...gates(dcell) });
    const bridged = C !== Hd;
    this.bridgeH = bridged ? new Linear({ inFeatures: C, outFeatures: Hd, backend: be, seed: seed + 5 }) : null;
    this.bridgeC = bridged && cfg.cell === "lstm" && dcell === "lstm" ? new Linear({ inFeatures: C, outFeatures: Hd, backend: be, seed: seed + 6 }) : null;
    this.attention = attention === "none" ? null : new Attention({ kind: attention, querySize: Hd, keySize: C, backend: be, seed: seed + 7 });
    this.combine = attention === "none" ? null : new Linear({ inFeatures: C + Hd, outFeatures: Hd, bias: false, backend: be, seed: seed + 8 });
    this.head = new Linear({ inFeatures: Hd, outFeatures: cfg.targetVocabSize, backend: be, seed: seed + 9 });
    this.checkShapes(shapes);
  }

  /** Checks a config and fills in its defaults, allocating nothing (what the model file does first). */
  static resolve(config: Seq2SeqConfig): Resolved {
    const where = "Seq2Seq";
    if (!config || typeof config !== "object") throw new RnnkitError(`${where}: expected a config object, got ${describe(config)}`);
    if (config.task !== undefined && config.task !== "seq2seq") throw new RnnkitError(`${where}: task: expected "seq2seq", got ${describe(config.task)}`);
    if (!CELLS.includes(config.cell)) throw new RnnkitError(`${where}: cell: expected one of ${CELLS.join(", ")}, got ${describe(config.cell)}`);
    const dcell = config.decoderCell ?? config.cell;
    if (!CELLS.includes(dcell)) throw new RnnkitError(`${where}: decoderCell: expected one of ${CELLS.join(", ")}, got ${describe(dcell)}`);
    const attention = config.attention ?? defaults.seq2seqAttention;
    if (!ATTENTIONS.includes(attention)) throw new RnnkitError(`${where}: attention: expected one of ${ATTENTIONS.join(", ")}, got ${describe(attention)}`);
    for (const k of ["sourceVocabSize", "targetVocabSize", "hiddenSize"] as const) checkPositiveInt(where, k, config[k]);
    for (const k of ["embeddingDim", "decoderHiddenSize", "numLayers", "decoderLayers"] as const) if (config[k] !== undefined) checkPositiveInt(where, k, config[k]);
    for (const k of ["hiddenSize", "decoderHiddenSize", "embeddingDim"] as const) checkLimit(where, k, config[k], "hidden");
    for (const k of ["sourceVocabSize", "targetVocabSize"] as const) checkLimit(where, k, config[k], "vocabulary");
    for (const k of ["numLayers", "decoderLayers"] as const) checkLimit(where, k, config[k], "layers");
    for (const k of ["sourceVocabSize", "targetVocabSize"] as const) {
      if (config[k] < 4) throw new RnnkitError(`${where}: ${k}: expected at least 4 ids (<pad>, <unk>, <bos>, <eos>), got ${config[k]}`);
    }
    if (config.bidirectional !== undefined && typeof config.bidirectional !== "boolean") throw new RnnkitError(`${where}: bidirectional: expected true or false, got ${describe(config.bidirectional)}`);
    const dropout = config.dropout ?? 0;
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) throw new RnnkitError(`${where}: dropout: expected a probability in [0, 1), got ${describe(dropout)}`);
    const numLayers = config.numLayers ?? defaults.numLayers;
    const bidirectional = config.bidirectional ?? defaults.bidirectional;
    const C = (bidirectional ? 2 : 1) * config.hiddenSize;
    const cfg: Resolved = {
      ...config,
      task: "seq2seq",
      decoderCell: dcell,
      embeddingDim: config.embeddingDim ?? defaults.embeddingDim,
      decoderHiddenSize: config.decoderHiddenSize ?? C,
      numLayers,
      decoderLayers: config.decoderLayers ?? numLayers,
      bidirectional,
      dropout,
      attention,
      seed: config.seed ?? defaults.seed,
    };
    if (attention === "luong-dot" && cfg.decoderHiddenSize !== C) {
      throw new RnnkitError(`${where}: attention luong-dot scores s · e: expected decoderHiddenSize = the encoder output size D*H = ${C}, got ${cfg.decoderHiddenSize} (use "luong", which learns W)`);
    }
    return cfg;
  }

  /** The parameter names and shapes a config makes (its `stateDict()`), computed without building the model. */
  static parameterShapes(config: Seq2SeqConfig): ParameterShapes {
    const c = Seq2Seq.resolve(config);
    const D = c.bidirectional ? 2 : 1, C = D * c.hiddenSize, Hd = c.decoderHiddenSize, E = c.embeddingDim;
    const G = (cell: CellName) => (cell === "lstm" ? 4 : cell === "gru" ? 3 : 1);
    const out: ParameterShapes = [
      ["encoder.embedding.weight", [c.sourceVocabSize, E]],
      ...prefixed("encoder.rnn.", recurrentShapes(G(c.cell), E, c.hiddenSize, c.numLayers, D)),
      ["decoder.embedding.weight", [c.targetVocabSize, E]],
    ];
    const dec = recurrentShapes(G(c.decoderCell), E + (c.attention === "bahdanau" ? C : 0), Hd, c.decoderLayers, 1);
    // the bahdanau decoder is a stack of single-step cells: per layer weight_ih, weight_hh, bias_ih, bias_hh as well
    out.push(...prefixed("decoder.rnn.", dec));
    if (C !== Hd) {
      out.push(["bridge.h.weight", [Hd, C]], ["bridge.h.bias", [Hd]]);
      if (c.cell === "lstm" && c.decoderCell === "lstm") out.push(["bridge.c.weight", [Hd, C]], ["bridge.c.bias", [Hd]]);
    }
    if (c.attention === "luong") out.push(["attention.weight", [Hd, C]]);
    if (c.attention === "bahdanau") out.push(["attention.query.weight", [Hd, Hd]], ["attention.key.weight", [Hd, C]], ["attention.v.weight", [1, Hd]]);
    if (c.attention !== "none") out.push(["combine.weight", [Hd, C + Hd]]);
    out.push(["head.weight", [c.targetVocabSize, Hd]], ["head.bias", [c.targetVocabSize]]);
    return out;
  }

  /** The decoder as the sequence wrapper (every attention kind but bahdanau). */
  private get seqDecoder(): Recurrent {
    return this.decoder as Recurrent;
  }

  /** The decoder as a stack of single-step cells (bahdanau). */
  private get stepDecoder(): CellStack {
    return this.decoder as CellStack;
  }

  protected clearCache(): void {
    this.cache = null;
  }

  protected parts(): [string, Module][] {
    const out: [string, Module][] = [
      ["encoder.embedding.", this.encoderEmbedding], ["encoder.rnn.", this.encoder],
      ["decoder.embedding.", this.decoderEmbedding], ["decoder.rnn.", this.decoder],
    ];
    if (this.bridgeH) out.push(["bridge.h.", this.bridgeH]);
    if (this.bridgeC) out.push(["bridge.c.", this.bridgeC]);
    if (this.attention) out.push(["attention.", this.attention]);
    if (this.combine) out.push(["combine.", this.combine]);
    out.push(["head.", this.head]);
    return out;
  }


  collate(examples: readonly Example[]): Batch {
    return padPairs(examples);
  }

  // ---------------------------------------------------------------- encoder and bridge

  /** Runs the encoder: memory [S, B, C] and the encoder's final state. */
  private encode(where: string, tokens: ArrayLike<number> | undefined, S: number, B: number, lengths: number[]): { output: Tensor; h: Tensor; c?: Tensor } {
    const ids = idsOf(where, "tokens", tokens, S, B, lengths, this.config.sourceVocabSize, PAD);
    const x = this.encoderEmbedding.forward({ shape: [S, B], data: ids });
    return this.encoder.forward(x, { lengths });
  }

  /** Decoder layer l starts from encoder layer srcLayer(l) (see the file comment). */
  private srcLayer(l: number): number {
    const Le = this.config.numLayers, Ld = this.config.decoderLayers;
    return Math.min(Le - 1, Math.max(0, l + Le - Ld));
  }

  /** [Le*D, B, H] -> [Ld, B, C]: the chosen layer's directions side by side. */
  private gatherState(s: Tensor, B: number): Tensor {
    const H = this.config.hiddenSize, D = this.config.bidirectional ? 2 : 1, Ld = this.config.decoderLayers, C = D * H;
    const out = this.arr(Ld * B * C);
    for (let l = 0; l < Ld; l++) {
      const k = this.srcLayer(l);
      for (let d = 0; d < D; d++) for (let b = 0; b < B; b++) {
        out.set(s.data.subarray(((k * D + d) * B + b) * H, ((k * D + d) * B + b + 1) * H), (l * B + b) * C + d * H);
      }
    }
    return { shape: [Ld, B, C], data: out };
  }

  /** The backward of gatherState: adds [Ld, B, C] into [Le*D, B, H]. */
  private scatterState(g: Tensor, B: number): Tensor {
    const H = this.config.hiddenSize, D = this.config.bidirectional ? 2 : 1, Ld = this.config.decoderLayers, Le = this.config.numLayers, C = D * H;
    const out = this.arr(Le * D * B * H);
    for (let l = 0; l < Ld; l++) {
      const k = this.srcLayer(l);
      for (let d = 0; d < D; d++) for (let b = 0; b < B; b++) {
        const o = ((k * D + d) * B + b) * H, i = (l * B + b) * C + d * H;
        for (let j = 0; j < H; j++) out[o + j] += g.data[i + j];
      }
    }
    return { shape: [Le * D, B, H], data: out };
  }

  /** The decoder's initial state from the encoder's final state. */
  private bridge(hE: Tensor, cE: Tensor | undefined, B: number): { h0: Tensor; c0?: Tensor } {
    const tanh = (t: Tensor): Tensor => ({ shape: t.shape, data: t.data.map(Math.tanh) });
    const sh = this.gatherState(hE, B);
    const h0 = this.bridgeH ? tanh(this.bridgeH.forward(sh)) : sh;
    const r: { h0: Tensor; c0?: Tensor } = { h0 };
    if (this.config.decoderCell === "lstm" && cE) {
      const sc = this.gatherState(cE, B);
      r.c0 = this.bridgeC ? tanh(this.bridgeC.forward(sc)) : sc;
    }
    return r;
  }

  private bridgeBackward(dh0: Tensor, dc0: Tensor | undefined, h0: Tensor, c0: Tensor | undefined, B: number): { h: Tensor; c?: Tensor } {
    const through = (lin: Linear | null, g: Tensor, y: Tensor): Tensor => {
      if (!lin) return g;
      const d = this.arr(g.data.length);
      for (let i = 0; i < d.length; i++) d[i] = g.data[i] * (1 - y.data[i] * y.data[i]);
      return lin.backward({ shape: g.shape, data: d });
    };
    const r: { h: Tensor; c?: Tensor } = { h: this.scatterState(through(this.bridgeH, dh0, h0), B) };
    if (c0 && dc0 && this.config.cell === "lstm") r.c = this.scatterState(through(this.bridgeC, dc0, c0), B);
    return r;
  }

  // ---------------------------------------------------------------- teacher-forced forward

  /**
   * Teacher forcing: logits [U, B, Vt] for the batch's targets (the decoder reads <bos> y_1 ..
   * y_{U-1}); with `{ attention: true }` also the attention weights [U, B, S].
   */
  forward(batch: Batch, opts: { attention?: boolean } = {}): { logits: Tensor; attention?: Tensor } {
    const where = "Seq2Seq.forward";
    this.live(where);
    checkBatch(where, batch);
    const { T: S, B } = batch;
    if (!batch.targets) throw new RnnkitError(`${where}: targets: expected [U*B] target ids (teacher forcing; use translate() to decode), got none`);
    const U = batch.U;
    if (!Number.isInteger(U) || U! < 1) throw new RnnkitError(`${where}: U: expected the number of target steps, a positive integer, got ${describe(U)}`);
    const lengths = batch.lengths;
    const tl = checkLengths(where, "targetLengths", batch.targetLengths, U!, B, "U");
    const targets = idsOf(where, "targets", batch.targets, U!, B, tl, this.config.targetVocabSize, PAD);
    const cfg = this.config;
    const Hd = cfg.decoderHiddenSize, C = this.memorySize, E = cfg.embeddingDim, Ld = cfg.decoderLayers;
    const enc = this.encode(where, batch.tokens, S, B, lengths);
    const { h0, c0 } = this.bridge(enc.h, enc.c, B);
    // decoder input: <bos>, then the target shifted right; <pad> past each target
    const din = new Int32Array(U! * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < tl[b]; t++) din[t * B + b] = t === 0 ? BOS : targets[(t - 1) * B + b];
    const emb = this.decoderEmbedding.forward({ shape: [U!, B], data: din });
    const cache: Cache = { batch, S, U: U!, B, hE: enc.h, cE: enc.c, h0, c0 };
    this.cache = cache;
    let weights: Tensor | undefined;
    let top: Tensor;
    let ctx: Tensor | undefined;
    if (cfg.attention !== "bahdanau") {
      const fopts: { lengths: number[]; h0: Tensor; c0?: Tensor } = { lengths: tl, h0 };
      if (c0) fopts.c0 = c0;
      top = this.seqDecoder.forward(emb, fopts).output;
      if (this.attention) {
        const a = this.attention.forward(top, enc.output, lengths);
        ctx = a.context;
        weights = a.weights;
      }
    } else {
      const att = this.attention!;
      att.setMemory(enc.output, lengths);
      let h = h0, c = c0;
      cache.xs = [];
      cache.hs = [];
      cache.cs = [];
      cache.masks = [];
      const tops = this.arr(U! * B * Hd), ctxs = this.arr(U! * B * C), ws = this.arr(U! * B * S);
      const x = this.arr(B * (E + C));
      for (let t = 0; t < U!; t++) {
        const a = att.step({ shape: [1, B, Hd], data: h.data.subarray((Ld - 1) * B * Hd, Ld * B * Hd) });
        ctxs.set(a.context.data, t * B * C);
        ws.set(a.weights.data, t * B * S);
        concat(x, emb.data.subarray(t * B * E, (t + 1) * B * E), E, a.context.data, C, B);
        const xt = { shape: [1, B, E + C], data: x.slice() };
        const fopts: { h0: Tensor; c0?: Tensor } = { h0: h };
        if (c) fopts.c0 = c;
        const r = this.stepDecoder.forward(xt, fopts);
        cache.masks!.push(this.stepDecoder.lastMasks);
        cache.xs.push(xt);
        cache.hs.push(h);
        cache.cs.push(c);
        tops.set(r.output.data, t * B * Hd);
        h = r.h;
        c = r.c;
      }
      top = { shape: [U!, B, Hd], data: tops };
      ctx = { shape: [U!, B, C], data: ctxs };
      weights = { shape: [U!, B, S], data: ws };
    }
    let logits: Tensor;
    if (this.combine && ctx) {
      const cat = concat(this.arr(U! * B * (C + Hd)), ctx.data, C, top.data, Hd, U! * B);
      const pre = this.combine.forward({ shape: [U!, B, C + Hd], data: cat });
      cache.ht = { shape: pre.shape, data: pre.data.map(Math.tanh) };
      logits = this.head.forward(cache.ht);
    } else logits = this.head.forward(top);
    const res: { logits: Tensor; attention?: Tensor } = { logits };
    if (opts.attention && weights) res.attention = weights;
    return res;
  }

  /** Backward from d loss / d logits [U, B, Vt] of the last forward: adds every parameter's gradient. */
  backward(dLogits: Tensor): void {
    const where = "Seq2Seq.backward";
    this.live(where);
    const cache = this.cache;
    if (!cache) throw new RnnkitError(`${where}: expected a forward() call first, got none`);
    const { U, B, h0, c0 } = cache;
    const cfg = this.config;
    const Hd = cfg.decoderHiddenSize, C = this.memorySize, E = cfg.embeddingDim, Ld = cfg.decoderLayers;
    const dTop = this.head.backward(dLogits);
    let dOut: Floats = dTop.data; // d/d s_t [U, B, Hd]
    let dCtx: Floats | null = null;
    if (this.combine && cache.ht) {
      const ht = cache.ht.data;
      const dPre = this.arr(ht.length);
      for (let i = 0; i < ht.length; i++) dPre[i] = dTop.data[i] * (1 - ht[i] * ht[i]);
      const dCat = this.combine.backward({ shape: [U, B, Hd], data: dPre }).data;
      dCtx = this.arr(U * B * C);
      dOut = this.arr(U * B * Hd);
      for (let r = 0; r < U * B; r++) {
        dCtx.set(dCat.subarray(r * (C + Hd), r * (C + Hd) + C), r * C);
        dOut.set(dCat.subarray(r * (C + Hd) + C, (r + 1) * (C + Hd)), r * Hd);
      }
    }
    let dMem: Tensor | undefined;
    let dh0: Tensor, dc0: Tensor | undefined;
    if (cfg.attention !== "bahdanau") {
      if (this.attention && dCtx) {
        const g = this.attention.backward({ shape: [U, B, C], data: dCtx });
        dMem = g.dMemory;
        for (let i = 0; i < dOut.length; i++) dOut[i] += g.dQuery.data[i];
      }
      const d = this.seqDecoder.backward({ output: { shape: [U, B, Hd], data: dOut } });
      this.decoderEmbedding.backward(d.dx);
      dh0 = d.dh0;
      dc0 = d.dc0;
    } else {
      const att = this.attention!;
      const dEmb = this.arr(U * B * E);
      let dh = this.arr(Ld * B * Hd);
      let dc: Floats | undefined = cfg.decoderCell === "lstm" ? this.arr(Ld * B * Hd) : undefined;
      const top = (Ld - 1) * B * Hd;
      for (let t = U - 1; t >= 0; t--) {
        for (let i = 0; i < B * Hd; i++) dh[top + i] += dOut[t * B * Hd + i];
        // the wrapper keeps one call's buffers: recompute step t, then its backward
        const fopts: { h0: Tensor; c0?: Tensor } = { h0: cache.hs![t] };
        if (cache.cs![t]) fopts.c0 = cache.cs![t];
        this.stepDecoder.forward(cache.xs![t], fopts, cache.masks![t]);
        const g: { h: Tensor; c?: Tensor } = { h: { shape: [Ld, B, Hd], data: dh } };
        if (dc) g.c = { shape: [Ld, B, Hd], data: dc };
        const d = this.stepDecoder.backward(g);
        const dctx = this.arr(B * C);
        for (let b = 0; b < B; b++) {
          dEmb.set(d.dx.data.subarray(b * (E + C), b * (E + C) + E), (t * B + b) * E);
          for (let k = 0; k < C; k++) dctx[b * C + k] = dCtx![(t * B + b) * C + k] + d.dx.data[b * (E + C) + E + k];
        }
        const dq = att.stepBackward({ shape: [1, B, C], data: dctx });
        dh = this.arr(d.dh0.data);
        for (let i = 0; i < B * Hd; i++) dh[top + i] += dq.data[i];
        dc = d.dc0 ? this.arr(d.dc0.data) : undefined;
      }
      dMem = att.memoryBackward();
      this.decoderEmbedding.backward({ shape: [U, B, E], data: dEmb });
      dh0 = { shape: [Ld, B, Hd], data: dh };
      dc0 = dc ? { shape: [Ld, B, Hd], data: dc } : undefined;
    }
    const ds = this.bridgeBackward(dh0, dc0, h0, c0, B);
    const g: { output?: Tensor; h: Tensor; c?: Tensor } = { h: ds.h };
    if (dMem) g.output = dMem;
    if (ds.c) g.c = ds.c;
    const d = this.encoder.backward(g);
    this.encoderEmbedding.backward(d.dx);
  }

  lossAndBackward(batch: Batch): StepResult {
    const r = this.forward(batch);
    const l = this.loss(batch, r.logits);
    this.backward(l.grad);
    return { loss: l.loss, count: l.count, correct: l.correct };
  }

  lossOf(batch: Batch): StepResult {
    const r = this.forward(batch);
    const l = this.loss(batch, r.logits);
    return { loss: l.loss, count: l.count, correct: l.correct };
  }

  /** Mean cross-entropy over the valid target steps, its gradient, and the arg-max hits. */
  loss(batch: Batch, logits: Tensor): { loss: number; count: number; correct: number; grad: Tensor } {
    const where = "Seq2Seq.loss";
    const { B } = batch;
    const U = batch.U!, V = this.config.targetVocabSize;
    if (!batch.targets) throw new RnnkitError(`${where}: targets: expected targets in the batch, got none`);
    const tl = checkLengths(where, "targetLengths", batch.targetLengths, U, B, "U");
    const targets = idsOf(where, "targets", batch.targets, U, B, tl, V, PADDED);
    const r = crossEntropy({ shape: [U * B, V], data: logits.data }, targets, { ignoreIndex: PADDED, backend: this.backend });
    const correct = argmaxHits(logits.data, targets, V);
    return { loss: r.loss, count: r.count, correct, grad: { shape: [...logits.shape], data: r.grad.data } };
  }

  // ---------------------------------------------------------------- step-wise decoding (translate)

  /**
   * Encodes B sources for decoding, each row repeated K times (beam hypotheses: row b*K + k),
   * sets the attention memory, and returns the decoder's initial state [Ld, B*K, Hd].
   * Inference only (no backward).
   */
  startDecoding(sources: readonly ArrayLike<number>[], K = 1): DecoderState {
    const where = "Seq2Seq.startDecoding";
    this.live(where);
    const B = sources.length;
    const lengths = sources.map((s) => s.length);
    lengths.forEach((n, b) => {
      if (n < 1) throw new RnnkitError(`${where}: sources[${b}]: expected at least one source id, got an empty sequence`);
    });
    const S = Math.max(...lengths);
    const tokens = new Int32Array(S * B);
    sources.forEach((s, b) => {
      for (let t = 0; t < s.length; t++) tokens[t * B + b] = s[t];
    });
    const enc = this.encode(where, tokens, S, B, lengths);
    const { h0, c0 } = this.bridge(enc.h, enc.c, B);
    const rep = (t: Tensor, rows: number, w: number): Tensor => {
      // [R, B, w] -> [R, B*K, w]
      const out = this.arr(rows * B * K * w);
      for (let r = 0; r < rows; r++) for (let b = 0; b < B; b++) {
        const src = t.data.subarray((r * B + b) * w, (r * B + b + 1) * w);
        for (let k = 0; k < K; k++) out.set(src, ((r * B + b) * K + k) * w);
      }
      return { shape: [rows, B * K, w], data: out };
    };
    const Ld = this.config.decoderLayers, Hd = this.config.decoderHiddenSize;
    if (this.attention) {
      const lens: number[] = [];
      for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) lens.push(lengths[b]);
      this.attention.setMemory(rep(enc.output, S, this.memorySize), lens);
    }
    this.decodeSrcLen = S;
    const st: DecoderState = { h: rep(h0, Ld, Hd) };
    if (c0) st.c = rep(c0, Ld, Hd);
    return st;
  }

  /** The source steps S of the last startDecoding (the width of the attention rows). */
  get decodingSourceSteps(): number {
    return this.decodeSrcLen;
  }

  /**
   * One decoder step for N rows: the previous ids [N] and state -> logits [N, Vt], the new
   * state, and the attention weights [N, S] (when the model attends).
   */
  decodeStep(prev: ArrayLike<number>, state: DecoderState): { logits: Floats; state: DecoderState; weights?: Floats } {
    const where = "Seq2Seq.decodeStep";
    this.live(where);
    const cfg = this.config;
    const N = prev.length, Hd = cfg.decoderHiddenSize, C = this.memorySize, E = cfg.embeddingDim, Ld = cfg.decoderLayers;
    const ids = idsOf(where, "prev", prev, 1, N, new Array<number>(N).fill(1), cfg.targetVocabSize, PAD);
    const emb = this.decoderEmbedding.forward({ shape: [1, N], data: ids });
    let x: Tensor = emb;
    let ctx: Tensor | undefined, weights: Floats | undefined;
    if (cfg.attention === "bahdanau") {
      const a = this.attention!.step({ shape: [1, N, Hd], data: state.h.data.subarray((Ld - 1) * N * Hd, Ld * N * Hd) }, false);
      ctx = a.context;
      weights = a.weights.data;
      x = { shape: [1, N, E + C], data: concat(this.arr(N * (E + C)), emb.data, E, ctx.data, C, N) };
    }
    const fopts: { h0: Tensor; c0?: Tensor } = { h0: state.h };
    if (state.c) fopts.c0 = state.c;
    const r = cfg.attention === "bahdanau" ? this.stepDecoder.forward(x, fopts) : this.seqDecoder.forward(x, fopts);
    if (this.attention && cfg.attention !== "bahdanau") {
      const a = this.attention.step(r.output, false);
      ctx = a.context;
      weights = a.weights.data;
    }
    let top: Tensor = r.output;
    if (this.combine && ctx) {
      const pre = this.combine.forward({ shape: [1, N, C + Hd], data: concat(this.arr(N * (C + Hd)), ctx.data, C, r.output.data, Hd, N) });
      top = { shape: pre.shape, data: pre.data.map(Math.tanh) };
    }
    const logits = this.head.forward(top).data;
    const next: DecoderState = { h: r.h };
    if (r.c) next.c = r.c;
    const out: { logits: Floats; state: DecoderState; weights?: Floats } = { logits, state: next };
    if (weights) out.weights = weights;
    return out;
  }
}

/** `model` as a Seq2Seq, or an error that says what `where` needs and what it got. */
export function asSeq2Seq(where: string, model: Model): Seq2Seq {
  if (model instanceof Seq2Seq) return model;
  throw new RnnkitError(`${where}: expected a Seq2Seq (an encoder-decoder), got a ${model.kind} model (task ${model.task})`);
}
