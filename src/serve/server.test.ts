/**
 * `rnnkit serve` without sockets (fastify's inject): the routes for every task, batching that
 * equals unbatched answers, every kind of bad request, the queue limit, timeouts and CORS.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tokenizer } from "../data/tokenizer.js";
import { Scaler } from "../data/scaler.js";
import { modelFromBytes, modelToBytes } from "../io/model-file.js";
import type { Model } from "../models/model.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { SequenceModel } from "../models/sequence-model.js";
import { openTask } from "../tasks/open.js";
import { predictRows } from "../tasks/rows.js";
import { createServer } from "./server.js";

const words = Tokenizer.build("word", "good bad fine awful great day night film plot");
const chars = Tokenizer.build("char", "abcdefgh ");

function saved(model: Model, extras: Parameters<typeof modelToBytes>[1]) {
  return modelFromBytes(modelToBytes(model, extras));
}

const classify = () => saved(new SequenceModel({ task: "classify", cell: "gru", vocabSize: words.size, embeddingDim: 4, hiddenSize: 5, outputSize: 3, pooling: "mean", seed: 2 }),
  { tokenizer: words, info: { task: "classify", labels: ["neg", "neu", "pos"], textColumn: "text", labelColumn: "label", maxLen: 50 } });

const texts = ["good film", "bad plot", "great day good night fine", "awful", "fine fine film", "night", "good bad", "plot day film great awful"];

test("serve: /health, /model and /predict for a classifier; outputs are the rows of predict --json", async () => {
  const s = classify();
  const { app } = createServer(s);
  const h = await app.inject({ method: "GET", url: "/health" });
  assert.equal(h.statusCode, 200);
  assert.equal(h.json().status, "ok");
  const m = (await app.inject({ method: "GET", url: "/model" })).json();
  assert.equal(m.task, "classify");
  assert.equal(m.parameters, s.model.parameters().reduce((a, p) => a + p.value.data.length, 0));
  const r = await app.inject({ method: "POST", url: "/predict", payload: { inputs: texts.slice(0, 3) } });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json().outputs, predictRows(openTask(s), texts.slice(0, 3)));
  assert.deepEqual(Object.keys(r.json().outputs[0].probabilities), ["neg", "neu", "pos"]);
  await app.close();
});

test("serve: concurrent requests are batched into fewer forward passes, and each answer equals its unbatched answer", async () => {
  const s = classify();
  const { app, batcher } = createServer(s, { maxBatch: 16, maxWaitMs: 30 });
  const alone = texts.map((t) => predictRows(openTask(s), [t])[0]);
  const answers = await Promise.all(texts.map((t) => app.inject({ method: "POST", url: "/predict", payload: { inputs: [t] } })));
  assert.ok(batcher.batches < texts.length, `${batcher.batches} forward passes for ${texts.length} requests`);
  answers.forEach((a, i) => {
    const got = a.json().outputs[0], want = alone[i] as { label: string; probabilities: Record<string, number> };
    assert.equal(got.label, want.label);
    for (const k of Object.keys(want.probabilities)) assert.ok(Math.abs(got.probabilities[k] - want.probabilities[k]) <= 1e-5, `${texts[i]}: ${k}`);
  });
  await app.close();
});

test("serve: every task answers with its rows (tag, seq2seq, forecast, lm with a seed)", async () => {
  const tag = saved(new SequenceModel({ task: "tag", cell: "lstm", vocabSize: words.size, embeddingDim: 3, hiddenSize: 4, bidirectional: true, outputSize: 2 }),
    { tokenizer: words, info: { task: "tag", tags: ["A", "B"], maxLen: 50 } });
  const t = await createServer(tag).app.inject({ method: "POST", url: "/predict", payload: { inputs: [["good", "film"], ["zebra"]] } });
  assert.equal(t.statusCode, 200, t.body);
  assert.deepEqual(t.json().outputs.map((o: { tags: string[] }) => o.tags.length), [2, 1]);
  const s2s = saved(new Seq2Seq({ cell: "gru", sourceVocabSize: chars.size, targetVocabSize: chars.size, embeddingDim: 3, hiddenSize: 4, attention: "luong" }),
    { tokenizer: chars, info: { task: "seq2seq", sourceColumn: "s", targetColumn: "t", targetTokenizer: chars.toJSON(), maxLen: 20, beam: 2 } });
  const q = await createServer(s2s).app.inject({ method: "POST", url: "/predict", payload: { inputs: ["abc", ""] } });
  assert.equal(q.statusCode, 200, q.body);
  assert.deepEqual(q.json().outputs[1], { output: null, score: null });
  assert.equal(typeof q.json().outputs[0].output, "string");
  const f = saved(new SequenceModel({ task: "regress", cell: "gru", inputSize: 2, hiddenSize: 4, outputSize: 3 }),
    { scaler: Scaler.fit("standard", [[1, 0], [2, 1], [3, 0]]), info: { task: "forecast", column: "y", features: ["x"], window: 4, horizon: 3 } });
  const rows = [[1, 0], [2, 1], [3, 0], [4, 1], [5, 0]];
  const fr = await createServer(f).app.inject({ method: "POST", url: "/predict", payload: { inputs: [rows] } });
  assert.equal(fr.statusCode, 200, fr.body);
  assert.equal(fr.json().outputs[0].forecast.length, 3);
  const bad = await createServer(f).app.inject({ method: "POST", url: "/predict", payload: { inputs: [[1, 2, 3, 4]] } });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error, /inputs\[0\]: expected rows of 2 numbers \[y, x\]/);
  const lm = saved(new SequenceModel({ task: "lm", cell: "gru", vocabSize: chars.size, embeddingDim: 3, hiddenSize: 4, outputSize: chars.size }), { tokenizer: chars, info: { task: "lm" } });
  const { app } = createServer(lm);
  const g = async (seed: number) => (await app.inject({ method: "POST", url: "/predict", payload: { inputs: [{ prompt: "ab", length: 12, seed }] } })).json().outputs[0].text;
  assert.equal(await g(3), await g(3), "the same seed gives the same text");
  const [a, b] = await Promise.all([g(3), g(3)]);
  assert.equal(a, b);
});

test("serve: bad requests get a 400 (or 404, 413) with a clear message, and never fail the requests they would have shared a batch with", async () => {
  const s = classify();
  const { app } = createServer(s, { bodyLimit: 2000, maxWaitMs: 30 });
  const post = (payload: string | object) => app.inject({ method: "POST", url: "/predict", payload, headers: { "content-type": "application/json" } });
  const cases: [string | object, number, RegExp][] = [
    ["{not json", 400, /JSON|Unexpected|body/i],
    [{ input: ["x"] }, 400, /inputs: expected an array, got undefined/],
    [{ inputs: "good" }, 400, /inputs: expected an array, got string good/],
    [{ inputs: ["good", 7] }, 400, /inputs\[1\]: expected a string, got number 7/],
    [[1, 2], 400, /expected a JSON object \{"inputs": \[\.\.\.\]\}/],
    [{ inputs: ["x".repeat(3000)] }, 413, /larger than the limit of 2000 bytes/],
  ];
  // the hostile requests interleaved with good ones: every good one is answered correctly
  const good = texts.map((t) => post({ inputs: [t] }));
  const results = await Promise.all(cases.map(([p]) => post(p)));
  results.forEach((r, i) => {
    assert.equal(r.statusCode, cases[i][1], `${JSON.stringify(cases[i][0]).slice(0, 40)}: ${r.body}`);
    assert.match(r.json().error, cases[i][2]);
  });
  const want = texts.map((t) => predictRows(openTask(s), [t])[0].label);
  assert.deepEqual((await Promise.all(good)).map((r) => r.json().outputs[0].label), want);
  const nf = await app.inject({ method: "GET", url: "/nope" });
  assert.equal(nf.statusCode, 404);
  assert.match(nf.json().error, /expected POST \/predict, GET \/health or GET \/model/);
});

test("serve: a full queue answers 503, a request that waits too long 503, and CORS is off unless an origin is given", async () => {
  const s = classify();
  const { app } = createServer(s, { queueLimit: 4, maxWaitMs: 50 });
  const rs = await Promise.all([0, 1, 2].map(() => app.inject({ method: "POST", url: "/predict", payload: { inputs: texts.slice(0, 3) } })));
  const codes = rs.map((r) => r.statusCode).sort();
  assert.deepEqual(codes, [200, 503, 503]);
  assert.match(rs.find((r) => r.statusCode === 503)!.json().error, /the queue is full \(3 inputs waiting, limit 4\)/);
  // under load (the last pass was shared), a request waits for company longer than its timeout
  const slow = createServer(s, { maxWaitMs: 500, timeoutMs: 50 });
  const first = slow.app.inject({ method: "POST", url: "/predict", payload: { inputs: ["good"] } });
  const second = slow.app.inject({ method: "POST", url: "/predict", payload: { inputs: ["bad"] } });
  assert.deepEqual([(await first).statusCode, (await second).statusCode], [200, 200], "a lone request on an idle server runs at once, and takes the one beside it");
  assert.equal(slow.batcher.batches, 1);
  const t = await slow.app.inject({ method: "POST", url: "/predict", payload: { inputs: ["good"] } });
  assert.equal(t.statusCode, 503);
  assert.match(t.json().error, /no answer within 50 ms/);
  const plain = await app.inject({ method: "GET", url: "/health", headers: { origin: "http://evil.example" } });
  assert.equal(plain.headers["access-control-allow-origin"], undefined);
  const withCors = createServer(s, { cors: "http://app.example" }).app;
  const c = await withCors.inject({ method: "GET", url: "/health", headers: { origin: "http://app.example" } });
  assert.equal(c.headers["access-control-allow-origin"], "http://app.example");
  assert.throws(() => createServer(s, { maxBatch: 0 }), /serve: maxBatch: expected an integer >= 1, got 0/);
});
