/**
 * What every model kind shares: a model made of named parts (embedding, recurrent stack, head,
 * attention, ...), each a module of the module protocol. Its parameters, gradients, state dict,
 * training mode and disposal are those of its parts, names prefixed by part (`rnn.`, `head.`,
 * `encoder.rnn.`, ...), which are the model file's tensor names.
 */
import type { Backend } from "../backend/backend.js";
import type { Module, Parameter, WeightLike } from "../layers/module.js";
import { loadInto } from "../layers/params.js";
import { defaults } from "../defaults.js";
import type { Rng } from "../rng.js";
import { type Floats, RnnkitError, type Tensor, formatShape, sizeOf } from "../tensor.js";

/** Parameter names and shapes, in the model's order. */
export type ParameterShapes = [string, number[]][];

export function prefixed(prefix: string, shapes: ParameterShapes): ParameterShapes {
  return shapes.map(([k, v]) => [prefix + k, v]);
}

/**
 * Checks the sizes of a config against the limits of src/defaults.ts: `kind` names the limit
 * ("hidden" for hidden and embedding sizes, "layers", "vocabulary" for vocabularies, outputs and
 * condition/input widths).
 */
export function checkLimit(where: string, name: string, value: number | undefined, kind: "hidden" | "layers" | "vocabulary"): void {
  if (value === undefined) return;
  const [limit, key] = kind === "hidden" ? [defaults.maxHiddenSize, "maxHiddenSize"] : kind === "layers" ? [defaults.maxLayers, "maxLayers"] : [defaults.maxVocabSize, "maxVocabSize"];
  if (value > limit) throw new RnnkitError(`${where}: ${name}: expected at most defaults.${key} = ${limit}, got ${value}`);
}

/** Throws when the shapes hold more than `defaults.maxParameters` numbers (before anything is allocated). */
export function checkParameterBudget(where: string, shapes: ParameterShapes): void {
  const total = shapes.reduce((s, [, v]) => s + sizeOf(v), 0);
  if (!(total <= defaults.maxParameters)) {
    const big = [...shapes].sort((a, b) => sizeOf(b[1]) - sizeOf(a[1])).slice(0, 2).map(([k, v]) => `${k} ${formatShape(v)}`).join(", ");
    throw new RnnkitError(`${where}: expected at most defaults.maxParameters = ${defaults.maxParameters} parameters, got ${total} (largest: ${big}): are the sizes right?`);
  }
}

export abstract class ComposedModel {
  private training = false;
  private disposed = false;

  /** The parts, by name prefix (e.g. "rnn."), in a fixed order. */
  protected abstract parts(): [string, Module][];
  /** The class name, for errors. */
  protected abstract readonly name: string;
  /** Where the parts compute. */
  abstract readonly backend: Backend;
  /** Drops what the last forward kept for backward (called by dispose). */
  protected abstract clearCache(): void;

  parameters(): Parameter[] {
    return this.parts().flatMap(([prefix, m]) => m.parameters().map((p) => ({ ...p, name: prefix + p.name })));
  }

  zeroGrad(): void {
    for (const [, m] of this.parts()) m.zeroGrad();
  }

  /** Frees every part's backend memory (see Module.dispose); later use throws; twice is harmless. */
  dispose(): void {
    if (this.disposed) return;
    for (const [, m] of this.parts()) m.dispose();
    this.clearCache();
    this.disposed = true;
  }

  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [prefix, m] of this.parts()) for (const [k, v] of Object.entries(m.stateDict())) out[prefix + k] = v;
    return out;
  }

  loadStateDict(dict: Record<string, WeightLike>): void {
    loadInto(`${this.name}.loadStateDict`, this.parameters(), dict);
  }

  /** Training mode (dropout on) for every part that has one. */
  train(on = true): this {
    this.training = on;
    for (const [, m] of this.parts()) {
      const t = (m as Partial<{ train(on: boolean): unknown }>).train;
      if (typeof t === "function") t.call(m, on);
    }
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Random generators of the model itself, besides its parts' (e.g. Seq2Seq's dropout between layers). */
  protected ownRngs(): Rng[] {
    return [];
  }

  private allRngs(): Rng[] {
    return [...this.parts().flatMap(([, m]) => m.rngs?.() ?? []), ...this.ownRngs()];
  }

  /** The states of every random generator the model draws from while training, in a fixed order (a checkpoint saves them). */
  randomState(): number[] {
    return this.allRngs().map((r) => r.state);
  }

  /** Restores `randomState()`: the next dropout masks are those an uninterrupted run would draw. */
  setRandomState(state: readonly number[]): void {
    const rngs = this.allRngs();
    if (!Array.isArray(state) || state.length !== rngs.length || !state.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32)) {
      throw new RnnkitError(`${this.name}.setRandomState: expected ${rngs.length} generator states (integers in [0, 2^32)), got ${JSON.stringify(state)?.slice(0, 80)}`);
    }
    rngs.forEach((r, i) => (r.state = state[i]));
  }

  get isTraining(): boolean {
    return this.training;
  }

  /**
   * Asserts that the parts made exactly the names and shapes of the kind's static
   * `parameterShapes` (which model files are checked against before building): a mismatch is a
   * bug in rnnkit, not bad input.
   */
  protected checkShapes(shapes: ParameterShapes): void {
    const got = this.parameters().map((p) => `${p.name} ${formatShape(p.value.shape)}`).join(", ");
    const want = shapes.map(([k, v]) => `${k} ${formatShape(v)}`).join(", ");
    if (got !== want) throw new Error(`${this.name}: internal error: parameterShapes() says [${want}] but the parts made [${got}]`);
  }

  /** A plain array in the backend's precision (float64 on the reference path of the gradient checks). */
  protected arr(n: number | ArrayLike<number>): Floats {
    const f64 = this.backend.dtype === "float64";
    if (typeof n === "number") return f64 ? new Float64Array(n) : new Float32Array(n);
    return f64 ? Float64Array.from(n) : Float32Array.from(n);
  }

  /** Throws `where: used after dispose()` once the model is disposed. */
  protected live(where: string): void {
    if (this.disposed) throw new RnnkitError(`${where}: used after dispose()`);
  }
}
