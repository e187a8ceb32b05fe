/**
 * PyTorch, both directions, checked against PyTorch itself (Debian's python3-torch, run as
 * /usr/bin/python3: the `python3` first on PATH may not see Debian's packages):
 * - rnnkit -> PyTorch: a model file of every kind (lm, tag, classify with each pooling, regress,
 *   a conditioned lm, seq2seq with every attention; the Keras variants: reset-before GRU,
 *   hard-sigmoid gates) loads into python/rnnkit_torch.py with
 *   load_state_dict(strict=True) and gives rnnkit's logits (and attention weights, and greedy
 *   decodes) within 1e-5 + 1e-4 |ref|;
 * - PyTorch -> rnnkit: state_dicts under the names users give their modules (`encoder.` for the
 *   embedding and `decoder.` for the head as in PyTorch's word_language_model example, `fc.`,
 *   `lstm.`, bias=False, a relu RNN, encoder-decoders with their own names) saved as
 *   .safetensors, imported by importTorch and by `rnnkit import`, give PyTorch's logits.
 * One python process serves the whole file (test/torch/roundtrip.py). Without PyTorch the
 * tests fail and say so, unless RNNKIT_SKIP_TORCH=1.
 * The refusals (bad files, names that fit no architecture) need no Python.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { fileURLToPath } from "node:url";
import { JsBackend } from "../backend/js.js";
import type { Batch } from "../data/batch.js";
import { Tokenizer } from "../data/tokenizer.js";
import { translate } from "../decode/seq2seq.js";
import { Seq2Seq, type Seq2SeqConfig } from "../models/seq2seq.js";
import { type ModelConfig, SequenceModel } from "../models/sequence-model.js";
import { Rng } from "../rng.js";
import { openTask } from "../tasks/open.js";
import { RnnkitError, type Tensor } from "../tensor.js";
import { loadModel, saveModel } from "./model-file.js";
import { encodeSafetensors } from "./safetensors.js";
import { importTorch } from "./torch.js";

const PYTHON = "/usr/bin/python3";
const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(root, "dist/src/cli/main.js");
const dir = mkdtempSync(join(tmpdir(), "rnnkit-torch-"));
const be = new JsBackend();
after(() => rmSync(dir, { recursive: true, force: true }));

function torchMissing(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} cannot import torch and numpy (${(r.stderr || r.error?.message || "").trim().split("\n").pop()})`;
}

function close(what: string, got: ArrayLike<number>, want: readonly number[]): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} numbers, PyTorch has ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-5 + 1e-4 * Math.abs(want[i]);
    if (!(Math.abs(got[i] - want[i]) <= tol)) assert.fail(`${what}[${i}]: rnnkit ${got[i]}, PyTorch ${want[i]} (tolerance ${tol})`);
  }
}

/** Random weights, larger than the initialisation (so that a wrong layout shows), the <pad> row included. */
function randomize(model: SequenceModel | Seq2Seq, seed: number): void {
  const rng = new Rng(seed);
  const dict: Record<string, Tensor> = {};
  for (const p of model.parameters()) dict[p.name] = { shape: p.value.shape, data: Float32Array.from(p.value.data, () => rng.uniform(-0.6, 0.6)) };
  model.loadStateDict(dict);
}

interface Case {
  T: number;
  B: number;
  lengths: number[];
  tokens?: number[];
  inputs?: number[];
  condition?: number[];
  U?: number;
  targets?: number[];
  targetLengths?: number[];
  greedy?: number;
}

/** A batch for a model: ids in [0, V) (<pad> included, as a real id inside the lengths), lengths unsorted. */
function batchFor(rng: Rng, cfg: { vocabSize?: number; inputSize?: number; conditionSize?: number; targetVocabSize?: number; sourceVocabSize?: number }): Case {
  const T = 5, B = 3, lengths = [3, 5, 1];
  const c: Case = { T, B, lengths };
  const V = cfg.vocabSize ?? cfg.sourceVocabSize;
  if (V) c.tokens = Array.from({ length: T * B }, () => Math.floor(rng.next() * V));
  else c.inputs = Array.from({ length: T * B * cfg.inputSize! }, () => rng.uniform(-2, 2));
  if (cfg.conditionSize) c.condition = Array.from({ length: B * cfg.conditionSize }, () => rng.uniform(-1, 1));
  if (cfg.targetVocabSize) {
    const U = 4;
    c.U = U;
    c.targetLengths = [4, 2, 3];
    c.targets = Array.from({ length: U * B }, (_, i) => 4 + Math.floor(rng.next() * (cfg.targetVocabSize! - 4)));
    for (let b = 0; b < B; b++) c.targets[(c.targetLengths[b] - 1) * B + b] = 3; // <eos>
    c.greedy = 6;
  }
  return c;
}

function logitsOf(model: SequenceModel | Seq2Seq, c: Case): { logits: Float32Array | Float64Array; attention?: ArrayLike<number> } {
  const batch: Batch = { T: c.T, B: c.B, lengths: c.lengths };
  if (c.tokens) batch.tokens = c.tokens;
  if (c.inputs) batch.inputs = c.inputs;
  if (c.condition) batch.condition = c.condition;
  if (model instanceof Seq2Seq) {
    Object.assign(batch, { U: c.U, targets: c.targets, targetLengths: c.targetLengths });
    const r = model.forward(batch, { attention: true });
    return { logits: r.logits.data, attention: r.attention?.data };
  }
  return { logits: model.forward(batch).logits.data };
}

const SEQ: [string, ModelConfig][] = [
  ["lm lstm 2 layers", { task: "lm", cell: "lstm", vocabSize: 11, embeddingDim: 5, hiddenSize: 6, numLayers: 2, outputSize: 11 }],
  ["tag gru bidirectional", { task: "tag", cell: "gru", vocabSize: 9, embeddingDim: 4, hiddenSize: 5, bidirectional: true, outputSize: 4 }],
  ["classify relu rnn bidirectional last", { task: "classify", cell: "rnn_relu", vocabSize: 9, embeddingDim: 4, hiddenSize: 5, bidirectional: true, outputSize: 3, pooling: "last" }],
  ["classify lstm mean", { task: "classify", cell: "lstm", vocabSize: 9, embeddingDim: 4, hiddenSize: 5, outputSize: 2, pooling: "mean" }],
  ["classify gru 2 layers bidirectional max", { task: "classify", cell: "gru", vocabSize: 9, embeddingDim: 4, hiddenSize: 3, numLayers: 2, bidirectional: true, outputSize: 3, pooling: "max" }],
  ["regress lstm numeric last", { task: "regress", cell: "lstm", inputSize: 3, hiddenSize: 4, outputSize: 2 }],
  ["regress tanh rnn 2 layers bidirectional mean", { task: "regress", cell: "rnn", inputSize: 2, hiddenSize: 4, numLayers: 2, bidirectional: true, outputSize: 1, pooling: "mean" }],
  ["tag reset-before gru (Keras) bidirectional", { task: "tag", cell: "gru", resetAfter: false, vocabSize: 9, embeddingDim: 4, hiddenSize: 5, bidirectional: true, outputSize: 4 }],
  ["classify hard-sigmoid lstm (TF.js) 2 layers bidirectional mean", { task: "classify", cell: "lstm", recurrentActivation: "hardSigmoid", vocabSize: 9, embeddingDim: 4, hiddenSize: 3, numLayers: 2, bidirectional: true, outputSize: 2, pooling: "mean" }],
  ["conditioned lm gru", { task: "lm", cell: "gru", vocabSize: 8, embeddingDim: 4, hiddenSize: 5, numLayers: 2, conditionSize: 3, outputSize: 8 }],
];
const S2S: [string, Seq2SeqConfig][] = [
  ["seq2seq lstm luong bidirectional", { cell: "lstm", attention: "luong", bidirectional: true, sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 4, embeddingDim: 3 }],
  ["seq2seq gru bahdanau bridge 2->1 layers", { cell: "gru", attention: "bahdanau", numLayers: 2, decoderLayers: 1, sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 4, decoderHiddenSize: 5, embeddingDim: 3 }],
  ["seq2seq lstm luong-dot 2 layers", { cell: "lstm", attention: "luong-dot", numLayers: 2, sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 5, embeddingDim: 4 }],
  ["seq2seq rnn none bridge lstm decoder", { cell: "rnn", decoderCell: "lstm", attention: "none", bidirectional: true, sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 3, decoderHiddenSize: 4, embeddingDim: 3 }],
  ["seq2seq reset-before hard-sigmoid gru bahdanau", { cell: "gru", attention: "bahdanau", resetAfter: false, recurrentActivation: "hardSigmoid", bidirectional: true, sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 3, decoderHiddenSize: 4, embeddingDim: 3 }],
  ["seq2seq lstm bahdanau bidirectional bridge h and c", { cell: "lstm", attention: "bahdanau", bidirectional: true, sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 3, decoderHiddenSize: 4, embeddingDim: 3 }],
];

/** PyTorch models under their users' names: [rnnkit_torch prefix, the user's prefix] pairs, and the import options. */
interface Reverse {
  name: string;
  kind: "sequence" | "seq2seq";
  config: Record<string, unknown>;
  rename: [string, string][];
  dropBias?: boolean;
  /** how the file stores the weights (default F32) */
  dtype?: "F16" | "BF16";
  options: Parameters<typeof importTorch>[1];
}
const REVERSE: Reverse[] = [
  { name: "word_language_model names (encoder = embedding, decoder = head)", kind: "sequence", config: { task: "lm", cell: "lstm", vocabSize: 10, embeddingDim: 6, hiddenSize: 6, numLayers: 2, outputSize: 10 },
    rename: [["embedding.", "encoder."], ["rnn.", "rnn."], ["head.", "decoder."]], options: { task: "lm" } },
  { name: "tagger: embed, lstm, fc, bias=False everywhere", kind: "sequence", config: { task: "tag", cell: "lstm", vocabSize: 9, embeddingDim: 4, hiddenSize: 5, bidirectional: true, outputSize: 4 },
    rename: [["embedding.", "embed."], ["rnn.", "lstm."], ["head.", "fc."]], dropBias: true, options: { task: "tag" } },
  { name: "classifier: emb, gru, classifier, max pooling", kind: "sequence", config: { task: "classify", cell: "gru", vocabSize: 9, embeddingDim: 5, hiddenSize: 5, numLayers: 2, outputSize: 3, pooling: "max" },
    rename: [["embedding.", "emb."], ["rnn.", "gru."], ["head.", "classifier."]], options: { task: "classify", pooling: "max" } },
  { name: "relu rnn classifier, mean pooling", kind: "sequence", config: { task: "classify", cell: "rnn_relu", vocabSize: 7, embeddingDim: 3, hiddenSize: 4, bidirectional: true, outputSize: 2, pooling: "mean" },
    rename: [], options: { task: "classify", cell: "rnn_relu", pooling: "mean" } },
  { name: "regressor: a bare nn.LSTM state_dict beside linear", kind: "sequence", config: { task: "regress", cell: "lstm", inputSize: 3, hiddenSize: 4, outputSize: 2 },
    rename: [["rnn.", ""], ["head.", "linear."]], options: { task: "regress" } },
  { name: "a .half() model (F16)", kind: "sequence", config: { task: "tag", cell: "gru", vocabSize: 8, embeddingDim: 4, hiddenSize: 4, outputSize: 3 },
    rename: [["rnn.", "gru."], ["head.", "fc."]], dtype: "F16", options: { task: "tag" } },
  { name: "a .bfloat16() model (BF16)", kind: "sequence", config: { task: "lm", cell: "lstm", vocabSize: 8, embeddingDim: 4, hiddenSize: 4, outputSize: 8 },
    rename: [["head.", "fc."]], dtype: "BF16", options: { task: "lm" } },
  { name: "DataParallel's module. prefix: module.gru, module.fc", kind: "sequence", config: { task: "regress", cell: "gru", inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, outputSize: 1, pooling: "max" },
    rename: [["rnn.", "module.gru."], ["head.", "module.fc."]], options: { task: "regress", pooling: "max" } },
  { name: "seq2seq luong: enc_emb, encoder_lstm, attn, attn_combine, out", kind: "seq2seq", config: { cell: "lstm", attention: "luong", bidirectional: true, sourceVocabSize: 9, targetVocabSize: 8, hiddenSize: 3, decoderHiddenSize: 6, embeddingDim: 4 },
    rename: [["encoder.embedding.", "enc_emb."], ["encoder.rnn.", "encoder_lstm."], ["decoder.embedding.", "dec_emb."], ["decoder.rnn.", "decoder_lstm."], ["attention.", "attn."], ["combine.", "attn_combine."], ["head.", "out."], ["bridge.h.", "init_h."], ["bridge.c.", "init_c."]],
    options: { task: "seq2seq" } },
  { name: "seq2seq gru bahdanau: attn.W_q, attn.W_k, attn.v", kind: "seq2seq", config: { cell: "gru", attention: "bahdanau", numLayers: 2, decoderLayers: 1, sourceVocabSize: 9, targetVocabSize: 7, hiddenSize: 4, decoderHiddenSize: 5, embeddingDim: 3 },
    rename: [["attention.query.", "attn.W_q."], ["attention.key.", "attn.W_k."], ["attention.v.", "attn.v."], ["bridge.h.", "bridge."], ["encoder.rnn.", "encoder.gru."], ["decoder.rnn.", "decoder.gru."]],
    options: { task: "seq2seq", attention: "bahdanau" } },
  { name: "seq2seq none, rnn encoder, lstm decoder", kind: "seq2seq", config: { cell: "rnn", decoderCell: "lstm", attention: "none", sourceVocabSize: 6, targetVocabSize: 6, hiddenSize: 4, embeddingDim: 3 },
    rename: [["encoder.embedding.", "src_embed."], ["decoder.embedding.", "tgt_embed."], ["head.", "generator."]], options: { task: "seq2seq" } },
];

interface PyResult {
  torch: string;
  forward: { logits: number[]; attention: number[] | null; greedy?: number[][]; kind: string; package: number[] | null }[];
  reverse: { logits: number[]; attention: number[] | null; names: string[] }[];
}

const missing = torchMissing();
const skip = missing && process.env.RNNKIT_SKIP_TORCH === "1" ? `${missing}; RNNKIT_SKIP_TORCH=1` : false;

test("rnnkit <-> PyTorch: every model kind, both directions, in real PyTorch", { skip }, () => {
  if (missing) assert.fail(`${missing}: the PyTorch tests cannot run. Install it (npm run setup:test installs python3-torch python3-numpy), or set RNNKIT_SKIP_TORCH=1 to skip them on this machine`);
  const rng = new Rng(5);
  // rnnkit -> files + rnnkit's outputs
  const forward: (Case & { file: string; name: string; want: ReturnType<typeof logitsOf>; model: SequenceModel | Seq2Seq })[] = [];
  [...SEQ, ...S2S].forEach(([name, cfg], i) => {
    const model = "task" in cfg && cfg.task !== "seq2seq" ? new SequenceModel(cfg as ModelConfig, { backend: be }) : new Seq2Seq(cfg as Seq2SeqConfig, { backend: be });
    randomize(model, 100 + i);
    const file = join(dir, `fwd${i}.safetensors`);
    saveModel(file, model);
    const c = batchFor(rng, cfg as unknown as Record<string, number>);
    forward.push({ ...c, file, name, want: logitsOf(model, c), model });
  });
  const reverse = REVERSE.map((r, i) => ({ ...batchFor(rng, r.config as Record<string, number>), kind: r.kind, config: r.config, rename: r.rename, dropBias: r.dropBias ?? false, dtype: r.dtype ?? "F32", seed: i, out: join(dir, `rev${i}.safetensors`) }));
  const job = join(dir, "job.json"), result = join(dir, "result.json");
  writeFileSync(job, JSON.stringify({ forward: forward.map(({ want: _w, model: _m, name: _n, ...c }) => c), reverse }));
  // Debian's OpenMP OpenBLAS (libopenblas0-openmp), where installed, is faster than the pthreads build torch picks by default
  const blas = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  const env = { ...process.env, OMP_NUM_THREADS: "1", ...(existsSync(blas) ? { LD_LIBRARY_PATH: [blas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") } : {}) };
  const py = spawnSync(PYTHON, [join(root, "test/torch/roundtrip.py"), job, result], { encoding: "utf8", env });
  assert.equal(py.status, 0, `test/torch/roundtrip.py failed:\n${py.stderr}`);
  const out = JSON.parse(readFileSync(result, "utf8")) as PyResult;

  forward.forEach((f, i) => {
    const r = out.forward[i];
    close(`${f.name}: logits`, f.want.logits, r.logits);
    if (r.package) close(`${f.name}: logits (safetensors package)`, f.want.logits, r.package);
    if (f.want.attention) close(`${f.name}: attention`, f.want.attention, r.attention!);
    if (f.model instanceof Seq2Seq) {
      const sources = f.lengths.map((n, b) => Array.from({ length: n }, (_, t) => f.tokens![t * f.B + b]));
      const got = translate(f.model, sources, { maxLength: f.greedy });
      assert.deepEqual(got.map((g) => g.ids), r.greedy, `${f.name}: greedy decoding`);
    }
    f.model.dispose();
  });

  REVERSE.forEach((spec, i) => {
    const r = out.reverse[i], c = reverse[i];
    const imp = importTorch(readFileSync(c.out), { ...spec.options, source: c.out, backend: be });
    const got = logitsOf(imp.model, c);
    close(`${spec.name}: logits`, got.logits, r.logits);
    if (got.attention) close(`${spec.name}: attention`, got.attention, r.attention!);
    // every tensor of the file went somewhere
    assert.deepEqual(imp.mapping.map(([from]) => from).filter(Boolean).sort(), r.names, spec.name);
    imp.model.dispose();
  });

  // the command line: import with a vocabulary and labels, then the file opens as a task for predict
  const tagger = reverse[1];
  const vocab = join(dir, "vocab.txt");
  writeFileSync(vocab, ["<pad>", "<unk>", "<bos>", "<eos>", "the", "cat", "sat", "on", "mat"].join("\n") + "\n");
  const model = join(dir, "tagger.safetensors");
  const cli = spawnSync(process.execPath, [bin, "import", "--from", "torch", tagger.out, "--task", "tag", "--vocab", vocab, "--labels", "DET,NOUN,VERB,ADP", "--out", model, "--json"], { encoding: "utf8" });
  assert.equal(cli.status, 0, cli.stderr);
  const doc = JSON.parse(cli.stdout) as { kind: string; config: { cell: string; bidirectional: boolean }; mapping: [string, string][] };
  assert.equal(doc.kind, "sequence");
  assert.equal(doc.config.cell, "lstm");
  assert.equal(doc.config.bidirectional, true);
  assert.ok(doc.mapping.some(([from, to]) => from === "fc.weight" && to === "head.weight"));
  const saved = loadModel(model, { backend: be });
  close("rnnkit import -> loadModel: logits", logitsOf(saved.model as SequenceModel, tagger).logits, out.reverse[1].logits);
  const task = openTask(saved, model);
  assert.equal(task.task, "tag");
  assert.deepEqual(saved.tokenizer!.tokens.slice(4), ["the", "cat", "sat", "on", "mat"]);
  assert.equal(saved.tokenizer!.kind, "word");
  saved.model.dispose();
  // an existing --out is not replaced without --force
  const again = spawnSync(process.execPath, [bin, "import", "--from", "torch", tagger.out, "--task", "tag", "--out", model], { encoding: "utf8" });
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /exists: pass --resume to continue training it, or --force/);
});

// ---------------------------------------------------------------- refusals (no Python needed)

const f32 = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1) });
function lstmDict(prefix: string, In: number, H: number): Record<string, Tensor> {
  return { [`${prefix}weight_ih_l0`]: f32([4 * H, In]), [`${prefix}weight_hh_l0`]: f32([4 * H, H]), [`${prefix}bias_ih_l0`]: f32([4 * H]), [`${prefix}bias_hh_l0`]: f32([4 * H]) };
}
const bytesOf = (t: Record<string, Tensor>) => encodeSafetensors(t);
function refused(t: Record<string, Tensor> | Uint8Array, options: Parameters<typeof importTorch>[1], pattern: RegExp): void {
  assert.throws(() => importTorch(t instanceof Uint8Array ? t : bytesOf(t), { backend: be, source: "w.safetensors", ...options }), (e: unknown) => {
    assert.ok(e instanceof RnnkitError, `expected an RnnkitError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("importTorch: names and shapes that fit no known architecture are refused, naming the tensor", () => {
  const base = { ...lstmDict("lstm.", 4, 3), "emb.weight": f32([10, 4]), "fc.weight": f32([2, 3]), "fc.bias": f32([2]) };
  // the happy path of this dict, so that each refusal below is about what it changes
  const ok = importTorch(bytesOf(base), { task: "classify", backend: be });
  assert.equal(ok.model.config.hiddenSize, 3);
  assert.equal((ok.model.config as ModelConfig).vocabSize, 10);
  ok.model.dispose();
  refused({ ...base, "bn.running_mean": f32([3]) }, { task: "classify" }, /bn\.running_mean \[3\]: fits no known architecture/);
  refused({ ...base, "extra.weight": f32([7, 7]) }, { task: "classify" }, /extra\.weight \[7, 7\]: fits no part of a classify model/);
  refused({ ...base, "lstm.weight_hh_l0": f32([10, 3]) }, { task: "classify" }, /lstm\.weight_hh_l0: expected \[G\*H, H\] with G = 4 \(LSTM\), 3 \(GRU\) or 1 \(RNN\), got \[10, 3\]/);
  refused({ ...base, "lstm.weight_ih_l1": f32([12, 3]) }, { task: "classify" }, /lstm\.weight_hh_l1: missing from the recurrent module "lstm\."/);
  refused({ ...base, "lstm.weight_hr_l0": f32([2, 3]) }, { task: "classify" }, /weight_hr_l0: an LSTM with proj_size > 0/);
  refused({ ...base, ...lstmDict("lstm2.", 3, 3) }, { task: "classify" }, /task classify: expected one recurrent module .*got 2: "lstm\.", "lstm2\."/);
  refused({ "emb.weight": f32([10, 4]) }, { task: "lm" }, /task lm: expected one recurrent module .*got 0/);
  refused({ ...lstmDict("lstm.", 4, 3), "fc.weight": f32([2, 3]) }, { task: "tag" }, /expected a embedding for a tag model, found none/);
  refused({ ...base, "fc.bias": f32([5]) }, { task: "classify" }, /fc\.bias: expected shape \[2\]/);
  refused(base, { task: "classify", cell: "gru" }, /cell: the recurrent module "lstm\." has 4 gate block\(s\), a lstm, got gru/);
  refused(base, { task: "seq2seq" }, /task seq2seq: expected two recurrent modules/);
  refused(base, { task: "classify", roles: { head: "nope" } }, /roles: head=nope: the file has no module "nope"/);
  refused({ ...base, "fc2.weight": f32([5, 3]), "fc2.bias": f32([5]) }, { task: "classify" }, /the head of a classify model could be any of fc\.weight \[2, 3\], fc2\.weight \[5, 3\]: name it/);
  // a language model predicts its own vocabulary
  refused({ ...lstmDict("lstm.", 4, 3), "emb.weight": f32([1, 4]), "fc.weight": f32([2, 3]), "fc.bias": f32([2]), "lstm.weight_ih_l0": f32([12, 4]) }, { task: "lm" }, /head fc\.weight predicts 2 ids but the embedding emb\.weight holds 1/);
  // a two-module encoder-decoder whose names do not say which is which
  const s2s = { ...lstmDict("a.", 3, 4), ...lstmDict("b.", 3, 4), "x.weight": f32([9, 3]), "y.weight": f32([8, 3]), "head.weight": f32([8, 4]), "head.bias": f32([8]) };
  refused(s2s, { task: "seq2seq" }, /cannot tell the encoder from the decoder by their names "a\." and "b\."/);
  // an rnnkit file is not a PyTorch state_dict to import
  refused(encodeSafetensors(base, { rnnkit: "{}" }), { task: "classify" }, /an rnnkit model file already/);
  // a malformed file
  refused(new Uint8Array([1, 2, 3]), { task: "classify" }, /not a valid safetensors file/);
  refused(bytesOf(base), { task: "frobnicate" as "lm" }, /task: expected one of lm, tag, classify, regress, seq2seq/);
});

test("rnnkit import: --from is a vocabulary (torch, tfjs), --vocab must start with rnnkit's specials", () => {
  const w = join(dir, "w.safetensors");
  writeFileSync(w, bytesOf({ ...lstmDict("lstm.", 4, 3), "emb.weight": f32([6, 4]), "fc.weight": f32([2, 3]), "fc.bias": f32([2]) }));
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, "import", w, ...args], { encoding: "utf8" });
  const tfjs = run("--from", "keras", "--task", "classify", "--out", join(dir, "a.safetensors"));
  assert.equal(tfjs.status, 1);
  assert.match(tfjs.stderr, /--from: expected one of torch, tfjs, got "keras"/);
  const vocab = join(dir, "bad-vocab.txt");
  writeFileSync(vocab, "a\nb\nc\nd\ne\nf\n");
  const bad = run("--from", "torch", "--task", "classify", "--vocab", vocab, "--out", join(dir, "b.safetensors"));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--vocab .*bad-vocab\.txt: line 1: expected <pad>/);
  const good = join(dir, "good-vocab.txt");
  writeFileSync(good, "<pad>\n<unk>\n<bos>\n<eos>\na\nb\n");
  const labels = run("--from", "torch", "--task", "classify", "--vocab", good, "--labels", "x,y,z", "--out", join(dir, "c.safetensors"));
  assert.equal(labels.status, 1);
  assert.match(labels.stderr, /--labels: the model has 2 outputs: expected 2 names, got 3/);
  const fine = run("--from", "torch", "--task", "classify", "--vocab", good, "--labels", "neg,pos", "--out", join(dir, "d.safetensors"), "--json");
  assert.equal(fine.status, 0, fine.stderr);
  const saved = loadModel(join(dir, "d.safetensors"), { backend: be });
  const t = openTask(saved, "d");
  assert.equal(t.task, "classify");
  assert.equal(saved.tokenizer!.kind, "char"); // every token is one character
  assert.deepEqual((saved.info as { labels: string[] }).labels, ["neg", "pos"]);
  assert.ok(Tokenizer.fromJSON(saved.tokenizer!.toJSON()));
  saved.model.dispose();
});

test("rnnkit import: a forecaster (--window, identity scaler) and an encoder-decoder (--vocab, --target-vocab) open as their tasks", () => {
  const run = (w: string, ...args: string[]) => spawnSync(process.execPath, [bin, "import", "--from", "torch", w, ...args], { encoding: "utf8" });
  // a forecaster: 2 inputs per step (the value and one covariate), a horizon of 3
  const fw = join(dir, "forecast-w.safetensors");
  writeFileSync(fw, bytesOf({ ...lstmDict("lstm.", 2, 4), "out.weight": f32([3, 4]), "out.bias": f32([3]) }));
  const wrongCols = run(fw, "--task", "forecast", "--window", "8", "--column", "sales", "--out", join(dir, "f0.safetensors"));
  assert.equal(wrongCols.status, 1);
  assert.match(wrongCols.stderr, /the model reads 2 input\(s\) per step: expected 2 column\(s\), got 1 \(sales\)/);
  const f = run(fw, "--task", "forecast", "--window", "8", "--column", "sales", "--features", "price", "--pooling", "mean", "--out", join(dir, "f.safetensors"));
  assert.equal(f.status, 0, f.stderr);
  const fs = loadModel(join(dir, "f.safetensors"), { backend: be });
  const ft = openTask(fs, "f");
  assert.equal(ft.task, "forecast");
  assert.deepEqual(fs.info, { task: "forecast", column: "sales", features: ["price"], window: 8, horizon: 3 });
  assert.equal(fs.model.config.pooling, "mean");
  assert.equal(fs.scaler!.transform(7.5, 1), 7.5); // the PyTorch model read raw numbers
  fs.model.dispose();
  // an encoder-decoder without attention; the vocabularies name both sides
  const sw = join(dir, "s2s-w.safetensors");
  writeFileSync(sw, bytesOf({
    ...lstmDict("encoder.lstm.", 3, 4), ...lstmDict("decoder.lstm.", 3, 4), "encoder.embedding.weight": f32([6, 3]), "decoder.embedding.weight": f32([5, 3]),
    "out.weight": f32([5, 4]), "out.bias": f32([5]),
  }));
  const sv = join(dir, "src.txt"), tv = join(dir, "tgt.txt");
  writeFileSync(sv, "<pad>\n<unk>\n<bos>\n<eos>\na\nb\n");
  writeFileSync(tv, "<pad>\n<unk>\n<bos>\n<eos>\nx\n");
  const noTarget = run(sw, "--task", "seq2seq", "--vocab", sv, "--out", join(dir, "s0.safetensors"));
  assert.equal(noTarget.status, 1);
  assert.match(noTarget.stderr, /--target-vocab: a seq2seq model needs the output side's tokens too/);
  const s = run(sw, "--task", "seq2seq", "--vocab", sv, "--target-vocab", tv, "--attention", "none", "--out", join(dir, "s.safetensors"), "--json");
  assert.equal(s.status, 0, s.stderr);
  assert.equal((JSON.parse(s.stdout) as { kind: string }).kind, "seq2seq");
  const ss = loadModel(join(dir, "s.safetensors"), { backend: be });
  const st = openTask(ss, "s");
  assert.equal(st.task, "seq2seq");
  assert.equal(typeof (st as { predict(t: string[]): string[] }).predict(["ab"])[0], "string");
  ss.model.dispose();
  const wrongAtt = run(sw, "--task", "seq2seq", "--attention", "luong", "--out", join(dir, "s1.safetensors"));
  assert.equal(wrongAtt.status, 1);
  assert.match(wrongAtt.stderr, /attention: the tensors describe none attention, got luong/);
});

test("importTorch: a mutated state_dict (a dimension, a name, a tensor more or less) imports or is refused with an RnnkitError", () => {
  const valid: Record<string, Tensor>[] = [
    { ...lstmDict("lstm.", 4, 3), ...lstmDict("lstm.", 4, 3), "emb.weight": f32([10, 4]), "fc.weight": f32([2, 3]), "fc.bias": f32([2]) },
    { ...lstmDict("encoder.lstm.", 3, 4), ...lstmDict("decoder.lstm.", 3, 4), "encoder.embedding.weight": f32([6, 3]), "decoder.embedding.weight": f32([5, 3]),
      "attn.weight": f32([4, 4]), "combine.weight": f32([4, 8]), "out.weight": f32([5, 4]), "out.bias": f32([5]) },
  ];
  const names = ["lstm.weight_ih_l1", "lstm.bias_hh_l0_reverse", "emb.bias", "fc2.weight", "encoder.lstm.weight_hh_l0_reverse", "attn.bias", "init.weight", "x.y", "weight"];
  const mutation = fc.oneof(
    fc.record({ op: fc.constant("dim" as const), at: fc.nat(), axis: fc.nat(), to: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ op: fc.constant("drop" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("rename" as const), at: fc.nat(), to: fc.constantFrom(...names) }),
    fc.record({ op: fc.constant("add" as const), name: fc.constantFrom(...names), shape: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 2 }) }),
  );
  let imported = 0, refused = 0;
  fc.assert(fc.property(fc.nat(1), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.constantFrom("tag", "classify") as fc.Arbitrary<"tag" | "classify">, (which, muts, seqTask) => {
    const task = which === 1 ? "seq2seq" : seqTask;
    const t: Record<string, Tensor> = { ...valid[which] };
    for (const m of muts) {
      const keys = Object.keys(t);
      if (m.op === "add") t[m.name] = f32(m.shape);
      else if (!keys.length) continue;
      else if (m.op === "drop") delete t[keys[m.at % keys.length]];
      else if (m.op === "rename") {
        const k = keys[m.at % keys.length];
        const v = t[k];
        delete t[k];
        t[m.to] = v;
      } else {
        const k = keys[m.at % keys.length];
        const shape = [...t[k].shape];
        shape[m.axis % shape.length] = m.to;
        t[k] = f32(shape);
      }
    }
    try {
      const r = importTorch(bytesOf(t), { task, backend: be });
      // an import uses every tensor of the file, each once
      assert.deepEqual(r.mapping.map(([from]) => from).filter(Boolean).sort(), Object.keys(t).sort());
      r.model.dispose();
      imported++;
    } catch (e) {
      if (!(e instanceof RnnkitError)) throw e;
      refused++;
    }
  }), { numRuns: 400, seed: 12 });
  console.log(`mutated state_dicts: ${imported} imported, ${refused} refused`);
  assert.ok(imported > 15 && refused > 100, `imported ${imported}, refused ${refused}: the mutations should do both`);
});
