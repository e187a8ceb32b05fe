/**
 * Test helpers shared by the co-located tests (not exported from the package).
 */
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
