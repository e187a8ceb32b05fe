/**
 * Long runs keep memory flat (`npm run bench:soak`): 20,000 training steps (fit, a classifier and a
 * language model with carried state, checkpoints written to a temp file every epoch) and
 * 1,000,000 streaming steps (Stream.feed on a character LSTM), each sampling the JS heap, the RSS
 * and the backend's memory (the wasm backend's allocated bytes and its memory's size) at 10% of the
 * run and at its end. Flat means less than 5% or 20 MB of growth between the two samples (the
 * first 10% is warm-up: workspaces sized, code compiled). One JSON line per run, then a summary;
 * the exit status is 1 when a run is not flat.
 *
 *   node dist/bench/soak.js [--train-steps 20000] [--stream-steps 1000000] [--backend wasm|js]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { backendByName } from "../src/backend/index.js";
import type { Backend } from "../src/backend/backend.js";
import type { WasmBackend } from "../src/backend/wasm/wasm.js";
import type { Example } from "../src/data/batches.js";
import { Stream } from "../src/decode/sample.js";
import { saveModel } from "../src/io/model-file.js";
import { SequenceModel } from "../src/models/sequence-model.js";
import { Rng } from "../src/rng.js";
import { fit } from "../src/train/trainer.js";

const { values } = parseArgs({
  options: {
    "train-steps": { type: "string", default: "20000" },
    "stream-steps": { type: "string", default: "1000000" },
    backend: { type: "string", default: "wasm" },
  },
});
const trainSteps = Number(values["train-steps"]);
const streamSteps = Number(values["stream-steps"]);
const backend: Backend = await backendByName(values.backend!);
const dir = mkdtempSync(join(tmpdir(), "rnnkit-soak-"));

interface Sample {
  at: number;
  heapMB: number;
  rssMB: number;
  backendMB: number;
}

function sample(at: number): Sample {
  // a full collection first where the host allows one (node --expose-gc), so that the heap is what is live
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const w = backend as Partial<WasmBackend>;
  const backendBytes = typeof w.allocatedBytes === "number" ? w.allocatedBytes : 0;
  const mb = (b: number) => Math.round((b / 2 ** 20) * 100) / 100;
  return { at, heapMB: mb(m.heapUsed), rssMB: mb(m.rss), backendMB: mb(backendBytes) };
}

/** Growth between the two samples, and whether it is flat (< 5% or < 20 MB, for each measure). */
function verdict(a: Sample, b: Sample): { growth: Record<string, number>; flat: boolean } {
  const growth: Record<string, number> = {};
  let flat = true;
  for (const k of ["heapMB", "rssMB", "backendMB"] as const) {
    const d = b[k] - a[k];
    growth[k] = Math.round(d * 100) / 100;
    if (!(d < 20 || d < 0.05 * a[k])) flat = false;
  }
  return { growth, flat };
}

const rows: { name: string; flat: boolean }[] = [];

function report(name: string, steps: number, seconds: number, s10: Sample, end: Sample): void {
  const v = verdict(s10, end);
  rows.push({ name, flat: v.flat });
  console.log(JSON.stringify({ bench: "soak", run: name, backend: backend.name, steps, seconds: Math.round(seconds * 10) / 10, at10: s10, end, growth: v.growth, flat: v.flat }));
}

function examples(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const tokens = Array.from({ length: 3 + Math.floor(rng.next() * 20) }, () => 4 + Math.floor(rng.next() * 20));
    return { tokens, target: tokens.includes(7) ? 1 : 0 };
  });
}

/** `steps` optimizer steps of fit, checkpointing every epoch; samples at 10% and at the end. */
async function soakFit(name: string, model: SequenceModel, data: Parameters<typeof fit>[1], batchSize: number): Promise<void> {
  const file = join(dir, `${name}.safetensors`);
  let s10: Sample | undefined;
  const t0 = performance.now();
  await fit(model, data, {
    steps: trainSteps, batchSize, seqLen: 32, optimizerOptions: { lr: 0.003 },
    onProgress: (p) => {
      if (p.step === Math.ceil(trainSteps / 10)) s10 = sample(p.step);
    },
    onCheckpoint: (i) => saveModel(file, model, { optimizer: i.optimizer, checkpoint: { step: i.optimizer.step, epoch: i.epoch, trainer: { ...i.trainer } }, ...(i.carry ? { carry: i.carry } : {}) }),
  });
  report(name, trainSteps, (performance.now() - t0) / 1000, s10!, sample(trainSteps));
  model.dispose();
}

await soakFit("fit-classify", new SequenceModel({ task: "classify", cell: "lstm", vocabSize: 24, embeddingDim: 16, hiddenSize: 64, outputSize: 2, dropout: 0.1, numLayers: 2, seed: 1 }, { backend }),
  { kind: "examples", train: examples(2000, 1), val: examples(200, 2) }, 16);

const rng = new Rng(3);
const text = Array.from({ length: 60000 }, () => 4 + Math.floor(rng.next() * 40));
await soakFit("fit-lm", new SequenceModel({ task: "lm", cell: "gru", vocabSize: 44, embeddingDim: 16, hiddenSize: 64, outputSize: 44, seed: 2 }, { backend }),
  { kind: "stream", train: text.slice(0, 54000), val: text.slice(54000) }, 8);

{
  const model = new SequenceModel({ task: "lm", cell: "lstm", vocabSize: 44, embeddingDim: 16, hiddenSize: 64, outputSize: 44, seed: 4 }, { backend });
  const stream = new Stream(model, 1);
  let s10: Sample | undefined;
  const t0 = performance.now();
  let id = 5;
  for (let t = 1; t <= streamSteps; t++) {
    const out = stream.feed([id]);
    id = 4 + (t * 7 + (out.data[0] > 0 ? 1 : 0)) % 40;
    if (t === Math.ceil(streamSteps / 10)) s10 = sample(t);
  }
  report("stream", streamSteps, (performance.now() - t0) / 1000, s10!, sample(streamSteps));
  model.dispose();
}

rmSync(dir, { recursive: true, force: true });
const bad = rows.filter((r) => !r.flat);
console.log(JSON.stringify({ bench: "soak", summary: bad.length ? `not flat: ${bad.map((r) => r.name).join(", ")}` : "flat", runs: rows.length }));
process.exitCode = bad.length ? 1 : 0;
