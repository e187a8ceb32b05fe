/**
 * The safetensors format (https://github.com/huggingface/safetensors, "Format" section):
 *
 *     8 bytes      N, little-endian unsigned 64-bit: the length of the header
 *     N bytes      a UTF-8 JSON object: name -> {dtype, shape, data_offsets: [begin, end]},
 *                  plus an optional "__metadata__": {string: string}; may be padded with spaces
 *     the rest     the byte buffer; offsets are relative to its start, tensors are contiguous,
 *                  row-major, little-endian, and cover the buffer without holes or overlaps
 *
 * rnnkit writes F32 tensors and reads F32 tensors, and F64, F16 and BF16 ones (converted to
 * float32: a PyTorch model saved after `.half()` or `.bfloat16()` imports as it is). Every claim of the
 * header is checked against the file before anything is allocated. Writes are atomic: a temp
 * file in the same folder, fsync, rename, fsync of the folder, so a crash never leaves a
 * half-written model where a good one was.
 */
import { platform } from "#platform";
import { RnnkitError, type TensorLike, sizeOf } from "../tensor.js";

export interface SafetensorsFile {
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
  metadata: Record<string, string>;
}

/** Refuse headers larger than this (the reference implementation uses 100 MB). */
const MAX_HEADER = 100 * 1024 * 1024;
const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

/** Encodes tensors (as float32) and string metadata into the bytes of a .safetensors file. */
export function encodeSafetensors(tensors: Record<string, TensorLike>, metadata: Record<string, string> = {}): Uint8Array {
  const where = "encodeSafetensors";
  // null prototype: a tensor named "__proto__" is written as one (JSON.stringify keeps own keys)
  const header = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new RnnkitError(`${where}: metadata ${k}: expected a string, got ${typeof v}`);
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === "__metadata__") throw new RnnkitError(`${where}: "__metadata__" is reserved and cannot name a tensor`);
    const t = tensors[name];
    const n = sizeOf(t.shape);
    if (t.data.length !== n) throw new RnnkitError(`${where}: ${name}: shape [${t.shape}] needs ${n} numbers, got ${t.data.length}`);
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  const utf8 = new TextEncoder().encode(JSON.stringify(header));
  // pad the header with spaces so the buffer starts 8-byte aligned
  const hlen = utf8.length + ((8 - (utf8.length % 8)) % 8);
  const out = new Uint8Array(8 + hlen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hlen), true);
  out.set(utf8, 8);
  out.fill(0x20, 8 + utf8.length, 8 + hlen);
  const body = 8 + hlen;
  for (const name of names) {
    const t = tensors[name];
    const [begin] = (header[name] as { data_offsets: number[] }).data_offsets;
    for (let i = 0; i < t.data.length; i++) view.setFloat32(body + begin + 4 * i, t.data[i], true);
  }
  return out;
}

/** Decodes and validates the bytes of a .safetensors file. `source` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = "safetensors"): SafetensorsFile {
  const bad = (what: string) => new RnnkitError(`${source}: not a valid safetensors file: ${what}`);
  if (bytes.length < 8) throw bad(`expected at least 8 bytes (the header length), got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen64 = view.getBigUint64(0, true);
  if (hlen64 > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    throw bad(`the header claims ${hlen64} bytes but the file has ${bytes.length - 8} after the length (limit ${MAX_HEADER})`);
  }
  const hlen = Number(hlen64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    throw bad(`the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw bad("the header is not a JSON object");
  const body = 8 + hlen;
  const bodyLen = bytes.length - body;
  const metadata = Object.create(null) as Record<string, string>;
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("__metadata__ is not an object");
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") throw bad(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== "object") throw bad(`${name}: expected {dtype, shape, data_offsets}`);
    if (typeof e.dtype !== "string" || !Object.hasOwn(BYTES, e.dtype)) {
      throw bad(`${name}: dtype ${JSON.stringify(e.dtype)} is not supported (expected F32, F64, F16 or BF16)`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`${name}: shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      throw bad(`${name}: data_offsets ${JSON.stringify(off)} is not [begin, end] with 0 <= begin <= end`);
    }
    if (off[1] > bodyLen) throw bad(`${name}: data_offsets end ${off[1]} lies past the end of the data (${bodyLen} bytes)`);
    const want = sizeOf(e.shape as number[]) * BYTES[e.dtype];
    if (off[1] - off[0] !== want) {
      throw bad(`${name}: shape [${e.shape}] of ${e.dtype} needs ${want} bytes, data_offsets span ${off[1] - off[0]}`);
    }
    entries.push({ name, dtype: e.dtype, shape: e.shape as number[], begin: off[0], end: off[1] });
  }
  // contiguous, no holes, no overlaps, covering the whole buffer
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) throw bad(`${e.name}: data starts at ${e.begin}, expected ${at} (holes or overlaps)`);
    at = e.end;
  }
  if (at !== bodyLen) throw bad(`the tensors cover ${at} bytes of data, the file has ${bodyLen}`);

  // null-prototype records: a tensor or metadata key named "__proto__" is an own key like any other
  const tensors = Object.create(null) as SafetensorsFile["tensors"];
  for (const e of entries) {
    const n = sizeOf(e.shape);
    const data = new Float32Array(n);
    const base = body + e.begin;
    if (e.dtype === "F32") for (let i = 0; i < n; i++) data[i] = view.getFloat32(base + 4 * i, true);
    else if (e.dtype === "F64") for (let i = 0; i < n; i++) data[i] = view.getFloat64(base + 8 * i, true);
    else if (e.dtype === "F16") for (let i = 0; i < n; i++) data[i] = float16(view.getUint16(base + 2 * i, true));
    // bfloat16 is the top half of a float32
    else {
      for (let i = 0; i < n; i++) {
        bits.setUint32(0, view.getUint16(base + 2 * i, true) << 16);
        data[i] = bits.getFloat32(0);
      }
    }
    tensors[e.name] = { shape: e.shape, data };
  }
  return { tensors, metadata };
}

const bits = new DataView(new ArrayBuffer(4));

/** IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits) -> a number. */
function float16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync the folder, so a
 * crash leaves the old file or the new one (Node only).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  platform.writeFileAtomic(path, bytes);
}

export function saveSafetensors(path: string, tensors: Record<string, TensorLike>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = platform.readFile(path);
  } catch (e) {
    throw new RnnkitError(`loadSafetensors: cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}
