/**
 * The delayed-recall generator against its definition, the equal-parameter sizing, the keep-gate
 * bias, and a tiny memoryExperiment: its plan of runs and its gradient curves from the real backward.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError } from "../tensor.js";
import { gradientThroughTime } from "./inspect.js";
import { Rng } from "../rng.js";
import { delayedRecall, hiddenForParameters, memoryExperiment, memoryModelConfig, setChronoGateBias, setKeepGateBias } from "./memory.js";
import { parameterCounts } from "./parameters.js";

test("delayedRecall: a one-hot symbol, then N one-hot distractors (index K), the symbol as the target; seeded", () => {
  const ex = delayedRecall({ symbols: 5, delay: 3, count: 200, seed: 9 });
  const seen = new Set<number>();
  for (const e of ex) {
    const s = e.target as number;
    seen.add(s);
    assert.equal(e.inputs!.length, 4);
    e.inputs!.forEach((row, t) => assert.deepEqual(row, Array.from({ length: 6 }, (_, k) => (k === (t === 0 ? s : 5) ? 1 : 0))));
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
  assert.deepEqual(delayedRecall({ symbols: 5, delay: 3, count: 200, seed: 9 }), ex);
  assert.notDeepEqual(delayedRecall({ symbols: 5, delay: 3, count: 200, seed: 10 }), ex);
  assert.throws(() => delayedRecall({ symbols: 1, delay: 3, count: 2 }), RnnkitError);
  assert.throws(() => delayedRecall({ delay: -1, count: 2 }), /delay: expected an integer >= 0/);
});

test("hiddenForParameters: the RNN and GRU sized to the LSTM's count are the closest sizes", () => {
  const target = parameterCounts(memoryModelConfig("lstm", 32, 8, 0)).total;
  for (const cell of ["rnn", "gru"] as const) {
    const H = hiddenForParameters(cell, target, 8);
    const n = (h: number) => parameterCounts(memoryModelConfig(cell, h, 8, 0)).total;
    assert.ok(Math.abs(n(H) - target) <= Math.abs(n(H - 1) - target) && Math.abs(n(H) - target) <= Math.abs(n(H + 1) - target), `${cell} H=${H}`);
  }
  assert.equal(hiddenForParameters("lstm", target, 8), 32);
});

test("setKeepGateBias: the forget gate (LSTM) / update gate (GRU) bias, b_ih = b, b_hh = 0, other blocks untouched", () => {
  const f64 = new JsBackend({ dtype: "float64" });
  for (const cell of ["lstm", "gru"] as const) {
    const m = new SequenceModel(memoryModelConfig(cell, 4, 3, 1), { backend: f64 });
    const before = m.stateDict();
    setKeepGateBias(m, 2.5);
    const after = m.stateDict();
    const G = cell === "lstm" ? 4 : 3;
    for (let j = 0; j < G * 4; j++) {
      const keep = j >= 4 && j < 8;
      assert.equal(after["rnn.bias_ih_l0"].data[j], keep ? 2.5 : before["rnn.bias_ih_l0"].data[j]);
      assert.equal(after["rnn.bias_hh_l0"].data[j], keep ? 0 : before["rnn.bias_hh_l0"].data[j]);
    }
  }
});

test("setChronoGateBias: keep-gate b_ih = log u, u in [1, T-1] (forgetting time 1 + e^b in [2, T]), LSTM input gate -b, b_hh 0, the rest untouched, seeded", () => {
  const f64 = new JsBackend({ dtype: "float64" });
  const H = 64, T = 100;
  for (const cell of ["lstm", "gru"] as const) {
    const m = new SequenceModel(memoryModelConfig(cell, H, 3, 1), { backend: f64 });
    const before = m.stateDict();
    setChronoGateBias(m, T, new Rng(5));
    const after = m.stateDict();
    const G = cell === "lstm" ? 4 : 3;
    const bf: number[] = [];
    for (let j = 0; j < G * H; j++) {
      const keep = j >= H && j < 2 * H, input = cell === "lstm" && j < H;
      const ih = after["rnn.bias_ih_l0"].data[j], hh = after["rnn.bias_hh_l0"].data[j];
      if (keep) {
        bf.push(ih);
        const forget = 1 / (1 - 1 / (1 + Math.exp(-ih)));
        assert.ok(forget >= 2 - 1e-9 && forget <= T + 1e-9, `unit ${j - H}: forgetting time ${forget}`);
        assert.equal(hh, 0);
      } else if (input) {
        assert.equal(ih, -after["rnn.bias_ih_l0"].data[j + H]);
        assert.equal(hh, 0);
      } else {
        assert.equal(ih, before["rnn.bias_ih_l0"].data[j]);
        assert.equal(hh, before["rnn.bias_hh_l0"].data[j]);
      }
    }
    // spread over the range, not one value: some units forget within 10 steps, some keep for 50+
    assert.ok(bf.some((b) => 1 + Math.exp(b) < 10) && bf.some((b) => 1 + Math.exp(b) > 50), JSON.stringify(bf));
    for (const k of ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "head.weight"]) assert.deepEqual(after[k].data, before[k].data);
    const again = new SequenceModel(memoryModelConfig(cell, H, 3, 1), { backend: f64 });
    setChronoGateBias(again, T, new Rng(5));
    assert.deepEqual(again.stateDict()["rnn.bias_ih_l0"].data, after["rnn.bias_ih_l0"].data);
  }
  const rnn = new SequenceModel(memoryModelConfig("rnn", 4, 3, 1), { backend: f64 });
  const was = rnn.stateDict();
  setChronoGateBias(rnn, T, new Rng(5));
  assert.deepEqual(rnn.stateDict(), was);
  assert.throws(() => setChronoGateBias(rnn, 1, new Rng(5)), /maxDelay: expected a number >= 2, got number 1/);
});

test("the keep gate's init decides whether the gradient reaches the symbol: chrono vs PyTorch's at N = 50, from the real backward", () => {
  // the mechanism behind the experiment's default: PyTorch's biases give f ~ 0.5 and a gradient
  // at distance 50 near 0.5^50; the chrono init's slow units carry it
  const f64 = new JsBackend({ dtype: "float64" });
  const N = 50;
  const probe = delayedRecall({ delay: N, count: 4, seed: 3 });
  const far = (m: SequenceModel, key: "dh" | "dc") => probe.reduce((s, e) => s + gradientThroughTime(m, e).layers[0][key]![0] / probe.length, 0);
  for (const cell of ["lstm", "gru"] as const) {
    const key = cell === "lstm" ? "dc" : "dh";
    const pytorch = new SequenceModel(memoryModelConfig(cell, 16, 8, 7), { backend: f64 });
    const chrono = new SequenceModel(memoryModelConfig(cell, 16, 8, 7), { backend: f64 });
    setChronoGateBias(chrono, 100, new Rng(11));
    const [p, c] = [far(pytorch, key), far(chrono, key)];
    assert.ok(p > 0 && c > 1e6 * p && c > 1e-4, `${cell}: |dL/d${key.slice(1)}_0| PyTorch ${p}, chrono ${c}`);
  }
});

test("memoryExperiment (tiny): equal-hidden runs for each delay, equal-parameter runs at the longest, gradient curves at init and after training", async () => {
  const f64 = new JsBackend({ dtype: "float64" });
  const seen: number[] = [];
  const r = await memoryExperiment({ delays: [3, 2], hidden: 3, steps: 2, batchSize: 4, testSize: 16, gradientSamples: 2, equalParameterDelays: 1, seeds: 1, backend: f64, onRun: (_, done) => seen.push(done) });
  assert.deepEqual(r.rows.map((x) => `${x.cell}/${x.equal}/${x.delay}`), ["rnn/hidden/2", "lstm/hidden/2", "gru/hidden/2", "rnn/hidden/3", "lstm/hidden/3", "gru/hidden/3", "rnn/parameters/3", "gru/parameters/3"]);
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const x of r.rows) {
    assert.equal(x.parameters, parameterCounts(memoryModelConfig(x.cell as "rnn", x.hidden, 8, 0)).total);
    assert.equal(x.steps, 2);
    assert.ok(x.accuracy >= 0 && x.accuracy <= 1);
  }
  // a curve at init and after training for the first seed of every configuration, over distances 0..N
  const Hp = { rnn: hiddenForParameters("rnn", parameterCounts(memoryModelConfig("lstm", 3, 8, 0)).total, 8), gru: hiddenForParameters("gru", parameterCounts(memoryModelConfig("lstm", 3, 8, 0)).total, 8) };
  const curves = ["rnn/2/3", "lstm/2/3", "gru/2/3", "rnn/3/3", "lstm/3/3", "gru/3/3", `rnn/3/${Hp.rnn}`, `gru/3/${Hp.gru}`].flatMap((c) => [`${c}/init`, `${c}/trained`]);
  assert.deepEqual(r.gradients.map((g) => `${g.cell}/${g.delay}/${g.hidden}/${g.phase}`), curves);
  for (const g of r.gradients) {
    assert.equal(g.dh.length, g.delay + 1);
    assert.equal(g.dc !== undefined, g.cell === "lstm");
    if (g.dc) assert.equal(g.dc.length, g.delay + 1);
  }
  const curve = (cell: string, delay: number, phase: string) => r.gradients.find((g) => g.cell === cell && g.delay === delay && g.hidden === 3 && g.phase === phase)!;
  // the init curve is the mean of gradientThroughTime over the probe sequences, by distance
  const m = new SequenceModel(memoryModelConfig("rnn", 3, 8, r.settings.delays.length * 0 + 42 + 1000 * 3), { backend: f64 });
  const probe = delayedRecall({ delay: 3, count: 2, seed: 42 + 1000 * 3 + 3 });
  const want = [0, 1, 2, 3].map((d) => probe.reduce((s, e) => s + gradientThroughTime(m, e).layers[0].dh[3 - d] / 2, 0));
  curve("rnn", 3, "init").dh.forEach((v, d) => assert.ok(Math.abs(v - want[d]) < 1e-12, `distance ${d}: ${v} vs ${want[d]}`));
  assert.equal(r.settings.chance, 1 / 8);
  assert.equal(r.settings.gateInit, "chrono");
  assert.equal(r.settings.chronoMaxDelay, 3);
  // the LSTM's init curve is that of a chrono-initialised model with the run's seed (run index 4: lstm at N = 3)
  const lstm = new SequenceModel(memoryModelConfig("lstm", 3, 8, 42 + 1000 * 4), { backend: f64 });
  setChronoGateBias(lstm, 3, new Rng(42 + 1000 * 4 + 4));
  const lstmProbe = delayedRecall({ delay: 3, count: 2, seed: 42 + 1000 * 4 + 3 });
  const lstmWant = [0, 1, 2, 3].map((d) => lstmProbe.reduce((s, e) => s + gradientThroughTime(lstm, e).layers[0].dc![3 - d] / 2, 0));
  curve("lstm", 3, "init").dc!.forEach((v, d) => assert.ok(Math.abs(v - lstmWant[d]) < 1e-12, `lstm distance ${d}: ${v} vs ${lstmWant[d]}`));
  const pt = await memoryExperiment({ delays: [3], hidden: 3, steps: 1, batchSize: 2, testSize: 4, gradientSamples: 2, equalParameterDelays: 0, seeds: 1, gateInit: "pytorch", backend: f64 });
  assert.equal(pt.settings.gateInit, "pytorch");
  assert.equal(pt.settings.chronoMaxDelay, undefined);
  const plain = new SequenceModel(memoryModelConfig("lstm", 3, 8, 42 + 1000 * 1), { backend: f64 });
  const plainWant = [0, 1, 2, 3].map((d) => delayedRecall({ delay: 3, count: 2, seed: 42 + 1000 + 3 }).reduce((s, e) => s + gradientThroughTime(plain, e).layers[0].dc![3 - d] / 2, 0));
  pt.gradients[2].dc!.forEach((v, d) => assert.ok(Math.abs(v - plainWant[d]) < 1e-12, `pytorch lstm distance ${d}: ${v} vs ${plainWant[d]}`));
  await assert.rejects(memoryExperiment({ delays: [2], gateInit: "keras" as never }), /gateInit: expected chrono, pytorch or a finite number/);
  const two = await memoryExperiment({ delays: [2], hidden: 2, steps: 1, batchSize: 2, testSize: 4, gradientSamples: 1, equalParameterDelays: 0, seeds: 2, backend: f64 });
  assert.deepEqual(two.rows.map((x) => `${x.cell}/${x.seed}`), ["rnn/42", "rnn/7961", "lstm/1042", "lstm/8961", "gru/2042", "gru/9961"]);
  assert.equal(two.gradients.length, 6);
  await assert.rejects(memoryExperiment({ delays: [] }), /delays: expected a non-empty array/);
});
