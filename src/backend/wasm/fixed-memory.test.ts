/**
 * The wasm backend on a fixed, non-shared memory: what runs where a host refuses shared
 * WebAssembly memory (a browser page that is not cross-origin isolated, in browsers that gate
 * shared memory on isolation). It must compute what the js reference computes, on one thread,
 * and refuse clearly (never detach arrays) when the reservation is full.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { platform } from "#platform";
import { JsBackend } from "../js.js";
import { createWasmBackendSync, withUnsharedMemory } from "./wasm.js";
import { GRU, LSTM, RNN } from "../../layers/layers.js";
import type { Recurrent } from "../../layers/recurrent.js";
import type { Backend } from "../backend.js";
import { Rng } from "../../rng.js";

test("withUnsharedMemory changes exactly the memory import's limits flag (3 -> 1), and refuses a module without one", () => {
  const bytes = platform.kernelBytes();
  const plain = withUnsharedMemory(bytes);
  assert.equal(plain.length, bytes.length);
  const diff = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== plain[i]) diff.push(i);
  assert.equal(diff.length, 1);
  assert.deepEqual([bytes[diff[0]], plain[diff[0]]], [3, 1]);
  const wa = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
  assert.ok(wa.validate(plain));
  assert.throws(() => withUnsharedMemory(plain), /limits flag 1, expected 3/);
  const noImports = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  assert.throws(() => withUnsharedMemory(noImports), /no import section/);
});

test("a fixed memory: one thread whatever is asked, the reserved size, not shared", () => {
  const be = createWasmBackendSync({ sharedMemory: false, threads: 2, fixedMemoryMB: 16 });
  assert.equal(be.shared, false);
  assert.equal(be.threads, 1);
  assert.equal(be.workerCount, 0);
  assert.equal(be.memoryBytes, 16 * 1048576);
  const shared = createWasmBackendSync({ threads: 2 });
  assert.equal(shared.shared, true);
  assert.equal(shared.threads, 2);
  shared.dispose();
});

test("a full fixed memory refuses with a clear error, and the arrays it handed out stay intact", () => {
  const be = createWasmBackendSync({ sharedMemory: false, fixedMemoryMB: 4 });
  const a = be.alloc(1000);
  a.fill(1.5);
  assert.throws(
    () => be.alloc(2 * 1048576),
    (e: Error) =>
      e instanceof RangeError && /out of memory/.test(e.message) && /cross-origin isolated/.test(e.message) &&
      /fixedMemoryMB/.test(e.message),
  );
  assert.equal(a.length, 1000, "not detached");
  assert.ok(a.every((v) => v === 1.5));
  be.free(a);
  assert.equal(be.alloc(256 * 1024).length, 256 * 1024, "still usable after the refusal");
});

function rand(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** Forward and backward of `make(backend)` on both backends with the same weights and inputs. */
function compareLayer(make: (be: Backend) => Recurrent, fixed: Backend, seed: number): void {
  const js = new JsBackend();
  const ref = make(js), got = make(fixed);
  got.loadStateDict(ref.stateDict());
  const rng = new Rng(seed);
  const T = 7, B = 5, L = ref.numLayers, D = ref.bidirectional ? 2 : 1, H = ref.hiddenSize;
  const lengths = [7, 3, 5, 1, 6];
  const x = { shape: [T, B, ref.inputSize], data: rand(rng, T * B * ref.inputSize, 1) };
  const h0 = { shape: [L * D, B, H], data: rand(rng, L * D * B * H, 0.5) };
  const gOut = { shape: [T, B, D * H], data: rand(rng, T * B * D * H, 1) };
  const close = (what: string, a: ArrayLike<number>, b: ArrayLike<number>) => {
    assert.equal(a.length, b.length, what);
    for (let i = 0; i < a.length; i++) {
      assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 + 1e-4 * Math.abs(b[i]), `${ref.cellType} ${what}[${i}]: ${a[i]} vs ${b[i]}`);
    }
  };
  const outs = [ref, got].map((layer) => layer.forward(x, { h0, lengths }));
  close("output", outs[1].output.data, outs[0].output.data);
  close("h", outs[1].h.data, outs[0].h.data);
  const grads = [ref, got].map((layer) => layer.backward({ output: gOut }));
  close("dx", grads[1].dx.data, grads[0].dx.data);
  close("dh0", grads[1].dh0.data, grads[0].dh0.data);
  const pr = ref.parameters(), pg = got.parameters();
  pr.forEach((p, i) => close(`grad ${p.name}`, pg[i].grad.data, p.grad.data));
}

test("LSTM, GRU (both variants) and RNN layers on a fixed memory match the js backend, forward and backward", () => {
  const fixed = createWasmBackendSync({ sharedMemory: false, fixedMemoryMB: 32 });
  const opts = { inputSize: 6, hiddenSize: 9, numLayers: 2, bidirectional: true, seed: 3 };
  compareLayer((backend) => new LSTM({ ...opts, backend }), fixed, 1);
  compareLayer((backend) => new GRU({ ...opts, backend }), fixed, 2);
  compareLayer((backend) => new GRU({ ...opts, resetAfter: false, backend }), fixed, 3);
  compareLayer((backend) => new RNN({ ...opts, nonlinearity: "relu", backend }), fixed, 4);
});

test("the default fixed reservation halves until the host grants it; a size the caller chose is taken or refused", () => {
  const g = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; shared?: boolean }) => object } };
  const Real = g.WebAssembly.Memory;
  // a host that grants non-shared memories of at most 256 MiB (4096 pages)
  g.WebAssembly.Memory = function (d: { initial: number; shared?: boolean }) {
    if (!d.shared && d.initial > 4096) throw new RangeError("could not allocate memory");
    return new Real(d);
  } as unknown as typeof Real;
  try {
    const be = createWasmBackendSync({ sharedMemory: false });
    assert.equal(be.memoryBytes, 256 * 1048576);
    assert.equal(be.alloc(10).length, 10);
    assert.throws(
      () => createWasmBackendSync({ sharedMemory: false, fixedMemoryMB: 512 }),
      /refused a WebAssembly memory of 512 MiB \(could not allocate memory\); use the js backend/,
    );
  } finally {
    g.WebAssembly.Memory = Real;
  }
});
