/**
 * `rnnkit import --from torch weights.safetensors --task classify --out model.safetensors`:
 * weights from another framework -> an rnnkit model file (src/io/torch.ts for PyTorch). The
 * imported model works on ids; `--vocab FILE` (one token per line, line i = id i) and
 * `--labels a,b,...` attach the tokenizer and class names that `rnnkit predict`, `eval` and
 * `serve` need (`--target-vocab` for a seq2seq model's output side; `--window` and `--column`
 * for a forecaster, whose inputs are taken as already scaled: an identity scaler).
 */
import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import type { Backend } from "../backend/backend.js";
import { SPECIALS, Tokenizer } from "../data/tokenizer.js";
import { Scaler } from "../data/scaler.js";
import { defaults } from "../defaults.js";
import { type ModelExtras, saveModel } from "../io/model-file.js";
import { TORCH_ROLES, type TorchImport, type TorchRole, importTorch } from "../io/torch.js";
import { loadTfjsModel } from "../io/tfjs.js";
import type { SequenceTask } from "../models/sequence-model.js";
import { readTfjsModel } from "./tfjs-files.js";
import { ATTENTIONS, type AttentionKind } from "../layers/attention.js";
import { CELLS, type CellName, POOLINGS, type Pooling } from "../models/model.js";
import { MODEL_TASK, TASK_NAMES, type TaskInfo, type TaskName, parseInfo } from "../tasks/task.js";
import { RnnkitError } from "../tensor.js";
import { int, note, report } from "./commands.js";
import { readText } from "./data.js";
import { claimOut } from "./out.js";

/** The formats `--from` reads. A new one adds its name here and its branch in `importModel`. */
export const IMPORT_FORMATS = ["torch", "tfjs"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportFlags {
  from: string;
  task: string;
  out: string;
  force?: boolean;
  json?: boolean;
  cell?: string;
  decoderCell?: string;
  pooling?: string;
  attention?: string;
  role?: string[];
  vocab?: string;
  targetVocab?: string;
  tokenizer?: string;
  lowercase?: boolean;
  labels?: string;
  window?: string;
  column?: string;
  features?: string;
}

const ROLE_NAMES = [...new Set([...Object.keys(TORCH_ROLES.sequence), ...Object.keys(TORCH_ROLES.seq2seq)])];

/** Registers `rnnkit import` on the program. */
export function importCommand(p: Command, backendFrom: (name: string | undefined) => Promise<Backend>): void {
  p.command("import").description("bring in a model trained elsewhere: a PyTorch state_dict saved as .safetensors, or a TensorFlow.js layers model (model.json + shards) -> an rnnkit model file")
    .argument("<weights>", "the file to import (torch: a .safetensors of model.state_dict(); tfjs: model.json, its shards beside it)")
    .requiredOption("--from <format>", `where the weights come from: ${IMPORT_FORMATS.join(", ")}`)
    .requiredOption("--task <task>", `what the model does: ${TASK_NAMES.join(", ")} (names and shapes cannot tell a tagger from a language model)`)
    .requiredOption("--out <model.safetensors>", "the rnnkit model file to write")
    .option("--force", "replace the file --out names if it exists")
    .addOption(new Option("--cell <cell>", "rnn_relu for a relu RNN (tanh and relu RNNs have the same tensors); LSTM and GRU are told by their shapes").choices([...CELLS]))
    .addOption(new Option("--decoder-cell <cell>", "seq2seq: the same for the decoder").choices([...CELLS]))
    .addOption(new Option("--pooling <how>", "classify, forecast: how the model summarises a sequence (default last: the final state)").choices([...POOLINGS]))
    .addOption(new Option("--attention <kind>", "seq2seq: check the attention the tensors show").choices([...ATTENTIONS]))
    .option("--role <role=module>", `name the module of a part where shapes and names cannot tell (repeatable); roles: ${ROLE_NAMES.join(", ")}`, (v: string, prev: string[] = []) => [...prev, v])
    .option("--vocab <file>", "the input tokens, one per line (line i is id i; the first four must be <pad>, <unk>, <bos>, <eos>)")
    .option("--target-vocab <file>", "seq2seq: the output tokens, one per line, the same way")
    .addOption(new Option("--tokenizer <kind>", "how --vocab's tokens split text (default: char when every token is one character, else word)").choices(["char", "word"]))
    .option("--lowercase", "lowercase text before looking tokens up")
    .option("--labels <a,b,...>", "classify: class names; tag: tag names, in the order of the model's outputs (default 0, 1, ...)")
    .option("--window <n>", "forecast: the past steps the model reads (attaches an identity scaler and the task info)")
    .option("--column <name>", "forecast: the column forecast", "value")
    .option("--features <a,b>", "forecast: covariate columns read beside it")
    .option("--backend <name>", "js or wasm")
    .option("--json", "print the result as one JSON document")
    .action(async (weights: string, o: ImportFlags & { backend?: string }) => importModel(weights, o, await backendFrom(o.backend)));
}

function vocabFile(flag: string, path: string, kindFlag: string | undefined, lowercase: boolean): Tokenizer {
  const lines = readText(path).split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  SPECIALS.forEach((s, i) => {
    if (lines[i] !== s) {
      throw new RnnkitError(`${flag} ${path}: line ${i + 1}: expected ${s} (rnnkit's ids 0-3 are ${SPECIALS.join(", ")}: order the vocabulary, and the embedding rows, that way), got ${JSON.stringify(lines[i] ?? "end of file")}`);
    }
  });
  const seen = new Map<string, number>();
  lines.forEach((t, i) => {
    if (seen.has(t)) throw new RnnkitError(`${flag} ${path}: line ${i + 1}: ${JSON.stringify(t)} is already line ${seen.get(t)! + 1}: expected each token once`);
    seen.set(t, i);
  });
  const kind = (kindFlag as "char" | "word" | undefined) ?? (lines.slice(SPECIALS.length).every((t) => Array.from(t).length === 1) ? "char" : "word");
  return Tokenizer.fromJSON({ kind, tokens: lines, lowercase });
}

function labelList(v: string | undefined, n: number, what: string): string[] {
  if (v === undefined) {
    note(`no --labels: the ${what} are named 0 to ${n - 1}`);
    return Array.from({ length: n }, (_, i) => String(i));
  }
  const list = v.split(",").map((s) => s.trim());
  if (list.length !== n) throw new RnnkitError(`--labels: the model has ${n} outputs: expected ${n} names, got ${list.length} (${JSON.stringify(v)})`);
  return list;
}

function roleMap(flags: string[] | undefined): Partial<Record<TorchRole, string>> {
  const out: Partial<Record<TorchRole, string>> = {};
  for (const f of flags ?? []) {
    const m = /^([a-z-]+)=(.*)$/.exec(f);
    if (!m || !ROLE_NAMES.includes(m[1])) throw new RnnkitError(`--role: expected ROLE=MODULE with ROLE one of ${ROLE_NAMES.join(", ")}, got ${JSON.stringify(f)}`);
    out[m[1] as TorchRole] = m[2];
  }
  return out;
}

/** The task info, tokenizer and scaler the flags attach (none without --vocab / --window: the model then works from the API only). */
function attach(imp: TorchImport, task: TaskName, o: ImportFlags, source: string): Pick<ModelExtras, "tokenizer" | "scaler" | "info"> {
  const cfg = imp.model.config as Record<string, unknown>;
  const lowercase = o.lowercase === true;
  if (task === "forecast") {
    if (o.window === undefined) {
      note("no --window: the model is saved without task info; it predicts from the API (SequenceModel.forward), and rnnkit predict needs --window");
      return {};
    }
    const features = o.features ? o.features.split(",").map((s) => s.trim()) : [];
    const F = 1 + features.length;
    if (cfg.inputSize !== F) throw new RnnkitError(`--column/--features: the model reads ${String(cfg.inputSize)} input(s) per step: expected ${cfg.inputSize} column(s), got ${F} (${[o.column ?? "value", ...features].join(", ")})`);
    // the PyTorch model read its numbers as given: an identity scaler
    const scaler = Scaler.fromJSON({ kind: "standard", a: new Array<number>(F).fill(0), b: new Array<number>(F).fill(1) });
    return { scaler, info: { task: "forecast", column: o.column ?? "value", features, window: int("window", o.window), horizon: cfg.outputSize as number } };
  }
  if (!o.vocab) {
    if (o.labels !== undefined || o.targetVocab !== undefined) throw new RnnkitError("--labels and --target-vocab need --vocab (the input tokens) too");
    note(`no --vocab: the model is saved without a tokenizer; it works on ids from the API, and rnnkit predict needs --vocab FILE`);
    return {};
  }
  const tokenizer = vocabFile("--vocab", o.vocab, o.tokenizer, lowercase);
  let info: TaskInfo;
  if (task === "seq2seq") {
    if (!o.targetVocab) throw new RnnkitError("--target-vocab: a seq2seq model needs the output side's tokens too, got none");
    const target = vocabFile("--target-vocab", o.targetVocab, o.tokenizer, lowercase);
    info = { task: "seq2seq", sourceColumn: "source", targetColumn: "target", targetTokenizer: target.toJSON(), maxLen: defaults.maxLen, beam: defaults.beam };
  } else if (task === "classify") {
    info = { task: "classify", labels: labelList(o.labels, cfg.outputSize as number, "classes"), textColumn: "text", labelColumn: "label", maxLen: defaults.maxLen };
  } else if (task === "tag") {
    info = { task: "tag", tags: labelList(o.labels, cfg.outputSize as number, "tags"), maxLen: defaults.maxLen };
  } else info = { task: "lm", source };
  return { tokenizer, info };
}

/** The work of `rnnkit import`. */
export function importModel(path: string, o: ImportFlags, backend: Backend): void {
  if (!(IMPORT_FORMATS as readonly string[]).includes(o.from)) {
    throw new RnnkitError(`--from: expected one of ${IMPORT_FORMATS.join(", ")}, got ${JSON.stringify(o.from)}`);
  }
  if (!(TASK_NAMES as readonly string[]).includes(o.task)) throw new RnnkitError(`--task: expected one of ${TASK_NAMES.join(", ")}, got ${JSON.stringify(o.task)}`);
  const task = o.task as TaskName;
  claimOut(o.out, { force: o.force });
  if (o.from === "tfjs") return importTfjsFile(path, task, o, backend);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new RnnkitError(`cannot read ${path}: ${(e as Error).message}`);
  }
  const imp = importTorch(bytes, {
    task: MODEL_TASK[task], source: path, backend, roles: roleMap(o.role),
    ...(o.cell ? { cell: o.cell as CellName } : {}), ...(o.decoderCell ? { decoderCell: o.decoderCell as CellName } : {}),
    ...(o.pooling ? { pooling: o.pooling as Pooling } : {}), ...(o.attention ? { attention: o.attention as AttentionKind } : {}),
  });
  const cfg = imp.model.config as Record<string, unknown>;
  if ((cfg.cell === "rnn" && !o.cell) || (cfg.decoderCell === "rnn" && !o.decoderCell)) {
    note("note: a plain RNN's tensors do not say its nonlinearity: imported as tanh (torch.nn.RNN's default); --cell rnn_relu (--decoder-cell) for relu");
  }
  const extras = attach(imp, task, o, path);
  // what `rnnkit predict` will check on opening the file, checked before it is written
  if (extras.info) parseInfo(o.out, { model: imp.model, info: extras.info as Record<string, unknown>, tokenizer: extras.tokenizer, scaler: extras.scaler });
  saveModel(o.out, imp.model, extras);
  const zero = imp.mapping.filter(([from]) => from === "").map(([, to]) => to);
  const lines = [
    `imported ${path} (PyTorch) as a ${task} model (${imp.model.kind}): ${imp.mapping.length - zero.length} tensors -> ${o.out}`,
    ...imp.mapping.filter(([from]) => from !== "").map(([from, to]) => `  ${from} -> ${to}`),
    ...(zero.length ? [`  zero (the file has no biases there): ${zero.join(", ")}`] : []),
    `  config: ${JSON.stringify(imp.model.config)}`,
  ];
  report({ out: o.out, task, kind: imp.model.kind, config: imp.model.config, mapping: imp.mapping, tokenizer: !!extras.tokenizer, info: !!extras.info }, o.json, lines.join("\n"));
  imp.model.dispose();
}

/** `--from tfjs`: a TensorFlow.js layers model (model.json and its shards, src/io/tfjs.ts) -> an rnnkit model file. */
function importTfjsFile(path: string, task: TaskName, o: ImportFlags, backend: Backend): void {
  if (task === "seq2seq") throw new RnnkitError("--from tfjs --task seq2seq: a TensorFlow.js layers model imports as one sequence model (Sequential); seq2seq comes from PyTorch (--from torch)");
  for (const [flag, v] of [["--cell", o.cell], ["--decoder-cell", o.decoderCell], ["--pooling", o.pooling], ["--attention", o.attention], ["--role", o.role]] as const) {
    if (v !== undefined) throw new RnnkitError(`${flag}: a TensorFlow.js model.json names its layers and their settings; ${flag} is for --from torch`);
  }
  const { json, shards } = readTfjsModel(path);
  const imp = loadTfjsModel(json, shards, { task: MODEL_TASK[task] as SequenceTask, backend, source: path });
  try {
    const extras = attach({ model: imp.model, mapping: [] }, task, o, path);
    if (extras.info) parseInfo(o.out, { model: imp.model, info: extras.info as Record<string, unknown>, tokenizer: extras.tokenizer, scaler: extras.scaler });
    if (imp.masking === "value") note(`note: the model masked steps equal to ${imp.maskValue}; rnnkit takes lengths instead (right-padded inputs give the same answers)`);
    saveModel(o.out, imp.model, extras);
    const lines = [`imported ${path} (TensorFlow.js) as a ${task} model (${imp.model.kind}) -> ${o.out}`, ...imp.notes.map((n) => `  ${n}`), `  config: ${JSON.stringify(imp.model.config)}`];
    report({ out: o.out, task, kind: imp.model.kind, config: imp.model.config, masking: imp.masking, notes: imp.notes, tokenizer: !!extras.tokenizer, info: !!extras.info }, o.json, lines.join("\n"));
  } finally {
    imp.model.dispose();
  }
}
