/**
 * Parameter counts: of a built model (`parameterTable`), and of a configuration without
 * allocating anything (`parameterCounts`, from the same `parameterShapes` a model file is checked
 * against), per part and per cell kind (`cellComparison`): where the GRU's three gate blocks give
 * it 3/4 of the LSTM's recurrent weights and the plain RNN 1/4.
 */
import type { Model } from "../models/model.js";
import { CELLS, type CellName } from "../models/model.js";
import type { ParameterShapes } from "../models/composed.js";
import { Seq2Seq, type Seq2SeqConfig } from "../models/seq2seq.js";
import { type ModelConfig, SequenceModel } from "../models/sequence-model.js";
import { RnnkitError, describe, sizeOf } from "../tensor.js";

export interface ParameterRow {
  name: string;
  shape: number[];
  count: number;
}

/** The parameter table of `model`, in `parameters()` order, and the total count. */
export function parameterTable(model: Model): { rows: ParameterRow[]; total: number } {
  const rows = model.parameters().map((p) => ({ name: p.name, shape: [...p.value.shape], count: p.value.data.length }));
  return { rows, total: rows.reduce((s, r) => s + r.count, 0) };
}

export interface ParameterCounts {
  /** one row per tensor, in stateDict order */
  rows: ParameterRow[];
  /** per part (the name before the tensor's own name: "embedding", "rnn", "encoder.rnn", "head", ...) */
  parts: { part: string; count: number }[];
  /** the recurrent tensors of every recurrent part together, by kind */
  recurrent: { inputWeights: number; recurrentWeights: number; biases: number };
  total: number;
}

function shapesOf(where: string, config: ModelConfig | Seq2SeqConfig): ParameterShapes {
  if (config === null || typeof config !== "object") throw new RnnkitError(`${where}: expected a SequenceModel or Seq2Seq config, got ${describe(config)}`);
  return "sourceVocabSize" in config || (config as { task?: string }).task === "seq2seq"
    ? Seq2Seq.parameterShapes(config as Seq2SeqConfig)
    : SequenceModel.parameterShapes(config as ModelConfig);
}

/** The parameter counts a config makes, per tensor, per part and by recurrent kind, without building the model. */
export function parameterCounts(config: ModelConfig | Seq2SeqConfig): ParameterCounts {
  const shapes = shapesOf("parameterCounts", config);
  const rows = shapes.map(([name, shape]) => ({ name, shape: [...shape], count: sizeOf(shape) }));
  const parts: { part: string; count: number }[] = [];
  const recurrent = { inputWeights: 0, recurrentWeights: 0, biases: 0 };
  for (const r of rows) {
    const cut = r.name.lastIndexOf(".");
    const part = r.name.slice(0, cut);
    const own = r.name.slice(cut + 1);
    const p = parts.find((x) => x.part === part);
    if (p) p.count += r.count;
    else parts.push({ part, count: r.count });
    if (part.endsWith("rnn")) {
      if (own.startsWith("weight_ih")) recurrent.inputWeights += r.count;
      else if (own.startsWith("weight_hh")) recurrent.recurrentWeights += r.count;
      else recurrent.biases += r.count;
    }
  }
  return { rows, parts, recurrent, total: rows.reduce((s, r) => s + r.count, 0) };
}

export interface CellCount {
  cell: CellName;
  /** gate blocks per hidden unit: 4 (LSTM), 3 (GRU), 1 (RNN) */
  gates: number;
  total: number;
  recurrent: ParameterCounts["recurrent"];
  /** this cell's weight_hh count over the LSTM's (GRU 0.75, RNN 0.25) */
  recurrentVsLstm: number;
}

/** `parameterCounts` of the same sizes for each cell kind (LSTM, GRU, tanh RNN): the config's `cell` is replaced. */
export function cellComparison(config: ModelConfig | Seq2SeqConfig): CellCount[] {
  shapesOf("cellComparison", config);
  const cells = CELLS.filter((c) => c !== "rnn_relu");
  const counts = cells.map((cell) => {
    const cfg = { ...config, cell } as ModelConfig | Seq2SeqConfig;
    if ("decoderCell" in cfg && cfg.decoderCell !== undefined) cfg.decoderCell = cell;
    return { cell, counts: parameterCounts(cfg) };
  });
  const lstm = counts[0].counts.recurrent.recurrentWeights;
  return counts.map(({ cell, counts: c }) => ({
    cell, gates: cell === "lstm" ? 4 : cell === "gru" ? 3 : 1, total: c.total, recurrent: c.recurrent, recurrentVsLstm: c.recurrent.recurrentWeights / lstm,
  }));
}
