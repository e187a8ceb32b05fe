import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Tokenizer } from "../data/tokenizer.js";
import type { Model } from "../models/model.js";
import { SequenceModel, asSequenceModel } from "../models/sequence-model.js";
import { Seq2Seq } from "../models/seq2seq.js";
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

test("a file's config is checked against its tensors before anything is allocated; a failed load frees what it took", async () => {
  const { createWasmBackend } = await import("../backend/wasm/wasm.js");
  const be = await createWasmBackend({ threads: 1 });
  const tok = Tokenizer.build("char", "abcdef");
  const model = new SequenceModel({ task: "lm", cell: "lstm", vocabSize: tok.size, embeddingDim: 3, hiddenSize: 4, outputSize: tok.size }, { backend: be });
  const f = decodeSafetensors(modelToBytes(model, { tokenizer: tok }), "x");
  const meta = JSON.parse(f.metadata.rnnkit);
  const file = (m: Record<string, unknown>, tensors = f.tensors) => encodeSafetensors(tensors, { format: "pt", rnnkit: JSON.stringify(m) });
  const before = be.allocatedBytes;
  // a 29 KB file claiming hiddenSize 7000 (about 1.5 GB with training state) or 1e9 allocates nothing
  assert.throws(() => modelFromBytes(file({ ...meta, config: { ...meta.config, hiddenSize: 7000 } }), { backend: be }), /rnn.weight_ih_l0: the config describes shape \[28000, 3\], the file holds \[16, 3\]/);
  assert.throws(() => modelFromBytes(file({ ...meta, config: { ...meta.config, hiddenSize: 1e9 } }), { backend: be }), /its config does not describe a model: SequenceModel: hiddenSize: expected at most defaults.maxHiddenSize = 8192/);
  assert.throws(() => modelFromBytes(file({ ...meta, config: { ...meta.config, hiddenSize: -3 } }), { backend: be }), /its config does not describe a model: SequenceModel: hiddenSize: expected a positive integer, got number -3/);
  assert.throws(() => modelFromBytes(file({ ...meta, config: { ...meta.config, cell: "gru" } }), { backend: be }), /the config describes shape \[12, 3\], the file holds \[16, 3\]/);
  const { "head.bias": _, ...noBias } = f.tensors;
  assert.throws(() => modelFromBytes(file(meta, noBias), { backend: be }), /do not match the model its config describes: missing head.bias/);
  // a tensor named __proto__ is an unexpected name like any other (it used to vanish into the prototype)
  const proto = Object.create(null) as Record<string, { shape: number[]; data: Float32Array }>;
  for (const [k, v] of Object.entries(f.tensors)) proto[k] = v;
  proto.__proto__ = { shape: [1], data: Float32Array.of(1) };
  assert.throws(() => modelFromBytes(file(meta, proto), { backend: be }), /unexpected "__proto__"/);
  // a bad weight (NaN) fails after the model was built: its memory goes back to the backend
  const nan = { ...f.tensors, "head.bias": { shape: f.tensors["head.bias"].shape, data: f.tensors["head.bias"].data.map(() => NaN) } };
  assert.throws(() => modelFromBytes(file(meta, nan), { backend: be }), /head.bias: expected finite numbers, got NaN/);
  assert.equal(be.allocatedBytes, before, "no backend memory kept by the failed loads");
  const ok = modelFromBytes(file(meta), { backend: be });
  assert.deepEqual(ok.model.stateDict(), model.stateDict());
});

test("size limits and the parameter budget refuse absurd sizes from the constructor before allocating (--hidden 1e9)", () => {
  assert.throws(() => new SequenceModel({ task: "lm", cell: "lstm", vocabSize: 10, hiddenSize: 1e9, outputSize: 10 }), /hiddenSize: expected at most defaults.maxHiddenSize = 8192, got 1000000000/);
  assert.throws(() => new SequenceModel({ task: "lm", cell: "lstm", vocabSize: 1e9, hiddenSize: 8, outputSize: 10 }), /vocabSize: expected at most defaults.maxVocabSize = 1048576/);
  assert.throws(() => new SequenceModel({ task: "lm", cell: "gru", vocabSize: 10, hiddenSize: 8, numLayers: 17, outputSize: 10 }), /numLayers: expected at most defaults.maxLayers = 16, got 17/);
  assert.throws(() => new Seq2Seq({ cell: "gru", sourceVocabSize: 10, targetVocabSize: 10, hiddenSize: 50000 }), /maxHiddenSize/);
  // each size within its limit, the whole over the budget: 16 LSTM layers of 8192 are 8.6e9 parameters
  assert.throws(() => new SequenceModel({ task: "regress", cell: "lstm", inputSize: 4, hiddenSize: 8192, numLayers: 16, outputSize: 1 }),
    /expected at most defaults.maxParameters = 268435456 parameters, got \d+ \(largest: rnn.weight_hh_l0 \[32768, 8192\]/);
  // the static shapes equal what the constructor builds, for both kinds
  const s2s = { cell: "lstm", sourceVocabSize: 9, targetVocabSize: 7, hiddenSize: 3, bidirectional: true, decoderHiddenSize: 5, attention: "bahdanau" } as const;
  assert.deepEqual(Seq2Seq.parameterShapes(s2s), Object.entries(new Seq2Seq(s2s).stateDict()).map(([k, v]) => [k, v.shape]));
});

test("a tokenizer that does not fit the model's vocabulary is refused at load", () => {
  const tok = Tokenizer.build("char", "abcdef");
  const model = new SequenceModel({ task: "lm", cell: "gru", vocabSize: tok.size, embeddingDim: 2, hiddenSize: 3, outputSize: tok.size });
  const shorter = Tokenizer.build("char", "abcde");
  assert.throws(() => modelFromBytes(modelToBytes(model, { tokenizer: shorter })), /its tokenizer has 9 tokens but the model's vocabulary is 10/);
  assert.ok(modelFromBytes(modelToBytes(model, { tokenizer: tok })).tokenizer);
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
