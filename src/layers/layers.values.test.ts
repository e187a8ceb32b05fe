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
