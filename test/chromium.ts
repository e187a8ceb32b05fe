/**
 * Headless Chromium for the browser test and the browser benchmark: Debian's `chromium` (or
 * $RNNKIT_CHROMIUM) driven by playwright-core, and a static server over the project (sirv), with
 * or without the headers that make a page cross-origin isolated (shared memory, worker threads).
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import sirv from "sirv";

/** The project's root (this file runs from dist/test/). */
export const projectRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

function findChromium(): string {
  const candidates = [process.env.RNNKIT_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) {
    throw new Error(
      "this needs Chromium: install Debian's package (`apt-get install chromium`, as .ci/run does) " +
        "or set RNNKIT_CHROMIUM to a Chrome or Chromium binary",
    );
  }
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    // as root in CI: no sandbox; no background traffic on a machine without network
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A local static server over the project; `isolated` adds COOP same-origin and COEP require-corp. */
export async function serveProject(isolated: boolean): Promise<{ server: Server; origin: string }> {
  const files = sirv(projectRoot, {
    dev: true,
    setHeaders(res) {
      if (isolated) {
        res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
        res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
      }
    },
  });
  const server = createServer((req, res) => files(req, res, () => {
    res.statusCode = 404;
    res.end("not found");
  }));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Bundles `entry` (a compiled module under dist/) into `outfile` for the browser. With
 * `shipped`, the library's entry (../src/index.js) stays external as the shipped bundle
 * (/dist/browser/rnnkit.js), so what runs is what users get.
 */
export async function bundleForBrowser(entry: string, outfile: string, shipped: boolean): Promise<void> {
  await build({
    entryPoints: [resolve(projectRoot, entry)],
    outfile: resolve(projectRoot, outfile),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "warning",
    loader: { ".wasm": "binary" },
    define: { RNNKIT_VERSION: JSON.stringify((JSON.parse(readFileSync(resolve(projectRoot, "package.json"), "utf8")) as { version: string }).version) },
    plugins: shipped
      ? [{
        name: "shipped-bundle",
        setup(b) {
          b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: "/dist/browser/rnnkit.js", external: true }));
        },
      }]
      : [],
  });
}
