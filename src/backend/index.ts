/**
 * Selecting a backend: one call. Layers created without a `backend` option use the default.
 */
import type { Backend } from "./backend.js";
import { JsBackend } from "./js.js";
import { RnnkitError } from "../tensor.js";

let current: Backend | null = null;

/** The backend new layers use when none is given. */
export function getBackend(): Backend {
  if (!current) current = new JsBackend();
  return current;
}

/** Makes `backend` the default for layers created from now on. */
export function setBackend(backend: Backend): void {
  current = backend;
}

/** The names `backendByName` knows. */
export const backendNames = ["js"] as const;

/** A backend by name ("js"), for command-line flags and environment variables. */
export async function backendByName(name: string): Promise<Backend> {
  if (name === "js") return new JsBackend();
  throw new RnnkitError(`unknown backend ${JSON.stringify(name)}: expected one of ${backendNames.join(", ")}`);
}

/** The backends this machine can run, by name. */
export async function availableBackends(): Promise<string[]> {
  return [...backendNames];
}
