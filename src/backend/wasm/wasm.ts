/**
 * The WebAssembly SIMD backend (float32).
 *
 * Every array it allocates is a view into one `WebAssembly.Memory`, so a kernel call passes byte
 * addresses (`byteOffset + 4 * offset`) and copies nothing. The memory is shared (backed by a
 * SharedArrayBuffer) wherever the host allows it: then growing it never detaches the views already
 * handed out, and worker threads can run parts of a large GEMM on the same data. Where it is not
 * (a browser that refuses shared memory outside cross-origin isolation), the memory is a fixed
 * reservation that never grows, and the backend runs on one thread.
 *
 * The kernels (src/backend/wasm/assembly/kernels.as, AssemblyScript) are compiled by
 * scripts/build-wasm.mjs twice, to kernels.wasm (SIMD128) and kernels-relaxed.wasm (relaxed SIMD:
 * fused multiply-add where the CPU has it), next to this file's compiled output; the host
 * (#platform) reads those files in Node and inlines them into the browser bundle. A backend runs
 * the relaxed build where the engine validates it (Chromium >= 114, Node >= 22), else SIMD128;
 * the `simd` option or $RNNKIT_WASM_SIMD forces one (see pickWasmSimd). Both compute what the js
 * reference computes within the parity tolerance, not bit for bit: FMA rounds once where the
 * SIMD128 build rounds twice, and relaxed_madd may be fused on one CPU and not on another.
 */
import { platform } from "#platform";
import type { WorkerHandle } from "../../platform/platform.js";
import type { Backend, DType } from "../backend.js";
import { defaults } from "../../defaults.js";
import { type Floats, RnnkitError } from "../../tensor.js";
import { type WasmSimd, WASM_SIMD_ENV, wasmSimdKinds, wasmSimdWords } from "./simd.js";

export { type WasmSimd, WASM_SIMD_ENV, wasmSimdKinds } from "./simd.js";

// ---- the WebAssembly API, typed locally (the project's lib has no DOM types) ----

interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(deltaPages: number): number;
}
/** An opaque compiled module. */
export type WasmModule = object;
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { exports: Record<string, unknown> };
  compile(bytes: Uint8Array): Promise<WasmModule>;
  validate(bytes: Uint8Array): boolean;
}
function wasmApi(): WasmApi {
  const wa = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wa) throw new Error("WasmBackend: WebAssembly is not available");
  return wa;
}

/** The exports of kernels.wasm (pointers are byte addresses, sizes are element counts). */
interface Kernels {
  gemmWorkspaceBytes(): number;
  gemmTileRows(): number;
  heapBase(): number;
  constantsBytes(): number;
  init(table: number, write: number): void;
  gemm(
    transA: number, transB: number, m: number, n: number, k: number, alpha: number,
    a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number, ws: number,
  ): void;
  mathFn(fn: number, n: number, x: number, out: number): void;
  broadcastRows(rows: number, cols: number, v: number, dst: number, ldd: number, accumulate: number): void;
  sumRows(rows: number, cols: number, a: number, lda: number, out: number): void;
  gatherRows(rows: number, cols: number, idx: number, src: number, lds: number, dst: number, ldd: number, acc: number): void;
  scatterRows(rows: number, cols: number, idx: number, src: number, lds: number, dst: number, ldd: number, acc: number): void;
  copy(n: number, src: number, dst: number): void;
  zero(n: number, a: number): void;
  axpy(n: number, alpha: number, src: number, dst: number): void;
  rnnForward(count: number, relu: number, pre: number, h: number): void;
  rnnBackward(count: number, relu: number, h: number, dh: number, dPre: number): void;
  lstmForward(n: number, H: number, gates: number, cPrev: number, c: number, h: number, hard: number): void;
  lstmBackward(n: number, H: number, gates: number, cPrev: number, c: number, dh: number, dc: number, dG: number, dcPrev: number, hard: number): void;
  gruForward(n: number, H: number, gx: number, gh: number, hPrev: number, act: number, h: number, hard: number): void;
  gruBackward(n: number, H: number, act: number, gh: number, hPrev: number, dh: number, dGx: number, dGh: number, dhPrev: number, hard: number): void;
  gruResetBeforeGates(n: number, H: number, gx: number, gh: number, hPrev: number, act: number, rh: number, hard: number): void;
  gruResetBeforeOutput(n: number, H: number, gx: number, gh: number, hPrev: number, act: number, h: number): void;
  gruResetBeforeBackwardOutput(n: number, H: number, act: number, hPrev: number, dh: number, dG: number, dhPrev: number, hard: number): void;
  gruResetBeforeBackwardGates(n: number, H: number, act: number, hPrev: number, drh: number, dG: number, dhPrev: number, hard: number): void;
  logf64(x: number): number;
  softmaxCrossEntropy(rows: number, V: number, logits: number, targets: number, ignoreIndex: number, scale: number, dLogits: number): number;
  softmax(rows: number, V: number, temperature: number, x: number, out: number): void;
  mse(n: number, p: number, t: number, w: number, hasW: number, scale: number, grad: number): number;
  bceWithLogits(n: number, x: number, t: number, w: number, hasW: number, scale: number, grad: number): number;
  sumSquares(n: number, a: number): number;
  scale(n: number, alpha: number, a: number): void;
  mul(n: number, a: number, b: number, out: number): void;
  sgdStep(n: number, p: number, g: number, buf: number, lr: number, momentum: number, nesterov: number, weightDecay: number, first: number): void;
  adamStep(
    n: number, p: number, g: number, m: number, v: number, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, decoupled: number, bc1: number, bc2: number,
  ): void;
  rmspropStep(n: number, p: number, g: number, s: number, lr: number, alpha: number, eps: number, weightDecay: number): void;
  adagradStep(n: number, p: number, g: number, s: number, lr: number, eps: number, weightDecay: number): void;
}

// ---- loading ----

const PAGE = 65536;
/** The memory's maximum in pages (4 GiB); scripts/build-wasm.mjs declares the same maximum. */
const MAX_PAGES = 65536;
/** Every allocation starts on a cache line. */
const ALIGN = 64;
/** The smallest default fixed reservation tried, in MiB (see the constructor). */
const MIN_FIXED_MB = 64;
/** Readable bytes kept past the last allocated byte (the pointwise kernels read whole vectors). */
const SLACK = 64;

/** The compiled kernels of each build, once per process. */
const cachedModules = new Map<WasmSimd, WasmModule>();
/** The same kernels with a plain memory import (see withUnsharedMemory). */
const cachedFixedModules = new Map<WasmSimd, WasmModule>();

function checkSimd(): void {
  if (!wasmSimdSupported()) throw new Error("WasmBackend: this runtime does not support WebAssembly SIMD");
}

function loadModuleSync(simd: WasmSimd): WasmModule {
  let module = cachedModules.get(simd);
  if (!module) {
    checkSimd();
    module = new (wasmApi().Module)(platform.kernelBytes(simd));
    cachedModules.set(simd, module);
  }
  return module;
}

/** The kernels importing a plain (non-shared) memory, for hosts that refuse shared memory. */
function loadFixedModuleSync(simd: WasmSimd): WasmModule {
  let module = cachedFixedModules.get(simd);
  if (!module) {
    module = new (wasmApi().Module)(withUnsharedMemory(platform.kernelBytes(simd)));
    cachedFixedModules.set(simd, module);
  }
  return module;
}

/**
 * A copy of a module whose memory import is declared shared, declaring it plain instead: the
 * limits flag of the import goes from 3 (shared, with maximum) to 1 (with maximum). One byte
 * changes and no size does (WebAssembly core spec 5.3.7 limits, 5.5.5 import section).
 */
export function withUnsharedMemory(bytes: Uint8Array): Uint8Array {
  const b = new Uint8Array(bytes); // a copy (Buffer.prototype.slice would share the bytes)
  const bad = (why: string): never => {
    throw new Error(`WasmBackend: cannot read kernels.wasm's memory import (${why})`);
  };
  let i = 8;
  const u32 = (): number => {
    let v = 0, shift = 0, byte: number;
    do {
      if (i >= b.length) bad("truncated");
      byte = b[i++];
      v += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return v;
  };
  const skipName = () => {
    const n = u32();
    i += n;
  };
  while (i < b.length) {
    const id = b[i++];
    const size = u32();
    const end = i + size;
    if (id !== 2) {
      i = end;
      continue;
    }
    for (let count = u32(); count > 0; count--) {
      skipName();
      skipName();
      const kind = b[i++];
      if (kind === 0) u32(); // function: type index
      else if (kind === 1) {
        i++; // table: reftype, then limits
        const flag = b[i++];
        u32();
        if (flag & 1) u32();
      } else if (kind === 2) {
        if (b[i] !== 3) bad(`limits flag ${b[i]}, expected 3 (shared, with maximum)`);
        b[i] = 1;
        return b;
      } else if (kind === 3) i += 2; // global: valtype, mutability
      else bad(`import kind ${kind}`);
    }
    bad("no memory import");
  }
  return bad("no import section");
}

async function loadModule(simd: WasmSimd): Promise<WasmModule> {
  let module = cachedModules.get(simd);
  if (!module) {
    checkSimd();
    const compiled = await wasmApi().compile(platform.kernelBytes(simd));
    module = cachedModules.get(simd) ?? compiled;
    cachedModules.set(simd, module);
  }
  return module;
}

/** A tiny module using a v128 instruction: `(func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)`. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** Whether this runtime validates WebAssembly SIMD (v128) code. */
export function wasmSimdSupported(): boolean {
  try {
    const wa = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    return !!wa && wa.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

let relaxedValid: boolean | null = null;
/** Why the relaxed build could not even be read (a missing file), when that is why it is not valid. */
let relaxedUnreadable: Error | null = null;

/**
 * Whether this engine validates the relaxed-SIMD build of the kernels (WebAssembly.validate on
 * kernels-relaxed.wasm itself, once per process): Chromium >= 114, Node >= 22, Node 20 only with
 * --experimental-wasm-relaxed-simd. False too where that file cannot be read.
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedValid === null) {
    let bytes: Uint8Array | null = null;
    try {
      bytes = platform.kernelBytes("relaxed");
    } catch (e) {
      relaxedUnreadable = e as Error;
    }
    try {
      relaxedValid = bytes !== null && wasmSimdSupported() && wasmApi().validate(bytes);
    } catch {
      relaxedValid = false;
    }
  }
  return relaxedValid;
}

/**
 * The kernel build a new backend runs: `asked` (the `simd` option) if given, else
 * $RNNKIT_WASM_SIMD if set, else "relaxed" where the engine validates it and "simd128" where not.
 * A name that is neither, or "relaxed" on an engine that cannot run it, is an RnnkitError.
 */
export function pickWasmSimd(asked?: string): WasmSimd {
  const env = platform.env(WASM_SIMD_ENV);
  const from = asked !== undefined ? "the simd option" : `$${WASM_SIMD_ENV}`;
  const want = asked ?? (env === undefined || env === "" ? undefined : env);
  if (want === undefined) return relaxedSimdSupported() ? "relaxed" : "simd128";
  if (!(wasmSimdKinds as readonly string[]).includes(want)) {
    throw new RnnkitError(`WasmBackend: ${from}: expected one of ${wasmSimdKinds.join(", ")}, got ${JSON.stringify(want)}`);
  }
  if (want === "relaxed" && !relaxedSimdSupported()) {
    if (relaxedUnreadable) throw new RnnkitError(`WasmBackend: ${from} asks for relaxed SIMD, but ${relaxedUnreadable.message}`);
    throw new RnnkitError(
      `WasmBackend: ${from} asks for relaxed SIMD: expected an engine that validates it (Chromium >= 114, Node >= 22, ` +
        `or Node 20 run with --experimental-wasm-relaxed-simd), got a ${platform.name} engine that does not; ` +
        `use simd128`,
    );
  }
  return want as WasmSimd;
}

export interface WasmBackendOptions {
  /**
   * The kernel build: "relaxed" (relaxed SIMD: fused multiply-add where the CPU has it) or
   * "simd128". Default: $RNNKIT_WASM_SIMD if set, else relaxed where the engine validates it.
   * Asking for relaxed where the engine cannot run it is an error (see pickWasmSimd).
   */
  simd?: WasmSimd;
  /** Threads for large GEMMs: the calling thread plus `threads - 1` workers (default 1). */
  threads?: number;
  /** Work (m*n*k multiply-adds) from which a GEMM is split across threads while the workers are awake (default defaults.wasmParallelWork). */
  parallelThreshold?: number;
  /**
   * Work from which a GEMM also wakes sleeping workers and waits for them (default 2^23). Below it, a
   * GEMM that finds a worker asleep runs on the calling thread (and, when GEMMs come in quick
   * succession, nudges the worker awake for the next one): waking a thread blocked in Atomics.wait
   * can cost the caller ~30 us and the sleeper ~0.1 ms.
   */
  wakeThreshold?: number;
  /** How long an idle worker polls for the next job before it sleeps, in ms (default 1). */
  spinMs?: number;
  /**
   * Use a shared (growable, thread-capable) memory (default: wherever the host allows one). With
   * `false`, or where the host refuses one, the memory is a fixed reservation of `fixedMemoryMB`
   * and the backend runs on one thread.
   */
  sharedMemory?: boolean;
  /** MiB of a fixed (non-shared) memory (default defaults.wasmFixedMemoryMB). */
  fixedMemoryMB?: number;
}

/** Compiles (once per process and build) and instantiates the kernels. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const simd = pickWasmSimd(opts.simd);
  const backend = new WasmBackend(simd, await loadModule(simd), opts);
  await backend.ready();
  return backend;
}

/** Synchronous variant for Node (`new WebAssembly.Module` on the kernels file). */
export function createWasmBackendSync(opts: WasmBackendOptions = {}): WasmBackend {
  const simd = pickWasmSimd(opts.simd);
  return new WasmBackend(simd, loadModuleSync(simd), opts);
}

// ---- worker threads ----

// Control block of one worker, Int32 slots (alpha/beta as Float32 in the same memory).
// Protocol: the caller writes a job, then bumps SEQ (Atomics.store) and notifies; the worker runs it
// and stores DONE = SEQ. The caller posts a new job only when DONE === SEQ (the previous one is
// acknowledged), so a job's slots are never rewritten while the worker may still read them.
// A GEMM job is cut into chunks of C (column or row blocks); the caller and the workers claim chunks
// from one shared counter (Atomics.add) until none is left, so a slower or late thread does less.
const SEQ = 0; // job counter, bumped by the caller to post a job
const DONE = 1; // last job acknowledged by the worker
const STATUS = 2; // 0 ok, 1 a job threw, 2 instantiation failed
const READY = 3; // 1 once the worker runs its loop
const QUIT = 4;
const SLEEPING = 5; // 1 while the worker is (about to be) in Atomics.wait
const KIND = 6; // the job: 0 gemm, 1 wake up only (then poll for the next job)
// gemm: transA, transB, m, n, k, a, lda, b, ldb, c, ldc, ws (P..P+11), alpha (P+12), beta (P+13),
// byCols (P+14), chunk (P+15: columns or rows per chunk), chunks (P+16)
const P = 8;
const CTL_INTS = 32;
const JOB_GEMM = 0;
const JOB_WAKE = 1;

/**
 * The worker's program: the source of one plain function, run by the host (#platform) on the data
 * it is given. It instantiates the kernels on the shared memory, then serves jobs.
 */
const WORKER_MAIN = `function main(data) {
  const { module, memory, ctlPtr, counterPtr, table, spinMs } = data;
  const ctl = new Int32Array(memory.buffer, ctlPtr, ${CTL_INTS});
  const ctlf = new Float32Array(memory.buffer, ctlPtr, ${CTL_INTS});
  const counter = new Int32Array(memory.buffer, counterPtr, 1);
  let gemm;
  try {
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    exports.init(table, 0);
    gemm = exports.gemm;
  } catch (e) {
    Atomics.store(ctl, ${STATUS}, 2);
    return;
  }
  Atomics.store(ctl, ${READY}, 1);
  let seen = 0;
  for (;;) {
    let s = Atomics.load(ctl, ${SEQ});
    if (s === seen) {
      // poll for a while (waking from Atomics.wait is slow), then sleep
      const until = performance.now() + spinMs;
      while (s === seen) {
        for (let i = 0; i < 512 && s === seen; i++) s = Atomics.load(ctl, ${SEQ});
        if (s === seen && performance.now() > until) break;
      }
    }
    if (s === seen) {
      Atomics.store(ctl, ${SLEEPING}, 1);
      Atomics.wait(ctl, ${SEQ}, seen);
      Atomics.store(ctl, ${SLEEPING}, 0);
      continue;
    }
    seen = s;
    if (Atomics.load(ctl, ${QUIT}) !== 0) return;
    if (ctl[${KIND}] === ${JOB_WAKE}) {
      Atomics.store(ctl, ${DONE}, seen);
      continue;
    }
    try {
      const tA = ctl[${P}], tB = ctl[${P + 1}], m = ctl[${P + 2}], n = ctl[${P + 3}], k = ctl[${P + 4}];
      const a = ctl[${P + 5}] >>> 0, lda = ctl[${P + 6}], b = ctl[${P + 7}] >>> 0, ldb = ctl[${P + 8}];
      const c = ctl[${P + 9}] >>> 0, ldc = ctl[${P + 10}], ws = ctl[${P + 11}];
      const alpha = ctlf[${P + 12}], beta = ctlf[${P + 13}];
      const byCols = ctl[${P + 14}], chunk = ctl[${P + 15}], chunks = ctl[${P + 16}];
      for (let q = Atomics.add(counter, 0, 1); q < chunks; q = Atomics.add(counter, 0, 1)) {
        const s0 = q * chunk;
        if (byCols) {
          gemm(tA, tB, m, Math.min(chunk, n - s0), k, alpha, a, lda, b + (tB ? s0 * ldb : s0) * 4, ldb, beta,
            c + s0 * 4, ldc, ws);
        } else {
          gemm(tA, tB, Math.min(chunk, m - s0), n, k, alpha, a + (tA ? s0 : s0 * lda) * 4, lda, b, ldb, beta,
            c + s0 * ldc * 4, ldc, ws);
        }
      }
    } catch (e) {
      Atomics.store(ctl, ${STATUS}, 1);
    }
    Atomics.store(ctl, ${DONE}, seen);
    Atomics.notify(ctl, ${DONE});
  }
}`;

interface WorkerSlot {
  worker: WorkerHandle;
  ctl: Int32Array;
  ctlf: Float32Array;
  ctlPtr: number;
  ws: number;
  seq: number;
}

// ---- the backend ----

export class WasmBackend implements Backend {
  readonly name = "wasm";
  readonly dtype: DType = "float32";
  /** The kernel build it runs, on this thread and on its workers: "relaxed" or "simd128". */
  readonly simd: WasmSimd;
  /** The backend in words, for logs and reports: "wasm (relaxed SIMD)" or "wasm (SIMD128)". */
  readonly label: string;
  /** Threads a large GEMM may use (1 = single-threaded; always 1 without shared memory). */
  readonly threads: number;
  /** Whether the memory is shared (growable, usable by threads) or a fixed reservation. */
  readonly shared: boolean;
  /** Pages of a fixed memory (0 when shared). */
  private readonly fixedPages: number;
  /** Whether this thread may block in Atomics.wait (not a browser's main thread); known once workers start. */
  private canBlock = true;
  /** Work (m*n*k) from which a GEMM is split across awake worker threads. */
  parallelThreshold: number;
  /** Work (m*n*k) from which a GEMM also wakes sleeping workers and waits for them. */
  wakeThreshold: number;
  private readonly spinMs: number;

  private readonly memory: WasmMemory;
  private readonly k: Kernels;
  private readonly module: WasmModule;
  /** The memory's current buffer, and every buffer object arrays were ever created on. */
  private buf: ArrayBufferLike;
  private readonly bufs = new Set<ArrayBufferLike>();

  // allocator: first fit over a sorted free list, heap top, and the never-used tail (zero)
  private top: number;
  private pristine: number;
  private readonly sizes = new Map<number, number>();
  private freeStart: number[] = [];
  private freeSize: number[] = [];

  /** The math constants table the kernels read (written once by init). */
  private readonly table: number;
  private readonly ws0: number;
  /** Rows of the GEMM micro-kernel's tile in this build (kernels.as MR). */
  private readonly tileRows: number;
  private workers: WorkerSlot[] = [];
  /** The shared chunk counter of a split GEMM (one Int32 in the wasm memory). */
  private counter: Int32Array | null = null;
  /** When the last GEMM large enough to split was called (performance.now()). */
  private lastSplittable = -Infinity;
  /** GEMMs that ran split across threads (diagnostics). */
  splitGemms = 0;

  /** `module` is the compiled build `simd` (createWasmBackend picks and compiles it). */
  constructor(simd: WasmSimd, module: WasmModule, opts: WasmBackendOptions = {}) {
    const wa = wasmApi();
    this.simd = simd;
    this.label = `wasm (${wasmSimdWords[simd]})`;
    let memory: WasmMemory | null = null;
    if (opts.sharedMemory ?? true) {
      try {
        memory = new wa.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
      } catch {
        // this host allows no shared memory here: a fixed one below
      }
    }
    if (memory) {
      this.module = module;
      this.fixedPages = 0;
    } else {
      this.module = loadFixedModuleSync(simd);
      // the default reservation halves until the host grants it (a 32-bit or memory-capped
      // browser may refuse 1 GiB of address space); a size the caller chose is taken or refused
      let mb = opts.fixedMemoryMB ?? defaults.wasmFixedMemoryMB;
      const least = opts.fixedMemoryMB === undefined ? MIN_FIXED_MB : mb;
      for (;;) {
        const pages = Math.min(MAX_PAGES, Math.max(64, Math.ceil((mb * 1048576) / PAGE)));
        try {
          memory = new wa.Memory({ initial: pages, maximum: pages, shared: false });
          this.fixedPages = pages;
          break;
        } catch (e) {
          if (mb / 2 < least) {
            throw new RangeError(`WasmBackend: this host refused a WebAssembly memory of ${mb} MiB (${(e as Error).message}); use the js backend`);
          }
          mb /= 2;
        }
      }
    }
    this.memory = memory;
    this.shared = this.fixedPages === 0;
    // threads need memory shared with them: always in Node, only on cross-origin isolated pages
    const wanted = Math.max(1, Math.min(64, Math.floor(opts.threads ?? 1)));
    this.threads = this.shared && platform.canShareMemory() ? wanted : 1;
    this.parallelThreshold = opts.parallelThreshold ?? defaults.wasmParallelWork;
    this.wakeThreshold = Math.max(this.parallelThreshold, opts.wakeThreshold ?? 1 << 23);
    this.spinMs = opts.spinMs ?? 1;
    this.k = new wa.Instance(this.module, { env: { memory: this.memory } }).exports as unknown as Kernels;
    this.buf = this.memory.buffer;
    this.bufs.add(this.buf);
    // address 0 and the module's static data stay unused
    this.top = Math.max(ALIGN * 16, roundUp(this.k.heapBase() >>> 0, ALIGN));
    this.pristine = this.top;
    this.table = this.allocBytes(this.k.constantsBytes());
    this.k.init(this.table, 1);
    this.ws0 = this.allocBytes(this.k.gemmWorkspaceBytes());
    this.tileRows = this.k.gemmTileRows();
    for (let t = 1; t < this.threads; t++) this.startWorker();
  }

  /** Resolves when every worker has instantiated the kernels (or failed to: then it is not used). */
  async ready(): Promise<void> {
    const deadline = Date.now() + 10000;
    while (
      this.workers.some((w) => Atomics.load(w.ctl, READY) === 0 && Atomics.load(w.ctl, STATUS) === 0) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Stops the worker threads; the backend stays usable, single-threaded. */
  dispose(): void {
    for (const w of this.workers) {
      Atomics.store(w.ctl, QUIT, 1);
      Atomics.add(w.ctl, SEQ, 1);
      Atomics.notify(w.ctl, SEQ);
      void w.worker.terminate();
      this.freeBytes(w.ws);
      this.freeBytes(w.ctlPtr);
    }
    this.workers = [];
  }

  /** The number of worker threads running (threads - 1 once they started). */
  get workerCount(): number {
    return this.workers.length;
  }

  /** Bytes of wasm memory (for tests and diagnostics). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  private startWorker(): void {
    if (!this.counter) this.counter = new Int32Array(this.buf, this.allocBytes(4), 1);
    const counterPtr = this.counter.byteOffset;
    const ctlPtr = this.allocBytes(CTL_INTS * 4);
    const ws = this.allocBytes(this.k.gemmWorkspaceBytes());
    const ctl = new Int32Array(this.buf, ctlPtr, CTL_INTS);
    const ctlf = new Float32Array(this.buf, ctlPtr, CTL_INTS);
    ctl[P + 11] = ws;
    if (this.workers.length === 0) {
      try {
        Atomics.wait(ctl, QUIT, 1, 0); // returns "not-equal" at once where blocking is allowed
      } catch {
        this.canBlock = false; // a browser's main thread: poll instead
      }
    }
    const data = { module: this.module, memory: this.memory, ctlPtr, counterPtr, table: this.table, spinMs: this.spinMs };
    const worker = platform.startWorker(WORKER_MAIN, data, () => Atomics.store(ctl, STATUS, 2));
    this.workers.push({ worker, ctl, ctlf, ctlPtr, ws, seq: 0 });
  }

  // ---- memory ----

  private allocBytes(bytes: number): number {
    const need = roundUp(Math.max(bytes, 1), ALIGN);
    const fs = this.freeStart, fz = this.freeSize;
    for (let i = 0; i < fs.length; i++) {
      if (fz[i] >= need) {
        const ptr = fs[i];
        if (fz[i] === need) {
          fs.splice(i, 1);
          fz.splice(i, 1);
        } else {
          fs[i] += need;
          fz[i] -= need;
        }
        this.sizes.set(ptr, need);
        this.zeroUsed(ptr, need);
        return ptr;
      }
    }
    // extend the heap, reusing a free block that ends at the top
    let ptr = this.top;
    const last = fs.length - 1;
    if (last >= 0 && fs[last] + fz[last] === this.top) {
      ptr = fs[last];
      fs.pop();
      fz.pop();
    }
    this.ensure(ptr + need + SLACK);
    this.top = ptr + need;
    this.sizes.set(ptr, need);
    this.zeroUsed(ptr, need);
    return ptr;
  }

  /** Zeroes the part of [ptr, ptr + bytes) that was handed out before (the rest is still zero). */
  private zeroUsed(ptr: number, bytes: number): void {
    const end = Math.min(ptr + bytes, this.pristine);
    if (end > ptr) new Uint8Array(this.buf, ptr, end - ptr).fill(0);
    if (ptr + bytes > this.pristine) this.pristine = ptr + bytes;
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const havePages = have / PAGE;
    const needPages = Math.ceil(bytes / PAGE) - havePages;
    if (this.fixedPages) {
      throw new RangeError(
        `WasmBackend: out of memory: ${bytes} bytes needed, the fixed memory has ${have} ` +
          `(this host allows no shared WebAssembly memory here, so it cannot grow; in a browser, serve the page ` +
          `cross-origin isolated (COOP same-origin, COEP require-corp), or create the backend with a larger fixedMemoryMB)`,
      );
    }
    if (havePages + needPages > MAX_PAGES) {
      throw new RangeError(`WasmBackend: out of memory (${bytes} bytes needed, at most ${MAX_PAGES * PAGE})`);
    }
    const extra = Math.min(Math.max(needPages, havePages >> 1), MAX_PAGES - havePages);
    try {
      this.memory.grow(extra);
    } catch {
      this.memory.grow(needPages);
    }
    this.buf = this.memory.buffer;
    this.bufs.add(this.buf);
  }

  private freeBytes(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error("WasmBackend.free: not an array from this backend's alloc (or freed twice)");
    this.sizes.delete(ptr);
    const fs = this.freeStart, fz = this.freeSize;
    // binary search for the insertion point
    let lo = 0, hi = fs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (fs[mid] < ptr) lo = mid + 1;
      else hi = mid;
    }
    let start = ptr, len = size, at = lo;
    if (at > 0 && fs[at - 1] + fz[at - 1] === start) {
      at--;
      start = fs[at];
      len += fz[at];
      fs.splice(at, 1);
      fz.splice(at, 1);
    }
    if (at < fs.length && start + len === fs[at]) {
      len += fz[at];
      fs.splice(at, 1);
      fz.splice(at, 1);
    }
    if (start + len === this.top) {
      this.top = start; // give the tail back to the heap top
    } else {
      fs.splice(at, 0, start);
      fz.splice(at, 0, len);
    }
  }

  alloc(n: number): Float32Array {
    checkLength(n);
    const ptr = this.allocBytes(n * 4);
    return new Float32Array(this.buf, ptr, n);
  }

  allocIndex(n: number): Int32Array {
    checkLength(n);
    const ptr = this.allocBytes(n * 4);
    return new Int32Array(this.buf, ptr, n);
  }

  free(a: Floats | Int32Array): void {
    this.own(a);
    this.freeBytes(a.byteOffset);
  }

  /** Bytes currently allocated (for tests and diagnostics). */
  get allocatedBytes(): number {
    let s = 0;
    for (const v of this.sizes.values()) s += v;
    return s;
  }

  private own(a: Floats | Int32Array): void {
    const b = a.buffer;
    if (b !== this.buf && !this.bufs.has(b)) {
      throw new Error("WasmBackend: the array was not allocated by this backend (use backend.alloc)");
    }
    if (a.BYTES_PER_ELEMENT !== 4) throw new Error("WasmBackend: float32 arrays only");
  }

  /** The byte address of element `off` of `a`. */
  private p(a: Floats | Int32Array, off: number): number {
    const b = a.buffer;
    if (b !== this.buf && !this.bufs.has(b)) this.own(a);
    return a.byteOffset + off * 4;
  }

  // ---- GEMM ----

  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Floats, aOff: number, lda: number,
    b: Floats, bOff: number, ldb: number,
    beta: number, c: Floats, cOff: number, ldc: number,
  ): void {
    if (m <= 0 || n <= 0) return;
    const pa = this.p(a, aOff), pb = this.p(b, bOff), pc = this.p(c, cOff);
    const tA = transA ? 1 : 0, tB = transB ? 1 : 0;
    if (this.workers.length === 0 || k <= 0 || m * n * k < this.parallelThreshold) {
      this.k.gemm(tA, tB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, this.ws0);
      return;
    }
    this.parallelGemm(tA, tB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
  }

  private parallelGemm(
    tA: number, tB: number, m: number, n: number, k: number, alpha: number,
    pa: number, lda: number, pb: number, ldb: number, beta: number, pc: number, ldc: number,
  ): void {
    // workers that are up and idle (their last job acknowledged); a sleeping one only for big jobs
    const work = m * n * k;
    const now = performance.now();
    const frequent = now - this.lastSplittable < this.spinMs;
    this.lastSplittable = now;
    const ready: WorkerSlot[] = [];
    for (const w of this.workers) {
      const ctl = w.ctl;
      if (Atomics.load(ctl, READY) !== 1 || Atomics.load(ctl, STATUS) === 2) continue;
      if (Atomics.load(ctl, DONE) !== w.seq) continue; // still taking a wake-up call
      if (Atomics.load(ctl, SLEEPING) === 1 && work < this.wakeThreshold) {
        // run this one here; if more are coming, have the worker awake for them
        if (frequent) this.post(w, JOB_WAKE);
        continue;
      }
      ready.push(w);
    }
    // cut the larger of m and n into chunks of whole micro-tiles (8 columns, or 4 rows in the
    // SIMD128 build and 6 in the relaxed one): up to 4 per thread, none under 128 columns / 96 rows
    // (each chunk packs all of the other operand), and at least one per thread
    const byCols = n >= m;
    const unit = byCols ? 8 : this.tileRows;
    const total = byCols ? n : m;
    const units = Math.ceil(total / unit);
    const threads = Math.min(ready.length + 1, units);
    if (threads <= 1) {
      this.k.gemm(tA, tB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, this.ws0);
      return;
    }
    const chunkUnits = Math.min(Math.max(Math.ceil(units / (4 * threads)), byCols ? 16 : Math.ceil(96 / unit)), Math.ceil(units / threads));
    const chunk = chunkUnits * unit;
    const chunks = Math.ceil(total / chunk);
    const counter = this.counter!;
    Atomics.store(counter, 0, 0);
    const posted: WorkerSlot[] = [];
    this.splitGemms++;
    for (let t = 1; t < threads; t++) {
      const w = ready[t - 1];
      const ctl = w.ctl;
      ctl[P] = tA; ctl[P + 1] = tB; ctl[P + 2] = m; ctl[P + 3] = n; ctl[P + 4] = k;
      ctl[P + 5] = pa; ctl[P + 6] = lda; ctl[P + 7] = pb; ctl[P + 8] = ldb; ctl[P + 9] = pc; ctl[P + 10] = ldc;
      ctl[P + 11] = w.ws; w.ctlf[P + 12] = alpha; w.ctlf[P + 13] = beta;
      ctl[P + 14] = byCols ? 1 : 0; ctl[P + 15] = chunk; ctl[P + 16] = chunks;
      this.post(w, JOB_GEMM);
      posted.push(w);
    }
    // this thread claims chunks too
    const t0 = performance.now();
    for (let q = Atomics.add(counter, 0, 1); q < chunks; q = Atomics.add(counter, 0, 1)) {
      const s0 = q * chunk;
      if (byCols) {
        this.k.gemm(tA, tB, m, Math.min(chunk, n - s0), k, alpha, pa, lda, pb + (tB ? s0 * ldb : s0) * 4, ldb, beta,
          pc + s0 * 4, ldc, this.ws0);
      } else {
        this.k.gemm(tA, tB, Math.min(chunk, m - s0), n, k, alpha, pa + (tA ? s0 : s0 * lda) * 4, lda, pb, ldb, beta,
          pc + s0 * ldc * 4, ldc, this.ws0);
      }
    }
    // the workers are on their last chunks: poll for about as long as ours took (at least spinMs), then sleep
    const until = performance.now() + Math.max(this.spinMs, performance.now() - t0);
    let failed = false;
    for (const w of posted) {
      const ctl = w.ctl;
      for (let i = 0; ; i++) {
        const d = Atomics.load(ctl, DONE);
        if (d === w.seq) break;
        if (Atomics.load(ctl, STATUS) === 2) {
          failed = true;
          break;
        }
        if ((i & 255) === 255 && this.canBlock && performance.now() > until) Atomics.wait(ctl, DONE, d, 50);
      }
      if (Atomics.load(ctl, STATUS) === 1) {
        Atomics.store(ctl, STATUS, 0); // reported once
        failed = true;
      }
    }
    if (failed) throw new Error("WasmBackend.gemm: a worker thread failed");
  }

  /** Posts a job (its slots already written) to an idle worker. */
  private post(w: WorkerSlot, kind: number): void {
    w.ctl[KIND] = kind;
    w.seq = (w.seq + 1) | 0;
    Atomics.store(w.ctl, SEQ, w.seq);
    Atomics.notify(w.ctl, SEQ, 1);
  }

  // ---- row and vector kernels ----

  broadcastRows(rows: number, cols: number, v: Floats, vOff: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean): void {
    if (rows <= 0 || cols <= 0) return;
    this.k.broadcastRows(rows, cols, this.p(v, vOff), this.p(dst, dOff), ldd, accumulate ? 1 : 0);
  }

  sumRows(rows: number, cols: number, a: Floats, aOff: number, lda: number, out: Floats, oOff: number): void {
    if (rows <= 0 || cols <= 0) return;
    this.k.sumRows(rows, cols, this.p(a, aOff), lda, this.p(out, oOff));
  }

  gatherRows(
    rows: number, cols: number, idx: Int32Array, idxOff: number,
    src: Floats, sOff: number, lds: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean,
  ): void {
    if (rows <= 0 || cols <= 0) return;
    this.k.gatherRows(rows, cols, this.p(idx, idxOff), this.p(src, sOff), lds, this.p(dst, dOff), ldd, accumulate ? 1 : 0);
  }

  scatterRows(
    rows: number, cols: number, idx: Int32Array, idxOff: number,
    src: Floats, sOff: number, lds: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean,
  ): void {
    if (rows <= 0 || cols <= 0) return;
    this.k.scatterRows(rows, cols, this.p(idx, idxOff), this.p(src, sOff), lds, this.p(dst, dOff), ldd, accumulate ? 1 : 0);
  }

  copy(n: number, src: Floats, sOff: number, dst: Floats, dOff: number): void {
    if (n <= 0) return;
    this.k.copy(n, this.p(src, sOff), this.p(dst, dOff));
  }

  axpy(n: number, alpha: number, src: Floats, sOff: number, dst: Floats, dOff: number): void {
    if (n <= 0) return;
    this.k.axpy(n, alpha, this.p(src, sOff), this.p(dst, dOff));
  }

  zero(n: number, a: Floats, aOff: number): void {
    if (n <= 0) return;
    this.k.zero(n, this.p(a, aOff));
  }

  /** For tests: out[0:n] = exp (fn 0), sigmoid (1) or tanh (2) of x[0:n], as the cell kernels compute them. */
  mathFn(fn: 0 | 1 | 2, n: number, x: Float32Array, xOff: number, out: Float32Array, oOff: number): void {
    if (n <= 0) return;
    this.k.mathFn(fn, n, this.p(x, xOff), this.p(out, oOff));
  }

  // ---- fused cell kernels ----

  rnnForward(n: number, H: number, relu: boolean, pre: Floats, pOff: number, h: Floats, hOff: number): void {
    if (n * H <= 0) return;
    this.k.rnnForward(n * H, relu ? 1 : 0, this.p(pre, pOff), this.p(h, hOff));
  }

  rnnBackward(n: number, H: number, relu: boolean, h: Floats, hOff: number, dh: Floats, dhOff: number, dPre: Floats, dpOff: number): void {
    if (n * H <= 0) return;
    this.k.rnnBackward(n * H, relu ? 1 : 0, this.p(h, hOff), this.p(dh, dhOff), this.p(dPre, dpOff));
  }

  lstmForward(
    n: number, H: number, gates: Floats, gOff: number,
    cPrev: Floats, cpOff: number, c: Floats, cOff: number, h: Floats, hOff: number, hard = false,
  ): void {
    if (n <= 0 || H <= 0) return;
    this.k.lstmForward(n, H, this.p(gates, gOff), this.p(cPrev, cpOff), this.p(c, cOff), this.p(h, hOff), hard ? 1 : 0);
  }

  lstmBackward(
    n: number, H: number, gates: Floats, gOff: number, cPrev: Floats, cpOff: number, c: Floats, cOff: number,
    dh: Floats, dhOff: number, dc: Floats, dcOff: number, dG: Floats, dgOff: number, dcPrev: Floats, dcpOff: number,
    hard = false,
  ): void {
    if (n <= 0 || H <= 0) return;
    this.k.lstmBackward(
      n, H, this.p(gates, gOff), this.p(cPrev, cpOff), this.p(c, cOff),
      this.p(dh, dhOff), this.p(dc, dcOff), this.p(dG, dgOff), this.p(dcPrev, dcpOff), hard ? 1 : 0,
    );
  }

  gruForward(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, h: Floats, hOff: number, hard = false,
  ): void {
    if (n <= 0 || H <= 0) return;
    this.k.gruForward(n, H, this.p(gx, gxOff), this.p(gh, ghOff), this.p(hPrev, hpOff), this.p(act, aOff), this.p(h, hOff), hard ? 1 : 0);
  }

  gruBackward(
    n: number, H: number, act: Floats, aOff: number, gh: Floats, ghOff: number, hPrev: Floats, hpOff: number,
    dh: Floats, dhOff: number, dGx: Floats, dgxOff: number, dGh: Floats, dghOff: number, dhPrev: Floats, dhpOff: number,
    hard = false,
  ): void {
    if (n <= 0 || H <= 0) return;
    this.k.gruBackward(
      n, H, this.p(act, aOff), this.p(gh, ghOff), this.p(hPrev, hpOff), this.p(dh, dhOff),
      this.p(dGx, dgxOff), this.p(dGh, dghOff), this.p(dhPrev, dhpOff), hard ? 1 : 0,
    );
  }

  gruResetBeforeGates(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, rh: Floats, rhOff: number, hard = false,
  ): void {
    if (n <= 0 || H <= 0) return;
    this.k.gruResetBeforeGates(
      n, H, this.p(gx, gxOff), this.p(gh, ghOff), this.p(hPrev, hpOff), this.p(act, aOff), this.p(rh, rhOff), hard ? 1 : 0,
    );
  }

  gruResetBeforeOutput(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, h: Floats, hOff: number,
  ): void {
    if (n <= 0 || H <= 0) return;
    this.k.gruResetBeforeOutput(n, H, this.p(gx, gxOff), this.p(gh, ghOff), this.p(hPrev, hpOff), this.p(act, aOff), this.p(h, hOff));
  }

  gruResetBeforeBackwardOutput(
    n: number, H: number, act: Floats, aOff: number, hPrev: Floats, hpOff: number,
    dh: Floats, dhOff: number, dG: Floats, dgOff: number, dhPrev: Floats, dhpOff: number, hard = false,
  ): void {
    if (n <= 0 || H <= 0) return;
    this.k.gruResetBeforeBackwardOutput(
      n, H, this.p(act, aOff), this.p(hPrev, hpOff), this.p(dh, dhOff), this.p(dG, dgOff), this.p(dhPrev, dhpOff), hard ? 1 : 0,
    );
  }

  gruResetBeforeBackwardGates(
    n: number, H: number, act: Floats, aOff: number, hPrev: Floats, hpOff: number,
    drh: Floats, drhOff: number, dG: Floats, dgOff: number, dhPrev: Floats, dhpOff: number, hard = false,
  ): void {
    if (n <= 0 || H <= 0) return;
    this.k.gruResetBeforeBackwardGates(
      n, H, this.p(act, aOff), this.p(hPrev, hpOff), this.p(drh, drhOff), this.p(dG, dgOff), this.p(dhPrev, dhpOff), hard ? 1 : 0,
    );
  }

  // ---- losses, optimizers and elementwise helpers ----

  softmaxCrossEntropy(
    rows: number, V: number, logits: Floats, lOff: number, targets: Int32Array, tOff: number,
    ignoreIndex: number, scale: number, dLogits: Floats, dOff: number,
  ): number {
    if (rows <= 0 || V <= 0) return 0;
    return this.k.softmaxCrossEntropy(
      rows, V, this.p(logits, lOff), this.p(targets, tOff), ignoreIndex, scale, this.p(dLogits, dOff),
    );
  }

  softmax(rows: number, V: number, temperature: number, x: Floats, xOff: number, out: Floats, oOff: number): void {
    if (rows <= 0 || V <= 0) return;
    this.k.softmax(rows, V, temperature, this.p(x, xOff), this.p(out, oOff));
  }

  mse(
    n: number, p: Floats, pOff: number, t: Floats, tOff: number, w: Floats | null, wOff: number,
    scale: number, grad: Floats, gOff: number,
  ): number {
    if (n <= 0) return 0;
    return this.k.mse(n, this.p(p, pOff), this.p(t, tOff), w ? this.p(w, wOff) : 0, w ? 1 : 0, scale, this.p(grad, gOff));
  }

  bceWithLogits(
    n: number, x: Floats, xOff: number, t: Floats, tOff: number, w: Floats | null, wOff: number,
    scale: number, grad: Floats, gOff: number,
  ): number {
    if (n <= 0) return 0;
    return this.k.bceWithLogits(n, this.p(x, xOff), this.p(t, tOff), w ? this.p(w, wOff) : 0, w ? 1 : 0, scale, this.p(grad, gOff));
  }

  sumSquares(n: number, a: Floats, aOff: number): number {
    if (n <= 0) return 0;
    return this.k.sumSquares(n, this.p(a, aOff));
  }

  scale(n: number, alpha: number, a: Floats, aOff: number): void {
    if (n <= 0) return;
    this.k.scale(n, alpha, this.p(a, aOff));
  }

  mul(n: number, a: Floats, aOff: number, b: Floats, bOff: number, out: Floats, oOff: number): void {
    if (n <= 0) return;
    this.k.mul(n, this.p(a, aOff), this.p(b, bOff), this.p(out, oOff));
  }

  sgdStep(
    n: number, p: Floats, g: Floats, buf: Floats, lr: number, momentum: number, nesterov: boolean,
    weightDecay: number, first: boolean,
  ): void {
    if (n <= 0) return;
    // buf is only touched with momentum
    this.k.sgdStep(
      n, this.p(p, 0), this.p(g, 0), momentum !== 0 ? this.p(buf, 0) : 0, lr, momentum, nesterov ? 1 : 0,
      weightDecay, first ? 1 : 0,
    );
  }

  adamStep(
    n: number, p: Floats, g: Floats, m: Floats, v: Floats, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, decoupled: boolean, step: number,
  ): void {
    if (n <= 0) return;
    const bc1 = 1 - Math.pow(beta1, step);
    const bc2 = 1 - Math.pow(beta2, step);
    this.k.adamStep(
      n, this.p(p, 0), this.p(g, 0), this.p(m, 0), this.p(v, 0), lr, beta1, beta2, eps, weightDecay,
      decoupled ? 1 : 0, bc1, bc2,
    );
  }

  rmspropStep(n: number, p: Floats, g: Floats, s: Floats, lr: number, alpha: number, eps: number, weightDecay: number): void {
    if (n <= 0) return;
    this.k.rmspropStep(n, this.p(p, 0), this.p(g, 0), this.p(s, 0), lr, alpha, eps, weightDecay);
  }

  adagradStep(n: number, p: Floats, g: Floats, s: Floats, lr: number, eps: number, weightDecay: number): void {
    if (n <= 0) return;
    this.k.adagradStep(n, this.p(p, 0), this.p(g, 0), this.p(s, 0), lr, eps, weightDecay);
  }

  /** For tests: the double-precision log the softmax cross-entropy uses. */
  log64(x: number): number {
    return this.k.logf64(x);
  }
}

function checkLength(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`WasmBackend.alloc: expected a length >= 0, got ${n}`);
}

function roundUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
