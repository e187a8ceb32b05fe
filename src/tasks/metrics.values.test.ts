/**
 * The metrics against independent definitions (issue 10, item 8): published values from
 * scikit-learn's documentation, and, on seeded random data, definitions written differently from
 * metrics.ts (F1 from precision and recall, counts by filtering, edit distance by its recursion).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../rng.js";
import { accuracy, confusionMatrix, editDistance, macroF1, regressionMetrics, sequenceMetrics, tokenAccuracy } from "./metrics.js";

const close = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const pick = <T>(rng: Rng, xs: readonly T[]) => xs[Math.floor(rng.next() * xs.length)];

test("scikit-learn's documented examples: f1_score(average='macro'), confusion_matrix, MAE, MSE, MAPE", () => {
  // sklearn.metrics.f1_score: y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1] -> macro 0.2666...
  const yt = ["0", "1", "2", "0", "1", "2"], yp = ["0", "2", "1", "0", "0", "1"];
  close(macroF1(yp, yt, ["0", "1", "2"]), 0.26666666666666666, "macro-F1");
  // sklearn.metrics.confusion_matrix: y_true = [2, 0, 2, 2, 0, 1], y_pred = [0, 0, 2, 2, 0, 2]
  assert.deepEqual(confusionMatrix(["0", "0", "2", "2", "0", "2"], ["2", "0", "2", "2", "0", "1"], ["0", "1", "2"]), [[2, 0, 0], [0, 0, 1], [1, 0, 2]]);
  // sklearn.metrics.accuracy_score: y_pred = [0, 2, 1, 3], y_true = [0, 1, 2, 3] -> 0.5
  close(accuracy([0, 2, 1, 3], [0, 1, 2, 3]), 0.5, "accuracy");
  // mean_absolute_error / mean_squared_error / mean_absolute_percentage_error:
  // y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8] -> 0.5, 0.375, 0.3273... (a fraction; ours is in %)
  const m = regressionMetrics([2.5, 0.0, 2, 8], [3, -0.5, 2, 7]);
  close(m.mae, 0.5, "mae");
  close(m.rmse, Math.sqrt(0.375), "rmse");
  close(m.mape, 100 * (0.5 / 3 + 1 + 0 + 1 / 7) / 4, "mape");
  assert.ok(Math.abs(m.mape - 32.738) < 1e-3, `mape ${m.mape} vs sklearn's 0.3273...`);
  assert.equal(m.mapeSkipped, 0);
  assert.equal(m.count, 4);
});

test("accuracy, confusion matrix and macro-F1 equal precision/recall definitions on random labels", () => {
  const rng = new Rng(11);
  const labels = ["a", "b", "c", "d"];
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rng.next() * 30);
    // a skewed draw, so that some classes are often absent from the gold or the predictions
    const draw = () => labels[Math.min(3, Math.floor(rng.next() * rng.next() * 5))];
    const gold = Array.from({ length: n }, draw), pred = Array.from({ length: n }, draw);
    close(accuracy(pred, gold), gold.filter((g, i) => g === pred[i]).length / n, "accuracy");
    const m = confusionMatrix(pred, gold, labels);
    labels.forEach((t, i) => labels.forEach((p, j) => assert.equal(m[i][j], gold.filter((g, k) => g === t && pred[k] === p).length, `m[${t}][${p}]`)));
    // F1 = 2PR / (P + R) with P = tp / predicted, R = tp / actual; 0 when undefined (sklearn's zero_division=0)
    const f1 = labels.map((c) => {
      const tp = gold.filter((g, k) => g === c && pred[k] === c).length;
      const predicted = pred.filter((p) => p === c).length, actual = gold.filter((g) => g === c).length;
      const P = predicted ? tp / predicted : 0, R = actual ? tp / actual : 0;
      return P + R > 0 ? (2 * P * R) / (P + R) : 0;
    });
    close(macroF1(pred, gold, labels), f1.reduce((a, b) => a + b, 0) / labels.length, `macro-F1, trial ${trial}`);
  }
  assert.equal(accuracy([], []), 0);
  assert.equal(macroF1([], [], []), 0);
});

test("MAE, RMSE, MAPE and sMAPE equal their formulas on random values with zeros", () => {
  const rng = new Rng(12);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rng.next() * 20);
    const v = () => (rng.next() < 0.2 ? 0 : rng.uniform(-5, 5));
    const gold = Array.from({ length: n }, v), pred = Array.from({ length: n }, v);
    const m = regressionMetrics(pred, gold);
    const err = gold.map((y, i) => y - pred[i]);
    close(m.mae, err.reduce((a, e) => a + Math.abs(e), 0) / n, "mae", 1e-9);
    close(m.rmse, Math.sqrt(err.reduce((a, e) => a + e * e, 0) / n), "rmse", 1e-9);
    const nz = gold.map((y, i) => [y, pred[i]]).filter(([y]) => y !== 0);
    if (nz.length) close(m.mape, nz.reduce((a, [y, p]) => a + Math.abs((y - p) / y), 0) / nz.length * 100, "mape", 1e-6);
    else assert.ok(Number.isNaN(m.mape));
    assert.equal(m.mapeSkipped, n - nz.length);
    const s = gold.map((y, i) => (y === 0 && pred[i] === 0 ? 0 : Math.abs(y - pred[i]) / ((Math.abs(y) + Math.abs(pred[i])) / 2)));
    close(m.smape, (100 * s.reduce((a, b) => a + b, 0)) / n, "smape", 1e-9);
    assert.equal(m.count, n);
  }
  const empty = regressionMetrics([], []);
  assert.ok(Number.isNaN(empty.mae) && Number.isNaN(empty.rmse) && Number.isNaN(empty.smape));
  assert.equal(empty.count, 0);
});

/** Levenshtein distance by its recursive definition (memoised): d(i, j) over the prefixes a[0..i), b[0..j). */
function levenshtein<T>(a: readonly T[], b: readonly T[]): number {
  const memo = new Map<number, number>();
  const d = (i: number, j: number): number => {
    if (i === 0) return j;
    if (j === 0) return i;
    const key = i * 1000 + j;
    if (!memo.has(key)) memo.set(key, Math.min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    return memo.get(key)!;
  };
  return d(a.length, b.length);
}

test("edit distance, token error rate, exact match and token accuracy against their definitions", () => {
  const rng = new Rng(13);
  const word = () => Array.from({ length: Math.floor(rng.next() * 7) }, () => pick(rng, ["a", "b", "c"]));
  for (let trial = 0; trial < 300; trial++) {
    const a = word(), b = word();
    const d = editDistance(a, b);
    assert.equal(d, levenshtein(a, b), `${a.join("")} -> ${b.join("")}`);
    assert.equal(editDistance(b, a), d, "symmetric");
  }
  // the classic pairs: kitten -> sitting 3, flaw -> lawn 2, intention -> execution 5, saturday -> sunday 3
  for (const [x, y, n] of [["kitten", "sitting", 3], ["flaw", "lawn", 2], ["intention", "execution", 5], ["saturday", "sunday", 3]] as const) {
    assert.equal(editDistance([...x], [...y]), n, `${x} -> ${y}`);
  }
  for (let trial = 0; trial < 100; trial++) {
    const k = 1 + Math.floor(rng.next() * 5);
    const ref = Array.from({ length: k }, word);
    const hyp = ref.map((r) => (rng.next() < 0.4 ? [...r] : word()));
    const r = sequenceMetrics(hyp, ref);
    const edits = ref.reduce((s, x, i) => s + levenshtein(hyp[i], x), 0), len = ref.reduce((s, x) => s + x.length, 0);
    if (len) close(r.tokenErrorRate, edits / len, "token error rate");
    else assert.equal(r.tokenErrorRate, edits > 0 ? Infinity : 0);
    close(r.exactMatch, hyp.filter((h, i) => h.join("\u0000") === ref[i].join("\u0000") && h.length === ref[i].length).length / k, "exact match");
    assert.equal(r.count, k);
    // token accuracy on equal-length tag sequences: the hits over all tokens, pooled (not a mean of per-sequence rates)
    const tags = ref.map((x) => x.map((t) => (rng.next() < 0.7 ? t : pick(rng, ["a", "b", "c"]))));
    const flatG = ref.flat(), flatP = tags.flat();
    if (flatG.length) close(tokenAccuracy(tags, ref), flatG.filter((g, i) => g === flatP[i]).length / flatG.length, "token accuracy");
  }
  // pooled, not averaged per sequence: 1/1 and 0/3 is 1/4, not 1/2
  close(tokenAccuracy([["x"], ["y", "y", "y"]], [["x"], ["z", "z", "z"]]), 1 / 4, "pooled token accuracy");
  assert.equal(sequenceMetrics([["a"]], [[]]).tokenErrorRate, Infinity, "edits against empty references");
  assert.equal(sequenceMetrics([[]], [[]]).tokenErrorRate, 0);
  assert.equal(sequenceMetrics([], []).exactMatch, 0);
  assert.equal(tokenAccuracy([], []), 0);
});
