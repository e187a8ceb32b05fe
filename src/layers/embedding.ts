/**
 * Embedding, `torch.nn.Embedding`: integer ids [...] -> vectors [..., E], a row gather.
 * With `paddingIdx`, that row starts at zero and never receives a gradient, as in PyTorch, so
 * padding contributes nothing. Parameter: `weight` [V, E], initialised N(0, 1) as PyTorch.
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { defaults } from "../defaults.js";
import { Rng } from "../rng.js";
import { type Floats, RnnkitError, type Tensor, checkPositiveInt, describe } from "../tensor.js";
import { ParamSet } from "./params.js";

export interface EmbeddingOptions {
  /** V: vocabulary size. */
  numEmbeddings: number;
  /** E: vector size. */
  embeddingDim: number;
  paddingIdx?: number;
  backend?: Backend;
  seed?: number;
}

export class Embedding extends ParamSet {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  private ids: Int32Array | null = null;
  private shape: number[] = [];

  constructor(opts: EmbeddingOptions) {
    super("Embedding", opts?.backend ?? getBackend());
    this.numEmbeddings = checkPositiveInt("Embedding", "numEmbeddings", opts?.numEmbeddings);
    this.embeddingDim = checkPositiveInt("Embedding", "embeddingDim", opts?.embeddingDim);
    const p = opts.paddingIdx;
    if (p !== undefined && (!Number.isInteger(p) || p < 0 || p >= opts.numEmbeddings)) {
      throw new RnnkitError(`Embedding: paddingIdx: expected an integer in [0, ${opts.numEmbeddings - 1}], got ${describe(p)}`);
    }
    this.paddingIdx = p ?? null;
    const rng = new Rng(opts.seed ?? defaults.seed);
    const E = this.embeddingDim;
    this.add("weight", [this.numEmbeddings, E], (i) => (Math.floor(i / E) === this.paddingIdx ? 0 : gaussian(rng)));
  }

  /** ids (integers in [0, V)) of shape `shape` -> [...shape, E]. */
  forward(ids: { shape: readonly number[]; data: ArrayLike<number> }): Tensor {
    this.live();
    const where = "Embedding.forward";
    const n = ids.data.length;
    const V = this.numEmbeddings, E = this.embeddingDim;
    if (ids.shape.reduce((a, b) => a * b, 1) !== n) throw new RnnkitError(`${where}: ids: shape [${ids.shape}] needs ${ids.shape.reduce((a, b) => a * b, 1)} ids, got ${n}`);
    this.ids = this.ws.index("ids", n);
    for (let i = 0; i < n; i++) {
      const v = ids.data[i];
      if (!Number.isInteger(v) || v < 0 || v >= V) throw new RnnkitError(`${where}: ids[${i}]: expected an integer in [0, V-1] = [0, ${V - 1}], got ${describe(v)}`);
      this.ids[i] = v;
    }
    const out = this.ws.get("out", n * E);
    this.be.gatherRows(n, E, this.ids, 0, this.params[0].value.data, 0, E, out, 0, E, false);
    this.shape = [...ids.shape];
    return { shape: [...ids.shape, E], data: out.slice(0, n * E) };
  }

  /** Adds the gradient of each looked-up row into weight.grad (none into paddingIdx). */
  backward(dy: { shape: readonly number[]; data: ArrayLike<number> }): void {
    this.live();
    const where = "Embedding.backward";
    if (!this.ids) throw new RnnkitError(`${where}: expected a forward() call first, got none`);
    const E = this.embeddingDim;
    const n = this.shape.reduce((a, b) => a * b, 1);
    if (dy.data.length !== n * E) throw new RnnkitError(`${where}: dy: expected [${[...this.shape, E]}] (${n * E} numbers), got ${dy.data.length}`);
    const g = this.ws.get("dy", n * E);
    g.set(dy.data as Floats);
    const grad = this.grad("weight");
    this.be.scatterRows(n, E, this.ids, 0, g, 0, E, grad, 0, E, true);
    if (this.paddingIdx !== null) this.be.zero(E, grad, this.paddingIdx * E);
  }
}

/** Box-Muller. */
function gaussian(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}
