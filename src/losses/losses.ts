/**
 * Losses, numerically stable and mask-aware. Each returns the loss and, in the same pass, its
 * gradient w.r.t. the prediction (the fused kernels of the backend):
 *
 * - `crossEntropy`: softmax cross-entropy over integer targets; targets equal to `ignoreIndex`
 *   (padding) count nothing. Mean over counted rows (PyTorch's default) or sum. Optional
 *   per-class `weight` with PyTorch's semantics: row r counts weight[target_r], and the mean is
 *   sum_r weight[t_r] * loss_r / sum_r weight[t_r] over the counted rows.
 * - `mseLoss`: mean squared error, optionally weighted by a 0/1 mask (mean over the mask's sum).
 * - `bceWithLogits`: binary cross-entropy on logits, log-sum-exp stable, optional mask.
 *
 * Shapes: logits [R, V] (or [..., V]), targets R integers; predictions and targets of equal size.
 */
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { workspaceOf } from "../backend/workspace.js";
import { type Floats, NonFiniteError, RnnkitError, type Tensor, type TensorLike, describe, sizeOf } from "../tensor.js";

export type Reduction = "mean" | "sum";

/**
 * The target the models write at padded steps, passed to crossEntropy as its ignore index (the
 * models check every real target to be an id >= 0 first, so none can collide with it).
 */
export const PADDED = -1;

export interface LossResult {
  /** The reduced loss. */
  loss: number;
  /** The number of elements (or rows) that counted. */
  count: number;
  /** d loss / d prediction, same shape as the prediction. */
  grad: Tensor;
}

const buf = (be: Backend, name: string, n: number): Floats => workspaceOf(be).get(name, n);
const idx = (be: Backend, n: number): Int32Array => workspaceOf(be).index("targets", n);

function into(be: Backend, name: string, src: ArrayLike<number>): Floats {
  const b = buf(be, name, src.length);
  if (ArrayBuffer.isView(src)) b.set(src as Floats);
  else for (let i = 0; i < src.length; i++) b[i] = src[i];
  return b;
}

export function crossEntropy(
  logits: TensorLike, targets: ArrayLike<number>,
  opts: { ignoreIndex?: number; reduction?: Reduction; backend?: Backend; weight?: ArrayLike<number> | null } = {},
): LossResult {
  const where = "crossEntropy";
  const be = opts.backend ?? getBackend();
  const V = logits.shape[logits.shape.length - 1];
  const R = V ? sizeOf(logits.shape) / V : 0;
  if (!(V > 0) || logits.data.length !== R * V) throw new RnnkitError(`${where}: logits: expected [R, V] numbers, got shape [${logits.shape}] with ${logits.data.length} numbers`);
  if (targets.length !== R) throw new RnnkitError(`${where}: targets: expected R = ${R} targets (one per row of logits), got ${targets.length}`);
  const ignore = opts.ignoreIndex ?? -100;
  const t = idx(be, R);
  let count = 0;
  for (let r = 0; r < R; r++) {
    const v = targets[r];
    if (v !== ignore && (!Number.isInteger(v) || v < 0 || v >= V)) {
      throw new RnnkitError(`${where}: targets[${r}]: expected an integer in [0, V-1] = [0, ${V - 1}] or the ignore index ${ignore}, got ${describe(v)}`);
    }
    if (v !== ignore) count++;
    t[r] = v;
  }
  const sum = opts.reduction === "sum";
  const x = into(be, "ce.x", logits.data);
  if (opts.weight) {
    const w = opts.weight;
    if (w.length !== V) throw new RnnkitError(`${where}: weight: expected V = ${V} class weights, got ${w.length}`);
    for (let v = 0; v < V; v++) if (!(w[v] >= 0) || !Number.isFinite(w[v])) throw new RnnkitError(`${where}: weight[${v}]: expected a finite number >= 0, got ${describe(w[v])}`);
    let wsum = 0;
    for (let r = 0; r < R; r++) if (t[r] !== ignore) wsum += w[t[r]];
    const norm = sum ? 1 : wsum > 0 ? 1 / wsum : 0;
    // one kernel call per row, each scaled by its class weight (the rows' losses differ in weight)
    let total = 0;
    for (let r = 0; r < R; r++) {
      const wr = t[r] === ignore ? 0 : w[t[r]];
      total += wr * be.softmaxCrossEntropy(1, V, x, r * V, t, r, ignore, wr * norm, x, r * V);
    }
    checkLoss(where, total);
    return { loss: total * norm, count, grad: { shape: [...logits.shape], data: x.slice(0, R * V) } };
  }
  const scale = sum ? 1 : count > 0 ? 1 / count : 0;
  const total = be.softmaxCrossEntropy(R, V, x, 0, t, 0, ignore, scale, x, 0);
  checkLoss(where, total);
  return { loss: sum ? total : count > 0 ? total / count : 0, count, grad: { shape: [...logits.shape], data: x.slice(0, R * V) } };
}


function pairwise(
  where: string, kind: "mse" | "bce", pred: TensorLike, target: ArrayLike<number>,
  opts: { mask?: ArrayLike<number>; reduction?: Reduction; backend?: Backend },
): LossResult {
  const be = opts.backend ?? getBackend();
  const n = pred.data.length;
  if (target.length !== n) throw new RnnkitError(`${where}: target: expected ${n} numbers (the size of the prediction [${pred.shape}]), got ${target.length}`);
  if (opts.mask && opts.mask.length !== n) throw new RnnkitError(`${where}: mask: expected ${n} numbers, got ${opts.mask.length}`);
  const p = into(be, `${kind}.p`, pred.data);
  const t = into(be, `${kind}.t`, target);
  const w = opts.mask ? into(be, `${kind}.w`, opts.mask) : null;
  let count = n;
  if (w) {
    count = 0;
    for (let i = 0; i < n; i++) count += w[i];
  }
  const sum = opts.reduction === "sum";
  const scale = sum ? 1 : count > 0 ? 1 / count : 0;
  const g = buf(be, `${kind}.g`, n);
  const total = kind === "mse" ? be.mse(n, p, 0, t, 0, w, 0, scale, g, 0) : be.bceWithLogits(n, p, 0, t, 0, w, 0, scale, g, 0);
  checkLoss(where, total);
  return { loss: sum ? total : count > 0 ? total / count : 0, count, grad: { shape: [...pred.shape], data: g.slice(0, n) } };
}

export function mseLoss(pred: TensorLike, target: ArrayLike<number>, opts: { mask?: ArrayLike<number>; reduction?: Reduction; backend?: Backend } = {}): LossResult {
  return pairwise("mseLoss", "mse", pred, target, opts);
}

export function bceWithLogits(logits: TensorLike, target: ArrayLike<number>, opts: { mask?: ArrayLike<number>; reduction?: Reduction; backend?: Backend } = {}): LossResult {
  return pairwise("bceWithLogits", "bce", logits, target, opts);
}

function checkLoss(where: string, v: number): void {
  if (!Number.isFinite(v)) throw new NonFiniteError(`${where}: the loss is ${v}: expected a finite number (are the predictions finite?)`);
}

/** How many rows of [R, V] logits have their arg-max at the target (rows whose target is `ignore` do not count). */
export function argmaxHits(logits: ArrayLike<number>, targets: ArrayLike<number>, V: number, ignore: number = PADDED): number {
  let hits = 0;
  for (let i = 0; i < targets.length; i++) {
    if (targets[i] === ignore) continue;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[i * V + v] > logits[i * V + best]) best = v;
    if (best === targets[i]) hits++;
  }
  return hits;
}
