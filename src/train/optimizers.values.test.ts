/**
 * Optimizer state round trips and refusals (issue 10, item 8: tests written for mutants that
 * survived the suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import type { Parameter } from "../layers/module.js";
import { RnnkitError } from "../tensor.js";
import { Optimizer, type OptimizerName } from "./optimizers.js";

const be = new JsBackend({ dtype: "float64" });
const param = (w: number[]): Parameter => ({ name: "w", value: { shape: [w.length], data: Float64Array.from(w) as never }, grad: { shape: [w.length], data: new Float64Array(w.length) as never } });

test("a state dict loaded into a fresh optimizer continues the same updates, for every optimizer with state", () => {
  for (const name of ["sgd", "adam", "adamw", "rmsprop", "adagrad"] as OptimizerName[]) {
    const a = param([1, -2, 3]);
    const opt = new Optimizer(name, [a], name === "sgd" ? { momentum: 0.9 } : {}, be);
    const grads = [[0.5, -1, 0.25], [-0.3, 0.2, 0.1], [1, 1, -1]];
    grads.slice(0, 2).forEach((g) => { a.grad.data.set(g); opt.stepOnce(); });
    const saved = opt.stateDict();
    const b = param(Array.from(a.value.data));
    const fresh = new Optimizer(name, [b], name === "sgd" ? { momentum: 0.9 } : {}, be);
    fresh.loadStateDict(JSON.parse(JSON.stringify({ ...saved, tensors: Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, { data: Array.from(t.data) }])) })));
    assert.equal(fresh.step, 2);
    a.grad.data.set(grads[2]);
    b.grad.data.set(grads[2]);
    opt.stepOnce();
    fresh.stepOnce();
    assert.deepEqual(Array.from(b.value.data), Array.from(a.value.data), `${name}: the resumed step equals the uninterrupted one`);
  }
});

test("loadStateDict refuses a missing or wrongly sized state tensor and a bad step, naming it", () => {
  const p = param([1, 2, 3]);
  const opt = new Optimizer("adam", [p], {}, be);
  const sd = opt.stateDict();
  const without = { ...sd, tensors: { "optim.w.0": sd.tensors["optim.w.0"] } };
  assert.throws(() => opt.loadStateDict(without), (e: unknown) => e instanceof RnnkitError && /optim\.w\.1: expected 3 numbers, got nothing/.test(e.message));
  const short = { ...sd, tensors: { ...sd.tensors, "optim.w.1": { data: [1, 2] } } };
  assert.throws(() => opt.loadStateDict(short), (e: unknown) => e instanceof RnnkitError && /optim\.w\.1: expected 3 numbers, got 2/.test(e.message));
  for (const step of [-1, 1.5, NaN]) assert.throws(() => opt.loadStateDict({ ...sd, step }), /step: expected a non-negative integer/);
  // a refused load changes nothing
  assert.equal(opt.step, 0);
});
