/**
 * TensorFlow.js layers models in and out, against real TensorFlow.js (@tensorflow/tfjs, its
 * pure-JS cpu backend): models of each supported kind are built and saved in TF.js
 * (`tf.io.withSaveHandler`), imported, and their predictions compared with rnnkit's within
 * 1e-5 + 1e-4*|ref|; rnnkit models are exported and loaded back with `tf.loadLayersModel`
 * (`tf.io.fromMemory`); bad files are refused with the layer or weight named.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { SequenceModel, type ModelConfig } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { RnnkitError, type Tensor } from "../tensor.js";
import { type TfjsModelJson, exportTfjs, loadTfjsModel, tfjsLengths, tfjsModelJson, tfjsShards } from "./tfjs.js";
import { softmaxRows } from "../testing.js";

type TF = typeof import("@tensorflow/tfjs");
const tf = createRequire(import.meta.url)("@tensorflow/tfjs") as TF;
await tf.setBackend("cpu");

interface Saved { json: TfjsModelJson; data: Uint8Array }

async function save(m: import("@tensorflow/tfjs").LayersModel): Promise<Saved> {
  let saved: Saved | null = null;
  await m.save(tf.io.withSaveHandler(async (a) => {
    saved = { json: { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as TfjsModelJson["weightSpecs"], format: a.format }, data: new Uint8Array(a.weightData as ArrayBuffer) };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  return saved!;
}

/** Sets every TF.js weight to U(-scale, scale), so that gates saturate and hard-sigmoid clips. */
function randomizeTf(m: import("@tensorflow/tfjs").LayersModel, seed: number, scale = 0.8): void {
  const rng = new Rng(seed);
  m.setWeights(m.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => rng.uniform(-scale, scale)), w.shape)));
}

function close(what: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  assert.equal(got.length, ref.length, `${what}: ${got.length} values, expected ${ref.length}`);
  for (let i = 0; i < ref.length; i++) {
    assert.ok(Math.abs(got[i] - ref[i]) <= 1e-5 + 1e-4 * Math.abs(ref[i]), `${what}: at ${i}: rnnkit ${got[i]}, TensorFlow.js ${ref[i]}`);
  }
}

const T = 6, B = 3;

/** Inputs for both sides: batch-major for TF.js (padding 0 / maskValue), time-major with lengths for rnnkit. */
function inputs(seed: number, o: { vocab?: number; features?: number; lengths: number[]; pad?: number }) {
  const rng = new Rng(seed);
  if (o.vocab) {
    const bm = new Float32Array(B * T);
    const tm = new Int32Array(T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      const v = t < o.lengths[b] ? 1 + Math.floor(rng.next() * (o.vocab - 1)) : 0;
      bm[b * T + t] = v;
      tm[t * B + b] = v;
    }
    return { tf: tf.tensor(bm, [B, T]), batch: { T, B, lengths: o.lengths, tokens: tm } };
  }
  const X = o.features!;
  const bm = new Float32Array(B * T * X), tm = new Float32Array(T * B * X);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let k = 0; k < X; k++) {
    const v = t < o.lengths[b] ? rng.uniform(-1.5, 1.5) : o.pad ?? 0;
    bm[(b * T + t) * X + k] = v;
    tm[(t * B + b) * X + k] = v;
  }
  return { tf: tf.tensor(bm, [B, T, X]), batch: { T, B, lengths: o.lengths, inputs: tm } };
}

/** rnnkit's predictions in TF.js's layout: per step [B, T, O] at the valid steps only (masked steps: TF.js's there). */
function predictLike(model: SequenceModel, batch: Parameters<SequenceModel["forward"]>[0], ref: Float32Array, sigmoid1 = false): Float32Array {
  const r = model.forward(batch);
  const O = model.config.outputSize;
  if (model.config.task === "regress") return Float32Array.from(r.logits.data);
  const p = softmaxRows(r.logits.data, O);
  if (sigmoid1) return Float32Array.from({ length: B }, (_, b) => p[b * 2 + 1]);
  if (model.config.task === "classify") return p;
  const out = Float32Array.from(ref); // past a length Keras repeats the state, rnnkit outputs zero: not compared
  for (let b = 0; b < B; b++) for (let t = 0; t < batch.lengths[b]; t++) for (let k = 0; k < O; k++) out[(b * T + t) * O + k] = p[(t * B + b) * O + k];
  return out;
}

async function roundTrip(name: string, m: import("@tensorflow/tfjs").LayersModel, seed: number, o: { vocab?: number; features?: number; lengths: number[]; pad?: number; task?: "lm" | "tag" }, expect: Partial<ModelConfig> & { masking: string }, sigmoid1 = false) {
  randomizeTf(m, seed);
  const saved = await save(m);
  const imp = loadTfjsModel(saved.json, saved.data, o.task ? { task: o.task } : {});
  assert.equal(imp.masking, expect.masking, `${name}: masking`);
  const { masking: _, ...cfg } = expect;
  for (const [k, v] of Object.entries(cfg)) assert.deepEqual((imp.model.config as Record<string, unknown>)[k], v, `${name}: config.${k}`);
  const x = inputs(seed + 1, o);
  // the lengths come from the mask TF.js applies (all T without one)
  assert.deepEqual(tfjsLengths(imp, { shape: x.tf.shape, data: x.tf.dataSync() }), imp.masking === "none" ? [T, T, T] : o.lengths, `${name}: lengths from the mask`);
  const ref = (m.predict(x.tf) as import("@tensorflow/tfjs").Tensor).dataSync() as Float32Array;
  close(name, predictLike(imp.model, x.batch, ref, sigmoid1), ref);
  return imp;
}

const L = tf.layers;

test("tfjs import: Embedding(mask_zero) -> LSTM (hard-sigmoid, TF.js's default) -> Dense softmax is a classifier, padded batches included", async () => {
  const m = tf.sequential({ layers: [
    L.embedding({ inputDim: 12, outputDim: 4, maskZero: true, inputShape: [null] }),
    L.lstm({ units: 5, unitForgetBias: true }),
    L.dense({ units: 3, activation: "softmax" }),
  ] });
  const imp = await roundTrip("lstm classify", m, 1, { vocab: 12, lengths: [6, 2, 4] }, { task: "classify", cell: "lstm", recurrentActivation: "hardSigmoid", masking: "zero", pooling: "last" });
  imp.model.dispose();
});

test("tfjs import: stacked Bidirectional reset-before GRUs (concat) with Dropout -> TimeDistributed(Dense) is a tagger", async () => {
  const m = tf.sequential({ layers: [
    L.embedding({ inputDim: 10, outputDim: 3, maskZero: true, inputShape: [null] }),
    L.bidirectional({ layer: L.gru({ units: 4, returnSequences: true, recurrentActivation: "sigmoid" }) as never, mergeMode: "concat" }),
    L.dropout({ rate: 0.3 }),
    L.bidirectional({ layer: L.gru({ units: 4, returnSequences: true, recurrentActivation: "sigmoid" }) as never, mergeMode: "concat" }),
    L.timeDistributed({ layer: L.dense({ units: 5, activation: "softmax" }) }),
  ] });
  const imp = await roundTrip("bi gru tag", m, 2, { vocab: 10, lengths: [3, 6, 5] }, { task: "tag", cell: "gru", resetAfter: false, bidirectional: true, numLayers: 2, masking: "zero" });
  assert.ok(imp.notes.some((n) => /Dropout/.test(n)), "the dropped Dropout is noted");
  imp.model.dispose();
});

test("tfjs import: Bidirectional merge sum and ave fold into the next layer and the head; mul is refused by name", async () => {
  for (const [merge, seed] of [["sum", 3], ["ave", 4]] as const) {
    const m = tf.sequential({ layers: [
      L.embedding({ inputDim: 9, outputDim: 3, maskZero: true, inputShape: [null] }),
      L.bidirectional({ layer: L.lstm({ units: 3, returnSequences: true }) as never, mergeMode: merge }),
      L.bidirectional({ layer: L.lstm({ units: 3 }) as never, mergeMode: merge }),
      L.dense({ units: 2, activation: "softmax" }),
    ] });
    (await roundTrip(`bi lstm ${merge}`, m, seed, { vocab: 9, lengths: [6, 1, 3] }, { task: "classify", bidirectional: true, masking: "zero" })).model.dispose();
  }
  const m = tf.sequential({ layers: [
    L.embedding({ inputDim: 9, outputDim: 3, inputShape: [null] }),
    L.bidirectional({ layer: L.lstm({ units: 3, name: "inner" }) as never, mergeMode: "mul", name: "bimul" }),
    L.dense({ units: 2, activation: "softmax" }),
  ] });
  const saved = await save(m);
  assert.throws(() => loadTfjsModel(saved.json, saved.data), (e: unknown) => e instanceof RnnkitError && /layer "bimul" \(Bidirectional\): merge_mode mul/.test(e.message));
});

test("tfjs import: SimpleRNN (relu) stack -> TimeDistributed softmax over the ids is a language model; no mask: every step is data", async () => {
  const m = tf.sequential({ layers: [
    L.embedding({ inputDim: 8, outputDim: 4, inputShape: [null] }),
    L.simpleRNN({ units: 5, activation: "relu", returnSequences: true }),
    L.simpleRNN({ units: 5, activation: "relu", returnSequences: true }),
    L.timeDistributed({ layer: L.dense({ units: 8, activation: "softmax" }) }),
  ] });
  const imp = await roundTrip("rnn relu lm", m, 5, { vocab: 8, lengths: [6, 6, 6] }, { task: "lm", cell: "rnn_relu", numLayers: 2, masking: "none" });
  imp.model.dispose();
  // the same softmax-per-step head as a tagger, when the caller says so
  const tag = await roundTrip("rnn relu as tag", m, 6, { vocab: 8, lengths: [6, 6, 6], task: "tag" }, { task: "tag", masking: "none" });
  tag.model.dispose();
});

test("tfjs import: Masking -> stacked LSTMs (sigmoid) -> Dense linear is a regressor; Dense(1, sigmoid) a two-class classifier", async () => {
  const m = tf.sequential({ layers: [
    L.masking({ maskValue: -1, inputShape: [null, 2] }),
    L.lstm({ units: 4, returnSequences: true, recurrentActivation: "sigmoid" }),
    L.lstm({ units: 4, recurrentActivation: "sigmoid" }),
    L.dense({ units: 2 }),
  ] });
  const imp = await roundTrip("masked lstm regress", m, 7, { features: 2, lengths: [2, 6, 4], pad: -1 }, { task: "regress", inputSize: 2, numLayers: 2, masking: "value" });
  assert.equal(imp.maskValue, -1);
  imp.model.dispose();
  const b = tf.sequential({ layers: [
    L.embedding({ inputDim: 7, outputDim: 3, maskZero: true, inputShape: [null] }),
    L.gru({ units: 4 }),
    L.dense({ units: 1, activation: "sigmoid" }),
  ] });
  (await roundTrip("gru sigmoid", b, 8, { vocab: 7, lengths: [5, 6, 1] }, { task: "classify", outputSize: 2, masking: "zero" }, true)).model.dispose();
});

test("tfjs import: a reset-after GRU (Keras' default; tf.layers cannot build it) equals the same equations in tfjs-core ops", async () => {
  // built as reset-before in TF.js, then edited into what the converter writes for Keras GRU(reset_after=True)
  const units = 3, X = 2, V = 6;
  const m = tf.sequential({ layers: [
    L.embedding({ inputDim: V, outputDim: X, maskZero: true, inputShape: [null], name: "emb" }),
    L.gru({ units, recurrentActivation: "sigmoid", name: "g" }),
    L.dense({ units: 2, activation: "softmax", name: "d" }),
  ] });
  randomizeTf(m, 9);
  const saved = await save(m);
  const topo = saved.json.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } };
  topo.config.layers[1].config.reset_after = true;
  const rng = new Rng(10);
  const rbias = Float32Array.from({ length: 2 * 3 * units }, () => rng.uniform(-0.8, 0.8));
  // weights in spec order: emb, g/kernel, g/recurrent_kernel, g/bias, d/kernel, d/bias
  const specs = saved.json.weightSpecs!;
  const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
  const all = new Float32Array(saved.data.buffer.slice(saved.data.byteOffset, saved.data.byteOffset + saved.data.byteLength));
  const parts: Float32Array[] = [];
  let o = 0;
  for (const n of sizes) {
    parts.push(all.slice(o, o + n));
    o += n;
  }
  parts[3] = rbias;
  specs[3] = { ...specs[3], shape: [2, 3 * units] };
  const data = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  o = 0;
  for (const p of parts) {
    data.set(new Uint8Array(p.buffer), o);
    o += p.byteLength;
  }
  const imp = loadTfjsModel(saved.json, data);
  assert.equal(imp.model.config.resetAfter, true);
  // the reference: Keras GRU(reset_after=True), step by step in tfjs-core ops, batch of one per length
  const [emb, kernel, rk] = [parts[0], parts[1], parts[2]];
  const ids = [[3, 1, 5, 2], [4, 4]];
  for (const seq of ids) {
    let h = tf.zeros([1, units]);
    const K = tf.tensor(kernel, [X, 3 * units]), R = tf.tensor(rk, [units, 3 * units]);
    const bi = tf.tensor(rbias.slice(0, 3 * units), [3 * units]), bh = tf.tensor(rbias.slice(3 * units), [3 * units]);
    for (const id of seq) {
      const x = tf.tensor(emb.slice(id * X, (id + 1) * X), [1, X]);
      const [mz, mr, mh] = tf.split(tf.add(tf.matMul(x, K), bi), 3, 1);
      const [qz, qr, qh] = tf.split(tf.add(tf.matMul(h, R), bh), 3, 1);
      const z = tf.sigmoid(tf.add(mz, qz)), r = tf.sigmoid(tf.add(mr, qr));
      const hh = tf.tanh(tf.add(mh, tf.mul(r, qh)));
      h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
    }
    const ref = tf.softmax(tf.add(tf.matMul(h, tf.tensor(parts[4], [units, 2])), tf.tensor(parts[5], [2]))).dataSync() as Float32Array;
    const r = imp.model.forward({ T: seq.length, B: 1, lengths: [seq.length], tokens: seq });
    close(`reset-after gru, ${seq.length} steps`, softmaxRows(r.logits.data, 2), ref);
  }
  imp.model.dispose();
});

/** rnnkit model -> exportTfjs -> tf.loadLayersModel -> the same predictions. */
async function exportCheck(name: string, cfg: ModelConfig, seed: number, lengths: number[]) {
  const model = new SequenceModel(cfg);
  const rng = new Rng(seed);
  const sd: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) sd[k] = { shape: t.shape, data: Float32Array.from(t.data, () => rng.uniform(-0.7, 0.7)) };
  model.loadStateDict(sd);
  const art = exportTfjs(model);
  const m = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: art.modelTopology, weightSpecs: art.weightSpecs as never, weightData: art.weightData }));
  const x = inputs(seed + 1, cfg.vocabSize ? { vocab: cfg.vocabSize, lengths } : { features: cfg.inputSize!, lengths });
  const ref = (m.predict(x.tf) as import("@tensorflow/tfjs").Tensor).dataSync() as Float32Array;
  close(`${name}: TF.js runs the export`, predictLike(model, x.batch, ref), ref);
  // and the export imports back to the same weights' behaviour
  const shards = tfjsShards(art, 64);
  const back = loadTfjsModel(tfjsModelJson(art, shards.map((_, i) => `group1-shard${i + 1}of${shards.length}.bin`)), shards);
  close(`${name}: imported back`, predictLike(back.model, x.batch, ref), ref);
  back.model.dispose();
  model.dispose();
  m.dispose();
}

test("tfjs export: each kind TF.js runs loads with tf.loadLayersModel and predicts what rnnkit does", async () => {
  await exportCheck("lstm classify bi", { task: "classify", cell: "lstm", vocabSize: 11, embeddingDim: 4, hiddenSize: 3, numLayers: 2, bidirectional: true, outputSize: 3 }, 20, [6, 3, 1]);
  await exportCheck("gru reset-before tag hard", { task: "tag", cell: "gru", resetAfter: false, recurrentActivation: "hardSigmoid", vocabSize: 9, embeddingDim: 3, hiddenSize: 4, bidirectional: true, outputSize: 4 }, 21, [2, 6, 5]);
  await exportCheck("rnn lm", { task: "lm", cell: "rnn", vocabSize: 7, embeddingDim: 3, hiddenSize: 5, numLayers: 2, outputSize: 7 }, 22, [6, 4, 6]);
  await exportCheck("rnn_relu regress", { task: "regress", cell: "rnn_relu", inputSize: 2, hiddenSize: 4, outputSize: 1 }, 23, [6, 6, 6]);
  await exportCheck("numeric bi lstm classify hard", { task: "classify", cell: "lstm", inputSize: 3, hiddenSize: 3, bidirectional: true, recurrentActivation: "hardSigmoid", outputSize: 2 }, 24, [6, 6, 6]);
});

test("tfjs export: what TF.js cannot run is refused with the reason", () => {
  const cases: [ModelConfig, RegExp][] = [
    [{ task: "tag", cell: "gru", vocabSize: 5, hiddenSize: 3, outputSize: 2 }, /resetAfter false, as tf.layers.gru refuses/],
    [{ task: "classify", cell: "lstm", vocabSize: 5, hiddenSize: 3, outputSize: 2, pooling: "mean" }, /pooling: expected "last"/],
    [{ task: "lm", cell: "lstm", vocabSize: 5, hiddenSize: 3, outputSize: 5, conditionSize: 2 }, /conditionSize/],
  ];
  for (const [cfg, re] of cases) {
    const m = new SequenceModel(cfg);
    assert.throws(() => exportTfjs(m), (e: unknown) => e instanceof RnnkitError && re.test(e.message), re.source);
    m.dispose();
  }
});

test("tfjs import: bad files are refused with the layer or weight named, before anything is built", async () => {
  const m = tf.sequential({ layers: [
    L.embedding({ inputDim: 6, outputDim: 2, inputShape: [null], name: "emb" }),
    L.lstm({ units: 3, name: "rec" }),
    L.dense({ units: 2, activation: "softmax", name: "out" }),
  ] });
  const s = await save(m);
  const refuse = (json: unknown, data: Uint8Array | Uint8Array[], re: RegExp) =>
    assert.throws(() => loadTfjsModel(json as TfjsModelJson, data), (e: unknown) => e instanceof RnnkitError && re.test(e.message), re.source);
  const copy = () => JSON.parse(JSON.stringify(s.json)) as TfjsModelJson & { modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } };
  refuse("{not json", s.data, /does not parse/);
  refuse({ weightSpecs: s.json.weightSpecs }, s.data, /modelTopology: expected an object/);
  refuse(s.json, s.data.subarray(0, s.data.byteLength - 4), /holds \d+ bytes, the manifest's 6 float32 weights need \d+/);
  // a layer outside the list
  const conv = copy();
  conv.modelTopology.config.layers.splice(1, 0, { class_name: "Conv1D", config: { name: "conv", filters: 2 } });
  refuse(conv, s.data, /layer "conv" \(Conv1D\)/);
  const gap = copy();
  gap.modelTopology.config.layers[1].config.return_sequences = true;
  gap.modelTopology.config.layers.splice(2, 0, { class_name: "GlobalAveragePooling1D", config: { name: "pool" } });
  refuse(gap, s.data, /layer "pool" \(GlobalAveragePooling1D\): expected Dense or TimeDistributed/);
  // a weight of the wrong shape, a quantized weight, a weight nobody reads
  const shape = copy();
  shape.weightSpecs![1] = { ...shape.weightSpecs![1], shape: [12, 2] };
  refuse(shape, s.data, /weight "rec\/kernel": expected shape \[2, 12\], got \[12, 2\]/);
  const quant = copy();
  quant.weightSpecs![0] = { ...quant.weightSpecs![0], quantization: { dtype: "uint8", scale: 1, min: 0 } };
  refuse(quant, s.data, /quantized/);
  const extra = copy();
  extra.weightSpecs!.push({ name: "stray/w", shape: [1], dtype: "float32" });
  const more = new Uint8Array(s.data.byteLength + 4);
  more.set(s.data);
  refuse(extra, more, /weights no layer reads: "stray\/w"/);
  // shards: one per path, each group's total checked
  const manifest = { modelTopology: s.json.modelTopology, format: "layers-model", weightsManifest: [{ paths: ["a.bin", "b.bin"], weights: s.json.weightSpecs! }] };
  refuse(manifest, [s.data], /expected one shard per manifest path \(2: a.bin, b.bin\), got 1/);
  refuse(manifest, [s.data.subarray(0, 8), s.data.subarray(8, s.data.byteLength - 4), new Uint8Array(4)], /expected one shard per manifest path \(2: a.bin, b.bin\), got 3/);
  refuse(manifest, [s.data.subarray(0, 8), s.data.subarray(8, s.data.byteLength - 4)], /shards a.bin, b.bin hold \d+ bytes/);
  const ok = loadTfjsModel(manifest as TfjsModelJson, [s.data.subarray(0, 8), s.data.subarray(8)]);
  ok.model.dispose();
  // a size past the limits is refused from the manifest, before any allocation
  const huge = copy();
  huge.modelTopology.config.layers[0].config.input_dim = 1e9;
  huge.weightSpecs![0] = { ...huge.weightSpecs![0], shape: [1e9, 2] };
  refuse(huge, s.data, /more than defaults.maxParameters/);
  // a functional model, a graph model
  refuse({ ...s.json, modelTopology: { class_name: "Functional", config: {} } }, s.data, /expected a Sequential model.*functional/);
  refuse({ ...s.json, format: "graph-model" }, s.data, /graph model/);
});

test("tfjsLengths: right padding gives lengths; a hole or an all-masked sequence is refused", () => {
  assert.deepEqual(tfjsLengths({ masking: "zero" }, { shape: [2, 4], data: [5, 3, 0, 0, 1, 2, 3, 4] }), [2, 4]);
  assert.deepEqual(tfjsLengths({ masking: "value", maskValue: -1 }, { shape: [2, 3, 2], data: [1, -1, -1, -1, -1, -1, 0, 0, -1, 2, -1, -1] }), [1, 2]);
  assert.deepEqual(tfjsLengths({ masking: "none" }, { shape: [1, 3], data: [0, 0, 0] }), [3]);
  assert.throws(() => tfjsLengths({ masking: "zero" }, { shape: [1, 4], data: [5, 0, 3, 0] }), /sequence 0: step 1 is masked before the valid step 2/);
  assert.throws(() => tfjsLengths({ masking: "zero" }, { shape: [2, 2], data: [5, 1, 0, 0] }), /sequence 1: expected at least one unmasked step/);
  assert.throws(() => tfjsLengths({ masking: "zero" }, { shape: [2, 2], data: [5, 1, 0] }), /expected batch-major \[B, T\] ids/);
});

test("tfjs import: a Keras-converted model.json (model_config wrapper, InputLayer, Keras 2 weight names, Dense on a sequence) and Keras 3's hard_sigmoid refused", async () => {
  const m = tf.sequential({ layers: [
    L.embedding({ inputDim: 8, outputDim: 3, inputShape: [null], name: "embedding" }),
    L.bidirectional({ layer: L.lstm({ units: 3, returnSequences: true, name: "lstm" }) as never, name: "bidirectional" }),
    L.dense({ units: 4, activation: "softmax", name: "dense" }),
  ] });
  randomizeTf(m, 30);
  const s = await save(m);
  // what tensorflowjs_converter writes for tf.keras 2: names with the cell, the config wrapped, an InputLayer first
  const rename: Record<string, string> = {
    "embedding/embeddings": "embedding/embeddings",
    "bidirectional/forward_lstm/kernel": "bidirectional/forward_lstm/lstm_cell/kernel",
    "bidirectional/forward_lstm/recurrent_kernel": "bidirectional/forward_lstm/lstm_cell/recurrent_kernel",
    "bidirectional/forward_lstm/bias": "bidirectional/forward_lstm/lstm_cell/bias",
    "bidirectional/backward_lstm/kernel": "bidirectional/backward_lstm/lstm_cell/kernel",
    "bidirectional/backward_lstm/recurrent_kernel": "bidirectional/backward_lstm/lstm_cell/recurrent_kernel",
    "bidirectional/backward_lstm/bias": "bidirectional/backward_lstm/lstm_cell/bias",
    "dense/kernel": "dense/kernel",
    "dense/bias": "dense/bias",
  };
  const specs = s.json.weightSpecs!.map((w) => {
    assert.ok(rename[w.name], `TF.js names ${w.name}`);
    return { ...w, name: rename[w.name] };
  });
  const topo = s.json.modelTopology as { config: { layers: unknown[] } };
  const keras = {
    format: "layers-model", generatedBy: "keras v2.15.0", convertedBy: "TensorFlow.js Converter v4.22.0",
    modelTopology: { keras_version: "2.15.0", backend: "tensorflow", model_config: { class_name: "Sequential", config: { name: "sequential", layers: [{ class_name: "InputLayer", config: { batch_input_shape: [null, null], dtype: "float32", name: "input_1" } }, ...topo.config.layers] } } },
    weightsManifest: [{ paths: ["group1-shard1of1.bin"], weights: specs }],
  };
  const imp = loadTfjsModel(keras as TfjsModelJson, [s.data]);
  assert.equal(imp.model.config.task, "tag");
  const x = inputs(31, { vocab: 8, lengths: [6, 6, 6] });
  const ref = (m.predict(x.tf) as import("@tensorflow/tfjs").Tensor).dataSync() as Float32Array;
  close("keras-converted bi lstm, Dense per step", predictLike(imp.model, x.batch, ref), ref);
  imp.model.dispose();
  const k3 = JSON.parse(JSON.stringify(keras)) as typeof keras;
  k3.modelTopology.keras_version = "3.3.3";
  assert.throws(() => loadTfjsModel(k3 as TfjsModelJson, [s.data]), /layer "lstm" \(LSTM\): recurrent_activation hard_sigmoid of Keras 3.3.3/);
});
