/**
 * The kernel tests every fast backend passes against the JsBackend oracle: every kernel, odd sizes
 * (not multiples of the vector width or the cache blocks), offsets, leading dimensions, all
 * transpose combinations, alpha/beta, NaN in C with beta = 0, large magnitudes, aliasing.
 * wasm.test.ts and native.test.ts run them (native once per instruction set it can run).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "./backend.js";
import { JsBackend } from "./js.js";
import { gatesOf } from "../gates.js";

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const js = new JsBackend();

/** A wasm array and a plain copy for the oracle, same contents. */
export function pair(be: Backend, n: number, fill: (i: number) => number): [Float32Array, Float32Array] {
  const w = be.alloc(n) as Float32Array;
  for (let i = 0; i < n; i++) w[i] = fill(i);
  return [w, Float32Array.from(w)];
}

export function assertClose(
  what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (g === w) continue;
    const d = Math.abs(g - w);
    if (!(d <= tol(i))) assert.fail(`${what}: element ${i}: got ${g}, want ${w} (|diff| ${d} > ${tol(i)})`);
  }
}

export const pointTol = (want: ArrayLike<number>) => (i: number) => 1e-5 + 1e-4 * Math.abs(want[i]);

// ---- GEMM ----

export interface GemmCase {
  transA: boolean; transB: boolean; m: number; n: number; k: number; alpha: number; beta: number;
  lda: number; ldb: number; ldc: number; aOff: number; bOff: number; cOff: number;
}

export function runGemmCase(be: Backend, cs: GemmCase, r: () => number): void {
  const { transA, transB, m, n, k, alpha, beta, lda, ldb, ldc, aOff, bOff, cOff } = cs;
  const aRows = transA ? k : m, bRows = transB ? n : k;
  const aLen = aOff + Math.max(0, aRows - 1) * lda + (transA ? m : k) + 3;
  const bLen = bOff + Math.max(0, bRows - 1) * ldb + (transB ? k : n) + 3;
  const cLen = cOff + (m - 1) * ldc + n + 3;
  const [aw, aj] = pair(be, aLen, () => r() * 2 - 1);
  const [bw, bj] = pair(be, bLen, () => r() * 2 - 1);
  // C: NaN inside the window when beta = 0 (must be ignored), a sentinel outside it
  const inWindow = (i: number) => {
    const q = i - cOff;
    if (q < 0) return false;
    const row = Math.floor(q / ldc), col = q % ldc;
    return row < m && col < n;
  };
  const [cw, cj] = pair(be, cLen, (i) => (inWindow(i) ? (beta === 0 ? NaN : r() * 2 - 1) : 12345));
  // tolerance from sum |alpha a b| + |beta c| (float64), rounding of either side
  const S = new Float64Array(cLen);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? aj[aOff + p * lda + i] : aj[aOff + i * lda + p];
        const bv = transB ? bj[bOff + j * ldb + p] : bj[bOff + p * ldb + j];
        s += Math.abs(av * bv);
      }
      const ci = cOff + i * ldc + j;
      S[ci] = Math.abs(alpha) * s + (beta === 0 ? 0 : Math.abs(beta * cj[ci]));
    }
  }
  js.gemm(transA, transB, m, n, k, alpha, aj, aOff, lda, bj, bOff, ldb, beta, cj, cOff, ldc);
  be.gemm(transA, transB, m, n, k, alpha, aw, aOff, lda, bw, bOff, ldb, beta, cw, cOff, ldc);
  const desc = `gemm ${transA ? "T" : "N"}${transB ? "T" : "N"} m=${m} n=${n} k=${k} alpha=${alpha} beta=${beta} ` +
    `lda=${lda} ldb=${ldb} ldc=${ldc} offs=${aOff},${bOff},${cOff}`;
  assertClose(desc, cw, cj, (i) => 1e-6 + 2.5 * (k + 2) * 2 ** -24 * S[i]);
  for (let i = 0; i < cLen; i++) {
    if (!inWindow(i)) assert.equal(cw[i], 12345, `${desc}: wrote outside C at ${i}`);
    else assert.ok(!Number.isNaN(cw[i]), `${desc}: NaN at ${i}`);
  }
  // the inputs are untouched
  assertClose(`${desc}: A`, aw, aj, () => 0);
  assertClose(`${desc}: B`, bw, bj, () => 0);
  be.free(aw);
  be.free(bw);
  be.free(cw);
}

export function randomGemmCases(seed: number, count: number, sizes: number[]): GemmCase[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const out: GemmCase[] = [];
  for (let t = 0; t < count; t++) {
    const transA = (t & 1) === 1, transB = (t & 2) === 2;
    const m = pick(sizes), n = pick(sizes), k = pick(sizes);
    const ext = () => (r() < 0.5 ? 0 : 1 + Math.floor(r() * 9));
    out.push({
      transA, transB, m, n, k,
      alpha: pick([1, 1, -0.5, 2.5, 0]),
      beta: pick([0, 0, 1, 0.3, -1]),
      lda: (transA ? m : k) + ext(), ldb: (transB ? k : n) + ext(), ldc: n + ext(),
      aOff: pick([0, 1, 3, 4, 7]), bOff: pick([0, 2, 5, 8]), cOff: pick([0, 1, 3, 6]),
    });
  }
  return out;
}


/** A backend whose kernels the suite tests, with `mathFn`: exp, sigmoid, tanh as its cell kernels compute them. */
export type TestedBackend = Backend & {
  mathFn(fn: 0 | 1 | 2, n: number, x: Float32Array, xOff: number, out: Float32Array, oOff: number): void;
};

/**
 * Registers the kernel tests of `be`, each named `${label}: ...`; `setup` runs at the start of each
 * (e.g. to choose the instruction set of the native kernels).
 */
export function kernelSuite(label: string, be: TestedBackend, setup: () => void = () => {}): void {
  test(`${label}: gemm: all transposes, odd sizes, offsets, leading dims, alpha/beta, NaN in C with beta = 0`, () => {
    setup();
    const r = rng(1);
    const cases = randomGemmCases(7, 400, [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 31, 33, 64]);
    for (const cs of cases) runGemmCase(be, cs, r);
  });

  test(`${label}: gemm: 1 to 5 rows of C (the few-rows path of a decoder step or a batch of one, and the first size past it), k across the cache blocks`, () => {
    setup();
    const r = rng(9);
    for (const transA of [false, true]) for (const transB of [false, true]) {
      for (const m of [1, 2, 3, 4, 5]) for (const [n, k] of [[1, 1], [33, 17], [100, 260], [7, 513]]) {
        runGemmCase(be, { transA, transB, m, n, k, alpha: 0.75, beta: m % 2 ? 0 : 0.5, lda: (transA ? m : k) + 1, ldb: (transB ? k : n) + 2, ldc: n + 1, aOff: 2, bOff: 3, cOff: 1 }, r);
      }
    }
  });

  test(`${label}: gemm: every (transA, transB, alpha, beta) combination on an odd shape`, () => {
    setup();
    const r = rng(2);
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const alpha of [0, 1, -1.75]) {
          for (const beta of [0, 1, 0.5]) {
            for (const [m, n, k] of [[13, 31, 33], [5, 3, 7], [1, 1, 1], [33, 9, 1]]) {
              runGemmCase(be, {
                transA, transB, m, n, k, alpha, beta,
                lda: (transA ? m : k) + 3, ldb: (transB ? k : n) + 1, ldc: n + 2, aOff: 5, bOff: 1, cOff: 3,
              }, r);
            }
          }
        }
      }
    }
  });

  test(`${label}: gemm: k = 0 scales C by beta (beta = 0 clears NaN)`, () => {
    setup();
    const c = be.alloc(12);
    c.fill(NaN);
    be.gemm(false, true, 3, 4, 0, 1, c, 0, 1, c, 0, 1, 0, c, 0, 4);
    assert.ok(c.every((v) => v === 0));
    c.fill(2);
    be.gemm(true, false, 3, 4, 0, 1, c, 0, 3, c, 0, 4, 0.25, c, 0, 4);
    assert.ok(c.every((v) => v === 0.5));
    be.free(c);
  });

  test(`${label}: gemm: shapes crossing the cache blocks (k > 256, m > 192, n > 2048)`, () => {
    setup();
    const r = rng(3);
    const shapes: [number, number, number][] = [
      [197, 41, 300], [9, 2100, 5], [200, 17, 513], [3, 2055, 260], [385, 9, 257],
      // few rows (B read in place) at and beyond the small-m depth limit (k <= 6144 for m <= 8)
      [8, 37, 6144], [3, 20, 7001], [1, 9, 6145], [5, 16, 1000],
    ];
    let t = 0;
    for (const [m, n, k] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const beta = [0, 1, -0.5][t++ % 3];
          runGemmCase(be, {
            transA, transB, m, n, k, alpha: t % 2 ? 1 : 0.75, beta,
            lda: (transA ? m : k) + (t % 3), ldb: (transB ? k : n) + 1, ldc: n + (t % 2), aOff: t % 4, bOff: 3, cOff: 1,
          }, r);
        }
      }
    }
  });

  test(`${label}: gemm: the RNN shapes (LSTM step, input projection, dX, dW)`, () => {
    setup();
    const r = rng(4);
    const base = { alpha: 1, aOff: 0, bOff: 0, cOff: 0 };
    runGemmCase(be, { ...base, transA: false, transB: true, m: 32, n: 512, k: 128, beta: 1, lda: 128, ldb: 128, ldc: 512 }, r);
    runGemmCase(be, { ...base, transA: false, transB: true, m: 160, n: 512, k: 64, beta: 0, lda: 64, ldb: 64, ldc: 512 }, r);
    runGemmCase(be, { ...base, transA: false, transB: false, m: 160, n: 64, k: 512, beta: 0, lda: 512, ldb: 64, ldc: 64 }, r);
    runGemmCase(be, { ...base, transA: true, transB: false, m: 512, n: 64, k: 160, beta: 1, lda: 512, ldb: 64, ldc: 64 }, r);
  });

  // ---- GEMM with B packed once (backends with packB) ----

  if (be.packB && be.gemmPacked) {
    test(`${label}: packB + gemmPacked: both transposes of B, odd sizes, offsets, leading dims, alpha/beta, reuse`, () => {
      setup();
      const r = rng(31);
      const sizes = [1, 2, 3, 5, 8, 13, 16, 17, 31, 33, 64, 100, 129, 260, 513];
      const pick = (xs: number[]) => xs[Math.floor(r() * xs.length)];
      for (let t = 0; t < 120; t++) {
        const transB = t % 2 === 1;
        const m = pick(sizes.slice(0, 12)), n = pick(sizes), k = pick(sizes);
        const alpha = [1, -0.5, 2][t % 3], beta = [0, 1, 0.25][(t >> 1) % 3];
        const lda = k + (t % 3), ldb = (transB ? k : n) + (t % 4), ldc = n + (t % 2);
        const aOff = t % 5, bOff = t % 3, cOff = t % 4;
        const bRows = transB ? n : k;
        const [bw, bj] = pair(be, bOff + (bRows - 1) * ldb + (transB ? k : n) + 2, () => r() * 2 - 1);
        const packed = be.packB!(transB, k, n, bw, bOff, ldb);
        bw.fill(NaN); // the packed copy is all gemmPacked reads
        // two products with the same packed B (as the steps of a sequence)
        for (let rep = 0; rep < 2; rep++) {
          const [aw, aj] = pair(be, aOff + (m - 1) * lda + k + 2, () => r() * 2 - 1);
          const [cw, cj] = pair(be, cOff + (m - 1) * ldc + n + 2, () => (beta === 0 ? NaN : r() * 2 - 1));
          for (let i = 0; i < cOff; i++) cw[i] = cj[i] = 777;
          js.gemm(false, transB, m, n, k, alpha, aj, aOff, lda, bj, bOff, ldb, beta, cj, cOff, ldc);
          be.gemmPacked!(m, n, k, alpha, aw, aOff, lda, packed, beta, cw, cOff, ldc);
          const desc = `gemmPacked ${transB ? "NT" : "NN"} m=${m} n=${n} k=${k} alpha=${alpha} beta=${beta} rep=${rep}`;
          for (let i = 0; i < cw.length; i++) {
            const q = i - cOff, row = Math.floor(q / ldc), col = q % ldc;
            const inside = q >= 0 && row < m && col < n;
            if (!inside) {
              assert.ok(Object.is(cw[i], cj[i]) || (Number.isNaN(cw[i]) && Number.isNaN(cj[i])), `${desc}: wrote outside C at ${i}`);
              continue;
            }
            const tol = 1e-6 + 2.5 * (k + 2) * 2 ** -24 * (Math.abs(alpha) * k + Math.abs(beta) * 1);
            assert.ok(Math.abs(cw[i] - cj[i]) <= tol, `${desc}: C[${i}] ${cw[i]}, want ${cj[i]}`);
          }
          be.free(aw);
          be.free(cw);
        }
        be.free(bw);
      }
    });
  }

  if (be.recurrentForward && be.packB) {
    test(`${label}: recurrentForward (the whole forward loop) equals js's: LSTM, GRU, RNN, shrinking batches, odd H`, () => {
      setup();
      const r = rng(41);
      const cases: ["lstm" | "gru" | "rnn", boolean, boolean, number, number[]][] = [
        ["lstm", false, false, 5, [3, 3, 2, 1]], ["lstm", true, false, 17, [4, 4, 4, 3, 1, 1]], ["lstm", false, false, 33, [2]],
        ["gru", false, false, 7, [3, 2, 2, 1]], ["gru", true, false, 16, [5, 5, 1]], ["rnn", false, false, 9, [4, 3, 3, 2, 2]],
        ["rnn", false, true, 13, [2, 2, 1]], ["lstm", false, false, 64, [7, 6, 6, 5]],
      ];
      for (const [cell, hard, relu, H, sizes] of cases) {
        for (const [withBias, D] of (cell === "gru" ? [[false, 1], [true, 2]] : [[false, 1], [false, 2]]) as [boolean, number][]) {
          const G = gatesOf(cell);
          const GH = G * H;
          const steps = sizes.length;
          const offsets = new Int32Array(steps), batchSizes = Int32Array.from(sizes);
          for (let s = 1; s < steps; s++) offsets[s] = offsets[s - 1] + sizes[s - 1];
          const N = offsets[steps - 1] + sizes[steps - 1];
          // per direction: W_hh, b_hh, then gates, gh, act, hPrev, h, cPrev, c
          const dirs = Array.from({ length: D }, () => [
            pair(be, GH * H, () => (r() * 2 - 1) * 0.4), pair(be, GH, () => r() * 2 - 1),
            ...[N * GH, N * GH, N * GH, N * H, N * H, N * H, N * H].map((n, i) => pair(be, n, i === 0 ? preact(r) : () => r() * 2 - 1)),
          ]);
          const run = (b: Backend, idx: 0 | 1) => {
            b.recurrentForward!(cell, hard, relu, steps, offsets, batchSizes, H, dirs.map((arrs) => {
              const [w, bias, gates, gh, act, hPrev, h, cPrev, c] = arrs.map((p) => p[idx]);
              return { whh: b.packB!(true, H, GH, w, 0, H), bhh: withBias ? bias : null, gates, gh, act, hPrev, h, cPrev, c };
            }));
          };
          run(js, 1);
          run(be, 0);
          const what = `recurrentForward ${cell} hard=${hard} relu=${relu} H=${H} sizes=${sizes} bias=${withBias} D=${D}`;
          dirs.forEach((arrs, d) => arrs.forEach(([w, j], i) => assertClose(`${what}: direction ${d} array ${i}`, w, j, pointTol(j))));
          for (const arrs of dirs) for (const [w] of arrs) be.free(w);
        }
      }
    });
  }

  if (be.recurrentBackward && be.packB) {
    test(`${label}: recurrentBackward (the whole backward loop) equals js's: LSTM, GRU, RNN, shrinking batches, odd H`, () => {
      setup();
      const r = rng(43);
      const cases: ["lstm" | "gru" | "rnn", boolean, boolean, number, number[]][] = [
        ["lstm", false, false, 5, [3, 3, 2, 1]], ["lstm", true, false, 17, [4, 4, 4, 3, 1, 1]], ["gru", false, false, 7, [3, 2, 2, 1]],
        ["gru", true, false, 16, [5, 5, 1]], ["rnn", false, false, 9, [4, 3, 3, 2, 2]], ["rnn", false, true, 13, [2, 2, 1]],
        ["lstm", false, false, 64, [7, 6, 6, 5]],
      ];
      for (const [cell, hard, relu, H, sizes] of cases) {
        const G = gatesOf(cell);
        const GH = G * H;
        const steps = sizes.length;
        const offsets = new Int32Array(steps), batchSizes = Int32Array.from(sizes);
        for (let s = 1; s < steps; s++) offsets[s] = offsets[s - 1] + sizes[s - 1];
        const N = offsets[steps - 1] + sizes[steps - 1], B = sizes[0];
        const unit = () => r(), signed = () => r() * 2 - 1;
        // W_hh, then gates (activations in (0, 1); the GRU's n and the LSTM's g in (-1, 1) do not
        // matter to the comparison), gh, hPrev, h, cPrev, c, dh, dc, dG, dGh, dh0, dc0
        const arrs = [
          pair(be, GH * H, () => (r() * 2 - 1) * 0.4),
          ...[[N * GH, unit], [N * GH, signed], [N * H, signed], [N * H, signed], [N * H, signed], [N * H, signed], [N * H, signed], [N * H, signed],
            [N * GH, signed], [N * GH, signed], [B * H, signed], [B * H, signed]].map(([n, f]) => pair(be, n as number, f as () => number)),
        ];
        const run = (b: Backend, idx: 0 | 1) => {
          const [w, gates, gh, hPrev, h, cPrev, c, dh, dc, dG, dGh, dh0, dc0] = arrs.map((p) => p[idx]);
          b.recurrentBackward!(cell, hard, relu, steps, offsets, batchSizes, H, [
            { whh: b.packB!(false, GH, H, w, 0, H), gates, gh, hPrev, h, cPrev, c, dh, dc, dG, dGh, dh0, dc0 },
          ]);
        };
        run(js, 1);
        run(be, 0);
        const what = `recurrentBackward ${cell} hard=${hard} relu=${relu} H=${H} sizes=${sizes}`;
        arrs.forEach(([w, j], i) => assertClose(`${what}: array ${i}`, w, j, pointTol(j)));
        for (const [w] of arrs) be.free(w);
      }
    });
  }

  // ---- math ----

  test(`${label}: exp, sigmoid, tanh: ~1e-6 relative accuracy, no NaN/Inf at large |x|`, () => {
    setup();
    const xsList: number[] = [0, -0, 1e-8, -1e-8, 1e-4, -3e-3, 0.1, -0.5, 0.6249, 0.625, -0.6251, 1, -2, 5, 8.9, 9, 15,
      -20, 40, 87, -87, 88, -88, 100, -100, 1e4, -1e4];
    const r = rng(9);
    for (let i = 0; i < 4000; i++) xsList.push((r() * 2 - 1) * (i % 4 === 0 ? 90 : i % 4 === 1 ? 10 : 1));
    const n = xsList.length;
    const x = be.alloc(n) as Float32Array;
    x.set(xsList);
    const out = be.alloc(n) as Float32Array;
    const f32 = Math.fround;
    // sigmoid and tanh
    be.mathFn(1, n, x, 0, out, 0);
    for (let i = 0; i < n; i++) {
      const v = x[i], want = 1 / (1 + Math.exp(-v));
      assert.ok(Number.isFinite(out[i]), `sigmoid(${v}) = ${out[i]}`);
      assert.ok(Math.abs(out[i] - want) <= 2e-6 * want + 1e-37, `sigmoid(${v}) = ${out[i]}, want ${want}`);
    }
    be.mathFn(2, n, x, 0, out, 0);
    for (let i = 0; i < n; i++) {
      const v = x[i], want = Math.tanh(v);
      assert.ok(Math.abs(out[i] - want) <= 2e-6 * Math.abs(want) + 1e-30, `tanh(${v}) = ${out[i]}, want ${want}`);
    }
    // exp within its unclamped range
    be.mathFn(0, n, x, 0, out, 0);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v > 88 || v < -87) continue;
      const want = Math.exp(v);
      assert.ok(Math.abs(out[i] - want) <= 2e-6 * want, `exp(${v}) = ${out[i]}, want ${want}`);
    }
    // the saturated ends
    x.set([100, -100, 1e4, -1e4, 9.5, -9.5, 9.02, -9.02]);
    be.mathFn(2, 8, x, 0, out, 0);
    assert.deepEqual(Array.from(out.subarray(0, 8)), [1, -1, 1, -1, 1, -1, 1, -1]);
    assert.equal(f32(Math.tanh(9.02)), 1);
    be.mathFn(1, 4, x, 0, out, 0);
    assert.equal(out[0], 1);
    assert.ok(out[1] >= 0 && out[1] < 1e-30);
    assert.equal(out[2], 1);
    assert.ok(out[3] >= 0 && out[3] < 1e-30);
    be.free(x);
    be.free(out);
  });

  // ---- row and vector kernels ----

  test(`${label}: broadcastRows, sumRows, gatherRows, scatterRows, copy, axpy, zero`, () => {
    setup();
    const r = rng(10);
    const val = () => r() * 4 - 2;
    for (const cols of [1, 3, 4, 5, 15, 16, 17, 33, 64]) {
      for (const rows of [1, 2, 7]) {
        const ld = cols + (rows % 3);
        const vOff = rows % 4, dOff = (cols + rows) % 5;
        const size = dOff + rows * ld + 5;
        for (const accumulate of [false, true]) {
          const [vw, vj] = pair(be, vOff + cols + 2, val);
          const [dw, dj] = pair(be, size, val);
          js.broadcastRows(rows, cols, vj, vOff, dj, dOff, ld, accumulate);
          be.broadcastRows(rows, cols, vw, vOff, dw, dOff, ld, accumulate);
          assertClose(`broadcastRows ${rows}x${cols} acc=${accumulate}`, dw, dj, pointTol(dj));
          be.free(vw);
          be.free(dw);
        }
        {
          const [aw, aj] = pair(be, size, val);
          const [ow, oj] = pair(be, vOff + cols + 3, val);
          js.sumRows(rows, cols, aj, dOff, ld, oj, vOff);
          be.sumRows(rows, cols, aw, dOff, ld, ow, vOff);
          assertClose(`sumRows ${rows}x${cols}`, ow, oj, pointTol(oj));
          be.free(aw);
          be.free(ow);
        }
        for (const accumulate of [false, true]) {
          // gather: dst[i] (+)= src[idx[i]]; scatter: dst[idx[i]] (+)= src[i] (idx a permutation)
          const perm = Array.from({ length: rows }, (_, i) => i);
          for (let i = rows - 1; i > 0; i--) {
            const j = Math.floor(r() * (i + 1));
            [perm[i], perm[j]] = [perm[j], perm[i]];
          }
          const idxW = be.allocIndex(rows + 2);
          idxW.set(perm, 2);
          const idxJ = Int32Array.from(idxW);
          const lds = cols + 1;
          const [sw, sj] = pair(be, 1 + rows * lds, val);
          const [dw, dj] = pair(be, size, val);
          js.gatherRows(rows, cols, idxJ, 2, sj, 1, lds, dj, dOff, ld, accumulate);
          be.gatherRows(rows, cols, idxW, 2, sw, 1, lds, dw, dOff, ld, accumulate);
          assertClose(`gatherRows ${rows}x${cols} acc=${accumulate}`, dw, dj, pointTol(dj));
          js.scatterRows(rows, cols, idxJ, 2, dj, dOff, ld, sj, 1, lds, accumulate);
          be.scatterRows(rows, cols, idxW, 2, dw, dOff, ld, sw, 1, lds, accumulate);
          assertClose(`scatterRows ${rows}x${cols} acc=${accumulate}`, sw, sj, pointTol(sj));
          be.free(idxW);
          be.free(sw);
          be.free(dw);
        }
      }
      const n = cols * 3 + 1;
      const [sw, sj] = pair(be, n + 9, val);
      const [dw, dj] = pair(be, n + 9, val);
      js.axpy(n, -0.75, sj, 3, dj, 5);
      be.axpy(n, -0.75, sw, 3, dw, 5);
      assertClose(`axpy ${n}`, dw, dj, pointTol(dj));
      dj.set(dw); // the exact comparisons below start from identical contents
      js.copy(n, sj, 2, dj, 7);
      be.copy(n, sw, 2, dw, 7);
      assertClose(`copy ${n}`, dw, dj, () => 0);
      js.zero(n, dj, 1);
      be.zero(n, dw, 1);
      assertClose(`zero ${n}`, dw, dj, () => 0);
      be.free(sw);
      be.free(dw);
    }
  });

  // ---- fused cell kernels ----

  /** Pre-activations: mostly moderate, some large (saturation), some tiny. */
  function preact(r: () => number): () => number {
    return () => {
      const u = r();
      if (u < 0.05) return (r() < 0.5 ? -1 : 1) * (20 + r() * 90);
      if (u < 0.1) return (r() * 2 - 1) * 1e-4;
      return (r() * 2 - 1) * 4;
    };
  }

  const CELL_SIZES: [number, number][] = [[1, 1], [1, 3], [2, 5], [3, 4], [4, 7], [5, 8], [3, 13], [2, 33], [7, 64]];

  type Arrs = [Float32Array, Float32Array][];

  /** Runs `call` on both backends with arrays of the given sizes (element offset `off`, 3 spare elements) and compares them all. */
  function compareCell(
    what: string, r: () => number, sizes: number[], off: number,
    fill: (arg: number) => () => number,
    call: (be: Backend, xs: Float32Array[]) => void,
  ): void {
    const arrs: Arrs = sizes.map((s, i) => pair(be, off + s + 3, fill(i)));
    call(js, arrs.map((p) => p[1]));
    call(be, arrs.map((p) => p[0]));
    arrs.forEach(([w, j], i) => assertClose(`${what} array ${i}`, w, j, pointTol(j)));
    for (const [w] of arrs) be.free(w);
  }

  test(`${label}: rnnForward / rnnBackward (tanh and relu)`, () => {
    setup();
    const r = rng(11);
    for (const [n, H] of CELL_SIZES) {
      for (const relu of [false, true]) {
        const off = (n + H) % 4;
        compareCell(`rnnForward ${n}x${H} relu=${relu}`, r, [n * H, n * H], off, () => preact(r),
          (be, [pre, h]) => be.rnnForward(n, H, relu, pre, off, h, off));
        compareCell(`rnnBackward ${n}x${H} relu=${relu}`, r, [n * H, n * H, n * H], off,
          (i) => (i === 0 ? () => (relu ? (r() < 0.3 ? 0 : r() * 3 - 1) : r() * 2 - 1) : () => r() * 2 - 1),
          (be, [h, dh, dPre]) => be.rnnBackward(n, H, relu, h, off, dh, off, dPre, off));
      }
    }
  });

  /** Gate values for the backward kernels: in (0, 1), and with the hard sigmoid also exactly 0 and 1 (clipped). */
  function gateValue(r: () => number, hard: boolean): () => number {
    return () => {
      if (!hard) return r();
      const u = r();
      return u < 0.15 ? 0 : u < 0.3 ? 1 : r();
    };
  }

  test(`${label}: lstmForward / lstmBackward, logistic and hard sigmoid gates`, () => {
    setup();
    const r = rng(12);
    for (const hard of [false, true]) for (const [n, H] of CELL_SIZES) {
      const off = (n * 3 + H) % 5;
      compareCell(`lstmForward ${n}x${H} hard=${hard}`, r, [4 * n * H, n * H, n * H, n * H], off,
        (i) => (i === 1 ? () => r() * 4 - 2 : preact(r)),
        (be, [g, cp, c, h]) => be.lstmForward(n, H, g, off, cp, off, c, off, h, off, hard));
      compareCell(`lstmBackward ${n}x${H} hard=${hard}`, r, [4 * n * H, n * H, n * H, n * H, n * H, 4 * n * H, n * H], off,
        (i) => (i === 0 ? gateValue(r, hard) : () => r() * 4 - 2),
        (be, [g, cp, c, dh, dc, dG, dcp]) => be.lstmBackward(n, H, g, off, cp, off, c, off, dh, off, dc, off, dG, off, dcp, off, hard));
    }
  });

  test(`${label}: gruForward / gruBackward (reset after), logistic and hard sigmoid gates`, () => {
    setup();
    const r = rng(13);
    for (const hard of [false, true]) for (const [n, H] of CELL_SIZES) {
      const off = (n + 2 * H) % 3;
      compareCell(`gruForward ${n}x${H} hard=${hard}`, r, [3 * n * H, 3 * n * H, n * H, 3 * n * H, n * H], off,
        (i) => (i === 2 ? () => r() * 2 - 1 : preact(r)),
        (be, [gx, gh, hp, act, h]) => be.gruForward(n, H, gx, off, gh, off, hp, off, act, off, h, off, hard));
      compareCell(`gruBackward ${n}x${H} hard=${hard}`, r, [3 * n * H, 3 * n * H, n * H, n * H, 3 * n * H, 3 * n * H, n * H], off,
        (i) => (i === 0 ? gateValue(r, hard) : () => r() * 4 - 2),
        (be, [act, gh, hp, dh, dGx, dGh, dhp]) =>
          be.gruBackward(n, H, act, off, gh, off, hp, off, dh, off, dGx, off, dGh, off, dhp, off, hard));
    }
  });

  test(`${label}: GRU reset-before kernels, logistic and hard sigmoid gates`, () => {
    setup();
    const r = rng(14);
    for (const hard of [false, true]) for (const [n, H] of CELL_SIZES) {
      const off = (n + H) % 6;
      compareCell(`gruResetBeforeGates ${n}x${H} hard=${hard}`, r, [3 * n * H, 3 * n * H, n * H, 3 * n * H, n * H], off,
        (i) => (i === 2 ? () => r() * 2 - 1 : preact(r)),
        (be, [gx, gh, hp, act, rh]) => be.gruResetBeforeGates(n, H, gx, off, gh, off, hp, off, act, off, rh, off, hard));
      compareCell(`gruResetBeforeOutput ${n}x${H}`, r, [3 * n * H, 3 * n * H, n * H, 3 * n * H, n * H], off,
        (i) => (i === 3 ? () => r() : i === 2 ? () => r() * 2 - 1 : preact(r)),
        (be, [gx, gh, hp, act, h]) => be.gruResetBeforeOutput(n, H, gx, off, gh, off, hp, off, act, off, h, off));
      compareCell(`gruResetBeforeBackwardOutput ${n}x${H} hard=${hard}`, r, [3 * n * H, n * H, n * H, 3 * n * H, n * H], off,
        (i) => (i === 0 ? gateValue(r, hard) : () => r() * 4 - 2),
        (be, [act, hp, dh, dG, dhp]) => be.gruResetBeforeBackwardOutput(n, H, act, off, hp, off, dh, off, dG, off, dhp, off, hard));
      compareCell(`gruResetBeforeBackwardGates ${n}x${H} hard=${hard}`, r, [3 * n * H, n * H, n * H, 3 * n * H, n * H], off,
        (i) => (i === 0 ? gateValue(r, hard) : () => r() * 4 - 2),
        (be, [act, hp, drh, dG, dhp]) => be.gruResetBeforeBackwardGates(n, H, act, off, hp, off, drh, off, dG, off, dhp, off, hard));
    }
  });

  test(`${label}: in-place use: lstmForward with c == cPrev, rnnForward with h == pre`, () => {
    setup();
    const r = rng(15);
    for (const [n, H] of CELL_SIZES) {
      const [gw, gj] = pair(be, 4 * n * H, preact(r));
      const [cw, cj] = pair(be, n * H, () => r() * 2 - 1);
      const [hw, hj] = pair(be, n * H, () => 0);
      js.lstmForward(n, H, gj, 0, cj, 0, cj, 0, hj, 0);
      be.lstmForward(n, H, gw, 0, cw, 0, cw, 0, hw, 0);
      assertClose(`lstm in place ${n}x${H} c`, cw, cj, pointTol(cj));
      assertClose(`lstm in place ${n}x${H} h`, hw, hj, pointTol(hj));
      js.rnnForward(n, H, false, hj, 0, hj, 0);
      be.rnnForward(n, H, false, hw, 0, hw, 0);
      assertClose(`rnn in place ${n}x${H}`, hw, hj, pointTol(hj));
      be.free(gw);
      be.free(cw);
      be.free(hw);
    }
  });

  // ---- losses, softmax, optimizers, elementwise helpers ----

  const lossTol = (want: number, count: number) => 1e-5 * Math.max(1, count) * 0.1 + 1e-5 * Math.abs(want);

  test(`${label}: softmaxCrossEntropy: odd vocabularies, ignored rows, large logits, aliasing dLogits = logits`, () => {
    setup();
    const r = rng(20);
    for (const V of [1, 2, 3, 4, 5, 8, 13, 33, 100, 1001]) {
      for (const rows of [1, 3, 7]) {
        for (const alias of [false, true]) {
          const off = (V + rows) % 5;
          const big = r() < 0.3 ? 60 : 5;
          const [lw, lj] = pair(be, off + rows * V + 3, () => (r() * 2 - 1) * big);
          const tw = be.allocIndex(rows + 2);
          for (let i = 0; i < rows; i++) tw[2 + i] = r() < 0.2 ? -100 : Math.floor(r() * V);
          const tj = Int32Array.from(tw);
          const [dw, dj] = alias ? [lw, lj] : pair(be, off + rows * V + 3, () => r());
          const scale = [1, 0.25, 1 / 7][rows % 3];
          const want = js.softmaxCrossEntropy(rows, V, lj, off, tj, 2, -100, scale, dj, off);
          const got = be.softmaxCrossEntropy(rows, V, lw, off, tw, 2, -100, scale, dw, off);
          const what = `softmaxCrossEntropy rows=${rows} V=${V} alias=${alias}`;
          assert.ok(Math.abs(got - want) <= lossTol(want, rows), `${what}: loss ${got}, want ${want}`);
          assertClose(`${what}: dLogits`, dw, dj, pointTol(dj));
          be.free(lw);
          be.free(tw);
          if (!alias) be.free(dw);
        }
      }
    }
    // an out-of-range target gives NaN and writes nothing outside its row
    const l = be.alloc(3 * 4), t = be.allocIndex(3), d = be.alloc(3 * 4 + 4);
    l.fill(0.5);
    t.set([1, 9, 2]);
    d.fill(7);
    assert.ok(Number.isNaN(be.softmaxCrossEntropy(3, 4, l, 0, t, 0, -100, 1, d, 0)));
    assert.ok(Number.isNaN(d[4]) && Number.isNaN(d[7]) && d[12] === 7 && !Number.isNaN(d[0]) && !Number.isNaN(d[8]));
  });

  test(`${label}: softmax with temperature (also in place)`, () => {
    setup();
    const r = rng(21);
    for (const V of [1, 3, 4, 7, 16, 33, 257]) {
      for (const temperature of [1, 0.5, 2.3]) {
        for (const alias of [false, true]) {
          const rows = 1 + (V % 4);
          const [xw, xj] = pair(be, rows * V + 4, () => (r() * 2 - 1) * 8);
          const [ow, oj] = alias ? [xw, xj] : pair(be, rows * V + 4, () => r());
          js.softmax(rows, V, temperature, xj, 1, oj, alias ? 1 : 2);
          be.softmax(rows, V, temperature, xw, 1, ow, alias ? 1 : 2);
          assertClose(`softmax V=${V} T=${temperature} alias=${alias}`, ow, oj, pointTol(oj));
          be.free(xw);
          if (!alias) be.free(ow);
        }
      }
    }
  });

  test(`${label}: softmax and cross-entropy are shift-invariant: logits around -500 and +500`, () => {
    setup();
    const r = rng(26);
    for (const shift of [-500, 500]) {
      const rows = 3, V = 11;
      const [xw, xj] = pair(be, rows * V, () => shift + (r() * 2 - 1) * 5);
      const [ow, oj] = pair(be, rows * V, () => 0);
      js.softmax(rows, V, 1, xj, 0, oj, 0);
      be.softmax(rows, V, 1, xw, 0, ow, 0);
      assertClose(`softmax shift=${shift}`, ow, oj, pointTol(oj));
      const tw = be.allocIndex(rows);
      tw.set([0, 5, 10]);
      const want = js.softmaxCrossEntropy(rows, V, xj, 0, Int32Array.from(tw), 0, -100, 1, oj, 0);
      const got = be.softmaxCrossEntropy(rows, V, xw, 0, tw, 0, -100, 1, ow, 0);
      assert.ok(Math.abs(got - want) <= 1e-4 + 1e-5 * Math.abs(want), `cross-entropy shift=${shift}: ${got}, want ${want}`);
      assertClose(`cross-entropy shift=${shift} grad`, ow, oj, pointTol(oj));
      for (const a of [xw, ow, tw]) be.free(a);
    }
  });

  test(`${label}: mse and bceWithLogits, with and without weights, large logits`, () => {
    setup();
    const r = rng(22);
    for (const n of [1, 2, 3, 4, 5, 9, 31, 64, 1000]) {
      for (const weighted of [false, true]) {
        const scale = 1 / n;
        const [pw, pj] = pair(be, n + 4, () => (r() * 2 - 1) * 3);
        const [tw, tj] = pair(be, n + 4, () => (r() * 2 - 1) * 3);
        const [ww, wj] = pair(be, n + 4, () => (r() < 0.3 ? 0 : r() * 2));
        const [gw, gj] = pair(be, n + 4, () => 9);
        let want = js.mse(n, pj, 1, tj, 2, weighted ? wj : null, 3, scale, gj, 1);
        let got = be.mse(n, pw, 1, tw, 2, weighted ? ww : null, 3, scale, gw, 1);
        assert.ok(Math.abs(got - want) <= lossTol(want, n), `mse n=${n}: ${got}, want ${want}`);
        assertClose(`mse n=${n} grad`, gw, gj, pointTol(gj));
        // bce: logits including +-100, targets in [0, 1]
        const [xw, xj] = pair(be, n + 4, (i) => (i % 7 === 3 ? (i % 2 ? 100 : -100) : (r() * 2 - 1) * 12));
        for (let i = 0; i < n + 4; i++) tw[i] = tj[i] = r() < 0.5 ? Math.round(r()) : r();
        want = js.bceWithLogits(n, xj, 0, tj, 1, weighted ? wj : null, 2, scale, gj, 3);
        got = be.bceWithLogits(n, xw, 0, tw, 1, weighted ? ww : null, 2, scale, gw, 3);
        assert.ok(Math.abs(got - want) <= lossTol(want, n), `bce n=${n}: ${got}, want ${want}`);
        assertClose(`bce n=${n} grad`, gw, gj, pointTol(gj));
        for (const a of [pw, tw, ww, gw, xw]) be.free(a);
      }
    }
  });

  test(`${label}: sumSquares, scale, mul`, () => {
    setup();
    const r = rng(23);
    for (const n of [1, 3, 4, 5, 17, 1000, 4099]) {
      const [aw, aj] = pair(be, n + 5, () => (r() * 2 - 1) * 10);
      const [bw, bj] = pair(be, n + 5, () => (r() * 2 - 1) * 10);
      const want = js.sumSquares(n, aj, 2);
      assert.ok(Math.abs(be.sumSquares(n, aw, 2) - want) <= 1e-12 * want, `sumSquares ${n}`);
      js.scale(n, -1.5, aj, 1);
      be.scale(n, -1.5, aw, 1);
      assertClose(`scale ${n}`, aw, aj, pointTol(aj));
      js.mul(n, aj, 0, bj, 3, bj, 2);
      be.mul(n, aw, 0, bw, 3, bw, 2);
      assertClose(`mul ${n}`, bw, bj, pointTol(bj));
      be.free(aw);
      be.free(bw);
    }
  });

  test(`${label}: optimizer steps: SGD (momentum, nesterov, weight decay), Adam/AdamW, RMSprop, Adagrad`, () => {
    setup();
    const r = rng(24);
    for (const n of [1, 3, 4, 5, 13, 64, 1001]) {
      const mk = () => pair(be, n, () => (r() * 2 - 1) * 2);
      const zeros = () => pair(be, n, () => 0);
      // SGD variants over 3 steps
      for (const [momentum, nesterov, wd] of [[0, false, 0], [0, false, 0.01], [0.9, false, 0], [0.9, true, 0.05]] as const) {
        const [pw, pj] = mk(), [bw, bj] = zeros();
        for (let step = 0; step < 3; step++) {
          const [gw, gj] = mk();
          const buf: [Float32Array, Float32Array] = momentum ? [bw, bj] : [new Float32Array(0), new Float32Array(0)];
          js.sgdStep(n, pj, gj, buf[1], 0.1, momentum, nesterov, wd, step === 0);
          be.sgdStep(n, pw, gw, buf[0], 0.1, momentum, nesterov, wd, step === 0);
          be.free(gw);
        }
        assertClose(`sgd n=${n} m=${momentum} nesterov=${nesterov} wd=${wd}: p`, pw, pj, pointTol(pj));
        assertClose(`sgd n=${n}: buf`, bw, bj, pointTol(bj));
        be.free(pw);
        be.free(bw);
      }
      for (const [wd, decoupled] of [[0, false], [0.01, false], [0.01, true]] as const) {
        const [pw, pj] = mk(), [mw, mj] = zeros(), [vw, vj] = zeros();
        for (let step = 1; step <= 4; step++) {
          const [gw, gj] = mk();
          js.adamStep(n, pj, gj, mj, vj, 1e-3, 0.9, 0.999, 1e-8, wd, decoupled, step);
          be.adamStep(n, pw, gw, mw, vw, 1e-3, 0.9, 0.999, 1e-8, wd, decoupled, step);
          be.free(gw);
        }
        const what = `adam n=${n} wd=${wd} decoupled=${decoupled}`;
        assertClose(`${what}: p`, pw, pj, pointTol(pj));
        assertClose(`${what}: m`, mw, mj, pointTol(mj));
        assertClose(`${what}: v`, vw, vj, (i) => 1e-9 + 1e-4 * Math.abs(vj[i]));
        for (const a of [pw, mw, vw]) be.free(a);
      }
      for (const wd of [0, 0.02]) {
        const [pw, pj] = mk(), [sw, sj] = zeros();
        const [qw, qj] = mk(), [s2w, s2j] = zeros();
        for (let step = 0; step < 3; step++) {
          const [gw, gj] = mk();
          js.rmspropStep(n, pj, gj, sj, 0.01, 0.99, 1e-8, wd);
          be.rmspropStep(n, pw, gw, sw, 0.01, 0.99, 1e-8, wd);
          js.adagradStep(n, qj, gj, s2j, 0.01, 1e-10, wd);
          be.adagradStep(n, qw, gw, s2w, 0.01, 1e-10, wd);
          be.free(gw);
        }
        assertClose(`rmsprop n=${n} wd=${wd}: p`, pw, pj, pointTol(pj));
        assertClose(`rmsprop n=${n} wd=${wd}: s`, sw, sj, pointTol(sj));
        assertClose(`adagrad n=${n} wd=${wd}: p`, qw, qj, pointTol(qj));
        assertClose(`adagrad n=${n} wd=${wd}: s`, s2w, s2j, pointTol(s2j));
        for (const a of [pw, sw, qw, s2w]) be.free(a);
      }
    }
  });

}
