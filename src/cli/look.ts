/**
 * The commands that look inside models and runs, registered on the program: `rnnkit inspect`,
 * `rnnkit plot`, `rnnkit experiment memory`. Their code (src/cli/inspect.ts) and the drawing
 * libraries load only when one of them runs.
 */
import { type Command, Option } from "commander";
import { backendByName, getBackend } from "../backend/index.js";
import { defaults } from "../defaults.js";

export function lookCommands(p: Command): void {
  const backend = async (name: string | undefined) => (name ? backendByName(name) : getBackend());
  p.command("inspect").description("draw what a model does on one input: gates and states over time per layer and direction, the gradient norm through time, attention (seq2seq), the parameter table; SVG and PNG")
    .argument("<model>", "a .safetensors model file")
    .option("--input <text>", "lm, classify, tag, seq2seq: the text to run (tag: tokens split at spaces)")
    .option("--data <file>", "a data file to take one row from instead (classify: .csv/.jsonl with the text column; forecast: the .csv of the series)")
    .option("--row <n>", "the row of --data (1-based; forecast: the window ending at this row)", "1")
    .option("--text-column <name>", "classify: the text column of --data (default: the one trained on)")
    .requiredOption("--out-dir <dir>", "where the files go (l0-forward-gates.svg, ...)")
    .option("--force", "replace files that exist in --out-dir")
    .option("--backend <name>", "js or wasm")
    .option("--json", "print the written files and the numbers as one JSON document")
    .action(async (model: string, o) => (await import("./inspect.js")).inspectCommand(model, o, await backend(o.backend)));
  p.command("plot").description("draw a training history (rnnkit train --history run.jsonl): the loss curve and the validation metric")
    .argument("<history>", "a .jsonl history file")
    .requiredOption("--out-dir <dir>", "where loss.svg and loss.png go")
    .option("--force", "replace files that exist in --out-dir")
    .option("--json", "print the written files as one JSON document")
    .action(async (history: string, o) => (await import("./inspect.js")).plotCommand(history, o));
  const experiment = p.command("experiment").description("experiments: memory (delayed recall: the RNN, LSTM and GRU against the delay)");
  experiment.command("memory").description(`delayed recall: one of K symbols, N distractor steps, name the symbol; tanh RNN, LSTM, GRU at equal hidden size for N = ${defaults.memoryDelays.join(", ")} and at equal parameter count for the two longest`)
    .option("--quick", `a smoke run (${defaults.memoryQuickSteps} steps per run, ${defaults.memoryQuickTestSize} test sequences; under a minute)`)
    .option("--delays <list>", "comma-separated N values", defaults.memoryDelays.join(","))
    .option("--hidden <n>", "the equal hidden size", String(defaults.memoryHidden))
    .option("--symbols <k>", "K symbols", String(defaults.memorySymbols))
    .option("--steps <n>", `optimizer steps per run (default ${defaults.memorySteps}; --quick ${defaults.memoryQuickSteps})`)
    .option("--seeds <n>", `independent runs of each configuration (default ${defaults.memorySeeds}; --quick 1)`)
    .option("--lr <rate>", "Adam's learning rate", String(defaults.memoryLr))
    .option("--gate-init <init>", "the LSTM forget gate's and GRU update gate's initial biases: chrono (Tallec & Ollivier 2018), pytorch (PyTorch's init), or a number (that constant bias; 1: Jozefowicz et al. 2015)", String(defaults.memoryGateInit))
    .option("--seed <n>", "random seed", String(defaults.seed))
    .option("--out-dir <dir>", "also write memory.json, memory.md and the plots (accuracy, gradient norm) here")
    .option("--force", "replace files that exist in --out-dir")
    .addOption(new Option("--backend <name>", "js or wasm"))
    .option("--json", "print the result as one JSON document")
    .action(async (o) => (await import("./inspect.js")).memoryCommand(o, await backend(o.backend)));
}
