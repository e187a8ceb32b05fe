#!/usr/bin/env node
/**
 * The `rnnkit` command line (commander for parsing, cli-progress for the progress bar):
 *   rnnkit train lm | classify | tag | forecast ...   rnnkit eval | generate | predict | info MODEL ...
 * Every command has --help and --json: with it stdout carries only JSON (one document, or JSON
 * Lines from predict) and an error is {"error": "..."} on stdout, its message on stderr.
 */
import { Command, CommanderError, Option } from "commander";
import type { Backend } from "../backend/backend.js";
import { backendByName, backendNames, getBackend } from "../backend/index.js";

/** The --backend help: the names, one list (src/backend/index.ts). */
const BACKEND_HELP = backendNames.join(", ");
import { defaults } from "../defaults.js";
import { CELLS } from "../models/model.js";
import { rnnkitVersion } from "../io/model-file.js";
import { RnnkitError } from "../tensor.js";
import { lookCommands } from "./look.js";
import { importCommand } from "./import.js";
import { evalCommand, generateCommand, infoCommand, predictCommand, trainClassify, trainForecast, trainLm, trainSeq2seq, trainTag } from "./commands.js";
import { ATTENTIONS } from "../layers/attention.js";
import { exportCommandOn } from "./export.js";


/** The options the user typed (not defaults): a resumed run refuses architecture flags that differ from its file. */
function givenFlags(cmd: Command): Set<string> {
  return new Set(cmd.options.map((x) => x.attributeName()).filter((k) => cmd.getOptionValueSource(k) === "cli"));
}

async function backendFrom(name: string | undefined): Promise<Backend> {
  if (!name) return getBackend();
  return backendByName(name);
}

function trainOptions(cmd: Command, task: keyof typeof defaults.lr): Command {
  return cmd
    .option("--cell <cell>", `${CELLS.join(", ")} (rnn: tanh, rnn_relu: relu)`, "lstm")
    .option("--hidden <n>", "hidden units per layer (default: chosen from the data size)")
    .option("--layers <n>", "stacked recurrent layers", "1")
    .option("--embedding <n>", "embedding size of token models (default: chosen from the vocabulary)")
    .option("--dropout <p>", "dropout between stacked layers", "0")
    .option("--epochs <n>", "passes over the training data (default: unbounded under --time-budget or --steps, else about 2000 steps' worth)")
    .option("--steps <n>", "optimizer steps to train for (also the schedule's horizon)")
    .option("--batch-size <n>", "sequences per batch (default: chosen from the data size)")
    .option("--lr <rate>", "learning rate (the peak of the schedule)", String(defaults.lr[task]))
    .option("--optimizer <name>", "sgd, adam, adamw, rmsprop or adagrad", defaults.optimizer)
    .option("--clip <norm>", "global gradient-norm clipping (0 = off)", String(defaults.clipNorm))
    .option("--schedule <kind>", "learning rate: auto (warm-up, then decay over the run), constant, cosine, wsd[:DECAY_FRACTION] (constant, then a linear decay over the last part), or step:EVERY:GAMMA", "auto")
    .option("--warmup <steps>", "linear learning-rate warm-up steps (default: auto: min(100, 5% of the run); else 0)")
    .addOption(new Option("--keep <which>", "the weights the file ends with: best (validation loss) or last; --resume continues from the last either way").choices(["best", "last"]).default("best"))
    .option("--resume", "continue the training saved in --out (model, optimizer state, epoch, schedule)")
    .option("--force", "replace the file --out names if it exists (without it, an existing file is never replaced)")
    .option("--time-budget <seconds>", "stop (and save) after this wall time; alone, it also sets the schedule's horizon")
    .option("--seed <n>", "random seed: the same seed gives the same run", String(defaults.seed))
    .option("--val-fraction <f>", "held-out fraction for validation", String(defaults.valFraction))
    .option("--backend <name>", `${BACKEND_HELP} (default: the fastest available)`)
    .requiredOption("--out <model.safetensors>", "the model file, rewritten atomically at each checkpoint")
    .option("--quiet", "no progress output")
    .option("--history <run.jsonl>", "write the training history as JSON Lines (loss, lr, throughput every few steps; validation per epoch): rnnkit plot draws it")
    .option("--json", "print only the final result on stdout, as one JSON document (messages go to stderr)");
}

export function program(): Command {
  const p = new Command("rnnkit")
    .description("Recurrent neural networks (RNN, LSTM, GRU): train, evaluate, generate, predict")
    .version(rnnkitVersion())
    .showHelpAfterError()
    // errors come back to main() (which prints {"error": ...} under --json) instead of exiting here
    .exitOverride();
  const train = p.command("train").description("train a model: lm (language model), classify, tag, forecast, seq2seq");
  trainOptions(train.command("lm").description("a language model on plain text (next character or word)"), "lm")
    .option("--text <file>", "a plain-text file")
    .option("--dataset <name>", "a bundled dataset: moby-dick")
    .option("--tokenizer <kind>", "char or word", "char")
    .option("--seq-len <n>", "truncated-BPTT chunk length", String(defaults.lmSeqLen))
    .option("--sample <n>", "characters to generate after training", "300")
    .option("--temperature <t>", "temperature of the sample", "0.8")
    .action(async (o, cmd: Command) => trainLm({ ...o, given: givenFlags(cmd) }, await backendFrom(cmd.opts().backend)));
  trainOptions(train.command("classify").description("a classifier on CSV/JSONL rows of text and label"), "classify")
    .requiredOption("--data <file>", "a .csv, .tsv or .jsonl file")
    .requiredOption("--text-column <name>", "the column holding the text")
    .requiredOption("--label-column <name>", "the column holding the label")
    .option("--tokenizer <kind>", "word or char", "word")
    .option("--max-len <n>", "tokens kept per text (longer texts are cut, with a warning; default: from the lengths)")
    .option("--bidirectional", "read the text both ways (default: when the median text is longer than 50 tokens)")
    .option("--no-bidirectional", "read left to right only")
    .addOption(new Option("--pooling <how>", "sequence summary (default: max for long texts, else last)").choices(["last", "mean", "max"]))
    .addOption(new Option("--class-weights <how>", "auto: weigh the loss by inverse label frequency (imbalanced labels)").choices(["auto", "none"]).default("none"))
    .action(async (o, cmd: Command) => trainClassify({ ...o, given: givenFlags(cmd) }, await backendFrom(cmd.opts().backend)));
  trainOptions(train.command("tag").description("a tagger (one tag per token) on CoNLL (token<TAB>tag lines) or JSONL ({tokens, tags})"), "tag")
    .requiredOption("--data <file>", "a CoNLL file (token<TAB>tag per line, a blank line between sentences) or .jsonl")
    .option("--max-len <n>", "tokens kept per training sentence (longer ones are cut, with a warning; default: from the lengths)")
    .option("--no-bidirectional", "read left to right only (default: both ways, as a tag depends on the words after it too)")
    .option("--lowercase", "lowercase the tokens (a smaller vocabulary)")
    .action(async (o, cmd: Command) => trainTag({ ...o, given: givenFlags(cmd) }, await backendFrom(cmd.opts().backend)));
  trainOptions(train.command("forecast").description("a forecaster on CSV columns of numbers: the next --horizon values from the last --window rows"), "forecast")
    .requiredOption("--data <file>", "a .csv file")
    .requiredOption("--column <name>", "the numeric column to forecast")
    .option("--features <a,b>", "covariate columns read beside the target (each scaled on its own)")
    .option("--window <n>", "past rows the model reads", String(defaults.window))
    .option("--horizon <n>", "future values forecast at once (trained directly)", String(defaults.horizon))
    .action(async (o, cmd: Command) => trainForecast({ ...o, given: givenFlags(cmd) }, await backendFrom(cmd.opts().backend)));

  trainOptions(train.command("seq2seq").description("an encoder-decoder on pairs of strings: TSV, CSV or JSONL with a source and a target column"), "seq2seq")
    .requiredOption("--data <file>", "a .tsv, .csv or .jsonl file whose header names the columns")
    .requiredOption("--source-column <name>", "the column holding the input string")
    .requiredOption("--target-column <name>", "the column holding the output string")
    .option("--tokenizer <kind>", "char or word, for both sides", "char")
    .option("--source-tokenizer <kind>", "char or word for the source side (default: --tokenizer)")
    .option("--target-tokenizer <kind>", "char or word for the target side (default: --tokenizer)")
    .addOption(new Option("--attention <kind>", "the decoder's attention").choices([...ATTENTIONS]).default(defaults.seq2seqAttention))
    .option("--beam <n>", "beam width predict and eval use by default (1 = greedy), saved with the model", String(defaults.beam))
    .option("--max-len <n>", "tokens kept per side (longer ones are cut, with a warning; default: from the lengths)")
    .option("--bidirectional", "a bidirectional encoder")
    .option("--skip-bad-rows", "skip (and count) pairs with a missing or empty side instead of refusing the file")
    .action(async (o, cmd: Command) => trainSeq2seq({ ...o, given: givenFlags(cmd) }, await backendFrom(cmd.opts().backend)));

  p.command("eval").description("evaluate a model: bits per character (lm), accuracy, macro-F1 and confusion matrix (classify), token accuracy (tag), MAE/RMSE/MAPE/sMAPE (forecast), token error rate and exact match (seq2seq)")
    .argument("<model>", "a .safetensors model file")
    .option("--text <file>", "lm: a plain-text file")
    .option("--dataset <name>", "lm: moby-dick (its 10% tail, the validation part)")
    .option("--tail <fraction>", "lm: evaluate only this tail fraction of the text")
    .option("--data <file>", "classify/forecast: a .csv/.jsonl file; tag: CoNLL or .jsonl with tags")
    .option("--text-column <name>", "classify: text column (default: the one trained on)")
    .option("--label-column <name>", "classify: label column (default: the one trained on)")
    .option("--column <name>", "forecast: numeric column (default: the one trained on)")
    .option("--features <a,b>", "forecast: covariate columns (default: those trained on)")
    .option("--source-column <name>", "seq2seq: source column (default: the one trained on)")
    .option("--target-column <name>", "seq2seq: target column (default: the one trained on)")
    .option("--beam <n>", "seq2seq: beam width (default: the one saved with the model)")
    .option("--skip-bad-rows", "seq2seq: skip (and count) pairs with a missing or empty side")
    .option("--backend <name>", BACKEND_HELP)
    .option("--json", "print the result as one JSON document")
    .action(async (model: string, o) => evalCommand(model, o, await backendFrom(o.backend)));
  p.command("generate").description("generate text with a language model")
    .argument("<model>", "a .safetensors model file")
    .option("--prompt <text>", "text to start from")
    .option("--length <n>", "tokens to generate", "300")
    .option("--temperature <t>", "0 = greedy; 1 = the model's distribution", "0.8")
    .option("--top-k <k>", "sample among the k most likely (0 = all)", "0")
    .option("--top-p <p>", "nucleus sampling threshold (1 = all)", "1")
    .option("--seed <n>", "random seed", "1")
    .option("--backend <name>", BACKEND_HELP)
    .option("--json", "print the result as one JSON document")
    .action(async (model: string, o) => generateCommand(model, o, await backendFrom(o.backend)));
  p.command("predict").description("one line per input row, in order: the label (classify), the tagged sentence (tag), the one-step-ahead forecast then the horizon past the end (forecast), the output string (seq2seq)")
    .argument("<model>", "a .safetensors model file")
    .requiredOption("--data <file>", "a .csv/.jsonl file; tag: CoNLL (the tag column may be missing) or .jsonl")
    .option("--text-column <name>", "classify: text column (default: the one trained on)")
    .option("--column <name>", "forecast: numeric column (default: the one trained on)")
    .option("--features <a,b>", "forecast: covariate columns (default: those trained on)")
    .option("--source-column <name>", "seq2seq: source column (default: the one trained on)")
    .option("--beam <n>", "seq2seq: beam width (default: the one saved with the model)")
    .option("--backend <name>", BACKEND_HELP)
    .option("--json", "JSON Lines: one object per row (classify: label and probabilities; seq2seq: output and score)")
    .action(async (model: string, o) => predictCommand(model, o, await backendFrom(o.backend)));
  p.command("info").description("what a model file holds: task, architecture, parameter table, format and rnnkit version")
    .argument("<model>", "a .safetensors model file")
    .option("--json", "print it as one JSON document")
    .action(async (model: string, o) => infoCommand(model, o, getBackend()));
  exportCommandOn(p);
  p.command("serve").description("serve a model over HTTP: POST /predict {\"inputs\": [...]}, GET /health, GET /model")
    .argument("<model>", "a .safetensors model file")
    .option("--port <n>", "TCP port (0: any free one)", "8080")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--max-batch <n>", "the most inputs in one forward pass", String(defaults.serveMaxBatch))
    .option("--max-wait-ms <ms>", "how long a request waits for others to share its batch", String(defaults.serveMaxWaitMs))
    .option("--body-limit <bytes>", "the largest request body", String(defaults.serveBodyLimit))
    .option("--queue-limit <n>", "inputs waiting before requests get 503", String(defaults.serveQueueLimit))
    .option("--timeout-ms <ms>", "the longest a request waits for its answer", String(defaults.serveTimeoutMs))
    .option("--cors <origin>", "allow this origin to call from a browser (off by default)")
    .option("--backend <name>", BACKEND_HELP)
    // fastify loads only for `rnnkit serve`: the other commands never pay for the HTTP stack
    .action(async (model: string, o) => (await import("./serve.js")).serveCommand(model, o, await backendFrom(o.backend)));
  lookCommands(p);
  importCommand(p, backendFrom);
  return p;
}

const json = process.argv.includes("--json");

// `rnnkit predict ... | head -1`: the reader went away; stop quietly
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

function fail(message: string, code: number): never {
  if (json) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
  process.exit(code);
}

program()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    if (e instanceof CommanderError) {
      // commander has printed its message (and the help) on stderr already
      if (e.exitCode === 0) process.exit(0); // --help, --version
      fail(e.message.replace(/^error: /, ""), e.exitCode || 1);
    }
    if (e instanceof RnnkitError) {
      process.stderr.write(`rnnkit: ${e.message}\n`);
      fail(e.message, 1);
    }
    // a bug, not a user error: the stack helps the report
    process.stderr.write(`rnnkit: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    fail(`internal error: ${e instanceof Error ? e.message : String(e)}`, 2);
  });
