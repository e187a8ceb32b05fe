/**
 * The browser half of `npm run bench:browser`: runs inside a module Web Worker in Chromium (see
 * ../browser.ts), bundled from dist/ with the browser host, and times the same cases as
 * `npm run bench` on the wasm backend with each thread count asked for.
 */
import { defaults } from "../../src/defaults.js";
import { createWasmBackend } from "../../src/backend/wasm/wasm.js";
import { type BenchResult, type CellName, CONFIGS, measure } from "../cases.js";

export interface BrowserBenchOptions {
  configs: string[];
  cells: CellName[];
  modes: ("infer" | "train")[];
  threads: number[];
  budget: number;
}

export async function runBench(o: BrowserBenchOptions): Promise<(BenchResult & { threads: number })[]> {
  const out: (BenchResult & { threads: number })[] = [];
  for (const threads of o.threads) {
    const be = await createWasmBackend({ threads, parallelThreshold: defaults.wasmParallelWork });
    if (be.threads !== threads) throw new Error(`asked for ${threads} threads, got ${be.threads} (is the page cross-origin isolated?)`);
    for (const name of o.configs) {
      const c = CONFIGS.find((k) => k.name === name)!;
      for (const cell of o.cells) for (const mode of o.modes) out.push({ ...measure(c, cell, mode, be, o.budget), threads });
    }
    be.dispose();
  }
  return out;
}
