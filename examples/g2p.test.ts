/** examples/g2p.ts: the CMUdict loader (split by word, stress stripped), the PER/WER scoring, and a quick run. */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/io/model-file.js";
import { openTask, expectTask } from "../src/tasks/open.js";
import { baseWord, g2pScores, groupEntries, loadG2p, main, nearestSpelling, stripStress } from "./g2p.js";

test("stress digits stripped, variants grouped under their word, non-words dropped", () => {
  assert.deepEqual(stripStress("AH0 B AW1 T"), ["AH", "B", "AW", "T"]);
  assert.equal(baseWord("READ(1)"), "READ");
  const g = groupEntries({ READ: "R IY1 D", "READ(1)": "R EH1 D", "READ(2)": "R EH2 D", "A.": "EY1", "#HASH": "HH AE1 SH", "DON'T": "D OW1 N T" });
  assert.deepEqual(g, [{ word: "DON'T", prons: [["D", "OW", "N", "T"]] }, { word: "READ", prons: [["R", "IY", "D"], ["R", "EH", "D"]] }]);
});

test("the test split is 5% of the words, no word on both sides, no stress digit left", () => {
  const { train, test: held } = loadG2p();
  const n = train.length + held.length;
  assert.ok(n > 120000);
  assert.equal(held.length, Math.round(n * 0.05));
  const seen = new Set(train.map((e) => e.word));
  assert.ok(held.every((e) => !seen.has(e.word)));
  assert.ok([...train, ...held].every((e) => e.prons.every((p) => p.every((ph) => /^[A-Z]+$/.test(ph)))));
  // fixed: the same words every time
  assert.deepEqual(loadG2p().test.slice(0, 20).map((e) => e.word), held.slice(0, 20).map((e) => e.word));
});

test("PER and WER count a word right if it matches any pronunciation", () => {
  const refs = [[["R", "IY", "D"], ["R", "EH", "D"]], [["K", "AE", "T"]]];
  const s = g2pScores([["R", "EH", "D"], ["K", "AE"]], refs);
  assert.equal(s.wer, 0.5);
  assert.equal(s.per, 1 / 6);
  assert.deepEqual(nearestSpelling([{ word: "CAT", prons: [["K", "AE", "T"]] }, { word: "CART", prons: [["K", "AA", "R", "T"]] }], ["CATS"]), [["K", "AE", "T"]]);
});

test("a quick run reports PER and WER, beam 1 and 4, and saves a model the task layer opens", async (t) => {
  const out = join(tmpdir(), `rnnkit-g2p-${process.pid}.safetensors`);
  const r = await main({ quick: true, steps: 5, out, seed: 1 });
  t.after(() => rmSync(out, { force: true }));
  const rows = r.results as { metric: string; value: number; baseline: number }[];
  assert.deepEqual(rows.map((x) => x.metric), ["PER beam 4", "WER beam 4", "PER beam 1", "WER beam 1"]);
  for (const x of rows) assert.ok(Number.isFinite(x.value) && Number.isFinite(x.baseline));
  assert.equal(r.steps, 5);
  const task = expectTask(openTask(loadModel(out)), "seq2seq");
  assert.equal(task.predict(["cat"]).length, 1);
});
