/**
 * Running one golden fixture (format `rnn-golden-fixture/1`, see test/fixtures/pytorch/README.md)
 * against rnnkit: build the layer, load the weights, forward, backward, compare everything.
 */
// Only the package's public entry: the browser test bundles this file against the shipped
// browser bundle (dist/browser/rnnkit.js) in place of ../src/index.js.
import {
  type Backend, type Floats, GRU, GRUCell, kerasToTorch, LSTM, LSTMCell, RNN, RNNCell, type Tensor, torchToKeras,
} from "../src/index.js";

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export interface Fixture {
  format: string;
  source: string;
  name: string;
  kind: "layer" | "cell";
  config: Record<string, unknown>;
  param_names: string[];
  params: Record<string, FixtureTensor>;
  inputs: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
  upstream_grads: Record<string, FixtureTensor>;
  grads: Record<string, FixtureTensor>;
}

export interface Mismatch {
  what: string;
  detail: string;
}

export const ATOL = 1e-5;
export const RTOL = 1e-4;

/** A fixture from its JSON text; `source` names it in errors. */
export function parseFixture(json: string, source: string): Fixture {
  const fx = JSON.parse(json) as Fixture;
  if (fx.format !== "rnn-golden-fixture/1") throw new Error(`${source}: unknown format ${JSON.stringify(fx.format)}`);
  return fx;
}

/** Compares every element: |got - ref| <= ATOL + RTOL * |ref|. Returns a description of the worst miss. */
export function compare(what: string, got: { shape: number[]; data: ArrayLike<number> } | undefined, ref: FixtureTensor): Mismatch | null {
  if (!got) return { what, detail: "missing from rnnkit's result" };
  if (got.shape.join(",") !== ref.shape.join(",")) {
    return { what, detail: `shape [${got.shape}] != reference [${ref.shape}]` };
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const err = Math.abs(got.data[i] - ref.data[i]);
    const excess = err - (ATOL + RTOL * Math.abs(ref.data[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst < 0) return null;
  return { what, detail: `element ${worst}: got ${got.data[worst]}, reference ${ref.data[worst]}` };
}

/** The fixture's `mode` -> the matching constructor. */
function byMode<T>(name: string, mode: string, make: { lstm: () => T; gru: () => T; rnn: (nl: "tanh" | "relu") => T }): T {
  if (mode === "lstm") return make.lstm();
  if (mode === "gru") return make.gru();
  if (mode === "rnn_tanh" || mode === "rnn_relu") return make.rnn(mode === "rnn_relu" ? "relu" : "tanh");
  throw new Error(`${name}: unknown mode ${JSON.stringify(mode)}`);
}

const f32 = (t: FixtureTensor): Tensor => ({ shape: t.shape, data: Float32Array.from(t.data) });

/** Runs a PyTorch fixture; returns the list of mismatches (empty = pass). Throws if it cannot run. */
export function runTorchFixture(fx: Fixture, backend?: Backend, toArray: (t: FixtureTensor) => Tensor = f32): Mismatch[] {
  if (fx.source !== "pytorch") throw new Error(`${fx.name}: source ${JSON.stringify(fx.source)} is not a PyTorch fixture`);
  const c = fx.config;
  const mode = c.mode as string;
  const bias = c.bias as boolean;
  const inputSize = c.input_size as number;
  const hiddenSize = c.hidden_size as number;
  const weights: Record<string, Tensor> = {};
  for (const n of fx.param_names) weights[n] = toArray(fx.params[n]);
  const misses: Mismatch[] = [];
  const check = (what: string, got: { shape: number[]; data: Floats } | undefined, ref: FixtureTensor | undefined) => {
    if (!ref) throw new Error(`${fx.name}: reference ${what} missing from the fixture`);
    const m = compare(what, got, ref);
    if (m) misses.push(m);
  };
  const paramGrads = (params: { name: string; grad: Tensor }[]) => {
    for (const p of params) check(`grad ${p.name}`, p.grad, fx.grads[p.name]);
    if (params.length !== fx.param_names.length) {
      misses.push({ what: "parameters", detail: `rnnkit has ${params.length}, the fixture ${fx.param_names.length}` });
    }
  };

  if (fx.kind === "cell") {
    const opts = { inputSize, hiddenSize, bias, backend };
    const cell = byMode(fx.name, mode, {
      lstm: () => new LSTMCell(opts), gru: () => new GRUCell(opts), rnn: (nonlinearity) => new RNNCell({ ...opts, nonlinearity }),
    });
    cell.loadStateDict(weights);
    const state: { hx: Tensor; cx?: Tensor } = { hx: toArray(fx.inputs.hx) };
    if (fx.inputs.cx) state.cx = toArray(fx.inputs.cx);
    const out = cell.forward(toArray(fx.inputs.x), state);
    check("h_next", out.h, fx.outputs.h_next);
    if (mode === "lstm") check("c_next", out.c, fx.outputs.c_next);
    const g: { h: Tensor; c?: Tensor } = { h: toArray(fx.upstream_grads.h_next) };
    if (mode === "lstm") g.c = toArray(fx.upstream_grads.c_next);
    const d = cell.backward(g);
    check("grad x", d.dx, fx.grads.x);
    check("grad hx", d.dhx, fx.grads.hx);
    if (mode === "lstm") check("grad cx", d.dcx, fx.grads.cx);
    paramGrads(cell.parameters());
    return misses;
  }

  if (fx.kind !== "layer") throw new Error(`${fx.name}: unknown kind ${JSON.stringify(fx.kind)}`);
  if (c.batch_first) throw new Error(`${fx.name}: batch_first layers are not part of the PyTorch fixture format`);
  if ((c.proj_size ?? 0) !== 0 || (c.dropout ?? 0) !== 0) throw new Error(`${fx.name}: proj_size/dropout are not supported`);
  const opts = {
    inputSize, hiddenSize, bias, backend,
    numLayers: c.num_layers as number,
    bidirectional: c.bidirectional as boolean,
  };
  const layer = byMode(fx.name, mode, {
    lstm: () => new LSTM(opts), gru: () => new GRU(opts), rnn: (nonlinearity) => new RNN({ ...opts, nonlinearity }),
  });
  layer.loadStateDict(weights);
  const fopts: { h0: Tensor; c0?: Tensor; lengths?: number[] } = { h0: toArray(fx.inputs.h0) };
  if (fx.inputs.c0) fopts.c0 = toArray(fx.inputs.c0);
  if (c.lengths) fopts.lengths = c.lengths as number[];
  const out = layer.forward(toArray(fx.inputs.x), fopts);
  check("output", out.output, fx.outputs.output);
  check("h_n", out.h, fx.outputs.h_n);
  if (mode === "lstm") check("c_n", out.c, fx.outputs.c_n);
  const g: { output: Tensor; h: Tensor; c?: Tensor } = {
    output: toArray(fx.upstream_grads.output),
    h: toArray(fx.upstream_grads.h_n),
  };
  if (mode === "lstm") g.c = toArray(fx.upstream_grads.c_n);
  const d = layer.backward(g);
  check("grad x", d.dx, fx.grads.x);
  check("grad h0", d.dh0, fx.grads.h0);
  if (mode === "lstm") check("grad c0", d.dc0, fx.grads.c0);
  paramGrads(layer.parameters());
  return misses;
}

/** [B, T, F] <-> [T, B, F] (Keras is batch-major, rnnkit time-major). */
function swap01(t: { shape: number[]; data: ArrayLike<number> }): Tensor {
  const [a, b, f] = t.shape;
  const out = new Float32Array(a * b * f);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < f; k++) out[(j * a + i) * f + k] = t.data[(i * b + j) * f + k];
  return { shape: [b, a, f], data: out };
}

/**
 * Runs a TensorFlow.js (Keras semantics) fixture: weights through `kerasToTorch`, batch-major
 * transposed at the edge, and Keras masking expressed with packed sequences (a masked step
 * carries the state and outputs it again: the output past a length is h_n, so its upstream
 * gradient flows into h_n).
 */
export function runTfjsFixture(fx: Fixture, backend?: Backend): Mismatch[] {
  const c = fx.config;
  const act = c.recurrent_activation;
  if (act !== "sigmoid" && act !== "hardSigmoid") {
    throw new Error(`${fx.name}: recurrent_activation ${JSON.stringify(act)} is not supported (rnnkit has sigmoid and hardSigmoid)`);
  }
  const recurrentActivation: "sigmoid" | "hardSigmoid" = act;
  if (c.go_backwards) throw new Error(`${fx.name}: go_backwards is not supported`);
  const kind = c.layer as string;
  if (kind !== "gru" && kind !== "lstm") throw new Error(`${fx.name}: unknown layer ${JSON.stringify(kind)}`);
  const resetAfter = kind === "gru" ? (c.reset_after as boolean) : undefined;
  const H = c.units as number;
  const opts = { inputSize: c.input_size as number, hiddenSize: H, bias: c.use_bias as boolean, backend, recurrentActivation };
  const layer = kind === "gru" ? new GRU({ ...opts, resetAfter }) : new LSTM(opts);
  const kw: { kernel: FixtureTensor; recurrent_kernel: FixtureTensor; bias?: FixtureTensor } = {
    kernel: fx.params.kernel, recurrent_kernel: fx.params.recurrent_kernel,
  };
  if (fx.params.bias) kw.bias = fx.params.bias;
  layer.loadStateDict(kerasToTorch(kind, kw, { resetAfter }));
  const x = swap01(fx.inputs.x);
  const [T, B] = x.shape;
  const lengths = (c.lengths as number[] | null) ?? null;
  const fopts: { h0: Tensor; c0?: Tensor; lengths?: number[] } = { h0: lift(fx.inputs.h0) };
  if (fx.inputs.c0) fopts.c0 = lift(fx.inputs.c0);
  if (lengths) fopts.lengths = lengths;
  const out = layer.forward(x, fopts);
  const len = (b: number) => (lengths ? lengths[b] : T);
  // Keras masking: output past a length repeats the last state.
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
    if (t >= len(b)) for (let j = 0; j < H; j++) out.output.data[(t * B + b) * H + j] = out.h.data[b * H + j];
  }
  const misses: Mismatch[] = [];
  const check = (what: string, got: { shape: number[]; data: ArrayLike<number> } | undefined, ref: FixtureTensor) => {
    const m = compare(what, got, ref);
    if (m) misses.push(m);
  };
  check("output", swap01(out.output), fx.outputs.output);
  check("h_n", drop(out.h), fx.outputs.h_n);
  if (kind === "lstm") check("c_n", drop(out.c!), fx.outputs.c_n);
  const gOut = swap01(fx.upstream_grads.output);
  const gH = lift(fx.upstream_grads.h_n);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
    if (t < len(b)) continue;
    for (let j = 0; j < H; j++) {
      gH.data[b * H + j] += gOut.data[(t * B + b) * H + j];
      gOut.data[(t * B + b) * H + j] = 0;
    }
  }
  const g: { output: Tensor; h: Tensor; c?: Tensor } = { output: gOut, h: gH };
  if (kind === "lstm") g.c = lift(fx.upstream_grads.c_n);
  const d = layer.backward(g);
  check("grad x", swap01(d.dx), fx.grads.x);
  check("grad h0", drop(d.dh0), fx.grads.h0);
  if (kind === "lstm") check("grad c0", drop(d.dc0!), fx.grads.c0);
  const pg: Record<string, Tensor> = {};
  for (const p of layer.parameters()) pg[p.name] = p.grad;
  const kg = torchToKeras(kind, pg, { resetAfter });
  for (const name of fx.param_names) check(`grad ${name}`, kg[name], fx.grads[name]);
  return misses;
}

/** [B, H] -> [1, B, H] and back. */
const lift = (t: FixtureTensor): Tensor => ({ shape: [1, ...t.shape], data: Float32Array.from(t.data) });
const drop = (t: Tensor): Tensor => ({ shape: t.shape.slice(1), data: t.data });

/** Runs any fixture this project knows how to run; throws for one it cannot. */
export function runFixture(fx: Fixture, backend?: Backend): Mismatch[] {
  if (fx.source === "pytorch") return runTorchFixture(fx, backend);
  if (fx.source === "tfjs") return runTfjsFixture(fx, backend);
  throw new Error(`${fx.name}: fixtures from ${JSON.stringify(fx.source)} are not supported by this runner`);
}
