/**
 * THE sequence wrapper: time, direction, lengths, stacking, bidirectional, state in and out.
 * It serves every cell (src/cells/*), and `RNN`, `LSTM`, `GRU` are thin names over it.
 *
 * Semantics are PyTorch's (`nn.RNN`/`nn.LSTM`/`nn.GRU`, time-major, `proj_size=0`, `dropout=0`),
 * including packed sequences for variable lengths: element b runs for lengths[b] steps, its
 * output is zero past its length, its final state is taken at its own last step, and the reverse
 * direction starts at its own last valid step.
 *
 * How it is fast (../shared/ARCHITECTURE.md):
 * - the batch is sorted by length once, and sequences are packed: step s owns the contiguous rows
 *   [offsets[s], offsets[s] + n_s), and the n_s active rows are a prefix of step s-1's rows;
 * - per layer and direction: one GEMM projects the inputs of all steps; each step is one small
 *   GEMM (h_prev W_hh^T) and one fused pointwise kernel; backward runs the pointwise backward and
 *   dh_prev = dG W_hh per step, then dW_ih, dW_hh, dX and the biases are one GEMM/reduction each;
 * - the reverse direction runs forward over rows reversed within each sequence (a gather before
 *   and a scatter after the loop), so a cell only ever steps forward;
 * - workspaces are sized once per shape and reused; nothing is allocated inside the time loop.
 *
 * Shapes: x [T, B, X]; h0, c0, h, c [L*D, B, H]; output [T, B, D*H].
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { Workspace } from "../backend/workspace.js";
import type { Run, Sequence, StepCell, Weights } from "../cells/cell.js";
import { GruStep } from "../cells/gru.js";
import { LstmStep } from "../cells/lstm.js";
import { RnnStep } from "../cells/rnn.js";
import { defaults } from "../defaults.js";
import { type CellType, gatesOf } from "../gates.js";
import { Rng } from "../rng.js";
import {
  type Floats, RnnkitError, type Tensor, type TensorLike, checkFinite, checkPositiveInt, checkTensor, describe, sizeOf,
} from "../tensor.js";
import { dropoutMask } from "./dropout.js";
import type { Module, Parameter, WeightLike } from "./module.js";
import { freeParameters, loadInto } from "./params.js";

/**
 * The parameter names and shapes of a recurrent stack, in PyTorch's names and order (per layer,
 * forward then reverse: weight_ih, weight_hh, bias_ih, bias_hh), without building it: what a
 * model file is checked against before anything is allocated. `createParameters` makes exactly
 * these (a test and each model's constructor check it).
 */
export function recurrentShapes(G: number, inputSize: number, hiddenSize: number, numLayers: number, D: number, bias = true): [string, number[]][] {
  const out: [string, number[]][] = [];
  const H = hiddenSize;
  for (let l = 0; l < numLayers; l++) {
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
      out.push([`weight_ih${sfx}`, [G * H, l === 0 ? inputSize : D * H]], [`weight_hh${sfx}`, [G * H, H]]);
      if (bias) out.push([`bias_ih${sfx}`, [G * H]], [`bias_hh${sfx}`, [G * H]]);
    }
  }
  return out;
}

export interface RecurrentOptions {
  /** X: features of each input step. */
  inputSize: number;
  /** H: features of the hidden state. */
  hiddenSize: number;
  /** L: stacked layers; layer l > 0 reads the D*H outputs of layer l-1. */
  numLayers?: number;
  /** D = 2 when true: a reverse direction beside the forward one, outputs concatenated. */
  bidirectional?: boolean;
  /** Whether b_ih and b_hh exist. */
  bias?: boolean;
  /** Where the tensors live and the kernels run; the default is `getBackend()`. */
  backend?: Backend;
  /** Seed of the PyTorch-style U(-1/sqrt(H), 1/sqrt(H)) initialisation. */
  seed?: number;
  /** Check inputs for NaN/Inf (default true). */
  checkFinite?: boolean;
  /** Dropout on the outputs of every layer but the last, in training mode (PyTorch `dropout`). */
  dropout?: number;
}

export interface ForwardOptions {
  /** Initial hidden state [L*D, B, H]; zeros when absent. */
  h0?: TensorLike;
  /** Initial cell state [L*D, B, H] (LSTM only); zeros when absent. */
  c0?: TensorLike;
  /** Valid length of each batch element, in [1, T]; all T when absent. */
  lengths?: ArrayLike<number>;
}

export interface RecurrentOutput {
  /** [T, B, D*H]: last layer's hidden state per step (zero past each length). */
  output: Tensor;
  /** [L*D, B, H]: final hidden state of each layer and direction (index l*D + d). */
  h: Tensor;
  /** [L*D, B, H]: final cell state (LSTM only). */
  c?: Tensor;
}

/** Upstream gradients: w.r.t. `output`, `h` and (LSTM) `c`. Absent ones count as zero. */
export interface RecurrentGradients {
  output?: TensorLike;
  h?: TensorLike;
  c?: TensorLike;
}

export interface RecurrentInputGradients {
  /** dL/dx [T, B, X] (zero at padding positions). */
  dx: Tensor;
  /** dL/dh0 [L*D, B, H]. */
  dh0: Tensor;
  /** dL/dc0 [L*D, B, H] (LSTM only). */
  dc0?: Tensor;
}

/** One layer, direction and sequence of the last forward/backward: see `Recurrent.trace`. */
export interface RecurrentTrace {
  /** the sequence's length: the rows of every field */
  steps: number;
  /** [steps][G*H] gate activations, PyTorch block order (absent for the plain RNN) */
  gates?: number[][];
  /** [steps][H] */
  h: number[][];
  /** [steps][H], LSTM only */
  c?: number[][];
  /** [steps][H] dL/dh_t, after a backward */
  dh?: number[][];
  /** [steps][H] dL/dc_t, LSTM after a backward */
  dc?: number[][];
}

/** The packing of one batch: see the file comment. */
interface Plan {
  T: number;
  B: number;
  /** the longest length: steps actually run */
  steps: number;
  N: number;
  batchSizes: number[];
  offsets: number[];
  /** the same steps as Int32Arrays, for Backend.recurrentForward / recurrentBackward */
  seq: Sequence;
  /** packed row -> row t*B + b of the time-major input */
  packIdx: Int32Array;
  /** packed row -> packed row of the same sequence at the mirrored step (an involution) */
  revIdx: Int32Array;
  /** original batch element b -> packed row of its last step */
  lastIdx: Int32Array;
  /** sorted rank k -> original batch element */
  perm: Int32Array;
  /** identity over packed rows (for strided copies) */
  ident: Int32Array;
  key: string;
}

const NO_ARRAY = new Float32Array(0);

export class Recurrent implements Module {
  readonly cellType: CellType;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly bias: boolean;
  readonly backend: Backend;
  /** GRU only: reset gate after (PyTorch) or before (Cho et al. 2014) the recurrent matmul. */
  readonly resetAfter: boolean;
  /** LSTM/GRU: the gates' σ, logistic or hard (Keras 2 / TensorFlow.js). */
  readonly recurrentActivation: "sigmoid" | "hardSigmoid";
  /** Dropout probability between stacked layers (applied only while `training`). */
  readonly dropout: number;
  /** Training mode: dropout is active. `train()` / `eval()` switch it. */
  training = false;
  private readonly dropRng: Rng;
  private dropMasks: (Floats | null)[] = [];
  protected readonly where: string;
  private readonly cell: StepCell;
  private readonly D: number;
  private readonly G: number;
  private readonly checkNumbers: boolean;
  private readonly params: Parameter[] = [];
  private readonly weights: Weights[] = [];
  private readonly ws: Workspace;
  private plan: Plan | null = null;
  private runs: Run[] = [];
  private haveForward = false;
  private haveBackward = false;
  private disposed = false;

  constructor(
    cellType: CellType, opts: RecurrentOptions & { resetAfter?: boolean; recurrentActivation?: "sigmoid" | "hardSigmoid" },
    where: string,
  ) {
    this.where = where;
    if (opts === null || typeof opts !== "object") {
      throw new RnnkitError(`${where}: expected an options object {inputSize, hiddenSize, ...}, got ${describe(opts)}`);
    }
    const positiveInt = (name: string, v: unknown): number => checkPositiveInt(where, name, v);
    const bool = (name: string, v: unknown, dflt: boolean): boolean => {
      if (v === undefined) return dflt;
      if (typeof v !== "boolean") throw new RnnkitError(`${where}: ${name}: expected true or false, got ${describe(v)}`);
      return v;
    };
    this.cellType = cellType;
    this.inputSize = positiveInt("inputSize", opts.inputSize);
    this.hiddenSize = positiveInt("hiddenSize", opts.hiddenSize);
    this.numLayers = positiveInt("numLayers", opts.numLayers ?? defaults.numLayers);
    this.bidirectional = bool("bidirectional", opts.bidirectional, defaults.bidirectional);
    this.bias = bool("bias", opts.bias, defaults.bias);
    this.resetAfter = bool("resetAfter", opts.resetAfter, defaults.resetAfter);
    if (cellType !== "gru" && opts.resetAfter !== undefined) {
      throw new RnnkitError(`${where}: resetAfter: only a GRU has a reset gate, got resetAfter for ${cellType}`);
    }
    const act = opts.recurrentActivation ?? defaults.recurrentActivation;
    if (act !== "sigmoid" && act !== "hardSigmoid") {
      throw new RnnkitError(`${where}: recurrentActivation: expected "sigmoid" or "hardSigmoid", got ${describe(act)}`);
    }
    if (cellType !== "lstm" && cellType !== "gru" && opts.recurrentActivation !== undefined) {
      throw new RnnkitError(`${where}: recurrentActivation: only LSTM and GRU gates have one, got recurrentActivation for ${cellType}`);
    }
    this.recurrentActivation = act;
    this.checkNumbers = bool("checkFinite", opts.checkFinite, defaults.checkFinite);
    const p = opts.dropout ?? 0;
    if (typeof p !== "number" || !(p >= 0 && p < 1)) throw new RnnkitError(`${where}: dropout: expected a probability in [0, 1), got ${describe(p)}`);
    this.dropout = p;
    this.dropRng = new Rng((opts.seed ?? defaults.seed) ^ 0x5eed);
    this.backend = opts.backend ?? getBackend();
    this.ws = new Workspace(this.backend);
    this.D = this.bidirectional ? 2 : 1;
    this.G = gatesOf(cellType);
    this.cell =
      cellType === "lstm" ? new LstmStep(act === "hardSigmoid")
      : cellType === "gru" ? new GruStep(this.resetAfter, act === "hardSigmoid")
      : new RnnStep(cellType === "rnn_relu");
    this.createParameters(opts.seed ?? defaults.seed);
  }

  // ---------------------------------------------------------------- parameters

  /** PyTorch's names and order: per layer, forward then reverse; weight_ih, weight_hh, bias_ih, bias_hh. */
  private createParameters(seed: number): void {
    const { G, D, backend: be } = this;
    const H = this.hiddenSize;
    const rng = new Rng(seed);
    const k = 1 / Math.sqrt(H); // PyTorch's reset_parameters: U(-1/sqrt(H), 1/sqrt(H)) for all
    for (let l = 0; l < this.numLayers; l++) {
      const inSize = l === 0 ? this.inputSize : D * H;
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
        const make = (name: string, shape: number[]): Parameter => {
          const n = sizeOf(shape);
          const value = be.alloc(n);
          for (let i = 0; i < n; i++) value[i] = rng.uniform(-k, k);
          const p = { name: name + sfx, value: { shape, data: value }, grad: { shape: shape.slice(), data: be.alloc(n) } };
          this.params.push(p);
          return p;
        };
        const wih = make("weight_ih", [G * H, inSize]);
        const whh = make("weight_hh", [G * H, H]);
        const bih = this.bias ? make("bias_ih", [G * H]) : null;
        const bhh = this.bias ? make("bias_hh", [G * H]) : null;
        this.weights.push({
          wih: wih.value.data, whh: whh.value.data, bih: bih ? bih.value.data : null, bhh: bhh ? bhh.value.data : null,
          gwih: wih.grad.data, gwhh: whh.grad.data, gbih: bih ? bih.grad.data : null, gbhh: bhh ? bhh.grad.data : null,
        });
      }
    }
  }

  parameters(): Parameter[] {
    this.live();
    return this.params.slice();
  }

  rngs(): Rng[] {
    return [this.dropRng];
  }

  /** Frees the weights, gradients and workspaces (see Module.dispose). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    freeParameters(this.backend, this.params);
    this.ws.dispose();
    this.runs = [];
    this.plan = null;
    this.dropMasks = [];
    this.haveForward = false;
  }

  private live(): void {
    if (this.disposed) throw new RnnkitError(`${this.where}: used after dispose()`);
  }

  /** Training mode on (dropout active) or off. */
  train(on = true): this {
    this.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    this.live();
    for (const p of this.params) this.backend.zero(p.grad.data.length, p.grad.data, 0);
  }

  stateDict(): Record<string, Tensor> {
    this.live();
    const out: Record<string, Tensor> = {};
    for (const p of this.params) out[p.name] = { shape: p.value.shape.slice(), data: p.value.data.slice() };
    return out;
  }

  loadStateDict(dict: Record<string, WeightLike>): void {
    this.live();
    loadInto(`${this.where}.loadStateDict`, this.params, dict);
  }

  // ---------------------------------------------------------------- forward

  forward(x: TensorLike, opts: ForwardOptions = {}): RecurrentOutput {
    this.live();
    const where = `${this.where}.forward`;
    const { D, G, backend: be, cell } = this;
    const H = this.hiddenSize;
    const L = this.numLayers;
    const X = this.inputSize;
    checkTensor(where, "x", x, ["T", "B", "X"], [-1, -1, X]);
    const [T, B] = x.shape;
    if (opts === null || typeof opts !== "object") throw new RnnkitError(`${where}: expected options {h0, c0, lengths}, got ${describe(opts)}`);
    const known = new Set(["h0", "c0", "lengths"]);
    for (const k of Object.keys(opts)) if (!known.has(k)) throw new RnnkitError(`${where}: unknown option ${k}: expected h0, c0 or lengths`);
    if (opts.c0 !== undefined && !cell.hasCellState) {
      throw new RnnkitError(`${where}: c0: only an LSTM has a cell state, got c0 for ${this.cellType}`);
    }
    const stateShape = [L * D, B, H];
    if (opts.h0 !== undefined) checkTensor(where, "h0", opts.h0, ["L*D", "B", "H"], stateShape);
    if (opts.c0 !== undefined) checkTensor(where, "c0", opts.c0, ["L*D", "B", "H"], stateShape);
    const lengths = checkLengths(where, opts.lengths, T, B);
    if (this.checkNumbers) {
      checkFinite(where, "x", x.data, x.shape);
      if (opts.h0) checkFinite(where, "h0", opts.h0.data, opts.h0.shape);
      if (opts.c0) checkFinite(where, "c0", opts.c0.data, opts.c0.shape);
    }

    const plan = this.makePlan(T, B, lengths);
    const { N, steps, batchSizes, offsets } = plan;
    const ws = this.ws;
    // Inputs into backend memory, then packed: once per call, outside the time loop.
    const xBuf = ws.get("x", T * B * X);
    copyIn(xBuf, x.data);
    const xPacked = ws.get("xPacked", N * X);
    be.gatherRows(N, X, plan.packIdx, 0, xBuf, 0, X, xPacked, 0, X, false);
    const h0 = ws.get("h0", L * D * B * H);
    if (opts.h0) copyIn(h0, opts.h0.data);
    else be.zero(L * D * B * H, h0, 0);
    const c0 = cell.hasCellState ? ws.get("c0", L * D * B * H) : NO_ARRAY;
    if (cell.hasCellState) {
      if (opts.c0) copyIn(c0, opts.c0.data);
      else be.zero(L * D * B * H, c0, 0);
    }
    const hn = ws.get("hn", L * D * B * H);
    const cn = cell.hasCellState ? ws.get("cn", L * D * B * H) : NO_ARRAY;

    this.runs = [];
    this.haveBackward = false;
    let layerIn = xPacked;
    for (let l = 0; l < L; l++) {
      const inSize = l === 0 ? X : D * H;
      const layerOut = D === 1 ? null : ws.get(`out${l}`, N * D * H);
      // the directions are independent: prepare both, run their loops (at once where the
      // backend can), then collect both
      const layerRuns: Run[] = [];
      for (let d = 0; d < D; d++) {
        const run = this.makeRun(l, d, inSize, N, B);
        if (d === 0) run.x = layerIn;
        else be.gatherRows(N, inSize, plan.revIdx, 0, layerIn, 0, inSize, run.x, 0, inSize, false);
        const sOff = (l * D + d) * B * H;
        // Step 0 runs all B rows, so the sorted initial state is hPrev's first block.
        be.gatherRows(B, H, plan.perm, 0, h0, sOff, H, run.hPrev, 0, H, false);
        if (cell.hasCellState) be.gatherRows(B, H, plan.perm, 0, c0, sOff, H, run.cPrev, 0, H, false);
        cell.project(run);
        layerRuns.push(run);
      }
      // the whole loop in one backend call where the backend has one, else step by step
      if (!cell.forwardSequence?.(layerRuns, plan.seq)) {
        for (const run of layerRuns) {
          for (let s = 0; s < steps; s++) {
            const o = offsets[s];
            const n = batchSizes[s];
            if (s > 0) {
              const p = offsets[s - 1];
              be.copy(n * H, run.h, p * H, run.hPrev, o * H);
              if (cell.hasCellState) be.copy(n * H, run.c, p * H, run.cPrev, o * H);
            }
            cell.forwardStep(run, o, n);
          }
        }
      }
      for (let d = 0; d < D; d++) {
        const run = layerRuns[d];
        const sOff = (l * D + d) * B * H;
        be.gatherRows(B, H, plan.lastIdx, 0, run.h, 0, H, hn, sOff, H, false);
        if (cell.hasCellState) be.gatherRows(B, H, plan.lastIdx, 0, run.c, 0, H, cn, sOff, H, false);
        if (layerOut) {
          if (d === 0) be.gatherRows(N, H, plan.ident, 0, run.h, 0, H, layerOut, 0, D * H, false);
          else be.scatterRows(N, H, plan.revIdx, 0, run.h, 0, H, layerOut, H, D * H, false);
        }
        this.runs.push(run);
      }
      layerIn = layerOut ?? this.runs[l * D].h;
      this.dropMasks[l] = null;
      if (this.training && this.dropout > 0 && l < L - 1) {
        // inverted dropout: keep with probability 1-p, scaled by 1/(1-p)
        const mask = ws.get(`mask${l}`, N * D * H);
        dropoutMask(this.dropRng, this.dropout, mask, N * D * H);
        const dropped = ws.get(`dropped${l}`, N * D * H);
        be.mul(N * D * H, layerIn, 0, mask, 0, dropped, 0);
        layerIn = dropped;
        this.dropMasks[l] = mask;
      }
    }

    const output = resultArray(be, ws, "output", T * B * D * H);
    be.scatterRows(N, D * H, plan.packIdx, 0, layerIn, 0, D * H, output, 0, D * H, false);
    this.haveForward = true;
    const result: RecurrentOutput = {
      output: { shape: [T, B, D * H], data: handOut(be, output, T * B * D * H) },
      h: { shape: stateShape.slice(), data: hn.slice(0, L * D * B * H) },
    };
    if (cell.hasCellState) result.c = { shape: stateShape.slice(), data: cn.slice(0, L * D * B * H) };
    return result;
  }

  // ---------------------------------------------------------------- backward

  /**
   * Backpropagation through time for the last `forward`. Returns dL/dx, dL/dh0 (and dL/dc0) and
   * ADDS the parameter gradients into `parameters()[i].grad`.
   */
  backward(grads: RecurrentGradients): RecurrentInputGradients {
    this.live();
    const where = `${this.where}.backward`;
    if (!this.haveForward || !this.plan) throw new RnnkitError(`${where}: expected a forward() call first, got none`);
    const { D, backend: be, cell, plan, ws } = this;
    const H = this.hiddenSize;
    const L = this.numLayers;
    const X = this.inputSize;
    const { T, B, N, steps, batchSizes, offsets } = plan;
    if (grads === null || typeof grads !== "object") throw new RnnkitError(`${where}: expected {output, h, c}, got ${describe(grads)}`);
    for (const k of Object.keys(grads)) {
      if (k !== "output" && k !== "h" && k !== "c") throw new RnnkitError(`${where}: unknown gradient ${k}: expected output, h or c`);
    }
    if (grads.c !== undefined && !cell.hasCellState) throw new RnnkitError(`${where}: c: only an LSTM has a cell state, got a gradient for c`);
    const stateShape = [L * D, B, H];
    if (grads.output !== undefined) checkTensor(where, "output", grads.output, ["T", "B", "D*H"], [T, B, D * H]);
    if (grads.h !== undefined) checkTensor(where, "h", grads.h, ["L*D", "B", "H"], stateShape);
    if (grads.c !== undefined) checkTensor(where, "c", grads.c, ["L*D", "B", "H"], stateShape);
    if (this.checkNumbers) {
      for (const k of ["output", "h", "c"] as const) {
        const g = grads[k];
        if (g) checkFinite(where, k, g.data, g.shape);
      }
    }

    const gH = grads.h ? copyIn(ws.get("gH", L * D * B * H), grads.h.data) : null;
    const gC = grads.c ? copyIn(ws.get("gC", L * D * B * H), grads.c.data) : null;
    // Gradient w.r.t. the packed output of the current layer [N, D*H].
    let dOut = ws.get("dOut", N * D * H);
    if (grads.output) {
      const g = copyIn(ws.get("gOut", T * B * D * H), grads.output.data);
      be.gatherRows(N, D * H, plan.packIdx, 0, g, 0, D * H, dOut, 0, D * H, false);
    } else be.zero(N * D * H, dOut, 0);

    const dh0 = ws.get("dh0", L * D * B * H);
    const dc0 = cell.hasCellState ? ws.get("dc0", L * D * B * H) : NO_ARRAY;
    const dh0s = ws.get("dh0s", B * H);
    const dc0s = cell.hasCellState ? ws.get("dc0s", B * H) : NO_ARRAY;

    for (let l = L - 1; l >= 0; l--) {
      const inSize = l === 0 ? X : D * H;
      const dIn = ws.get(l % 2 === 0 ? "dInA" : "dInB", N * inSize);
      for (let d = 0; d < D; d++) {
        const run = this.runs[l * D + d];
        this.ensureBackwardBuffers(run, l, d, B);
        const sOff = (l * D + d) * B * H;
        // dh of every step: the upstream output gradient (this direction's columns, reversed for
        // the reverse direction) plus the final-state gradient at each sequence's last step.
        if (D === 1) be.copy(N * H, dOut, 0, run.dh, 0);
        else if (d === 0) be.gatherRows(N, H, plan.ident, 0, dOut, 0, D * H, run.dh, 0, H, false);
        else be.gatherRows(N, H, plan.revIdx, 0, dOut, H, D * H, run.dh, 0, H, false);
        if (gH) be.scatterRows(B, H, plan.lastIdx, 0, gH, sOff, H, run.dh, 0, H, true);
        if (cell.hasCellState) {
          be.zero(N * H, run.dc, 0);
          if (gC) be.scatterRows(B, H, plan.lastIdx, 0, gC, sOff, H, run.dc, 0, H, true);
          be.zero(B * H, dc0s, 0);
        }
        be.zero(B * H, dh0s, 0);

        // the whole loop in one backend call where the backend has one, else step by step
        if (!cell.backwardSequence?.(run, plan.seq, dh0s, dc0s)) {
          for (let s = steps - 1; s >= 0; s--) {
            const o = offsets[s];
            const n = batchSizes[s];
            if (s > 0) {
              const p = offsets[s - 1] * H;
              cell.backwardStep(run, o, n, run.dh, p, run.dc, p);
            } else {
              cell.backwardStep(run, o, n, dh0s, 0, dc0s, 0);
            }
          }
        }

        cell.accumulateGrads(run);
        if (d === 0) cell.inputGrad(run, dIn);
        else {
          const tmp = ws.get("dInRev", N * inSize);
          cell.inputGrad(run, tmp);
          be.scatterRows(N, inSize, plan.revIdx, 0, tmp, 0, inSize, dIn, 0, inSize, true);
        }
        be.scatterRows(B, H, plan.perm, 0, dh0s, 0, H, dh0, sOff, H, false);
        if (cell.hasCellState) be.scatterRows(B, H, plan.perm, 0, dc0s, 0, H, dc0, sOff, H, false);
      }
      dOut = dIn;
      const mask = l > 0 ? this.dropMasks[l - 1] : null;
      if (mask) be.mul(N * D * H, dOut, 0, mask, 0, dOut, 0);
    }

    this.haveBackward = true;
    const dx = resultArray(be, ws, "dx", T * B * X);
    be.scatterRows(N, X, plan.packIdx, 0, dOut, 0, X, dx, 0, X, false);
    const result: RecurrentInputGradients = {
      dx: { shape: [T, B, X], data: handOut(be, dx, T * B * X) },
      dh0: { shape: stateShape.slice(), data: dh0.slice(0, L * D * B * H) },
    };
    if (cell.hasCellState) result.dc0 = { shape: stateShape.slice(), data: dc0.slice(0, L * D * B * H) };
    return result;
  }

  // ---------------------------------------------------------------- inspection

  /**
   * What the last `forward` (and `backward`, when one followed it) kept for one layer, direction
   * and batch element, read from the very buffers the kernels wrote (src/inspect/ builds on this):
   * per time step t in [0, lengths[b]) of the input's own order (the reverse direction's state at
   * t is the one after reading x_{len-1} .. x_t):
   * - `gates` [len][G*H]: the gate activations in PyTorch's block order (LSTM i, f, g, o; GRU
   *   r, z, n), absent for the plain RNN, which has none;
   * - `h`, `c` [len][H]: the hidden state (and the LSTM cell state) after step t;
   * - after a backward, `dh` [len][H] = dL/dh_t, the total gradient (through the output and
   *   through step t+1), and for the LSTM `dc` [len][H] = dL/dc_t, the total gradient w.r.t. the
   *   cell state: the part through c_{t+1} that the backward loop accumulated plus the part through
   *   h_t = o tanh(c_t), dh_t o (1 - tanh(c_t)^2), the `dc_t` of src/cells/lstm.ts.
   */
  trace(layer: number, direction: number, b: number): RecurrentTrace {
    this.live();
    const where = `${this.where}.trace`;
    const plan = this.plan;
    if (!this.haveForward || !plan) throw new RnnkitError(`${where}: expected a forward() call first, got none`);
    const { D, G, cell } = this;
    const H = this.hiddenSize;
    const index = (name: string, v: number, n: number): void => {
      if (!Number.isInteger(v) || v < 0 || v >= n) throw new RnnkitError(`${where}: ${name}: expected an integer in [0, ${n - 1}], got ${describe(v)}`);
    };
    index("layer", layer, this.numLayers);
    index("direction", direction, D);
    index("b", b, plan.B);
    const run = this.runs[layer * D + direction];
    let k = 0;
    while (plan.perm[k] !== b) k++;
    let len = 0;
    while (len < plan.steps && plan.batchSizes[len] > k) len++;
    const rows = (src: Floats, width: number, col = 0, cols = width): number[][] => {
      const out: number[][] = [];
      for (let t = 0; t < len; t++) {
        const q = plan.offsets[t] + k;
        const r = direction === 0 ? q : plan.revIdx[q];
        out.push(Array.from(src.subarray(r * width + col, r * width + col + cols)));
      }
      return out;
    };
    const res: RecurrentTrace = { steps: len, h: rows(run.h, H) };
    if (this.cellType === "lstm") res.gates = rows(run.gates, G * H);
    else if (this.cellType === "gru") res.gates = rows(run.act, G * H);
    if (cell.hasCellState) res.c = rows(run.c, H);
    if (this.haveBackward) {
      res.dh = rows(run.dh, H);
      if (cell.hasCellState) {
        const dc = rows(run.dc, H);
        const o = rows(run.gates, G * H, 3 * H, H);
        for (let t = 0; t < len; t++) {
          for (let j = 0; j < H; j++) {
            const tc = Math.tanh(res.c![t][j]);
            dc[t][j] += res.dh[t][j] * o[t][j] * (1 - tc * tc);
          }
        }
        res.dc = dc;
      }
    }
    return res;
  }

  // ---------------------------------------------------------------- plumbing

  private makePlan(T: number, B: number, lengths: number[] | null): Plan {
    const lens = lengths ?? new Array<number>(B).fill(T);
    const key = `${T}:${B}:${lens.join(",")}`;
    if (this.plan && this.plan.key === key) return this.plan;
    const order = Array.from({ length: B }, (_, b) => b);
    order.sort((a, b) => lens[b] - lens[a] || a - b); // longest first, stable
    const steps = lens[order[0]];
    const batchSizes: number[] = [];
    const offsets: number[] = [];
    let N = 0;
    for (let s = 0; s < steps; s++) {
      let n = 0;
      while (n < B && lens[order[n]] > s) n++;
      batchSizes.push(n);
      offsets.push(N);
      N += n;
    }
    const ws = this.ws;
    const packIdx = ws.index("packIdx", N);
    const revIdx = ws.index("revIdx", N);
    const ident = ws.index("ident", N);
    const lastIdx = ws.index("lastIdx", B);
    const perm = ws.index("perm", B);
    for (let s = 0; s < steps; s++) {
      for (let k = 0; k < batchSizes[s]; k++) {
        const row = offsets[s] + k;
        const len = lens[order[k]];
        packIdx[row] = s * B + order[k];
        revIdx[row] = offsets[len - 1 - s] + k;
        ident[row] = row;
      }
    }
    for (let k = 0; k < B; k++) {
      perm[k] = order[k];
      lastIdx[order[k]] = offsets[lens[order[k]] - 1] + k;
    }
    const seq = { steps, offsets: Int32Array.from(offsets), batchSizes: Int32Array.from(batchSizes) };
    this.plan = { T, B, steps, N, batchSizes, offsets, seq, packIdx, revIdx, lastIdx, perm, ident, key };
    return this.plan;
  }

  private makeRun(l: number, d: number, inSize: number, N: number, B: number): Run {
    const { ws, cell, G } = this;
    const H = this.hiddenSize;
    const id = `${l}.${d}`;
    const need = cell.needs;
    return {
      be: this.backend,
      w: this.weights[l * this.D + d],
      H,
      inSize,
      N,
      x: d === 0 ? NO_ARRAY : ws.get(`xr${id}`, N * inSize),
      gates: ws.get(`gates${id}`, N * G * H),
      gh: need.gh ? ws.get(`gh${id}`, N * G * H) : NO_ARRAY,
      act: need.act ? ws.get(`act${id}`, N * G * H) : NO_ARRAY,
      rh: need.rh ? ws.get(`rh${id}`, N * H) : NO_ARRAY,
      hPrev: ws.get(`hPrev${id}`, Math.max(N, B) * H),
      h: ws.get(`h${id}`, N * H),
      cPrev: cell.hasCellState ? ws.get(`cPrev${id}`, Math.max(N, B) * H) : NO_ARRAY,
      c: cell.hasCellState ? ws.get(`c${id}`, N * H) : NO_ARRAY,
      bias: ws.get(`bias${id}`, G * H),
      // Backward buffers are allocated on the first backward (inference never needs them).
      dh: NO_ARRAY, dc: NO_ARRAY, dG: NO_ARRAY, dGh: NO_ARRAY, drh: NO_ARRAY,
    };
  }

  private ensureBackwardBuffers(run: Run, l: number, d: number, B: number): void {
    const { ws, cell, G } = this;
    const H = this.hiddenSize;
    const N = run.N;
    const id = `${l}.${d}`;
    run.dh = ws.get(`dh${id}`, N * H);
    run.dG = ws.get(`dG${id}`, N * G * H);
    if (cell.hasCellState) run.dc = ws.get(`dc${id}`, N * H);
    if (cell.needs.dGh) run.dGh = ws.get(`dGh${id}`, N * G * H);
    if (cell.needs.drh) run.drh = ws.get(`drh${id}`, B * H);
  }
}

/**
 * A zero-filled array for a result of n elements: on a backend of plain arrays, a fresh one that
 * is handed to the caller as it is (no zeroing of a workspace, no copy out); elsewhere the
 * workspace's, zeroed, copied out by handOut.
 */
function resultArray(be: Backend, ws: Workspace, name: string, n: number): Floats {
  if (be.plainArrays) return be.alloc(n);
  const a = ws.get(name, n);
  be.zero(n, a, 0);
  return a;
}
function handOut(be: Backend, a: Floats, n: number): Floats {
  return be.plainArrays ? a : a.slice(0, n);
}

/** Copies user numbers into a backend array (the boundary, once per call). */
function copyIn(dst: Floats, src: ArrayLike<number>): Floats {
  if (ArrayBuffer.isView(src)) dst.set(src as Floats, 0);
  else for (let i = 0; i < src.length; i++) dst[i] = src[i];
  return dst;
}

function checkLengths(where: string, lengths: ArrayLike<number> | undefined, T: number, B: number): number[] | null {
  if (lengths === undefined || lengths === null) return null;
  if (typeof lengths !== "object" || typeof lengths.length !== "number") {
    throw new RnnkitError(`${where}: lengths: expected an array of B = ${B} integers, got ${describe(lengths)}`);
  }
  if (lengths.length !== B) {
    throw new RnnkitError(`${where}: lengths: expected B = ${B} lengths (one per batch element), got ${lengths.length}`);
  }
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const v = lengths[b];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > T) {
      throw new RnnkitError(`${where}: lengths[${b}]: expected an integer in [1, T] = [1, ${T}], got ${describe(v)}`);
    }
    out.push(v);
  }
  return out;
}
