/**
 * Seq2Seq values (issue 10, item 8: tests written for mutants that survived the suite, see
 * docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../backend/js.js";
import { padPairs } from "../data/batches.js";
import { EOS } from "../data/tokenizer.js";
import { Seq2Seq } from "./seq2seq.js";

const f64 = new JsBackend({ dtype: "float64" });
const batch = padPairs([{ tokens: [4, 5, 6, 7], target: [5, 6, EOS] }, { tokens: [8, 4], target: [7, 4, 5, 6, EOS] }, { tokens: [6, 6, 5], target: [EOS] }]);

test("in eval mode dropout is off between every pair of decoder layers, for each attention: the same logits as the same weights without dropout", () => {
  for (const attention of ["bahdanau", "luong", "none"] as const) {
    const cfg = { sourceVocabSize: 9, targetVocabSize: 9, embeddingDim: 3, hiddenSize: 4, cell: "gru" as const, numLayers: 2, decoderLayers: 3, attention, seed: 3 };
    const dropped = new Seq2Seq({ ...cfg, dropout: 0.5 }, { backend: f64 });
    const plain = new Seq2Seq({ ...cfg, dropout: 0 }, { backend: f64 });
    plain.loadStateDict(dropped.stateDict());
    dropped.eval();
    plain.eval();
    const a = dropped.forward(batch).logits.data, b = plain.forward(batch).logits.data;
    assert.deepEqual(Array.from(a), Array.from(b), `${attention}: eval logits with dropout 0.5 equal those without`);
    assert.deepEqual(Array.from(dropped.forward(batch).logits.data), Array.from(a), `${attention}: and every eval forward is the same`);
    // the premise: in training mode the same model's logits do change
    dropped.train();
    assert.notDeepEqual(Array.from(dropped.forward(batch).logits.data), Array.from(a), `${attention}: training mode drops`);
  }
});

test("a dropout of 1 (every unit dropped) or outside [0, 1) is refused, 0 and just under 1 are taken", () => {
  const cfg = { sourceVocabSize: 9, targetVocabSize: 9, embeddingDim: 3, hiddenSize: 4, cell: "gru" as const };
  for (const dropout of [1, -0.1, 1.5, NaN]) assert.throws(() => new Seq2Seq({ ...cfg, dropout }, { backend: f64 }), /Seq2Seq: dropout: expected a probability in \[0, 1\)/, String(dropout));
  for (const dropout of [0, 0.999]) new Seq2Seq({ ...cfg, dropout }, { backend: f64 }).dispose();
});
