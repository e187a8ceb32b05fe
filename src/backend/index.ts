/**
 * Selecting a backend: one call. Layers created without a `backend` option use the default.
 */
import type { Backend } from "./backend.js";
import { JsBackend } from "./js.js";

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
