import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { availableBackends, backendByName, getBackend } from "./index.js";

test("the wasm backend is the default in Node; js is available by name; unknown names are refused", async () => {
  if (process.env.RNNKIT_BACKEND === undefined) assert.equal(getBackend().name, "wasm");
  assert.deepEqual(await availableBackends(), ["js", "wasm"]);
  assert.equal((await backendByName("js")).name, "js");
  await assert.rejects(backendByName("gpu"), /unknown backend "gpu": expected one of js, wasm/);
});

test("the default falls back to js, saying why once, when the wasm backend cannot start", () => {
  // a child process whose WebAssembly.Memory refuses everything
  const script = `
    WebAssembly.Memory = function () { throw new RangeError("no memory for you"); };
    const { getBackend } = await import(${JSON.stringify(new URL("./index.js", import.meta.url).href)});
    console.log(getBackend().name, getBackend().name);
  `;
  const env = { ...process.env };
  delete env.RNNKIT_BACKEND;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "js js");
  const warnings = r.stderr.split("\n").filter((l) => l.includes("rnnkit:"));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /the wasm backend could not start \(.*no memory for you.*\); using the js backend$/);
});
