/**
 * Seq2Seq against PyTorch: the fixtures in test/fixtures/seq2seq were computed by a PyTorch model
 * written from the equations of src/models/seq2seq.ts with torch.nn modules (packed nn.LSTM /
 * nn.GRU / nn.RNN, nn.Embedding, nn.Linear) and autograd (make_fixtures.py beside them). Each
 * holds the weights under rnnkit's names, a batch with variable source and target lengths, and
 * PyTorch's logits, attention weights, loss and every parameter's gradient.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { JsBackend } from "../backend/js.js";
import { getBackend } from "../backend/index.js";
import type { Backend } from "../backend/backend.js";
import { Seq2Seq, type Seq2SeqConfig } from "./seq2seq.js";

interface Fixture {
  name: string;
  config: Seq2SeqConfig;
  batch: { S: number; B: number; U: number; lengths: number[]; targetLengths: number[]; tokens: number[]; targets: number[] };
  weights: Record<string, { shape: number[]; data: number[] }>;
  logits: number[];
  attention: number[] | null;
  loss: number;
  grads: Record<string, number[]>;
}

const dir = fileURLToPath(new URL("../../../test/fixtures/seq2seq/", import.meta.url));
const fixtures: Fixture[] = readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Fixture);

function close(what: string, got: ArrayLike<number>, want: number[], tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  assert.ok(worst <= tol, `${what}: max relative difference ${worst} > ${tol}`);
}

function check(fx: Fixture, be: Backend, tol: number): void {
  const model = new Seq2Seq(fx.config, { backend: be });
  assert.deepEqual(Object.keys(model.stateDict()).sort(), Object.keys(fx.weights).sort(), `${fx.name}: parameter names`);
  model.loadStateDict(fx.weights);
  const { S, B, U, lengths, targetLengths, tokens, targets } = fx.batch;
  const batch = { T: S, B, lengths, tokens, targets, U, targetLengths };
  const f = model.forward(batch, { attention: true });
  // only the valid target steps: past a target's length (not in the loss) rnnkit's decoder is
  // packed (zero output, as nn.LSTM over a PackedSequence) while the reference ran all U steps
  const valid = <T>(rows: ArrayLike<T>, width: number): T[] => {
    const out: T[] = [];
    for (let u = 0; u < U; u++) for (let b = 0; b < B; b++) if (u < targetLengths[b]) for (let k = 0; k < width; k++) out.push(rows[(u * B + b) * width + k]);
    return out;
  };
  const V = fx.config.targetVocabSize;
  close(`${fx.name}: logits`, valid(f.logits.data, V), valid(fx.logits, V), tol);
  if (fx.attention) close(`${fx.name}: attention`, valid(f.attention!.data, S), valid(fx.attention, S), tol);
  else assert.equal(f.attention, undefined, `${fx.name}: no attention weights without attention`);
  model.zeroGrad();
  const r = model.lossAndBackward(batch);
  assert.ok(Math.abs(r.loss - fx.loss) <= tol * (1 + fx.loss), `${fx.name}: loss ${r.loss} vs ${fx.loss}`);
  assert.equal(r.count, targetLengths.reduce((a, b) => a + b, 0));
  for (const p of model.parameters()) close(`${fx.name}: grad ${p.name}`, p.grad.data, fx.grads[p.name], tol);
}

test("the seq2seq PyTorch fixtures are all there (every attention kind, bridge, bidirectional, stacked)", () => {
  assert.ok(fixtures.length >= 5, `${fixtures.length} fixtures`);
  const kinds = new Set(fixtures.map((f) => f.config.attention));
  for (const k of ["none", "luong", "luong-dot", "bahdanau"]) assert.ok(kinds.has(k as never), `a fixture with attention ${k}`);
});

for (const fx of fixtures) {
  test(`seq2seq equals PyTorch: ${fx.name} (float64 reference backend)`, () => check(fx, new JsBackend({ dtype: "float64" }), 1e-9));
  test(`seq2seq equals PyTorch: ${fx.name} (default backend, float32)`, () => check(fx, getBackend(), 2e-4));
}
