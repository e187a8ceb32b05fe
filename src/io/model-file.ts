/**
 * Model files: one `.safetensors` file holding the weights and, in `__metadata__`, everything
 * needed to use them: the model kind and architecture, the tokenizer or scaler, the task info,
 * the rnnkit version, and for a checkpoint the optimizer state and step, so training resumes
 * exactly where it stopped.
 *
 * Format 2 (this release): tensor names are the model's `stateDict()` names, prefixed by part
 * (`embedding.weight`, `rnn.weight_ih_l0`, `head.bias`, `encoder.rnn.weight_hh_l0_reverse`,
 * `attention.*`), so each part loads into its `torch.nn` module once the prefix is stripped;
 * optimizer state is `optim.<parameter>.<k>`; where a checkpoint keeps the best-validation weights
 * as the model's, the last weights (what `--resume` continues from) are `last.<name>`. Metadata key `format` is "pt" (what safetensors'
 * PyTorch loader expects) and key `rnnkit` is the JSON `Meta` below.
 *
 * Format 1 (rnnkit 0.1.0) stored the recurrent stack's tensors without the `rnn.` prefix and had
 * no `kind` (always a SequenceModel); it still loads.
 */
import { platform } from "#platform";
import type { Backend } from "../backend/backend.js";
import { Scaler, type ScalerJSON } from "../data/scaler.js";
import { Tokenizer, type TokenizerJSON } from "../data/tokenizer.js";
import { MODEL_KINDS, type Model, type ModelKind } from "../models/model.js";
import { Seq2Seq, type Seq2SeqConfig } from "../models/seq2seq.js";
import { type ModelConfig, SequenceModel } from "../models/sequence-model.js";
import { RnnkitError, type Tensor, describe, formatShape } from "../tensor.js";
import { type ParameterShapes, checkParameterBudget } from "../models/composed.js";
import type { Optimizer, OptimizerName, OptimizerOptions } from "../train/optimizers.js";
import { decodeSafetensors, encodeSafetensors, loadSafetensors, type SafetensorsFile, writeFileAtomic } from "./safetensors.js";

/** The model-file format this release writes; it reads every version from 1 up to this one. */
export const FORMAT_VERSION = 2;
const FORMAT_PREFIX = "rnnkit-model/";

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
  /** "rnnkit-model/<FORMAT_VERSION>" */
  format: string;
  /** the rnnkit release that wrote the file */
  version: string;
  /** absent in format 1: "sequence" */
  kind?: ModelKind;
  config: Record<string, unknown>;
  tokenizer?: TokenizerJSON;
  scaler?: ScalerJSON;
  checkpoint?: Checkpoint;
  /** free-form facts worth keeping (dataset, metrics) */
  info?: Record<string, unknown>;
}

export interface SavedModel {
  /** The model; narrow it with `instanceof SequenceModel` / `instanceof Seq2Seq`, or read `model.kind`. */
  model: Model;
  tokenizer?: Tokenizer;
  scaler?: Scaler;
  checkpoint?: Checkpoint;
  /** optimizer tensors, for Optimizer.loadStateDict */
  optimizerTensors?: Record<string, Tensor>;
  /** a checkpoint that keeps the best weights as the model's: the last weights, to resume from (`last.*`, prefix stripped) */
  resumeWeights?: Record<string, Tensor>;
  /** a checkpoint of a language model stopped inside an epoch: the carried state, to resume from */
  carry?: { h?: Tensor; c?: Tensor };
  info?: Record<string, unknown>;
  /** the rnnkit release that wrote the file */
  version: string;
  /** the file's format version (1 = rnnkit 0.1.0) */
  formatVersion: number;
}

/**
 * How each model kind is rebuilt from its config. A new kind adds one line here (its class takes
 * `(config, { backend })` and implements `Model`).
 */
const KINDS: Record<ModelKind, {
  /** the parameter names and shapes of a config, computed without building (checks the config) */
  shapes: (config: Record<string, unknown>) => ParameterShapes;
  build: (config: Record<string, unknown>, opts: { backend?: Backend }) => Model;
  /** the vocabulary the file's tokenizer must have (the input side's), if the model reads tokens */
  vocabulary: (config: Record<string, unknown>) => number | undefined;
  /** which side that is, in messages ("" or "source ") */
  side: string;
}> = {
  sequence: {
    shapes: (config) => SequenceModel.parameterShapes(config as unknown as ModelConfig),
    vocabulary: (config) => SequenceModel.resolve(config as unknown as ModelConfig).vocabSize,
    side: "",
    build: (config, opts) => new SequenceModel(config as unknown as ModelConfig, opts),
  },
  seq2seq: {
    shapes: (config) => Seq2Seq.parameterShapes(config as unknown as Seq2SeqConfig),
    vocabulary: (config) => Seq2Seq.resolve(config as unknown as Seq2SeqConfig).sourceVocabSize,
    side: "source ",
    build: (config, opts) => new Seq2Seq(config as unknown as Seq2SeqConfig, opts),
  },
};

/** The file's weight tensors must be exactly the config's parameters: the same names and shapes. */
function checkTensorsMatch(path: string, shapes: ParameterShapes, weights: Record<string, Tensor>): void {
  const want = new Map(shapes);
  const missing = shapes.filter(([k]) => !Object.hasOwn(weights, k)).map(([k]) => k);
  const extra = Object.keys(weights).filter((k) => !want.has(k));
  if (missing.length || extra.length) {
    const parts = [missing.length ? `missing ${missing.join(", ")}` : "", extra.length ? `unexpected ${extra.map((k) => JSON.stringify(k)).join(", ")}` : ""].filter(Boolean);
    throw new RnnkitError(`${path}: the tensors do not match the model its config describes: ${parts.join("; ")}`);
  }
  for (const [k, shape] of shapes) {
    const got = weights[k].shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new RnnkitError(`${path}: ${k}: the config describes shape ${formatShape(shape)}, the file holds ${formatShape(got)}`);
    }
  }
}

/** What a model file may carry besides the model. */
export interface ModelExtras {
  tokenizer?: Tokenizer;
  scaler?: Scaler;
  optimizer?: Optimizer;
  checkpoint?: Omit<Checkpoint, "optimizer">;
  /** the task info (JSON): each task's typed record, see src/tasks/task.ts */
  info?: object;
  /** the weights to write as the model's instead of its current ones (the best-validation weights; same names as stateDict()) */
  weights?: Record<string, Tensor>;
  /** with `weights`: the model's current weights are written as `last.<name>`, to resume from */
  resumeWeights?: Record<string, Tensor>;
  /** a language model stopped inside an epoch: the state carried into its next chunk (`carry.h`, `carry.c`) */
  carry?: { h?: Tensor; c?: Tensor };
}

/** Writes the model (and optionally tokenizer, scaler, optimizer state) to `path`, atomically (Node). */
export function saveModel(path: string, model: Model, extra: ModelExtras = {}): void {
  writeFileAtomic(path, modelToBytes(model, extra));
}

/** The bytes of a model file (a .safetensors file), e.g. to download or store in IndexedDB in a browser. */
export function modelToBytes(model: Model, extra: ModelExtras = {}): Uint8Array {
  const current = model.stateDict();
  const tensors: Record<string, Tensor> = { ...current };
  if (extra.weights) {
    for (const k of Object.keys(current)) {
      const t = extra.weights[k];
      if (!t || t.data.length !== current[k].data.length) throw new RnnkitError(`modelToBytes: weights.${k}: expected ${current[k].data.length} numbers (the model's), got ${t ? t.data.length : "nothing"}`);
      tensors[k] = t;
    }
  }
  if (extra.resumeWeights) for (const [k, v] of Object.entries(extra.resumeWeights)) tensors[`last.${k}`] = v;
  if (extra.carry?.h) tensors["carry.h"] = extra.carry.h;
  if (extra.carry?.c) tensors["carry.c"] = extra.carry.c;
  const meta: Meta = { format: FORMAT_PREFIX + FORMAT_VERSION, version: rnnkitVersion(), kind: model.kind, config: { ...model.config } };
  if (extra.tokenizer) meta.tokenizer = extra.tokenizer.toJSON();
  if (extra.scaler) meta.scaler = extra.scaler.toJSON();
  if (extra.info) meta.info = { ...extra.info } as Record<string, unknown>;
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
  if (meta === null || typeof meta !== "object") throw bad(`the "rnnkit" metadata is ${describe(meta)}, expected an object`);
  const m = typeof meta.format === "string" && meta.format.startsWith(FORMAT_PREFIX) ? /^[1-9][0-9]*$/.exec(meta.format.slice(FORMAT_PREFIX.length)) : null;
  if (!m) throw bad(`format ${JSON.stringify(meta.format)}, expected ${FORMAT_PREFIX}1 to ${FORMAT_PREFIX}${FORMAT_VERSION}`);
  const formatVersion = Number(m[0]);
  if (formatVersion > FORMAT_VERSION) {
    throw new RnnkitError(`${path}: written by rnnkit ${meta.version} in model-file format ${formatVersion}; this rnnkit (${rnnkitVersion()}) reads formats 1 to ${FORMAT_VERSION}: upgrade rnnkit`);
  }
  const kind = meta.kind ?? "sequence";
  if (!MODEL_KINDS.includes(kind)) throw bad(`model kind ${describe(kind)}, expected one of ${MODEL_KINDS.join(", ")}`);
  if (meta.config === null || typeof meta.config !== "object") throw bad(`its config is ${describe(meta.config)}, expected an object`);
  // everything the file claims is checked against the tensors it holds before the model is
  // built: a config that claims hiddenSize 7000 over tensors of 64 never allocates anything
  const weights: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  const optimizerTensors: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  let resumeWeights: Record<string, Tensor> | undefined;
  const carry: { h?: Tensor; c?: Tensor } = {};
  for (const [k, v] of Object.entries(f.tensors)) {
    if (k.startsWith("optim.")) optimizerTensors[k] = v;
    else if (k === "carry.h" || k === "carry.c") carry[k === "carry.h" ? "h" : "c"] = v;
    else if (k.startsWith("last.")) (resumeWeights ??= Object.create(null) as Record<string, Tensor>)[k.slice(5)] = v;
    // format 1 stored the recurrent stack under PyTorch's bare names
    else weights[formatVersion === 1 && /^(weight|bias)_(ih|hh)_l\d+(_reverse)?$/.test(k) ? `rnn.${k}` : k] = v;
  }
  let shapes: ParameterShapes;
  try {
    shapes = KINDS[kind].shapes(meta.config);
  } catch (e) {
    if (e instanceof RnnkitError) throw bad(`its config does not describe a model: ${e.message}`);
    throw e;
  }
  checkTensorsMatch(path, shapes, weights);
  // the last weights of a keep-best checkpoint (to resume from) are the same parameters again
  if (resumeWeights) checkTensorsMatch(`${path} (last.*)`, shapes, resumeWeights);
  if (resumeWeights && !meta.checkpoint) throw bad("it holds resume weights (last.*) but no checkpoint record");
  const optimNames = Object.keys(optimizerTensors);
  if (optimNames.length && !meta.checkpoint) throw bad(`it holds optimizer tensors (${optimNames.slice(0, 3).map((k) => JSON.stringify(k)).join(", ")}) but no checkpoint record`);
  if (carry.h || carry.c) checkCarry(bad, kind, meta.config, carry, meta.checkpoint !== undefined);
  checkParameterBudget(path, shapes);
  const tokenizer = meta.tokenizer ? Tokenizer.fromJSON(meta.tokenizer) : undefined;
  const V = KINDS[kind].vocabulary(meta.config);
  // a tokenizer shorter than the vocabulary would silently never produce the last ids (or, longer, index past the embedding)
  if (tokenizer && V !== undefined && tokenizer.size !== V) {
    const side = KINDS[kind].side;
    throw bad(`its ${side}tokenizer has ${tokenizer.size} tokens but the model's ${side}vocabulary is ${V}`);
  }
  const scaler = meta.scaler ? Scaler.fromJSON(meta.scaler) : undefined;
  const model = KINDS[kind].build(meta.config, opts);
  try {
    model.loadStateDict(weights);
  } catch (e) {
    model.dispose(); // a failed load gives its backend memory back (a server loading uploads stays up)
    throw e;
  }
  const out: SavedModel = { model, version: meta.version, formatVersion };
  if (tokenizer) out.tokenizer = tokenizer;
  if (scaler) out.scaler = scaler;
  if (meta.info) out.info = meta.info;
  if (meta.checkpoint) {
    out.checkpoint = meta.checkpoint;
    out.optimizerTensors = optimizerTensors;
    if (resumeWeights) out.resumeWeights = resumeWeights;
    if (carry.h || carry.c) out.carry = carry;
  }
  return out;
}

/** A carried state (`carry.h`, `carry.c`) is [L*D, B, H] of a language model's recurrent stack, in a checkpoint. */
function checkCarry(bad: (why: string) => Error, kind: string, config: Record<string, unknown>, carry: { h?: Tensor; c?: Tensor }, checkpoint: boolean): void {
  if (!checkpoint) throw bad("it holds a carried state (carry.*) but no checkpoint record");
  if (kind !== "sequence" || config.task !== "lm") throw bad(`it holds a carried state (carry.*), which only a language model's checkpoint has, but it is a ${kind} ${String(config.task)} model`);
  const LD = Number(config.numLayers ?? 1) * (config.bidirectional ? 2 : 1), H = Number(config.hiddenSize);
  if (carry.c && config.cell !== "lstm") throw bad(`it holds a carried cell state (carry.c), which only an LSTM has, but its cell is ${String(config.cell)}`);
  if (config.cell === "lstm" && carry.h && !carry.c) throw bad("it holds carry.h but not carry.c, which an LSTM's carried state has too");
  const B = (carry.h ?? carry.c)!.shape[1];
  for (const [k, t] of Object.entries(carry)) {
    if (t && (t.shape.length !== 3 || t.shape[0] !== LD || t.shape[1] !== B || t.shape[2] !== H || !(B >= 1))) {
      throw bad(`carry.${k} has shape [${t.shape.join(", ")}], expected [L*D, B, H] = [${LD}, ${B}, ${H}]`);
    }
  }
}
