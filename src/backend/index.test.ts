import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { availableBackends, backendByName, getBackend } from "./index.js";
import { nativeUnavailable } from "./native/native.js";

test("native is the default in Node when its addon loads, else wasm; js and wasm are available by name; unknown names are refused", async () => {
  const native = nativeUnavailable() === null;
  if (process.env.RNNKIT_REQUIRE_NATIVE === "1") assert.ok(native, `RNNKIT_REQUIRE_NATIVE=1 but: ${nativeUnavailable()}`);
  if (process.env.RNNKIT_BACKEND === undefined) assert.equal(getBackend().name, native ? "native" : "wasm");
  assert.deepEqual(await availableBackends(), native ? ["js", "wasm", "native"] : ["js", "wasm"]);
  assert.equal((await backendByName("js")).name, "js");
  await assert.rejects(backendByName("gpu"), /unknown backend "gpu": expected one of js, wasm, native/);
});

test("the default falls back to js, saying why once, when neither native nor wasm can start", () => {
  // a child process without the addon, whose WebAssembly.Memory refuses everything
  const script = `
    WebAssembly.Memory = function () { throw new RangeError("no memory for you"); };
    const { getBackend } = await import(${JSON.stringify(new URL("./index.js", import.meta.url).href)});
    console.log(getBackend().name, getBackend().name);
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, RNNKIT_NATIVE_PATH: "/nonexistent/rnnkit_native.node" };
  delete env.RNNKIT_BACKEND;
  delete env.RNNKIT_REQUIRE_NATIVE;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "js js");
  const warnings = r.stderr.split("\n").filter((l) => l.includes("rnnkit:"));
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /the native backend cannot load \(.*\); using the wasm backend$/);
  assert.match(warnings[1], /the wasm backend could not start \(.*no memory for you.*\); using the js backend$/);
});

test("a wasm build forced by RNNKIT_WASM_SIMD that cannot run is the user's error, not a silent fall back to js", () => {
  const script = `
    const { getBackend } = await import(${JSON.stringify(new URL("./index.js", import.meta.url).href)});
    try { console.log(getBackend().name); } catch (e) { console.log(e.name + ": " + e.message); }
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, RNNKIT_NATIVE_PATH: "/nonexistent/rnnkit_native.node", RNNKIT_WASM_SIMD: "avx9000" };
  delete env.RNNKIT_BACKEND;
  delete env.RNNKIT_REQUIRE_NATIVE;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /^RnnkitError: .*RNNKIT_WASM_SIMD.*expected.*relaxed.*simd128.*avx9000/);
  assert.ok(!r.stderr.includes("using the js backend"), r.stderr);
});
