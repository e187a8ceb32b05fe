/**
 * The package as a user sees it: `import ... from "rnnkit"` through package.json's exports.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

test("the public API resolves through the package exports", async () => {
  const api = await import("rnnkit");
  for (const name of ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "JsBackend", "setBackend", "getBackend", "RnnkitError", "defaults", "gateOrder", "kerasToTorch", "torchToKeras",
    "inspect", "gradientThroughTime", "parameterCounts", "cellComparison", "memoryExperiment", "delayedRecall", "gatesChart", "gradientNormChart", "lossChart"]) {
    assert.ok(name in api, `missing export ${name}`);
  }
  const lstm = new api.LSTM({ inputSize: 2, hiddenSize: 3 });
  const { output, h, c } = lstm.forward({ shape: [4, 1, 2], data: new Float32Array(8).fill(0.5) });
  assert.deepEqual(output.shape, [4, 1, 3]);
  assert.deepEqual(h.shape, [1, 1, 3]);
  assert.deepEqual(c?.shape, [1, 1, 3]);
  assert.ok(output.data instanceof Float32Array);
});
