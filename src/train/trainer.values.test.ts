/**
 * Values the trainer reports, against independent measurements (issue 10, item 8: tests written
 * for mutants that survived the suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { fit } from "./trainer.js";
import type { EpochReport, Progress } from "./trainer.js";

test("elapsed times are seconds since the run started: never more than the wall clock around fit, never going back", async () => {
  const rng = new Rng(3);
  const train = Array.from({ length: 96 }, () => {
    const tokens = Array.from({ length: 6 }, () => 4 + Math.floor(rng.next() * 4));
    return { tokens, target: tokens.includes(5) ? 1 : 0 };
  });
  const model = new SequenceModel({ task: "classify", cell: "gru", vocabSize: 8, embeddingDim: 4, hiddenSize: 8, outputSize: 2, seed: 1 });
  const progress: Progress[] = [], epochs: EpochReport[] = [];
  const before = performance.now();
  await fit(model, { kind: "examples", train }, { epochs: 3, batchSize: 8, onProgress: (p) => void progress.push(p), onEpoch: (e) => void epochs.push(e) });
  const wall = (performance.now() - before) / 1000;
  assert.equal(epochs.length, 3);
  assert.equal(progress.length, 3 * 12);
  // one timeline: every step's elapsed, then its epoch's, each >= the one before and <= the wall clock
  const timeline = progress.flatMap((p, i) => ((i + 1) % 12 === 0 ? [p.elapsed, epochs[(i + 1) / 12 - 1].elapsed] : [p.elapsed]));
  timeline.forEach((t, i) => {
    assert.ok(t >= 0 && t <= wall, `elapsed ${t} s within the ${wall} s that fit took`);
    if (i > 0) assert.ok(t >= timeline[i - 1], `elapsed goes forward: ${timeline[i - 1]} then ${t}`);
  });
  // the speed is this epoch's items over this epoch's time so far, which is shorter than the whole run
  for (const p of progress) assert.ok(Number.isFinite(p.itemsPerSec) && p.itemsPerSec >= (p.batch * 8) / wall, `${p.itemsPerSec} items/s after ${p.batch * 8} items`);
});

test("fit refuses an empty training set before anything runs", async () => {
  const model = new SequenceModel({ task: "classify", cell: "gru", vocabSize: 8, embeddingDim: 4, hiddenSize: 8, outputSize: 2, seed: 1 });
  const before = model.parameters().map((p) => Array.from(p.value.data));
  await assert.rejects(fit(model, { kind: "examples", train: [] }, { epochs: 1 }), /fit: expected at least one training example, got none/);
  assert.deepEqual(model.parameters().map((p) => Array.from(p.value.data)), before, "no step was taken");
});
