/** examples/names.ts: the two lists made disjoint, the conditioned examples, and a quick run. */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BOS, EOS, Tokenizer } from "../src/data/tokenizer.js";
import { loadModel } from "../src/io/model-file.js";
import { expectTask, openTask } from "../src/tasks/open.js";
import { disjointNames, loadNames, main, nameExamples } from "./names.js";

test("names in both lists are dropped", () => {
  assert.deepEqual(disjointNames(["Ann", "Sam", "Jo"], ["Sam", "Bob", "Jo"]), { female: ["Ann"], male: ["Bob"], dropped: 2 });
  const { train, test: held } = loadNames();
  const all = [...train, ...held];
  const female = new Set(all.filter((n) => n.category === "female").map((n) => n.name));
  assert.ok(all.filter((n) => n.category === "male").every((n) => !female.has(n.name)));
  assert.equal(new Set(all.map((n) => n.name)).size, all.length);
  assert.equal(held.length, Math.round(all.length * 0.1));
  assert.ok(held.some((n) => n.category === "female") && held.some((n) => n.category === "male"));
});

test("an example: <bos> name -> name <eos>, the category one-hot as condition", () => {
  const tok = Tokenizer.build("char", "Ann", { lowercase: false });
  const [c] = nameExamples(tok, [{ name: "Ann", category: "male" }], true);
  assert.deepEqual(Array.from(c.tokens!), [BOS, ...tok.encode("Ann")]);
  assert.deepEqual(c.target, [...tok.encode("Ann"), EOS]);
  assert.deepEqual(c.condition, [0, 1]);
  assert.equal(nameExamples(tok, [{ name: "Ann", category: "male" }], false)[0].condition, undefined);
});

test("a quick run reports conditioned vs unconditioned NLL and samples per category", async (t) => {
  const out = join(tmpdir(), `rnnkit-names-${process.pid}.safetensors`);
  const r = await main({ quick: true, steps: 5, out, seed: 1 });
  t.after(() => rmSync(out, { force: true }));
  const [row] = r.results as { value: number; baseline: number }[];
  assert.ok(Number.isFinite(row.value) && row.value > 0 && Number.isFinite(row.baseline) && row.baseline > 0);
  const samples = r.samples as Record<string, string[]>;
  assert.deepEqual(Object.keys(samples), ["female", "male"]);
  assert.equal(samples.female.length, 6);
  assert.equal(expectTask(openTask(loadModel(out)), "lm").task, "lm");
});
