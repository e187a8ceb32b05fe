/**
 * Linear, `torch.nn.Linear`: y = x W^T + b over the last dimension, for any leading shape, so a
 * [T, B, H] sequence gets one output per time step (one GEMM over all T*B rows).
 * Parameters: `weight` [out, in], `bias` [out], initialised U(-1/sqrt(in), 1/sqrt(in)) as PyTorch.
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { defaults } from "../defaults.js";
import { Rng } from "../rng.js";
import { type Floats, RnnkitError, type Tensor, type TensorLike, checkFinite, checkPositiveInt, checkTensor, sizeOf } from "../tensor.js";
import { ParamSet } from "./params.js";

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
  backend?: Backend;
  seed?: number;
}

export class Linear extends ParamSet {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private readonly w: Floats;
  private readonly b: Floats | null;
  private x: Floats | null = null;
  private rows = 0;
  private inShape: number[] = [];

  constructor(opts: LinearOptions) {
    const be = opts?.backend ?? getBackend();
    super("Linear", be);
    this.inFeatures = checkPositiveInt("Linear", "inFeatures", opts?.inFeatures);
    this.outFeatures = checkPositiveInt("Linear", "outFeatures", opts?.outFeatures);
    const rng = new Rng(opts.seed ?? defaults.seed);
    const k = 1 / Math.sqrt(this.inFeatures);
    this.w = this.add("weight", [this.outFeatures, this.inFeatures], () => rng.uniform(-k, k));
    this.b = opts.bias === false ? null : this.add("bias", [this.outFeatures], () => rng.uniform(-k, k));
  }

  /** x [..., in] -> y [..., out]. */
  forward(x: TensorLike): Tensor {
    this.live();
    const where = "Linear.forward";
    const shape = [...x.shape];
    checkTensor(where, "x", x, [...shape.slice(0, -1).map(() => "*"), "in"], [...shape.slice(0, -1).map(() => -1), this.inFeatures]);
    checkFinite(where, "x", x.data, x.shape);
    const { be, inFeatures: I, outFeatures: O } = this;
    const R = sizeOf(shape) / I;
    this.x = this.ws.get("x", R * I);
    this.x.set(x.data as Floats);
    const y = this.ws.get("y", R * O);
    let beta = 0;
    if (this.b) {
      be.broadcastRows(R, O, this.b, 0, y, 0, O, false);
      beta = 1;
    }
    be.gemm(false, true, R, O, I, 1, this.x, 0, I, this.w, 0, I, beta, y, 0, O);
    this.rows = R;
    this.inShape = shape;
    return { shape: [...shape.slice(0, -1), O], data: y.slice(0, R * O) };
  }

  /** dy [..., out] -> dx [..., in]; adds dW = dy^T x and db = sum dy. */
  backward(dy: TensorLike): Tensor {
    this.live();
    const where = "Linear.backward";
    if (!this.x) throw new RnnkitError(`${where}: expected a forward() call first, got none`);
    const { be, inFeatures: I, outFeatures: O, rows: R } = this;
    checkTensor(where, "dy", dy, [...this.inShape.slice(0, -1).map(() => "*"), "out"], [...this.inShape.slice(0, -1), O]);
    const g = this.ws.get("dy", R * O);
    g.set(dy.data as Floats);
    be.gemm(true, false, O, I, R, 1, g, 0, O, this.x, 0, I, 1, this.grad("weight"), 0, I);
    if (this.b) be.sumRows(R, O, g, 0, O, this.grad("bias"), 0);
    const dx = this.ws.get("dx", R * I);
    be.gemm(false, false, R, I, O, 1, g, 0, O, this.w, 0, I, 0, dx, 0, I);
    return { shape: [...this.inShape], data: dx.slice(0, R * I) };
  }
}
