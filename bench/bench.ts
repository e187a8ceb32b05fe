/**
 * `npm run bench`: the benchmark configurations of ../shared/ARCHITECTURE.md for LSTM, GRU and
 * tanh RNN, inference and one training step (forward + BPTT + Adam).
 *
 * | name | batch | seq len | input          | hidden | layers | task                                     |
 * | S    | 32    | 50      | 64             | 128    | 1      | last-state MSE                           |
 * | M    | 64    | 100     | 256            | 512    | 1      | last-state MSE                           |
 * | C    | 32    | 100     | embed 96 -> 64 | 256    | 2      | char LM, softmax over 96, cross-entropy  |
 *
 * GFLOP/s counts the recurrent layers only: forward 2*G*H*(X+H)*B*T per layer, training 3x that.
 * Prints one JSON object per line: {config, cell, mode, backend, seqPerSec, gflops, ms, reps,
 * vsPrevious}; `ms` is the median time of one batch, `vsPrevious` the ratio of seqPerSec to the
 * previous run's (bench/results/latest.json), when there was one.
 *
 * The encoder-decoder case S2S (see SEQ2SEQ in cases.ts) prints {config: "S2S", backend,
 * trainPairsPerSec, trainMs, attentionShare, greedyWordsPerSec, beamWordsPerSec, beam}; --cell and
 * --mode do not apply to it.
 *
 * Flags: --config S|M|C|S2S, --cell lstm|gru|rnn, --mode infer|train, --backend NAME (repeatable or
 * comma-separated), --budget SECONDS per case (default 6), --no-save.
 */
import { parseArgs } from "node:util";
import { backendByName, backendNames } from "./backends.js";
import { type BenchResult, CONFIGS, SEQ2SEQ, type Seq2SeqResult, caseFlags, list, measure, measureSeq2Seq, pickCases } from "./cases.js";
import { Results } from "./results.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...caseFlags,
      backend: { type: "string", multiple: true },
      budget: { type: "string", default: "6" },
      "no-save": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("npm run bench -- [--config S|M|C|S2S] [--cell lstm|gru|rnn] [--mode infer|train] [--backend NAME] [--budget SECONDS] [--no-save]");
    return;
  }
  // S2S is its own kind of case; the recurrent configurations go through pickCases
  const asked = values.config?.flatMap((v) => v.split(",")).map((v) => v.trim());
  const s2s = !asked || asked.includes(SEQ2SEQ.name);
  const rest = asked?.filter((v) => v !== SEQ2SEQ.name);
  const only = asked !== undefined && rest!.length === 0;
  const { configs, cells, modes } = only ? { configs: [], cells: [], modes: [] } : pickCases({ ...values, config: rest });
  const backends = list("backend", values.backend, backendNames);
  const budget = Number(values.budget);
  if (!(budget > 0)) throw new Error(`--budget: expected a positive number of seconds, got ${values.budget}`);

  const saved = new Results<BenchResult>(
    "latest.json", (p, r) => p.config === r.config && p.cell === r.cell && p.mode === r.mode && p.backend === r.backend, (r) => r.seqPerSec,
  );
  const savedS2S = new Results<Seq2SeqResult>("seq2seq.json", (p, r) => p.backend === r.backend, (r) => r.trainPairsPerSec);
  for (const bname of backends) {
    const be = await backendByName(bname);
    if (s2s) console.log(JSON.stringify(savedS2S.add(measureSeq2Seq(be, budget))));
    for (const cname of configs) {
      const c = CONFIGS.find((k) => k.name === cname)!;
      for (const cell of cells) {
        for (const mode of modes) {
          console.log(JSON.stringify(saved.add(measure(c, cell, mode, be, budget))));
        }
      }
    }
  }
  if (!values["no-save"]) {
    saved.save();
    if (s2s) savedS2S.save();
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
