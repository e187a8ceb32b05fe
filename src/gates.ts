/**
 * The gate-order table: rnnkit stores weights in PyTorch's layout and gate order; every other
 * layout is a permutation of gate blocks written here once.
 *
 * | cell | rnnkit / PyTorch | Keras / TensorFlow.js | ONNX                     |
 * | ---- | ---------------- | --------------------- | ------------------------ |
 * | LSTM | i, f, g, o       | i, f, c, o            | i, o, f, c               |
 * | GRU  | r, z, n          | z, r, h               | z, r, h                  |
 * | RNN  | (one block)      | (one block)           | (one block)              |
 *
 * PyTorch weights are [G*H, in] (applied as W x); Keras kernels are the transpose, [in, G*H].
 * ONNX GRU with `linear_before_reset=1` is PyTorch's reset-after GRU.
 */
export type CellType = "rnn_tanh" | "rnn_relu" | "lstm" | "gru";

export const gateOrder = {
  torch: { lstm: ["i", "f", "g", "o"], gru: ["r", "z", "n"], rnn: [] as string[] },
  keras: { lstm: ["i", "f", "c", "o"], gru: ["z", "r", "h"], rnn: [] as string[] },
  onnx: { lstm: ["i", "o", "f", "c"], gru: ["z", "r", "h"], rnn: [] as string[] },
} as const;

/** Gates per hidden unit, for a cell named as layers (CellType), models or the backends' loops ("rnn") name it. */
export function gatesOf(cell: CellType | "rnn"): number {
  return cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
}

/** Keras GRU (z, r, h) -> PyTorch (r, z, n): PyTorch block k is Keras block perm[k]. */
export const kerasToTorchGru = [1, 0, 2] as const;

/**
 * PyTorch -> ONNX gate blocks: ONNX block k is PyTorch block `torchToOnnx[cell][k]`
 * (LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h; RNN one block).
 */
export const torchToOnnx = { lstm: [0, 3, 1, 2], gru: [1, 0, 2], rnn: [0] } as const;
