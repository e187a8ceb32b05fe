/**
 * The ONNX export, run in ONNX Runtime (onnxruntime-node, CPU) and compared with rnnkit's own
 * outputs within 1e-5 + 1e-4*|ref|: every cell kind (LSTM, GRU reset-after and reset-before,
 * RNN tanh and relu, hard-sigmoid gates), stacked, bidirectional, variable lengths through
 * sequence_lens, every task head (classify with each pooling, tag, lm with a carried and a
 * conditioned state, regress with its scaler), and the seq2seq encoder + decoder step driven by
 * greedy decoding from JS, equal to `translate`.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { Scaler } from "../data/scaler.js";
import { translate } from "../decode/seq2seq.js";
import { type ModelConfig, SequenceModel } from "../models/sequence-model.js";
import { Seq2Seq, type Seq2SeqConfig } from "../models/seq2seq.js";
import type { Model } from "../models/model.js";
import { Rng } from "../rng.js";
import { RnnkitError, type Tensor } from "../tensor.js";
import { exportOnnx, exportSeq2SeqOnnx } from "./onnx.js";
import { softmaxRows } from "../testing.js";

type Ort = typeof import("onnxruntime-node");
const ort = createRequire(import.meta.url)("onnxruntime-node") as Ort;

/** Weights U(-scale, scale): larger than the default initialisation, so that gates saturate and hard-sigmoid clips. */
function randomize(model: Model, seed: number, scale = 0.7): void {
  const rng = new Rng(seed);
  const sd: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) sd[k] = { shape: t.shape, data: Float32Array.from(t.data, () => rng.uniform(-scale, scale)) };
  model.loadStateDict(sd);
}

/** Every |got - ref| <= 1e-5 + 1e-4 |ref|. */
function close(what: string, got: ArrayLike<number>, ref: ArrayLike<number>): void {
  assert.equal(got.length, ref.length, `${what}: ${got.length} values, expected ${ref.length}`);
  let worst = -1, at = -1;
  for (let i = 0; i < ref.length; i++) {
    const over = Math.abs(got[i] - ref[i]) - (1e-5 + 1e-4 * Math.abs(ref[i]));
    if (!(over <= 0) && (at < 0 || over > worst)) {
      worst = over;
      at = i;
    }
  }
  assert.ok(at < 0, `${what}: at ${at}: onnxruntime ${got[at]}, rnnkit ${ref[at]}`);
}

const i64 = (v: ArrayLike<number>, dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(Array.from(v), (x) => BigInt(x)), dims);
const f32 = (v: ArrayLike<number>, dims: number[]) => new ort.Tensor("float32", Float32Array.from(v), dims);

async function run(bytes: Uint8Array, feeds: Record<string, InstanceType<Ort["Tensor"]>>): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "disabled" });
  try {
    const r = await s.run(feeds);
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

const T = 6, B = 3, lengths = [6, 2, 4];

/** Runs a SequenceModel's export and its forward on one batch (padding holds random ids/numbers) and compares every output. */
async function checkSequence(cfg: ModelConfig, seed: number, opts: { scaler?: Scaler; state?: boolean; opset?: number } = {}): Promise<void> {
  const model = new SequenceModel(cfg);
  randomize(model, seed);
  const rng = new Rng(seed + 1);
  const batch: Parameters<SequenceModel["forward"]>[0] = { T, B, lengths };
  const feeds: Record<string, InstanceType<Ort["Tensor"]>> = { lengths: i64(lengths, [B]) };
  if (cfg.vocabSize) {
    // padding positions hold random ids too: neither side may read them
    const ids = Array.from({ length: T * B }, () => 1 + Math.floor(rng.uniform(0, 1) * (cfg.vocabSize! - 1)));
    batch.tokens = ids.map((v, i) => (Math.floor(i / B) < lengths[i % B] ? v : 0));
    feeds.tokens = i64(ids, [T, B]);
  } else {
    const X = cfg.inputSize!;
    const raw = Array.from({ length: T * B * X }, () => rng.uniform(-2, 5));
    feeds.inputs = f32(raw, [T, B, X]);
    batch.inputs = opts.scaler ? raw.map((v, i) => opts.scaler!.transform(v, i % X)) : raw;
  }
  const D = cfg.bidirectional ? 2 : 1, L = cfg.numLayers ?? 1, H = cfg.hiddenSize;
  if (cfg.task === "lm" && !cfg.conditionSize) {
    const h0 = Float32Array.from({ length: L * D * B * H }, () => (opts.state ? rng.uniform(-1, 1) : 0));
    const c0 = Float32Array.from({ length: L * D * B * H }, () => (opts.state ? rng.uniform(-1, 1) : 0));
    feeds.h0 = f32(h0, [L * D, B, H]);
    if (opts.state) batch.h0 = { shape: [L * D, B, H], data: h0 };
    if (cfg.cell === "lstm") {
      feeds.c0 = f32(c0, [L * D, B, H]);
      if (opts.state) batch.c0 = { shape: [L * D, B, H], data: c0 };
    }
  }
  if (cfg.conditionSize) {
    const cond = Array.from({ length: B * cfg.conditionSize }, () => rng.uniform(-1, 1));
    feeds.condition = f32(cond, [B, cfg.conditionSize]);
    batch.condition = cond;
  }
  const ref = model.forward(batch);
  const got = await run(exportOnnx(model, { ...(opts.scaler ? { scaler: opts.scaler } : {}), ...(opts.opset ? { opset: opts.opset } : {}) }), feeds);
  const O = cfg.outputSize;
  const name = `${cfg.task} ${cfg.cell}${cfg.resetAfter === false ? " reset-before" : ""}${cfg.recurrentActivation === "hardSigmoid" ? " hardSigmoid" : ""} L${L} D${D}`;
  if (cfg.task === "regress") {
    const want = opts.scaler ? Array.from(ref.logits.data, (v) => opts.scaler!.inverse(v, 0)) : ref.logits.data;
    close(`${name}: values`, got.values, want);
  } else close(`${name}: probs`, got.probs, softmaxRows(ref.logits.data, O));
  if (cfg.task === "lm") {
    close(`${name}: h_n`, got.h_n, ref.h.data);
    if (cfg.cell === "lstm") close(`${name}: c_n`, got.c_n, ref.c!.data);
  }
  model.dispose();
}

test("onnx: every cell kind, stacked and bidirectional, with variable lengths (tag heads) equals rnnkit", async () => {
  const base = { task: "tag" as const, vocabSize: 13, embeddingDim: 4, hiddenSize: 5, numLayers: 2, bidirectional: true, outputSize: 7 };
  let seed = 10;
  for (const cell of ["lstm", "gru", "rnn", "rnn_relu"] as const) await checkSequence({ ...base, cell }, seed++);
  await checkSequence({ ...base, cell: "gru", resetAfter: false }, seed++);
  for (const cell of ["lstm", "gru"] as const) await checkSequence({ ...base, cell, recurrentActivation: "hardSigmoid" }, seed++);
  await checkSequence({ ...base, cell: "gru", resetAfter: false, recurrentActivation: "hardSigmoid", numLayers: 1, bidirectional: false }, seed++);
});

test("onnx: classify with last, mean and max pooling (softmax in the graph)", async () => {
  const base = { task: "classify" as const, vocabSize: 11, embeddingDim: 3, hiddenSize: 4, outputSize: 3 };
  let seed = 30;
  for (const pooling of ["last", "mean", "max"] as const) {
    await checkSequence({ ...base, cell: "lstm", pooling, bidirectional: true, numLayers: 2 }, seed++);
    await checkSequence({ ...base, cell: "gru", pooling }, seed++);
  }
  await checkSequence({ ...base, cell: "rnn", pooling: "last", bidirectional: true, recurrentActivation: undefined }, seed++);
  // the lowest and the highest opset the export writes
  for (const opset of [14, 21]) for (const pooling of ["mean", "max"] as const) await checkSequence({ ...base, cell: "lstm", pooling, bidirectional: true }, seed++, { opset });
});

test("onnx: lm from a zero and from a carried state, and a conditioned lm, with the final state out", async () => {
  const base = { task: "lm" as const, vocabSize: 9, embeddingDim: 4, hiddenSize: 6, outputSize: 9 };
  await checkSequence({ ...base, cell: "lstm", numLayers: 2 }, 40);
  await checkSequence({ ...base, cell: "lstm", numLayers: 2 }, 41, { state: true });
  await checkSequence({ ...base, cell: "gru", numLayers: 1 }, 42, { state: true });
  await checkSequence({ ...base, cell: "gru", numLayers: 2, conditionSize: 3 }, 43);
});

test("onnx: regress on numbers, raw and through the model file's scaler", async () => {
  const cfg = { task: "regress" as const, cell: "gru" as const, inputSize: 2, hiddenSize: 5, numLayers: 2, outputSize: 2 };
  await checkSequence(cfg, 50);
  const rows = Array.from({ length: 20 }, (_, i) => [Math.sin(i) * 3 + 10, i * 0.5]);
  await checkSequence(cfg, 51, { scaler: Scaler.fit("standard", rows) });
  await checkSequence({ ...cfg, cell: "lstm", bidirectional: true, pooling: "mean" }, 52, { scaler: Scaler.fit("minmax", rows) });
});

/** Greedy decoding in ONNX Runtime, driven from here as a deployment would. */
async function onnxGreedy(model: Seq2Seq, sources: number[][]): Promise<number[][]> {
  const { encoder, decoder } = exportSeq2SeqOnnx(model);
  const enc = await ort.InferenceSession.create(encoder);
  const dec = await ort.InferenceSession.create(decoder);
  try {
    const N = sources.length, S = Math.max(...sources.map((s) => s.length)), V = model.config.targetVocabSize;
    const src = new Array<number>(S * N).fill(0);
    sources.forEach((s, b) => s.forEach((id, t) => (src[t * N + b] = id)));
    const lens = i64(sources.map((s) => s.length), [N]);
    const e = await enc.run({ source: i64(src, [S, N]), source_lengths: lens });
    let h = e.h0, c = e.c0;
    const prev = new Array<number>(N).fill(2);
    const out: number[][] = sources.map(() => []), done = sources.map(() => false);
    const maxLen = sources.map((s) => Math.min(2 * s.length + 10, 256));
    const attends = model.config.attention !== "none";
    for (let step = 1; done.includes(false); step++) {
      const feeds: Record<string, InstanceType<Ort["Tensor"]>> = { prev: i64(prev, [N]), h };
      if (c) feeds.c = c;
      if (attends) Object.assign(feeds, { memory: e.memory, source_lengths: lens });
      const r = await dec.run(feeds);
      const logits = r.logits.data as Float32Array;
      for (let b = 0; b < N; b++) {
        if (done[b]) continue;
        let pick = -1;
        for (let v = 0; v < V; v++) if (v !== 0 && v !== 2 && (pick < 0 || logits[b * V + v] > logits[b * V + pick])) pick = v;
        if (pick === 3 || step === maxLen[b]) done[b] = true;
        if (pick !== 3) out[b].push(pick);
        prev[b] = pick;
      }
      h = r.h_next;
      c = r.c_next;
    }
    return out;
  } finally {
    await enc.release();
    await dec.release();
  }
}

test("onnx: seq2seq encoder + decoder step, greedy from JS, equals translate (every attention, bridges, layer counts)", async () => {
  const rng = new Rng(7);
  const sources = [5, 2, 7, 4].map((n) => Array.from({ length: n }, () => 4 + Math.floor(rng.uniform(0, 1) * 8)));
  const cases: Seq2SeqConfig[] = [
    { cell: "lstm", sourceVocabSize: 12, targetVocabSize: 10, embeddingDim: 4, hiddenSize: 5, attention: "none" },
    { cell: "gru", sourceVocabSize: 12, targetVocabSize: 10, embeddingDim: 4, hiddenSize: 3, bidirectional: true, attention: "luong-dot", numLayers: 2 },
    { cell: "lstm", sourceVocabSize: 12, targetVocabSize: 10, embeddingDim: 4, hiddenSize: 3, bidirectional: true, decoderHiddenSize: 5, attention: "luong", numLayers: 2, decoderLayers: 1 },
    { cell: "gru", decoderCell: "lstm", sourceVocabSize: 12, targetVocabSize: 10, embeddingDim: 3, hiddenSize: 4, decoderHiddenSize: 6, attention: "bahdanau", decoderLayers: 2 },
    { cell: "rnn", sourceVocabSize: 12, targetVocabSize: 10, embeddingDim: 3, hiddenSize: 4, bidirectional: true, attention: "bahdanau", resetAfter: false },
    { cell: "gru", sourceVocabSize: 12, targetVocabSize: 10, embeddingDim: 3, hiddenSize: 4, attention: "luong", resetAfter: false, recurrentActivation: "hardSigmoid" },
  ];
  let seed = 60;
  for (const cfg of cases) {
    const model = new Seq2Seq(cfg);
    randomize(model, seed++, 0.9);
    const want = translate(model, sources).map((t) => t.ids);
    const got = await onnxGreedy(model, sources);
    assert.deepEqual(got, want, `${cfg.cell}/${cfg.decoderCell ?? cfg.cell} ${cfg.attention}`);
    assert.ok(want.some((ids) => ids.length > 1), "the decoding runs several steps");
    model.dispose();
  }
});

test("onnx: the decoder step's logits and attention equal Seq2Seq.decodeStep", async () => {
  const model = new Seq2Seq({ cell: "lstm", sourceVocabSize: 9, targetVocabSize: 8, embeddingDim: 3, hiddenSize: 4, bidirectional: true, attention: "bahdanau" });
  randomize(model, 70);
  const sources = [[4, 5, 6], [7, 8]];
  const { encoder, decoder } = exportSeq2SeqOnnx(model);
  const e = await run(encoder, { source: i64([4, 7, 5, 8, 6, 0], [3, 2]), source_lengths: i64([3, 2], [2]) });
  let state = model.startDecoding(sources);
  close("h0", e.h0, state.h.data);
  close("c0", e.c0, state.c!.data);
  let h = e.h0, c = e.c0;
  for (const prev of [[2, 2], [5, 3], [4, 4]]) {
    const r = model.decodeStep(prev, state);
    const o = await run(decoder, { prev: i64(prev, [2]), h: f32(h, [1, 2, 8]), c: f32(c, [1, 2, 8]), memory: f32(e.memory, [3, 2, 8]), source_lengths: i64([3, 2], [2]) });
    close("logits", o.logits, r.logits);
    close("attention", o.attention, r.weights!);
    close("h_next", o.h_next, r.state.h.data);
    state = r.state;
    h = o.h_next;
    c = o.c_next;
  }
  model.dispose();
});

test("onnx: the wrong model kind or opset is refused with what was expected", () => {
  const s2s = new Seq2Seq({ cell: "gru", sourceVocabSize: 6, targetVocabSize: 6, hiddenSize: 3, embeddingDim: 2 });
  assert.throws(() => exportOnnx(s2s), (e: unknown) => e instanceof RnnkitError && /exportSeq2SeqOnnx/.test(e.message));
  const m = new SequenceModel({ task: "tag", cell: "gru", vocabSize: 5, hiddenSize: 3, outputSize: 2 });
  assert.throws(() => exportSeq2SeqOnnx(m), (e: unknown) => e instanceof RnnkitError && /exportOnnx/.test(e.message));
  assert.throws(() => exportOnnx(m, { opset: 9 }), (e: unknown) => e instanceof RnnkitError && /opset: expected an integer in \[14, 21\], got number 9/.test(e.message));
  s2s.dispose();
  m.dispose();
});
