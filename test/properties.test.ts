/**
 * Property-based tests (fast-check): random shapes, ids, targets, lengths, options and model
 * configs thrown at the public API. Each call returns a correct result or throws an RnnkitError,
 * never another exception, and never NaN from finite input.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  JsBackend, LSTM, RnnkitError, Scaler, Seq2Seq, SequenceModel, Tokenizer, crossEntropy, modelFromBytes, modelToBytes, sample,
} from "../src/index.js";
import { Rng } from "../src/rng.js";

const be = new JsBackend();

/** Runs `f`: an RnnkitError is an allowed answer (returns null), any other exception fails the property. */
function typed<T>(f: () => T): T | null {
  try {
    return f();
  } catch (e) {
    if (e instanceof RnnkitError) return null;
    throw e;
  }
}

const finite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);
/** Mostly `valid`, sometimes anything: properties that reach the computation, and bad input too. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: anything as fc.Arbitrary<unknown>, weight: 1 });
const anything = fc.oneof(fc.integer({ min: -3, max: 40 }), fc.double(), fc.constant(NaN), fc.constant(undefined), fc.constant(null), fc.string(), fc.boolean());

test("Tokenizer: encode then decode gives back the text (char), ids are in range, unknowns are <unk>", () => {
  fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string(), (train, other) => {
    const tok = typed(() => Tokenizer.build("char", train));
    if (!tok) return;
    assert.equal(tok.decode(tok.encode(train)), train);
    for (const id of tok.encode(other)) assert.ok(Number.isInteger(id) && id >= 0 && id < tok.size);
    assert.equal(Tokenizer.fromJSON(tok.toJSON()).decode(tok.encode(other)), tok.decode(tok.encode(other)));
  }), { numRuns: 200 });
});

test("Scaler: inverse(transform(x)) = x for finite columns, including constant ones", () => {
  fc.assert(fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.constantFrom("standard", "minmax"), (xs, kind) => {
    const s = Scaler.fit(kind as "standard" | "minmax", xs);
    for (const x of xs) {
      const y = s.transform(x);
      assert.ok(Number.isFinite(y));
      assert.ok(Math.abs(s.inverse(y) - x) <= 1e-6 * (1 + Math.abs(x)));
    }
  }), { numRuns: 200 });
});

test("sample: any logits and options give an id of a finite, unexcluded logit, or an RnnkitError", () => {
  let drawn = 0;
  const logit = fc.oneof({ arbitrary: fc.double({ min: -50, max: 50, noNaN: true }), weight: 30 }, fc.constant(-Infinity), fc.constant(NaN), fc.constant(Infinity));
  const opts = fc.record({ temperature: mostly(fc.double({ min: 0, max: 5, noNaN: true })), topK: mostly(fc.integer({ min: 0, max: 6 })), topP: mostly(fc.double({ min: 0.01, max: 1, noNaN: true })) }, { requiredKeys: [] });
  fc.assert(fc.property(fc.array(logit, { minLength: 0, maxLength: 12 }), opts,
    fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 4 }), fc.integer(), (logits, opts, exclude, seed) => {
      const id = typed(() => sample(logits, opts as never, new Rng(seed), exclude));
      if (id === null) return;
      drawn++;
      assert.ok(Number.isInteger(id) && id >= 0 && id < logits.length, `id ${id}`);
      assert.ok(!exclude.includes(id) && Number.isFinite(logits[id]), `drew ${id} of ${logits}`);
    }), { numRuns: 500 });
  assert.ok(drawn > 50, `only ${drawn} of 500 runs drew an id: the property would be vacuous`);
});

test("crossEntropy: random logits and targets give a finite loss and gradient, or an RnnkitError", () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.array(anything, { minLength: 1, maxLength: 6 }), fc.integer(), (R, V, targets, seed) => {
    const rng = new Rng(seed);
    const logits = { shape: [R, V], data: Float32Array.from({ length: R * V }, () => rng.uniform(-30, 30)) };
    const r = typed(() => crossEntropy(logits, targets as number[], { backend: be }));
    if (!r) return;
    assert.ok(Number.isFinite(r.loss) && r.loss >= 0 && finite(r.grad.data));
  }), { numRuns: 300 });
});

test("LSTM.forward: random shapes, lengths and states give finite outputs of the right shape, or an RnnkitError", () => {
  let ran = 0;
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }),
    fc.oneof({ arbitrary: fc.constant([] as unknown[]), weight: 2 }, { arbitrary: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), weight: 4 }, { arbitrary: fc.array(anything, { maxLength: 4 }), weight: 1 }),
    fc.boolean(), fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, fc.constant(1), fc.constant(2)), fc.integer(),
    (T, B, X, H, lengths, bidirectional, shapeNoise, seed) => {
      const lstm = new LSTM({ inputSize: X, hiddenSize: H, bidirectional, backend: be, seed: 1 });
      const rng = new Rng(seed);
      const shape = shapeNoise === 0 ? [T, B, X] : shapeNoise === 1 ? [T, B, X + 1] : [T * B, X];
      const n = shape.reduce((a, b) => a * b, 1);
      const x = { shape, data: Float32Array.from({ length: n }, () => rng.uniform(-2, 2)) };
      const r = typed(() => lstm.forward(x, lengths.length ? { lengths: lengths as number[] } : {}));
      if (!r) return;
      assert.deepEqual(r.output.shape, [T, B, (bidirectional ? 2 : 1) * H]);
      assert.ok(finite(r.output.data) && finite(r.h.data) && finite(r.c!.data));
      ran++;
    }), { numRuns: 300 });
  assert.ok(ran > 50, `only ${ran} of 300 runs got an output`);
});

test("SequenceModel: random configs and batches train a step to a finite loss, or throw an RnnkitError", () => {
  let trained = 0;
  const cfg = fc.record({
    task: mostly(fc.constantFrom("lm", "tag", "classify", "regress")),
    cell: mostly(fc.constantFrom("lstm", "gru", "rnn", "rnn_relu")),
    hiddenSize: mostly(fc.integer({ min: 1, max: 6 })),
    outputSize: mostly(fc.integer({ min: 1, max: 6 })),
    bidirectional: mostly(fc.boolean()),
    pooling: mostly(fc.constantFrom("last", "mean", "max", undefined)),
    numLayers: mostly(fc.integer({ min: 1, max: 3 })),
    dropout: mostly(fc.double({ min: 0, max: 0.9, noNaN: true })),
  }, { requiredKeys: ["task", "cell", "hiddenSize", "outputSize"] });
  fc.assert(fc.property(cfg, fc.boolean(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.array(anything, { minLength: 1, maxLength: 12 }), fc.integer(),
    (c, tokens, T, B, junk, seed) => {
      const config = { ...c, ...(tokens ? { vocabSize: 7, embeddingDim: 3 } : { inputSize: 2 }) };
      const model = typed(() => new SequenceModel(config as never, { backend: be }));
      if (!model) return;
      const rng = new Rng(seed);
      const O = model.config.outputSize;
      const lengths = Array.from({ length: B }, () => 1 + Math.floor(rng.next() * T));
      // mostly valid batches, sometimes with junk ids, targets or lengths from the generator
      const bad = rng.next() < 0.3;
      const batch = {
        T, B, lengths: bad && rng.next() < 0.3 ? (junk as number[]).slice(0, B) : lengths,
        tokens: Array.from({ length: T * B }, (_, i) => (bad && i < junk.length ? junk[i] : 1 + Math.floor(rng.next() * 6))) as number[],
        inputs: Float32Array.from({ length: T * B * 2 }, () => rng.uniform(-1, 1)),
        targets: model.perStep
          ? Array.from({ length: T * B }, (_, i) => (bad && i < junk.length ? junk[i] : Math.floor(rng.next() * O))) as number[]
          : model.task === "regress" ? Array.from({ length: B * O }, () => rng.uniform(-1, 1)) : Array.from({ length: B }, () => Math.floor(rng.next() * O)),
      };
      model.train();
      const r = typed(() => model.lossAndBackward(batch));
      if (!r) return;
      assert.ok(Number.isFinite(r.loss) && r.loss >= 0, `loss ${r.loss}`);
      for (const p of model.parameters()) assert.ok(finite(p.grad.data), p.name);
      trained++;
    }), { numRuns: 300 });
  assert.ok(trained > 30, `only ${trained} of 300 runs trained a step`);
});

test("Seq2Seq configs and model files: a random config builds and round-trips through bytes, or throws an RnnkitError", () => {
  let built = 0;
  const cfg = fc.record({
    cell: mostly(fc.constantFrom("lstm", "gru", "rnn")),
    decoderCell: fc.constantFrom("lstm", "gru", "rnn_relu", undefined),
    sourceVocabSize: mostly(fc.integer({ min: 4, max: 9 })),
    targetVocabSize: mostly(fc.integer({ min: 4, max: 9 })),
    hiddenSize: mostly(fc.integer({ min: 1, max: 5 })),
    decoderHiddenSize: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(undefined)),
    numLayers: fc.oneof(fc.integer({ min: 1, max: 2 }), fc.constant(undefined)),
    decoderLayers: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(undefined)),
    bidirectional: mostly(fc.boolean()),
    attention: mostly(fc.constantFrom("none", "luong", "luong-dot", "bahdanau", undefined)),
  }, { requiredKeys: ["cell", "sourceVocabSize", "targetVocabSize", "hiddenSize"] });
  fc.assert(fc.property(cfg, (c) => {
    const model = typed(() => new Seq2Seq(c as never, { backend: be }));
    if (!model) return;
    assert.deepEqual(Seq2Seq.parameterShapes(c as never), Object.entries(model.stateDict()).map(([k, v]) => [k, v.shape]));
    const back = modelFromBytes(modelToBytes(model), { backend: be });
    assert.deepEqual(back.model.stateDict(), model.stateDict());
    built++;
  }), { numRuns: 150 });
  assert.ok(built > 15, `only ${built} of 150 configs built`);
});
