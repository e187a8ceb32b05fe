/**
 * The fixture runner itself: it passes the TensorFlow.js (Keras semantics) fixtures rnnkit can
 * express, including the reset-before GRU and Keras masking, refuses those it cannot, and
 * catches a wrong number.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runFixture } from "./fixture.js";
import { loadFixture } from "./fixture-file.js";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "test", "fixtures");

for (const name of ["tfjs_gru_reset_before", "tfjs_gru_reset_before_nobias", "tfjs_gru_reset_after", "tfjs_gru_masked", "tfjs_lstm_unit_forget_bias"]) {
  test(`TensorFlow.js golden: ${name}`, () => {
    assert.deepEqual(runFixture(loadFixture(join(root, "tfjs", `${name}.json`))), []);
  });
}

test("hardSigmoid fixtures are refused, not skipped", () => {
  assert.throws(() => runFixture(loadFixture(join(root, "tfjs", "tfjs_gru_reset_before_hardsigmoid.json"))), /hardSigmoid/);
});

test("a fixture with one gradient element off by 1e-3 relative fails", () => {
  const fx = loadFixture(join(root, "pytorch", "lstm_bidir_varlen.json"));
  assert.deepEqual(runFixture(fx), []);
  const g = fx.grads.weight_hh_l0_reverse.data;
  g[3] *= 1.001;
  g[3] += 2e-5;
  const misses = runFixture(fx);
  assert.equal(misses.length, 1);
  assert.match(misses[0].what, /weight_hh_l0_reverse/);
});
