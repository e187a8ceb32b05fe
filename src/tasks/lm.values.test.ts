/**
 * Generation never shows a special token (issue 10, item 8: a test written for a mutant that
 * survived the suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tokenizer } from "../data/tokenizer.js";
import { generate } from "../decode/sample.js";
import { SequenceModel } from "../models/sequence-model.js";
import { LanguageModel } from "./lm.js";

test("generate never draws <pad>, <unk>, <bos> or <eos>, even when the model makes them the most likely", () => {
  const tok = Tokenizer.build("char", "abc");
  for (const special of [0, 1, 2, 3]) {
    const model = new SequenceModel({ task: "lm", cell: "gru", vocabSize: tok.size, embeddingDim: 2, hiddenSize: 3, outputSize: tok.size, seed: 2 });
    // the head's bias makes `special` a hundred nats likelier than anything else
    for (const p of model.parameters()) if (p.name === "head.bias") p.value.data[special] = 100;
    const lm = new LanguageModel(model, tok, { task: "lm" });
    for (const text of [lm.generate("ab", { length: 30, seed: 1 }), generate(model, tok, "ab", { length: 30, seed: 1 })]) {
      assert.equal(text.length, 30, `${special}: 30 characters, none of them dropped specials`);
      assert.match(text, /^[abc]+$/, `special ${special}: ${JSON.stringify(text)}`);
    }
  }
});
