/**
 * `rnnkit export` end to end: weights-only safetensors (no optimizer state, same weights), ONNX
 * (one graph; two for seq2seq) that ONNX Runtime runs, a TF.js folder that reads back through
 * readTfjsModel + loadTfjsModel; existing outputs are never replaced without --force; --json
 * prints only JSON. And readTfjsModel's refusals.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { getBackend } from "../backend/index.js";
import { Tokenizer } from "../data/tokenizer.js";
import { loadModel, saveModel } from "../io/model-file.js";
import { decodeSafetensors } from "../io/safetensors.js";
import { loadTfjsModel } from "../io/tfjs.js";
import { SequenceModel } from "../models/sequence-model.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { Optimizer } from "../train/optimizers.js";
import { RnnkitError } from "../tensor.js";
import { readTfjsModel } from "./tfjs-files.js";

const bin = fileURLToPath(new URL("./main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rnnkit-export-"));
const ort = createRequire(import.meta.url)("onnxruntime-node") as typeof import("onnxruntime-node");

function rnnkit(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** A classifier checkpoint with Adam's state, as `rnnkit train` leaves it. */
function checkpoint(): { path: string; model: SequenceModel; tok: Tokenizer } {
  const tok = Tokenizer.build("char", "abcdefgh");
  const model = new SequenceModel({ task: "classify", cell: "gru", resetAfter: false, vocabSize: tok.size, embeddingDim: 4, hiddenSize: 5, outputSize: 2, seed: 4 });
  const opt = new Optimizer("adam", model.parameters(), { lr: 0.01 }, getBackend());
  const batch = { T: 3, B: 2, lengths: [3, 2], tokens: [4, 5, 6, 7, 8, 0], targets: [0, 1] };
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    model.lossAndBackward(batch);
    opt.stepOnce();
  }
  const path = join(dir, "ck.safetensors");
  saveModel(path, model, { tokenizer: tok, optimizer: opt, checkpoint: { step: 3, epoch: 1 }, info: { task: "classify", labels: ["no", "yes"], textColumn: "text", labelColumn: "label", maxLen: 16 } });
  return { path, model, tok };
}

test("export --format safetensors --weights-only: the same model, tokenizer and info, without the optimizer state", () => {
  const { path, model } = checkpoint();
  const out = join(dir, "small.safetensors");
  const r = rnnkit("export", path, "--format", "safetensors", "--weights-only", "--out", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.json, { format: "safetensors", files: [out], task: "classify" });
  const names = Object.keys(decodeSafetensors(new Uint8Array(readFileSync(out))).tensors);
  assert.ok(!names.some((n) => n.startsWith("optim.")), `no optimizer tensors: ${names.join(", ")}`);
  assert.ok(Object.keys(decodeSafetensors(new Uint8Array(readFileSync(path))).tensors).some((n) => n.startsWith("optim.")), "the checkpoint had them");
  assert.ok(statSync(out).size < statSync(path).size / 2, `${statSync(out).size} bytes against ${statSync(path).size}`);
  const back = loadModel(out);
  assert.deepEqual(back.model.stateDict(), model.stateDict());
  assert.equal(back.checkpoint, undefined);
  assert.deepEqual(back.info?.labels, ["no", "yes"]);
  assert.equal(back.tokenizer?.size, loadModel(path).tokenizer?.size);
  // an existing output is kept without --force
  const again = rnnkit("export", path, "--format", "safetensors", "--weights-only", "--out", out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /exists: pass --force to replace it/);
  assert.equal(rnnkit("export", path, "--format", "safetensors", "--weights-only", "--out", out, "--force").status, 0);
  assert.match(rnnkit("export", path, "--format", "safetensors", "--out", join(dir, "x.safetensors")).stderr, /expected --weights-only/);
});

test("export --format onnx: ONNX Runtime gives the probabilities rnnkit does; the tokenizer and labels ride in the metadata", async () => {
  const { path, model } = checkpoint();
  const out = join(dir, "m.onnx");
  const r = rnnkit("export", path, "--format", "onnx", "--out", out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*m\.onnx/);
  const s = await ort.InferenceSession.create(readFileSync(out));
  const got = await s.run({ tokens: new ort.Tensor("int64", BigInt64Array.from([4n, 7n, 5n, 8n, 6n, 0n]), [3, 2]), lengths: new ort.Tensor("int64", BigInt64Array.from([3n, 2n]), [2]) });
  const ref = model.forward({ T: 3, B: 2, lengths: [3, 2], tokens: [4, 7, 5, 8, 6, 0] }).logits.data;
  const p = got.probs.data as Float32Array;
  for (let b = 0; b < 2; b++) {
    const e0 = Math.exp(ref[b * 2]), e1 = Math.exp(ref[b * 2 + 1]);
    assert.ok(Math.abs(p[b * 2 + 1] - e1 / (e0 + e1)) < 1e-5, `row ${b}: ${p[b * 2 + 1]}`);
  }
  await s.release();
  const bytes = readFileSync(out).toString("latin1");
  assert.match(bytes, /rnnkit\.tokenizer/);
  assert.match(bytes, /"labels":\["no","yes"\]/);
  assert.match(rnnkit("export", path, "--format", "onnx", "--out", join(dir, "m.bin")).stderr, /expected a path ending in \.onnx/);
});

test("export --format onnx of a seq2seq writes the encoder and the decoder step", () => {
  const m = new Seq2Seq({ cell: "lstm", sourceVocabSize: 7, targetVocabSize: 6, embeddingDim: 3, hiddenSize: 4 });
  const path = join(dir, "s2s.safetensors");
  saveModel(path, m);
  const r = rnnkit("export", path, "--format", "onnx", "--out", join(dir, "t.onnx"), "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.json!.files, [join(dir, "t.encoder.onnx"), join(dir, "t.decoder.onnx")]);
  for (const f of r.json!.files as string[]) assert.ok(statSync(f).size > 100);
  assert.match(rnnkit("export", path, "--format", "tfjs", "--out", join(dir, "tf")).stderr, /TensorFlow.js has no encoder-decoder/);
});

test("export --format tfjs: a folder with model.json and shards, which reads back to the same model", () => {
  const { path, model } = checkpoint();
  const out = join(dir, "tfjs-model");
  const r = rnnkit("export", path, "--format", "tfjs", "--out", out, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.json!.files, [join(out, "model.json"), join(out, "group1-shard1of1.bin")]);
  const { json, shards } = readTfjsModel(out);
  assert.deepEqual(((json.userDefinedMetadata as { rnnkit: { info: { labels: string[] } } }).rnnkit.info.labels), ["no", "yes"]);
  const imp = loadTfjsModel(json, shards, { source: out });
  const batch = { T: 3, B: 2, lengths: [3, 2], tokens: [4, 7, 5, 8, 6, 0] };
  const a = imp.model.forward(batch).logits.data, b = model.forward(batch).logits.data;
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${a[i]} vs ${b[i]}`);
  imp.model.dispose();
  const again = rnnkit("export", path, "--format", "tfjs", "--out", out);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds model.json, group1-shard1of1.bin: pass --force/);
  assert.equal(rnnkit("export", path, "--format", "tfjs", "--out", out, "--force").status, 0);
});

test("readTfjsModel refuses shard paths outside the folder, missing shards and bad JSON, naming them", () => {
  const d = join(dir, "bad");
  mkdirSync(d);
  const refuse = (json: string, re: RegExp) => {
    writeFileSync(join(d, "model.json"), json);
    assert.throws(() => readTfjsModel(join(d, "model.json")), (e: unknown) => e instanceof RnnkitError && re.test(e.message), re.source);
  };
  refuse("{", /does not parse as JSON/);
  refuse(JSON.stringify({ modelTopology: {} }), /expected a model.json with a weightsManifest/);
  refuse(JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ["../../etc/passwd"], weights: [] }] }), /shard path "..\/..\/etc\/passwd": expected a file name beside model.json/);
  refuse(JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ["/abs.bin"], weights: [] }] }), /shard path "\/abs.bin"/);
  refuse(JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ["gone.bin"], weights: [] }] }), /shard gone.bin: cannot read .*ENOENT/);
});
