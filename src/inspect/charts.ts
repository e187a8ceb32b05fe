/**
 * Chart specifications as Vega-Lite JSON (https://vega.github.io/vega-lite/docs/): pure functions
 * from the plain results of this folder to a spec, with the data inlined. Nothing here draws:
 * the CLI renders a spec to SVG with vega's headless `View.toSVG()` and to PNG with resvg
 * (src/cli/render.ts), and the playground hands the same spec to vega-embed in the page.
 *
 * Every builder returns a complete top-level spec (schema, title, data, marks), JSON-serialisable.
 */
import type { TopLevelSpec } from "vega-lite";
import type { GradientThroughTime, LayerTrace } from "./inspect.js";
import type { ParameterCounts } from "./parameters.js";

export type ChartSpec = TopLevelSpec;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
/** Sizes of one heatmap cell and of a line chart, in pixels. */
const CELL = 14;
const LINE = { width: 420, height: 240 };

/** Axis labels of the time steps: "t:token" (unique even when a token repeats), or "t". */
function stepLabels(steps: number, tokens?: readonly string[]): string[] {
  return Array.from({ length: steps }, (_, t) => {
    const tok = tokens?.[t];
    return tok === undefined ? String(t) : `${t}:${tok === " " ? "␣" : tok === "\n" ? "⏎" : tok}`;
  });
}

function traceTitle(tr: LayerTrace, what: string): string {
  return `${tr.part} layer ${tr.layer} ${tr.direction} (${tr.cell}): ${what}`;
}

/** A heatmap per named [T][H] matrix, stacked vertically; x = time step (tokens), y = hidden unit. */
function heatmaps(title: string, mats: { name: string; values: number[][]; domain: [number, number] }[], tokens?: readonly string[]): ChartSpec {
  const steps = mats[0]?.values.length ?? 0;
  const labels = stepLabels(steps, tokens);
  const H = mats[0]?.values[0]?.length ?? 0;
  return {
    $schema: SCHEMA,
    title,
    vconcat: mats.map((m) => ({
      title: m.name,
      width: Math.max(120, steps * CELL),
      height: Math.max(40, H * CELL),
      data: { values: m.values.flatMap((row, t) => row.map((value, unit) => ({ step: labels[t], t, unit, value }))) },
      mark: { type: "rect" },
      encoding: {
        x: { field: "step", type: "ordinal", sort: labels, title: "time step", axis: { labelAngle: -60 } },
        y: { field: "unit", type: "ordinal", title: "unit" },
        color: { field: "value", type: "quantitative", scale: { domain: m.domain, scheme: m.domain[0] < 0 ? "redblue" : "viridis", reverse: m.domain[0] < 0 }, title: m.name },
        tooltip: [{ field: "step" }, { field: "unit" }, { field: "value", format: ".4f" }],
      },
    })),
    resolve: { scale: { color: "independent" } },
  } as ChartSpec;
}

/** The gate activations of one layer and direction over time: one heatmap per gate (σ gates in [0, 1], tanh ones in [-1, 1]). */
export function gatesChart(tr: LayerTrace, tokens?: readonly string[]): ChartSpec {
  const tanhGates = new Set(["g", "n"]);
  return heatmaps(traceTitle(tr, "gate activations"), tr.gateNames.map((g) => ({ name: g, values: tr.gates[g], domain: tanhGates.has(g) ? [-1, 1] : [0, 1] })), tokens);
}

/** The hidden state (and the LSTM cell state) of one layer and direction over time. */
export function statesChart(tr: LayerTrace, tokens?: readonly string[]): ChartSpec {
  const mats: { name: string; values: number[][]; domain: [number, number] }[] = [{ name: "h", values: tr.h, domain: [-1, 1] }];
  if (tr.c) {
    const m = Math.max(1, ...tr.c.flat().map(Math.abs));
    mats.push({ name: "c", values: tr.c, domain: [-m, m] });
  }
  return heatmaps(traceTitle(tr, "states"), mats, tokens);
}

/** One line of a gradient-norm chart: a label and the norm at each distance (steps back from the loss). */
export interface NormSeries {
  label: string;
  points: { distance: number; norm: number }[];
}

/**
 * The norms of `gradientThroughTime` as series over the distance from the last step
 * (distance = T-1-t for the forward direction, t for the reverse one, which reads the sequence
 * backwards): one series per layer, direction and state (h, and c for the LSTM).
 */
export function gradientSeries(g: GradientThroughTime, prefix = ""): NormSeries[] {
  const out: NormSeries[] = [];
  for (const l of g.layers) {
    const name = `${prefix}${l.part} l${l.layer} ${l.direction}`;
    const pts = (v: number[]) => v.map((norm, t) => ({ distance: l.direction === "forward" ? v.length - 1 - t : t, norm }));
    out.push({ label: `${name} |dL/dh|`, points: pts(l.dh) });
    if (l.dc) out.push({ label: `${name} |dL/dc|`, points: pts(l.dc) });
  }
  return out;
}

/**
 * Gradient norm against distance, log scale (the vanishing-gradient plot). `facet` (optional)
 * splits the series into side-by-side panels by a second key (e.g. "at init" / "trained").
 */
export function gradientNormChart(series: readonly (NormSeries & { facet?: string })[], title = "gradient norm through time"): ChartSpec {
  const values = series.flatMap((s) => s.points.filter((p) => p.norm > 0 && Number.isFinite(p.norm)).map((p) => ({ series: s.label, facet: s.facet ?? "", distance: p.distance, norm: p.norm })));
  const faceted = series.some((s) => s.facet !== undefined);
  const layer = {
    mark: { type: "line", point: values.length < 400 },
    encoding: {
      x: { field: "distance", type: "quantitative", title: "distance from the loss (steps)" },
      y: { field: "norm", type: "quantitative", scale: { type: "log" }, title: "gradient norm" },
      color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom", columns: 2, labelLimit: 400 } },
      tooltip: [{ field: "series" }, { field: "distance" }, { field: "norm", format: ".3e" }],
    },
  };
  if (!faceted) return { $schema: SCHEMA, title, ...LINE, data: { values }, ...layer } as ChartSpec;
  return {
    $schema: SCHEMA, title, data: { values },
    facet: { column: { field: "facet", type: "nominal", title: null, sort: [...new Set(series.map((s) => s.facet ?? ""))] } },
    spec: { ...LINE, ...layer },
    resolve: { scale: { y: "shared" } },
  } as ChartSpec;
}

/** Attention weights [U][S]: rows are target steps, columns source steps. */
export function attentionChart(weights: readonly (readonly number[])[], sourceTokens?: readonly string[], targetTokens?: readonly string[]): ChartSpec {
  const U = weights.length, S = weights[0]?.length ?? 0;
  const src = stepLabels(S, sourceTokens), tgt = stepLabels(U, targetTokens);
  return {
    $schema: SCHEMA,
    title: "attention weights",
    width: Math.max(120, S * CELL * 1.5),
    height: Math.max(60, U * CELL * 1.5),
    data: { values: weights.flatMap((row, u) => row.map((w, s) => ({ source: src[s], target: tgt[u], weight: w }))) },
    mark: "rect",
    encoding: {
      x: { field: "source", type: "ordinal", sort: src, title: "source step", axis: { labelAngle: -60 } },
      y: { field: "target", type: "ordinal", sort: tgt, title: "target step" },
      color: { field: "weight", type: "quantitative", scale: { domain: [0, 1], scheme: "greys" }, title: "weight" },
      tooltip: [{ field: "source" }, { field: "target" }, { field: "weight", format: ".3f" }],
    },
  } as ChartSpec;
}

/** A table as a chart: one text row per record, columns in the given order. */
export function tableChart(title: string, columns: readonly string[], rows: readonly Record<string, string | number>[]): ChartSpec {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? "").length)));
  let x = 0;
  const xs = widths.map((w) => {
    const at = x;
    x += w * 7.5 + 16;
    return at;
  });
  const cells = [
    ...columns.map((c, k) => ({ row: 0, x: xs[k], text: c, header: true })),
    ...rows.flatMap((r, i) => columns.map((c, k) => ({ row: i + 1, x: xs[k], text: String(r[c] ?? ""), header: false }))),
  ];
  const text = (header: boolean) => ({
    data: { values: cells.filter((v) => v.header === header) },
    mark: { type: "text", align: "left", baseline: "middle", fontWeight: header ? "bold" : "normal" },
    encoding: {
      x: { field: "x", type: "quantitative", axis: null, scale: { domain: [0, x] } },
      y: { field: "row", type: "ordinal", axis: null, scale: { domain: Array.from({ length: rows.length + 1 }, (_, i) => i) } },
      text: { field: "text" },
    },
  });
  return {
    $schema: SCHEMA,
    title,
    width: x,
    height: (rows.length + 1) * 18,
    layer: [text(true), text(false)],
    config: { view: { stroke: null } },
  } as ChartSpec;
}

/** The parameter table of `parameterCounts`: one row per tensor, then one per part and the total. */
export function parameterChart(c: ParameterCounts, title = "parameters"): ChartSpec {
  const rows: Record<string, string | number>[] = c.rows.map((r) => ({ tensor: r.name, shape: `[${r.shape.join(", ")}]`, count: r.count }));
  for (const p of c.parts) rows.push({ tensor: `${p.part}.*`, shape: "", count: p.count });
  rows.push({ tensor: "total", shape: "", count: c.total });
  return tableChart(title, ["tensor", "shape", "count"], rows);
}

/** One line of a training history (`rnnkit train --history`), as `lossChart` reads it. */
export interface HistoryPoint {
  step: number;
  loss?: number;
  /** the validation metric, when it was measured at this step */
  validation?: number;
  metric?: string;
}

/** The loss curve of a training history (and the validation metric on its own axis when there is one). */
export function lossChart(points: readonly HistoryPoint[], title = "training loss"): ChartSpec {
  const train = points.filter((p) => typeof p.loss === "number" && Number.isFinite(p.loss)).map((p) => ({ step: p.step, value: p.loss!, series: "training loss" }));
  const metric = points.find((p) => p.metric)?.metric ?? "validation";
  const val = points.filter((p) => typeof p.validation === "number" && Number.isFinite(p.validation)).map((p) => ({ step: p.step, value: p.validation!, series: `validation ${metric}` }));
  const line = (values: object[], y: string) => ({
    data: { values },
    mark: { type: "line", point: values.length < 60 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step" },
      y: { field: "value", type: "quantitative", title: y, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom", labelLimit: 400 } },
      tooltip: [{ field: "series" }, { field: "step" }, { field: "value", format: ".4f" }],
    },
  });
  const layers = [line(train, "loss")];
  if (val.length) layers.push(line(val, metric));
  return { $schema: SCHEMA, title, ...LINE, layer: layers, resolve: { scale: { y: "independent" } } } as ChartSpec;
}

/** One run of the memory experiment, as `memoryExperiment` reports it. */
export interface MemoryRow {
  cell: string;
  delay: number;
  hidden: number;
  parameters: number;
  accuracy: number;
  /** "hidden" (equal hidden size) or "parameters" (sized to the LSTM's parameter count) */
  equal: string;
}

/**
 * Accuracy against the delay N, per cell: the mean over the runs (seeds) of each configuration as
 * a line, every run as a point; dashed lines for the runs at equal parameter count.
 */
export function memoryAccuracyChart(rows: readonly MemoryRow[], chance?: number): ChartSpec {
  const values = rows.map((r) => ({ ...r, series: `${r.cell} (equal ${r.equal})` }));
  const delays = [...new Set(rows.map((r) => r.delay))].sort((a, b) => a - b);
  const x = { field: "delay", type: "quantitative", scale: { type: "log", domain: [delays[0], delays[delays.length - 1]] }, axis: { values: delays }, title: "delay N (distractor steps)" };
  const y = { type: "quantitative", scale: { domain: [0, 1] }, title: "test accuracy" };
  const layers: object[] = [
    {
      mark: { type: "line" },
      encoding: {
        x, y: { ...y, field: "accuracy", aggregate: "mean" },
        color: { field: "cell", type: "nominal", title: "cell" },
        strokeDash: { field: "equal", type: "nominal", title: "equal", legend: { symbolType: "stroke", symbolStrokeWidth: 2 } },
        detail: { field: "series" },
      },
    },
    {
      mark: { type: "point", filled: true, opacity: 0.7 },
      encoding: {
        x, y: { ...y, field: "accuracy" },
        color: { field: "cell", type: "nominal" },
        tooltip: [{ field: "cell" }, { field: "equal" }, { field: "delay" }, { field: "hidden" }, { field: "parameters" }, { field: "accuracy", format: ".3f" }],
      },
    },
  ];
  if (chance !== undefined) layers.push({ data: { values: [{ chance }] }, mark: { type: "rule", strokeDash: [2, 2], color: "gray" }, encoding: { y: { field: "chance", type: "quantitative" } } });
  return { $schema: SCHEMA, title: "delayed recall: accuracy against delay (line: mean over seeds)", ...LINE, data: { values }, layer: layers } as ChartSpec;
}
