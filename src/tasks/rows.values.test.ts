/**
 * checkInputs, the one check of what predict and serve accept, for each task shape (issue 10,
 * item 8: tests written for mutants that survived the suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Scaler } from "../data/scaler.js";
import { Tokenizer } from "../data/tokenizer.js";
import { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError } from "../tensor.js";
import { Forecaster } from "./forecast.js";
import { checkInputs } from "./rows.js";
import { Tagger } from "./tag.js";
import { LanguageModel } from "./lm.js";
import { defaults } from "../defaults.js";

const refused = (re: RegExp) => (e: unknown) => e instanceof RnnkitError && re.test(e.message);

test("a univariate forecaster takes flat lists of finite numbers (at least a window), and refuses the rest naming the input", () => {
  const model = new SequenceModel({ task: "regress", cell: "gru", inputSize: 1, hiddenSize: 3, outputSize: 2 });
  const f = new Forecaster(model, Scaler.fit("standard", [[1], [2], [3]]), { task: "forecast", column: "y", features: [], window: 3, horizon: 2 });
  checkInputs(f, [[1, 2, 3], [1, 2, 3, 4], [[1], [2], [3]]]);
  assert.throws(() => checkInputs(f, [[1, 2, 3], [1, NaN, 3]]), refused(/^inputs\[1\]: expected finite numbers, got/));
  assert.throws(() => checkInputs(f, [[1, Infinity, 3]]), refused(/^inputs\[0\]: expected finite numbers/));
  assert.throws(() => checkInputs(f, [[1, 2]]), refused(/^inputs\[0\]: expected a list of at least 3 rows/));
  assert.throws(() => checkInputs(f, [[[1], [NaN], [3]]]), refused(/^inputs\[0\]: expected rows of 1 finite numbers \[y\]/));
  assert.throws(() => checkInputs(f, "1,2,3"), refused(/^inputs: expected an array/));
  // with a covariate, a flat list is not rows of 2
  const g = new Forecaster(new SequenceModel({ task: "regress", cell: "gru", inputSize: 2, hiddenSize: 3, outputSize: 1 }),
    Scaler.fit("standard", [[1, 0], [2, 1]]), { task: "forecast", column: "y", features: ["x"], window: 2, horizon: 1 });
  checkInputs(g, [[[1, 0], [2, 1]]]);
  assert.throws(() => checkInputs(g, [[1, 2]]), refused(/^inputs\[0\]: expected rows of 2 numbers \[y, x\]/));
  assert.throws(() => checkInputs(g, [[[1, 0], [2]]]), refused(/^inputs\[0\]: expected rows of 2 finite numbers \[y, x\]/));
});

test("a tagger takes non-empty lists of non-empty token strings", () => {
  const tok = Tokenizer.build("word", "the cat");
  const t = new Tagger(new SequenceModel({ task: "tag", cell: "gru", vocabSize: tok.size, embeddingDim: 2, hiddenSize: 3, outputSize: 2 }), tok, { task: "tag", tags: ["D", "N"], maxLen: 4 });
  checkInputs(t, [["the", "cat"], ["x"]]);
  for (const bad of [[], ["the", ""], ["the", 5], "the cat", [{ length: 3 }]]) {
    assert.throws(() => checkInputs(t, [["ok"], bad]), refused(/^inputs\[1\]: expected a non-empty list of tokens \(strings\)/), JSON.stringify(bad));
  }
});

test("a language model takes a prompt string or a request whose length is an integer in [0, defaults.maxGenerateLength]", () => {
  const tok = Tokenizer.build("char", "abc");
  const lm = new LanguageModel(new SequenceModel({ task: "lm", cell: "gru", vocabSize: tok.size, embeddingDim: 2, hiddenSize: 3, outputSize: tok.size }), tok, { task: "lm" });
  checkInputs(lm, ["ab", { prompt: "a" }, { prompt: "a", length: 0 }, { prompt: "a", length: defaults.maxGenerateLength }]);
  for (const length of [-1, defaults.maxGenerateLength + 1, 2.5, 1e12, "5"]) {
    assert.throws(() => checkInputs(lm, ["ab", { prompt: "a", length }]), refused(new RegExp(`^inputs\\[1\\]\\.length: expected an integer in \\[0, ${defaults.maxGenerateLength}\\]`)), String(length));
  }
  for (const bad of ["", { prompt: "" }, { length: 3 }, null, 7]) assert.throws(() => checkInputs(lm, [bad]), refused(/^inputs\[0\]: expected a prompt string/), JSON.stringify(bad));
  assert.throws(() => checkInputs(lm, [{ prompt: "a", topP: 0 }]), refused(/^inputs\[0\]: sample: topP/));
  assert.throws(() => checkInputs(lm, [{ prompt: "a", seed: 0.5 }]), refused(/^inputs\[0\]\.seed: expected an integer/));
});
