/**
 * Next-day market move: the S&P 500 index, daily 2000-2020 (`vega-datasets` file
 * `data/sp500-2000.csv`, read from the package's folder (common.ts `datasetFile`), never its
 * network API). A GRU
 * forecaster of the next day's log return, scored by RMSE over the last 20% of days against
 * predicting zero (no move).
 *
 * An honest example: daily index returns are close to unpredictable from their own past (the
 * weak form of the efficient-market hypothesis), so "zero" is a strong baseline and the model is
 * expected to match it, not to beat it by much. The report also gives the direction hit rate
 * (sign of forecast vs sign of the move, on days the forecast is not exactly zero).
 *
 * Each row t is [log return r_t = ln(close_t / close_{t-1}), log range ln(high_t / low_t) (the
 * day's volatility), log volume change ln(volume_t / volume_{t-1})]; the forecaster reads rows
 * [t - window, t) and forecasts r_t.
 *
 * `node dist/examples/sp500.js [--quick] [--steps N] [--time-budget S] [--out FILE] [--seed N]`
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { saveModel } from "../src/io/model-file.js";
import { SequenceModel } from "../src/models/sequence-model.js";
import { Forecaster, fitForecastScaler, forecastWindows } from "../src/tasks/forecast.js";
import { regressionMetrics } from "../src/tasks/metrics.js";
import type { ForecastInfo } from "../src/tasks/task.js";
import { RnnkitError } from "../src/tensor.js";
import { type ExampleArgs, datasetFile, isMain, parseArgs, report, run } from "./common.js";
import { plan, round, trainSteps } from "./lib-train.js";

export interface Quote {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** The daily quotes, checked: dates strictly increasing, prices and volumes positive. */
export function loadSp500(): Quote[] {
  const path = datasetFile("vega-datasets", "data/sp500-2000.csv");
  const lines = readFileSync(path, "utf8").trim().split(/\r?\n/);
  const header = lines[0].split(",");
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new RnnkitError(`${path}: expected a column ${name}, got ${header.join(", ")}`);
    return i;
  };
  const [d, o, h, l, c, v] = ["date", "open", "high", "low", "close", "volume"].map(col);
  const quotes = lines.slice(1).map((line, i) => {
    const f = line.split(",");
    const q = { date: f[d], open: Number(f[o]), high: Number(f[h]), low: Number(f[l]), close: Number(f[c]), volume: Number(f[v]) };
    if (![q.open, q.high, q.low, q.close, q.volume].every((x) => Number.isFinite(x) && x > 0)) throw new RnnkitError(`${path}:${i + 2}: expected positive numbers, got ${line}`);
    return q;
  });
  for (let i = 1; i < quotes.length; i++) {
    if (!(quotes[i].date > quotes[i - 1].date)) throw new RnnkitError(`${path}: dates out of order at ${quotes[i].date} after ${quotes[i - 1].date}`);
  }
  return quotes;
}

export const FEATURES = ["log_range", "log_volume_change"];

/** Row t (from the second quote on): [log return, log range, log volume change]; `dates[t]` its date. */
export function returnRows(quotes: readonly Quote[]): { rows: number[][]; dates: string[] } {
  const rows: number[][] = [], dates: string[] = [];
  for (let t = 1; t < quotes.length; t++) {
    const q = quotes[t], p = quotes[t - 1];
    rows.push([Math.log(q.close / p.close), Math.log(q.high / q.low), Math.log(q.volume / p.volume)]);
    dates.push(q.date);
  }
  return { rows, dates };
}

const TEST_FRACTION = 0.2;
const WINDOW = 20;

export async function main(args: ExampleArgs): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  let { rows, dates } = returnRows(loadSp500());
  if (args.quick) [rows, dates] = [rows.slice(-800), dates.slice(-800)];
  const cut = rows.length - Math.round(rows.length * TEST_FRACTION);
  process.stderr.write(`sp500: ${rows.length} daily returns ${dates[0]} .. ${dates[dates.length - 1]}; test: the last ${rows.length - cut} (from ${dates[cut]})\n`);
  const gold = rows.slice(cut).map((r) => r[0]);
  const zero = regressionMetrics(gold.map(() => 0), gold);

  const scaler = fitForecastScaler(rows.slice(0, cut));
  const train = forecastWindows(rows.slice(0, cut), scaler, WINDOW, 1);
  const info: ForecastInfo = { task: "forecast", column: "log_return", features: FEATURES, window: WINDOW, horizon: 1 };
  const H = 32;
  // small and briefly trained: there is little signal, and a bigger or longer-trained model fits
  // the noise of the training years
  const model = new SequenceModel({ task: "regress", cell: "gru", inputSize: 1 + FEATURES.length, hiddenSize: H, outputSize: 1, pooling: "last", seed: args.seed });
  const p = plan(args, { nTrain: train.length, batchSize: 64, epochs: 20, lr: 1e-3, warmupSteps: 20 });
  process.stderr.write(`sp500: GRU ${H}, window ${WINDOW} days x ${1 + FEATURES.length} columns, ${train.length} training windows: ${p.steps} steps of ${p.batchSize}\n`);
  const r = await trainSteps(model, train, p, args.seed);

  const forecaster = new Forecaster(model, scaler, info);
  const pred = forecaster.oneStepAhead(rows.slice(cut - WINDOW)).slice(WINDOW) as number[];
  const m = regressionMetrics(pred, gold);
  let hits = 0, called = 0;
  pred.forEach((v, i) => {
    if (v !== 0 && gold[i] !== 0) {
      called++;
      if (Math.sign(v) === Math.sign(gold[i])) hits++;
    }
  });
  const upDays = gold.filter((g) => g > 0).length / gold.length;
  saveModel(args.out, model, { scaler, info });
  const testFile = join(dirname(args.out), "sp500-test.csv");
  const header = ["date", "log_return", ...FEATURES];
  writeFileSync(testFile, [header.join(","), ...rows.slice(cut - WINDOW).map((row, i) => [dates[cut - WINDOW + i], ...row].join(","))].join("\n") + "\n");
  const results = [
    { metric: "RMSE of the next-day log return", value: m.rmse, baseline: zero.rmse, baselineName: "predicting zero", lowerIsBetter: true },
    { metric: "direction hit rate", value: called ? hits / called : NaN, baseline: upDays, baselineName: "always up (the share of up days)" },
  ];
  const extra = {
    rmse: round(m.rmse, 8), baseline: round(zero.rmse, 8), mae: round(m.mae, 8), zeroMae: round(zero.mae, 8), directionHitRate: round(called ? hits / called : NaN, 4),
    upDays: round(upDays, 4), forecastStd: round(Math.sqrt(pred.reduce((s, v) => s + v * v, 0) / pred.length - (pred.reduce((s, v) => s + v, 0) / pred.length) ** 2), 8),
    forecasts: pred.length, trainWindows: train.length, steps: r.steps, plannedSteps: p.steps, stoppedBy: r.stoppedBy,
    trainSeconds: round(r.seconds, 1), seconds: round((Date.now() - t0) / 1000, 1), model: args.out, testData: testFile,
  };
  report("sp500", results, extra);
  return { example: "sp500", results, ...extra };
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs("sp500"))));
