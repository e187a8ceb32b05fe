/**
 * `npm run test:parity`: runs every `*.json` golden fixture in a folder and compares outputs,
 * final states and all gradients with the reference, element by element within
 * 1e-5 + 1e-4*|ref|, in float32.
 *
 * The folder: $RNNKIT_FIXTURES, default the project's copy (test/fixtures/pytorch). A file that
 * cannot be run counts as failed: nothing is skipped. Ends with `parity: N passed, M failed`.
 * $RNNKIT_BACKEND picks the backend by name (default: the library default).
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadFixture, runFixture } from "./fixture.js";
import { backendByName } from "../bench/backends.js";

const here = fileURLToPath(new URL(".", import.meta.url));
// dist/test/parity.js -> <root>/test/fixtures/pytorch
const folder = resolve(process.env.RNNKIT_FIXTURES ?? join(here, "..", "..", "test", "fixtures", "pytorch"));
const backend = await backendByName(process.env.RNNKIT_BACKEND);

let files: string[];
try {
  files = readdirSync(folder).filter((f) => f.endsWith(".json")).sort();
} catch (e) {
  console.error(`parity: cannot read the fixture folder ${folder}: ${(e as Error).message}`);
  console.log("parity: 0 passed, 1 failed");
  process.exit(1);
}
let passed = 0;
let failed = 0;
for (const f of files) {
  try {
    const misses = runFixture(loadFixture(join(folder, f)), backend);
    if (misses.length === 0) {
      passed++;
      console.log(`ok   ${f}`);
    } else {
      failed++;
      console.log(`FAIL ${f}`);
      for (const m of misses) console.log(`     ${m.what}: ${m.detail}`);
    }
  } catch (e) {
    failed++;
    console.log(`FAIL ${f}: cannot run: ${(e as Error).message}`);
  }
}
if (files.length === 0) {
  console.error(`parity: no *.json fixture in ${folder}`);
  failed++;
}
console.log(`parity: ${passed} passed, ${failed} failed (backend ${backend.name}, ${folder})`);
process.exitCode = failed === 0 ? 0 : 1;
