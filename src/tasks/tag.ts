/**
 * Sequence tagging (part of speech, named entities, chunks): tokens in, one tag per token out.
 *
 * The model is an aligned many-to-many `SequenceModel` (task "tag") over word ids. The tokens are
 * taken as given (no splitting: a CoNLL line is one token), so the vocabulary is a word
 * `Tokenizer` of exactly the training tokens, optionally lowercased; a token never seen in
 * training reads as <unk>.
 *
 * Input text formats (parsed here from strings, so a server and the CLI share them):
 * - CoNLL: one `token<TAB>tag` per line (more columns: the first is the token, the last the tag),
 *   a blank line between sentences; for prediction the tag column may be missing;
 * - JSON Lines: one `{"tokens": [...], "tags": [...]}` per line (`tags` optional for prediction).
 */
import type { Example } from "../data/batches.js";
import { padBatch } from "../data/batches.js";
import { SPECIALS, Tokenizer } from "../data/tokenizer.js";
import { defaults } from "../defaults.js";
import type { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError } from "../tensor.js";
import { tokenAccuracy } from "./metrics.js";
import { type Encoded, type TagInfo, argmax, encodeAll, softmaxRow } from "./task.js";

export interface Sentence {
  tokens: string[];
  /** absent when the input has no tag column */
  tags?: string[];
  /** the 1-based line it starts on */
  line: number;
}

export type TaggedFormat = "conll" | "jsonl";

/**
 * Sentences of a CoNLL text. `requireTags`: a token line without a tab is refused with its line
 * number (training, evaluation); otherwise a line without a tab is a token with no tag.
 */
export function parseConll(text: string, opts: { requireTags: boolean; source?: string }): Sentence[] {
  const source = opts.source ?? "input";
  const out: Sentence[] = [];
  let cur: Sentence | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/\s+$/, "");
    if (line.trim() === "") {
      if (cur) out.push(cur);
      cur = null;
      return;
    }
    const cols = line.split("\t");
    if (cols.length < 2 && opts.requireTags) {
      throw new RnnkitError(`${source}:${i + 1}: expected "token<TAB>tag", got ${JSON.stringify(line.slice(0, 60))} (no tab)`);
    }
    if (cols[0] === "") throw new RnnkitError(`${source}:${i + 1}: expected a token before the tab, got an empty token`);
    if (!cur) cur = { tokens: [], line: i + 1 };
    cur.tokens.push(cols[0]);
    if (cols.length >= 2) {
      const tag = cols[cols.length - 1].trim();
      if (tag === "") throw new RnnkitError(`${source}:${i + 1}: expected a tag after the tab, got an empty tag`);
      (cur.tags ??= []).push(tag);
    }
    if (cur.tags && cur.tags.length !== cur.tokens.length) {
      throw new RnnkitError(`${source}:${i + 1}: expected every line of a sentence to have a tag or none to, got a mix (the sentence starts on line ${cur.line})`);
    }
  });
  if (cur) out.push(cur);
  if (out.length === 0) throw new RnnkitError(`${source}: expected at least one sentence, got none`);
  return out;
}

/** Sentences of a JSON Lines text: `{"tokens": [...], "tags": [...]}` per line; counts must agree. */
export function parseTaggedJsonl(text: string, opts: { requireTags: boolean; source?: string }): Sentence[] {
  const source = opts.source ?? "input";
  const out: Sentence[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const at = `${source}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new RnnkitError(`${at}: expected one JSON object per line, got ${JSON.stringify(line.slice(0, 60))} (${(e as Error).message})`);
    }
    const o = v as { tokens?: unknown; tags?: unknown };
    const isStrings = (a: unknown): a is string[] => Array.isArray(a) && a.every((s) => typeof s === "string");
    if (!o || typeof o !== "object" || !isStrings(o.tokens) || o.tokens.length === 0) throw new RnnkitError(`${at}: expected "tokens": a non-empty list of strings`);
    if (o.tags === undefined) {
      if (opts.requireTags) throw new RnnkitError(`${at}: expected "tags": a list of strings, one per token, got none`);
      out.push({ tokens: o.tokens, line: i + 1 });
      return;
    }
    if (!isStrings(o.tags)) throw new RnnkitError(`${at}: expected "tags": a list of strings`);
    if (o.tags.length !== o.tokens.length) throw new RnnkitError(`${at}: expected as many tags as tokens, got ${o.tokens.length} tokens and ${o.tags.length} tags`);
    out.push({ tokens: o.tokens, tags: o.tags, line: i + 1 });
  });
  if (out.length === 0) throw new RnnkitError(`${source}: expected at least one sentence, got none`);
  return out;
}

/** Parses by format. */
export function parseTagged(text: string, format: TaggedFormat, opts: { requireTags: boolean; source?: string }): Sentence[] {
  return format === "jsonl" ? parseTaggedJsonl(text, opts) : parseConll(text, opts);
}

/** Writes tagged sentences back in the input's format (CoNLL: `token\ttag` lines, a blank line between sentences). */
export function formatTagged(sentences: readonly { tokens: readonly string[]; tags: readonly string[] }[], format: TaggedFormat): string[] {
  if (format === "jsonl") return sentences.map((s) => JSON.stringify({ tokens: s.tokens, tags: s.tags }));
  const lines: string[] = [];
  sentences.forEach((s, k) => {
    if (k > 0) lines.push("");
    s.tokens.forEach((t, i) => lines.push(`${t}\t${s.tags[i]}`));
  });
  return lines;
}

/** The word vocabulary of the training tokens as given (most frequent first), and the sorted tag set. */
export function tagVocabulary(sentences: readonly Sentence[], opts: { lowercase?: boolean; maxSize?: number } = {}): { tokenizer: Tokenizer; tags: string[] } {
  const lowercase = opts.lowercase === true;
  const counts = new Map<string, number>();
  const tags = new Set<string>();
  for (const s of sentences) {
    for (const t of s.tokens) {
      const k = lowercase ? t.toLowerCase() : t;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const g of s.tags ?? []) tags.add(g);
  }
  let entries = [...counts.entries()].filter(([t]) => !(SPECIALS as readonly string[]).includes(t)).sort((a, b) => b[1] - a[1]);
  entries = entries.slice(0, opts.maxSize ?? defaults.maxVocab);
  const tokenizer = Tokenizer.fromJSON({ kind: "word", tokens: [...SPECIALS, ...entries.map(([t]) => t)], lowercase });
  return { tokenizer, tags: [...tags].sort() };
}

function encodeSentences(tokenizer: Tokenizer, sentences: readonly { tokens: readonly string[] }[], maxLen: number): Encoded {
  return encodeAll(sentences.length, (i) => Int32Array.from(sentences[i].tokens, (t) => tokenizer.id(t)), maxLen);
}

/** Training examples: token ids and tag ids, cut to maxLen; an unknown tag is refused with its line. */
export function tagExamples(tokenizer: Tokenizer, tags: readonly string[], sentences: readonly Sentence[], maxLen: number): Encoded & { examples: Example[] } {
  const enc = encodeSentences(tokenizer, sentences, maxLen);
  const index = new Map(tags.map((t, i) => [t, i]));
  const examples = enc.ids.map((tokens, i) => {
    const s = sentences[i];
    if (!s.tags) throw new RnnkitError(`line ${s.line}: expected a tag for every token, got none`);
    const target = s.tags.slice(0, tokens.length).map((g, k) => {
      const id = index.get(g);
      if (id === undefined) throw new RnnkitError(`line ${s.line + k}: tag ${JSON.stringify(g)} is not one the model knows (${tags.join(", ")})`);
      return id;
    });
    return { tokens, target };
  });
  return { ...enc, examples };
}

export interface TagPrediction {
  tags: string[];
  /** the probability of each chosen tag */
  confidence: number[];
}

/** A loaded tagger: `predict(sentences)` gives a tag per token; `evaluate` the token accuracy. */
export class Tagger {
  readonly task = "tag" as const;
  constructor(readonly model: SequenceModel, readonly tokenizer: Tokenizer, readonly info: TagInfo) {}

  get tags(): readonly string[] {
    return this.info.tags;
  }

  /** Tags for many sentences (each a list of tokens; whole sentences, never cut), batched, in order. */
  predictMany(sentences: readonly (readonly string[])[]): { predictions: TagPrediction[]; unknownTokens: number } {
    sentences.forEach((s, i) => {
      if (!Array.isArray(s) || s.length === 0) throw new RnnkitError(`Tagger.predict: sentence ${i}: expected a non-empty list of tokens`);
    });
    const enc = encodeSentences(this.tokenizer, sentences.map((tokens) => ({ tokens })), Infinity);
    const O = this.info.tags.length;
    const predictions: TagPrediction[] = [];
    this.model.eval();
    for (let i = 0; i < enc.ids.length; i += defaults.predictBatch) {
      const part = enc.ids.slice(i, i + defaults.predictBatch).map((tokens) => ({ tokens, target: Array.from(tokens, () => 0) }));
      const batch = padBatch(part, true);
      const r = this.model.forward(batch);
      const B = batch.B;
      for (let b = 0; b < B; b++) {
        const tags: string[] = [], confidence: number[] = [];
        for (let t = 0; t < batch.lengths[b]; t++) {
          const p = softmaxRow(r.logits.data, t * B + b, O);
          const k = argmax(p);
          tags.push(this.info.tags[k]);
          confidence.push(p[k]);
        }
        predictions.push({ tags, confidence });
      }
    }
    return { predictions, unknownTokens: enc.unknown };
  }

  /** One tag per token, for each sentence. */
  predict(sentences: readonly (readonly string[])[]): string[][] {
    return this.predictMany(sentences).predictions.map((p) => p.tags);
  }

  /** Token accuracy against the gold tags. */
  evaluate(sentences: readonly { tokens: readonly string[]; tags?: readonly string[] }[]): { tokenAccuracy: number; tokens: number; count: number; unknownTokens: number } {
    const gold = sentences.map((s, i) => {
      if (!s.tags) throw new RnnkitError(`Tagger.evaluate: sentence ${i}: expected gold tags, got none`);
      return s.tags;
    });
    const r = this.predictMany(sentences.map((s) => s.tokens));
    return {
      tokenAccuracy: tokenAccuracy(r.predictions.map((p) => p.tags), gold), tokens: gold.reduce((n, g) => n + g.length, 0),
      count: sentences.length, unknownTokens: r.unknownTokens,
    };
  }
}
