/**
 * Decoding: greedy, temperature, top-k (Fan et al. 2018) and top-p / nucleus (Holtzman et al.
 * 2020) sampling, and a streaming step API that feeds one item at a time and keeps the state,
 * for generation and for online prediction.
 */
import type { Model } from "../models/model.js";
import { type SequenceModel, asSequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { NonFiniteError, RnnkitError, type Tensor, describe } from "../tensor.js";

export interface SampleOptions {
  /** 0 = greedy (arg-max); 1 = the model's distribution; < 1 sharper, > 1 flatter. */
  temperature?: number;
  /** Keep only the k most likely ids (0 = all). */
  topK?: number;
  /** Keep the smallest set of most likely ids whose probability reaches p (1 = all). */
  topP?: number;
}

/** Checks sampling options (temperature >= 0, topK an integer >= 0, topP in (0, 1]) and fills in their defaults. */
export function checkSampleOptions(o: SampleOptions): Required<SampleOptions> {
  const t = o.temperature ?? 1, k = o.topK ?? 0, p = o.topP ?? 1;
  if (typeof t !== "number" || !(t >= 0) || !Number.isFinite(t)) throw new RnnkitError(`sample: temperature: expected a number >= 0, got ${describe(t)}`);
  if (!Number.isInteger(k) || k < 0) throw new RnnkitError(`sample: topK: expected an integer >= 0, got ${describe(k)}`);
  if (typeof p !== "number" || !(p > 0 && p <= 1)) throw new RnnkitError(`sample: topP: expected a number in (0, 1], got ${describe(p)}`);
  return { temperature: t, topK: k, topP: p };
}

/** Draws one id from `logits` (one row). `exclude` ids are never drawn (e.g. <pad>). */
export function sample(logits: ArrayLike<number>, opts: SampleOptions, rng: Rng, exclude: readonly number[] = []): number {
  const { temperature, topK, topP } = checkSampleOptions(opts);
  const V = logits.length;
  // -Infinity masks an id out; NaN or +Infinity means the model broke, and an index drawn from
  // them would be a silent wrong answer
  for (let i = 0; i < V; i++) {
    const v = logits[i];
    if (Number.isNaN(v) || v === Infinity) throw new NonFiniteError(`sample: logits[${i}]: expected a finite number (or -Infinity to mask the id), got ${v}`);
  }
  const ids = Array.from({ length: V }, (_, i) => i).filter((i) => !exclude.includes(i) && logits[i] !== -Infinity);
  if (ids.length === 0) throw new RnnkitError(`sample: expected at least one id that is neither excluded nor masked (-Infinity), got none of ${V}`);
  ids.sort((a, b) => logits[b] - logits[a]);
  if (temperature === 0) return ids[0];
  let keep = topK > 0 ? ids.slice(0, topK) : ids;
  const mx = logits[keep[0]];
  let probs = keep.map((i) => Math.exp((logits[i] - mx) / temperature));
  let sum = probs.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let acc = 0, n = 0;
    while (n < keep.length && acc < topP * sum) acc += probs[n++];
    keep = keep.slice(0, Math.max(1, n));
    probs = probs.slice(0, keep.length);
    sum = probs.reduce((a, b) => a + b, 0);
  }
  let u = rng.next() * sum;
  for (let i = 0; i < keep.length; i++) {
    u -= probs[i];
    if (u <= 0) return keep[i];
  }
  return keep[keep.length - 1];
}

/**
 * A stream over a model: `feed` one step for each of the B sequences and get the outputs of
 * that step; the recurrent state is kept between calls (`reset` clears it). For token models feed
 * ids, for numeric models feed [B*X] numbers.
 */
export class Stream {
  private h: Tensor | undefined;
  private c: Tensor | undefined;
  private steps = 0;

  readonly model: SequenceModel;

  constructor(model: Model, readonly batch = 1, private readonly condition?: ArrayLike<number>) {
    this.model = asSequenceModel("Stream", model);
    if (model.config.bidirectional) throw new RnnkitError("Stream: a bidirectional model needs the whole sequence; streaming runs one direction only");
  }

  /** One step: returns the outputs [B, O] (logits, or values for a regression model). */
  feed(step: ArrayLike<number>): Tensor {
    const B = this.batch;
    const m = this.model;
    const tokens = m.config.vocabSize !== undefined;
    const want = tokens ? B : B * m.config.inputSize!;
    if (step.length !== want) throw new RnnkitError(`Stream.feed: expected ${want} ${tokens ? "token ids" : "numbers"} (B = ${B}), got ${step.length}`);
    const batch = { T: 1, B, lengths: new Array<number>(B).fill(1), ...(tokens ? { tokens: step } : { inputs: step }) } as Parameters<SequenceModel["forward"]>[0];
    if (this.h) batch.h0 = this.h;
    if (this.c) batch.c0 = this.c;
    if (this.steps === 0 && this.condition) batch.condition = this.condition;
    const wasTraining = m.isTraining;
    m.eval();
    const r = m.forward(batch);
    if (wasTraining) m.train();
    this.h = r.h;
    this.c = r.c;
    this.steps++;
    return { shape: [B, m.config.outputSize], data: r.logits.data };
  }

  reset(): void {
    this.h = this.c = undefined;
    this.steps = 0;
  }
}

/**
 * Generates `length` ids after `prompt` (ids; at least one, e.g. <bos>) with a token language
 * model. Returns the generated ids (the prompt excluded).
 */
export function generateIds(
  model: Model, prompt: ArrayLike<number>, length: number,
  opts: SampleOptions & { seed?: number; exclude?: number[]; stopAt?: number; condition?: ArrayLike<number> } = {},
): number[] {
  if (model.task !== "lm") throw new RnnkitError(`generate: expected a language model (task lm), got task ${model.task}`);
  if (prompt.length === 0) throw new RnnkitError("generate: prompt: expected at least one id (start with <bos>), got none");
  if (!Number.isInteger(length) || length < 0) throw new RnnkitError(`generate: length: expected an integer >= 0, got ${describe(length)}`);
  const rng = new Rng(opts.seed ?? 1);
  const stream = new Stream(model, 1, opts.condition);
  let logits: Tensor | null = null;
  for (let i = 0; i < prompt.length; i++) logits = stream.feed([prompt[i]]);
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const id = sample(logits!.data, opts, rng, opts.exclude ?? [0]);
    if (id === opts.stopAt) break;
    out.push(id);
    logits = stream.feed([id]);
  }
  return out;
}

/** Text in, text out: continues `prompt` by `length` tokens with a token language model. */
export function generate(
  model: Model, tokenizer: { encode(t: string, o?: { bos?: boolean }): Int32Array; decode(ids: ArrayLike<number>): string },
  prompt: string, opts: SampleOptions & { length?: number; seed?: number } = {},
): string {
  const ids = tokenizer.encode(prompt);
  const start = ids.length > 0 ? ids : tokenizer.encode("", { bos: true });
  return tokenizer.decode(generateIds(model, start, opts.length ?? 200, { ...opts, exclude: [0, 1, 2, 3] }));
}
