/** The Node.js host (see platform.ts). */
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { RnnkitError } from "../tensor.js";
import type { Platform, WorkerHandle } from "./platform.js";
import { type WasmSimd, wasmKernelFiles } from "../backend/wasm/simd.js";
import type Protobuf from "protobufjs";

let protobufjs: typeof Protobuf | undefined;

/** Whether process `pid` still runs (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temp files that writes of `path` by processes that no longer run left behind
 * (a SIGKILL between the write and the rename): `.<name>.<pid>.<time>.tmp` beside it.
 */
function removeStaleTemps(dir: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  for (const e of entries) {
    if (!e.startsWith(prefix) || !e.endsWith(".tmp")) continue;
    const m = /^(\d+)\.\d+\.tmp$/.exec(e.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, e));
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function writeFileAtomic(path: string, bytes: Uint8Array): void {
  // temp file beside the target, fsync, rename, fsync the folder: a crash leaves the old file or the new one
  const dir = dirname(path);
  removeStaleTemps(dir, basename(path));
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, "wx", 0o644);
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file was never created or is already renamed
    }
    // a folder named like the file, a read-only place, a full disk: said in words, the old file kept
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "EISDIR" ? "it is a folder" : code === "ENOSPC" ? "the disk is full" : code === "EACCES" || code === "EPERM" || code === "EROFS" ? "permission denied" : code === "ENOENT" ? "its folder does not exist" : (e as Error).message;
    throw new RnnkitError(`cannot write ${path}: ${why}${code ? ` (${code})` : ""}; nothing there was changed`);
  }
  try {
    const dfd = openSync(dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // some platforms cannot fsync a folder; the rename itself is atomic
  }
}

const kernels = new Map<WasmSimd, Uint8Array>();
let nativeAddon: { addon?: unknown; error?: Error } | null = null;

/**
 * The addon node-gyp builds from binding.gyp at the package root (scripts/build-native.mjs), or the
 * file $RNNKIT_NATIVE_PATH names; loaded once, failures remembered.
 */
function loadNative(): unknown {
  if (!nativeAddon) {
    const env = process.env.RNNKIT_NATIVE_PATH;
    const path = env ? env : fileURLToPath(new URL("../../../build/Release/rnnkit_native.node", import.meta.url));
    try {
      nativeAddon = { addon: createRequire(import.meta.url)(path) };
    } catch (e) {
      const code = (e as { code?: string }).code;
      const why = code === "MODULE_NOT_FOUND"
        ? `${path} not found (it is built when the package installs, or by \`node scripts/build-native.mjs\`; a C++ compiler and make are needed)`
        : `${path}: ${(e as Error).message}`;
      nativeAddon = { error: new Error(why) };
    }
  }
  if (nativeAddon.error) throw nativeAddon.error;
  return nativeAddon.addon;
}
let version: string | null = null;

export const platform: Platform = {
  name: "node",
  cores: () => availableParallelism(),
  env: (name) => process.env[name],
  kernelBytes(simd: WasmSimd = "simd128") {
    let bytes = kernels.get(simd);
    if (!bytes) {
      const url = new URL(`../backend/wasm/${wasmKernelFiles[simd]}`, import.meta.url);
      try {
        bytes = readFileSync(url);
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") {
          throw new Error(`WasmBackend: ${url.pathname} not found: build it with \`node scripts/build-wasm.mjs\` (part of npm run build)`);
        }
        throw e;
      }
      kernels.set(simd, bytes);
    }
    return bytes;
  },
  startWorker(main: string, data: object, onError: () => void): WorkerHandle {
    const source = `"use strict";\n(${main})(require("node:worker_threads").workerData);\n`;
    const worker = new Worker(source, { eval: true, workerData: data });
    worker.unref(); // an idle worker must not keep the process alive
    worker.on("error", onError);
    return { terminate: () => void worker.terminate() };
  },
  canShareMemory: () => true,
  loadNative,
  protobuf() {
    protobufjs ??= createRequire(import.meta.url)("protobufjs") as typeof Protobuf;
    return protobufjs;
  },
  readFile: (path) => readFileSync(path),
  writeFileAtomic,
  version() {
    version ??= (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
    return version;
  },
};
