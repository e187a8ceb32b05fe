// rnnkit WebAssembly SIMD kernels (AssemblyScript).
//
// This file is AssemblyScript, not TypeScript: it is named `.as` so that `tsc` (which includes
// src/**/*.ts) never sees it. scripts/build-wasm.mjs compiles it with the AssemblyScript compiler
// into dist/src/backend/wasm/kernels.wasm (runtime "stub": no managed objects, no heap, no data
// segments; the memory is imported, shared, and managed from JavaScript, see ../wasm.ts). Worker
// threads instantiate the same module on the same memory; the JavaScript side calls init() once to
// write the table of math constants (see K below) and hands each thread its own GEMM workspace.
//
// Every pointer argument is a byte address into the shared memory; every size, offset and leading
// dimension is counted in elements (f32 or i32). The JavaScript side guarantees that at least 64
// readable bytes follow the last allocated byte of memory: the pointwise kernels read whole
// 16-byte vectors at the end of a row (and only write the lanes that belong to the row).

// ---------------------------------------------------------------------------------------------
// One source, two builds (scripts/build-wasm.mjs): kernels.wasm with SIMD128 only, and
// kernels-relaxed.wasm built with `--enable relaxed-simd`, where ASC_FEATURE_RELAXED_SIMD is true.
// The helpers below (madd, nmadd, vselect) pick their instruction at compile time. In the SIMD128
// build they are the plain mul-then-add (two roundings) the kernels always used; only the order
// of some commutative adds' operands moved, which changes no result (IEEE addition commutes; at
// most a NaN's payload, which nothing reads). In the relaxed build they are f32x4.relaxed_madd /
// relaxed_nmadd (WebAssembly relaxed-simd proposal, Overview.md, "Relaxed fused multiply-add"):
// fused (one rounding) where the CPU has FMA, unfused where it has not; the kernels rely on
// neither, every use is one whose result is within rounding of both. They serve the GEMM
// micro-kernels, the exp/tanh/log polynomials, the cell kernels and the losses; the optimizer
// steps (memory-bound) keep mul-then-add. relaxed_min/max are not used: their result for NaN and
// +-0 is implementation-defined, and the kernels propagate NaN as the js reference does.
// ---------------------------------------------------------------------------------------------

/** a * b + c, lane-wise (fused or not in the relaxed build, see above). */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** c - a * b, lane-wise (fused or not in the relaxed build). */
// @ts-ignore: decorator
@inline function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(a, b, c);
  return f32x4.sub(c, f32x4.mul(a, b));
}

/**
 * Lanes of a where mask is set, of b where it is clear; mask must be a lane comparison (all ones
 * or all zeros per lane), for which relaxed_laneselect equals v128.bitselect (one blend on x86
 * instead of and/andnot/or).
 */
// @ts-ignore: decorator
@inline function vselect(a: v128, b: v128, mask: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_laneselect(a, b, mask);
  return v128.bitselect(a, b, mask);
}

// ---------------------------------------------------------------------------------------------
// GEMM: C = alpha * op(A) * op(B) + beta * C, row-major, BLIS-style blocking.
//   jc (NC columns of C) -> pc (KC of k, pack B panel) -> ic (MC rows, pack A block)
//     -> jr (NR-wide B sliver, kept in L1) -> ir (MR-tall A sliver) -> MRx8 micro-kernel.
// Packed A holds alpha * A. Edges are zero-padded in the packs; partial tiles are written back
// through a small scratch tile. With few rows (m <= 8, e.g. a batch-1 recurrent step) B is not
// packed but read in place (gemmSmallM).
// ---------------------------------------------------------------------------------------------

// MR: 4 rows in the SIMD128 build, 6 in the relaxed one. A fused multiply-add has a 4-cycle
// latency and issues on 2-3 ports, so 8 accumulator chains (4x8) leave the FMA units idle part of
// the time, while SIMD128's chain is only the 2-cycle add of a mul-then-add; 12 chains (6x8) fill
// them, and 12 accumulators + 2 B vectors + 1 A splat still fit V8's 15 allocatable xmm registers.
// Measured on the micro-kernel loop alone in Chromium 150 (Sapphire Rapids, one core): 4x8
// mul+add 43, 4x8 FMA 48, 6x8 FMA 58 GFLOP/s.
const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;
/** Bytes of one packed column (one p) of an MR-tall A sliver. */
const MRB: usize = <usize>(MR * 4);
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 192;
const NC: i32 = 2048;

const AP_BYTES: usize = <usize>(MC * KC * 4);
const BP_BYTES: usize = <usize>(KC * NC * 4);
const TMP_BYTES: usize = <usize>(MR * NR * 4);

/** Rows of the micro-kernel's tile: a parallel GEMM splits rows in multiples of it (wasm.ts). */
export function gemmTileRows(): i32 {
  return MR;
}

/** Bytes of scratch one gemm call needs (one workspace per thread). */
export function gemmWorkspaceBytes(): i32 {
  return <i32>(AP_BYTES + BP_BYTES + TMP_BYTES);
}

/** The end of the module's static data: JavaScript allocates above it. */
export function heapBase(): usize {
  return __heap_base;
}

// write-back modes of a C tile
const SET: i32 = 0; // C = acc           (first k block, beta == 0: old C ignored, even NaN)
const ADD: i32 = 1; // C = C + acc       (later k blocks, or beta == 1)
const SCALE: i32 = 2; // C = beta*C + acc (first k block, other beta)

// @ts-ignore: decorator
@inline function transpose4(
  r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize, scale: v128,
): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.mul(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), scale));
  v128.store(dst + stride, f32x4.mul(v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), scale));
  v128.store(dst + 2 * stride, f32x4.mul(v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), scale));
  v128.store(dst + 3 * stride, f32x4.mul(v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), scale));
}

/**
 * Packs the kc x nc panel of op(B) starting at (pc, jc) into NR-wide slivers:
 * bp[(j/NR)*kc*NR + p*NR + j%NR] = op(B)(pc+p, jc+j), zero beyond nc.
 */
function packB(transB: i32, b: usize, ldb: usize, pc: i32, jc: i32, kc: i32, nc: i32, bp: usize): void {
  const one = K(K_ONE);
  const ldb4 = ldb << 2;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min(NR, nc - j0);
    const dst = bp + ((<usize>j0 * <usize>kc) << 2);
    if (transB) {
      // op(B)(p, j) = b[j*ldb + p]: rows of b are the columns of op(B); transpose 4x4 blocks
      const src = b + ((<usize>(jc + j0) * ldb + <usize>pc) << 2);
      if (nr == NR) {
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const s = src + (<usize>p << 2);
          const d = dst + (<usize>p << 5);
          transpose4(
            v128.load(s), v128.load(s + ldb4), v128.load(s + 2 * ldb4), v128.load(s + 3 * ldb4),
            d, 32, one,
          );
          const s4 = s + 4 * ldb4;
          transpose4(
            v128.load(s4), v128.load(s4 + ldb4), v128.load(s4 + 2 * ldb4), v128.load(s4 + 3 * ldb4),
            d + 16, 32, one,
          );
        }
        for (; p < kc; p++) {
          const s = src + (<usize>p << 2);
          const d = dst + (<usize>p << 5);
          for (let jj = 0; jj < NR; jj++) store<f32>(d + (<usize>jj << 2), load<f32>(s + <usize>jj * ldb4));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const s = src + (<usize>p << 2);
          const d = dst + (<usize>(p * NR) << 2);
          for (let jj = 0; jj < NR; jj++) {
            store<f32>(d + (<usize>jj << 2), jj < nr ? load<f32>(s + <usize>jj * ldb4) : <f32>0);
          }
        }
      }
    } else {
      // op(B)(p, j) = b[p*ldb + j]: contiguous rows
      const src = b + ((<usize>pc * ldb + <usize>(jc + j0)) << 2);
      if (nr == NR) {
        for (let p = 0; p < kc; p++) {
          const s = src + <usize>p * ldb4;
          const d = dst + (<usize>p << 5);
          v128.store(d, v128.load(s));
          v128.store(d, v128.load(s, 16), 16);
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const s = src + <usize>p * ldb4;
          const d = dst + (<usize>(p * NR) << 2);
          for (let jj = 0; jj < NR; jj++) {
            store<f32>(d + (<usize>jj << 2), jj < nr ? load<f32>(s + (<usize>jj << 2)) : <f32>0);
          }
        }
      }
    }
  }
}

/**
 * Packs alpha * the mc x kc block of op(A) starting at (ic, pc) into MR-tall slivers:
 * ap[(i/MR)*kc*MR + p*MR + i%MR] = alpha * op(A)(ic+i, pc+p), zero beyond mc.
 */
function packA(transA: i32, a: usize, lda: usize, ic: i32, pc: i32, mc: i32, kc: i32, alpha: f32, ap: usize): void {
  const va = f32x4.splat(alpha);
  const lda4 = lda << 2;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const mr = min(MR, mc - i0);
    const dst = ap + ((<usize>i0 * <usize>kc) << 2);
    if (!transA) {
      // op(A)(i, p) = a[i*lda + p]: transpose 4x4 blocks of 4 rows (and 2x4 of rows 4, 5 when MR is 6)
      const src = a + ((<usize>(ic + i0) * lda + <usize>pc) << 2);
      if (mr == MR) {
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const s = src + (<usize>p << 2);
          const d = dst + <usize>p * MRB;
          transpose4(
            v128.load(s), v128.load(s + lda4), v128.load(s + 2 * lda4), v128.load(s + 3 * lda4),
            d, MRB, va,
          );
          if (MR == 6) {
            const r4 = f32x4.mul(v128.load(s + 4 * lda4), va), r5 = f32x4.mul(v128.load(s + 5 * lda4), va);
            const t0 = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7);
            v128.store64_lane(d + 16, t0, 0);
            v128.store64_lane(d + MRB + 16, t0, 1);
            v128.store64_lane(d + 2 * MRB + 16, t1, 0);
            v128.store64_lane(d + 3 * MRB + 16, t1, 1);
          }
        }
        for (; p < kc; p++) {
          const s = src + (<usize>p << 2);
          const d = dst + <usize>p * MRB;
          for (let ii = 0; ii < MR; ii++) store<f32>(d + (<usize>ii << 2), alpha * load<f32>(s + <usize>ii * lda4));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const s = src + (<usize>p << 2);
          const d = dst + <usize>p * MRB;
          for (let ii = 0; ii < MR; ii++) {
            store<f32>(d + (<usize>ii << 2), ii < mr ? alpha * load<f32>(s + <usize>ii * lda4) : <f32>0);
          }
        }
      }
    } else {
      // op(A)(i, p) = a[p*lda + i]: MR contiguous values per p
      const src = a + ((<usize>pc * lda + <usize>(ic + i0)) << 2);
      if (mr == MR) {
        for (let p = 0; p < kc; p++) {
          const s = src + <usize>p * lda4;
          const d = dst + <usize>p * MRB;
          v128.store(d, f32x4.mul(v128.load(s), va));
          if (MR == 6) v128.store64_lane(d + 16, f32x4.mul(v128.load64_zero(s + 16), va), 0);
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const s = src + <usize>p * lda4;
          const d = dst + <usize>p * MRB;
          for (let ii = 0; ii < MR; ii++) {
            store<f32>(d + (<usize>ii << 2), ii < mr ? alpha * load<f32>(s + (<usize>ii << 2)) : <f32>0);
          }
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function writeRow(cr: usize, x0: v128, x1: v128, mode: i32, vb: v128): void {
  if (mode == SET) {
    v128.store(cr, x0);
    v128.store(cr, x1, 16);
  } else if (mode == ADD) {
    v128.store(cr, f32x4.add(v128.load(cr), x0));
    v128.store(cr, f32x4.add(v128.load(cr, 16), x1), 16);
  } else {
    v128.store(cr, madd(v128.load(cr), vb, x0));
    v128.store(cr, madd(v128.load(cr, 16), vb, x1), 16);
  }
}

/**
 * The micro-kernel: C[0:mr, 0:nr] (mode)= sum_p ap[p, 0:rows]^T bp[p, 0:8], rows = 6 when `six`
 * (the relaxed build's MR) else 4; consecutive p of the A sliver are MRB bytes apart, those of B
 * `bstride` bytes (32 for a packed sliver, the row stride when B is read in place). Inlined with a
 * constant `six` into kernelTile and kernelTile4, so the tests of `six` are compile-time.
 */
// @ts-ignore: decorator
@inline function tile(
  kc: i32, ap: usize, bp: usize, bstride: usize, c: usize, ldc4: usize, mr: i32, nr: i32, mode: i32, beta: f32, tmp: usize,
  six: bool,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0), c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  let pa = ap, pb = bp;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(pa, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(pa, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(pa, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    if (six) {
      av = v128.load32_splat(pa, 16);
      c40 = madd(av, b0, c40);
      c41 = madd(av, b1, c41);
      av = v128.load32_splat(pa, 20);
      c50 = madd(av, b0, c50);
      c51 = madd(av, b1, c51);
    }
    pa += MRB;
    pb += bstride;
  }
  const vb = f32x4.splat(beta);
  if (mr == (six ? 6 : 4) && nr == NR) {
    writeRow(c, c00, c01, mode, vb);
    writeRow(c + ldc4, c10, c11, mode, vb);
    writeRow(c + 2 * ldc4, c20, c21, mode, vb);
    writeRow(c + 3 * ldc4, c30, c31, mode, vb);
    if (six) {
      writeRow(c + 4 * ldc4, c40, c41, mode, vb);
      writeRow(c + 5 * ldc4, c50, c51, mode, vb);
    }
    return;
  }
  v128.store(tmp, c00);
  v128.store(tmp, c01, 16);
  v128.store(tmp, c10, 32);
  v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64);
  v128.store(tmp, c21, 80);
  v128.store(tmp, c30, 96);
  v128.store(tmp, c31, 112);
  if (six) {
    v128.store(tmp, c40, 128);
    v128.store(tmp, c41, 144);
    v128.store(tmp, c50, 160);
    v128.store(tmp, c51, 176);
  }
  for (let r = 0; r < mr; r++) {
    const cr = c + <usize>r * ldc4;
    const tr = tmp + (<usize>(r * NR) << 2);
    for (let j = 0; j < nr; j++) {
      const q = cr + (<usize>j << 2);
      const v = load<f32>(tr + (<usize>j << 2));
      if (mode == SET) store<f32>(q, v);
      else if (mode == ADD) store<f32>(q, load<f32>(q) + v);
      else store<f32>(q, beta * load<f32>(q) + v);
    }
  }
}

/** The MRx8 micro-kernel (see tile). */
function kernelTile(
  kc: i32, ap: usize, bp: usize, bstride: usize, c: usize, ldc4: usize, mr: i32, nr: i32, mode: i32, beta: f32, tmp: usize,
): void {
  tile(kc, ap, bp, bstride, c, ldc4, mr, nr, mode, beta, tmp, MR == 6);
}

/**
 * The 4x8 micro-kernel on the first 4 rows of an MR-tall sliver: the relaxed build's last sliver
 * when it has at most 4 rows (m = 32 = 5*6 + 2, 64 = 10*6 + 4), which a 6-row tile would half waste.
 */
function kernelTile4(
  kc: i32, ap: usize, bp: usize, bstride: usize, c: usize, ldc4: usize, mr: i32, nr: i32, mode: i32, beta: f32, tmp: usize,
): void {
  tile(kc, ap, bp, bstride, c, ldc4, mr, nr, mode, beta, tmp, false);
}

/** C tile at (ir, jr): the MR-row micro-kernel, or the 4-row one for a short last sliver. */
// @ts-ignore: decorator
@inline function microKernel(
  kc: i32, ap: usize, bp: usize, bstride: usize, c: usize, ldc4: usize, mr: i32, nr: i32, mode: i32, beta: f32, tmp: usize,
): void {
  if (MR == 6 && mr <= 4) kernelTile4(kc, ap, bp, bstride, c, ldc4, mr, nr, mode, beta, tmp);
  else kernelTile(kc, ap, bp, bstride, c, ldc4, mr, nr, mode, beta, tmp);
}

/** C[0:m, 0:n] *= beta (beta == 0 writes zeros, ignoring NaN). */
function scaleC(m: i32, n: i32, beta: f32, c: usize, ldc: usize): void {
  if (beta == 1) return;
  const ldc4 = ldc << 2;
  const row = <usize>n << 2;
  if (beta == 0) {
    for (let i = 0; i < m; i++) memory.fill(c + <usize>i * ldc4, 0, row);
    return;
  }
  const vb = f32x4.splat(beta);
  for (let i = 0; i < m; i++) {
    const cr = c + <usize>i * ldc4;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const q = cr + (<usize>j << 2);
      v128.store(q, f32x4.mul(v128.load(q), vb));
    }
    for (; j < n; j++) {
      const q = cr + (<usize>j << 2);
      store<f32>(q, beta * load<f32>(q));
    }
  }
}

/**
 * C = alpha * op(A) op(B) + beta * C. op(A) is [m, k], op(B) is [k, n], C is [m, n] (row stride ldc).
 * `ws` is a workspace of gemmWorkspaceBytes() bytes, private to the calling thread.
 */
export function gemm(
  transA: i32, transB: i32, m: i32, n: i32, k: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, ws: usize,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0) {
    scaleC(m, n, beta, c, <usize>ldc);
    return;
  }
  const apBuf = ws;
  const bpBuf = ws + AP_BYTES;
  const tmp = bpBuf + BP_BYTES;
  const ldc4 = <usize>ldc << 2;
  if (m <= SMALL_M && k <= SMALL_M_MAX_K) {
    gemmSmallM(transA, transB, m, n, k, alpha, a, <usize>lda, b, <usize>ldb, beta, c, ldc4, apBuf, bpBuf, tmp);
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packB(transB, b, <usize>ldb, pc, jc, kc, nc, bpBuf);
      const mode = pc > 0 ? ADD : beta == 0 ? SET : beta == 1 ? ADD : SCALE;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(transA, a, <usize>lda, ic, pc, mc, kc, alpha, apBuf);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const bs = bpBuf + ((<usize>jr * <usize>kc) << 2);
          const cj = c + ((<usize>ic * <usize>ldc + <usize>(jc + jr)) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            microKernel(
              kc, apBuf + ((<usize>ir * <usize>kc) << 2), bs, 32, cj + <usize>ir * ldc4, ldc4, mr, nr, mode, beta, tmp,
            );
          }
        }
      }
    }
  }
}

// Few rows (batch-1..8 recurrent steps): B is read where it lies instead of being packed, since each
// element of B is used only m times.
const SMALL_M: i32 = 8;
// the packed rows of A (SMALL_M rounded up to whole tiles) times k must fit the A pack buffer
const SMALL_M_MAX_K: i32 = MC * KC / (((SMALL_M + MR - 1) / MR) * MR);

function gemmSmallM(
  transA: i32, transB: i32, m: i32, n: i32, k: i32, alpha: f32, a: usize, lda: usize, b: usize, ldb: usize,
  beta: f32, c: usize, ldc4: usize, apBuf: usize, bpBuf: usize, tmp: usize,
): void {
  const mode = beta == 0 ? SET : beta == 1 ? ADD : SCALE;
  if (!transB) {
    // op(B) rows are contiguous: the micro-kernel streams 8-column strips of B in place
    packA(transA, a, lda, 0, 0, m, k, alpha, apBuf);
    const ldb4 = ldb << 2;
    for (let jr = 0; jr < n; jr += NR) {
      const nr = min(NR, n - jr);
      let bs = b + (<usize>jr << 2);
      let bstride = ldb4;
      if (nr < NR) {
        packB(0, b, ldb, 0, jr, k, nr, bpBuf); // the last, partial strip, zero-padded
        bs = bpBuf;
        bstride = 32;
      }
      for (let ir = 0; ir < m; ir += MR) {
        microKernel(
          k, apBuf + ((<usize>ir * <usize>k) << 2), bs, bstride, c + <usize>ir * ldc4 + (<usize>jr << 2), ldc4,
          min(MR, m - ir), nr, mode, beta, tmp,
        );
      }
    }
    return;
  }
  // op(B) = B^T, B stored [n, k]: C[i, j] = dot(alpha A(i, :), B[j, :]), both contiguous in k.
  // Rows of alpha*op(A) are copied to apBuf first (m*k floats).
  const k4 = <usize>k << 2;
  for (let i = 0; i < m; i++) {
    const d = apBuf + <usize>i * k4;
    if (!transA) {
      const s = a + ((<usize>i * lda) << 2);
      for (let p = 0; p < k; p += 4) {
        const o = <usize>p << 2;
        st(d + o, f32x4.mul(ld(s + o), f32x4.splat(alpha)), k - p);
      }
    } else {
      const s = a + (<usize>i << 2);
      const lda4 = lda << 2;
      for (let p = 0; p < k; p++) store<f32>(d + (<usize>p << 2), alpha * load<f32>(s + <usize>p * lda4));
    }
  }
  const ldb4 = ldb << 2;
  const vb = f32x4.splat(beta);
  const k4e = k & ~3;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const b0 = b + <usize>j * ldb4, b1 = b0 + ldb4, b2 = b1 + ldb4, b3 = b2 + ldb4;
    for (let i = 0; i < m; i++) {
      const ar = apBuf + <usize>i * k4;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let p = 0; p < k4e; p += 4) {
        const o = <usize>p << 2;
        const av = ld(ar + o);
        s0 = madd(av, ld(b0 + o), s0);
        s1 = madd(av, ld(b1 + o), s1);
        s2 = madd(av, ld(b2 + o), s2);
        s3 = madd(av, ld(b3 + o), s3);
      }
      // [sum s0, sum s1, sum s2, sum s3]
      const t0 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), v128.shuffle<f32>(s0, s1, 2, 6, 3, 7));
      const t1 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 1, 5), v128.shuffle<f32>(s2, s3, 2, 6, 3, 7));
      let r = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
      if (k4e < k) {
        let e0: f32 = 0, e1: f32 = 0, e2: f32 = 0, e3: f32 = 0;
        for (let p = k4e; p < k; p++) {
          const o = <usize>p << 2;
          const av = load<f32>(ar + o);
          e0 += av * load<f32>(b0 + o);
          e1 += av * load<f32>(b1 + o);
          e2 += av * load<f32>(b2 + o);
          e3 += av * load<f32>(b3 + o);
        }
        r = f32x4.add(r, f32x4(e0, e1, e2, e3));
      }
      const q = c + <usize>i * ldc4 + (<usize>j << 2);
      if (mode == SET) v128.store(q, r);
      else if (mode == ADD) v128.store(q, f32x4.add(ld(q), r));
      else v128.store(q, madd(ld(q), vb, r));
    }
  }
  for (; j < n; j++) {
    const bj = b + <usize>j * ldb4;
    for (let i = 0; i < m; i++) {
      const ar = apBuf + <usize>i * k4;
      let sv = f32x4.splat(0);
      for (let p = 0; p < k4e; p += 4) {
        const o = <usize>p << 2;
        sv = madd(ld(ar + o), ld(bj + o), sv);
      }
      let r = (f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 1)) + (f32x4.extract_lane(sv, 2) + f32x4.extract_lane(sv, 3));
      for (let p = k4e; p < k; p++) r += load<f32>(ar + (<usize>p << 2)) * load<f32>(bj + (<usize>p << 2));
      const q = c + <usize>i * ldc4 + (<usize>j << 2);
      if (mode == SET) store<f32>(q, r);
      else if (mode == ADD) store<f32>(q, load<f32>(q) + r);
      else store<f32>(q, beta * load<f32>(q) + r);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise helpers
// ---------------------------------------------------------------------------------------------

/** Stores the first `cnt` lanes of v (all four when cnt >= 4). */
// @ts-ignore: decorator
@inline function st(p: usize, v: v128, cnt: i32): void {
  if (cnt >= 4) {
    v128.store(p, v);
  } else {
    v128.store32_lane(p, v, 0);
    if (cnt > 1) v128.store32_lane(p, v, 1, 4);
    if (cnt > 2) v128.store32_lane(p, v, 2, 8);
  }
}

// @ts-ignore: decorator
@inline function ld(p: usize): v128 {
  return v128.load(p);
}

// The constants of the math helpers live in a table in memory (written by init()): V8 rebuilds a
// v128.const at every use inside a loop, and binaryen folds hoisted constant locals back into the
// loops, so the helpers load them instead (~25% faster). K(i) is entry i, 16 bytes each.
let KTAB: usize = 0;
// @ts-ignore: decorator
@inline function K(i: i32): v128 {
  return v128.load(KTAB + (<usize>i << 4));
}
const K_EXP_HI = 0, K_EXP_LO = 1, K_LOG2E = 2, K_MAGIC = 3, K_LN2_HI = 4, K_LN2_LO = 5;
const K_EP0 = 6; // exp polynomial, 6 coefficients: 6..11
const K_ONE = 12, K_EXP_BIAS = 13, K_SIGN = 14, K_ZERO = 15, K_HALF = 16;
const K_TANH_CLAMP = 17, K_TANH_TINY = 18, K_TANH_SAT = 19;
const K_TA1 = 20; // tanh numerator, odd powers 1..13: 20..26
const K_TB0 = 27; // tanh denominator, even powers 0..6: 27..30
const K_SQRTHF = 31, K_MANT = 32, K_HALF_EXP = 33, K_I126 = 34;
const K_LP0 = 35; // log polynomial, 9 coefficients: 35..43
const K_FIFTH = 44; // the hard sigmoid's slope
const K_COUNT = 45;

/** Bytes of the constants table. */
export function constantsBytes(): i32 {
  return K_COUNT * 16;
}

function kf(table: usize, i: i32, v: f32): void {
  v128.store(table + (<usize>i << 4), f32x4.splat(v));
}

function ki(table: usize, i: i32, v: i32): void {
  v128.store(table + (<usize>i << 4), i32x4.splat(v));
}

/** Points the helpers at the table at `table` and, when `write`, fills it (once, before use). */
export function init(table: usize, write: i32): void {
  KTAB = table;
  if (!write) return;
  kf(table, K_EXP_HI, 88.0);
  kf(table, K_EXP_LO, -87.0);
  kf(table, K_LOG2E, 1.44269504088896341);
  kf(table, K_MAGIC, 12582912.0); // 1.5 * 2^23
  kf(table, K_LN2_HI, 0.693359375);
  kf(table, K_LN2_LO, -2.12194440e-4);
  kf(table, K_EP0, 1.9875691500e-4);
  kf(table, K_EP0 + 1, 1.3981999507e-3);
  kf(table, K_EP0 + 2, 8.3334519073e-3);
  kf(table, K_EP0 + 3, 4.1665795894e-2);
  kf(table, K_EP0 + 4, 1.6666665459e-1);
  kf(table, K_EP0 + 5, 5.0000001201e-1);
  kf(table, K_ONE, 1.0);
  ki(table, K_EXP_BIAS, 127 - 0x4b400000);
  ki(table, K_SIGN, 0x80000000);
  kf(table, K_SQRTHF, 0.707106781186547524);
  ki(table, K_MANT, 0x007fffff);
  ki(table, K_HALF_EXP, 0x3f000000);
  ki(table, K_I126, 126);
  kf(table, K_HALF, 0.5);
  kf(table, K_FIFTH, 0.2);
  kf(table, K_LP0, 7.0376836292e-2);
  kf(table, K_LP0 + 1, -1.1514610310e-1);
  kf(table, K_LP0 + 2, 1.1676998740e-1);
  kf(table, K_LP0 + 3, -1.2420140846e-1);
  kf(table, K_LP0 + 4, 1.4249322787e-1);
  kf(table, K_LP0 + 5, -1.6668057665e-1);
  kf(table, K_LP0 + 6, 2.0000714765e-1);
  kf(table, K_LP0 + 7, -2.4999993993e-1);
  kf(table, K_LP0 + 8, 3.3333331174e-1);
  kf(table, K_ZERO, 0.0);
  kf(table, K_TANH_CLAMP, 7.90531110763549805);
  kf(table, K_TANH_TINY, 0.0004);
  kf(table, K_TANH_SAT, 9.02); // float32 tanh is exactly +-1 from 9.011 on
  kf(table, K_TA1, 4.89352455891786e-3);
  kf(table, K_TA1 + 1, 6.37261928875436e-4);
  kf(table, K_TA1 + 2, 1.48572235717979e-5);
  kf(table, K_TA1 + 3, 5.12229709037114e-8);
  kf(table, K_TA1 + 4, -8.60467152213735e-11);
  kf(table, K_TA1 + 5, 2.00018790482477e-13);
  kf(table, K_TA1 + 6, -2.76076847742355e-16);
  kf(table, K_TB0, 4.89352518554385e-3);
  kf(table, K_TB0 + 1, 2.26843463243900e-3);
  kf(table, K_TB0 + 2, 1.18534705686654e-4);
  kf(table, K_TB0 + 3, 1.19825839466702e-6);
}

// Cephes expf: exp(x) = 2^n * exp(r), r = x - n ln2 (in two parts), degree-6 polynomial in r.
// x is clamped to [-87, 88] so that 2^n stays a normal float: exp(88) = 1.65e38, exp(-87) = 1.6e-38.
// Relative error about 2 ulp. NaN propagates.
// @ts-ignore: decorator
@inline function vexp(x0: v128): v128 {
  // pmin/pmax keep x when it is NaN
  const x1 = f32x4.pmax(f32x4.pmin(x0, K(K_EXP_HI)), K(K_EXP_LO));
  // t = x log2(e) + 1.5 2^23 rounds to an integer n, which sits in t's low mantissa bits
  // (fused or not, t is an integer + 1.5 2^23 within an ulp of x log2(e), and r below stays small)
  const t = madd(x1, K(K_LOG2E), K(K_MAGIC));
  const fx = f32x4.sub(t, K(K_MAGIC));
  let x = nmadd(fx, K(K_LN2_HI), x1);
  x = nmadd(fx, K(K_LN2_LO), x);
  const z = f32x4.mul(x, x);
  let y = K(K_EP0);
  y = madd(y, x, K(K_EP0 + 1));
  y = madd(y, x, K(K_EP0 + 2));
  y = madd(y, x, K(K_EP0 + 3));
  y = madd(y, x, K(K_EP0 + 4));
  y = madd(y, x, K(K_EP0 + 5));
  y = f32x4.add(madd(y, z, x), K(K_ONE));
  // 2^n = (n + 127) << 23 = (bits(t) - bits(1.5 2^23) + 127) << 23
  return f32x4.mul(y, i32x4.shl(i32x4.add(t, K(K_EXP_BIAS)), 23));
}

/** 1 / (1 + exp(-x)); sigmoid(-100) ~ 6e-39, sigmoid(100) = 1. */
// @ts-ignore: decorator
@inline function vsigmoid(x: v128): v128 {
  const one = K(K_ONE);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

/**
 * tanh as a rational function (Eigen's float tanh: odd degree-13 over even degree-6 polynomial on
 * x clamped to +-7.905; relative error < 4e-7), x itself for |x| < 4e-4, and exactly +-1 for |x| >= 9.02.
 */
// @ts-ignore: decorator
@inline function vtanh(x0: v128): v128 {
  const ax = f32x4.abs(x0);
  const x = f32x4.pmax(f32x4.pmin(x0, K(K_TANH_CLAMP)), f32x4.neg(K(K_TANH_CLAMP)));
  const x2 = f32x4.mul(x, x);
  let p = K(K_TA1 + 6);
  p = madd(p, x2, K(K_TA1 + 5));
  p = madd(p, x2, K(K_TA1 + 4));
  p = madd(p, x2, K(K_TA1 + 3));
  p = madd(p, x2, K(K_TA1 + 2));
  p = madd(p, x2, K(K_TA1 + 1));
  p = f32x4.mul(madd(p, x2, K(K_TA1)), x);
  let q = K(K_TB0 + 3);
  q = madd(q, x2, K(K_TB0 + 2));
  q = madd(q, x2, K(K_TB0 + 1));
  q = madd(q, x2, K(K_TB0));
  let r = f32x4.div(p, q);
  r = vselect(x0, r, f32x4.lt(ax, K(K_TANH_TINY)));
  const unit = v128.or(K(K_ONE), v128.and(x0, K(K_SIGN)));
  return vselect(unit, r, f32x4.ge(ax, K(K_TANH_SAT)));
}

// The gate nonlinearity of LSTM and GRU: the logistic sigmoid, or (hard != 0) the hard sigmoid of
// Keras 2 and TensorFlow.js, max(0, min(1, 0.2 x + 0.5)) (tf.layers' default recurrentActivation).
// Its derivative, from the gate's value a: a (1 - a), or 0.2 where 0 < a < 1 and 0 where clipped.
// f32x4.min/max propagate NaN, as Math.min/max do in the js backend.
// @ts-ignore: decorator
@inline function vgate(x: v128, hard: i32): v128 {
  if (!hard) return vsigmoid(x);
  return f32x4.min(K(K_ONE), f32x4.max(K(K_ZERO), madd(K(K_FIFTH), x, K(K_HALF))));
}

// @ts-ignore: decorator
@inline function vdgate(a: v128, hard: i32): v128 {
  if (!hard) return f32x4.mul(a, f32x4.sub(K(K_ONE), a));
  return v128.and(v128.and(f32x4.gt(a, K(K_ZERO)), f32x4.lt(a, K(K_ONE))), K(K_FIFTH));
}

/** out[0:n] = gate(x[0:n]) (in place allowed). */
function gateRun(n: i32, x: usize, out: usize, hard: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    st(out + o, vgate(ld(x + o), hard), n - i);
  }
}

/** out[0:n] = tanh(x[0:n]) (in place allowed). */
function tanhRun(n: i32, x: usize, out: usize): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    st(out + o, vtanh(ld(x + o)), n - i);
  }
}

/** Exported for tests: out[i] = exp / sigmoid / tanh (fn 0 / 1 / 2) of x[i], i < n. */
export function mathFn(fn: i32, n: i32, x: usize, out: usize): void {
  if (fn == 1) {
    gateRun(n, x, out, 0);
  } else if (fn == 2) {
    tanhRun(n, x, out);
  } else {
    for (let i = 0; i < n; i += 4) {
      const o = <usize>i << 2;
      st(out + o, vexp(ld(x + o)), n - i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Row and vector kernels
// ---------------------------------------------------------------------------------------------

/** dst[0:n] (+)= src[0:n]. */
// @ts-ignore: decorator
@inline function addRow(n: i32, src: usize, dst: usize): void {
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const o = <usize>j << 2;
    v128.store(dst + o, f32x4.add(ld(dst + o), ld(src + o)));
    v128.store(dst + o + 16, f32x4.add(ld(dst + o + 16), ld(src + o + 16)));
    v128.store(dst + o + 32, f32x4.add(ld(dst + o + 32), ld(src + o + 32)));
    v128.store(dst + o + 48, f32x4.add(ld(dst + o + 48), ld(src + o + 48)));
  }
  for (; j < n; j += 4) {
    const o = <usize>j << 2;
    st(dst + o, f32x4.add(ld(dst + o), ld(src + o)), n - j);
  }
}

export function broadcastRows(rows: i32, cols: i32, v: usize, dst: usize, ldd: i32, accumulate: i32): void {
  const ldd4 = <usize>ldd << 2;
  const bytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const d = dst + <usize>r * ldd4;
    if (accumulate) addRow(cols, v, d);
    else memory.copy(d, v, bytes);
  }
}

export function sumRows(rows: i32, cols: i32, a: usize, lda: i32, out: usize): void {
  const lda4 = <usize>lda << 2;
  let j = 0;
  for (; j + 16 <= cols; j += 16) {
    const o = <usize>j << 2;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = a + o;
    for (let r = 0; r < rows; r++) {
      s0 = f32x4.add(s0, ld(p));
      s1 = f32x4.add(s1, ld(p + 16));
      s2 = f32x4.add(s2, ld(p + 32));
      s3 = f32x4.add(s3, ld(p + 48));
      p += lda4;
    }
    v128.store(out + o, f32x4.add(ld(out + o), s0));
    v128.store(out + o + 16, f32x4.add(ld(out + o + 16), s1));
    v128.store(out + o + 32, f32x4.add(ld(out + o + 32), s2));
    v128.store(out + o + 48, f32x4.add(ld(out + o + 48), s3));
  }
  for (; j < cols; j += 4) {
    const o = <usize>j << 2;
    let s = f32x4.splat(0);
    let p = a + o;
    for (let r = 0; r < rows; r++) {
      s = f32x4.add(s, ld(p));
      p += lda4;
    }
    st(out + o, f32x4.add(ld(out + o), s), cols - j);
  }
}

export function gatherRows(
  rows: i32, cols: i32, idx: usize, src: usize, lds: i32, dst: usize, ldd: i32, accumulate: i32,
): void {
  const lds4 = <usize>lds << 2;
  const ldd4 = <usize>ldd << 2;
  const bytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    const s = src + <usize>load<i32>(idx + (<usize>i << 2)) * lds4;
    const d = dst + <usize>i * ldd4;
    if (accumulate) addRow(cols, s, d);
    else memory.copy(d, s, bytes);
  }
}

export function scatterRows(
  rows: i32, cols: i32, idx: usize, src: usize, lds: i32, dst: usize, ldd: i32, accumulate: i32,
): void {
  const lds4 = <usize>lds << 2;
  const ldd4 = <usize>ldd << 2;
  const bytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    const s = src + <usize>i * lds4;
    const d = dst + <usize>load<i32>(idx + (<usize>i << 2)) * ldd4;
    if (accumulate) addRow(cols, s, d);
    else memory.copy(d, s, bytes);
  }
}

export function copy(n: i32, src: usize, dst: usize): void {
  if (n > 0) memory.copy(dst, src, <usize>n << 2);
}

export function zero(n: i32, a: usize): void {
  if (n > 0) memory.fill(a, 0, <usize>n << 2);
}

export function axpy(n: i32, alpha: f32, src: usize, dst: usize): void {
  const va = f32x4.splat(alpha);
  let j = 0;
  for (; j + 8 <= n; j += 8) {
    const o = <usize>j << 2;
    v128.store(dst + o, madd(va, ld(src + o), ld(dst + o)));
    v128.store(dst + o + 16, madd(va, ld(src + o + 16), ld(dst + o + 16)));
  }
  for (; j < n; j += 4) {
    const o = <usize>j << 2;
    st(dst + o, madd(va, ld(src + o), ld(dst + o)), n - j);
  }
}

// ---------------------------------------------------------------------------------------------
// Fused cell kernels (see src/backend/backend.ts for the equations)
// ---------------------------------------------------------------------------------------------

export function rnnForward(count: i32, relu: i32, pre: usize, h: usize): void {
  const zero = K(K_ZERO);
  for (let i = 0; i < count; i += 4) {
    const o = <usize>i << 2;
    const v = ld(pre + o);
    // relu: v > 0 ? v : 0 (pmax(0, v) = 0 < v ? v : 0, so NaN -> 0 like the reference)
    st(h + o, relu ? f32x4.pmax(zero, v) : vtanh(v), count - i);
  }
}

export function rnnBackward(count: i32, relu: i32, h: usize, dh: usize, dPre: usize): void {
  const one = K(K_ONE);
  const zero = K(K_ZERO);
  for (let i = 0; i < count; i += 4) {
    const o = <usize>i << 2;
    const y = ld(h + o);
    const d = relu ? v128.and(f32x4.gt(y, zero), one) : nmadd(y, y, one);
    st(dPre + o, f32x4.mul(ld(dh + o), d), count - i);
  }
}

export function lstmForward(n: i32, H: i32, gates: usize, cPrev: usize, c: usize, h: usize, hard: i32): void {
  const H4 = <usize>H << 2;
  for (let r = 0; r < n; r++) {
    const g = gates + <usize>r * 4 * H4;
    const rr = <usize>r * H4;
    // activations in place, block by block (short loops keep V8's registers free), then the state
    gateRun(2 * H, g, g, hard); // i, f
    tanhRun(H, g + 2 * H4, g + 2 * H4); // g
    gateRun(H, g + 3 * H4, g + 3 * H4, hard); // o
    for (let j = 0; j < H; j += 4) {
      const cnt = H - j;
      const o = <usize>j << 2;
      const gi = g + o;
      const cv = madd(ld(gi + H4), ld(cPrev + rr + o), f32x4.mul(ld(gi), ld(gi + 2 * H4)));
      st(c + rr + o, cv, cnt);
      st(h + rr + o, f32x4.mul(ld(gi + 3 * H4), vtanh(cv)), cnt);
    }
  }
}

export function lstmBackward(
  n: i32, H: i32, gates: usize, cPrev: usize, c: usize, dh: usize, dc: usize, dG: usize, dcPrev: usize, hard: i32,
): void {
  const H4 = <usize>H << 2;
  const one = K(K_ONE);
  for (let r = 0; r < n; r++) {
    const g = gates + <usize>r * 4 * H4;
    const dg = dG + <usize>r * 4 * H4;
    const rr = <usize>r * H4;
    for (let j = 0; j < H; j += 4) {
      const cnt = H - j;
      const o = <usize>j << 2;
      const gi = g + o;
      const ig = ld(gi), fg = ld(gi + H4), gg = ld(gi + 2 * H4), og = ld(gi + 3 * H4);
      const tc = vtanh(ld(c + rr + o));
      const dhv = ld(dh + rr + o);
      const dct = madd(f32x4.mul(dhv, og), nmadd(tc, tc, one), ld(dc + rr + o));
      const di = dg + o;
      st(di, f32x4.mul(f32x4.mul(dct, gg), vdgate(ig, hard)), cnt);
      st(di + H4, f32x4.mul(f32x4.mul(dct, ld(cPrev + rr + o)), vdgate(fg, hard)), cnt);
      st(di + 2 * H4, f32x4.mul(f32x4.mul(dct, ig), nmadd(gg, gg, one)), cnt);
      st(di + 3 * H4, f32x4.mul(f32x4.mul(dhv, tc), vdgate(og, hard)), cnt);
      const q = dcPrev + rr + o;
      st(q, madd(dct, fg, ld(q)), cnt);
    }
  }
}

export function gruForward(n: i32, H: i32, gx: usize, gh: usize, hPrev: usize, act: usize, h: usize, hard: i32): void {
  const H4 = <usize>H << 2;
  const one = K(K_ONE);
  for (let r = 0; r < n; r++) {
    const x0 = gx + <usize>r * 3 * H4, q0 = gh + <usize>r * 3 * H4, a0 = act + <usize>r * 3 * H4;
    const rr = <usize>r * H4;
    // r, z = gate(gx + gh) over the 2H contiguous values, then n and h
    const H2 = 2 * H;
    for (let j = 0; j < H2; j += 4) {
      const o = <usize>j << 2;
      st(a0 + o, vgate(f32x4.add(ld(x0 + o), ld(q0 + o)), hard), H2 - j);
    }
    for (let j = 0; j < H; j += 4) {
      const cnt = H - j;
      const o = <usize>j << 2;
      const rg = ld(a0 + o), zg = ld(a0 + H4 + o);
      const ng = vtanh(madd(rg, ld(q0 + 2 * H4 + o), ld(x0 + 2 * H4 + o)));
      st(a0 + 2 * H4 + o, ng, cnt);
      st(h + rr + o, madd(f32x4.sub(one, zg), ng, f32x4.mul(zg, ld(hPrev + rr + o))), cnt);
    }
  }
}

export function gruBackward(
  n: i32, H: i32, act: usize, gh: usize, hPrev: usize, dh: usize, dGx: usize, dGh: usize, dhPrev: usize, hard: i32,
): void {
  const H4 = <usize>H << 2;
  const one = K(K_ONE);
  for (let r = 0; r < n; r++) {
    const a0 = act + <usize>r * 3 * H4, q0 = gh + <usize>r * 3 * H4;
    const x0 = dGx + <usize>r * 3 * H4, y0 = dGh + <usize>r * 3 * H4;
    const rr = <usize>r * H4;
    for (let j = 0; j < H; j += 4) {
      const cnt = H - j;
      const o = <usize>j << 2;
      const rg = ld(a0 + o), zg = ld(a0 + H4 + o), ng = ld(a0 + 2 * H4 + o);
      const hp = ld(hPrev + rr + o);
      const dhv = ld(dh + rr + o);
      const dnPre = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, zg)), nmadd(ng, ng, one));
      const dzPre = f32x4.mul(f32x4.mul(dhv, f32x4.sub(hp, ng)), vdgate(zg, hard));
      const drPre = f32x4.mul(f32x4.mul(dnPre, ld(q0 + 2 * H4 + o)), vdgate(rg, hard));
      st(x0 + o, drPre, cnt);
      st(x0 + H4 + o, dzPre, cnt);
      st(x0 + 2 * H4 + o, dnPre, cnt);
      st(y0 + o, drPre, cnt);
      st(y0 + H4 + o, dzPre, cnt);
      st(y0 + 2 * H4 + o, f32x4.mul(dnPre, rg), cnt);
      const q = dhPrev + rr + o;
      st(q, madd(dhv, zg, ld(q)), cnt);
    }
  }
}

export function gruResetBeforeGates(
  n: i32, H: i32, gx: usize, gh: usize, hPrev: usize, act: usize, rh: usize, hard: i32,
): void {
  const H4 = <usize>H << 2;
  for (let r = 0; r < n; r++) {
    const x0 = gx + <usize>r * 3 * H4, q0 = gh + <usize>r * 3 * H4, a0 = act + <usize>r * 3 * H4;
    const rr = <usize>r * H4;
    for (let j = 0; j < H; j += 4) {
      const cnt = H - j;
      const o = <usize>j << 2;
      const rg = vgate(f32x4.add(ld(x0 + o), ld(q0 + o)), hard);
      st(a0 + o, rg, cnt);
      st(a0 + H4 + o, vgate(f32x4.add(ld(x0 + H4 + o), ld(q0 + H4 + o)), hard), cnt);
      st(rh + rr + o, f32x4.mul(rg, ld(hPrev + rr + o)), cnt);
    }
  }
}

export function gruResetBeforeOutput(n: i32, H: i32, gx: usize, gh: usize, hPrev: usize, act: usize, h: usize): void {
  const H4 = <usize>H << 2;
  const one = K(K_ONE);
  for (let r = 0; r < n; r++) {
    const x0 = gx + <usize>r * 3 * H4, q0 = gh + <usize>r * 3 * H4, a0 = act + <usize>r * 3 * H4;
    const rr = <usize>r * H4;
    for (let j = 0; j < H; j += 4) {
      const cnt = H - j;
      const o = <usize>j << 2;
      const ng = vtanh(f32x4.add(ld(x0 + 2 * H4 + o), ld(q0 + 2 * H4 + o)));
      const zg = ld(a0 + H4 + o);
      st(a0 + 2 * H4 + o, ng, cnt);
      st(h + rr + o, madd(f32x4.sub(one, zg), ng, f32x4.mul(zg, ld(hPrev + rr + o))), cnt);
    }
  }
}

export function gruResetBeforeBackwardOutput(
  n: i32, H: i32, act: usize, hPrev: usize, dh: usize, dG: usize, dhPrev: usize, hard: i32,
): void {
  const H4 = <usize>H << 2;
  const one = K(K_ONE);
  for (let r = 0; r < n; r++) {
    const a0 = act + <usize>r * 3 * H4, d0 = dG + <usize>r * 3 * H4;
    const rr = <usize>r * H4;
    for (let j = 0; j < H; j += 4) {
      const cnt = H - j;
      const o = <usize>j << 2;
      const zg = ld(a0 + H4 + o), ng = ld(a0 + 2 * H4 + o);
      const dhv = ld(dh + rr + o);
      const dz = f32x4.mul(f32x4.mul(dhv, f32x4.sub(ld(hPrev + rr + o), ng)), vdgate(zg, hard));
      st(d0 + H4 + o, dz, cnt);
      st(d0 + 2 * H4 + o, f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, zg)), nmadd(ng, ng, one)), cnt);
      const q = dhPrev + rr + o;
      st(q, madd(dhv, zg, ld(q)), cnt);
    }
  }
}

export function gruResetBeforeBackwardGates(
  n: i32, H: i32, act: usize, hPrev: usize, drh: usize, dG: usize, dhPrev: usize, hard: i32,
): void {
  const H4 = <usize>H << 2;
  for (let r = 0; r < n; r++) {
    const a0 = act + <usize>r * 3 * H4, d0 = dG + <usize>r * 3 * H4;
    const rr = <usize>r * H4;
    for (let j = 0; j < H; j += 4) {
      const cnt = H - j;
      const o = <usize>j << 2;
      const rg = ld(a0 + o);
      const d = ld(drh + rr + o);
      st(d0 + o, f32x4.mul(f32x4.mul(d, ld(hPrev + rr + o)), vdgate(rg, hard)), cnt);
      const q = dhPrev + rr + o;
      st(q, madd(d, rg, ld(q)), cnt);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Losses, softmax, optimizers and elementwise helpers
// ---------------------------------------------------------------------------------------------

/** Lanes < cnt all ones (cnt in 1..4). */
// @ts-ignore: decorator
@inline function laneMask(cnt: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt));
}

/** acc (f64x2) += the four f32 lanes of v, widened. */
// @ts-ignore: decorator
@inline function acc64(acc: v128, v: v128): v128 {
  return f64x2.add(
    f64x2.add(acc, f64x2.promote_low_f32x4(v)),
    f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)),
  );
}

// @ts-ignore: decorator
@inline function hsum64(acc: v128): f64 {
  return f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
}

/** Cephes logf for positive normal x (relative error ~1e-7). */
// @ts-ignore: decorator
@inline function vlog(x: v128): v128 {
  let e = i32x4.sub(i32x4.shr_u(x, 23), K(K_I126));
  let m = v128.or(v128.and(x, K(K_MANT)), K(K_HALF_EXP)); // [0.5, 1)
  const lt = f32x4.lt(m, K(K_SQRTHF));
  e = i32x4.add(e, lt); // -1 where m < sqrt(1/2)
  m = f32x4.sub(f32x4.add(m, v128.and(m, lt)), K(K_ONE));
  const ef = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let y = K(K_LP0);
  for (let i = 1; i < 9; i++) y = madd(y, m, K(K_LP0 + i));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = madd(ef, K(K_LN2_LO), y);
  y = nmadd(z, K(K_HALF), y);
  return madd(ef, K(K_LN2_HI), f32x4.add(m, y));
}

/** Natural log in double precision for a positive finite normal x (atanh series, ~1e-16). */
function log64(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000); // [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1.0) / (m + 1.0);
  const s2 = s * s;
  let p = 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  p = p * s2 + 1.0;
  return 2.0 * s * p + <f64>e * 0.6931471805599453;
}

/** Exported for tests: log64 of a double. */
export function logf64(x: f64): f64 {
  return log64(x);
}

/** max over x[0:V] (NaN entries are skipped, as `v > max` does). */
function rowMax(x: usize, V: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= V; j += 4) mv = f32x4.pmax(mv, ld(x + (<usize>j << 2)));
  let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; j < V; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    if (v > mx) mx = v;
  }
  return mx;
}

/** out[j] = exp((x[j] - mx) * invT) for j < V; returns their sum (double). out may alias x. */
function expRow(x: usize, V: i32, mx: f32, invT: f32, out: usize): f64 {
  const vm = f32x4.splat(mx), vt = f32x4.splat(invT);
  let acc = f64x2.splat(0);
  for (let j = 0; j < V; j += 4) {
    const o = <usize>j << 2;
    const cnt = V - j;
    let e = vexp(f32x4.mul(f32x4.sub(ld(x + o), vm), vt));
    if (cnt < 4) e = v128.and(e, laneMask(cnt));
    st(out + o, e, cnt);
    acc = acc64(acc, e);
  }
  return hsum64(acc);
}

/** x[0:n] *= s. */
function scaleRow(x: usize, n: i32, s: f32): void {
  const vs = f32x4.splat(s);
  for (let j = 0; j < n; j += 4) {
    const o = <usize>j << 2;
    st(x + o, f32x4.mul(ld(x + o), vs), n - j);
  }
}

export function softmaxCrossEntropy(
  rows: i32, V: i32, logits: usize, targets: usize, ignoreIndex: i32, scale: f32, dLogits: usize,
): f64 {
  let loss: f64 = 0;
  const rowBytes = <usize>V << 2;
  for (let r = 0; r < rows; r++) {
    const l0 = logits + <usize>r * rowBytes;
    const d0 = dLogits + <usize>r * rowBytes;
    const t = load<i32>(targets + (<usize>r << 2));
    if (t == ignoreIndex) {
      memory.fill(d0, 0, rowBytes);
      continue;
    }
    if (t < 0 || t >= V) {
      // an invalid target: NaN loss and gradient, nothing written outside the row
      loss = NaN;
      for (let j = 0; j < V; j++) store<f32>(d0 + (<usize>j << 2), NaN);
      continue;
    }
    const lt = load<f32>(l0 + (<usize>t << 2));
    const mx = rowMax(l0, V);
    const sum = expRow(l0, V, mx, 1.0, d0); // dLogits may alias logits: lt was read first
    scaleRow(d0, V, <f32>(<f64>scale / sum));
    const q = d0 + (<usize>t << 2);
    store<f32>(q, load<f32>(q) - scale);
    loss += (<f64>mx - <f64>lt) + log64(sum);
  }
  return loss;
}

export function softmax(rows: i32, V: i32, temperature: f32, x: usize, out: usize): void {
  const rowBytes = <usize>V << 2;
  const invT: f32 = <f32>(1.0 / <f64>temperature);
  for (let r = 0; r < rows; r++) {
    const x0 = x + <usize>r * rowBytes;
    const o0 = out + <usize>r * rowBytes;
    const mx = rowMax(x0, V);
    const sum = expRow(x0, V, mx, invT, o0);
    scaleRow(o0, V, <f32>(1.0 / sum));
  }
}

export function mse(n: i32, p: usize, t: usize, w: usize, hasW: i32, scale: f32, grad: usize): f64 {
  let acc = f64x2.splat(0);
  const s2 = f32x4.splat(2 * scale);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const cnt = n - i;
    const d = f32x4.sub(ld(p + o), ld(t + o));
    let wd = hasW ? f32x4.mul(ld(w + o), d) : d;
    let l = f32x4.mul(wd, d);
    if (cnt < 4) l = v128.and(l, laneMask(cnt));
    acc = acc64(acc, l);
    st(grad + o, f32x4.mul(s2, wd), cnt);
  }
  return hsum64(acc);
}

export function bceWithLogits(n: i32, x: usize, t: usize, w: usize, hasW: i32, scale: f32, grad: usize): f64 {
  let acc = f64x2.splat(0);
  const one = K(K_ONE);
  const zero = K(K_ZERO);
  const vs = f32x4.splat(scale);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const cnt = n - i;
    const xv = ld(x + o), tv = ld(t + o);
    const e = vexp(f32x4.neg(f32x4.abs(xv))); // exp(-|x|) in (0, 1]
    const u = f32x4.add(one, e);
    // log1p(e) = log(u) * e / (u - 1), exact when u rounds to 1
    const lp = vselect(e, f32x4.div(f32x4.mul(vlog(u), e), f32x4.sub(u, one)), f32x4.eq(u, one));
    const pos = f32x4.ge(xv, zero);
    let l = f32x4.add(nmadd(xv, tv, f32x4.pmax(zero, xv)), lp);
    const sig = f32x4.div(vselect(one, e, pos), u); // sigmoid(x)
    let g = f32x4.mul(vs, f32x4.sub(sig, tv));
    if (hasW) {
      const wv = ld(w + o);
      l = f32x4.mul(wv, l);
      g = f32x4.mul(g, wv);
    }
    if (cnt < 4) l = v128.and(l, laneMask(cnt));
    acc = acc64(acc, l);
    st(grad + o, g, cnt);
  }
  return hsum64(acc);
}

export function sumSquares(n: i32, a: usize): f64 {
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = ld(a + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  let s = hsum64(f64x2.add(acc0, acc1));
  for (; i < n; i++) {
    const v = <f64>load<f32>(a + (<usize>i << 2));
    s += v * v;
  }
  return s;
}

export function scale(n: i32, alpha: f32, a: usize): void {
  scaleRow(a, n, alpha);
}

export function mul(n: i32, a: usize, b: usize, out: usize): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    st(out + o, f32x4.mul(ld(a + o), ld(b + o)), n - i);
  }
}

export function sgdStep(
  n: i32, p: usize, g: usize, buf: usize, lr: f32, momentum: f32, nesterov: i32, weightDecay: f32, first: i32,
): void {
  const vlr = f32x4.splat(lr), vm = f32x4.splat(momentum), vwd = f32x4.splat(weightDecay);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const cnt = n - i;
    const pv = ld(p + o);
    let d = f32x4.add(ld(g + o), f32x4.mul(vwd, pv));
    if (momentum != 0) {
      const b = first ? d : f32x4.add(f32x4.mul(vm, ld(buf + o)), d);
      st(buf + o, b, cnt);
      d = nesterov ? f32x4.add(d, f32x4.mul(vm, b)) : b;
    }
    st(p + o, f32x4.sub(pv, f32x4.mul(vlr, d)), cnt);
  }
}

export function adamStep(
  n: i32, p: usize, g: usize, m: usize, v: usize, lr: f32, beta1: f32, beta2: f32, eps: f32,
  weightDecay: f32, decoupled: i32, bc1: f32, bc2: f32,
): void {
  const vlr = f32x4.splat(lr), vb1 = f32x4.splat(beta1), vb2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(<f32>(1.0 - <f64>beta1)), c2 = f32x4.splat(<f32>(1.0 - <f64>beta2));
  const vbc1 = f32x4.splat(bc1), vbc2 = f32x4.splat(bc2), veps = f32x4.splat(eps);
  const vwd = f32x4.splat(weightDecay);
  const shrink = f32x4.splat(<f32>(1.0 - <f64>lr * <f64>weightDecay));
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const cnt = n - i;
    let pv = ld(p + o);
    let gv = ld(g + o);
    if (decoupled) pv = f32x4.mul(pv, shrink);
    else gv = f32x4.add(gv, f32x4.mul(vwd, pv));
    const mv = f32x4.add(f32x4.mul(vb1, ld(m + o)), f32x4.mul(c1, gv));
    const vv = f32x4.add(f32x4.mul(vb2, ld(v + o)), f32x4.mul(c2, f32x4.mul(gv, gv)));
    st(m + o, mv, cnt);
    st(v + o, vv, cnt);
    const den = f32x4.add(f32x4.sqrt(f32x4.div(vv, vbc2)), veps);
    st(p + o, f32x4.sub(pv, f32x4.div(f32x4.mul(vlr, f32x4.div(mv, vbc1)), den)), cnt);
  }
}

export function rmspropStep(n: i32, p: usize, g: usize, s: usize, lr: f32, alpha: f32, eps: f32, weightDecay: f32): void {
  const vlr = f32x4.splat(lr), va = f32x4.splat(alpha), c = f32x4.splat(<f32>(1.0 - <f64>alpha));
  const veps = f32x4.splat(eps), vwd = f32x4.splat(weightDecay);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const cnt = n - i;
    const pv = ld(p + o);
    const gv = f32x4.add(ld(g + o), f32x4.mul(vwd, pv));
    const sv = f32x4.add(f32x4.mul(va, ld(s + o)), f32x4.mul(c, f32x4.mul(gv, gv)));
    st(s + o, sv, cnt);
    st(p + o, f32x4.sub(pv, f32x4.div(f32x4.mul(vlr, gv), f32x4.add(f32x4.sqrt(sv), veps))), cnt);
  }
}

export function adagradStep(n: i32, p: usize, g: usize, s: usize, lr: f32, eps: f32, weightDecay: f32): void {
  const vlr = f32x4.splat(lr), veps = f32x4.splat(eps), vwd = f32x4.splat(weightDecay);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const cnt = n - i;
    const pv = ld(p + o);
    const gv = f32x4.add(ld(g + o), f32x4.mul(vwd, pv));
    const sv = f32x4.add(ld(s + o), f32x4.mul(gv, gv));
    st(s + o, sv, cnt);
    st(p + o, f32x4.sub(pv, f32x4.div(f32x4.mul(vlr, gv), f32x4.add(f32x4.sqrt(sv), veps))), cnt);
  }
}
