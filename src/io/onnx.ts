/**
 * ONNX export: rnnkit models as ONNX graphs of the standard `LSTM`, `GRU` and `RNN` operators,
 * runnable in ONNX Runtime (servers, GPUs, mobile) or any ONNX runtime.
 *
 * The bytes are a `ModelProto` encoded by protobufjs from the subset of onnx/onnx.proto below
 * (field numbers as in https://github.com/onnx/onnx/blob/main/onnx/onnx.proto, IR version 8).
 * `bench/peers/onnx-model.mjs` writes its benchmark graphs with the same builder.
 *
 * Operator conventions (https://onnx.ai/onnx/operators/onnx__LSTM.html, __GRU, __RNN):
 * - X is [T, B, X] (layout 0, time-major, as rnnkit's engine); W [D, G*H, X], R [D, G*H, H],
 *   B [D, 2*G*H] (Wb then Rb); Y [T, D, B, H]; Y_h, Y_c [D, B, H];
 * - gate blocks: LSTM i,o,f,c; GRU z,r,h (the table in src/gates.ts, `torchToOnnx`);
 * - PyTorch's GRU (reset after) is `linear_before_reset=1`, the reset-before GRU (Cho et al.
 *   2014, Keras `reset_after=false`) is `linear_before_reset=0`;
 * - hard-sigmoid gates are the activation `HardSigmoid` with alpha 0.2, beta 0.5
 *   (tf.keras.backend.hard_sigmoid before Keras 3, and TensorFlow.js's);
 * - `sequence_lens` gives each sequence its length: packed-sequence semantics, as rnnkit's.
 *
 * The graph contracts (input and output names, dtypes, layouts, the decoder step) are in the
 * README, section "Deploying", and summed up on `exportOnnx` and `exportSeq2SeqOnnx`.
 */
import type protobuf from "protobufjs";
import { platform } from "#platform";
import type { Scaler } from "../data/scaler.js";
import { defaults } from "../defaults.js";
import { type CellType, gatesOf, torchToOnnx } from "../gates.js";
import type { Model } from "../models/model.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError, type Tensor, describe } from "../tensor.js";
import { rnnkitVersion } from "./model-file.js";

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
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; optional string doc_string = 3; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
}
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
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

/** TensorProto.DataType values. */
export const ONNX_FLOAT = 1, ONNX_INT32 = 6, ONNX_INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

let modelProto: protobuf.Type | null = null;
function proto(): protobuf.Type {
  // protobufjs loads here, on the first export, not with rnnkit (see Platform.protobuf)
  if (!modelProto) modelProto = platform.protobuf().parse(ONNX_SUBSET, { keepCase: true }).root.lookupType("onnx.ModelProto");
  return modelProto;
}

/** An AttributeProto (plain object for protobufjs). */
export type OnnxAttribute = Record<string, unknown>;
const enc = new TextEncoder();
export const attr = {
  int: (name: string, i: number): OnnxAttribute => ({ name, type: ATTR.INT, i }),
  float: (name: string, f: number): OnnxAttribute => ({ name, type: ATTR.FLOAT, f }),
  ints: (name: string, ints: readonly number[]): OnnxAttribute => ({ name, type: ATTR.INTS, ints: [...ints] }),
  floats: (name: string, floats: readonly number[]): OnnxAttribute => ({ name, type: ATTR.FLOATS, floats: [...floats] }),
  string: (name: string, s: string): OnnxAttribute => ({ name, type: ATTR.STRING, s: enc.encode(s) }),
  strings: (name: string, ss: readonly string[]): OnnxAttribute => ({ name, type: ATTR.STRINGS, strings: ss.map((s) => enc.encode(s)) }),
  floatTensor: (name: string, v: number): OnnxAttribute => ({ name, type: ATTR.TENSOR, t: rawTensor("", [1], Float32Array.of(v), ONNX_FLOAT) }),
};

function rawTensor(name: string, dims: readonly number[], data: Float32Array | Int32Array | BigInt64Array, dataType: number) {
  // raw_data is little-endian; typed arrays are in the host's order, little-endian on every
  // platform Node and the browsers run on (x86, ARM)
  return { name, dims: [...dims], data_type: dataType, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * A graph under construction: initializers, nodes, inputs and outputs, with fresh names for
 * intermediate values. Dimensions given as strings are symbolic (`"T"`, `"B"`).
 */
export class OnnxGraph {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: ReturnType<typeof rawTensor>[] = [];
  readonly inputs: Record<string, unknown>[] = [];
  readonly outputs: Record<string, unknown>[] = [];
  private count = 0;
  private consts = new Map<string, string>();

  constructor(readonly name: string) {}

  fresh(base: string): string {
    return `${base}_${this.count++}`;
  }

  /** A float32 initializer. */
  float(name: string, dims: readonly number[], data: ArrayLike<number>): string {
    this.initializers.push(rawTensor(name, dims, Float32Array.from(data), ONNX_FLOAT));
    return name;
  }

  /** An int64 constant (shapes, axes, indices), shared by value. */
  int64s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.fresh("const");
      this.initializers.push(rawTensor(name, dims, BigInt64Array.from(values, (v) => BigInt(v)), ONNX_INT64));
      this.consts.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant, shared by value. */
  scalar(v: number): string {
    const key = `f32:${v}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.fresh("const");
      this.initializers.push(rawTensor(name, [], Float32Array.of(v), ONNX_FLOAT));
      this.consts.set(key, name);
    }
    return name;
  }

  /** A node; `outputs` are names, or a count of fresh ones. Returns the output names. */
  node(op: string, inputs: readonly string[], outputs: readonly string[] | number = 1, attributes: OnnxAttribute[] = []): string[] {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase())) : [...outputs];
    this.nodes.push({ op_type: op, name: this.fresh(`n_${op}`), input: [...inputs], output: outs, attribute: attributes });
    return outs;
  }

  /** A node with one output. */
  op(op: string, inputs: readonly string[], attributes: OnnxAttribute[] = [], output?: string): string {
    return this.node(op, inputs, output ? [output] : 1, attributes)[0];
  }

  input(name: string, elemType: number, dims: readonly (number | string)[], doc?: string): string {
    this.inputs.push(valueInfo(name, elemType, dims, doc));
    return name;
  }

  output(name: string, elemType: number, dims: readonly (number | string)[], doc?: string): void {
    this.outputs.push(valueInfo(name, elemType, dims, doc));
  }

  /** The ModelProto bytes of this graph. */
  encode(opts: { opset?: number; producer?: string; doc?: string; metadata?: Record<string, string> } = {}): Uint8Array {
    const model = {
      ir_version: 8,
      opset_import: [{ domain: "", version: opts.opset ?? defaults.onnxOpset }],
      producer_name: opts.producer ?? "rnnkit",
      producer_version: rnnkitVersion(),
      doc_string: opts.doc ?? "",
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    const P = proto();
    const err = P.verify(model);
    if (err) throw new RnnkitError(`exportOnnx: the graph ${this.name} does not fit onnx.proto: ${err}`);
    return P.encode(P.fromObject(model)).finish();
  }

  // ---------------------------------------------------------------- small compositions

  /** [T, D, B, H] (an ONNX Y) -> [T, B, D*H] (directions side by side, forward first). */
  directionsSideBySide(y: string): string {
    const t = this.op("Transpose", [y], [attr.ints("perm", [0, 2, 1, 3])]);
    return this.op("Reshape", [t, this.int64s([0, 0, -1])]);
  }

  /** x [..., K] times W^T, W [N, K] in PyTorch's nn.Linear layout, plus the bias if given. */
  linear(x: string, name: string, w: Tensor, b?: Tensor): string {
    const [N, K] = w.shape;
    const wt = new Float32Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * N + n] = w.data[n * K + k];
    let y = this.op("MatMul", [x, this.float(`${name}.weight_t`, [K, N], wt)]);
    if (b) y = this.op("Add", [y, this.float(`${name}.bias`, [N], b.data)]);
    return y;
  }

  /** mask [T, B] (bool): t < lengths[b], the steps of x [T, B, ...] that are within each length. */
  stepMask(x: string, lengths: string): string {
    const T = this.op("Gather", [this.op("Shape", [x]), this.int64s([0], [])], [attr.int("axis", 0)]);
    const steps = this.op("Range", [this.int64s([0], []), T, this.int64s([1], [])]);
    return this.op("Less", [this.op("Unsqueeze", [steps, this.int64s([1])]), this.op("Unsqueeze", [lengths, this.int64s([0])])]);
  }
}

function valueInfo(name: string, elemType: number, dims: readonly (number | string)[], doc?: string) {
  return {
    name,
    doc_string: doc ?? "",
    type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } } },
  };
}

// ---------------------------------------------------------------- recurrent layers

/** One recurrent layer (all its directions) as an ONNX operator's W, R, B. */
export interface OnnxRecurrentLayer {
  cell: CellType;
  hiddenSize: number;
  directions: 1 | 2;
  inputSize: number;
  /** GRU: PyTorch's reset-after (default true) or the reset-before variant. */
  resetAfter?: boolean;
  recurrentActivation?: "sigmoid" | "hardSigmoid";
  /** [D, G*H, X], [D, G*H, H], [D, 2*G*H] in ONNX's gate order */
  W: Float32Array;
  R: Float32Array;
  B: Float32Array;
}

/**
 * Layer `l` of a PyTorch-named recurrent stack (`weight_ih_l{l}[_reverse]` ... read through
 * `get`) in ONNX's layout and gate order. A stack without biases gets zero B.
 */
export function onnxRecurrentLayer(
  get: (name: string) => Tensor | undefined, o: { cell: CellType; layer: number; directions: 1 | 2; hiddenSize: number; inputSize: number; resetAfter?: boolean; recurrentActivation?: "sigmoid" | "hardSigmoid" },
): OnnxRecurrentLayer {
  const { cell, layer: l, directions: D, hiddenSize: H, inputSize: X } = o;
  const G = gatesOf(cell);
  const perm: readonly number[] = torchToOnnx[cell === "lstm" ? "lstm" : cell === "gru" ? "gru" : "rnn"];
  const W = new Float32Array(D * G * H * X), R = new Float32Array(D * G * H * H), B = new Float32Array(D * 2 * G * H);
  // ONNX block k, row j <- PyTorch block perm[k], row j
  const rows = (src: ArrayLike<number>, dst: Float32Array, off: number, width: number) => {
    for (let k = 0; k < G; k++) for (let j = 0; j < H; j++) {
      const s = (perm[k] * H + j) * width, d = off + (k * H + j) * width;
      for (let i = 0; i < width; i++) dst[d + i] = src[s + i];
    }
  };
  for (let d = 0; d < D; d++) {
    const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
    const need = (n: string) => {
      const t = get(n + sfx);
      if (!t) throw new RnnkitError(`exportOnnx: expected the tensor ${n}${sfx}, got none`);
      return t;
    };
    rows(need("weight_ih").data, W, d * G * H * X, X);
    rows(need("weight_hh").data, R, d * G * H * H, H);
    const bih = get(`bias_ih${sfx}`), bhh = get(`bias_hh${sfx}`);
    if (bih) rows(bih.data, B, d * 2 * G * H, 1);
    if (bhh) rows(bhh.data, B, d * 2 * G * H + G * H, 1);
  }
  const out: OnnxRecurrentLayer = { cell, hiddenSize: H, directions: D, inputSize: X, W, R, B };
  if (o.resetAfter !== undefined) out.resetAfter = o.resetAfter;
  if (o.recurrentActivation !== undefined) out.recurrentActivation = o.recurrentActivation;
  return out;
}

/**
 * Emits one LSTM / GRU / RNN node over x [T, B, X]; `name` prefixes its initializers. Optional:
 * lengths (int32 [B], ONNX's sequence_lens), initial states [D, B, H]. Returns Y [T, D, B, H],
 * Y_h [D, B, H] and, for an LSTM, Y_c.
 */
export function emitRecurrent(g: OnnxGraph, name: string, layer: OnnxRecurrentLayer, x: string, o: { lengths?: string; h0?: string; c0?: string } = {}): { Y: string; Yh: string; Yc?: string } {
  const { cell, hiddenSize: H, directions: D, inputSize: X } = layer;
  const G = gatesOf(cell);
  const W = g.float(`${name}.W`, [D, G * H, X], layer.W);
  const R = g.float(`${name}.R`, [D, G * H, H], layer.R);
  const B = g.float(`${name}.B`, [D, 2 * G * H], layer.B);
  const hard = layer.recurrentActivation === "hardSigmoid";
  const gate = hard ? "HardSigmoid" : "Sigmoid";
  const perDir = cell === "lstm" ? [gate, "Tanh", "Tanh"] : cell === "gru" ? [gate, "Tanh"] : [cell === "rnn_relu" ? "Relu" : "Tanh"];
  const acts = D === 2 ? [...perDir, ...perDir] : perDir;
  const attributes: OnnxAttribute[] = [
    attr.int("hidden_size", H),
    attr.string("direction", D === 2 ? "bidirectional" : "forward"),
    attr.strings("activations", acts),
  ];
  if (hard) {
    // ONNX Runtime reads these lists in the order of the activations that take them: here each
    // HardSigmoid (Tanh takes none), so one (0.2, 0.5) per direction
    attributes.push(attr.floats("activation_alpha", acts.filter((a) => a === "HardSigmoid").map(() => 0.2)));
    attributes.push(attr.floats("activation_beta", acts.filter((a) => a === "HardSigmoid").map(() => 0.5)));
  }
  if (cell === "gru") attributes.push(attr.int("linear_before_reset", layer.resetAfter === false ? 0 : 1));
  const op = cell === "lstm" ? "LSTM" : cell === "gru" ? "GRU" : "RNN";
  const inputs = [x, W, R, B, o.lengths ?? "", o.h0 ?? ""];
  if (cell === "lstm") inputs.push(o.c0 ?? "");
  while (inputs[inputs.length - 1] === "") inputs.pop();
  const outs = g.node(op, inputs, cell === "lstm" ? 3 : 2, attributes);
  const r: { Y: string; Yh: string; Yc?: string } = { Y: outs[0], Yh: outs[1] };
  if (cell === "lstm") r.Yc = outs[2];
  return r;
}

// ---------------------------------------------------------------- model graphs

export interface OnnxExportOptions {
  /** The opset the graph declares (default `defaults.onnxOpset`, at least 14). */
  opset?: number;
  /** regress: the model file's scaler, so that the graph reads and returns unscaled values (as `rnnkit predict`). */
  scaler?: Scaler;
  /** More `metadata_props` for the graphs (the CLI adds the tokenizer and task info). */
  metadata?: Record<string, string>;
}

type CellName = SequenceModel["config"]["cell"];
const cellType = (c: CellName): CellType => (c === "rnn" ? "rnn_tanh" : c);

function checkOpset(where: string, opts: OnnxExportOptions): number {
  const opset = opts.opset ?? defaults.onnxOpset;
  if (!Number.isInteger(opset) || opset < 14 || opset > 21) throw new RnnkitError(`${where}: opset: expected an integer in [14, 21], got ${describe(opset)}`);
  return opset;
}

/** Float32 copies of a model's tensors, by name. */
function weightsOf(model: Model): (name: string) => Tensor | undefined {
  const sd = model.stateDict();
  return (name) => {
    const t = sd[name];
    return t ? { shape: t.shape, data: Float32Array.from(t.data) } : undefined;
  };
}

/** A stack of L recurrent layers over x [T, B, X]: the top layer's output [T, B, D*H] and each layer's Y_h / Y_c. */
function emitStack(
  g: OnnxGraph, prefix: string, get: (n: string) => Tensor | undefined,
  o: { cell: CellType; layers: number; directions: 1 | 2; hiddenSize: number; inputSize: number; resetAfter?: boolean; recurrentActivation?: "sigmoid" | "hardSigmoid" },
  x: string, lengths: string | undefined, h0?: string, c0?: string,
): { out: string; Yh: string[]; Yc: string[]; Y: string } {
  const Yh: string[] = [], Yc: string[] = [];
  let input = x, Y = "";
  for (let l = 0; l < o.layers; l++) {
    const layer = onnxRecurrentLayer((n) => get(prefix + n), { ...o, layer: l, inputSize: l === 0 ? o.inputSize : o.directions * o.hiddenSize });
    const slice = (s: string) => g.op("Slice", [s, g.int64s([l * o.directions]), g.int64s([(l + 1) * o.directions]), g.int64s([0])]);
    const st: { lengths?: string; h0?: string; c0?: string } = {};
    if (lengths) st.lengths = lengths;
    if (h0) st.h0 = slice(h0);
    if (c0) st.c0 = slice(c0);
    const r = emitRecurrent(g, `${prefix}l${l}`, layer, input, st);
    Yh.push(r.Yh);
    if (r.Yc) Yc.push(r.Yc);
    Y = r.Y;
    input = g.directionsSideBySide(r.Y);
  }
  return { out: input, Yh, Yc, Y };
}

/**
 * A SequenceModel as one ONNX graph (`Uint8Array`, the bytes of a .onnx file). The contract:
 *
 * | input | dtype | shape | |
 * | --- | --- | --- | --- |
 * | `tokens` | int64 | [T, B] | token models: ids in [0, V), time-major; pad with 0 |
 * | `inputs` | float32 | [T, B, X] | numeric models (unscaled when a scaler is given) |
 * | `lengths` | int64 | [B] | the valid steps of each sequence, in [1, T] |
 * | `h0`, `c0` | float32 | [L*D, B, H] | lm only (`c0`: LSTM): the state to continue from (zeros to start) |
 * | `condition` | float32 | [B, C] | lm with conditionSize, instead of `h0` |
 *
 * Outputs: classify `probs` [B, O] (the softmax, pooling in the graph); tag and lm `probs`
 * [T, B, O] (softmax per step; past a length: the head of a zero state); lm also `h_n`
 * (and `c_n`) [L*D, B, H]; regress `values` [B, O].
 */
export function exportOnnx(model: Model, opts: OnnxExportOptions = {}): Uint8Array {
  const where = "exportOnnx";
  if (model instanceof Seq2Seq) throw new RnnkitError(`${where}: expected a SequenceModel, got a Seq2Seq: export it with exportSeq2SeqOnnx (an encoder graph and a decoder-step graph)`);
  if (!(model instanceof SequenceModel)) throw new RnnkitError(`${where}: expected a SequenceModel or a Seq2Seq, got ${describe(model)}`);
  const opset = checkOpset(where, opts);
  const cfg = model.config;
  const get = weightsOf(model);
  const g = new OnnxGraph(`rnnkit_${cfg.task}_${cfg.cell}`);
  const D = cfg.bidirectional ? 2 : 1, H = cfg.hiddenSize, L = cfg.numLayers, O = cfg.outputSize;
  const cell = cellType(cfg.cell);
  let x: string, X: number;
  if (cfg.vocabSize !== undefined) {
    const tokens = g.input("tokens", ONNX_INT64, ["T", "B"], "token ids [T, B], time-major, in [0, V); 0 pads");
    x = g.op("Gather", [g.float("embedding.weight", [cfg.vocabSize, cfg.embeddingDim!], get("embedding.weight")!.data), tokens], [attr.int("axis", 0)]);
    X = cfg.embeddingDim!;
  } else {
    X = cfg.inputSize!;
    x = g.input("inputs", ONNX_FLOAT, ["T", "B", X], "numbers [T, B, X], time-major");
    if (opts.scaler) {
      // the scaler is affine per feature: y = a x + b
      const a = Array.from({ length: X }, (_, f) => opts.scaler!.transform(1, f) - opts.scaler!.transform(0, f));
      const b = Array.from({ length: X }, (_, f) => opts.scaler!.transform(0, f));
      x = g.op("Add", [g.op("Mul", [x, g.float("scaler.a", [X], a)]), g.float("scaler.b", [X], b)]);
    }
  }
  const lengths64 = g.input("lengths", ONNX_INT64, ["B"], "valid steps of each sequence, in [1, T]");
  const lengths = g.op("Cast", [lengths64], [attr.int("to", ONNX_INT32)]);
  let h0: string | undefined, c0: string | undefined;
  if (cfg.task === "lm") {
    if (cfg.conditionSize) {
      // h0[k][b] = tanh(W c_b + b)[k*H ... (k+1)*H]
      const cond = g.input("condition", ONNX_FLOAT, ["B", cfg.conditionSize], "conditioning vectors [B, C]");
      const pre = g.op("Tanh", [g.linear(cond, "init", get("init.weight")!, get("init.bias")!)]);
      h0 = g.op("Transpose", [g.op("Reshape", [pre, g.int64s([0, L * D, H])])], [attr.ints("perm", [1, 0, 2])]);
    } else {
      h0 = g.input("h0", ONNX_FLOAT, [L * D, "B", H], "initial hidden state [L*D, B, H] (zeros to start)");
      if (cell === "lstm") c0 = g.input("c0", ONNX_FLOAT, [L * D, "B", H], "initial cell state [L*D, B, H] (zeros to start)");
    }
  }
  const stackOpts = { cell, layers: L, directions: D as 1 | 2, hiddenSize: H, inputSize: X, resetAfter: cfg.resetAfter, recurrentActivation: cfg.recurrentActivation };
  const s = emitStack(g, "rnn.", get, stackOpts, x, lengths, h0, c0);
  const head = { w: get("head.weight")!, b: get("head.bias")! };
  if (cfg.task === "lm" || cfg.task === "tag") {
    const logits = g.linear(s.out, "head", head.w, head.b);
    g.op("Softmax", [logits], [attr.int("axis", -1)], "probs");
    g.output("probs", ONNX_FLOAT, ["T", "B", O], "softmax over the outputs at each step [T, B, O]");
    if (cfg.task === "lm") {
      g.op("Concat", s.Yh, [attr.int("axis", 0)], "h_n");
      g.output("h_n", ONNX_FLOAT, [L * D, "B", H], "the state at each sequence's last step [L*D, B, H]");
      if (cell === "lstm") {
        g.op("Concat", s.Yc, [attr.int("axis", 0)], "c_n");
        g.output("c_n", ONNX_FLOAT, [L * D, "B", H], "the cell state at each sequence's last step [L*D, B, H]");
      }
    }
  } else {
    let pooled: string;
    if (cfg.pooling === "last") {
      pooled = g.op("Reshape", [g.op("Transpose", [s.Yh[L - 1]], [attr.ints("perm", [1, 0, 2])]), g.int64s([0, -1])]);
    } else {
      const mask = g.op("Unsqueeze", [g.stepMask(s.out, lengths64), g.int64s([2])]);
      if (cfg.pooling === "mean") {
        const sum = g.op("ReduceSum", [g.op("Mul", [s.out, g.op("Cast", [mask], [attr.int("to", ONNX_FLOAT)])]), g.int64s([0])], [attr.int("keepdims", 0)]);
        pooled = g.op("Div", [sum, g.op("Unsqueeze", [g.op("Cast", [lengths64], [attr.int("to", ONNX_FLOAT)]), g.int64s([1])])]);
      } else {
        // ReduceMax takes its axes as an attribute up to opset 17, as an input from 18
        const masked = g.op("Where", [mask, s.out, g.scalar(-Infinity)]);
        pooled = opset >= 18
          ? g.op("ReduceMax", [masked, g.int64s([0])], [attr.int("keepdims", 0)])
          : g.op("ReduceMax", [masked], [attr.ints("axes", [0]), attr.int("keepdims", 0)]);
      }
    }
    const y = g.linear(pooled, "head", head.w, head.b);
    if (cfg.task === "classify") {
      g.op("Softmax", [y], [attr.int("axis", -1)], "probs");
      g.output("probs", ONNX_FLOAT, ["B", O], "softmax over the classes [B, O]");
    } else {
      if (opts.scaler) {
        // the inverse of feature 0's scaling: v = (y - b0) / a0
        const a0 = opts.scaler.transform(1, 0) - opts.scaler.transform(0, 0), b0 = opts.scaler.transform(0, 0);
        g.op("Div", [g.op("Sub", [y, g.scalar(b0)]), g.scalar(a0)], [], "values");
      } else g.op("Identity", [y], [], "values");
      g.output("values", ONNX_FLOAT, ["B", O], opts.scaler ? "the predicted values, unscaled [B, O]" : "the predicted values [B, O]");
    }
  }
  return g.encode({ opset, doc: `rnnkit SequenceModel, task ${cfg.task}; contract: README "Deploying"`, metadata: { ...opts.metadata, "rnnkit.kind": "sequence", "rnnkit.config": JSON.stringify(cfg) } });
}

/**
 * A Seq2Seq as two ONNX graphs, so that any runtime can decode step by step:
 *
 * `encoder`: `source` int64 [S, B] (ids, 0 pads), `source_lengths` int64 [B] ->
 * `memory` float32 [S, B, C] (the encoder outputs, zero past each length), `h0` [Ld, B, Hd]
 * (and `c0` for an LSTM decoder): the decoder's initial state, after the bridge.
 *
 * `decoder`: one step for N rows: `prev` int64 [N] (the previous ids; <bos> = 2 first), `h`
 * [Ld, N, Hd] (and `c`), and for models with attention `memory` [S, N, C] and
 * `source_lengths` int64 [N] -> `logits` [N, Vt], `h_next` (and `c_next`) [Ld, N, Hd] and, with
 * attention, `attention` [N, S] (weights over the source, zero past each length).
 *
 * Greedy decoding (what `translate` does): prev = <bos>; repeat: run the step, take the arg-max
 * of `logits` over the ids other than <pad> (0) and <bos> (2), stop at <eos> (3) or after
 * min(2 * source length + 10, 256) steps; feed h_next/c_next back as h/c.
 */
export function exportSeq2SeqOnnx(model: Model, opts: OnnxExportOptions = {}): { encoder: Uint8Array; decoder: Uint8Array } {
  const where = "exportSeq2SeqOnnx";
  if (!(model instanceof Seq2Seq)) throw new RnnkitError(`${where}: expected a Seq2Seq, got ${model instanceof SequenceModel ? "a SequenceModel (export it with exportOnnx)" : describe(model)}`);
  const opset = checkOpset(where, opts);
  const cfg = model.config;
  const get = weightsOf(model);
  const D = cfg.bidirectional ? 2 : 1, H = cfg.hiddenSize, C = D * H, Hd = cfg.decoderHiddenSize;
  const Le = cfg.numLayers, Ld = cfg.decoderLayers, E = cfg.embeddingDim, Vt = cfg.targetVocabSize;
  const ecell = cellType(cfg.cell), dcell = cellType(cfg.decoderCell);
  const gates = (c: CellType) => ({ resetAfter: c === "gru" ? cfg.resetAfter : undefined, recurrentActivation: c === "lstm" || c === "gru" ? cfg.recurrentActivation : undefined });
  const meta = { ...opts.metadata, "rnnkit.kind": "seq2seq", "rnnkit.config": JSON.stringify(cfg) };

  // ---- encoder
  const e = new OnnxGraph(`rnnkit_seq2seq_encoder_${cfg.cell}`);
  const source = e.input("source", ONNX_INT64, ["S", "B"], "source ids [S, B], time-major; 0 pads");
  const srcLen64 = e.input("source_lengths", ONNX_INT64, ["B"], "valid steps of each source, in [1, S]");
  const srcLen = e.op("Cast", [srcLen64], [attr.int("to", ONNX_INT32)]);
  const emb = e.op("Gather", [e.float("encoder.embedding.weight", [cfg.sourceVocabSize, E], get("encoder.embedding.weight")!.data), source], [attr.int("axis", 0)]);
  const st = emitStack(e, "encoder.rnn.", get, { cell: ecell, layers: Le, directions: D as 1 | 2, hiddenSize: H, inputSize: E, ...gates(ecell) }, emb, srcLen);
  const valid = e.op("Cast", [e.op("Unsqueeze", [e.stepMask(st.out, srcLen64), e.int64s([2])])], [attr.int("to", ONNX_FLOAT)]);
  e.op("Mul", [st.out, valid], [], "memory");
  e.output("memory", ONNX_FLOAT, ["S", "B", C], "encoder outputs [S, B, C = D*H], zero past each length");
  // decoder layer l starts from encoder layer clamp(l + Le - Ld, 0, Le - 1), both directions side by side
  const gather = (states: string[]) => {
    const rows = Array.from({ length: Ld }, (_, l) => {
      const k = Math.min(Le - 1, Math.max(0, l + Le - Ld));
      const bc = e.op("Reshape", [e.op("Transpose", [states[k]], [attr.ints("perm", [1, 0, 2])]), e.int64s([0, -1])]);
      return e.op("Unsqueeze", [bc, e.int64s([0])]);
    });
    return rows.length === 1 ? rows[0] : e.op("Concat", rows, [attr.int("axis", 0)]);
  };
  const bridged = C !== Hd;
  const hs = gather(st.Yh);
  e.op(bridged ? "Tanh" : "Identity", [bridged ? e.linear(hs, "bridge.h", get("bridge.h.weight")!, get("bridge.h.bias")!) : hs], [], "h0");
  e.output("h0", ONNX_FLOAT, [Ld, "B", Hd], "the decoder's initial hidden state [Ld, B, Hd]");
  if (dcell === "lstm") {
    if (ecell === "lstm") {
      const cs = gather(st.Yc);
      e.op(bridged ? "Tanh" : "Identity", [bridged ? e.linear(cs, "bridge.c", get("bridge.c.weight")!, get("bridge.c.bias")!) : cs], [], "c0");
    } else {
      // an LSTM decoder after a non-LSTM encoder starts with c = 0
      e.op("ConstantOfShape", [e.op("Shape", ["h0"])], [attr.floatTensor("value", 0)], "c0");
    }
    e.output("c0", ONNX_FLOAT, [Ld, "B", Hd], "the decoder's initial cell state [Ld, B, Hd]");
  }
  const encoder = e.encode({ opset, doc: 'rnnkit Seq2Seq encoder; contract: README "Deploying"', metadata: meta });

  // ---- decoder step
  const d = new OnnxGraph(`rnnkit_seq2seq_decoder_step_${cfg.decoderCell}`);
  const prev = d.input("prev", ONNX_INT64, ["N"], "the previous ids [N] (<bos> = 2 at the first step)");
  const h = d.input("h", ONNX_FLOAT, [Ld, "N", Hd], "decoder hidden state [Ld, N, Hd]");
  const c = dcell === "lstm" ? d.input("c", ONNX_FLOAT, [Ld, "N", Hd], "decoder cell state [Ld, N, Hd]") : undefined;
  const attends = cfg.attention !== "none";
  const memory = attends ? d.input("memory", ONNX_FLOAT, ["S", "N", C], "the encoder's memory [S, N, C]") : "";
  const lens = attends ? d.input("source_lengths", ONNX_INT64, ["N"], "valid steps of each source [N]") : "";
  const demb = d.op("Gather", [d.float("decoder.embedding.weight", [Vt, E], get("decoder.embedding.weight")!.data), prev], [attr.int("axis", 0)]);
  const memT = attends ? d.op("Transpose", [memory], [attr.ints("perm", [1, 0, 2])]) : ""; // [N, S, C]
  const attend = (q: string): { ctx: string; w: string } => {
    // scores [N, S]
    let scores: string;
    if (cfg.attention === "bahdanau") {
      const kA = d.linear(memT, "attention.key", get("attention.key.weight")!);
      const qA = d.op("Unsqueeze", [d.linear(q, "attention.query", get("attention.query.weight")!), d.int64s([1])]);
      const th = d.op("Tanh", [d.op("Add", [kA, qA])]);
      scores = d.op("Squeeze", [d.linear(th, "attention.v", get("attention.v.weight")!), d.int64s([2])]);
    } else {
      const keys = cfg.attention === "luong" ? d.linear(memT, "attention", get("attention.weight")!) : memT;
      const kT = d.op("Transpose", [keys], [attr.ints("perm", [0, 2, 1])]);
      scores = d.op("Squeeze", [d.op("MatMul", [d.op("Unsqueeze", [q, d.int64s([1])]), kT]), d.int64s([1])]);
    }
    const mask = d.op("Transpose", [d.stepMask(memory, lens)], [attr.ints("perm", [1, 0])]); // [N, S]
    const w = d.op("Softmax", [d.op("Where", [mask, scores, d.scalar(-Infinity)])], [attr.int("axis", -1)]);
    const ctx = d.op("Squeeze", [d.op("MatMul", [d.op("Unsqueeze", [w, d.int64s([1])]), memT]), d.int64s([1])]);
    return { ctx, w };
  };
  let x: string, a: { ctx: string; w: string } | null = null;
  if (cfg.attention === "bahdanau") {
    // Bahdanau: the context of the previous state feeds the decoder input
    const top = d.op("Reshape", [d.op("Slice", [h, d.int64s([Ld - 1]), d.int64s([Ld]), d.int64s([0])]), d.int64s([-1, Hd])]);
    a = attend(top);
    x = d.op("Unsqueeze", [d.op("Concat", [demb, a.ctx], [attr.int("axis", 1)]), d.int64s([0])]);
  } else x = d.op("Unsqueeze", [demb, d.int64s([0])]);
  const ds = emitStack(d, "decoder.rnn.", get, { cell: dcell, layers: Ld, directions: 1, hiddenSize: Hd, inputSize: E + (cfg.attention === "bahdanau" ? C : 0), ...gates(dcell) }, x, undefined, h, c);
  const s = d.op("Reshape", [ds.out, d.int64s([-1, Hd])]); // [N, Hd]
  if (attends && cfg.attention !== "bahdanau") a = attend(s);
  const top = a ? d.op("Tanh", [d.linear(d.op("Concat", [a.ctx, s], [attr.int("axis", 1)]), "combine", get("combine.weight")!)]) : s;
  d.op("Identity", [d.linear(top, "head", get("head.weight")!, get("head.bias")!)], [], "logits");
  d.output("logits", ONNX_FLOAT, ["N", Vt], "next-id logits [N, Vt]");
  d.op("Concat", ds.Yh, [attr.int("axis", 0)], "h_next");
  d.output("h_next", ONNX_FLOAT, [Ld, "N", Hd], "the new hidden state [Ld, N, Hd]");
  if (c) {
    d.op("Concat", ds.Yc, [attr.int("axis", 0)], "c_next");
    d.output("c_next", ONNX_FLOAT, [Ld, "N", Hd], "the new cell state [Ld, N, Hd]");
  }
  if (a) {
    d.op("Identity", [a.w], [], "attention");
    d.output("attention", ONNX_FLOAT, ["N", "S"], "attention weights over the source [N, S]");
  }
  const decoder = d.encode({ opset, doc: 'rnnkit Seq2Seq decoder step; contract: README "Deploying"', metadata: meta });
  return { encoder, decoder };
}
