/**
 * A fuzz suite for model files: for a model of every task (lm, tag, classify, forecast,
 * conditioned generation, seq2seq with each attention kind), seeded mutations of its file —
 * truncations, header lengths, flipped bytes, mutated config and metadata fields, removed, extra
 * and renamed tensors, hostile names — each either loads a model that works or ends in an
 * RnnkitError, never another exception. What a load may allocate is bounded by the file's size:
 * every array the backend hands out is counted, and the total stays under
 * `MEMORY_FACTOR` x the file's bytes (weights and their gradients, with the workspaces of one
 * forward), whatever the config claims.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tokenizer } from "../data/tokenizer.js";
import { Scaler } from "../data/scaler.js";
import type { Model } from "../models/model.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { RnnkitError } from "../tensor.js";
import { modelFromBytes, modelToBytes } from "./model-file.js";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.js";
import { CountingBackend } from "../testing.js";

/** Bytes a load may allocate in the backend, per byte of the file. */
const MEMORY_FACTOR = 3;

const tok = Tokenizer.build("char", "the quick brown fox jumps over the lazy dog");
const models: [string, () => Model, Record<string, unknown>][] = [
  ["lm", () => new SequenceModel({ task: "lm", cell: "lstm", vocabSize: tok.size, embeddingDim: 4, hiddenSize: 5, numLayers: 2, outputSize: tok.size }), { task: "lm" }],
  ["tag", () => new SequenceModel({ task: "tag", cell: "gru", vocabSize: tok.size, embeddingDim: 3, hiddenSize: 4, bidirectional: true, outputSize: 3 }), { task: "tag", tags: ["a", "b", "c"], maxLen: 20 }],
  ["classify", () => new SequenceModel({ task: "classify", cell: "rnn", vocabSize: tok.size, embeddingDim: 3, hiddenSize: 4, pooling: "mean", outputSize: 2 }), { task: "classify", labels: ["no", "yes"], textColumn: "t", labelColumn: "l", maxLen: 20 }],
  ["forecast", () => new SequenceModel({ task: "regress", cell: "gru", inputSize: 2, hiddenSize: 4, outputSize: 3 }), { task: "forecast", column: "y", features: ["x"], window: 5, horizon: 3 }],
  ["one-to-many", () => new SequenceModel({ task: "lm", cell: "lstm", vocabSize: tok.size, embeddingDim: 3, hiddenSize: 4, conditionSize: 2, outputSize: tok.size }), { task: "lm" }],
  ...(["none", "luong", "luong-dot", "bahdanau"] as const).map((attention): [string, () => Model, Record<string, unknown>] => [
    `seq2seq ${attention}`,
    () => new Seq2Seq({ cell: "gru", sourceVocabSize: tok.size, targetVocabSize: tok.size, embeddingDim: 3, hiddenSize: 4, bidirectional: attention !== "luong-dot", attention }),
    { task: "seq2seq" },
  ]),
];

const HOSTILE = ["__proto__", "constructor", "toString", "", "optim.", "rnn.weight_ih_l0\u0000", "../../etc/passwd", "a".repeat(300)];
const BAD_VALUES: unknown[] = [null, -1, 0, 1.5, 1e9, 2 ** 31, "7", [], {}, true, NaN, "lstm"];

/** One seeded mutation of a file's bytes. */
function mutate(bytes: Uint8Array, rng: Rng, kind: number): Uint8Array {
  const f = decodeSafetensors(bytes, "x");
  const meta = JSON.parse(f.metadata.rnnkit) as Record<string, unknown> & { config: Record<string, unknown> };
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rng.next() * a.length)];
  const withMeta = (m: unknown, tensors = f.tensors) => encodeSafetensors(tensors, { format: "pt", rnnkit: JSON.stringify(m) });
  switch (kind % 9) {
    case 0: // truncation
      return bytes.subarray(0, Math.floor(rng.next() * bytes.length));
    case 1: { // the header length
      const b = Uint8Array.from(bytes);
      new DataView(b.buffer).setBigUint64(0, BigInt(pick([0, 1, 7, 9, bytes.length, 2 ** 40, Math.floor(rng.next() * 5000)])), true);
      return b;
    }
    case 2: { // flipped bytes, header or body
      const b = Uint8Array.from(bytes);
      for (let i = 0; i < 3; i++) b[Math.floor(rng.next() * b.length)] ^= 1 << Math.floor(rng.next() * 8);
      return b;
    }
    case 3: { // a config field set to a bad value
      const key = pick(Object.keys(meta.config));
      return withMeta({ ...meta, config: { ...meta.config, [key]: pick(BAD_VALUES) } });
    }
    case 4: { // a metadata field removed, nulled or replaced
      const key = pick(["format", "version", "kind", "config", "tokenizer", "scaler", "info", "checkpoint"]);
      return withMeta({ ...meta, [key]: pick([undefined, null, 3, "x", [], { tokens: 5 }]) });
    }
    case 5: { // a tensor removed
      const names = Object.keys(f.tensors);
      const drop = pick(names);
      return withMeta(meta, Object.fromEntries(names.filter((n) => n !== drop).map((n) => [n, f.tensors[n]])));
    }
    case 6: { // an extra tensor under a hostile name
      const t = Object.create(null) as typeof f.tensors;
      for (const [k, v] of Object.entries(f.tensors)) t[k] = v;
      t[pick(HOSTILE)] = { shape: [2], data: Float32Array.of(1, 2) };
      return withMeta(meta, t);
    }
    case 7: { // a tensor of another shape under a right name
      const names = Object.keys(f.tensors);
      const k = pick(names);
      const n = f.tensors[k].data.length + pick([-1, 1, 7]);
      return withMeta(meta, { ...f.tensors, [k]: { shape: [Math.max(1, n)], data: new Float32Array(Math.max(1, n)) } });
    }
    default: // the "rnnkit" metadata not JSON, or JSON of the wrong kind
      return encodeSafetensors(f.tensors, { format: "pt", rnnkit: pick(["{", "null", "[]", "3", '"x"', JSON.stringify({ ...meta, format: "rnnkit-model/99" })]) });
  }
}

for (const [name, make, info] of models) {
  test(`model-file fuzz: ${name}: 160 mutations each load a working model or end in an RnnkitError, with bounded memory`, () => {
    const model = make();
    const extras: Parameters<typeof modelToBytes>[1] = { info };
    if (model instanceof Seq2Seq || (model instanceof SequenceModel && model.config.vocabSize !== undefined)) extras.tokenizer = tok;
    if (name === "forecast") extras.scaler = Scaler.fit("standard", [[1, 2], [3, 5], [4, 1]]);
    const bytes = modelToBytes(model, extras);
    const rng = new Rng(name.length * 7919);
    let refused = 0, loaded = 0;
    for (let i = 0; i < 160; i++) {
      const b = mutate(bytes, rng, i);
      const be = new CountingBackend();
      try {
        const back = modelFromBytes(b, { backend: be, source: `${name} #${i}` });
        // truncations, header lengths, removed, extra, hostile or mis-shaped tensors and broken
        // metadata never load; a mutation that may (a flipped bit inside a weight, a config value
        // that is still valid) gives a model of the same kind
        assert.ok(![0, 1, 5, 6, 7, 8].includes(i % 9), `${name} mutation ${i} (kind ${i % 9}) loaded, expected an RnnkitError`);
        assert.equal(back.model.kind, model.kind);
        loaded++;
      } catch (e) {
        if (!(e instanceof RnnkitError)) throw new Error(`${name} mutation ${i} (kind ${i % 9}): expected an RnnkitError, got ${(e as Error).stack}`);
        refused++;
      }
      assert.ok(be.floats * 4 <= MEMORY_FACTOR * b.length + 65536, `${name} mutation ${i}: allocated ${be.floats * 4} bytes for a file of ${b.length}`);
    }
    assert.ok(refused > 100, `${name}: ${refused} refused, ${loaded} loaded`);
  });
}
