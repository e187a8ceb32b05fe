import assert from "node:assert/strict";
import { test } from "node:test";
import type { Example } from "../data/batches.js";
import { SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { evaluate, fit } from "./trainer.js";

/** Label = whether token 3 occurs anywhere in a sequence of random length: needs memory. */
function contains3(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 2 + Math.floor(rng.next() * 8);
    const tokens = Array.from({ length: len }, () => 4 + Math.floor(rng.next() * 4));
    const pos = rng.next() < 0.5 ? Math.floor(rng.next() * len) : -1;
    if (pos >= 0) tokens[pos] = 3;
    return { tokens, target: pos >= 0 ? 1 : 0 };
  });
}

const cfg = { task: "classify" as const, cell: "lstm" as const, vocabSize: 8, embeddingDim: 8, hiddenSize: 16, outputSize: 2, seed: 5 };

test("a classifier learns a task that needs memory, and validation is reported each epoch", async () => {
  const model = new SequenceModel(cfg);
  const reports: number[] = [];
  const r = await fit(model, { kind: "examples", train: contains3(600, 1), val: contains3(200, 2) }, {
    epochs: 8, batchSize: 16, optimizerOptions: { lr: 0.01 }, onEpoch: (e) => void reports.push(e.val!.accuracy!),
  });
  assert.equal(r.stoppedBy, "epochs");
  assert.equal(reports.length, 8);
  assert.ok(reports[reports.length - 1] > 0.9, `validation accuracy ${reports}`);
  const m = evaluate(model, { kind: "examples", examples: contains3(200, 3) });
  assert.ok(m.accuracy! > 0.9);
});

test("the same seed gives the same run; a resumed run equals an uninterrupted one", async () => {
  const data = { kind: "examples" as const, train: contains3(100, 4) };
  const opts = { batchSize: 8, optimizerOptions: { lr: 0.01 } };
  const a = new SequenceModel(cfg), b = new SequenceModel(cfg), c = new SequenceModel(cfg);
  await fit(a, data, { ...opts, epochs: 3 });
  await fit(b, data, { ...opts, epochs: 3 });
  assert.deepEqual(a.stateDict(), b.stateDict());
  const first = await fit(c, data, { ...opts, epochs: 2 });
  await fit(c, data, { ...opts, epochs: 3, resume: { epoch: 2, optimizer: first.optimizer.stateDict() } });
  assert.deepEqual(c.stateDict(), a.stateDict());
});

test("NaN guard: stops with a clear message and does not checkpoint the bad state", async () => {
  const model = new SequenceModel(cfg);
  let checkpoints = 0;
  let batches = 0;
  const r = await fit(model, { kind: "examples", train: contains3(64, 5) }, {
    epochs: 3, batchSize: 8,
    onCheckpoint: () => void checkpoints++,
    onProgress: (p) => {
      batches++;
      if (p.batch === 3) model.parameters()[1].value.data[0] = NaN; // a weight goes bad
    },
  });
  assert.equal(r.stoppedBy, "nan");
  assert.match(r.message!, /epoch 1, batch 4.*the last checkpoint is the last good state/);
  assert.equal(checkpoints, 0);
  assert.equal(batches, 3);
});

test("Ctrl-C (an abort signal) and the time budget stop cleanly with a checkpoint; early stopping", async () => {
  const ac = new AbortController();
  const reasons: string[] = [];
  const r = await fit(new SequenceModel(cfg), { kind: "examples", train: contains3(64, 6) }, {
    epochs: 5, batchSize: 8, signal: ac.signal,
    onProgress: (p) => { if (p.batch === 2) ac.abort(); },
    onCheckpoint: (i) => void reasons.push(i.reason),
  });
  assert.equal(r.stoppedBy, "signal");
  assert.deepEqual(reasons, ["stop"]);
  const t = await fit(new SequenceModel(cfg), { kind: "examples", train: contains3(64, 6) }, { epochs: 1000, batchSize: 8, timeBudget: 0.2 });
  assert.equal(t.stoppedBy, "time");
  const e = await fit(new SequenceModel(cfg), { kind: "examples", train: contains3(32, 7), val: contains3(32, 8) }, {
    epochs: 50, batchSize: 8, patience: 2, optimizerOptions: { lr: 0 },
  });
  assert.equal(e.stoppedBy, "early-stopping");
  assert.equal(e.epochs.length, 3);
});

test("truncated BPTT on a stream: a character model learns a periodic text", async () => {
  const text = "abcdefg".repeat(120);
  const ids = Array.from(text, (ch) => 4 + ch.charCodeAt(0) - 97);
  const model = new SequenceModel({ task: "lm", cell: "gru", vocabSize: 12, embeddingDim: 8, hiddenSize: 24, outputSize: 12, seed: 2 });
  const r = await fit(model, { kind: "stream", train: ids, val: ids.slice(0, 200) }, { epochs: 6, batchSize: 4, seqLen: 20, optimizerOptions: { lr: 0.02 } });
  const last = r.epochs[r.epochs.length - 1];
  assert.ok(last.val!.bpc! < 0.3, `bpc ${last.val!.bpc}`);
  assert.ok(last.train.bpc! < r.epochs[0].train.bpc!);
});
