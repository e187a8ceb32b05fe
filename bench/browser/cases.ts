/**
 * The browser half of `npm run bench:browser`: runs inside a module Web Worker in Chromium (see
 * ../browser.ts), bundled from dist/ with the browser host. It keeps one wasm backend per thread
 * count and one instance per case, so a case stays warm between the rounds that alternate with
 * Node, and times a case when asked (bench/cases.ts measure()).
 */
import { createWasmBackend, type WasmBackend } from "../../src/backend/wasm/wasm.js";
import { type CaseKey, CaseCache } from "../cases.js";

const backends = new Map<number, WasmBackend>();
const cases = new CaseCache();

/** Times one case on the backend with `threads` threads (made on first use). */
export async function runCase(k: CaseKey & { threads: number; budget: number }) {
  let be = backends.get(k.threads);
  if (!be) {
    be = await createWasmBackend({ threads: k.threads });
    if (be.threads !== k.threads) throw new Error(`asked for ${k.threads} threads, got ${be.threads} (is the page cross-origin isolated?)`);
    backends.set(k.threads, be);
  }
  return cases.measure(k, be, k.budget);
}
