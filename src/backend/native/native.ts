/**
 * The native backend (float32): the kernels of src/backend/native/*.cc, a Node-API addon that
 * node-gyp builds from source when the package installs (scripts/build-native.mjs). Its SGEMM and
 * cell kernels are compiled for AVX-512, for AVX2+FMA and for the build target's baseline (SSE2,
 * or NEON on ARM64), and the best copy the CPU runs is chosen when the addon loads. Large GEMMs
 * are split across the addon's thread pool, one per process.
 *
 * Arrays are plain JavaScript Float32Array / Int32Array: the addon reads their data pointers and
 * copies nothing, so `alloc` is `new Float32Array(n)` and `free` has nothing to do. Every kernel
 * checks the arrays against the extent it touches and throws an RnnkitError (never writing outside
 * an array) when one is too short or of the wrong type.
 */
import { platform } from "#platform";
import type { Backend, DType, PackedB, RecurrentBackwardDirection, RecurrentDirection } from "../backend.js";
import { defaults } from "../../defaults.js";
import { RnnkitError, type Floats } from "../../tensor.js";

type F = Floats;
type I = Int32Array;

/** The addon's exports (src/backend/native/addon.cc, one line per export; native.test.ts checks both lists agree). */
export interface NativeAddon {
  gemm(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, a: F, aOff: number, lda: number,
    b: F, bOff: number, ldb: number, beta: number, c: F, cOff: number, ldc: number): void;
  gemmBias(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, a: F, aOff: number, lda: number,
    b: F, bOff: number, ldb: number, bias: F, biasOff: number, c: F, cOff: number, ldc: number): void;
  packedSize(k: number, n: number): number;
  packB(tB: boolean, k: number, n: number, b: F, bOff: number, ldb: number, out: F): void;
  gemmPacked(m: number, n: number, k: number, alpha: number, a: F, aOff: number, lda: number, packed: F,
    beta: number, c: F, cOff: number, ldc: number): void;
  /** dirs: per direction [whh, gates (GRU: act), gh, hPrev, h, cPrev, c, dh, dc, dG, dGh, dh0, dc0] */
  recurrentBackward(cell: number, hard: boolean, relu: boolean, steps: number, offsets: I, batchSizes: I, H: number,
    dirs: F[][]): void;
  /** dirs: per direction [whh, bhh | null, gates, gh, act, hPrev, h, cPrev, c] */
  recurrentForward(cell: number, hard: boolean, relu: boolean, steps: number, offsets: I, batchSizes: I, H: number,
    dirs: (F | null)[][]): void;
  broadcastRows(rows: number, cols: number, v: F, vOff: number, dst: F, dOff: number, ldd: number, accumulate: boolean): void;
  sumRows(rows: number, cols: number, a: F, aOff: number, lda: number, out: F, oOff: number): void;
  gatherRows(rows: number, cols: number, idx: I, idxOff: number, src: F, sOff: number, lds: number, dst: F, dOff: number, ldd: number, acc: boolean): void;
  scatterRows(rows: number, cols: number, idx: I, idxOff: number, src: F, sOff: number, lds: number, dst: F, dOff: number, ldd: number, acc: boolean): void;
  copy(n: number, src: F, sOff: number, dst: F, dOff: number): void;
  axpy(n: number, alpha: number, src: F, sOff: number, dst: F, dOff: number): void;
  zero(n: number, a: F, aOff: number): void;
  mathFn(fn: number, n: number, x: F, xOff: number, out: F, oOff: number): void;
  rnnForward(n: number, H: number, relu: boolean, pre: F, pOff: number, h: F, hOff: number): void;
  rnnBackward(n: number, H: number, relu: boolean, h: F, hOff: number, dh: F, dhOff: number, dPre: F, dpOff: number): void;
  lstmForward(n: number, H: number, g: F, gOff: number, cp: F, cpOff: number, c: F, cOff: number, h: F, hOff: number, hard: boolean): void;
  lstmBackward(n: number, H: number, g: F, gOff: number, cp: F, cpOff: number, c: F, cOff: number, dh: F, dhOff: number,
    dc: F, dcOff: number, dG: F, dgOff: number, dcp: F, dcpOff: number, hard: boolean): void;
  gruForward(n: number, H: number, gx: F, gxOff: number, gh: F, ghOff: number, hp: F, hpOff: number, act: F, aOff: number,
    h: F, hOff: number, hard: boolean): void;
  gruBackward(n: number, H: number, act: F, aOff: number, gh: F, ghOff: number, hp: F, hpOff: number, dh: F, dhOff: number,
    dGx: F, dgxOff: number, dGh: F, dghOff: number, dhp: F, dhpOff: number, hard: boolean): void;
  gruResetBeforeGates(n: number, H: number, gx: F, gxOff: number, gh: F, ghOff: number, hp: F, hpOff: number, act: F, aOff: number,
    rh: F, rhOff: number, hard: boolean): void;
  gruResetBeforeOutput(n: number, H: number, gx: F, gxOff: number, gh: F, ghOff: number, hp: F, hpOff: number, act: F, aOff: number,
    h: F, hOff: number): void;
  gruResetBeforeBackwardOutput(n: number, H: number, act: F, aOff: number, hp: F, hpOff: number, dh: F, dhOff: number,
    dG: F, dgOff: number, dhp: F, dhpOff: number, hard: boolean): void;
  gruResetBeforeBackwardGates(n: number, H: number, act: F, aOff: number, hp: F, hpOff: number, drh: F, drhOff: number,
    dG: F, dgOff: number, dhp: F, dhpOff: number, hard: boolean): void;
  softmaxCrossEntropy(rows: number, V: number, l: F, lOff: number, t: I, tOff: number, ignore: number, scale: number, d: F, dOff: number): number;
  softmax(rows: number, V: number, temperature: number, x: F, xOff: number, out: F, oOff: number): void;
  mse(n: number, p: F, pOff: number, t: F, tOff: number, w: F | null, wOff: number, scale: number, g: F, gOff: number): number;
  bceWithLogits(n: number, x: F, xOff: number, t: F, tOff: number, w: F | null, wOff: number, scale: number, g: F, gOff: number): number;
  sumSquares(n: number, a: F, aOff: number): number;
  scale(n: number, alpha: number, a: F, aOff: number): void;
  mul(n: number, a: F, aOff: number, b: F, bOff: number, out: F, oOff: number): void;
  sgdStep(n: number, p: F, g: F, buf: F, lr: number, momentum: number, nesterov: boolean, wd: number, first: boolean): void;
  adamStep(n: number, p: F, g: F, m: F, v: F, lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean,
    bc1: number, bc2: number): void;
  rmspropStep(n: number, p: F, g: F, s: F, lr: number, alpha: number, eps: number, wd: number): void;
  adagradStep(n: number, p: F, g: F, s: F, lr: number, eps: number, wd: number): void;
  isas(): string[];
  isa(): string;
  setIsa(name: string): void;
  setThreads(n: number): void;
  threads(): number;
  setParallelWork(work: number): void;
  setAdaptiveSplit(on: boolean): void;
  splitGemms(): number;
  splitLoops(): number;
  /** The error class the addon throws on bad arguments (RnnkitError, set at load). */
  setErrorClass(cls: new (message: string) => Error): void;
}

/** The names of NativeAddon's members, for the check against the addon's exports. */
export const nativeExports: readonly (keyof NativeAddon)[] = [
  "gemm", "gemmBias", "packedSize", "packB", "gemmPacked", "recurrentForward", "recurrentBackward", "broadcastRows", "sumRows", "gatherRows", "scatterRows", "copy", "axpy", "zero", "mathFn",
  "rnnForward", "rnnBackward", "lstmForward", "lstmBackward", "gruForward", "gruBackward",
  "gruResetBeforeGates", "gruResetBeforeOutput", "gruResetBeforeBackwardOutput", "gruResetBeforeBackwardGates",
  "softmaxCrossEntropy", "softmax", "mse", "bceWithLogits", "sumSquares", "scale", "mul",
  "sgdStep", "adamStep", "rmspropStep", "adagradStep",
  "isas", "isa", "setIsa", "setThreads", "threads", "setParallelWork", "setAdaptiveSplit", "splitGemms", "splitLoops",
  "setErrorClass",
];

/** The addon, loaded once; throws an Error saying why when it cannot be loaded. */
export function loadNativeAddon(): NativeAddon {
  const addon = platform.loadNative() as Record<string, unknown>;
  const missing = nativeExports.filter((k) => typeof addon[k] !== "function");
  if (missing.length > 0) {
    throw new Error(`the native addon is out of date: it lacks ${missing.join(", ")} (rebuild it with \`node scripts/build-native.mjs\`)`);
  }
  const native = addon as unknown as NativeAddon;
  // the addon throws RnnkitError itself (expected-vs-got messages); set on every load: cheap, and
  // a loader may hand back a fresh module instance
  native.setErrorClass(RnnkitError);
  return native;
}

/** Why the native backend cannot run here, or null when it can. */
export function nativeUnavailable(): string | null {
  try {
    loadNativeAddon();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export interface NativeBackendOptions {
  /** Threads of the addon's pool (the calling thread included; default: one per core). The pool is one per process. */
  threads?: number;
  /** Work (m*n*k multiply-adds) from which a GEMM may be split across the pool (default defaults.nativeParallelWork). */
  parallelThreshold?: number;
  /**
   * Learn per size class whether a split GEMM is faster than one thread, from the times of both
   * (default true); false splits every GEMM above the threshold. Process-wide, as the pool.
   */
  adaptiveSplit?: boolean;
}

/** Re-throws the addon's RangeErrors (bad sizes, short arrays) as RnnkitErrors, with the same message. */

export class NativeBackend implements Backend {
  readonly name = "native";
  readonly plainArrays = true;
  readonly dtype: DType = "float32";
  /** The addon's exports (for tests: the ISA choice, split counts). */
  readonly addon: NativeAddon;
  private readonly k: NativeAddon;

  constructor(opts: NativeBackendOptions = {}) {
    this.addon = this.k = loadNativeAddon();
    const threads = opts.threads ?? Math.max(1, platform.cores());
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new RnnkitError(`native backend: expected 1 to 256 threads, got ${threads}`);
    }
    this.k.setThreads(threads);
    this.k.setParallelWork(opts.parallelThreshold ?? defaults.nativeParallelWork);
    this.k.setAdaptiveSplit(opts.adaptiveSplit ?? true);
  }

  /** Threads of the addon's pool (shared by every NativeBackend of this process). */
  get threads(): number {
    return this.k.threads();
  }

  /** The instruction set the kernels use ("avx512", "avx2" or "generic"). */
  get isa(): string {
    return this.k.isa();
  }

  alloc(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new RnnkitError(`native backend: alloc: expected a length >= 0, got ${n}`);
    return new Float32Array(n);
  }

  allocIndex(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new RnnkitError(`native backend: allocIndex: expected a length >= 0, got ${n}`);
    return new Int32Array(n);
  }

  free(_a: Floats | Int32Array): void {
    // garbage-collected JavaScript arrays
  }

  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Floats, aOff: number, lda: number, b: Floats, bOff: number, ldb: number,
    beta: number, c: Floats, cOff: number, ldc: number,
  ): void {
    this.k.gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
  }

  /** The bias added in the GEMM's first pass over C (see Backend.gemmBias). */
  gemmBias(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Floats, aOff: number, lda: number, b: Floats, bOff: number, ldb: number,
    bias: Floats, biasOff: number, c: Floats, cOff: number, ldc: number,
  ): void {
    this.k.gemmBias(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, bias, biasOff, c, cOff, ldc);
  }

  /** op(B) packed into the micro-kernel's slivers once (with a header the addon checks: k, n, ISA). */
  packB(transB: boolean, k: number, n: number, b: Floats, bOff: number, ldb: number): PackedB {
    const data = new Float32Array(this.k.packedSize(k, n));
    this.k.packB(transB, k, n, b, bOff, ldb, data);
    return { k, n, data };
  }

  gemmPacked(
    m: number, n: number, k: number, alpha: number, a: Floats, aOff: number, lda: number,
    packed: PackedB, beta: number, c: Floats, cOff: number, ldc: number,
  ): void {
    this.k.gemmPacked(m, n, k, alpha, a, aOff, lda, packed.data, beta, c, cOff, ldc);
  }

  /** The forward time loop in one native call (see Backend.recurrentForward); two directions run on two threads. */
  recurrentForward(
    cell: "lstm" | "gru" | "rnn", hard: boolean, relu: boolean, steps: number, offsets: Int32Array, batchSizes: Int32Array,
    H: number, dirs: readonly RecurrentDirection[],
  ): void {
    this.k.recurrentForward(cell === "lstm" ? 0 : cell === "gru" ? 1 : 2, hard, relu, steps, offsets, batchSizes, H,
      dirs.map((d) => [d.whh.data, d.bhh, d.gates, d.gh, d.act, d.hPrev, d.h, d.cPrev, d.c]));
  }

  /** The backward time loop in one native call (see Backend.recurrentBackward); the batch's rows split across the pool. */
  recurrentBackward(
    cell: "lstm" | "gru" | "rnn", hard: boolean, relu: boolean, steps: number, offsets: Int32Array, batchSizes: Int32Array,
    H: number, dirs: readonly RecurrentBackwardDirection[],
  ): void {
    this.k.recurrentBackward(cell === "lstm" ? 0 : cell === "gru" ? 1 : 2, hard, relu, steps, offsets, batchSizes, H,
      dirs.map((d) => [d.whh.data, d.gates, d.gh, d.hPrev, d.h, d.cPrev, d.c, d.dh, d.dc, d.dG, d.dGh, d.dh0, d.dc0]));
  }

  broadcastRows(rows: number, cols: number, v: Floats, vOff: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean): void {
    this.k.broadcastRows(rows, cols, v, vOff, dst, dOff, ldd, accumulate);
  }

  sumRows(rows: number, cols: number, a: Floats, aOff: number, lda: number, out: Floats, oOff: number): void {
    this.k.sumRows(rows, cols, a, aOff, lda, out, oOff);
  }

  gatherRows(
    rows: number, cols: number, idx: Int32Array, idxOff: number,
    src: Floats, sOff: number, lds: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean,
  ): void {
    this.k.gatherRows(rows, cols, idx, idxOff, src, sOff, lds, dst, dOff, ldd, accumulate);
  }

  scatterRows(
    rows: number, cols: number, idx: Int32Array, idxOff: number,
    src: Floats, sOff: number, lds: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean,
  ): void {
    this.k.scatterRows(rows, cols, idx, idxOff, src, sOff, lds, dst, dOff, ldd, accumulate);
  }

  copy(n: number, src: Floats, sOff: number, dst: Floats, dOff: number): void {
    this.k.copy(n, src, sOff, dst, dOff);
  }

  axpy(n: number, alpha: number, src: Floats, sOff: number, dst: Floats, dOff: number): void {
    this.k.axpy(n, alpha, src, sOff, dst, dOff);
  }

  zero(n: number, a: Floats, aOff: number): void {
    this.k.zero(n, a, aOff);
  }

  /** For tests: out[0:n] = exp (fn 0), sigmoid (1) or tanh (2) of x[0:n], as the cell kernels compute them. */
  mathFn(fn: 0 | 1 | 2, n: number, x: Float32Array, xOff: number, out: Float32Array, oOff: number): void {
    this.k.mathFn(fn, n, x, xOff, out, oOff);
  }

  rnnForward(n: number, H: number, relu: boolean, pre: Floats, pOff: number, h: Floats, hOff: number): void {
    this.k.rnnForward(n, H, relu, pre, pOff, h, hOff);
  }

  rnnBackward(n: number, H: number, relu: boolean, h: Floats, hOff: number, dh: Floats, dhOff: number, dPre: Floats, dpOff: number): void {
    this.k.rnnBackward(n, H, relu, h, hOff, dh, dhOff, dPre, dpOff);
  }

  lstmForward(
    n: number, H: number, gates: Floats, gOff: number,
    cPrev: Floats, cpOff: number, c: Floats, cOff: number, h: Floats, hOff: number, hard = false,
  ): void {
    this.k.lstmForward(n, H, gates, gOff, cPrev, cpOff, c, cOff, h, hOff, hard);
  }

  lstmBackward(
    n: number, H: number, gates: Floats, gOff: number, cPrev: Floats, cpOff: number, c: Floats, cOff: number,
    dh: Floats, dhOff: number, dc: Floats, dcOff: number, dG: Floats, dgOff: number, dcPrev: Floats, dcpOff: number,
    hard = false,
  ): void {
    this.k.lstmBackward(n, H, gates, gOff, cPrev, cpOff, c, cOff, dh, dhOff, dc, dcOff, dG, dgOff, dcPrev, dcpOff, hard);
  }

  gruForward(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, h: Floats, hOff: number, hard = false,
  ): void {
    this.k.gruForward(n, H, gx, gxOff, gh, ghOff, hPrev, hpOff, act, aOff, h, hOff, hard);
  }

  gruBackward(
    n: number, H: number, act: Floats, aOff: number, gh: Floats, ghOff: number, hPrev: Floats, hpOff: number,
    dh: Floats, dhOff: number, dGx: Floats, dgxOff: number, dGh: Floats, dghOff: number, dhPrev: Floats, dhpOff: number,
    hard = false,
  ): void {
    this.k.gruBackward(n, H, act, aOff, gh, ghOff, hPrev, hpOff, dh, dhOff, dGx, dgxOff, dGh, dghOff, dhPrev, dhpOff, hard);
  }

  gruResetBeforeGates(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, rh: Floats, rhOff: number, hard = false,
  ): void {
    this.k.gruResetBeforeGates(n, H, gx, gxOff, gh, ghOff, hPrev, hpOff, act, aOff, rh, rhOff, hard);
  }

  gruResetBeforeOutput(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, h: Floats, hOff: number,
  ): void {
    this.k.gruResetBeforeOutput(n, H, gx, gxOff, gh, ghOff, hPrev, hpOff, act, aOff, h, hOff);
  }

  gruResetBeforeBackwardOutput(
    n: number, H: number, act: Floats, aOff: number, hPrev: Floats, hpOff: number,
    dh: Floats, dhOff: number, dG: Floats, dgOff: number, dhPrev: Floats, dhpOff: number, hard = false,
  ): void {
    this.k.gruResetBeforeBackwardOutput(n, H, act, aOff, hPrev, hpOff, dh, dhOff, dG, dgOff, dhPrev, dhpOff, hard);
  }

  gruResetBeforeBackwardGates(
    n: number, H: number, act: Floats, aOff: number, hPrev: Floats, hpOff: number,
    drh: Floats, drhOff: number, dG: Floats, dgOff: number, dhPrev: Floats, dhpOff: number, hard = false,
  ): void {
    this.k.gruResetBeforeBackwardGates(n, H, act, aOff, hPrev, hpOff, drh, drhOff, dG, dgOff, dhPrev, dhpOff, hard);
  }

  softmaxCrossEntropy(
    rows: number, V: number, logits: Floats, lOff: number, targets: Int32Array, tOff: number,
    ignoreIndex: number, scale: number, dLogits: Floats, dOff: number,
  ): number {
    return this.k.softmaxCrossEntropy(rows, V, logits, lOff, targets, tOff, ignoreIndex, scale, dLogits, dOff);
  }

  softmax(rows: number, V: number, temperature: number, x: Floats, xOff: number, out: Floats, oOff: number): void {
    this.k.softmax(rows, V, temperature, x, xOff, out, oOff);
  }

  mse(n: number, p: Floats, pOff: number, t: Floats, tOff: number, w: Floats | null, wOff: number, scale: number, grad: Floats, gOff: number): number {
    return this.k.mse(n, p, pOff, t, tOff, w, wOff, scale, grad, gOff);
  }

  bceWithLogits(n: number, x: Floats, xOff: number, t: Floats, tOff: number, w: Floats | null, wOff: number, scale: number, grad: Floats, gOff: number): number {
    return this.k.bceWithLogits(n, x, xOff, t, tOff, w, wOff, scale, grad, gOff);
  }

  sumSquares(n: number, a: Floats, aOff: number): number {
    return this.k.sumSquares(n, a, aOff);
  }

  scale(n: number, alpha: number, a: Floats, aOff: number): void {
    this.k.scale(n, alpha, a, aOff);
  }

  mul(n: number, a: Floats, aOff: number, b: Floats, bOff: number, out: Floats, oOff: number): void {
    this.k.mul(n, a, aOff, b, bOff, out, oOff);
  }

  sgdStep(n: number, p: Floats, g: Floats, buf: Floats, lr: number, momentum: number, nesterov: boolean, weightDecay: number, first: boolean): void {
    this.k.sgdStep(n, p, g, buf, lr, momentum, nesterov, weightDecay, first);
  }

  adamStep(
    n: number, p: Floats, g: Floats, m: Floats, v: Floats, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, decoupled: boolean, step: number,
  ): void {
    this.k.adamStep(n, p, g, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, 1 - Math.pow(beta1, step), 1 - Math.pow(beta2, step));
  }

  rmspropStep(n: number, p: Floats, g: Floats, s: Floats, lr: number, alpha: number, eps: number, weightDecay: number): void {
    this.k.rmspropStep(n, p, g, s, lr, alpha, eps, weightDecay);
  }

  adagradStep(n: number, p: Floats, g: Floats, s: Floats, lr: number, eps: number, weightDecay: number): void {
    this.k.adagradStep(n, p, g, s, lr, eps, weightDecay);
  }
}

/** A native backend, or an Error saying why there is none. */
export function createNativeBackend(opts: NativeBackendOptions = {}): NativeBackend {
  return new NativeBackend(opts);
}
