import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/io/model-file.js";
import { openTask } from "../src/tasks/open.js";
import { split } from "./common.js";
import { loadNames, main } from "./gender.js";

test("gender: names in both lists dropped, each name once, the split disjoint", () => {
  const d = loadNames();
  assert.equal(d.female, 4951);
  assert.equal(d.male, 3898);
  assert.ok(d.both > 100, `${d.both} in both`);
  const key = (s: string) => s.toLowerCase();
  const f = new Set(d.names.filter((n) => n.label === "female").map((n) => key(n.name)));
  const m = new Set(d.names.filter((n) => n.label === "male").map((n) => key(n.name)));
  assert.equal([...f].filter((n) => m.has(n)).length, 0, "no name in both classes");
  assert.equal(d.names.length, f.size + m.size, "no name twice");
  assert.ok(!f.has("jean") && !m.has("jean"), "Jean is in both lists");
  const { train, test: held } = split(d.names, 0.2, 1);
  const inTrain = new Set(train.map((n) => key(n.name)));
  assert.equal(held.filter((n) => inTrain.has(key(n.name))).length, 0);
});

test("gender: main --quick trains a few steps and reports finite numbers", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "rnnkit-ex-gender-")), "gender.safetensors");
  const r = await main({ quick: true, out, seed: 1 });
  assert.equal(r.example, "gender");
  for (const k of ["accuracy", "baseline", "steps", "seconds"]) assert.ok(Number.isFinite(r[k]), `${k}: ${String(r[k])}`);
  const t = openTask(loadModel(out), out);
  assert.equal(t.task, "classify");
  if (t.task === "classify") assert.ok(["female", "male"].includes(t.predictOne("Maria").label));
});
