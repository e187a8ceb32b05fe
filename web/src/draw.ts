/**
 * Draws a Vega-Lite spec into an element: vega-lite compiles it to a Vega spec, and a `vega.View`
 * renders that (SVG for small charts, canvas for the big heatmaps, which would be thousands of
 * SVG nodes). The specs come from the library (src/inspect/charts.ts), the same the CLI renders
 * to SVG and PNG files.
 */
import { View, parse } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

const views = new WeakMap<Element, View>();

/** Renders `spec` into `el`, replacing what was drawn there; resolves when it is drawn. */
export async function draw(el: HTMLElement, spec: TopLevelSpec, renderer: "svg" | "canvas" = "svg"): Promise<void> {
  views.get(el)?.finalize();
  const view = new View(parse(compile(spec).spec), { renderer, container: el, hover: false, logLevel: 1 });
  views.set(el, view);
  await view.runAsync();
}

/** Forgets the view drawn into `el` (when the element goes away). */
export function undraw(el: HTMLElement): void {
  views.get(el)?.finalize();
  views.delete(el);
  el.replaceChildren();
}
