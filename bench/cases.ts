/**
 * The benchmark cases of ../shared/ARCHITECTURE.md, shared by `npm run bench` and the peers
 * benchmark: configurations, FLOP counts, one batch of inference or training, timing.
 */
import type { Backend } from "../src/backend/backend.js";
import { GRU, LSTM, RNN } from "../src/layers/layers.js";
import type { Recurrent } from "../src/layers/recurrent.js";
import { Rng } from "../src/rng.js";
import type { Parameter } from "../src/layers/module.js";
import { Optimizer } from "../src/train/optimizers.js";
import { Seq2Seq } from "../src/models/seq2seq.js";
import { padPairs } from "../src/data/batches.js";
import { EOS } from "../src/data/tokenizer.js";
import { translate } from "../src/decode/seq2seq.js";

export interface Config {
  name: string;
  batch: number;
  seqLen: number;
  input: number;
  hidden: number;
  layers: number;
  vocab?: number;
}

export const CONFIGS: Config[] = [
  { name: "S", batch: 32, seqLen: 50, input: 64, hidden: 128, layers: 1 },
  { name: "M", batch: 64, seqLen: 100, input: 256, hidden: 512, layers: 1 },
  { name: "C", batch: 32, seqLen: 100, input: 64, hidden: 256, layers: 2, vocab: 96 },
];
export const CELLS = ["lstm", "gru", "rnn"] as const;
export const MODES = ["infer", "train"] as const;
export type CellName = (typeof CELLS)[number];

export interface BenchResult {
  config: string;
  cell: CellName;
  mode: "infer" | "train";
  backend: string;
  seqPerSec: number;
  gflops: number;
  ms: number;
  reps: number;
  vsPrevious?: number;
}

export function list<T extends string>(flag: string, values: string[] | undefined, allowed: readonly T[]): T[] {
  if (!values || values.length === 0) return [...allowed];
  const out = values.flatMap((v) => v.split(",")).map((v) => v.trim());
  for (const v of out) {
    if (!(allowed as readonly string[]).includes(v)) throw new Error(`--${flag}: expected one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return out as T[];
}

/** The parseArgs options that pick cases: --config, --cell, --mode (repeatable or comma-separated). */
export const caseFlags = {
  config: { type: "string", multiple: true },
  cell: { type: "string", multiple: true },
  mode: { type: "string", multiple: true },
} as const;

/** The cases picked by `caseFlags` (each list defaults to all; `cells` overrides the cells' default). */
export function pickCases(v: { config?: string[]; cell?: string[]; mode?: string[] }, cells?: CellName[]) {
  return {
    configs: list("config", v.config, CONFIGS.map((c) => c.name)),
    cells: v.cell?.length || !cells ? list("cell", v.cell, CELLS) : cells,
    modes: list("mode", v.mode, MODES),
  };
}

/** A whole number >= `min` from flag `--name`, or an error saying what was got. */
export function intFlag(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= min)) throw new Error(`--${name}: expected an integer >= ${min}, got ${value}`);
  return n;
}

/** Forward FLOPs of the recurrent layers of one batch. */
export function forwardFlops(c: Config, cell: CellName): number {
  const G = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
  let f = 0;
  for (let l = 0; l < c.layers; l++) {
    const X = l === 0 ? c.input : c.hidden;
    f += 2 * G * c.hidden * (X + c.hidden) * c.batch * c.seqLen;
  }
  return f;
}

/** One benchmark case: a function that runs one batch. */
export function makeCase(c: Config, cell: CellName, mode: "infer" | "train", be: Backend): () => void {
  const opts = { inputSize: c.input, hiddenSize: c.hidden, numLayers: c.layers, backend: be, seed: 1 };
  const layer: Recurrent = cell === "lstm" ? new LSTM(opts) : cell === "gru" ? new GRU(opts) : new RNN(opts);
  const rng = new Rng(2);
  const { batch: B, seqLen: T, hidden: H } = c;
  // the training step ends with Adam (the architecture's benchmark definition)
  let adam: Optimizer | null = null;
  const step = (params: Parameter[]) => {
    adam ??= new Optimizer("adam", params, { lr: 1e-3 }, be);
    adam.stepOnce();
    adam.zeroGrad();
  };

  if (!c.vocab) {
    // last-state MSE: loss = mean((h_T - y)^2)
    const x = { shape: [T, B, c.input], data: Float32Array.from({ length: T * B * c.input }, () => rng.uniform(-1, 1)) };
    const y = Float32Array.from({ length: B * H }, () => rng.uniform(-0.5, 0.5));
    const gh = { shape: [1, B, H], data: new Float32Array(B * H) };
    return () => {
      const out = layer.forward(x);
      if (mode === "infer") return;
      for (let i = 0; i < B * H; i++) gh.data[i] = (2 * (out.h.data[(c.layers - 1) * B * H + i] - y[i])) / (B * H);
      const g = { shape: [c.layers, B, H], data: new Float32Array(c.layers * B * H) };
      g.data.set(gh.data, (c.layers - 1) * B * H);
      layer.backward({ h: g });
      step(layer.parameters());
    };
  }

  // char LM: embedding [V, X] -> layers -> linear head [V, H] -> softmax cross-entropy on the next char
  const V = c.vocab, X = c.input, N = T * B;
  // inputs are tokens[0 : N], targets the next row of the stream, tokens[B : N + B]
  const tokens = be.allocIndex((T + 1) * B);
  for (let i = 0; i < tokens.length; i++) tokens[i] = Math.floor(rng.next() * V);
  const dx = be.alloc(N * X);
  const emb = be.alloc(V * X), gEmb = be.alloc(V * X);
  const wOut = be.alloc(V * H), gWOut = be.alloc(V * H), bOut = be.alloc(V), gBOut = be.alloc(V);
  for (let i = 0; i < V * X; i++) emb[i] = rng.uniform(-0.1, 0.1);
  for (let i = 0; i < V * H; i++) wOut[i] = rng.uniform(-0.06, 0.06);
  const x = { shape: [T, B, X], data: be.alloc(N * X) };
  const out = be.alloc(N * H), logits = be.alloc(N * V), dOut = be.alloc(N * H);
  const head: Parameter[] = [
    { name: "embedding.weight", value: { shape: [V, X], data: emb }, grad: { shape: [V, X], data: gEmb } },
    { name: "head.weight", value: { shape: [V, H], data: wOut }, grad: { shape: [V, H], data: gWOut } },
    { name: "head.bias", value: { shape: [V], data: bOut }, grad: { shape: [V], data: gBOut } },
  ];
  return () => {
    be.gatherRows(N, X, tokens, 0, emb, 0, X, x.data, 0, X, false);
    const res = layer.forward(x);
    out.set(res.output.data);
    be.broadcastRows(N, V, bOut, 0, logits, 0, V, false);
    be.gemm(false, true, N, V, H, 1, out, 0, H, wOut, 0, H, 1, logits, 0, V);
    if (mode === "infer") return;
    // softmax cross-entropy (mean over N), the fused kernel: dlogits = (softmax - onehot) / N
    be.softmaxCrossEntropy(N, V, logits, 0, tokens, B, -1, 1 / N, logits, 0);
    be.gemm(true, false, V, H, N, 1, logits, 0, V, out, 0, H, 1, gWOut, 0, H);
    be.sumRows(N, V, logits, 0, V, gBOut, 0);
    be.gemm(false, false, N, H, V, 1, logits, 0, V, wOut, 0, H, 0, dOut, 0, H);
    const d = layer.backward({ output: { shape: [T, B, H], data: dOut } });
    dx.set(d.dx.data);
    be.scatterRows(N, X, tokens, 0, dx, 0, X, gEmb, 0, X, true);
    step([...layer.parameters(), ...head]);
  };
}

export const round = (v: number) => Math.round(v * 1000) / 1000;

/** Times one case on `be` (see `time`) and reports it; `backend` defaults to the backend's name. */
export function measure(c: Config, cell: CellName, mode: "infer" | "train", be: Backend, budget: number, backend = be.name): BenchResult {
  return report(c, cell, mode, backend, time(makeCase(c, cell, mode, be), budget));
}

/** Which case: a configuration's name, a cell and a mode. */
export interface CaseKey {
  config: string;
  cell: CellName;
  mode: "infer" | "train";
}

/**
 * Case instances kept per backend and key, so that a case timed again (in rounds alternating
 * with another host) reuses its warm layers and workspaces.
 */
export class CaseCache {
  private readonly runs = new Map<Backend, Map<string, () => void>>();

  measure(k: CaseKey, be: Backend, budget: number): BenchResult {
    const c = CONFIGS.find((x) => x.name === k.config);
    if (!c) throw new Error(`unknown configuration ${JSON.stringify(k.config)}`);
    let m = this.runs.get(be);
    if (!m) this.runs.set(be, (m = new Map()));
    const id = `${k.config}/${k.cell}/${k.mode}`;
    let fn = m.get(id);
    if (!fn) m.set(id, (fn = makeCase(c, k.cell, k.mode, be)));
    return report(c, k.cell, k.mode, be.name, time(fn, budget));
  }
}

function report(c: Config, cell: CellName, mode: "infer" | "train", backend: string, t: { ms: number; reps: number }): BenchResult {
  const flops = forwardFlops(c, cell) * (mode === "train" ? 3 : 1);
  return { config: c.name, cell, mode, backend, seqPerSec: round((c.batch * 1000) / t.ms), gflops: round(flops / t.ms / 1e6), ms: round(t.ms), reps: t.reps };
}

export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `fn` up to 5 times within `budget` seconds, after warming up for `warmupMs` (at least one
 * run). The warm-up matters: V8 first runs WebAssembly in its baseline compiler (Liftoff) and
 * tiers a function up to TurboFan only once it is hot; measured in Chromium 156, config S trained
 * at half speed after a single warm-up run, and at Node's speed with tier-up forced
 * (--no-wasm-dynamic-tiering) or after a second of warm-up. A case whose first run takes more
 * than half the budget is timed by one more run (the first one warmed it up), or by the first
 * alone when that took over LONG_RUN_MS (then the warm-up is a small part of it).
 */
export function time(fn: () => void, budget: number, warmupMs = 1000): { ms: number; reps: number } {
  let t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  if (first * 2 > budget * 1000) {
    if (first > LONG_RUN_MS) return { ms: first, reps: 1 };
    t0 = performance.now();
    fn();
    return { ms: performance.now() - t0, reps: 1 };
  }
  while (performance.now() - t0 < warmupMs) fn();
  const times: number[] = [];
  const deadline = performance.now() + budget * 1000;
  while (times.length < 5 && (times.length === 0 || performance.now() < deadline)) {
    t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), reps: times.length };
}

/** See `time`: from this long a first run is reported as it is. */
export const LONG_RUN_MS = 5000;

// ---------------------------------------------------------------- seq2seq

/**
 * The encoder-decoder case (`--config S2S`): a 1-layer LSTM encoder and decoder, hidden 256,
 * embeddings 128, vocabularies of 1000 on both sides, Luong ("general") attention, batch 64,
 * source and target length 12 (11 words and <eos>).
 */
export const SEQ2SEQ = { name: "S2S", batch: 64, srcLen: 12, tgtLen: 12, hidden: 256, embed: 128, vocab: 1000, beam: 4 } as const;

export interface Seq2SeqResult {
  config: "S2S";
  backend: string;
  /** training: forward + backward + Adam, pairs per second, and the median time of one batch */
  trainPairsPerSec: number;
  trainMs: number;
  /** the attention forward + backward's share of a training step (an instrumented run) */
  attentionShare: number;
  /** decoding, output words (<eos> included) per second: greedy and beam search */
  greedyWordsPerSec: number;
  beamWordsPerSec: number;
  beam: number;
  vsPrevious?: number;
}

/** Times training and decoding of the seq2seq case on `be`. */
export function measureSeq2Seq(be: Backend, budget: number): Seq2SeqResult {
  const c = SEQ2SEQ;
  const model = new Seq2Seq({
    cell: "lstm", sourceVocabSize: c.vocab, targetVocabSize: c.vocab, embeddingDim: c.embed, hiddenSize: c.hidden, attention: "luong", seed: 1,
  }, { backend: be });
  const rng = new Rng(5);
  const word = () => 4 + Math.floor(rng.next() * (c.vocab - 4));
  const examples = Array.from({ length: c.batch }, () => ({
    tokens: Array.from({ length: c.srcLen }, word), target: [...Array.from({ length: c.tgtLen - 1 }, word), EOS],
  }));
  const batch = padPairs(examples);
  const adam = new Optimizer("adam", model.parameters(), { lr: 1e-3 }, be);
  model.train();
  const step = () => {
    model.zeroGrad();
    model.lossAndBackward(batch);
    adam.stepOnce();
  };
  const t = time(step, budget);
  // instrumented run: the attention's own forward and backward, timed inside the step
  const att = model.attention!;
  let inAttention = 0;
  const fwd = att.forward.bind(att), bwd = att.backward.bind(att);
  att.forward = (...a: Parameters<typeof fwd>) => {
    const t0 = performance.now();
    const r = fwd(...a);
    inAttention += performance.now() - t0;
    return r;
  };
  att.backward = (...a: Parameters<typeof bwd>) => {
    const t0 = performance.now();
    const r = bwd(...a);
    inAttention += performance.now() - t0;
    return r;
  };
  const reps = 3;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) step();
  const share = inAttention / (performance.now() - t0);
  att.forward = fwd;
  att.backward = bwd;
  model.eval();
  // random weights rarely say <eos>, so outputs mostly run to maxLength = the target length
  const sources = examples.map((e) => e.tokens);
  const words = (out: { ids: number[] }[]) => out.reduce((n, o) => n + Math.min(c.tgtLen, o.ids.length + 1), 0);
  let greedyWords = 0, beamWords = 0;
  const tg = time(() => (greedyWords = words(translate(model, sources, { maxLength: c.tgtLen }))), budget);
  const tb = time(() => (beamWords = words(translate(model, sources, { beam: c.beam, maxLength: c.tgtLen }))), budget);
  model.dispose();
  return {
    config: "S2S", backend: be.name, trainPairsPerSec: round((c.batch * 1000) / t.ms), trainMs: round(t.ms), attentionShare: round(share),
    greedyWordsPerSec: round((greedyWords * 1000) / tg.ms), beamWordsPerSec: round((beamWords * 1000) / tb.ms), beam: c.beam,
  };
}
