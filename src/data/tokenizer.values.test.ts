/**
 * The tokenizers against an independent definition (issue 10, item 8): on seeded random texts, the
 * vocabulary, the pieces, encode and decode are computed here without the tokenizer's own code (a
 * character-class scanner instead of its regular expression, counts and first positions by hand).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../rng.js";
import { BOS, EOS, PAD, SPECIALS, Tokenizer, UNK } from "./tokenizer.js";

// letters (ASCII, accented, capitals), digits, apostrophes, spaces, newlines, punctuation and an astral emoji
const ALPHABET = ["a", "b", "c", "A", "B", "é", "É", "1", "2", "'", " ", " ", "\n", "\t", ".", ",", "-", "!", "🐳", "<", ">"];
const text = (rng: Rng, n: number) => Array.from({ length: n }, () => ALPHABET[Math.floor(rng.next() * ALPHABET.length)]).join("");

/** Words by a scan over code points: a run of letters, digits and apostrophes is one word; any other non-space is a word alone. */
function words(s: string): string[] {
  const out: string[] = [];
  let run = "";
  for (const ch of s) {
    const wordChar = /\p{L}|\p{N}/u.test(ch) || ch === "'";
    if (wordChar) {
      run += ch;
      continue;
    }
    if (run) out.push(run);
    run = "";
    if (!/\s/u.test(ch)) out.push(ch);
  }
  if (run) out.push(run);
  return out;
}

/** The vocabulary by definition: specials, then pieces seen >= minCount times, most frequent first, ties by first appearance, at most maxSize. */
function vocabulary(pieces: string[], minCount = 1, maxSize = Infinity): string[] {
  const distinct = pieces.filter((p, i) => pieces.indexOf(p) === i && !(SPECIALS as readonly string[]).includes(p));
  const count = (p: string) => pieces.filter((q) => q === p).length;
  const kept = distinct.filter((p) => count(p) >= minCount);
  kept.sort((x, y) => count(y) - count(x) || pieces.indexOf(x) - pieces.indexOf(y));
  return [...SPECIALS, ...kept.slice(0, maxSize)];
}

test("char and word vocabularies equal their definition on random texts (order, minCount, maxSize, lowercase)", () => {
  const rng = new Rng(21);
  for (let trial = 0; trial < 150; trial++) {
    const t = text(rng, 1 + Math.floor(rng.next() * 60));
    const minCount = 1 + Math.floor(rng.next() * 3), maxSize = Math.floor(rng.next() * 12);
    const opts = trial % 2 ? { minCount, maxSize } : {};
    const chars = [...t];
    if (chars.length) assert.deepEqual(Tokenizer.build("char", t, opts).tokens, vocabulary(chars, opts.minCount, opts.maxSize), `char ${JSON.stringify(t)} ${JSON.stringify(opts)}`);
    const lower = words(t.toLowerCase());
    if (lower.length) {
      const w = Tokenizer.build("word", t, opts);
      assert.deepEqual(w.tokens, vocabulary(lower, opts.minCount, opts.maxSize), `word ${JSON.stringify(t)} ${JSON.stringify(opts)}`);
      assert.equal(w.size, w.tokens.length);
      assert.equal(w.lowercase, true, "word tokenizers lowercase by default");
    }
    const cased = words(t);
    if (cased.length) assert.deepEqual(Tokenizer.build("word", t, { lowercase: false }).tokens, vocabulary(cased), "lowercase: false keeps the case");
  }
  // a char tokenizer keeps the case unless asked
  assert.deepEqual(Tokenizer.build("char", "aAa").tokens.slice(4), ["a", "A"]);
  assert.deepEqual(Tokenizer.build("char", "aAa", { lowercase: true }).tokens.slice(4), ["a"]);
  // ties keep the order of first appearance; a higher count comes first whatever its position
  assert.deepEqual(Tokenizer.build("char", "xyzzy").tokens.slice(4), ["y", "z", "x"]);
  assert.deepEqual(Tokenizer.build("word", "it's 3.5 ok").tokens.slice(4), ["it's", "3", ".", "5", "ok"]);
});

test("encode and decode equal their definitions: pieces to ids with <unk>, framing, specials dropped on decode", () => {
  const rng = new Rng(22);
  for (let trial = 0; trial < 150; trial++) {
    for (const kind of ["char", "word"] as const) {
      const train = text(rng, 40);
      const tok = Tokenizer.build(kind, train.trim() ? train : "a", { maxSize: 6 });
      const probe = text(rng, Math.floor(rng.next() * 30));
      const lower = tok.lowercase ? probe.toLowerCase() : probe;
      const pieces = kind === "char" ? [...lower] : words(lower);
      const ids = pieces.map((p) => (tok.tokens.includes(p) && !(SPECIALS as readonly string[]).includes(p) ? tok.tokens.indexOf(p) : UNK));
      assert.deepEqual(Array.from(tok.encode(probe)), ids, `${kind} encode ${JSON.stringify(probe)}`);
      assert.deepEqual(Array.from(tok.encode(probe, { bos: true, eos: true })), [BOS, ...ids, EOS]);
      assert.deepEqual(Array.from(tok.encode(probe, { bos: true })), [BOS, ...ids]);
      assert.deepEqual(Array.from(tok.encode(probe, { eos: true })), [...ids, EOS]);
      pieces.forEach((p, i) => assert.equal(tok.id(p), ids[i], `id(${JSON.stringify(p)})`));
      // decode: every id but <pad>, <bos> and <eos>, as its token, joined by nothing (char) or a space (word)
      const mixed = [PAD, BOS, ...ids, EOS, PAD];
      const shown = mixed.filter((id) => id !== PAD && id !== BOS && id !== EOS).map((id) => tok.tokens[id]);
      assert.equal(tok.decode(mixed), shown.join(kind === "char" ? "" : " "));
      const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
      assert.deepEqual(back.tokens, tok.tokens);
      assert.deepEqual(Array.from(back.encode(probe)), ids);
      assert.equal(back.kind, kind);
      assert.equal(back.lowercase, tok.lowercase);
    }
  }
  // a known text, ids spelled out: vocabulary <pad> <unk> <bos> <eos> l o h e " " w r d
  const tok = Tokenizer.build("char", "hello world");
  assert.deepEqual(tok.tokens.slice(4), ["l", "o", "h", "e", " ", "w", "r", "d"]);
  assert.deepEqual(Array.from(tok.encode("held!", { bos: true })), [BOS, 6, 7, 4, 11, UNK]);
  assert.equal(tok.decode([6, 7, 4, 4, 5, UNK, EOS]), "hello<unk>");
  // the last id is valid, one past it is not
  assert.equal(tok.decode([tok.size - 1]), "d");
  assert.throws(() => tok.decode([tok.size]), /expected an integer in \[0, 11\], got number 12/);
  assert.throws(() => tok.decode([-1]), /got number -1/);
  assert.throws(() => tok.decode([1.5]), /got number 1.5/);
  // the special ids are part of the file format: <pad> 0, <unk> 1, <bos> 2, <eos> 3
  assert.deepEqual([PAD, UNK, BOS, EOS], [0, 1, 2, 3]);
  assert.deepEqual(Array.from(tok.encode("", { bos: true, eos: true })), [2, 3]);
  assert.equal(tok.decode([0, 2, 3]), "", "<pad>, <bos> and <eos> never show");
  const w = Tokenizer.build("word", "The cat. THE dog");
  assert.equal(w.id("THE"), w.id("the"), "id() lowercases like encode");
  assert.equal(w.decode(w.encode("the dog.")), "the dog .");
});

test("fromJSON refuses what a saved tokenizer cannot be: a bad kind, tokens that are not strings, missing specials, duplicates", () => {
  const good = Tokenizer.build("word", "a b").toJSON();
  for (const bad of [null, 7, { ...good, kind: "bpe" }, { ...good, kind: undefined }]) {
    assert.throws(() => Tokenizer.fromJSON(bad as never), /Tokenizer.fromJSON: kind: expected "char" or "word"/, JSON.stringify(bad));
  }
  for (const tokens of ["<pad><unk>", [...good.tokens, 5], { length: 4 }]) {
    assert.throws(() => Tokenizer.fromJSON({ ...good, tokens } as never), /tokens: expected a list of strings/, JSON.stringify(tokens));
  }
  assert.throws(() => Tokenizer.fromJSON({ ...good, tokens: ["<pad>", "<unk>", "<eos>", "<bos>", "a"] }), /tokens\[2\]: expected <bos>/);
  assert.throws(() => Tokenizer.fromJSON({ ...good, tokens: [...good.tokens, "a"] }), /no duplicates/);
  // lowercase is true only when saved as true
  assert.equal(Tokenizer.fromJSON({ ...good, lowercase: "yes" as never }).lowercase, false);
  assert.deepEqual(Tokenizer.fromJSON(good).tokens, good.tokens);
});
