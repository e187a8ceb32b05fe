/**
 * Selecting a backend: one call. Layers created without a `backend` option use the default:
 * the WebAssembly SIMD backend (with worker threads) where WebAssembly SIMD is available, else
 * the `js` reference backend. `setBackend(b)` changes it; `RNNKIT_BACKEND=js|wasm` picks it for a
 * whole process, and `RNNKIT_THREADS=N` sets the wasm backend's threads.
 */
import { platform } from "#platform";
import type { Backend } from "./backend.js";
import { JsBackend } from "./js.js";
import { defaults } from "../defaults.js";
import { createWasmBackendSync, wasmSimdSupported } from "./wasm/wasm.js";
import { RnnkitError } from "../tensor.js";

let current: Backend | null = null;

/** The backend new layers use when none is given. */
export function getBackend(): Backend {
  if (!current) {
    const asked = platform.env("RNNKIT_BACKEND");
    if (asked) current = makeBackend(asked);
    else if (!wasmSimdSupported()) current = new JsBackend();
    else {
      try {
        current = makeBackend("wasm");
      } catch (e) {
        // e.g. a browser that refuses any WebAssembly memory: slower, but working, and said once
        console.warn(`rnnkit: the wasm backend could not start (${(e as Error).message}); using the js backend`);
        current = new JsBackend();
      }
    }
  }
  return current;
}

/** Makes `backend` the default for layers created from now on. */
export function setBackend(backend: Backend): void {
  current = backend;
}

/** The names `backendByName` knows. */
export const backendNames = ["js", "wasm"] as const;

/** Threads of the wasm backend: $RNNKIT_THREADS, else defaults.wasmThreads capped by the cores. */
function defaultThreads(): number {
  const env = Number(platform.env("RNNKIT_THREADS"));
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(defaults.wasmThreads, platform.cores()));
}

function makeBackend(name: string): Backend {
  if (name === "js") return new JsBackend();
  if (name === "wasm") {
    if (!wasmSimdSupported()) throw new RnnkitError("backend wasm: this JavaScript engine has no WebAssembly SIMD; use the js backend");
    return createWasmBackendSync({ threads: defaultThreads() });
  }
  throw new RnnkitError(`unknown backend ${JSON.stringify(name)}: expected one of ${backendNames.join(", ")}`);
}

/** A new backend by name ("js" or "wasm"), for command-line flags and environment variables. */
export async function backendByName(name: string): Promise<Backend> {
  return makeBackend(name);
}

/** The backends this machine can run, by name. */
export async function availableBackends(): Promise<string[]> {
  return backendNames.filter((n) => n !== "wasm" || wasmSimdSupported());
}
