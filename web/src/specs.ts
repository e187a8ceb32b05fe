/**
 * What the page draws. The charts are the library's Vega-Lite specs (src/inspect/charts.ts, the
 * same the CLI renders to SVG and PNG: `rnnkit inspect`, `rnnkit plot`), sized here to the page.
 */
import {
  type CellCount, type ChartSpec, type Inspection, type NormSeries, gatesChart, gradientNormChart, lossChart, statesChart,
} from "rnnkit";

/** At most `n` points: the mean loss of equal runs of steps (a curve of 10 000 steps stays light to draw). */
export function binned(points: readonly { step: number; loss: number }[], n = 300): { step: number; loss: number }[] {
  if (points.length <= n) return [...points];
  const out: { step: number; loss: number }[] = [];
  const per = points.length / n;
  for (let k = 0; k < n; k++) {
    const from = Math.floor(k * per), to = Math.floor((k + 1) * per);
    let s = 0;
    for (let i = from; i < to; i++) s += points[i].loss;
    out.push({ step: points[to - 1].step, loss: s / (to - from) });
  }
  return out;
}

type Sized = { width?: number; height?: number };
type Layered = ChartSpec & Sized & { layer: { data: { name?: string; values: object[] }; mark: { point?: boolean } }[] };

/** The loss curve's dataset: `update` (draw.ts) replaces it as training goes, without compiling the spec again. */
export const LOSS_DATA = "loss";

/** `lossChart` of the binned steps, `width` px wide, its training-loss data named LOSS_DATA; and that data. */
export function lossSpec(points: readonly { step: number; loss: number }[], width: number): { spec: ChartSpec; values: object[] } {
  const spec = lossChart(binned(points), "training loss") as Layered;
  spec.width = width;
  spec.height = Math.round(width * 0.5);
  spec.layer[0].data.name = LOSS_DATA;
  // compiled once and then fed more and more steps: a line without a dot per step
  spec.layer[0].mark.point = false;
  return { spec, values: spec.layer[0].data.values };
}

export interface InspectedInput {
  tokens: string[];
  inspection: Inspection;
}

type Heatmap = Sized & { encoding?: { y?: { axis?: object | null } } };

/**
 * Each heatmap of a vconcat at most `width` x `height` px (the library's are 14 px per step and
 * unit); where the units no longer fit a label each, the unit axis keeps only its title.
 */
function fit(spec: ChartSpec, width: number, height: number): ChartSpec {
  for (const v of (spec as { vconcat?: Heatmap[] }).vconcat ?? []) {
    if (v.width !== undefined) v.width = Math.min(v.width, width);
    if (v.height !== undefined && v.height > height) {
      v.height = height;
      if (v.encoding?.y) v.encoding.y.axis = { labels: false, ticks: false };
    }
  }
  return spec;
}

/** Per layer and direction: the gates chart (not for a plain RNN, which has none) and the states chart. */
export function heatmapCharts(value: unknown, width: number): { title: string; spec: ChartSpec }[] {
  const { tokens, inspection } = value as InspectedInput;
  const charts: { title: string; spec: ChartSpec }[] = [];
  for (const l of inspection.layers) {
    const name = `layer ${l.layer} ${l.direction}`;
    if (l.gateNames.length > 0) charts.push({ title: `${name}: gates ${l.gateNames.join(", ")}`, spec: fit(gatesChart(l, tokens), width, 120) });
    charts.push({ title: `${name}: ${l.c ? "h and c" : "h"}`, spec: fit(statesChart(l, tokens), width, 120) });
  }
  return charts;
}

export interface GradientComparison {
  delay: number;
  series: (NormSeries & { facet: string })[];
  notes: string[];
}

/** The gradient-norm chart of the comparison: panels at initialisation and trained, a line per cell. */
export function gradientSpec(value: unknown, width: number): { spec: ChartSpec; notes: string[] } {
  const g = value as GradientComparison;
  const spec = gradientNormChart(g.series, `‖dL/dh_t‖ relative to the last step, N = ${g.delay}`) as ChartSpec & { spec?: Sized } & Sized;
  const panels = new Set(g.series.map((s) => s.facet)).size;
  const w = Math.max(140, Math.floor((width - 40 * panels) / panels));
  if (spec.spec) {
    spec.spec.width = w;
    spec.spec.height = 180;
  } else {
    spec.width = w;
    spec.height = 180;
  }
  return { spec, notes: g.notes };
}

/** The parameter counts of RNN, LSTM and GRU at the chosen sizes, as an HTML table. */
export function parameterTableHtml(value: unknown): string {
  const rows = value as CellCount[];
  const f = (n: number) => n.toLocaleString("en");
  const body = rows.map((r) =>
    `<tr><td>${r.cell.toUpperCase()}</td><td>${r.gates}</td><td>${f(r.recurrent.inputWeights)}</td><td>${f(r.recurrent.recurrentWeights)}</td>` +
    `<td>${(100 * r.recurrentVsLstm).toFixed(0)}%</td><td>${f(r.recurrent.biases)}</td><td>${f(r.total)}</td></tr>`).join("");
  return `<table><thead><tr><th>cell</th><th>gates</th><th>W_ih</th><th>W_hh</th><th>W_hh vs LSTM</th><th>biases</th><th>model total</th></tr></thead><tbody>${body}</tbody></table>`;
}
