#!/usr/bin/env node
// Builds the WebAssembly SIMD kernels of the wasm backend, twice from one source:
//   src/backend/wasm/assembly/kernels.as  ->  dist/src/backend/wasm/kernels.wasm          (SIMD128)
//                                         ->  dist/src/backend/wasm/kernels-relaxed.wasm  (+ relaxed SIMD)
// The second build adds `--enable relaxed-simd`, which makes ASC_FEATURE_RELAXED_SIMD true, so the
// helpers of kernels.as (madd, nmadd, vselect) emit f32x4.relaxed_madd and friends; the backend
// picks it at start where the engine validates it (src/backend/wasm/wasm.ts).
//
// The source is AssemblyScript. It is named `.as` (not `.ts`) so that tsc, whose project includes
// src/**/*.ts, never type-checks it; the AssemblyScript compiler only opens `.ts` entry files, so it
// is handed the source under the name `kernels.ts` through the compiler API's readFile hook.
//
// Usage: node scripts/build-wasm.mjs [--wat] [--outDir DIR]
//   --wat also writes kernels.wat and kernels-relaxed.wat next to the binaries; --outDir DIR writes
//   DIR/src/backend/wasm/kernels{,-relaxed}.wasm
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = join(root, "src/backend/wasm/assembly");
// --outDir DIR: the compiled tree's root (default dist); the binary goes to DIR/src/backend/wasm/
const outRootArg = process.argv.indexOf("--outDir");
const outRoot = outRootArg >= 0 ? resolve(process.argv[outRootArg + 1]) : join(root, "dist");
const outDir = join(outRoot, "src/backend/wasm");
mkdirSync(outDir, { recursive: true });

// Keep in sync with MAX_PAGES in src/backend/wasm/wasm.ts (the imported memory's maximum may not exceed it).
const MAX_PAGES = 65536; // 4 GiB

/** The two builds: file name and the extra features (keep the names in sync with WASM_SIMD_FILES in wasm.ts). */
const builds = [
  { file: "kernels.wasm", features: [] },
  { file: "kernels-relaxed.wasm", features: ["relaxed-simd"] },
];
const written = [];
for (const { file, features } of builds) {
  const outFile = join(outDir, file);
  const args = [
    join(srcDir, "kernels.ts"),
    "--outFile", outFile,
    "-O3", "--noAssert", "--converge",
    "--runtime", "stub",
    "--enable", "simd",
    "--enable", "threads",
    ...features.flatMap((f) => ["--enable", f]),
    "--importMemory", "--sharedMemory",
    "--initialMemory", "1",
    "--maximumMemory", String(MAX_PAGES),
    "--use", "abort=",
  ];
  if (process.argv.includes("--wat")) args.push("--textFile", outFile.replace(/\.wasm$/, ".wat"));

  const { error, stderr } = await asc.main(args, {
    readFile(filename, baseDir) {
      const p = resolve(baseDir, filename);
      if (existsSync(p)) return readFileSync(p, "utf8");
      // the entry (and any sibling module) is stored as .as
      if (p.startsWith(srcDir) && p.endsWith(".ts")) {
        const as = p.slice(0, -3) + ".as";
        if (existsSync(as)) return readFileSync(as, "utf8");
      }
      return null;
    },
  });
  if (error) {
    process.stderr.write(stderr.toString());
    process.stderr.write(`build-wasm: ${file}: ${error.message}\n`);
    process.exit(1);
  }
  const bytes = readFileSync(outFile);
  // The module must carry no data segments and no start function: every worker instantiates it on
  // the same shared memory, and re-initialising data would overwrite live arrays.
  for (const id of sectionIds(bytes)) {
    if (id === 8 || id === 11) {
      process.stderr.write(`build-wasm: ${outFile} has a ${id === 8 ? "start" : "data"} section; it must have none\n`);
      process.exit(1);
    }
  }
  written.push(bytes);
  console.log(`build-wasm: wrote ${outFile} (${bytes.length} bytes)`);
}
// the relaxed build must differ (a compiler that ignored the feature would ship SIMD128 twice)
if (Buffer.compare(written[0], written[1]) === 0) {
  process.stderr.write("build-wasm: kernels-relaxed.wasm is identical to kernels.wasm: relaxed SIMD was not enabled\n");
  process.exit(1);
}

/** The ids of the sections of a wasm binary. */
function sectionIds(b) {
  const ids = [];
  let i = 8; // magic + version
  while (i < b.length) {
    const id = b[i++];
    let size = 0, shift = 0, byte;
    do {
      byte = b[i++];
      size |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    ids.push(id);
    i += size >>> 0;
  }
  return ids;
}
