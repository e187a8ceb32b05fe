/**
 * From examples to padded, time-major batches with lengths (padding is never fed as data: the
 * layers see the lengths), with bucketing by length so that a batch wastes little on padding,
 * and the stream layout of truncated BPTT for long texts.
 */
import type { Batch } from "./batch.js";
import { Rng } from "../rng.js";
import { RnnkitError, describe } from "../tensor.js";
import { EOS } from "./tokenizer.js";

/**
 * One sequence example. `tokens` or `inputs` ([T][X] numbers); `target`: a label / values, one
 * label per step, or (seq2seq) the target token sequence.
 */
export interface Example {
  tokens?: ArrayLike<number>;
  inputs?: readonly (readonly number[])[];
  target: number | readonly number[];
  condition?: readonly number[];
}

function lengthOf(e: Example): number {
  return e.tokens ? e.tokens.length : e.inputs ? e.inputs.length : 0;
}

/** Pads a list of examples into one batch. `perStep`: the target is one label per step. */
export function padBatch(examples: readonly Example[], perStep: boolean): Batch {
  const B = examples.length;
  const lengths = examples.map(lengthOf);
  lengths.forEach((len, b) => {
    if (len < 1) throw new RnnkitError(`padBatch: example ${b}: expected at least one step, got an empty sequence`);
  });
  const T = Math.max(...lengths);
  const batch: Batch = { T, B, lengths };
  if (examples[0].tokens) {
    const tokens = new Int32Array(T * B);
    examples.forEach((e, b) => {
      for (let t = 0; t < lengths[b]; t++) tokens[t * B + b] = e.tokens![t];
    });
    batch.tokens = tokens;
  } else {
    const X = examples[0].inputs![0].length;
    const inputs = new Float32Array(T * B * X);
    examples.forEach((e, b) => {
      for (let t = 0; t < lengths[b]; t++) for (let k = 0; k < X; k++) inputs[(t * B + b) * X + k] = e.inputs![t][k];
    });
    batch.inputs = inputs;
  }
  if (perStep) {
    const targets = new Int32Array(T * B);
    examples.forEach((e, b) => {
      const tg = e.target as readonly number[];
      for (let t = 0; t < lengths[b]; t++) targets[t * B + b] = tg[t];
    });
    batch.targets = targets;
  } else {
    batch.targets = examples.flatMap((e) => (typeof e.target === "number" ? [e.target] : [...e.target]));
  }
  if (examples[0].condition) batch.condition = examples.flatMap((e) => [...e.condition!]);
  return batch;
}

/**
 * Pads source-target pairs (seq2seq) into one batch: `tokens` [S*B] source ids and `targets`
 * [U*B] target ids, both time-major and padded with <pad> (0), with `lengths` (source) and
 * `targetLengths`. Each `Example.target` is the target sequence ending with <eos>; <bos> is not
 * part of it (the decoder's input is <bos> followed by the target without its last id).
 */
export function padPairs(examples: readonly Example[]): Batch {
  const where = "padPairs";
  const B = examples.length;
  if (B === 0) throw new RnnkitError(`${where}: expected at least one example, got none`);
  examples.forEach((e, b) => {
    if (!e || !e.tokens) throw new RnnkitError(`${where}: example ${b}: tokens: expected the source ids, got ${describe(e?.tokens)}`);
    if (e.tokens.length < 1) throw new RnnkitError(`${where}: example ${b}: expected at least one source id, got an empty sequence`);
    const t = e.target;
    if (!Array.isArray(t) && !ArrayBuffer.isView(t)) throw new RnnkitError(`${where}: example ${b}: target: expected the target ids (ending with <eos> = ${EOS}), got ${describe(t)}`);
    const tg = t as ArrayLike<number>;
    if (tg.length < 1 || tg[tg.length - 1] !== EOS) {
      throw new RnnkitError(`${where}: example ${b}: target: expected ids ending with <eos> = ${EOS}, got ${tg.length ? `last id ${tg[tg.length - 1]}` : "an empty target"}`);
    }
  });
  const lengths = examples.map((e) => e.tokens!.length);
  const targetLengths = examples.map((e) => (e.target as readonly number[]).length);
  const T = Math.max(...lengths), U = Math.max(...targetLengths);
  const tokens = new Int32Array(T * B), targets = new Int32Array(U * B);
  examples.forEach((e, b) => {
    for (let t = 0; t < lengths[b]; t++) tokens[t * B + b] = e.tokens![t];
    const tg = e.target as readonly number[];
    for (let u = 0; u < targetLengths[b]; u++) targets[u * B + b] = tg[u];
  });
  return { T, B, lengths, tokens, targets, U, targetLengths };
}

/**
 * The batches of one epoch: examples sorted into buckets of similar length, cut into batches,
 * and the batches shuffled (seeded: the same seed and epoch give the same order).
 */
export function bucketBatches(
  examples: readonly Example[], batchSize: number, collate: boolean | ((part: readonly Example[]) => Batch), seed: number, shuffle = true,
): Batch[] {
  // `collate`: the model's own padding (Model.collate), or for padBatch whether targets are per step
  const pad = typeof collate === "function" ? collate : (part: readonly Example[]) => padBatch(part, collate);
  const rng = new Rng(seed);
  const order = examples.map((_, i) => i);
  if (shuffle) shuffleInPlace(order, rng);
  // buckets of 50 batches: sort by length inside each, so lengths in a batch are close but the
  // composition still changes from epoch to epoch
  const bucket = batchSize * 50;
  const batches: Batch[] = [];
  for (let s = 0; s < order.length; s += bucket) {
    const chunk = order.slice(s, s + bucket).sort((a, b) => lengthOf(examples[a]) - lengthOf(examples[b]));
    for (let i = 0; i < chunk.length; i += batchSize) batches.push(pad(chunk.slice(i, i + batchSize).map((k) => examples[k])));
  }
  if (shuffle) shuffleInPlace(batches, rng);
  return batches;
}

export function shuffleInPlace<T>(a: T[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

/**
 * Truncated BPTT over a long token stream (Williams & Peng 1990; the layout of Zaremba et al.
 * 2014): the stream is cut into B parallel rows, and chunk k holds steps [k*T, (k+1)*T) of every
 * row, with the next token as target; the state is carried from chunk to chunk.
 */
/** How many chunks `streamChunks` cuts `n` tokens into (B rows of floor((n-1)/B), chunks of T, the last shorter). */
export function streamChunkCount(n: number, B: number, T: number): number {
  return Math.ceil(Math.floor((n - 1) / B) / T);
}

export function streamChunks(ids: ArrayLike<number>, B: number, T: number): Batch[] {
  const rowLen = Math.floor((ids.length - 1) / B);
  if (rowLen < 1) throw new RnnkitError(`streamChunks: expected a text of more than ${B} tokens for ${B} parallel rows, got ${ids.length}`);
  const chunks: Batch[] = [];
  for (let s = 0; s < rowLen; s += T) {
    const len = Math.min(T, rowLen - s);
    const tokens = new Int32Array(len * B), targets = new Int32Array(len * B);
    for (let t = 0; t < len; t++) for (let b = 0; b < B; b++) {
      tokens[t * B + b] = ids[b * rowLen + s + t];
      targets[t * B + b] = ids[b * rowLen + s + t + 1];
    }
    chunks.push({ T: len, B, lengths: new Array<number>(B).fill(len), tokens, targets });
  }
  return chunks;
}
