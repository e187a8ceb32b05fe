import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("./main.js", import.meta.url));

test("rnnkit --help prints usage; an unknown command fails with exit 2", () => {
  const ok = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
  assert.equal(ok.status, 0);
  assert.match(ok.stdout, /Usage: rnnkit/);
  const bad = spawnSync(process.execPath, [bin, "frobnicate"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
});
