/**
 * TensorFlow.js layers models on disk: a folder with `model.json` and its weight shards
 * (`group1-shard1of2.bin`, ...), as `model.save("file://...")` writes them.
 *
 * Reading checks everything the files claim before reading the shards: model.json's size (it is
 * JSON, at most `MAX_MODEL_JSON` bytes), each shard path (a plain file beside model.json: no
 * absolute path, no "..", no URL) and each shard's size on disk against the manifest's weights.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { defaults } from "../defaults.js";
import { writeFileAtomic } from "../io/safetensors.js";
import { type TfjsArtifacts, type TfjsModelJson, tfjsModelJson, tfjsShards } from "../io/tfjs.js";
import { RnnkitError } from "../tensor.js";

/** The largest model.json read (a topology is small; the weights are in the shards). */
const MAX_MODEL_JSON = 64 * 1024 * 1024;

/** Reads `model.json` and its shards (in manifest order) for `loadTfjsModel(json, shards, { source })`. */
export function readTfjsModel(path: string): { json: TfjsModelJson; shards: Uint8Array[] } {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) return readTfjsModel(join(path, "model.json"));
    size = st.size;
  } catch (e) {
    throw new RnnkitError(`${path}: cannot read the model.json: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > MAX_MODEL_JSON) throw new RnnkitError(`${path}: expected a model.json of at most ${MAX_MODEL_JSON} bytes (weights live in the shards), got ${size}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new RnnkitError(`${path}: expected a TensorFlow.js model.json, got text that does not parse as JSON: ${(e as Error).message}`);
  }
  if (!json || typeof json !== "object" || !Array.isArray((json as TfjsModelJson).weightsManifest)) {
    throw new RnnkitError(`${path}: expected a model.json with a weightsManifest (what tf.LayersModel.save writes), got ${json && typeof json === "object" ? `keys ${Object.keys(json).join(", ")}` : typeof json}`);
  }
  const dir = dirname(path);
  const shards: Uint8Array[] = [];
  let total = 0;
  for (const [gi, g] of (json as TfjsModelJson).weightsManifest!.entries()) {
    if (!g || !Array.isArray(g.paths)) throw new RnnkitError(`${path}: weightsManifest[${gi}].paths: expected an array of shard file names, got ${JSON.stringify(g?.paths)}`);
    for (const p of g.paths) {
      if (typeof p !== "string" || !p || isAbsolute(p) || /^[a-z]+:/i.test(p) || normalize(p).split(sep).includes("..")) {
        throw new RnnkitError(`${path}: shard path ${JSON.stringify(p)}: expected a file name beside model.json (no absolute path, URL or ..)`);
      }
      const file = join(dir, p);
      let n: number;
      try {
        n = statSync(file).size;
      } catch (e) {
        throw new RnnkitError(`${path}: shard ${p}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      total += n;
      // float32 weights: nothing past the parameter budget is read
      if (total > 4 * defaults.maxParameters) throw new RnnkitError(`${path}: the shards hold more than 4 x defaults.maxParameters = ${4 * defaults.maxParameters} bytes (at ${p})`);
      shards.push(new Uint8Array(readFileSync(file)));
    }
  }
  return { json: json as TfjsModelJson, shards };
}

/** The files of a TF.js export in a folder: `model.json` and `group1-shard{i}of{n}.bin`, each written atomically. */
export function tfjsFileNames(artifacts: TfjsArtifacts, shardBytes: number = defaults.tfjsShardBytes): string[] {
  const n = tfjsShards(artifacts, shardBytes).length;
  return ["model.json", ...Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`)];
}

export function writeTfjsModel(dir: string, artifacts: TfjsArtifacts, shardBytes: number = defaults.tfjsShardBytes): string[] {
  const shards = tfjsShards(artifacts, shardBytes);
  const names = tfjsFileNames(artifacts, shardBytes).slice(1);
  shards.forEach((s, i) => writeFileAtomic(join(dir, names[i]), s));
  writeFileAtomic(join(dir, "model.json"), new TextEncoder().encode(`${JSON.stringify(tfjsModelJson(artifacts, names))}\n`));
  return ["model.json", ...names].map((n) => join(dir, n));
}
