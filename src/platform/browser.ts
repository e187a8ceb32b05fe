/**
 * The browser host (see platform.ts). The kernels, both builds (SIMD128 and relaxed SIMD, about
 * 20 kB each), are inlined into the bundle (esbuild's binary loader, scripts/build-browser.mjs), so
 * loading rnnkit needs no fetch, no asset URL and no
 * bundler plugin, and the backend can start synchronously. Worker threads are Web Workers made
 * from a Blob URL; they share the WebAssembly memory only on a cross-origin isolated page.
 */
import kernels from "../backend/wasm/kernels.wasm";
import kernelsRelaxed from "../backend/wasm/kernels-relaxed.wasm";
import protobuf from "protobufjs";
import type { Platform, WorkerHandle } from "./platform.js";
import type { WasmSimd } from "../backend/wasm/simd.js";

declare const RNNKIT_VERSION: string;

interface WebWorker {
  postMessage(data: unknown): void;
  terminate(): void;
  addEventListener(type: "error", f: () => void): void;
}
interface BrowserGlobals {
  navigator?: { hardwareConcurrency?: number };
  crossOriginIsolated?: boolean;
  Worker: new (url: string) => WebWorker;
  Blob: new (parts: string[], opts: { type: string }) => object;
  URL: { createObjectURL(blob: object): string; revokeObjectURL(url: string): void };
}
const g = globalThis as unknown as BrowserGlobals;

function noFiles(what: string): never {
  throw new Error(
    `${what}: there is no file system in the browser; use encodeSafetensors / modelToBytes to get the bytes, ` +
      `and decodeSafetensors / modelFromBytes to read them`,
  );
}

export const platform: Platform = {
  name: "browser",
  cores: () => Math.max(1, g.navigator?.hardwareConcurrency ?? 1),
  env: () => undefined,
  kernelBytes: (simd: WasmSimd = "simd128") => (simd === "relaxed" ? kernelsRelaxed : kernels),
  startWorker(main: string, data: object, onError: () => void): WorkerHandle {
    const source = `"use strict";\nself.onmessage = (e) => { self.onmessage = null; (${main})(e.data); };\n`;
    const url = g.URL.createObjectURL(new g.Blob([source], { type: "text/javascript" }));
    const worker = new g.Worker(url);
    worker.addEventListener("error", onError);
    worker.postMessage(data);
    return {
      terminate: () => {
        worker.terminate();
        g.URL.revokeObjectURL(url);
      },
    };
  },
  canShareMemory: () => g.crossOriginIsolated === true,
  loadNative: () => {
    throw new Error("a browser runs no native addon");
  },
  protobuf: () => protobuf,
  readFile: () => noFiles("readFile"),
  writeFileAtomic: () => noFiles("writeFileAtomic"),
  version: () => RNNKIT_VERSION,
};
