/**
 * `rnnkit import --from tfjs`: a TensorFlow.js layers model saved to disk (model.json + shards) by
 * real TensorFlow.js becomes an rnnkit model file whose `rnnkit predict` gives TF.js's answers.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { TfjsArtifacts } from "../io/tfjs.js";
import { writeTfjsModel } from "./tfjs-files.js";

type TF = typeof import("@tensorflow/tfjs");
const tf = createRequire(import.meta.url)("@tensorflow/tfjs") as TF;
await tf.setBackend("cpu");
const bin = fileURLToPath(new URL("./main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rnnkit-import-tfjs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("rnnkit import --from tfjs model.json --vocab --labels: rnnkit predict gives TensorFlow.js's probabilities", async () => {
  const m = tf.sequential();
  m.add(tf.layers.embedding({ inputDim: 10, outputDim: 5, maskZero: true, inputShape: [null] as unknown as number[] }));
  m.add(tf.layers.lstm({ units: 6 }));
  m.add(tf.layers.dense({ units: 3, activation: "softmax" }));
  let art: TfjsArtifacts | undefined;
  await m.save(tf.io.withSaveHandler(async (a) => {
    art = a as unknown as TfjsArtifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  const folder = join(dir, "tfjs");
  mkdirSync(folder);
  writeTfjsModel(folder, art!);
  // ids 0-3 are rnnkit's specials (0 = padding, TF.js's mask_zero); "a".."f" are ids 4-9
  const vocab = join(dir, "vocab.txt");
  writeFileSync(vocab, ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", "d", "e", "f"].join("\n") + "\n");
  const out = join(dir, "imported.safetensors");
  const r = spawnSync(process.execPath, [bin, "import", "--from", "tfjs", join(folder, "model.json"), "--task", "classify", "--vocab", vocab, "--labels", "x,y,z", "--out", out, "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { task: string }).task, "classify");
  const data = join(dir, "rows.csv");
  const texts = ["abc", "fedcba", "e"];
  writeFileSync(data, ["text", ...texts].join("\n") + "\n");
  const p = spawnSync(process.execPath, [bin, "predict", out, "--data", data, "--text-column", "text", "--json"], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  const rows = p.stdout.trim().split("\n").map((l) => JSON.parse(l) as { label: string; probabilities: Record<string, number> });
  assert.equal(rows.length, texts.length);
  for (const [i, text] of texts.entries()) {
    const ids = [...text].map((ch) => 4 + "abcdef".indexOf(ch));
    const ref = Array.from((m.predict(tf.tensor2d([ids], [1, ids.length])) as import("@tensorflow/tfjs").Tensor).dataSync());
    ["x", "y", "z"].forEach((l, k) => assert.ok(Math.abs(rows[i].probabilities[l] - ref[k]) <= 1e-5 + 1e-4 * ref[k], `${text}: ${l} ${rows[i].probabilities[l]} vs TF.js ${ref[k]}`));
    assert.equal(rows[i].label, ["x", "y", "z"][ref.indexOf(Math.max(...ref))]);
  }
  // what a TF.js model.json cannot take is refused with the flag named
  const bad = spawnSync(process.execPath, [bin, "import", "--from", "tfjs", join(folder, "model.json"), "--task", "classify", "--pooling", "mean", "--out", join(dir, "x.safetensors")], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--pooling: a TensorFlow.js model.json names its layers/);
});
