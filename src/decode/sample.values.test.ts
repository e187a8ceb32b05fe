/**
 * sample() as an inverse CDF over the kept ids, at the edges of the uniform draw (issue 10, item 8:
 * a test written for a mutant that no test reached, see docs/mutation.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Rng } from "../rng.js";
import { sample } from "./sample.js";

/** A generator that always draws `u`. */
const at = (u: number) => ({ next: () => u }) as unknown as Rng;

test("a draw just below 1 gives the least likely kept id, even when rounding leaves the running sum above 0", () => {
  // for these logits, u = (1 - 2^-53) * sum minus every probability in turn stays 7e-17 above 0,
  // so the loop ends without a pick and the last kept id is the answer
  const logits = [-0.09071720759016078, -0.977173105695571, -1.3746666549621684, -0.23087353950625467, 1.4054749027075548, -0.29816495603441506];
  const top = 1 - 2 ** -53;
  assert.equal(sample(logits, {}, at(top)), 2, "the smallest logit is the last interval");
  assert.equal(sample(logits, {}, at(0)), 4, "the largest logit is the first interval");
  // with top-k 3 the kept ids are 4, 0, 3: the last of them
  assert.equal(sample(logits, { topK: 3 }, at(top)), 3);
  // the middle of the draw: the id whose cumulative interval holds u, by the definition
  const order = [4, 0, 3, 5, 1, 2];
  const p = order.map((i) => Math.exp(logits[i]));
  const z = p.reduce((a, b) => a + b, 0);
  for (const u of [0.1, 0.35, 0.6, 0.85, 0.97]) {
    let acc = 0, k = 0;
    while (acc + p[k] / z < u) acc += p[k++] / z;
    assert.equal(sample(logits, {}, at(u)), order[k], `u = ${u}`);
  }
});
