import assert from "node:assert/strict";
import { test } from "node:test";
import { NonFiniteError, checkFinite } from "./tensor.js";

test("checkFinite finds NaN and +-Infinity anywhere (the tail after the last group of four included), in every array kind, and says where", () => {
  for (const n of [1, 3, 4, 5, 17, 1000, 1003]) {
    for (const make of [(k: number) => new Float32Array(k), (k: number) => new Float64Array(k), (k: number) => new Array<number>(k).fill(0)]) {
      const a = make(n) as Float32Array;
      for (let i = 0; i < n; i++) a[i] = (i % 7) - 3.5e30 * (i % 2); // finite, some huge
      checkFinite("f", "x", a, [n]);
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of new Set([0, n - 1, Math.floor(n / 2), n - (n % 4 || 4)])) {
          const b = a.slice() as Float32Array;
          b[at] = bad;
          assert.throws(() => checkFinite("f", "x", b, [n]), (e: Error) => e instanceof NonFiniteError && e.message === `f: x: expected finite numbers, got ${bad} at [${at}] (flat index ${at})`, `n=${n} at=${at} ${bad}`);
        }
      }
    }
  }
  // float32 values whose difference would overflow in float32 are fine: the sum runs in float64
  checkFinite("f", "x", Float32Array.of(3.4e38, -3.4e38, 3.4e38), [3]);
});
