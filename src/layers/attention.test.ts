/**
 * Attention: float64 gradient checks (queries, memory, every parameter) for each kind, and a
 * value test against a naive definition written with plain loops (scores, masked softmax,
 * context); padded memory positions get weight exactly 0 and never matter.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { Rng } from "../rng.js";
import { RnnkitError } from "../tensor.js";
import { centralDifference, dot } from "../testing.js";
import { Attention, type AttentionScore } from "./attention.js";

const f64 = new JsBackend({ dtype: "float64" });
const U = 3, B = 3, S = 4, Q = 5, E = 5;
const lengths = [4, 1, 3];

function data(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
}

/** The definition, one (u, b) at a time with plain loops. */
function naive(att: Attention, q: Float64Array, mem: Float64Array): { ctx: number[]; w: number[] } {
  const p = Object.fromEntries(att.parameters().map((x) => [x.name, x.value.data]));
  const A = att.attentionSize;
  const ctx: number[] = [], w: number[] = [];
  for (let u = 0; u < U; u++) for (let b = 0; b < B; b++) {
    const qv = Array.from(q.subarray((u * B + b) * Q, (u * B + b + 1) * Q));
    const scores: number[] = [];
    for (let s = 0; s < lengths[b]; s++) {
      const e = Array.from(mem.subarray((s * B + b) * E, (s * B + b + 1) * E));
      if (att.kind === "luong-dot") scores.push(dot(qv, e));
      else if (att.kind === "luong") {
        let sc = 0;
        for (let i = 0; i < Q; i++) for (let j = 0; j < E; j++) sc += qv[i] * p.weight[i * E + j] * e[j];
        scores.push(sc);
      } else {
        let sc = 0;
        for (let a = 0; a < A; a++) {
          let z = 0;
          for (let i = 0; i < Q; i++) z += p["query.weight"][a * Q + i] * qv[i];
          for (let j = 0; j < E; j++) z += p["key.weight"][a * E + j] * e[j];
          sc += p["v.weight"][a] * Math.tanh(z);
        }
        scores.push(sc);
      }
    }
    const mx = Math.max(...scores);
    const ex = scores.map((v) => Math.exp(v - mx));
    const sum = ex.reduce((x, y) => x + y, 0);
    const a = ex.map((v) => v / sum);
    for (let s = 0; s < S; s++) w.push(s < lengths[b] ? a[s] : 0);
    for (let j = 0; j < E; j++) {
      let c = 0;
      for (let s = 0; s < lengths[b]; s++) c += a[s] * mem[(s * B + b) * E + j];
      ctx.push(c);
    }
  }
  return { ctx, w };
}

const KINDS: AttentionScore[] = ["luong-dot", "luong", "bahdanau"];

for (const kind of KINDS) {
  test(`attention ${kind}: equals the naive definition; padded positions weigh exactly 0 and change nothing`, () => {
    const att = new Attention({ kind, querySize: Q, keySize: E, attentionSize: kind === "bahdanau" ? 6 : undefined, backend: f64, seed: 3 });
    const q = data(U * B * Q, 1), mem = data(S * B * E, 2);
    const r = att.forward({ shape: [U, B, Q], data: q }, { shape: [S, B, E], data: mem }, lengths);
    const want = naive(att, q, mem);
    assert.deepEqual(r.weights.shape, [U, B, S]);
    assert.deepEqual(r.context.shape, [U, B, E]);
    for (let i = 0; i < want.w.length; i++) assert.ok(Math.abs(r.weights.data[i] - want.w[i]) < 1e-12, `w[${i}] ${r.weights.data[i]} vs ${want.w[i]}`);
    for (let i = 0; i < want.ctx.length; i++) assert.ok(Math.abs(r.context.data[i] - want.ctx[i]) < 1e-12, `ctx[${i}]`);
    for (let u = 0; u < U; u++) for (let b = 0; b < B; b++) for (let s = lengths[b]; s < S; s++) assert.equal(r.weights.data[(u * B + b) * S + s], 0);
    // other numbers in the padded memory positions: the same outputs, bit for bit
    const other = mem.slice();
    for (let s = 0; s < S; s++) for (let b = 0; b < B; b++) if (s >= lengths[b]) for (let j = 0; j < E; j++) other[(s * B + b) * E + j] = 7 + j;
    const r2 = att.forward({ shape: [U, B, Q], data: q }, { shape: [S, B, E], data: other }, lengths);
    assert.deepEqual(Array.from(r2.context.data), Array.from(r.context.data));
    assert.deepEqual(Array.from(r2.weights.data), Array.from(r.weights.data));
  });

  test(`attention ${kind}: float64 gradient check (query, memory, parameters)`, () => {
    const att = new Attention({ kind, querySize: Q, keySize: E, backend: f64, seed: 5 });
    const q = data(U * B * Q, 11), mem = data(S * B * E, 12);
    const g = data(U * B * E, 13); // loss = sum g * context
    const loss = () => dot(att.forward({ shape: [U, B, Q], data: q }, { shape: [S, B, E], data: mem }, lengths).context.data, g);
    loss();
    att.zeroGrad();
    const d = att.backward({ shape: [U, B, E], data: g });
    const close = (a: number, n: number, what: string) => assert.ok(Math.abs(a - n) <= 1e-8 + 1e-6 * Math.abs(n), `${kind} ${what}: ${a} vs ${n}`);
    for (let i = 0; i < q.length; i++) close(d.dQuery.data[i], centralDifference(q, i, loss), `dQuery[${i}]`);
    for (let i = 0; i < mem.length; i++) close(d.dMemory.data[i], centralDifference(mem, i, loss), `dMemory[${i}]`);
    // padded memory positions get no gradient
    for (let s = 0; s < S; s++) for (let b = 0; b < B; b++) if (s >= lengths[b]) for (let j = 0; j < E; j++) assert.equal(d.dMemory.data[(s * B + b) * E + j], 0);
    for (const p of att.parameters()) {
      for (let i = 0; i < p.value.data.length; i++) close(p.grad.data[i], centralDifference(p.value.data, i, loss), `${p.name}[${i}]`);
    }
  });
}

test("attention step by step equals all steps at once, and its backward adds up", () => {
  const att = new Attention({ kind: "bahdanau", querySize: Q, keySize: E, backend: f64, seed: 9 });
  const q = data(U * B * Q, 21), mem = data(S * B * E, 22), g = data(U * B * E, 23);
  const all = att.forward({ shape: [U, B, Q], data: q }, { shape: [S, B, E], data: mem }, lengths);
  att.zeroGrad();
  const dAll = att.backward({ shape: [U, B, E], data: g });
  const gradsAll = att.parameters().map((p) => Array.from(p.grad.data));
  att.setMemory({ shape: [S, B, E], data: mem }, lengths);
  const ctx: number[] = [];
  for (let u = 0; u < U; u++) ctx.push(...att.step({ shape: [1, B, Q], data: q.subarray(u * B * Q, (u + 1) * B * Q) }).context.data);
  for (let i = 0; i < ctx.length; i++) assert.ok(Math.abs(ctx[i] - all.context.data[i]) < 1e-12);
  att.zeroGrad();
  const dq: number[][] = [];
  for (let u = U - 1; u >= 0; u--) dq[u] = Array.from(att.stepBackward({ shape: [1, B, E], data: g.subarray(u * B * E, (u + 1) * B * E) }).data);
  const dMem = att.memoryBackward();
  const flat = dq.flat();
  for (let i = 0; i < flat.length; i++) assert.ok(Math.abs(flat[i] - dAll.dQuery.data[i]) < 1e-12);
  for (let i = 0; i < dMem.data.length; i++) assert.ok(Math.abs(dMem.data[i] - dAll.dMemory.data[i]) < 1e-12);
  att.parameters().forEach((p, k) => p.grad.data.forEach((v, i) => assert.ok(Math.abs(v - gradsAll[k][i]) < 1e-12)));
});

test("attention: bad input says what it expected", () => {
  assert.throws(() => new Attention({ kind: "luong-dot", querySize: 3, keySize: 4 }), (e: Error) => e instanceof RnnkitError && /querySize = keySize/.test(e.message));
  assert.throws(() => new Attention({ kind: "none" as AttentionScore, querySize: 3, keySize: 4 }), /kind: expected one of luong, luong-dot, bahdanau/);
  const att = new Attention({ kind: "luong", querySize: 3, keySize: 4, backend: f64 });
  const mem = { shape: [2, 2, 4], data: new Float64Array(16) };
  assert.throws(() => att.setMemory(mem, [2, 0]), /lengths\[1\]: expected an integer in \[1, S\] = \[1, 2\].*got number 0/);
  assert.throws(() => att.setMemory(mem, [2]), /expected B = 2 source lengths, got 1/);
  assert.throws(() => att.step({ shape: [1, 2, 3], data: new Float64Array(6) }), /setMemory\(\) first/);
  att.setMemory(mem, [2, 1]);
  assert.throws(() => att.step({ shape: [1, 2, 5], data: new Float64Array(10) }), /query: expected \[U, B, Q\] = \[\*, 2, 3\], got \[1, 2, 5\]/);
});
