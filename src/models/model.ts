/**
 * The model interface every trainable model implements, and the vocabularies the models share.
 *
 * A model kind (`SequenceModel`, `Seq2Seq`) that implements `Model` gets the trainer (`fit`,
 * `evaluate`), the model file (`saveModel`/`loadModel`, by its `kind` and `config`) and the task
 * layer and CLI without any of them knowing the concrete class.
 *
 * Conventions (the module protocol of src/layers/module.ts, one level up):
 * - `collate(examples)` pads examples into this model's `Batch` layout;
 * - `lossAndBackward(batch)` runs forward, the loss and backward, and ADDS into every
 *   parameter's gradient (zeroing is the caller's `zeroGrad()`);
 * - `lossOf(batch)` is the same forward and loss without backward (evaluation);
 * - `stateDict()` names are the file's tensor names, prefixed by part (`embedding.`, `rnn.`,
 *   `head.`, `encoder.rnn.`, `decoder.rnn.`, `attention.`).
 */
import type { Backend } from "../backend/backend.js";
import type { Batch } from "../data/batch.js";
import type { Example } from "../data/batches.js";
import type { Module } from "../layers/module.js";
import type { Tensor } from "../tensor.js";

/** What a model predicts: the head and loss it trains with. */
export const TASKS = ["lm", "tag", "classify", "regress", "seq2seq"] as const;
export type Task = (typeof TASKS)[number];

/** Recurrent cell kinds, as models and the CLI name them (`rnn` is tanh, `rnn_relu` relu). */
export const CELLS = ["lstm", "gru", "rnn", "rnn_relu"] as const;
export type CellName = (typeof CELLS)[number];

/** How a many-to-one model summarises a sequence. */
export const POOLINGS = ["last", "mean", "max"] as const;
export type Pooling = (typeof POOLINGS)[number];

/** The model kinds a model file can hold (`Model.kind`). */
export const MODEL_KINDS = ["sequence", "seq2seq"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The loss of one batch. */
export interface StepLoss {
  /** mean loss over the counted rows */
  loss: number;
  /** rows that counted (lm/tag/seq2seq: valid target steps; classify/regress: sequences) */
  count: number;
  /** rows whose arg-max equals the target (0 for regression) */
  correct: number;
}

export interface StepResult extends StepLoss {
  /** the final recurrent state, to carry into the next chunk of a stream (truncated BPTT) */
  h?: Tensor;
  c?: Tensor;
}

export interface Model extends Module {
  /** Which class this is, as the model file records it. */
  readonly kind: ModelKind;
  readonly task: Task;
  /** The architecture, JSON-serialisable: `new <Kind>(config)` rebuilds the same model. */
  readonly config: Readonly<Record<string, unknown>> & { task: Task };
  readonly backend: Backend;
  readonly isTraining: boolean;
  /** Training mode (dropout on) or not. */
  train(on?: boolean): this;
  eval(): this;
  /** Pads examples into one batch of this model's layout. */
  collate(examples: readonly Example[]): Batch;
  /** Forward, loss and backward for one batch; parameter gradients accumulate. */
  lossAndBackward(batch: Batch): StepResult;
  /** Forward and loss for one batch, no backward. */
  lossOf(batch: Batch): StepResult;
  /** The states of the random generators it draws from while training (a checkpoint saves them). */
  randomState(): number[];
  /** Restores `randomState()`, so that a resumed run draws the masks an uninterrupted one would. */
  setRandomState(state: readonly number[]): void;
}
