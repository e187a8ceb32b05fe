/**
 * The parameter bookkeeping every non-recurrent layer shares: PyTorch-named parameters with
 * gradients in backend memory, zeroGrad, stateDict / loadStateDict with checks, and reusable
 * workspaces.
 */
import type { Backend } from "../backend/backend.js";
import { Workspace } from "../backend/workspace.js";
import { type Floats, RnnkitError, type Tensor, checkFinite, describe, formatShape, sizeOf } from "../tensor.js";
import type { Module, Parameter, WeightLike } from "./module.js";

export class ParamSet implements Module {
  protected readonly params: Parameter[] = [];
  /** forward/backward buffers, reused across calls */
  protected readonly ws: Workspace;
  private disposed = false;

  constructor(protected readonly where: string, readonly be: Backend) {
    this.ws = new Workspace(be);
  }

  /** Throws once the module is disposed. */
  protected live(): void {
    if (this.disposed) throw new RnnkitError(`${this.where}: used after dispose()`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    freeParameters(this.be, this.params);
    this.ws.dispose();
  }

  /** Registers a parameter initialised by `init(i)`; returns its live data. */
  protected add(name: string, shape: number[], init: (i: number) => number): Floats {
    const n = sizeOf(shape);
    const value = this.be.alloc(n);
    for (let i = 0; i < n; i++) value[i] = init(i);
    this.params.push({ name, value: { shape, data: value }, grad: { shape: [...shape], data: this.be.alloc(n) } });
    return value;
  }

  protected grad(name: string): Floats {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new Error(`${this.where}: no parameter ${name}`);
    return p.grad.data;
  }

  parameters(): Parameter[] {
    this.live();
    return this.params.slice();
  }

  zeroGrad(): void {
    this.live();
    for (const p of this.params) this.be.zero(p.grad.data.length, p.grad.data, 0);
  }

  stateDict(): Record<string, Tensor> {
    this.live();
    const out: Record<string, Tensor> = {};
    for (const p of this.params) out[p.name] = { shape: [...p.value.shape], data: p.value.data.slice() };
    return out;
  }

  loadStateDict(dict: Record<string, WeightLike>): void {
    this.live();
    loadInto(`${this.where}.loadStateDict`, this.params, dict);
  }
}

/** Gives the values and gradients of `params` back to `be` and empties the list. */
export function freeParameters(be: Backend, params: Parameter[]): void {
  for (const p of params) {
    be.free(p.value.data);
    be.free(p.grad.data);
  }
  params.length = 0;
}

/**
 * Checks a whole state dict against `params` (names, shapes, finiteness) and only then copies
 * it in: a failed load leaves the model as it was.
 */
export function loadInto(where: string, params: readonly Parameter[], dict: Record<string, WeightLike>): void {
  if (dict === null || typeof dict !== "object") throw new RnnkitError(`${where}: expected an object of weights by name, got ${describe(dict)}`);
  const names = new Set(params.map((p) => p.name));
  const missing = params.filter((p) => !(p.name in dict)).map((p) => p.name);
  const extra = Object.keys(dict).filter((n) => !names.has(n));
  if (missing.length || extra.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.join(", ")}`);
    if (extra.length) parts.push(`unexpected ${extra.join(", ")}`);
    throw new RnnkitError(`${where}: expected exactly [${[...names].join(", ")}]; ${parts.join("; ")}`);
  }
  const checked: [Parameter, ArrayLike<number>][] = [];
  for (const p of params) {
    const w = dict[p.name];
    let data: ArrayLike<number>;
    if (w !== null && typeof w === "object" && "shape" in w && "data" in w && !ArrayBuffer.isView(w)) {
      const t = w as { shape: readonly number[]; data: ArrayLike<number> };
      if (!Array.isArray(t.shape) || t.shape.length !== p.value.shape.length || t.shape.some((d, i) => d !== p.value.shape[i])) {
        throw new RnnkitError(`${where}: ${p.name}: expected shape ${formatShape(p.value.shape)}, got ${Array.isArray(t.shape) ? formatShape(t.shape) : describe(t.shape)}`);
      }
      data = t.data;
    } else data = w as ArrayLike<number>;
    if (data === null || typeof data !== "object" || typeof data.length !== "number") {
      throw new RnnkitError(`${where}: ${p.name}: expected numbers of shape ${formatShape(p.value.shape)}, got ${describe(data)}`);
    }
    if (data.length !== p.value.data.length) {
      throw new RnnkitError(`${where}: ${p.name}: expected ${p.value.data.length} numbers (shape ${formatShape(p.value.shape)}), got ${data.length}`);
    }
    checkFinite(where, p.name, data, p.value.shape);
    checked.push([p, data]);
  }
  for (const [p, data] of checked) {
    const v = p.value.data;
    for (let i = 0; i < v.length; i++) v[i] = data[i];
  }
}
