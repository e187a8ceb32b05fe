/**
 * The playground's worker: every computation of the page runs here, never on the page's thread
 * (README, "In the browser": a training loop on the main thread freezes the page between yields).
 * It holds one model, trains it with `fit` (which yields every 50 ms, so `stop` and queued
 * requests get through), generates from it as it learns, saves and loads it as the same
 * .safetensors file the CLI writes and reads, and inspects it.
 *
 * The backend is the wasm backend of the shipped bundle, with the thread count the page asks
 * for (threads need a cross-origin isolated page; elsewhere rnnkit runs one thread).
 */
import {
  type CellName, type Model, type Progress, RnnkitError, SequenceModel, Tokenizer, type TrainData,
  createWasmBackend, evaluate, fit, generateIds, getBackend, modelFromBytes, modelToBytes, openTask,
  rnnkitVersion, setBackend,
} from "rnnkit";
import type { Init, ModelSummary, Reply, Request, TrainSettings } from "./protocol.js";
import {
  inspectInput, lmConfig, lmText, memoryData, memoryGradients, memoryInfo, memoryModel, memoryTokenizer, parameterCountsOf,
} from "./inside.js";

interface Held {
  model: Model;
  tokenizer: Tokenizer;
  /** the task info written into the file (src/tasks/task.ts): what `rnnkit generate` / `predict` read */
  info: object;
  summary: ModelSummary;
  settings?: TrainSettings;
}

const scope = self as unknown as { postMessage(m: Reply, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent<Request | Init>) => void) | null };
const post = (m: Reply, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

let held: Held | null = null;
let training: AbortController | null = null;
/** The latest memory-task model of each cell kind: the gradient plot puts them side by side. */
const memoryModels = new Map<string, Held>();
/** Requests that arrive while training wait for a yield of `fit` and run between two batches. */
const queue: Request[] = [];

function summary(model: Model, source: string, task: string): ModelSummary {
  const cfg = model.config as unknown as { cell: string; hiddenSize: number; numLayers?: number };
  let parameters = 0;
  for (const p of model.parameters()) parameters += p.value.data.length;
  return { task, cell: cfg.cell, hidden: cfg.hiddenSize, layers: cfg.numLayers ?? 1, parameters, source, generates: model.task === "lm" };
}

/** Samples of a language model: a paragraph of text, or a few names (one line each). */
function sampleText(h: Held, task: TrainSettings["task"], step: number): string {
  const nl = h.tokenizer.encode("\n");
  if (task === "names") {
    const out: string[] = [];
    for (let k = 0; k < 6; k++) {
      out.push(h.tokenizer.decode(generateIds(h.model, nl, 24, { temperature: 0.8, seed: step * 7 + k + 1, exclude: [0, 1, 2, 3], stopAt: nl[0] })));
    }
    return out.join("\n");
  }
  return h.tokenizer.decode(generateIds(h.model, nl, 160, { temperature: 0.8, seed: step + 1, exclude: [0, 1, 2, 3] }));
}

async function train(s: TrainSettings): Promise<void> {
  if (training) throw new RnnkitError("train: expected no training in progress, got one (stop it first)");
  const controller = new AbortController();
  training = controller;
  try {
    const cell = s.cell as CellName;
    let h: Held, data: TrainData, unit: string, batchSize = s.batchSize;
    let check: (step: number) => string;
    if (s.task === "memory") {
      const m = memoryData(s.delay, s.seed);
      const model = memoryModel(cell, s.hidden, s.layers, s.seed);
      h = { model, tokenizer: memoryTokenizer(), info: memoryInfo(s.delay), summary: summary(model, "trained here", "memory"), settings: s };
      data = { kind: "examples", train: m.train };
      unit = "seq/s";
      check = () => {
        const acc = evaluate(model, { kind: "examples", examples: m.test }, { batchSize: 128 }).accuracy!;
        // the distractor never varies, so at one N there are only K distinct sequences: this is recall, not generalisation
        return `delay N = ${s.delay}: accuracy ${(100 * acc).toFixed(1)}% on ${m.test.length} fresh sequences (${m.classes} distinct ones; chance ${(100 / m.classes).toFixed(1)}%)`;
      };
    } else {
      const { text, source } = lmText(s);
      if (text.length < 2 * s.seqLen + 1) throw new RnnkitError(`text: expected at least ${2 * s.seqLen + 1} characters for sequences of ${s.seqLen}, got ${text.length}`);
      const tokenizer = Tokenizer.build("char", text);
      const ids = tokenizer.encode(text);
      const model = new SequenceModel({ ...lmConfig(cell, s.hidden, s.layers, tokenizer.size), seed: s.seed });
      h = { model, tokenizer, info: { task: "lm", source: `playground: ${source}`, valFraction: 0 }, summary: summary(model, "trained here", s.task), settings: s };
      // a short text fills fewer rows
      batchSize = Math.max(1, Math.min(s.batchSize, Math.floor((ids.length - 1) / s.seqLen)));
      data = { kind: "stream", train: ids };
      unit = "char/s";
      check = (step) => sampleText(h, s.task, step);
    }
    replace(h);
    let lastSample = -Infinity, posted = 0;
    let points: { step: number; loss: number }[] = [];
    let last: Progress | null = null;
    const flush = () => {
      if (!last || points.length === 0) return;
      post({ type: "progress", points, epoch: last.epoch, itemsPerSec: last.itemsPerSec, unit, elapsed: last.elapsed });
      points = [];
      posted = performance.now();
    };
    const r = await fit(h.model, data, {
      epochs: 1_000_000, batchSize, seqLen: s.seqLen, optimizerOptions: { lr: s.lr }, schedule: { kind: "constant" },
      warmupSteps: 0, seed: s.seed, signal: controller.signal,
      onProgress: (p: Progress) => {
        // the page gets the steps in bunches: a message per step would be thousands a second
        points.push({ step: p.step, loss: p.loss });
        last = p;
        if (performance.now() - posted >= 50) flush();
        // a sample (or the test accuracy) every 2 seconds of training: generation as it learns
        if (p.elapsed - lastSample >= 2) {
          lastSample = p.elapsed;
          post({ type: "sample", step: p.step, text: check(p.step) });
        }
        while (queue.length > 0) void handle(queue.shift()!);
      },
    });
    flush();
    post({ type: "sample", step: r.steps, text: check(r.steps) });
    if (s.task === "memory") {
      // the cell's previous memory model leaves the comparison (and is freed unless held)
      const before = memoryModels.get(s.cell);
      memoryModels.set(s.cell, h);
      if (before && before.model !== held?.model) before.model.dispose();
    }
    post({ type: "done", stoppedBy: r.stoppedBy, steps: r.steps, model: h.summary });
  } finally {
    training = null;
  }
}

/** Holds `h` from now on, and frees the model held before unless the gradient comparison keeps it. */
function replace(h: Held): void {
  const old = held;
  held = h;
  if (old && old.model !== h.model && ![...memoryModels.values()].some((m) => m.model === old.model)) old.model.dispose();
}

function need(): Held {
  if (!held) throw new RnnkitError("expected a model (train one or drop a .safetensors file), got none");
  return held;
}

async function handle(q: Request): Promise<void> {
  const id = "id" in q ? q.id : undefined;
  try {
    switch (q.type) {
      case "train":
        return await train(q.settings);
      case "stop":
        training?.abort();
        return;
      case "generate": {
        const h = need();
        if (h.model.task !== "lm") throw new RnnkitError(`generate: expected a language model (text or names), got a ${h.summary.task} model`);
        const ids = h.tokenizer.encode(q.prompt);
        if (ids.length === 0) throw new RnnkitError("generate: prompt: expected some text, got an empty prompt");
        // as `rnnkit generate` does it (src/cli/commands.ts generateCommand): the same call, the same seed
        const text = h.tokenizer.decode(generateIds(h.model, ids, q.length, { temperature: q.temperature, seed: 1, exclude: [0, 1, 2, 3] }));
        return post({ type: "generated", id: q.id, text });
      }
      case "save": {
        const h = need();
        const bytes = modelToBytes(h.model, { tokenizer: h.tokenizer, info: h.info });
        const name = `${h.summary.task}-${h.summary.cell}-${h.summary.hidden}.safetensors`;
        return post({ type: "saved", id: q.id, bytes, name }, [bytes.buffer]);
      }
      case "load": {
        if (training) throw new RnnkitError("load: expected no training in progress, got one (stop it first)");
        const saved = modelFromBytes(q.bytes, { source: q.name });
        const t = openTask(saved, q.name); // checks the task info against the model, as the CLI does
        if (!saved.tokenizer) throw new RnnkitError(`${q.name}: expected a model with a tokenizer (lm, classify or tag), got a ${t.task} model`);
        replace({ model: saved.model, tokenizer: saved.tokenizer, info: saved.info ?? { task: t.task }, summary: summary(saved.model, q.name, t.task) });
        return post({ type: "loaded", id: q.id, model: held!.summary });
      }
      case "inspect":
        return post({ type: "inspected", id: q.id, value: inspectInput(need(), q.input) });
      case "gradients":
        return post({ type: "gradients", id: q.id, value: memoryGradients(memoryModels, q.delay, held?.settings) });
      case "counts":
        return post({ type: "counts", id: q.id, value: parameterCountsOf(q) });
    }
  } catch (e) {
    post({ type: "error", id, message: e instanceof Error ? e.message : String(e) });
  }
}

scope.onmessage = (e) => {
  const q = e.data;
  if (q.type === "init") {
    void (async () => {
      try {
        if (q.threads !== undefined) setBackend(await createWasmBackend({ threads: q.threads }));
        const be = getBackend() as { name: string; threads?: number };
        post({ type: "ready", env: { backend: be.name, threads: be.threads ?? 1, crossOriginIsolated: self.crossOriginIsolated === true, version: rnnkitVersion() } });
      } catch (err) {
        post({ type: "error", message: err instanceof Error ? err.message : String(err) });
      }
    })();
    return;
  }
  // while training, only `stop` goes through at once; the rest runs between two batches
  if (training && q.type !== "stop" && q.type !== "train") queue.push(q);
  else void handle(q);
};
