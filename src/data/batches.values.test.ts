/**
 * Batching against its definition (issue 10, item 8: tests written for mutants that survived the
 * suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../rng.js";
import { type Example, bucketBatches, padBatch, streamChunks } from "./batches.js";

test("padBatch places numeric inputs time-major, [T, B, X] with x[(t*B + b)*X + k], zero past each length", () => {
  const e: Example[] = [
    { inputs: [[1, 2, 3], [4, 5, 6]], target: 0 },
    { inputs: [[7, 8, 9], [10, 11, 12], [13, 14, 15]], target: 1 },
  ];
  const b = padBatch(e, false);
  assert.equal(b.T, 3);
  assert.deepEqual(b.lengths, [2, 3]);
  const want = new Float32Array(3 * 2 * 3);
  e.forEach((x, j) => x.inputs!.forEach((row, t) => row.forEach((v, k) => (want[(t * 2 + j) * 3 + k] = v))));
  assert.deepEqual(Array.from(b.inputs!), Array.from(want));
  assert.deepEqual(Array.from(b.inputs!).slice(0, 6), [1, 2, 3, 7, 8, 9], "step 0 of both, each X wide");
  assert.deepEqual(Array.from(b.inputs!).slice(12), [0, 0, 0, 13, 14, 15], "step 2: the first is past its length");
});

test("bucketBatches sorts by length inside each bucket of 50 batches, and keeps every example once", () => {
  const rng = new Rng(41);
  const examples: Example[] = Array.from({ length: 230 }, (_, i) => ({ tokens: Array.from({ length: 1 + Math.floor(rng.next() * 20) }, () => 4), target: i }));
  for (const shuffle of [false, true]) {
    const batches = bucketBatches(examples, 2, false, 3, shuffle);
    assert.equal(batches.length, 115);
    const seen = batches.flatMap((b) => Array.from(b.targets as ArrayLike<number>));
    assert.deepEqual([...seen].sort((a, b) => a - b), examples.map((_, i) => i), "each example once");
    // a batch holds neighbours in its bucket's length order: no batch spans a shorter one of the same bucket
    if (!shuffle) {
      // buckets of 50 batches of 2: examples [0, 100), [100, 200), [200, 230), each sorted
      const lengths = batches.flatMap((b) => b.lengths);
      for (let i = 1; i < lengths.length; i++) if (i % 100 !== 0) assert.ok(lengths[i] >= lengths[i - 1], `position ${i}: ${lengths[i - 1]} then ${lengths[i]}`);
      assert.ok(lengths[100] < lengths[99], "the premise: a new bucket starts short again");
    }
  }
});

test("streamChunks cuts a stream into B rows of floor((n-1)/B) steps, chunk k holding steps [kT, (k+1)T) with the next id as target", () => {
  const ids = Array.from({ length: 23 }, (_, i) => 100 + i);
  const chunks = streamChunks(ids, 2, 4);
  // rows of 11 steps: row 0 reads ids 0..10 (targets 1..11), row 1 ids 11..21 (targets 12..22)
  assert.deepEqual(chunks.map((c) => c.T), [4, 4, 3]);
  const row = (b: number, key: "tokens" | "targets") => chunks.flatMap((c) => Array.from({ length: c.T }, (_, t) => (c[key] as ArrayLike<number>)[t * 2 + b]));
  assert.deepEqual(row(0, "tokens"), ids.slice(0, 11));
  assert.deepEqual(row(0, "targets"), ids.slice(1, 12));
  assert.deepEqual(row(1, "tokens"), ids.slice(11, 22));
  assert.deepEqual(row(1, "targets"), ids.slice(12, 23));
});
