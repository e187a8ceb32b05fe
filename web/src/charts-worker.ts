/**
 * The page's SVG charts are rendered here, off the page's thread: vega-lite compiles a spec, a
 * headless `vega.View` runs it and writes SVG (`View.toSVG()`, as the CLI does in Node), and the
 * page only puts the markup in place. A chart with a `key` keeps its view, so that an update (the
 * loss curve, every 750 ms while training) only replaces the named dataset and re-renders.
 *
 * Why not draw on the page: vega's first renders of a chart cost 60-200 ms of the page's thread
 * (measured in Chromium on a loaded 2-core machine), enough to make the page stutter while it
 * trains; here they cost nothing there.
 */
import { View, parse } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type ChartRequest =
  | { id: number; key?: string; spec: TopLevelSpec }
  | { id: number; key: string; spec: TopLevelSpec; data: { name: string; values: object[] } };
export type ChartReply = { id: number; svg: string } | { id: number; error: string };

const scope = self as unknown as { postMessage(m: ChartReply): void; onmessage: ((e: MessageEvent<ChartRequest>) => void) | null };
const views = new Map<string, View>();

async function render(q: ChartRequest): Promise<string> {
  const kept = q.key !== undefined ? views.get(q.key) : undefined;
  if (kept && "data" in q) {
    kept.data(q.data.name, q.data.values);
    await kept.runAsync();
    return kept.toSVG();
  }
  kept?.finalize();
  const view = new View(parse(compile(q.spec).spec), { renderer: "none", logLevel: 1 });
  if (q.key !== undefined) views.set(q.key, view);
  await view.runAsync();
  const svg = await view.toSVG();
  if (q.key === undefined) view.finalize();
  return svg;
}

// one request at a time, in order: an update never overtakes the chart it updates
let chain: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  const q = e.data;
  chain = chain.then(async () => {
    try {
      scope.postMessage({ id: q.id, svg: await render(q) });
    } catch (err) {
      scope.postMessage({ id: q.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
};
