/**
 * Writes the ONNX models that `bench/peers/run.mjs` runs with onnxruntime-node: one recurrent
 * layer (S, M) or embedding -> 2 recurrent layers -> linear head (C), as ModelProto bytes
 * encoded with protobufjs from the subset of onnx/onnx.proto below (field numbers as in ONNX
 * IR version 8; see https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
 *
 * ONNX conventions used: X is [T, B, input] (layout 0); W [1, G*H, X], R [1, G*H, H],
 * B [1, 2*G*H] (Wb then Rb); gate order LSTM i,o,f,c, GRU z,r,h (with linear_before_reset = 1,
 * as in PyTorch and rnnkit), RNN tanh. Weights are random (speed does not depend on them).
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const protobuf = require("protobufjs");

const ONNX_SUBSET = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional GraphProto graph = 7;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension { optional int64 dim_value = 1; optional string dim_param = 2; }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  optional Tensor tensor_type = 1;
}
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
`;

const FLOAT = 1, INT64 = 7;
const ATTR_INT = 2, ATTR_STRINGS = 8;
let ModelProto = null;

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

const tensor = (name, dims, data, dataType = FLOAT) => ({
  name, dims, data_type: dataType, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});
const valueInfo = (name, elemType, dims) => ({
  name, type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
});
const intAttr = (name, i) => ({ name, type: ATTR_INT, i });

/**
 * The model bytes for config `c` ({batch, seqLen, input, hidden, layers, vocab?}) and cell
 * "lstm" | "gru" | "rnn". Inputs: X float [T, B, input] (no vocab) or tokens int64 [T, B] (vocab);
 * output: Y_h [1, B, H] of the last layer (no vocab) or logits [T, B, vocab].
 */
export function onnxModel(c, cell) {
  if (!ModelProto) ModelProto = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType("onnx.ModelProto");
  const { batch: B, seqLen: T, hidden: H } = c;
  const G = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
  const op = cell === "lstm" ? "LSTM" : cell === "gru" ? "GRU" : "RNN";
  const k = 1 / Math.sqrt(H);
  const nodes = [], inits = [], inputs = [], outputs = [];
  let x;
  if (c.vocab) {
    inputs.push(valueInfo("tokens", INT64, [T, B]));
    inits.push(tensor("emb", [c.vocab, c.input], uniform(c.vocab * c.input, 0.1, 7)));
    nodes.push({ op_type: "Gather", name: "embed", input: ["emb", "tokens"], output: ["E"] });
    inits.push(tensor("axis1", [1], BigInt64Array.from([1n]), INT64));
    x = "E";
  } else {
    inputs.push(valueInfo("X", FLOAT, [T, B, c.input]));
    x = "X";
  }
  for (let l = 0; l < c.layers; l++) {
    const X = l === 0 ? c.input : H;
    inits.push(tensor(`W${l}`, [1, G * H, X], uniform(G * H * X, k, 11 + l)));
    inits.push(tensor(`R${l}`, [1, G * H, H], uniform(G * H * H, k, 23 + l)));
    inits.push(tensor(`B${l}`, [1, 2 * G * H], uniform(2 * G * H, k, 37 + l)));
    const attribute = [intAttr("hidden_size", H)];
    if (cell === "gru") attribute.push(intAttr("linear_before_reset", 1));
    if (cell === "rnn") attribute.push({ name: "activations", type: ATTR_STRINGS, strings: [new TextEncoder().encode("Tanh")] });
    const last = l === c.layers - 1;
    // Y [T, 1, B, H] is needed to feed the next layer or the head; Y_h [1, B, H] for last-state MSE
    const out = c.vocab ? [`Y${l}`] : last ? ["", "Y_h"] : [`Y${l}`];
    nodes.push({ op_type: op, name: `${cell}${l}`, input: [x, `W${l}`, `R${l}`, `B${l}`], output: out, attribute });
    if (c.vocab || !last) {
      nodes.push({ op_type: "Squeeze", name: `squeeze${l}`, input: [`Y${l}`, "axis1"], output: [`S${l}`] });
      x = `S${l}`;
    }
  }
  if (!c.vocab && c.layers > 1) throw new Error("onnxModel: several layers without a vocabulary are not needed by the benchmark");
  if (c.vocab) {
    inits.push(tensor("WoutT", [H, c.vocab], uniform(H * c.vocab, 0.06, 41)));
    inits.push(tensor("bout", [c.vocab], new Float32Array(c.vocab)));
    nodes.push({ op_type: "MatMul", name: "head", input: [x, "WoutT"], output: ["Z"] });
    nodes.push({ op_type: "Add", name: "bias", input: ["Z", "bout"], output: ["logits"] });
    outputs.push(valueInfo("logits", FLOAT, [T, B, c.vocab]));
  } else {
    outputs.push(valueInfo("Y_h", FLOAT, [1, B, H]));
  }
  const model = {
    ir_version: 8,
    opset_import: [{ domain: "", version: 17 }],
    producer_name: "rnnkit-bench-peers",
    producer_version: "1",
    graph: { name: `${c.name}_${cell}`, node: nodes, initializer: inits, input: inputs, output: outputs },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`onnxModel: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
