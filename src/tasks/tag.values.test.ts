/**
 * Tagged JSON Lines: what is not a list of strings is refused by line (issue 10, item 8: a test
 * written for a mutant that survived the suite, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RnnkitError } from "../tensor.js";
import { parseTaggedJsonl } from "./tag.js";

test("parseTaggedJsonl refuses tokens that are not a non-empty list of strings, naming the line", () => {
  for (const tokens of ['"the cat"', "7", "null", "[]", '["the", 5]', '{"length": 1}']) {
    const text = `{"tokens": ["ok"], "tags": ["N"]}\n{"tokens": ${tokens}, "tags": ["N"]}\n`;
    assert.throws(() => parseTaggedJsonl(text, { requireTags: true, source: "f.jsonl" }),
      (e: unknown) => e instanceof RnnkitError && /^f\.jsonl:2: expected "tokens": a non-empty list of strings/.test(e.message), tokens);
  }
  assert.throws(() => parseTaggedJsonl('{"tags": ["N"]}', { requireTags: true }), /input:1: expected "tokens"/);
  const ok = parseTaggedJsonl('{"tokens": ["the", "cat"], "tags": ["D", "N"]}\n\n{"tokens": ["a"], "tags": ["D"]}', { requireTags: true });
  assert.equal(ok.length, 2);
});
