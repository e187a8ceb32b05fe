/**
 * Losses against their formulas and finite differences; optimizers against hand-computed
 * updates (PyTorch's rules); clipping; schedules.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import type { Parameter } from "../layers/module.js";
import { centralDifference } from "../testing.js";
import { PADDED, argmaxHits, bceWithLogits, crossEntropy, mseLoss } from "../losses/losses.js";
import { Optimizer, clipGradNorm, lrFactor } from "./optimizers.js";
import { balancedClassWeights } from "../tasks/classify.js";
import { autoSizes, lengthStats } from "../defaults.js";

const f64 = new JsBackend({ dtype: "float64" });
const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);

test("cross-entropy: value, ignore index, stability, finite-difference gradient", () => {
  const logits = { shape: [3, 3], data: Float64Array.from([1, 2, 3, 1000, 0, -1000, 0.5, 0.5, 0.5]) };
  const r = crossEntropy(logits, [2, 0, -100], { backend: f64 });
  const l0 = -Math.log(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
  close(r.loss, (l0 + 0) / 2);
  assert.equal(r.count, 2);
  assert.deepEqual(Array.from(r.grad.data.slice(6)), [0, 0, 0], "an ignored row gets no gradient");
  const x = Float64Array.from([0.3, -1.2, 2.0, 0.1, 0.7, -0.4]);
  const t = [1, 2];
  const g = crossEntropy({ shape: [2, 3], data: x }, t, { backend: f64 }).grad.data;
  for (let i = 0; i < x.length; i++) {
    close(g[i], centralDifference(x, i, () => crossEntropy({ shape: [2, 3], data: x }, t, { backend: f64 }).loss), 1e-7);
  }
  assert.throws(() => crossEntropy({ shape: [1, 3], data: [0, 0, 0] }, [3], { backend: f64 }), /targets\[0\].*\[0, 2\]/);
  assert.throws(() => crossEntropy({ shape: [2, 3], data: [0, 0, 0, 0, 0, 0] }, [1], { backend: f64 }), /R = 2/);
  assert.equal(crossEntropy({ shape: [1, 2], data: [0, 0] }, [1], { backend: f64, reduction: "sum" }).loss, Math.log(2));
});

test("cross-entropy with class weights: PyTorch's weighted mean, by hand; finite-difference gradient", () => {
  // rows: targets 0, 2, ignored, 2; weights w = [2, 1, 0.5]
  const x = Float64Array.from([0.3, -1.2, 2.0, 0.1, 0.7, -0.4, 5, 5, 5, 1.5, 0.2, -0.3]);
  const t = [0, 2, -100, 2], w = [2, 1, 0.5];
  const nll = (r: number, k: number) => {
    const row = Array.from(x.slice(r * 3, r * 3 + 3));
    return Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[k];
  };
  // sum_r w[t_r] * nll_r / sum_r w[t_r] over the counted rows
  const want = (2 * nll(0, 0) + 0.5 * nll(1, 2) + 0.5 * nll(3, 2)) / (2 + 0.5 + 0.5);
  const r = crossEntropy({ shape: [4, 3], data: x }, t, { backend: f64, weight: w });
  close(r.loss, want);
  assert.equal(r.count, 3);
  close(crossEntropy({ shape: [4, 3], data: x }, t, { backend: f64, weight: w, reduction: "sum" }).loss, 2 * nll(0, 0) + 0.5 * nll(1, 2) + 0.5 * nll(3, 2));
  // all weights 1: the unweighted loss
  close(crossEntropy({ shape: [4, 3], data: x }, t, { backend: f64, weight: [1, 1, 1] }).loss, crossEntropy({ shape: [4, 3], data: x }, t, { backend: f64 }).loss);
  const g = r.grad.data;
  for (let i = 0; i < x.length; i++) {
    close(g[i], centralDifference(x, i, () => crossEntropy({ shape: [4, 3], data: x }, t, { backend: f64, weight: w }).loss), 1e-7);
  }
  assert.throws(() => crossEntropy({ shape: [4, 3], data: x }, t, { backend: f64, weight: [1, 1] }), /weight: expected V = 3 class weights, got 2/);
  assert.throws(() => crossEntropy({ shape: [4, 3], data: x }, t, { backend: f64, weight: [1, -1, 1] }), /weight\[1\]: expected a finite number >= 0, got number -1/);
});

test("balanced class weights: inverse frequency, mean 1 over the classes present", () => {
  // counts 3 and 1: 1/n = [1/3, 1], mean 2/3 -> [0.5, 1.5] (sklearn's n/(K n_c) = [2/3, 2], rescaled)
  assert.deepEqual(balancedClassWeights([0, 0, 0, 1], 2), [0.5, 1.5]);
  // a class absent from training gets 1; the others average 1
  const w = balancedClassWeights([0, 1, 1, 1, 1], 3);
  close(w[0], 1.6);
  close(w[1], 0.4);
  assert.equal(w[2], 1);
});

test("MSE and BCE-with-logits: values, masks, gradients, stability", () => {
  const m = mseLoss({ shape: [3], data: [1, 2, 3] }, [0, 2, 5], { backend: f64 });
  close(m.loss, (1 + 0 + 4) / 3);
  assert.deepEqual(Array.from(m.grad.data), [2 / 3, 0, -4 / 3].map((v) => v));
  const mm = mseLoss({ shape: [3], data: [1, 2, 3] }, [0, 2, 5], { backend: f64, mask: [1, 1, 0] });
  close(mm.loss, 1 / 2);
  assert.ok(mm.grad.data[2] === 0, "a masked element gets no gradient");
  const b = bceWithLogits({ shape: [3], data: [0, 100, -100] }, [1, 1, 1], { backend: f64 });
  close(b.loss, (Math.log(2) + 0 + 100) / 3, 1e-12);
  close(b.grad.data[0], (0.5 - 1) / 3);
  assert.ok(Number.isFinite(b.loss));
});

function param(values: number[], grads: number[]): Parameter {
  return { name: "w", value: { shape: [values.length], data: Float64Array.from(values) }, grad: { shape: [grads.length], data: Float64Array.from(grads) } };
}

test("SGD, momentum, Nesterov, weight decay: hand-computed updates", () => {
  let p = param([1], [0.5]);
  new Optimizer("sgd", [p], { lr: 0.1 }, f64).stepOnce();
  close(p.value.data[0], 1 - 0.05);
  p = param([1], [0.5]);
  const o = new Optimizer("sgd", [p], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }, f64);
  o.stepOnce(); // d = 0.5 + 0.1 = 0.6, buf = 0.6, p = 1 - 0.06 = 0.94
  close(p.value.data[0], 0.94);
  o.stepOnce(); // d = 0.5 + 0.094 = 0.594, buf = 0.54 + 0.594 = 1.134, p = 0.94 - 0.1134
  close(p.value.data[0], 0.94 - 0.1134);
  p = param([1], [0.5]);
  const n = new Optimizer("sgd", [p], { lr: 0.1, momentum: 0.9, nesterov: true }, f64);
  n.stepOnce(); // buf = 0.5, d = 0.5 + 0.45 = 0.95
  close(p.value.data[0], 1 - 0.095);
  assert.throws(() => new Optimizer("sgd", [p], { nesterov: true }, f64), /nesterov/);
});

test("Adam and AdamW: hand-computed first and second steps", () => {
  const p = param([1], [0.5]);
  const a = new Optimizer("adam", [p], { lr: 0.01 }, f64);
  a.stepOnce(); // m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25 -> p -= 0.01 * 0.5 / (0.5 + 1e-8)
  close(p.value.data[0], 1 - 0.01 * 0.5 / (0.5 + 1e-8));
  p.grad.data[0] = -1;
  const before = p.value.data[0];
  a.stepOnce();
  const m = 0.9 * 0.05 + 0.1 * -1, v = 0.999 * 0.00025 + 0.001 * 1;
  close(p.value.data[0], before - (0.01 * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8));
  const q = param([2], [0.5]);
  new Optimizer("adamw", [q], { lr: 0.1, weightDecay: 0.5 }, f64).stepOnce();
  close(q.value.data[0], 2 * (1 - 0.05) - 0.1 * 0.5 / (0.5 + 1e-8));
  const r = param([2], [0.5]);
  new Optimizer("adam", [r], { lr: 0.1, weightDecay: 0.5 }, f64).stepOnce(); // g = 1.5, mhat/sqrt(vhat) = 1
  close(r.value.data[0], 2 - 0.1 * 1.5 / (1.5 + 1e-8));
});

test("RMSprop and Adagrad: hand-computed updates", () => {
  const p = param([1], [0.5]);
  new Optimizer("rmsprop", [p], { lr: 0.01 }, f64).stepOnce(); // s = 0.01 * 0.25
  close(p.value.data[0], 1 - (0.01 * 0.5) / (Math.sqrt(0.0025) + 1e-8));
  const q = param([1], [0.5]);
  const o = new Optimizer("adagrad", [q], { lr: 0.1 }, f64);
  o.stepOnce(); // s = 0.25
  close(q.value.data[0], 1 - (0.1 * 0.5) / (0.5 + 1e-10));
  o.stepOnce(); // s = 0.5
  close(q.value.data[0], 1 - (0.1 * 0.5) / (0.5 + 1e-10) - (0.1 * 0.5) / (Math.sqrt(0.5) + 1e-10));
});

test("optimizer state round-trips: a resumed run equals an uninterrupted one", () => {
  const run = (resume: boolean) => {
    const p = param([1, -2, 3], [0, 0, 0]);
    let o = new Optimizer("adam", [p], { lr: 0.05 }, f64);
    for (let s = 0; s < 6; s++) {
      p.grad.data.set([Math.sin(s), Math.cos(s), p.value.data[2]]);
      if (resume && s === 3) {
        const saved = o.stateDict();
        o = new Optimizer("adam", [p], { lr: 0.05 }, f64);
        o.loadStateDict(saved);
      }
      o.stepOnce();
    }
    return Array.from(p.value.data);
  };
  assert.deepEqual(run(true), run(false));
});

test("global-norm clipping and learning-rate schedules", () => {
  const a = param([0, 0], [3, 0]), b = param([0], [4]);
  const norm = clipGradNorm(f64, [a, b], 1);
  close(norm, 5);
  close(Math.hypot(a.grad.data[0], b.grad.data[0]), 1, 1e-6);
  const c = param([0], [0.5]);
  clipGradNorm(f64, [c], 1);
  assert.equal(c.grad.data[0], 0.5, "below the threshold nothing changes");
  close(lrFactor({ kind: "step", stepSize: 10, gamma: 0.5 }, 25, 0), 0.25);
  close(lrFactor({ kind: "constant" }, 0, 4), 0.25);
  close(lrFactor({ kind: "cosine", totalSteps: 100 }, 50, 0), 0.5);
  close(lrFactor({ kind: "cosine", totalSteps: 100, minFactor: 0.1 }, 100, 0), 0.1);
});

test("sizes chosen from the data: the rules of defaults.autoSizes, by hand", () => {
  // moby-dick: 1.09M training characters, 93 symbols -> hidden 256 (>= 1M tokens), embedding round8(1.6 x 93^0.56) = 24 -> the floor 48
  const lm = autoSizes("lm", { examples: 1091829, vocabulary: 93 }, 64);
  assert.equal(lm.hiddenSize, 256);
  assert.equal(lm.embeddingDim, 48);
  assert.equal(lm.batchSize, 32);
  assert.equal(lm.epochs, 4, "about 2000 steps at floor(1091828 / (32 x 64)) = 533 batches per epoch");
  assert.equal(autoSizes("lm", { examples: 99999, vocabulary: 60 }).hiddenSize, 64);
  assert.equal(autoSizes("lm", { examples: 100000, vocabulary: 60 }).hiddenSize, 128);
  // a word vocabulary of 20000: 1.6 x 20000^0.56 = 409 -> the cap 128
  assert.equal(autoSizes("classify", { examples: 500, vocabulary: 20000 }).embeddingDim, 128);
  // short texts: one direction, last state; long texts (median > 50 tokens): both ways, max pooling
  const short = autoSizes("classify", { examples: 5000, vocabulary: 3000, ...lengthStats([5, 8, 9, 12, 40]) });
  assert.deepEqual([short.hiddenSize, short.batchSize, short.bidirectional, short.pooling], [128, 32, false, "last"]);
  assert.equal(short.maxLen, 64, "1.5 x p95 40 = 60, rounded up to 16");
  const long = autoSizes("classify", { examples: 800, vocabulary: 3000, ...lengthStats([60, 120, 300, 400, 900]) });
  assert.deepEqual([long.hiddenSize, long.batchSize, long.bidirectional, long.pooling, long.maxLen], [64, 16, true, "max", 400]);
  assert.equal(long.epochs, 40, "2000 steps / ceil(800 / 16) = 50 batches");
  // word vocabulary cap: tokens / 20 within [2000, 30000]
  assert.equal(autoSizes("classify", { examples: 800, tokens: 1e6 }).maxVocab, 30000);
  assert.equal(autoSizes("classify", { examples: 800, tokens: 100000 }).maxVocab, 5000);
  assert.equal(autoSizes("classify", { examples: 800, tokens: 1000 }).maxVocab, 2000);
  assert.deepEqual(lengthStats([3, 1, 2, 10]), { medianLength: 2, p95Length: 10, tokens: 16 });
});

test("argmaxHits counts the rows whose arg-max is the target, skipping padded rows (ties go to the first id)", () => {
  const logits = [0.1, 0.9, 0.0, /**/ 2, 1, 0, /**/ 5, 5, 1, /**/ 0, 0, 3];
  assert.equal(argmaxHits(logits, [1, 0, 0, 2], 3), 4);
  assert.equal(argmaxHits(logits, [1, 1, 1, 2], 3), 2, "a tie (5, 5) goes to id 0");
  assert.equal(argmaxHits(logits, [PADDED, 0, PADDED, 1], 3), 1);
});
