/**
 * The helpers every task predicts with, against their definitions (issue 10, item 8: tests
 * written for mutants that survived the suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tokenizer, UNK } from "../data/tokenizer.js";
import { Rng } from "../rng.js";
import { argmax, encodeAll, softmaxRow, vocabularyOf } from "./task.js";

test("argmax is the first index of the maximum (numpy's and PyTorch's tie rule)", () => {
  assert.equal(argmax([0.5, 0.5]), 0);
  assert.equal(argmax([0.1, 0.3, 0.3, 0.3]), 1);
  assert.equal(argmax([-1, -1, -2]), 0);
  assert.equal(argmax([7]), 0);
  const rng = new Rng(31);
  for (let trial = 0; trial < 200; trial++) {
    // few distinct values, so ties are frequent
    const p = Array.from({ length: 1 + Math.floor(rng.next() * 6) }, () => Math.floor(rng.next() * 3) / 2);
    assert.equal(argmax(p), p.indexOf(Math.max(...p)), JSON.stringify(p));
  }
});

test("softmaxRow is exp(x_k) / sum exp(x) of one row, stable for large logits", () => {
  const rng = new Rng(32);
  for (let trial = 0; trial < 100; trial++) {
    const B = 1 + Math.floor(rng.next() * 3), O = 1 + Math.floor(rng.next() * 5);
    const logits = Array.from({ length: B * O }, () => rng.uniform(-4, 4));
    for (let b = 0; b < B; b++) {
      const row = logits.slice(b * O, (b + 1) * O);
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      softmaxRow(logits, b, O).forEach((p, k) => assert.ok(Math.abs(p - Math.exp(row[k]) / z) < 1e-12, `row ${b}, ${k}`));
    }
  }
  // exp(1000) overflows: the shift by the maximum keeps it finite, and a shift changes nothing
  assert.deepEqual(softmaxRow([1000, 1000], 0, 2), [0.5, 0.5]);
  const a = softmaxRow([0, 1, 2, 1000, 1001, 1002], 1, 3), b = softmaxRow([0, 1, 2], 0, 3);
  a.forEach((p, k) => assert.ok(Math.abs(p - b[k]) < 1e-12));
});

test("encodeAll cuts to maxLen, counts the cut inputs and the <unk> tokens kept, and makes an empty input one <unk>", () => {
  const tok = Tokenizer.build("word", "a b c");
  const texts = ["a b c", "a zz", "", "zz a b yy", "b"];
  const e = encodeAll(texts.length, (i) => tok.encode(texts[i]), 3);
  assert.deepEqual(e.ids.map((x) => Array.from(x)), [[4, 5, 6], [4, UNK], [UNK], [UNK, 4, 5], [5]]);
  assert.equal(e.truncated, 1, "only the 4-token input is longer than 3");
  assert.equal(e.unknown, 2, "zz twice; yy was cut; the empty input's <unk> is not counted");
  const whole = encodeAll(texts.length, (i) => tok.encode(texts[i]));
  assert.equal(whole.truncated, 0);
  assert.equal(whole.unknown, 3);
  assert.deepEqual(Array.from(whole.ids[3]), [UNK, 4, 5, UNK]);
  // exactly maxLen is not cut
  assert.equal(encodeAll(1, () => tok.encode("a b c"), 3).truncated, 0);
});

test("vocabularyOf joins texts so that no token spans two of them", () => {
  assert.deepEqual(vocabularyOf("word", ["a b", "b c"]).tokens.slice(4), ["b", "a", "c"]);
  assert.deepEqual(vocabularyOf("char", ["ab", "b"]).tokens.slice(4), ["b", "a"]);
  assert.equal(vocabularyOf("word", ["x y z w"], 2).size, 4 + 2, "maxSize caps the vocabulary");
});
