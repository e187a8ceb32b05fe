/** Parameter counts of a model: one row per tensor (its stateDict name, shape, element count). */
import type { Model } from "../models/model.js";

export interface ParameterRow {
  name: string;
  shape: number[];
  count: number;
}

/** The parameter table of `model`, in `parameters()` order, and the total count. */
export function parameterTable(model: Model): { rows: ParameterRow[]; total: number } {
  const rows = model.parameters().map((p) => ({ name: p.name, shape: [...p.value.shape], count: p.value.data.length }));
  return { rows, total: rows.reduce((s, r) => s + r.count, 0) };
}
