/** examples/memory.ts: a short run reports every cell and delay against chance, and the far gradients. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { main } from "./memory.js";

test("the memory example: mean accuracy per cell and delay vs chance, equal-parameter rows, gradients at the longest delay", async () => {
  const r = await main({ quick: true, steps: 2, out: "", seed: 3 }, [2, 3]) as { results: { metric: string; value: number; baseline: number }[]; gradientAtLongest: { cell: string; phase: string; dh: number }[]; settings: { gateInit: unknown; steps: number } };
  assert.equal(r.results.length, 3 * 2 + 2 * 2);
  assert.ok(r.results.every((x) => x.baseline === 1 / 8 && x.value >= 0 && x.value <= 1));
  assert.match(r.results[0].metric, /^accuracy rnn N=2 H=32 \(equal hidden\)$/);
  assert.deepEqual(r.gradientAtLongest.map((g) => `${g.cell}/${g.phase}`), ["rnn/init", "rnn/trained", "lstm/init", "lstm/trained", "gru/init", "gru/trained"]);
  assert.ok(r.gradientAtLongest.every((g) => g.dh > 0));
  assert.equal(r.settings.gateInit, "chrono");
  assert.equal(r.settings.steps, 2);
});
