/** The baselines against values computed by hand (the arithmetic is in the comments). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { NaiveBayes, charNgrams, seasonalNaive, words } from "./lib-baselines.js";

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test("multinomial Naive Bayes: priors, Laplace-smoothed likelihoods, unseen features skipped", () => {
  // class a: 2 documents, counts x 2, y 1 (3 in all); class b: 1 document, y 1, z 1 (2 in all); V = {x, y, z}
  const nb = new NaiveBayes([["x", "x"], ["y"], ["y", "z"]], ["a", "a", "b"]);
  assert.deepEqual(nb.labels, ["a", "b"]);
  // P(a) = 2/3, P(b) = 1/3; P(x|a) = (2+1)/(3+3) = 1/2, P(z|a) = (0+1)/6 = 1/6; P(x|b) = (0+1)/(2+3) = 1/5, P(z|b) = (1+1)/5 = 2/5
  // "w" was never seen in training: skipped
  const s = nb.scores(["x", "z", "w"]);
  close(s[0], Math.log(2 / 3) + Math.log(1 / 2) + Math.log(1 / 6), "score a");
  close(s[1], Math.log(1 / 3) + Math.log(1 / 5) + Math.log(2 / 5), "score b");
  assert.equal(nb.predict(["x", "z", "w"]), "a"); // 1/18 > 2/75
  // y: P(y|a) = 2/6, P(y|b) = 2/5; z twice tips it: (2/3)(1/3)(1/36) = 0.0062 < (1/3)(2/5)(4/25) = 0.0213
  assert.equal(nb.predict(["y", "z", "z"]), "b");
  // alpha changes the smoothing: alpha 0.5: P(x|a) = 2.5 / (3 + 1.5)
  close(new NaiveBayes([["x", "x"], ["y"], ["y", "z"]], ["a", "a", "b"], 0.5).scores(["x"])[0], Math.log(2 / 3) + Math.log(2.5 / 4.5), "alpha 0.5");
});

test("character n-grams carry start and end marks; words are lowercased runs of letters and digits", () => {
  // ^ann$: unigrams a n n; bigrams ^a an nn n$; trigrams ^an ann nn$
  assert.deepEqual(charNgrams("Ann"), ["a", "n", "n", "^a", "an", "nn", "n$", "^an", "ann", "nn$"]);
  assert.deepEqual(charNgrams("Bo", 2, 2), ["^b", "bo", "o$"]);
  assert.deepEqual(words("Free MONEY!!! Click: it's 100% free"), ["free", "money", "click", "it's", "100", "free"]);
});

test("seasonal naive: the value one period back, null before the first period", () => {
  assert.deepEqual(seasonalNaive([1, 2, 3, 4, 5], 2), [null, null, 1, 2, 3]);
  assert.deepEqual(seasonalNaive([7, 8], 7), [null, null]);
});
