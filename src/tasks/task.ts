/**
 * The task layer's shared vocabulary: the task names, the typed `info` record each task saves in
 * its model file (its schema, checked when a file is opened), and the encoding of raw tokens with
 * a maximum length that every token task shares.
 *
 * A task is what a user does with a model (classify texts, tag tokens, forecast a series); the
 * model's own `task` (models/model.ts `TASKS`) is the head and loss it trains with. They coincide
 * except for forecasting, which is a regression model ("regress") read over a sliding window.
 *
 * Files, terminals and sockets are not this layer's business: the CLI and a server read the
 * input, call a task, and write its result.
 */
import { Tokenizer, type TokenizerJSON, UNK } from "../data/tokenizer.js";
import type { SavedModel } from "../io/model-file.js";
import type { Task } from "../models/model.js";
import { defaults } from "../defaults.js";
import { RnnkitError, describe } from "../tensor.js";

/** The tasks of the task layer and the CLI (`rnnkit train <task>`). */
export const TASK_NAMES = ["lm", "classify", "forecast", "tag", "seq2seq"] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** The model task (head and loss) each task trains. */
export const MODEL_TASK: Record<TaskName, Task> = { lm: "lm", classify: "classify", forecast: "regress", tag: "tag", seq2seq: "seq2seq" };

/** A language model; the tokenizer is the file's. */
export interface LmInfo {
  task: "lm";
  /** what it was trained on (a file name, or a bundled dataset) */
  source?: string;
  valFraction?: number;
  valBpc?: number;
}

/** A text classifier; the tokenizer is the file's, its kind the tokenizer's. */
export interface ClassifyInfo {
  task: "classify";
  /** class names, in the order of the model's outputs */
  labels: string[];
  textColumn: string;
  labelColumn: string;
  /** tokens kept per text */
  maxLen: number;
}

/** A forecaster over a sliding window; the scaler is the file's, one feature per input column. */
export interface ForecastInfo {
  task: "forecast";
  /** the column forecast (the first input of each step) */
  column: string;
  /** covariate columns, the other inputs of each step, in order */
  features: string[];
  /** past steps the model reads */
  window: number;
  /** future steps it forecasts at once (its outputs) */
  horizon: number;
}

/** A tagger: one tag per token; the tokenizer is the file's (a word vocabulary of the tokens as given). */
export interface TagInfo {
  task: "tag";
  /** tag names, in the order of the model's outputs */
  tags: string[];
  /** tokens per sentence in training (predicting reads whole sentences) */
  maxLen: number;
}

/**
 * An encoder-decoder (`Seq2Seq`). A model file has one tokenizer slot: it holds the SOURCE side's
 * tokenizer; the target side's is kept here.
 */
export interface Seq2SeqInfo {
  task: "seq2seq";
  sourceColumn: string;
  targetColumn: string;
  /** the target side's tokenizer */
  targetTokenizer: TokenizerJSON;
  /** source tokens kept (and target tokens trained on, <eos> included) */
  maxLen: number;
  /** the default beam width of predict and eval (1 = greedy) */
  beam: number;
}

export type TaskInfo = LmInfo | ClassifyInfo | ForecastInfo | TagInfo | Seq2SeqInfo;

type Raw = Record<string, unknown>;

function need(source: string, cond: boolean, what: string, got: unknown): void {
  if (!cond) throw new RnnkitError(`${source}: the model file's task info: ${what}, got ${describe(got)}`);
}

function strings(source: string, info: Raw, key: string, min: number): string[] {
  const v = info[key];
  need(source, Array.isArray(v) && v.every((s) => typeof s === "string"), `${key}: expected a list of strings`, v);
  const list = v as string[];
  need(source, list.length >= min, `${key}: expected at least ${min} entries`, list);
  need(source, new Set(list).size === list.length, `${key}: expected no duplicates`, list.join(", "));
  return [...list];
}

function str(source: string, info: Raw, key: string, fallback?: string): string {
  const v = info[key] ?? fallback;
  need(source, typeof v === "string" && v.length > 0, `${key}: expected a column name`, v);
  return v as string;
}

function posInt(source: string, info: Raw, key: string, fallback?: number): number {
  const v = info[key] ?? fallback;
  need(source, Number.isInteger(v) && (v as number) >= 1, `${key}: expected an integer >= 1`, v);
  return v as number;
}

function taskOf(model: Task): TaskName {
  return model === "regress" ? "forecast" : model;
}

/**
 * The typed task info of a loaded model file, checked against its model, tokenizer and scaler.
 * Files that carry no info (a model saved by a program) get the task of their model; older files
 * (rnnkit 0.1) get the defaults of the fields they predate. Whatever is missing or does not fit
 * is an RnnkitError naming it.
 */
export function parseInfo(source: string, saved: Pick<SavedModel, "model" | "info" | "tokenizer" | "scaler">): TaskInfo {
  const raw: Raw = saved.info ?? {};
  const model = saved.model;
  const task = raw.task ?? taskOf(model.task);
  need(source, (TASK_NAMES as readonly unknown[]).includes(task), `task: expected one of ${TASK_NAMES.join(", ")}`, task);
  const name = task as TaskName;
  if (model.task !== MODEL_TASK[name]) {
    throw new RnnkitError(`${source}: the task info says ${name}, which trains a ${MODEL_TASK[name]} model, but the model is a ${model.task} model`);
  }
  const cfg = model.config as Raw;
  const tokens = (tok: Tokenizer | undefined) => {
    if (!tok) throw new RnnkitError(`${source}: a ${name} model needs its tokenizer, and the file has none`);
    if (cfg.vocabSize !== undefined && cfg.vocabSize !== tok.size) {
      throw new RnnkitError(`${source}: the tokenizer has ${tok.size} tokens but the model's vocabulary is ${String(cfg.vocabSize)}`);
    }
  };
  const outputs = (what: string, n: number) => {
    if (cfg.outputSize !== n) throw new RnnkitError(`${source}: the model has ${String(cfg.outputSize)} outputs but the task info lists ${n} ${what}`);
  };
  switch (name) {
    case "lm": {
      tokens(saved.tokenizer);
      const out: LmInfo = { task: "lm" };
      if (typeof raw.source === "string") out.source = raw.source;
      if (typeof raw.valFraction === "number") out.valFraction = raw.valFraction;
      if (typeof raw.valBpc === "number") out.valBpc = raw.valBpc;
      return out;
    }
    case "classify": {
      tokens(saved.tokenizer);
      const labels = strings(source, raw, "labels", 2);
      outputs("labels", labels.length);
      return { task: "classify", labels, textColumn: str(source, raw, "textColumn", "text"), labelColumn: str(source, raw, "labelColumn", "label"), maxLen: posInt(source, raw, "maxLen", defaults.maxLen) };
    }
    case "tag": {
      tokens(saved.tokenizer);
      const tags = strings(source, raw, "tags", 1);
      outputs("tags", tags.length);
      return { task: "tag", tags, maxLen: posInt(source, raw, "maxLen", defaults.maxLen) };
    }
    case "forecast": {
      const features = raw.features === undefined ? [] : strings(source, raw, "features", 0);
      const info: ForecastInfo = {
        task: "forecast", column: str(source, raw, "column"), features, window: posInt(source, raw, "window"),
        horizon: posInt(source, raw, "horizon", typeof cfg.outputSize === "number" ? cfg.outputSize : 1),
      };
      const F = 1 + features.length;
      if (!saved.scaler) throw new RnnkitError(`${source}: a forecast model needs its scaler, and the file has none`);
      if (saved.scaler.features !== F) throw new RnnkitError(`${source}: the scaler has ${saved.scaler.features} feature(s) but the task info names ${F} column(s) (${[info.column, ...features].join(", ")})`);
      if (cfg.inputSize !== F) throw new RnnkitError(`${source}: the model reads ${String(cfg.inputSize)} input(s) per step but the task info names ${F} column(s)`);
      outputs("forecast steps (horizon)", info.horizon);
      return info;
    }
    case "seq2seq": {
      const side = (what: string, tok: Tokenizer | undefined, size: unknown) => {
        if (!tok) throw new RnnkitError(`${source}: a seq2seq model needs its ${what} tokenizer, and the file has none`);
        if (tok.size !== size) throw new RnnkitError(`${source}: the ${what} tokenizer has ${tok.size} tokens but the model's ${what} vocabulary is ${String(size)}`);
      };
      side("source", saved.tokenizer, cfg.sourceVocabSize);
      need(source, raw.targetTokenizer !== null && typeof raw.targetTokenizer === "object", "targetTokenizer: expected the target side's tokenizer", raw.targetTokenizer);
      let target: Tokenizer;
      try {
        target = Tokenizer.fromJSON(raw.targetTokenizer as TokenizerJSON);
      } catch (e) {
        throw new RnnkitError(`${source}: the model file's task info: targetTokenizer: ${(e as Error).message}`);
      }
      side("target", target, cfg.targetVocabSize);
      return {
        task: "seq2seq", sourceColumn: str(source, raw, "sourceColumn", "source"), targetColumn: str(source, raw, "targetColumn", "target"),
        targetTokenizer: target.toJSON(), maxLen: posInt(source, raw, "maxLen", defaults.maxLen), beam: posInt(source, raw, "beam", defaults.beam),
      };
    }
  }
}

/** The vocabulary of many texts (joined so that the joint is no token: for characters a newline would be one). */
export function vocabularyOf(kind: "char" | "word", texts: readonly string[], maxSize: number = defaults.maxVocab): Tokenizer {
  return Tokenizer.build(kind, texts.join(kind === "char" ? "" : "\n"), { maxSize });
}

/** Token ids of many inputs cut to `maxLen`, with what a user should hear about: how many were cut and how many tokens were unknown. */
export interface Encoded {
  ids: Int32Array[];
  /** inputs longer than maxLen, cut */
  truncated: number;
  /** tokens (in what was kept) that map to <unk>: never seen in training */
  unknown: number;
}

/**
 * Encodes `n` inputs with `encode(i)`, cutting each to `maxLen` (Infinity: no cut); an empty
 * input becomes one <unk> (a model needs at least one step) and is not counted as unknown.
 */
export function encodeAll(n: number, encode: (i: number) => Int32Array, maxLen = Infinity): Encoded {
  let truncated = 0, unknown = 0;
  const ids: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    let x = encode(i);
    if (x.length === 0) {
      ids.push(Int32Array.of(UNK));
      continue;
    }
    if (x.length > maxLen) {
      x = x.subarray(0, maxLen);
      truncated++;
    }
    for (let k = 0; k < x.length; k++) if (x[k] === UNK) unknown++;
    ids.push(x);
  }
  return { ids, truncated, unknown };
}

/** Softmax of row `b` of `[B, O]` logits. */
export function softmaxRow(logits: ArrayLike<number>, b: number, O: number): number[] {
  let mx = -Infinity;
  for (let k = 0; k < O; k++) mx = Math.max(mx, logits[b * O + k]);
  const e: number[] = [];
  let sum = 0;
  for (let k = 0; k < O; k++) {
    e.push(Math.exp(logits[b * O + k] - mx));
    sum += e[k];
  }
  return e.map((v) => v / sum);
}

export function argmax(p: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
  return best;
}

