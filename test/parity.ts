/**
 * `npm run test:parity`: runs every `*.json` golden fixture in a folder and compares outputs,
 * final states and all gradients with the reference, element by element within
 * 1e-5 + 1e-4*|ref|, in float32.
 *
 * The folder: $RNNKIT_FIXTURES, default the project's copy (test/fixtures/pytorch). A file that
 * cannot be run counts as failed: nothing is skipped. Ends with `parity: N passed, M failed`.
 * $RNNKIT_BACKEND picks the backends by name, comma-separated (default: every backend this
 * machine can run); each fixture runs on each of them.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runFixture } from "./fixture.js";
import { loadFixture } from "./fixture-file.js";
import { availableBackends, backendByName } from "../bench/backends.js";

const here = fileURLToPath(new URL(".", import.meta.url));
// dist/test/parity.js -> <root>/test/fixtures/pytorch
const folder = resolve(process.env.RNNKIT_FIXTURES ?? join(here, "..", "..", "test", "fixtures", "pytorch"));
const names = process.env.RNNKIT_BACKEND ? process.env.RNNKIT_BACKEND.split(",") : await availableBackends();
const backends = await Promise.all(names.map((n) => backendByName(n.trim())));

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
for (const backend of backends) {
  for (const f of files) {
    const label = `${f} [${backend.name}]`;
    try {
      const misses = runFixture(loadFixture(join(folder, f)), backend);
      if (misses.length === 0) {
        passed++;
        console.log(`ok   ${label}`);
      } else {
        failed++;
        console.log(`FAIL ${label}`);
        for (const m of misses) console.log(`     ${m.what}: ${m.detail}`);
      }
    } catch (e) {
      failed++;
      console.log(`FAIL ${label}: cannot run: ${(e as Error).message}`);
    }
  }
}
if (files.length === 0) {
  console.error(`parity: no *.json fixture in ${folder}`);
  failed++;
}
console.log(`fixtures: ${folder}; backends: ${backends.map((b) => b.name).join(", ")}`);
console.log(`parity: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
