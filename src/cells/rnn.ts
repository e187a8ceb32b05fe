/**
 * The Elman RNN cell (PyTorch `nn.RNN` / `nn.RNNCell`), one step:
 *
 *     h' = act(W_ih x + b_ih + W_hh h + b_hh),   act = tanh or relu
 *
 * Backward: dpre = dh' * act'(pre), with tanh' = 1 - h'^2 and relu' = [h' > 0];
 * dh += dpre W_hh, dx = dpre W_ih, dW_ih += dpre^T x, dW_hh += dpre^T h, db_ih = db_hh = sum dpre.
 */
import {
  type Run, type Sequence, type StepCell, accumulateStandardGrads, backwardSequence, forwardSequence, inputGradient, projectInput, recurrentGrad,
  recurrentMatmul,
} from "./cell.js";
import type { Floats } from "../tensor.js";

export class RnnStep implements StepCell {
  readonly G = 1;
  readonly hasCellState = false;
  readonly needs = { gh: false, act: false, rh: false, dGh: false, drh: false };
  constructor(readonly relu: boolean) {}

  project(r: Run): void {
    projectInput(r, 1, r.gates, true);
  }

  forwardStep(r: Run, o: number, n: number): void {
    recurrentMatmul(r, 1, o, n, r.gates);
    r.be.rnnForward(n, r.H, this.relu, r.gates, o * r.H, r.h, o * r.H);
  }

  forwardSequence(runs: readonly Run[], seq: Sequence): boolean {
    return forwardSequence(runs, "rnn", 1, false, this.relu, seq, false);
  }

  backwardStep(r: Run, o: number, n: number, dhPrev: Floats, dhpOff: number): void {
    const H = r.H;
    r.be.rnnBackward(n, H, this.relu, r.h, o * H, r.dh, o * H, r.dG, o * H);
    recurrentGrad(r, 1, o, n, r.dG, dhPrev, dhpOff);
  }

  backwardSequence(r: Run, seq: Sequence, dh0: Floats, dc0: Floats): boolean {
    return backwardSequence(r, "rnn", 1, false, this.relu, seq, dh0, dc0);
  }

  accumulateGrads(r: Run): void {
    accumulateStandardGrads(r, 1, r.dG, r.dG);
  }

  inputGrad(r: Run, dx: Floats): void {
    inputGradient(r, 1, r.dG, dx);
  }
}
