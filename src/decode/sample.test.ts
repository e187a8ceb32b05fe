import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { fit } from "../train/trainer.js";
import { Stream, generateIds, sample } from "./sample.js";

test("sampling: greedy, temperature frequencies, top-k, top-p, exclusions", () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
  const rng = new Rng(1);
  assert.equal(sample(logits, { temperature: 0 }, rng), 0);
  assert.equal(sample(logits, { temperature: 0 }, rng, [0]), 1);
  const counts = [0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[sample(logits, {}, rng)]++;
  [0.5, 0.3, 0.2].forEach((p, i) => assert.ok(Math.abs(counts[i] / n - p) < 0.015, `id ${i}: ${counts[i] / n} vs ${p}`));
  for (let i = 0; i < 200; i++) assert.equal(sample(logits, { topK: 1 }, rng), 0);
  for (let i = 0; i < 200; i++) assert.ok(sample(logits, { topP: 0.7 }, rng) < 2, "top-p 0.7 keeps {0.5, 0.3}");
  for (let i = 0; i < 200; i++) assert.equal(sample(logits, { topP: 0.4 }, rng), 0);
  const cold = [0, 0, 0];
  for (let i = 0; i < 2000; i++) cold[sample(logits, { temperature: 0.1 }, rng)]++;
  assert.ok(cold[0] > 1950, "a low temperature concentrates on the mode");
  assert.throws(() => sample(logits, { topP: 0 }, rng), /topP/);
  assert.throws(() => sample(logits, { temperature: -1 }, rng), /temperature/);
});

test("a stream fed one step at a time equals one forward over the whole sequence", () => {
  const be = new JsBackend({ dtype: "float64" });
  const model = new SequenceModel({ task: "lm", cell: "lstm", vocabSize: 7, embeddingDim: 3, hiddenSize: 5, numLayers: 2, outputSize: 7 }, { backend: be });
  const ids = [2, 5, 1, 6, 3];
  const full = model.forward({ T: 5, B: 1, lengths: [5], tokens: ids }).logits.data;
  const s = new Stream(model);
  ids.forEach((id, t) => {
    const step = s.feed([id]).data;
    for (let v = 0; v < 7; v++) assert.ok(Math.abs(step[v] - full[t * 7 + v]) < 1e-12);
  });
  const a = generateIds(model, [2], 20, { seed: 3 });
  const b = generateIds(model, [2], 20, { seed: 3 });
  assert.deepEqual(a, b, "the same seed gives the same text");
  assert.equal(a.length, 20);
  assert.ok(!a.includes(0), "<pad> is never generated");
});

test("one-to-many: a conditioned model streams and generates from its condition after training", async () => {
  const be = new JsBackend();
  // category 0 spells "abcab...", category 1 "cbacb..."; <bos> = 2, letters a, b, c = 4, 5, 6, <eos> = 3
  const words = [[4, 5, 6, 4, 5, 3], [6, 5, 4, 6, 5, 3]];
  const conditions = [[1, 0], [0, 1]];
  const model = new SequenceModel({ task: "lm", cell: "gru", vocabSize: 7, embeddingDim: 4, hiddenSize: 12, conditionSize: 2, outputSize: 7, seed: 1 }, { backend: be });
  // the stream over a conditioned model equals one forward over the whole sequence
  const ids = [2, ...words[1].slice(0, 4)];
  const full = model.forward({ T: 5, B: 1, lengths: [5], tokens: ids, condition: conditions[1] }).logits.data;
  const s = new Stream(model, 1, conditions[1]);
  ids.forEach((id, t) => {
    const step = s.feed([id]).data;
    for (let v = 0; v < 7; v++) assert.ok(Math.abs(step[v] - full[t * 7 + v]) < 1e-5, `step ${t}`);
  });
  const examples = words.flatMap((w, k) => Array.from({ length: 8 }, () => ({ tokens: [2, ...w.slice(0, -1)], target: w, condition: conditions[k] })));
  await fit(model, { kind: "examples", train: examples }, { epochs: 60, batchSize: 8, optimizerOptions: { lr: 0.03 } });
  for (const k of [0, 1]) {
    const out = generateIds(model, [2], 10, { temperature: 0, condition: conditions[k], stopAt: 3 });
    assert.deepEqual(out, words[k].slice(0, -1), `category ${k}`);
  }
  assert.throws(() => generateIds(model, [2], 3), /condition: expected \[B\*C\] numbers \(or a carried state h0\)/);
});

test("sample refuses NaN and +Infinity logits; -Infinity masks an id", () => {
  const rng = new Rng(2);
  assert.throws(() => sample([0.1, NaN, 0.3], {}, rng), /logits\[1\]: expected a finite number \(or -Infinity to mask the id\), got NaN/);
  assert.throws(() => sample([0.1, Infinity], { temperature: 0 }, rng), /logits\[1\].*got Infinity/);
  for (let i = 0; i < 100; i++) assert.equal(sample([-Infinity, 0, -Infinity], {}, rng), 1);
  assert.throws(() => sample([-Infinity, 5], {}, rng, [1]), /expected at least one id that is neither excluded nor masked/);
});

test("top-p keeps exactly the smallest most-likely set whose mass reaches p, renormalised (values, not just a crash check)", () => {
  const probs = [0.4, 0.3, 0.2, 0.1];
  const logits = probs.map(Math.log);
  const rng = new Rng(5);
  const freq = (topP: number, n = 20000) => {
    const c = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) c[sample(logits, { topP }, rng)]++;
    return c.map((k) => k / n);
  };
  // p = 0.75: {0.4, 0.3} holds 0.7 < 0.75, so the set is {0, 1, 2} (mass 0.9)
  const a = freq(0.75);
  [0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9, 0].forEach((p, i) => assert.ok(Math.abs(a[i] - p) < 0.015, `p=0.75 id ${i}: ${a[i]} vs ${p}`));
  // p = 0.65: {0, 1} (0.7 >= 0.65)
  const b = freq(0.65);
  [0.4 / 0.7, 0.3 / 0.7, 0, 0].forEach((p, i) => assert.ok(Math.abs(b[i] - p) < 0.015, `p=0.65 id ${i}: ${b[i]} vs ${p}`));
  // top-k 3 with temperature 2: softmax(log p / 2) over the 3 best = sqrt(p) renormalised
  const c = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) c[sample(logits, { topK: 3, temperature: 2 }, rng)]++;
  const s = Math.sqrt(0.4) + Math.sqrt(0.3) + Math.sqrt(0.2);
  [Math.sqrt(0.4) / s, Math.sqrt(0.3) / s, Math.sqrt(0.2) / s, 0].forEach((p, i) => assert.ok(Math.abs(c[i] / 20000 - p) < 0.015, `top-k id ${i}`));
});
