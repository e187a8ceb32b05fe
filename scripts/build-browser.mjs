#!/usr/bin/env node
// Bundles rnnkit for browsers: dist/src (tsc's output)  ->  dist/browser/rnnkit.js, one ES module.
//
// esbuild resolves `#platform` through package.json's "imports" with the "browser" condition, so
// the bundle holds src/platform/browser.ts and no Node code; the kernels (kernels.wasm) are
// inlined as bytes (binary loader), so the bundle needs no fetch and no asset beside it. A Node
// built-in that sneaks into the browser graph fails this build.
import { build } from "esbuild";
import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const outfile = join(root, "dist/browser/rnnkit.js");

await build({
  entryPoints: [join(root, "dist/src/index.js")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: true,
  loader: { ".wasm": "binary" },
  define: { RNNKIT_VERSION: JSON.stringify(pkg.version) },
  logLevel: "warning",
});
console.log(`build-browser: wrote ${outfile} (${statSync(outfile).size} bytes)`);
