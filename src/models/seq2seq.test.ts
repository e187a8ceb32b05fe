/**
 * Seq2Seq: float64 gradient checks of the whole model (every attention kind, LSTM and GRU,
 * stacked bidirectional encoder, bridge, variable source and target lengths), padding never
 * matters, a save/load round trip, training on a copy task, and bad input.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { createWasmBackendSync } from "../backend/wasm/wasm.js";
import type { Batch } from "../data/batch.js";
import { type Example, padPairs } from "../data/batches.js";
import { EOS } from "../data/tokenizer.js";
import { translate } from "../decode/seq2seq.js";
import { loadModel, saveModel } from "../io/model-file.js";
import { Rng } from "../rng.js";
import { RnnkitError } from "../tensor.js";
import { centralDifference } from "../testing.js";
import { fit } from "../train/trainer.js";
import { Seq2Seq, type Seq2SeqConfig } from "./seq2seq.js";

const f64 = new JsBackend({ dtype: "float64" });

function pairs(n: number, seed: number, V = 9): Example[] {
  const rng = new Rng(seed);
  const lens = [[4, 3], [2, 5], [3, 1]];
  return Array.from({ length: n }, (_, i) => {
    const [s, u] = lens[i % lens.length];
    const tokens = Array.from({ length: s }, () => 4 + Math.floor(rng.next() * (V - 4)));
    const target = [...Array.from({ length: u - 1 }, () => 4 + Math.floor(rng.next() * (V - 4))), EOS];
    return { tokens, target };
  });
}

function checkModel(name: string, cfg: Seq2SeqConfig, batch: Batch, prepare?: (m: Seq2Seq) => void): void {
  const model = new Seq2Seq(cfg, { backend: f64 });
  prepare?.(model);
  const loss = () => {
    prepare?.(model);
    return model.loss(batch, model.forward(batch).logits).loss;
  };
  model.zeroGrad();
  model.lossAndBackward(batch);
  let n = 0;
  const names = model.parameters().map((p) => p.name);
  for (const p of model.parameters()) {
    const step = Math.max(1, Math.floor(p.value.data.length / 30));
    for (let i = 0; i < p.value.data.length; i += step) {
      const numeric = centralDifference(p.value.data, i, loss);
      assert.ok(Math.abs(numeric - p.grad.data[i]) <= 1e-7 + 1e-5 * Math.abs(numeric), `${name}: ${p.name}[${i}]: ${p.grad.data[i]} vs ${numeric}`);
      n++;
    }
  }
  assert.ok(n > 50, `${name}: ${n} checks over ${names.join(", ")}`);
}

const batch = padPairs(pairs(3, 1));
const base = { sourceVocabSize: 9, targetVocabSize: 9, embeddingDim: 3, hiddenSize: 4 };

test("padPairs: time-major, padded, lengths of both sides", () => {
  assert.deepEqual(batch.lengths, [4, 2, 3]);
  assert.deepEqual(batch.targetLengths, [3, 5, 1]);
  assert.equal(batch.T, 4);
  assert.equal(batch.U, 5);
  assert.equal(batch.targets!.length, 15);
  assert.equal(batch.targets![2 * 3 + 0], EOS);
  assert.equal(batch.targets![0 * 3 + 2], EOS);
});

test("gradient check: plain encoder-decoder (attention none), LSTM, stacked", () => {
  checkModel("none", { ...base, cell: "lstm", numLayers: 2, attention: "none" }, batch);
});

test("gradient check: luong, bidirectional 2-layer LSTM encoder, 1-layer decoder with a bridge", () => {
  checkModel("luong", { ...base, cell: "lstm", numLayers: 2, decoderLayers: 1, bidirectional: true, decoderHiddenSize: 5, attention: "luong" }, batch);
});

test("gradient check: luong-dot, GRU, bidirectional encoder (decoder size = 2H, no bridge)", () => {
  const m = new Seq2Seq({ ...base, cell: "gru", bidirectional: true, attention: "luong-dot" }, { backend: f64 });
  assert.equal(m.bridgeH, null);
  checkModel("luong-dot", { ...base, cell: "gru", bidirectional: true, attention: "luong-dot" }, batch);
});

test("gradient check: bahdanau, LSTM, 2-layer decoder over a 1-layer encoder, bridge", () => {
  checkModel("bahdanau", { ...base, cell: "lstm", decoderLayers: 2, hiddenSize: 3, decoderHiddenSize: 4, attention: "bahdanau" }, batch);
});

test("gradient check: bahdanau, GRU encoder, LSTM decoder (c starts at zero), bidirectional", () => {
  checkModel("bahdanau-gru", { ...base, cell: "gru", decoderCell: "lstm", bidirectional: true, attention: "bahdanau" }, batch);
});

test("gradient check: luong, tanh-RNN encoder, GRU decoder deeper than the encoder, bridge (the encoder's c is not needed)", () => {
  checkModel("rnn-gru", { ...base, cell: "rnn", decoderCell: "gru", decoderLayers: 2, decoderHiddenSize: 5, attention: "luong", resetAfter: false }, batch);
});

test("gradient check: plain encoder-decoder, LSTM encoder, relu-RNN decoder", () => {
  checkModel("lstm-relu", { ...base, cell: "lstm", decoderCell: "rnn_relu", attention: "none" }, batch);
});

test("gradient check: bahdanau with dropout between decoder layers (the recomputed steps replay the same masks)", () => {
  // the same masks in every forward: the decoder's mask generator restarts before each one
  const replay = (m: Seq2Seq) => {
    m.train();
    (m.decoder as unknown as { rng: Rng }).rng = new Rng(77);
  };
  checkModel("bahdanau-dropout", { ...base, cell: "gru", decoderLayers: 3, dropout: 0.4, attention: "bahdanau" }, batch, replay);
});

test("dropout: active in training mode only", () => {
  const model = new Seq2Seq({ ...base, cell: "lstm", numLayers: 2, dropout: 0.5, attention: "luong" }, { backend: f64 });
  model.eval();
  const a = model.lossOf(batch).loss;
  assert.equal(model.lossOf(batch).loss, a);
  model.train();
  const b = model.lossOf(batch).loss, c = model.lossOf(batch).loss;
  assert.ok(b !== a || c !== a, "dropout changes the training loss");
  model.eval();
  assert.equal(model.lossOf(batch).loss, a);
});

test("padding never matters: other ids past either length change nothing", () => {
  for (const attention of ["luong", "bahdanau"] as const) {
    const model = new Seq2Seq({ ...base, cell: "lstm", attention }, { backend: f64 });
    const a = model.forward(batch, { attention: true });
    const other: Batch = { ...batch, tokens: Array.from(batch.tokens!), targets: Array.from(batch.targets!) };
    for (let t = 0; t < batch.T; t++) for (let b = 0; b < batch.B; b++) if (t >= batch.lengths[b]) (other.tokens as number[])[t * batch.B + b] = 8;
    for (let t = 0; t < batch.U!; t++) for (let b = 0; b < batch.B; b++) if (t >= batch.targetLengths![b]) (other.targets as number[])[t * batch.B + b] = 7;
    const c = model.forward(other, { attention: true });
    const l1 = model.loss(batch, a.logits).loss, l2 = model.loss(other, c.logits).loss;
    assert.equal(l1, l2);
    assert.deepEqual(a.attention!.shape, [batch.U, batch.B, batch.T]);
    for (let u = 0; u < batch.U!; u++) for (let b = 0; b < batch.B; b++) for (let s = batch.lengths[b]; s < batch.T; s++) assert.equal(a.attention!.data[(u * batch.B + b) * batch.T + s], 0);
  }
});

test("stateDict names are prefixed by part with PyTorch names inside; save and load give the same outputs", () => {
  const model = new Seq2Seq({ ...base, cell: "lstm", numLayers: 2, bidirectional: true, decoderHiddenSize: 6, attention: "bahdanau", seed: 4 });
  const names = Object.keys(model.stateDict());
  for (const n of ["encoder.embedding.weight", "encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l1_reverse", "decoder.embedding.weight", "decoder.rnn.bias_hh_l1",
    "bridge.h.weight", "bridge.c.bias", "attention.query.weight", "attention.key.weight", "attention.v.weight", "combine.weight", "head.weight", "head.bias"]) {
    assert.ok(names.includes(n), `missing ${n} in ${names.join(", ")}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-s2s-"));
  const path = join(dir, "s2s.safetensors");
  saveModel(path, model);
  const back = loadModel(path).model;
  assert.ok(back instanceof Seq2Seq);
  assert.equal(back.kind, "seq2seq");
  assert.deepEqual(back.config, model.config);
  assert.deepEqual(Array.from(back.forward(batch).logits.data), Array.from(model.forward(batch).logits.data));
  const src = [[4, 5, 6], [7, 8]];
  assert.deepEqual(translate(back, src, { beam: 3 }), translate(model, src, { beam: 3 }));
});

test("trains a reverse task with fit to high exact-match accuracy", async () => {
  const rng = new Rng(3);
  const V = 10;
  const make = (n: number) => Array.from({ length: n }, () => {
    const len = 2 + Math.floor(rng.next() * 3);
    const s = Array.from({ length: len }, () => 4 + Math.floor(rng.next() * (V - 4)));
    return { tokens: s, target: [...s].reverse().concat([EOS]) };
  });
  const train = make(600), test = make(50);
  const model = new Seq2Seq({ cell: "gru", sourceVocabSize: V, targetVocabSize: V, embeddingDim: 16, hiddenSize: 32, attention: "luong", seed: 1 });
  const t0 = Date.now();
  await fit(model, { kind: "examples", train }, { epochs: 12, batchSize: 32, optimizerOptions: { lr: 0.01 }, seed: 1 });
  const out = translate(model, test.map((e) => e.tokens));
  const exact = out.filter((o, i) => o.ids.join() === test[i].target.slice(0, -1).join()).length / test.length;
  assert.ok(exact >= 0.9, `exact match ${exact} after ${Date.now() - t0} ms`);
});

test("bad input: wrong config, missing targets, ids out of range", () => {
  const err = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: Error) => e instanceof RnnkitError && re.test(e.message), re.source);
  err(() => new Seq2Seq({ ...base, cell: "lstmx" as "lstm" }), /cell: expected one of lstm, gru, rnn, rnn_relu, got string lstmx/);
  err(() => new Seq2Seq({ ...base, cell: "lstm", attention: "dot" as "luong" }), /attention: expected one of none, luong, luong-dot, bahdanau, got string dot/);
  err(() => new Seq2Seq({ ...base, cell: "lstm", hiddenSize: 0 }), /hiddenSize: expected a positive integer, got number 0/);
  err(() => new Seq2Seq({ ...base, cell: "lstm", sourceVocabSize: 3 }), /sourceVocabSize: expected at least 4 ids/);
  err(() => new Seq2Seq({ ...base, cell: "lstm", attention: "luong-dot", decoderHiddenSize: 3 }), /expected decoderHiddenSize = the encoder output size D\*H = 4, got 3/);
  const model = new Seq2Seq({ ...base, cell: "gru" }, { backend: f64 });
  err(() => model.forward({ ...batch, targets: undefined }), /targets: expected \[U\*B\] target ids/);
  err(() => model.forward({ ...batch, U: undefined }), /U: expected the number of target steps/);
  const bad = Array.from(batch.tokens!);
  bad[1] = 9;
  err(() => model.forward({ ...batch, tokens: bad }), /tokens\[1\] \(step 0, sequence 1\): expected an id in \[0, V-1\] = \[0, 8\], got number 9/);
  err(() => model.lossAndBackward({ ...batch, targetLengths: [3, 6, 1] }), /targetLengths\[1\]: expected an integer in \[1, U\] = \[1, 5\], got number 6/);
  err(() => padPairs([{ tokens: [4, 5], target: [4, 5] }]), /target: expected ids ending with <eos> = 3, got last id 5/);
  err(() => padPairs([{ tokens: [], target: [3] }]), /expected at least one source id/);
  err(() => translate(model, [[4, 12]]), /tokens\[1\] \(step 1, sequence 0\): expected an id in \[0, V-1\] = \[0, 8\], got number 12/);
  err(() => translate(model, [[4]], { beam: 0 }), /beam: expected an integer >= 1, got number 0/);
  err(() => translate(model, [[4]], { beam: 2, temperature: 1 }), /expected sampling \(temperature > 0\) with beam 1, got beam 2/);
  err(() => translate(model, [[4]], { maxLength: 100000 }), /maxLength: expected an integer in \[1, 256\], got number 100000/);
});

test("the wasm backend agrees with the js reference (loss, every gradient, decoding logits), and gives its memory back", () => {
  const wasm = createWasmBackendSync();
  const js = new JsBackend();
  for (const attention of ["none", "luong", "luong-dot", "bahdanau"] as const) {
    const c: Seq2SeqConfig = { ...base, cell: "lstm", bidirectional: true, numLayers: 2, decoderLayers: 2, attention, decoderHiddenSize: attention === "luong-dot" ? 8 : 6, seed: 5 };
    const a = new Seq2Seq(c, { backend: js }), b = new Seq2Seq(c, { backend: wasm });
    a.zeroGrad();
    b.zeroGrad();
    const la = a.lossAndBackward(batch), lb = b.lossAndBackward(batch);
    assert.ok(Math.abs(la.loss - lb.loss) < 1e-5, `${attention}: loss ${la.loss} vs ${lb.loss}`);
    const pb = b.parameters();
    a.parameters().forEach((p, k) => p.grad.data.forEach((v, i) => assert.ok(Math.abs(v - pb[k].grad.data[i]) < 1e-5 + 1e-4 * Math.abs(v), `${attention}: ${p.name}[${i}]`)));
    const sa = a.startDecoding([[4, 5, 6], [7]], 2), sb = b.startDecoding([[4, 5, 6], [7]], 2);
    const ra = a.decodeStep([2, 2, 5, 6], sa), rb = b.decodeStep([2, 2, 5, 6], sb);
    ra.logits.forEach((v, i) => assert.ok(Math.abs(v - rb.logits[i]) < 1e-5));
    b.dispose();
  }
  const before = wasm.allocatedBytes;
  for (let i = 0; i < 5; i++) {
    const m = new Seq2Seq({ ...base, cell: "gru", attention: i % 2 ? "bahdanau" : "luong", seed: i }, { backend: wasm });
    m.lossAndBackward(batch);
    translate(m, [[4, 5], [6]], { beam: 2 });
    m.dispose();
  }
  assert.equal(wasm.allocatedBytes, before, "every array of the 5 models came back");
});

test("bridge: without one, decoder layer l starts from encoder layer l + Le - Ld, directions side by side", () => {
  const m = new Seq2Seq({ ...base, cell: "lstm", numLayers: 3, decoderLayers: 2, bidirectional: true, attention: "none" }, { backend: f64 });
  const src = [[4, 5, 6], [7, 8]];
  const st = m.startDecoding(src, 1);
  // the encoder alone, on the same padded batch
  const tokens = [4, 7, 5, 8, 6, 0];
  const x = m.encoderEmbedding.forward({ shape: [3, 2], data: tokens });
  const enc = m.encoder.forward(x, { lengths: [3, 2] });
  const H = 4;
  for (const [l, k] of [[0, 1], [1, 2]]) for (let b = 0; b < 2; b++) for (let d = 0; d < 2; d++) for (let j = 0; j < H; j++) {
    assert.equal(st.h.data[(l * 2 + b) * 2 * H + d * H + j], enc.h.data[((k * 2 + d) * 2 + b) * H + j]);
    assert.equal(st.c!.data[(l * 2 + b) * 2 * H + d * H + j], enc.c!.data[((k * 2 + d) * 2 + b) * H + j]);
  }
});

/** The definition of the model, one sequence at a time with plain loops (LSTM parts, one layer each). */
function naiveLogits(model: Seq2Seq, src: number[], tgt: number[]): number[][] {
  const w = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, Array.from(v.data)]));
  const cfg = model.config;
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const matvec = (W: number[], x: number[], rows: number, b?: number[]) =>
    Array.from({ length: rows }, (_, r) => x.reduce((s, v, j) => s + W[r * x.length + j] * v, b ? b[r] : 0));
  const lstm = (p: string, x: number[], h: number[], c: number[]) => {
    const H = h.length;
    const gx = matvec(w[`${p}weight_ih_l0`], x, 4 * H, w[`${p}bias_ih_l0`]), gh = matvec(w[`${p}weight_hh_l0`], h, 4 * H, w[`${p}bias_hh_l0`]);
    const g = gx.map((v, i) => v + gh[i]);
    const c2 = c.map((cv, j) => sig(g[H + j]) * cv + sig(g[j]) * Math.tanh(g[2 * H + j]));
    return { h: c2.map((cv, j) => sig(g[3 * H + j]) * Math.tanh(cv)), c: c2 };
  };
  const emb = (name: string, id: number, E: number) => w[name].slice(id * E, (id + 1) * E);
  const E = cfg.embeddingDim, H = cfg.hiddenSize, Hd = cfg.decoderHiddenSize, V = cfg.targetVocabSize;
  let h = new Array<number>(H).fill(0), c = new Array<number>(H).fill(0);
  const mem: number[][] = [];
  for (const id of src) {
    ({ h, c } = lstm("encoder.rnn.", emb("encoder.embedding.weight", id, E), h, c));
    mem.push(h);
  }
  let s = matvec(w["bridge.h.weight"], h, Hd, w["bridge.h.bias"]).map(Math.tanh);
  let cs = matvec(w["bridge.c.weight"], c, Hd, w["bridge.c.bias"]).map(Math.tanh);
  const attend = (q: number[]) => {
    const scores = mem.map((e) => {
      if (cfg.attention === "luong") return matvec(w["attention.weight"], e, Hd).reduce((a, k, i) => a + k * q[i], 0);
      const z = matvec(w["attention.query.weight"], q, Hd).map((v, i) => v + matvec(w["attention.key.weight"], e, Hd)[i]);
      return z.reduce((a, v, i) => a + w["attention.v.weight"][i] * Math.tanh(v), 0);
    });
    const mx = Math.max(...scores);
    const ex = scores.map((v) => Math.exp(v - mx));
    const sum = ex.reduce((a, v) => a + v, 0);
    return Array.from({ length: H }, (_, j) => mem.reduce((a, e, t) => a + (ex[t] / sum) * e[j], 0));
  };
  const out: number[][] = [];
  tgt.forEach((_, u) => {
    const e = emb("decoder.embedding.weight", u === 0 ? 2 : tgt[u - 1], E);
    let top: number[];
    if (cfg.attention === "none") {
      ({ h: s, c: cs } = lstm("decoder.rnn.", e, s, cs));
      top = s;
    } else if (cfg.attention === "luong") {
      ({ h: s, c: cs } = lstm("decoder.rnn.", e, s, cs));
      top = matvec(w["combine.weight"], [...attend(s), ...s], Hd).map(Math.tanh);
    } else {
      const ctx = attend(s);
      ({ h: s, c: cs } = lstm("decoder.rnn.", [...e, ...ctx], s, cs));
      top = matvec(w["combine.weight"], [...ctx, ...s], Hd).map(Math.tanh);
    }
    out.push(matvec(w["head.weight"], top, V, w["head.bias"]));
  });
  return out;
}

test("value test: the teacher-forced logits equal a plain-loop definition of the model (none, luong, bahdanau)", () => {
  const ex = pairs(3, 6);
  const b = padPairs(ex);
  for (const attention of ["none", "luong", "bahdanau"] as const) {
    const model = new Seq2Seq({ ...base, cell: "lstm", decoderHiddenSize: 5, attention, seed: 8 }, { backend: f64 });
    const { logits } = model.forward(b);
    const V = base.targetVocabSize;
    ex.forEach((e, k) => {
      const want = naiveLogits(model, Array.from(e.tokens!), e.target as number[]);
      want.forEach((row, u) => row.forEach((v, i) => {
        const got = logits.data[(u * b.B + k) * V + i];
        assert.ok(Math.abs(got - v) < 1e-12, `${attention}: logits[${u}, ${k}, ${i}] ${got} vs ${v}`);
      }));
    });
  }
});
