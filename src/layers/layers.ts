/**
 * The public recurrent layers: PyTorch's `nn.RNN`, `nn.LSTM`, `nn.GRU`, over the one sequence
 * wrapper (./recurrent.ts).
 */
import { defaults } from "../defaults.js";
import { RnnkitError, describe } from "../tensor.js";
import { Recurrent, type RecurrentOptions } from "./recurrent.js";

export interface RNNOptions extends RecurrentOptions {
  /** h' = tanh(...) (default) or relu(...). */
  nonlinearity?: "tanh" | "relu";
}

/** The gate nonlinearity of LSTM and GRU layers and cells. */
export interface GateOptions {
  /**
   * σ of the gates: "sigmoid" (default; PyTorch, Keras 3) or "hardSigmoid",
   * max(0, min(1, 0.2 x + 0.5)) (Keras 2, and the default of TensorFlow.js's tf.layers.lstm/gru),
   * to run models trained there. PyTorch has no such LSTM/GRU.
   */
  recurrentActivation?: "sigmoid" | "hardSigmoid";
}

export interface LSTMOptions extends RecurrentOptions, GateOptions {}

export interface GRUOptions extends RecurrentOptions, GateOptions {
  /**
   * true (default): PyTorch's GRU, n = tanh(W_in x + b_in + r * (W_hn h + b_hn));
   * false: Cho et al. 2014 / Keras `reset_after=false`, n = tanh(W_in x + b_in + W_hn (r * h) + b_hn).
   */
  resetAfter?: boolean;
}

/** Elman RNN, `torch.nn.RNN` (tanh or relu). */
export class RNN extends Recurrent {
  constructor(opts: RNNOptions) {
    super(rnnType("RNN", opts), opts, "RNN");
  }
}

/** Long short-term memory, `torch.nn.LSTM` (gate order i, f, g, o). */
export class LSTM extends Recurrent {
  constructor(opts: LSTMOptions) {
    super("lstm", opts, "LSTM");
  }
}

/** Gated recurrent unit, `torch.nn.GRU` (gate order r, z, n), or the reset-before variant. */
export class GRU extends Recurrent {
  constructor(opts: GRUOptions) {
    super("gru", opts, "GRU");
  }
}

export function rnnType(where: string, opts: RNNOptions): "rnn_tanh" | "rnn_relu" {
  const nl = opts && typeof opts === "object" ? (opts.nonlinearity ?? defaults.nonlinearity) : defaults.nonlinearity;
  if (nl !== "tanh" && nl !== "relu") {
    throw new RnnkitError(`${where}: nonlinearity: expected "tanh" or "relu", got ${describe(nl)}`);
  }
  return nl === "tanh" ? "rnn_tanh" : "rnn_relu";
}

/**
 * The recurrent stack of a cell kind as models name it (`CELLS` of src/models/model.ts: "rnn" is
 * tanh, "rnn_relu" relu); the gate options apply where the cell has them.
 */
export function makeRecurrent(
  cell: "lstm" | "gru" | "rnn" | "rnn_relu", opts: RecurrentOptions & { resetAfter?: boolean; recurrentActivation?: "sigmoid" | "hardSigmoid" },
): Recurrent {
  const { resetAfter, recurrentActivation, ...o } = opts;
  if (cell === "lstm") return new LSTM({ ...o, recurrentActivation });
  if (cell === "gru") return new GRU({ ...o, resetAfter, recurrentActivation });
  return new RNN({ ...o, nonlinearity: cell === "rnn_relu" ? "relu" : "tanh" });
}
