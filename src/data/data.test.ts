import assert from "node:assert/strict";
import { test } from "node:test";
import { RnnkitError } from "../tensor.js";
import { Scaler } from "./scaler.js";
import { BOS, EOS, PAD, Tokenizer, UNK } from "./tokenizer.js";

test("char tokenizer: specials first, most frequent next, round trip, unknowns", () => {
  const tok = Tokenizer.build("char", "abracadabra 🐳");
  assert.deepEqual(tok.tokens.slice(0, 4), ["<pad>", "<unk>", "<bos>", "<eos>"]);
  assert.equal(tok.tokens[4], "a");
  assert.equal(tok.tokens.filter((t) => t === "🐳").length, 1, "a code point is one token");
  const ids = tok.encode("cab 🐳", { bos: true, eos: true });
  assert.equal(ids[0], BOS);
  assert.equal(ids[ids.length - 1], EOS);
  assert.equal(tok.decode(ids), "cab 🐳");
  assert.equal(tok.encode("z")[0], UNK);
  assert.equal(tok.decode([PAD, tok.id("a"), UNK]), "a<unk>");
  const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(back.encode("abc"), tok.encode("abc"));
});

test("word tokenizer: lowercase, punctuation, maxSize and minCount", () => {
  const tok = Tokenizer.build("word", "Call me Ishmael. Call me, call me!", { minCount: 2 });
  assert.deepEqual(tok.tokens.slice(4), ["call", "me"]);
  assert.deepEqual(Array.from(tok.encode("CALL me Ahab")), [tok.id("call"), tok.id("me"), UNK]);
  const big = Tokenizer.build("word", "a a a b b c", { maxSize: 2 });
  assert.equal(big.size, 6);
  assert.throws(() => Tokenizer.build("char", ""), /empty text/);
  assert.throws(() => tok.decode([99]), (e: unknown) => e instanceof RnnkitError && /ids\[0\]/.test(e.message));
  assert.throws(() => Tokenizer.fromJSON({ kind: "word", tokens: ["a"], lowercase: true }), /tokens\[0\]/);
});

test("scalers: standard and min-max, inverse, constant columns, JSON", () => {
  const s = Scaler.fit("standard", [1, 2, 3, 4]);
  assert.ok(Math.abs(s.transform(2.5)) < 1e-12);
  assert.ok(Math.abs(s.inverse(s.transform(3.7)) - 3.7) < 1e-12);
  const m = Scaler.fit("minmax", [[0, 5], [10, 5]]);
  assert.equal(m.transform(5, 0), 0.5);
  assert.equal(m.transform(5, 1), 0);
  assert.equal(Scaler.fromJSON(m.toJSON()).inverse(0.25, 0), 2.5);
  assert.equal(Scaler.fit("standard", [3, 3]).transform(3), 0);
  assert.throws(() => Scaler.fit("standard", [1, NaN]), /row 1, feature 0/);
  assert.throws(() => Scaler.fit("standard", []), /at least one row/);
});

test("streamChunkCount is the number of chunks streamChunks cuts (the CLI's settings line quotes it)", async () => {
  const { streamChunkCount, streamChunks } = await import("./batches.js");
  for (const [n, B, T] of [[100, 4, 16], [5760, 32, 64], [9, 8, 1], [1000, 3, 7], [65, 4, 16]]) {
    assert.equal(streamChunkCount(n, B, T), streamChunks(Array.from({ length: n }, (_, i) => i % 5), B, T).length, `${n} tokens, B ${B}, T ${T}`);
  }
});
