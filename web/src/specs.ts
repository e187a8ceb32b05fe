/**
 * What the page draws, as Vega-Lite specs, from what the worker sends back.
 */
import type { TopLevelSpec } from "vega-lite";
import type { CellCount, GradientTrace, Inspection } from "rnnkit";

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

/** The loss curve's dataset: `update` replaces it as training goes. */
export const LOSS_DATA = "points";

export function lossChart(points: readonly { step: number; loss: number }[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 320, height: 160,
    data: { name: LOSS_DATA, values: binned(points) },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step" },
      y: { field: "loss", type: "quantitative", title: "training loss", scale: { type: "log" } },
    },
  };
}

export interface InspectedInput {
  tokens: string[];
  inspection: Inspection;
}

/** One heatmap per layer, direction and quantity (each gate, h, c): x = input token, y = unit. */
export function heatmapCharts(value: unknown): { title: string; spec: TopLevelSpec }[] {
  const { tokens, inspection } = value as InspectedInput;
  const charts: { title: string; spec: TopLevelSpec }[] = [];
  for (const l of inspection.layers) {
    const quantities: [string, number[][]][] = [...l.gateNames.map((g) => [`gate ${g}`, l.gates[g]] as [string, number[][]]), ["h", l.h]];
    if (l.c) quantities.push(["c", l.c]);
    for (const [name, m] of quantities) {
      const values: { t: number; token: string; unit: number; value: number }[] = [];
      m.forEach((row, t) => row.forEach((v, unit) => values.push({ t, token: `${t}:${tokens[t] ?? ""}`, unit, value: v })));
      charts.push({
        title: `layer ${l.layer} ${l.direction} · ${name}`,
        spec: {
          $schema: "https://vega.github.io/schema/vega-lite/v6.json",
          width: Math.min(640, 14 * m.length), height: Math.min(240, 4 * (m[0]?.length ?? 1)),
          data: { values },
          mark: "rect",
          encoding: {
            x: { field: "token", type: "ordinal", sort: null, title: "input", axis: { labelAngle: 0, labelExpr: "split(datum.value, ':')[1]" } },
            y: { field: "unit", type: "ordinal", title: "unit", axis: null },
            color: { field: "value", type: "quantitative", scale: { scheme: "blueorange", domainMid: 0 } },
          },
        },
      });
    }
  }
  return charts;
}

export interface GradientComparison {
  delay: number;
  series: { cell: string; label: string; trace: GradientTrace }[];
}

export function gradientChart(value: unknown): TopLevelSpec {
  const g = value as GradientComparison;
  // relative to the gradient at the last step, so that models with different losses compare:
  // how much of the gradient reaches t steps back
  const values = g.series.flatMap((s) => {
    const end = s.trace.dh[s.trace.steps - 1];
    return s.trace.dh.map((v, t) => ({ model: s.label, distance: s.trace.steps - 1 - t, norm: end > 0 ? v / end : v }));
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 320, height: 180,
    data: { values },
    mark: { type: "line", point: false },
    encoding: {
      x: { field: "distance", type: "quantitative", title: "steps before the loss", axis: { tickMinStep: 1, format: "d" } },
      y: { field: "norm", type: "quantitative", title: "‖dL/dh_t‖ / ‖dL/dh_T‖", scale: { type: "log" } },
      color: { field: "model", type: "nominal", title: null, legend: { orient: "bottom", direction: "vertical" } },
    },
  };
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
