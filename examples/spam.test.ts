import assert from "node:assert/strict";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/io/model-file.js";
import { openTask } from "../src/tasks/open.js";
import { split } from "./common.js";
import { emailText, loadSpam, main } from "./spam.js";

test("spam: headers stripped but the Subject, bodies deduplicated, the split disjoint", () => {
  const t = emailText("From: a@b\nSubject: Win now\nX-Spam: yes\n\nHello\n  there\n");
  assert.equal(t.text, "Win now\n\nHello\n  there");
  const d = loadSpam();
  assert.equal(d.raw, 6046);
  assert.equal(d.emails.length, d.raw - d.duplicates - d.conflicting);
  assert.ok(d.duplicates > 100 && d.emails.length > 5500, `${d.duplicates} duplicates, ${d.emails.length} kept`);
  const bodies = d.emails.map((e) => e.text.slice(e.text.indexOf("\n\n")).replace(/\s+/g, " "));
  assert.equal(new Set(bodies).size, bodies.length, "no body twice");
  const spam = d.emails.filter((e) => e.label === "spam").length;
  assert.ok(spam > 1500 && spam < 2000, `${spam} spam`);
  const { train, test: held } = split(d.emails, 0.2, 1);
  assert.equal(held.length, Math.round(d.emails.length * 0.2));
  const inTrain = new Set(train.map((e) => e.text));
  assert.equal(held.filter((e) => inTrain.has(e.text)).length, 0, "no test text in train");
});

test("spam: main --quick trains a few steps, reports finite numbers and saves a model the CLI opens", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "rnnkit-ex-spam-")), "spam.safetensors");
  const r = await main({ quick: true, out, seed: 1 });
  assert.equal(r.example, "spam");
  for (const k of ["accuracy", "baseline", "steps", "seconds"]) assert.ok(Number.isFinite(r[k]), `${k}: ${String(r[k])}`);
  assert.equal(r.steps, 5);
  const rows = r.results as { value: number; baseline: number }[];
  assert.ok(rows.length === 1 && Number.isFinite(rows[0].value) && rows[0].baseline > 0.5);
  assert.ok(existsSync(r.testData as string));
  const t = openTask(loadModel(out), out);
  assert.equal(t.task, "classify");
});
