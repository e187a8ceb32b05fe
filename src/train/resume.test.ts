/**
 * A run stopped anywhere (inside an epoch too) and resumed from its checkpoint file equals the
 * uninterrupted run, bit for bit: the same weights, with dropout on (the random generators are in
 * the checkpoint) and, for a language model, the state carried across chunks (`carry.*` tensors).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Example, streamChunks } from "../data/batches.js";
import { modelFromBytes, modelToBytes } from "../io/model-file.js";
import type { Model } from "../models/model.js";
import { type ModelConfig, SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { RnnkitError } from "../tensor.js";
import { type FitOptions, type TrainData, fit } from "./trainer.js";

function stream(n: number, seed: number): number[] {
  // a sequence with structure (a noisy counter), so that the carried state matters
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => (rng.next() < 0.8 ? 4 + (i % 5) : 4 + Math.floor(rng.next() * 6)));
}

function examples(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const tokens = Array.from({ length: 2 + Math.floor(rng.next() * 7) }, () => 4 + Math.floor(rng.next() * 4));
    return { tokens, target: tokens.includes(5) ? 1 : 0 };
  });
}

const lmCfg: ModelConfig = { task: "lm", cell: "lstm", vocabSize: 10, embeddingDim: 6, hiddenSize: 12, numLayers: 2, dropout: 0.3, outputSize: 10, seed: 3 };
const clsCfg: ModelConfig = { task: "classify", cell: "gru", vocabSize: 8, embeddingDim: 6, hiddenSize: 10, numLayers: 2, dropout: 0.25, outputSize: 2, seed: 4 };

/** Runs fit, aborting it after optimizer step `stopAt` (Ctrl-C), and returns the last checkpoint as file bytes. */
async function interrupted(cfg: ModelConfig, data: TrainData, opts: FitOptions, stopAt: number): Promise<{ bytes: Uint8Array; stoppedBy: string }> {
  const model = new SequenceModel(cfg);
  const ac = new AbortController();
  let bytes: Uint8Array | undefined;
  const r = await fit(model, data, {
    ...opts, signal: ac.signal,
    onProgress: (p) => void (p.step === stopAt && ac.abort()),
    onCheckpoint: (i) => {
      const trainer = { ...i.trainer, ...(i.best ? { best: { epoch: i.best.epoch, step: i.best.step, loss: i.best.loss } } : {}) };
      bytes = modelToBytes(model, { optimizer: i.optimizer, checkpoint: { step: i.optimizer.step, epoch: i.epoch, trainer }, ...(i.carry ? { carry: i.carry } : {}) });
    },
  });
  model.dispose();
  return { bytes: bytes!, stoppedBy: r.stoppedBy };
}

/** Resumes from checkpoint bytes as the CLI does (the file's trainer record and carried state). */
async function resumed(bytes: Uint8Array, data: TrainData, opts: FitOptions): Promise<Model> {
  const saved = modelFromBytes(bytes);
  const ck = saved.checkpoint!;
  const tr = ck.trainer as Record<string, never>;
  const r = await fit(saved.model, data, {
    ...opts,
    resume: {
      epoch: ck.epoch, optimizer: { step: ck.optimizer.step, lr: ck.optimizer.lr, tensors: saved.optimizerTensors! },
      trainer: { horizon: tr.horizon, warmup: tr.warmup, random: tr.random, position: tr.position, early: tr.early },
      ...(saved.carry ? { carry: saved.carry } : {}),
    },
  });
  assert.notEqual(r.stoppedBy, "signal");
  return saved.model;
}

async function uninterrupted(cfg: ModelConfig, data: TrainData, opts: FitOptions): Promise<Model> {
  const model = new SequenceModel(cfg);
  await fit(model, data, opts);
  return model;
}

test("a language model (2-layer LSTM, dropout 0.3) stopped inside an epoch and resumed equals the uninterrupted run, bit for bit", async () => {
  const data: TrainData = { kind: "stream", train: stream(600, 1), val: stream(120, 2) };
  const opts: FitOptions = { epochs: 3, batchSize: 4, seqLen: 12, optimizerOptions: { lr: 0.01 } };
  // stops mid-epoch, on an epoch's last batch, just after it, and in the last epoch
  const per = streamChunks(data.train, 4, 12).length;
  assert.ok(per > 8);
  const ref = await uninterrupted(lmCfg, data, opts);
  for (const stopAt of [7, per, per + 1, 2 * per + 3]) {
    const { bytes, stoppedBy } = await interrupted(lmCfg, data, opts, stopAt);
    assert.equal(stoppedBy, "signal");
    const saved = modelFromBytes(bytes);
    const pos = (saved.checkpoint!.trainer as { position?: { batch: number } }).position;
    if (stopAt % per !== 0) {
      assert.equal(pos?.batch, stopAt % per, `stop at step ${stopAt}: the position inside the epoch`);
      assert.ok(saved.carry?.h && saved.carry.c, "the carried LSTM state is in the checkpoint");
    } else assert.equal(pos, undefined, "a stop on an epoch's last batch finishes that epoch");
    saved.model.dispose();
    const model = await resumed(bytes, data, opts);
    assert.deepEqual(model.stateDict(), ref.stateDict(), `stopped after step ${stopAt} and resumed`);
    model.dispose();
  }
  ref.dispose();
});

test("without the carried state or the random generators, the resumed run is not the same (what the checkpoint fields are for)", async () => {
  const data: TrainData = { kind: "stream", train: stream(600, 1) };
  const opts: FitOptions = { epochs: 2, batchSize: 4, seqLen: 12, optimizerOptions: { lr: 0.01 } };
  const ref = await uninterrupted(lmCfg, data, opts);
  const { bytes } = await interrupted(lmCfg, data, opts, 5);
  for (const drop of ["carry", "random"] as const) {
    const saved = modelFromBytes(bytes);
    const ck = saved.checkpoint!;
    const tr = ck.trainer as Record<string, never>;
    await fit(saved.model, data, {
      ...opts,
      resume: {
        epoch: ck.epoch, optimizer: { step: ck.optimizer.step, lr: ck.optimizer.lr, tensors: saved.optimizerTensors! },
        trainer: { horizon: tr.horizon, warmup: tr.warmup, position: tr.position, ...(drop === "random" ? {} : { random: tr.random }) },
        ...(drop === "carry" ? {} : { carry: saved.carry! }),
      },
    });
    assert.notDeepEqual(saved.model.stateDict(), ref.stateDict(), `resumed without ${drop}`);
    saved.model.dispose();
  }
  ref.dispose();
});

test("a classifier (GRU, dropout) stopped by Ctrl-C or by its step limit inside an epoch and resumed equals the uninterrupted run", async () => {
  const data: TrainData = { kind: "examples", train: examples(90, 5), val: examples(30, 6) };
  const opts: FitOptions = { epochs: 3, batchSize: 8, optimizerOptions: { lr: 0.02 }, patience: 5 };
  const ref = await uninterrupted(clsCfg, data, opts);
  const { bytes } = await interrupted(clsCfg, data, opts, 17);
  const a = await resumed(bytes, data, opts);
  assert.deepEqual(a.stateDict(), ref.stateDict(), "Ctrl-C after step 17 (inside epoch 2), resumed");
  // a run bounded by `steps` that ends inside an epoch, continued with a larger bound, equals the
  // larger run (a constant rate: the horizon, fixed by the first run, then plays no part)
  const constant = { ...opts, epochs: undefined, schedule: { kind: "constant" as const } };
  const stepsRef = await uninterrupted(clsCfg, data, { ...constant, steps: 30 });
  const short = new SequenceModel(clsCfg);
  let bytes2: Uint8Array | undefined;
  const r = await fit(short, data, {
    ...constant, steps: 20,
    onCheckpoint: (i) => void (bytes2 = modelToBytes(short, { optimizer: i.optimizer, checkpoint: { step: i.optimizer.step, epoch: i.epoch, trainer: { ...i.trainer } } })),
  });
  assert.equal(r.stoppedBy, "steps");
  assert.equal(modelFromBytes(bytes2!).checkpoint!.epoch, 1, "12 batches per epoch: step 20 is inside epoch 2, so one epoch is finished");
  const b = await resumed(bytes2!, data, { ...constant, steps: 30 });
  assert.deepEqual(b.stateDict(), stepsRef.stateDict(), "20 steps, then resumed to 30");
  for (const m of [a, b, ref, stepsRef, short]) m.dispose();
});

test("a checkpoint's position inside an epoch is checked before it is used", async () => {
  const data: TrainData = { kind: "examples", train: examples(40, 7) };
  const base = { horizon: 10, warmup: 1 };
  const seed = new SequenceModel(clsCfg);
  const optimizer = (await fit(seed, data, { steps: 1, batchSize: 8 })).optimizer.stateDict();
  seed.dispose();
  for (const position of [
    { epoch: 1, batch: 0, lossSum: 0, count: 0, correct: 0 },
    { epoch: 2, batch: 1, lossSum: 0, count: 0, correct: 0 },
    { epoch: 1, batch: 1.5, lossSum: 0, count: 0, correct: 0 },
    { epoch: 1, batch: 1, lossSum: NaN, count: 0, correct: 0 },
    { epoch: 1, batch: 1, lossSum: 1, count: 2, correct: 3 },
    { epoch: 1, batch: 99, lossSum: 1, count: 2, correct: 1 },
  ]) {
    const model = new SequenceModel(clsCfg);
    await assert.rejects(fit(model, data, { epochs: 2, batchSize: 8, resume: { epoch: 0, optimizer, trainer: { ...base, position } } }), (e) => e instanceof RnnkitError && /position/.test(e.message), JSON.stringify(position));
    model.dispose();
  }
  const model = new SequenceModel(clsCfg);
  await assert.rejects(fit(model, data, { epochs: 2, resume: { epoch: 0, optimizer, trainer: { ...base, random: [1, 2] } } }), (e) => e instanceof RnnkitError && /setRandomState: expected 1 generator states/.test(e.message));
  model.dispose();
});
