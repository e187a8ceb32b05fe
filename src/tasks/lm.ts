/**
 * Language modelling: text in, bits per token (evaluation) or a continuation (generation) out.
 * The model is a token `SequenceModel` (task "lm"); the file carries the tokenizer.
 */
import { type SampleOptions, generateIds } from "../decode/sample.js";
import type { Tokenizer } from "../data/tokenizer.js";
import { UNK } from "../data/tokenizer.js";
import { defaults } from "../defaults.js";
import type { SequenceModel } from "../models/sequence-model.js";
import { RnnkitError } from "../tensor.js";
import { evaluate } from "../train/trainer.js";
import type { LmInfo } from "./task.js";

/** A loaded language model: `evaluate(text)` in bits per token; `generate(prompt)`. */
export class LanguageModel {
  readonly task = "lm" as const;
  constructor(readonly model: SequenceModel, readonly tokenizer: Tokenizer, readonly info: LmInfo) {}

  /** Bits per token (per character for a char tokenizer) of `text`, and how many tokens were never seen in training. */
  evaluate(text: string, opts: { batchSize?: number; seqLen?: number } = {}): { bpc: number; loss: number; tokens: number; unknownTokens: number } {
    const ids = this.tokenizer.encode(text);
    if (ids.length < 2) throw new RnnkitError(`LanguageModel.evaluate: expected a text of at least 2 ${this.tokenizer.kind}s, got ${ids.length}`);
    let unknownTokens = 0;
    for (const id of ids) if (id === UNK) unknownTokens++;
    const r = evaluate(this.model, { kind: "stream", ids }, { batchSize: opts.batchSize ?? defaults.batchSize, seqLen: opts.seqLen ?? defaults.seqLen });
    return { bpc: r.bpc!, loss: r.loss, tokens: r.count, unknownTokens };
  }

  /** Continues `prompt` by `length` tokens (specials never drawn). */
  generate(prompt: string, opts: SampleOptions & { length?: number; seed?: number } = {}): string {
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0) throw new RnnkitError("LanguageModel.generate: prompt: expected some text, got an empty prompt");
    return this.tokenizer.decode(generateIds(this.model, ids, opts.length ?? 200, { ...opts, exclude: [0, 1, 2, 3] }));
  }
}
