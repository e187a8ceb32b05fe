/**
 * The batch every model trains on: padded, time-major, with a length per sequence (padding is
 * never fed as data: the layers see the lengths). One type for every model kind; each kind reads
 * the fields it needs and says which are missing.
 *
 * Shapes: T time steps, B sequences; U target steps (seq2seq).
 */
import { RnnkitError, type Tensor, checkPositiveInt, describe } from "../tensor.js";

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

/** Checks T, B and the lengths of a batch: positive integers, one length in [1, T] per sequence. */
export function checkBatch(where: string, batch: Batch): void {
  if (batch === null || typeof batch !== "object") throw new RnnkitError(`${where}: batch: expected an object {T, B, lengths, ...}, got ${describe(batch)}`);
  checkPositiveInt(where, "batch.T", batch.T);
  checkPositiveInt(where, "batch.B", batch.B);
  checkLengths(where, "batch.lengths", batch.lengths, batch.T, batch.B);
}

/** One length in [1, T] per sequence (B of them), as a plain array. */
export function checkLengths(where: string, name: string, lengths: unknown, T: number, B: number, dim = "T"): number[] {
  if ((!Array.isArray(lengths) && !ArrayBuffer.isView(lengths)) || (lengths as ArrayLike<number>).length !== B) {
    throw new RnnkitError(`${where}: ${name}: expected B = ${B} lengths, got ${describe(lengths)}`);
  }
  const out = Array.from(lengths as ArrayLike<number>);
  out.forEach((n, b) => {
    if (!Number.isInteger(n) || n < 1 || n > T) throw new RnnkitError(`${where}: ${name}[${b}]: expected an integer in [1, ${dim}] = [1, ${T}], got ${describe(n)}`);
  });
  return out;
}

/**
 * Token ids (or class ids) [T*B], time-major, as an Int32Array, checked before anything is cast:
 * every id at a valid step (t < lengths[b]) must be an integer in [0, V-1] (2.7, NaN or -1 are
 * errors, not 2, 0 or a silently ignored row); positions past a length, which are padding and may
 * hold anything, become `fill`.
 */
export function idsOf(
  where: string, name: string, ids: ArrayLike<number> | undefined, T: number, B: number, lengths: readonly number[], V: number, fill: number,
): Int32Array {
  if (!ids || typeof ids.length !== "number") throw new RnnkitError(`${where}: ${name}: expected [T*B] = ${T * B} ids, got ${describe(ids)}`);
  if (ids.length !== T * B) throw new RnnkitError(`${where}: ${name}: expected [T*B] = [${T}*${B}] = ${T * B} ids, got ${ids.length}`);
  const out = new Int32Array(T * B);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const i = t * B + b;
      if (t >= lengths[b]) {
        out[i] = fill;
        continue;
      }
      const v = ids[i];
      if (!Number.isInteger(v) || v < 0 || v >= V) {
        throw new RnnkitError(`${where}: ${name}[${i}] (step ${t}, sequence ${b}): expected an id in [0, V-1] = [0, ${V - 1}], got ${describe(v)}`);
      }
      out[i] = v;
    }
  }
  return out;
}
