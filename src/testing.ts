/**
 * Test helpers shared by the co-located tests (not exported from the package).
 */
import { JsBackend } from "./backend/js.js";
import type { Floats } from "./tensor.js";

/**
 * The central finite difference (f(x + eps) - f(x - eps)) / 2 eps of `loss` w.r.t. data[i]
 * (Torch7 nn.Jacobian's rule); data[i] is restored afterwards.
 */
export function centralDifference(data: Floats, i: number, loss: () => number, eps = 1e-6): number {
  const keep = data[i];
  data[i] = keep + eps;
  const up = loss();
  data[i] = keep - eps;
  const down = loss();
  data[i] = keep;
  return (up - down) / (2 * eps);
}

/** sum a_i b_i, in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** A reference backend that counts the numbers it allocates (the fuzz tests bound a load's memory by the file's size). */
export class CountingBackend extends JsBackend {
  floats = 0;
  override alloc(n: number): Floats {
    this.floats += n;
    return super.alloc(n);
  }
  override allocIndex(n: number): Int32Array {
    this.floats += n;
    return super.allocIndex(n);
  }
}

/** Softmax of each row of O logits, written from its definition (the oracle of exported graphs' softmax). */
export function softmaxRows(x: ArrayLike<number>, O: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / O; r++) {
    let m = -Infinity, s = 0;
    for (let k = 0; k < O; k++) m = Math.max(m, x[r * O + k]);
    for (let k = 0; k < O; k++) s += Math.exp(x[r * O + k] - m);
    for (let k = 0; k < O; k++) out[r * O + k] = Math.exp(x[r * O + k] - m) / s;
  }
  return out;
}
