/**
 * `npm run bench:browser`: the wasm backend in headless Chromium, both kernel builds (relaxed SIMD
 * and SIMD128), against the SIMD128 build in Node, same cases (bench/cases.ts). The browser side
 * runs in a module Worker on a cross-origin isolated page (Web Worker threads); the Node side in
 * this process. The host's speed drifts by up to 3x between minutes, so each case is timed in
 * rounds that alternate the builds and hosts (Chromium relaxed, Chromium SIMD128, Node; the next
 * round starts with the other build), each keeping its instance of the case warm, and each one's
 * median over the rounds is reported.
 *
 * Prints one JSON object per line: {config, cell, mode, backend, host, simd, threads, seqPerSec,
 * gflops, ms, reps, rounds, vsNode (Chromium / Node, same threads), vsSimd128 (on the Chromium
 * relaxed row: its speed-up over Chromium SIMD128, the median over rounds of the ratio of the two
 * timings of the same round), vsPrevious}; results are kept in bench/results/browser-latest.json.
 * With --profile, also one line per case and build, {profile: true, ..., msPerBatch, gemmMs,
 * cellMs, otherMs, restMs}: where a batch's time goes (GEMMs, fused cell kernels, other kernels,
 * JavaScript between them), each kernel call clocked (bench/browser/cases.ts profiled()).
 * With --gemm, instead of the cases, the GEMMs of each configuration's LSTM layer (step, input
 * projection, dX, dW; bench/browser/cases.ts lstmGemms()), timed alone in the same alternating
 * rounds: {gemm: true, config, shape, m, n, k, host, simd, threads, gflops, ms, vsSimd128}.
 *
 * Flags: --config, --cell, --mode (as npm run bench; default LSTM, all configs, both modes),
 * --threads 1,2, --simd relaxed,simd128 (the Chromium builds), --rounds N (default 3),
 * --budget SECONDS per timing (default 3), --profile, --gemm, --no-save.
 */
import { parseArgs } from "node:util";
import { createWasmBackend, type WasmBackend, type WasmSimd, wasmSimdKinds } from "../src/backend/wasm/wasm.js";
import { type BenchResult, CaseCache, type CaseKey, caseFlags, intFlag, list, median, pickCases, round } from "./cases.js";
import { bundleForBrowser, launchChromium, serveProject } from "../test/chromium.js";
import { Results } from "./results.js";
import type { BrowserCase } from "./browser/cases.js";
import { type GemmShape, lstmGemms, profileOn, timeGemm } from "./browser/cases.js";

type Host = "chromium" | "node";
type Row = BenchResult & { host: Host; simd: WasmSimd; threads: number; rounds: number; vsNode?: number; vsSimd128?: number };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...caseFlags,
      threads: { type: "string", default: "1,2" },
      simd: { type: "string", default: wasmSimdKinds.join(",") },
      rounds: { type: "string", default: "3" },
      budget: { type: "string", default: "3" },
      profile: { type: "boolean", default: false },
      gemm: { type: "boolean", default: false },
      "no-save": { type: "boolean", default: false },
    },
  });
  const { configs, cells, modes } = pickCases(values, ["lstm"]);
  const threadCounts = values.threads.split(",").map((t) => intFlag("threads", t));
  const builds = list("simd", [values.simd], wasmSimdKinds);
  const rounds = intFlag("rounds", values.rounds), budget = Number(values.budget);
  if (!(budget > 0)) throw new Error(`--budget: expected a positive number of seconds, got ${values.budget}`);

  const saved = new Results<Row>(
    "browser-latest.json",
    // rows saved before there were two builds are SIMD128 rows
    (a, b) => a.config === b.config && a.cell === b.cell && a.mode === b.mode && a.host === b.host && a.threads === b.threads &&
      (a.simd ?? "simd128") === (b.simd ?? "simd128"),
    (r) => r.seqPerSec,
  );

  await bundleForBrowser("dist/bench/browser/cases.js", "dist/bench/browser/cases.bundle.js", false);
  const { server, origin } = await serveProject(true);
  const browser = await launchChromium();
  const nodeBackends = new Map<number, WasmBackend>();
  const nodeCases = new CaseCache();
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/bench/browser/page.html`);
    await page.waitForFunction(() => (globalThis as unknown as { rnnkitReady?: boolean }).rnnkitReady === true);
    // one message to the page's Worker: a case (BrowserCase), with `profile`, or a GEMM (with `shape`)
    const call = <T>(k: BrowserCase | (BrowserCase & { profile: true }) | { shape: GemmShape; simd: WasmSimd; threads: number; budget: number }) =>
      page.evaluate((a) => (globalThis as unknown as { rnnkitCase(a: unknown): Promise<unknown> }).rnnkitCase(a), k) as Promise<T>;
    if (values.gemm) {
      for (const threads of threadCounts) {
        const be = await createWasmBackend({ threads, simd: "simd128" });
        nodeBackends.set(threads, be);
        for (const config of configs) {
          for (const shape of lstmGemms(config)) {
            const got = new Map<string, number[]>([...builds.map((b) => [`chromium/${b}`, []] as [string, number[]]), ["node/simd128", []]]);
            for (let r = 0; r < rounds; r++) {
              const order = r % 2 === 0 ? builds : [...builds].reverse();
              for (const simd of order) {
                got.get(`chromium/${simd}`)!.push((await call<{ ms: number }>({ shape, simd, threads, budget })).ms);
              }
              got.get("node/simd128")!.push(timeGemm(be, shape, budget));
            }
            const flops = 2 * shape.m * shape.n * shape.k;
            const line = (host: Host, simd: WasmSimd, extra: object = {}) => {
              const ms = median(got.get(`${host}/${simd}`)!);
              console.log(JSON.stringify({
                gemm: true, config, ...shape, host, simd, threads, gflops: round(flops / ms / 1e6), ms: round(ms), rounds, ...extra,
              }));
            };
            for (const simd of builds) {
              const rs = got.get("chromium/relaxed"), ss = got.get("chromium/simd128");
              line("chromium", simd, simd === "relaxed" && rs && ss ? { vsSimd128: round(median(rs.map((x, i) => ss[i] / x))) } : {});
            }
            line("node", "simd128");
          }
        }
      }
      return;
    }
    for (const threads of threadCounts) {
      let be = nodeBackends.get(threads);
      // Node 20 runs relaxed SIMD only behind a flag: the Node side is SIMD128, as before there were two builds
      if (!be) nodeBackends.set(threads, (be = await createWasmBackend({ threads, simd: "simd128" })));
      for (const config of configs) {
        for (const cell of cells) {
          for (const mode of modes) {
            const k: CaseKey & { threads: number; budget: number } = { config, cell, mode, threads, budget };
            const got = new Map<string, BenchResult[]>([...builds.map((b) => [`chromium/${b}`, []] as [string, BenchResult[]]), ["node/simd128", []]]);
            for (let r = 0; r < rounds; r++) {
              const order = r % 2 === 0 ? builds : [...builds].reverse();
              for (const simd of order) got.get(`chromium/${simd}`)!.push(await call<BenchResult>({ ...k, simd }));
              got.get("node/simd128")!.push(nodeCases.measure(k, be, budget));
            }
            const summary = (host: Host, simd: WasmSimd): Row => {
              const rs = got.get(`${host}/${simd}`)!;
              const ms = median(rs.map((x) => x.ms));
              const one = rs[0];
              return {
                ...one, host, simd, threads, rounds, ms: round(ms), seqPerSec: round((one.seqPerSec * one.ms) / ms),
                gflops: round((one.gflops * one.ms) / ms), reps: rs.reduce((n, x) => n + x.reps, 0),
              };
            };
            const n = summary("node", "simd128");
            const rows = builds.map((b) => summary("chromium", b));
            for (const c of rows) c.vsNode = round(c.seqPerSec / n.seqPerSec);
            const relaxed = rows.find((c) => c.simd === "relaxed");
            if (relaxed && builds.includes("simd128")) {
              const rs = got.get("chromium/relaxed")!, ss = got.get("chromium/simd128")!;
              relaxed.vsSimd128 = round(median(rs.map((x, i) => ss[i].ms / x.ms)));
            }
            for (const r of [...rows, n]) console.log(JSON.stringify(saved.add(r)));
            if (values.profile) {
              for (const simd of builds) {
                const p = await call<Record<string, unknown>>({ ...k, simd, profile: true });
                console.log(JSON.stringify({ profile: true, config, cell, mode, host: "chromium", threads, ...p }));
              }
              console.log(JSON.stringify({ profile: true, config, cell, mode, host: "node", threads, ...profileOn(k, be) }));
            }
          }
        }
      }
    }
  } finally {
    await browser.close();
    server.close();
    for (const be of nodeBackends.values()) be.dispose();
  }

  if (!values["no-save"]) saved.save();
}

main().catch((e: unknown) => {
  console.error(`bench:browser: ${(e as Error).message}`);
  process.exit(1);
});
