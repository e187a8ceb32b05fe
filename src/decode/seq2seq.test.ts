/**
 * translate: beam search against an exhaustive search scored by teacher forcing (a tiny
 * vocabulary), beam 1 equals greedy, batched decoding equals decoding each input alone, seeded
 * sampling reproduces, attention rows.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { EOS } from "../data/tokenizer.js";
import { Seq2Seq, type Seq2SeqConfig } from "../models/seq2seq.js";
import { beamSearch, translate } from "./seq2seq.js";

const f64 = new JsBackend({ dtype: "float64" });
// V = 5: <pad> <unk> <bos> <eos> and one word (4); the decoder may produce 1, 3 (<eos>) and 4
const V = 5;
const cfg = (attention: Seq2SeqConfig["attention"], seed: number): Seq2SeqConfig => ({
  cell: "lstm", sourceVocabSize: 7, targetVocabSize: V, embeddingDim: 3, hiddenSize: 4, bidirectional: true, decoderHiddenSize: 5, attention, seed,
});
const sources = [[4, 5, 6], [6], [5, 5, 4, 6]];
const lp = (n: number, alpha: number) => Math.pow((5 + n) / 6, alpha);

/** Every output of at most `maxLength` steps: k < maxLength words then <eos>, or maxLength words (cut). */
function allOutputs(maxLength: number): { ids: number[]; eos: boolean }[] {
  const out: { ids: number[]; eos: boolean }[] = [];
  const grow = (ids: number[]) => {
    if (ids.length < maxLength) out.push({ ids, eos: true });
    if (ids.length === maxLength) {
      out.push({ ids, eos: false });
      return;
    }
    for (const w of [1, 4]) grow([...ids, w]);
  };
  grow([]);
  return out;
}

/** log P(output | source) by teacher forcing (Seq2Seq.forward), the definition beam search must agree with. */
function teacherForced(model: Seq2Seq, source: number[], outs: { ids: number[]; eos: boolean }[]): number[] {
  const B = outs.length, S = source.length;
  const seqs = outs.map((o) => (o.eos ? [...o.ids, EOS] : o.ids));
  const U = Math.max(...seqs.map((s) => s.length));
  const tokens: number[] = [], targets = new Array<number>(U * B).fill(0);
  for (let t = 0; t < S; t++) for (let b = 0; b < B; b++) tokens.push(source[t]);
  seqs.forEach((s, b) => s.forEach((v, t) => (targets[t * B + b] = v)));
  const { logits } = model.forward({ T: S, B, lengths: new Array<number>(B).fill(S), tokens, targets, U, targetLengths: seqs.map((s) => s.length) });
  return seqs.map((s, b) => {
    let sum = 0;
    s.forEach((v, t) => {
      const row = Array.from(logits.data.subarray((t * B + b) * V, (t * B + b + 1) * V));
      const mx = Math.max(...row);
      sum += row[v] - mx - Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    });
    return sum;
  });
}

/** A model with peaked, varied distributions (weights scaled up), so that the optimum is not just the empty output. */
function peaked(attention: Seq2SeqConfig["attention"]): Seq2Seq {
  const model = new Seq2Seq(cfg(attention, 11), { backend: f64 }).eval();
  for (const p of model.parameters()) for (let i = 0; i < p.value.data.length; i++) p.value.data[i] *= 4;
  return model;
}
const tally = { outputs: 0, nonEmpty: 0, beatsGreedy: 0 };

for (const attention of ["none", "luong", "bahdanau"] as const) {
  for (const alpha of [0, 1]) {
    test(`beam search finds the best output of an exhaustive search (attention ${attention}, length penalty ${alpha})`, () => {
      const model = peaked(attention);
      const maxLength = 4;
      const outs = allOutputs(maxLength);
      assert.equal(outs.length, 31);
      // width 32 > the most extensions of one step (8 live hypotheses x 3 ids): nothing is pruned
      const got = translate(model, sources, { beam: 32, maxLength, lengthPenalty: alpha });
      sources.forEach((src, b) => {
        const scores = teacherForced(model, src, outs).map((s, i) => s / lp(outs[i].eos ? outs[i].ids.length + 1 : outs[i].ids.length, alpha));
        let best = 0;
        scores.forEach((s, i) => {
          if (s > scores[best]) best = i;
        });
        assert.deepEqual(got[b].ids, outs[best].ids, `source ${b}`);
        assert.ok(Math.abs(got[b].score - scores[best]) < 1e-10, `${got[b].score} vs ${scores[best]}`);
      });
      // a narrow beam never beats the exhaustive optimum
      const narrow = translate(model, sources, { beam: 2, maxLength, lengthPenalty: alpha });
      narrow.forEach((n, b) => assert.ok(n.score <= got[b].score + 1e-12));
      const greedy = translate(model, sources, { maxLength, lengthPenalty: alpha });
      got.forEach((g, b) => {
        tally.outputs++;
        if (g.ids.length > 0) tally.nonEmpty++;
        if (g.score > greedy[b].score + 1e-9) tally.beatsGreedy++;
      });
    });
  }
}

test("the exhaustive cases are not trivial: optima of several lengths, often better than greedy", () => {
  assert.equal(tally.outputs, 18);
  assert.ok(tally.nonEmpty >= 6 && tally.nonEmpty < 18, JSON.stringify(tally));
  assert.ok(tally.beatsGreedy >= 6, JSON.stringify(tally));
});

test("beam 1 equals greedy", () => {
  for (const attention of ["luong", "bahdanau", "luong-dot"] as const) {
    const c = attention === "luong-dot" ? { ...cfg(attention, 3), decoderHiddenSize: 8 } : cfg(attention, 3);
    const model = new Seq2Seq({ ...c, targetVocabSize: 12 }, { backend: f64 });
    const greedy = translate(model, sources, { maxLength: 12, attention: true });
    const beam1 = beamSearch(model, sources, 1, { maxLength: 12, alpha: 0, temperature: 0, topK: 0, topP: 1, seed: 1, attention: true });
    greedy.forEach((g, b) => {
      assert.deepEqual(beam1[b].ids, g.ids);
      assert.ok(Math.abs(beam1[b].score - g.score) < 1e-12);
      assert.equal(g.attention!.length, beam1[b].attention!.length);
      g.attention!.forEach((row, i) => row.forEach((v, s) => assert.ok(Math.abs(v - beam1[b].attention![i][s]) < 1e-12)));
    });
  }
});

test("batched decoding equals decoding each input alone (greedy, beam, attention rows)", () => {
  const model = new Seq2Seq({ ...cfg("bahdanau", 5), targetVocabSize: 12, cell: "gru" }, { backend: f64 });
  for (const opts of [{}, { beam: 4 }, { beam: 3, lengthPenalty: 0.6 }]) {
    const all = translate(model, sources, { ...opts, attention: true, maxLength: 10 });
    sources.forEach((src, b) => {
      const [one] = translate(model, [src], { ...opts, attention: true, maxLength: 10 });
      assert.deepEqual(all[b].ids, one.ids);
      assert.ok(Math.abs(all[b].score - one.score) < 1e-12);
      assert.equal(one.attention!.length, one.ids.length + (one.ids.length < 10 ? 1 : 0));
      one.attention!.forEach((row, i) => {
        assert.equal(row.length, src.length);
        assert.ok(Math.abs(row.reduce((a, x) => a + x, 0) - 1) < 1e-12);
        row.forEach((v, s) => assert.ok(Math.abs(v - all[b].attention![i][s]) < 1e-12));
      });
    });
  }
});

test("sampling: the same seed gives the same outputs; top-k 1 is greedy", () => {
  const model = new Seq2Seq({ ...cfg("luong", 7), targetVocabSize: 12 }, { backend: f64 });
  const a = translate(model, sources, { temperature: 1, seed: 9 });
  const b = translate(model, sources, { temperature: 1, seed: 9 });
  assert.deepEqual(a, b);
  const seeds = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(translate(model, sources, { temperature: 1.5, seed }).map((t) => t.ids)));
  assert.ok(new Set(seeds).size > 1, "different seeds should sample differently");
  assert.deepEqual(translate(model, sources, { temperature: 1, topK: 1, seed: 2 }).map((t) => t.ids), translate(model, sources).map((t) => t.ids));
  // the model stays in the mode it was in
  model.train();
  translate(model, sources);
  assert.equal(model.isTraining, true);
});
