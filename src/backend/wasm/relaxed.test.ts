/**
 * The relaxed-SIMD build of the wasm kernels (kernels-relaxed.wasm) and how a backend picks its build.
 *   node --test dist/src/backend/wasm/relaxed.test.js
 *
 * Node 20 validates relaxed SIMD only with --experimental-wasm-relaxed-simd, so where this process
 * cannot run it, this file re-runs itself under that flag (a child `node --test`), and there, as on
 * Node >= 22 directly, it runs the whole kernel suite (kernel-suite.ts) on the relaxed build against
 * the js oracle, and the threaded GEMM. Either way it runs the golden fixtures (dist/test/parity.js)
 * on the build that the plain `node dist/test/parity.js` of `npm test` does not run: relaxed on
 * Node 20, SIMD128 where relaxed is the default. Results are compared within the parity tolerance
 * (1e-5 + 1e-4 |ref|), never bit for bit across builds: relaxed_madd is fused on one CPU and not on
 * another.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { platform } from "#platform";
import { RnnkitError } from "../../tensor.js";
import {
  createWasmBackend, createWasmBackendSync, pickWasmSimd, relaxedSimdSupported, WASM_SIMD_ENV, wasmSimdKinds,
  type WasmBackend, withUnsharedMemory,
} from "./wasm.js";
import { kernelSuite, pair, rng, runGemmCase } from "../kernel-suite.js";

const FLAG = "--experimental-wasm-relaxed-simd";
const thisFile = fileURLToPath(import.meta.url);
const parity = fileURLToPath(new URL("../../../test/parity.js", import.meta.url));
const relaxedHere = relaxedSimdSupported();
const nodeMajor = Number(process.versions.node.split(".")[0]);
const wa = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;

/** The environment of a child: this one without the test runner's own variables and without $RNNKIT_WASM_SIMD. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT; // else a child `node --test` reports to this runner instead of printing TAP
  if (!(WASM_SIMD_ENV in extra)) delete env[WASM_SIMD_ENV];
  return env;
}

/** Runs `code` (an ES module) in a child Node, with `flags`; its stdout parsed as JSON. */
function childJson(flags: string[], code: string, extra: Record<string, string> = {}): Record<string, unknown> {
  const url = new URL("./wasm.js", import.meta.url).href;
  const r = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", `const w = await import(${JSON.stringify(url)});\n${code}`], {
    encoding: "utf8", env: childEnv(extra),
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** A variable of the environment, set for the length of `f`. */
function withEnv<T>(name: string, value: string | undefined, f: () => T): T {
  const old = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return f();
  } finally {
    if (old === undefined) delete process.env[name];
    else process.env[name] = old;
  }
}

test("the two builds: SIMD128 validates everywhere, the relaxed one only where relaxed SIMD runs (not on Node 20 without the flag)", () => {
  const plain = platform.kernelBytes("simd128"), relaxed = platform.kernelBytes("relaxed");
  assert.equal(platform.kernelBytes(), plain, "the default is SIMD128");
  assert.notDeepEqual(relaxed, plain);
  assert.equal(wa.validate(plain), true);
  assert.equal(wa.validate(relaxed), relaxedHere);
  if (nodeMajor < 22 && !process.execArgv.includes(FLAG)) assert.equal(relaxedHere, false, "Node 20 validates relaxed SIMD without the flag?");
  // the relaxed build's memory import can be made plain like the other's (a page that is not cross-origin isolated)
  const fixed = withUnsharedMemory(relaxed);
  let diff = 0;
  for (let i = 0; i < relaxed.length; i++) if (relaxed[i] !== fixed[i]) diff++;
  assert.equal(diff, 1);
  assert.equal(wa.validate(fixed), relaxedHere);
});

test("pickWasmSimd: relaxed where it validates, else SIMD128; the option, then $RNNKIT_WASM_SIMD, force one; bad names and impossible asks are RnnkitErrors", () => {
  withEnv(WASM_SIMD_ENV, undefined, () => {
    assert.equal(pickWasmSimd(), relaxedHere ? "relaxed" : "simd128");
    assert.equal(createWasmBackendSync().simd, relaxedHere ? "relaxed" : "simd128");
    assert.equal(pickWasmSimd("simd128"), "simd128");
    const be = createWasmBackendSync({ simd: "simd128" });
    assert.equal(be.simd, "simd128");
    assert.equal(be.label, "wasm (SIMD128)");
    assert.equal(be.name, "wasm");
    assert.throws(
      () => pickWasmSimd("fast"),
      (e: Error) => e instanceof RnnkitError && e.message === 'WasmBackend: the simd option: expected one of relaxed, simd128, got "fast"',
    );
  });
  withEnv(WASM_SIMD_ENV, "simd128", () => {
    assert.equal(createWasmBackendSync().simd, "simd128");
    if (relaxedHere) assert.equal(createWasmBackendSync({ simd: "relaxed" }).simd, "relaxed", "the option beats the environment");
  });
  withEnv(WASM_SIMD_ENV, "", () => assert.equal(pickWasmSimd(), relaxedHere ? "relaxed" : "simd128", "empty means unset"));
  withEnv(WASM_SIMD_ENV, "SIMD128", () => {
    assert.throws(
      () => createWasmBackendSync(),
      (e: Error) => e instanceof RnnkitError && e.message === 'WasmBackend: $RNNKIT_WASM_SIMD: expected one of relaxed, simd128, got "SIMD128"',
    );
  });
  if (!relaxedHere) {
    for (const [f, from] of [[() => createWasmBackendSync({ simd: "relaxed" }), "the simd option"], [() => withEnv(WASM_SIMD_ENV, "relaxed", () => createWasmBackendSync()), "$RNNKIT_WASM_SIMD"]] as const) {
      assert.throws(f, (e: Error) =>
        e instanceof RnnkitError && e.message.startsWith(`WasmBackend: ${from} asks for relaxed SIMD: expected an engine that validates it`) &&
        /Node 20 run with --experimental-wasm-relaxed-simd\), got a node engine that does not; use simd128$/.test(e.message));
    }
  }
  assert.deepEqual([...wasmSimdKinds], ["relaxed", "simd128"]);
});

test("a child Node picks SIMD128 without the flag (on Node 20) and relaxed with it; $RNNKIT_WASM_SIMD=simd128 still forces SIMD128 there", () => {
  const probe = "const b = w.createWasmBackendSync(); console.log(JSON.stringify({ supported: w.relaxedSimdSupported(), simd: b.simd, label: b.label }));";
  const plain = childJson([], probe);
  assert.equal(plain.simd, plain.supported ? "relaxed" : "simd128");
  if (nodeMajor < 22) assert.deepEqual(plain, { supported: false, simd: "simd128", label: "wasm (SIMD128)" });
  const flagged = childJson([FLAG], probe);
  assert.deepEqual(flagged, { supported: true, simd: "relaxed", label: "wasm (relaxed SIMD)" });
  assert.equal(childJson([FLAG], probe, { [WASM_SIMD_ENV]: "simd128" }).simd, "simd128");
});

test("the golden fixtures pass on the build the plain parity run of npm test does not use (dist/test/parity.js, wasm, that build forced)", { timeout: 120_000 }, () => {
  const def = pickWasmSimd();
  const others = wasmSimdKinds.filter((k) => k !== def);
  assert.equal(others.length, 1);
  for (const simd of others) {
    const flags = simd === "relaxed" && !relaxedHere ? [FLAG] : [];
    const r = spawnSync(process.execPath, [...flags, parity], {
      encoding: "utf8", env: childEnv({ RNNKIT_BACKEND: "wasm", [WASM_SIMD_ENV]: simd }),
    });
    const tail = `${r.stdout.split("\n").filter((l) => !l.startsWith("ok ")).join("\n")}\n${r.stderr}`;
    assert.equal(r.status, 0, `${simd}: ${tail}`);
    const m = /parity: (\d+) passed, 0 failed/.exec(r.stdout);
    assert.ok(m && Number(m[1]) >= 68, `${simd}: ${tail}`);
  }
});

if (!relaxedHere) {
  test("the kernel suite on the relaxed build: this file, re-run under --experimental-wasm-relaxed-simd, passes", { timeout: 300_000 }, () => {
    const r = spawnSync(process.execPath, [FLAG, "--test", "--test-reporter=tap", thisFile], { encoding: "utf8", env: childEnv() });
    const failed = r.stdout.split("\n").filter((l) => /^\s*not ok/.test(l));
    assert.equal(r.status, 0, `${failed.join("\n")}\n${r.stdout.slice(-4000)}\n${r.stderr}`);
    assert.match(r.stdout, /^# fail 0$/m);
    // the kernel suite's tests (19 when this was written) ran there, and the relaxed-only ones
    const suite = r.stdout.split("\n").filter((l) => /^ok \d+ - wasm relaxed: /.test(l)).length;
    assert.match(r.stdout, /^ok \d+ - the relaxed build's 6-row tiles/m);
    assert.ok(suite >= 19, `only ${suite} kernel-suite tests passed under the flag`);
    assert.match(r.stdout, /^ok \d+ - 2 threads on the relaxed build/m);
    assert.match(r.stdout, /^ok \d+ - a fixed \(non-shared\) memory on the relaxed build/m);
  });
} else {
  const relaxed = createWasmBackendSync({ simd: "relaxed" });

  test("the relaxed backend describes itself", () => {
    assert.equal(relaxed.simd, "relaxed");
    assert.equal(relaxed.label, "wasm (relaxed SIMD)");
    assert.equal(relaxed.name, "wasm");
  });

  kernelSuite("wasm relaxed", relaxed);

  test("the relaxed build's 6-row tiles: every row count mod 6, the 4-row kernel on short last slivers, few rows with k up to the A pack's limit", () => {
    const r = rng(12);
    for (const m of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 32, 34, 64, 100, 193]) {
      for (const [transA, transB] of [[false, true], [true, false], [false, false]] as [boolean, boolean][]) {
        const n = 19, k = 37;
        runGemmCase(relaxed, {
          transA, transB, m, n, k, alpha: 0.5, beta: m % 2 ? 0 : 1,
          lda: (transA ? m : k) + 1, ldb: (transB ? k : n) + 2, ldc: n + 3, aOff: 1, bOff: 2, cOff: 3,
        }, r);
      }
    }
    // m <= 8 with a k that fits the A pack only as 8 rows, not as 12 (two 6-row slivers): the blocked path
    for (const [m, k] of [[7, 4097], [8, 6000], [6, 4096], [5, 6144]]) {
      runGemmCase(relaxed, { transA: false, transB: false, m, n: 21, k, alpha: 1, beta: 0, lda: k, ldb: 21, ldc: 21, aOff: 0, bOff: 0, cOff: 0 }, r);
    }
  });

  /** C = A B^T on `be` (m x n x k, fixed inputs): its bits. */
  function product(be: WasmBackend, m: number, n: number, k: number): Float32Array {
    const r = rng(m * 7 + n);
    const [a] = pair(be, m * k, () => r() * 2 - 1);
    const [b] = pair(be, n * k, () => r() * 2 - 1);
    const c = be.alloc(m * n);
    be.gemm(false, true, m, n, k, 1, a, 0, k, b, 0, k, 0, c, 0, n);
    const out = Float32Array.from(c);
    for (const x of [a, b, c]) be.free(x);
    return out;
  }

  test("2 threads on the relaxed build: the workers instantiate the relaxed module too (a split GEMM equals the one-thread relaxed GEMM bit for bit)", async (t) => {
    const plain = createWasmBackendSync({ simd: "simd128" });
    const two = await createWasmBackend({ simd: "relaxed", threads: 2, parallelThreshold: 1, wakeThreshold: 1 });
    try {
      assert.equal(two.simd, "relaxed");
      assert.equal(two.workerCount, 1);
      let fusedDiffs = 0;
      for (const [m, n, k] of [[64, 520, 300], [33, 1030, 97], [16, 264, 1000]] as [number, number, number][]) {
        const before = two.splitGemms;
        const split = product(two, m, n, k), one = product(relaxed, m, n, k), simd = product(plain, m, n, k);
        assert.ok(two.splitGemms > before, `${m}x${n}x${k} was split`);
        for (let i = 0; i < one.length; i++) {
          if (!Object.is(split[i], one[i])) assert.fail(`${m}x${n}x${k}: C[${i}] = ${split[i]} on 2 threads, ${one[i]} on one`);
          if (one[i] !== simd[i]) fusedDiffs++;
        }
        // the builds agree within rounding
        for (let i = 0; i < one.length; i++) assert.ok(Math.abs(one[i] - simd[i]) <= 1e-5 * Math.sqrt(k) * (1 + Math.abs(simd[i])));
      }
      // where relaxed_madd is fused (x86 with FMA3, ARM64), the workers' chunks could not equal the
      // one-thread relaxed result if they ran SIMD128; where it is not, both builds round the same
      t.diagnostic(`elements where the relaxed build differs from SIMD128: ${fusedDiffs} (0 means relaxed_madd is not fused on this CPU)`);
      const more = { transA: true, transB: false, m: 517, n: 33, k: 260, alpha: -1, beta: 1, lda: 520, ldb: 33, ldc: 33, aOff: 0, bOff: 0, cOff: 0 };
      runGemmCase(two, more, rng(3));
    } finally {
      two.dispose();
    }
  });

  test("a fixed (non-shared) memory on the relaxed build: what a page that is not cross-origin isolated runs", () => {
    const fixed = createWasmBackendSync({ simd: "relaxed", sharedMemory: false, fixedMemoryMB: 16 });
    assert.equal(fixed.simd, "relaxed");
    assert.equal(fixed.shared, false);
    const r = rng(4);
    for (const [m, n, k] of [[5, 7, 300], [40, 33, 70], [1, 100, 9]]) {
      runGemmCase(fixed, { transA: false, transB: true, m, n, k, alpha: 1, beta: 0.5, lda: k, ldb: k, ldc: n, aOff: 0, bOff: 0, cOff: 0 }, r);
    }
    // bit for bit the same as the shared relaxed backend (same module, other memory import)
    const a = product(fixed, 20, 24, 50), b = product(relaxed, 20, 24, 50);
    assert.deepEqual(a, b);
  });
}
