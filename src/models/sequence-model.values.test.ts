/**
 * SequenceModel values against hand computations (issue 10, item 8: tests written for mutants
 * that survived the suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { SequenceModel } from "./sequence-model.js";

const f64 = new JsBackend({ dtype: "float64" });

test("max pooling ignores the zeros past a sequence's length, even when every valid output is negative", () => {
  const model = new SequenceModel({ task: "classify", cell: "rnn", vocabSize: 6, embeddingDim: 2, hiddenSize: 3, pooling: "max", outputSize: 2, seed: 4 }, { backend: f64 });
  // a strongly negative input bias: every output is tanh(< 0) < 0, so a padded zero would win a max
  for (const p of model.parameters()) if (p.name === "rnn.bias_ih_l0") p.value.data.fill(-3);
  const T = 5, B = 2, lengths = [2, 5];
  const tokens = [4, 5, 5, 4, 0, 5, 0, 4, 0, 5];
  const logits = model.forward({ T, B, lengths, tokens }).logits.data;
  const x = model.embedding!.forward({ shape: [T, B], data: Int32Array.from(tokens) });
  const out = model.rnn.forward(x, { lengths }).output.data;
  const W = model.head.parameters()[0].value.data, bias = model.head.parameters()[1].value.data;
  for (let b = 0; b < B; b++) {
    const pooled = [0, 1, 2].map((k) => {
      const valid = Array.from({ length: lengths[b] }, (_, t) => out[(t * B + b) * 3 + k]);
      assert.ok(valid.every((v) => v < 0), "the premise: negative outputs");
      return Math.max(...valid);
    });
    for (let j = 0; j < 2; j++) {
      const want = bias[j] + pooled.reduce((s, v, k) => s + W[j * 3 + k] * v, 0);
      assert.ok(Math.abs(logits[b * 2 + j] - want) < 1e-12, `sequence ${b}, logit ${j}: ${logits[b * 2 + j]} vs ${want}`);
    }
  }
});

test("a condition sets every layer's and direction's initial state: h0[l*D+d][b] = tanh(W c_b + b)[(l*D+d)*H ...]", () => {
  const L = 2, D = 2, H = 3, C = 2, B = 2, T = 3;
  const model = new SequenceModel({ task: "classify", cell: "gru", vocabSize: 6, embeddingDim: 2, hiddenSize: H, numLayers: L, bidirectional: true, conditionSize: C, outputSize: 2, seed: 6 }, { backend: f64 });
  const condition = [0.5, -1, 2, 0.25];
  const W = model.parameters().find((p) => p.name === "init.weight")!.value.data, bi = model.parameters().find((p) => p.name === "init.bias")!.value.data;
  const h0 = new Float64Array(L * D * B * H);
  for (let k = 0; k < L * D; k++) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
    const row = k * H + j;
    h0[(k * B + b) * H + j] = Math.tanh(bi[row] + W[row * C] * condition[b * C] + W[row * C + 1] * condition[b * C + 1]);
  }
  const batch = { T, B, lengths: [3, 2], tokens: [4, 5, 5, 4, 4, 0] };
  const a = model.forward({ ...batch, condition }).logits.data;
  const b = model.forward({ ...batch, h0: { shape: [L * D, B, H], data: h0 } }).logits.data;
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-12, `logit ${i}: ${v} vs ${b[i]}`));
  // and the condition matters: another condition, other logits
  const c = model.forward({ ...batch, condition: [0, 0, 0, 0] }).logits.data;
  assert.ok(c.some((v, i) => Math.abs(v - a[i]) > 1e-6));
});
