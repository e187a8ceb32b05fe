/**
 * The batch every model trains on: padded, time-major, with a length per sequence (padding is
 * never fed as data: the layers see the lengths). One type for every model kind; each kind reads
 * the fields it needs and says which are missing.
 *
 * Shapes: T time steps, B sequences; U target steps (seq2seq).
 */
import type { Tensor } from "../tensor.js";

export interface Batch {
  T: number;
  B: number;
  lengths: number[];
  /** token ids [T*B] (time-major), padding anywhere past a length */
  tokens?: ArrayLike<number>;
  /** numbers [T*B*X] */
  inputs?: ArrayLike<number>;
  /**
   * lm/tag: [T*B] ids (targets past a length are ignored); classify: [B] ids; regress: [B*O]
   * values; seq2seq: [U*B] target ids, time-major, ending in <eos>, ignored past `targetLengths`
   */
  targets?: ArrayLike<number>;
  /** seq2seq: the target steps U and the length of each target sequence (<eos> included) */
  U?: number;
  targetLengths?: number[];
  /** [B*C] conditioning vectors */
  condition?: ArrayLike<number>;
  /** carried state (truncated BPTT): [L*D, B, H] */
  h0?: Tensor;
  c0?: Tensor;
}
