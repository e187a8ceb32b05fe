/**
 * The playground page: controls, charts and files. Nothing here computes a model: the worker
 * (worker.ts) trains, generates, inspects, saves and loads, and this thread only posts requests
 * and draws what comes back, throttled, so that the page stays responsive while it trains.
 *
 * `?threads=N` sets the wasm backend's thread count in the worker (default: rnnkit's, 2 on a
 * cross-origin isolated page); the end-to-end test trains on one thread, so the page keeps a core.
 */
import { drawCanvas, drawSvg } from "./draw.js";
import type { Init, ModelSummary, Reply, Request, TrainSettings, WorkerEnv } from "./protocol.js";
import { PLAYGROUND_TASKS, NAME_LISTS } from "./protocol.js";
import { LOSS_DATA, gradientSpec, heatmapCharts, lossSpec, parameterTableHtml } from "./specs.js";

/** What the page knows, on `window.playground` for tests and the curious. */
export interface PlaygroundState {
  env: WorkerEnv | null;
  /** every training step of the current run: step, loss */
  losses: { step: number; loss: number }[];
  training: boolean;
  /** performance.now() when the current or last run started and ended */
  trainStart: number;
  trainEnd: number;
  /** charts drawn so far, by element id */
  drawn: Record<string, number>;
  model: ModelSummary | null;
  lastSample: string;
  errors: string[];
}

const state: PlaygroundState = { env: null, losses: [], training: false, trainStart: 0, trainEnd: 0, drawn: {}, model: null, lastSample: "", errors: [] };
(globalThis as unknown as { playground: PlaygroundState }).playground = state;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};
const input = (id: string) => $<HTMLInputElement>(id);
const num = (id: string) => Number(input(id).value);

// ------------------------------------------------------------------ the worker

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
let nextId = 1;
const pending = new Map<number, { ok: (r: Reply) => void; fail: (e: Error) => void }>();
type Ask = Request extends infer Q ? Q extends { id: number } ? Omit<Q, "id"> : never : never;

function ask(q: Ask): Promise<Reply> {
  const id = nextId++;
  return new Promise((ok, fail) => {
    pending.set(id, { ok, fail });
    worker.postMessage({ ...q, id });
  });
}

function showError(message: string): void {
  state.errors.push(message);
  const el = $("error");
  el.textContent = message;
  el.hidden = false;
}
function clearError(): void {
  $("error").hidden = true;
}

worker.onerror = (e) => showError(`worker: ${e.message}`);
worker.onmessage = (e: MessageEvent<Reply>) => {
  const r = e.data;
  if ("id" in r && r.id !== undefined) {
    const p = pending.get(r.id);
    pending.delete(r.id);
    if (r.type === "error") p?.fail(new Error(r.message));
    else p?.ok(r);
    return;
  }
  switch (r.type) {
    case "ready":
      state.env = r.env;
      $("env").textContent = `rnnkit ${r.env.version} · ${r.env.backend} backend · ${r.env.threads} thread${r.env.threads === 1 ? "" : "s"} · ` +
        (r.env.crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated (one thread)");
      $<HTMLButtonElement>("train").disabled = false;
      return;
    case "progress": {
      for (const p of r.points) state.losses.push(p);
      const p = r.points[r.points.length - 1];
      status = `step ${p.step} · epoch ${r.epoch} · loss ${p.loss.toFixed(4)} · ${Math.round(r.itemsPerSec)} ${r.unit} · ${r.elapsed.toFixed(1)} s`;
      schedule();
      return;
    }
    case "sample":
      state.lastSample = r.text;
      $("samples").textContent = `step ${r.step}\n${r.text}`;
      return;
    case "done":
      state.training = false;
      state.trainEnd = performance.now();
      $("status").textContent = `${status} · ${r.stoppedBy === "signal" ? "stopped" : `stopped (${r.stoppedBy})`}`;
      setModel(r.model);
      trainingButtons(false);
      schedule();
      return;
    case "error":
      if (state.training) {
        state.training = false;
        state.trainEnd = performance.now();
        trainingButtons(false);
      }
      showError(r.message);
      return;
  }
};
const threads = new URLSearchParams(location.search).get("threads");
worker.postMessage({ type: "init", threads: threads === null ? undefined : Number(threads) } satisfies Init);

// ------------------------------------------------------------------ training

let status = "";
let timer: ReturnType<typeof setTimeout> | null = null;
let lastDraw = 0;

/** Redraws the status line and the loss curve at most every 750 ms (drawing is the page's only work). */
function schedule(): void {
  if (timer) return;
  const wait = Math.max(0, 750 - (performance.now() - lastDraw));
  timer = setTimeout(() => {
    timer = null;
    lastDraw = performance.now();
    $("status").textContent = state.training ? status : $("status").textContent;
    if (state.losses.length > 0) void drawLoss();
  }, wait);
}

async function drawLoss(): Promise<void> {
  try {
    const { spec, values } = lossSpec(state.losses, chartWidth("loss-chart"));
    await drawSvg($("loss-chart"), { key: "loss", spec, data: { name: LOSS_DATA, values } });
    state.drawn["loss-chart"] = (state.drawn["loss-chart"] ?? 0) + 1;
  } catch (e) {
    showError(`drawing the loss curve: ${(e as Error).message}`);
  }
}

/** The width a chart in `id` may take, in px, leaving room for its axes and legend. */
function chartWidth(id: string): number {
  return Math.max(200, Math.min(480, $(id).clientWidth - 90));
}

async function drawChart(id: string, draw: (el: HTMLElement) => Promise<void>): Promise<void> {
  try {
    await draw($(id));
    state.drawn[id] = (state.drawn[id] ?? 0) + 1;
  } catch (e) {
    showError(`drawing ${id}: ${(e as Error).message}`);
  }
}

function settings(): TrainSettings {
  const task = $<HTMLSelectElement>("task").value as TrainSettings["task"];
  if (!(PLAYGROUND_TASKS as readonly string[]).includes(task)) throw new Error(`task: expected one of ${PLAYGROUND_TASKS.join(", ")}, got ${task}`);
  const names = $<HTMLSelectElement>("names").value as TrainSettings["names"];
  if (!(NAME_LISTS as readonly string[]).includes(names)) throw new Error(`names: expected one of ${NAME_LISTS.join(", ")}, got ${names}`);
  return {
    task, cell: $<HTMLSelectElement>("cell").value as TrainSettings["cell"], hidden: num("hidden"), layers: num("layers"),
    delay: num("delay"), text: $<HTMLTextAreaElement>("text").value, names, lr: num("lr"), batchSize: num("batch"),
    seqLen: num("seq-len"), seed: 1,
  };
}

function trainingButtons(on: boolean): void {
  $<HTMLButtonElement>("train").disabled = on;
  $<HTMLButtonElement>("stop").disabled = !on;
  $<HTMLButtonElement>("save").disabled = on || state.model === null;
  $<HTMLButtonElement>("generate").disabled = on || !state.model?.generates;
}

function setModel(m: ModelSummary): void {
  state.model = m;
  $("model-line").textContent = `${m.task} · ${m.cell.toUpperCase()} · hidden ${m.hidden} · ${m.layers} layer${m.layers === 1 ? "" : "s"} · ${m.parameters.toLocaleString("en")} parameters · ${m.source}`;
  trainingButtons(state.training);
}

function showTaskFields(): void {
  const task = $<HTMLSelectElement>("task").value;
  for (const el of document.querySelectorAll<HTMLElement>(".for-memory, .for-text, .for-names")) {
    el.hidden = !el.classList.contains(`for-${task}`);
  }
  $("inspect-note").hidden = task !== "memory";
}

$("train").addEventListener("click", () => {
  clearError();
  let s: TrainSettings;
  try {
    s = settings();
  } catch (e) {
    return showError((e as Error).message);
  }
  state.losses = [];
  state.training = true;
  state.trainStart = performance.now();
  status = "starting…";
  $("status").textContent = status;
  trainingButtons(true);
  worker.postMessage({ type: "train", settings: s } satisfies Request);
  void counts();
});
$("stop").addEventListener("click", () => worker.postMessage({ type: "stop" } satisfies Request));
$("task").addEventListener("change", () => {
  showTaskFields();
  void counts();
});
input("delay").addEventListener("input", () => {
  $("delay-value").textContent = input("delay").value;
});
for (const id of ["hidden", "layers", "names"]) $(id).addEventListener("change", () => void counts());

// ------------------------------------------------------------------ inside view

$("inspect-form").addEventListener("submit", (e) => {
  e.preventDefault();
  clearError();
  void (async () => {
    try {
      const r = await ask({ type: "inspect", input: input("inspect-input").value });
      if (r.type !== "inspected") return;
      const box = $("heatmaps");
      box.replaceChildren();
      const charts = heatmapCharts(r.value, chartWidth("heatmaps"));
      for (const [i, c] of charts.entries()) {
        const fig = document.createElement("figure");
        const cap = document.createElement("figcaption");
        cap.textContent = c.title;
        const holder = document.createElement("div");
        holder.id = `heatmap-${i}`;
        fig.append(cap, holder);
        box.append(fig);
        await drawChart(holder.id, (el) => drawCanvas(el, c.spec));
      }
      state.drawn.heatmaps = charts.length;
    } catch (err) {
      showError((err as Error).message);
    }
  })();
});

$("gradients").addEventListener("click", () => {
  clearError();
  void (async () => {
    try {
      const r = await ask({ type: "gradients", delay: num("delay") });
      if (r.type !== "gradients") return;
      const g = gradientSpec(r.value, chartWidth("gradient-chart"));
      $("gradient-notes").textContent = g.notes.join("; ");
      await drawChart("gradient-chart", (el) => drawSvg(el, { spec: g.spec }));
    } catch (err) {
      showError((err as Error).message);
    }
  })();
});

async function counts(): Promise<void> {
  try {
    const s = settings();
    const r = await ask({ type: "counts", task: s.task, text: s.text, names: s.names, hidden: s.hidden, layers: s.layers });
    if (r.type === "counts") $("params").innerHTML = parameterTableHtml(r.value);
  } catch (err) {
    showError((err as Error).message);
  }
}

// ------------------------------------------------------------------ files

$("save").addEventListener("click", () => {
  void (async () => {
    try {
      const r = await ask({ type: "save" });
      if (r.type !== "saved") return;
      const url = URL.createObjectURL(new Blob([r.bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = r.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      showError((err as Error).message);
    }
  })();
});

async function open(file: File): Promise<void> {
  clearError();
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const r = await ask({ type: "load", bytes, name: file.name });
    if (r.type === "loaded") setModel(r.model);
  } catch (err) {
    showError((err as Error).message);
  }
}

const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer?.files[0];
  if (file) void open(file);
});
input("file").addEventListener("change", () => {
  const file = input("file").files?.[0];
  if (file) void open(file);
});

$("generate-form").addEventListener("submit", (e) => {
  e.preventDefault();
  clearError();
  void (async () => {
    try {
      const r = await ask({ type: "generate", prompt: input("prompt").value, length: num("gen-length"), temperature: num("temperature") });
      if (r.type === "generated") $("generated").textContent = r.text;
    } catch (err) {
      showError((err as Error).message);
    }
  })();
});

showTaskFields();
$<HTMLButtonElement>("train").disabled = true;
void counts();
// the empty chart at once: its axes show where the curve will be
void drawSvg($("loss-chart"), { spec: lossSpec([], chartWidth("loss-chart")).spec });
