/**
 * The reference backend: plain, obviously correct TypeScript. It is the test oracle of every fast
 * kernel and runs anywhere. With `dtype: "float64"` it is the float64 reference path of the
 * gradient checks.
 */
import type { Backend, DType, PackedB, RecurrentBackwardDirection, RecurrentDirection } from "./backend.js";
import type { Floats } from "../tensor.js";
import { gatesOf } from "../gates.js";

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * The gate nonlinearity of LSTM and GRU: the logistic sigmoid, or (`hard`) the hard sigmoid of
 * Keras 2 and TensorFlow.js, max(0, min(1, 0.2 v + 0.5)) (tf.layers' default recurrentActivation).
 */
const gate = (v: number, hard: boolean): number => (hard ? Math.max(0, Math.min(1, 0.2 * v + 0.5)) : sigmoid(v));
/** Its derivative from the gate's value a: a (1 - a), or 0.2 inside the hard sigmoid's linear part (0 < a < 1), else 0. */
const dgate = (a: number, hard: boolean): number => (hard ? (a > 0 && a < 1 ? 0.2 : 0) : a * (1 - a));

export class JsBackend implements Backend {
  readonly name: string;
  readonly dtype: DType;
  readonly plainArrays = true;

  constructor(opts: { dtype?: DType } = {}) {
    this.dtype = opts.dtype ?? "float32";
    this.name = this.dtype === "float32" ? "js" : "js64";
  }

  alloc(n: number): Floats {
    return this.dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  }

  allocIndex(n: number): Int32Array {
    return new Int32Array(n);
  }

  free(_a: Floats | Int32Array): void {
    // garbage-collected
  }

  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Floats, aOff: number, lda: number,
    b: Floats, bOff: number, ldb: number,
    beta: number, c: Floats, cOff: number, ldc: number,
  ): void {
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * ldc;
      if (beta === 0) for (let j = 0; j < n; j++) c[ci + j] = 0;
      else if (beta !== 1) for (let j = 0; j < n; j++) c[ci + j] *= beta;
    }
    if (!transB) {
      // C[i, :] += alpha * A(i, p) * B[p, :]: rows of B are contiguous.
      for (let i = 0; i < m; i++) {
        const ci = cOff + i * ldc;
        for (let p = 0; p < k; p++) {
          const aip = alpha * (transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p]);
          if (aip === 0) continue;
          const bp = bOff + p * ldb;
          for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
        }
      }
    } else {
      // C[i, j] += alpha * dot(A(i, :), B[j, :]): B stored [n, k].
      for (let i = 0; i < m; i++) {
        const ci = cOff + i * ldc;
        for (let j = 0; j < n; j++) {
          const bj = bOff + j * ldb;
          let s = 0;
          if (transA) for (let p = 0; p < k; p++) s += a[aOff + p * lda + i] * b[bj + p];
          else {
            const ai = aOff + i * lda;
            for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
          }
          c[ci + j] += alpha * s;
        }
      }
    }
  }

  /** The reference packing: op(B) copied out as a plain row-major [k, n] matrix. */
  packB(transB: boolean, k: number, n: number, b: Floats, bOff: number, ldb: number): PackedB {
    const data = this.alloc(k * n);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) data[p * n + j] = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
    return { k, n, data };
  }

  gemmPacked(
    m: number, n: number, k: number, alpha: number, a: Floats, aOff: number, lda: number,
    packed: PackedB, beta: number, c: Floats, cOff: number, ldc: number,
  ): void {
    if (packed.k !== k || packed.n !== n) throw new Error(`JsBackend.gemmPacked: expected op(B) packed for [k, n] = [${k}, ${n}], got [${packed.k}, ${packed.n}]`);
    this.gemm(false, false, m, n, k, alpha, a, aOff, lda, packed.data, 0, n, beta, c, cOff, ldc);
  }

  /** The reference time loop: the per-step kernels of this backend, in order, one direction after the other (see Backend.recurrentForward). */
  recurrentForward(
    cell: "lstm" | "gru" | "rnn", hard: boolean, relu: boolean, steps: number, offsets: Int32Array, batchSizes: Int32Array,
    H: number, dirs: readonly RecurrentDirection[],
  ): void {
    const GH = gatesOf(cell) * H;
    for (const { whh, bhh, gates, gh, act, hPrev, h, cPrev, c } of dirs) {
      for (let s = 0; s < steps; s++) {
        const o = offsets[s], n = batchSizes[s];
        if (s > 0) {
          const p = offsets[s - 1];
          this.copy(n * H, h, p * H, hPrev, o * H);
          if (cell === "lstm") this.copy(n * H, c, p * H, cPrev, o * H);
        }
        if (cell === "gru") {
          if (bhh) this.broadcastRows(n, GH, bhh, 0, gh, o * GH, GH, false);
          this.gemmPacked(n, GH, H, 1, hPrev, o * H, H, whh, bhh ? 1 : 0, gh, o * GH, GH);
          this.gruForward(n, H, gates, o * GH, gh, o * GH, hPrev, o * H, act, o * GH, h, o * H, hard);
        } else {
          this.gemmPacked(n, GH, H, 1, hPrev, o * H, H, whh, 1, gates, o * GH, GH);
          if (cell === "lstm") this.lstmForward(n, H, gates, o * GH, cPrev, o * H, c, o * H, h, o * H, hard);
          else this.rnnForward(n, H, relu, gates, o * H, h, o * H);
        }
      }
    }
  }

  /** The reference backward loop: the per-step kernels, in order (see Backend.recurrentBackward). */
  recurrentBackward(
    cell: "lstm" | "gru" | "rnn", hard: boolean, relu: boolean, steps: number, offsets: Int32Array, batchSizes: Int32Array,
    H: number, dirs: readonly RecurrentBackwardDirection[],
  ): void {
    const GH = gatesOf(cell) * H;
    for (const d of dirs) {
      for (let s = steps - 1; s >= 0; s--) {
        const o = offsets[s], n = batchSizes[s];
        const [dhPrev, dcPrev, p] = s > 0 ? [d.dh, d.dc, offsets[s - 1] * H] : [d.dh0, d.dc0, 0];
        if (cell === "lstm") {
          this.lstmBackward(n, H, d.gates, o * GH, d.cPrev, o * H, d.c, o * H, d.dh, o * H, d.dc, o * H, d.dG, o * GH, dcPrev, p, hard);
          this.gemmPacked(n, H, GH, 1, d.dG, o * GH, GH, d.whh, 1, dhPrev, p, H);
        } else if (cell === "gru") {
          this.gruBackward(n, H, d.gates, o * GH, d.gh, o * GH, d.hPrev, o * H, d.dh, o * H, d.dG, o * GH, d.dGh, o * GH, dhPrev, p, hard);
          this.gemmPacked(n, H, GH, 1, d.dGh, o * GH, GH, d.whh, 1, dhPrev, p, H);
        } else {
          this.rnnBackward(n, H, relu, d.h, o * H, d.dh, o * H, d.dG, o * H);
          this.gemmPacked(n, H, GH, 1, d.dG, o * GH, GH, d.whh, 1, dhPrev, p, H);
        }
      }
    }
  }

  /** The reference of Backend.gemmBias: the bias broadcast into C, then the product added (beta = 1). */
  gemmBias(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Floats, aOff: number, lda: number, b: Floats, bOff: number, ldb: number,
    bias: Floats, biasOff: number, c: Floats, cOff: number, ldc: number,
  ): void {
    this.broadcastRows(m, n, bias, biasOff, c, cOff, ldc, false);
    this.gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, 1, c, cOff, ldc);
  }

  broadcastRows(rows: number, cols: number, v: Floats, vOff: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean): void {
    for (let r = 0; r < rows; r++) {
      const d = dOff + r * ldd;
      if (accumulate) for (let j = 0; j < cols; j++) dst[d + j] += v[vOff + j];
      else for (let j = 0; j < cols; j++) dst[d + j] = v[vOff + j];
    }
  }

  sumRows(rows: number, cols: number, a: Floats, aOff: number, lda: number, out: Floats, oOff: number): void {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += a[aOff + r * lda + j];
      out[oOff + j] += s;
    }
  }

  gatherRows(
    rows: number, cols: number, idx: Int32Array, idxOff: number,
    src: Floats, sOff: number, lds: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean,
  ): void {
    for (let i = 0; i < rows; i++) {
      const s = sOff + idx[idxOff + i] * lds;
      const d = dOff + i * ldd;
      if (accumulate) for (let j = 0; j < cols; j++) dst[d + j] += src[s + j];
      else for (let j = 0; j < cols; j++) dst[d + j] = src[s + j];
    }
  }

  scatterRows(
    rows: number, cols: number, idx: Int32Array, idxOff: number,
    src: Floats, sOff: number, lds: number, dst: Floats, dOff: number, ldd: number, accumulate: boolean,
  ): void {
    for (let i = 0; i < rows; i++) {
      const s = sOff + i * lds;
      const d = dOff + idx[idxOff + i] * ldd;
      if (accumulate) for (let j = 0; j < cols; j++) dst[d + j] += src[s + j];
      else for (let j = 0; j < cols; j++) dst[d + j] = src[s + j];
    }
  }

  copy(n: number, src: Floats, sOff: number, dst: Floats, dOff: number): void {
    for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i];
  }

  axpy(n: number, alpha: number, src: Floats, sOff: number, dst: Floats, dOff: number): void {
    for (let i = 0; i < n; i++) dst[dOff + i] += alpha * src[sOff + i];
  }

  zero(n: number, a: Floats, aOff: number): void {
    for (let i = 0; i < n; i++) a[aOff + i] = 0;
  }

  rnnForward(n: number, H: number, relu: boolean, pre: Floats, pOff: number, h: Floats, hOff: number): void {
    for (let i = 0; i < n * H; i++) {
      const v = pre[pOff + i];
      h[hOff + i] = relu ? (v > 0 ? v : 0) : Math.tanh(v);
    }
  }

  rnnBackward(n: number, H: number, relu: boolean, h: Floats, hOff: number, dh: Floats, dhOff: number, dPre: Floats, dpOff: number): void {
    for (let i = 0; i < n * H; i++) {
      const y = h[hOff + i];
      // relu'(v) = 1 for v > 0 (PyTorch's convention at 0: gradient 0), tanh'(v) = 1 - tanh(v)^2
      dPre[dpOff + i] = dh[dhOff + i] * (relu ? (y > 0 ? 1 : 0) : 1 - y * y);
    }
  }

  lstmForward(
    n: number, H: number, gates: Floats, gOff: number,
    cPrev: Floats, cpOff: number, c: Floats, cOff: number, h: Floats, hOff: number, hard = false,
  ): void {
    for (let r = 0; r < n; r++) {
      const g0 = gOff + r * 4 * H;
      for (let j = 0; j < H; j++) {
        const ig = gate(gates[g0 + j], hard);
        const fg = gate(gates[g0 + H + j], hard);
        const gg = Math.tanh(gates[g0 + 2 * H + j]);
        const og = gate(gates[g0 + 3 * H + j], hard);
        gates[g0 + j] = ig;
        gates[g0 + H + j] = fg;
        gates[g0 + 2 * H + j] = gg;
        gates[g0 + 3 * H + j] = og;
        const cv = fg * cPrev[cpOff + r * H + j] + ig * gg;
        c[cOff + r * H + j] = cv;
        h[hOff + r * H + j] = og * Math.tanh(cv);
      }
    }
  }

  lstmBackward(
    n: number, H: number, gates: Floats, gOff: number, cPrev: Floats, cpOff: number, c: Floats, cOff: number,
    dh: Floats, dhOff: number, dc: Floats, dcOff: number, dG: Floats, dgOff: number, dcPrev: Floats, dcpOff: number,
    hard = false,
  ): void {
    for (let r = 0; r < n; r++) {
      const g0 = gOff + r * 4 * H;
      const d0 = dgOff + r * 4 * H;
      for (let j = 0; j < H; j++) {
        const ig = gates[g0 + j], fg = gates[g0 + H + j], gg = gates[g0 + 2 * H + j], og = gates[g0 + 3 * H + j];
        const tc = Math.tanh(c[cOff + r * H + j]);
        const dhv = dh[dhOff + r * H + j];
        const dct = dc[dcOff + r * H + j] + dhv * og * (1 - tc * tc);
        dG[d0 + j] = dct * gg * dgate(ig, hard);
        dG[d0 + H + j] = dct * cPrev[cpOff + r * H + j] * dgate(fg, hard);
        dG[d0 + 2 * H + j] = dct * ig * (1 - gg * gg);
        dG[d0 + 3 * H + j] = dhv * tc * dgate(og, hard);
        dcPrev[dcpOff + r * H + j] += dct * fg;
      }
    }
  }

  gruForward(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, h: Floats, hOff: number, hard = false,
  ): void {
    for (let r = 0; r < n; r++) {
      const x0 = gxOff + r * 3 * H, q0 = ghOff + r * 3 * H, a0 = aOff + r * 3 * H;
      for (let j = 0; j < H; j++) {
        const rg = gate(gx[x0 + j] + gh[q0 + j], hard);
        const zg = gate(gx[x0 + H + j] + gh[q0 + H + j], hard);
        const ng = Math.tanh(gx[x0 + 2 * H + j] + rg * gh[q0 + 2 * H + j]);
        act[a0 + j] = rg;
        act[a0 + H + j] = zg;
        act[a0 + 2 * H + j] = ng;
        h[hOff + r * H + j] = (1 - zg) * ng + zg * hPrev[hpOff + r * H + j];
      }
    }
  }

  gruBackward(
    n: number, H: number, act: Floats, aOff: number, gh: Floats, ghOff: number, hPrev: Floats, hpOff: number,
    dh: Floats, dhOff: number, dGx: Floats, dgxOff: number, dGh: Floats, dghOff: number, dhPrev: Floats, dhpOff: number,
    hard = false,
  ): void {
    for (let r = 0; r < n; r++) {
      const a0 = aOff + r * 3 * H, q0 = ghOff + r * 3 * H, x0 = dgxOff + r * 3 * H, y0 = dghOff + r * 3 * H;
      for (let j = 0; j < H; j++) {
        const rg = act[a0 + j], zg = act[a0 + H + j], ng = act[a0 + 2 * H + j];
        const hp = hPrev[hpOff + r * H + j];
        const dhv = dh[dhOff + r * H + j];
        const dnPre = dhv * (1 - zg) * (1 - ng * ng);
        const dzPre = dhv * (hp - ng) * dgate(zg, hard);
        const drPre = dnPre * gh[q0 + 2 * H + j] * dgate(rg, hard);
        dGx[x0 + j] = drPre;
        dGx[x0 + H + j] = dzPre;
        dGx[x0 + 2 * H + j] = dnPre;
        dGh[y0 + j] = drPre;
        dGh[y0 + H + j] = dzPre;
        dGh[y0 + 2 * H + j] = dnPre * rg;
        dhPrev[dhpOff + r * H + j] += dhv * zg;
      }
    }
  }

  gruResetBeforeGates(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, rh: Floats, rhOff: number, hard = false,
  ): void {
    for (let r = 0; r < n; r++) {
      const x0 = gxOff + r * 3 * H, q0 = ghOff + r * 3 * H, a0 = aOff + r * 3 * H;
      for (let j = 0; j < H; j++) {
        const rg = gate(gx[x0 + j] + gh[q0 + j], hard);
        act[a0 + j] = rg;
        act[a0 + H + j] = gate(gx[x0 + H + j] + gh[q0 + H + j], hard);
        rh[rhOff + r * H + j] = rg * hPrev[hpOff + r * H + j];
      }
    }
  }

  gruResetBeforeOutput(
    n: number, H: number, gx: Floats, gxOff: number, gh: Floats, ghOff: number,
    hPrev: Floats, hpOff: number, act: Floats, aOff: number, h: Floats, hOff: number,
  ): void {
    for (let r = 0; r < n; r++) {
      const x0 = gxOff + r * 3 * H, q0 = ghOff + r * 3 * H, a0 = aOff + r * 3 * H;
      for (let j = 0; j < H; j++) {
        const ng = Math.tanh(gx[x0 + 2 * H + j] + gh[q0 + 2 * H + j]);
        const zg = act[a0 + H + j];
        act[a0 + 2 * H + j] = ng;
        h[hOff + r * H + j] = (1 - zg) * ng + zg * hPrev[hpOff + r * H + j];
      }
    }
  }

  gruResetBeforeBackwardOutput(
    n: number, H: number, act: Floats, aOff: number, hPrev: Floats, hpOff: number,
    dh: Floats, dhOff: number, dG: Floats, dgOff: number, dhPrev: Floats, dhpOff: number, hard = false,
  ): void {
    for (let r = 0; r < n; r++) {
      const a0 = aOff + r * 3 * H, d0 = dgOff + r * 3 * H;
      for (let j = 0; j < H; j++) {
        const zg = act[a0 + H + j], ng = act[a0 + 2 * H + j];
        const dhv = dh[dhOff + r * H + j];
        dG[d0 + H + j] = dhv * (hPrev[hpOff + r * H + j] - ng) * dgate(zg, hard);
        dG[d0 + 2 * H + j] = dhv * (1 - zg) * (1 - ng * ng);
        dhPrev[dhpOff + r * H + j] += dhv * zg;
      }
    }
  }

  gruResetBeforeBackwardGates(
    n: number, H: number, act: Floats, aOff: number, hPrev: Floats, hpOff: number,
    drh: Floats, drhOff: number, dG: Floats, dgOff: number, dhPrev: Floats, dhpOff: number, hard = false,
  ): void {
    for (let r = 0; r < n; r++) {
      const a0 = aOff + r * 3 * H, d0 = dgOff + r * 3 * H;
      for (let j = 0; j < H; j++) {
        const rg = act[a0 + j];
        const d = drh[drhOff + r * H + j];
        dG[d0 + j] = d * hPrev[hpOff + r * H + j] * dgate(rg, hard);
        dhPrev[dhpOff + r * H + j] += d * rg;
      }
    }
  }

  softmaxCrossEntropy(
    rows: number, V: number, logits: Floats, lOff: number, targets: Int32Array, tOff: number,
    ignoreIndex: number, scale: number, dLogits: Floats, dOff: number,
  ): number {
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const l0 = lOff + r * V, d0 = dOff + r * V;
      const t = targets[tOff + r];
      if (t === ignoreIndex) {
        for (let v = 0; v < V; v++) dLogits[d0 + v] = 0;
        continue;
      }
      let mx = -Infinity;
      for (let v = 0; v < V; v++) if (logits[l0 + v] > mx) mx = logits[l0 + v];
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[l0 + v] - mx);
      const logZ = mx + Math.log(sum);
      loss += logZ - logits[l0 + t];
      for (let v = 0; v < V; v++) dLogits[d0 + v] = scale * Math.exp(logits[l0 + v] - logZ);
      dLogits[d0 + t] -= scale;
    }
    return loss;
  }

  softmax(rows: number, V: number, temperature: number, x: Floats, xOff: number, out: Floats, oOff: number): void {
    for (let r = 0; r < rows; r++) {
      const x0 = xOff + r * V, o0 = oOff + r * V;
      let mx = -Infinity;
      for (let v = 0; v < V; v++) if (x[x0 + v] > mx) mx = x[x0 + v];
      let sum = 0;
      for (let v = 0; v < V; v++) {
        const e = Math.exp((x[x0 + v] - mx) / temperature);
        out[o0 + v] = e;
        sum += e;
      }
      for (let v = 0; v < V; v++) out[o0 + v] /= sum;
    }
  }

  mse(n: number, p: Floats, pOff: number, t: Floats, tOff: number, w: Floats | null, wOff: number, scale: number, grad: Floats, gOff: number): number {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[wOff + i] : 1;
      const d = p[pOff + i] - t[tOff + i];
      loss += wi * d * d;
      grad[gOff + i] = scale * 2 * wi * d;
    }
    return loss;
  }

  bceWithLogits(n: number, x: Floats, xOff: number, t: Floats, tOff: number, w: Floats | null, wOff: number, scale: number, grad: Floats, gOff: number): number {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const wi = w ? w[wOff + i] : 1;
      const xi = x[xOff + i], ti = t[tOff + i];
      loss += wi * (Math.max(xi, 0) - xi * ti + Math.log1p(Math.exp(-Math.abs(xi))));
      grad[gOff + i] = scale * wi * (sigmoid(xi) - ti);
    }
    return loss;
  }

  sumSquares(n: number, a: Floats, aOff: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[aOff + i] * a[aOff + i];
    return s;
  }

  scale(n: number, alpha: number, a: Floats, aOff: number): void {
    for (let i = 0; i < n; i++) a[aOff + i] *= alpha;
  }

  mul(n: number, a: Floats, aOff: number, b: Floats, bOff: number, out: Floats, oOff: number): void {
    for (let i = 0; i < n; i++) out[oOff + i] = a[aOff + i] * b[bOff + i];
  }

  sgdStep(n: number, p: Floats, g: Floats, buf: Floats, lr: number, momentum: number, nesterov: boolean, weightDecay: number, first: boolean): void {
    for (let i = 0; i < n; i++) {
      let d = g[i] + weightDecay * p[i];
      if (momentum !== 0) {
        const b = first ? d : momentum * buf[i] + d;
        buf[i] = b;
        d = nesterov ? d + momentum * b : b;
      }
      p[i] -= lr * d;
    }
  }

  adamStep(
    n: number, p: Floats, g: Floats, m: Floats, v: Floats, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, decoupled: boolean, step: number,
  ): void {
    const bc1 = 1 - Math.pow(beta1, step);
    const bc2 = 1 - Math.pow(beta2, step);
    for (let i = 0; i < n; i++) {
      let gi = g[i];
      if (decoupled) p[i] *= 1 - lr * weightDecay;
      else gi += weightDecay * p[i];
      const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
      const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
      p[i] -= (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  }

  rmspropStep(n: number, p: Floats, g: Floats, s: Floats, lr: number, alpha: number, eps: number, weightDecay: number): void {
    for (let i = 0; i < n; i++) {
      const gi = g[i] + weightDecay * p[i];
      const si = (s[i] = alpha * s[i] + (1 - alpha) * gi * gi);
      p[i] -= (lr * gi) / (Math.sqrt(si) + eps);
    }
  }

  adagradStep(n: number, p: Floats, g: Floats, s: Floats, lr: number, eps: number, weightDecay: number): void {
    for (let i = 0; i < n; i++) {
      const gi = g[i] + weightDecay * p[i];
      const si = (s[i] += gi * gi);
      p[i] -= (lr * gi) / (Math.sqrt(si) + eps);
    }
  }
}
