/**
 * The native backend's portable kernels on ARM64, from an x86-64 machine: portable-check.cc
 * (the kernels against double-precision definitions) cross-compiled with aarch64-linux-gnu-g++
 * and run under qemu-aarch64 (both from `npm run setup:test`: g++-aarch64-linux-gnu, qemu-user);
 * and the same program built for this machine, where it checks every instruction set the CPU
 * offers. On an ARM64 machine the native build is the ARM one, and only that runs.
 *   node --test dist/src/backend/native/portable.test.js
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// dist/src/backend/native/ -> the repository's src/backend/native/
const sources = fileURLToPath(new URL("../../../../src/backend/native/", import.meta.url));
const flags = ["-std=gnu++17", "-O2", "-ffp-contract=fast", "-fno-math-errno", "-fno-trapping-math", `-I${sources}`];
const files = [join(sources, "portable-check.cc"), join(sources, "kernels.cc")];

function have(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { encoding: "utf8" }).status === 0;
}

/** Compiles the check with `cxx` (extra flags), runs it (through `runner` when given), returns its output. */
function buildAndRun(cxx: string, extra: string[], runner?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-portable-"));
  try {
    const exe = join(dir, "portable-check");
    const cc = spawnSync(cxx, [...flags, ...extra, ...files, "-o", exe], { encoding: "utf8" });
    assert.equal(cc.status, 0, `${cxx} failed:\n${cc.stderr}`);
    const run = runner ? spawnSync(runner, [exe], { encoding: "utf8" }) : spawnSync(exe, [], { encoding: "utf8" });
    assert.equal(run.status, 0, `portable-check failed:\n${run.stdout}${run.stderr}`);
    return run.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("portable kernels on ARM64 (NEON) agree with their double-precision definitions", () => {
  if (process.arch === "arm64") {
    assert.match(buildAndRun("g++", []), /portable-check: ok \d+ checks on generic/);
    return;
  }
  const missing = ["aarch64-linux-gnu-g++", "qemu-aarch64"].filter((c) => !have(c));
  assert.deepEqual(missing, [], `missing ${missing.join(", ")}: run \`npm run setup:test\` (apt-get g++-aarch64-linux-gnu qemu-user)`);
  assert.match(buildAndRun("aarch64-linux-gnu-g++", ["-static"], "qemu-aarch64"), /portable-check: ok \d+ checks on generic\n/);
});

test("the same check on this machine, every instruction set it offers", () => {
  const out = buildAndRun("g++", []);
  assert.match(out, /portable-check: ok \d+ checks on [a-z0-9,]*generic\n/);
});
