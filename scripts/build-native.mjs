#!/usr/bin/env node
// Builds the native backend's addon from source with node-gyp:
//   binding.gyp + src/backend/native/*.{cc,h,inc}  ->  build/Release/rnnkit_native.node
//
// It is the package's "install" script and part of `npm run build`. Installing never fails because
// of it: when there is no compiler (or node-gyp, or Node's headers), it says so in one message and
// exits 0, and rnnkit runs on its wasm backend. With RNNKIT_REQUIRE_NATIVE=1 (CI) a failed build is
// an error instead, printed in full. Nothing is downloaded when Node's headers are installed beside
// it (a distribution's node; `--nodedir` points node-gyp at them); no prebuilt binary ever is.
//
// Usage: node scripts/build-native.mjs [--force]   (--force rebuilds even when the addon is newer
// than its sources)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build", "Release", "rnnkit_native.node");
const required = ["1", "true", "yes"].includes((process.env.RNNKIT_REQUIRE_NATIVE ?? "").toLowerCase());

function give(why, log = "") {
  if (required) {
    if (log) process.stderr.write(log);
    console.error(`build-native: failed (${why}), and RNNKIT_REQUIRE_NATIVE is set`);
    process.exit(1);
  }
  console.error(`rnnkit: the native backend was not built (${why}); rnnkit will use its wasm backend`);
  process.exit(0);
}

if (process.env.RNNKIT_SKIP_NATIVE_BUILD === "1") give("RNNKIT_SKIP_NATIVE_BUILD=1");

// up to date: the addon is newer than binding.gyp and every source
const sources = [join(root, "binding.gyp"), ...readdirSync(join(root, "src/backend/native"))
  .filter((f) => /\.(cc|h|inc)$/.test(f)).map((f) => join(root, "src/backend/native", f))];
if (!process.argv.includes("--force") && existsSync(out)) {
  const built = statSync(out).mtimeMs;
  if (sources.every((s) => statSync(s).mtimeMs < built)) {
    console.log(`build-native: ${out} is up to date`);
    process.exit(0);
  }
}

// node-gyp: the one npm runs scripts with, else npm's own copy beside this node, else on PATH
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  join(dirname(process.execPath), "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
].filter((p) => p && existsSync(p));
const gyp = candidates.length > 0 ? [process.execPath, candidates[0]] : ["node-gyp"];

// Node's headers installed with it (e.g. /usr/include/node): no download needed
const prefix = process.config.variables.node_prefix;
const args = ["rebuild"];
for (const p of [prefix, resolve(dirname(process.execPath), "..")]) {
  if (p && existsSync(join(p, "include", "node", "node_api.h")) && existsSync(join(p, "include", "node", "common.gypi"))) {
    args.push(`--nodedir=${p}`);
    break;
  }
}
args.push(`--jobs=2`);

// nice: a build must not slow what else runs on the machine
const nice = process.platform !== "win32" && spawnSync("nice", ["true"]).status === 0;
const cmd = nice ? ["nice", ...gyp, ...args] : [...gyp, ...args];
const t0 = Date.now();
const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, encoding: "utf8", env: { ...process.env, npm_config_loglevel: "error" } });
if (r.error) give(`${cmd[0]} could not run: ${r.error.message}`);
if (r.status !== 0 || !existsSync(out)) {
  const log = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  const err = log.split("\n").find((l) => /error|not found|No such file/i.test(l)) ?? `node-gyp exited with ${r.status}`;
  give(err.trim().slice(0, 300), log);
}
console.log(`build-native: wrote ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
