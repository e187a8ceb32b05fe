/**
 * Layer construction refusals (issue 10, item 8: tests written for mutants that survived the
 * suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RnnkitError } from "../tensor.js";
import { GRU, LSTM, RNN } from "./layers.js";
import { Linear } from "./linear.js";

test("a layer built from something that is not an options object is an RnnkitError naming the layer", () => {
  for (const [name, make] of [["RNN", (o: unknown) => new RNN(o as never)], ["LSTM", (o: unknown) => new LSTM(o as never)], ["GRU", (o: unknown) => new GRU(o as never)]] as const) {
    for (const bad of [null, undefined, 5, "lstm"]) {
      assert.throws(() => make(bad), (e: unknown) => e instanceof RnnkitError && e.message.startsWith(name) && /expected an options object \{inputSize, hiddenSize, \.\.\.\}/.test(e.message), `${name}(${String(bad)})`);
    }
  }
});

test("a Linear given the wrong width says [*, in] = [*, inFeatures] for every rank", () => {
  const lin = new Linear({ inFeatures: 4, outFeatures: 2 });
  assert.throws(() => lin.forward({ shape: [2, 3], data: new Float32Array(6) }), /^RnnkitError: Linear.forward: x: expected \[\*, in\] = \[\*, 4\], got \[2, 3\]$/);
  assert.throws(() => lin.forward({ shape: [5, 2, 3], data: new Float32Array(30) }), /expected \[\*, \*, in\] = \[\*, \*, 4\], got \[5, 2, 3\]$/);
  assert.throws(() => lin.forward({ shape: [3], data: new Float32Array(3) }), /expected \[in\] = \[4\], got \[3\]$/);
  assert.deepEqual(lin.forward({ shape: [3, 2, 4], data: new Float32Array(24) }).shape, [3, 2, 2]);
  lin.dispose();
});

test("a forward without h0 starts from zeros even after a forward that was given h0 and c0 (nothing leaks between calls)", () => {
  for (const [name, make] of [["GRU", () => new GRU({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true })], ["LSTM", () => new LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true })]] as const) {
    const layer = make(), fresh = make();
    fresh.loadStateDict(layer.stateDict());
    const x = { shape: [4, 2, 2], data: Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)) };
    const state = { shape: [4, 2, 3], data: new Float32Array(24).fill(0.7) };
    layer.forward(x, { h0: state, ...(name === "LSTM" ? { c0: state } : {}) });
    const again = layer.forward(x), want = fresh.forward(x);
    assert.deepEqual(Array.from(again.output.data), Array.from(want.output.data), `${name}: output`);
    assert.deepEqual(Array.from(again.h.data), Array.from(want.h.data), `${name}: final h`);
    layer.dispose();
    fresh.dispose();
  }
});
