/**
 * Forecasting a series over a sliding window: the model reads `window` past steps, each
 * [target, covariate 1, ...] scaled per column, and outputs the next `horizon` values of the
 * target at once (direct multi-step forecasting: `outputSize = horizon`, trained on all steps; no
 * feeding back of its own forecasts, so errors do not compound and no future covariates are
 * needed).
 *
 * The model is a many-to-one `SequenceModel` (task "regress", `inputSize = 1 + features`); the
 * file carries the scaler (one feature per column) and a `ForecastInfo`.
 */
import type { Example } from "../data/batches.js";
import { Scaler } from "../data/scaler.js";
import { defaults } from "../defaults.js";
import type { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError } from "../tensor.js";
import { type RegressionMetrics, regressionMetrics } from "./metrics.js";
import type { ForecastInfo } from "./task.js";

/** Input rows: `rows[t] = [target, ...features]` in raw units. */
export type ForecastRows = readonly (readonly number[])[];

/** Builds the rows from a target series and its covariate columns (each as long as the series). */
export function forecastRows(target: readonly number[], covariates: readonly (readonly number[])[] = []): number[][] {
  covariates.forEach((c, k) => {
    if (c.length !== target.length) throw new RnnkitError(`forecast: covariate ${k}: expected ${target.length} values (one per step of the series), got ${c.length}`);
  });
  return target.map((y, t) => [y, ...covariates.map((c) => c[t])]);
}

/** The scaler of the training rows: each column standardised on its own. */
export function fitForecastScaler(rows: ForecastRows): Scaler {
  return Scaler.fit("standard", rows);
}

function scaleRow(scaler: Scaler, row: readonly number[]): number[] {
  return row.map((v, f) => scaler.transform(v, f));
}

/**
 * Training / evaluation windows: for each t with `window` rows before it and `horizon` rows from
 * it, inputs = rows [t - window, t) scaled, target = the scaled target column at [t, t + horizon).
 */
export function forecastWindows(rows: ForecastRows, scaler: Scaler, window: number, horizon: number): Example[] {
  const s = rows.map((r) => scaleRow(scaler, r));
  const out: Example[] = [];
  for (let t = window; t + horizon <= s.length; t++) out.push({ inputs: s.slice(t - window, t), target: s.slice(t, t + horizon).map((r) => r[0]) });
  return out;
}

/** A loaded forecaster: `forecast(rows)` the next horizon values; `oneStepAhead(rows)`; `evaluate(rows)`. */
export class Forecaster {
  readonly task = "forecast" as const;
  constructor(readonly model: SequenceModel, readonly scaler: Scaler, readonly info: ForecastInfo) {}

  get window(): number {
    return this.info.window;
  }

  get horizon(): number {
    return this.info.horizon;
  }

  private check(where: string, rows: ForecastRows): void {
    const F = 1 + this.info.features.length;
    rows.forEach((r, t) => {
      if (!Array.isArray(r) || r.length !== F) throw new RnnkitError(`${where}: row ${t}: expected ${F} numbers [${[this.info.column, ...this.info.features].join(", ")}], got ${Array.isArray(r) ? r.length : typeof r}`);
      r.forEach((v, f) => {
        if (!Number.isFinite(v)) throw new RnnkitError(`${where}: row ${t}, column ${f}: expected a finite number, got ${String(v)}`);
      });
    });
  }

  /** Rows given as a bare series are [target] rows (a model without covariates). */
  private rowsOf(input: ForecastRows | readonly number[]): ForecastRows {
    return input.length > 0 && typeof input[0] === "number" ? (input as readonly number[]).map((v) => [v]) : (input as ForecastRows);
  }

  /** The horizon forecasts (raw units) after each window of scaled inputs. */
  private run(windows: readonly (readonly (readonly number[])[])[]): number[][] {
    const out: number[][] = [];
    const F = 1 + this.info.features.length, H = this.info.horizon, T = this.info.window;
    this.model.eval();
    for (let i = 0; i < windows.length; i += defaults.predictBatch) {
      const part = windows.slice(i, i + defaults.predictBatch);
      const B = part.length;
      const inputs = new Float32Array(T * B * F);
      part.forEach((w, b) => w.forEach((row, t) => row.forEach((v, f) => (inputs[(t * B + b) * F + f] = v))));
      const r = this.model.forward({ T, B, lengths: new Array<number>(B).fill(T), inputs });
      for (let b = 0; b < B; b++) out.push(Array.from({ length: H }, (_, k) => this.scaler.inverse(r.logits.data[b * H + k], 0)));
    }
    return out;
  }

  /** The next `horizon` values of the target after the last row (needs at least `window` rows). */
  forecast(input: ForecastRows | readonly number[]): number[] {
    const rows = this.rowsOf(input);
    this.check("Forecaster.forecast", rows);
    if (rows.length < this.info.window) throw new RnnkitError(`Forecaster.forecast: expected at least ${this.info.window} rows (the model's window), got ${rows.length}`);
    return this.run([rows.slice(rows.length - this.info.window).map((r) => scaleRow(this.scaler, r))])[0];
  }

  /** For each row t, the one-step-ahead forecast from the rows before it (null where fewer than `window`). */
  oneStepAhead(input: ForecastRows | readonly number[]): (number | null)[] {
    const rows = this.rowsOf(input);
    this.check("Forecaster.oneStepAhead", rows);
    const s = rows.map((r) => scaleRow(this.scaler, r));
    const W = this.info.window;
    const windows: number[][][] = [];
    for (let t = W; t < s.length; t++) windows.push(s.slice(t - W, t));
    const f = this.run(windows);
    return rows.map((_, t) => (t < W ? null : f[t - W][0]));
  }

  /**
   * MAE, RMSE, MAPE and sMAPE (raw units) over every window with a full horizon after it, all
   * horizon steps pooled.
   */
  evaluate(input: ForecastRows | readonly number[]): RegressionMetrics {
    const rows = this.rowsOf(input);
    this.check("Forecaster.evaluate", rows);
    const ex = forecastWindows(rows, this.scaler, this.info.window, this.info.horizon);
    if (ex.length === 0) throw new RnnkitError(`Forecaster.evaluate: expected at least ${this.info.window + this.info.horizon} rows (window ${this.info.window} + horizon ${this.info.horizon}), got ${rows.length}`);
    return forecastMetrics(this, ex);
  }

  /** Forecasts of scaled examples, in raw units. */
  predictExamples(examples: readonly Example[]): number[][] {
    return this.run(examples.map((e) => e.inputs!));
  }
}

/** The metrics of scaled examples (from `forecastWindows`), in raw units. */
export function forecastMetrics(f: Forecaster, examples: readonly Example[]): RegressionMetrics {
  const pred = f.predictExamples(examples).flat();
  const gold = examples.flatMap((e) => (e.target as number[]).map((v) => f.scaler.inverse(v, 0)));
  return regressionMetrics(pred, gold);
}
