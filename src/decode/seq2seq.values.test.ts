/**
 * Beam search against a reference beam search written from its definition (issue 10, item 8: a
 * test written for a mutant that survived the suite, see docs/mutation.md). The reference scores
 * every extension of every hypothesis by teacher forcing (Seq2Seq.forward, not the decoding
 * steps) and keeps no shortcut: translate's beam looks only at each row's 2K best ids, which must
 * change nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { BOS, EOS, PAD } from "../data/tokenizer.js";
import { Seq2Seq, type Seq2SeqConfig } from "../models/seq2seq.js";
import { Rng } from "../rng.js";
import { beamSearch, translate } from "./seq2seq.js";

const f64 = new JsBackend({ dtype: "float64" });
const V = 12;

/** log P(next id | source, prefix) for every id, by teacher forcing. */
function nextLogProbs(model: Seq2Seq, source: number[], prefix: number[]): number[] {
  const S = source.length, U = prefix.length + 1;
  const { logits } = model.forward({ T: S, B: 1, lengths: [S], tokens: source, targets: [...prefix, EOS], U, targetLengths: [U] });
  const row = Array.from(logits.data.subarray(prefix.length * V, (prefix.length + 1) * V));
  const mx = Math.max(...row);
  const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
  return row.map((x) => x - lse);
}

/**
 * Beam search of width K: at each step every live hypothesis is extended by every id but <pad> and
 * <bos>; the 2K best extensions (ties: earlier hypothesis, then lower id) are read in order: an
 * <eos> among the first K ends a hypothesis (score logp / ((5 + n) / 6)^alpha, n counting the
 * <eos>), the first K others live on; at maxLength the living ones end as they are. The search stops
 * when no hypothesis lives, or when the best ended score beats what any living one could reach.
 */
function referenceBeam(model: Seq2Seq, source: number[], K: number, maxLength: number, alpha: number): { ids: number[]; score: number } {
  const lp = (n: number) => (alpha === 0 ? 1 : Math.pow((5 + n) / 6, alpha));
  let live = [{ ids: [] as number[], logp: 0 }];
  const ended: { ids: number[]; score: number }[] = [];
  for (let step = 1; step <= maxLength; step++) {
    const cands: { j: number; v: number; lp: number }[] = [];
    live.forEach((h, j) => nextLogProbs(model, source, h.ids).forEach((l, v) => {
      if (v !== PAD && v !== BOS) cands.push({ j, v, lp: h.logp + l });
    }));
    cands.sort((x, y) => y.lp - x.lp || x.j - y.j || x.v - y.v);
    const next: { ids: number[]; logp: number }[] = [];
    cands.slice(0, 2 * K).forEach((c, i) => {
      if (c.v === EOS) {
        if (i < K) ended.push({ ids: live[c.j].ids, score: c.lp / lp(step) });
      } else if (next.length < K) next.push({ ids: [...live[c.j].ids, c.v], logp: c.lp });
    });
    if (step === maxLength) {
      for (const h of next) ended.push({ ids: h.ids, score: h.logp / lp(step) });
      next.length = 0;
    }
    live = next;
    if (live.length === 0) break;
    if (ended.length > 0) {
      const best = Math.max(...ended.map((e) => e.score));
      const reach = Math.max(...live.map((h) => h.logp / Math.max(lp(step + 1), lp(maxLength))));
      if (best >= reach) break;
    }
  }
  return ended.reduce((a, e) => (e.score > a.score ? e : a));
}

test("beam search equals a reference beam that scores every id of every hypothesis (widths 2 and 3, every attention, with and without a length penalty)", () => {
  const sources = [[4, 5, 6, 7], [8], [9, 9, 4], [5, 10, 6, 6, 11]];
  let differFromGreedy = 0;
  for (const attention of ["none", "luong", "bahdanau"] as const) {
    const cfg: Seq2SeqConfig = { cell: "gru", sourceVocabSize: 12, targetVocabSize: V, embeddingDim: 3, hiddenSize: 5, attention, seed: 21 };
    const model = new Seq2Seq(cfg, { backend: f64 }).eval();
    // larger weights: peaked, varied distributions, so that pruning to 2K ids matters
    for (const p of model.parameters()) for (let i = 0; i < p.value.data.length; i++) p.value.data[i] *= 3;
    for (const K of [2, 3]) for (const alpha of [0, 1]) {
      const got = translate(model, sources, { beam: K, maxLength: 5, lengthPenalty: alpha });
      const greedy = translate(model, sources, { maxLength: 5, lengthPenalty: alpha });
      sources.forEach((src, b) => {
        const want = referenceBeam(model, src, K, 5, alpha);
        assert.deepEqual(got[b].ids, want.ids, `${attention}, beam ${K}, alpha ${alpha}, source ${b}`);
        assert.ok(Math.abs(got[b].score - want.score) < 1e-9, `${got[b].score} vs ${want.score}`);
        if (got[b].ids.join() !== greedy[b].ids.join()) differFromGreedy++;
      });
    }
  }
  // the premise: the beams do find other outputs than greedy decoding
  assert.ok(differFromGreedy >= 5, `${differFromGreedy} outputs differ from greedy`);
});

test("beam search of width 1 with a length penalty: after an <eos> that is the best extension, the search goes on with the second best id", () => {
  // (translate's beam 1 is greedy decoding; beamSearch of width 1 is not, once a length penalty
  // lets a hypothesis outlive an <eos>.) A row's 2K-th best id is read only here: at most one <eos>
  // and K living ids come from one row, so with K = 1 both of its 2 best are needed; hence many
  // random sources and models, each against the reference
  const rng = new Rng(5);
  let checked = 0, outlived = 0;
  for (const attention of ["none", "luong", "bahdanau"] as const) for (const seed of [1, 2, 3, 4]) {
    const model = new Seq2Seq({ cell: "lstm", sourceVocabSize: 12, targetVocabSize: V, embeddingDim: 3, hiddenSize: 4, attention, seed }, { backend: f64 }).eval();
    for (const p of model.parameters()) for (let i = 0; i < p.value.data.length; i++) p.value.data[i] *= 3;
    const sources = Array.from({ length: 15 }, () => Array.from({ length: 1 + Math.floor(rng.next() * 5) }, () => 4 + Math.floor(rng.next() * 8)));
    for (const alpha of [1, 3]) {
      const greedy = translate(model, sources, { maxLength: 6 });
      const got = beamSearch(model, sources, 1, { maxLength: 6, alpha, temperature: 0, topK: 0, topP: 1, seed: 1, attention: false });
      sources.forEach((src, b) => {
        const want = referenceBeam(model, src, 1, 6, alpha);
        assert.deepEqual(got[b].ids, want.ids, `${attention}, seed ${seed}, alpha ${alpha}, source ${JSON.stringify(src)}`);
        assert.ok(Math.abs(got[b].score - want.score) < 1e-9);
        if (want.ids.length > greedy[b].ids.length) outlived++;
        checked++;
      });
    }
  }
  assert.equal(checked, 3 * 4 * 15 * 2);
  assert.ok(outlived >= 5, `${outlived} answers outlived an <eos> that was the best extension`);
});
