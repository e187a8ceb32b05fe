/**
 * Gradient checks of whole models (float64): every task shape, every pooling, bidirectional,
 * conditioned generation; padding never matters.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { Rng } from "../rng.js";
import { centralDifference } from "../testing.js";
import type { Batch } from "../data/batch.js";
import { type ModelConfig, SequenceModel } from "./sequence-model.js";

const f64 = new JsBackend({ dtype: "float64" });

function checkModel(cfg: ModelConfig, batch: Batch): void {
  const model = new SequenceModel(cfg, { backend: f64 });
  const loss = () => model.loss(batch, model.forward(batch).logits).loss;
  model.zeroGrad();
  model.lossAndBackward(batch);
  let n = 0;
  for (const p of model.parameters()) {
    // every element of small parameters, a spread sample of large ones
    const step = Math.max(1, Math.floor(p.value.data.length / 40));
    for (let i = 0; i < p.value.data.length; i += step) {
      const numeric = centralDifference(p.value.data, i, loss);
      assert.ok(Math.abs(numeric - p.grad.data[i]) <= 1e-7 + 1e-5 * Math.abs(numeric), `${cfg.task}/${cfg.pooling}: ${p.name}[${i}]: ${p.grad.data[i]} vs ${numeric}`);
      n++;
    }
  }
  assert.ok(n > 20);
}

const rng = new Rng(8);
const T = 5, B = 3;
const lengths = [5, 2, 4];
const tokens = Array.from({ length: T * B }, () => 1 + Math.floor(rng.next() * 9));
const inputs = Array.from({ length: T * B * 2 }, () => rng.uniform(-1, 1));

test("gradient check: character language model (many-to-many)", () => {
  checkModel({ task: "lm", cell: "lstm", vocabSize: 10, embeddingDim: 4, hiddenSize: 5, numLayers: 2, outputSize: 10 },
    { T, B, lengths, tokens, targets: tokens.map((v) => (v + 1) % 10) });
});

test("gradient check: tagger, bidirectional GRU", () => {
  checkModel({ task: "tag", cell: "gru", vocabSize: 10, embeddingDim: 3, hiddenSize: 4, bidirectional: true, outputSize: 3 },
    { T, B, lengths, tokens, targets: tokens.map((v) => v % 3) });
});

for (const pooling of ["last", "mean", "max"] as const) {
  test(`gradient check: classifier (many-to-one), pooling ${pooling}, bidirectional`, () => {
    checkModel({ task: "classify", cell: "lstm", vocabSize: 10, embeddingDim: 3, hiddenSize: 4, bidirectional: true, pooling, outputSize: 3 },
      { T, B, lengths, tokens, targets: [0, 2, 1] });
  });
}

test("gradient check: regression on numbers (forecasting)", () => {
  checkModel({ task: "regress", cell: "rnn", inputSize: 2, hiddenSize: 4, numLayers: 2, outputSize: 1 },
    { T, B, lengths, inputs, targets: [0.5, -0.2, 0.1] });
});

test("gradient check: conditioned generation (one-to-many)", () => {
  checkModel({ task: "lm", cell: "gru", vocabSize: 10, embeddingDim: 3, hiddenSize: 4, numLayers: 2, conditionSize: 2, outputSize: 10 },
    { T, B, lengths, tokens, targets: tokens, condition: [0.5, -1, 0.2, 0.3, -0.7, 0.9] });
});

test("padding never matters: changing tokens past a length changes nothing", () => {
  const model = new SequenceModel({ task: "classify", cell: "lstm", vocabSize: 10, hiddenSize: 4, outputSize: 2, pooling: "mean" }, { backend: f64 });
  const a = model.forward({ T, B, lengths, tokens }).logits.data.slice();
  const other = tokens.slice();
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (t >= lengths[b]) other[t * B + b] = 7;
  const c = model.forward({ T, B, lengths, tokens: other }).logits.data;
  assert.deepEqual(Array.from(c), Array.from(a));
  assert.throws(() => new SequenceModel({ task: "lm", cell: "lstm", vocabSize: 5, hiddenSize: 3, outputSize: 5, bidirectional: true }), /cannot be bidirectional/);
  assert.throws(() => new SequenceModel({ task: "classify", cell: "lstm", hiddenSize: 3, outputSize: 5 }), /exactly one of vocabSize/);
});

test("ids and targets are checked before any cast: fractions, NaN, -1 and out-of-range values are errors", () => {
  const lm = new SequenceModel({ task: "lm", cell: "gru", vocabSize: 10, embeddingDim: 3, hiddenSize: 4, outputSize: 10 }, { backend: f64 });
  const ok = { T, B, lengths, tokens, targets: tokens };
  assert.ok(Number.isFinite(lm.lossOf(ok).loss));
  const at = (arr: number[], i: number, v: number) => arr.map((x, k) => (k === i ? v : x));
  for (const v of [2.7, NaN, -1, 10]) {
    assert.throws(() => lm.forward({ ...ok, tokens: at(tokens, 0, v) }), new RegExp(`tokens\\[0\\] \\(step 0, sequence 0\\): expected an id in \\[0, V-1\\] = \\[0, 9\\], got number ${v}`));
    assert.throws(() => lm.lossOf({ ...ok, targets: at(tokens, 1, v) }), /targets\[1\] \(step 0, sequence 1\): expected an id in \[0, V-1\] = \[0, 9\]/);
  }
  // padding (t >= length) may hold anything: sequence 1 has length 2, so position t=3, b=1 is padding
  assert.ok(Number.isFinite(lm.lossOf({ ...ok, tokens: at(tokens, 3 * B + 1, NaN), targets: at(tokens, 3 * B + 1, -1) }).loss));
  assert.throws(() => lm.forward({ ...ok, tokens: tokens.slice(1) }), /tokens: expected \[T\*B\] = \[5\*3\] = 15 ids, got 14/);
  assert.throws(() => lm.forward({ ...ok, lengths: [5, 0, 4] }), /batch.lengths\[1\]: expected an integer in \[1, T\] = \[1, 5\], got number 0/);
  assert.throws(() => lm.forward({ ...ok, B: 2.5 }), /batch.B: expected a positive integer/);
  const cls = new SequenceModel({ task: "classify", cell: "lstm", vocabSize: 10, hiddenSize: 4, outputSize: 3 }, { backend: f64 });
  for (const v of [1.5, NaN, -1, 3]) assert.throws(() => cls.lossOf({ T, B, lengths, tokens, targets: [0, v, 1] }), /targets\[1\].*expected an id in \[0, V-1\] = \[0, 2\]/);
  const reg = new SequenceModel({ task: "regress", cell: "rnn", inputSize: 2, hiddenSize: 3, outputSize: 1 }, { backend: f64 });
  assert.throws(() => reg.lossOf({ T, B, lengths, inputs, targets: [0.5, NaN, 0.1] }), /targets: expected finite numbers, got NaN/);
  assert.throws(() => reg.lossOf({ T, B, lengths, inputs, targets: [0.5, 0.1] }), /targets: expected \[B\*O\] = \[3\*1\] = 3 values, got 2/);
  assert.throws(() => reg.forward({ T, B, lengths, inputs: inputs.slice(2) }), /inputs: expected \[T\*B\*X\] = \[5\*3\*2\] = 30 numbers, got 28/);
});

test("pooling values against a hand computation: last, mean and max over each sequence's valid steps, then the head", () => {
  for (const pooling of ["last", "mean", "max"] as const) {
    const model = new SequenceModel({ task: "classify", cell: "gru", vocabSize: 10, embeddingDim: 3, hiddenSize: 4, bidirectional: true, pooling, outputSize: 2 }, { backend: f64 });
    const logits = model.forward({ T, B, lengths, tokens }).logits.data;
    // the recurrent outputs [T, B, 2H] and final states of the same inputs, from the layers alone
    const x = model.embedding!.forward({ shape: [T, B], data: Int32Array.from(tokens, (v, i) => (Math.floor(i / B) < lengths[i % B] ? v : 0)) });
    const r = model.rnn.forward(x, { lengths });
    const W = model.head.parameters()[0].value.data, bias = model.head.parameters()[1].value.data;
    const H2 = 8;
    for (let b = 0; b < B; b++) {
      const v = new Array<number>(H2).fill(pooling === "max" ? -Infinity : 0);
      for (let k = 0; k < H2; k++) {
        if (pooling === "last") v[k] = k < 4 ? r.h.data[(0 * B + b) * 4 + k] : r.h.data[(1 * B + b) * 4 + k - 4];
        else for (let t = 0; t < lengths[b]; t++) {
          const o = r.output.data[(t * B + b) * H2 + k];
          v[k] = pooling === "mean" ? v[k] + o / lengths[b] : Math.max(v[k], o);
        }
      }
      for (let j = 0; j < 2; j++) {
        let want = bias[j];
        for (let k = 0; k < H2; k++) want += W[j * H2 + k] * v[k];
        assert.ok(Math.abs(logits[b * 2 + j] - want) < 1e-12, `${pooling}: sequence ${b}, logit ${j}: ${logits[b * 2 + j]} vs ${want}`);
      }
    }
  }
});
