/**
 * Decoding an encoder-decoder (`Seq2Seq`): greedy, sampling (temperature, top-k, top-p: the
 * `sample` of ./sample.ts) and beam search with the length penalty of Wu et al. 2016 (GNMT),
 * lp(n) = ((5 + n) / 6)^alpha, a hypothesis of n decoder steps ranked by log P / lp(n).
 *
 * Batched: all sources are encoded in one batch, and every step runs all live rows of all
 * inputs (B rows greedy, B*beam rows beam search) through the decoder at once.
 *
 * Lengths: a hypothesis ends at <eos>, or is cut (kept as it is) after `maxLength` decoder steps
 * (<eos> included in the count); the default is 2 * source length + 10, at most
 * defaults.maxDecodeLength. <pad> and <bos> are never produced.
 *
 * Beam search keeps, per input, the `beam` best live hypotheses; of the 2*beam best extensions,
 * those ending in <eos> among the first `beam` are finished (so beam 1 is exactly greedy), the
 * first `beam` others stay live. It stops once no live hypothesis can beat the best finished one
 * (its log-probability can only fall, so its best possible score is log P / max lp of the lengths
 * still allowed), or at maxLength.
 */
import { defaults } from "../defaults.js";
import { BOS, EOS, PAD } from "../data/tokenizer.js";
import type { DecoderState, Seq2Seq } from "../models/seq2seq.js";
import { asSeq2Seq } from "../models/seq2seq.js";
import { Rng } from "../rng.js";
import { type Floats, RnnkitError, describe } from "../tensor.js";
import { sample } from "./sample.js";

export interface TranslateOptions {
  /** Beam width; 1 (default) = greedy, or sampling when temperature > 0. */
  beam?: number;
  /** The most decoder steps per output, <eos> included (default 2 * source length + 10, capped by defaults.maxDecodeLength). */
  maxLength?: number;
  /** GNMT length penalty alpha: lp(n) = ((5 + n) / 6)^alpha; 0 (default) ranks by log-probability. */
  lengthPenalty?: number;
  /** Sampling (beam 1 only): temperature > 0 samples; top-k and top-p as in `sample`. */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Seed of the sampling. */
  seed?: number;
  /** Also return the attention weights of every step. */
  attention?: boolean;
}

export interface Translation {
  /** The output ids, without <bos> and <eos>. */
  ids: number[];
  /** log P(output | source) (under the model, untempered), divided by lp(steps) when a length penalty is set. */
  score: number;
  /** One row of source weights per decoder step (the <eos> step included), for models with attention. */
  attention?: number[][];
}

interface Checked {
  beam: number;
  maxLength: number | null;
  alpha: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  attention: boolean;
}

function check(o: TranslateOptions): Checked {
  const where = "translate";
  if (o === null || typeof o !== "object") throw new RnnkitError(`${where}: expected options, got ${describe(o)}`);
  const beam = o.beam ?? defaults.beam;
  if (!Number.isInteger(beam) || beam < 1) throw new RnnkitError(`${where}: beam: expected an integer >= 1, got ${describe(beam)}`);
  const lim = defaults.maxDecodeLength;
  if (o.maxLength !== undefined && (!Number.isInteger(o.maxLength) || o.maxLength < 1 || o.maxLength > lim)) {
    throw new RnnkitError(`${where}: maxLength: expected an integer in [1, ${lim}], got ${describe(o.maxLength)}`);
  }
  const alpha = o.lengthPenalty ?? defaults.lengthPenalty;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) throw new RnnkitError(`${where}: lengthPenalty: expected a finite number, got ${describe(alpha)}`);
  const temperature = o.temperature ?? 0;
  if (typeof temperature !== "number" || !(temperature >= 0) || !Number.isFinite(temperature)) throw new RnnkitError(`${where}: temperature: expected a number >= 0, got ${describe(temperature)}`);
  if (temperature > 0 && beam > 1) throw new RnnkitError(`${where}: expected sampling (temperature > 0) with beam 1, got beam ${beam}`);
  return {
    beam, maxLength: o.maxLength ?? null, alpha, temperature, topK: o.topK ?? 0, topP: o.topP ?? 1, seed: o.seed ?? 1, attention: o.attention === true,
  };
}

/** log softmax of one row, in float64. */
function logSoftmax(row: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > mx) mx = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - mx);
  const lse = mx + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - lse;
  return out;
}

/** The n largest entries of `ls` (never <pad> or <bos>), best first, ties to the lower id. */
function topIds(ls: Float64Array, n: number): number[] {
  const top: number[] = [];
  for (let v = 0; v < ls.length; v++) {
    if (v === PAD || v === BOS) continue;
    if (top.length === n && ls[v] <= ls[top[n - 1]]) continue;
    let i = top.length < n ? top.length : n - 1;
    while (i > 0 && ls[top[i - 1]] < ls[v]) {
      top[i] = top[i - 1];
      i--;
    }
    top[i] = v;
  }
  return top;
}

const lp = (n: number, alpha: number) => (alpha === 0 ? 1 : Math.pow((5 + n) / 6, alpha));

/**
 * Translates each source (ids, without <bos>/<eos>) with `model`: greedy by default, beam search
 * with `beam` > 1, sampling with `temperature` > 0.
 */
export function translate(model: Seq2Seq, sources: readonly ArrayLike<number>[], opts: TranslateOptions = {}): Translation[] {
  const m = asSeq2Seq("translate", model);
  const o = check(opts);
  if (!Array.isArray(sources) || sources.length === 0) throw new RnnkitError(`translate: sources: expected a non-empty array of id sequences, got ${describe(sources)}`);
  sources.forEach((s, b) => {
    if (!s || typeof s.length !== "number" || s.length < 1) throw new RnnkitError(`translate: sources[${b}]: expected at least one source id, got ${describe(s)}`);
  });
  const wasTraining = m.isTraining;
  m.eval();
  try {
    return o.beam === 1 ? greedy(m, sources, o) : beamSearch(m, sources, o.beam, o);
  } finally {
    if (wasTraining) m.train();
  }
}

function maxLengths(sources: readonly ArrayLike<number>[], o: { maxLength: number | null }): number[] {
  return sources.map((s) => o.maxLength ?? Math.min(2 * s.length + 10, defaults.maxDecodeLength));
}

function attentionRow(w: Floats | undefined, row: number, S: number, len: number): number[] {
  return Array.from(w!.subarray(row * S, row * S + len));
}

/** Greedy (arg-max) or sampled decoding, B rows per step. */
function greedy(m: Seq2Seq, sources: readonly ArrayLike<number>[], o: Checked): Translation[] {
  const B = sources.length, V = m.config.targetVocabSize;
  const maxLen = maxLengths(sources, o);
  const rng = new Rng(o.seed);
  let state = m.startDecoding(sources, 1);
  const S = m.decodingSourceSteps;
  const prev = new Int32Array(B).fill(BOS);
  const done = new Array<boolean>(B).fill(false);
  const out: Translation[] = sources.map(() => ({ ids: [], score: 0 }));
  const logp = new Float64Array(B);
  const steps = new Int32Array(B);
  if (o.attention && m.attention) for (const t of out) t.attention = [];
  const stopAt = Math.max(...maxLen);
  for (let step = 1; step <= stopAt && done.includes(false); step++) {
    const r = m.decodeStep(prev, state);
    state = r.state;
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const row = r.logits.subarray(b * V, (b + 1) * V);
      let pick: number;
      if (o.temperature > 0) pick = sample(row, { temperature: o.temperature, topK: o.topK, topP: o.topP }, rng, [PAD, BOS]);
      else {
        pick = -1;
        for (let v = 0; v < V; v++) if (v !== PAD && v !== BOS && (pick < 0 || row[v] > row[pick])) pick = v;
      }
      logp[b] += logSoftmax(row)[pick];
      steps[b] = step;
      if (out[b].attention) out[b].attention!.push(attentionRow(r.weights, b, S, sources[b].length));
      if (pick === EOS || step === maxLen[b]) done[b] = true;
      if (pick !== EOS) out[b].ids.push(pick);
      prev[b] = pick;
    }
  }
  out.forEach((t, b) => (t.score = logp[b] / lp(steps[b], o.alpha)));
  return out;
}

interface Node {
  id: number;
  parent: Node | null;
  attn: number[] | null;
}

interface Hyp {
  node: Node | null;
  logp: number;
}

function unwind(node: Node | null): { ids: number[]; attn: number[][] } {
  const ids: number[] = [], attn: number[][] = [];
  for (let n = node; n; n = n.parent) {
    if (n.id !== EOS) ids.push(n.id);
    if (n.attn) attn.push(n.attn);
  }
  return { ids: ids.reverse(), attn: attn.reverse() };
}

/**
 * Beam search of width K over all sources at once (B*K decoder rows; row b*K + k is hypothesis
 * k of source b). Exported for the tests (beam 1 equals greedy); `translate` is the API.
 */
export function beamSearch(m: Seq2Seq, sources: readonly ArrayLike<number>[], K: number, o: Omit<Checked, "beam">): Translation[] {
  const B = sources.length, V = m.config.targetVocabSize, N = B * K;
  const maxLen = maxLengths(sources, o);
  let state: DecoderState = m.startDecoding(sources, K);
  const S = m.decodingSourceSteps;
  const keepAttn = o.attention && m.attention !== null;
  const live: Hyp[][] = sources.map(() => [{ node: null, logp: 0 }]);
  const finished: { node: Node; logp: number; score: number }[][] = sources.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const prev = new Int32Array(N).fill(BOS);
  const parent = new Int32Array(N);
  const stopAt = Math.max(...maxLen);
  for (let step = 1; step <= stopAt && done.includes(false); step++) {
    const r = m.decodeStep(prev, state);
    for (let n = 0; n < N; n++) parent[n] = n;
    prev.fill(PAD);
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const cands: { j: number; v: number; lp: number }[] = [];
      // only a row's own 2K best ids can be among the 2K best extensions of all rows
      live[b].forEach((h, j) => {
        const ls = logSoftmax(r.logits.subarray((b * K + j) * V, (b * K + j + 1) * V));
        for (const v of topIds(ls, 2 * K)) cands.push({ j, v, lp: h.logp + ls[v] });
      });
      cands.sort((x, y) => y.lp - x.lp || x.j - y.j || x.v - y.v);
      const next: { j: number; v: number; lp: number }[] = [];
      const node = (c: { j: number; v: number }): Node => ({
        id: c.v, parent: live[b][c.j].node, attn: keepAttn ? attentionRow(r.weights, b * K + c.j, S, sources[b].length) : null,
      });
      for (let i = 0; i < Math.min(cands.length, 2 * K); i++) {
        const c = cands[i];
        if (c.v === EOS) {
          if (i < K) finished[b].push({ node: node(c), logp: c.lp, score: c.lp / lp(step, o.alpha) });
        } else if (next.length < K) next.push(c);
      }
      if (step === maxLen[b]) {
        // cut at the longest allowed output: kept as they are
        for (const c of next) finished[b].push({ node: node(c), logp: c.lp, score: c.lp / lp(step, o.alpha) });
        next.length = 0;
      }
      live[b] = next.map((c) => ({ node: node(c), logp: c.lp }));
      next.forEach((c, i) => {
        parent[b * K + i] = b * K + c.j;
        prev[b * K + i] = c.v;
      });
      if (live[b].length === 0) done[b] = true;
      else if (finished[b].length > 0) {
        const best = Math.max(...finished[b].map((f) => f.score));
        const lpMax = Math.max(lp(step + 1, o.alpha), lp(maxLen[b], o.alpha));
        const bound = Math.max(...live[b].map((h) => h.logp / lpMax));
        if (best >= bound) done[b] = true;
      }
    }
    // reorder the state rows to their parents
    const gather = (t: { shape: number[]; data: Floats }) => {
      const [L, , Hd] = t.shape;
      const d = t.data.slice();
      for (let l = 0; l < L; l++) for (let n = 0; n < N; n++) {
        if (parent[n] !== n) d.set(t.data.subarray((l * N + parent[n]) * Hd, (l * N + parent[n] + 1) * Hd), (l * N + n) * Hd);
      }
      return { shape: t.shape, data: d };
    };
    state = { h: gather(r.state.h) };
    if (r.state.c) state.c = gather(r.state.c);
  }
  return finished.map((f) => {
    let best = f[0];
    for (const x of f) if (x.score > best.score) best = x;
    const u = unwind(best.node);
    const t: Translation = { ids: u.ids, score: best.score };
    if (keepAttn) t.attention = u.attn;
    return t;
  });
}
