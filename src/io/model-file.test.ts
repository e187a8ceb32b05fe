import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Tokenizer } from "../data/tokenizer.js";
import type { Model } from "../models/model.js";
import { SequenceModel, asSequenceModel } from "../models/sequence-model.js";
import { getBackend } from "../backend/index.js";
import { Optimizer } from "../train/optimizers.js";
import { loadModel, modelFromBytes, modelToBytes, saveModel } from "./model-file.js";
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from "./safetensors.js";
import { fileURLToPath } from "node:url";
import { JsBackend } from "../backend/js.js";

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
  // tensor names are the stateDict() names, prefixed by part, PyTorch's names inside each part
  const file = loadSafetensors(path);
  const names = Object.keys(file.tensors).filter((k) => !k.startsWith("optim."));
  assert.deepEqual(names.sort(), Object.keys(model.stateDict()).sort());
  assert.ok(names.includes("rnn.weight_ih_l1") && names.includes("head.weight") && names.includes("embedding.weight"));
  assert.equal(JSON.parse(file.metadata.rnnkit).format, "rnnkit-model/2");
  assert.equal(back.formatVersion, 2);
});

test("model files of format 1 (rnnkit 0.1.0) still load and give the same outputs", () => {
  const dir = fileURLToPath(new URL("../../../test/fixtures/model-files/", import.meta.url));
  const expected = JSON.parse(readFileSync(join(dir, "v1-expected.json"), "utf8"));
  const be = new JsBackend();
  const close = (a: ArrayLike<number>, b: number[]) => {
    assert.equal(a.length, b.length);
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * (1 + Math.abs(b[i])), `${a[i]} vs ${b[i]}`);
  };
  const lm = loadModel(join(dir, "v1-lm.safetensors"), { backend: be });
  assert.equal(lm.formatVersion, 1);
  assert.equal(lm.checkpoint!.step, 2);
  assert.ok(Object.keys(lm.optimizerTensors!).length > 0);
  const m = asSequenceModel("test", lm.model);
  const ids = lm.tokenizer!.encode(expected.lm.text);
  close(m.forward({ T: ids.length, B: 1, lengths: [ids.length], tokens: ids }).logits.data, expected.lm.logits);
  // saved again, it is a format-2 file with prefixed names that loads to the same model
  const again = modelFromBytes(modelToBytes(lm.model, { tokenizer: lm.tokenizer }), { backend: be });
  assert.equal(again.formatVersion, 2);
  assert.deepEqual(again.model.stateDict(), lm.model.stateDict());
  const cls = loadModel(join(dir, "v1-classify.safetensors"), { backend: be });
  assert.deepEqual(cls.info!.labels, ["neg", "pos"]);
  const cids = cls.tokenizer!.encode(expected.classify.text);
  close(asSequenceModel("test", cls.model).forward({ T: cids.length, B: 1, lengths: [cids.length], tokens: cids }).logits.data, expected.classify.logits);
  const reg = loadModel(join(dir, "v1-forecast.safetensors"), { backend: be });
  assert.ok(reg.scaler);
  close(asSequenceModel("test", reg.model).forward({ T: 3, B: 1, lengths: [3], inputs: expected.forecast.inputs }).logits.data, expected.forecast.output);
});

test("a file of a newer format, or of an unknown format or kind, is refused with the reason", () => {
  const tok = Tokenizer.build("char", "ab");
  const model = new SequenceModel({ task: "lm", cell: "rnn", vocabSize: tok.size, embeddingDim: 2, hiddenSize: 2, outputSize: tok.size });
  const bytes = modelToBytes(model);
  const f = decodeSafetensors(bytes, "x");
  const meta = JSON.parse(f.metadata.rnnkit);
  const withMeta = (m: Record<string, unknown>) => encodeSafetensors(f.tensors, { format: "pt", rnnkit: JSON.stringify(m) });
  assert.throws(() => modelFromBytes(withMeta({ ...meta, format: "rnnkit-model/3" })), /format 3; this rnnkit .* reads formats 1 to 2: upgrade rnnkit/);
  assert.throws(() => modelFromBytes(withMeta({ ...meta, format: "other/1" })), /format "other\/1", expected rnnkit-model\/1 to rnnkit-model\/2/);
  assert.throws(() => modelFromBytes(withMeta({ ...meta, kind: "transformer" })), /model kind string transformer, expected one of sequence, seq2seq/);
  assert.throws(() => modelFromBytes(encodeSafetensors(f.tensors, { format: "pt", rnnkit: "null" })), /metadata is null, expected an object/);
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
  assert.ok(back.model instanceof SequenceModel);
  assert.equal(back.model.config.recurrentActivation, "hardSigmoid");
  assert.equal(back.model.rnn.recurrentActivation, "hardSigmoid");
  const logistic = new SequenceModel({ ...model.config, recurrentActivation: "sigmoid" });
  logistic.loadStateDict(model.stateDict());
  const batch = { T: 3, B: 1, lengths: [3], tokens: tok.encode("abc"), targets: tok.encode("bca") };
  const loss = (m: Model) => m.lossAndBackward(batch).loss;
  assert.equal(loss(back.model), loss(model));
  assert.notEqual(loss(logistic), loss(model));
});

test("a Seq2Seq model survives a save and a load (kind seq2seq, prefixed names, same outputs)", async () => {
  const { Seq2Seq } = await import("../models/seq2seq.js");
  const { translate } = await import("../decode/seq2seq.js");
  const model = new Seq2Seq({ cell: "gru", sourceVocabSize: 8, targetVocabSize: 9, embeddingDim: 4, hiddenSize: 5, numLayers: 2, bidirectional: true, attention: "luong", seed: 2 });
  const back = modelFromBytes(modelToBytes(model), { source: "s2s" });
  assert.equal(back.model.kind, "seq2seq");
  assert.deepEqual(back.model.stateDict(), model.stateDict());
  const file = decodeSafetensors(modelToBytes(model), "s2s");
  assert.ok("encoder.rnn.weight_hh_l1_reverse" in file.tensors && "attention.weight" in file.tensors && "decoder.rnn.weight_ih_l0" in file.tensors);
  const sources = [[4, 5, 6, 7], [5]];
  assert.deepEqual(translate(back.model as InstanceType<typeof Seq2Seq>, sources, { beam: 2 }), translate(model, sources, { beam: 2 }));
});

test("a keep-best checkpoint: the best weights are the model's, the last ones come back as resumeWeights; the trainer state too", () => {
  const model = new SequenceModel({ task: "classify", cell: "lstm", vocabSize: 6, embeddingDim: 3, hiddenSize: 4, outputSize: 2, seed: 1 });
  const best = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, { shape: [...v.shape], data: v.data.map((x) => x + 1) }]));
  const opt = new Optimizer("adam", model.parameters(), {}, getBackend());
  const trainer = { horizon: 123, warmup: 7, horizonFrom: "steps", best: { epoch: 2, step: 40, loss: 0.5 } };
  const back = modelFromBytes(modelToBytes(model, { optimizer: opt, checkpoint: { step: 50, epoch: 3, trainer }, weights: best, resumeWeights: model.stateDict() }));
  for (const [k, v] of Object.entries(back.model.stateDict())) assert.deepEqual(Array.from(v.data), Array.from(best[k].data), k);
  assert.deepEqual(Object.keys(back.resumeWeights!).sort(), Object.keys(model.stateDict()).sort());
  for (const [k, v] of Object.entries(model.stateDict())) assert.deepEqual(Array.from(back.resumeWeights![k].data), Array.from(v.data), k);
  assert.deepEqual(back.checkpoint!.trainer, trainer);
  // a plain save has no resume weights
  assert.equal(modelFromBytes(modelToBytes(model, { optimizer: opt })).resumeWeights, undefined);
  assert.throws(() => modelToBytes(model, { weights: { "head.bias": { shape: [2], data: new Float32Array(2) } } }), /weights\.\S+: expected \d+ numbers \(the model's\), got nothing/);
});
