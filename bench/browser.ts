/**
 * `npm run bench:browser`: the wasm backend in headless Chromium against the same backend in
 * Node, same cases (bench/cases.ts). The browser side runs in a module Worker on a cross-origin
 * isolated page (Web Worker threads); the Node side in this process. The host's speed drifts by
 * up to 3x between minutes, so each case is timed in rounds that alternate the two hosts
 * (Chromium, Node, Chromium, Node, ...), each host keeping its instance of the case warm, and
 * each host's median over the rounds is reported. Prints one JSON object per line: {config, cell,
 * mode, backend, host, threads, seqPerSec, gflops, ms, reps, rounds, vsNode (Chromium / Node, same
 * threads), vsPrevious}; results are kept in bench/results/browser-latest.json.
 *
 * Flags: --config, --cell, --mode (as npm run bench; default LSTM, all configs, both modes),
 * --threads 1,2, --rounds N (default 3), --budget SECONDS per timing (default 3), --no-save.
 */
import { parseArgs } from "node:util";
import { createWasmBackend, type WasmBackend } from "../src/backend/wasm/wasm.js";
import { type BenchResult, CaseCache, type CaseKey, caseFlags, intFlag, median, pickCases, round } from "./cases.js";
import { bundleForBrowser, launchChromium, serveProject } from "../test/chromium.js";
import { Results } from "./results.js";

type Row = BenchResult & { host: "chromium" | "node"; threads: number; rounds: number; vsNode?: number };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...caseFlags,
      threads: { type: "string", default: "1,2" },
      rounds: { type: "string", default: "3" },
      budget: { type: "string", default: "3" },
      "no-save": { type: "boolean", default: false },
    },
  });
  const { configs, cells, modes } = pickCases(values, ["lstm"]);
  const threadCounts = values.threads.split(",").map((t) => intFlag("threads", t));
  const rounds = intFlag("rounds", values.rounds), budget = Number(values.budget);
  if (!(budget > 0)) throw new Error(`--budget: expected a positive number of seconds, got ${values.budget}`);

  const saved = new Results<Row>(
    "browser-latest.json",
    (a, b) => a.config === b.config && a.cell === b.cell && a.mode === b.mode && a.host === b.host && a.threads === b.threads,
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
    const inBrowser = (k: CaseKey & { threads: number; budget: number }) =>
      page.evaluate((a) => (globalThis as unknown as { rnnkitCase(a: unknown): Promise<BenchResult> }).rnnkitCase(a), k);
    for (const threads of threadCounts) {
      let be = nodeBackends.get(threads);
      if (!be) nodeBackends.set(threads, (be = await createWasmBackend({ threads })));
      for (const config of configs) {
        for (const cell of cells) {
          for (const mode of modes) {
            const k = { config, cell, mode, threads, budget };
            const got: Record<"chromium" | "node", BenchResult[]> = { chromium: [], node: [] };
            for (let r = 0; r < rounds; r++) {
              got.chromium.push(await inBrowser(k));
              got.node.push(nodeCases.measure(k, be, budget));
            }
            const summary = (host: "chromium" | "node"): Row => {
              const rs = got[host];
              const ms = median(rs.map((x) => x.ms));
              const one = rs[0];
              return {
                ...one, host, threads, rounds, ms: round(ms), seqPerSec: round((one.seqPerSec * one.ms) / ms),
                gflops: round((one.gflops * one.ms) / ms), reps: rs.reduce((n, x) => n + x.reps, 0),
              };
            };
            const c = summary("chromium"), n = summary("node");
            c.vsNode = round(c.seqPerSec / n.seqPerSec);
            for (const r of [c, n]) console.log(JSON.stringify(saved.add(r)));
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
