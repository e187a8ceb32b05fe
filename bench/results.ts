/**
 * Benchmark results kept between runs (bench/results/*.json), so that each run prints its ratio
 * to the previous one (`vsPrevious`). A run of a subset replaces only the rows it measured; the
 * file is replaced atomically.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** bench/results/ of the project (this file runs from dist/bench/). */
const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "results");

export class Results<R extends object> {
  readonly file: string;
  private readonly previous: R[] = [];
  private readonly rows: R[] = [];

  /**
   * `name`: the file under bench/results; `same`: whether two rows are the same case;
   * `value`: the number whose ratio to the previous run's is reported (higher is better).
   */
  constructor(name: string, private readonly same: (a: R, b: R) => boolean, private readonly value: (r: R) => number) {
    this.file = join(DIR, name);
    try {
      this.previous = JSON.parse(readFileSync(this.file, "utf8")) as R[];
    } catch {
      // the first run
    }
  }

  /** Records `r` and returns it with `vsPrevious` when the previous run had the same case. */
  add(r: R): R & { vsPrevious?: number } {
    this.rows.push(r);
    const prev = this.previous.find((p) => this.same(p, r));
    return prev ? { ...r, vsPrevious: Math.round((this.value(r) / this.value(prev)) * 1000) / 1000 } : r;
  }

  /** Writes the previous rows this run did not measure, then this run's. */
  save(): void {
    const kept = this.previous.filter((p) => !this.rows.some((r) => this.same(p, r)));
    mkdirSync(DIR, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify([...kept, ...this.rows], null, 1));
    renameSync(tmp, this.file);
  }
}
