/**
 * The command line end to end on small real files: train, eval, generate, predict for each model
 * shape, --json output, and the errors a user meets.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("./main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rnnkit-cli-"));

function rnnkit(...args: string[]): { status: number | null; stdout: string; stderr: string; json: Record<string, unknown> | null } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(last) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

test("--help on every command; unknown commands fail", () => {
  for (const cmd of [[], ["train"], ["train", "lm"], ["train", "classify"], ["train", "forecast"], ["eval"], ["generate"], ["predict"]]) {
    const r = rnnkit(...cmd, "--help");
    assert.equal(r.status, 0, `${cmd.join(" ")} --help`);
    assert.match(r.stdout, /Usage: rnnkit/);
  }
  assert.notEqual(rnnkit("frobnicate").status, 0);
});

test("train lm on a text file, then eval (bits per character) and generate, with --json", () => {
  const text = join(dir, "t.txt");
  writeFileSync(text, "the cat sat on the mat. ".repeat(80));
  const model = join(dir, "new", "folder", "lm.safetensors"); // --out's folder is created
  const t = rnnkit("train", "lm", "--text", text, "--hidden", "32", "--embedding", "8", "--epochs", "3", "--batch-size", "4", "--seq-len", "20", "--lr", "0.01", "--out", model, "--json", "--sample", "40", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  assert.equal(typeof t.json!.bpc, "number");
  assert.ok((t.json!.bpc as number) < 2.5, `bpc ${t.json!.bpc}`);
  const e = rnnkit("eval", model, "--text", text, "--json");
  assert.equal(e.status, 0, e.stderr);
  assert.ok((e.json!.bpc as number) < 2.5);
  const g = rnnkit("generate", model, "--prompt", "the ", "--length", "30", "--temperature", "0", "--json");
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.json!.text as string, /^the /);
  const g2 = rnnkit("generate", model, "--prompt", "the ", "--length", "30", "--top-k", "3", "--top-p", "0.9", "--seed", "7", "--json");
  assert.equal(g2.status, 0, g2.stderr);
});

test("train classify on a CSV, eval accuracy, predict one label per line", () => {
  const rows = ["text,label"];
  for (let i = 0; i < 120; i++) rows.push(i % 2 ? `great lovely fine day ${i % 7},pos` : `awful bad sad day ${i % 5},neg`);
  const data = join(dir, "c.csv");
  writeFileSync(data, rows.join("\n"));
  const model = join(dir, "c.safetensors");
  const t = rnnkit("train", "classify", "--data", data, "--text-column", "text", "--label-column", "label", "--hidden", "16", "--embedding", "8", "--epochs", "4", "--batch-size", "8", "--lr", "0.02", "--out", model, "--json", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  assert.ok((t.json!.accuracy as number) > 0.9, JSON.stringify(t.json));
  const e = rnnkit("eval", model, "--data", data, "--json");
  assert.ok((e.json!.accuracy as number) > 0.9);
  const p = rnnkit("predict", model, "--data", data);
  assert.equal(p.status, 0, p.stderr);
  const lines = p.stdout.trim().split("\n");
  assert.equal(lines.length, 120);
  assert.equal(lines[1], "pos");
  const bad = rnnkit("train", "classify", "--data", data, "--text-column", "text", "--label-column", "sentiment", "--out", model);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /there is no column "sentiment"; the columns are "text", "label"/);
});

test("train forecast on a CSV of numbers, eval, predict", () => {
  const rows = ["t,value"];
  for (let i = 0; i < 300; i++) rows.push(`${i},${(10 + 5 * Math.sin(i / 4)).toFixed(4)}`);
  const data = join(dir, "f.csv");
  writeFileSync(data, rows.join("\n"));
  const model = join(dir, "f.safetensors");
  const t = rnnkit("train", "forecast", "--data", data, "--column", "value", "--window", "12", "--hidden", "16", "--epochs", "8", "--batch-size", "16", "--lr", "0.01", "--out", model, "--json", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  assert.ok((t.json!.mae as number) < 1, JSON.stringify(t.json));
  const e = rnnkit("eval", model, "--data", data, "--json");
  assert.ok((e.json!.mae as number) < 1, JSON.stringify(e.json));
  const p = rnnkit("predict", model, "--data", data);
  assert.equal(p.stdout.trim().split("\n").length, 300 - 12 + 1);
});

test("bad input: empty text, not a model file, missing model", () => {
  const empty = join(dir, "empty.txt");
  writeFileSync(empty, "  \n");
  const r = rnnkit("train", "lm", "--text", empty, "--out", join(dir, "x.safetensors"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is empty: expected some text/);
  const notModel = join(dir, "not.safetensors");
  writeFileSync(notModel, "hello");
  const n = rnnkit("eval", notModel, "--text", empty);
  assert.equal(n.status, 1);
  assert.match(n.stderr, /not a valid safetensors file/);
  const m = rnnkit("generate", join(dir, "missing.safetensors"));
  assert.match(m.stderr, /no such model file: train one with/);
  const o = rnnkit("train", "lm", "--text", empty, "--out", join(dir, "x.bin"));
  assert.match(o.stderr, /--out: expected a path ending in .safetensors/);
});

test("Ctrl-C stops training cleanly with a saved model; --resume continues it", async () => {
  const { spawn } = await import("node:child_process");
  const text = join(dir, "long.txt");
  writeFileSync(text, "a stitch in time saves nine. ".repeat(400));
  const model = join(dir, "int.safetensors");
  const child = spawn(process.execPath, [bin, "train", "lm", "--text", text, "--hidden", "24", "--embedding", "8", "--epochs", "500", "--batch-size", "4", "--seq-len", "16", "--out", model, "--sample", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  // wait for the first epoch line, so a checkpoint exists, then press Ctrl-C
  await new Promise<void>((resolve) => {
    const iv = setInterval(() => {
      if (/epoch 1:/.test(stderr)) {
        clearInterval(iv);
        child.kill("SIGINT");
        resolve();
      }
    }, 50);
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, stderr);
  assert.match(stderr, /stopped by Ctrl-C; the model is saved/);
  const e = rnnkit("eval", model, "--text", text, "--json");
  assert.equal(e.status, 0, e.stderr);
  const r = rnnkit("train", "lm", "--text", text, "--epochs", "500", "--batch-size", "4", "--seq-len", "16", "--out", model, "--resume", "--time-budget", "1", "--json", "--sample", "0");
  assert.equal(r.status, 0, r.stderr);
  const resumedAfter = Number(/resuming .* after epoch (\d+)/.exec(r.stderr)![1]);
  assert.ok(resumedAfter >= 1);
  assert.equal(r.json!.stoppedBy, "time");
  // the file written at the end still counts the epochs of the first run
  const { loadModel } = await import("../io/model-file.js");
  assert.ok(loadModel(model).checkpoint!.epoch >= resumedAfter, "a resumed run keeps the epoch count");
});
