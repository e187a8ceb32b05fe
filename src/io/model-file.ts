/**
 * Model files: one `.safetensors` file holding the weights and, in `__metadata__`, everything
 * needed to use them: the architecture, the tokenizer or scaler, the rnnkit version, and for a
 * checkpoint the optimizer state and step, so training resumes exactly where it stopped.
 *
 * Names: the recurrent stack's tensors carry PyTorch's own names (`weight_ih_l0`, ...), so
 * `torch.nn.LSTM(...).load_state_dict(load_file(path), strict=False)` loads them; the other parts
 * are prefixed (`embedding.weight`, `head.weight`, `head.bias`, `init.*`), optimizer state is
 * `optim.<parameter>.<k>`. Metadata key `format` is "pt" (what safetensors' PyTorch loader
 * expects) and key `rnnkit` is the JSON below.
 */
import { platform } from "#platform";
import type { Backend } from "../backend/backend.js";
import { Scaler, type ScalerJSON } from "../data/scaler.js";
import { Tokenizer, type TokenizerJSON } from "../data/tokenizer.js";
import { type ModelConfig, SequenceModel } from "../models/model.js";
import { RnnkitError, type Tensor } from "../tensor.js";
import type { Optimizer, OptimizerName, OptimizerOptions } from "../train/optimizers.js";
import { decodeSafetensors, encodeSafetensors, loadSafetensors, type SafetensorsFile, writeFileAtomic } from "./safetensors.js";

export const FILE_FORMAT = "rnnkit-model/1";

export function rnnkitVersion(): string {
  return platform.version();
}

export interface Checkpoint {
  step: number;
  epoch: number;
  optimizer: { name: OptimizerName; options: OptimizerOptions; lr: number; step: number };
  /** anything else the trainer wants back (best validation loss, RNG position, ...) */
  trainer?: Record<string, unknown>;
}

interface Meta {
  format: typeof FILE_FORMAT;
  version: string;
  config: ModelConfig;
  tokenizer?: TokenizerJSON;
  scaler?: ScalerJSON;
  checkpoint?: Checkpoint;
  /** free-form facts worth keeping (dataset, metrics) */
  info?: Record<string, unknown>;
}

export interface SavedModel {
  model: SequenceModel;
  tokenizer?: Tokenizer;
  scaler?: Scaler;
  checkpoint?: Checkpoint;
  /** optimizer tensors, for Optimizer.loadStateDict */
  optimizerTensors?: Record<string, Tensor>;
  info?: Record<string, unknown>;
  version: string;
}

const RNN_PREFIX = "rnn.";

/** What a model file may carry besides the model. */
export interface ModelExtras {
  tokenizer?: Tokenizer;
  scaler?: Scaler;
  optimizer?: Optimizer;
  checkpoint?: Omit<Checkpoint, "optimizer">;
  info?: Record<string, unknown>;
}

/** Writes the model (and optionally tokenizer, scaler, optimizer state) to `path`, atomically (Node). */
export function saveModel(path: string, model: SequenceModel, extra: ModelExtras = {}): void {
  writeFileAtomic(path, modelToBytes(model, extra));
}

/** The bytes of a model file (a .safetensors file), e.g. to download or store in IndexedDB in a browser. */
export function modelToBytes(model: SequenceModel, extra: ModelExtras = {}): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(model.stateDict())) tensors[k.startsWith(RNN_PREFIX) ? k.slice(RNN_PREFIX.length) : k] = v;
  const meta: Meta = { format: FILE_FORMAT, version: rnnkitVersion(), config: model.config };
  if (extra.tokenizer) meta.tokenizer = extra.tokenizer.toJSON();
  if (extra.scaler) meta.scaler = extra.scaler.toJSON();
  if (extra.info) meta.info = extra.info;
  if (extra.optimizer) {
    const o = extra.optimizer;
    const st = o.stateDict();
    Object.assign(tensors, st.tensors);
    meta.checkpoint = {
      step: extra.checkpoint?.step ?? o.step, epoch: extra.checkpoint?.epoch ?? 0, trainer: extra.checkpoint?.trainer,
      optimizer: { name: o.name, options: o.options, lr: st.lr, step: st.step },
    };
  }
  return encodeSafetensors(tensors, { format: "pt", rnnkit: JSON.stringify(meta) });
}

/** Reads and checks a model file (Node); the model is built on `backend` (default: the default backend). */
export function loadModel(path: string, opts: { backend?: Backend } = {}): SavedModel {
  return fromFile(loadSafetensors(path), path, opts);
}

/** Reads and checks the bytes of a model file (from fetch, a file input, IndexedDB); `source` names them in errors. */
export function modelFromBytes(bytes: Uint8Array, opts: { backend?: Backend; source?: string } = {}): SavedModel {
  const source = opts.source ?? "model bytes";
  return fromFile(decodeSafetensors(bytes, source), source, opts);
}

function fromFile(f: SafetensorsFile, path: string, opts: { backend?: Backend }): SavedModel {
  const bad = (what: string) => new RnnkitError(`${path}: not an rnnkit model file: ${what}`);
  if (!f.metadata.rnnkit) throw bad(`its metadata has no "rnnkit" entry (a safetensors file from elsewhere? rnnkit can read its weights with loadSafetensors)`);
  let meta: Meta;
  try {
    meta = JSON.parse(f.metadata.rnnkit) as Meta;
  } catch (e) {
    throw bad(`the "rnnkit" metadata is not JSON (${(e as Error).message})`);
  }
  if (meta.format !== FILE_FORMAT) throw bad(`format ${JSON.stringify(meta.format)}, expected ${FILE_FORMAT}`);
  const model = new SequenceModel(meta.config, opts);
  const weights: Record<string, Tensor> = {};
  const optimizerTensors: Record<string, Tensor> = {};
  const names = new Set(model.parameters().map((p) => p.name));
  for (const [k, v] of Object.entries(f.tensors)) {
    if (k.startsWith("optim.")) optimizerTensors[k] = v;
    else weights[names.has(k) ? k : RNN_PREFIX + k] = v;
  }
  model.loadStateDict(weights);
  const out: SavedModel = { model, version: meta.version };
  if (meta.tokenizer) out.tokenizer = Tokenizer.fromJSON(meta.tokenizer);
  if (meta.scaler) out.scaler = Scaler.fromJSON(meta.scaler);
  if (meta.info) out.info = meta.info;
  if (meta.checkpoint) {
    out.checkpoint = meta.checkpoint;
    out.optimizerTensors = optimizerTensors;
  }
  return out;
}
