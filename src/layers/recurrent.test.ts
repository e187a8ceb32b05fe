/**
 * Gradient checks of every cell through the sequence wrapper (central finite differences on the
 * float64 reference backend), and an independent naive forward (per element, per step, the
 * loops of the fixture README) as the oracle of the packed, sorted, batched fast path.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import type { Backend } from "../backend/backend.js";
import { Rng } from "../rng.js";
import type { Floats, Tensor } from "../tensor.js";
import { centralDifference, dot } from "../testing.js";
import { GRUCell, LSTMCell, RNNCell } from "./cells.js";
import { GRU, LSTM, RNN } from "./layers.js";
import type { Recurrent } from "./recurrent.js";

const f64 = new JsBackend({ dtype: "float64" });

function rand(rng: Rng, shape: number[], scale = 1, backend: Backend = f64): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = backend.alloc(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(-scale, scale);
  return { shape, data };
}


interface Case {
  name: string;
  make: () => Recurrent;
  T: number;
  B: number;
  lengths?: number[];
}

const base = { inputSize: 3, hiddenSize: 4, backend: f64, seed: 7 };
const cases: Case[] = [
  { name: "rnn tanh", make: () => new RNN(base), T: 4, B: 2 },
  { name: "rnn relu, 2 layers, no bias", make: () => new RNN({ ...base, nonlinearity: "relu", numLayers: 2, bias: false }), T: 3, B: 2 },
  { name: "lstm", make: () => new LSTM(base), T: 4, B: 3 },
  { name: "lstm bidirectional 2 layers varlen", make: () => new LSTM({ ...base, numLayers: 2, bidirectional: true }), T: 5, B: 3, lengths: [3, 5, 1] },
  { name: "gru (reset after)", make: () => new GRU(base), T: 4, B: 2 },
  { name: "gru reset before", make: () => new GRU({ ...base, resetAfter: false }), T: 4, B: 3 },
  { name: "gru reset before, bidirectional varlen, no bias", make: () => new GRU({ ...base, resetAfter: false, bidirectional: true, bias: false }), T: 4, B: 3, lengths: [2, 4, 3] },
  { name: "rnn tanh bidirectional varlen", make: () => new RNN({ ...base, bidirectional: true, numLayers: 2 }), T: 5, B: 4, lengths: [5, 2, 2, 4] },
  // hard-sigmoid gates (Keras 2 / TF.js): the default init keeps every pre-activation inside the
  // linear part |v| < 2.5, away from the kinks where central differences are undefined; the
  // clipped region is covered by the TF.js golden fixtures
  { name: "lstm, hard sigmoid, bidirectional varlen", make: () => new LSTM({ ...base, recurrentActivation: "hardSigmoid", bidirectional: true }), T: 4, B: 3, lengths: [4, 2, 3] },
  { name: "gru (reset after), hard sigmoid", make: () => new GRU({ ...base, recurrentActivation: "hardSigmoid", numLayers: 2 }), T: 4, B: 2 },
  { name: "gru reset before, hard sigmoid", make: () => new GRU({ ...base, resetAfter: false, recurrentActivation: "hardSigmoid" }), T: 4, B: 3 },
];

for (const c of cases) {
  test(`gradient check: ${c.name}`, () => {
    const rng = new Rng(11);
    const layer = c.make();
    const L = layer.numLayers, D = layer.bidirectional ? 2 : 1, H = layer.hiddenSize, X = layer.inputSize;
    const lstm = layer.cellType === "lstm";
    const x = rand(rng, [c.T, c.B, X]);
    const h0 = rand(rng, [L * D, c.B, H], 0.5);
    const c0 = rand(rng, [L * D, c.B, H], 0.5);
    const gOut = rand(rng, [c.T, c.B, D * H]);
    const gH = rand(rng, [L * D, c.B, H]);
    const gC = rand(rng, [L * D, c.B, H]);
    const opts = () => ({ h0, ...(lstm ? { c0 } : {}), ...(c.lengths ? { lengths: c.lengths } : {}) });
    const loss = () => {
      const o = layer.forward(x, opts());
      return dot(o.output.data, gOut.data) + dot(o.h.data, gH.data) + (lstm ? dot(o.c!.data, gC.data) : 0);
    };
    loss();
    layer.zeroGrad();
    const d = layer.backward({ output: gOut, h: gH, ...(lstm ? { c: gC } : {}) });
    const checkAll = (what: string, data: Floats, analytic: Floats) => {
      let checked = 0;
      for (let i = 0; i < data.length; i++) {
        const numeric = centralDifference(data, i, loss);
        const err = Math.abs(numeric - analytic[i]);
        assert.ok(err <= 1e-7 + 1e-6 * Math.abs(numeric), `${what}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`);
        checked++;
      }
      return checked;
    };
    checkAll("x", x.data, d.dx.data);
    checkAll("h0", h0.data, d.dh0.data);
    if (lstm) checkAll("c0", c0.data, d.dc0!.data);
    for (const p of layer.parameters()) checkAll(p.name, p.value.data, p.grad.data);
    // padding: dx is exactly zero past each length
    if (c.lengths) {
      for (let b = 0; b < c.B; b++) {
        for (let t: number = c.lengths[b]; t < c.T; t++) {
          for (let k = 0; k < X; k++) assert.equal(d.dx.data[(t * c.B + b) * X + k], 0);
        }
      }
    }
  });
}

test("gradient check: single-step cells", () => {
  const rng = new Rng(3);
  const cells = [
    new RNNCell({ ...base }), new RNNCell({ ...base, nonlinearity: "relu" }), new LSTMCell(base),
    new GRUCell(base), new GRUCell({ ...base, resetAfter: false }),
  ];
  for (const cell of cells) {
    const B = 3, H = base.hiddenSize, X = base.inputSize;
    const lstm = cell instanceof LSTMCell;
    const x = rand(rng, [B, X]), hx = rand(rng, [B, H]), cx = rand(rng, [B, H]);
    const gh = rand(rng, [B, H]), gc = rand(rng, [B, H]);
    const loss = () => {
      const o = cell.forward(x, lstm ? { hx, cx } : { hx });
      return dot(o.h.data, gh.data) + (lstm ? dot(o.c!.data, gc.data) : 0);
    };
    loss();
    cell.zeroGrad();
    const d = cell.backward(lstm ? { h: gh, c: gc } : { h: gh });
    const pairs: [string, Floats, Floats][] = [["x", x.data, d.dx.data], ["hx", hx.data, d.dhx.data]];
    if (lstm) pairs.push(["cx", cx.data, d.dcx!.data]);
    for (const p of cell.parameters()) pairs.push([p.name, p.value.data, p.grad.data]);
    for (const [name, data, analytic] of pairs) {
      for (let i = 0; i < data.length; i++) {
        const numeric = centralDifference(data, i, loss);
        assert.ok(Math.abs(numeric - analytic[i]) <= 1e-7 + 1e-6 * Math.abs(numeric), `${cell.constructor.name} ${name}[${i}]: ${analytic[i]} vs ${numeric}`);
      }
    }
  }
});

test("parameter gradients accumulate across backward calls until zeroGrad", () => {
  const rng = new Rng(5);
  const layer = new LSTM(base);
  const x = rand(rng, [3, 2, 3]);
  const g = rand(rng, [3, 2, 4]);
  layer.forward(x);
  layer.backward({ output: g });
  const once = layer.parameters().map((p) => Float64Array.from(p.grad.data));
  layer.forward(x);
  layer.backward({ output: g });
  layer.parameters().forEach((p, k) => p.grad.data.forEach((v, i) => assert.ok(Math.abs(v - 2 * once[k][i]) < 1e-12)));
  layer.zeroGrad();
  for (const p of layer.parameters()) assert.ok(p.grad.data.every((v) => v === 0));
});

// ---- the naive oracle: the loops of test/fixtures/pytorch/README.md section 6, one element at a time

const sig = (v: number) => 1 / (1 + Math.exp(-v));

function naiveStep(layer: Recurrent, sd: Record<string, Tensor>, sfx: string, x: number[], h: number[], c: number[]): [number[], number[]] {
  const H = layer.hiddenSize;
  const wih = sd[`weight_ih${sfx}`], whh = sd[`weight_hh${sfx}`];
  const bih = sd[`bias_ih${sfx}`], bhh = sd[`bias_hh${sfx}`];
  const xin = (row: number) => x.reduce((s, v, k) => s + v * wih.data[row * x.length + k], bih ? bih.data[row] : 0);
  const hin = (row: number, v: number[]) => v.reduce((s, u, k) => s + u * whh.data[row * H + k], bhh ? bhh.data[row] : 0);
  const hn: number[] = [], cn: number[] = [];
  for (let j = 0; j < H; j++) {
    if (layer.cellType === "lstm") {
      const i = sig(xin(j) + hin(j, h)), f = sig(xin(H + j) + hin(H + j, h));
      const g = Math.tanh(xin(2 * H + j) + hin(2 * H + j, h)), o = sig(xin(3 * H + j) + hin(3 * H + j, h));
      cn.push(f * c[j] + i * g);
      hn.push(o * Math.tanh(cn[j]));
    } else if (layer.cellType === "gru") {
      const r = sig(xin(j) + hin(j, h)), z = sig(xin(H + j) + hin(H + j, h));
      let n: number;
      if (layer.resetAfter) n = Math.tanh(xin(2 * H + j) + r * hin(2 * H + j, h));
      else {
        const rh = h.map((v, k) => v * sig(xin(k) + hin(k, h)));
        n = Math.tanh(xin(2 * H + j) + hin(2 * H + j, rh));
      }
      hn.push((1 - z) * n + z * h[j]);
    } else {
      const v = xin(j) + hin(j, h);
      hn.push(layer.cellType === "rnn_relu" ? Math.max(v, 0) : Math.tanh(v));
    }
  }
  return [hn, cn];
}

function naiveForward(layer: Recurrent, x: Tensor, h0: Tensor, c0: Tensor, lengths: number[]): { output: number[]; h: number[] } {
  const [T, B, X] = x.shape;
  const H = layer.hiddenSize, D = layer.bidirectional ? 2 : 1, L = layer.numLayers;
  const sd = layer.stateDict();
  let input: number[][][] = Array.from({ length: T }, (_, t) => Array.from({ length: B }, (_, b) => Array.from(x.data.subarray((t * B + b) * X, (t * B + b + 1) * X))));
  const hN: number[] = new Array(L * D * B * H).fill(0);
  for (let l = 0; l < L; l++) {
    const out = Array.from({ length: T }, () => Array.from({ length: B }, () => new Array(D * H).fill(0)));
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d ? "_reverse" : ""}`;
      for (let b = 0; b < B; b++) {
        const s0 = ((l * D + d) * B + b) * H;
        let h = Array.from(h0.data.subarray(s0, s0 + H)), c = Array.from(c0.data.subarray(s0, s0 + H));
        const len = lengths[b];
        for (let k = 0; k < len; k++) {
          const t = d === 0 ? k : len - 1 - k;
          [h, c] = naiveStep(layer, sd, sfx, input[t][b], h, c);
          for (let j = 0; j < H; j++) out[t][b][d * H + j] = h[j];
        }
        for (let j = 0; j < H; j++) hN[s0 + j] = h[j];
      }
    }
    input = out;
  }
  return { output: input.flat(2), h: hN };
}

test("the packed, sorted, batched path equals a naive per-element loop on random configurations", () => {
  const rng = new Rng(99);
  const f32 = new JsBackend();
  const makers: (() => Recurrent)[] = [
    () => new LSTM({ inputSize: 5, hiddenSize: 6, numLayers: 3, bidirectional: true, backend: f32, seed: 1 }),
    () => new GRU({ inputSize: 4, hiddenSize: 5, numLayers: 2, bidirectional: true, backend: f32, seed: 2 }),
    () => new GRU({ inputSize: 4, hiddenSize: 3, numLayers: 2, bidirectional: true, resetAfter: false, backend: f32, seed: 3 }),
    () => new RNN({ inputSize: 3, hiddenSize: 7, numLayers: 2, bidirectional: true, nonlinearity: "relu", backend: f32, seed: 4 }),
    () => new RNN({ inputSize: 3, hiddenSize: 2, bias: false, backend: f32, seed: 5 }),
  ];
  for (const make of makers) {
    const layer = make();
    const T = 9, B = 7;
    const L = layer.numLayers, D = layer.bidirectional ? 2 : 1, H = layer.hiddenSize;
    const lengths = Array.from({ length: B }, () => 1 + Math.floor(rng.next() * T));
    const x = rand(rng, [T, B, layer.inputSize], 1, f32);
    const h0 = rand(rng, [L * D, B, H], 0.5, f32);
    const c0 = rand(rng, [L * D, B, H], 0.5, f32);
    const got = layer.forward(x, { h0, lengths, ...(layer.cellType === "lstm" ? { c0 } : {}) });
    const want = naiveForward(layer, x, h0, c0, lengths);
    want.output.forEach((v, i) => assert.ok(Math.abs(got.output.data[i] - v) <= 1e-5 + 1e-4 * Math.abs(v), `${layer.cellType} output[${i}]: ${got.output.data[i]} vs ${v}`));
    want.h.forEach((v, i) => assert.ok(Math.abs(got.h.data[i] - v) <= 1e-5 + 1e-4 * Math.abs(v), `${layer.cellType} h[${i}]`));
  }
});

test("dropout between stacked layers: gradient check with the same masks, inactive in eval mode", () => {
  const rng = new Rng(21);
  const make = () => new LSTM({ ...base, numLayers: 3, bidirectional: true, dropout: 0.4 }).train();
  const x = rand(rng, [4, 2, 3]);
  const g = rand(rng, [4, 2, 8]);
  const loss = () => dot(make().forward(x, { lengths: [4, 3] }).output.data, g.data);
  const layer = make();
  const out = layer.forward(x, { lengths: [4, 3] });
  const d = layer.backward({ output: g });
  for (let i = 0; i < x.data.length; i++) {
    const numeric = centralDifference(x.data, i, loss);
    assert.ok(Math.abs(numeric - d.dx.data[i]) <= 1e-7 + 1e-6 * Math.abs(numeric), `dx[${i}]: ${d.dx.data[i]} vs ${numeric}`);
  }
  const evalOut = make().eval().forward(x, { lengths: [4, 3] });
  const plain = new LSTM({ ...base, numLayers: 3, bidirectional: true }).forward(x, { lengths: [4, 3] });
  assert.deepEqual(Array.from(evalOut.output.data), Array.from(plain.output.data), "eval mode is dropout-free");
  assert.notDeepEqual(Array.from(out.output.data), Array.from(plain.output.data), "training mode drops");
  assert.throws(() => new LSTM({ ...base, dropout: 1 }), /dropout/);
});
