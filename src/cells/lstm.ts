/**
 * The LSTM cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000;
 * PyTorch `nn.LSTM` / `nn.LSTMCell`, no peepholes, no projection), one step. Gate order i, f, g, o:
 *
 *     i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
 *     g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
 *     c' = f * c + i * g                        h' = o * tanh(c')
 *
 * σ is the logistic sigmoid, or with `hard` the hard sigmoid of Keras 2 / TensorFlow.js,
 * σ(v) = max(0, min(1, 0.2 v + 0.5)), whose σ' is 0.2 where 0 < σ < 1 and 0 where clipped.
 *
 * Backward, with dc_t = dc' + dh' * o * (1 - tanh(c')^2):
 *     di = dc_t g σ'(i)    df = dc_t c σ'(f)    dg = dc_t i (1-g^2)   do = dh' tanh(c') σ'(o)
 * with σ' = σ(1-σ) for the logistic sigmoid.
 *     dc += dc_t f,  dh += [di df dg do] W_hh
 */
import {
  type Run, type Sequence, type StepCell, accumulateStandardGrads, backwardSequence, forwardSequence, inputGradient, projectInput, recurrentGrad,
  recurrentMatmul,
} from "./cell.js";
import type { Floats } from "../tensor.js";

export class LstmStep implements StepCell {
  readonly G = 4;
  readonly hasCellState = true;
  readonly needs = { gh: false, act: false, rh: false, dGh: false, drh: false };

  /** `hard`: the gates use the hard sigmoid (see above). */
  constructor(readonly hard = false) {}

  project(r: Run): void {
    projectInput(r, 4, r.gates, true);
  }

  forwardStep(r: Run, o: number, n: number): void {
    const H = r.H;
    recurrentMatmul(r, 4, o, n, r.gates);
    r.be.lstmForward(n, H, r.gates, o * 4 * H, r.cPrev, o * H, r.c, o * H, r.h, o * H, this.hard);
  }

  forwardSequence(runs: readonly Run[], seq: Sequence): boolean {
    return forwardSequence(runs, "lstm", 4, this.hard, false, seq, false);
  }

  backwardStep(r: Run, o: number, n: number, dhPrev: Floats, dhpOff: number, dcPrev: Floats, dcpOff: number): void {
    const H = r.H;
    r.be.lstmBackward(
      n, H, r.gates, o * 4 * H, r.cPrev, o * H, r.c, o * H, r.dh, o * H, r.dc, o * H, r.dG, o * 4 * H, dcPrev, dcpOff,
      this.hard,
    );
    recurrentGrad(r, 4, o, n, r.dG, dhPrev, dhpOff);
  }

  backwardSequence(r: Run, seq: Sequence, dh0: Floats, dc0: Floats): boolean {
    return backwardSequence(r, "lstm", 4, this.hard, false, seq, dh0, dc0);
  }

  accumulateGrads(r: Run): void {
    accumulateStandardGrads(r, 4, r.dG, r.dG);
  }

  inputGrad(r: Run, dx: Floats): void {
    inputGradient(r, 4, r.dG, dx);
  }
}
