/**
 * Tokenizers with a vocabulary: characters or words <-> integer ids. The first four ids are the
 * special tokens `<pad>` = 0, `<unk>` = 1, `<bos>` = 2, `<eos>` = 3, so padding is id 0 and an
 * unseen character or word maps to `<unk>`. A tokenizer serialises to JSON (`toJSON`/`fromJSON`)
 * so that a saved model carries it and works on raw text.
 */
import { RnnkitError, describe } from "../tensor.js";

export const SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"] as const;
export const PAD = 0;
export const UNK = 1;
export const BOS = 2;
export const EOS = 3;

export interface TokenizerJSON {
  kind: "char" | "word";
  tokens: string[];
  lowercase: boolean;
}

export interface BuildOptions {
  /** Keep at most this many tokens besides the specials (most frequent first). */
  maxSize?: number;
  /** Drop tokens seen fewer times. */
  minCount?: number;
  /** Lowercase the text first (word tokenizer default true, char default false). */
  lowercase?: boolean;
}

export class Tokenizer {
  readonly kind: "char" | "word";
  readonly lowercase: boolean;
  /** id -> token; ids 0..3 are SPECIALS. */
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;

  private constructor(kind: "char" | "word", tokens: string[], lowercase: boolean) {
    this.kind = kind;
    this.tokens = tokens;
    this.lowercase = lowercase;
    this.ids = new Map(tokens.map((t, i) => [t, i]));
  }

  /** V: the vocabulary size, specials included. */
  get size(): number {
    return this.tokens.length;
  }

  /** Builds the vocabulary of `text`: most frequent first, ties in order of first appearance. */
  static build(kind: "char" | "word", text: string, opts: BuildOptions = {}): Tokenizer {
    if (kind !== "char" && kind !== "word") throw new RnnkitError(`Tokenizer.build: kind: expected "char" or "word", got ${describe(kind)}`);
    if (typeof text !== "string") throw new RnnkitError(`Tokenizer.build: text: expected a string, got ${describe(text)}`);
    const lowercase = opts.lowercase ?? kind === "word";
    const pieces = split(kind, lowercase ? text.toLowerCase() : text);
    if (pieces.length === 0) throw new RnnkitError(`Tokenizer.build: text: expected some ${kind === "char" ? "characters" : "words"}, got an empty text`);
    const counts = new Map<string, number>();
    for (const p of pieces) counts.set(p, (counts.get(p) ?? 0) + 1);
    const minCount = opts.minCount ?? 1;
    let entries = [...counts.entries()].filter(([t, c]) => c >= minCount && !(SPECIALS as readonly string[]).includes(t));
    // Map preserves first-appearance order; a stable sort keeps it among equal counts.
    entries.sort((a, b) => b[1] - a[1]);
    if (opts.maxSize !== undefined) entries = entries.slice(0, opts.maxSize);
    return new Tokenizer(kind, [...SPECIALS, ...entries.map(([t]) => t)], lowercase);
  }

  static fromJSON(j: TokenizerJSON): Tokenizer {
    const where = "Tokenizer.fromJSON";
    if (!j || (j.kind !== "char" && j.kind !== "word")) throw new RnnkitError(`${where}: kind: expected "char" or "word", got ${describe(j?.kind)}`);
    if (!Array.isArray(j.tokens) || !j.tokens.every((t) => typeof t === "string")) throw new RnnkitError(`${where}: tokens: expected a list of strings`);
    SPECIALS.forEach((s, i) => {
      if (j.tokens[i] !== s) throw new RnnkitError(`${where}: tokens[${i}]: expected ${s}, got ${describe(j.tokens[i])}`);
    });
    if (new Set(j.tokens).size !== j.tokens.length) throw new RnnkitError(`${where}: tokens: expected no duplicates`);
    return new Tokenizer(j.kind, [...j.tokens], j.lowercase === true);
  }

  toJSON(): TokenizerJSON {
    return { kind: this.kind, tokens: [...this.tokens], lowercase: this.lowercase };
  }

  /** Text -> ids (unknown pieces -> <unk>), optionally framed by <bos> ... <eos>. */
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): Int32Array {
    const pieces = split(this.kind, this.lowercase ? text.toLowerCase() : text);
    const out = new Int32Array(pieces.length + (opts.bos ? 1 : 0) + (opts.eos ? 1 : 0));
    let k = 0;
    if (opts.bos) out[k++] = BOS;
    for (const p of pieces) out[k++] = this.ids.get(p) ?? UNK;
    if (opts.eos) out[k++] = EOS;
    return out;
  }

  /** Ids -> text; specials are dropped, except <unk> which shows as "<unk>". */
  decode(ids: ArrayLike<number>): string {
    const parts: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
        throw new RnnkitError(`Tokenizer.decode: ids[${i}]: expected an integer in [0, ${this.tokens.length - 1}], got ${describe(id)}`);
      }
      if (id === PAD || id === BOS || id === EOS) continue;
      parts.push(this.tokens[id]);
    }
    return parts.join(this.kind === "char" ? "" : " ");
  }

  /** The id of one token (<unk> when unknown). */
  id(token: string): number {
    return this.ids.get(this.lowercase ? token.toLowerCase() : token) ?? UNK;
  }
}

/** Characters are code points (so an emoji is one token); words are runs of letters/digits/apostrophes, or single punctuation marks. */
function split(kind: "char" | "word", text: string): string[] {
  if (kind === "char") return Array.from(text);
  return text.match(/[\p{L}\p{N}']+|[^\s\p{L}\p{N}']/gu) ?? [];
}
