import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/io/model-file.js";
import { openTask } from "../src/tasks/open.js";
import { FEATURES, birthRows, isHoliday, loadBirths, main } from "./births.js";

test("births: 20 years of consecutive days, in order; holidays; the next day's calendar in each row", () => {
  const days = loadBirths();
  assert.equal(days.length, 7305);
  assert.equal(days[0].date, "1969-01-01");
  assert.equal(days[days.length - 1].date, "1988-12-31");
  for (let i = 1; i < days.length; i++) assert.ok(days[i].date > days[i - 1].date);
  // Thanksgiving 1988: Thursday 24 November; Memorial Day 1988: Monday 30 May; Labor Day 1988: Monday 5 September
  assert.ok(isHoliday(1988, 11, 24) && isHoliday(1988, 11, 25) && !isHoliday(1988, 11, 17));
  assert.ok(isHoliday(1988, 5, 30) && !isHoliday(1988, 5, 23));
  assert.ok(isHoliday(1988, 9, 5) && !isHoliday(1988, 9, 12));
  assert.ok(isHoliday(1975, 7, 4) && isHoliday(1975, 12, 25) && !isHoliday(1975, 7, 5));
  const rows = birthRows(days);
  assert.equal(rows[0].length, 1 + FEATURES.length);
  // 1969-01-01 was a Wednesday (day_of_week 3): its row carries Thursday, the next day
  assert.equal(days[0].weekday, 3);
  assert.deepEqual(rows[0].slice(1, 8), [0, 0, 0, 1, 0, 0, 0]);
  // 1988-12-31 (a Saturday): the next day, 1 January, is a Sunday and a holiday
  assert.deepEqual(rows[rows.length - 1].slice(1, 9), [0, 0, 0, 0, 0, 0, 1, 1]);
  assert.equal(rows[5].length, 11);
});

test("births: main --quick trains a few steps, reports finite numbers, and writes data the forecaster reads", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "rnnkit-ex-births-")), "births.safetensors");
  const r = await main({ quick: true, out, seed: 1 });
  assert.equal(r.example, "births");
  for (const k of ["mape", "baseline", "steps", "seconds"]) assert.ok(Number.isFinite(r[k]), `${k}: ${String(r[k])}`);
  assert.equal(r.forecasts, 365);
  assert.ok(Math.abs((r.baseline as number) - 3.094) < 0.01, `seasonal naive ${String(r.baseline)}`);
  const t = openTask(loadModel(out), out);
  assert.equal(t.task, "forecast");
  const csv = readFileSync(r.testData as string, "utf8").trim().split("\n");
  assert.equal(csv[0], ["date", "births", ...FEATURES].join(","));
  assert.equal(csv.length, 1 + 365 + 28);
});
