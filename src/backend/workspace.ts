/**
 * Named, reusable backend arrays: `get(name, n)` returns the same array on every call until a
 * call needs more than it holds, then replaces it (the old one goes back to the backend). Layers,
 * losses and the sequence wrapper keep their scratch memory here, so a training loop allocates
 * nothing once the shapes have been seen.
 */
import type { Backend } from "./backend.js";
import type { Floats } from "../tensor.js";

export class Workspace {
  private readonly bufs = new Map<string, Floats>();
  private readonly idx = new Map<string, Int32Array>();

  constructor(private readonly be: Backend) {}

  /** A float array of at least n elements (contents are whatever was left there). */
  get(name: string, n: number): Floats {
    let b = this.bufs.get(name);
    if (!b || b.length < n) {
      if (b) this.be.free(b);
      b = this.be.alloc(Math.max(n, 1));
      this.bufs.set(name, b);
    }
    return b;
  }

  /** Gives every array back to the backend; the workspace stays usable (it allocates again). */
  dispose(): void {
    for (const b of this.bufs.values()) this.be.free(b);
    for (const b of this.idx.values()) this.be.free(b);
    this.bufs.clear();
    this.idx.clear();
  }

  /** An index array of at least n elements. */
  index(name: string, n: number): Int32Array {
    let b = this.idx.get(name);
    if (!b || b.length < n) {
      if (b) this.be.free(b);
      b = this.be.allocIndex(Math.max(n, 1));
      this.idx.set(name, b);
    }
    return b;
  }
}

const shared = new WeakMap<Backend, Workspace>();

/** One workspace per backend, for stateless functions (the losses). */
export function workspaceOf(be: Backend): Workspace {
  let ws = shared.get(be);
  if (!ws) shared.set(be, (ws = new Workspace(be)));
  return ws;
}
