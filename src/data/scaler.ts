/**
 * Scalers for numeric series, fitted on training data and saved with the model (toJSON/fromJSON)
 * so that a loaded model takes and returns raw numbers.
 *
 * standard: y = (x - mean) / std    (std of a constant column is taken as 1)
 * minmax:   y = (x - min) / (max - min) mapped to [0, 1]   (a constant column maps to 0)
 */
import { RnnkitError, describe } from "../tensor.js";

export interface ScalerJSON {
  kind: "standard" | "minmax";
  /** per feature: (mean, std) or (min, max) */
  a: number[];
  b: number[];
}

export class Scaler {
  private constructor(readonly kind: "standard" | "minmax", private readonly a: number[], private readonly b: number[]) {}

  /** F: number of features; `rows` is [n][F] or a flat series (F = 1). */
  get features(): number {
    return this.a.length;
  }

  static fit(kind: "standard" | "minmax", rows: readonly (readonly number[])[] | ArrayLike<number>): Scaler {
    const where = "Scaler.fit";
    if (kind !== "standard" && kind !== "minmax") throw new RnnkitError(`${where}: kind: expected "standard" or "minmax", got ${describe(kind)}`);
    const m = toRows(where, rows);
    if (m.length === 0) throw new RnnkitError(`${where}: expected at least one row of numbers, got none`);
    const F = m[0].length;
    const a: number[] = [], b: number[] = [];
    for (let f = 0; f < F; f++) {
      const col = m.map((r) => r[f]);
      if (kind === "standard") {
        const mean = col.reduce((s, v) => s + v, 0) / col.length;
        const sd = Math.sqrt(col.reduce((s, v) => s + (v - mean) ** 2, 0) / col.length);
        a.push(mean);
        b.push(sd > 0 ? sd : 1);
      } else {
        a.push(Math.min(...col));
        b.push(Math.max(...col));
      }
    }
    return new Scaler(kind, a, b);
  }

  static fromJSON(j: ScalerJSON): Scaler {
    if (!j || (j.kind !== "standard" && j.kind !== "minmax") || !Array.isArray(j.a) || !Array.isArray(j.b) || j.a.length !== j.b.length) {
      throw new RnnkitError(`Scaler.fromJSON: expected {kind: "standard"|"minmax", a: number[], b: number[]} of equal lengths, got ${describe(j)}`);
    }
    return new Scaler(j.kind, [...j.a], [...j.b]);
  }

  toJSON(): ScalerJSON {
    return { kind: this.kind, a: [...this.a], b: [...this.b] };
  }

  /** Scales the value of feature f. */
  transform(v: number, f = 0): number {
    if (this.kind === "standard") return (v - this.a[f]) / this.b[f];
    const span = this.b[f] - this.a[f];
    return span > 0 ? (v - this.a[f]) / span : 0;
  }

  inverse(v: number, f = 0): number {
    if (this.kind === "standard") return v * this.b[f] + this.a[f];
    return v * (this.b[f] - this.a[f]) + this.a[f];
  }
}

function toRows(where: string, rows: readonly (readonly number[])[] | ArrayLike<number>): number[][] {
  const list = Array.from(rows as ArrayLike<unknown>);
  const m = list.map((r) => (Array.isArray(r) ? r.map(Number) : [Number(r)]));
  const F = m.length ? m[0].length : 0;
  m.forEach((r, i) => {
    if (r.length !== F) throw new RnnkitError(`${where}: row ${i}: expected ${F} numbers, got ${r.length}`);
    r.forEach((v, f) => {
      if (!Number.isFinite(v)) throw new RnnkitError(`${where}: row ${i}, feature ${f}: expected a finite number, got ${describe(v)}`);
    });
  });
  return m;
}
