/**
 * Layer construction refusals (issue 10, item 8: tests written for mutants that survived the
 * suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RnnkitError } from "../tensor.js";
import { GRU, LSTM, RNN } from "./layers.js";

test("a layer built from something that is not an options object is an RnnkitError naming the layer", () => {
  for (const [name, make] of [["RNN", (o: unknown) => new RNN(o as never)], ["LSTM", (o: unknown) => new LSTM(o as never)], ["GRU", (o: unknown) => new GRU(o as never)]] as const) {
    for (const bad of [null, undefined, 5, "lstm"]) {
      assert.throws(() => make(bad), (e: unknown) => e instanceof RnnkitError && e.message.startsWith(name) && /expected an options object \{inputSize, hiddenSize, \.\.\.\}/.test(e.message), `${name}(${String(bad)})`);
    }
  }
});
