import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LSTM } from "../layers/layers.js";
import { RnnkitError } from "../tensor.js";
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from "./safetensors.js";

function header(bytes: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
}

function withHeader(h: unknown, body: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(h));
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

test("a model's state dict round-trips through a .safetensors file, with metadata", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-"));
  const a = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 1 });
  const path = join(dir, "model.safetensors");
  saveSafetensors(path, a.stateDict(), { format: "pt", config: JSON.stringify({ cell: "lstm" }) });
  assert.deepEqual(readdirSync(dir), ["model.safetensors"], "no temp file is left behind");
  const f = loadSafetensors(path);
  assert.equal(f.metadata.format, "pt");
  const b = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 2 });
  b.loadStateDict(f.tensors);
  assert.deepEqual(b.stateDict(), a.stateDict());
  const bytes = readFileSync(path);
  const h = header(bytes);
  assert.deepEqual((h.weight_ih_l0 as { shape: number[] }).shape, [16, 3]);
  assert.equal((8 + Number(bytes.readBigUInt64LE(0))) % 8, 0, "data starts 8-byte aligned");
});

test("an atomic save never leaves a half-written file where a good one was", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-"));
  const path = join(dir, "m.safetensors");
  saveSafetensors(path, { w: { shape: [2], data: [1, 2] } });
  const good = readFileSync(path);
  assert.throws(() => saveSafetensors(path, { w: { shape: [3], data: [1, 2] } }), RnnkitError);
  assert.deepEqual(readFileSync(path), good);
  assert.equal(readdirSync(dir).length, 1);
});

test("F64 tensors are read and converted to float32", () => {
  const body = new Uint8Array(16);
  new DataView(body.buffer).setFloat64(0, 0.5, true);
  new DataView(body.buffer).setFloat64(8, -3, true);
  const f = decodeSafetensors(withHeader({ x: { dtype: "F64", shape: [2], data_offsets: [0, 16] } }, body));
  assert.deepEqual(Array.from(f.tensors.x.data), [0.5, -3]);
});

test("every header claim is checked before allocating", () => {
  const ok = encodeSafetensors({ w: { shape: [2, 2], data: [1, 2, 3, 4] } });
  const body = ok.subarray(8 + Number(Buffer.from(ok).readBigUInt64LE(0)));
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(3), /at least 8 bytes/],
    [(() => { const b = Uint8Array.from(ok); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; })(), /claims/],
    [withHeader({ w: { dtype: "I8", shape: [2, 2], data_offsets: [0, 16] } }, body), /dtype "I8"/],
    [withHeader({ w: { dtype: "F32", shape: [2, -2], data_offsets: [0, 16] } }, body), /shape/],
    [withHeader({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, body), /needs 16 bytes/],
    [withHeader({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 160] } }, body), /past the end/],
    [withHeader({ w: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, body.subarray(0, 8)), /holes or overlaps/],
    [withHeader({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, body), /cover 4 bytes/],
    [withHeader({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__.a/],
    [withHeader([1, 2], new Uint8Array(0)), /not a JSON object/],
  ];
  for (const [bytes, msg] of cases) assert.throws(() => decodeSafetensors(bytes, "m.safetensors"), (e: unknown) => e instanceof RnnkitError && msg.test(e.message) && e.message.startsWith("m.safetensors: not a valid safetensors file"));
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-"));
  writeFileSync(join(dir, "x.safetensors"), "hello, I am not a model");
  assert.throws(() => loadSafetensors(join(dir, "x.safetensors")), /not a valid safetensors file/);
  assert.throws(() => loadSafetensors(join(dir, "missing.safetensors")), /cannot read/);
  assert.equal(existsSync(join(dir, "missing.safetensors")), false);
});

test("a write that cannot happen says why in words and changes nothing; temp files of killed writers are removed", () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-"));
  const folder = join(dir, "m.safetensors");
  mkdirSync(folder);
  assert.throws(() => saveSafetensors(folder, { w: { shape: [1], data: [1] } }), /cannot write .*m\.safetensors: it is a folder \(EISDIR\); nothing there was changed/);
  assert.deepEqual(readdirSync(dir), ["m.safetensors"], "no temp file left");
  assert.throws(() => saveSafetensors(join(dir, "no", "such", "x.safetensors"), { w: { shape: [1], data: [1] } }), /its folder does not exist \(ENOENT\)/);
  // a writer killed between its write and its rename leaves .<name>.<pid>.<time>.tmp behind; the
  // next write of that file removes it (the pid no longer runs), and leaves a live writer's alone
  const path = join(dir, "k.safetensors");
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
  writeFileSync(join(dir, `.k.safetensors.${dead}.123.tmp`), "partial");
  writeFileSync(join(dir, `.k.safetensors.${process.ppid}.456.tmp`), "a live writer's");
  saveSafetensors(path, { w: { shape: [1], data: [1] } });
  assert.deepEqual(readdirSync(dir).sort(), [`.k.safetensors.${process.ppid}.456.tmp`, "k.safetensors", "m.safetensors"]);
});

test("F16 and BF16 tensors (a PyTorch model saved after .half() or .bfloat16()) read as float32, special values included", () => {
  // binary16: 1, -2, 0.5, 65504 (the largest), 2^-24 (the smallest subnormal), -0, Infinity, NaN
  const f16 = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00];
  // bfloat16: 1, -2.5, 3.140625, 2^-133 (a subnormal), -Infinity
  const bf16 = [0x3f80, 0xc020, 0x4049, 0x0001, 0xff80];
  const body = new Uint8Array(2 * (f16.length + bf16.length));
  const v = new DataView(body.buffer);
  [...f16, ...bf16].forEach((h, i) => v.setUint16(2 * i, h, true));
  const f = decodeSafetensors(withHeader({
    h: { dtype: "F16", shape: [2, 4], data_offsets: [0, 16] }, b: { dtype: "BF16", shape: [5], data_offsets: [16, 26] },
  }, body));
  assert.deepEqual(f.tensors.h.shape, [2, 4]);
  assert.deepEqual(Array.from(f.tensors.h.data), [1, -2, 0.5, 65504, 2 ** -24, -0, Infinity, NaN]);
  assert.ok(Object.is(f.tensors.h.data[5], -0));
  assert.deepEqual(Array.from(f.tensors.b.data), [1, -2.5, 3.140625, Math.fround(2 ** -133), -Infinity]);
  // a size that does not fit the dtype is refused as before
  assert.throws(() => decodeSafetensors(withHeader({ h: { dtype: "F16", shape: [3], data_offsets: [0, 4] } }, new Uint8Array(4))), /shape \[3\] of F16 needs 6 bytes, data_offsets span 4/);
});
