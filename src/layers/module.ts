/**
 * The module protocol (Torch7 style, one convention everywhere):
 * - `forward(input, ...)` computes the output and keeps what backward needs;
 * - `backward(gradOutput)` returns the gradient w.r.t. the input and ADDS into each parameter's
 *   `grad` (zeroing is the caller's or the optimizer's explicit `zeroGrad()`);
 * - `parameters()` lists `{ name, value, grad }`, with PyTorch `state_dict` names;
 * - `dispose()` gives the module's backend memory back (see Module.dispose).
 */
import type { Rng } from "../rng.js";
import type { Tensor } from "../tensor.js";

export interface Parameter {
  /** PyTorch `state_dict` name, e.g. `weight_ih_l0_reverse`. */
  name: string;
  /** The live weights (the backend's memory: writing into `value.data` changes the model). */
  value: Tensor;
  /** The accumulated gradient, same shape. */
  grad: Tensor;
}

/** A weight as `loadStateDict` accepts it: a flat array in row-major order, or a tensor. */
export type WeightLike = ArrayLike<number> | { shape: readonly number[]; data: ArrayLike<number> };

export interface Module {
  parameters(): Parameter[];
  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void;
  /** Copies the given weights in; every expected name must be present with its exact shape. */
  loadStateDict(dict: Record<string, WeightLike>): void;
  /** A copy of the weights, by PyTorch name. */
  stateDict(): Record<string, Tensor>;
  /**
   * Frees the weights, gradients and workspaces in the backend's memory. With the wasm backend
   * that memory is not garbage-collected, so a program that makes models over and over (a
   * search, a server loading models) disposes the ones it drops. Arrays obtained from the module
   * (its parameters' data) are invalid afterwards, and any later use of the module throws.
   * Calling it again does nothing.
   */
  dispose(): void;
  /** The random generators it draws from while training (dropout masks), whose states a checkpoint saves. */
  rngs?(): Rng[];
}
