/**
 * The chart specs: plain JSON, the data they carry equals the inspection results, and each
 * compiles with Vega-Lite without warnings that would drop an encoding.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compile } from "vega-lite";
import { JsBackend } from "../backend/js.js";
import { SequenceModel } from "../models/sequence-model.js";
import { attentionChart, gatesChart, gradientNormChart, gradientSeries, lossChart, memoryAccuracyChart, parameterChart, statesChart } from "./charts.js";
import { gradientThroughTime, inspect } from "./inspect.js";
import { parameterCounts } from "./parameters.js";

const model = new SequenceModel({ task: "lm", cell: "lstm", vocabSize: 6, embeddingDim: 3, hiddenSize: 4, outputSize: 6 }, { backend: new JsBackend() });
const ex = { tokens: [1, 2, 3, 4, 5], target: [2, 3, 4, 5, 1] };
const ins = inspect(model, ex);
const grads = gradientThroughTime(model, ex);

function compiles(spec: object): void {
  const warnings: string[] = [];
  const logger = { level: () => logger, error: (...m: unknown[]) => { warnings.push(m.join(" ")); return logger; }, warn: (...m: unknown[]) => { warnings.push(m.join(" ")); return logger; }, info: () => logger, debug: () => logger };
  compile(spec as never, { logger: logger as never });
  assert.deepEqual(warnings, []);
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
}

test("gatesChart / statesChart: one heatmap per gate (and h, c) holding every [T][H] value, tokens on the axis", () => {
  const lt = ins.layers[0];
  const g = gatesChart(lt, ["a", "b", " ", "d", "e"]) as { vconcat: { title: string; data: { values: { step: string; t: number; unit: number; value: number }[] } }[] };
  assert.deepEqual(g.vconcat.map((v) => v.title), ["i", "f", "g", "o"]);
  const f = g.vconcat[1].data.values;
  assert.equal(f.length, 5 * 4);
  for (const v of f) assert.equal(v.value, lt.gates.f[v.t][v.unit]);
  assert.deepEqual([...new Set(f.map((v) => v.step))], ["0:a", "1:b", "2:␣", "3:d", "4:e"]);
  compiles(g);
  const s = statesChart(lt) as { vconcat: { title: string }[] };
  assert.deepEqual(s.vconcat.map((v) => v.title), ["h", "c"]);
  compiles(s);
});

test("gradientSeries: distance = T-1-t for the forward direction; the chart is log-scaled; facets for two phases", () => {
  const s = gradientSeries(grads);
  assert.deepEqual(s.map((x) => x.label), ["rnn l0 forward |dL/dh|", "rnn l0 forward |dL/dc|"]);
  assert.deepEqual(s[0].points.map((p) => p.distance), [4, 3, 2, 1, 0]);
  assert.deepEqual(s[0].points.map((p) => p.norm), grads.layers[0].dh);
  const c = gradientNormChart(s) as { encoding: { y: { scale: { type: string } } }; data: { values: unknown[] } };
  assert.equal(c.encoding.y.scale.type, "log");
  assert.equal(c.data.values.length, 10);
  compiles(c);
  compiles(gradientNormChart([{ ...s[0], facet: "at initialisation" }, { ...s[1], facet: "after training" }]));
});

test("attentionChart, parameterChart, lossChart, memoryAccuracyChart compile and carry their numbers", () => {
  const a = attentionChart([[0.25, 0.75], [1, 0]], ["x", "y"], ["p", "q"]) as { data: { values: { weight: number }[] } };
  assert.deepEqual(a.data.values.map((v) => v.weight), [0.25, 0.75, 1, 0]);
  compiles(a);
  const counts = parameterCounts(model.config as never);
  const p = parameterChart(counts) as { layer: { data: { values: { text: string }[] } }[] };
  assert.ok(p.layer[1].data.values.some((v) => v.text === String(counts.total)));
  compiles(p);
  compiles(lossChart([{ step: 1, loss: 2 }, { step: 10, loss: 1.5 }, { step: 10, validation: 1.7, metric: "loss" }]));
  compiles(memoryAccuracyChart([{ cell: "lstm", delay: 5, hidden: 4, parameters: 100, accuracy: 1, equal: "hidden" }, { cell: "lstm", delay: 10, hidden: 4, parameters: 100, accuracy: 0.5, equal: "hidden" }], 0.125));
});
