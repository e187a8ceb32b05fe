/**
 * SequenceModel: the three shapes of sequence models from one set of parts:
 *
 *   tokens [T, B] -> Embedding -> recurrent stack -> Linear per step      (task "lm", "tag":
 *                                                                          many-to-many aligned)
 *   tokens or numbers [T, B, X] -> recurrent stack -> pool -> Linear      (task "classify",
 *                                                                          "regress": many-to-one)
 *   condition [B, C] -> tanh(Linear) = initial state -> an "lm" decoder    (conditionSize > 0:
 *                                                                          one-to-many generation)
 *
 * Parameter names: `embedding.weight`, `rnn.<PyTorch nn.LSTM/GRU/RNN name>`, `head.weight`,
 * `head.bias`, `init.weight`, `init.bias`; the `rnn.` tensors are a PyTorch state_dict of the
 * recurrent stack once the prefix is stripped.
 *
 * Pooling for many-to-one: "last" (the final state of the last layer at each sequence's own
 * last step, both directions concatenated), "mean" or "max" over the valid steps of the output.
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { defaults } from "../defaults.js";
import { Embedding } from "../layers/embedding.js";
import { makeRecurrent } from "../layers/layers.js";
import { Linear } from "../layers/linear.js";
import type { Module } from "../layers/module.js";
import { ComposedModel, type ParameterShapes, checkLimit, checkParameterBudget, prefixed } from "./composed.js";
import { type Recurrent, recurrentShapes } from "../layers/recurrent.js";
import { type Floats, RnnkitError, type Tensor, checkFinite, checkPositiveInt, describe } from "../tensor.js";
import { type Batch, checkBatch, idsOf } from "../data/batch.js";
import { type Example, padBatch } from "../data/batches.js";
import { PADDED, argmaxHits, crossEntropy, mseLoss } from "../losses/losses.js";
import { CELLS, type CellName, type Model, POOLINGS, type Pooling, type StepResult, TASKS, type Task } from "./model.js";
import { gatesOf } from "../gates.js";

/** The tasks a SequenceModel serves (seq2seq is `Seq2Seq`'s). */
export type SequenceTask = Exclude<Task, "seq2seq">;

export interface ModelConfig {
  task: SequenceTask;
  cell: CellName;
  /** Token inputs: vocabulary size V and embedding size E. */
  vocabSize?: number;
  embeddingDim?: number;
  /** Numeric inputs: X features per step. */
  inputSize?: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  dropout?: number;
  /** Classes, vocabulary (lm) or values per sequence (regress). */
  outputSize: number;
  pooling?: Pooling;
  /** One-to-many: the size C of a conditioning vector that sets the initial state. */
  conditionSize?: number;
  /** GRU only. */
  resetAfter?: boolean;
  /** LSTM/GRU gate σ (see GateOptions): "sigmoid" (default) or "hardSigmoid" (Keras 2, TF.js). */
  recurrentActivation?: "sigmoid" | "hardSigmoid";
  seed?: number;
}

export class SequenceModel extends ComposedModel implements Model {
  protected readonly name = "SequenceModel";
  readonly kind = "sequence" as const;
  readonly config: Required<Omit<ModelConfig, "vocabSize" | "embeddingDim" | "inputSize" | "conditionSize" | "resetAfter" | "recurrentActivation">> &
    Pick<ModelConfig, "vocabSize" | "embeddingDim" | "inputSize" | "conditionSize" | "resetAfter" | "recurrentActivation">;
  readonly backend: Backend;
  readonly embedding: Embedding | null;
  readonly rnn: Recurrent;
  readonly head: Linear;
  readonly init: Linear | null;
  /**
   * classify / tag: per-class weights of the cross-entropy (PyTorch's `weight=`), e.g. from
   * `balancedClassWeights` for imbalanced labels; null = all 1. A training setting: not saved.
   */
  classWeights: readonly number[] | null = null;
  private cache: { batch: Batch; out: Tensor; h: Tensor; c?: Tensor; pooled?: Tensor; argmax?: Int32Array; init?: Tensor } | null = null;

  constructor(config: ModelConfig, opts: { backend?: Backend } = {}) {
    super();
    const where = "SequenceModel";
    this.config = SequenceModel.resolve(config);
    // every size is checked against the parameter budget before anything is allocated
    const shapes = SequenceModel.parameterShapes(this.config);
    checkParameterBudget(where, shapes);
    this.backend = opts.backend ?? getBackend();
    const cfg = this.config, seed = cfg.seed;
    const be = this.backend;
    this.embedding = cfg.vocabSize !== undefined
      ? new Embedding({ numEmbeddings: cfg.vocabSize, embeddingDim: cfg.embeddingDim!, paddingIdx: 0, backend: be, seed: seed + 1 })
      : null;
    const inputSize = this.embedding ? this.embedding.embeddingDim : cfg.inputSize!;
    this.rnn = makeRecurrent(cfg.cell, {
      inputSize, hiddenSize: cfg.hiddenSize, numLayers: cfg.numLayers, bidirectional: cfg.bidirectional,
      dropout: cfg.dropout, backend: be, seed: seed + 2, resetAfter: cfg.resetAfter, recurrentActivation: cfg.recurrentActivation,
    });
    const D = cfg.bidirectional ? 2 : 1;
    this.head = new Linear({ inFeatures: D * cfg.hiddenSize, outFeatures: cfg.outputSize, backend: be, seed: seed + 3 });
    this.init = cfg.conditionSize
      ? new Linear({ inFeatures: cfg.conditionSize, outFeatures: cfg.numLayers * D * cfg.hiddenSize, backend: be, seed: seed + 4 })
      : null;
    this.checkShapes(shapes);
  }

  /** Checks a config and fills in its defaults, allocating nothing (what the model file does first). */
  static resolve(config: ModelConfig): SequenceModel["config"] {
    const where = "SequenceModel";
    if (!config || typeof config !== "object") throw new RnnkitError(`${where}: expected a config object, got ${describe(config)}`);
    const tasks = TASKS.filter((t) => t !== "seq2seq");
    if (!tasks.includes(config.task)) throw new RnnkitError(`${where}: task: expected one of ${tasks.join(", ")}, got ${describe(config.task)}${(config.task as string) === "seq2seq" ? " (an encoder-decoder is a Seq2Seq)" : ""}`);
    if (!CELLS.includes(config.cell)) throw new RnnkitError(`${where}: cell: expected one of ${CELLS.join(", ")}, got ${describe(config.cell)}`);
    const tokens = config.vocabSize !== undefined;
    if (tokens === (config.inputSize !== undefined)) {
      throw new RnnkitError(`${where}: expected exactly one of vocabSize (token inputs) or inputSize (numeric inputs), got ${tokens ? "both" : "neither"}`);
    }
    if ((config.task === "lm" || config.task === "tag") && !tokens) throw new RnnkitError(`${where}: task ${config.task}: expected token inputs (vocabSize)`);
    if (config.task === "lm" && config.bidirectional) throw new RnnkitError(`${where}: task lm: a language model cannot be bidirectional (it would see the future)`);
    const pooling = config.pooling ?? "last";
    if (!POOLINGS.includes(pooling)) throw new RnnkitError(`${where}: pooling: expected one of ${POOLINGS.join(", ")}, got ${describe(pooling)}`);
    checkPositiveInt(where, "hiddenSize", config.hiddenSize);
    checkPositiveInt(where, "outputSize", config.outputSize);
    for (const k of ["vocabSize", "embeddingDim", "inputSize", "numLayers", "conditionSize"] as const) if (config[k] !== undefined) checkPositiveInt(where, k, config[k]);
    for (const k of ["hiddenSize", "embeddingDim"] as const) checkLimit(where, k, config[k], "hidden");
    for (const k of ["vocabSize", "outputSize", "inputSize", "conditionSize"] as const) checkLimit(where, k, config[k], "vocabulary");
    checkLimit(where, "numLayers", config.numLayers, "layers");
    if (config.bidirectional !== undefined && typeof config.bidirectional !== "boolean") throw new RnnkitError(`${where}: bidirectional: expected true or false, got ${describe(config.bidirectional)}`);
    const dropout = config.dropout ?? 0;
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) throw new RnnkitError(`${where}: dropout: expected a probability in [0, 1), got ${describe(dropout)}`);
    return {
      ...config,
      ...(tokens ? { embeddingDim: config.embeddingDim ?? defaults.embeddingDim } : {}),
      numLayers: config.numLayers ?? defaults.numLayers,
      bidirectional: config.bidirectional ?? defaults.bidirectional,
      dropout,
      pooling,
      seed: config.seed ?? defaults.seed,
    };
  }

  /** The parameter names and shapes a config makes (its `stateDict()`), computed without building the model. */
  static parameterShapes(config: ModelConfig): ParameterShapes {
    const c = SequenceModel.resolve(config);
    const D = c.bidirectional ? 2 : 1, H = c.hiddenSize;
    const out: ParameterShapes = [];
    if (c.vocabSize !== undefined) out.push(["embedding.weight", [c.vocabSize, c.embeddingDim!]]);
    const G = gatesOf(c.cell);
    out.push(...prefixed("rnn.", recurrentShapes(G, c.vocabSize !== undefined ? c.embeddingDim! : c.inputSize!, H, c.numLayers, D)));
    out.push(["head.weight", [c.outputSize, D * H]], ["head.bias", [c.outputSize]]);
    if (c.conditionSize) out.push(["init.weight", [c.numLayers * D * H, c.conditionSize]], ["init.bias", [c.numLayers * D * H]]);
    return out;
  }

  protected clearCache(): void {
    this.cache = null;
  }

  protected parts(): [string, Module][] {
    const out: [string, Module][] = [];
    if (this.embedding) out.push(["embedding.", this.embedding]);
    out.push(["rnn.", this.rnn], ["head.", this.head]);
    if (this.init) out.push(["init.", this.init]);
    return out;
  }


  get task(): SequenceTask {
    return this.config.task;
  }

  /** lm and tag predict a label per step; the others one output per sequence. */
  get perStep(): boolean {
    return this.config.task === "lm" || this.config.task === "tag";
  }

  collate(examples: readonly Example[]): Batch {
    return padBatch(examples, this.perStep);
  }

  /** The shape of the recurrent state [L*D, B, H]. */
  stateShape(B: number): number[] {
    return [this.config.numLayers * (this.config.bidirectional ? 2 : 1), B, this.config.hiddenSize];
  }

  /** Logits: [T, B, O] for lm/tag, [B, O] for classify/regress; and the final state. */
  forward(batch: Batch): { logits: Tensor; h: Tensor; c?: Tensor } {
    const where = "SequenceModel.forward";
    this.live(where);
    checkBatch(where, batch);
    const { T, B } = batch;
    const cfg = this.config;
    const H = cfg.hiddenSize, D = cfg.bidirectional ? 2 : 1, L = cfg.numLayers;
    let x: Tensor;
    if (this.embedding) {
      if (!batch.tokens) throw new RnnkitError(`${where}: tokens: expected [T*B] token ids for a model with vocabSize, got none`);
      // padding positions may hold anything: they become <pad> (0) so they never index out of range
      const ids = idsOf(where, "tokens", batch.tokens, T, B, batch.lengths, cfg.vocabSize!, 0);
      x = this.embedding.forward({ shape: [T, B], data: ids });
    } else {
      if (!batch.inputs) throw new RnnkitError(`${where}: inputs: expected [T*B*X] numbers for a model with inputSize, got none`);
      if (batch.inputs.length !== T * B * cfg.inputSize!) throw new RnnkitError(`${where}: inputs: expected [T*B*X] = [${T}*${B}*${cfg.inputSize}] = ${T * B * cfg.inputSize!} numbers, got ${batch.inputs.length}`);
      x = { shape: [T, B, cfg.inputSize!], data: this.arr(batch.inputs) };
    }
    let h0 = batch.h0;
    let init: Tensor | undefined;
    // a conditioned model starts from tanh(W c + b); a carried state (the next step of a stream,
    // the next chunk of truncated BPTT) continues from where the condition led
    if (this.init && (batch.condition || !h0)) {
      if (!batch.condition) throw new RnnkitError(`${where}: condition: expected [B*C] numbers (or a carried state h0) for a model with conditionSize, got none`);
      if (h0) throw new RnnkitError(`${where}: expected either condition (a new sequence) or h0 (a carried state), got both`);
      // h0[l*D+d][b] = tanh(W c_b + b)[(l*D+d)*H ...]
      const pre = this.init.forward({ shape: [B, cfg.conditionSize!], data: this.arr(batch.condition) });
      init = { shape: pre.shape, data: pre.data.map(Math.tanh) };
      const s = this.arr(L * D * B * H);
      for (let k = 0; k < L * D; k++) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) s[(k * B + b) * H + j] = init.data[b * L * D * H + k * H + j];
      h0 = { shape: [L * D, B, H], data: s };
    }
    const fopts: { lengths: number[]; h0?: Tensor; c0?: Tensor } = { lengths: batch.lengths };
    if (h0) fopts.h0 = h0;
    if (batch.c0 && this.config.cell === "lstm") fopts.c0 = batch.c0;
    const r = this.rnn.forward(x, fopts);
    this.cache = { batch, out: r.output, h: r.h, c: r.c, init };
    let logits: Tensor;
    if (cfg.task === "lm" || cfg.task === "tag") logits = this.head.forward(r.output);
    else {
      const pooled = this.pool(r.output, r.h, batch);
      this.cache.pooled = pooled;
      logits = this.head.forward(pooled);
    }
    const res: { logits: Tensor; h: Tensor; c?: Tensor } = { logits, h: r.h };
    if (r.c) res.c = r.c;
    return res;
  }

  private pool(out: Tensor, h: Tensor, batch: Batch): Tensor {
    const { B, lengths } = batch;
    const H = this.config.hiddenSize, D = this.config.bidirectional ? 2 : 1, L = this.config.numLayers;
    const p = this.arr(B * D * H);
    if (this.config.pooling === "last") {
      for (let d = 0; d < D; d++) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) p[b * D * H + d * H + j] = h.data[(((L - 1) * D + d) * B + b) * H + j];
    } else if (this.config.pooling === "mean") {
      for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]; t++) for (let k = 0; k < D * H; k++) p[b * D * H + k] += out.data[(t * B + b) * D * H + k] / lengths[b];
    } else {
      const arg = new Int32Array(B * D * H);
      p.fill(-Infinity);
      for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]; t++) for (let k = 0; k < D * H; k++) {
        const v = out.data[(t * B + b) * D * H + k];
        if (v > p[b * D * H + k]) {
          p[b * D * H + k] = v;
          arg[b * D * H + k] = t;
        }
      }
      this.cache!.argmax = arg;
    }
    return { shape: [B, D * H], data: p };
  }

  /**
   * Backward from d loss / d logits (the shape `forward` returned): adds every parameter's
   * gradient.
   */
  backward(dLogits: Tensor): void {
    const where = "SequenceModel.backward";
    if (!this.cache) throw new RnnkitError(`${where}: expected a forward() call first, got none`);
    const { batch, init } = this.cache;
    const { T, B, lengths } = batch;
    const cfg = this.config;
    const H = cfg.hiddenSize, D = cfg.bidirectional ? 2 : 1, L = cfg.numLayers;
    const dHead = this.head.backward(dLogits);
    let g: { output?: Tensor; h?: Tensor };
    if (cfg.task === "lm" || cfg.task === "tag") g = { output: dHead };
    else if (cfg.pooling === "last") {
      const gh = this.arr(L * D * B * H);
      for (let d = 0; d < D; d++) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) gh[(((L - 1) * D + d) * B + b) * H + j] = dHead.data[b * D * H + d * H + j];
      g = { h: { shape: [L * D, B, H], data: gh } };
    } else {
      const go = this.arr(T * B * D * H);
      for (let b = 0; b < B; b++) for (let k = 0; k < D * H; k++) {
        const v = dHead.data[b * D * H + k];
        if (cfg.pooling === "mean") for (let t = 0; t < lengths[b]; t++) go[(t * B + b) * D * H + k] = v / lengths[b];
        else go[(this.cache.argmax![b * D * H + k] * B + b) * D * H + k] = v;
      }
      g = { output: { shape: [T, B, D * H], data: go } };
    }
    const d = this.rnn.backward(g);
    if (this.embedding) this.embedding.backward(d.dx);
    if (this.init && init) {
      const C = L * D * H;
      const dpre = this.arr(B * C);
      for (let k = 0; k < L * D; k++) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
        const y = init.data[b * C + k * H + j];
        dpre[b * C + k * H + j] = d.dh0.data[(k * B + b) * H + j] * (1 - y * y);
      }
      this.init.backward({ shape: [B, C], data: dpre });
    }
  }

  /** Forward, loss, backward (gradients accumulate) for one batch. */
  lossAndBackward(batch: Batch): StepResult {
    const r = this.forward(batch);
    const l = this.loss(batch, r.logits);
    this.backward(l.grad);
    const res: StepResult = { loss: l.loss, count: l.count, correct: l.correct, h: r.h };
    if (r.c) res.c = r.c;
    return res;
  }

  /** Forward and loss (no backward) for one batch. */
  lossOf(batch: Batch): StepResult {
    const r = this.forward(batch);
    const l = this.loss(batch, r.logits);
    const res: StepResult = { loss: l.loss, count: l.count, correct: l.correct, h: r.h };
    if (r.c) res.c = r.c;
    return res;
  }

  /** The loss of `logits` against the batch targets, its gradient and the count of correct arg-maxes. */
  loss(batch: Batch, logits: Tensor): { loss: number; count: number; correct: number; grad: Tensor } {
    const where = "SequenceModel.loss";
    const { T, B, lengths } = batch;
    const O = this.config.outputSize;
    if (!batch.targets) throw new RnnkitError(`${where}: targets: expected targets in the batch, got none`);
    checkBatch(where, batch);
    const be = this.backend;
    if (this.config.task === "regress") {
      if (batch.targets.length !== B * O) throw new RnnkitError(`${where}: targets: expected [B*O] = [${B}*${O}] = ${B * O} values, got ${batch.targets.length}`);
      checkFinite(where, "targets", batch.targets, [B, O]);
      const r = mseLoss(logits, batch.targets, { backend: be });
      return { ...r, correct: 0 };
    }
    // checked before the cast, so 2.7, NaN and -1 are errors (not 2, 0 and a silently ignored row)
    const targets = this.config.task === "classify"
      ? idsOf(where, "targets", batch.targets, 1, B, new Array<number>(B).fill(1), O, PADDED)
      : idsOf(where, "targets", batch.targets, T, B, lengths, O, PADDED);
    const flat = { shape: [targets.length, O], data: logits.data };
    const r = crossEntropy(flat, targets, { ignoreIndex: PADDED, backend: be, weight: this.config.task === "lm" ? null : this.classWeights });
    const correct = argmaxHits(logits.data, targets, O);
    return { loss: r.loss, count: r.count, correct, grad: { shape: [...logits.shape], data: r.grad.data } };
  }
}

/** `model` as a SequenceModel, or an error that says what `where` needs and what it got. */
export function asSequenceModel(where: string, model: Model): SequenceModel {
  if (model instanceof SequenceModel) return model;
  throw new RnnkitError(`${where}: expected a SequenceModel (a language model, tagger, classifier or regressor), got a ${model.kind} model (task ${model.task})`);
}
