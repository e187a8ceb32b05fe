/**
 * The model file a training command writes (`--out`), claimed before any training starts so that
 * nothing the user has is lost and no work is lost at the first save:
 * - it must end in .safetensors and not be a folder; its folder is created and must take a file
 *   (a probe file is written and removed: permission bits do not tell, e.g. for root on a
 *   read-only mount);
 * - an existing file is never replaced unless the user says `--resume` (continue that model) or
 *   `--force` (replace it), whatever the file holds;
 * - a lock file (`<out>.lock`, holding the pid) refuses a second run writing the same path; a lock
 *   whose process no longer runs is stale and removed;
 * - `checkSpace` (once the model's size is known) refuses to start when the disk cannot hold the
 *   first checkpoint.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, statfsSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { processAlive } from "../platform/node.js";
import { RnnkitError } from "../tensor.js";


/** Claims `out` for this run (see the file comment); the lock is released when the process exits. */
export function claimOut(out: string, o: { resume?: boolean; force?: boolean; ext?: string; resumable?: boolean }): void {
  const ext = o.ext ?? ".safetensors";
  if (!out) throw new RnnkitError("--out: expected the path of the model file to write, got nothing");
  if (!out.endsWith(ext) || out.length === ext.length) throw new RnnkitError(`--out: expected a path ending in ${ext}, got ${JSON.stringify(out)}`);
  if (o.resume && o.force) throw new RnnkitError("--resume and --force: expected one of them (continue the model in --out, or replace it), got both");
  const dir = dirname(out);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new RnnkitError(`--out: cannot create the folder ${dir}: ${(e as Error).message}`);
  }
  if (existsSync(out)) {
    if (statSync(out).isDirectory()) throw new RnnkitError(`--out: ${out} is a folder: expected the path of a model file`);
    if (!o.resume && !o.force) {
      throw new RnnkitError(o.resumable === false
        ? `--out: ${out} exists: pass --force to replace it (nothing was written)`
        : `--out: ${out} exists: pass --resume to continue training it, or --force to replace it (nothing was written)`);
    }
  }
  // can a file be made here at all?
  const probe = join(dir, `.${basename(out)}.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, "wx"));
    unlinkSync(probe);
  } catch (e) {
    throw new RnnkitError(`--out: cannot write into ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  lock(out);
}

/**
 * Claims the folder `out` for files this run writes (`names`, e.g. a TF.js model.json and its
 * shards): it is created if missing; it must not be a file; a folder already holding one of
 * `names` is never written into without `--force`. Locked as claimOut locks a file.
 */
export function claimOutDir(out: string, names: readonly string[], o: { force?: boolean }): void {
  if (!out) throw new RnnkitError("--out: expected the path of the folder to write, got nothing");
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new RnnkitError(`--out: ${out} is a file: expected a folder (it receives ${names.join(", ")})`);
    const there = names.filter((n) => existsSync(join(out, n)));
    if (there.length && !o.force) throw new RnnkitError(`--out: ${out} already holds ${there.join(", ")}: pass --force to replace them (nothing was written)`);
  }
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new RnnkitError(`--out: cannot create the folder ${out}: ${(e as Error).message}`);
  }
  const probe = join(out, `.rnnkit.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, "wx"));
    unlinkSync(probe);
  } catch (e) {
    throw new RnnkitError(`--out: cannot write into ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  lock(out.replace(/[/\\]+$/, ""));
}

function lock(out: string): void {
  const path = `${out}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      process.once("exit", () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new RnnkitError(`--out: cannot create the lock ${path}: ${(e as Error).message}`);
      const pid = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new RnnkitError(`--out: ${out} is being written by another rnnkit run (pid ${pid}, lock ${path}); wait for it, or write elsewhere`);
      }
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new RnnkitError(`--out: cannot take the lock ${path}`);
}

/** Refuses to start when the disk of `out` has less room than `bytes` (the first checkpoint). */
export function checkSpace(out: string, bytes: number): void {
  let free: number;
  try {
    const s = statfsSync(dirname(out));
    free = s.bavail * s.bsize;
  } catch {
    return; // no statfs here: the save itself will say so
  }
  if (free < bytes) {
    throw new RnnkitError(`--out: the disk of ${dirname(out)} has ${Math.floor(free / 1024)} KiB free, the first checkpoint needs about ${Math.ceil(bytes / 1024)} KiB: free some space or write elsewhere`);
  }
}
