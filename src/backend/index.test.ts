import assert from "node:assert/strict";
import { test } from "node:test";
import { availableBackends, backendByName, getBackend } from "./index.js";

test("the wasm backend is the default in Node; js is available by name; unknown names are refused", async () => {
  if (process.env.RNNKIT_BACKEND === undefined) assert.equal(getBackend().name, "wasm");
  assert.deepEqual(await availableBackends(), ["js", "wasm"]);
  assert.equal((await backendByName("js")).name, "js");
  await assert.rejects(backendByName("gpu"), /unknown backend "gpu": expected one of js, wasm/);
});
