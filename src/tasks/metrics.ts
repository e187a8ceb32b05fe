/**
 * The metrics of every task, each written from its definition (no model inside: they take
 * predictions and gold values), so that each is checked against hand-computed values.
 *
 * Classification: accuracy, macro-F1, the confusion matrix. Regression / forecasting: MAE, RMSE,
 * MAPE, sMAPE. Sequences (tagging, seq2seq): token accuracy, token error rate, exact match.
 */
import { RnnkitError } from "../tensor.js";

function sameLength(where: string, a: ArrayLike<unknown>, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) throw new RnnkitError(`${where}: expected as many predictions as gold values, got ${a.length} predictions and ${b.length} gold values`);
}

/** Fraction of positions where `pred[i] === gold[i]` (0 for no items). */
export function accuracy<T>(pred: readonly T[], gold: readonly T[]): number {
  sameLength("accuracy", pred, gold);
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === gold[i]) hit++;
  return pred.length ? hit / pred.length : 0;
}

/**
 * The confusion matrix over `labels`: `matrix[i][j]` counts the items whose gold label is
 * `labels[i]` (rows = true labels) and whose prediction is `labels[j]`. Items with a label not in
 * `labels` are refused.
 */
export function confusionMatrix(pred: readonly string[], gold: readonly string[], labels: readonly string[]): number[][] {
  sameLength("confusionMatrix", pred, gold);
  const index = new Map(labels.map((l, i) => [l, i]));
  const m = labels.map(() => labels.map(() => 0));
  for (let k = 0; k < pred.length; k++) {
    const i = index.get(gold[k]), j = index.get(pred[k]);
    if (i === undefined || j === undefined) {
      const bad = i === undefined ? gold[k] : pred[k];
      throw new RnnkitError(`confusionMatrix: item ${k}: expected a label among ${labels.join(", ")}, got ${JSON.stringify(bad)}`);
    }
    m[i][j]++;
  }
  return m;
}

/**
 * Macro-F1: the unweighted mean over `labels` of F1 = 2·TP / (2·TP + FP + FN). A class with no
 * predictions and no gold items has an undefined F1 (0/0), which counts as 0 (scikit-learn's
 * `zero_division=0`), so every label of the model weighs the same.
 */
export function macroF1(pred: readonly string[], gold: readonly string[], labels: readonly string[]): number {
  const m = confusionMatrix(pred, gold, labels);
  if (labels.length === 0) return 0;
  let sum = 0;
  for (let c = 0; c < labels.length; c++) {
    const tp = m[c][c];
    let fp = 0, fn = 0;
    for (let k = 0; k < labels.length; k++) {
      if (k === c) continue;
      fp += m[k][c];
      fn += m[c][k];
    }
    const den = 2 * tp + fp + fn;
    sum += den > 0 ? (2 * tp) / den : 0;
  }
  return sum / labels.length;
}

export interface RegressionMetrics {
  /** mean |y - ŷ| */
  mae: number;
  /** sqrt(mean (y - ŷ)²) */
  rmse: number;
  /** mean 100·|y - ŷ| / |y| over the items with y ≠ 0 (NaN if every y is 0) */
  mape: number;
  /** items left out of MAPE because y = 0 */
  mapeSkipped: number;
  /** mean 200·|y - ŷ| / (|y| + |ŷ|), with 0/0 taken as 0 */
  smape: number;
  count: number;
}

/** MAE, RMSE, MAPE (skipping y = 0, counted) and sMAPE of predictions `pred` against `gold`. */
export function regressionMetrics(pred: ArrayLike<number>, gold: ArrayLike<number>): RegressionMetrics {
  sameLength("regressionMetrics", pred, gold);
  const n = pred.length;
  let ae = 0, se = 0, ape = 0, apeN = 0, sape = 0;
  for (let i = 0; i < n; i++) {
    const y = gold[i], p = pred[i], e = Math.abs(y - p);
    ae += e;
    se += e * e;
    if (y !== 0) {
      ape += (100 * e) / Math.abs(y);
      apeN++;
    }
    const den = Math.abs(y) + Math.abs(p);
    sape += den > 0 ? (200 * e) / den : 0;
  }
  return {
    mae: n ? ae / n : NaN, rmse: n ? Math.sqrt(se / n) : NaN, mape: apeN ? ape / apeN : NaN, mapeSkipped: n - apeN,
    smape: n ? sape / n : NaN, count: n,
  };
}

/** Token accuracy: the fraction of tokens, over all sequences, whose predicted tag is the gold one. */
export function tokenAccuracy<T>(pred: readonly (readonly T[])[], gold: readonly (readonly T[])[]): number {
  sameLength("tokenAccuracy", pred, gold);
  let hit = 0, n = 0;
  for (let s = 0; s < gold.length; s++) {
    if (pred[s].length !== gold[s].length) throw new RnnkitError(`tokenAccuracy: sequence ${s}: expected ${gold[s].length} predicted tags (one per token), got ${pred[s].length}`);
    for (let i = 0; i < gold[s].length; i++) if (pred[s][i] === gold[s][i]) hit++;
    n += gold[s].length;
  }
  return n ? hit / n : 0;
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`. */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * Token error rate: summed edit distances between hypothesis and reference, divided by the summed
 * reference lengths (word error rate when the tokens are words); and the exact-match rate.
 */
export function sequenceMetrics<T>(hyp: readonly (readonly T[])[], ref: readonly (readonly T[])[]): { tokenErrorRate: number; exactMatch: number; count: number } {
  sameLength("sequenceMetrics", hyp, ref);
  let edits = 0, len = 0, exact = 0;
  for (let s = 0; s < ref.length; s++) {
    const d = editDistance(hyp[s], ref[s]);
    edits += d;
    len += ref[s].length;
    if (d === 0 && hyp[s].length === ref[s].length) exact++;
  }
  return { tokenErrorRate: len ? edits / len : edits > 0 ? Infinity : 0, exactMatch: ref.length ? exact / ref.length : 0, count: ref.length };
}
