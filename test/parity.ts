/**
 * `npm run test:parity`: runs every `*.json` golden fixture in a folder and compares outputs,
 * final states and all gradients with the reference, element by element within
 * 1e-5 + 1e-4*|ref|, in float32.
 *
 * The folders: $RNNKIT_FIXTURES, comma-separated, default the project's copies of both fixture
 * sets (test/fixtures/pytorch and test/fixtures/tfjs). A file that cannot be run counts as
 * failed: nothing is skipped. Ends with `parity: N passed, M failed`.
 * $RNNKIT_BACKEND picks the backends by name, comma-separated (default: every backend this
 * machine can run); each fixture runs on each of them.
 */
import { readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runFixture } from "./fixture.js";
import { loadFixture } from "./fixture-file.js";
import { availableBackends, backendByName } from "../bench/backends.js";

const here = fileURLToPath(new URL(".", import.meta.url));
// dist/test/parity.js -> <root>/test/fixtures/{pytorch,tfjs}
const own = ["pytorch", "tfjs"].map((d) => join(here, "..", "..", "test", "fixtures", d));
const folders = (process.env.RNNKIT_FIXTURES ? process.env.RNNKIT_FIXTURES.split(",") : own).map((d) => resolve(d.trim()));
const names = process.env.RNNKIT_BACKEND ? process.env.RNNKIT_BACKEND.split(",") : await availableBackends();
const backends = await Promise.all(names.map((n) => backendByName(n.trim())));

const files: string[] = [];
let failed = 0;
for (const folder of folders) {
  try {
    const found = readdirSync(folder).filter((f) => f.endsWith(".json")).sort();
    if (found.length === 0) {
      console.error(`parity: no *.json fixture in ${folder}`);
      failed++;
    }
    files.push(...found.map((f) => join(folder, f)));
  } catch (e) {
    console.error(`parity: cannot read the fixture folder ${folder}: ${(e as Error).message}`);
    failed++;
  }
}
let passed = 0;
for (const backend of backends) {
  for (const file of files) {
    const label = `${basename(dirname(file))}/${basename(file)} [${backend.name}]`;
    try {
      const misses = runFixture(loadFixture(file), backend);
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
console.log(`fixtures: ${folders.join(", ")}; backends: ${backends.map((b) => b.name).join(", ")}`);
console.log(`parity: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
