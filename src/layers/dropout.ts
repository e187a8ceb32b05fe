/**
 * Dropout (Srivastava et al. 2014), inverted: in training mode each element is kept with
 * probability 1-p and scaled by 1/(1-p), so evaluation needs no rescaling; in eval mode it is the
 * identity. The mask comes from a seeded generator. (Between stacked recurrent layers use the
 * `dropout` option of RNN/LSTM/GRU, which applies the same rule inside the wrapper.)
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { defaults } from "../defaults.js";
import { Rng } from "../rng.js";
import { type Floats, RnnkitError, type Tensor, type TensorLike, describe } from "../tensor.js";

export class Dropout {
  readonly p: number;
  training = false;
  private readonly rng: Rng;
  private mask: Floats | null = null;
  private buf: Floats | null = null;
  private shape: number[] = [];
  private readonly be: Backend;

  constructor(opts: { p: number; seed?: number; backend?: Backend }) {
    const p = opts?.p;
    if (typeof p !== "number" || !(p >= 0 && p < 1)) throw new RnnkitError(`Dropout: p: expected a probability in [0, 1), got ${describe(p)}`);
    this.p = p;
    this.rng = new Rng(opts.seed ?? defaults.seed);
    this.be = opts.backend ?? getBackend();
  }

  train(on = true): this {
    this.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  forward(x: TensorLike): Tensor {
    const n = x.data.length;
    this.shape = [...x.shape];
    if (!this.training || this.p === 0) {
      this.mask = null;
      return { shape: [...x.shape], data: Float32Array.from(x.data) };
    }
    if (!this.buf || this.buf.length < n) {
      this.buf = this.be.alloc(n);
      this.mask = this.be.alloc(n);
    }
    const mask = this.mask ?? (this.mask = this.be.alloc(n));
    const keep = 1 / (1 - this.p);
    for (let i = 0; i < n; i++) mask[i] = this.rng.next() < this.p ? 0 : keep;
    this.buf.set(x.data as Floats);
    this.be.mul(n, this.buf, 0, mask, 0, this.buf, 0);
    return { shape: [...x.shape], data: this.buf.slice(0, n) };
  }

  backward(dy: TensorLike): Tensor {
    const n = dy.data.length;
    if (!this.mask) return { shape: [...this.shape], data: Float32Array.from(dy.data) };
    const g = this.be.alloc(n);
    g.set(dy.data as Floats);
    this.be.mul(n, g, 0, this.mask, 0, g, 0);
    return { shape: [...this.shape], data: g };
  }
}
