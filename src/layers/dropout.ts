/**
 * Dropout (Srivastava et al. 2014), inverted: in training mode each element is kept with
 * probability 1-p and scaled by 1/(1-p), so evaluation needs no rescaling; in eval mode it is the
 * identity. The mask comes from a seeded generator. (Between stacked recurrent layers use the
 * `dropout` option of RNN/LSTM/GRU, which applies the same rule, `dropoutMask`, inside the wrapper.)
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { Workspace } from "../backend/workspace.js";
import { defaults } from "../defaults.js";
import { Rng } from "../rng.js";
import { type Floats, RnnkitError, type Tensor, type TensorLike, describe } from "../tensor.js";

/** mask[0:n] = 0 with probability p, else 1/(1-p): the inverted-dropout mask. */
export function dropoutMask(rng: Rng, p: number, mask: Floats, n: number): void {
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) mask[i] = rng.next() < p ? 0 : keep;
}

export class Dropout {
  readonly p: number;
  training = false;
  private readonly rng: Rng;
  private readonly be: Backend;
  private readonly ws: Workspace;
  /** whether the last forward dropped (its mask is the workspace's "mask") */
  private masked = false;
  private shape: number[] = [];

  constructor(opts: { p: number; seed?: number; backend?: Backend }) {
    const p = opts?.p;
    if (typeof p !== "number" || !(p >= 0 && p < 1)) throw new RnnkitError(`Dropout: p: expected a probability in [0, 1), got ${describe(p)}`);
    this.p = p;
    this.rng = new Rng(opts.seed ?? defaults.seed);
    this.be = opts.backend ?? getBackend();
    this.ws = new Workspace(this.be);
  }

  train(on = true): this {
    this.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  rngs(): Rng[] {
    return [this.rng];
  }

  /** Frees the mask and scratch arrays; the layer stays usable (it allocates again). */
  dispose(): void {
    this.ws.dispose();
  }

  forward(x: TensorLike): Tensor {
    const n = x.data.length;
    this.shape = [...x.shape];
    this.masked = this.training && this.p > 0;
    if (!this.masked) return { shape: [...x.shape], data: Float32Array.from(x.data) };
    const mask = this.ws.get("mask", n), y = this.ws.get("y", n);
    dropoutMask(this.rng, this.p, mask, n);
    y.set(x.data as Floats);
    this.be.mul(n, y, 0, mask, 0, y, 0);
    return { shape: [...x.shape], data: y.slice(0, n) };
  }

  backward(dy: TensorLike): Tensor {
    const n = dy.data.length;
    if (!this.masked) return { shape: [...this.shape], data: Float32Array.from(dy.data) };
    const g = this.ws.get("dy", n);
    g.set(dy.data as Floats);
    this.be.mul(n, g, 0, this.ws.get("mask", n), 0, g, 0);
    return { shape: [...this.shape], data: g.slice(0, n) };
  }
}
