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
} as const;
