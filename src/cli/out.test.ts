/**
 * Nothing the user has is lost: `--out` is never replaced without --resume or --force, whatever
 * the file holds; a folder, an unwritable place and a second run on the same path are refused
 * before any training; a stale lock is removed.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("./main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rnnkit-out-"));
const text = join(dir, "t.txt");
writeFileSync(text, "the cat sat on the mat. ".repeat(40));

function train(out: string, ...extra: string[]) {
  return spawnSync(process.execPath, [bin, "train", "lm", "--text", text, "--hidden", "8", "--embedding", "4", "--epochs", "1", "--batch-size", "4", "--seq-len", "10", "--sample", "0", "--quiet", "--out", out, ...extra], { encoding: "utf8" });
}

test("--out: an existing file (a model, the training text itself, anything) is never replaced without --resume or --force", () => {
  const notModel = join(dir, "notes.safetensors");
  writeFileSync(notModel, "my notes, not a model");
  const r = train(notModel);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--out: .*notes\.safetensors exists: pass --resume to continue training it, or --force to replace it \(nothing was written\)/);
  assert.equal(readFileSync(notModel, "utf8"), "my notes, not a model");
  const model = join(dir, "m.safetensors");
  assert.equal(train(model).status, 0);
  const before = readFileSync(model);
  assert.equal(train(model).status, 1, "a trained model is not replaced by a new run");
  assert.deepEqual(readFileSync(model), before);
  assert.equal(train(model, "--force").status, 0, "--force replaces it");
  assert.equal(train(model, "--resume", "--epochs", "2").status, 0, "--resume continues it");
  assert.match(train(model, "--resume", "--force").stderr, /expected one of them/);
  assert.ok(!existsSync(`${model}.lock`), "the lock is released at exit");
});

test("--out: a folder, an unwritable place and a path another run is writing are refused before training; a stale lock is removed", async () => {
  const folder = join(dir, "folder.safetensors");
  mkdirSync(folder);
  assert.match(train(folder).stderr, /--out: .*folder\.safetensors is a folder: expected the path of a model file/);
  const ro = join(dir, "ro");
  mkdirSync(ro);
  chmodSync(ro, 0o500);
  const r = train(join(ro, "x.safetensors"));
  chmodSync(ro, 0o700);
  // root may write anyway (permission bits do not bind it): then training runs and saves
  if (r.status !== 0) assert.match(r.stderr, /--out: cannot write into .*ro: EACCES/);
  // a live run holds the lock: a second one is refused
  const out = join(dir, "busy.safetensors");
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 5000)"]);
  writeFileSync(`${out}.lock`, String(holder.pid));
  assert.match(train(out).stderr, new RegExp(`is being written by another rnnkit run \\(pid ${holder.pid}`));
  holder.kill();
  await new Promise((res) => holder.once("exit", res));
  // its process is gone: the lock is stale, removed, and the run goes ahead
  assert.equal(train(out).status, 0);
  assert.ok(!existsSync(`${out}.lock`));
});
