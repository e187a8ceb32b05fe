/**
 * The wasm backend against the JsBackend oracle: every kernel, odd sizes, offsets, leading
 * dimensions, all transpose combinations, alpha/beta, NaN in C with beta = 0, large magnitudes,
 * memory growth, the allocator, and the threaded GEMM. The kernel suite runs on the SIMD128 build
 * here, on every host (Node >= 22 would otherwise pick the relaxed one); relaxed.test.ts runs it on
 * the relaxed-SIMD build.
 *   node --test dist/src/backend/wasm/wasm.test.js
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { JsBackend } from "../js.js";
import {
  createWasmBackend, createWasmBackendSync, wasmSimdSupported, WasmBackend,
} from "./wasm.js";

import { kernelSuite, pair, randomGemmCases, rng, runGemmCase } from "../kernel-suite.js";

const wasm = createWasmBackendSync({ simd: "simd128" });

// ---- environment and memory ----

test("SIMD is supported and the backend describes itself", () => {
  assert.equal(wasmSimdSupported(), true);
  assert.equal(wasm.name, "wasm");
  assert.equal(wasm.dtype, "float32");
  assert.equal(wasm.simd, "simd128");
  assert.equal(wasm.label, "wasm (SIMD128)");
});

test("alloc: zero-filled, aligned views into the wasm memory; free reuses and re-zeroes", () => {
  const be = createWasmBackendSync();
  const a = be.alloc(37);
  assert.ok(a instanceof Float32Array);
  assert.equal(a.length, 37);
  assert.equal(a.byteOffset % 16, 0);
  assert.ok(a.buffer instanceof SharedArrayBuffer);
  assert.ok(a.every((v) => v === 0));
  a.fill(7);
  const ix = be.allocIndex(5);
  assert.ok(ix instanceof Int32Array);
  assert.equal(ix.byteOffset % 16, 0);
  const off = a.byteOffset;
  be.free(a);
  const b = be.alloc(37);
  assert.equal(b.byteOffset, off, "first fit reuses the freed block");
  assert.ok(b.every((v) => v === 0), "reused memory is zeroed");
  // foreign arrays and double frees are refused
  assert.throws(() => be.free(new Float32Array(4)));
  assert.throws(() => be.copy(4, new Float32Array(4), 0, b, 0));
  be.free(b);
  assert.throws(() => be.free(b));
  // coalescing: freeing everything gives the heap back
  const before = be.allocatedBytes;
  const xs = Array.from({ length: 20 }, (_, i) => be.alloc(100 + i * 13));
  for (const i of [3, 1, 2, 0, 19, 5, 4, 18, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]) be.free(xs[i]);
  assert.equal(be.allocatedBytes, before);
  const big = be.alloc(20 * 100);
  assert.ok(big.every((v) => v === 0));
  be.free(ix);
  be.free(big);
  assert.throws(() => be.alloc(-1), RangeError);
  assert.throws(() => be.alloc(2.5), RangeError);
  const empty = be.alloc(0);
  assert.equal(empty.length, 0);
  be.free(empty);
});

test("arrays stay valid when the memory grows, and kernels see the same memory", () => {
  const be = createWasmBackendSync();
  const a = be.alloc(1000);
  for (let i = 0; i < a.length; i++) a[i] = i + 0.5;
  const bytes0 = be.memoryBytes;
  // grow by allocating a lot (more than doubles the memory, several times)
  const bigs: Float32Array[] = [];
  for (let i = 0; i < 6; i++) bigs.push(be.alloc(4 << 20));
  assert.ok(be.memoryBytes >= bytes0 + 6 * (16 << 20), "memory grew");
  // the old view still reads its values and writes what the kernels read
  assert.equal(a[999], 999.5);
  a[3] = -42;
  const last = bigs[bigs.length - 1];
  be.copy(1000, a, 0, last, 5);
  assert.equal(last[5 + 3], -42);
  assert.equal(last[5 + 999], 999.5);
  // and the kernels write what the old view reads
  be.axpy(1000, 2, last, 5, a, 0);
  assert.equal(a[3], -126);
  assert.equal(a[10], 31.5);
  const w = be.alloc(1000 * 3);
  for (let i = 0; i < w.length; i++) w[i] = (i % 7) - 3;
  const out = be.alloc(3);
  be.gemm(false, false, 1, 3, 1000, 1, a, 0, 1000, w, 0, 3, 0, out, 0, 3);
  let s0 = 0;
  for (let p = 0; p < 1000; p++) s0 += a[p] * w[p * 3];
  assert.ok(Math.abs(out[0] - s0) <= 1e-4 * Math.abs(s0) + 1e-3);
  for (const b of bigs) be.free(b);
});

test("gemm with 2 threads: split by columns and by rows, odd shapes, matches the oracle", async () => {
  // thresholds 1: every GEMM with two or more tiles is split, waking the worker when it sleeps
  const be = await createWasmBackend({ threads: 2, parallelThreshold: 1, wakeThreshold: 1 });
  try {
    assert.equal(be.workerCount, 1);
    const r = rng(5);
    for (const cs of randomGemmCases(11, 120, [1, 3, 5, 8, 13, 31, 33, 70])) runGemmCase(be, cs, r);
    assert.ok(be.splitGemms >= 60, `split GEMMs: ${be.splitGemms}`);
    runGemmCase(be, {
      transA: false, transB: true, m: 64, n: 520, k: 300, alpha: 1, beta: 0,
      lda: 300, ldb: 301, ldc: 523, aOff: 1, bOff: 2, cOff: 3,
    }, r);
    runGemmCase(be, {
      transA: true, transB: false, m: 517, n: 33, k: 260, alpha: -1, beta: 1,
      lda: 520, ldb: 33, ldc: 33, aOff: 0, bOff: 0, cOff: 0,
    }, r);
    // a GEMM on arrays allocated after the memory grew (the worker sees the grown memory)
    const grow = be.alloc(30 << 20);
    runGemmCase(be, {
      transA: false, transB: false, m: 100, n: 100, k: 100, alpha: 1, beta: 0.5,
      lda: 100, ldb: 100, ldc: 100, aOff: 0, bOff: 0, cOff: 0,
    }, r);
    be.free(grow);
  } finally {
    be.dispose();
  }
  // still usable (single-threaded) after dispose
  assert.equal(be.workerCount, 0);
  runGemmCase(be, {
    transA: false, transB: true, m: 40, n: 40, k: 40, alpha: 1, beta: 0,
    lda: 40, ldb: 40, ldc: 40, aOff: 0, bOff: 0, cOff: 0,
  }, rng(6));
});

test("gemm with 2 threads above the default threshold (LSTM step, 1024-ish)", () => {
  const be = createWasmBackendSync({ threads: 2 });
  try {
    const r = rng(8);
    // the worker may still be starting: the first GEMMs then run on this thread
    const t0 = Date.now();
    while (Date.now() - t0 < 5000 && be.splitGemms === 0) {
      runGemmCase(be, {
        transA: false, transB: false, m: 96, n: 96, k: 1000, alpha: 1, beta: 0,
        lda: 1000, ldb: 96, ldc: 96, aOff: 0, bOff: 0, cOff: 0,
      }, r);
    }
    assert.ok(be.splitGemms > 0, "a GEMM above the threshold was split");
    runGemmCase(be, {
      transA: false, transB: true, m: 64, n: 2048, k: 160, alpha: 1, beta: 1,
      lda: 160, ldb: 160, ldc: 2048, aOff: 0, bOff: 0, cOff: 0,
    }, r);
    runGemmCase(be, {
      transA: true, transB: false, m: 1030, n: 64, k: 200, alpha: 1, beta: 0,
      lda: 1030, ldb: 64, ldc: 64, aOff: 0, bOff: 0, cOff: 0,
    }, r);
  } finally {
    be.dispose();
  }
});

test("a backend instance is a Backend (type-level) and separate instances do not share memory", () => {
  const a = createWasmBackendSync();
  const x = a.alloc(4);
  assert.throws(() => wasm.copy(4, x, 0, wasm.alloc(4), 0));
  assert.ok(a instanceof WasmBackend);
});

test("log64 (the log behind the cross-entropy loss) is double-precision accurate", () => {
  const r = rng(25);
  const xs = [1, 2, Math.SQRT2, 1.4142135623730951, 1.4142135623730954, 0.5, 10, 1e-300, 1e300, 3.5e38, 1.17e-38];
  for (let i = 0; i < 2000; i++) xs.push(Math.exp((r() * 2 - 1) * 700));
  for (const x of xs) {
    const want = Math.log(x), got = wasm.log64(x);
    assert.ok(Math.abs(got - want) <= 4e-16 * Math.max(1, Math.abs(want)), `log64(${x}) = ${got}, want ${want}`);
  }
});


kernelSuite("wasm simd128", wasm);
