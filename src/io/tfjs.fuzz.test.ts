/**
 * A fuzz suite for TensorFlow.js imports: seeded mutations of real TF.js artifacts (any value of
 * the topology or the manifest replaced by a hostile one or removed, the weight data cut or
 * grown, the shards split wrongly) each either import a model that runs or end in an
 * RnnkitError, never another exception; what an import allocates in the backend stays within
 * `MEMORY_FACTOR` x the weight bytes, whatever the topology claims.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { Rng } from "../rng.js";
import { RnnkitError } from "../tensor.js";
import { type TfjsModelJson, loadTfjsModel } from "./tfjs.js";
import { CountingBackend } from "../testing.js";

type TF = typeof import("@tensorflow/tfjs");
const tf = createRequire(import.meta.url)("@tensorflow/tfjs") as TF;
await tf.setBackend("cpu");

/** Backend floats per weight byte an import may take (weights, gradients, sum/ave folds double weight_ih). */
const MEMORY_FACTOR = 3;

async function artifacts(m: import("@tensorflow/tfjs").LayersModel): Promise<{ json: TfjsModelJson; data: Uint8Array }> {
  let out: { json: TfjsModelJson; data: Uint8Array } | null = null;
  await m.save(tf.io.withSaveHandler(async (a) => {
    out = { json: { modelTopology: a.modelTopology, format: "layers-model", weightsManifest: [{ paths: ["a.bin", "b.bin"], weights: a.weightSpecs as TfjsModelJson["weightSpecs"] & object }] }, data: new Uint8Array(a.weightData as ArrayBuffer) };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  return out!;
}

const L = tf.layers;
const BAD: unknown[] = [null, undefined, -1, 0, 1.5, 1e9, 2 ** 31, "7", "", [], {}, true, NaN, "lstm", "hard_sigmoid", "softmax", "Bidirectional", "mul", [1e9, 1e9], [-1, 3]];

/** Every [parent, key] of a JSON value, depth first. */
function slots(v: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []): typeof out {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), slots(x, out)));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) (out.push([v as Record<string, unknown>, k]), slots(x, out));
  return out;
}

test("tfjs import fuzz: every mutation imports a working model or is an RnnkitError, within bounded memory", async () => {
  const sources = await Promise.all([
    tf.sequential({ layers: [L.embedding({ inputDim: 9, outputDim: 3, maskZero: true, inputShape: [null] }), L.bidirectional({ layer: L.lstm({ units: 3, returnSequences: true }) as never, mergeMode: "sum" }), L.dropout({ rate: 0.1 }), L.bidirectional({ layer: L.lstm({ units: 3 }) as never, mergeMode: "ave" }), L.dense({ units: 2, activation: "softmax" })] }),
    tf.sequential({ layers: [L.masking({ maskValue: 0, inputShape: [null, 2] }), L.gru({ units: 4, returnSequences: true }), L.gru({ units: 4 }), L.dense({ units: 1 })] }),
    tf.sequential({ layers: [L.embedding({ inputDim: 7, outputDim: 2, inputShape: [null] }), L.simpleRNN({ units: 3, returnSequences: true }), L.timeDistributed({ layer: L.dense({ units: 7, activation: "softmax" }) })] }),
  ].map(artifacts));
  const rng = new Rng(12345);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rng.next() * a.length)];
  let imported = 0, refused = 0;
  for (let i = 0; i < 600; i++) {
    const src = sources[i % sources.length];
    const json = JSON.parse(JSON.stringify(src.json)) as TfjsModelJson;
    let data: Uint8Array | Uint8Array[] = src.data;
    const kind = Math.floor(rng.next() * 4);
    if (kind <= 1) {
      const [parent, key] = pick(slots(json));
      if (kind === 0) (parent as Record<string | number, unknown>)[key] = pick(BAD);
      else if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (kind === 2) {
      const n = src.data.byteLength;
      data = pick([src.data.subarray(0, Math.floor(rng.next() * n)), new Uint8Array(n + 4 * (1 + Math.floor(rng.next() * 9))), new Uint8Array(0)]);
    }
    // shards: usually the two named paths, split anywhere
    if (!(data instanceof Uint8Array && data !== src.data) && rng.next() < 0.7) {
      const cut = Math.floor(rng.next() * src.data.byteLength);
      data = [src.data.subarray(0, cut), src.data.subarray(cut)];
    }
    const be = new CountingBackend();
    try {
      const r = loadTfjsModel(json, data, { backend: be });
      const c = r.model.config;
      const out = r.model.forward(c.vocabSize ? { T: 2, B: 1, lengths: [2], tokens: [1, 1] } : { T: 2, B: 1, lengths: [2], inputs: new Array(2 * c.inputSize!).fill(0.5) });
      assert.ok(out.logits.data.every(Number.isFinite), "finite outputs");
      const bytes = Array.isArray(data) ? data.reduce((s, d) => s + d.byteLength, 0) : data.byteLength;
      assert.ok(be.floats * 4 <= MEMORY_FACTOR * bytes + 65536, `mutation ${i}: ${be.floats * 4} bytes allocated for ${bytes} bytes of weights`);
      r.model.dispose();
      imported++;
    } catch (e) {
      if (!(e instanceof RnnkitError)) throw new Error(`mutation ${i} (kind ${kind}): ${e instanceof Error ? e.stack : String(e)}`);
      refused++;
    }
  }
  assert.ok(imported > 50 && refused > 50, `both outcomes occur: ${imported} imported, ${refused} refused`);
});
