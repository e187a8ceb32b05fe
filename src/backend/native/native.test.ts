/**
 * The native backend against the JsBackend oracle: the whole kernel suite (kernel-suite.ts) once
 * per instruction set this CPU runs (avx512, avx2, generic), the threaded GEMM, bounds checks,
 * the addon's exports against the TypeScript view, and the fallback when the addon is missing.
 *   node --test dist/src/backend/native/native.test.js
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernelSuite, randomGemmCases, rng, runGemmCase } from "../kernel-suite.js";
import { loadNativeAddon, NativeBackend, nativeExports } from "./native.js";
import { platform } from "#platform";
import { JsBackend } from "../js.js";
import { defaults } from "../../defaults.js";
import { RnnkitError } from "../../tensor.js";

const native = new NativeBackend({ threads: 1 });

/**
 * The pool is the process's, shared by every backend instance: a test that changes it leaves it
 * as the others expect, one thread and the default split size.
 */
function restorePool(b: NativeBackend): void {
  b.addon.setThreads(1);
  b.addon.setParallelWork(defaults.nativeParallelWork);
}
const isas = native.addon.isas();

test("the addon loads, exports exactly what native.ts declares, and runs the best ISA by default", () => {
  const addon = platform.loadNative() as Record<string, unknown>;
  assert.deepEqual(Object.keys(addon).sort(), [...nativeExports].sort());
  assert.equal(loadNativeAddon(), addon);
  assert.ok(isas.length >= 1 && isas[isas.length - 1] === "generic", `isas ${isas}`);
  if (process.arch === "x64") {
    // AVX-512 is only offered with AVX2 and FMA (every AVX-512 CPU has both)
    assert.ok(isas.includes("avx2") || !isas.includes("avx512"), "avx512 implies avx2 here");
  }
  assert.equal(native.isa, isas[0]);
  assert.equal(native.name, "native");
  assert.equal(native.dtype, "float32");
  assert.throws(() => native.addon.setIsa("sse9"), /unknown or unsupported instruction set "sse9": expected one of/);
});

for (const isa of isas) kernelSuite(`native ${isa}`, native, () => native.addon.setIsa(isa));

test("arrays from anywhere: plain Float32Arrays and subarrays (no copies); alloc/free", () => {
  native.addon.setIsa(isas[0]);
  const buf = new Float32Array(10).fill(1);
  const sub = buf.subarray(4, 8);
  native.scale(4, 3, sub, 0);
  assert.deepEqual(Array.from(buf), [1, 1, 1, 1, 3, 3, 3, 3, 1, 1]);
  const a = native.alloc(5);
  assert.ok(a instanceof Float32Array && a.length === 5 && a.every((v) => v === 0));
  assert.ok(native.allocIndex(3) instanceof Int32Array);
  native.free(a);
  assert.throws(() => native.alloc(-1), RnnkitError);
});

test("bad arrays are refused with expected-vs-got, and nothing is written outside an array", () => {
  const c = new Float32Array(6);
  assert.throws(() => native.gemm(false, false, 2, 3, 2, 1, new Float32Array(4), 0, 2, new Float32Array(6), 0, 3, 0, c, 1, 3),
    (e: Error) => e instanceof RnnkitError && /gemm C: expected elements \[1, 7\), got an array of length 6/.test(e.message));
  assert.throws(() => native.gemm(false, false, 2, 3, 2, 1, new Float32Array(4), 0, 1, new Float32Array(6), 0, 3, 0, c, 0, 3),
    /gemm A: expected a leading dimension >= 2, got 1/);
  assert.throws(() => native.copy(3, new Float64Array(3), 0, c, 0), /copy src: expected a Float32Array/);
  assert.throws(() => native.lstmForward(2, 3, new Float32Array(23), 0, c, 0, c, 0, c, 0), /lstmForward gates: expected elements \[0, 24\), got an array of length 23/);
  const idx = Int32Array.from([0, 5]);
  assert.throws(() => native.gatherRows(2, 2, idx, 0, new Float32Array(8), 0, 2, c, 0, 2, false), /gatherRows src: expected elements \[0, 12\)/);
  assert.throws(() => native.gatherRows(2, 2, Int32Array.from([0, -1]), 0, new Float32Array(8), 0, 2, c, 0, 2, false), /expected row indices >= 0, got -1/);
  assert.throws(() => native.axpy(2, 1, c, -1, c, 0), /axpy src: expected elements \[-1, 1\)/);
  assert.ok(c.every((v) => v === 0), "nothing was written");
});

test("gemm on the thread pool: split by columns and by rows, odd shapes, every ISA, matches the oracle", () => {
  const be = new NativeBackend({ threads: 2, parallelThreshold: 1, adaptiveSplit: false });
  try {
    assert.equal(be.threads, 2);
    for (const isa of isas) {
      be.addon.setIsa(isa);
      const before = be.addon.splitGemms();
      const r = rng(5);
      for (const cs of randomGemmCases(11, 60, [1, 3, 5, 8, 13, 31, 33, 70])) runGemmCase(be, cs, r);
      assert.ok(be.addon.splitGemms() - before >= 20, `split GEMMs on ${isa}: ${be.addon.splitGemms() - before}`);
      runGemmCase(be, { transA: false, transB: true, m: 64, n: 520, k: 300, alpha: 1, beta: 0, lda: 300, ldb: 301, ldc: 523, aOff: 1, bOff: 2, cOff: 3 }, r);
      runGemmCase(be, { transA: true, transB: false, m: 517, n: 33, k: 260, alpha: -1, beta: 1, lda: 520, ldb: 33, ldc: 33, aOff: 0, bOff: 0, cOff: 0 }, r);
    }
  } finally {
    be.addon.setIsa(isas[0]);
    restorePool(be);
  }
});

test("the pool survives resizing with jobs posted at once (no lost wake-up, no job run twice)", { timeout: 120000 }, () => {
  const be = new NativeBackend({ threads: 1, parallelThreshold: 1, adaptiveSplit: false });
  const r = rng(7);
  try {
    const before = be.addon.splitGemms();
    for (let i = 0; i < 40; i++) {
      be.addon.setThreads(2 + (i % 3));
      // posted right after the threads were created: a worker must still take it
      runGemmCase(be, { transA: false, transB: i % 2 === 1, m: 9 + i, n: 40 + 3 * i, k: 17, alpha: 1, beta: 0.5,
        lda: 17, ldb: i % 2 === 1 ? 17 : 40 + 3 * i, ldc: 40 + 3 * i, aOff: 0, bOff: 0, cOff: 0 }, r);
      if (i % 4 === 3) be.addon.setThreads(1);
    }
    assert.ok(be.addon.splitGemms() - before >= 30, `split: ${be.addon.splitGemms() - before}`);
  } finally {
    restorePool(be);
    be.addon.setAdaptiveSplit(true);
  }
});

test("adaptive split: each size class measures both choices, then keeps the faster, and stays correct", () => {
  const be = new NativeBackend({ threads: 2, parallelThreshold: 1, adaptiveSplit: true });
  try {
    const r = rng(9);
    const before = be.addon.splitGemms();
    // one size class, 40 calls: at least one split (the first measurement of that choice) and
    // correct results whichever ran
    for (let i = 0; i < 40; i++) {
      runGemmCase(be, { transA: false, transB: true, m: 32, n: 96, k: 40, alpha: 1, beta: 0, lda: 40, ldb: 40, ldc: 96, aOff: 0, bOff: 0, cOff: 0 }, r);
    }
    const splits = be.addon.splitGemms() - before;
    assert.ok(splits >= 1 && splits <= 39, `splits ${splits}: both choices were measured`);
  } finally {
    restorePool(be);
  }
});

/** Runs `script` (an ES module) in a child process with `env` changes; returns its status and output. */
function child(script: string, env: Record<string, string | undefined>): { status: number | null; stdout: string; stderr: string } {
  const e: Record<string, string | undefined> = { ...process.env, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  return spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env: e as NodeJS.ProcessEnv });
}

const indexUrl = JSON.stringify(new URL("../index.js", import.meta.url).href);

test("with the addon missing, the default falls back to wasm saying why once; RNNKIT_REQUIRE_NATIVE makes it an error", () => {
  const script = `
    const { getBackend, availableBackends, backendByName } = await import(${indexUrl});
    console.log(getBackend().name, getBackend().name, (await availableBackends()).join(","));
    try { await backendByName("native"); } catch (e) { console.log("byName:", e.name, e.message); }
  `;
  const missing = "/nonexistent/rnnkit_native.node";
  const r = child(script, { RNNKIT_BACKEND: undefined, RNNKIT_REQUIRE_NATIVE: undefined, RNNKIT_NATIVE_PATH: missing });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines[0], "wasm wasm js,wasm");
  assert.match(lines[1], /^byName: RnnkitError backend native: .*nonexistent.*not found.*; use the wasm backend$/);
  const warnings = r.stderr.split("\n").filter((l) => l.includes("rnnkit:"));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /^rnnkit: the native backend cannot load \(\/nonexistent\/rnnkit_native\.node not found .*\); using the wasm backend$/);

  const req = child(`const { getBackend } = await import(${indexUrl}); getBackend();`,
    { RNNKIT_BACKEND: undefined, RNNKIT_REQUIRE_NATIVE: "1", RNNKIT_NATIVE_PATH: missing });
  assert.notEqual(req.status, 0);
  assert.match(req.stderr, /RnnkitError: RNNKIT_REQUIRE_NATIVE is set, but the native backend cannot load: \/nonexistent/);

  // RNNKIT_BACKEND still chooses, and then nothing is said about the addon
  const js = child(`const { getBackend } = await import(${indexUrl}); console.log(getBackend().name);`,
    { RNNKIT_BACKEND: "js", RNNKIT_REQUIRE_NATIVE: undefined, RNNKIT_NATIVE_PATH: missing });
  assert.equal(js.stdout.trim(), "js");
  assert.equal(js.stderr, "");
});

test("a file that is not an addon (a broken build) is a reason too: said once, not thrown", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-native-"));
  const bogus = join(dir, "rnnkit_native.node");
  writeFileSync(bogus, "not an ELF file");
  try {
    const r = child(`const { getBackend } = await import(${indexUrl}); console.log(getBackend().name);`, {
      RNNKIT_BACKEND: undefined, RNNKIT_REQUIRE_NATIVE: undefined, RNNKIT_NATIVE_PATH: bogus,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "wasm");
    const warnings = r.stderr.split("\n").filter((l) => l.includes("rnnkit:"));
    assert.equal(warnings.length, 1, r.stderr);
    assert.ok(warnings[0].startsWith(`rnnkit: the native backend cannot load (${bogus}: `), warnings[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the browser bundle never loads the addon: no require, no addon path, and its host refuses at once", () => {
  const bundle = readFileSync(new URL("../../../browser/rnnkit.js", import.meta.url), "utf8");
  assert.ok(!bundle.includes("rnnkit_native.node"), "the addon's path is in the browser bundle");
  assert.ok(!/createRequire|node:module/.test(bundle), "Node's module loader is in the browser bundle");
  assert.ok(bundle.includes("a browser runs no native addon"), "the browser host's loadNative is the refusing one");
});

test("packed B: slivers start on a cache line, and a copy of the packed array at any alignment gives the same product", () => {
  for (const isa of isas) {
    native.addon.setIsa(isa);
    const m = 9, n = 53, k = 37;
    const r = rng(17);
    const a = Float32Array.from({ length: m * k }, () => r() - 0.5);
    const b = Float32Array.from({ length: n * k }, () => r() - 0.5);
    const want = new Float32Array(m * n);
    native.gemm(false, true, m, n, k, 1, a, 0, k, b, 0, k, 0, want, 0, n);
    const packed = native.packB(true, k, n, b, 0, k);
    const start = new Int32Array(packed.data.buffer, packed.data.byteOffset, 8)[4];
    // the header's slot 4 says where the slivers begin: 16..31 floats in, so they are 64-byte aligned in the addon's view
    assert.ok(start >= 16 && start < 32, `sliver start ${start}`);
    for (let shift = 0; shift < 16; shift++) {
      const buf = new Float32Array(packed.data.length + 16);
      const copy = buf.subarray(shift, shift + packed.data.length);
      copy.set(packed.data);
      const got = new Float32Array(m * n);
      native.gemmPacked(m, n, k, 1, a, 0, k, { k, n, data: copy }, 0, got, 0, n);
      assert.deepEqual(Array.from(got), Array.from(want), `${isa}, copy shifted by ${shift} floats`);
    }
  }
  native.addon.setIsa(isas[0]);
});

test("cell kernels' vector math at the edges (tails, saturation, underflow): close to js, never NaN", () => {
  const js = new JsBackend();
  const edges = [0, -0, 1e-30, -1e-30, 0.3, -0.624, 0.625, 4, -9.01, 9.03, 20, -20, 87.3, -87.3, 87.4, -87.4, 88.4, -88.4, 100, -100, 1e30, -1e30];
  // float32 inputs and sums (the js reference works in float64): a few ulp of the gate arguments
  const tol = (w: number) => 1e-6 + 1e-5 * Math.abs(w);
  for (const isa of isas) {
    native.addon.setIsa(isa);
    for (const H of [1, 7, 16, 19, 37]) {
      const n = 3;
      const r = rng(H);
      const pick = () => (r() < 0.5 ? edges[Math.floor(r() * edges.length)] : (r() - 0.5) * 12);
      const gates = Float32Array.from({ length: n * 4 * H }, pick);
      const cPrev = Float32Array.from({ length: n * H }, pick);
      const outs = [js, native].map((be) => {
        const g = gates.slice(), c = new Float32Array(n * H), h = new Float32Array(n * H);
        be.lstmForward(n, H, g, 0, cPrev.slice(), 0, c, 0, h, 0, false);
        const gx = gates.slice(0, n * 3 * H), gh = gates.slice(n * H), act = new Float32Array(n * 3 * H), hg = new Float32Array(n * H);
        be.gruForward(n, H, gx, 0, gh, 0, cPrev, 0, act, 0, hg, 0, false);
        const hr = new Float32Array(n * H);
        be.rnnForward(n, H, false, gates, 0, hr, 0);
        return [g, c, h, act, hg, hr];
      });
      outs[0].forEach((want, q) => {
        const got = outs[1][q];
        for (let i = 0; i < want.length; i++) {
          assert.ok(Number.isFinite(got[i]), `${isa} H=${H} output ${q}[${i}] = ${got[i]}`);
          assert.ok(Math.abs(got[i] - want[i]) <= tol(want[i]), `${isa} H=${H} output ${q}[${i}]: got ${got[i]}, want ${want[i]}`);
        }
      });
    }
  }
  native.addon.setIsa(isas[0]);
});

test("gemm with many rows and k blocks (op(B) packed whole, row blocks outside) equals js on every ISA", () => {
  const r = rng(23);
  const shapes: [number, number, number][] = [[97, 1, 129], [100, 49, 131], [193, 95, 257], [290, 50, 400], [131, 144, 130]];
  for (const isa of isas) {
    native.addon.setIsa(isa);
    shapes.forEach(([m, n, k], i) => {
      for (let t = 0; t < 4; t++) {
        const transA = (t & 1) === 1, transB = (t & 2) === 2;
        const ext = i % 3;
        runGemmCase(native, {
          transA, transB, m, n, k, alpha: [1, -0.5, 2.5][t % 3], beta: [0, 1, 0.3, -1][t],
          lda: (transA ? m : k) + ext, ldb: (transB ? k : n) + ext, ldc: n + 2 * ext, aOff: ext, bOff: 2 * ext, cOff: 1,
        }, r);
      }
    });
  }
  native.addon.setIsa(isas[0]);
});

test("gemmBias (the bias written with the product, C never read) equals js's broadcast + gemm, every ISA, every path", () => {
  const js = new JsBackend();
  const r = rng(29);
  // small m (the few-rows path), one k block, several k blocks, many rows (op(B) packed whole), edges
  const shapes: [number, number, number][] = [[1, 5, 7], [3, 50, 300], [9, 53, 37], [40, 97, 260], [200, 131, 300], [130, 49, 64], [17, 8, 0]];
  for (const isa of isas) {
    native.addon.setIsa(isa);
    shapes.forEach(([m, n, k], i) => {
      for (let t = 0; t < 4; t++) {
        const transA = (t & 1) === 1, transB = (t & 2) === 2;
        const ext = (i + t) % 3, alpha = [1, -0.5, 2.5, 0][t];
        const lda = (transA ? m : k) + ext, ldb = (transB ? k : n) + ext, ldc = n + 2 * ext;
        const a = Float32Array.from({ length: (transA ? k : m) * lda + 4 }, () => r() - 0.5);
        const b = Float32Array.from({ length: (transB ? n : k) * ldb + 4 }, () => r() - 0.5);
        const bias = Float32Array.from({ length: n + 3 }, () => r() - 0.5);
        const c0 = Float32Array.from({ length: m * ldc + 2 }, () => NaN); // never read inside the window
        const [cw, cj] = [c0.slice(), c0.slice()];
        native.gemmBias(transA, transB, m, n, k, alpha, a, 1, lda, b, 2, ldb, bias, 3, cw, 1, ldc);
        js.gemmBias(transA, transB, m, n, k, alpha, a, 1, lda, b, 2, ldb, bias, 3, cj, 1, ldc);
        for (let q = 0; q < cw.length; q++) {
          const inWindow = q >= 1 && (q - 1) % ldc < n && Math.floor((q - 1) / ldc) < m;
          if (!inWindow) assert.ok(Number.isNaN(cw[q]), `${isa} ${m}x${n}x${k}: wrote outside C at ${q}`);
          else assert.ok(Math.abs(cw[q] - cj[q]) <= 1e-5 * (1 + Math.abs(alpha) * k), `${isa} ${m}x${n}x${k} t=${t}: C[${q}] ${cw[q]}, want ${cj[q]}`);
        }
      }
    });
  }
  native.addon.setIsa(isas[0]);
  // split across the pool by columns (the bias follows its columns) and by rows
  const pooled = new NativeBackend({ threads: 2, parallelThreshold: 1, adaptiveSplit: false });
  try {
    for (const [m, n, k] of [[24, 300, 70], [400, 20, 150]]) {
      const a = Float32Array.from({ length: m * k }, () => r() - 0.5), b = Float32Array.from({ length: n * k }, () => r() - 0.5);
      const bias = Float32Array.from({ length: n }, () => r() - 0.5);
      const before = pooled.addon.splitGemms();
      const cw = new Float32Array(m * n), cj = new Float32Array(m * n);
      pooled.gemmBias(false, true, m, n, k, 1, a, 0, k, b, 0, k, bias, 0, cw, 0, n);
      js.gemmBias(false, true, m, n, k, 1, a, 0, k, b, 0, k, bias, 0, cj, 0, n);
      assert.equal(pooled.addon.splitGemms() - before, 1, `${m}x${n}x${k} split`);
      for (let q = 0; q < cw.length; q++) assert.ok(Math.abs(cw[q] - cj[q]) <= 1e-5 * (1 + k), `pooled ${m}x${n}x${k}: C[${q}] ${cw[q]}, want ${cj[q]}`);
    }
  } finally {
    restorePool(pooled);
  }
  assert.throws(() => native.gemmBias(false, false, 2, 3, 2, 1, new Float32Array(4), 0, 2, new Float32Array(6), 0, 3, new Float32Array(2), 0, new Float32Array(6), 0, 3),
    (e: Error) => e instanceof RnnkitError && /gemmBias bias: expected elements \[0, 3\), got an array of length 2/.test(e.message));
});

test("recurrentForward and recurrentBackward on two threads (the batch cut into row ranges, each range's loop on its own thread) equal one thread", () => {
  const one = new NativeBackend({ threads: 1 });
  const r = rng(31);
  // [cell, H, batch sizes per step]: equal lengths, shrinking batches, a cut inside a shrinking
  // region, and a batch too small to cut (one range: the per-step GEMM split instead)
  const cases: ["lstm" | "gru" | "rnn", number, number[]][] = [
    ["lstm", 24, [32, 32, 32, 32, 32]], ["lstm", 17, [40, 37, 30, 22, 9, 3, 1]], ["gru", 33, [64, 64, 60, 20, 17]],
    ["rnn", 16, [24, 24, 8, 8, 1]], ["lstm", 8, [15, 15, 15]], ["gru", 9, [17, 16, 16, 2]],
  ];
  const two = new NativeBackend({ threads: 2, parallelThreshold: 1, adaptiveSplit: false });
  try {
    for (const isa of isas) {
      two.addon.setIsa(isa);
      for (const [cell, H, sizes] of cases) {
        const G = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1, GH = G * H;
        const steps = sizes.length;
        const offsets = new Int32Array(steps), batchSizes = Int32Array.from(sizes);
        for (let s = 1; s < steps; s++) offsets[s] = offsets[s - 1] + sizes[s - 1];
        const N = offsets[steps - 1] + sizes[steps - 1];
        const w = Float32Array.from({ length: GH * H }, () => (r() * 2 - 1) * 0.4), bias = Float32Array.from({ length: GH }, () => r() - 0.5);
        const init = [N * GH, N * GH, N * GH, N * H, N * H, N * H, N * H].map((n) => Float32Array.from({ length: n }, () => r() * 2 - 1));
        let loopsBefore = 0;
        // the pool is the process's: one thread for the reference run, two for the other
        const outs = [one, two].map((be, q) => {
          two.addon.setThreads(q + 1);
          loopsBefore = two.addon.splitLoops();
          const [gates, gh, act, hPrev, h, cPrev, c] = init.map((a) => a.slice());
          be.recurrentForward(cell, false, false, steps, offsets, batchSizes, H, [
            { whh: be.packB(true, H, GH, w, 0, H), bhh: cell === "gru" ? bias : null, gates, gh, act, hPrev, h, cPrev, c },
          ]);
          return [gates, gh, act, hPrev, h, cPrev, c];
        });
        outs[0].forEach((want, i) => assert.deepEqual(Array.from(outs[1][i]), Array.from(want), `${isa} ${cell} H=${H} sizes=${sizes}: array ${i}`));
        // cut where the first step has two whole tiles of rows or more
        const mr = ({ avx512: 8, avx2: 6 } as Record<string, number>)[isa] ?? 4; // the micro-tile rows (kernels.cc)
        assert.equal(two.addon.splitLoops() - loopsBefore, sizes[0] >= 2 * mr ? 1 : 0, `${isa} ${cell} sizes=${sizes}: loops split`);
        // the backward loop from the forward's results, cut the same way
        const grads = [N * H, N * H, N * GH, N * GH, sizes[0] * H, sizes[0] * H].map((n) => Float32Array.from({ length: n }, () => r() * 2 - 1));
        const backs = [one, two].map((be, q) => {
          two.addon.setThreads(q + 1);
          loopsBefore = two.addon.splitLoops();
          const [gates, gh, act, hPrev, h, cPrev, c] = outs[q];
          const [dh, dc, dG, dGh, dh0, dc0] = grads.map((a) => a.slice());
          be.recurrentBackward(cell, false, false, steps, offsets, batchSizes, H, [
            { whh: be.packB(false, GH, H, w, 0, H), gates: cell === "gru" ? act : gates, gh, hPrev, h, cPrev, c, dh, dc, dG, dGh, dh0, dc0 },
          ]);
          return [dh, dc, dG, dGh, dh0, dc0];
        });
        backs[0].forEach((want, i) => assert.deepEqual(Array.from(backs[1][i]), Array.from(want), `${isa} ${cell} H=${H} sizes=${sizes}: backward array ${i}`));
        assert.equal(two.addon.splitLoops() - loopsBefore, sizes[0] >= 2 * mr ? 1 : 0, `${isa} ${cell} sizes=${sizes}: backward loops split`);
      }
    }
  } finally {
    two.addon.setIsa(isas[0]);
    restorePool(two);
  }
});

test("worker threads load the addon too: each has its RnnkitError, they share the pool safely, and compute the main thread's bits", async () => {
  const { Worker } = await import("node:worker_threads");
  const nativeUrl = new URL("./native.js", import.meta.url).href, layersUrl = new URL("../../layers/layers.js", import.meta.url).href;
  const body = `
    const { NativeBackend } = await import(${JSON.stringify(nativeUrl)});
    const { LSTM } = await import(${JSON.stringify(layersUrl)});
    const be = new NativeBackend({ threads: 2 });
    const l = new LSTM({ inputSize: 8, hiddenSize: 16, backend: be, seed: 1 });
    const x = { shape: [20, 32, 8], data: Float32Array.from({ length: 20 * 32 * 8 }, (_, i) => Math.sin(i)) };
    const out = l.forward(x).output.data;
    let err = "";
    try { be.gemm(false, false, 2, 3, 2, 1, new Float32Array(1), 0, 2, new Float32Array(6), 0, 3, 0, new Float32Array(6), 0, 3); } catch (e) { err = e.name; }
    be.addon.setThreads(1); // the pool is the process's: as the other tests leave it
  `;
  const inWorkers = await Promise.all([0, 1, 2].map(() => new Promise<{ out: number[]; err: string }>((resolve, reject) => {
    const w = new Worker(`${body}
      const { parentPort } = await import("node:worker_threads");
      parentPort.postMessage({ out: Array.from(out), err });`, { eval: true, type: "module" } as never);
    w.on("message", resolve);
    w.on("error", reject);
  })));
  const here = await (new Function(`return (async () => { ${body}; return { out: Array.from(out), err }; })()`) as () => Promise<{ out: number[]; err: string }>)();
  assert.equal(here.err, "RnnkitError");
  for (const r of inWorkers) {
    assert.equal(r.err, "RnnkitError");
    assert.deepEqual(r.out, here.out);
  }
});

test("a program whose worker threads alone use the addon, resizing the pool at once, computes alike and exits cleanly (the addon stays loaded)", () => {
  // the main thread never loads the addon: when the last worker exits, Node would unload it while
  // the pool's threads run its code (a segfault at exit, about every second run, before the fix)
  const nativeUrl = new URL("./native.js", import.meta.url).href, layersUrl = new URL("../../layers/layers.js", import.meta.url).href;
  const worker = `
    const { NativeBackend } = await import(${JSON.stringify(nativeUrl)});
    const { LSTM } = await import(${JSON.stringify(layersUrl)});
    const { parentPort, workerData } = await import("node:worker_threads");
    const be = new NativeBackend({ threads: 2, parallelThreshold: 1 });
    const l = new LSTM({ inputSize: 8, hiddenSize: 32, backend: be, seed: 1 });
    const x = { shape: [10, 32, 8], data: Float32Array.from({ length: 10 * 32 * 8 }, (_, i) => Math.sin(i)) };
    const ref = l.forward(x).output.data.slice();
    for (let i = 0; i < 100; i++) {
      be.addon.setThreads(1 + ((i + workerData) % 3));
      const y = l.forward(x).output.data;
      for (let k = 0; k < y.length; k++) if (y[k] !== ref[k]) throw new Error("step " + i + ": a different result at " + k);
    }
    parentPort.postMessage(ref[5]);
  `;
  const main = `
    import { Worker } from "node:worker_threads";
    const got = await Promise.all([0, 1, 2, 3].map((w) => new Promise((resolve, reject) => {
      const wk = new Worker(${JSON.stringify(worker)}, { eval: true, type: "module", workerData: w });
      wk.on("message", resolve);
      wk.on("error", reject);
    })));
    if (new Set(got).size !== 1) throw new Error("workers disagree: " + got);
    console.log("ok");
  `;
  for (let run = 0; run < 5; run++) {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", main], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.signal, null, `run ${run}: killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.status, 0, `run ${run}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), "ok");
  }
});
