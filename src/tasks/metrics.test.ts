/** Every metric against values computed by hand (the arithmetic is in the comments). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { accuracy, confusionMatrix, editDistance, macroF1, regressionMetrics, sequenceMetrics, tokenAccuracy } from "./metrics.js";

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test("accuracy, confusion matrix (rows = true labels) and macro-F1", () => {
  const gold = ["a", "a", "b", "b", "b", "c"];
  const pred = ["a", "b", "b", "b", "a", "b"];
  close(accuracy(pred, gold), 3 / 6, "accuracy");
  assert.deepEqual(confusionMatrix(pred, gold, ["a", "b", "c"]), [
    [1, 1, 0],
    [1, 2, 0],
    [0, 1, 0],
  ]);
  // a: tp 1 fp 1 fn 1 -> 2/4; b: tp 2 fp 2 fn 1 -> 4/7; c: tp 0 fp 0 fn 1 -> 0
  close(macroF1(pred, gold, ["a", "b", "c"]), (0.5 + 4 / 7 + 0) / 3, "macro-F1");
  // d has no gold and no predictions: F1 0/0 counts as 0, so it lowers the mean
  close(macroF1(pred, gold, ["a", "b", "c", "d"]), (0.5 + 4 / 7) / 4, "macro-F1 with an absent class");
  close(macroF1(["x", "y"], ["x", "y"], ["x", "y"]), 1, "perfect");
  assert.throws(() => confusionMatrix(["z"], ["a"], ["a"]), /expected a label among a, got "z"/);
  assert.throws(() => accuracy(["a"], []), /1 predictions and 0 gold/);
});

test("MAE, RMSE, MAPE skipping y = 0, sMAPE with 0/0 = 0", () => {
  const gold = [2, 0, 4, 0];
  const pred = [1, 1, 5, 0];
  const m = regressionMetrics(pred, gold);
  close(m.mae, (1 + 1 + 1 + 0) / 4, "mae");
  close(m.rmse, Math.sqrt(3 / 4), "rmse");
  // only y = 2 and y = 4 count: (50 + 25) / 2
  close(m.mape, 37.5, "mape");
  assert.equal(m.mapeSkipped, 2);
  // 200·1/3, 200·1/1, 200·1/9, 0 (0/0)
  close(m.smape, (200 / 3 + 200 + 200 / 9 + 0) / 4, "smape");
  assert.equal(m.count, 4);
  assert.ok(Number.isNaN(regressionMetrics([1], [0]).mape), "MAPE of only zeros is undefined");
});

test("token accuracy, edit distance, token error rate and exact match", () => {
  close(tokenAccuracy([["N", "V"], ["D", "N", "N"]], [["N", "N"], ["D", "N", "V"]]), 3 / 5, "token accuracy");
  assert.throws(() => tokenAccuracy([["N"]], [["N", "V"]]), /sequence 0: expected 2 predicted tags/);
  assert.equal(editDistance([..."kitten"], [..."sitting"]), 3);
  assert.equal(editDistance([], ["a", "b"]), 2);
  assert.equal(editDistance(["a", "b"], []), 2);
  // edits: 1 (substitution) + 0 + 2 (two deletions from the hypothesis); reference tokens 3 + 2 + 1
  const r = sequenceMetrics([["a", "x", "c"], ["d", "e"], ["f", "g", "h"]], [["a", "b", "c"], ["d", "e"], ["f"]]);
  close(r.tokenErrorRate, 3 / 6, "token error rate");
  close(r.exactMatch, 1 / 3, "exact match");
});
