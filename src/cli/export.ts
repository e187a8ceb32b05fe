/**
 * `rnnkit export MODEL --format onnx|tfjs|safetensors [--weights-only] --out PATH`: a model file
 * for deployment.
 *
 * - onnx: one graph (`--out model.onnx`); a seq2seq model gives two, `<name>.encoder.onnx` and
 *   `<name>.decoder.onnx` beside `--out` (src/io/onnx.ts and the README's "Deploying" hold the
 *   contract). The tokenizer and task info ride along in the graphs' metadata (`rnnkit.tokenizer`,
 *   `rnnkit.info`); a forecaster's scaler is in the graph itself.
 * - tfjs: `--out` is a folder that receives model.json and its weight shards; the tokenizer and
 *   task info are in model.json's `userDefinedMetadata.rnnkit`.
 * - safetensors with --weights-only: the model, tokenizer, scaler and task info without the
 *   optimizer state and the last-weights copy a checkpoint carries (Adam's two moments alone are
 *   twice the weights).
 * Outputs are claimed first (src/cli/out.ts): nothing existing is replaced without --force.
 */
import { type Command, Option } from "commander";
import { existsSync } from "node:fs";
import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { loadModel, modelToBytes } from "../io/model-file.js";
import { writeFileAtomic } from "../io/safetensors.js";
import { Seq2Seq } from "../models/seq2seq.js";
import { RnnkitError } from "../tensor.js";
import { note, report } from "./commands.js";
import { claimOut, claimOutDir } from "./out.js";

export const EXPORT_FORMATS = ["onnx", "tfjs", "safetensors"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportFlags {
  format: ExportFormat;
  out: string;
  weightsOnly?: boolean;
  force?: boolean;
  json?: boolean;
}

export async function exportCommand(path: string, o: ExportFlags, backend: Backend): Promise<void> {
  if (!existsSync(path)) throw new RnnkitError(`${path}: no such model file`);
  if (!EXPORT_FORMATS.includes(o.format)) throw new RnnkitError(`--format: expected one of ${EXPORT_FORMATS.join(", ")}, got ${JSON.stringify(o.format)}`);
  if (o.format === "safetensors" && !o.weightsOnly) throw new RnnkitError("--format safetensors: expected --weights-only (the file is already a .safetensors model; --weights-only drops the optimizer state)");
  const saved = loadModel(path, { backend });
  const { model } = saved;
  const meta: Record<string, string> = {};
  if (saved.tokenizer) meta["rnnkit.tokenizer"] = JSON.stringify(saved.tokenizer.toJSON());
  if (saved.info) meta["rnnkit.info"] = JSON.stringify(saved.info);
  let files: string[];
  if (o.format === "onnx") {
    // the writers (and protobufjs) load when this command runs, not at every CLI start
    const { exportOnnx, exportSeq2SeqOnnx } = await import("../io/onnx.js");
    if (model instanceof Seq2Seq) {
      if (!o.out.endsWith(".onnx")) throw new RnnkitError(`--out: expected a path ending in .onnx, got ${JSON.stringify(o.out)}`);
      const base = o.out.slice(0, -".onnx".length);
      files = [`${base}.encoder.onnx`, `${base}.decoder.onnx`];
      for (const f of files) claimOut(f, { force: o.force, ext: ".onnx", resumable: false });
      const g = exportSeq2SeqOnnx(model, { metadata: meta });
      writeFileAtomic(files[0], g.encoder);
      writeFileAtomic(files[1], g.decoder);
    } else {
      claimOut(o.out, { force: o.force, ext: ".onnx", resumable: false });
      writeFileAtomic(o.out, exportOnnx(model, { metadata: meta, ...(saved.scaler ? { scaler: saved.scaler } : {}) }));
      files = [o.out];
    }
  } else if (o.format === "tfjs") {
    const { exportTfjs } = await import("../io/tfjs.js");
    const { tfjsFileNames, writeTfjsModel } = await import("./tfjs-files.js");
    const art = exportTfjs(model);
    art.userDefinedMetadata = {
      rnnkit: { info: saved.info ?? { task: model.task }, ...(saved.tokenizer ? { tokenizer: saved.tokenizer.toJSON() } : {}), ...(saved.scaler ? { scaler: saved.scaler.toJSON() } : {}) },
    };
    if (saved.scaler) note(`note: the TF.js model reads and returns scaled numbers; the scaler is in model.json's userDefinedMetadata.rnnkit.scaler (the ONNX export applies it in the graph)`);
    claimOutDir(o.out, tfjsFileNames(art), { force: o.force });
    files = writeTfjsModel(o.out, art);
  } else {
    claimOut(o.out, { force: o.force, resumable: false });
    const extras: Parameters<typeof modelToBytes>[1] = {};
    if (saved.tokenizer) extras.tokenizer = saved.tokenizer;
    if (saved.scaler) extras.scaler = saved.scaler;
    if (saved.info) extras.info = saved.info;
    writeFileAtomic(o.out, modelToBytes(model, extras));
    files = [o.out];
  }
  model.dispose();
  report({ format: o.format, files, task: model.task }, o.json, `wrote ${files.join(", ")} (${o.format}${o.weightsOnly ? ", weights only" : ""})`);
}

/** Registers `rnnkit export` on the program (src/cli/main.ts). */
export function exportCommandOn(p: Command): void {
  p.command("export").description("a model for deployment: ONNX (ONNX Runtime), a TensorFlow.js layers model, or the weights without the optimizer state")
    .argument("<model>", "a .safetensors model file")
    .addOption(new Option("--format <format>", "onnx, tfjs, or safetensors (with --weights-only)").choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .option("--weights-only", "safetensors: drop the optimizer state and the last-weights copy of a checkpoint")
    .requiredOption("--out <path>", "onnx: model.onnx (seq2seq: <name>.encoder.onnx and <name>.decoder.onnx); tfjs: a folder for model.json and its shards; safetensors: the file")
    .option("--force", "replace what --out names if it exists")
    .option("--json", "print the result as one JSON document")
    .action(async (model: string, o: ExportFlags) => exportCommand(model, o, getBackend()));
}
