/**
 * Sequence to sequence (transliteration, normalisation, translation): a string in, a string out.
 *
 * The model is a `Seq2Seq` encoder-decoder (models/seq2seq.ts). A model file has one tokenizer
 * slot: it holds the SOURCE side's tokenizer, and the target side's travels in the task info
 * (`Seq2SeqInfo.targetTokenizer`), checked against the model's vocabulary sizes when opened.
 * Decoding is `translate` (decode/seq2seq.ts): greedy, beam search (the info's `beam` is the
 * default width) or sampling.
 */
import type { Example } from "../data/batches.js";
import { EOS, Tokenizer, UNK } from "../data/tokenizer.js";
import { type TranslateOptions, type Translation, translate } from "../decode/seq2seq.js";
import { defaults } from "../defaults.js";
import type { Seq2Seq } from "../models/seq2seq.js";
import { RnnkitError } from "../tensor.js";
import { sequenceMetrics } from "./metrics.js";
import { type Encoded, type Seq2SeqInfo, encodeAll } from "./task.js";

/** One training pair and the 1-based line (or row) it came from. */
export interface Pair {
  source: string;
  target: string;
  line: number;
}

/**
 * Pairs from two columns. A pair with a missing or empty side is refused with its line, or, with
 * `skipBadRows`, left out and counted.
 */
export function seq2seqPairs(
  sources: readonly unknown[], targets: readonly unknown[], lines: readonly number[], opts: { skipBadRows?: boolean } = {},
): { pairs: Pair[]; skipped: number } {
  const pairs: Pair[] = [];
  let skipped = 0;
  sources.forEach((s, i) => {
    const t = targets[i];
    const bad = s === undefined || s === null || String(s).trim() === "" ? "source" : t === undefined || t === null || String(t).trim() === "" ? "target" : null;
    if (bad) {
      if (opts.skipBadRows) {
        skipped++;
        return;
      }
      throw new RnnkitError(`line ${lines[i]}: expected a source and a target, got ${s === undefined || s === null || t === undefined || t === null ? "a missing" : "an empty"} ${bad} (--skip-bad-rows skips such pairs)`);
    }
    pairs.push({ source: String(s), target: String(t), line: lines[i] });
  });
  if (pairs.length === 0) throw new RnnkitError(`expected at least one source-target pair, got none${skipped ? ` (${skipped} skipped)` : ""}`);
  return { pairs, skipped };
}

/**
 * Training examples: `tokens` = source ids (cut to maxLen), `target` = target ids (cut to
 * maxLen - 1) followed by <eos>.
 */
export function seq2seqExamples(source: Tokenizer, target: Tokenizer, pairs: readonly Pair[], maxLen: number): Encoded & { examples: Example[] } {
  let truncated = 0, unknown = 0;
  const examples = pairs.map((p) => {
    // one <unk> for an empty side (see encodeAll); a pair counts once as cut, whichever side was
    const src = encodeAll(1, () => source.encode(p.source), maxLen);
    const tgt = encodeAll(1, () => target.encode(p.target), Math.max(1, maxLen - 1));
    if (src.truncated || tgt.truncated) truncated++;
    unknown += src.unknown;
    return { tokens: src.ids[0], target: [...tgt.ids[0], EOS] };
  });
  return { ids: examples.map((e) => e.tokens), truncated, unknown, examples };
}

export interface Seq2SeqEval {
  /** summed edit distances / summed reference lengths, in target tokens */
  tokenErrorRate: number;
  exactMatch: number;
  count: number;
  truncated: number;
  /** source tokens never seen in training */
  unknownTokens: number;
  beam: number;
}

/** A loaded seq2seq model: `predict(texts)` gives a string per text; `evaluate` the token error rate and exact match. */
export class Translator {
  readonly task = "seq2seq" as const;
  readonly targetTokenizer: Tokenizer;
  constructor(readonly model: Seq2Seq, readonly tokenizer: Tokenizer, readonly info: Seq2SeqInfo) {
    this.targetTokenizer = Tokenizer.fromJSON(info.targetTokenizer);
  }

  /** The default beam width (saved at training). */
  get beam(): number {
    return this.info.beam;
  }

  /** Translations of many texts (batched), in order; `beam` defaults to the info's. */
  translateMany(texts: readonly string[], opts: TranslateOptions = {}): { outputs: string[]; translations: Translation[]; truncated: number; unknownTokens: number } {
    const enc = encodeAll(texts.length, (i) => this.tokenizer.encode(texts[i]), this.info.maxLen);
    const translations: Translation[] = [];
    this.model.eval();
    for (let i = 0; i < enc.ids.length; i += defaults.predictBatch) {
      translations.push(...translate(this.model, enc.ids.slice(i, i + defaults.predictBatch), { ...opts, beam: opts.beam ?? this.info.beam }));
    }
    return { outputs: translations.map((t) => this.targetTokenizer.decode(t.ids)), translations, truncated: enc.truncated, unknownTokens: enc.unknown };
  }

  /** The output string for each text. */
  predict(texts: readonly string[], opts: TranslateOptions = {}): string[] {
    return this.translateMany(texts, opts).outputs;
  }

  /**
   * Token error rate (edit distance over the reference's target tokens) and exact match against
   * references. A reference token the target vocabulary lacks never counts as matched.
   */
  evaluate(sources: readonly string[], references: readonly string[], opts: TranslateOptions = {}): Seq2SeqEval {
    if (sources.length !== references.length) throw new RnnkitError(`Translator.evaluate: expected a reference per source, got ${sources.length} sources and ${references.length} references`);
    const r = this.translateMany(sources, opts);
    const refs = references.map((s) => Array.from(this.targetTokenizer.encode(s), (id) => (id === UNK ? -1 : id)));
    const m = sequenceMetrics(r.translations.map((t) => t.ids), refs);
    return { ...m, truncated: r.truncated, unknownTokens: r.unknownTokens, beam: opts.beam ?? this.info.beam };
  }
}
