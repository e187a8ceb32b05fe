/**
 * The GRU cell (Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder",
 * arXiv:1406.1078), one step, gate order r, z, n, in two variants.
 *
 * Reset after the matmul (`resetAfter: true`, the default: PyTorch `nn.GRU`, cuDNN, Keras
 * `reset_after=True`):
 *
 *     r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *     n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *     h' = (1 - z) * n + z * h
 *
 * Reset before the matmul (`resetAfter: false`: the paper's form, Keras `reset_after=False`,
 * the TensorFlow.js GRU):
 *
 *     n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)
 *
 * σ is the logistic sigmoid, or with `hard` the hard sigmoid of Keras 2 / TensorFlow.js,
 * σ(v) = max(0, min(1, 0.2 v + 0.5)); below, σ'(z) = z(1-z) for the logistic one, and for the
 * hard one 0.2 where 0 < z < 1, else 0.
 *
 * Backward (reset after): dn = dh'(1-z)(1-n^2), dz = dh'(h-n) σ'(z), dr = dn (W_hn h + b_hn) σ'(r);
 * the hidden side of the n block gets dn * r, the input side dn; dh += dh' z + dGh W_hh.
 * Backward (reset before): d(rh) = dn W_hn, dr = d(rh) h σ'(r), dh += dh' z + d(rh) r + [dr dz] W_h{r,z}.
 */
import {
  type Run, type Sequence, type StepCell, accumulateStandardGrads, backwardSequence, forwardSequence, inputGradient, projectInput, recurrentGrad, stepGemm,
} from "./cell.js";
import type { Floats } from "../tensor.js";

export class GruStep implements StepCell {
  readonly G = 3;
  readonly hasCellState = false;
  readonly needs: StepCell["needs"];

  /** `hard`: the gates use the hard sigmoid (see above). */
  constructor(readonly resetAfter: boolean, readonly hard = false) {
    this.needs = { gh: true, act: true, rh: !resetAfter, dGh: resetAfter, drh: !resetAfter };
  }

  project(r: Run): void {
    // b_hh stays out: its n block sits inside the reset product (reset after) or is added per step.
    projectInput(r, 3, r.gates, false);
  }

  forwardStep(r: Run, o: number, n: number): void {
    const { be, H } = r;
    const G3 = 3 * H;
    if (this.resetAfter) {
      // gh = h W_hh^T + b_hh, all three blocks
      this.hiddenMatmul(r, o, n, r.hPrev, 0, 3 * H);
      be.gruForward(n, H, r.gates, o * G3, r.gh, o * G3, r.hPrev, o * H, r.act, o * G3, r.h, o * H, this.hard);
      return;
    }
    // gh[:, 0:2H] = h W_h{r,z}^T + b_h{r,z}
    this.hiddenMatmul(r, o, n, r.hPrev, 0, 2 * H);
    be.gruResetBeforeGates(n, H, r.gates, o * G3, r.gh, o * G3, r.hPrev, o * H, r.act, o * G3, r.rh, o * H, this.hard);
    // gh[:, 2H:3H] = (r*h) W_hn^T + b_hn
    this.hiddenMatmul(r, o, n, r.rh, 2 * H, H);
    be.gruResetBeforeOutput(n, H, r.gates, o * G3, r.gh, o * G3, r.hPrev, o * H, r.act, o * G3, r.h, o * H);
  }

  forwardSequence(runs: readonly Run[], seq: Sequence): boolean {
    // the reset-before variant's two recurrent GEMMs per step stay per step
    return this.resetAfter && forwardSequence(runs, "gru", 3, this.hard, false, seq, true);
  }

  /** gh[o:o+n, col:col+cols] = v W_hh[col:col+cols]^T + b_hh[col:col+cols], v [n, H] at row o. */
  private hiddenMatmul(r: Run, o: number, n: number, v: Floats, col: number, cols: number): void {
    const { be, w, H } = r;
    const G3 = 3 * H;
    let beta = 0;
    if (w.bhh) {
      be.broadcastRows(n, cols, w.bhh, col, r.gh, o * G3 + col, G3, false);
      beta = 1;
    }
    stepGemm(r, `whh^T@${col}`, n, cols, H, v, o * H, H, true, w.whh, col * H, H, beta, r.gh, o * G3 + col, G3);
  }

  backwardStep(r: Run, o: number, n: number, dhPrev: Floats, dhpOff: number): void {
    const { be, w, H } = r;
    const G3 = 3 * H;
    if (this.resetAfter) {
      be.gruBackward(
        n, H, r.act, o * G3, r.gh, o * G3, r.hPrev, o * H, r.dh, o * H, r.dG, o * G3, r.dGh, o * G3, dhPrev, dhpOff, this.hard,
      );
      recurrentGrad(r, 3, o, n, r.dGh, dhPrev, dhpOff);
      return;
    }
    be.gruResetBeforeBackwardOutput(n, H, r.act, o * G3, r.hPrev, o * H, r.dh, o * H, r.dG, o * G3, dhPrev, dhpOff, this.hard);
    // d(r*h) [n, H] = dn W_hn
    stepGemm(r, "whh_n", n, H, H, r.dG, o * G3 + 2 * H, G3, false, w.whh, 2 * H * H, H, 0, r.drh, 0, H);
    be.gruResetBeforeBackwardGates(n, H, r.act, o * G3, r.hPrev, o * H, r.drh, 0, r.dG, o * G3, dhPrev, dhpOff, this.hard);
    // dh += [dr dz] W_h{r,z}
    stepGemm(r, "whh_rz", n, H, 2 * H, r.dG, o * G3, G3, false, w.whh, 0, H, 1, dhPrev, dhpOff, H);
  }

  backwardSequence(r: Run, seq: Sequence, dh0: Floats, dc0: Floats): boolean {
    // the reset-before variant's three GEMMs per step stay per step
    return this.resetAfter && backwardSequence(r, "gru", 3, this.hard, false, seq, dh0, dc0);
  }

  accumulateGrads(r: Run): void {
    if (this.resetAfter) {
      accumulateStandardGrads(r, 3, r.dG, r.dGh);
      return;
    }
    const { be, w, N, H, inSize } = r;
    const G3 = 3 * H;
    be.gemm(true, false, G3, inSize, N, 1, r.dG, 0, G3, r.x, 0, inSize, 1, w.gwih, 0, inSize);
    // W_h{r,z} multiplies h, W_hn multiplies r*h: two GEMMs over all rows.
    be.gemm(true, false, 2 * H, H, N, 1, r.dG, 0, G3, r.hPrev, 0, H, 1, w.gwhh, 0, H);
    be.gemm(true, false, H, H, N, 1, r.dG, 2 * H, G3, r.rh, 0, H, 1, w.gwhh, 2 * H * H, H);
    if (w.gbih) be.sumRows(N, G3, r.dG, 0, G3, w.gbih, 0);
    if (w.gbhh) be.sumRows(N, G3, r.dG, 0, G3, w.gbhh, 0);
  }

  inputGrad(r: Run, dx: Floats): void {
    inputGradient(r, 3, r.dG, dx);
  }
}
