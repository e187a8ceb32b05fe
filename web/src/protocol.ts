/**
 * The messages between the page (main.ts) and the training worker (worker.ts). Everything that
 * computes runs in the worker; the page only draws and posts requests. One request at a time
 * gets one reply (`id` matches them), except `train`, which streams `progress` and `sample`
 * messages until its `done`.
 */
import type { CellName } from "rnnkit";

/** The playground's three tasks. */
export const PLAYGROUND_TASKS = ["memory", "text", "names"] as const;
export type PlaygroundTask = (typeof PLAYGROUND_TASKS)[number];

/** Which bundled name list the names task learns. */
export const NAME_LISTS = ["female", "male", "both"] as const;
export type NameList = (typeof NAME_LISTS)[number];

/** The three cells the playground offers (the library's CELLS also has rnn_relu). */
export const PLAYGROUND_CELLS = ["rnn", "lstm", "gru"] as const satisfies readonly CellName[];

export interface TrainSettings {
  task: PlaygroundTask;
  cell: CellName;
  hidden: number;
  layers: number;
  /** memory: the delay N (distractor steps between the symbol and the question) */
  delay: number;
  /** text: the pasted text */
  text: string;
  /** names: which list */
  names: NameList;
  lr: number;
  batchSize: number;
  /** stream tasks: the truncated-BPTT chunk length */
  seqLen: number;
  seed: number;
}

export type Request =
  | { type: "train"; settings: TrainSettings }
  | { type: "stop" }
  | { type: "generate"; id: number; prompt: string; length: number; temperature: number }
  | { type: "save"; id: number }
  | { type: "load"; id: number; bytes: Uint8Array; name: string }
  | { type: "inspect"; id: number; input: string }
  | { type: "gradients"; id: number; delay: number }
  | ({ type: "counts"; id: number } & Pick<TrainSettings, "task" | "text" | "names" | "hidden" | "layers">);

/** The first message: the wasm backend's thread count (default: rnnkit's own choice). */
export interface Init {
  type: "init";
  threads?: number;
}

/** What the worker found when it started. */
export interface WorkerEnv {
  backend: string;
  threads: number;
  crossOriginIsolated: boolean;
  version: string;
}

/** The model the worker holds now, as the page shows it. */
export interface ModelSummary {
  task: string;
  cell: string;
  hidden: number;
  layers: number;
  parameters: number;
  /** where it came from: "trained here" or the file's name */
  source: string;
  /** lm models: generation works */
  generates: boolean;
}

export type Reply =
  | { type: "ready"; env: WorkerEnv }
  /** the steps since the last progress message (at most every 50 ms), and where the run is */
  | { type: "progress"; points: { step: number; loss: number }[]; epoch: number; itemsPerSec: number; unit: string; elapsed: number }
  | { type: "sample"; step: number; text: string }
  | { type: "done"; stoppedBy: string; steps: number; model: ModelSummary }
  | { type: "generated"; id: number; text: string }
  | { type: "saved"; id: number; bytes: Uint8Array; name: string }
  | { type: "loaded"; id: number; model: ModelSummary }
  | { type: "inspected"; id: number; value: unknown }
  | { type: "gradients"; id: number; value: unknown }
  | { type: "counts"; id: number; value: unknown }
  | { type: "error"; id?: number; message: string };
