/**
 * Captioning: an LSTM language model conditioned on an image feature vector (`conditionSize`),
 * generating a caption greedily. The data are SYNTHETIC: scenes of shapes drawn by a seeded
 * generator in this file, each described by a template grammar.
 *
 * A scene has 1-3 objects in distinct cells (left, middle, right); an object has a colour (red,
 * green, blue, yellow), a shape (circle, square, triangle) and a size (small, large). The "image"
 * is what a noisy detector would give per cell: [present, R, G, B, corners / 4, radius, x offset]
 * (the colour as its RGB, a circle 0 corners, a triangle 3, a square 4; the radius drawn in the
 * size's range; Gaussian noise of sd 0.05 on every number), 3 cells x 7 = 21 features. The
 * caption names the objects left to right: "a large red circle on the left , a small blue square
 * in the middle and a small green triangle on the right".
 *
 * Test scenes are UNSEEN: their caption (which determines the discrete scene) is never a training
 * caption. There are 15,624 discrete scenes, only 72 with one object, so every one-object scene
 * is in training and the test scenes have two or three objects.
 *
 * Metrics: exact-caption accuracy and per-word accuracy (the fraction of reference positions
 * whose word the output has at the same position). Baselines: the most frequent training caption
 * (exact), and the per-position majority caption (per word).
 */
import { BOS, EOS, PAD, Tokenizer, UNK } from "../src/data/tokenizer.js";
import type { Example } from "../src/data/batches.js";
import { generateIds } from "../src/decode/sample.js";
import { saveModel } from "../src/io/model-file.js";
import { parameterTable } from "../src/inspect/parameters.js";
import { SequenceModel } from "../src/models/sequence-model.js";
import { sequenceMetrics } from "../src/tasks/metrics.js";
import type { LmInfo } from "../src/tasks/task.js";
import { Rng } from "../src/rng.js";
import { type ExampleArgs, type Row, isMain, parseArgs, report, run } from "./common.js";
import { logger, mostFrequent, round, trainForSteps } from "./lib-sequences.js";

const NAME = "captions";
const TRAIN_SEED = 101, TEST_SEED = 202;
const TRAIN_SCENES = 6000, TEST_SCENES = 500;
const STEPS = 8000, BATCH = 32, LR = 0.004;

export const COLOURS = ["red", "green", "blue", "yellow"] as const;
export const SHAPES = ["circle", "square", "triangle"] as const;
export const SIZES = ["small", "large"] as const;
export const CELLS = ["left", "middle", "right"] as const;
const RGB: Record<(typeof COLOURS)[number], number[]> = { red: [1, 0, 0], green: [0, 1, 0], blue: [0, 0, 1], yellow: [1, 1, 0] };
const CORNERS: Record<(typeof SHAPES)[number], number> = { circle: 0, triangle: 3, square: 4 };
const RADIUS: Record<(typeof SIZES)[number], [number, number]> = { small: [0.15, 0.35], large: [0.6, 0.9] };
const WHERE: Record<(typeof CELLS)[number], string> = { left: "on the left", middle: "in the middle", right: "on the right" };
/** features per cell */
export const CELL_FEATURES = 7;
export const FEATURES = CELLS.length * CELL_FEATURES;

export interface SceneObject {
  colour: (typeof COLOURS)[number];
  shape: (typeof SHAPES)[number];
  size: (typeof SIZES)[number];
  cell: (typeof CELLS)[number];
}

export interface Scene {
  /** left to right */
  objects: SceneObject[];
  /** [FEATURES]: per cell [present, R, G, B, corners / 4, radius, x offset], with noise */
  features: number[];
  caption: string;
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng.next() * xs.length)];
}

/** A standard normal draw (Box-Muller). */
function gauss(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12), v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The caption of a list of objects, left to right (the template grammar of the header). */
export function captionOf(objects: readonly SceneObject[]): string {
  const phrases = objects.map((o) => `a ${o.size} ${o.colour} ${o.shape} ${WHERE[o.cell]}`);
  return phrases.length === 1 ? phrases[0] : `${phrases.slice(0, -1).join(" , ")} and ${phrases[phrases.length - 1]}`;
}

/** `n` scenes from the seeded generator (the same seed gives the same scenes). */
export function generateScenes(n: number, seed: number): Scene[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const k = 1 + Math.floor(rng.next() * 3);
    const cells = [...CELLS];
    // k distinct cells: a partial Fisher-Yates shuffle, then back in left-to-right order
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rng.next() * (cells.length - i));
      [cells[i], cells[j]] = [cells[j], cells[i]];
    }
    const chosen = cells.slice(0, k).sort((a, b) => CELLS.indexOf(a) - CELLS.indexOf(b));
    const objects: SceneObject[] = chosen.map((cell) => ({ cell, colour: pick(rng, COLOURS), shape: pick(rng, SHAPES), size: pick(rng, SIZES) }));
    const features = new Array<number>(FEATURES).fill(0);
    for (const o of objects) {
      const at = CELLS.indexOf(o.cell) * CELL_FEATURES;
      const [lo, hi] = RADIUS[o.size];
      const clean = [1, ...RGB[o.colour], CORNERS[o.shape] / 4, rng.uniform(lo, hi), rng.uniform(-0.3, 0.3)];
      clean.forEach((v, i) => (features[at + i] = v));
    }
    for (let i = 0; i < FEATURES; i++) features[i] += 0.05 * gauss(rng);
    return { objects, features, caption: captionOf(objects) };
  });
}

/** Training scenes, and test scenes whose captions training never saw. */
export function loadScenes(nTrain = TRAIN_SCENES, nTest = TEST_SCENES): { train: Scene[]; test: Scene[] } {
  const train = generateScenes(nTrain, TRAIN_SEED);
  const seen = new Set(train.map((s) => s.caption));
  const test: Scene[] = [];
  for (let batch = 0; test.length < nTest; batch++) {
    for (const s of generateScenes(nTest * 2, TEST_SEED + batch)) {
      if (test.length < nTest && !seen.has(s.caption)) {
        seen.add(s.caption);
        test.push(s);
      }
    }
  }
  return { train, test };
}

export function captionExamples(tokenizer: Tokenizer, scenes: readonly Scene[]): Example[] {
  return scenes.map((s) => {
    const ids = Array.from(tokenizer.encode(s.caption));
    return { tokens: Int32Array.from([BOS, ...ids]), target: [...ids, EOS], condition: s.features };
  });
}

/** Per-word accuracy: reference positions whose word the hypothesis has at the same position / reference words. */
export function perWordAccuracy(hyps: readonly (readonly string[])[], refs: readonly (readonly string[])[]): number {
  let hit = 0, n = 0;
  refs.forEach((r, i) => {
    r.forEach((w, t) => {
      if (hyps[i][t] === w) hit++;
    });
    n += r.length;
  });
  return n ? hit / n : 0;
}

/** The per-position majority caption of the training captions, as long as the most frequent length. */
export function majorityCaption(captions: readonly (readonly string[])[]): string[] {
  const len = mostFrequent(captions.map((c) => c.length));
  return Array.from({ length: len }, (_, t) => mostFrequent(captions.filter((c) => c.length > t).map((c) => c[t])));
}

export async function main(args: ExampleArgs): Promise<Record<string, unknown>> {
  const log = logger(NAME);
  const t0 = Date.now();
  const { train, test } = args.quick ? loadScenes(300, 30) : loadScenes();
  const tokenizer = Tokenizer.build("word", train.map((s) => s.caption).join("\n"), { lowercase: true });
  const steps = args.steps ?? (args.quick ? 15 : STEPS);
  const H = args.quick ? 16 : 128;
  const model = new SequenceModel({
    task: "lm", cell: "lstm", vocabSize: tokenizer.size, embeddingDim: 32, hiddenSize: H, outputSize: tokenizer.size, conditionSize: FEATURES, seed: args.seed,
  });
  log(`${train.length} training scenes (${new Set(train.map((s) => s.caption)).size} distinct), ${test.length} unseen test scenes; vocabulary ${tokenizer.size}; ${steps} steps of ${BATCH}`);
  const r = await trainForSteps(model, captionExamples(tokenizer, train), { steps, batchSize: BATCH, lr: LR, seed: args.seed, timeBudget: args.timeBudget ?? (args.quick ? 60 : 600) }, log);
  const info: LmInfo = { task: "lm", source: `synthetic shape scenes (examples/captions.ts, seed ${TRAIN_SEED}), conditioned on ${FEATURES} scene features` };
  saveModel(args.out, model, { tokenizer, info });

  const refs = test.map((s) => s.caption.split(" "));
  const hyps = test.map((s) => tokenizer.decode(generateIds(model, [BOS], 40, { condition: s.features, temperature: 0, stopAt: EOS, exclude: [PAD, UNK, BOS] })).split(" "));
  for (let i = 0; i < 3; i++) log(`scene ${i}: ${hyps[i].join(" ")}   (truth: ${test[i].caption})`);
  const exact = sequenceMetrics(hyps, refs).exactMatch;
  const trainCaps = train.map((s) => s.caption.split(" "));
  const frequent = mostFrequent(train.map((s) => s.caption)).split(" ");
  const majority = majorityCaption(trainCaps);
  const rows: Row[] = [
    { metric: "exact-caption accuracy", value: round(exact), baseline: round(sequenceMetrics(refs.map(() => frequent), refs).exactMatch), baselineName: "the most frequent training caption" },
    { metric: "per-word accuracy", value: round(perWordAccuracy(hyps, refs)), baseline: round(perWordAccuracy(refs.map(() => majority), refs)), baselineName: "the per-position majority caption" },
  ];
  const extra = {
    data: "SYNTHETIC scenes of 1-3 shapes (seeded generator in examples/captions.ts), 21 noisy features per scene, template captions; test scenes unseen in training",
    trainScenes: train.length, testScenes: test.length, wordErrorRate: round(sequenceMetrics(hyps, refs).tokenErrorRate), ...r, batchSize: BATCH,
    model: `LSTM 1x${H} language model, embedding 32, h0 = tanh(W features + b)`, parameters: parameterTable(model).total,
    samples: test.slice(0, 3).map((s, i) => ({ truth: s.caption, generated: hyps[i].join(" ") })), wallSeconds: (Date.now() - t0) / 1000, out: args.out,
  };
  report(NAME, rows, extra);
  return { example: NAME, results: rows, ...extra };
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs(NAME))));
