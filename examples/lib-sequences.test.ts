/** The shared helpers of the sequence examples: a fixed number of steps, whatever the epoch length. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SequenceModel } from "../src/models/sequence-model.js";
import { mostFrequent, trainForSteps } from "./lib-sequences.js";

test("trainForSteps stops at the planned step, across epochs", async () => {
  const model = new SequenceModel({ task: "tag", cell: "gru", vocabSize: 6, embeddingDim: 3, hiddenSize: 4, outputSize: 2, seed: 1 });
  const train = Array.from({ length: 10 }, (_, i) => ({ tokens: Int32Array.of(4, 5, 4 + (i % 2)), target: [0, 1, i % 2] }));
  // 10 examples in batches of 4: 3 batches an epoch, so 7 steps end inside the third epoch
  const r = await trainForSteps(model, train, { steps: 7, batchSize: 4, lr: 0.01, seed: 1 });
  assert.equal(r.steps, 7);
  assert.equal(r.stoppedBy, "steps");
  assert.equal(r.epochs, 3);
  assert.equal(r.passes, 2.8);
  assert.ok(Number.isFinite(r.finalLoss));
});

test("mostFrequent: the top count, ties to the first to reach it", () => {
  assert.equal(mostFrequent(["a", "b", "b", "a", "c"]), "b");
  assert.equal(mostFrequent([3]), 3);
});
