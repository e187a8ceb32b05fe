import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Tokenizer } from "../data/tokenizer.js";
import { SequenceModel } from "../models/model.js";
import { getBackend } from "../backend/index.js";
import { Optimizer } from "../train/optimizers.js";
import { loadModel, modelFromBytes, modelToBytes, saveModel } from "./model-file.js";
import { saveSafetensors } from "./safetensors.js";

test("a model, its tokenizer and its optimizer state survive a save and a load", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-"));
  const tok = Tokenizer.build("char", "hello world");
  const model = new SequenceModel({ task: "lm", cell: "gru", vocabSize: tok.size, embeddingDim: 4, hiddenSize: 6, numLayers: 2, outputSize: tok.size, seed: 3 });
  const batch = { T: 4, B: 1, lengths: [4], tokens: tok.encode("hell"), targets: tok.encode("ello") };
  const opt = new Optimizer("adam", model.parameters(), { lr: 0.01 }, getBackend());
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    model.lossAndBackward(batch);
    opt.stepOnce();
  }
  const path = join(dir, "m.safetensors");
  saveModel(path, model, { tokenizer: tok, optimizer: opt, checkpoint: { step: 3, epoch: 1 }, info: { dataset: "test" } });
  const back = loadModel(path);
  assert.deepEqual(back.model.stateDict(), model.stateDict());
  assert.deepEqual(back.tokenizer!.toJSON(), tok.toJSON());
  assert.equal(back.checkpoint!.step, 3);
  assert.equal(back.info!.dataset, "test");
  const opt2 = new Optimizer("adam", back.model.parameters(), back.checkpoint!.optimizer.options, getBackend());
  opt2.loadStateDict({ step: back.checkpoint!.optimizer.step, lr: back.checkpoint!.optimizer.lr, tensors: back.optimizerTensors! });
  // one more identical step on both gives identical weights
  for (const [m, o] of [[model, opt], [back.model, opt2]] as const) {
    o.zeroGrad();
    m.lossAndBackward(batch);
    o.stepOnce();
  }
  assert.deepEqual(back.model.stateDict(), model.stateDict());
  // the recurrent tensors carry PyTorch's own names
  const header = readFileSync(path).subarray(8, 8 + Number(readFileSync(path).readBigUInt64LE(0))).toString();
  assert.match(header, /"weight_ih_l1"/);
  assert.match(header, /"head.weight"/);
});

test("a safetensors file that is not an rnnkit model gets a clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-"));
  const path = join(dir, "other.safetensors");
  saveSafetensors(path, { w: { shape: [1], data: [1] } });
  assert.throws(() => loadModel(path), /not an rnnkit model file: its metadata has no "rnnkit" entry/);
  saveSafetensors(path, { w: { shape: [1], data: [1] } }, { rnnkit: "{oops" });
  assert.throws(() => loadModel(path), /not JSON/);
});

test("modelToBytes / modelFromBytes: the same bytes as the file, the same model back, errors named by source", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-"));
  const tok = Tokenizer.build("char", "abc");
  const model = new SequenceModel({ task: "lm", cell: "lstm", vocabSize: tok.size, embeddingDim: 3, hiddenSize: 4, outputSize: tok.size, seed: 5 });
  const bytes = modelToBytes(model, { tokenizer: tok });
  const path = join(dir, "m.safetensors");
  saveModel(path, model, { tokenizer: tok });
  assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
  const back = modelFromBytes(bytes);
  assert.deepEqual(back.model.stateDict(), model.stateDict());
  assert.deepEqual(back.tokenizer!.toJSON(), tok.toJSON());
  assert.throws(() => modelFromBytes(bytes.subarray(0, 20), { source: "upload.safetensors" }), /^RnnkitError: upload\.safetensors: /);
});

test("a model's gate activation (hardSigmoid, for Keras / TF.js weights) is saved and restored", () => {
  const tok = Tokenizer.build("char", "abcabc");
  const model = new SequenceModel({
    task: "lm", cell: "gru", vocabSize: tok.size, embeddingDim: 3, hiddenSize: 5, outputSize: tok.size, recurrentActivation: "hardSigmoid", seed: 2,
  });
  const back = modelFromBytes(modelToBytes(model, { tokenizer: tok }));
  assert.equal(back.model.config.recurrentActivation, "hardSigmoid");
  assert.equal(back.model.rnn.recurrentActivation, "hardSigmoid");
  const logistic = new SequenceModel({ ...model.config, recurrentActivation: "sigmoid" });
  logistic.loadStateDict(model.stateDict());
  const batch = { T: 3, B: 1, lengths: [3], tokens: tok.encode("abc"), targets: tok.encode("bca") };
  const loss = (m: SequenceModel) => m.lossAndBackward(batch).loss;
  assert.equal(loss(back.model), loss(model));
  assert.notEqual(loss(logistic), loss(model));
});
