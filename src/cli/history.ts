/**
 * `rnnkit train --history run.jsonl`: the training history as JSON Lines, from the trainer's own
 * callbacks (`onProgress` after each batch, `onEpoch` after each epoch), one object per line:
 *
 *   {"step": 20, "epoch": 1, "loss": 2.31, "lr": 0.002, "throughput": 812.5, "unit": "sequences/s"}
 *     every `defaults.historyEvery` optimizer steps (and the first): the batch loss, the learning
 *     rate of that step and the epoch's throughput so far;
 *   {"step": 120, "epoch": 1, "loss": 2.05, "validation": {"loss": 2.11, "accuracy": 0.41}, "elapsed": 12.3}
 *     at each epoch's end: the epoch's mean training loss and the validation metrics when measured.
 *
 * A new history never replaces a file unless --force; with --resume it is appended to.
 * `rnnkit plot run.jsonl` draws it (src/cli/inspect.ts).
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { defaults } from "../defaults.js";
import { RnnkitError } from "../tensor.js";
import type { EpochReport, Progress } from "../train/trainer.js";

export interface History {
  progress(p: Progress): void;
  epoch(r: EpochReport): void;
}

function round(v: number, digits = 6): number {
  return Number.isFinite(v) ? Number(v.toPrecision(digits)) : v;
}

/** Opens (claims) the history file; `unit` names the throughput ("sequences/s", "tokens/s"). */
export function openHistory(path: string, o: { force?: boolean; resume?: boolean }, unit: string): History {
  if (!path.endsWith(".jsonl")) throw new RnnkitError(`--history: expected a path ending in .jsonl, got ${JSON.stringify(path)}`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new RnnkitError(`--history: ${path} is a folder: expected the path of a .jsonl file`);
  if (existsSync(path) && !o.force && !o.resume) throw new RnnkitError(`--history: ${path} exists: pass --force to replace it (or --resume to append to it); nothing was written`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, o.resume ? "a" : "w"));
  } catch (e) {
    throw new RnnkitError(`--history: cannot write ${path}: ${(e as Error).message}`);
  }
  let lastStep = 0;
  const write = (obj: Record<string, unknown>) => appendFileSync(path, `${JSON.stringify(obj)}\n`);
  return {
    progress(p) {
      lastStep = p.step;
      if (p.step !== 1 && p.step % defaults.historyEvery !== 0) return;
      write({ step: p.step, epoch: p.epoch, loss: round(p.loss), lr: round(p.lr), throughput: round(p.itemsPerSec, 4), unit });
    },
    epoch(r) {
      const line: Record<string, unknown> = { step: lastStep, epoch: r.epoch, loss: round(r.train.loss) };
      if (r.partial) line.partial = true;
      if (r.val) line.validation = Object.fromEntries(Object.entries(r.val).filter(([, v]) => typeof v === "number").map(([k, v]) => [k, round(v as number)]));
      line.elapsed = round(r.elapsed, 4);
      write(line);
    },
  };
}
