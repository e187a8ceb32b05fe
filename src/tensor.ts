/**
 * Tensors and the checks at the public boundary.
 *
 * A tensor is `{ shape, data }`, row-major and contiguous (the last index varies fastest).
 * `data` is a Float32Array, or a Float64Array when a layer runs on the float64 reference backend
 * (used by the gradient checks). Shapes are written in one vocabulary everywhere:
 * T time, B batch, X input features, H hidden, G gates, D directions, L layers, V vocabulary.
 */

/** The storage types a backend computes in. */
export type Floats = Float32Array | Float64Array;

export interface Tensor {
  shape: number[];
  data: Floats;
}

/** What the public API accepts: a tensor, or anything with a shape and numbers. */
export interface TensorLike {
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** Every error rnnkit raises on bad input. `message` names the argument, the expected and the actual value. */
export class RnnkitError extends Error {
  override name = "RnnkitError";
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[*, *, 8]`: the expected shape, with `*` for a free dimension (written as -1). */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((d) => (d < 0 ? "*" : String(d))).join(", ")}]`;
}

/**
 * Checks that `t` is a tensor of the expected shape and returns it.
 * `names` is the shape vocabulary of the dimensions (e.g. ["T", "B", "X"]); `-1` in `expected`
 * means any size. Errors read: `LSTM.forward: x: expected [T, B, X] = [*, *, 8], got [32, 8]`.
 */
export function checkTensor(
  where: string,
  arg: string,
  t: unknown,
  names: readonly string[],
  expected: readonly number[],
): TensorLike {
  const want = `[${names.join(", ")}] = ${formatShape(expected)}`;
  if (t === null || typeof t !== "object" || !("shape" in t) || !("data" in t)) {
    throw new RnnkitError(`${where}: ${arg}: expected a tensor {shape, data} of shape ${want}, got ${describe(t)}`);
  }
  const tt = t as TensorLike;
  if (!Array.isArray(tt.shape) || !tt.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RnnkitError(`${where}: ${arg}: expected shape ${want}, got shape ${JSON.stringify(tt.shape)}`);
  }
  const ok = tt.shape.length === expected.length && expected.every((d, i) => d < 0 || d === tt.shape[i]);
  if (!ok) throw new RnnkitError(`${where}: ${arg}: expected ${want}, got ${formatShape(tt.shape)}`);
  if (tt.shape.some((d) => d === 0)) {
    throw new RnnkitError(`${where}: ${arg}: expected ${want} with no empty dimension, got ${formatShape(tt.shape)}`);
  }
  const n = sizeOf(tt.shape);
  if (!tt.data || typeof tt.data.length !== "number" || tt.data.length !== n) {
    const got = tt.data && typeof tt.data.length === "number" ? tt.data.length : describe(tt.data);
    throw new RnnkitError(`${where}: ${arg}: shape ${formatShape(tt.shape)} needs ${n} numbers, got data of length ${got}`);
  }
  return tt;
}

/** A NaN or an infinity where finite numbers were expected (the trainer's NaN guard catches it). */
export class NonFiniteError extends RnnkitError {
  override name = "NonFiniteError";
}

/** Returns `v` if it is an integer >= 1; otherwise throws `where: name: expected a positive integer, got ...`. */
export function checkPositiveInt(where: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new RnnkitError(`${where}: ${name}: expected a positive integer, got ${describe(v)}`);
  }
  return v;
}

/** Throws when `data` holds a NaN or an infinity (a linear scan: cheap next to any matmul). */
export function checkFinite(where: string, arg: string, data: ArrayLike<number>, shape: readonly number[]): void {
  if (data instanceof Float32Array || data instanceof Float64Array) {
    // v - v is 0 for every finite v and NaN for NaN and +-Infinity: a branch-free sum over the
    // array finds whether there is one (2x the per-element test: 80 against 160 us on 102400 floats;
    // that test was 4% of an LSTM inference on S),
    // and only then the loop below says where
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0; // four sums: one would wait on its own addition every element
    const n = data.length, n4 = n - (n % 4);
    for (let i = 0; i < n4; i += 4) {
      a0 += data[i] - data[i];
      a1 += data[i + 1] - data[i + 1];
      a2 += data[i + 2] - data[i + 2];
      a3 += data[i + 3] - data[i + 3];
    }
    for (let i = n4; i < n; i++) a0 += data[i] - data[i];
    if (a0 + a1 + a2 + a3 === 0) return;
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      throw new NonFiniteError(
        `${where}: ${arg}: expected finite numbers, got ${v} at ${formatIndex(i, shape)} (flat index ${i})`,
      );
    }
  }
}

function formatIndex(flat: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let k = shape.length - 1; k >= 0; k--) {
    idx.unshift(flat % shape[k]);
    flat = Math.floor(flat / shape[k]);
  }
  return `[${idx.join(", ")}]`;
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name} of length ${(v as unknown as ArrayLike<number>).length}`;
  if (typeof v === "object") return `an object with keys [${Object.keys(v as object).join(", ")}]`;
  return `${typeof v} ${String(v)}`;
}

export function tensor(shape: number[], data: Floats): Tensor {
  if (data.length !== sizeOf(shape)) {
    throw new RnnkitError(`tensor: shape ${formatShape(shape)} needs ${sizeOf(shape)} numbers, got ${data.length}`);
  }
  return { shape, data };
}
