/**
 * The inspection API against an independent, naive step-by-step computation written here from
 * the equations (PyTorch's nn.LSTM / nn.GRU / nn.RNN docs), in float64: gate activations, states,
 * and the gradient norms through time against central finite differences of the loss w.r.t. a
 * perturbation of h_t (and c_t) injected into the naive forward.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { createWasmBackend } from "../backend/wasm/wasm.js";
import type { Batch } from "../data/batch.js";
import { Rng } from "../rng.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { type ModelConfig, SequenceModel } from "../models/sequence-model.js";
import { RnnkitError, type Tensor } from "../tensor.js";
import { gradientThroughTime, inspect } from "./inspect.js";
import { cellComparison, parameterCounts } from "./parameters.js";

const f64 = new JsBackend({ dtype: "float64" });
const sig = (v: number): number => 1 / (1 + Math.exp(-v));

type W = Record<string, Tensor>;
/** y = W x + b for W [rows, cols] stored row-major */
function affine(w: Tensor, x: number[], b: Tensor | undefined, row0: number, rows: number): number[] {
  const cols = w.shape[1];
  const out: number[] = [];
  for (let r = row0; r < row0 + rows; r++) {
    let s = b ? b.data[r] : 0;
    for (let k = 0; k < cols; k++) s += w.data[r * cols + k] * x[k];
    out.push(s);
  }
  return out;
}

interface Naive { gates: number[][][]; h: number[][]; c: number[][] }
/** Where to add a perturbation: after step t of (layer, dir), to h (or c) unit j. */
interface Poke { layer: number; dir: number; t: number; j: number; onC: boolean; eps: number }

/**
 * One sequence xs [len][X] through an L-layer, D-direction stack of `cell`, step by step; the
 * gates per step as separate blocks. Returns per (layer*D + dir) the traces, with t in input order.
 */
function naiveStack(cell: string, sd: W, xs: number[][], H: number, L: number, D: number, poke?: Poke): Naive[] {
  const out: Naive[] = [];
  let input = xs;
  const len = xs.length;
  for (let l = 0; l < L; l++) {
    const outs: number[][] = Array.from({ length: len }, () => []);
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
      const wih = sd[`rnn.weight_ih${sfx}`], whh = sd[`rnn.weight_hh${sfx}`], bih = sd[`rnn.bias_ih${sfx}`], bhh = sd[`rnn.bias_hh${sfx}`];
      let h = new Array<number>(H).fill(0), c = new Array<number>(H).fill(0);
      const tr: Naive = { gates: new Array(len), h: new Array(len), c: new Array(len) };
      for (let s = 0; s < len; s++) {
        const t = d === 0 ? s : len - 1 - s;
        const x = input[t];
        let gates: number[][];
        if (cell === "lstm") {
          const pre = (k: number) => { const a = affine(wih, x, bih, k * H, H), b = affine(whh, h, bhh, k * H, H); return a.map((v, j) => v + b[j]); };
          const i = pre(0).map(sig), f = pre(1).map(sig), g = pre(2).map(Math.tanh), o = pre(3).map(sig);
          c = c.map((cv, j) => f[j] * cv + i[j] * g[j]);
          if (poke && poke.onC && poke.layer === l && poke.dir === d && poke.t === t) c[poke.j] += poke.eps;
          h = c.map((cv, j) => o[j] * Math.tanh(cv));
          gates = [i, f, g, o];
        } else if (cell === "gru") {
          const xr = affine(wih, x, bih, 0, H), hr = affine(whh, h, bhh, 0, H);
          const xz = affine(wih, x, bih, H, H), hz = affine(whh, h, bhh, H, H);
          const xn = affine(wih, x, bih, 2 * H, H), hn = affine(whh, h, bhh, 2 * H, H);
          const r = xr.map((v, j) => sig(v + hr[j])), z = xz.map((v, j) => sig(v + hz[j]));
          const n = xn.map((v, j) => Math.tanh(v + r[j] * hn[j]));
          h = h.map((hv, j) => (1 - z[j]) * n[j] + z[j] * hv);
          gates = [r, z, n];
        } else {
          const a = affine(wih, x, bih, 0, H), b = affine(whh, h, bhh, 0, H);
          h = a.map((v, j) => Math.tanh(v + b[j]));
          gates = [];
        }
        if (poke && !poke.onC && poke.layer === l && poke.dir === d && poke.t === t) h[poke.j] += poke.eps;
        tr.gates[t] = gates;
        tr.h[t] = h.slice();
        tr.c[t] = c.slice();
        outs[t].push(...h);
      }
      out.push(tr);
    }
    input = outs;
  }
  return out;
}

/** The classifier's loss for row b of the batch (pooling "last", cross-entropy, mean over B). */
function naiveLoss(cell: string, sd: W, xs: number[][], target: number, H: number, L: number, D: number, B: number, poke?: Poke): number {
  const tr = naiveStack(cell, sd, xs, H, L, D, poke);
  const len = xs.length;
  const pooled = [...tr[(L - 1) * D].h[len - 1], ...(D === 2 ? tr[(L - 1) * D + 1].h[0] : [])];
  const logits = affine(sd["head.weight"], pooled, sd["head.bias"], 0, sd["head.weight"].shape[0]);
  const m = Math.max(...logits);
  const lse = m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0));
  return (lse - logits[target]) / B;
}

const X = 3, H = 3, L = 2, D = 2, T = 5, B = 2;
const lengths = [5, 3];
const rng = new Rng(11);
const inputs = Array.from({ length: T * B * X }, () => rng.uniform(-1.5, 1.5));
const batch: Batch = { T, B, lengths, inputs, targets: [1, 0] };
const seqOf = (b: number): number[][] => Array.from({ length: lengths[b] }, (_, t) => Array.from({ length: X }, (_, k) => inputs[(t * B + b) * X + k]));

for (const cell of ["lstm", "gru", "rnn"] as const) {
  const cfg: ModelConfig = { task: "classify", cell, inputSize: X, hiddenSize: H, numLayers: L, bidirectional: true, outputSize: 3, seed: 5 };

  test(`inspect(${cell}): gates and states equal a naive step-by-step computation, every layer, direction and step`, () => {
    const model = new SequenceModel(cfg, { backend: f64 });
    const sd = model.stateDict();
    for (const b of [0, 1]) {
      const got = inspect(model, batch, { row: b });
      const want = naiveStack(cell, sd, seqOf(b), H, L, D);
      assert.equal(got.layers.length, L * D);
      for (let k = 0; k < L * D; k++) {
        const lt = got.layers[k];
        assert.equal(lt.part, "rnn");
        assert.equal(lt.layer, Math.floor(k / D));
        assert.equal(lt.direction, k % D === 0 ? "forward" : "reverse");
        assert.equal(lt.steps, lengths[b]);
        assert.deepEqual(lt.gateNames, cell === "lstm" ? ["i", "f", "g", "o"] : cell === "gru" ? ["r", "z", "n"] : []);
        for (let t = 0; t < lengths[b]; t++) {
          for (let j = 0; j < H; j++) {
            assert.ok(Math.abs(lt.h[t][j] - want[k].h[t][j]) < 1e-12, `h l${lt.layer} ${lt.direction} t${t} j${j}: ${lt.h[t][j]} vs ${want[k].h[t][j]}`);
            lt.gateNames.forEach((g, q) => assert.ok(Math.abs(lt.gates[g][t][j] - want[k].gates[t][q][j]) < 1e-12, `${g} t${t}`));
            if (cell === "lstm") assert.ok(Math.abs(lt.c![t][j] - want[k].c[t][j]) < 1e-12, `c t${t}`);
          }
        }
        assert.equal(lt.c !== undefined, cell === "lstm");
      }
      // plain JSON: survives a round trip unchanged
      assert.deepEqual(JSON.parse(JSON.stringify(got)), got);
    }
  });

  test(`gradientThroughTime(${cell}): ||dL/dh_t|| (and ||dL/dc_t||) equal central finite differences of the naive loss`, () => {
    const model = new SequenceModel(cfg, { backend: f64 });
    const sd = model.stateDict();
    for (const b of [0, 1]) {
      const g = gradientThroughTime(model, batch, undefined, { row: b });
      assert.ok(Math.abs(g.loss - (naiveLoss(cell, sd, seqOf(0), 1, H, L, D, B) + naiveLoss(cell, sd, seqOf(1), 0, H, L, D, B))) < 1e-12);
      for (const lt of g.layers) {
        const k = lt.layer * D + (lt.direction === "forward" ? 0 : 1);
        for (const onC of cell === "lstm" ? [false, true] : [false]) {
          const norms = onC ? lt.dc! : lt.dh;
          assert.equal(norms.length, lengths[b]);
          for (let t = 0; t < lengths[b]; t++) {
            let sq = 0;
            for (let j = 0; j < H; j++) {
              const e = 1e-6;
              const f = (eps: number) => naiveLoss(cell, sd, seqOf(b), [1, 0][b], H, L, D, B, { layer: lt.layer, dir: k % D, t, j, onC, eps });
              const v = (f(e) - f(-e)) / (2 * e);
              sq += v * v;
            }
            const want = Math.sqrt(sq);
            assert.ok(Math.abs(norms[t] - want) <= 1e-7 + 1e-6 * want, `${onC ? "dc" : "dh"} l${lt.layer} ${lt.direction} t${t}: ${norms[t]} vs ${want}`);
          }
        }
      }
      // not a training step: the gradients are left zeroed
      for (const p of model.parameters()) assert.ok(p.grad.data.every((v) => v === 0), p.name);
    }
  });
}

test("gradientThroughTime: a custom loss of the logits, and the vanishing gradient of a plain RNN at a long distance", () => {
  const T2 = 40;
  const model = new SequenceModel({ task: "classify", cell: "rnn", inputSize: 2, hiddenSize: 8, outputSize: 2, seed: 3 }, { backend: f64 });
  const xs = Array.from({ length: T2 }, (_, t) => [t === 0 ? 1 : 0, t === 0 ? 0 : 1]);
  const g = gradientThroughTime(model, { inputs: xs, target: 1 }, (logits) => ({ loss: logits.data[0], grad: { shape: logits.shape, data: Float64Array.from([1, 0]) } }));
  const dh = g.layers[0].dh;
  assert.equal(dh.length, T2);
  // d logit_0 / d h_last is head.weight[0]
  const w = model.stateDict()["head.weight"].data;
  assert.ok(Math.abs(dh[T2 - 1] - Math.hypot(...Array.from(w.subarray(0, 8)))) < 1e-12);
  assert.ok(dh[0] < dh[T2 - 1] * 1e-3, `expected a vanished gradient 40 steps back, got ${dh[0]} vs ${dh[T2 - 1]}`);
  assert.throws(() => gradientThroughTime(model, { inputs: xs, target: 1 }, (() => ({ loss: 1 })) as never), RnnkitError);
  assert.throws(() => inspect(model, { inputs: xs, target: 1 }, { row: 1 }), /row: expected an integer in \[0, B-1\] = \[0, 0\], got number 1/);
});

test("inspect(Seq2Seq): encoder and decoder traces, and attention rows that are distributions over the source", () => {
  for (const attention of ["luong", "bahdanau"] as const) {
    const model = new Seq2Seq({ cell: "gru", sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 4, embeddingDim: 3, bidirectional: true, attention, seed: 2 }, { backend: f64 });
    const r = inspect(model, { tokens: [4, 5, 6, 7], target: [5, 6, 3] });
    assert.equal(r.kind, "seq2seq");
    const parts = r.layers.map((l) => `${l.part}/${l.direction}`);
    assert.deepEqual(parts, attention === "luong" ? ["encoder.rnn/forward", "encoder.rnn/reverse", "decoder.rnn/forward"] : ["encoder.rnn/forward", "encoder.rnn/reverse"]);
    assert.equal(r.notes.length, attention === "luong" ? 0 : 1);
    assert.equal(r.layers[0].steps, 4);
    assert.equal(r.attention!.length, 3);
    for (const row of r.attention!) {
      assert.equal(row.length, 4);
      assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    }
    const want = model.forward(model.collate([{ tokens: [4, 5, 6, 7], target: [5, 6, 3] }]), { attention: true }).attention!;
    assert.deepEqual(r.attention!.flat(), Array.from(want.data));
    const g = gradientThroughTime(model, { tokens: [4, 5, 6, 7], target: [5, 6, 3] });
    assert.ok(g.layers[0].dh.every((v) => v > 0));
  }
});

test("parameterCounts: per part without building; the GRU has 3/4 of the LSTM's recurrent weights, the RNN 1/4", () => {
  const cfg: ModelConfig = { task: "lm", cell: "lstm", vocabSize: 50, embeddingDim: 16, hiddenSize: 32, numLayers: 2, outputSize: 50 };
  const c = parameterCounts(cfg);
  const model = new SequenceModel(cfg);
  assert.equal(c.total, model.parameters().reduce((s, p) => s + p.value.data.length, 0));
  model.dispose();
  assert.deepEqual(c.parts.map((p) => p.part), ["embedding", "rnn", "head"]);
  assert.equal(c.parts[0].count, 50 * 16);
  // weight_hh: 4H x H per layer
  assert.equal(c.recurrent.recurrentWeights, 2 * 4 * 32 * 32);
  assert.equal(c.recurrent.inputWeights, 4 * 32 * 16 + 4 * 32 * 32);
  assert.equal(c.recurrent.biases, 2 * 2 * 4 * 32);
  const cmp = cellComparison(cfg);
  assert.deepEqual(cmp.map((x) => [x.cell, x.gates, x.recurrentVsLstm]), [["lstm", 4, 1], ["gru", 3, 0.75], ["rnn", 1, 0.25]]);
  assert.equal(cmp[1].recurrent.inputWeights * 4, cmp[0].recurrent.inputWeights * 3);
  const s2s = parameterCounts({ cell: "gru", sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 4, attention: "luong" });
  assert.deepEqual(s2s.parts.map((p) => p.part), ["encoder.embedding", "encoder.rnn", "decoder.embedding", "decoder.rnn", "attention", "combine", "head"]);
  assert.throws(() => parameterCounts(null as never), /expected a SequenceModel or Seq2Seq config, got null/);
});

test("inspect and gradientThroughTime on the wasm backend (the fast kernels) equal the float64 reference path", async () => {
  const be = await createWasmBackend({ threads: 1 });
  for (const cell of ["lstm", "gru"] as const) {
    const cfg: ModelConfig = { task: "classify", cell, inputSize: X, hiddenSize: H, numLayers: L, bidirectional: true, outputSize: 3, seed: 5 };
    const ref = new SequenceModel(cfg, { backend: f64 });
    const fast = new SequenceModel(cfg, { backend: be });
    const a = inspect(ref, batch, { row: 1 }), b = inspect(fast, batch, { row: 1 });
    const close = (x: number[], y: number[], what: string) => x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) < 2e-5, `${cell} ${what}: ${v} vs ${y[i]}`));
    a.layers.forEach((la, k) => {
      const lb = b.layers[k];
      close(la.h.flat(), lb.h.flat(), "h");
      for (const g of la.gateNames) close(la.gates[g].flat(), lb.gates[g].flat(), g);
    });
    const ga = gradientThroughTime(ref, batch), gb = gradientThroughTime(fast, batch);
    ga.layers.forEach((la, k) => {
      close(la.dh, gb.layers[k].dh, "dh");
      if (la.dc) close(la.dc, gb.layers[k].dc!, "dc");
    });
    fast.dispose();
  }
});
