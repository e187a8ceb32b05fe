/**
 * The task layer on small models: task info checked on open (errors, never TypeErrors), the
 * predict calls on raw input (softmax, batching, order, truncation and <unk> counts), the tagged
 * text formats, and the forecast windows with a horizon and covariates.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Scaler } from "../data/scaler.js";
import { Tokenizer } from "../data/tokenizer.js";
import { type ModelExtras, loadModel, modelFromBytes, modelToBytes } from "../io/model-file.js";
import type { Model } from "../models/model.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError } from "../tensor.js";
import { Classifier, classifyExamples } from "./classify.js";
import { Forecaster, fitForecastScaler, forecastRows, forecastWindows } from "./forecast.js";
import { expectTask, openTask } from "./open.js";
import { seq2seqExamples, seq2seqPairs } from "./seq2seq.js";
import { Tagger, formatTagged, parseConll, parseTaggedJsonl, tagVocabulary } from "./tag.js";
import { parseInfo } from "./task.js";

const reopen = (model: Model, extra: ModelExtras) => modelFromBytes(modelToBytes(model, extra), { source: "m.safetensors" });
const rnnkitError = (re: RegExp) => (e: unknown) => e instanceof RnnkitError && re.test(e.message);

function classifier(labels = ["neg", "neu", "pos"]) {
  const tokenizer = Tokenizer.build("word", "good bad fine awful great day");
  const model = new SequenceModel({ task: "classify", cell: "gru", vocabSize: tokenizer.size, embeddingDim: 4, hiddenSize: 5, outputSize: labels.length, seed: 3 });
  return { tokenizer, model };
}

test("task info is checked on open: a missing or short label list, a missing tokenizer or scaler are RnnkitErrors naming them", () => {
  const { tokenizer, model } = classifier();
  const info = { task: "classify", labels: ["neg", "neu", "pos"], textColumn: "text", labelColumn: "label", maxLen: 10 };
  const ok = openTask(reopen(model, { tokenizer, info }), "m.safetensors");
  assert.equal(ok.task, "classify");
  assert.throws(() => parseInfo("m.safetensors", reopen(model, { tokenizer, info: { ...info, labels: undefined } })), rnnkitError(/m.safetensors: the model file's task info: labels: expected a list of strings, got undefined/));
  assert.throws(() => openTask(reopen(model, { tokenizer, info: { ...info, labels: ["neg", "pos"] } })), rnnkitError(/the model has 3 outputs but the task info lists 2 labels/));
  assert.throws(() => openTask(reopen(model, { info })), rnnkitError(/a classify model needs its tokenizer, and the file has none/));
  assert.throws(() => openTask(reopen(model, { tokenizer: Tokenizer.build("char", "ab"), info })), rnnkitError(/tokenizer has 6 tokens but the model's vocabulary is 10/));
  // no info at all: the task comes from the model, and what the task needs is named
  assert.throws(() => openTask(reopen(model, { tokenizer })), rnnkitError(/labels: expected a list of strings/));
  assert.throws(() => openTask(reopen(model, { tokenizer, info: { ...info, task: "forecast" } })), rnnkitError(/the task info says forecast, which trains a regress model, but the model is a classify model/));
  const f = new SequenceModel({ task: "regress", cell: "lstm", inputSize: 2, hiddenSize: 4, outputSize: 3 });
  const finfo = { task: "forecast", column: "y", features: ["x"], window: 4, horizon: 3 };
  assert.throws(() => openTask(reopen(f, { info: finfo })), rnnkitError(/a forecast model needs its scaler/));
  assert.throws(() => openTask(reopen(f, { info: finfo, scaler: Scaler.fit("standard", [1, 2]) })), rnnkitError(/the scaler has 1 feature\(s\) but the task info names 2 column\(s\) \(y, x\)/));
  assert.throws(() => expectTask(ok, "tag", "predict"), rnnkitError(/predict: the model is a classify model; predict needs a tag model/));
});

test("Classifier.predict: softmax probabilities per label, batched in input order, truncation and <unk> counted", () => {
  const { tokenizer, model } = classifier();
  const info = { task: "classify" as const, labels: ["neg", "neu", "pos"], textColumn: "text", labelColumn: "label", maxLen: 3 };
  const clf = expectTask(openTask(reopen(model, { tokenizer, info })), "classify");
  // 70 texts: more than one forward batch (64), of different lengths
  const texts = Array.from({ length: 70 }, (_, i) => ["good", "bad day", "fine great day awful", "zebra good"][i % 4]);
  const r = clf.predictMany(texts);
  assert.equal(r.predictions.length, 70);
  for (const p of r.predictions) {
    const ps = Object.values(p.probabilities);
    assert.ok(Math.abs(ps.reduce((a, b) => a + b, 0) - 1) < 1e-6, "probabilities sum to 1");
    assert.equal(p.label, Object.entries(p.probabilities).sort((a, b) => b[1] - a[1])[0][0], "the label is the most probable");
  }
  // batching and padding do not change a text's prediction
  for (const i of [0, 1, 2, 3, 66, 67, 68, 69]) {
    const one = clf.predictOne(texts[i]);
    for (const l of info.labels) assert.ok(Math.abs(one.probabilities[l] - r.predictions[i].probabilities[l]) < 1e-5, `text ${i}, ${l}`);
  }
  assert.equal(r.truncated, 17, "the 4-token texts (i = 2, 6, ..., 66) are cut to 3");
  assert.equal(r.unknownTokens, 17, "zebra (i = 3, 7, ..., 67) was never seen");
  const ex = classifyExamples(tokenizer, info.labels, ["good", "bad"], ["pos", "neg"], 5);
  assert.deepEqual(ex.examples.map((e) => e.target), [2, 0]);
  assert.throws(() => classifyExamples(tokenizer, info.labels, ["good"], ["meh"], 5), rnnkitError(/row 1: label "meh" is not one the model knows \(neg, neu, pos\)/));
  assert.ok(new Classifier(model, tokenizer, info).evaluate(["good"], [r.predictions[0].label]).accuracy === 1);
});

test("tagged text: CoNLL and JSONL parsed with line numbers, token-only lines for prediction, written back", () => {
  const conll = "The\tDET\ndog\tNOUN\n\nruns\tVERB\n";
  const s = parseConll(conll, { requireTags: true });
  assert.deepEqual(s.map((x) => [x.tokens, x.tags, x.line]), [[["The", "dog"], ["DET", "NOUN"], 1], [["runs"], ["VERB"], 4]]);
  assert.throws(() => parseConll("a\tX\nb\tY\nc\n", { requireTags: true, source: "t.conll" }), rnnkitError(/^t.conll:3: expected "token<TAB>tag", got "c" \(no tab\)/));
  const bare = parseConll("a\nb\n\nc", { requireTags: false });
  assert.deepEqual(bare.map((x) => x.tokens), [["a", "b"], ["c"]]);
  assert.equal(bare[0].tags, undefined);
  assert.throws(() => parseTaggedJsonl('{"tokens":["a"],"tags":["X"]}\n{"tokens":["a","b"],"tags":["X"]}', { requireTags: true, source: "t.jsonl" }), rnnkitError(/^t.jsonl:2: expected as many tags as tokens, got 2 tokens and 1 tags/));
  assert.deepEqual(formatTagged([{ tokens: ["a", "b"], tags: ["X", "Y"] }, { tokens: ["c"], tags: ["Z"] }], "conll"), ["a\tX", "b\tY", "", "c\tZ"]);
  // the vocabulary keeps tokens as given (no splitting of "New-York" or "U.S.")
  const v = tagVocabulary([{ tokens: ["New-York", "U.S.", "U.S."], tags: ["LOC", "LOC", "LOC"], line: 1 }]);
  assert.deepEqual(v.tokenizer.tokens.slice(4), ["U.S.", "New-York"]);
  assert.deepEqual(v.tags, ["LOC"]);
  const model = new SequenceModel({ task: "tag", cell: "lstm", vocabSize: v.tokenizer.size, embeddingDim: 3, hiddenSize: 4, outputSize: 2, bidirectional: true });
  const tagger = new Tagger(model, v.tokenizer, { task: "tag", tags: ["LOC", "O"], maxLen: 2 });
  const p = tagger.predictMany([["U.S.", "is", "big", "and", "wide"], ["New-York"]]);
  assert.deepEqual(p.predictions.map((x) => x.tags.length), [5, 1], "a tag per token, whole sentences (maxLen is for training)");
  assert.equal(p.unknownTokens, 4);
  assert.ok(p.predictions[0].tags.every((t) => t === "LOC" || t === "O"));
});

test("forecast windows: horizon steps of the target, covariates scaled per column; the predict calls agree", () => {
  const target = [1, 2, 3, 4, 5, 6, 7, 8];
  const temp = [10, 20, 10, 20, 10, 20, 10, 20];
  const rows = forecastRows(target, [temp]);
  assert.deepEqual(rows[1], [2, 20]);
  assert.throws(() => forecastRows(target, [[1, 2]]), /covariate 0: expected 8 values/);
  const scaler = fitForecastScaler(rows);
  const ex = forecastWindows(rows, scaler, 3, 2);
  assert.equal(ex.length, 8 - 3 - 2 + 1);
  // the first window reads rows 0..2 and forecasts the target of rows 3 and 4
  assert.deepEqual((ex[0].target as number[]).map((v) => Math.round(scaler.inverse(v, 0) * 1e9) / 1e9), [4, 5]);
  assert.deepEqual(ex[0].inputs!.map((r) => r.map((v, f) => Math.round(scaler.inverse(v, f) * 1e9) / 1e9)), [[1, 10], [2, 20], [3, 10]]);
  // the covariate is standardised on its own: mean 15, std 5
  assert.ok(Math.abs(ex[0].inputs![0][1] - -1) < 1e-12);
  const model = new SequenceModel({ task: "regress", cell: "gru", inputSize: 2, hiddenSize: 4, outputSize: 2 });
  const info = { task: "forecast" as const, column: "y", features: ["temp"], window: 3, horizon: 2 };
  const f = expectTask(openTask(reopen(model, { scaler, info })), "forecast");
  const osa = f.oneStepAhead(rows);
  assert.equal(osa.length, 8);
  assert.deepEqual(osa.slice(0, 3), [null, null, null]);
  assert.ok(Math.abs(osa[5]! - f.forecast(rows.slice(0, 5))[0]) < 1e-6, "row 5's forecast is the first step from rows 0..4");
  assert.equal(f.forecast(rows).length, 2);
  const m = f.evaluate(rows);
  assert.equal(m.count, 4 * 2, "every window with a full horizon, all steps pooled");
  assert.throws(() => f.forecast([1, 2, 3]), /row 0: expected 2 numbers \[y, temp\]/);
  assert.throws(() => new Forecaster(model, scaler, info).forecast(rows.slice(0, 2)), /expected at least 3 rows/);
});

test("model files of rnnkit 0.1.0 open as their tasks, the fields they predate taking their defaults", () => {
  const dir = fileURLToPath(new URL("../../../test/fixtures/model-files/", import.meta.url));
  const cls = openTask(loadModel(join(dir, "v1-classify.safetensors")));
  assert.equal(cls.task, "classify");
  assert.deepEqual(cls.info, { task: "classify", labels: ["neg", "pos"], textColumn: "text", labelColumn: "label", maxLen: 200 });
  const f = expectTask(openTask(loadModel(join(dir, "v1-forecast.safetensors"))), "forecast");
  assert.deepEqual([f.info.features, f.horizon, f.window], [[], 1, 3]);
  assert.equal(f.forecast([1, 2, 3, 4]).length, 1);
  assert.equal(openTask(loadModel(join(dir, "v1-lm.safetensors"))).task, "lm");
});

test("seq2seq: pairs refused with their line (or skipped and counted), targets end in <eos>, the target tokenizer travels in the info", () => {
  assert.throws(() => seq2seqPairs(["ab", "cd", "ef"], ["ba", "", "fe"], [2, 3, 5]), rnnkitError(/^line 3: expected a source and a target, got an empty target/));
  assert.throws(() => seq2seqPairs(["ab", undefined], ["ba", "x"], [2, 3]), rnnkitError(/^line 3: expected a source and a target, got a missing source/));
  const ok = seq2seqPairs(["ab", " ", "ef"], ["ba", "x", "fe"], [2, 3, 4], { skipBadRows: true });
  assert.equal(ok.skipped, 1);
  assert.deepEqual(ok.pairs.map((p) => [p.source, p.line]), [["ab", 2], ["ef", 4]]);
  const src = Tokenizer.build("char", "abef"), tgt = Tokenizer.build("word", "ba fe");
  const ex = seq2seqExamples(src, tgt, [...ok.pairs, { source: "abeeff", target: "ba fe ba", line: 9 }], 3);
  assert.deepEqual(Array.from(ex.examples[0].tokens!), [src.id("a"), src.id("b")]);
  assert.deepEqual(ex.examples[0].target, [tgt.id("ba"), 3]);
  assert.deepEqual(ex.examples[2].target, [tgt.id("ba"), tgt.id("fe"), 3], "the target is cut to maxLen - 1, then <eos>");
  assert.equal(ex.examples[2].tokens!.length, 3);
  assert.equal(ex.truncated, 1, "one pair was cut (both of its sides count once)");
  const model = new Seq2Seq({ cell: "gru", sourceVocabSize: src.size, targetVocabSize: tgt.size, embeddingDim: 3, hiddenSize: 4, attention: "luong", seed: 1 });
  const info = { task: "seq2seq", sourceColumn: "s", targetColumn: "t", targetTokenizer: tgt.toJSON(), maxLen: 10, beam: 2 };
  const t = expectTask(openTask(reopen(model, { tokenizer: src, info })), "seq2seq");
  assert.equal(t.beam, 2);
  const outs = t.predict(["ab", "feab"]);
  assert.equal(outs.length, 2);
  assert.ok(outs.every((o) => typeof o === "string" && /^(ba|fe|<unk>| )*$/.test(o)), JSON.stringify(outs));
  const e = t.evaluate(["ab"], [outs[0]]);
  assert.equal(e.exactMatch, 1, "a model's own output matches itself");
  assert.equal(e.tokenErrorRate, 0);
  assert.throws(() => openTask(reopen(model, { tokenizer: src, info: { ...info, targetTokenizer: undefined } })), rnnkitError(/targetTokenizer: expected the target side's tokenizer/));
  assert.throws(() => openTask(reopen(model, { tokenizer: tgt, info })), rnnkitError(/source tokenizer has 6 tokens but the model's source vocabulary is 8/));
});
