/**
 * Every default of rnnkit, in one place. The README's tables are written from this file.
 */
export const defaults = {
  /** Stacked recurrent layers (PyTorch `num_layers`). */
  numLayers: 1,
  /** PyTorch `bidirectional`. */
  bidirectional: false,
  /** Both bias vectors b_ih and b_hh (PyTorch `bias`). */
  bias: true,
  /** Activation of the plain RNN (PyTorch `nonlinearity`). */
  nonlinearity: "tanh" as "tanh" | "relu",
  /** GRU reset gate applied after the recurrent matmul, as PyTorch and cuDNN do. */
  resetAfter: true,
  /** LSTM/GRU gate σ: "sigmoid" (PyTorch, Keras 3) or "hardSigmoid" (Keras 2, the tf.layers default). */
  recurrentActivation: "sigmoid" as "sigmoid" | "hardSigmoid",
  /** Seed of the weight initialisation: the same seed gives the same weights. */
  seed: 42,
  /** Check inputs and upstream gradients for NaN/Inf (a linear scan, cheap next to the matmuls). */
  checkFinite: true,
  /** Linear learning-rate warm-up steps of an explicit schedule (`constant`, `step`, `cosine`). */
  warmupSteps: 0,
  /**
   * The default schedule of `fit` ("auto"): a linear warm-up over min(autoWarmupSteps,
   * ceil(autoWarmupFraction * horizon)) steps, the peak rate, then a linear decay to
   * autoMinLrFactor x the rate over the last wsdDecayFraction of the horizon (the run's total
   * optimizer steps, fixed once at the start). See resolveSchedule for the check behind it.
   */
  autoWarmupSteps: 100,
  autoWarmupFraction: 0.05,
  autoMinLrFactor: 0.05,
  /** The `wsd` schedule (warmup-stable-decay, and so "auto"): the last fraction of the horizon decays linearly to the floor. */
  wsdDecayFraction: 0.2,
  /**
   * A run bounded only by a time budget measures its speed on horizonProbeSteps steps after the
   * first horizonProbeSkip (compilation, first allocations), or over what horizonProbeSeconds
   * allowed, and sets horizon = steps so far + (budget left x horizonBudgetUse) / seconds per
   * step. The margin leaves room for validation and checkpoints.
   */
  horizonProbeSkip: 5,
  horizonProbeSteps: 20,
  horizonProbeSeconds: 5,
  horizonBudgetUse: 0.92,
  /** Global gradient-norm clipping of the trainer (on by default: exploding gradients are the classic RNN failure). */
  clipNorm: 5,
  /** Embedding size of token models. */
  embeddingDim: 64,
  /** Trainer: epochs, mini-batch size, truncated-BPTT chunk length, optimizer. */
  epochs: 10,
  batchSize: 32,
  seqLen: 100,
  optimizer: "adam" as "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad",
  /** CLI: learning rate per task (Adam; the peak of the "auto" schedule). */
  lr: { lm: 0.006, classify: 0.003, tag: 0.005, forecast: 0.003, seq2seq: 0.003 },
  /** CLI: the truncated-BPTT chunk length of `train lm` (shorter than seqLen: more updates per second). */
  lmSeqLen: 64,
  /** CLI: validation split (`--val-fraction`); a split must hold at least minValExamples. */
  valFraction: 0.1,
  minValExamples: 2,
  /** Task layer: sequences per forward pass of the predict calls (bounds the memory of a large input). */
  predictBatch: 64,
  /** Classification and tagging: tokens kept per training sequence (`--max-len`), when the data does not choose (see autoSizes). */
  maxLen: 200,
  /** The largest --max-len autoSizes picks. */
  maxLenCap: 400,
  /** Classification: words (or characters) kept in the vocabulary, most frequent first. */
  maxVocab: 30000,
  /** Forecasting: past steps read (`--window`) and future steps forecast at once (`--horizon`). */
  window: 24,
  horizon: 1,
  /** Seq2Seq: the attention of the decoder (see src/layers/attention.ts). */
  seq2seqAttention: "luong" as "none" | "luong" | "luong-dot" | "bahdanau",
  /** translate: beam width (1 = greedy) and GNMT length-penalty alpha (0 = none). */
  beam: 1,
  lengthPenalty: 0,
  /** translate: the longest output, in decoder steps (<eos> included); the default is 2 * source length + 10, capped here. */
  maxDecodeLength: 256,
  /** wasm backend: threads (capped by the cores; $RNNKIT_THREADS overrides). */
  wasmThreads: 2,
  /**
   * wasm backend: a GEMM is split across threads from this many multiply-adds (m*n*k). Measured
   * on 2 cores by `npm run bench:threads` (1 and 2 threads interleaved in one process, so the
   * host's drift hits both): with 2^20 the per-step GEMM of config S (2.1M) splits and S gains
   * 1.2-1.7x, against 1.1-1.2x with 2^22; M and C gain 1.4-1.8x either way. (An earlier sweep,
   * timing one setting after the other, had blamed splitting for a 1.7x slowdown: that was drift.)
   */
  wasmParallelWork: 1048576,
  /**
   * wasm backend: MiB reserved up front where the memory cannot be shared and so cannot grow
   * without detaching every array handed out (browsers that allow shared WebAssembly memory only
   * on cross-origin isolated pages). Untouched pages cost address space, not RAM; where the host
   * refuses this much, the backend halves it down to 64 MiB.
   */
  wasmFixedMemoryMB: 1024,
  /**
   * native backend: a GEMM is split across the addon's thread pool (one thread per core;
   * $RNNKIT_THREADS overrides) from this many multiply-adds (m*n*k). Below it one thread is faster:
   * handing a job to a spinning worker and waiting for it costs a few microseconds.
   */
  nativeParallelWork: 1048576,
  /**
   * Size limits, checked from a config before anything is allocated, so that a typo such as
   * `--hidden 1e9` or a hostile model file is refused with the limit's name instead of exhausting
   * memory. Generous for real models: 2^28 parameters are 1 GiB of float32 weights (training adds
   * as many gradients and Adam twice that).
   */
  maxParameters: 268435456,
  maxHiddenSize: 8192,
  maxLayers: 16,
  maxVocabSize: 1048576,
  /** Generation (`rnnkit serve`, predict rows): tokens generated when a request gives no length, and the most it may ask for. */
  generateLength: 200,
  maxGenerateLength: 10000,
  /** `rnnkit serve`: the most inputs run in one forward pass, how long the first waits for others under load (ms; a lone request under light load runs at once), the request body limit (bytes), the most inputs waiting, and the time a request may wait for its answer (ms). */
  serveMaxBatch: 64,
  serveMaxWaitMs: 2,
  serveBodyLimit: 1048576,
  serveQueueLimit: 4096,
  serveTimeoutMs: 30000,
  /** `exportOnnx`: the ONNX opset the graphs declare (LSTM/GRU/RNN with `layout` need 14; 17 is what ONNX Runtime 1.14+ and every current runtime read). */
  onnxOpset: 17,
  /** `exportTfjs`: the most bytes per weight shard (TensorFlow.js's own `model.save` default, 4 MiB). */
  tfjsShardBytes: 4194304,
  /** `rnnkit inspect`: the most cells (steps x units) one heatmap draws; wider layers show their first units (said on stderr). */
  inspectMaxCells: 16384,
  /** `rnnkit train --history`: a progress line every this many optimizer steps (and at step 1). */
  historyEvery: 10,
  /**
   * The memory experiment (`rnnkit experiment memory`, src/inspect/memory.ts): K symbols, the
   * delays N, the equal hidden size, Adam's rate, optimizer steps, batch size and seeds per configuration, and the
   * fresh test sequences per run; `--quick` takes the quick steps and test size. Sized so that the
   * whole experiment runs within 10 minutes on 2 shared cores (README: measured).
   */
  memorySymbols: 8,
  /** the gated cells' keep-gate init: "chrono" (Tallec & Ollivier 2018), "pytorch", or a constant bias (src/inspect/memory.ts says why) */
  memoryGateInit: "chrono" as "chrono" | "pytorch" | number,
  memoryDelays: [5, 10, 20, 50, 100] as readonly number[],
  memoryHidden: 32,
  memoryLr: 0.01,
  memorySteps: 1000,
  memoryQuickSteps: 300,
  memoryBatchSize: 32,
  memorySeeds: 3,
  memoryTestSize: 512,
  memoryQuickTestSize: 64,
} as const;

/** What autoSizes looks at: the training part of the data. */
export interface DataStats {
  /** lm: tokens; classify, tag, seq2seq: sequences; forecast: windows */
  examples: number;
  /** token tasks: tokens in all training sequences */
  tokens?: number;
  /** token tasks: median and 95th-percentile length of the training sequences, in tokens */
  medianLength?: number;
  p95Length?: number;
  /** token tasks: distinct tokens of the training data */
  vocabulary?: number;
}

export type AutoTask = "lm" | "classify" | "tag" | "forecast" | "seq2seq";

/** The sizes autoSizes picks, each with the reason shown in `rnnkit train`'s settings line. */
export interface AutoSizes {
  hiddenSize: number;
  embeddingDim: number;
  batchSize: number;
  /** classify, tag, seq2seq */
  maxLen: number;
  maxVocab: number;
  /** passes when neither --epochs, --steps nor a time budget bounds the run */
  epochs: number;
  /** classify: texts longer than longTextTokens (median) are read both ways and pooled by max */
  bidirectional?: boolean;
  pooling?: "last" | "mean" | "max";
  reasons: Partial<Record<"hiddenSize" | "embeddingDim" | "batchSize" | "maxLen" | "maxVocab" | "epochs" | "bidirectional" | "pooling", string>>;
}

/** The thresholds of autoSizes (README "Sizes chosen from the data"). */
export const sizeRules = {
  /** hidden units: the first row whose limit exceeds the count (lm: training tokens; forecast: windows; else sequences) */
  hidden: {
    lm: [[1e5, 64], [1e6, 128], [Infinity, 256]],
    forecast: [[1000, 32], [Infinity, 64]],
    other: [[1000, 64], [20000, 128], [Infinity, 256]],
  } as Record<"lm" | "forecast" | "other", [number, number][]>,
  /** embedding = round8(1.6 * V^0.56) (fast.ai's rule of thumb), clamped */
  embeddingMin: 48,
  embeddingMax: 128,
  /** batch size by sequences (lm: always 32) */
  batch: [[2000, 16], [50000, 32], [Infinity, 64]] as [number, number][],
  /** max length = 1.5 x the 95th-percentile length, rounded up to 16, within [16, defaults.maxLenCap] */
  maxLenOverP95: 1.5,
  /** word vocabulary cap = tokens / vocabTokensPerWord, within [vocabMin, defaults.maxVocab] */
  vocabTokensPerWord: 20,
  vocabMin: 2000,
  /** epochs when nothing else bounds the run: about targetSteps optimizer steps, within [1, maxEpochs] */
  targetSteps: 2000,
  maxEpochs: 50,
  /** classify: a median length above this many tokens counts as long text */
  longTextTokens: 50,
} as const;

function byRows(rows: readonly [number, number][], n: number): number {
  for (const [limit, v] of rows) if (n < limit) return v;
  return rows[rows.length - 1][1];
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : String(n));

/**
 * Sizes chosen from the data when the user gives none (the CLI's defaults; any flag overrides).
 * Simple rules, so that a user can predict them: see sizeRules.
 */
export function autoSizes(task: AutoTask, s: DataStats, seqLen: number = defaults.lmSeqLen): AutoSizes {
  const reasons: AutoSizes["reasons"] = {};
  const n = s.examples;
  const unit = task === "lm" ? "training tokens" : task === "forecast" ? "training windows" : "training sequences";
  const hiddenRows = sizeRules.hidden[task === "lm" ? "lm" : task === "forecast" ? "forecast" : "other"];
  const hiddenSize = byRows(hiddenRows, n);
  reasons.hiddenSize = `${fmt(n)} ${unit}`;
  const V = s.vocabulary ?? 0;
  const embeddingDim = Math.min(sizeRules.embeddingMax, Math.max(sizeRules.embeddingMin, Math.round((1.6 * Math.pow(Math.max(1, V), 0.56)) / 8) * 8));
  reasons.embeddingDim = `vocabulary ${V}`;
  const batchSize = task === "lm" ? defaults.batchSize : byRows(sizeRules.batch, n);
  reasons.batchSize = task === "lm" ? "lm" : `${fmt(n)} ${unit}`;
  const p95 = s.p95Length ?? defaults.maxLen;
  const maxLen = Math.min(defaults.maxLenCap, Math.max(16, Math.ceil((sizeRules.maxLenOverP95 * p95) / 16) * 16));
  reasons.maxLen = `95% of the sequences have <= ${p95} tokens`;
  const tokens = s.tokens ?? 0;
  const maxVocab = Math.min(defaults.maxVocab, Math.max(sizeRules.vocabMin, Math.round(tokens / sizeRules.vocabTokensPerWord)));
  reasons.maxVocab = `${fmt(tokens)} training tokens`;
  const perEpoch = task === "lm" ? Math.max(1, Math.floor((n - 1) / (batchSize * seqLen))) : Math.max(1, Math.ceil(n / batchSize));
  const epochs = Math.min(sizeRules.maxEpochs, Math.max(1, Math.ceil(sizeRules.targetSteps / perEpoch)));
  reasons.epochs = `about ${sizeRules.targetSteps} steps at ${perEpoch} batches per epoch`;
  const out: AutoSizes = { hiddenSize, embeddingDim, batchSize, maxLen, maxVocab, epochs, reasons };
  if (task === "classify") {
    const long = (s.medianLength ?? 0) > sizeRules.longTextTokens;
    out.bidirectional = long;
    out.pooling = long ? "max" : "last";
    reasons.bidirectional = reasons.pooling = `median length ${s.medianLength ?? 0} tokens ${long ? ">" : "<="} ${sizeRules.longTextTokens}`;
  }
  return out;
}

/** Median and 95th percentile of sequence lengths (nearest rank), for DataStats. */
export function lengthStats(lengths: readonly number[]): { medianLength: number; p95Length: number; tokens: number } {
  const sorted = [...lengths].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : 0);
  return { medianLength: at(0.5), p95Length: at(0.95), tokens: sorted.reduce((a, b) => a + b, 0) };
}
