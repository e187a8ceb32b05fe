/**
 * Bad input gets an error that names the argument, what was expected and what was got.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RnnkitError } from "../tensor.js";
import { GRUCell, LSTMCell } from "./cells.js";
import { GRU, LSTM, RNN } from "./layers.js";

const t = (shape: number[], fill = 0.1) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RnnkitError, `expected an RnnkitError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(p)}`);
    return true;
  });
}

test("constructor options are checked", () => {
  throwsWith(() => new LSTM({ inputSize: 0, hiddenSize: 4 }), "LSTM", "inputSize", "positive integer", "number 0");
  throwsWith(() => new GRU({ inputSize: 2, hiddenSize: 2.5 }), "hiddenSize", "2.5");
  throwsWith(() => new RNN({ inputSize: 2, hiddenSize: 2, nonlinearity: "sigmoid" as "tanh" }), "nonlinearity", "sigmoid");
  throwsWith(() => new LSTM({ inputSize: 2, hiddenSize: 2, resetAfter: false } as never), "resetAfter", "only a GRU");
  throwsWith(() => new GRU({ inputSize: 2, hiddenSize: 2, recurrentActivation: "relu6" as "sigmoid" }), "recurrentActivation", "hardSigmoid", "relu6");
  throwsWith(() => new RNN({ inputSize: 2, hiddenSize: 2, recurrentActivation: "hardSigmoid" } as never), "recurrentActivation", "only LSTM and GRU");
  assert.equal(new LSTMCell({ inputSize: 2, hiddenSize: 2, recurrentActivation: "hardSigmoid" }).forward({ shape: [1, 2], data: [9, -9] }).h.shape.length, 2);
});

test("wrong input and state shapes name the expected and actual shape", () => {
  const lstm = new LSTM({ inputSize: 8, hiddenSize: 4, numLayers: 2 });
  throwsWith(() => lstm.forward(t([32, 8])), "LSTM.forward: x: expected [T, B, X] = [*, *, 8], got [32, 8]");
  throwsWith(() => lstm.forward(t([5, 2, 7])), "x", "[*, *, 8]", "[5, 2, 7]");
  throwsWith(() => lstm.forward(t([5, 2, 8]), { h0: t([1, 2, 4]) }), "h0", "expected [L*D, B, H] = [2, 2, 4], got [1, 2, 4]");
  throwsWith(() => lstm.forward(t([5, 2, 8]), { c0: t([2, 3, 4]) }), "c0", "[2, 2, 4]", "[2, 3, 4]");
  throwsWith(() => lstm.forward({ shape: [5, 2, 8], data: new Float32Array(3) }), "x", "needs 80 numbers", "length 3");
  throwsWith(() => lstm.forward(new Float32Array(80) as never), "x", "expected a tensor");
  throwsWith(() => lstm.forward(t([0, 2, 8])), "x", "no empty dimension");
  const gru = new GRU({ inputSize: 2, hiddenSize: 3 });
  throwsWith(() => gru.forward(t([2, 1, 2]), { c0: t([1, 1, 3]) }), "c0", "only an LSTM");
  throwsWith(() => gru.forward(t([2, 1, 2]), { h: t([1, 1, 3]) } as never), "unknown option h");
});

test("lengths out of range or not integers are rejected", () => {
  const rnn = new RNN({ inputSize: 2, hiddenSize: 3 });
  const x = t([4, 3, 2]);
  throwsWith(() => rnn.forward(x, { lengths: [4, 0, 2] }), "lengths[1]", "[1, 4]", "0");
  throwsWith(() => rnn.forward(x, { lengths: [4, 5, 2] }), "lengths[1]", "5");
  throwsWith(() => rnn.forward(x, { lengths: [4, 2.5, 2] }), "lengths[1]", "2.5");
  throwsWith(() => rnn.forward(x, { lengths: [4, NaN, 2] }), "lengths[1]", "NaN");
  throwsWith(() => rnn.forward(x, { lengths: [4, 2] }), "lengths", "B = 3", "got 2");
});

test("NaN and infinity in inputs are detected", () => {
  const rnn = new RNN({ inputSize: 2, hiddenSize: 3 });
  const x = t([4, 3, 2]);
  x.data[9] = NaN;
  throwsWith(() => rnn.forward(x), "x", "finite", "NaN", "[1, 1, 1]");
  const h0 = t([1, 3, 3]);
  h0.data[0] = Infinity;
  throwsWith(() => rnn.forward(t([4, 3, 2]), { h0 }), "h0", "Infinity");
  rnn.forward(t([4, 3, 2]));
  const g = t([4, 3, 3]);
  g.data[5] = NaN;
  throwsWith(() => rnn.backward({ output: g }), "backward", "output", "NaN");
});

test("backward checks its call order and gradient shapes", () => {
  const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true });
  throwsWith(() => lstm.backward({ output: t([2, 1, 6]) }), "LSTM.backward", "forward() call first");
  lstm.forward(t([2, 1, 2]));
  throwsWith(() => lstm.backward({ output: t([2, 1, 3]) }), "output", "[T, B, D*H] = [2, 1, 6], got [2, 1, 3]");
  throwsWith(() => lstm.backward({ h: t([1, 1, 3]) }), "h", "[2, 1, 3]", "[1, 1, 3]");
  throwsWith(() => lstm.backward({ dx: t([1]) } as never), "unknown gradient dx");
  const gru = new GRU({ inputSize: 2, hiddenSize: 3 });
  gru.forward(t([2, 1, 2]));
  throwsWith(() => gru.backward({ c: t([1, 1, 3]) }), "c", "only an LSTM");
});

test("loadStateDict: missing, extra, mis-shaped and non-finite weights; nothing changes on failure", () => {
  const gru = new GRU({ inputSize: 2, hiddenSize: 3 });
  const good = gru.stateDict();
  const before = JSON.stringify(Array.from(gru.parameters()[0].value.data));
  const { bias_hh_l0: _drop, ...missing } = good;
  throwsWith(() => gru.loadStateDict(missing), "GRU.loadStateDict", "missing bias_hh_l0");
  throwsWith(() => gru.loadStateDict({ ...good, weight_ih_l1: t([9, 3]) }), "unexpected weight_ih_l1");
  throwsWith(() => gru.loadStateDict({ ...good, weight_hh_l0: t([3, 9]) }), "weight_hh_l0", "expected shape [9, 3], got [3, 9]");
  throwsWith(() => gru.loadStateDict({ ...good, bias_ih_l0: new Float32Array(8) }), "bias_ih_l0", "expected 9 numbers", "got 8");
  const bad = t([9, 2], 0.5);
  bad.data[4] = NaN;
  throwsWith(() => gru.loadStateDict({ ...good, weight_ih_l0: bad }), "weight_ih_l0", "NaN", "[2, 0]");
  assert.equal(JSON.stringify(Array.from(gru.parameters()[0].value.data)), before);
  // a good dict loads, flat arrays included
  const flat: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(good)) flat[k] = new Float32Array(v.data.length).fill(0.25);
  gru.loadStateDict(flat);
  assert.ok(gru.parameters().every((p) => p.value.data.every((v) => v === 0.25)));
});

test("cells check shapes and report their own names", () => {
  const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2 });
  throwsWith(() => cell.forward(t([4, 2])), "LSTMCell.forward: x: expected [B, X] = [*, 3], got [4, 2]");
  throwsWith(() => cell.forward(t([4, 3]), { hx: t([3, 2]) }), "hx", "[4, 2]", "[3, 2]");
  const g = new GRUCell({ inputSize: 3, hiddenSize: 2 });
  throwsWith(() => g.loadStateDict({ weight_ih: t([6, 3]) }), "GRUCell.loadStateDict", "missing weight_hh");
});
