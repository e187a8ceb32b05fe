#!/usr/bin/env node
/**
 * The `rnnkit` command. The engine ships first; training, generation and evaluation commands
 * come with the trainer. For now it prints help and the version.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

const HELP = `rnnkit ${pkg.version}: recurrent neural networks (RNN, LSTM, GRU) for TypeScript

Usage: rnnkit [--help] [--version]

The library is available now:
  import { LSTM, GRU, RNN } from "rnnkit";
The command-line trainer (rnnkit train | generate | predict | eval) is not built yet.
Benchmarks: npm run bench -- --config S --cell lstm --mode train
`;

function main(argv: string[]): number {
  let values: { help?: boolean; version?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" } },
    }));
  } catch (e) {
    process.stderr.write(`rnnkit: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.version) {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  if (positionals.length > 0 && !values.help) {
    process.stderr.write(`rnnkit: unknown command ${JSON.stringify(positionals[0])}: no commands exist yet\n\n${HELP}`);
    return 2;
  }
  process.stdout.write(HELP);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
