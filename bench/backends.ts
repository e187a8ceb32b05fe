/**
 * Backends by name, for the benchmark and the parity runner (`--backend NAME`, $RNNKIT_BACKEND).
 */
import type { Backend } from "../src/backend/backend.js";
import { getBackend } from "../src/backend/index.js";
import { JsBackend } from "../src/backend/js.js";

export const backendNames = ["js"] as const;

export async function backendByName(name: string | undefined): Promise<Backend> {
  if (name === undefined || name === "") return getBackend();
  if (name === "js") return new JsBackend();
  throw new Error(`unknown backend ${JSON.stringify(name)}: expected one of ${backendNames.join(", ")}`);
}

/** The backends this machine can run, by name. */
export async function availableBackends(): Promise<string[]> {
  return [...backendNames];
}
