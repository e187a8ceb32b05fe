/**
 * Looking inside a trained model: the gate activations and states of every layer, direction and
 * time step, the attention weights of a seq2seq model, and the gradient norms through time of
 * the real backward pass.
 *
 * Nothing is recomputed here: every value is read from the buffers that the recurrent layer's
 * fused kernels wrote during the model's own forward and backward (`Recurrent.trace` in
 * src/layers/recurrent.ts), so what is shown is what trains.
 *
 * The results are plain JSON (numbers and arrays, no typed arrays) so that a chart, a file or a
 * web worker's message can take them as they are. Shapes: `[T][H]` means T arrays (one per time
 * step of the inspected sequence, in input order) of H numbers (one per hidden unit).
 */
import type { Batch } from "../data/batch.js";
import type { Example } from "../data/batches.js";
import { gateOrder } from "../gates.js";
import type { Recurrent } from "../layers/recurrent.js";
import type { Model } from "../models/model.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError, type Tensor, describe } from "../tensor.js";

/** The two directions of a recurrent layer, as traces and file names call them. */
export const DIRECTIONS = ["forward", "reverse"] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The names of the gates each cell kind has, in PyTorch's order (the plain RNN has none). */
export function gateNames(cell: Recurrent["cellType"]): readonly string[] {
  return cell === "lstm" ? gateOrder.torch.lstm : cell === "gru" ? gateOrder.torch.gru : gateOrder.torch.rnn;
}

/** One layer and direction of one recurrent part over the inspected sequence. */
export interface LayerTrace {
  /** the model part: "rnn" (SequenceModel), "encoder.rnn" or "decoder.rnn" (Seq2Seq) */
  part: string;
  layer: number;
  direction: Direction;
  /** "lstm", "gru", "rnn_tanh" or "rnn_relu" */
  cell: Recurrent["cellType"];
  /** T: the time steps of this part (source steps for the encoder, target steps for the decoder) */
  steps: number;
  /** the gate names, in order: LSTM i, f, g, o; GRU r, z, n; RNN none */
  gateNames: string[];
  /** gate name -> [T][H] activations (LSTM: σ for i, f, o and tanh for g; GRU: σ for r, z and tanh for n) */
  gates: Record<string, number[][]>;
  /** [T][H]: the hidden state after each step */
  h: number[][];
  /** [T][H]: the LSTM cell state after each step */
  c?: number[][];
}

export interface Inspection {
  kind: Model["kind"];
  task: Model["task"];
  /** every recurrent layer and direction, by part, then layer, then direction */
  layers: LayerTrace[];
  /**
   * Seq2Seq with attention: [U][S] weights (row t: how much target step t attends to each source
   * step; each row sums to 1 over the source's length).
   */
  attention?: number[][];
  /** What could not be traced, in words (e.g. the step-by-step decoder of Bahdanau attention). */
  notes: string[];
}

/** The gradient norms of one layer and direction. */
export interface GradientTrace {
  part: string;
  layer: number;
  direction: Direction;
  cell: Recurrent["cellType"];
  steps: number;
  /** [T]: ||dL/dh_t||_2 over the H units, t in input order */
  dh: number[];
  /** [T]: ||dL/dc_t||_2, LSTM only */
  dc?: number[];
}

export interface GradientThroughTime {
  /** the loss the gradients are of */
  loss: number;
  layers: GradientTrace[];
  notes: string[];
}

/** A loss of the logits: its value and d loss / d logits (the shape of the logits). */
export type LossFunction = (logits: Tensor, batch: Batch) => { loss: number; grad: Tensor };

export interface InspectOptions {
  /** which sequence of a batch input to read (default 0; an Example is row 0) */
  row?: number;
}

/** The recurrent parts of a model, by name, and whether each was run as one sequence call. */
function recurrentParts(model: Model): { part: string; rnn: Recurrent | null; note?: string }[] {
  if (model instanceof SequenceModel) return [{ part: "rnn", rnn: model.rnn }];
  if (model instanceof Seq2Seq) {
    const bahdanau = model.config.attention === "bahdanau";
    return [
      { part: "encoder.rnn", rnn: model.encoder },
      bahdanau
        ? { part: "decoder.rnn", rnn: null, note: "decoder.rnn: the Bahdanau decoder runs one step per call (it feeds each context back in), so its gates and states are not traced; the encoder and the attention weights are" }
        : { part: "decoder.rnn", rnn: model.decoder as Recurrent },
    ];
  }
  throw new RnnkitError(`inspect: expected a SequenceModel or a Seq2Seq, got ${describe(model)}`);
}

function toBatch(where: string, model: Model, input: Example | Batch): Batch {
  if (input === null || typeof input !== "object") throw new RnnkitError(`${where}: input: expected an Example {tokens | inputs, target} or a Batch {T, B, lengths, ...}, got ${describe(input)}`);
  if (typeof (input as Batch).T === "number" && typeof (input as Batch).B === "number") return input as Batch;
  return model.collate([input as Example]);
}

function checkRow(where: string, batch: Batch, row: number | undefined): number {
  const b = row ?? 0;
  if (!Number.isInteger(b) || b < 0 || b >= batch.B) throw new RnnkitError(`${where}: row: expected an integer in [0, B-1] = [0, ${batch.B - 1}], got ${describe(row)}`);
  return b;
}

const D_OF = (rnn: Recurrent): number => (rnn.bidirectional ? 2 : 1);

/**
 * Runs `model` on one input (in evaluation mode, dropout off) and returns, per recurrent layer
 * and direction, the gate activations and the states at every time step, and a Seq2Seq model's
 * attention weights. A Seq2Seq input needs its target (teacher forcing: the decoder reads
 * <bos> y_1 .. y_{U-1}); use `translate` first to inspect the model's own output.
 *
 * `input`: an Example (as `fit` takes them) or a Batch; `opts.row` picks a batch's sequence.
 * The model's training mode is restored afterwards.
 */
export function inspect(model: Model, input: Example | Batch, opts: InspectOptions = {}): Inspection {
  const where = "inspect";
  const parts = recurrentParts(model);
  const batch = toBatch(where, model, input);
  const b = checkRow(where, batch, opts.row);
  const wasTraining = model.isTraining;
  model.eval();
  try {
    let attention: number[][] | undefined;
    if (model instanceof Seq2Seq) {
      const r = model.forward(batch, { attention: true });
      if (r.attention) {
        const [U, B, S] = r.attention.shape;
        const u = batch.targetLengths![b], s = batch.lengths[b];
        attention = [];
        for (let t = 0; t < Math.min(U, u); t++) attention.push(Array.from(r.attention.data.subarray((t * B + b) * S, (t * B + b) * S + s)));
      }
    } else (model as SequenceModel).forward(batch);
    const layers: LayerTrace[] = [];
    const notes: string[] = [];
    for (const { part, rnn, note } of parts) {
      if (note) notes.push(note);
      if (!rnn) continue;
      const names = [...gateNames(rnn.cellType)];
      const H = rnn.hiddenSize;
      for (let l = 0; l < rnn.numLayers; l++) {
        for (let d = 0; d < D_OF(rnn); d++) {
          const tr = rnn.trace(l, d, b);
          const gates: Record<string, number[][]> = {};
          names.forEach((g, k) => (gates[g] = tr.gates!.map((row) => row.slice(k * H, (k + 1) * H))));
          const lt: LayerTrace = { part, layer: l, direction: DIRECTIONS[d], cell: rnn.cellType, steps: tr.steps, gateNames: names, gates, h: tr.h };
          if (tr.c) lt.c = tr.c;
          layers.push(lt);
        }
      }
    }
    const res: Inspection = { kind: model.kind, task: model.task, layers, notes };
    if (attention) res.attention = attention;
    return res;
  } finally {
    model.train(wasTraining);
  }
}

/**
 * ||dL/dh_t|| and (LSTM) ||dL/dc_t|| for every layer, direction and time step t, from the real
 * backward pass of `model` on one input (evaluation mode, dropout off): the vanishing-gradient
 * picture. dL/dh_t is the total gradient w.r.t. the hidden state after step t (through the
 * output at t and through step t+1); dL/dc_t likewise for the cell state.
 *
 * `loss`: a function of the logits (default: the model's own training loss against the input's
 * targets, e.g. the cross-entropy of a classifier's label). With a batch input the loss is that
 * of the whole batch and `opts.row` picks whose gradients are read. It zeroes the parameter
 * gradients before and after (it is not a training step).
 */
export function gradientThroughTime(model: Model, input: Example | Batch, loss?: LossFunction, opts: InspectOptions = {}): GradientThroughTime {
  const where = "gradientThroughTime";
  const parts = recurrentParts(model);
  const batch = toBatch(where, model, input);
  const b = checkRow(where, batch, opts.row);
  if (loss !== undefined && typeof loss !== "function") throw new RnnkitError(`${where}: loss: expected a function (logits, batch) => {loss, grad}, got ${describe(loss)}`);
  const m = model as SequenceModel | Seq2Seq;
  const wasTraining = model.isTraining;
  model.eval();
  model.zeroGrad();
  try {
    const logits = m.forward(batch).logits;
    const l = loss ? loss(logits, batch) : m.loss(batch, logits);
    if (!l || typeof l.loss !== "number" || !l.grad || l.grad.data.length !== logits.data.length) {
      throw new RnnkitError(`${where}: loss: expected {loss: number, grad: a tensor of the logits' ${logits.data.length} numbers}, got ${describe(l)}`);
    }
    m.backward({ shape: [...logits.shape], data: l.grad.data });
    const norms = (rows: number[][]): number[] => rows.map((r) => Math.sqrt(r.reduce((s, v) => s + v * v, 0)));
    const layers: GradientTrace[] = [];
    const notes: string[] = [];
    for (const { part, rnn, note } of parts) {
      if (note) notes.push(note);
      if (!rnn) continue;
      for (let l2 = 0; l2 < rnn.numLayers; l2++) {
        for (let d = 0; d < D_OF(rnn); d++) {
          const tr = rnn.trace(l2, d, b);
          const g: GradientTrace = { part, layer: l2, direction: DIRECTIONS[d], cell: rnn.cellType, steps: tr.steps, dh: norms(tr.dh!) };
          if (tr.dc) g.dc = norms(tr.dc);
          layers.push(g);
        }
      }
    }
    return { loss: l.loss, layers, notes };
  } finally {
    model.zeroGrad();
    model.train(wasTraining);
  }
}
