/**
 * What the browser test (test/browser.test.ts) runs inside Chromium: on a page's main thread and
 * in a module Web Worker, on cross-origin isolated pages (shared memory, worker threads) and on
 * plain ones (one thread). It runs against the shipped bundle: test/browser.test.ts bundles this
 * file with `../../src/index.js` replaced by dist/browser/rnnkit.js.
 *
 * Each check returns a result instead of throwing, so one failure does not hide the others.
 */
import * as rnnkit from "../../src/index.js";
import type { Backend, Floats, Recurrent, WasmBackend } from "../../src/index.js";
import { ATOL, RTOL, runFixture, parseFixture } from "../fixture.js";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface CheckOptions {
  /** URLs of golden fixtures (JSON; PyTorch and TensorFlow.js) to run on both backends. */
  fixtures: string[];
}

/** Facts about where the checks ran, for the runner's own assertions. */
export interface Environment {
  where: "window" | "worker";
  crossOriginIsolated: boolean;
  cores: number;
  simd: boolean;
  defaultBackend: string;
  threads: number;
  shared: boolean;
  version: string;
}

export interface CheckReport {
  env: Environment;
  results: CheckResult[];
}

/** A small seeded generator (the tests need reproducible inputs, not good randomness). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** The worst |got - want| relative to ATOL + RTOL * |want|, and where (ratio <= 1 passes). */
function worst(got: ArrayLike<number>, want: ArrayLike<number>): { ratio: number; at: number } {
  if (got.length !== want.length) return { ratio: Infinity, at: -1 };
  let ratio = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i] - want[i]) / (ATOL + RTOL * Math.abs(want[i]));
    if (!(r <= ratio)) {
      ratio = r;
      at = i;
    }
  }
  return { ratio, at };
}

async function check(results: CheckResult[], name: string, f: () => string | Promise<string>): Promise<void> {
  try {
    results.push({ name, ok: true, detail: await f() });
  } catch (e) {
    results.push({ name, ok: false, detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}

function expect(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}

function filled(be: Backend, n: number, r: () => number): Floats {
  const a = be.alloc(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

/** C = alpha op(A) op(B) + beta C on `be` and on the js reference, for every transpose and odd sizes. */
function compareGemm(be: Backend, shapes: [number, number, number][], seed: number): string {
  const js = new rnnkit.JsBackend();
  const r = lcg(seed);
  let cases = 0;
  for (const [m, n, k] of shapes) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const alpha = 0.5 + r(), beta = cases % 3 === 0 ? 0 : r();
        const lda = (tA ? m : k) + (cases % 2), ldb = (tB ? k : n) + 3, ldc = n + 1;
        const aN = (tA ? k : m) * lda, bN = (tB ? n : k) * ldb, cN = m * ldc;
        const [a, b, c] = [aN, bN, cN].map((len) => filled(js, len, r));
        const [wa, wb, wc] = [a, b, c].map((src) => {
          const d = be.alloc(src.length);
          d.set(src);
          return d;
        });
        js.gemm(tA, tB, m, n, k, alpha, a, 0, lda, b, 0, ldb, beta, c, 0, ldc);
        be.gemm(tA, tB, m, n, k, alpha, wa, 0, lda, wb, 0, ldb, beta, wc, 0, ldc);
        // the tolerance grows with k (float32 sums in a different order)
        const tol = 1e-5 * Math.sqrt(k + 1);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const g = wc[i * ldc + j], w = c[i * ldc + j];
            expect(Math.abs(g - w) <= tol * (1 + Math.abs(w)), `gemm ${m}x${n}x${k} tA=${tA} tB=${tB}: C[${i},${j}] = ${g}, want ${w}`);
          }
        }
        for (const x of [wa, wb, wc]) be.free(x);
        cases++;
      }
    }
  }
  return `${cases} products`;
}

/** Forward and backward of a layer on `be` against the same layer (same weights) on the js backend. */
function compareLayer(make: (be: Backend) => Recurrent, be: Backend, seed: number): string {
  const js = new rnnkit.JsBackend();
  const ref = make(js), got = make(be);
  got.loadStateDict(ref.stateDict());
  const r = lcg(seed);
  const T = 9, B = 6, L = ref.numLayers, D = ref.bidirectional ? 2 : 1, H = ref.hiddenSize;
  const lengths = [9, 4, 7, 1, 9, 3];
  const rand = (shape: number[], scale: number) => ({
    shape, data: Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => (r() * 2 - 1) * scale),
  });
  const x = rand([T, B, ref.inputSize], 1), h0 = rand([L * D, B, H], 0.5), g = rand([T, B, D * H], 1);
  const outs = [ref, got].map((layer) => layer.forward(x, { h0, lengths }));
  const grads = [ref, got].map((layer) => layer.backward({ output: g }));
  const pairs: [string, ArrayLike<number>, ArrayLike<number>][] = [
    ["output", outs[1].output.data, outs[0].output.data],
    ["h", outs[1].h.data, outs[0].h.data],
    ["dx", grads[1].dx.data, grads[0].dx.data],
    ["dh0", grads[1].dh0.data, grads[0].dh0.data],
    ...ref.parameters().map((p, i): [string, ArrayLike<number>, ArrayLike<number>] => [`d${p.name}`, got.parameters()[i].grad.data, p.grad.data]),
  ];
  let max = 0;
  for (const [what, a, b] of pairs) {
    const w = worst(a, b);
    expect(w.ratio <= 1, `${ref.cellType} ${what}[${w.at}]: ${a[w.at]} vs js ${b[w.at]}`);
    max = Math.max(max, w.ratio);
  }
  return `${pairs.length} tensors, worst error ${(max * 100).toFixed(1)}% of the tolerance`;
}

export async function runChecks(opts: CheckOptions): Promise<CheckReport> {
  const g = globalThis as unknown as { document?: unknown; crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  const def = rnnkit.getBackend() as WasmBackend;
  const env: Environment = {
    where: g.document ? "window" : "worker",
    crossOriginIsolated: g.crossOriginIsolated === true,
    cores: g.navigator?.hardwareConcurrency ?? 1,
    simd: rnnkit.wasmSimdSupported(),
    defaultBackend: def.name,
    threads: def.threads ?? 1,
    shared: def.shared ?? false,
    version: "",
  };
  const results: CheckResult[] = [];

  await check(results, "the default backend is wasm, with as many threads as the page allows", () => {
    expect(def.name === "wasm", `default backend ${def.name}, expected wasm`);
    const want = env.crossOriginIsolated ? Math.min(rnnkit.defaults.wasmThreads, env.cores) : 1;
    expect(def.threads === want, `threads ${def.threads}, expected ${want}`);
    return `threads ${def.threads}, shared memory ${def.shared}`;
  });

  await check(results, "gemm: wasm equals js on every transpose, odd sizes, leading dims, alpha, beta", () =>
    compareGemm(def, [[1, 1, 1], [3, 5, 7], [13, 9, 33], [4, 8, 16], [37, 70, 19], [66, 257, 130]], 1),
  );

  await check(results, "gemm split across Web Workers (shared memory) equals js", async () => {
    const be = await rnnkit.createWasmBackend({ threads: 2, parallelThreshold: 1, wakeThreshold: 1 });
    try {
      if (!env.crossOriginIsolated) {
        expect(be.threads === 1 && be.workerCount === 0, `not isolated: threads ${be.threads}, workers ${be.workerCount}, expected 1 and 0`);
        return `${compareGemm(be, [[70, 130, 65]], 2)} on one thread (no isolation, no workers)`;
      }
      expect(be.workerCount === 1, `workers ${be.workerCount}, expected 1`);
      const done = compareGemm(be, [[70, 130, 65], [200, 40, 90], [31, 517, 64]], 2);
      expect(be.splitGemms > 0, "no GEMM was split across threads");
      return `${done}, ${be.splitGemms} of them split across 2 threads`;
    } finally {
      be.dispose();
    }
  });

  await check(results, "LSTM, GRU (both variants), RNN: bidirectional, stacked, variable lengths, forward and backward equal js", () => {
    const o = { inputSize: 5, hiddenSize: 11, numLayers: 2, bidirectional: true, seed: 7 };
    return [
      compareLayer((backend) => new rnnkit.LSTM({ ...o, backend }), def, 1),
      compareLayer((backend) => new rnnkit.GRU({ ...o, backend }), def, 2),
      compareLayer((backend) => new rnnkit.GRU({ ...o, resetAfter: false, backend }), def, 3),
      compareLayer((backend) => new rnnkit.RNN({ ...o, nonlinearity: "relu", backend }), def, 4),
    ].join("; ");
  });

  await check(results, `golden fixtures (PyTorch, TensorFlow.js) on wasm and js`, async () => {
    expect(opts.fixtures.length > 0, "no fixtures given");
    const js = new rnnkit.JsBackend();
    const failed: string[] = [];
    for (const url of opts.fixtures) {
      const res = await fetch(url);
      expect(res.ok, `${url}: HTTP ${res.status}`);
      const fx = parseFixture(await res.text(), url);
      for (const be of [def, js]) {
        const misses = runFixture(fx, be);
        if (misses.length) failed.push(`${url} on ${be.name}: ${misses.map((m) => m.what).join(", ")}`);
      }
    }
    expect(failed.length === 0, failed.join("; "));
    return `${opts.fixtures.length} fixtures x 2 backends`;
  });

  await check(results, "train a character LM with fit, round-trip it through modelToBytes, generate the same text; saveModel explains", async () => {
    const text = "the cat sat on the mat. the dog sat on the log. ".repeat(8);
    const tok = rnnkit.Tokenizer.build("char", text);
    const model = new rnnkit.SequenceModel({
      task: "lm", cell: "lstm", vocabSize: tok.size, embeddingDim: 8, hiddenSize: 32, outputSize: tok.size, seed: 1,
    });
    const ids = tok.encode(text);
    const losses: number[] = [];
    const res = await rnnkit.fit(model, { kind: "stream", train: ids }, {
      epochs: 6, seqLen: 16, batchSize: 4, optimizerOptions: { lr: 0.02 }, seed: 1,
      onEpoch: (e) => void losses.push(e.train.loss),
    });
    expect(losses.length === 6, `${losses.length} epochs reported, expected 6`);
    expect(losses[5] < 0.7 * losses[0], `loss ${losses[0].toFixed(3)} -> ${losses[5].toFixed(3)}: did not fall by 30%`);
    const bytes = rnnkit.modelToBytes(model, { tokenizer: tok });
    const back = rnnkit.modelFromBytes(bytes);
    const a = rnnkit.generate(model, tok, "the ", { length: 40, temperature: 0 });
    const b = rnnkit.generate(back.model, back.tokenizer!, "the ", { length: 40, temperature: 0 });
    expect(a === b, `greedy text differs after the round trip: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    let saveError = "";
    try {
      rnnkit.saveModel("model.safetensors", model);
    } catch (e) {
      saveError = (e as Error).message;
    }
    expect(/no file system in the browser.*modelToBytes/.test(saveError), `saveModel in a browser: ${saveError || "no error"}`);
    return `loss ${losses[0].toFixed(3)} -> ${losses[5].toFixed(3)} in ${res.steps} steps; ${bytes.length} bytes; greedy "${a.slice(0, 24)}..."`;
  });

  env.version = rnnkit.rnnkitVersion();
  return { env, results };
}
