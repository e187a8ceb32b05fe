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
  /** Linear learning-rate warm-up steps of the schedules. */
  warmupSteps: 0,
  /** Global gradient-norm clipping of the trainer (on by default: exploding gradients are the classic RNN failure). */
  clipNorm: 5,
  /** Embedding size of token models. */
  embeddingDim: 64,
  /** Trainer: epochs, mini-batch size, truncated-BPTT chunk length, optimizer. */
  epochs: 10,
  batchSize: 32,
  seqLen: 100,
  optimizer: "adam" as "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad",
  /** Task layer: sequences per forward pass of the predict calls (bounds the memory of a large input). */
  predictBatch: 64,
  /** Classification and tagging: tokens kept per training sequence (`--max-len`). */
  maxLen: 200,
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
} as const;
