/** examples/captions.ts: the seeded scene generator, captions consistent with their scenes, unseen test scenes, the metrics, a quick run. */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/io/model-file.js";
import { expectTask, openTask } from "../src/tasks/open.js";
import { CELLS, CELL_FEATURES, COLOURS, FEATURES, SHAPES, captionOf, generateScenes, loadScenes, main, majorityCaption, perWordAccuracy } from "./captions.js";

test("the generator is seeded: the same seed gives the same scenes, another seed others", () => {
  assert.deepEqual(generateScenes(20, 7), generateScenes(20, 7));
  assert.notDeepEqual(generateScenes(20, 7).map((s) => s.caption), generateScenes(20, 8).map((s) => s.caption));
});

test("a caption names every object left to right, and the features show them", () => {
  assert.equal(captionOf([{ size: "large", colour: "red", shape: "circle", cell: "left" }]), "a large red circle on the left");
  assert.equal(
    captionOf([{ size: "small", colour: "blue", shape: "square", cell: "left" }, { size: "large", colour: "green", shape: "triangle", cell: "middle" }, { size: "small", colour: "yellow", shape: "circle", cell: "right" }]),
    "a small blue square on the left , a large green triangle in the middle and a small yellow circle on the right",
  );
  for (const s of generateScenes(300, 3)) {
    assert.ok(s.objects.length >= 1 && s.objects.length <= 3);
    assert.equal(s.features.length, FEATURES);
    const cells = s.objects.map((o) => CELLS.indexOf(o.cell));
    assert.deepEqual(cells, [...new Set(cells)].sort());
    assert.equal(s.caption, captionOf(s.objects));
    for (const o of s.objects) assert.ok(s.caption.includes(`${o.size} ${o.colour} ${o.shape}`));
    CELLS.forEach((c, k) => {
      const f = s.features.slice(k * CELL_FEATURES, (k + 1) * CELL_FEATURES);
      const o = s.objects.find((x) => x.cell === c);
      // present (1 vs 0) and the shape's corners / 4 read back through the noise (sd 0.05: 0.25 is 5 sd)
      assert.ok(Math.abs(f[0] - (o ? 1 : 0)) < 0.5);
      if (o) assert.ok(Math.abs(f[4] - { circle: 0, triangle: 3, square: 4 }[o.shape] / 4) < 0.25);
    });
  }
  assert.equal(COLOURS.length * SHAPES.length, 12);
});

test("test scenes are unseen: no test caption is a training caption", () => {
  const { train, test: held } = loadScenes(2000, 200);
  const seen = new Set(train.map((s) => s.caption));
  assert.equal(held.length, 200);
  assert.ok(held.every((s) => !seen.has(s.caption)));
  assert.equal(new Set(held.map((s) => s.caption)).size, 200);
});

test("per-word accuracy and the majority caption", () => {
  assert.equal(perWordAccuracy([["a", "b"], ["x"]], [["a", "c", "d"], ["x"]]), 2 / 4);
  assert.deepEqual(majorityCaption([["a", "b"], ["a", "c"], ["d", "c", "e"]]), ["a", "c"]);
});

test("a quick run reports exact and per-word accuracy beside their baselines and saves the model", async (t) => {
  const out = join(tmpdir(), `rnnkit-captions-${process.pid}.safetensors`);
  const r = await main({ quick: true, steps: 5, out, seed: 1 });
  t.after(() => rmSync(out, { force: true }));
  const rows = r.results as { metric: string; value: number; baseline: number }[];
  assert.deepEqual(rows.map((x) => x.metric), ["exact-caption accuracy", "per-word accuracy"]);
  for (const x of rows) assert.ok(x.value >= 0 && x.value <= 1 && x.baseline >= 0 && x.baseline <= 1);
  assert.equal(expectTask(openTask(loadModel(out)), "lm").task, "lm");
});
