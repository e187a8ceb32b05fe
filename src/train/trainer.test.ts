import assert from "node:assert/strict";
import { test } from "node:test";
import type { Example } from "../data/batches.js";
import { SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { autoWarmup, lrFactor, resolveSchedule } from "./optimizers.js";
import { evaluate, fit } from "./trainer.js";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);

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

test("the same seed gives the same run; a run interrupted and resumed equals an uninterrupted one, schedule included", async () => {
  // (changed with the "auto" schedule: the old test stopped a run by giving it fewer epochs, which
  // now also gives it a shorter horizon; an interruption keeps the horizon, in the checkpoint)
  const data = { kind: "examples" as const, train: contains3(100, 4) };
  const opts = { batchSize: 8, optimizerOptions: { lr: 0.01 }, epochs: 4 };
  const a = new SequenceModel(cfg), b = new SequenceModel(cfg), c = new SequenceModel(cfg);
  const lrA: number[] = [], lrC: number[] = [];
  const ra = await fit(a, data, { ...opts, onProgress: (p) => void lrA.push(p.lr) });
  await fit(b, data, opts);
  assert.deepEqual(a.stateDict(), b.stateDict());
  assert.deepEqual(ra.trainer, { horizon: 4 * 13, warmup: 3, horizonFrom: "epochs" }, "13 batches of 8 per epoch; warm-up ceil(5% of 52)");
  const first = await fit(c, data, { ...opts, onProgress: (p) => void lrC.push(p.lr), onEpoch: (e) => e.epoch < 2 });
  assert.equal(first.stoppedBy, "callback");
  const second = await fit(c, data, { ...opts, onProgress: (p) => void lrC.push(p.lr), resume: { epoch: 2, optimizer: first.optimizer.stateDict(), trainer: first.trainer! } });
  assert.equal(second.trainer!.horizonFrom, "checkpoint");
  assert.deepEqual(lrC, lrA, "the same learning rate at every step");
  assert.deepEqual(c.stateDict(), a.stateDict());
});

test("the auto schedule (warm-up, flat, linear decay to the floor over the last 20%), cosine and wsd, against hand-computed values", () => {
  assert.equal(autoWarmup(1000), 50);
  assert.equal(autoWarmup(10000), 100);
  assert.equal(autoWarmup(7), 1);
  const auto = resolveSchedule("auto", 1000);
  assert.equal(auto.warmup, 50);
  const a = (step: number) => lrFactor(auto.schedule, step, auto.warmup);
  close(a(0), 1 / 50);
  close(a(49), 1);
  close(a(500), 1);
  close(a(800), 1);
  close(a(900), 1 - 0.95 * 0.5);
  close(a(1000), 0.05);
  // cosine over the horizon, to the same floor
  const { schedule, warmup } = resolveSchedule({ kind: "cosine", totalSteps: 0, minFactor: 0.05 }, 1000, 50);
  const f = (step: number) => lrFactor(schedule, step, warmup);
  close(f(0), 1 / 50);
  close(f(24), 25 / 50);
  close(f(49), 1);
  close(f(50), 1);
  close(f(50 + 475), 0.05 + 0.95 * 0.5); // half way through the 950 cosine steps
  close(f(50 + 950 / 3), 0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI / 3)));
  close(f(1000), 0.05);
  close(f(5000), 0.05, 0);
  // an explicit warm-up wins; a cosine without a length anneals over the horizon; constant stays constant
  assert.equal(resolveSchedule("auto", 1000, 7).warmup, 7);
  assert.deepEqual(resolveSchedule({ kind: "cosine", totalSteps: 0 }, 300).schedule, { kind: "cosine", totalSteps: 300 });
  assert.deepEqual(resolveSchedule("auto", 300).schedule, { kind: "wsd", totalSteps: 300, decayFraction: 0.2, minFactor: 0.05 });
  assert.equal(resolveSchedule({ kind: "constant" }, 300).warmup, 0);
  // warmup-stable-decay over 100 steps: warm-up 10, flat, then linear to 0.05 over the last 20
  const wsd = resolveSchedule({ kind: "wsd", totalSteps: 0, decayFraction: 0.2, minFactor: 0.05 }, 100, 10);
  const g = (step: number) => lrFactor(wsd.schedule, step, wsd.warmup);
  close(g(0), 0.1);
  close(g(9), 1);
  close(g(50), 1);
  close(g(80), 1);
  close(g(90), 1 - 0.95 * 0.5);
  close(g(95), 1 - 0.95 * 0.75);
  close(g(100), 0.05);
  close(g(130), 0.05);
});

test("the horizon: from steps, from epochs x batches, or measured under a time budget", async () => {
  const data = { kind: "examples" as const, train: contains3(64, 9) };
  const s = await fit(new SequenceModel(cfg), data, { batchSize: 8, steps: 11 });
  assert.equal(s.stoppedBy, "steps");
  assert.equal(s.steps, 11);
  assert.deepEqual(s.trainer, { horizon: 11, warmup: 1, horizonFrom: "steps" });
  assert.equal(s.epochs.length, 2);
  assert.equal(s.epochs[1].partial, true, "the second epoch stopped after 3 of its 8 batches");
  const e = await fit(new SequenceModel(cfg), data, { batchSize: 8, epochs: 3 });
  assert.deepEqual(e.trainer, { horizon: 24, warmup: 2, horizonFrom: "epochs" });
  // time only: horizon = steps so far + (budget left x 0.92) / measured seconds per step
  let at5 = NaN, at25 = NaN;
  const t = await fit(new SequenceModel(cfg), { kind: "examples", train: contains3(400, 9) }, {
    batchSize: 8, timeBudget: 1.5,
    onProgress: (p) => {
      if (p.step === 5) at5 = p.elapsed;
      if (p.step === 25) at25 = p.elapsed;
    },
  });
  assert.equal(t.stoppedBy, "time");
  assert.equal(t.trainer!.horizonFrom, "time");
  // measured on steps 6..25 (the first 5 left out): horizon = 25 + (1.5 s - elapsed) x 0.92 / seconds per step
  const want = 25 + ((1.5 - at25) * 0.92) / ((at25 - at5) / 20);
  assert.ok(Math.abs(t.trainer!.horizon - want) <= 0.05 * want + 2, `horizon ${t.trainer!.horizon}, want about ${want.toFixed(0)}`);
  assert.ok(t.steps > 25);
});

test("keepBest: the model ends with the best-validation weights; the last ones are kept for resuming", async () => {
  const model = new SequenceModel(cfg);
  let atBest: Record<string, number[]> = {};
  const seen: number[] = [];
  const r = await fit(model, { kind: "examples", train: contains3(64, 10), val: contains3(32, 11) }, {
    epochs: 3, batchSize: 8, keepBest: true,
    // after epoch 1, the last batch of each epoch wrecks the head: later epochs validate worse
    onProgress: (p) => { if (p.epoch >= 2 && p.batch === p.batches) model.head.parameters()[1].value.data[0] += 100; },
    onEpoch: (e) => {
      if (e.epoch === 1) atBest = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, Array.from(v.data)]));
    },
    onCheckpoint: (i) => void seen.push(i.best!.epoch),
  });
  assert.deepEqual(seen, [1, 1, 1], "the best so far, handed to each checkpoint");
  assert.equal(r.kept.which, "best");
  assert.equal(r.kept.epoch, 1);
  assert.ok(r.kept.val!.loss < r.epochs[2].val!.loss);
  assert.deepEqual(Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, Array.from(v.data)])), atBest);
  assert.ok(r.last, "the last weights come back beside the best");
  assert.notDeepEqual(Array.from(r.last!["head.bias"].data), atBest["head.bias"]);
  // without keepBest the model keeps its last weights
  const m2 = new SequenceModel(cfg);
  const r2 = await fit(m2, { kind: "examples", train: contains3(64, 10), val: contains3(32, 11) }, { epochs: 2, batchSize: 8 });
  assert.equal(r2.kept.which, "last");
  assert.equal(r2.last, undefined);
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

test("schedules by name work, and a malformed schedule is refused before training (it made the rate NaN)", async () => {
  const data = { kind: "examples" as const, train: contains3(64, 9) };
  for (const schedule of ["constant", "cosine", "wsd"] as const) {
    const lrs: number[] = [];
    await fit(new SequenceModel(cfg), data, { batchSize: 16, epochs: 2, schedule, warmupSteps: 0, optimizerOptions: { lr: 0.01 }, onProgress: (p) => void lrs.push(p.lr) });
    assert.ok(lrs.length > 0 && lrs.every((lr) => Number.isFinite(lr) && lr > 0), `${schedule}: ${lrs}`);
    if (schedule === "constant") assert.ok(lrs.every((lr) => lr === 0.01), `constant: ${lrs}`);
    else assert.ok(lrs[lrs.length - 1] < lrs[0], `${schedule} decays: ${lrs}`);
  }
  const bad: unknown[] = ["linear", { kind: "cosine", minFactor: 2 }, { kind: "step", stepSize: 0, gamma: 0.5 }, { kind: "step", stepSize: 10 }, { kind: "wsd", decayFraction: 0 }, { kind: "cosine", totalSteps: -3 }, 7];
  for (const schedule of bad) {
    const model = new SequenceModel(cfg);
    const before = model.parameters().map((p) => Array.from(p.value.data));
    await assert.rejects(fit(model, data, { batchSize: 16, epochs: 1, schedule: schedule as never }), (e: Error) => e.name === "RnnkitError" && /fit: schedule: expected "auto", "constant"/.test(e.message), `${JSON.stringify(schedule)}`);
    assert.deepEqual(model.parameters().map((p) => Array.from(p.value.data)), before, "nothing trained");
  }
});
