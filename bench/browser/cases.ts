/**
 * The browser half of `npm run bench:browser`: runs inside a module Web Worker in Chromium (see
 * ../browser.ts), bundled from dist/ with the browser host. It keeps one wasm backend per kernel
 * build (relaxed SIMD, SIMD128) and thread count, and one instance per case, so a case stays warm
 * between the rounds that alternate builds and hosts, and times a case when asked (bench/cases.ts
 * measure()). With `profile`, it times the case once more on a backend whose kernel calls are
 * clocked by group (see profiled()).
 */
import { createWasmBackend, type WasmBackend, type WasmSimd } from "../../src/backend/wasm/wasm.js";
import { type CaseKey, CaseCache, CONFIGS, makeCase } from "../cases.js";
import type { Backend } from "../../src/backend/backend.js";

export interface BrowserCase extends CaseKey {
  threads: number;
  budget: number;
  simd: WasmSimd;
}

const backends = new Map<string, WasmBackend>();
const cases = new CaseCache();

async function backendFor(k: BrowserCase): Promise<WasmBackend> {
  const id = `${k.simd}/${k.threads}`;
  let be = backends.get(id);
  if (!be) {
    be = await createWasmBackend({ threads: k.threads, simd: k.simd });
    if (be.threads !== k.threads) throw new Error(`asked for ${k.threads} threads, got ${be.threads} (is the page cross-origin isolated?)`);
    if (be.simd !== k.simd) throw new Error(`asked for the ${k.simd} build, got ${be.simd}`);
    backends.set(id, be);
  }
  return be;
}

/** Times one case on the backend with `threads` threads and build `simd` (made on first use). */
export async function runCase(k: BrowserCase) {
  const be = await backendFor(k);
  return { ...cases.measure(k, be, k.budget), simd: be.simd };
}

/** The kernel groups of a profile: the GEMMs, the fused cell kernels, and every other kernel. */
export type KernelGroup = "gemm" | "cell" | "other";
const CELL_KERNELS = new Set([
  "lstmForward", "lstmBackward", "gruForward", "gruBackward", "rnnForward", "rnnBackward",
  "gruResetBeforeGates", "gruResetBeforeOutput", "gruResetBeforeBackwardOutput", "gruResetBeforeBackwardGates",
]);
const OTHER_KERNELS = new Set([
  "broadcastRows", "sumRows", "gatherRows", "scatterRows", "copy", "axpy", "zero", "softmaxCrossEntropy", "softmax",
  "mse", "bceWithLogits", "sumSquares", "scale", "mul", "sgdStep", "adamStep", "rmspropStep", "adagradStep",
]);

/**
 * `be` with each kernel call clocked (performance.now() around it) into `ms` by group. A proxy,
 * so the layers see the same backend; the clock's own cost (tens of ns a call) is small next to
 * the kernels of the benchmark configurations.
 */
export function profiled(be: Backend, ms: Record<KernelGroup, number>, calls: Record<KernelGroup, number>): Backend {
  return new Proxy(be, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== "function" || typeof prop !== "string") return v;
      const group: KernelGroup | null = prop === "gemm" ? "gemm" : CELL_KERNELS.has(prop) ? "cell" : OTHER_KERNELS.has(prop) ? "other" : null;
      if (!group) return (v as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        ms[group] += performance.now() - t0;
        calls[group]++;
        return r;
      };
    },
  });
}

/**
 * Runs one case for about `budget` seconds on a clocked backend and returns, per batch, the time
 * of the whole batch and of each kernel group (the rest is JavaScript between the kernels).
 */
export async function profileCase(k: BrowserCase) {
  const be = await backendFor(k);
  return profileOn(k, be);
}

/** profileCase's work on a given backend (the Node side of the benchmark calls it too). */
export function profileOn(k: CaseKey & { budget: number }, be: WasmBackend) {
  const c = CONFIGS.find((x) => x.name === k.config);
  if (!c) throw new Error(`unknown configuration ${JSON.stringify(k.config)}`);
  const ms: Record<KernelGroup, number> = { gemm: 0, cell: 0, other: 0 };
  const calls: Record<KernelGroup, number> = { gemm: 0, cell: 0, other: 0 };
  const run = makeCase(c, k.cell, k.mode, profiled(be, ms, calls));
  run(); // warm-up, not counted
  ms.gemm = ms.cell = ms.other = 0;
  calls.gemm = calls.cell = calls.other = 0;
  let reps = 0;
  const t0 = performance.now();
  do {
    run();
    reps++;
  } while (performance.now() - t0 < k.budget * 1000);
  const total = (performance.now() - t0) / reps;
  const per = (g: KernelGroup) => Math.round((ms[g] / reps) * 1000) / 1000;
  return {
    simd: be.simd, reps, msPerBatch: Math.round(total * 1000) / 1000,
    gemmMs: per("gemm"), cellMs: per("cell"), otherMs: per("other"),
    restMs: Math.round((total - (ms.gemm + ms.cell + ms.other) / reps) * 1000) / 1000,
    gemmCalls: calls.gemm / reps, cellCalls: calls.cell / reps,
  };
}

/** One GEMM of a benchmark case: C[m, n] = op(A) op(B), as the LSTM layer calls it. */
export interface GemmShape {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

/**
 * The GEMMs of an LSTM layer of configuration `config` (the first layer): the step h W_hh^T,
 * the input projection X W_ih^T over all T*B rows, and the backward dX = dG W_ih and
 * dW_ih = dG^T X.
 */
export function lstmGemms(config: string): GemmShape[] {
  const c = CONFIGS.find((x) => x.name === config);
  if (!c) throw new Error(`unknown configuration ${JSON.stringify(config)}`);
  const G = 4 * c.hidden, N = c.seqLen * c.batch;
  return [
    { name: "step", m: c.batch, n: G, k: c.hidden, transA: false, transB: true },
    { name: "input projection", m: N, n: G, k: c.input, transA: false, transB: true },
    { name: "dX", m: N, n: c.input, k: G, transA: false, transB: false },
    { name: "dW", m: G, n: c.input, k: N, transA: true, transB: false },
  ];
}

/** Times `s` for about `budget` seconds on `be` (after a quarter of that as warm-up): ms per call. */
export function timeGemm(be: WasmBackend, s: GemmShape, budget: number): number {
  const a = be.alloc(s.m * s.k), b = be.alloc(s.k * s.n), c = be.alloc(s.m * s.n);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  for (let i = 0; i < b.length; i++) b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  const lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n;
  const run = () => be.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, 0, lda, b, 0, ldb, 0, c, 0, s.n);
  let t0 = performance.now();
  while (performance.now() - t0 < budget * 250) run();
  let reps = 0;
  t0 = performance.now();
  do {
    run();
    reps++;
  } while (performance.now() - t0 < budget * 1000);
  const ms = (performance.now() - t0) / reps;
  be.free(a);
  be.free(b);
  be.free(c);
  return ms;
}

/** timeGemm in the browser, on the backend of `k.simd` and `k.threads`. */
export async function gemmCase(k: { simd: WasmSimd; threads: number; budget: number; shape: GemmShape }) {
  const be = await backendFor({ ...k, config: "S", cell: "lstm", mode: "infer" });
  return { simd: be.simd, ms: timeGemm(be, k.shape, k.budget) };
}
