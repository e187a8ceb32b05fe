/** examples/pos.ts: tag simplification, the Brown reader and split by file, the baseline, and a quick run. */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/io/model-file.js";
import { expectTask, openTask } from "../src/tasks/open.js";
import { brownFiles, main, mostFrequentTag, parseBrown, signature, simplifyTag, wordForms, wordVocabulary } from "./pos.js";

test("tags simplified: -tl, -hl, -nc and fw- dropped, compounds cut at +", () => {
  const cases: [string, string][] = [
    ["nn-tl", "nn"], ["np$-tl", "np$"], ["nns-hl", "nns"], ["nn-tl-hl", "nn"], ["jj-nc", "jj"], ["fw-nn", "nn"], ["fw-in+at-tl", "in"],
    ["ppss+md", "ppss"], ["pps+bez", "pps"], ["--", "--"], [".-hl", "."], ["NN-TL", "nn"], ["*", "*"], ["vbd", "vbd"],
  ];
  for (const [raw, want] of cases) assert.equal(simplifyTag(raw), want, raw);
});

test("the Brown reader: a sentence per line, word/tag split at the last slash", () => {
  const s = parseBrown("\n\n\tThe/at Fulton/np-tl 1/2/cd said/vbd ./.\n\n\tOK/jj\n");
  assert.deepEqual(s.map((x) => x.tokens), [["The", "Fulton", "1/2", "said", "."], ["OK"]]);
  assert.deepEqual(s[0].tags, ["at", "np", "cd", "vbd", "."]);
});

test("every 10th file in sorted order is a test file; the sides are disjoint", () => {
  const { train, test: held } = brownFiles();
  assert.equal(train.length + held.length, 500);
  assert.equal(held.length, 50);
  assert.deepEqual(held.slice(0, 2), ["ca10", "ca20"]);
  assert.ok(held.every((f) => !train.includes(f)));
});

test("the most-frequent-tag baseline: per word, unknown words get the overall most frequent tag", () => {
  const train = [{ tokens: ["the", "dog", "runs"], tags: ["at", "nn", "vbz"], line: 1 }, { tokens: ["the", "runs"], tags: ["at", "nns"], line: 2 }, { tokens: ["runs"], tags: ["nns"], line: 3 }];
  assert.deepEqual(mostFrequentTag(train, [{ tokens: ["runs", "cat", "the"] }]), [["nns", "at", "at"]]);
});

test("unseen words become signatures; the rare training words train them", () => {
  const cases: [string, string][] = [
    ["1960", "<unk-num>"], ["Fulton", "<unk-cap>"], ["jogging", "<unk-ing>"], ["Dallas-based", "<unk-cap-hyph-ed>"], ["quickly", "<unk-ly>"],
    ["cats", "<unk-s>"], ["zap", "<unk>"], ["is", "<unk>"],
  ];
  for (const [w, want] of cases) assert.equal(signature(w), want, w);
  const train = [{ tokens: ["the", "dog", "the", "dog", "Rex", "jogging"], tags: ["at", "nn", "at", "nn", "np", "vbg"], line: 1 }];
  const tok = wordVocabulary(train);
  assert.deepEqual(tok.tokens.slice(4), ["the", "dog", "<unk-cap>", "<unk-ing>"]);
  assert.deepEqual(wordForms(tok, [{ tokens: ["the", "Max", "running", "zap"], line: 1 }])[0].tokens, ["the", "<unk-cap>", "<unk-ing>", "<unk>"]);
});

test("a quick run reports the token accuracy beside its baseline and saves a tagger", async (t) => {
  const out = join(tmpdir(), `rnnkit-pos-${process.pid}.safetensors`);
  const r = await main({ quick: true, steps: 5, out, seed: 1 });
  t.after(() => rmSync(out, { force: true }));
  const [row] = r.results as { metric: string; value: number; baseline: number }[];
  assert.equal(row.metric, "token accuracy");
  assert.ok(row.value >= 0 && row.value <= 1 && row.baseline > 0.5 && row.baseline <= 1);
  assert.equal(r.steps, 5);
  const task = expectTask(openTask(loadModel(out)), "tag");
  assert.equal(task.predict([["The", "jury", "said"]])[0].length, 3);
});
