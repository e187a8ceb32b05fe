/**
 * Selecting a backend: one call. Layers created without a `backend` option use the default: in
 * Node the native backend (the C++ addon built when the package installs) when it loads, else the
 * WebAssembly SIMD backend (with worker threads) where WebAssembly SIMD is available, else the `js`
 * reference backend; a browser starts at wasm and never tries the addon. Falling back from native
 * is said once on stderr, with the reason; `RNNKIT_REQUIRE_NATIVE=1` turns it into an error (CI
 * sets it, so that it cannot go green without the addon). `setBackend(b)` changes the default;
 * `RNNKIT_BACKEND=js|wasm|native` picks it for a whole process, and `RNNKIT_THREADS=N` sets the
 * threads of the wasm and native backends.
 */
import { platform } from "#platform";
import type { Backend } from "./backend.js";
import { JsBackend } from "./js.js";
import { defaults } from "../defaults.js";
import { createWasmBackendSync, wasmSimdSupported } from "./wasm/wasm.js";
import { WASM_SIMD_ENV } from "./wasm/simd.js";
import { NativeBackend, nativeUnavailable } from "./native/native.js";
import { RnnkitError } from "../tensor.js";

let current: Backend | null = null;

/** Whether $RNNKIT_REQUIRE_NATIVE asks for the native backend to be there. */
function nativeRequired(): boolean {
  const v = platform.env("RNNKIT_REQUIRE_NATIVE");
  return v !== undefined && v !== "" && v !== "0";
}

/** The backend new layers use when none is given. */
export function getBackend(): Backend {
  if (!current) {
    const asked = platform.env("RNNKIT_BACKEND");
    if (asked) current = makeBackend(asked);
    else {
      if (platform.name === "node") {
        const why = nativeUnavailable();
        if (why === null) current = makeBackend("native");
        else if (nativeRequired()) throw new RnnkitError(`RNNKIT_REQUIRE_NATIVE is set, but the native backend cannot load: ${why}`);
        else console.warn(`rnnkit: the native backend cannot load (${why}); using the wasm backend`);
      }
      if (!current && !wasmSimdSupported()) current = new JsBackend();
      else if (!current) {
        try {
          current = makeBackend("wasm");
        } catch (e) {
          // a build the user forced (RNNKIT_WASM_SIMD) that cannot run, or a bad name: their error
          if (platform.env(WASM_SIMD_ENV)) throw e;
          // e.g. a browser that refuses any WebAssembly memory: slower, but working, and said once
          console.warn(`rnnkit: the wasm backend could not start (${(e as Error).message}); using the js backend`);
          current = new JsBackend();
        }
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
export const backendNames = ["js", "wasm", "native"] as const;

/** Threads of the wasm backend: $RNNKIT_THREADS, else defaults.wasmThreads capped by the cores. */
function defaultThreads(): number {
  const env = Number(platform.env("RNNKIT_THREADS"));
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(defaults.wasmThreads, platform.cores()));
}

/** Threads of the native backend's pool: $RNNKIT_THREADS, else one per core. */
function nativeThreads(): number {
  const env = Number(platform.env("RNNKIT_THREADS"));
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, platform.cores());
}

function makeBackend(name: string): Backend {
  if (name === "js") return new JsBackend();
  if (name === "wasm") {
    if (!wasmSimdSupported()) throw new RnnkitError("backend wasm: this JavaScript engine has no WebAssembly SIMD; use the js backend");
    return createWasmBackendSync({ threads: defaultThreads() });
  }
  if (name === "native") {
    const why = nativeUnavailable();
    if (why !== null) throw new RnnkitError(`backend native: ${why}; use the wasm backend`);
    return new NativeBackend({ threads: nativeThreads() });
  }
  throw new RnnkitError(`unknown backend ${JSON.stringify(name)}: expected one of ${backendNames.join(", ")}`);
}

/** A new backend by name ("js", "wasm" or "native"), for command-line flags and environment variables. */
export async function backendByName(name: string): Promise<Backend> {
  return makeBackend(name);
}

/** The backends this machine can run, by name. */
export async function availableBackends(): Promise<string[]> {
  return backendNames.filter((n) => (n === "wasm" ? wasmSimdSupported() : n === "native" ? nativeUnavailable() === null : true));
}
