/**
 * The relaxed-SIMD build in headless Chromium (which validates relaxed SIMD since 114): the shipped
 * bundle (dist/browser/rnnkit.js) carries both builds and picks relaxed by default, on a cross-origin
 * isolated page (shared memory, 2 Web Worker threads) and on a plain one; SIMD128 can still be
 * forced; the two agree within the parity tolerance on an LSTM layer, forward and backward.
 * test/browser.test.ts runs every golden fixture on the default backend there, that is on relaxed.
 *
 * It needs Chromium, as test/browser.test.ts does.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { launchChromium, serveProject } from "./chromium.js";

interface PageReport {
  defaultSimd: string;
  defaultLabel: string;
  threads: number;
  forced: string;
  worst: number;
  splitGemms: number;
}

test("in headless Chromium the bundle picks the relaxed-SIMD build, with and without cross-origin isolation; SIMD128 can be forced; both agree", { timeout: 120_000 }, async () => {
  const servers = { isolated: await serveProject(true), plain: await serveProject(false) };
  const browser = await launchChromium().catch((e: unknown) => {
    for (const s of Object.values(servers)) s.server.close();
    throw e;
  });
  try {
    for (const [name, { origin }] of Object.entries(servers)) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      // any file of the project gives a document of this origin (and its headers) to import the bundle from
      await page.goto(`${origin}/LICENSE`);
      const report = await page.evaluate(async (): Promise<PageReport> => {
        const url = "/dist/browser/rnnkit.js";
        const r = await import(url);
        const relaxed = await r.createWasmBackend({ threads: 2, parallelThreshold: 1, wakeThreshold: 1 });
        const simd = await r.createWasmBackend({ simd: "simd128" });
        // one LSTM layer (2 layers, bidirectional) on each, same weights and inputs: the worst error
        // relative to the parity tolerance 1e-5 + 1e-4 |ref|, over outputs and every gradient
        const opts = { inputSize: 7, hiddenSize: 33, numLayers: 2, bidirectional: true, seed: 5 };
        const a = new r.LSTM({ ...opts, backend: relaxed }), b = new r.LSTM({ ...opts, backend: simd });
        let s = 7;
        const rand = (n: number) => Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
        const T = 11, B = 6;
        const x = { shape: [T, B, 7], data: rand(T * B * 7) }, g = { shape: [T, B, 66], data: rand(T * B * 66) };
        const outs = [a, b].map((l) => l.forward(x, { lengths: [11, 4, 9, 1, 11, 6] }));
        const grads = [a, b].map((l) => l.backward({ output: g }));
        const pairs: [ArrayLike<number>, ArrayLike<number>][] = [
          [outs[0].output.data, outs[1].output.data], [outs[0].h.data, outs[1].h.data], [grads[0].dx.data, grads[1].dx.data],
          ...a.parameters().map((p: { grad: { data: Float32Array } }, i: number): [ArrayLike<number>, ArrayLike<number>] => [p.grad.data, b.parameters()[i].grad.data]),
        ];
        let worst = 0;
        for (const [got, want] of pairs) {
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-5 + 1e-4 * Math.abs(want[i])));
        }
        const def = r.getBackend();
        return {
          defaultSimd: def.simd, defaultLabel: def.label, threads: relaxed.threads, forced: simd.simd, worst,
          splitGemms: relaxed.splitGemms,
        };
      });
      await page.close();
      assert.deepEqual(errors, [], `${name}: page errors`);
      assert.equal(report.defaultSimd, "relaxed", `${name}: the default backend's build`);
      assert.equal(report.defaultLabel, "wasm (relaxed SIMD)");
      assert.equal(report.forced, "simd128");
      assert.ok(report.worst <= 1, `${name}: relaxed vs SIMD128: worst error ${report.worst} x the tolerance`);
      if (name === "isolated") {
        assert.equal(report.threads, 2);
        assert.ok(report.splitGemms > 0, "GEMMs ran on the Web Worker too");
      }
    }
  } finally {
    await browser.close();
    for (const s of Object.values(servers)) s.server.close();
  }
});
