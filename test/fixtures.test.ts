/**
 * The fixture runner itself: it passes every TensorFlow.js (Keras semantics) fixture, including
 * the reset-before GRU, Keras masking and the hard-sigmoid gates, refuses what it cannot express,
 * and catches a wrong number.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runFixture } from "./fixture.js";
import { loadFixture } from "./fixture-file.js";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "test", "fixtures");

const TFJS = [
  "tfjs_gru_reset_before", "tfjs_gru_reset_before_nobias", "tfjs_gru_reset_after", "tfjs_gru_masked", "tfjs_lstm_unit_forget_bias",
  "tfjs_gru_reset_before_hardsigmoid", "tfjs_lstm_unit_forget_bias_const_init_hardsigmoid",
];
for (const name of TFJS) {
  test(`TensorFlow.js golden: ${name}`, () => {
    assert.deepEqual(runFixture(loadFixture(join(root, "tfjs", `${name}.json`))), []);
  });
}

test("the hardSigmoid fixtures need the hard sigmoid (the logistic one misses), and an unknown gate activation is refused", () => {
  for (const name of ["tfjs_gru_reset_before_hardsigmoid", "tfjs_lstm_unit_forget_bias_const_init_hardsigmoid"]) {
    const fx = loadFixture(join(root, "tfjs", `${name}.json`));
    fx.config.recurrent_activation = "sigmoid";
    assert.ok(runFixture(fx).length > 0, `${name} passes with the logistic sigmoid too`);
    fx.config.recurrent_activation = "relu6";
    assert.throws(() => runFixture(fx), /recurrent_activation "relu6" is not supported/);
  }
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
