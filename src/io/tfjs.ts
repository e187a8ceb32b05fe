/**
 * TensorFlow.js layers models (the `model.json` + weight shards that `model.save()` writes, also
 * what the tfjs converter makes of a Keras model) <-> rnnkit `SequenceModel`s.
 *
 * Import (`loadTfjsModel`): a `Sequential` model of
 *
 *   [InputLayer] [Embedding | Masking] (SimpleRNN | LSTM | GRU | Bidirectional(...))+ [Dropout]*
 *   (Dense | TimeDistributed(Dense))
 *
 * becomes embedding -> recurrent stack -> head. Dropout layers are the identity at inference and
 * are dropped. The recurrent layers must form one rnnkit stack: the same cell, units,
 * activations and direction count in every layer, each but the last with `return_sequences`.
 * The last one decides the shape: `return_sequences` false is many-to-one (pooling "last": the
 * state at each sequence's last step, both directions side by side); true is one output per step.
 *
 * Keras semantics kept (src/io/keras.ts does the layout and gate orders, written once):
 * - kernels [in, G*H] are transposed, gate blocks reordered (LSTM i,f,c,o; GRU z,r,h), one Keras
 *   bias is b_ih (b_hh = 0), the reset-after GRU's [2, 3H] bias is (b_ih, b_hh);
 * - `reset_after: false` is `resetAfter: false`; `hard_sigmoid` gates are `recurrentActivation:
 *   "hardSigmoid"` (0.2 x + 0.5, TensorFlow.js's and Keras 2's; Keras 3 changed its hard_sigmoid,
 *   and such files are refused); `unit_forget_bias` only initialises the bias, which the file holds;
 * - masking (`Embedding(mask_zero)`, `Masking`) carries the state through masked steps. rnnkit
 *   expresses it with lengths: for right-padded inputs (the mask a prefix of valid steps, as
 *   padding makes it) the states, the many-to-one outputs and every valid step's output are
 *   Keras's; past a length Keras repeats the last state where rnnkit outputs zero. The import says
 *   which masking the model had (`masking`), and `tfjsLengths` turns an input into lengths;
 * - Bidirectional `merge_mode` concat is rnnkit's layout; sum and ave are folded exactly into the
 *   next layer's input weights or the head (W [f; b] with the halves equal, or halved); mul is not
 *   linear and is refused.
 * - the head: softmax -> classify (many-to-one), lm (per step, one direction, as many outputs as
 *   ids) or tag; linear -> regress (many-to-one); `Dense(1, sigmoid)` -> classify with 2 classes
 *   (logits 0 and z: softmax gives sigmoid(z) for class 1). `options.task` overrides the guess
 *   where the head allows it.
 * Anything else is refused with the layer's name and class.
 *
 * Export (`exportTfjs`): the inverse for the kinds TensorFlow.js can run: token or numeric
 * inputs, any cell but the reset-after GRU (tf.layers.gru refuses `resetAfter: true`), stacked,
 * bidirectional (concat), pooling "last" or one output per step; b_ih + b_hh become the one Keras
 * bias. Token models get `Embedding(mask_zero: true)`, as id 0 is rnnkit's <pad>.
 *
 * Bad input: the JSON, the manifest and every weight's name, dtype and shape are checked against
 * the topology, and the shards' sizes against the manifest, before any weight is read; the model
 * is built only after its config passed the parameter budget of src/defaults.ts.
 */
import type { Backend } from "../backend/backend.js";
import { defaults } from "../defaults.js";
import { type CellName, type Pooling } from "../models/model.js";
import { type ModelConfig, SequenceModel, type SequenceTask } from "../models/sequence-model.js";
import type { Model } from "../models/model.js";
import { RnnkitError, type Tensor, describe } from "../tensor.js";
import { type KerasCell, kerasToTorch, torchToKeras } from "./keras.js";

/** One entry of a weights manifest (TensorFlow.js `WeightsManifestEntry`). */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

/** A `model.json` (format "layers-model"): topology and the manifest of its weight shards. */
export interface TfjsModelJson {
  modelTopology: unknown;
  weightsManifest?: { paths: string[]; weights: TfjsWeightSpec[] }[];
  /** what `tf.io.withSaveHandler` hands over instead of a manifest */
  weightSpecs?: TfjsWeightSpec[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: Record<string, unknown>;
}

export interface TfjsImportOptions {
  /** The task, where the head allows more than one (a softmax per step: "tag" or "lm"; a linear head: "regress" or "classify" on logits). */
  task?: SequenceTask;
  backend?: Backend;
  /** Names the model in errors (a path). */
  source?: string;
}

export interface TfjsImport {
  model: SequenceModel;
  /**
   * The masking the TF.js model had: "zero" (Embedding mask_zero: id 0 is padding), "value"
   * (Masking: steps whose features all equal `maskValue`), or "none" (every step is data: pass
   * lengths = T). rnnkit takes lengths instead of a mask (see the file comment).
   */
  masking: "zero" | "value" | "none";
  maskValue?: number;
  /** What the import changed or dropped, one line each (Dropout layers, folded merge modes, ...). */
  notes: string[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);

/** A layer of the topology: its class, its name and its config. */
interface LayerRef {
  cls: string;
  name: string;
  config: Json;
}

const RECURRENT: Record<string, KerasCell> = { SimpleRNN: "simple_rnn", LSTM: "lstm", GRU: "gru" };
const IGNORED = new Set(["Dropout", "InputLayer"]);

function layerRef(where: string, l: unknown, i: number): LayerRef {
  if (!isObj(l)) throw new RnnkitError(`${where}: modelTopology layer ${i}: expected {class_name, config}, got ${describe(l)}`);
  if (typeof l.class_name !== "string") throw new RnnkitError(`${where}: modelTopology layer ${i}: class_name: expected a string, got ${describe(l.class_name)}`);
  if (!isObj(l.config)) throw new RnnkitError(`${where}: modelTopology layer ${i} (${l.class_name}): config: expected an object, got ${describe(l.config)}`);
  const name = typeof l.config.name === "string" ? l.config.name : `#${i}`;
  return { cls: l.class_name, name, config: l.config };
}

const unsupported = (where: string, l: LayerRef, why: string) => new RnnkitError(`${where}: layer ${JSON.stringify(l.name)} (${l.cls}): ${why}`);

/** The layers of a Sequential topology (model.json's `modelTopology`, or its `model_config`). */
function sequentialLayers(where: string, topology: unknown): { layers: LayerRef[]; kerasVersion: string } {
  if (!isObj(topology)) throw new RnnkitError(`${where}: modelTopology: expected an object, got ${describe(topology)}`);
  const t = isObj(topology.model_config) ? topology.model_config : topology;
  const kerasVersion = typeof topology.keras_version === "string" ? topology.keras_version : "";
  if (t.class_name !== "Sequential") {
    throw new RnnkitError(`${where}: modelTopology: expected a Sequential model (a chain of layers), got ${describe(t.class_name)}${t.class_name === "Model" || t.class_name === "Functional" ? " (a functional model: rebuild it as tf.sequential)" : ""}`);
  }
  const cfg = t.config;
  const list = Array.isArray(cfg) ? cfg : isObj(cfg) && Array.isArray(cfg.layers) ? cfg.layers : null;
  if (!list) throw new RnnkitError(`${where}: modelTopology.config.layers: expected an array of layers, got ${describe(isObj(cfg) ? cfg.layers : cfg)}`);
  if (list.length > 4 * defaults.maxLayers + 8) throw new RnnkitError(`${where}: modelTopology: expected at most ${4 * defaults.maxLayers + 8} layers, got ${list.length}`);
  return { layers: list.map((l, i) => layerRef(where, l, i)), kerasVersion };
}

/** The weights of the file by name, checked against the manifest and the bytes before anything is read. */
function weightTable(where: string, json: TfjsModelJson, weights: ArrayBuffer | Uint8Array | readonly Uint8Array[]): Map<string, { shape: number[]; offset: number; bytes: Uint8Array }> {
  let groups: { paths: string[]; weights: TfjsWeightSpec[] }[];
  if (Array.isArray(json.weightsManifest)) groups = json.weightsManifest;
  else if (Array.isArray(json.weightSpecs)) groups = [{ paths: [], weights: json.weightSpecs }];
  else throw new RnnkitError(`${where}: expected weightsManifest (model.json) or weightSpecs (save-handler artifacts), got neither`);
  const shards: Uint8Array[] = Array.isArray(weights)
    ? (weights as readonly Uint8Array[]).map((s) => s)
    : [weights instanceof Uint8Array ? weights : weights instanceof ArrayBuffer ? new Uint8Array(weights) : (() => { throw new RnnkitError(`${where}: weights: expected an ArrayBuffer, a Uint8Array or one Uint8Array per shard, got ${describe(weights)}`); })()];
  shards.forEach((s, i) => {
    if (!(s instanceof Uint8Array)) throw new RnnkitError(`${where}: weights[${i}]: expected a Uint8Array (a shard), got ${describe(s)}`);
  });
  const specs: { spec: TfjsWeightSpec; group: number; bytes: number }[] = [];
  const groupBytes: number[] = [];
  groups.forEach((g, gi) => {
    if (!isObj(g)) throw new RnnkitError(`${where}: weightsManifest[${gi}]: expected {paths, weights}, got ${describe(g)}`);
    if (!Array.isArray(g.weights)) throw new RnnkitError(`${where}: weightsManifest[${gi}].weights: expected an array of {name, shape, dtype}, got ${describe(g.weights)}`);
    if (g.paths !== undefined && (!Array.isArray(g.paths) || g.paths.some((p) => typeof p !== "string"))) throw new RnnkitError(`${where}: weightsManifest[${gi}].paths: expected an array of shard file names, got ${describe(g.paths)}`);
    let sum = 0;
    for (const [wi, w] of g.weights.entries()) {
      if (!isObj(w)) throw new RnnkitError(`${where}: weightsManifest[${gi}].weights[${wi}]: expected {name, shape, dtype}, got ${describe(w)}`);
      if (typeof w.name !== "string") throw new RnnkitError(`${where}: weightsManifest[${gi}].weights[${wi}].name: expected a string, got ${describe(w.name)}`);
      if (!Array.isArray(w.shape)) throw new RnnkitError(`${where}: weight ${JSON.stringify(w.name)}: shape: expected an array of non-negative integers, got ${describe(w.shape)}`);
      if (w.quantization !== undefined && w.quantization !== null) throw new RnnkitError(`${where}: weight ${JSON.stringify(w.name)}: expected float32 weights, got quantized ones (${describe(w.quantization)}): save the model without quantization`);
      if (w.dtype !== "float32") throw new RnnkitError(`${where}: weight ${JSON.stringify(w.name)}: expected dtype float32, got ${describe(w.dtype)}`);
      let n = 1;
      for (const d of w.shape) {
        if (!Number.isInteger(d) || d < 0) throw new RnnkitError(`${where}: weight ${JSON.stringify(w.name)}: shape: expected non-negative integers, got ${JSON.stringify(w.shape)}`);
        n *= d;
      }
      if (n > defaults.maxParameters) throw new RnnkitError(`${where}: weight ${JSON.stringify(w.name)}: ${n} numbers is more than defaults.maxParameters = ${defaults.maxParameters}`);
      specs.push({ spec: w as TfjsWeightSpec, group: gi, bytes: 4 * n });
      sum += 4 * n;
    }
    groupBytes.push(sum);
  });
  // shards: an array holds one per path in manifest order; one buffer is all of them concatenated
  const total = groupBytes.reduce((a, b) => a + b, 0);
  const paths = groups.flatMap((g) => (Array.isArray(g.paths) ? g.paths : []));
  let data: Uint8Array;
  if (!Array.isArray(weights) || paths.length === 0) {
    if (shards.length !== 1) throw new RnnkitError(`${where}: expected the weight data as one buffer (the manifest names no shard paths), got ${shards.length} buffers`);
    if (shards[0].byteLength !== total) throw new RnnkitError(`${where}: the weight data holds ${shards[0].byteLength} bytes, the manifest's ${specs.length} float32 weights need ${total}${paths.length ? ` (shards ${paths.join(", ")})` : ""}`);
    data = shards[0];
  } else {
    if (shards.length !== paths.length) throw new RnnkitError(`${where}: expected one shard per manifest path (${paths.length}: ${paths.join(", ")}), got ${shards.length}`);
    // each group's shards together hold that group's weights
    let k = 0;
    groups.forEach((g, gi) => {
      const gp = g.paths ?? [];
      const got = gp.reduce((s, _, j) => s + shards[k + j].byteLength, 0);
      if (got !== groupBytes[gi]) throw new RnnkitError(`${where}: shards ${gp.join(", ") || `(none for weightsManifest[${gi}])`} hold ${got} bytes, their manifest group's weights need ${groupBytes[gi]}`);
      k += gp.length;
    });
    data = new Uint8Array(total);
    let off = 0;
    for (const s of shards) {
      data.set(s, off);
      off += s.byteLength;
    }
  }
  const table = new Map<string, { shape: number[]; offset: number; bytes: Uint8Array }>();
  let off = 0;
  for (const { spec, bytes } of specs) {
    if (table.has(spec.name)) throw new RnnkitError(`${where}: weight ${JSON.stringify(spec.name)}: expected each name once in the manifest, got it twice`);
    table.set(spec.name, { shape: spec.shape, offset: off, bytes: data });
    off += bytes;
  }
  return table;
}

/** The weights of one layer (or one direction of a Bidirectional): `kernel`, `recurrent_kernel`, `bias`, `embeddings` by their last name segment. */
function layerWeights(where: string, table: ReturnType<typeof weightTable>, l: LayerRef, prefix: string, used: Set<string>): Map<string, { name: string; shape: number[]; read: () => Float32Array }> {
  const out = new Map<string, { name: string; shape: number[]; read: () => Float32Array }>();
  for (const [name, w] of table) {
    if (!name.startsWith(prefix)) continue;
    const key = name.slice(name.lastIndexOf("/") + 1).replace(/:0$/, "");
    if (out.has(key)) throw new RnnkitError(`${where}: layer ${JSON.stringify(l.name)} (${l.cls}): expected one weight named */${key}, got ${out.get(key)!.name} and ${name}`);
    used.add(name);
    out.set(key, { name, shape: w.shape, read: () => new Float32Array(w.bytes.buffer.slice(w.bytes.byteOffset + w.offset, w.bytes.byteOffset + w.offset + 4 * w.shape.reduce((a, b) => a * b, 1))) });
  }
  return out;
}

function need(where: string, l: LayerRef, w: ReturnType<typeof layerWeights>, key: string, shape: number[]): Tensor {
  const t = w.get(key);
  if (!t) throw new RnnkitError(`${where}: layer ${JSON.stringify(l.name)} (${l.cls}): expected a weight */${key}, got ${[...w.values()].map((v) => v.name).join(", ") || "none"}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => shape[i] >= 0 && d !== shape[i])) {
    throw new RnnkitError(`${where}: weight ${JSON.stringify(t.name)}: expected shape [${shape.map((d) => (d < 0 ? "*" : d)).join(", ")}], got [${t.shape.join(", ")}]`);
  }
  return { shape: t.shape, data: t.read() };
}

interface RecurrentSpec {
  ref: LayerRef;
  /** the recurrent layer itself (inside a Bidirectional: its `layer`) */
  inner: LayerRef;
  cell: KerasCell;
  bidirectional: boolean;
  merge: "concat" | "sum" | "ave" | "mul" | null;
  units: number;
  returnSequences: boolean;
  resetAfter?: boolean;
  recurrentActivation?: "sigmoid" | "hardSigmoid";
  nonlinearity: "tanh" | "relu";
}

function recurrentSpec(where: string, l: LayerRef, kerasVersion: string): RecurrentSpec {
  let inner = l, bidirectional = false, merge: RecurrentSpec["merge"] = null;
  if (l.cls === "Bidirectional") {
    bidirectional = true;
    const m = l.config.merge_mode ?? "concat";
    if (m !== "concat" && m !== "sum" && m !== "ave" && m !== "mul") throw unsupported(where, l, `merge_mode: expected concat, sum, ave or mul, got ${describe(m)}`);
    if (m === "mul") throw unsupported(where, l, "merge_mode mul (the product of the two directions) is not linear, so it has no rnnkit equivalent: use concat, sum or ave");
    merge = m;
    if (l.config.backward_layer !== undefined && l.config.backward_layer !== null) throw unsupported(where, l, "a backward_layer of its own is not supported (the backward direction must mirror the forward one)");
    inner = layerRef(where, l.config.layer, 0);
    // messages name an unnamed wrapped layer by its wrapper
    if (typeof inner.config.name !== "string") inner = { ...inner, name: `${l.name}/layer` };
  }
  const cell = RECURRENT[inner.cls];
  if (!cell) throw unsupported(where, inner, "expected SimpleRNN, LSTM or GRU inside a Bidirectional");
  const c = inner.config;
  const units = c.units;
  if (!Number.isInteger(units) || (units as number) < 1) throw unsupported(where, inner, `units: expected a positive integer, got ${describe(units)}`);
  for (const k of ["go_backwards", "stateful", "return_state"] as const) if (c[k] === true) throw unsupported(where, inner, `${k}: true is not supported (expected false)`);
  const act = c.activation ?? "tanh";
  let nonlinearity: "tanh" | "relu" = "tanh";
  if (cell === "simple_rnn" && act === "relu") nonlinearity = "relu";
  else if (act !== "tanh") throw unsupported(where, inner, `activation: expected "tanh"${cell === "simple_rnn" ? ' or "relu"' : ""}, got ${describe(act)}`);
  const spec: RecurrentSpec = { ref: l, inner, cell, bidirectional, merge, units: units as number, returnSequences: c.return_sequences === true, nonlinearity };
  if (cell !== "simple_rnn") {
    const ra = c.recurrent_activation ?? "hard_sigmoid";
    if (ra === "sigmoid") spec.recurrentActivation = "sigmoid";
    else if (ra === "hard_sigmoid" || ra === "hardSigmoid") {
      if (/^3\./.test(kerasVersion)) throw unsupported(where, inner, `recurrent_activation hard_sigmoid of Keras ${kerasVersion} (relu6(x + 3) / 6) differs from TensorFlow.js's and Keras 2's 0.2 x + 0.5, which rnnkit runs`);
      spec.recurrentActivation = "hardSigmoid";
    } else throw unsupported(where, inner, `recurrent_activation: expected "sigmoid" or "hard_sigmoid", got ${describe(ra)}`);
  }
  if (cell === "gru") spec.resetAfter = c.reset_after === true;
  return spec;
}

/**
 * Imports a TensorFlow.js layers model: `modelJson` is the parsed `model.json` (or its text, or
 * the artifacts `tf.io.withSaveHandler` hands over), `weights` the weight data: the shards in
 * manifest order, or all of them concatenated. See the file comment for what maps to what.
 * The model works on ids (or numbers): it has no tokenizer and no labels.
 */
export function loadTfjsModel(modelJson: TfjsModelJson | string, weights: ArrayBuffer | Uint8Array | readonly Uint8Array[], options: TfjsImportOptions = {}): TfjsImport {
  const where = options.source ? `loadTfjsModel: ${options.source}` : "loadTfjsModel";
  let json: unknown = modelJson;
  if (typeof json === "string") {
    try {
      json = JSON.parse(json);
    } catch (e) {
      throw new RnnkitError(`${where}: expected the JSON of a model.json, got text that does not parse: ${(e as Error).message}`);
    }
  }
  if (!isObj(json)) throw new RnnkitError(`${where}: expected a model.json object {modelTopology, weightsManifest}, got ${describe(json)}`);
  const mj = json as unknown as TfjsModelJson;
  if (mj.format !== undefined && mj.format !== "layers-model") throw new RnnkitError(`${where}: format: expected "layers-model" (tf.LayersModel.save), got ${describe(mj.format)}${mj.format === "graph-model" ? " (a graph model has no layers to map)" : ""}`);
  const { layers, kerasVersion } = sequentialLayers(where, mj.modelTopology);
  const table = weightTable(where, mj, weights);
  const used = new Set<string>();
  const notes: string[] = [];

  let i = 0;
  const skip = () => {
    while (i < layers.length && IGNORED.has(layers[i].cls)) {
      if (layers[i].cls === "Dropout") notes.push(`layer ${JSON.stringify(layers[i].name)} (Dropout) dropped: the identity at inference`);
      i++;
    }
  };
  skip();
  let masking: TfjsImport["masking"] = "none";
  let maskValue: number | undefined;
  let embedding: { V: number; E: number; weight: Tensor } | null = null;
  let inputSize: number | undefined;
  const first = layers[i];
  if (!first) throw new RnnkitError(`${where}: modelTopology: expected layers, got none`);
  if (first.cls === "Embedding") {
    const V = first.config.input_dim, E = first.config.output_dim;
    if (!Number.isInteger(V) || !Number.isInteger(E) || (V as number) < 1 || (E as number) < 1) throw unsupported(where, first, `expected positive integers input_dim and output_dim, got ${describe(V)} and ${describe(E)}`);
    if (first.config.mask_zero === true) masking = "zero";
    embedding = { V: V as number, E: E as number, weight: need(where, first, layerWeights(where, table, first, `${first.name}/`, used), "embeddings", [V as number, E as number]) };
    i++;
  } else if (first.cls === "Masking") {
    masking = "value";
    const mv = first.config.mask_value ?? 0;
    if (typeof mv !== "number") throw unsupported(where, first, `mask_value: expected a number, got ${describe(mv)}`);
    maskValue = mv;
    const bis = first.config.batch_input_shape;
    if (Array.isArray(bis) && Number.isInteger(bis[bis.length - 1])) inputSize = bis[bis.length - 1] as number;
    i++;
  }
  skip();
  // the recurrent stack
  const rec: RecurrentSpec[] = [];
  while (i < layers.length && (RECURRENT[layers[i].cls] || layers[i].cls === "Bidirectional")) {
    if (rec.length && !rec[rec.length - 1].returnSequences) throw unsupported(where, layers[i], `follows ${JSON.stringify(rec[rec.length - 1].ref.name)}, which returns only its last step (return_sequences false): a stacked layer needs every step`);
    rec.push(recurrentSpec(where, layers[i], kerasVersion));
    i++;
    skip();
  }
  if (!rec.length) {
    const l = layers[i] ?? first;
    throw unsupported(where, l, `expected a recurrent layer (SimpleRNN, LSTM, GRU or Bidirectional) here; rnnkit imports [Embedding | Masking] recurrent layers... [Dropout] Dense | TimeDistributed(Dense)`);
  }
  const r0 = rec[0];
  for (const r of rec.slice(1)) {
    const diff = r.cell !== r0.cell ? "cell" : r.units !== r0.units ? "units" : r.bidirectional !== r0.bidirectional ? "direction count" : r.nonlinearity !== r0.nonlinearity ? "activation"
      : r.recurrentActivation !== r0.recurrentActivation ? "recurrent_activation" : r.resetAfter !== r0.resetAfter ? "reset_after" : null;
    if (diff) throw unsupported(where, r.ref, `its ${diff} differs from that of ${JSON.stringify(r0.ref.name)}: an rnnkit stack has one cell kind and size in every layer`);
  }
  // the head
  const headRef = layers[i];
  if (!headRef) throw unsupported(where, rec[rec.length - 1].ref, "expected a Dense or TimeDistributed(Dense) head after the recurrent layers, got the end of the model");
  let dense = headRef;
  if (headRef.cls === "TimeDistributed") {
    dense = layerRef(where, headRef.config.layer, 0);
    if (dense.cls !== "Dense") throw unsupported(where, headRef, `expected TimeDistributed(Dense), got TimeDistributed(${dense.cls})`);
  } else if (headRef.cls !== "Dense") {
    throw unsupported(where, headRef, "expected Dense or TimeDistributed(Dense) after the recurrent layers (rnnkit imports Embedding, Masking, SimpleRNN, LSTM, GRU, Bidirectional, Dropout, Dense, TimeDistributed)");
  }
  for (const extra of layers.slice(i + 1)) {
    if (!IGNORED.has(extra.cls)) throw unsupported(where, extra, "expected nothing after the head (one Dense or TimeDistributed(Dense))");
  }
  const last = rec[rec.length - 1];
  const perStep = last.returnSequences;
  if (headRef.cls === "TimeDistributed" && !perStep) throw unsupported(where, headRef, `TimeDistributed needs a sequence, but ${JSON.stringify(last.ref.name)} returns only its last step`);
  const units = dense.config.units, act = dense.config.activation ?? "linear";
  if (!Number.isInteger(units) || (units as number) < 1) throw unsupported(where, dense, `units: expected a positive integer, got ${describe(units)}`);
  const sigmoid1 = act === "sigmoid" && units === 1 && !perStep;
  if (act !== "softmax" && act !== "linear" && !sigmoid1) throw unsupported(where, dense, `activation: expected softmax, linear${perStep ? "" : " or sigmoid with 1 unit"}, got ${describe(act)}`);

  let task: SequenceTask;
  if (perStep) {
    if (!embedding) throw unsupported(where, dense, "one output per step needs token inputs (an Embedding): rnnkit's tag and lm models read ids");
    const guess = act === "softmax" && !r0.bidirectional && units === embedding.V ? "lm" : "tag";
    task = options.task ?? guess;
    if (task !== "tag" && task !== "lm") throw unsupported(where, dense, `options.task: expected tag or lm for one output per step, got ${describe(task)}`);
  } else {
    const guess = act === "linear" ? "regress" : "classify";
    task = options.task ?? guess;
    if (task !== "classify" && task !== "regress") throw unsupported(where, dense, `options.task: expected classify or regress for one output per sequence, got ${describe(task)}`);
    if (task === "regress" && act !== "linear") throw unsupported(where, dense, `task regress: expected a linear head, got activation ${act}`);
  }
  const H = r0.units, D = r0.bidirectional ? 2 : 1, L = rec.length;
  const cell: CellName = r0.cell === "lstm" ? "lstm" : r0.cell === "gru" ? "gru" : r0.nonlinearity === "relu" ? "rnn_relu" : "rnn";
  const O = sigmoid1 ? 2 : (units as number);
  const config: ModelConfig = {
    task, cell, hiddenSize: H, numLayers: L, bidirectional: D === 2, outputSize: O, pooling: "last" as Pooling,
    ...(embedding ? { vocabSize: embedding.V, embeddingDim: embedding.E } : {}),
  };
  if (r0.cell === "gru") config.resetAfter = r0.resetAfter;
  if (r0.recurrentActivation) config.recurrentActivation = r0.recurrentActivation;

  // weights, in rnnkit's names; each layer's input width follows from the one before
  const sd: Record<string, Tensor> = {};
  if (embedding) sd["embedding.weight"] = embedding.weight;
  let X = embedding ? embedding.E : inputSize ?? -1;
  let fold: { merge: "sum" | "ave"; width: number } | null = null;
  const G = r0.cell === "lstm" ? 4 : r0.cell === "gru" ? 3 : 1;
  for (let l = 0; l < rec.length; l++) {
    const r = rec[l];
    const dirs = r.bidirectional ? [["forward_", ""], ["backward_", "_reverse"]] as const : [["", ""]] as const;
    for (const [dirPrefix, sfx] of dirs) {
      const prefix = r.bidirectional ? `${r.ref.name}/${dirPrefix}` : `${r.ref.name}/`;
      const w = layerWeights(where, table, r.inner, prefix, used);
      const kernel = need(where, r.inner, w, "kernel", [X, G * H]);
      if (X < 0) X = kernel.shape[0];
      const rk = need(where, r.inner, w, "recurrent_kernel", [H, G * H]);
      const useBias = r.inner.config.use_bias !== false;
      const bias = useBias ? need(where, r.inner, w, "bias", r.resetAfter ? [2, G * H] : [G * H]) : undefined;
      const t = kerasToTorch(r.cell, bias ? { kernel, recurrent_kernel: rk, bias } : { kernel, recurrent_kernel: rk }, { resetAfter: r.resetAfter ?? false });
      let wih = t.weight_ih_l0;
      if (fold) {
        // the previous layer's directions were merged (sum / ave) into X = H features: the same
        // weights read both halves of rnnkit's [forward; backward] side by side
        const f = fold.merge === "ave" ? 0.5 : 1, W = fold.width;
        const data = new Float32Array(G * H * 2 * W);
        for (let row = 0; row < G * H; row++) for (let k = 0; k < W; k++) {
          data[row * 2 * W + k] = data[row * 2 * W + W + k] = f * wih.data[row * W + k];
        }
        wih = { shape: [G * H, 2 * W], data };
      }
      sd[`rnn.weight_ih_l${l}${sfx}`] = wih;
      sd[`rnn.weight_hh_l${l}${sfx}`] = t.weight_hh_l0;
      sd[`rnn.bias_ih_l${l}${sfx}`] = t.bias_ih_l0 ?? { shape: [G * H], data: new Float32Array(G * H) };
      sd[`rnn.bias_hh_l${l}${sfx}`] = t.bias_hh_l0 ?? { shape: [G * H], data: new Float32Array(G * H) };
    }
    if (r.merge === "sum" || r.merge === "ave") {
      fold = { merge: r.merge, width: H };
      notes.push(`layer ${JSON.stringify(r.ref.name)}: merge_mode ${r.merge} folded into the weights that read it`);
      X = H;
    } else {
      fold = null;
      X = D * H;
    }
  }
  if (inputSize === undefined && !embedding) inputSize = sd["rnn.weight_ih_l0"].shape[1];
  if (!embedding) config.inputSize = inputSize!;
  // the head: Keras kernel [X, O] -> nn.Linear weight [O, D*H]
  const hw = layerWeights(where, table, dense, `${headRef.name}/`, used);
  const kernel = need(where, dense, hw, "kernel", [X, units as number]);
  const bias = dense.config.use_bias !== false ? need(where, dense, hw, "bias", [units as number]) : { shape: [units as number], data: new Float32Array(units as number) };
  const width = fold ? 2 * H : X;
  const f = fold?.merge === "ave" ? 0.5 : 1;
  const hwt = new Float32Array(O * width), hb = new Float32Array(O);
  const row0 = sigmoid1 ? 1 : 0; // Dense(1, sigmoid): class 0's logit stays 0
  for (let o = 0; o < (units as number); o++) {
    hb[row0 + o] = bias.data[o];
    for (let k = 0; k < width; k++) hwt[(row0 + o) * width + k] = f * kernel.data[(k % X) * (units as number) + o];
  }
  if (sigmoid1) notes.push(`layer ${JSON.stringify(dense.name)}: Dense(1, sigmoid) imported as 2 classes with logits (0, z): softmax gives sigmoid(z) for class 1`);
  sd["head.weight"] = { shape: [O, width], data: hwt };
  sd["head.bias"] = { shape: [O], data: hb };
  const leftover = [...table.keys()].filter((k) => !used.has(k));
  if (leftover.length) throw new RnnkitError(`${where}: weights no layer reads: ${leftover.map((k) => JSON.stringify(k)).join(", ")}`);
  // the config passes the parameter budget before anything is allocated
  const model = new SequenceModel(config, options.backend ? { backend: options.backend } : {});
  try {
    model.loadStateDict(sd);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const out: TfjsImport = { model, masking, notes };
  if (maskValue !== undefined) out.maskValue = maskValue;
  return out;
}

/**
 * The lengths rnnkit needs for a batch that the imported TF.js model would have masked:
 * `input` is what TF.js's `predict` takes, batch-major ids [B, T] or numbers [B, T, X]. With
 * `masking` "zero" a step is masked where the id is 0, with "value" where every feature equals
 * `maskValue`; "none" masks nothing (every length is T). A mask must be a suffix of each
 * sequence (right padding): a masked step before a valid one, or a sequence with no valid step,
 * is refused, as lengths cannot express it.
 */
export function tfjsLengths(imp: Pick<TfjsImport, "masking" | "maskValue">, input: { shape: readonly number[]; data: ArrayLike<number> }): number[] {
  const where = "tfjsLengths";
  const [B, T, X = 1] = input.shape;
  const ok = (input.shape.length === 2 || input.shape.length === 3) && input.shape.every((d) => Number.isInteger(d) && d > 0) && input.data.length === B * T * X;
  if (!ok) throw new RnnkitError(`${where}: input: expected batch-major [B, T] ids or [B, T, X] numbers with B*T*X values, got shape [${input.shape.join(", ")}] and ${input.data.length} values`);
  const masked = (b: number, t: number): boolean => {
    if (imp.masking === "none") return false;
    const o = (b * T + t) * X;
    if (imp.masking === "zero") return input.data[o] === 0;
    for (let k = 0; k < X; k++) if (input.data[o + k] !== imp.maskValue) return false;
    return true;
  };
  const lengths: number[] = [];
  for (let b = 0; b < B; b++) {
    let n = T;
    while (n > 0 && masked(b, n - 1)) n--;
    if (n === 0) throw new RnnkitError(`${where}: sequence ${b}: expected at least one unmasked step, got every step masked`);
    for (let t = 0; t < n; t++) {
      if (masked(b, t)) throw new RnnkitError(`${where}: sequence ${b}: step ${t} is masked before the valid step ${n - 1}: expected the padding at the end (Keras would carry the state over the hole; lengths cannot)`);
    }
    lengths.push(n);
  }
  return lengths;
}

/** What `exportTfjs` returns: `tf.io.fromMemory(artifacts)` loads it; `tfjsModelJson` writes the model.json of its shards. */
export interface TfjsArtifacts {
  modelTopology: Json;
  weightSpecs: TfjsWeightSpec[];
  weightData: ArrayBuffer;
  format: "layers-model";
  generatedBy: string;
  convertedBy: null;
  /** carried into model.json (TensorFlow.js keeps it as `userDefinedMetadata`) */
  userDefinedMetadata?: Record<string, unknown>;
}

/**
 * A SequenceModel as a TensorFlow.js layers model (see the file comment for the kinds). Load it
 * with `tf.loadLayersModel(tf.io.fromMemory(artifacts))`, or write it with `tfjsModelJson` and
 * the shards `tfjsShards` cuts.
 */
export function exportTfjs(model: Model): TfjsArtifacts {
  const where = "exportTfjs";
  if (!(model instanceof SequenceModel)) throw new RnnkitError(`${where}: expected a SequenceModel, got a ${model.kind} model (task ${model.task}): TensorFlow.js has no encoder-decoder layer; export it to ONNX`);
  const cfg = model.config;
  if (cfg.cell === "gru" && cfg.resetAfter !== false) throw new RnnkitError(`${where}: a GRU with resetAfter (PyTorch's GRU, rnnkit's default): expected resetAfter false, as tf.layers.gru refuses resetAfter true; export it to ONNX instead`);
  if ((cfg.task === "classify" || cfg.task === "regress") && cfg.pooling !== "last") throw new RnnkitError(`${where}: pooling: expected "last" (a recurrent layer's final state), got ${JSON.stringify(cfg.pooling)}: the import list has no pooling layer; export it to ONNX instead`);
  if (cfg.conditionSize) throw new RnnkitError(`${where}: conditionSize: a conditioned model sets its initial state from a vector, which a Sequential TF.js model cannot take; export it to ONNX instead`);
  const sd = model.stateDict();
  const f32 = (t: Tensor): Tensor => ({ shape: t.shape, data: Float32Array.from(t.data) });
  const H = cfg.hiddenSize, D = cfg.bidirectional ? 2 : 1, L = cfg.numLayers, O = cfg.outputSize;
  const perStep = cfg.task === "lm" || cfg.task === "tag";
  const kcell: KerasCell = cfg.cell === "lstm" ? "lstm" : cfg.cell === "gru" ? "gru" : "simple_rnn";
  const cls = cfg.cell === "lstm" ? "LSTM" : cfg.cell === "gru" ? "GRU" : "SimpleRNN";
  const layers: Json[] = [];
  const specs: TfjsWeightSpec[] = [];
  const chunks: Float32Array[] = [];
  const addWeight = (name: string, t: Tensor) => {
    specs.push({ name, shape: [...t.shape], dtype: "float32" });
    chunks.push(Float32Array.from(t.data));
  };
  if (cfg.vocabSize !== undefined) {
    layers.push({ class_name: "Embedding", config: { name: "embedding", input_dim: cfg.vocabSize, output_dim: cfg.embeddingDim, mask_zero: true, batch_input_shape: [null, null], dtype: "float32", trainable: true } });
    addWeight("embedding/embeddings", f32(sd["embedding.weight"]));
  }
  for (let l = 0; l < L; l++) {
    const name = `${cls.toLowerCase()}_${l}`;
    const rc: Json = {
      name, units: H, activation: cfg.cell === "rnn_relu" ? "relu" : "tanh", use_bias: true,
      return_sequences: l < L - 1 || perStep, return_state: false, go_backwards: false, stateful: false, unroll: false,
      dropout: 0, recurrent_dropout: 0, trainable: true,
    };
    if (kcell !== "simple_rnn") rc.recurrent_activation = cfg.recurrentActivation === "hardSigmoid" ? "hard_sigmoid" : "sigmoid";
    if (kcell === "gru") rc.reset_after = false;
    if (kcell === "lstm") rc.unit_forget_bias = false;
    const wrapped = D === 2 ? `bidirectional_${l}` : name;
    const layer: Json = D === 2
      ? { class_name: "Bidirectional", config: { name: wrapped, merge_mode: "concat", layer: { class_name: cls, config: rc }, trainable: true } }
      : { class_name: cls, config: rc };
    if (l === 0 && cfg.vocabSize === undefined) (layer.config as Json).batch_input_shape = [null, null, cfg.inputSize];
    layers.push(layer);
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
      // Keras has one bias where rnnkit has two: b_ih + b_hh (exact for LSTM, RNN and the reset-before GRU, whose b_hn is outside r * (...))
      const bih = f32(sd[`rnn.bias_ih${sfx}`]), bhh = sd[`rnn.bias_hh${sfx}`];
      for (let k = 0; k < bih.data.length; k++) bih.data[k] += bhh.data[k];
      const k = torchToKeras(kcell, { weight_ih_l0: f32(sd[`rnn.weight_ih${sfx}`]), weight_hh_l0: f32(sd[`rnn.weight_hh${sfx}`]), bias_ih_l0: bih }, { resetAfter: false });
      const prefix = D === 2 ? `${wrapped}/${d === 0 ? "forward" : "backward"}_${name}` : name;
      addWeight(`${prefix}/kernel`, k.kernel);
      addWeight(`${prefix}/recurrent_kernel`, k.recurrent_kernel);
      addWeight(`${prefix}/bias`, k.bias);
    }
  }
  const act = cfg.task === "regress" ? "linear" : "softmax";
  const dense = { class_name: "Dense", config: { name: "head", units: O, activation: act, use_bias: true, trainable: true } };
  const hw = sd["head.weight"], W = D * H;
  const kernel = new Float32Array(W * O);
  for (let o = 0; o < O; o++) for (let k = 0; k < W; k++) kernel[k * O + o] = hw.data[o * W + k];
  if (perStep) {
    layers.push({ class_name: "TimeDistributed", config: { name: "time_distributed", layer: dense, trainable: true } });
    addWeight("time_distributed/kernel", { shape: [W, O], data: kernel });
    addWeight("time_distributed/bias", f32(sd["head.bias"]));
  } else {
    layers.push(dense);
    addWeight("head/kernel", { shape: [W, O], data: kernel });
    addWeight("head/bias", f32(sd["head.bias"]));
  }
  const total = chunks.reduce((s, c) => s + c.byteLength, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    data.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), off);
    off += c.byteLength;
  }
  return {
    modelTopology: { class_name: "Sequential", config: { name: `rnnkit_${cfg.task}`, layers }, keras_version: "tfjs-layers 4.22.0", backend: "tensor_flow.js" },
    weightSpecs: specs,
    weightData: data.buffer,
    format: "layers-model",
    generatedBy: "rnnkit",
    convertedBy: null,
  };
}

/** Cuts the weight data into shards of at most `shardBytes` (TensorFlow.js's layout: one group, shards in order). */
export function tfjsShards(artifacts: TfjsArtifacts, shardBytes: number = defaults.tfjsShardBytes): Uint8Array[] {
  if (!Number.isInteger(shardBytes) || shardBytes < 4) throw new RnnkitError(`tfjsShards: shardBytes: expected an integer >= 4, got ${describe(shardBytes)}`);
  const all = new Uint8Array(artifacts.weightData);
  const out: Uint8Array[] = [];
  for (let o = 0; o < all.byteLength; o += shardBytes) out.push(all.subarray(o, Math.min(all.byteLength, o + shardBytes)));
  if (out.length === 0) out.push(new Uint8Array(0));
  return out;
}

/** The model.json of `artifacts` whose shards (from `tfjsShards`) are saved as `paths` beside it. */
export function tfjsModelJson(artifacts: TfjsArtifacts, paths: readonly string[]): TfjsModelJson {
  return {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [...paths], weights: artifacts.weightSpecs }],
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
  };
}
