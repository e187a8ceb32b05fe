/**
 * Fault tests of the command line, as the user meets faults: Ctrl-C then --resume (equal to the
 * uninterrupted run), SIGKILL at random moments (the file on disk is always a whole checkpoint
 * that loads, the previous one or a newer one, and killed runs' temp files are cleaned up), and a
 * full disk (a small tmpfs: refused before training when the first checkpoint cannot fit; a save
 * that fails later keeps the previous checkpoint, says why in one line and exits non-zero).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadModel } from "../io/model-file.js";
import { Rng } from "../rng.js";

const bin = fileURLToPath(new URL("./main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rnnkit-faults-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const text = join(dir, "text.txt");
writeFileSync(text, Array.from({ length: 120 }, (_, i) => `line ${i % 7}: the quick brown fox ${i % 3 ? "jumps" : "sleeps"} over the lazy dog.`).join("\n"));
// a 2-layer LSTM with dropout (random masks), the state carried across chunks: all of it must be in a checkpoint
const lmFlags = ["--text", text, "--hidden", "24", "--embedding", "8", "--layers", "2", "--dropout", "0.2", "--batch-size", "4", "--seq-len", "16", "--sample", "0", "--quiet"];

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI; `started` resolves when training has begun (its settings line is on stderr). */
function start(args: string[]): { child: ChildProcess; started: Promise<void>; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  let onStart: () => void = () => {};
  const started = new Promise<void>((resolve) => (onStart = resolve));
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    if (/settings:/.test(err)) onStart();
  });
  child.stdout!.resume();
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  void exit.then(() => onStart());
  return { child, started, exit, stderr: () => err };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every tensor of a model file (the model's, the optimizer's, the last weights, the carried state). */
function tensorsOf(path: string): Record<string, number[]> {
  const s = loadModel(path);
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(s.model.stateDict())) out[k] = Array.from(v.data);
  for (const [k, v] of Object.entries(s.optimizerTensors ?? {})) out[k] = Array.from(v.data);
  for (const [k, v] of Object.entries(s.resumeWeights ?? {})) out[`last.${k}`] = Array.from(v.data);
  s.model.dispose();
  return out;
}

test("Ctrl-C at random moments (inside epochs), then --resume: the same file as the uninterrupted run, bit for bit", async () => {
  const steps = ["--steps", "2500"];
  const ref = join(dir, "ref.safetensors");
  const a = run(["train", "lm", ...lmFlags, ...steps, "--out", ref]);
  assert.equal(a.status, 0, a.stderr);
  const rng = new Rng(11);
  let inside = 0;
  for (let k = 0; k < 3; k++) {
    const out = join(dir, `int${k}.safetensors`);
    const p = start(["train", "lm", ...lmFlags, ...steps, "--out", out]);
    await p.started;
    await sleep(150 + rng.next() * 700);
    p.child.kill("SIGINT");
    const code = await p.exit;
    if (code === 0) continue; // finished before the signal: nothing to resume
    assert.equal(code, 130, p.stderr());
    const ck = loadModel(out).checkpoint!;
    if ((ck.trainer as { position?: unknown }).position) inside++;
    const r = run(["train", "lm", ...lmFlags, ...steps, "--out", out, "--resume"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /resuming .* (inside epoch \d+ after \d+ batches|after epoch \d+), step \d+/);
    assert.deepEqual(tensorsOf(out), tensorsOf(ref), `interrupted at step ${ck.step} and resumed`);
  }
  assert.ok(inside >= 1, "at least one interruption fell inside an epoch (the case the position is for)");
});

test("SIGKILL at 24 random moments: the file on disk always loads and is the previous checkpoint or a newer one; killed runs' temp files are cleaned up", async () => {
  const out = join(dir, "killed.safetensors");
  const short = join(dir, "short.txt");
  writeFileSync(short, readFileSync(text, "utf8").slice(0, 1600));
  // a bigger model (a 1.4 MB file), so that a kill often falls inside a write; short epochs (a checkpoint each), so that it saves often
  const flags = [...lmFlags.map((f) => (f === "24" ? "96" : f === text ? short : f)), "--epochs", "100000"];
  const rng = new Rng(7);
  let lastStep = -1, kills = 0, checks = 0, temps = 0, deadPid = 0;
  for (let k = 0; k < 24; k++) {
    const resume = existsSync(out);
    const p = start(["train", "lm", ...flags, "--out", out, ...(resume ? ["--resume"] : ["--force"])]);
    await p.started;
    await sleep(rng.next() * 600);
    p.child.kill("SIGKILL");
    await p.exit;
    kills++;
    deadPid = p.child.pid!;
    if (readdirSync(dir).some((f) => f.startsWith(".killed.safetensors.") && f.endsWith(".tmp"))) temps++;
    if (!existsSync(out)) {
      assert.equal(lastStep, -1, "a file that was there is never gone after a kill");
      continue;
    }
    const saved = loadModel(out); // whole and valid, or this throws
    const step = saved.checkpoint!.step;
    saved.model.dispose();
    assert.ok(step >= lastStep, `the checkpoint on disk went back from step ${lastStep} to ${step}`);
    lastStep = step;
    checks++;
  }
  assert.equal(kills, 24);
  assert.ok(checks >= 15 && lastStep > 0, `${checks} checkpoints checked, last at step ${lastStep}`);
  // a kill inside a write leaves a temp file (it happened ${temps} times here); one is made for sure,
  // with the pid of a killed run: a normal run on the same path removes it and the stale lock
  writeFileSync(join(dir, `.killed.safetensors.${deadPid}.${Date.now()}.tmp`), "half a checkpoint");
  writeFileSync(`${out}.lock`, String(deadPid));
  const r = run(["train", "lm", ...flags.slice(0, -2), "--epochs", "1", "--out", out, "--force"]);
  assert.equal(r.status, 0, r.stderr);
  const left = readdirSync(dir).filter((f) => f.startsWith(".killed.safetensors.") || f === "killed.safetensors.lock");
  assert.deepEqual(left, [], "no temp file or lock of a killed run is left");
});

/** Mounts a tmpfs of `kb` KiB at a new folder, runs `body`, unmounts (needs root, as CI runs). */
async function withTmpfs(kb: number, body: (mnt: string) => Promise<void>): Promise<void> {
  const mnt = join(dir, `tmpfs-${kb}`);
  mkdirSync(mnt);
  assert.equal(process.getuid?.(), 0, "the full-disk test mounts a small tmpfs: run the tests as root (CI does)");
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${kb}k`, "tmpfs", mnt], { encoding: "utf8" });
  assert.equal(m.status, 0, `mounting a ${kb} KiB tmpfs for the full-disk test: ${m.stderr}`);
  try {
    await body(mnt);
  } finally {
    spawnSync("umount", [mnt]);
  }
}

const noTrace = /^\s+at .*:\d+:\d+\)?$/m;

test("a full disk: refused before training when the first checkpoint cannot fit; a save that fails later keeps the last checkpoint, says why in one line and exits non-zero", async () => {
  await withTmpfs(96, async (mnt) => {
    // the first checkpoint (weights, Adam's moments, metadata) cannot fit in 96 KiB: refused before any training
    const r = run(["train", "lm", ...lmFlags, "--steps", "10", "--out", join(mnt, "big.safetensors")]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--out: the disk of .* has \d+ KiB free, the first checkpoint needs about \d+ KiB/);
    assert.doesNotMatch(r.stderr, noTrace, "no stack trace");
    assert.deepEqual(readdirSync(mnt), [], "nothing was written");
  });
  await withTmpfs(2048, async (mnt) => {
    // checkpoints of about 100 KB fit; once one is on disk, another file takes all the room left
    const out = join(mnt, "m.safetensors");
    const p = start(["train", "lm", ...lmFlags, "--epochs", "100000", "--out", out]);
    while (!existsSync(out) && p.child.exitCode === null) await sleep(20);
    spawnSync("sh", ["-c", `dd if=/dev/zero of=${join(mnt, "filler")} bs=4k 2>/dev/null; true`]);
    const stepBefore = loadModel(out).checkpoint!.step;
    const code = await p.exit;
    assert.equal(code, 1, p.stderr());
    const lines = p.stderr().trim().split("\n").filter((l) => l.trim() !== "" && !/^(training|settings|epoch)/.test(l));
    assert.equal(lines.length, 1, p.stderr());
    assert.match(lines[0], /cannot write .*m\.safetensors: the disk is full \(ENOSPC\); nothing there was changed/);
    assert.doesNotMatch(p.stderr(), noTrace, "no stack trace");
    const kept = loadModel(out); // the last checkpoint, whole
    assert.ok(kept.checkpoint!.step >= stepBefore);
    kept.model.dispose();
    assert.deepEqual(readdirSync(mnt).filter((f) => f.endsWith(".tmp")), [], "no temp file left");
  });
});

test("--resume with an architecture flag that differs from the file is refused (not silently ignored); the same value is fine", () => {
  const out = join(dir, "arch.safetensors");
  assert.equal(run(["train", "lm", ...lmFlags, "--steps", "3", "--out", out]).status, 0);
  for (const [flag, value] of [["--hidden", "32"], ["--cell", "gru"], ["--layers", "1"], ["--dropout", "0.5"], ["--tokenizer", "word"], ["--embedding", "9"]]) {
    const r = run(["train", "lm", ...lmFlags.filter((f, i, a) => f !== flag && a[i - 1] !== flag), flag, value, "--steps", "6", "--out", out, "--resume"]);
    assert.equal(r.status, 1, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--resume: ${flag} ${value} differs from the model in .*arch\\.safetensors \\(${flag.slice(2)} [\\w.]+\\): a resumed model keeps its architecture`));
  }
  const same = run(["train", "lm", ...lmFlags, "--steps", "6", "--out", out, "--resume"]);
  assert.equal(same.status, 0, same.stderr);
});
