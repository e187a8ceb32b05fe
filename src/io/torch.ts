/**
 * PyTorch state_dicts -> rnnkit models: `importTorch(bytes, { task })` reads a `.safetensors`
 * file saved from a PyTorch model with its usual `state_dict()` names (any module names: `lstm.`,
 * `rnn.`, `encoder.gru.`, `fc.`, `embed.` ...) and returns the rnnkit model whose outputs equal
 * that module's, ready for `saveModel` / `modelToBytes`. The reverse needs no conversion: an
 * rnnkit file IS a state_dict of the reference modules in python/rnnkit_torch.py.
 *
 * What is inferred, and from what:
 * - recurrent modules are the names `<prefix>(weight|bias)_(ih|hh)_l<k>[_reverse]` (torch.nn.LSTM,
 *   GRU, RNN): layers L from k, directions D from `_reverse`, hidden size H from weight_hh
 *   [G*H, H], the gates G (4 LSTM, 3 GRU, 1 RNN) from its rows, the input size from weight_ih.
 *   tanh and relu RNNs have the same tensors: `cell: "rnn_relu"` says which (default tanh, as
 *   torch.nn.RNN). No biases (bias=False) imports as zero biases, which computes the same.
 * - every other module is a `weight` [out, in] with or without a `bias` (nn.Linear,
 *   nn.Embedding), given a role by its shape against the recurrent sizes, then by its name when
 *   shapes leave a choice (see ROLES); `roles: { head: "fc" }` assigns one by hand.
 * - one recurrent module: a SequenceModel of `task` (lm, tag, classify, regress); an embedding
 *   means token inputs. Two (an encoder and a decoder, told apart by their names): a Seq2Seq,
 *   its attention kind from the tensors present (see src/models/seq2seq.ts for its equations,
 *   which the PyTorch model must compute: python/rnnkit_torch.py Seq2Seq is the reference).
 * Whatever fits no role, or a role that two modules fit, is refused with the tensor names.
 * The file's sizes are checked against the limits of src/defaults.ts before anything is built.
 */
import type { Backend } from "../backend/backend.js";
import { ATTENTIONS, type AttentionKind } from "../layers/attention.js";
import { type CellName, POOLINGS, type Pooling, TASKS, type Task } from "../models/model.js";
import { Seq2Seq, type Seq2SeqConfig } from "../models/seq2seq.js";
import { type ModelConfig, SequenceModel } from "../models/sequence-model.js";
import { RnnkitError, type Tensor, describe, formatShape } from "../tensor.js";
import { decodeSafetensors } from "./safetensors.js";

/** The roles a non-recurrent module can take, by model kind (the rnnkit name each maps to). */
export const TORCH_ROLES = {
  sequence: { embedding: "embedding.", head: "head.", init: "init." },
  seq2seq: {
    "source-embedding": "encoder.embedding.", "target-embedding": "decoder.embedding.", head: "head.", combine: "combine.",
    "bridge-h": "bridge.h.", "bridge-c": "bridge.c.", attention: "attention.", "attention-query": "attention.query.",
    "attention-key": "attention.key.", "attention-v": "attention.v.",
  },
} as const;
export type TorchRole = keyof (typeof TORCH_ROLES)["sequence"] | keyof (typeof TORCH_ROLES)["seq2seq"];

export interface TorchImportOptions {
  /** The head and loss: lm, tag, classify, regress (one recurrent module) or seq2seq (an encoder and a decoder). */
  task: Task;
  /** Only to tell a relu RNN ("rnn_relu") from a tanh one ("rnn", the default); LSTM and GRU are told by their shapes. */
  cell?: CellName;
  /** The decoder's cell when it is a relu RNN. */
  decoderCell?: CellName;
  /** classify, regress: how the model summarises a sequence (default "last": the final state). */
  pooling?: Pooling;
  /** seq2seq: checked against the kind the tensors show (luong and luong-dot look alike when the weights are absent). */
  attention?: AttentionKind;
  /** Module prefixes (the name before `.weight`) by role, where shapes and names cannot tell. */
  roles?: Partial<Record<TorchRole, string>>;
  /** Names the file in errors. */
  source?: string;
  backend?: Backend;
}

export interface TorchImport {
  model: SequenceModel | Seq2Seq;
  /** Which PyTorch tensor became which rnnkit tensor, in rnnkit's order ("" for a zero bias the file lacked). */
  mapping: [from: string, to: string][];
}

interface Rec {
  prefix: string;
  L: number;
  D: number;
  H: number;
  G: number;
  input: number;
  bias: boolean;
}

interface Lin {
  prefix: string;
  out: number;
  in: number;
  bias: boolean;
}

const RNN_NAME = /^(.*?)(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$/;
const CELL_OF_G: Record<number, CellName> = { 4: "lstm", 3: "gru", 1: "rnn" };

function shapeOf(t: Tensor | undefined): string {
  return t ? formatShape(t.shape) : "missing";
}

/** The recurrent modules of a state_dict, each checked for the complete torch.nn layout. */
function recurrentModules(src: string, tensors: Record<string, Tensor>): Rec[] {
  const byPrefix = new Map<string, string[]>();
  for (const k of Object.keys(tensors)) {
    if (/(^|\.)weight_hr_l\d+(_reverse)?$/.test(k)) throw new RnnkitError(`${src}: ${k}: an LSTM with proj_size > 0 (projections) has no rnnkit equivalent`);
    const m = RNN_NAME.exec(k);
    if (m) byPrefix.set(m[1], [...(byPrefix.get(m[1]) ?? []), k]);
  }
  const out: Rec[] = [];
  for (const [prefix, names] of byPrefix) {
    const w0 = tensors[`${prefix}weight_hh_l0`], i0 = tensors[`${prefix}weight_ih_l0`];
    if (!w0 || !i0 || w0.shape.length !== 2 || i0.shape.length !== 2) {
      throw new RnnkitError(`${src}: recurrent module ${JSON.stringify(prefix)}: expected ${prefix}weight_ih_l0 [G*H, in] and ${prefix}weight_hh_l0 [G*H, H], got ${shapeOf(i0)} and ${shapeOf(w0)}`);
    }
    const H = w0.shape[1], G = w0.shape[0] / H;
    if (!(H >= 1) || !CELL_OF_G[G]) {
      throw new RnnkitError(`${src}: ${prefix}weight_hh_l0: expected [G*H, H] with G = 4 (LSTM), 3 (GRU) or 1 (RNN), got ${formatShape(w0.shape)}`);
    }
    const layers = new Set(names.map((n) => Number(RNN_NAME.exec(n)![4])));
    const L = layers.size;
    const D = names.some((n) => n.endsWith("_reverse")) ? 2 : 1;
    const bias = Object.hasOwn(tensors, `${prefix}bias_ih_l0`);
    // the complete layout: every layer, direction and tensor, with its shape
    const want = new Map<string, number[]>();
    for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) {
      const s = `_l${l}${d ? "_reverse" : ""}`;
      want.set(`${prefix}weight_ih${s}`, [G * H, l === 0 ? i0.shape[1] : D * H]);
      want.set(`${prefix}weight_hh${s}`, [G * H, H]);
      if (bias) {
        want.set(`${prefix}bias_ih${s}`, [G * H]);
        want.set(`${prefix}bias_hh${s}`, [G * H]);
      }
    }
    for (const n of names) if (!want.has(n)) throw new RnnkitError(`${src}: ${n}: not part of the recurrent module ${JSON.stringify(prefix)} of ${L} layer(s), ${D} direction(s)${bias ? "" : " without biases"} (are the layers numbered 0..${L - 1}?)`);
    for (const [n, s] of want) {
      const t = tensors[n];
      if (!t) throw new RnnkitError(`${src}: ${n}: missing from the recurrent module ${JSON.stringify(prefix)} (${L} layer(s), ${D} direction(s))`);
      if (t.shape.length !== s.length || t.shape.some((v, i) => v !== s[i])) throw new RnnkitError(`${src}: ${n}: expected shape ${formatShape(s)}, got ${formatShape(t.shape)}`);
    }
    out.push({ prefix, L, D, H, G, input: i0.shape[1], bias });
  }
  return out;
}

/** The other modules: `<prefix>weight` [out, in] with an optional `<prefix>bias` [out]. */
function linearModules(src: string, tensors: Record<string, Tensor>): Lin[] {
  const out: Lin[] = [];
  for (const k of Object.keys(tensors)) {
    if (RNN_NAME.test(k)) continue; // a recurrent module's
    const kind = k === "weight" || k.endsWith(".weight") ? "weight" : k === "bias" || k.endsWith(".bias") ? "bias" : null;
    if (!kind) throw new RnnkitError(`${src}: ${k} ${formatShape(tensors[k].shape)}: fits no known architecture (expected the tensors of torch.nn LSTM, GRU or RNN modules, weight_ih_l0 ..., and the weight and bias of Linear or Embedding modules)`);
    const prefix = k.slice(0, k.length - kind.length);
    if (kind === "bias") {
      if (!Object.hasOwn(tensors, `${prefix}weight`)) throw new RnnkitError(`${src}: ${k}: a bias without ${prefix}weight fits no known architecture`);
      continue;
    }
    const w = tensors[k], b = tensors[`${prefix}bias`];
    if (w.shape.length !== 2) throw new RnnkitError(`${src}: ${k}: expected a matrix [out, in] (nn.Linear or nn.Embedding), got ${formatShape(w.shape)}`);
    if (b && (b.shape.length !== 1 || b.shape[0] !== w.shape[0])) throw new RnnkitError(`${src}: ${prefix}bias: expected shape [${w.shape[0]}] (the rows of ${k}), got ${formatShape(b.shape)}`);
    out.push({ prefix, out: w.shape[0], in: w.shape[1], bias: !!b });
  }
  return out;
}

interface RoleSpec {
  /** does this module fit the role by its shape and bias? */
  fits: (m: Lin) => boolean;
  /** names that suggest the role, when shapes leave a choice */
  hint: RegExp;
  required: boolean;
  /** rnnkit's module has a bias: a missing one imports as zeros (true), or none exists (false) */
  bias: boolean;
}

/**
 * Gives each module one role: forced ones first (`roles`), then any role only one module fits,
 * then name hints among the candidates; what is left unassigned or ambiguous is an error.
 */
function assign(src: string, specs: Record<string, RoleSpec>, mods: Lin[], forced: Partial<Record<string, string>>, what: string): Map<string, Lin> {
  const got = new Map<string, Lin>();
  const used = new Set<string>();
  for (const [role, prefix] of Object.entries(forced)) {
    if (prefix === undefined) continue;
    if (!specs[role]) throw new RnnkitError(`${src}: roles: ${JSON.stringify(role)} is not a role of ${what}; expected one of ${Object.keys(specs).join(", ")}`);
    const p = prefix === "" || prefix.endsWith(".") ? prefix : `${prefix}.`;
    const m = mods.find((x) => x.prefix === p);
    if (!m) throw new RnnkitError(`${src}: roles: ${role}=${prefix}: the file has no module ${JSON.stringify(prefix)} (${p}weight); its modules: ${mods.map((x) => x.prefix.replace(/\.$/, "") || "(top level)").join(", ")}`);
    if (!specs[role].fits(m)) throw new RnnkitError(`${src}: roles: ${role}=${prefix}: ${p}weight ${formatShape([m.out, m.in])}${m.bias ? " with a bias" : ""} does not fit the ${role} of this model`);
    got.set(role, m);
    used.add(m.prefix);
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const [role, spec] of Object.entries(specs)) {
      if (got.has(role)) continue;
      let cands = mods.filter((m) => !used.has(m.prefix) && spec.fits(m));
      if (cands.length > 1) {
        const named = cands.filter((m) => spec.hint.test(m.prefix));
        if (named.length >= 1) cands = named;
      }
      // a module that fits several roles goes to the one its name suggests
      if (cands.length === 1) {
        const m = cands[0];
        const rivals = Object.entries(specs).filter(([r, s]) => r !== role && !got.has(r) && s.fits(m));
        if (rivals.length && !spec.hint.test(m.prefix) && rivals.some(([, s]) => s.hint.test(m.prefix))) continue;
        got.set(role, m);
        used.add(m.prefix);
        changed = true;
      }
    }
  }
  const left = mods.filter((m) => !used.has(m.prefix));
  for (const [role, spec] of Object.entries(specs)) {
    if (got.has(role) || !spec.required) continue;
    const cands = left.filter((m) => spec.fits(m));
    if (cands.length > 1) throw new RnnkitError(`${src}: the ${role} of ${what} could be any of ${cands.map((m) => `${m.prefix}weight ${formatShape([m.out, m.in])}`).join(", ")}: name it (roles: ${role}=<module>, --role ${role}=<module>)`);
    throw new RnnkitError(`${src}: expected a ${role} for ${what}, found none (modules left: ${left.map((m) => `${m.prefix}weight ${formatShape([m.out, m.in])}`).join(", ") || "none"})`);
  }
  if (left.length) {
    const m = left[0];
    throw new RnnkitError(`${src}: ${m.prefix}weight ${formatShape([m.out, m.in])}${m.bias ? ` and ${m.prefix}bias` : ""}: fits no part of ${what} (its parts: ${Object.keys(specs).join(", ")}; --role names one)`);
  }
  return got;
}

function pickCell(src: string, rec: Rec, given: CellName | undefined, flag: string): CellName {
  const fromShape = CELL_OF_G[rec.G];
  if (given === undefined) return fromShape;
  const ok = fromShape === "rnn" ? given === "rnn" || given === "rnn_relu" : given === fromShape;
  if (!ok) throw new RnnkitError(`${src}: ${flag}: the recurrent module ${JSON.stringify(rec.prefix)} has ${rec.G} gate block(s), a ${fromShape}, got ${given}`);
  return given;
}

/** The rnnkit weights of a recurrent module (zero biases where the file has none). */
function recurrentWeights(tensors: Record<string, Tensor>, rec: Rec, to: string, dict: Record<string, Tensor>, mapping: [string, string][]): void {
  for (let l = 0; l < rec.L; l++) for (let d = 0; d < rec.D; d++) {
    const s = `_l${l}${d ? "_reverse" : ""}`;
    for (const n of ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]) {
      const from = `${rec.prefix}${n}${s}`;
      if (tensors[from]) {
        dict[`${to}${n}${s}`] = tensors[from];
        mapping.push([from, `${to}${n}${s}`]);
      } else {
        dict[`${to}${n}${s}`] = { shape: [rec.G * rec.H], data: new Float32Array(rec.G * rec.H) };
        mapping.push(["", `${to}${n}${s}`]);
      }
    }
  }
}

function linearWeights(tensors: Record<string, Tensor>, m: Lin, to: string, withBias: boolean, dict: Record<string, Tensor>, mapping: [string, string][]): void {
  dict[`${to}weight`] = tensors[`${m.prefix}weight`];
  mapping.push([`${m.prefix}weight`, `${to}weight`]);
  if (!withBias) return;
  if (m.bias) {
    dict[`${to}bias`] = tensors[`${m.prefix}bias`];
    mapping.push([`${m.prefix}bias`, `${to}bias`]);
  } else {
    dict[`${to}bias`] = { shape: [m.out], data: new Float32Array(m.out) };
    mapping.push(["", `${to}bias`]);
  }
}

/**
 * A PyTorch state_dict (tensors by their state_dict names) -> the rnnkit model that computes
 * the same (see the file comment for what is inferred). `options.task` is required: names and
 * shapes cannot tell a tagger from a language model.
 */
export function importTorchTensors(tensors: Record<string, Tensor>, options: TorchImportOptions): TorchImport {
  const src = options?.source ?? "torch state_dict";
  if (!options || !TASKS.includes(options.task)) throw new RnnkitError(`importTorch: task: expected one of ${TASKS.join(", ")}, got ${describe(options?.task)}`);
  if (options.pooling !== undefined && !POOLINGS.includes(options.pooling)) throw new RnnkitError(`importTorch: pooling: expected one of ${POOLINGS.join(", ")}, got ${describe(options.pooling)}`);
  if (options.attention !== undefined && !ATTENTIONS.includes(options.attention)) throw new RnnkitError(`importTorch: attention: expected one of ${ATTENTIONS.join(", ")}, got ${describe(options.attention)}`);
  for (const [k, v] of Object.entries(tensors)) {
    if (v.shape.some((d) => d === 0)) throw new RnnkitError(`${src}: ${k}: expected no empty dimension, got shape ${formatShape(v.shape)}`);
  }
  const rec = recurrentModules(src, tensors);
  const mods = linearModules(src, tensors);
  const task = options.task;
  const dict: Record<string, Tensor> = {};
  const mapping: [string, string][] = [];
  const backendOpt = options.backend ? { backend: options.backend } : {};
  if (task !== "seq2seq") {
    if (rec.length !== 1) {
      throw new RnnkitError(`${src}: task ${task}: expected one recurrent module (weight_ih_l0, weight_hh_l0, ...), got ${rec.length}${rec.length ? `: ${rec.map((r) => JSON.stringify(r.prefix)).join(", ")}${rec.length === 2 ? " (an encoder-decoder is task seq2seq)" : ""}` : ""}`);
    }
    const r = rec[0];
    const DH = r.D * r.H;
    const specs: Record<string, RoleSpec> = {
      embedding: { fits: (m) => m.in === r.input && !m.bias, hint: /emb|lookup|token|word|char/i, required: task === "lm" || task === "tag", bias: false },
      head: { fits: (m) => m.in === DH, hint: /head|fc|out|linear|classifier|proj|dense|decoder|logit/i, required: true, bias: true },
      init: { fits: (m) => m.out === r.L * DH, hint: /init|h0|condition|state/i, required: false, bias: true },
    };
    if (task === "regress") delete (specs as Partial<typeof specs>).embedding;
    const roles = assign(src, specs, mods, options.roles ?? {}, `a ${task} model`);
    const emb = roles.get("embedding"), head = roles.get("head")!, init = roles.get("init");
    const config: ModelConfig = {
      task, cell: pickCell(src, r, options.cell, "cell"), hiddenSize: r.H, numLayers: r.L, bidirectional: r.D === 2, outputSize: head.out,
      ...(emb ? { vocabSize: emb.out, embeddingDim: emb.in } : { inputSize: r.input }),
      ...(init ? { conditionSize: init.in } : {}),
      ...(task === "classify" || task === "regress" ? { pooling: options.pooling ?? "last" } : {}),
    };
    if (task === "lm" && emb && head.out !== emb.out) throw new RnnkitError(`${src}: task lm: the head ${head.prefix}weight predicts ${head.out} ids but the embedding ${emb.prefix}weight holds ${emb.out}: expected the same vocabulary`);
    if (emb) linearWeights(tensors, emb, "embedding.", false, dict, mapping);
    recurrentWeights(tensors, r, "rnn.", dict, mapping);
    linearWeights(tensors, head, "head.", true, dict, mapping);
    if (init) linearWeights(tensors, init, "init.", true, dict, mapping);
    SequenceModel.parameterShapes(config); // checks the sizes against the limits before anything is allocated
    const model = new SequenceModel(config, backendOpt);
    return load(model, dict, mapping);
  }
  // seq2seq: an encoder and a decoder
  if (rec.length !== 2) throw new RnnkitError(`${src}: task seq2seq: expected two recurrent modules (an encoder and a decoder), got ${rec.length}${rec.length ? `: ${rec.map((r) => JSON.stringify(r.prefix)).join(", ")}` : ""}`);
  const isEnc = (r: Rec) => /enc|src|source/i.test(r.prefix), isDec = (r: Rec) => /dec|tgt|target/i.test(r.prefix);
  const enc = rec.find((r) => isEnc(r) && !isDec(r)), dec = rec.find((r) => isDec(r) && !isEnc(r));
  if (!enc || !dec || enc === dec) throw new RnnkitError(`${src}: task seq2seq: cannot tell the encoder from the decoder by their names ${rec.map((r) => JSON.stringify(r.prefix)).join(" and ")}: expected one named enc/src/source and one dec/tgt/target`);
  if (dec.D !== 1) throw new RnnkitError(`${src}: ${dec.prefix}: a bidirectional decoder cannot decode (it would read the future)`);
  const E = enc.input, C = enc.D * enc.H, Hd = dec.H;
  const bahdanau = dec.input === E + C;
  if (!bahdanau && dec.input !== E) throw new RnnkitError(`${src}: ${dec.prefix}weight_ih_l0: the decoder reads ${dec.input} features: expected the embedding size ${E} (as the encoder), or ${E} + ${C} (embedding and context: Bahdanau attention)`);
  const specs: Record<string, RoleSpec> = {
    "source-embedding": { fits: (m) => m.in === E && !m.bias, hint: /enc|src|source/i, required: true, bias: false },
    "target-embedding": { fits: (m) => m.in === E && !m.bias, hint: /dec|tgt|target/i, required: true, bias: false },
    head: { fits: (m) => m.in === Hd && (m.bias || m.out !== Hd), hint: /head|fc|out|proj|generator|classifier|logit/i, required: true, bias: true },
    combine: { fits: (m) => m.out === Hd && m.in === C + Hd && !m.bias, hint: /combine|concat|attn_out|attention_out|w_c|wc/i, required: bahdanau, bias: false },
  };
  if (C !== Hd) {
    specs["bridge-h"] = { fits: (m) => m.out === Hd && m.in === C && m.bias, hint: /(^|[._])h([._]|$)|hidden/i, required: true, bias: true };
    if (enc.G === 4 && dec.G === 4) specs["bridge-c"] = { fits: (m) => m.out === Hd && m.in === C && m.bias, hint: /(^|[._])c([._]|$)|cell/i, required: true, bias: true };
  }
  if (bahdanau) {
    specs["attention-query"] = { fits: (m) => m.in === Hd && !m.bias && m.out > 1, hint: /query|(^|[._])q([._]|$)|dec/i, required: true, bias: false };
    specs["attention-key"] = { fits: (m) => m.in === C && !m.bias && m.out > 1, hint: /key|(^|[._])k([._]|$)|enc|mem/i, required: true, bias: false };
    specs["attention-v"] = { fits: (m) => m.out === 1 && !m.bias, hint: /(^|[._])v([._]|$)|score|energy/i, required: true, bias: false };
  } else {
    specs.attention = { fits: (m) => m.out === Hd && m.in === C && !m.bias, hint: /att/i, required: false, bias: false };
  }
  const roles = assign(src, specs, mods, options.roles ?? {}, "an encoder-decoder");
  const A = roles.get("attention-query")?.out;
  if (bahdanau && (roles.get("attention-key")!.out !== A || roles.get("attention-v")!.in !== A)) {
    throw new RnnkitError(`${src}: bahdanau attention: expected query [A, ${Hd}], key [A, ${C}] and v [1, A] of one size A, got ${formatShape([A!, Hd])}, ${formatShape([roles.get("attention-key")!.out, C])} and ${formatShape([1, roles.get("attention-v")!.in])}`);
  }
  if (bahdanau && A !== Hd) throw new RnnkitError(`${src}: bahdanau attention of size ${A}: rnnkit's additive attention has the decoder's size ${Hd}`);
  const attention: AttentionKind = bahdanau ? "bahdanau" : roles.has("attention") ? "luong" : roles.has("combine") ? "luong-dot" : "none";
  if (!roles.has("combine") && roles.has("attention")) throw new RnnkitError(`${src}: ${roles.get("attention")!.prefix}weight: attention without the output layer W_c [${Hd}, ${C + Hd}] (combine) is not rnnkit's Luong attention`);
  if (options.attention !== undefined && options.attention !== attention) throw new RnnkitError(`${src}: attention: the tensors describe ${attention} attention, got ${options.attention}`);
  const se = roles.get("source-embedding")!, te = roles.get("target-embedding")!, head = roles.get("head")!;
  if (head.out !== te.out) throw new RnnkitError(`${src}: the head ${head.prefix}weight predicts ${head.out} ids but the target embedding ${te.prefix}weight holds ${te.out}: expected the same target vocabulary`);
  const config: Seq2SeqConfig = {
    cell: pickCell(src, enc, options.cell, "cell"), decoderCell: pickCell(src, dec, options.decoderCell, "decoderCell"),
    sourceVocabSize: se.out, targetVocabSize: te.out, embeddingDim: E, hiddenSize: enc.H, decoderHiddenSize: Hd,
    numLayers: enc.L, decoderLayers: dec.L, bidirectional: enc.D === 2, attention,
  };
  linearWeights(tensors, se, "encoder.embedding.", false, dict, mapping);
  recurrentWeights(tensors, enc, "encoder.rnn.", dict, mapping);
  linearWeights(tensors, te, "decoder.embedding.", false, dict, mapping);
  recurrentWeights(tensors, dec, "decoder.rnn.", dict, mapping);
  for (const [role, to] of Object.entries(TORCH_ROLES.seq2seq)) {
    const m = roles.get(role);
    if (m && !["source-embedding", "target-embedding", "head"].includes(role)) linearWeights(tensors, m, to, specs[role].bias, dict, mapping);
  }
  linearWeights(tensors, head, "head.", true, dict, mapping);
  Seq2Seq.parameterShapes(config);
  return load(new Seq2Seq(config, backendOpt), dict, mapping);
}

function load(model: SequenceModel | Seq2Seq, dict: Record<string, Tensor>, mapping: [string, string][]): TorchImport {
  try {
    model.loadStateDict(dict);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const order = new Map(model.parameters().map((p, i) => [p.name, i]));
  mapping.sort((a, b) => order.get(a[1])! - order.get(b[1])!);
  model.eval();
  return { model, mapping };
}

/**
 * The bytes of a `.safetensors` file saved from a PyTorch model (`save_file(model.state_dict(),
 * ...)`, or python/rnnkit_torch.py `save_safetensors`) -> the rnnkit model that computes the same.
 * Its weights are F32, F64, F16 or BF16 (read as float32). The result has no tokenizer or labels: it works on ids from the
 * API; `rnnkit import` attaches a vocabulary and labels for the command line.
 */
export function importTorch(bytes: Uint8Array, options: TorchImportOptions): TorchImport {
  const f = decodeSafetensors(bytes, options?.source ?? "torch state_dict");
  if (f.metadata.rnnkit) throw new RnnkitError(`${options?.source ?? "torch state_dict"}: this is an rnnkit model file already (it has rnnkit metadata): load it with loadModel`);
  return importTorchTensors(f.tensors, options);
}
