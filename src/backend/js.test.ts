/**
 * The reference backend's GEMM against the definition (a triple loop over explicit indices), for
 * every transpose combination, offsets, leading dimensions, alpha and beta.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../rng.js";
import { JsBackend } from "./js.js";

test("gemm matches its definition for all transposes, offsets, leading dimensions, alpha, beta", () => {
  const rng = new Rng(1);
  const be = new JsBackend({ dtype: "float64" });
  for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [4, 2, 9], [6, 6, 1]]) {
    for (const transA of [false, true]) for (const transB of [false, true]) for (const [alpha, beta] of [[1, 0], [0.5, 1], [-2, 0.25]]) {
      const lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3;
      const aOff = 3, bOff = 5, cOff = 2;
      const A = Float64Array.from({ length: aOff + lda * (transA ? k : m) }, () => rng.uniform(-1, 1));
      const B = Float64Array.from({ length: bOff + ldb * (transB ? n : k) }, () => rng.uniform(-1, 1));
      const C = Float64Array.from({ length: cOff + ldc * m }, () => rng.uniform(-1, 1));
      if (beta === 0) C.fill(NaN); // beta = 0 ignores C, as in BLAS
      const want = Float64Array.from(C);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const a = transA ? A[aOff + p * lda + i] : A[aOff + i * lda + p];
          const b = transB ? B[bOff + j * ldb + p] : B[bOff + p * ldb + j];
          s += a * b;
        }
        const ci = cOff + i * ldc + j;
        want[ci] = alpha * s + (beta === 0 ? 0 : beta * C[ci]);
      }
      be.gemm(transA, transB, m, n, k, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      for (let i = 0; i < C.length; i++) {
        if (Number.isNaN(want[i])) assert.ok(Number.isNaN(C[i]), "padding outside C must be untouched");
        else assert.ok(Math.abs(C[i] - want[i]) < 1e-12, `m${m} n${n} k${k} tA${transA} tB${transB}: C[${i}] ${C[i]} vs ${want[i]}`);
      }
    }
  }
});
