/**
 * Backends by name, for the benchmark and the parity runner (`--backend NAME`, $RNNKIT_BACKEND).
 */
import type { Backend } from "../src/backend/backend.js";
import { availableBackends, backendByName as byName, backendNames, getBackend } from "../src/backend/index.js";

export { availableBackends, backendNames };

/** A backend by name; the library default when no name is given. */
export async function backendByName(name: string | undefined): Promise<Backend> {
  if (name === undefined || name === "") return getBackend();
  return byName(name);
}
