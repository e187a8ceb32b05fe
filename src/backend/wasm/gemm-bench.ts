/**
 * GEMM benchmark: one JSON line per (shape, backend, threads):
 *   {"shape":"lstm-step 32x512x128 NT","m":32,"n":512,"k":128,"backend":"wasm","threads":1,"gflops":..,"ms":..}
 * gflops = 2*m*n*k / median time. Run after the build:
 *   node dist/src/backend/wasm/gemm-bench.js [--backends js,wasm] [--threads 1,2] [--shapes name,...] [--simd relaxed,simd128] [--quick]
 * --quick shrinks the time budget (CI smoke run). --simd times those kernel builds of the wasm
 * backend (default: the one it picks), in 3 rounds that alternate them shape by shape, and adds
 * `simd` to each line; relaxed needs Node >= 22 or `node --experimental-wasm-relaxed-simd`.
 */
import { JsBackend } from "../js.js";
import type { Backend } from "../backend.js";
import { createWasmBackend, type WasmBackend, type WasmSimd, wasmSimdKinds } from "./wasm.js";

interface Shape {
  name: string;
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
}

const SHAPES: Shape[] = [
  // LSTM step: h_prev [B, H] x W_hh^T, W_hh stored [4H, H] (batch 1: inference, generation)
  { name: "lstm-step B1 H128", transA: false, transB: true, m: 1, n: 512, k: 128 },
  { name: "lstm-step B1 H512", transA: false, transB: true, m: 1, n: 2048, k: 512 },
  { name: "lstm-step B32 H128", transA: false, transB: true, m: 32, n: 512, k: 128 },
  { name: "lstm-step B64 H512", transA: false, transB: true, m: 64, n: 2048, k: 512 },
  // input projection [T*B, X] x W_ih^T
  { name: "input-proj TB1600 X64 4H512", transA: false, transB: true, m: 1600, n: 512, k: 64 },
  { name: "input-proj TB6400 X256 4H2048", transA: false, transB: true, m: 6400, n: 2048, k: 256 },
  // backward dX = dG W: [N, GH] x [GH, X]
  { name: "dX N1600 GH512 X64", transA: false, transB: false, m: 1600, n: 64, k: 512 },
  { name: "dX N6400 GH2048 X256", transA: false, transB: false, m: 6400, n: 256, k: 2048 },
  // weight gradient dW = dG^T X: [GH, N] x [N, X]
  { name: "dW GH512 N1600 X64", transA: true, transB: false, m: 512, n: 64, k: 1600 },
  { name: "dW GH2048 N6400 X256", transA: true, transB: false, m: 2048, n: 256, k: 6400 },
  { name: "square 1024 NN", transA: false, transB: false, m: 1024, n: 1024, k: 1024 },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

function bench(be: Backend, s: Shape, budgetMs: number, maxReps: number): number {
  const { m, n, k } = s;
  const a = be.alloc(m * k), b = be.alloc(k * n), c = be.alloc(m * n);
  for (let i = 0; i < a.length; i++) a[i] = Math.random() * 2 - 1;
  for (let i = 0; i < b.length; i++) b[i] = Math.random() * 2 - 1;
  const lda = s.transA ? m : k, ldb = s.transB ? k : n;
  const run = (): number => {
    const t0 = performance.now();
    be.gemm(s.transA, s.transB, m, n, k, 1, a, 0, lda, b, 0, ldb, 0, c, 0, n);
    return performance.now() - t0;
  };
  // warm up for a quarter of the budget (tier-up of the wasm code in every thread, page faults),
  // then time runs until the budget is spent
  let warm = 0;
  for (let i = 0; i < 1e6 && warm < budgetMs / 4; i++) warm += run();
  const times: number[] = [];
  let spent = 0;
  while (times.length < 3 || (spent < budgetMs && times.length < maxReps)) {
    const t = run();
    times.push(t);
    spent += t;
  }
  be.free(a);
  be.free(b);
  be.free(c);
  return median(times);
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const backends = (arg("backends") ?? "js,wasm").split(",");
  const threadList = (arg("threads") ?? "1,2").split(",").map(Number);
  const only = arg("shapes")?.split(",");
  const shapes = only ? SHAPES.filter((s) => only.some((o) => s.name.includes(o))) : SHAPES;
  const budget = quick ? 100 : 1500;
  const builds = arg("simd")?.split(",") as WasmSimd[] | undefined;
  for (const b of builds ?? []) {
    if (!(wasmSimdKinds as readonly string[]).includes(b)) throw new Error(`--simd: expected one of ${wasmSimdKinds.join(", ")}, got ${JSON.stringify(b)}`);
  }
  for (const bname of backends) {
    const configs = bname === "js" ? [1] : threadList;
    for (const threads of configs) {
      const bes: Backend[] = [];
      if (bname === "js") bes.push(new JsBackend());
      else if (builds) for (const simd of builds) bes.push(await createWasmBackend({ threads, simd }));
      else bes.push(await createWasmBackend({ threads }));
      const rounds = bes.length > 1 ? 3 : 1;
      for (const s of shapes) {
        const flops = 2 * s.m * s.n * s.k;
        const times = bes.map(() => [] as number[]);
        for (let r = 0; r < rounds; r++) {
          bes.forEach((be, i) => {
            // keep the plain JS backend to a few runs on the big shapes
            times[i].push(bench(be, s, (bname === "js" ? Math.min(budget, 3000) : budget) / rounds, bname === "js" ? 5 : 100000));
          });
        }
        const tag = `${s.m}x${s.n}x${s.k} ${s.transA ? "T" : "N"}${s.transB ? "T" : "N"}`;
        bes.forEach((be, i) => {
          const ms = median(times[i]);
          console.log(JSON.stringify({
            shape: `${s.name} ${tag}`, m: s.m, n: s.n, k: s.k, transA: s.transA, transB: s.transB,
            backend: be.name, ...(be.name === "wasm" ? { simd: (be as WasmBackend).simd } : {}),
            threads, gflops: +(flops / ms / 1e6).toFixed(2), ms: +ms.toFixed(3),
          }));
        });
      }
      for (const be of bes) if (be.name === "wasm") (be as WasmBackend).dispose();
    }
  }
}

await main();
