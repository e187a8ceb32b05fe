/**
 * The README and the code cannot disagree: its defaults table is checked against
 * src/defaults.ts, and its first lines give the two commands a newcomer runs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { defaults } from "../src/defaults.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

test("every default in the README's table equals src/defaults.ts, and none is missing", () => {
  const rows = [...readme.matchAll(/^\| `(\w+)` \| `([^`]+)` \|/gm)].map((m) => [m[1], m[2]] as const);
  const table = new Map(rows);
  for (const [k, v] of Object.entries(defaults)) {
    assert.ok(table.has(k), `README lacks the default ${k}`);
    assert.equal(table.get(k), JSON.stringify(v), `README says ${k} = ${table.get(k)}, the code ${JSON.stringify(v)}`);
  }
});

test("the README starts with the install-and-run and the test commands", () => {
  const first = readme.split("\n").slice(0, 6).join("\n");
  assert.match(first, /npm ci && npm start/);
  assert.match(first, /npm test/);
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
  assert.ok(pkg.scripts.start, "package.json has a start script");
  assert.ok(pkg.scripts.test, "package.json has a test script");
});
