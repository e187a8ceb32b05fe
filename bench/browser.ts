/**
 * `npm run bench:browser`: the wasm backend in headless Chromium against the same backend in
 * Node, same cases (bench/cases.ts), same run. The browser side runs in a module Worker on a
 * cross-origin isolated page, with 1 and with 2 threads (Web Workers); the Node side with 1 and 2
 * worker threads. Prints one JSON object per line: {config, cell, mode, backend, host, threads,
 * seqPerSec, gflops, ms, reps, vsNode (browser / Node, same threads), vsPrevious}; results are
 * kept in bench/results/browser-latest.json.
 *
 * Flags: --config, --cell, --mode (as npm run bench; default LSTM, all configs, both modes),
 * --threads 1,2, --budget SECONDS per case (default 4), --no-save.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaults } from "../src/defaults.js";
import { createWasmBackend } from "../src/backend/wasm/wasm.js";
import { type BenchResult, CELLS, CONFIGS, MODES, list, measure, round } from "./cases.js";
import type { BrowserBenchOptions } from "./browser/cases.js";
import { bundleForBrowser, launchChromium, projectRoot, serveProject } from "../test/chromium.js";

type Row = BenchResult & { host: "chromium" | "node"; threads: number; vsNode?: number };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: "string", multiple: true },
      cell: { type: "string", multiple: true, default: ["lstm"] },
      mode: { type: "string", multiple: true },
      threads: { type: "string", default: "1,2" },
      budget: { type: "string", default: "4" },
      "no-save": { type: "boolean", default: false },
    },
  });
  const opts: BrowserBenchOptions = {
    configs: list("config", values.config, CONFIGS.map((c) => c.name)),
    cells: list("cell", values.cell, CELLS),
    modes: list("mode", values.mode, MODES),
    threads: values.threads.split(",").map(Number),
    budget: Number(values.budget),
  };
  if (!(opts.budget > 0)) throw new Error(`--budget: expected a positive number of seconds, got ${values.budget}`);
  if (!opts.threads.every((t) => Number.isInteger(t) && t >= 1)) throw new Error(`--threads: expected positive integers, got ${values.threads}`);

  await bundleForBrowser("dist/bench/browser/cases.js", "dist/bench/browser/cases.bundle.js", false);
  const { server, origin } = await serveProject(true);
  const browser = await launchChromium();
  let inBrowser: (BenchResult & { threads: number })[];
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/bench/browser/page.html`);
    await page.waitForFunction(() => (globalThis as unknown as { rnnkitReady?: boolean }).rnnkitReady === true);
    inBrowser = await page.evaluate(
      (o) => (globalThis as unknown as { rnnkitBench(o: unknown): Promise<(BenchResult & { threads: number })[]> }).rnnkitBench(o),
      opts,
    );
  } finally {
    await browser.close();
    server.close();
  }

  const rows: Row[] = inBrowser.map((r) => ({ ...r, host: "chromium" }));
  for (const threads of opts.threads) {
    const be = await createWasmBackend({ threads, parallelThreshold: defaults.wasmParallelWork });
    for (const r of inBrowser.filter((b) => b.threads === threads)) {
      const node: Row = { ...measure(CONFIGS.find((c) => c.name === r.config)!, r.cell, r.mode, be, opts.budget), host: "node", threads };
      rows.push(node);
      rows.find((b) => b.host === "chromium" && b.threads === threads && b.config === r.config && b.cell === r.cell && b.mode === r.mode)!.vsNode =
        round(r.seqPerSec / node.seqPerSec);
    }
    be.dispose();
  }

  const file = join(projectRoot, "bench", "results", "browser-latest.json");
  let previous: Row[] = [];
  try {
    previous = JSON.parse(readFileSync(file, "utf8")) as Row[];
  } catch {
    // first run
  }
  const same = (a: Row, b: Row) => a.config === b.config && a.cell === b.cell && a.mode === b.mode && a.host === b.host && a.threads === b.threads;
  for (const r of rows) {
    const prev = previous.find((p) => same(p, r));
    if (prev) r.vsPrevious = round(r.seqPerSec / prev.seqPerSec);
    console.log(JSON.stringify(r));
  }
  if (!values["no-save"]) {
    const merged = [...previous.filter((p) => !rows.some((r) => same(p, r))), ...rows.map(({ vsPrevious: _v, ...r }) => r)];
    mkdirSync(join(projectRoot, "bench", "results"), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(merged, null, 1));
    renameSync(tmp, file);
  }
}

main().catch((e: unknown) => {
  console.error(`bench:browser: ${(e as Error).message}`);
  process.exit(1);
});
