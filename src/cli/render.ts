/**
 * Chart specs (src/inspect/charts.ts, Vega-Lite) to files: SVG through vega's headless renderer
 * (`View.toSVG()`, no browser, no canvas) and PNG through resvg. Both libraries load on first use
 * only, so that commands which draw nothing never pay for them.
 *
 * Files are never replaced unless `force`: every path is checked before anything is written.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ChartSpec } from "../inspect/charts.js";
import { writeFileAtomic } from "../io/safetensors.js";
import { RnnkitError } from "../tensor.js";

/** PNG pixels per SVG unit: sharp on high-density screens and in READMEs. */
const PNG_SCALE = 2;

/** An output folder: created; every file later written there is first checked by `claimFiles`. */
export function outDir(dir: string | undefined, flag = "--out-dir"): string {
  if (!dir) throw new RnnkitError(`${flag}: expected a folder to write the plots into, got nothing`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new RnnkitError(`${flag}: cannot create the folder ${dir}: ${(e as Error).message}`);
  }
  return dir;
}

/** Refuses (before anything is written) when one of `paths` exists and `force` is not set. */
export function claimFiles(paths: readonly string[], force: boolean | undefined): void {
  if (force) return;
  const there = paths.filter((p) => existsSync(p));
  if (there.length) throw new RnnkitError(`${there.slice(0, 3).join(", ")}${there.length > 3 ? ` and ${there.length - 3} more` : ""} exist: pass --force to replace them, or write elsewhere (nothing was written)`);
}

/** The SVG text of a Vega-Lite spec. */
export async function toSvg(spec: ChartSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG text (system fonts, white background). */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import("@resvg/resvg-js");
  return new Resvg(svg, { fitTo: { mode: "zoom", value: PNG_SCALE }, background: "white", font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" } }).render().asPng();
}

/** `name`.svg and `name`.png in `dir` (claimed by the caller); returns both paths. */
export async function writeChart(dir: string, name: string, spec: ChartSpec): Promise<string[]> {
  const svg = await toSvg(spec);
  const png = await svgToPng(svg);
  const svgPath = join(dir, `${name}.svg`), pngPath = join(dir, `${name}.png`);
  writeFileAtomic(svgPath, new TextEncoder().encode(svg));
  writeFileAtomic(pngPath, png);
  return [svgPath, pngPath];
}

/** A text file in `dir` (claimed by the caller). */
export function writeText(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileAtomic(path, new TextEncoder().encode(text));
  return path;
}
