/**
 * Predictions as JSON rows: one object per input, the same for every front end (a line of
 * `rnnkit predict --json`, an element of `rnnkit serve`'s `outputs`). `checkInputs` says what a
 * task takes, before any work is queued, so that a server answers a bad request with a 400 and
 * never lets it fail a batch it shares with others.
 *
 *   classify  "some text"                           -> { label, probabilities }
 *   tag       ["tokens", "of", "a", "sentence"]     -> { tokens, tags, confidence }
 *   seq2seq   "source text"                         -> { output, score }   ("" -> { output: null, score: null })
 *   forecast  [[y, x1, ...], ...] or [y, ...]       -> { forecast: [the next horizon values] }
 *   lm        "prompt" or { prompt, length, temperature, topK, topP, seed } -> { text }
 */
import { defaults } from "../defaults.js";
import { checkSampleOptions } from "../decode/sample.js";
import { RnnkitError, describe } from "../tensor.js";
import type { Translation } from "../decode/seq2seq.js";
import type { ClassPrediction } from "./classify.js";
import type { TaskModel } from "./open.js";
import type { TagPrediction } from "./tag.js";

/** Rounded to 4 decimals (probabilities to 6), as every JSON front end prints them. */
export function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

export interface GenerationRequest {
  prompt: string;
  length?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}

/** The row of one classification. */
export function classifyRow(p: ClassPrediction): Record<string, unknown> {
  const probabilities: Record<string, number> = {};
  for (const [k, v] of Object.entries(p.probabilities)) probabilities[k] = round6(v);
  return { label: p.label, probabilities };
}

/** The row of one tagged sentence. */
export function tagRow(tokens: readonly string[], p: TagPrediction): Record<string, unknown> {
  return { tokens, tags: p.tags, confidence: p.confidence.map(round4) };
}

/** The row of one translation. */
export function seq2seqRow(output: string, t: Translation): Record<string, unknown> {
  return { output, score: round4(t.score) };
}

/** Throws an RnnkitError naming the first input that `t` cannot take (`inputs[i]: expected ..., got ...`). */
export function checkInputs(t: TaskModel, inputs: unknown): asserts inputs is unknown[] {
  if (!Array.isArray(inputs)) throw new RnnkitError(`inputs: expected an array, got ${describe(inputs)}`);
  inputs.forEach((x, i) => {
    const bad = (what: string) => new RnnkitError(`inputs[${i}]: expected ${what}, got ${describe(x)}`);
    switch (t.task) {
      case "classify":
      case "seq2seq":
        if (typeof x !== "string") throw bad("a string");
        break;
      case "tag":
        if (!Array.isArray(x) || x.length === 0 || !x.every((w) => typeof w === "string" && w.length > 0)) throw bad("a non-empty list of tokens (strings)");
        break;
      case "forecast": {
        const F = 1 + t.info.features.length;
        if (!Array.isArray(x) || x.length < t.window) throw bad(`a list of at least ${t.window} rows (the model's window)`);
        const flat = x.every((v) => typeof v === "number");
        if (flat && F !== 1) throw bad(`rows of ${F} numbers [${[t.info.column, ...t.info.features].join(", ")}]`);
        if (!flat && !x.every((r) => Array.isArray(r) && r.length === F && r.every((v) => typeof v === "number" && Number.isFinite(v)))) {
          throw bad(`rows of ${F} finite numbers [${[t.info.column, ...t.info.features].join(", ")}]`);
        }
        if (flat && !x.every((v) => Number.isFinite(v))) throw bad("finite numbers");
        break;
      }
      case "lm": {
        const r = typeof x === "string" ? { prompt: x } : x;
        if (r === null || typeof r !== "object" || typeof (r as GenerationRequest).prompt !== "string" || (r as GenerationRequest).prompt.length === 0) {
          throw bad('a prompt string or {"prompt": "...", "length", "temperature", "topK", "topP", "seed"}');
        }
        const g = r as GenerationRequest;
        if (g.length !== undefined && !(Number.isInteger(g.length) && g.length >= 0 && g.length <= defaults.maxGenerateLength)) {
          throw new RnnkitError(`inputs[${i}].length: expected an integer in [0, ${defaults.maxGenerateLength}], got ${describe(g.length)}`);
        }
        try {
          checkSampleOptions({ temperature: g.temperature, topK: g.topK, topP: g.topP });
        } catch (e) {
          throw new RnnkitError(`inputs[${i}]: ${(e as Error).message}`);
        }
        if (g.seed !== undefined && !Number.isSafeInteger(g.seed)) throw new RnnkitError(`inputs[${i}].seed: expected an integer, got ${describe(g.seed)}`);
        break;
      }
    }
  });
}

/** The JSON row of each input, in order (the inputs are checked first). */
export function predictRows(t: TaskModel, inputs: unknown[], opts: { beam?: number } = {}): Record<string, unknown>[] {
  checkInputs(t, inputs);
  switch (t.task) {
    case "classify":
      return t.predict(inputs as string[]).map(classifyRow);
    case "tag": {
      const sentences = inputs as string[][];
      return t.predictMany(sentences).predictions.map((p, i) => tagRow(sentences[i], p));
    }
    case "seq2seq": {
      const texts = inputs as string[];
      // an empty source has nothing to translate: null, so that rows stay one per input
      const todo = texts.map((s, i) => (s.trim() ? i : -1)).filter((i) => i >= 0);
      const rows: Record<string, unknown>[] = texts.map(() => ({ output: null, score: null }));
      if (todo.length) {
        const r = t.translateMany(todo.map((i) => texts[i]), { beam: opts.beam ?? t.beam });
        todo.forEach((i, k) => (rows[i] = seq2seqRow(r.outputs[k], r.translations[k])));
      }
      return rows;
    }
    case "forecast":
      return (inputs as number[][]).map((rows) => ({ forecast: t.forecast(rows).map(round4) }));
    case "lm":
      return inputs.map((x) => {
        const g: GenerationRequest = typeof x === "string" ? { prompt: x } : (x as GenerationRequest);
        return { text: t.generate(g.prompt, { length: g.length ?? defaults.generateLength, temperature: g.temperature, topK: g.topK, topP: g.topP, seed: g.seed ?? 1 }) };
      });
  }
}
