/**
 * Text classification: a text in, a label and the probability of every label out.
 *
 * The model is a many-to-one `SequenceModel` (task "classify") over token ids; the file carries
 * the tokenizer and a `ClassifyInfo` (labels in output order, the columns, the max length).
 */
import type { Example } from "../data/batches.js";
import { padBatch } from "../data/batches.js";
import type { Tokenizer } from "../data/tokenizer.js";
import { defaults } from "../defaults.js";
import type { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError } from "../tensor.js";
import { accuracy, confusionMatrix, macroF1 } from "./metrics.js";
import { type ClassifyInfo, type Encoded, argmax, encodeAll, softmaxRow, vocabularyOf } from "./task.js";

/** The prediction for one text: the most likely label and the softmax over all labels. */
export interface ClassPrediction {
  label: string;
  probabilities: Record<string, number>;
}

export interface ClassifyEval {
  accuracy: number;
  macroF1: number;
  /** the labels, in the order of the matrix rows and columns */
  labels: string[];
  /** rows = true labels, columns = predicted */
  confusion: number[][];
  count: number;
  /** texts cut to maxLen */
  truncated: number;
  /** tokens never seen in training (read as <unk>) */
  unknownTokens: number;
}

/** The sorted distinct labels of a training column (a classifier needs at least two). */
export function labelSet(gold: readonly string[], column = "label"): string[] {
  const labels = [...new Set(gold)].sort();
  if (labels.length < 2) throw new RnnkitError(`column ${JSON.stringify(column)}: a classifier needs at least 2 distinct labels, got ${labels.length}${labels.length ? ` (${labels.map((l) => JSON.stringify(l)).join(", ")})` : ""}`);
  return labels;
}

/**
 * Inverse-frequency class weights for imbalanced labels, normalised to mean 1 over the classes
 * present (sklearn's "balanced" n / (K * n_c), rescaled): w_c = (1/n_c) / mean_k(1/n_k). A class
 * absent from `targets` gets 1 (it never weighs a training row).
 */
export function balancedClassWeights(targets: readonly number[], K: number): number[] {
  const n = new Array<number>(K).fill(0);
  for (const t of targets) n[t]++;
  const present = n.filter((c) => c > 0);
  const meanInv = present.reduce((a, c) => a + 1 / c, 0) / Math.max(1, present.length);
  return n.map((c) => (c > 0 ? 1 / c / meanInv : 1));
}

/** The vocabulary of the training texts. */
export function classifyTokenizer(kind: "char" | "word", texts: readonly string[], maxSize: number = defaults.maxVocab): Tokenizer {
  return vocabularyOf(kind, texts, maxSize);
}

/**
 * Training / evaluation examples: each text's ids (cut to maxLen) with the index of its gold
 * label. A gold label the model does not know is refused with its row (1-based).
 */
export function classifyExamples(
  tokenizer: Tokenizer, labels: readonly string[], texts: readonly string[], gold: readonly string[], maxLen: number,
): Encoded & { examples: Example[] } {
  const enc = encodeAll(texts.length, (i) => tokenizer.encode(texts[i]), maxLen);
  const examples = enc.ids.map((tokens, i) => {
    const target = labels.indexOf(gold[i]);
    if (target < 0) throw new RnnkitError(`row ${i + 1}: label ${JSON.stringify(gold[i])} is not one the model knows (${labels.join(", ")})`);
    return { tokens, target };
  });
  return { ...enc, examples };
}

/** A loaded classifier: `predict(texts)` and `evaluate(texts, gold)` on raw text. */
export class Classifier {
  readonly task = "classify" as const;
  constructor(readonly model: SequenceModel, readonly tokenizer: Tokenizer, readonly info: ClassifyInfo) {}

  get labels(): readonly string[] {
    return this.info.labels;
  }

  /** Predictions for many texts (batched), in input order, and how many texts were cut / tokens unknown. */
  predictMany(texts: readonly string[]): { predictions: ClassPrediction[]; truncated: number; unknownTokens: number } {
    const enc = encodeAll(texts.length, (i) => this.tokenizer.encode(texts[i]), this.info.maxLen);
    const labels = this.info.labels, O = labels.length;
    const predictions: ClassPrediction[] = [];
    this.model.eval();
    for (let i = 0; i < enc.ids.length; i += defaults.predictBatch) {
      const part = enc.ids.slice(i, i + defaults.predictBatch).map((tokens) => ({ tokens, target: 0 }));
      const r = this.model.forward(padBatch(part, false));
      for (let b = 0; b < part.length; b++) {
        const p = softmaxRow(r.logits.data, b, O);
        const probabilities: Record<string, number> = {};
        labels.forEach((l, k) => (probabilities[l] = p[k]));
        predictions.push({ label: labels[argmax(p)], probabilities });
      }
    }
    return { predictions, truncated: enc.truncated, unknownTokens: enc.unknown };
  }

  /** The predictions for `texts`, in order. */
  predict(texts: readonly string[]): ClassPrediction[] {
    return this.predictMany(texts).predictions;
  }

  /** The prediction for one text. */
  predictOne(text: string): ClassPrediction {
    return this.predict([text])[0];
  }

  /** Accuracy, macro-F1 over the model's labels and the confusion matrix against gold labels. */
  evaluate(texts: readonly string[], gold: readonly string[]): ClassifyEval {
    if (texts.length !== gold.length) throw new RnnkitError(`Classifier.evaluate: expected a gold label per text, got ${texts.length} texts and ${gold.length} labels`);
    const labels = this.info.labels;
    gold.forEach((g, i) => {
      if (!labels.includes(g)) throw new RnnkitError(`row ${i + 1}: label ${JSON.stringify(g)} is not one the model knows (${labels.join(", ")})`);
    });
    const r = this.predictMany(texts);
    const pred = r.predictions.map((p) => p.label);
    return {
      accuracy: accuracy(pred, gold), macroF1: macroF1(pred, gold, labels), labels: [...labels], confusion: confusionMatrix(pred, gold, labels),
      count: texts.length, truncated: r.truncated, unknownTokens: r.unknownTokens,
    };
  }
}
