/**
 * Writes the ONNX models that `bench/peers/run.mjs` runs with onnxruntime-node: one recurrent
 * layer (S, M) or embedding -> 2 recurrent layers -> linear head (C), with rnnkit's own ONNX
 * writer (src/io/onnx.ts: the onnx.proto subset encoded by protobufjs, the LSTM/GRU/RNN nodes
 * and their conventions), imported from the built package (`dist`), so there is one copy of it.
 *
 * ONNX conventions used: X is [T, B, input] (layout 0); W [1, G*H, X], R [1, G*H, H],
 * B [1, 2*G*H] (Wb then Rb); gate order LSTM i,o,f,c, GRU z,r,h (with linear_before_reset = 1,
 * as in PyTorch and rnnkit), RNN tanh. Weights are random (speed does not depend on them).
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** A small deterministic generator, so that every run writes the same weights. */
function uniform(n, k, seed) {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    a[i] = ((s / 4294967296) * 2 - 1) * k;
  }
  return a;
}

/**
 * The model bytes for config `c` ({batch, seqLen, input, hidden, layers, vocab?}) and cell
 * "lstm" | "gru" | "rnn", written with the ONNX writer of the rnnkit build in `dist`.
 * Inputs: X float [T, B, input] (no vocab) or tokens int64 [T, B] (vocab); output: Y_h [1, B, H]
 * of the last layer (no vocab) or logits [T, B, vocab].
 */
export async function onnxModel(c, cell, dist) {
  const { OnnxGraph, emitRecurrent, ONNX_FLOAT, ONNX_INT64 } = await import(pathToFileURL(join(dist, "src", "io", "onnx.js")).href);
  const { batch: B, seqLen: T, hidden: H } = c;
  const G = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
  const k = 1 / Math.sqrt(H);
  const g = new OnnxGraph(`${c.name}_${cell}`);
  let x;
  if (c.vocab) {
    const tokens = g.input("tokens", ONNX_INT64, [T, B]);
    x = g.op("Gather", [g.float("emb", [c.vocab, c.input], uniform(c.vocab * c.input, 0.1, 7)), tokens]);
  } else {
    x = g.input("X", ONNX_FLOAT, [T, B, c.input]);
  }
  if (!c.vocab && c.layers > 1) throw new Error("onnxModel: several layers without a vocabulary are not needed by the benchmark");
  for (let l = 0; l < c.layers; l++) {
    const X = l === 0 ? c.input : H;
    const layer = {
      cell: cell === "rnn" ? "rnn_tanh" : cell, hiddenSize: H, directions: 1, inputSize: X,
      W: uniform(G * H * X, k, 11 + l), R: uniform(G * H * H, k, 23 + l), B: uniform(2 * G * H, k, 37 + l),
    };
    const r = emitRecurrent(g, `${cell}${l}`, layer, x);
    if (!c.vocab) {
      // Y_h [1, B, H] for last-state MSE
      g.op("Identity", [r.Yh], [], "Y_h");
      g.output("Y_h", ONNX_FLOAT, [1, B, H]);
    } else x = g.directionsSideBySide(r.Y);
  }
  if (c.vocab) {
    const w = { shape: [c.vocab, H], data: uniform(H * c.vocab, 0.06, 41) };
    g.op("Identity", [g.linear(x, "head", w, { shape: [c.vocab], data: new Float32Array(c.vocab) })], [], "logits");
    g.output("logits", ONNX_FLOAT, [T, B, c.vocab]);
  }
  return g.encode({ producer: "rnnkit-bench-peers" });
}
