#!/usr/bin/env node
/**
 * The `rnnkit` command line (commander for parsing, cli-progress for the progress bar):
 *   rnnkit train lm | classify | forecast ...   rnnkit eval | generate | predict MODEL ...
 * Every command has --help and --json (the final result as one JSON object, last on stdout).
 */
import { Command, Option } from "commander";
import type { Backend } from "../backend/backend.js";
import { backendByName, getBackend } from "../backend/index.js";
import { defaults } from "../defaults.js";
import { rnnkitVersion } from "../io/model-file.js";
import { RnnkitError } from "../tensor.js";
import { evalCommand, generateCommand, predictCommand, trainClassify, trainForecast, trainLm } from "./commands.js";


async function backendFrom(name: string | undefined): Promise<Backend> {
  if (!name) return getBackend();
  return backendByName(name);
}

function trainOptions(cmd: Command, d: { hidden: number; epochs: number; batch: number; lr: number }): Command {
  return cmd
    .option("--cell <cell>", "lstm, gru or rnn", "lstm")
    .option("--hidden <n>", "hidden units per layer", String(d.hidden))
    .option("--layers <n>", "stacked recurrent layers", "1")
    .option("--embedding <n>", "embedding size (token models)", String(defaults.embeddingDim))
    .option("--dropout <p>", "dropout between stacked layers", "0")
    .option("--epochs <n>", "passes over the training data", String(d.epochs))
    .option("--batch-size <n>", "sequences per batch", String(d.batch))
    .option("--lr <rate>", "learning rate", String(d.lr))
    .option("--optimizer <name>", "sgd, adam, adamw, rmsprop or adagrad", defaults.optimizer)
    .option("--clip <norm>", "global gradient-norm clipping (0 = off)", String(defaults.clipNorm))
    .option("--schedule <kind>", "learning rate: constant, cosine, or step:EVERY:GAMMA", "constant")
    .option("--warmup <steps>", "linear learning-rate warm-up steps", "0")
    .option("--resume", "continue the training saved in --out (model, optimizer state, epoch)")
    .option("--time-budget <seconds>", "stop (and save) after this wall time")
    .option("--seed <n>", "random seed: the same seed gives the same run", String(defaults.seed))
    .option("--val-fraction <f>", "held-out fraction for validation", "0.1")
    .option("--backend <name>", "js or wasm (default: the fastest available)")
    .requiredOption("--out <model.safetensors>", "the model file, rewritten atomically at each checkpoint")
    .option("--quiet", "no progress output")
    .option("--json", "print the final result as one JSON object, last on stdout");
}

export function program(): Command {
  const p = new Command("rnnkit")
    .description("Recurrent neural networks (RNN, LSTM, GRU): train, evaluate, generate, predict")
    .version(rnnkitVersion())
    .showHelpAfterError();
  const train = p.command("train").description("train a model: lm (language model), classify, forecast");
  trainOptions(train.command("lm").description("a language model on plain text (next character or word)"), { hidden: 256, epochs: 5, batch: 32, lr: 0.003 })
    .option("--text <file>", "a plain-text file")
    .option("--dataset <name>", "a bundled dataset: moby-dick")
    .option("--tokenizer <kind>", "char or word", "char")
    .option("--seq-len <n>", "truncated-BPTT chunk length", String(defaults.seqLen))
    .option("--sample <n>", "characters to generate after training", "300")
    .option("--temperature <t>", "temperature of the sample", "0.8")
    .action(async (o, cmd: Command) => trainLm(o, await backendFrom(cmd.opts().backend)));
  trainOptions(train.command("classify").description("a classifier on CSV/JSONL rows of text and label"), { hidden: 128, epochs: 10, batch: 32, lr: 0.003 })
    .requiredOption("--data <file>", "a .csv, .tsv or .jsonl file")
    .requiredOption("--text-column <name>", "the column holding the text")
    .requiredOption("--label-column <name>", "the column holding the label")
    .option("--tokenizer <kind>", "word or char", "word")
    .option("--max-len <n>", "tokens kept per text", "200")
    .option("--bidirectional", "read the text both ways")
    .addOption(new Option("--pooling <how>", "sequence summary").choices(["last", "mean", "max"]).default("last"))
    .action(async (o, cmd: Command) => trainClassify(o, await backendFrom(cmd.opts().backend)));
  trainOptions(train.command("forecast").description("a one-step-ahead forecaster on a CSV column of numbers"), { hidden: 64, epochs: 20, batch: 32, lr: 0.003 })
    .requiredOption("--data <file>", "a .csv file")
    .requiredOption("--column <name>", "the numeric column to forecast")
    .option("--window <n>", "past values the model reads", "24")
    .action(async (o, cmd: Command) => trainForecast(o, await backendFrom(cmd.opts().backend)));

  p.command("eval").description("evaluate a model: bits per character (lm), accuracy (classify), MAE (forecast)")
    .argument("<model>", "a .safetensors model file")
    .option("--text <file>", "lm: a plain-text file")
    .option("--dataset <name>", "lm: moby-dick (its 10% tail, the validation part)")
    .option("--tail <fraction>", "lm: evaluate only this tail fraction of the text")
    .option("--data <file>", "classify/forecast: a .csv/.jsonl file")
    .option("--text-column <name>", "classify: text column (default: the one trained on)")
    .option("--label-column <name>", "classify: label column (default: the one trained on)")
    .option("--column <name>", "forecast: numeric column (default: the one trained on)")
    .option("--backend <name>", "js or wasm")
    .option("--json", "print the result as one JSON object")
    .action(async (model: string, o) => evalCommand(model, o, await backendFrom(o.backend)));
  p.command("generate").description("generate text with a language model")
    .argument("<model>", "a .safetensors model file")
    .option("--prompt <text>", "text to start from")
    .option("--length <n>", "tokens to generate", "300")
    .option("--temperature <t>", "0 = greedy; 1 = the model's distribution", "0.8")
    .option("--top-k <k>", "sample among the k most likely (0 = all)", "0")
    .option("--top-p <p>", "nucleus sampling threshold (1 = all)", "1")
    .option("--seed <n>", "random seed", "1")
    .option("--backend <name>", "js or wasm")
    .option("--json", "print the result as one JSON object")
    .action(async (model: string, o) => generateCommand(model, o, await backendFrom(o.backend)));
  p.command("predict").description("one prediction per line: a label per row (classify), forecasts (forecast)")
    .argument("<model>", "a .safetensors model file")
    .requiredOption("--data <file>", "a .csv/.jsonl file")
    .option("--text-column <name>", "classify: text column (default: the one trained on)")
    .option("--column <name>", "forecast: numeric column (default: the one trained on)")
    .option("--backend <name>", "js or wasm")
    .option("--json", "print a summary as one JSON object, last")
    .action(async (model: string, o) => predictCommand(model, o, await backendFrom(o.backend)));
  return p;
}

program()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    if (e instanceof RnnkitError) {
      process.stderr.write(`rnnkit: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  });
