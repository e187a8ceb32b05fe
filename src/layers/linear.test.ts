/**
 * Gradient checks (float64, central differences) of Linear and Embedding, and their PyTorch
 * semantics (padding row).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { Rng } from "../rng.js";
import type { Floats } from "../tensor.js";
import { centralDifference, dot } from "../testing.js";
import { Embedding } from "./embedding.js";
import { Linear } from "./linear.js";

const f64 = new JsBackend({ dtype: "float64" });
const numericGrad = (data: Floats, loss: () => number, i: number) => centralDifference(data, i, loss);

test("Linear: gradient check over a [T, B, in] sequence, with and without bias", () => {
  const rng = new Rng(4);
  for (const bias of [true, false]) {
    const lin = new Linear({ inFeatures: 5, outFeatures: 3, bias, backend: f64 });
    const x = { shape: [4, 2, 5], data: Float64Array.from({ length: 40 }, () => rng.uniform(-1, 1)) };
    const g = Float64Array.from({ length: 24 }, () => rng.uniform(-1, 1));
    const loss = () => dot(lin.forward(x).data, g);
    assert.deepEqual(lin.forward(x).shape, [4, 2, 3]);
    lin.zeroGrad();
    const dx = lin.backward({ shape: [4, 2, 3], data: g });
    for (let i = 0; i < x.data.length; i++) assert.ok(Math.abs(numericGrad(x.data, loss, i) - dx.data[i]) < 1e-7);
    for (const p of lin.parameters()) {
      for (let i = 0; i < p.value.data.length; i++) assert.ok(Math.abs(numericGrad(p.value.data, loss, i) - p.grad.data[i]) < 1e-7, p.name);
    }
    assert.equal(lin.parameters().length, bias ? 2 : 1);
  }
});

test("Embedding: gradient check with repeated ids; the padding row stays zero and gets no gradient", () => {
  const emb = new Embedding({ numEmbeddings: 6, embeddingDim: 3, paddingIdx: 0, backend: f64 });
  const w = emb.parameters()[0];
  assert.deepEqual(Array.from(w.value.data.slice(0, 3)), [0, 0, 0]);
  const ids = { shape: [3, 2], data: [1, 0, 4, 1, 0, 5] };
  const rng = new Rng(2);
  const g = Float64Array.from({ length: 18 }, () => rng.uniform(-1, 1));
  const out = emb.forward(ids);
  assert.deepEqual(out.shape, [3, 2, 3]);
  emb.zeroGrad();
  emb.backward({ shape: out.shape, data: g });
  const loss = () => dot(emb.forward(ids).data, g);
  for (let i = 3; i < w.value.data.length; i++) assert.ok(Math.abs(numericGrad(w.value.data, loss, i) - w.grad.data[i]) < 1e-7);
  assert.deepEqual(Array.from(w.grad.data.slice(0, 3)), [0, 0, 0]);
  assert.throws(() => emb.forward({ shape: [1], data: [6] }), /ids\[0\].*\[0, 5\].*6/);
  assert.throws(() => emb.forward({ shape: [1], data: [1.5] }), /ids\[0\]/);
});

test("Dropout: keeps about 1-p of the elements scaled by 1/(1-p); backward uses the same mask; identity in eval mode", async () => {
  const { Dropout } = await import("./dropout.js");
  const d = new Dropout({ p: 0.25, seed: 3 }).train();
  const x = { shape: [4000], data: new Float32Array(4000).fill(2) };
  const y = d.forward(x);
  const kept = y.data.filter((v) => v !== 0);
  assert.ok(Math.abs(kept.length / 4000 - 0.75) < 0.03);
  assert.ok(kept.every((v) => Math.abs(v - 2 / 0.75) < 1e-6));
  const g = d.backward({ shape: [4000], data: new Float32Array(4000).fill(1) });
  for (let i = 0; i < 4000; i++) assert.equal(g.data[i] === 0, y.data[i] === 0);
  assert.deepEqual(Array.from(d.eval().forward(x).data.slice(0, 5)), [2, 2, 2, 2, 2]);
  assert.throws(() => new Dropout({ p: 1 }), /p: expected a probability/);
});
