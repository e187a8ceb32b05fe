/** The Node.js host (see platform.ts). */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Platform, WorkerHandle } from "./platform.js";

function writeFileAtomic(path: string, bytes: Uint8Array): void {
  // temp file beside the target, fsync, rename, fsync the folder: a crash leaves the old file or the new one
  const dir = dirname(path);
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
    throw e;
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

let kernels: Uint8Array | null = null;
let version: string | null = null;

export const platform: Platform = {
  name: "node",
  cores: () => availableParallelism(),
  env: (name) => process.env[name],
  kernelBytes() {
    if (!kernels) {
      const url = new URL("../backend/wasm/kernels.wasm", import.meta.url);
      try {
        kernels = readFileSync(url);
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") {
          throw new Error(`WasmBackend: ${url.pathname} not found: build it with \`node scripts/build-wasm.mjs\` (part of npm run build)`);
        }
        throw e;
      }
    }
    return kernels;
  },
  startWorker(main: string, data: object, onError: () => void): WorkerHandle {
    const source = `"use strict";\n(${main})(require("node:worker_threads").workerData);\n`;
    const worker = new Worker(source, { eval: true, workerData: data });
    worker.unref(); // an idle worker must not keep the process alive
    worker.on("error", onError);
    return { terminate: () => void worker.terminate() };
  },
  canShareMemory: () => true,
  readFile: (path) => readFileSync(path),
  writeFileAtomic,
  version() {
    version ??= (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
    return version;
  },
};
