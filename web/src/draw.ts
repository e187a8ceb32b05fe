/**
 * Draws a Vega-Lite spec into an element: vega-lite compiles it to a Vega spec, and a `vega.View`
 * renders that (SVG for small charts, canvas for the big heatmaps, which would be thousands of
 * SVG nodes).
 *
 * The page's thread must stay responsive while the worker trains, so a chart that changes (the
 * loss curve) is compiled and parsed once: later updates only replace its named dataset and
 * re-render. Compiling, parsing and rendering run as separate tasks.
 */
import { View, parse } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

const views = new WeakMap<Element, { view: View; spec: TopLevelSpec }>();

const nextTask = () => new Promise<void>((ok) => setTimeout(ok, 0));

/** Renders `spec` into `el`, replacing what was drawn there; resolves when it is drawn. */
export async function draw(el: HTMLElement, spec: TopLevelSpec, renderer: "svg" | "canvas" = "svg"): Promise<void> {
  views.get(el)?.view.finalize();
  views.delete(el);
  const vg = compile(spec).spec;
  await nextTask();
  const runtime = parse(vg);
  await nextTask();
  const view = new View(runtime, { renderer, container: el, hover: false, logLevel: 1 });
  views.set(el, { view, spec });
  await view.runAsync();
}

/**
 * Updates the dataset `name` of the chart drawn into `el` with `values`, or draws `spec` (whose
 * data is `{ name, values }`) there if nothing is drawn yet.
 */
export async function update(el: HTMLElement, spec: TopLevelSpec, name: string, values: object[]): Promise<void> {
  const drawn = views.get(el);
  if (!drawn) return draw(el, spec);
  drawn.view.data(name, values);
  await drawn.view.runAsync();
}
