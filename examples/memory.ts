/**
 * The memory experiment (delayed recall, src/inspect/memory.ts) as a program: one of K = 8 symbols,
 * N distractor steps, then name the symbol; a tanh RNN, an LSTM and a GRU at equal hidden size for
 * N = 5, 10, 20, 50, 100 and at equal parameter count at the two longest N. It reports each
 * cell's mean test accuracy at each delay against chance (1/K), and the gradient norm 100 steps
 * back at initialisation and after training. The gated cells start from the chrono init of their
 * keep gates (src/inspect/memory.ts says why; `rnnkit experiment memory --gate-init pytorch` runs
 * them from PyTorch's init).
 *
 *   node dist/examples/memory.js [--quick] [--steps N] [--seed N]
 *
 * The data is generated, so nothing is downloaded; `--out` is not used (no model is kept).
 */
import { memoryExperiment } from "../src/inspect/memory.js";
import { type ExampleArgs, type Row, isMain, parseArgs, report, run } from "./common.js";

const NAME = "memory";

export async function main(args: ExampleArgs, delays?: number[]): Promise<Record<string, unknown>> {
  const r = await memoryExperiment({ quick: args.quick, steps: args.steps, seed: args.seed, delays });
  const rows: Row[] = [];
  const chance = r.settings.chance;
  for (const equal of ["hidden", "parameters"]) {
    for (const delay of r.settings.delays) {
      for (const cell of ["rnn", "lstm", "gru"]) {
        const runs = r.rows.filter((x) => x.cell === cell && x.delay === delay && x.equal === equal);
        if (runs.length === 0) continue;
        const mean = runs.reduce((s, x) => s + x.accuracy, 0) / runs.length;
        rows.push({ metric: `accuracy ${cell} N=${delay} H=${runs[0].hidden} (equal ${equal})`, value: mean, baseline: chance, baselineName: "chance" });
      }
    }
  }
  const longest = Math.max(...r.settings.delays);
  const farthest = r.gradients.filter((g) => g.delay === longest && g.hidden === r.settings.hidden).map((g) => ({ cell: g.cell, phase: g.phase, distance: longest, dh: g.dh[longest], ...(g.dc ? { dc: g.dc[longest] } : {}) }));
  const extra = { rows: r.rows, gradientAtLongest: farthest, settings: r.settings, seconds: r.seconds };
  report(NAME, rows, extra);
  return { results: rows, ...extra };
}

if (isMain(import.meta.url)) run(async () => void (await main(parseArgs(NAME))));
