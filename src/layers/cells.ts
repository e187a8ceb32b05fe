/**
 * Single-step cells: `torch.nn.RNNCell`, `LSTMCell`, `GRUCell`. One step is a sequence of length 1
 * through the same wrapper and the same cell kernels as the layers, so a cell and a layer can
 * never disagree. Parameter names drop the layer suffix: `weight_ih`, `weight_hh`, `bias_ih`,
 * `bias_hh`.
 *
 * Shapes: x [B, X]; hx, cx, h, c [B, H].
 */
import { RnnkitError, type Tensor, type TensorLike, checkTensor, describe } from "../tensor.js";
import type { Module, Parameter, WeightLike } from "./module.js";
import { type GateOptions, type GRUOptions, type RNNOptions, rnnType } from "./layers.js";
import { Recurrent, type RecurrentOptions } from "./recurrent.js";

export type CellOptions = Omit<RecurrentOptions, "numLayers" | "bidirectional">;

export interface CellState {
  h: Tensor;
  c?: Tensor;
}

export interface CellGradients {
  h?: TensorLike;
  c?: TensorLike;
}

export interface CellInputGradients {
  dx: Tensor;
  dhx: Tensor;
  dcx?: Tensor;
}

const SUFFIX = "_l0";

abstract class Cell implements Module {
  protected readonly layer: Recurrent;
  constructor(layer: Recurrent, private readonly where: string) {
    this.layer = layer;
  }

  get inputSize(): number {
    return this.layer.inputSize;
  }
  get hiddenSize(): number {
    return this.layer.hiddenSize;
  }

  /** One step: x [B, X], hx / cx [B, H] (zeros when absent) -> h [B, H] (and c). */
  forward(x: TensorLike, state: { hx?: TensorLike; cx?: TensorLike } = {}): CellState {
    const where = `${this.where}.forward`;
    checkTensor(where, "x", x, ["B", "X"], [-1, this.inputSize]);
    const B = x.shape[0];
    const H = this.hiddenSize;
    if (state === null || typeof state !== "object") throw new RnnkitError(`${where}: expected {hx, cx}, got ${describe(state)}`);
    if (state.hx !== undefined) checkTensor(where, "hx", state.hx, ["B", "H"], [B, H]);
    if (state.cx !== undefined) checkTensor(where, "cx", state.cx, ["B", "H"], [B, H]);
    const lift = (t: TensorLike | undefined) => (t ? { shape: [1, B, t.shape[1]], data: t.data } : undefined);
    const opts: { h0?: TensorLike; c0?: TensorLike } = {};
    if (state.hx) opts.h0 = lift(state.hx);
    if (state.cx) opts.c0 = lift(state.cx);
    const out = this.layer.forward({ shape: [1, B, this.inputSize], data: x.data }, opts);
    const res: CellState = { h: { shape: [B, H], data: out.h.data } };
    if (out.c) res.c = { shape: [B, H], data: out.c.data };
    return res;
  }

  /** Gradients w.r.t. x, hx (and cx) from those w.r.t. h (and c); parameter gradients accumulate. */
  backward(grads: CellGradients): CellInputGradients {
    const where = `${this.where}.backward`;
    if (grads === null || typeof grads !== "object") throw new RnnkitError(`${where}: expected {h, c}, got ${describe(grads)}`);
    const lift = (name: string, t: TensorLike | undefined) => {
      if (!t) return undefined;
      const B = checkTensor(where, name, t, ["B", "H"], [-1, this.hiddenSize]).shape[0];
      return { shape: [1, B, this.hiddenSize], data: t.data };
    };
    const g: { h?: TensorLike; c?: TensorLike } = {};
    const h = lift("h", grads.h);
    const c = lift("c", grads.c);
    if (h) g.h = h;
    if (c) g.c = c;
    const r = this.layer.backward(g);
    const [, B, X] = r.dx.shape;
    const res: CellInputGradients = {
      dx: { shape: [B, X], data: r.dx.data },
      dhx: { shape: [B, this.hiddenSize], data: r.dh0.data },
    };
    if (r.dc0) res.dcx = { shape: [B, this.hiddenSize], data: r.dc0.data };
    return res;
  }

  /** Frees the cell's backend memory (see Module.dispose). */
  dispose(): void {
    this.layer.dispose();
  }

  parameters(): Parameter[] {
    return this.layer.parameters().map((p) => ({ ...p, name: p.name.slice(0, -SUFFIX.length) }));
  }

  zeroGrad(): void {
    this.layer.zeroGrad();
  }

  loadStateDict(dict: Record<string, WeightLike>): void {
    if (dict === null || typeof dict !== "object") {
      throw new RnnkitError(`${this.where}.loadStateDict: expected an object of weights by name, got ${describe(dict)}`);
    }
    const renamed: Record<string, WeightLike> = {};
    for (const [k, v] of Object.entries(dict)) renamed[k + SUFFIX] = v;
    try {
      this.layer.loadStateDict(renamed);
    } catch (e) {
      if (e instanceof RnnkitError) {
        throw new RnnkitError(e.message.replaceAll(SUFFIX, "").replace(/^\w+\.loadStateDict/, `${this.where}.loadStateDict`));
      }
      throw e;
    }
  }

  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.layer.stateDict())) out[k.slice(0, -SUFFIX.length)] = v;
    return out;
  }
}

export class RNNCell extends Cell {
  constructor(opts: CellOptions & Pick<RNNOptions, "nonlinearity">) {
    super(new Recurrent(rnnType("RNNCell", opts), opts, "RNNCell"), "RNNCell");
  }
}

export class LSTMCell extends Cell {
  constructor(opts: CellOptions & GateOptions) {
    super(new Recurrent("lstm", opts, "LSTMCell"), "LSTMCell");
  }
}

export class GRUCell extends Cell {
  constructor(opts: CellOptions & GateOptions & Pick<GRUOptions, "resetAfter">) {
    super(new Recurrent("gru", opts, "GRUCell"), "GRUCell");
  }
}
