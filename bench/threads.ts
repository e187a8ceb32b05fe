/**
 * `npm run bench:threads`: does the wasm backend's second thread help, case by case? The host's
 * speed drifts by up to 3x from one minute to the next, so timing 1 thread, then 2, in turn (as
 * `npm run bench` does) can show 2 threads slower when they are not. Here both backends run in
 * one process and their batches alternate (1t, 2t, 1t, 2t, ...) after a shared warm-up, so drift
 * hits both alike. Prints one JSON line per case: {config, cell, mode, threads, ms1, ms2, speedup,
 * splits, vsPrevious} (medians; speedup = ms1 / ms2; splits = GEMMs the 2-thread backend split per
 * batch; vsPrevious = this speedup over the previous run's); kept in bench/results/threads-latest.json.
 *
 * Flags: --config S|M|C, --cell lstm|gru|rnn, --mode infer|train (default: every config, LSTM,
 * both modes), --runs N alternations (default 15), --threads N (default 2), --no-save.
 */
import { parseArgs } from "node:util";
import { createWasmBackend } from "../src/backend/wasm/wasm.js";
import { type CaseKey, CONFIGS, caseFlags, intFlag, makeCase, median, pickCases, round } from "./cases.js";
import { Results } from "./results.js";

type Row = CaseKey & { threads: number; ms1: number; ms2: number; speedup: number; splits: number };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...caseFlags, runs: { type: "string", default: "15" }, threads: { type: "string", default: "2" },
      "no-save": { type: "boolean", default: false },
    },
  });
  const runs = intFlag("runs", values.runs), threads = intFlag("threads", values.threads, 2);
  const { configs, cells, modes } = pickCases(values, ["lstm"]);
  const saved = new Results<Row>(
    "threads-latest.json",
    (a, b) => a.config === b.config && a.cell === b.cell && a.mode === b.mode && a.threads === b.threads,
    (r) => r.speedup,
  );
  const one = await createWasmBackend({ threads: 1 });
  const many = await createWasmBackend({ threads });
  for (const name of configs) {
    const c = CONFIGS.find((k) => k.name === name)!;
    for (const cell of cells) {
      for (const mode of modes) {
        const f1 = makeCase(c, cell, mode, one), f2 = makeCase(c, cell, mode, many);
        const t0 = performance.now();
        do {
          f1();
          f2();
        } while (performance.now() - t0 < 1000);
        const before = many.splitGemms;
        const ms1: number[] = [], ms2: number[] = [];
        for (let i = 0; i < runs; i++) {
          for (const [f, out] of [[f1, ms1], [f2, ms2]] as const) {
            const s = performance.now();
            f();
            out.push(performance.now() - s);
          }
        }
        const m1 = median(ms1), m2 = median(ms2);
        const row: Row = {
          config: c.name, cell, mode, threads, ms1: round(m1), ms2: round(m2), speedup: round(m1 / m2),
          splits: round((many.splitGemms - before) / runs),
        };
        console.log(JSON.stringify(saved.add(row)));
      }
    }
  }
  many.dispose();
  if (!values["no-save"]) saved.save();
}

main().catch((e: unknown) => {
  console.error(`bench:threads: ${(e as Error).message}`);
  process.exit(1);
});
