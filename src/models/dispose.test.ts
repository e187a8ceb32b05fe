/**
 * Backend memory is given back: with the wasm backend, whose memory is not garbage-collected, a
 * program that builds, trains and drops models over and over must not grow, and a disposed
 * module refuses to be used instead of reading freed memory.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createWasmBackendSync } from "../backend/wasm/wasm.js";
import { Tokenizer } from "../data/tokenizer.js";
import { GRUCell } from "../layers/cells.js";
import { Dropout } from "../layers/dropout.js";
import { LSTM } from "../layers/layers.js";
import { Optimizer } from "../train/optimizers.js";
import { SequenceModel } from "./sequence-model.js";

test("building, training and disposing models 30 times leaves the wasm backend's allocations where they were", () => {
  const be = createWasmBackendSync();
  const tok = Tokenizer.build("char", "the quick brown fox jumps over the lazy dog");
  const batch = { T: 6, B: 2, lengths: [6, 4], tokens: tok.encode("the quithe qu"), targets: tok.encode("he quickhe qui") };
  const round = (i: number) => {
    const cell = i % 3 === 0 ? "lstm" : i % 3 === 1 ? "gru" : "rnn";
    const model = new SequenceModel(
      { task: "lm", cell, vocabSize: tok.size, embeddingDim: 5, hiddenSize: 7 + i, numLayers: 2, dropout: 0.2, outputSize: tok.size, seed: i },
      { backend: be },
    ).train();
    const opt = new Optimizer("adam", model.parameters(), { lr: 0.01 }, be);
    for (let s = 0; s < 2; s++) {
      opt.zeroGrad();
      model.lossAndBackward({ ...batch, tokens: batch.tokens.slice(0, 12), targets: batch.targets.slice(0, 12) });
      opt.stepOnce();
    }
    opt.dispose();
    model.dispose();
  };
  round(0); // the losses' shared scratch (one per backend) is allocated once, here
  const before = be.allocatedBytes, memory = be.memoryBytes;
  for (let i = 1; i <= 30; i++) round(i);
  assert.equal(be.allocatedBytes, before, "every array of the 30 models and optimizers came back");
  assert.equal(be.memoryBytes, memory, "the memory did not grow");
});

test("a disposed layer, cell, model or optimizer refuses to be used; dispose twice is harmless", () => {
  const be = createWasmBackendSync();
  const start = be.allocatedBytes;
  const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, backend: be });
  const x = { shape: [2, 1, 2], data: [1, 2, 3, 4] };
  lstm.forward(x);
  lstm.dispose();
  lstm.dispose();
  assert.throws(() => lstm.forward(x), /^RnnkitError: LSTM: used after dispose\(\)/);
  assert.throws(() => lstm.parameters(), /used after dispose/);
  const cell = new GRUCell({ inputSize: 2, hiddenSize: 3, backend: be });
  cell.dispose();
  assert.throws(() => cell.forward({ shape: [1, 2], data: [1, 2] }), /GRUCell: used after dispose/);
  const model = new SequenceModel({ task: "classify", cell: "gru", inputSize: 2, hiddenSize: 3, outputSize: 2 }, { backend: be });
  const opt = new Optimizer("sgd", model.parameters(), { lr: 0.1, momentum: 0.9 }, be);
  model.dispose();
  opt.dispose();
  assert.throws(() => model.forward({ T: 1, B: 1, lengths: [1], inputs: [1, 2] }), /SequenceModel.forward: used after dispose/);
  assert.throws(() => opt.stepOnce(), /Optimizer.stepOnce: used after dispose/);
  const drop = new Dropout({ p: 0.5, backend: be }).train();
  drop.forward({ shape: [4], data: [1, 2, 3, 4] });
  drop.dispose();
  assert.equal(be.allocatedBytes, start, "everything came back");
  assert.equal(drop.forward({ shape: [2], data: [1, 2] }).data.length, 2, "a Dropout stays usable");
});
