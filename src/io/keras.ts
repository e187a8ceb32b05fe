/**
 * Keras / TensorFlow.js recurrent weights <-> rnnkit (PyTorch) weights. Written once, here.
 *
 * Keras: `kernel` [X, G*H] and `recurrent_kernel` [H, G*H] multiply from the right (the transposes
 * of PyTorch's weight_ih / weight_hh), gate blocks are columns, GRU order is z, r, h (PyTorch:
 * r, z, n), LSTM order i, f, c, o (= PyTorch's i, f, g, o). One `bias` [G*H] is the input-side
 * bias (b_hh = 0), except the reset-after GRU whose `bias` [2, 3H] holds (b_ih, b_hh).
 * Keras GRU `reset_after=false` is rnnkit's `GRU({ resetAfter: false })`.
 */
import { kerasToTorchGru } from "../gates.js";
import { RnnkitError, type Tensor, type TensorLike, checkTensor } from "../tensor.js";

export interface KerasRecurrentWeights {
  kernel: TensorLike;
  recurrent_kernel: TensorLike;
  bias?: TensorLike;
}

export type KerasCell = "lstm" | "gru" | "simple_rnn";

function gatesFor(cell: KerasCell): { G: number; perm: readonly number[] } {
  if (cell === "lstm") return { G: 4, perm: [0, 1, 2, 3] };
  if (cell === "gru") return { G: 3, perm: kerasToTorchGru };
  return { G: 1, perm: [0] };
}

/**
 * Keras [rows, G*H] (gate blocks are column blocks, order `keras`) -> PyTorch [G*H, rows]
 * (row blocks, PyTorch order). `perm[k]` is the Keras block that becomes PyTorch block k.
 */
function kerasMatrixToTorch(m: TensorLike, G: number, H: number, perm: readonly number[]): Tensor {
  const rows = m.shape[0];
  const out = new Float32Array(G * H * rows);
  for (let k = 0; k < G; k++) {
    for (let j = 0; j < H; j++) {
      const col = perm[k] * H + j;
      for (let i = 0; i < rows; i++) out[(k * H + j) * rows + i] = m.data[i * G * H + col];
    }
  }
  return { shape: [G * H, rows], data: out };
}

function torchMatrixToKeras(m: TensorLike, G: number, H: number, perm: readonly number[]): Tensor {
  const rows = m.shape[1];
  const out = new Float32Array(rows * G * H);
  for (let k = 0; k < G; k++) {
    for (let j = 0; j < H; j++) {
      const col = perm[k] * H + j;
      for (let i = 0; i < rows; i++) out[i * G * H + col] = m.data[(k * H + j) * rows + i];
    }
  }
  return { shape: [rows, G * H], data: out };
}

function permuteVector(v: ArrayLike<number>, off: number, G: number, H: number, perm: readonly number[], toTorch: boolean): Float32Array {
  const out = new Float32Array(G * H);
  for (let k = 0; k < G; k++) {
    for (let j = 0; j < H; j++) {
      if (toTorch) out[k * H + j] = v[off + perm[k] * H + j];
      else out[perm[k] * H + j] = v[off + k * H + j];
    }
  }
  return out;
}

/**
 * Keras weights of one layer -> a state dict for rnnkit's single-layer `RNN`/`LSTM`/`GRU`
 * (names with `_l0`). Give `resetAfter` for a GRU (Keras' `reset_after`).
 */
export function kerasToTorch(cell: KerasCell, w: KerasRecurrentWeights, opts: { resetAfter?: boolean } = {}): Record<string, Tensor> {
  const where = "kerasToTorch";
  const { G, perm } = gatesFor(cell);
  const H = checkTensor(where, "recurrent_kernel", w.recurrent_kernel, ["H", "G*H"], [-1, -1]).shape[0];
  checkTensor(where, "recurrent_kernel", w.recurrent_kernel, ["H", "G*H"], [H, G * H]);
  checkTensor(where, "kernel", w.kernel, ["X", "G*H"], [-1, G * H]);
  const out: Record<string, Tensor> = {
    weight_ih_l0: kerasMatrixToTorch(w.kernel, G, H, perm),
    weight_hh_l0: kerasMatrixToTorch(w.recurrent_kernel, G, H, perm),
  };
  if (w.bias) {
    const twoBiases = cell === "gru" && opts.resetAfter === true;
    if (twoBiases) {
      checkTensor(where, "bias", w.bias, ["2", "G*H"], [2, G * H]);
      out.bias_ih_l0 = { shape: [G * H], data: permuteVector(w.bias.data, 0, G, H, perm, true) };
      out.bias_hh_l0 = { shape: [G * H], data: permuteVector(w.bias.data, G * H, G, H, perm, true) };
    } else {
      checkTensor(where, "bias", w.bias, ["G*H"], [G * H]);
      out.bias_ih_l0 = { shape: [G * H], data: permuteVector(w.bias.data, 0, G, H, perm, true) };
      out.bias_hh_l0 = { shape: [G * H], data: new Float32Array(G * H) };
    }
  } else if (cell === "gru" && opts.resetAfter === undefined) {
    throw new RnnkitError(`${where}: resetAfter: expected true or false for a GRU, got undefined`);
  }
  return out;
}

/**
 * The inverse for gradients (or weights): rnnkit's single-layer tensors by PyTorch name -> Keras
 * `kernel`, `recurrent_kernel`, `bias`. With one Keras bias, it is the input-side bias.
 */
export function torchToKeras(cell: KerasCell, t: Record<string, TensorLike>, opts: { resetAfter?: boolean } = {}): Record<string, Tensor> {
  const { G, perm } = gatesFor(cell);
  const H = t.weight_hh_l0.shape[1];
  const out: Record<string, Tensor> = {
    kernel: torchMatrixToKeras(t.weight_ih_l0, G, H, perm),
    recurrent_kernel: torchMatrixToKeras(t.weight_hh_l0, G, H, perm),
  };
  if (t.bias_ih_l0) {
    const bih = permuteVector(t.bias_ih_l0.data, 0, G, H, perm, false);
    if (cell === "gru" && opts.resetAfter === true) {
      const data = new Float32Array(2 * G * H);
      data.set(bih, 0);
      data.set(permuteVector(t.bias_hh_l0.data, 0, G, H, perm, false), G * H);
      out.bias = { shape: [2, G * H], data };
    } else out.bias = { shape: [G * H], data: bih };
  }
  return out;
}
