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

test("import of rnnkit does not load protobufjs (the ONNX writer's encoder loads on the first export)", async () => {
  const { spawnSync } = await import("node:child_process");
  const script = `
    const { createRequire } = await import("node:module");
    const req = createRequire(import.meta.url);
    const loaded = () => Object.keys(req.cache).some((k) => k.includes("protobufjs"));
    const rnnkit = await import(${JSON.stringify(new URL("./index.js", import.meta.url).href)});
    const before = loaded();
    const model = new rnnkit.SequenceModel({ task: "classify", cell: "gru", vocabSize: 5, embeddingDim: 3, hiddenSize: 4, outputSize: 2, seed: 1 });
    const bytes = rnnkit.exportOnnx(model);
    console.log(JSON.stringify({ before, after: loaded(), bytes: bytes.length }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split("\n").pop()!) as { before: boolean; after: boolean; bytes: number };
  assert.deepEqual({ before: got.before, after: got.after }, { before: false, after: true });
  assert.ok(got.bytes > 100);
});
