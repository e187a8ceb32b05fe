/**
 * The two builds of the wasm kernels (scripts/build-wasm.mjs, one source): the vocabulary, once.
 * The host (#platform) reads or inlines their files; the backend (wasm.ts) picks one at start.
 *  - "simd128": WebAssembly SIMD (fixed-width 128-bit SIMD, every engine rnnkit runs on);
 *  - "relaxed": the same kernels with relaxed SIMD (f32x4.relaxed_madd and friends; WebAssembly
 *    relaxed-simd proposal, standardised in WebAssembly 3.0): Chromium >= 114, Node >= 22, Node 20
 *    with --experimental-wasm-relaxed-simd.
 */
export const wasmSimdKinds = ["relaxed", "simd128"] as const;
export type WasmSimd = (typeof wasmSimdKinds)[number];

/** The environment variable that forces one build for a whole process: RNNKIT_WASM_SIMD=relaxed|simd128. */
export const WASM_SIMD_ENV = "RNNKIT_WASM_SIMD";

/** The file of each build, next to wasm.js (scripts/build-wasm.mjs writes the same names). */
export const wasmKernelFiles: Readonly<Record<WasmSimd, string>> = {
  relaxed: "kernels-relaxed.wasm",
  simd128: "kernels.wasm",
};

/** Each build in words, for labels and messages: "wasm (relaxed SIMD)". */
export const wasmSimdWords: Readonly<Record<WasmSimd, string>> = {
  relaxed: "relaxed SIMD",
  simd128: "SIMD128",
};
