/**
 * Values the trainer reports, against independent measurements (issue 10, item 8: tests written
 * for mutants that survived the suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { evaluate, fit } from "./trainer.js";
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

test("a time budget whose first steps are slow measures its horizon over the seconds it allowed: steps + (budget left x 0.92) / seconds per step", async () => {
  const model = new SequenceModel({ task: "classify", cell: "gru", vocabSize: 8, embeddingDim: 4, hiddenSize: 8, outputSize: 2, seed: 1 });
  const train = Array.from({ length: 64 }, (_, i) => ({ tokens: [4 + (i % 4), 5, 6], target: i % 2 }));
  // each of the first 3 steps takes 2 s more (a sleep, no CPU), so 5 s pass before the 5 steps the
  // probe skips: the horizon comes from the seconds (defaults.horizonProbeSeconds), at step 4
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const ac = new AbortController();
  const before = performance.now();
  let at = 0;
  const r = await fit(model, { kind: "examples", train }, {
    timeBudget: 60, batchSize: 8, signal: ac.signal,
    onProgress: (p) => {
      if (p.step < 4) Atomics.wait(pause, 0, 0, 2000);
      else {
        at = (performance.now() - before) / 1000;
        ac.abort();
      }
    },
  });
  assert.equal(r.stoppedBy, "signal");
  assert.equal(r.trainer!.horizonFrom, "time");
  // elapsed e at the measurement is between 6 s (three sleeps) and the wall clock at step 4
  const horizon = (e: number) => 4 + Math.floor(((60 - e) * 0.92) / (e / 4));
  assert.ok(at >= 6, `${at}`);
  assert.ok(r.trainer!.horizon <= horizon(6) && r.trainer!.horizon >= horizon(at), `horizon ${r.trainer!.horizon} in [${horizon(at)}, ${horizon(6)}]`);
});

test("evaluate on a stream: the mean cross-entropy, bits and arg-max accuracy over every predicted token, as one forward over each row gives them", () => {
  const rng = new Rng(8);
  const ids = Array.from({ length: 41 }, () => 4 + Math.floor(rng.next() * 3));
  const model = new SequenceModel({ task: "lm", cell: "lstm", vocabSize: 7, embeddingDim: 3, hiddenSize: 5, outputSize: 7, seed: 2 });
  for (const batchSize of [1, 2]) {
    // B rows of floor(40 / B) steps; chunks of 8 carry the state, so one forward per row is the same
    const B = batchSize, len = Math.floor(40 / B);
    let nll = 0, hits = 0;
    for (let b = 0; b < B; b++) {
      const row = ids.slice(b * len, b * len + len + 1);
      const logits = model.forward({ T: len, B: 1, lengths: [len], tokens: row.slice(0, len) }).logits.data;
      for (let t = 0; t < len; t++) {
        const z = Array.from(logits.subarray(t * 7, t * 7 + 7));
        const mx = Math.max(...z);
        nll -= z[row[t + 1]] - mx - Math.log(z.reduce((a, v) => a + Math.exp(v - mx), 0));
        if (z.indexOf(mx) === row[t + 1]) hits++;
      }
    }
    const m = evaluate(model, { kind: "stream", ids }, { batchSize, seqLen: 8 });
    assert.equal(m.count, B * len);
    assert.ok(Math.abs(m.loss - nll / (B * len)) < 1e-5, `B ${B}: loss ${m.loss} vs ${nll / (B * len)}`);
    assert.ok(Math.abs(m.bpc! - m.loss / Math.LN2) < 1e-12);
    assert.equal(m.accuracy, hits / (B * len));
  }
});
