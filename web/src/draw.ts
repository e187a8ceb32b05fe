/**
 * Drawing Vega-Lite specs into the page, two ways:
 *  - `drawSvg`: rendered to SVG markup by the charts worker (charts-worker.ts), off the page's
 *    thread; a keyed chart is compiled once and later updates only replace its named dataset.
 *    The loss curve, redrawn while the model trains, goes this way; so does the gradient plot.
 *  - `drawCanvas`: a `vega.View` on the page renders into a canvas. The gate and state heatmaps
 *    go this way: as SVG they would be thousands of nodes.
 */
import { View, parse } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { ChartReply, ChartRequest } from "./charts-worker.js";

const charts = new Worker(new URL("./charts-worker.ts", import.meta.url), { type: "module" });
let nextId = 1;
const pending = new Map<number, (r: ChartReply) => void>();
charts.onmessage = (e: MessageEvent<ChartReply>) => {
  pending.get(e.data.id)?.(e.data);
  pending.delete(e.data.id);
};

// a worker that fails (to load, say) fails every chart waiting on it, which the page then shows
charts.onerror = (e) => {
  for (const [id, done] of pending) done({ id, error: `the charts worker failed: ${e.message}` });
  pending.clear();
};

type Ask = ChartRequest extends infer Q ? Q extends { id: number } ? Omit<Q, "id"> : never : never;

/** Renders `spec` (or, for a chart drawn before under `key`, only its new `data`) as SVG into `el`. */
export async function drawSvg(el: HTMLElement, q: Ask): Promise<void> {
  const id = nextId++;
  const r = await new Promise<ChartReply>((ok) => {
    pending.set(id, ok);
    charts.postMessage({ ...q, id });
  });
  if ("error" in r) throw new Error(r.error);
  el.innerHTML = r.svg;
}

const views = new WeakMap<Element, View>();

/** Renders `spec` into a canvas in `el`, replacing what was drawn there. */
export async function drawCanvas(el: HTMLElement, spec: TopLevelSpec): Promise<void> {
  views.get(el)?.finalize();
  const view = new View(parse(compile(spec).spec), { renderer: "canvas", container: el, hover: false, logLevel: 1 });
  views.set(el, view);
  await view.runAsync();
}
