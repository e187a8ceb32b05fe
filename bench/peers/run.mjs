#!/usr/bin/env node
/**
 * `npm run bench:peers`: rnnkit against its peers on the benchmark configurations of
 * bench/cases.ts (S, M, C; LSTM, GRU, tanh RNN; inference and one training step).
 *
 *   npm run build && node bench/peers/run.mjs [--config S|M|C] [--cell lstm|gru|rnn]
 *     [--mode infer|train] [--peer NAME] [--budget SECONDS] [--cap SECONDS] [--threads 1,2]
 *     [--python PATH] [--no-install] [--rnnkit-dist DIR] [--rnnkit-backends js,wasm,native]
 *
 * Peers (--peer, repeatable or comma-separated; default all):
 *   rnnkit       every backend of dist/bench/backends.js (makeCase, as `npm run bench`; wasm and
 *                native at each --threads count), the SGEMM shapes with the wasm and native
 *                backends' gemm (the js one while there is no wasm), and for native the
 *                "layer-sgemm" rate: its own SGEMM on exactly the GEMMs of each layer's forward
 *                pass (the input projection [T*B, X] x [X, G*H] and T steps [B, H] x [H, G*H]
 *                with W_hh packed once), against which each case's GFLOP/s is a fraction
 *   onnxruntime  onnxruntime-node, CPU, inference only, on ONNX models this script writes
 *                (onnx-model.mjs), intra-op threads from --threads
 *   torch        PyTorch (torch_bench.py) with torch.set_num_threads from --threads, when a
 *                python3 that imports torch exists (see README.md; never installed from here)
 *   tfjs-wasm    TensorFlow.js 4.22 with @tensorflow/tfjs-backend-wasm (SIMD, 1 thread in Node),
 *                and tf.matMul on the SGEMM shapes
 *   tfjs-cpu     TensorFlow.js 4.22 with its plain-JS cpu backend
 *   brain.js     brain.js 2.0.0-beta.24 (no batching: sequences one after another)
 *
 * The JS peers are installed into bench/peers/node_modules (never dependencies of rnnkit) by
 * `npm ci --prefix bench/peers --ignore-scripts` (`npm install` without package-lock.json) when
 * that folder is missing, with
 * ONNXRUNTIME_NODE_INSTALL=skip; --ignore-scripts keeps gpu.js's native `gl` (a peer dependency
 * of brain.js that brain.js's CPU path does not need) from being built.
 *
 * Every case is timed as bench/cases.ts time() does: warm-up runs for 1 s (at least one; JITs,
 * V8's wasm tier-up and BLAS thread pools settle), then the median of up to 5 runs within
 * --budget seconds (default 5); a case whose first run took more than half the budget is timed by
 * one more run (the first warmed it up), or by the first alone when that took over 5 s. A case whose single batch is predicted (from the same peer's GFLOP/s on an earlier
 * configuration of this run, same cell and mode) to take more than --cap seconds (default 45;
 * 0 = no cap; brain.js: one sequence) is skipped with a line saying so. Each peer runs in its own child process.
 *
 * Output, one JSON object per line on stdout:
 *   {peer, backend, threads, config, cell, mode, seqPerSec, gflops, ms, reps}   a measurement
 *   {peer, backend, threads, op: "matmul", shape: "MxKxN", gflops, ms, reps}    an SGEMM
 *   {peer: "rnnkit", backend, threads, op: "layer-sgemm", config, cell, gflops}  see rnnkit above
 *   {ratio: "rnnkit-native-1t/own-sgemm", config, cell, mode, value}        case GFLOP/s over it
 *   {peer: "onnxruntime", op: "infer-interleaved", config, cell, threads,    rnnkit native and ONNX
 *    rnnkitSeqPerSec, ortSeqPerSec, ratio}                                   Runtime timed in turns
 *   {peer, ..., config, cell, mode, error | skipped}                           no measurement
 *   {peer, info: "env" | "note", ...}                                           versions, notes
 *   {ratio: "rnnkit-wasm/tfjs-wasm", config, cell, mode, value}                 rnnkit seq/s over
 *                                     the peer's ({ratio, op: "matmul", shape, value}: GFLOP/s)
 *   {done: true, seconds}
 * `ms` is one batch (brain.js: one timed run of `seqsPerRun` sequences), GFLOP/s counts the
 * recurrent layers only (bench/cases.ts forwardFlops, training 3x). A readable table of seq/s
 * goes to stderr at the end.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { cpus } from "node:os";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const PEERS = ["rnnkit", "onnxruntime", "torch", "tfjs-wasm", "tfjs-cpu", "brain.js"];
const ALIASES = { ort: "onnxruntime", "onnxruntime-node": "onnxruntime", pytorch: "torch", brain: "brain.js", brainjs: "brain.js" };
const CELLS = ["lstm", "gru", "rnn"];
const MODES = ["infer", "train"];
/** [m, k, n]: C[m, n] = A[m, k] B[k, n] */
const MATMULS = [[32, 192, 512], [32, 512, 1024], [64, 768, 2048], [1024, 1024, 1024]];
const OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
const TORCH_HINT = "apt-get install -y python3-torch libopenblas0-openmp (Debian), then run with " +
  `LD_LIBRARY_PATH=${OPENBLAS_OPENMP} (set by this script when that folder exists)`;

const round = (v) => Math.round(v * 1000) / 1000;
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const errorText = (e) => String((e && e.message) || e).split("\n")[0].slice(0, 300);

function options() {
  const { values } = parseArgs({
    options: {
      config: { type: "string", multiple: true },
      cell: { type: "string", multiple: true },
      mode: { type: "string", multiple: true },
      peer: { type: "string", multiple: true },
      budget: { type: "string", default: "5" },
      cap: { type: "string", default: "45" },
      threads: { type: "string", default: "1,2" },
      python: { type: "string" },
      "rnnkit-dist": { type: "string", default: join(ROOT, "dist") },
      "rnnkit-backends": { type: "string" },
      "no-install": { type: "boolean", default: false },
      child: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const list = (flag, given, allowed, aliases = {}) => {
    if (!given || given.length === 0) return [...allowed];
    const out = given.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean).map((v) => aliases[v] ?? v);
    for (const v of out) if (!allowed.includes(v)) throw new Error(`--${flag}: expected one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
    return [...new Set(out)];
  };
  const budget = Number(values.budget), cap = Number(values.cap);
  if (!(budget > 0)) throw new Error(`--budget: expected a positive number of seconds, got ${values.budget}`);
  if (!(cap >= 0)) throw new Error(`--cap: expected a number of seconds >= 0, got ${values.cap}`);
  const threads = values.threads.split(",").map(Number);
  if (!threads.every((t) => Number.isInteger(t) && t > 0)) throw new Error(`--threads: expected positive integers, got ${values.threads}`);
  return {
    help: values.help,
    configs: list("config", values.config, ["S", "M", "C"]),
    cells: list("cell", values.cell, CELLS),
    modes: list("mode", values.mode, MODES),
    peers: list("peer", values.peer, PEERS, ALIASES),
    budget, cap, threads,
    python: values.python,
    dist: resolve(values["rnnkit-dist"]),
    install: !values["no-install"],
    child: values.child,
    rnnkitBackends: values["rnnkit-backends"] ? values["rnnkit-backends"].split(",").map((v) => v.trim()).filter(Boolean) : null,
    raw: values,
  };
}

async function rnnkitModules(dist) {
  const cases = join(dist, "bench", "cases.js"), backends = join(dist, "bench", "backends.js");
  if (!existsSync(cases)) throw new Error(`${cases} is missing: run \`npm run build\` first`);
  return { cases: await import(pathToFileURL(cases).href), backends: await import(pathToFileURL(backends).href) };
}

const WARMUP_MS = 1000, LONG_RUN_MS = 5000;

/** bench/cases.ts time(), awaiting `fn` (TF.js training and onnxruntime are asynchronous). */
async function timeIt(fn, budget) {
  let t0 = performance.now();
  await fn();
  const first = performance.now() - t0;
  if (first * 2 > budget * 1000) {
    if (first > LONG_RUN_MS) return { ms: first, reps: 1 };
    t0 = performance.now();
    await fn();
    return { ms: performance.now() - t0, reps: 1 };
  }
  while (performance.now() - t0 < WARMUP_MS) await fn();
  const times = [];
  const deadline = performance.now() + budget * 1000;
  while (times.length < 5 && (times.length === 0 || performance.now() < deadline)) {
    t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const m = times.length >> 1;
  return { ms: times.length % 2 ? times[m] : (times[m - 1] + times[m]) / 2, reps: times.length };
}

/**
 * Runs the (config x cell x mode) cases of one peer variant. `build(c, cell, mode)` returns
 * {fn, dispose?, seqs?} (seqs: sequences per run of fn, default the batch) or a string: the
 * reason the case is skipped.
 */
async function runCases(o, cfgs, forwardFlops, base, build, { unitSeqs } = {}) {
  const rates = new Map();
  for (const c of cfgs) {
    for (const cell of o.cells) {
      for (const mode of o.modes) {
        const head = { ...base, config: c.name, cell, mode };
        const flops = forwardFlops(c, cell) * (mode === "train" ? 3 : 1);
        const rate = rates.get(`${cell}/${mode}`);
        if (o.cap > 0 && rate) {
          // the smallest timed unit: one batch, or one sequence for a peer without batching
          const unit = unitSeqs ?? c.batch;
          const predicted = (flops * unit) / c.batch / (rate.gflops * 1e9);
          if (predicted > o.cap) {
            const what = unit === c.batch ? "one batch" : unit === 1 ? "one sequence" : `${unit} sequences`;
            emit({ ...head, skipped: `predicted ${predicted.toFixed(0)} s for ${what} (from ${rate.config} at ${rate.gflops} GFLOP/s) > --cap ${o.cap} s` });
            continue;
          }
        }
        let kase;
        try {
          kase = await build(c, cell, mode);
          if (typeof kase === "string") {
            emit({ ...head, skipped: kase });
            continue;
          }
          const { ms, reps } = await timeIt(kase.fn, o.budget);
          const seqs = kase.seqs ?? c.batch;
          const gflops = round((flops * seqs) / c.batch / ms / 1e6);
          if (!rates.has(`${cell}/${mode}`)) rates.set(`${cell}/${mode}`, { gflops, config: c.name });
          emit({ ...head, seqPerSec: round((seqs * 1000) / ms), gflops, ms: round(ms), reps, ...(kase.seqs ? { seqsPerRun: seqs } : {}) });
        } catch (e) {
          emit({ ...head, error: errorText(e) });
        } finally {
          try {
            await kase?.dispose?.();
          } catch {
            // a failed case may leave a half-built model behind
          }
        }
      }
    }
  }
}

/** Deterministic uniform(-a, a) floats. */
function floats(n, a, seed) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * a;
  }
  return out;
}

// ---------------------------------------------------------------- rnnkit

async function childRnnkit(o) {
  const { cases, backends } = await rnnkitModules(o.dist);
  const cfgs = cases.CONFIGS.filter((c) => o.configs.includes(c.name));
  const names = [...backends.backendNames];
  for (const n of o.rnnkitBackends ?? []) if (!names.includes(n)) throw new Error(`--rnnkit-backends: expected some of ${names.join(", ")}, got ${JSON.stringify(n)}`);
  const measured = o.rnnkitBackends ? names.filter((n) => o.rnnkitBackends.includes(n)) : names;
  if (!names.includes("wasm")) emit({ peer: "rnnkit", backend: "wasm", error: `no "wasm" in backendNames of ${join(o.dist, "bench", "backends.js")} (${names.join(", ")}) yet` });
  // the js backend once; the wasm and native backends at each thread count of --threads (RNNKIT_THREADS)
  const threaded = (name) => name === "wasm" || name === "native";
  const runs = measured.flatMap((name) => (threaded(name) ? o.threads.map((t) => [name, t]) : [[name, 1]]));
  for (const [name, t] of runs) {
    let be;
    try {
      process.env.RNNKIT_THREADS = String(t);
      be = await backends.backendByName(name);
    } catch (e) {
      emit({ peer: "rnnkit", backend: name, error: errorText(e) });
      continue;
    }
    const threads = be.threads ?? 1;
    await runCases(o, cfgs, cases.forwardFlops, { peer: "rnnkit", backend: be.name, threads }, (c, cell, mode) => ({
      fn: cases.makeCase(c, cell, mode, be),
    }));
    be.dispose?.();
  }
  // SGEMM: the wasm and native backends' gemm at each thread count, or the js one (said so) while there is no wasm
  const gemmRuns = o.threads.flatMap((t) => ["wasm", ...(names.includes("native") ? ["native"] : [])].map((name) => [name, t]));
  for (const [name, t] of gemmRuns) {
    let be, note;
    try {
      process.env.RNNKIT_THREADS = String(t);
      be = await backends.backendByName(name);
    } catch (e) {
      if (name !== "wasm") {
        emit({ peer: "rnnkit", backend: name, op: "matmul", error: errorText(e) });
        continue;
      }
      be = await backends.backendByName("js");
      note = `wasm backend unavailable (${errorText(e)}): js gemm instead`;
    }
    if (note) emit({ peer: "rnnkit", info: "note", note });
    for (const [m, k, n] of MATMULS) {
      const a = be.alloc(m * k), b = be.alloc(k * n), c = be.alloc(m * n);
      a.set(floats(m * k, 1, 3));
      b.set(floats(k * n, 1, 5));
      const r = await timeMatmul(() => be.gemm(false, false, m, n, k, 1, a, 0, k, b, 0, n, 0, c, 0, n), m, k, n, o.budget);
      emit({ peer: "rnnkit", backend: be.name, threads: be.threads ?? 1, op: "matmul", shape: `${m}x${k}x${n}`, ...r });
      be.free(a); be.free(b); be.free(c);
    }
    if (be.name === "native") {
      for (const c of cfgs) for (const cell of o.cells) emit(await layerSgemm(be, c, cell, cases.forwardFlops(c, cell), o.budget));
    }
    be.dispose?.();
    if (note) break;
  }
}

/**
 * The rate of `be`'s own SGEMM on the GEMMs of one forward pass of configuration `c` (all its
 * FLOPs, bench/cases.ts forwardFlops): per layer the input projection x W_ih^T [T*B, X] x [X, G*H]
 * and T recurrent steps h W_hh^T [B, H] x [H, G*H] (packed once where the backend packs, as the
 * cells do). A layer's GFLOP/s over this rate is how close it runs to what its GEMMs allow.
 */
async function layerSgemm(be, c, cell, flops, budget) {
  const G = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
  const { batch: B, seqLen: T, hidden: H } = c;
  const GH = G * H;
  let ms = 0;
  for (let l = 0; l < c.layers; l++) {
    const X = l === 0 ? c.input : H;
    const x = be.alloc(T * B * X), wih = be.alloc(GH * X), out = be.alloc(T * B * GH);
    x.set(floats(T * B * X, 1, 7));
    wih.set(floats(GH * X, 0.1, 8));
    const proj = await timeMatmul(() => be.gemm(false, true, T * B, GH, X, 1, x, 0, X, wih, 0, X, 0, out, 0, GH), T * B, X, GH, Math.min(budget, 1));
    const h = be.alloc(B * H), whh = be.alloc(GH * H), g = be.alloc(B * GH);
    h.set(floats(B * H, 1, 9));
    whh.set(floats(GH * H, 0.1, 10));
    const packed = be.packB ? be.packB(true, H, GH, whh, 0, H) : null;
    const step = await timeMatmul(() => (packed
      ? be.gemmPacked(B, GH, H, 1, h, 0, H, packed, 1, g, 0, GH)
      : be.gemm(false, true, B, GH, H, 1, h, 0, H, whh, 0, H, 1, g, 0, GH)), B, H, GH, Math.min(budget, 1));
    ms += proj.ms + T * step.ms;
    for (const a of [x, wih, out, h, whh, g]) be.free(a);
  }
  return { peer: "rnnkit", backend: be.name, threads: be.threads ?? 1, op: "layer-sgemm", config: c.name, cell, gflops: round(flops / ms / 1e6), ms: round(ms) };
}

async function timeMatmul(mm, m, k, n, budget) {
  const t0 = performance.now();
  await mm();
  const one = Math.max(performance.now() - t0, 1e-3);
  const inner = Math.max(1, Math.floor(50 / one));
  const { ms, reps } = await timeIt(async () => {
    for (let i = 0; i < inner; i++) await mm();
  }, Math.min(budget, 2));
  return { gflops: round((2 * m * k * n * inner) / ms / 1e6), ms: round(ms / inner), reps };
}

// ---------------------------------------------------------------- TensorFlow.js

async function childTfjs(o, backendName) {
  const { cases } = await rnnkitModules(o.dist);
  const require = createRequire(join(HERE, "package.json"));
  const tf = require("@tensorflow/tfjs");
  if (backendName === "wasm") require("@tensorflow/tfjs-backend-wasm");
  if (!(await tf.setBackend(backendName))) throw new Error(`tf.setBackend(${backendName}) failed`);
  await tf.ready();
  let threads = 1;
  if (backendName === "wasm") {
    const wasm = require("@tensorflow/tfjs-backend-wasm");
    threads = wasm.getThreadsCount?.() ?? 1;
    emit({
      peer: "tfjs", info: "env", backend: "wasm", version: tf.version.tfjs,
      simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"), multithread: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"), threads,
    });
  }
  const cfgs = cases.CONFIGS.filter((c) => o.configs.includes(c.name));
  const base = { peer: "tfjs", backend: backendName, threads };
  await runCases(o, cfgs, cases.forwardFlops, base, (c, cell, mode) => tfjsCase(tf, c, cell, mode));
  const leaked = tf.memory().numTensors;
  if (leaked > 0) emit({ peer: "tfjs", backend: backendName, info: "note", note: `${leaked} tensors left after the cases (failed cases leak theirs)` });
  if (backendName === "wasm") {
    for (const [m, k, n] of MATMULS) {
      const a = tf.tensor2d(floats(m * k, 1, 3), [m, k]), b = tf.tensor2d(floats(k * n, 1, 5), [k, n]);
      const r = await timeMatmul(() => {
        const c = tf.matMul(a, b);
        c.dataSync();
        c.dispose();
      }, m, k, n, o.budget);
      emit({ ...base, op: "matmul", shape: `${m}x${k}x${n}`, ...r });
      tf.dispose([a, b]);
    }
    await interleavedMatmul(o, tf);
  }
}

/**
 * The SGEMM comparison again, drift-proof: rnnkit's 1-thread wasm gemm and TF.js-wasm's matMul in
 * this one process, timed in alternating rounds (the host's speed drifts by up to 3x between
 * minutes, which a comparison across child processes minutes apart cannot tell from a real gap).
 * Emits {op: "matmul-interleaved", shape, rnnkitGflops, tfjsGflops, ratio} (medians of 7 rounds).
 */
async function interleavedMatmul(o, tf) {
  const { cases, backends } = await rnnkitModules(o.dist);
  process.env.RNNKIT_THREADS = "1";
  const be = await backends.backendByName("wasm");
  const round3 = (v) => Math.round(v * 1000) / 1000;
  for (const [m, k, n] of MATMULS) {
    const a = be.alloc(m * k), b = be.alloc(k * n), c = be.alloc(m * n);
    a.set(floats(m * k, 1, 3));
    b.set(floats(k * n, 1, 5));
    const ta = tf.tensor2d(floats(m * k, 1, 3), [m, k]), tb = tf.tensor2d(floats(k * n, 1, 5), [k, n]);
    const fns = {
      rnnkit: () => be.gemm(false, false, m, n, k, 1, a, 0, k, b, 0, n, 0, c, 0, n),
      tfjs: () => {
        const tc = tf.matMul(ta, tb);
        tc.dataSync();
        tc.dispose();
      },
    };
    // calls per timed round: about 30 ms of the slower; one second of warm-up for each first
    const inner = {};
    for (const [name, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      let calls = 0;
      do {
        fn();
        calls++;
      } while (performance.now() - t0 < 1000);
      inner[name] = Math.max(1, Math.round((30 * calls) / (performance.now() - t0)));
    }
    const gf = { rnnkit: [], tfjs: [] };
    for (let r = 0; r < 7; r++) {
      for (const [name, fn] of Object.entries(fns)) {
        const t0 = performance.now();
        for (let i = 0; i < inner[name]; i++) fn();
        gf[name].push((2 * m * k * n * inner[name]) / (performance.now() - t0) / 1e6);
      }
    }
    const rk = cases.median(gf.rnnkit), tj = cases.median(gf.tfjs);
    emit({ peer: "tfjs", backend: "wasm", threads: 1, op: "matmul-interleaved", shape: `${m}x${k}x${n}`, rnnkitGflops: round3(rk), tfjsGflops: round3(tj), ratio: round3(rk / tj) });
    be.free(a); be.free(b); be.free(c);
    tf.dispose([ta, tb]);
  }
  be.dispose?.();
}

/**
 * tf.layers model, batch-major [B, T, X]: S/M one recurrent layer (last state) + MSE;
 * C embedding -> 2 recurrent layers -> dense(vocab) logits + softmax cross-entropy.
 * LSTM/GRU with recurrentActivation sigmoid (the tf.layers default is hardSigmoid); tf.layers GRU
 * is the reset-before variant (Keras reset_after=False; PyTorch and rnnkit apply the reset gate
 * after the recurrent matmul: same FLOPs). Training: model.trainOnBatch with tf.train.adam(1e-3).
 */
function tfjsCase(tf, c, cell, mode) {
  const { batch: B, seqLen: T, hidden: H } = c;
  const recurrent = (returnSequences, inputShape) => {
    const opts = { units: H, returnSequences, kernelInitializer: "glorotUniform", recurrentInitializer: "glorotUniform" };
    if (inputShape) opts.inputShape = inputShape;
    if (cell === "lstm") return tf.layers.lstm({ ...opts, recurrentActivation: "sigmoid" });
    if (cell === "gru") return tf.layers.gru({ ...opts, recurrentActivation: "sigmoid" });
    return tf.layers.simpleRNN({ ...opts, activation: "tanh" });
  };
  const model = tf.sequential();
  let x, y, loss;
  if (!c.vocab) {
    for (let l = 0; l < c.layers; l++) model.add(recurrent(l < c.layers - 1, l === 0 ? [T, c.input] : undefined));
    x = tf.tensor3d(floats(B * T * c.input, 1, 2), [B, T, c.input]);
    y = tf.tensor2d(floats(B * H, 0.5, 4), [B, H]);
    loss = "meanSquaredError";
  } else {
    const V = c.vocab;
    model.add(tf.layers.embedding({ inputDim: V, outputDim: c.input, inputLength: T }));
    for (let l = 0; l < c.layers; l++) model.add(recurrent(true));
    model.add(tf.layers.dense({ units: V }));
    const tok = Int32Array.from(floats((T + 1) * B, 1, 6), (v) => Math.floor(((v + 1) / 2) * V) % V);
    const toks = tf.tensor2d(tok, [B, T + 1], "int32");
    x = toks.slice([0, 0], [B, T]);
    const next = toks.slice([0, 1], [B, T]);
    y = tf.oneHot(next, V);
    tf.dispose([toks, next]);
    loss = (yTrue, logits) => tf.losses.softmaxCrossEntropy(yTrue, logits);
  }
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss });
  const dispose = () => {
    tf.dispose([x, y]);
    model.dispose();
    optimizer.dispose();
  };
  if (mode === "infer") {
    return {
      fn: () => {
        const out = model.predict(x);
        out.dataSync();
        out.dispose();
      },
      dispose,
    };
  }
  return { fn: () => model.trainOnBatch(x, y), dispose };
}

// ---------------------------------------------------------------- brain.js

async function childBrain(o) {
  const { cases } = await rnnkitModules(o.dist);
  const require = createRequire(join(HERE, "package.json"));
  let brain;
  try {
    brain = require("brain.js");
  } catch (e) {
    emit({ peer: "brain.js", error: `cannot load brain.js: ${errorText(e)}` });
    return;
  }
  emit({
    peer: "brain.js", info: "note",
    note: "no batching: sequences run one after another (seqsPerRun per timed run); S/M: recurrent.*TimeStep " +
      "(inputSize = outputSize = input, next-step MSE on every step); C: recurrent.LSTM/GRU/RNN (embedding inputSize 64 " +
      "over 96 chars, softmax over 97); infer on C = trainInput (forward + softmax, no backprop); training = trainPattern " +
      "(forward + BPTT + brain.js's RMSProp, lr 1e-3); brain.js's plain RNN cell is relu, not tanh",
  });
  const cfgs = cases.CONFIGS.filter((c) => o.configs.includes(c.name));
  const R = brain.recurrent;
  await runCases(o, cfgs, cases.forwardFlops, { peer: "brain.js", backend: "js", threads: 1 }, async (c, cell, mode) => {
    const { batch: B, seqLen: T, hidden: H } = c;
    const hiddenLayers = Array.from({ length: c.layers }, () => H);
    let net, one;
    const nSeq = Math.min(B, 8);
    if (!c.vocab) {
      const Cls = cell === "lstm" ? R.LSTMTimeStep : cell === "gru" ? R.GRUTimeStep : R.RNNTimeStep;
      net = new Cls({ inputSize: c.input, hiddenLayers, outputSize: c.input, learningRate: 1e-3 });
      net.initialize();
      const seqs = Array.from({ length: nSeq }, (_, s) => Array.from({ length: T }, (_, t) => floats(c.input, 1, 100 + s * T + t)));
      net.trainPattern(seqs[0]); // binds the equations (run() refuses an untrained net)
      let i = 0;
      one = mode === "infer" ? () => net.runArrayOfArray(seqs[i++ % nSeq]) : () => net.trainPattern(seqs[i++ % nSeq]);
    } else {
      const Cls = cell === "lstm" ? R.LSTM : cell === "gru" ? R.GRU : R.RNN;
      net = new Cls({ inputSize: c.input, inputRange: c.vocab, hiddenLayers, outputSize: c.vocab, learningRate: 1e-3 });
      net.initialize();
      const seqs = Array.from({ length: nSeq }, (_, s) => Array.from(floats(T, 1, 200 + s), (v) => Math.floor(((v + 1) / 2) * c.vocab) % c.vocab));
      net.trainPattern(seqs[0]);
      let i = 0;
      one = mode === "infer" ? () => net.trainInput(seqs[i++ % nSeq]) : () => net.trainPattern(seqs[i++ % nSeq]);
    }
    // sequences per timed run: about a sixth of the budget each, at most one batch
    const t0 = performance.now();
    one();
    const perSeq = Math.max(performance.now() - t0, 1e-3);
    const seqs = Math.max(1, Math.min(B, Math.floor((o.budget * 1000) / 6 / perSeq)));
    return {
      fn: () => {
        for (let s = 0; s < seqs; s++) one();
      },
      seqs,
    };
  }, { unitSeqs: 1 });
}

// ---------------------------------------------------------------- onnxruntime-node

async function childOnnx(o) {
  const { cases } = await rnnkitModules(o.dist);
  const require = createRequire(join(HERE, "package.json"));
  const ort = require("onnxruntime-node");
  const { onnxModel } = await import(pathToFileURL(join(HERE, "onnx-model.mjs")).href);
  const version = require("onnxruntime-node/package.json").version;
  emit({ peer: "onnxruntime", info: "env", version, note: "inference only (onnxruntime-node has no training API); C = Gather embedding -> 2 recurrent layers -> MatMul+Add head (logits)" });
  const cfgs = cases.CONFIGS.filter((c) => o.configs.includes(c.name));
  const modes = o.modes.filter((m) => m === "infer");
  if (modes.length === 0) return;
  for (const threads of o.threads) {
    const sessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };
    await runCases({ ...o, modes }, cfgs, cases.forwardFlops, { peer: "onnxruntime", backend: "cpu", threads }, async (c, cell) => {
      const session = await ort.InferenceSession.create(await onnxModel(c, cell, o.dist), sessionOptions);
      const { batch: B, seqLen: T } = c;
      const feeds = c.vocab
        ? { tokens: new ort.Tensor("int64", BigInt64Array.from(floats(T * B, 1, 6), (v) => BigInt(Math.floor(((v + 1) / 2) * c.vocab) % c.vocab)), [T, B]) }
        : { X: new ort.Tensor("float32", floats(T * B * c.input, 1, 2), [T, B, c.input]) };
      return { fn: () => session.run(feeds), dispose: () => session.release() };
    });
  }
  await interleavedInfer(o, ort, onnxModel, cases, cfgs);
}

/**
 * rnnkit's native backend against ONNX Runtime on inference, drift-proof: both in this one
 * process, at the same thread count, timed in alternating rounds (the host's speed drifts, and
 * other processes load it, by up to 3x between minutes). Emits {peer: "onnxruntime", op:
 * "infer-interleaved", config, cell, threads, rnnkitSeqPerSec, ortSeqPerSec, ratio} (medians of
 * 7 rounds of about budget/7 s each side). Skipped (said once) where rnnkit has no native backend.
 */
async function interleavedInfer(o, ort, onnxModel, cases, cfgs) {
  if (!o.modes.includes("infer")) return;
  const { backends } = await rnnkitModules(o.dist);
  for (const threads of o.threads) {
    let be;
    try {
      process.env.RNNKIT_THREADS = String(threads);
      be = await backends.backendByName("native");
    } catch (e) {
      emit({ peer: "onnxruntime", op: "infer-interleaved", error: `no rnnkit native backend: ${errorText(e)}` });
      return;
    }
    const sessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };
    for (const c of cfgs) {
      for (const cell of o.cells) {
        const head = { peer: "onnxruntime", op: "infer-interleaved", config: c.name, cell, threads };
        try {
          const session = await ort.InferenceSession.create(await onnxModel(c, cell, o.dist), sessionOptions);
          const { batch: B, seqLen: T } = c;
          const feeds = c.vocab
            ? { tokens: new ort.Tensor("int64", BigInt64Array.from(floats(T * B, 1, 6), (v) => BigInt(Math.floor(((v + 1) / 2) * c.vocab) % c.vocab)), [T, B]) }
            : { X: new ort.Tensor("float32", floats(T * B * c.input, 1, 2), [T, B, c.input]) };
          const fns = { rnnkit: cases.makeCase(c, cell, "infer", be), ort: () => session.run(feeds) };
          // warm-up: about a second each; then batches per round from that rate
          const perRound = {};
          for (const [name, fn] of Object.entries(fns)) {
            const t0 = performance.now();
            let calls = 0;
            do {
              await fn();
              calls++;
            } while (performance.now() - t0 < 1000);
            perRound[name] = Math.max(1, Math.round((calls * o.budget * 1000) / 7 / (performance.now() - t0)));
          }
          const rates = { rnnkit: [], ort: [] };
          for (let r = 0; r < 7; r++) {
            for (const [name, fn] of Object.entries(fns)) {
              const t0 = performance.now();
              for (let i = 0; i < perRound[name]; i++) await fn();
              rates[name].push((perRound[name] * B * 1000) / (performance.now() - t0));
            }
          }
          const rk = cases.median(rates.rnnkit), ot = cases.median(rates.ort);
          emit({ ...head, rnnkitSeqPerSec: round(rk), ortSeqPerSec: round(ot), ratio: round(rk / ot) });
          await session.release();
        } catch (e) {
          emit({ ...head, error: errorText(e) });
        }
      }
    }
    be.dispose?.();
  }
}

// ---------------------------------------------------------------- PyTorch (python child)

function findPython(o) {
  const env = torchEnv();
  const candidates = [o.python, process.env.RNNKIT_PYTHON, "/usr/bin/python3", "python3"].filter(Boolean);
  const tried = [];
  for (const py of [...new Set(candidates)]) {
    const r = spawnSync(py, ["-c", "import torch"], { env, encoding: "utf8" });
    if (r.status === 0) return { python: py };
    tried.push(`${py}: ${r.error ? r.error.code : (r.stderr || "").trim().split("\n").pop()}`);
  }
  return { error: `no python3 that imports torch (${tried.join("; ")}); ${TORCH_HINT}` };
}

function torchEnv() {
  const env = { ...process.env };
  const cur = env.LD_LIBRARY_PATH ? env.LD_LIBRARY_PATH.split(":") : [];
  if (existsSync(OPENBLAS_OPENMP) && !cur.includes(OPENBLAS_OPENMP)) env.LD_LIBRARY_PATH = [OPENBLAS_OPENMP, ...cur].join(":");
  return env;
}

// ---------------------------------------------------------------- parent

function ensureInstalled() {
  const need = ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "brain.js", "onnxruntime-node", "protobufjs"];
  if (need.every((p) => existsSync(join(HERE, "node_modules", p, "package.json")))) return;
  const ci = existsSync(join(HERE, "package-lock.json"));
  const args = [ci ? "ci" : "install", "--prefix", HERE, "--ignore-scripts", "--no-audit", "--no-fund"];
  process.stderr.write(`bench:peers: installing the peers: npm ${args.join(" ")} (ONNXRUNTIME_NODE_INSTALL=skip)\n`);
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", args, {
    cwd: HERE, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" },
  });
  if (r.status !== 0) throw new Error(`npm ${args[0]} in ${HERE} failed (exit ${r.status})`);
}

/** Runs a child to its end, passing its JSON lines on (and collecting them), the rest to stderr. */
function runChild(cmd, args, env, results, label, quietSeconds) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let buf = "", lastLine = Date.now(), killed = false;
    const watchdog = quietSeconds > 0 ? setInterval(() => {
      if (Date.now() - lastLine > quietSeconds * 1000) {
        killed = true;
        child.kill("SIGKILL");
      }
    }, 1000) : null;
    child.stdout.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (!line) continue;
        lastLine = Date.now();
        let obj;
        try {
          obj = JSON.parse(line);
        } catch {
          process.stderr.write(`[${label}] ${line}\n`);
          continue;
        }
        results.push(obj);
        emit(obj);
      }
    });
    child.stderr.on("data", (d) => {
      for (const line of String(d).split("\n")) if (line.trim()) process.stderr.write(`[${label}] ${line}\n`);
    });
    child.on("error", (e) => {
      emit({ peer: label, error: errorText(e) });
    });
    child.on("close", (code, signal) => {
      if (watchdog) clearInterval(watchdog);
      if (killed) emit({ peer: label, error: `no output for ${quietSeconds} s: killed` });
      else if (code !== 0) emit({ peer: label, error: `exited with ${signal ?? `code ${code}`}` });
      done();
    });
  });
}

const variant = (r) => {
  if (r.peer === "rnnkit") return r.backend === "wasm" || r.backend === "native" ? `rnnkit-${r.backend}-${r.threads}t` : `rnnkit-${r.backend}`;
  if (r.peer === "tfjs") return `tfjs-${r.backend}`;
  if (r.peer === "onnxruntime" || r.peer === "torch") return `${r.peer}-${r.threads}t`;
  return r.peer;
};

function ratios(results) {
  const done = results.filter((r) => r.seqPerSec > 0 || (r.op === "matmul" && r.gflops > 0));
  const ours = done.filter((r) => r.peer === "rnnkit"), theirs = done.filter((r) => r.peer !== "rnnkit");
  const out = [];
  for (const a of ours) {
    for (const b of theirs) {
      if (a.op === "matmul" && b.op === "matmul" && a.shape === b.shape) {
        out.push({ ratio: `${variant(a)}/${variant(b)}`, op: "matmul", shape: a.shape, value: round(a.gflops / b.gflops) });
      } else if (!a.op && !b.op && a.config === b.config && a.cell === b.cell && a.mode === b.mode) {
        out.push({ ratio: `${variant(a)}/${variant(b)}`, config: a.config, cell: a.cell, mode: a.mode, value: round(a.seqPerSec / b.seqPerSec) });
      }
    }
  }
  // each rnnkit case's GFLOP/s as a fraction of its backend's own SGEMM on the same GEMMs
  for (const a of ours) {
    if (a.op) continue;
    const sg = results.find((r) => r.op === "layer-sgemm" && r.backend === a.backend && r.threads === a.threads && r.config === a.config && r.cell === a.cell);
    if (sg && sg.gflops > 0) out.push({ ratio: `${variant(a)}/own-sgemm`, config: a.config, cell: a.cell, mode: a.mode, value: round(a.gflops / sg.gflops) });
  }
  return out;
}

function table(results) {
  const rows = results.filter((r) => r.config && r.cell && r.mode && !r.op);
  const variants = [...new Set(rows.map(variant))];
  const lines = [["config/cell/mode", ...variants].join("\t")];
  const keys = [...new Set(rows.map((r) => `${r.config}/${r.cell}/${r.mode}`))];
  for (const k of keys) {
    const cells = variants.map((v) => {
      const r = rows.find((x) => `${x.config}/${x.cell}/${x.mode}` === k && variant(x) === v);
      return !r ? "" : r.seqPerSec ? String(r.seqPerSec) : r.skipped ? "skip" : "err";
    });
    lines.push([k, ...cells].join("\t"));
  }
  return `seq/s (skip: over --cap, err: error; see the JSON lines)\n${lines.join("\n")}\n`;
}

async function parent(o) {
  const t0 = performance.now();
  const jsPeers = ["onnxruntime", "tfjs-wasm", "tfjs-cpu", "brain.js"];
  if (o.install && o.peers.some((p) => jsPeers.includes(p))) ensureInstalled();
  emit({ info: "env", node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, budget: o.budget, cap: o.cap, threads: o.threads, configs: o.configs, cells: o.cells, modes: o.modes, peers: o.peers });
  const results = [];
  const pass = [...(o.rnnkitBackends ? ["--rnnkit-backends", o.rnnkitBackends.join(",")] : []), "--budget", String(o.budget), "--cap", String(o.cap), "--threads", o.threads.join(","), "--rnnkit-dist", o.dist,
    "--config", o.configs.join(","), "--cell", o.cells.join(","), "--mode", o.modes.join(",")];
  // a child that prints nothing for this long is stuck (a case over the cap that could not be predicted)
  const quiet = o.cap > 0 ? Math.max(600, o.cap * 10) : 0;
  for (const peer of o.peers) {
    if (peer === "torch") {
      const py = findPython(o);
      if (py.error) {
        emit({ peer: "torch", error: py.error });
        continue;
      }
      const { cases } = await rnnkitModules(o.dist);
      const spec = {
        configs: cases.CONFIGS.filter((c) => o.configs.includes(c.name)), cells: o.cells, modes: o.modes,
        threads: o.threads, budget: o.budget, cap: o.cap, matmul: MATMULS,
      };
      await runChild(py.python, [join(HERE, "torch_bench.py"), "--spec", JSON.stringify(spec)], torchEnv(), results, "torch", quiet);
    } else {
      await runChild(process.execPath, [fileURLToPath(import.meta.url), "--child", peer, ...pass], process.env, results, peer, quiet);
    }
  }
  for (const r of ratios(results)) emit(r);
  process.stderr.write(table(results));
  emit({ done: true, seconds: round((performance.now() - t0) / 1000) });
}

async function main() {
  const o = options();
  if (o.help) {
    console.log("node bench/peers/run.mjs [--config S|M|C] [--cell lstm|gru|rnn] [--mode infer|train] " +
      `[--peer ${PEERS.join("|")}] [--budget SECONDS=5] [--cap SECONDS=45 (0: none)] [--threads 1,2] ` +
      "[--python PATH] [--no-install] [--rnnkit-dist DIR] [--rnnkit-backends js,wasm,native]");
    return;
  }
  if (!o.child) return parent(o);
  // children: stdout carries JSON lines only
  console.log = console.info = (...a) => console.error(...a);
  const run = { rnnkit: childRnnkit, onnxruntime: childOnnx, "tfjs-wasm": (x) => childTfjs(x, "wasm"), "tfjs-cpu": (x) => childTfjs(x, "cpu"), "brain.js": childBrain }[o.child];
  if (!run) throw new Error(`--child: unknown peer ${o.child}`);
  await run(o);
}

main().then(
  () => process.exit(0),
  (e) => {
    const child = process.argv.includes("--child");
    // a child reports its failure as a JSON line (the parent goes on with the next peer)
    if (child) emit({ peer: process.argv[process.argv.indexOf("--child") + 1], error: errorText(e) });
    else console.error(`bench:peers: ${errorText(e)}`);
    process.exit(child ? 0 : 1);
  },
);
