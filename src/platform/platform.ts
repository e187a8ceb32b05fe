/**
 * What rnnkit needs from its host, in one place: Node.js (`node.ts`) or a browser (`browser.ts`).
 * Modules import the host's implementation as `#platform`; package.json's "imports" field picks
 * the file by the "browser" condition (esbuild, Vite, webpack and Node all read it), so no module
 * of the library imports `node:*` itself and the browser bundle contains no Node code.
 */

import type { WasmSimd } from "../backend/wasm/simd.js";
import type Protobuf from "protobufjs";

/** A started worker thread. */
export interface WorkerHandle {
  terminate(): void;
}

export interface Platform {
  readonly name: "node" | "browser";
  /** Logical cores this program may use. */
  cores(): number;
  /** A setting from the environment (RNNKIT_BACKEND, RNNKIT_THREADS); the browser has none. */
  env(name: string): string | undefined;
  /**
   * The compiled kernels of one build (default "simd128": kernels.wasm; "relaxed":
   * kernels-relaxed.wasm, see backend/wasm/simd.ts): read beside the code in Node, inlined in the
   * browser bundle.
   */
  kernelBytes(simd?: WasmSimd): Uint8Array;
  /**
   * Starts a worker thread that runs `main(data)`, where `main` is the source of a plain function
   * (no closure, no imports). `data` may hold a WebAssembly.Module and a shared WebAssembly.Memory.
   * `onError` is called if the worker fails to start or throws outside `main`'s own handlers.
   */
  startWorker(main: string, data: object, onError: () => void): WorkerHandle;
  /**
   * Whether memory can be shared with worker threads here: always in Node; in a browser only when
   * the page is cross-origin isolated (served with COOP `same-origin` and COEP `require-corp`).
   */
  canShareMemory(): boolean;
  /**
   * The native backend's Node-API addon (build/Release/rnnkit_native.node, or $RNNKIT_NATIVE_PATH),
   * loaded once; throws an Error saying why when there is none (never in a browser, which never
   * tries to load it). The caller (src/backend/native/native.ts) types and checks its exports.
   */
  loadNative(): unknown;
  /**
   * protobufjs (the ONNX writer's encoder), loaded on first use in Node, so that `import "rnnkit"`
   * does not pay for it (33 ms of 127 measured); bundled in the browser.
   */
  protobuf(): typeof Protobuf;
  /** The whole file at `path`. */
  readFile(path: string): Uint8Array;
  /** Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part. */
  writeFileAtomic(path: string, bytes: Uint8Array): void;
  /** rnnkit's version (package.json). */
  version(): string;
}
