/**
 * `npm run examples [-- --quick]`: runs every example in dist/examples one after the other,
 * passing the flags on, and prints each one's JSON result line; exits non-zero if any failed.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const skip = new Set(["common.js", "run-all.js"]);
// example names select examples; flags (and the values of --steps, --time-budget, --seed) pass on
const only: string[] = [], flags: string[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (!argv[i].startsWith("--")) only.push(argv[i]);
  else {
    flags.push(argv[i]);
    if (["--steps", "--time-budget", "--seed"].includes(argv[i]) && i + 1 < argv.length) flags.push(argv[++i]);
  }
}
const files = readdirSync(here).filter((f) => f.endsWith(".js") && !f.endsWith(".test.js") && !f.startsWith("lib-") && !skip.has(f)).sort()
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.js$/, "")));
let failed = 0;
for (const f of files) {
  const t0 = Date.now();
  process.stderr.write(`--- ${f}\n`);
  const r = spawnSync(process.execPath, [join(here, f), ...flags], { stdio: ["ignore", "inherit", "inherit"] });
  process.stderr.write(`--- ${f}: ${r.status === 0 ? "ok" : `FAILED (exit ${r.status})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  if (r.status !== 0) failed++;
}
if (files.length === 0) process.stderr.write("no examples found in dist/examples\n");
process.exit(failed > 0 ? 1 : 0);
