/** Fixture files from disk (Node); the fixture runner itself (fixture.ts) also runs in the browser. */
import { readFileSync } from "node:fs";
import { type Fixture, parseFixture } from "./fixture.js";

export function loadFixture(path: string): Fixture {
  return parseFixture(readFileSync(path, "utf8"), path);
}
