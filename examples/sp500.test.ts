import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/io/model-file.js";
import { openTask } from "../src/tasks/open.js";
import { loadSp500, main, returnRows } from "./sp500.js";

test("sp500: daily quotes 2000-2020 in date order; log returns", () => {
  const q = loadSp500();
  assert.ok(q.length > 5000, `${q.length} quotes`);
  assert.equal(q[0].date, "2000-01-03");
  for (let i = 1; i < q.length; i++) assert.ok(q[i].date > q[i - 1].date);
  const { rows, dates } = returnRows(q);
  assert.equal(rows.length, q.length - 1);
  assert.equal(dates[0], "2000-01-04");
  // 2000-01-04: close 1399.420044 after 1455.219971
  assert.ok(Math.abs(rows[0][0] - Math.log(1399.420044 / 1455.219971)) < 1e-12);
  assert.ok(rows.every((r) => r.every(Number.isFinite)));
});

test("sp500: main --quick trains a few steps and reports finite numbers", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "rnnkit-ex-sp500-")), "sp500.safetensors");
  const r = await main({ quick: true, out, seed: 1 });
  assert.equal(r.example, "sp500");
  for (const k of ["rmse", "baseline", "steps", "seconds"]) assert.ok(Number.isFinite(r[k]), `${k}: ${String(r[k])}`);
  assert.ok((r.baseline as number) > 0.001 && (r.baseline as number) < 0.1);
  assert.equal(openTask(loadModel(out), out).task, "forecast");
});
