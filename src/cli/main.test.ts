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

/** Runs the CLI; `json` is the WHOLE of stdout parsed as one JSON document (null if it is not one). */
function rnnkit(...args: string[]): { status: number | null; stdout: string; stderr: string; json: Record<string, unknown> | null } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // not (only) JSON
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

test("--help on every command; unknown commands fail", () => {
  for (const cmd of [[], ["train"], ["train", "lm"], ["train", "classify"], ["train", "forecast"], ["train", "tag"], ["train", "seq2seq"], ["eval"], ["generate"], ["predict"], ["info"], ["import"]]) {
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
  const p = rnnkit("predict", model, "--data", text);
  assert.equal(p.status, 1);
  assert.match(p.stderr, /predict: .*lm.safetensors is a lm model; predict needs a classify, tag, forecast or seq2seq model/);
  const bad = rnnkit("train", "lm", "--text", text, "--cell", "lstmm", "--out", join(dir, "z.safetensors"));
  assert.match(bad.stderr, /--cell: expected one of lstm, gru, rnn, rnn_relu, got "lstmm"/);
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
  const bad = rnnkit("train", "classify", "--data", data, "--text-column", "text", "--label-column", "sentiment", "--out", join(dir, "c-bad.safetensors"));
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
  // one line per row (empty while there is too little history), then the horizon (1) past the end
  const lines = p.stdout.split("\n").slice(0, -1);
  assert.equal(lines.length, 300 + 1);
  assert.deepEqual(lines.slice(0, 12), new Array(12).fill(""));
  assert.ok(lines.slice(12).every((l) => Number.isFinite(Number(l)) && l !== ""));
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
  assert.equal(code, 130, stderr);
  assert.match(stderr, /stopped by Ctrl-C; the model is saved/);
  const e = rnnkit("eval", model, "--text", text, "--json");
  assert.equal(e.status, 0, e.stderr);
  const { loadModel } = await import("../io/model-file.js");
  const before = loadModel(model).checkpoint!.trainer as { horizon: number; warmup: number; horizonFrom: string };
  assert.equal(before.horizonFrom, "epochs");
  const r = rnnkit("train", "lm", "--text", text, "--epochs", "500", "--batch-size", "4", "--seq-len", "16", "--out", model, "--resume", "--time-budget", "1", "--json", "--sample", "0");
  assert.equal(r.status, 0, r.stderr);
  // the resumed run follows the schedule of the first: its horizon comes from the checkpoint
  assert.equal(r.json!.scheduleSteps, before.horizon);
  const after = loadModel(model).checkpoint!.trainer as typeof before;
  assert.deepEqual([after.horizon, after.warmup, after.horizonFrom], [before.horizon, before.warmup, "checkpoint"]);
  // (Ctrl-C fell after epoch 1: at an epoch's end, or inside a later epoch)
  const m = /resuming .* (?:after epoch (\d+)|inside epoch (\d+) after \d+ batches)/.exec(r.stderr)!;
  const resumedAfter = m[1] !== undefined ? Number(m[1]) : Number(m[2]) - 1;
  assert.ok(resumedAfter >= 1);
  assert.equal(r.json!.stoppedBy, "time");
  // the file written at the end still counts the epochs of the first run
  assert.ok(loadModel(model).checkpoint!.epoch >= resumedAfter, "a resumed run keeps the epoch count");
});

/** A toy tagging corpus: DET NOUN VERB DET NOUN sentences. */
function taggedCorpus(n: number): { tokens: string[]; tags: string[] }[] {
  const nouns = ["dog", "cat", "man", "ball", "tree"], verbs = ["sees", "likes", "eats", "throws"], dets = ["the", "a"];
  return Array.from({ length: n }, (_, i) => ({
    tokens: [dets[i % 2], nouns[i % 5], verbs[i % 4], dets[(i + 1) % 2], nouns[(i * 3) % 5]],
    tags: ["DET", "NOUN", "VERB", "DET", "NOUN"],
  }));
}

test("train tag on CoNLL, predict a tagged sentence per input sentence (tag column missing), eval token accuracy", () => {
  const data = join(dir, "train.conll");
  writeFileSync(data, taggedCorpus(120).map((s) => s.tokens.map((t, i) => `${t}\t${s.tags[i]}`).join("\n")).join("\n\n") + "\n");
  const model = join(dir, "tag.safetensors");
  const t = rnnkit("train", "tag", "--data", data, "--hidden", "16", "--embedding", "8", "--epochs", "6", "--batch-size", "8", "--lr", "0.02", "--out", model, "--json", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  assert.ok((t.json!.tokenAccuracy as number) > 0.9, JSON.stringify(t.json));
  assert.match(t.stderr, /bidirectional lstm tagger/);
  const input = join(dir, "new.conll");
  writeFileSync(input, "the\ndog\nsees\na\nzebra\n\na\ncat\neats\n");
  const p = rnnkit("predict", model, "--data", input);
  assert.equal(p.status, 0, p.stderr);
  const lines = p.stdout.split("\n").slice(0, -1);
  assert.equal(lines.length, 9, "one line per input line, the blank one included");
  assert.deepEqual(lines.map((l) => l.split("\t")[0]), ["the", "dog", "sees", "a", "zebra", "", "a", "cat", "eats"]);
  assert.deepEqual(lines.slice(0, 3).map((l) => l.split("\t")[1]), ["DET", "NOUN", "VERB"]);
  assert.match(p.stderr, /1 token\(s\) never seen in training read as <unk>/);
  const pj = rnnkit("predict", model, "--data", input, "--json");
  const objs = pj.stdout.trim().split("\n").map((l) => JSON.parse(l) as { tokens: string[]; tags: string[]; confidence: number[] });
  assert.equal(objs.length, 2);
  assert.deepEqual(objs[1].tokens, ["a", "cat", "eats"]);
  assert.equal(objs[1].tags.length, 3);
  const e = rnnkit("eval", model, "--data", data, "--json");
  assert.equal(e.status, 0, e.stderr);
  assert.ok((e.json!.tokenAccuracy as number) > 0.9, JSON.stringify(e.json));
  assert.equal(e.json!.tokens, 600);
  // bad training input: a line without a tab, a JSONL sentence with more tokens than tags
  const bad = join(dir, "bad.conll");
  writeFileSync(bad, "the\tDET\ndog\n");
  const b = rnnkit("train", "tag", "--data", bad, "--out", join(dir, "b.safetensors"));
  assert.equal(b.status, 1);
  assert.match(b.stderr, /bad.conll:2: expected "token<TAB>tag", got "dog" \(no tab\)/);
  const badj = join(dir, "bad.jsonl");
  writeFileSync(badj, '{"tokens":["a","dog"],"tags":["DET","NOUN"]}\n{"tokens":["a","dog"],"tags":["DET"]}\n');
  const bj = rnnkit("train", "tag", "--data", badj, "--out", join(dir, "b.safetensors"));
  assert.match(bj.stderr, /bad.jsonl:2: expected as many tags as tokens, got 2 tokens and 1 tags/);
  // JSONL training works too, and a tag model refuses a CSV file saying what it reads
  const good = join(dir, "good.jsonl");
  writeFileSync(good, taggedCorpus(40).map((s) => JSON.stringify(s)).join("\n"));
  const tj = rnnkit("train", "tag", "--data", good, "--hidden", "8", "--embedding", "4", "--epochs", "1", "--out", join(dir, "tj.safetensors"), "--json", "--quiet");
  assert.equal(tj.status, 0, tj.stderr);
  const csv = join(dir, "x.csv");
  writeFileSync(csv, "text,label\nhi,pos\n");
  const w = rnnkit("predict", model, "--data", csv);
  assert.match(w.stderr, /predict: .*tag.safetensors is a tag model; it reads CoNLL/);
});

test("forecast with --horizon and --features: predict lines, eval MAE, RMSE, MAPE (+ skipped), sMAPE", () => {
  const rows = ["t,value,temp,noise"];
  for (let i = 0; i < 240; i++) rows.push(`${i},${(10 + 5 * Math.sin(i / 4)).toFixed(4)},${Math.cos(i / 4).toFixed(4)},${i % 3}`);
  const data = join(dir, "fh.csv");
  writeFileSync(data, rows.join("\n"));
  const model = join(dir, "fh.safetensors");
  const t = rnnkit("train", "forecast", "--data", data, "--column", "value", "--features", "temp,noise", "--window", "10", "--horizon", "3", "--hidden", "16", "--epochs", "8", "--batch-size", "16", "--lr", "0.01", "--out", model, "--json", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  for (const k of ["mae", "rmse", "mape", "mapeSkipped", "smape"]) assert.equal(typeof t.json![k], "number", k);
  assert.equal(t.json!.horizon, 3);
  assert.ok((t.json!.mae as number) < 2, JSON.stringify(t.json));
  const i = rnnkit("info", model, "--json");
  assert.equal(i.status, 0, i.stderr);
  assert.deepEqual((i.json!.info as Record<string, unknown>).features, ["temp", "noise"]);
  assert.equal((i.json!.config as Record<string, unknown>).inputSize, 3);
  assert.equal((i.json!.config as Record<string, unknown>).outputSize, 3);
  const p = rnnkit("predict", model, "--data", data);
  const lines = p.stdout.split("\n").slice(0, -1);
  assert.equal(lines.length, 240 + 3, "a line per row, then the 3 steps past the end");
  assert.equal(lines[9], "");
  assert.notEqual(lines[10], "");
  const pj = rnnkit("predict", model, "--data", data, "--json").stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(pj.length, 243);
  assert.equal(pj[0].forecast, null);
  assert.deepEqual(pj[242], { ahead: 3, forecast: Number(lines[242]) });
  // a series with zeros: MAPE skips them and says how many
  const z = ["t,value,temp,noise"];
  for (let k = 0; k < 40; k++) z.push(`${k},${k % 4 === 0 ? 0 : 10},${Math.cos(k / 4).toFixed(4)},${k % 3}`);
  const zf = join(dir, "z.csv");
  writeFileSync(zf, z.join("\n"));
  const e = rnnkit("eval", model, "--data", zf, "--json");
  assert.equal(e.status, 0, e.stderr);
  // windows 10..37 forecast rows t, t+1, t+2 (t = 10..37); rows 12, 16, ..., 36 and 40-less ones are zeros
  let zeros = 0;
  for (let s = 10; s + 3 <= 40; s++) for (let h = 0; h < 3; h++) if ((s + h) % 4 === 0) zeros++;
  assert.equal(e.json!.mapeSkipped, zeros);
  assert.equal(e.json!.count, (40 - 10 - 3 + 1) * 3);
  const bad = rnnkit("train", "forecast", "--data", data, "--column", "value", "--features", "humidity", "--out", join(dir, "x.safetensors"));
  assert.match(bad.stderr, /there is no column "humidity"/);
});

test("classify: eval macro-F1 and confusion matrix; predict --json lines with probabilities; one truncation warning; info", () => {
  const rows = ["text,label"];
  for (let i = 0; i < 90; i++) rows.push([`great lovely fine day ${i % 7},pos`, `awful bad sad day ${i % 5},neg`, `plain normal usual day ${i % 3},neu`][i % 3]);
  const data = join(dir, "c3.csv");
  writeFileSync(data, rows.join("\n"));
  const model = join(dir, "c3.safetensors");
  const t = rnnkit("train", "classify", "--data", data, "--text-column", "text", "--label-column", "label", "--hidden", "16", "--embedding", "8", "--epochs", "8", "--batch-size", "8", "--lr", "0.02", "--max-len", "3", "--out", model, "--json", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  assert.equal(t.stderr.match(/warning: 90 of 90 texts were longer than --max-len 3 tokens/g)?.length, 1, t.stderr);
  const e = rnnkit("eval", model, "--data", data, "--json");
  assert.equal(e.status, 0, e.stderr);
  assert.deepEqual(e.json!.labels, ["neg", "neu", "pos"]);
  const cm = e.json!.confusion as number[][];
  assert.deepEqual(cm.map((r) => r.reduce((a, b) => a + b, 0)), [30, 30, 30], "rows are the true labels");
  assert.ok((e.json!.macroF1 as number) > 0.9, JSON.stringify(e.json));
  assert.equal(e.json!.accuracy, Math.round(((cm[0][0] + cm[1][1] + cm[2][2]) / 90) * 1e4) / 1e4);
  // words never seen in training are read as <unk>, and eval says how many
  const unseen = join(dir, "c3-unseen.csv");
  writeFileSync(unseen, "text,label\nzebra great day,pos\nawful quokka zebra,neg\n");
  const u = rnnkit("eval", model, "--data", unseen, "--json");
  assert.equal(u.json!.unknownTokens, 3, JSON.stringify(u.json));
    const h = rnnkit("eval", model, "--data", data);
  assert.match(h.stdout, /macro-F1/);
  assert.match(h.stdout, /true \\ predicted\s+neg\s+neu\s+pos/);
  const p = rnnkit("predict", model, "--data", data, "--json");
  const objs = p.stdout.trim().split("\n").map((l) => JSON.parse(l) as { label: string; probabilities: Record<string, number> });
  assert.equal(objs.length, 90);
  assert.ok(objs.every((o) => Math.abs(Object.values(o.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-4));
  assert.equal(objs[0].label, "pos");
  assert.equal(p.stderr.match(/warning:/g)?.length, 1);
  const i = rnnkit("info", model, "--json");
  assert.equal(i.json!.task, "classify");
  assert.equal(i.json!.formatVersion, 2);
  assert.equal(typeof i.json!.version, "string");
  const params = i.json!.parameters as { name: string; shape: number[]; count: number }[];
  assert.ok(params.some((r) => r.name === "rnn.weight_ih_l0" && r.shape.join() === "64,8" && r.count === 512), JSON.stringify(params));
  assert.equal(i.json!.totalParameters, params.reduce((s, r) => s + r.count, 0));
  const ih = rnnkit("info", model);
  assert.match(ih.stdout, /a classify model/);
  assert.match(ih.stdout, /rnn\.weight_hh_l0\s+\[64, 16\]\s+1024/);
  assert.match(ih.stdout, /written by rnnkit/);
});

test("--json: stdout holds only JSON, errors as {\"error\"} with the message on stderr; EPIPE exits quietly", () => {
  const missing = rnnkit("eval", join(dir, "nope.safetensors"), "--json");
  assert.equal(missing.status, 1);
  assert.match(String(missing.json!.error), /no such model file/);
  assert.match(missing.stderr, /no such model file/);
  const flag = rnnkit("train", "tag", "--data", "x.conll", "--out", join(dir, "y.safetensors"), "--frobnicate", "--json");
  assert.notEqual(flag.status, 0);
  assert.match(String(flag.json!.error), /unknown option '--frobnicate'/);
  const value = rnnkit("train", "classify", "--data", "x.csv", "--text-column", "t", "--label-column", "l", "--pooling", "median", "--out", join(dir, "y.safetensors"), "--json");
  assert.match(String(value.json!.error), /--pooling <how>' argument 'median' is invalid. Allowed choices are last, mean, max/);
  // a big per-row output into a reader that stops after one line
  const rows = ["text,label"];
  for (let i = 0; i < 6000; i++) rows.push(i % 2 ? `great lovely fine day,pos` : `awful bad sad day,neg`);
  const big = join(dir, "big.csv");
  writeFileSync(big, rows.join("\n"));
  const model = join(dir, "c3.safetensors");
  const r = spawnSync("bash", ["-c", `"${process.execPath}" "${bin}" predict "${model}" --data "${big}" --json | head -1; echo "status=\${PIPESTATUS[0]}" >&2`], { encoding: "utf8" });
  assert.equal(r.stdout.trim().split("\n").length, 1);
  assert.ok(JSON.parse(r.stdout).label);
  assert.match(r.stderr, /status=0/);
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
});

test("train seq2seq on TSV pairs (reverse a string), predict a string per row, eval token error rate and exact match; bad pairs by line", () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const rows = ["src\ttgt"];
  for (let i = 0; i < 300; i++) {
    const s = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => "abcd"[Math.floor(rand() * 4)]).join("");
    rows.push(`${s}\t${[...s].reverse().join("")}`);
  }
  const data = join(dir, "pairs.tsv");
  writeFileSync(data, rows.join("\n"));
  const model = join(dir, "s2s.safetensors");
  const t = rnnkit("train", "seq2seq", "--data", data, "--source-column", "src", "--target-column", "tgt", "--hidden", "32", "--embedding", "16", "--epochs", "15", "--batch-size", "16", "--lr", "0.01", "--attention", "luong", "--beam", "2", "--out", model, "--json", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  assert.ok((t.json!.exactMatch as number) > 0.8, JSON.stringify(t.json));
  assert.equal(t.json!.beam, 2);
  const input = join(dir, "s2s-in.csv");
  writeFileSync(input, "src\nabc\n\"\"\ndcba\n");
  const p = rnnkit("predict", model, "--data", input);
  assert.equal(p.status, 0, p.stderr);
  assert.deepEqual(p.stdout.split("\n").slice(0, -1), ["cba", "", "abcd"], "one line per row; an empty source gives an empty line");
  const pj = rnnkit("predict", model, "--data", input, "--json").stdout.trim().split("\n").map((l) => JSON.parse(l) as { output: string | null; score: number | null });
  assert.deepEqual(pj.map((o) => o.output), ["cba", null, "abcd"]);
  assert.ok(typeof pj[0].score === "number" && pj[0].score <= 0, "a log-probability");
  const e = rnnkit("eval", model, "--data", data, "--json", "--beam", "1");
  assert.equal(e.status, 0, e.stderr);
  assert.equal(e.json!.beam, 1);
  assert.ok((e.json!.tokenErrorRate as number) < 0.1, JSON.stringify(e.json));
  assert.ok((e.json!.exactMatch as number) > 0.8);
  const i = rnnkit("info", model, "--json");
  assert.equal(i.json!.task, "seq2seq");
  assert.equal((i.json!.config as Record<string, unknown>).attention, "luong");
  assert.equal((i.json!.info as Record<string, unknown>).beam, 2);
  assert.deepEqual((i.json!.info as Record<string, unknown>).targetTokenizer, { kind: "char", size: 8, lowercase: false }, "summarised, not listed (4 specials and a-d, no newline)");
  // a pair with an empty side: refused with its line, or skipped and counted
  const bad = join(dir, "badpairs.tsv");
  writeFileSync(bad, "src\ttgt\nab\tba\n\ncd\t\nabc\tcba\n");
  const b = rnnkit("train", "seq2seq", "--data", bad, "--source-column", "src", "--target-column", "tgt", "--out", join(dir, "b2.safetensors"), "--json");
  assert.equal(b.status, 1);
  assert.match(String(b.json!.error), /badpairs.tsv:4: expected a source and a target, got an empty target/);
  const sk = rnnkit("train", "seq2seq", "--data", bad, "--source-column", "src", "--target-column", "tgt", "--hidden", "8", "--embedding", "4", "--epochs", "1", "--skip-bad-rows", "--val-fraction", "0", "--out", join(dir, "b2.safetensors"), "--json", "--quiet");
  assert.equal(sk.status, 0, sk.stderr);
  assert.match(sk.stderr, /skipped 1 pair\(s\) with a missing or empty side/);
  const att = rnnkit("train", "seq2seq", "--data", data, "--source-column", "src", "--target-column", "tgt", "--attention", "dot", "--out", join(dir, "b3.safetensors"));
  assert.match(att.stderr, /'--attention <kind>' argument 'dot' is invalid. Allowed choices are none, luong, luong-dot, bahdanau/);
});

test("text input: invalid UTF-8 is refused with its byte and line; a BOM, a short first row and a column named constructor read right", () => {
  const latin = join(dir, "latin.txt");
  writeFileSync(latin, Buffer.concat([Buffer.from("fine line\ncaf"), Buffer.from([0xe9]), Buffer.from(" au lait\n")]));
  const r = rnnkit("train", "lm", "--text", latin, "--out", join(dir, "latin.safetensors"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /latin\.txt: expected UTF-8 text, got an invalid byte sequence at byte 13 \(line 2\)/);
  const rows = ["text,label", ...Array.from({ length: 20 }, (_, i) => (i % 2 ? "good day,pos" : "bad day,neg"))].join("\n");
  const bom = join(dir, "bom.csv");
  writeFileSync(bom, "\ufeff" + rows);
  const t = rnnkit("train", "classify", "--data", bom, "--text-column", "text", "--label-column", "label", "--epochs", "1", "--hidden", "4", "--out", join(dir, "bom.safetensors"), "--json", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  // a column that exists in the header although the first row lacks its value; "constructor" is
  // not an inherited member
  const pairs = join(dir, "short.tsv");
  writeFileSync(pairs, "source\ttarget\nabc\n");
  const s = rnnkit("train", "seq2seq", "--data", pairs, "--source-column", "source", "--target-column", "target", "--out", join(dir, "short.safetensors"));
  assert.equal(s.status, 1);
  assert.match(s.stderr, /short\.tsv:2: expected a source and a target, got a missing target/);
  const ctor = join(dir, "ctor.csv");
  writeFileSync(ctor, rows);
  const c = rnnkit("train", "classify", "--data", ctor, "--text-column", "constructor", "--label-column", "label", "--out", join(dir, "ctor.safetensors"));
  assert.equal(c.status, 1);
  assert.match(c.stderr, /there is no column "constructor"; the columns are "text", "label"/);
});

test("defaults chosen from the data, said in one settings line; --keep best|last; --steps; --class-weights auto", async () => {
  const rows = ["text,label"];
  // imbalanced: 1 in 4 is pos
  for (let i = 0; i < 160; i++) rows.push(i % 4 === 0 ? `great lovely fine day ${i % 7},pos` : `awful bad sad day ${i % 5},neg`);
  const data = join(dir, "auto.csv");
  writeFileSync(data, rows.join("\n"));
  const model = join(dir, "auto.safetensors");
  const t = rnnkit("train", "classify", "--data", data, "--text-column", "text", "--label-column", "label", "--steps", "30", "--class-weights", "auto", "--out", model, "--json", "--quiet");
  assert.equal(t.status, 0, t.stderr);
  // 144 training texts of 5 tokens: hidden 64, batch 16, max-len 16 (1.5 x 5 rounded up to 16), one direction, last state
  assert.match(t.stderr, /settings: vocabulary \d+ of \d+ words \(cap 2000: \d+ training tokens\), max-len 16 \(95% of the sequences have <= 5 tokens\), batch-size 16 \(144 training sequences\), hidden 64 \(144 training sequences\), embedding 48 \(vocabulary \d+\), not bidirectional \(median length 5 tokens <= 50\), pooling last \(median length 5 tokens <= 50\), class weights neg \d\.\d\d, pos \d\.\d\d \(inverse frequency, mean 1\), lr 0.003, schedule: warm-up min\(100, 5%\) steps, flat, then linear to 0.05x over the last 20% of --steps 30, keep best/);
  const [wn, wp] = /class weights neg (\d\.\d\d), pos (\d\.\d\d)/.exec(t.stderr)!.slice(1).map(Number);
  assert.ok(wp > 2 * wn && Math.abs((wn + wp) / 2 - 1) < 0.01, `${wn} ${wp}`);
  assert.equal(t.json!.steps, 30);
  assert.equal(t.json!.stoppedBy, "steps");
  assert.equal(t.json!.scheduleSteps, 30);
  assert.equal(t.json!.kept, "best");
  assert.equal(typeof t.json!.keptEpoch, "number");
  const { loadModel } = await import("../io/model-file.js");
  const saved = loadModel(model);
  assert.equal((saved.checkpoint!.trainer as { horizon: number }).horizon, 30);
  // the best-validation weights are the model's; when the best is not the last, the last ones sit beside them to resume from
  if (t.json!.keptStep !== 30) assert.ok(saved.resumeWeights && Object.keys(saved.resumeWeights).length > 0);
  const l = rnnkit("train", "classify", "--data", data, "--text-column", "text", "--label-column", "label", "--steps", "30", "--keep", "last", "--out", join(dir, "auto-last.safetensors"), "--json", "--quiet");
  assert.equal(l.status, 0, l.stderr);
  assert.deepEqual([l.json!.kept, l.json!.keptStep], ["last", 30]);
  // --steps and no time budget: the same seed gives the same weights
  const l2 = rnnkit("train", "classify", "--data", data, "--text-column", "text", "--label-column", "label", "--steps", "30", "--keep", "last", "--out", join(dir, "auto-last2.safetensors"), "--json", "--quiet");
  assert.equal(l2.status, 0, l2.stderr);
  const w1 = loadModel(join(dir, "auto-last.safetensors")).model.stateDict(), w2 = loadModel(join(dir, "auto-last2.safetensors")).model.stateDict();
  for (const k of Object.keys(w1)) assert.deepEqual(Array.from(w2[k].data), Array.from(w1[k].data), k);
  assert.match(rnnkit("train", "classify", "--data", data, "--text-column", "text", "--label-column", "label", "--keep", "worst", "--out", model).stderr, /'--keep <which>' argument 'worst' is invalid. Allowed choices are best, last/);
  // long texts (median > 50 tokens): read both ways, max pooling
  const long = ["text,label"];
  for (let i = 0; i < 40; i++) long.push(`${Array.from({ length: 60 }, (_, k) => `w${(i * k) % 17}`).join(" ")},${i % 2 ? "a" : "b"}`);
  const ld = join(dir, "long.csv");
  writeFileSync(ld, long.join("\n"));
  const lt = rnnkit("train", "classify", "--data", ld, "--text-column", "text", "--label-column", "label", "--steps", "2", "--out", join(dir, "long.safetensors"), "--json", "--quiet");
  assert.equal(lt.status, 0, lt.stderr);
  assert.match(lt.stderr, /max-len 96 \(95% of the sequences have <= 60 tokens\).* bidirectional \(median length 60 tokens > 50\), pooling max \(median length 60 tokens > 50\)/);
  const i = rnnkit("info", join(dir, "long.safetensors"), "--json");
  assert.deepEqual([(i.json!.config as Record<string, unknown>).bidirectional, (i.json!.config as Record<string, unknown>).pooling], [true, "max"]);
});

test("bad input for a train command is refused before training: a validation split too small, a single label, no training text left", () => {
  const tiny = join(dir, "tiny.csv");
  writeFileSync(tiny, ["text,label", ...Array.from({ length: 12 }, (_, i) => `t ${i},${i % 2 ? "x" : "y"}`)].join("\n"));
  const a = rnnkit("train", "classify", "--data", tiny, "--text-column", "text", "--label-column", "label", "--out", join(dir, "tiny.safetensors"));
  assert.equal(a.status, 1);
  assert.match(a.stderr, /too little data for a validation split: --val-fraction 0.1 of 12 examples holds 1; expected at least 2 \(so at least 20 examples\)/);
  assert.doesNotMatch(a.stderr, /training a|settings:/, "refused before training");
  const b = rnnkit("train", "classify", "--data", tiny, "--text-column", "text", "--label-column", "label", "--val-fraction", "0.5", "--steps", "1", "--out", join(dir, "tiny.safetensors"), "--quiet");
  assert.equal(b.status, 0, b.stderr);
  const one = join(dir, "one.csv");
  writeFileSync(one, ["text,label", ...Array.from({ length: 40 }, (_, i) => `t ${i},same`)].join("\n"));
  const c = rnnkit("train", "classify", "--data", one, "--text-column", "text", "--label-column", "label", "--out", join(dir, "one.safetensors"));
  assert.equal(c.status, 1);
  assert.match(c.stderr, /one.csv: column "label": a classifier needs at least 2 distinct labels, got 1 \("same"\)/);
  assert.doesNotMatch(c.stderr, /training a|settings:/, "refused before training");
  const tags = join(dir, "few.conll");
  writeFileSync(tags, "the\tDET\ndog\tNOUN\n\na\tDET\ncat\tNOUN\n");
  const d = rnnkit("train", "tag", "--data", tags, "--out", join(dir, "few.safetensors"));
  assert.match(d.stderr, /too little data for a validation split: --val-fraction 0.1 of 2 sentences holds 0; expected at least 2/);
  const e = rnnkit("train", "tag", "--data", tags, "--val-fraction", "0.5", "--out", join(dir, "few.safetensors"));
  assert.match(e.stderr, /no training sentences left|too little data/);
  const txt = join(dir, "short.txt");
  writeFileSync(txt, "to be or not to be, that is the question. ".repeat(8));
  const f = rnnkit("train", "lm", "--text", txt, "--batch-size", "2", "--out", join(dir, "short.safetensors"));
  assert.equal(f.status, 1);
  assert.match(f.stderr, /the validation tail is too short: --val-fraction 0.1 of the text holds 34 chars; expected more than --seq-len 64/);
});
