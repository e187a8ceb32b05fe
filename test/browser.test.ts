/**
 * rnnkit in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core)
 * loads the shipped bundle (dist/browser/rnnkit.js) and runs test/browser/checks.ts
 *  - on a cross-origin isolated page (COOP same-origin + COEP require-corp): shared memory, the
 *    wasm backend on 2 threads (Web Workers), on the page's main thread and inside a module worker;
 *  - on a plain page: no isolation, so no worker threads; the wasm backend runs on one thread.
 * Every golden fixture (61 PyTorch, 7 TensorFlow.js) runs on both backends in each.
 *
 * It needs Chromium: `apt-get install chromium` (.ci/run does), or RNNKIT_CHROMIUM=/path/to/chrome.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import type { CheckOptions, CheckReport } from "./browser/checks.js";
import { bundleForBrowser, launchChromium, projectRoot as root, serveProject } from "./chromium.js";

test("a bundler resolving \"rnnkit\" for the browser gets the shipped bundle, with no Node module in it", async () => {
  const r = await build({
    stdin: { contents: `import { LSTM, getBackend } from "rnnkit"; console.log(LSTM, getBackend);`, resolveDir: root },
    bundle: true, write: false, platform: "browser", format: "esm", metafile: true, logLevel: "silent",
  });
  assert.deepEqual(Object.keys(r.metafile.inputs).sort(), ["<stdin>", "dist/browser/rnnkit.js"]);
  const bundle = readFileSync(join(root, "dist/browser/rnnkit.js"), "utf8");
  assert.doesNotMatch(bundle, /from\s*["']node:|require\(["']node:/);
  // and Node itself resolves "rnnkit" to the Node entry
  const nodeEntry = await build({
    stdin: { contents: `import { LSTM } from "rnnkit"; console.log(LSTM);`, resolveDir: root },
    bundle: true, write: false, platform: "node", format: "esm", metafile: true, logLevel: "silent", packages: "bundle",
  });
  assert.ok(Object.keys(nodeEntry.metafile.inputs).includes("dist/src/index.js"));
});

test("in headless Chromium: wasm by default, Web Workers when isolated, one thread when not; kernels, fixtures and training match", { timeout: 300_000 }, async () => {
  await bundleForBrowser("dist/test/browser/checks.js", "dist/test/browser/checks.bundle.js", true);
  const fixtures = ["pytorch", "tfjs"].flatMap((set) =>
    readdirSync(join(root, "test/fixtures", set))
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => `/test/fixtures/${set}/${f}`));
  assert.equal(fixtures.length, 68, "61 PyTorch and 7 TensorFlow.js fixtures");
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  const servers = { isolated: await serveProject(true), plain: await serveProject(false) };
  const browser = await launchChromium().catch((e: unknown) => {
    for (const s of Object.values(servers)) s.server.close();
    throw e;
  });
  try {
    const scenarios = [
      { name: "isolated page, main thread", server: servers.isolated, worker: false, isolated: true },
      { name: "isolated page, module worker", server: servers.isolated, worker: true, isolated: true },
      { name: "plain page, main thread", server: servers.plain, worker: false, isolated: false },
    ];
    for (const sc of scenarios) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console error: ${m.text()}`);
      });
      await page.goto(`${sc.server.origin}/test/browser/page.html`);
      await page.waitForFunction(() => (globalThis as unknown as { rnnkitReady?: boolean }).rnnkitReady === true, null, { timeout: 30_000 });
      const opts: CheckOptions & { worker: boolean } = { fixtures, worker: sc.worker };
      const report = await page.evaluate(
        (o) => (globalThis as unknown as { rnnkitChecks(o: unknown): Promise<CheckReport> }).rnnkitChecks(o),
        opts,
      );
      await page.close();
      const lines = report.results.map((r) => `  ${r.ok ? "ok" : "FAILED"}  ${r.name}: ${r.detail}`);
      console.log(`# ${sc.name} (${JSON.stringify(report.env)})\n${lines.join("\n")}`);
      assert.deepEqual(errors, [], `${sc.name}: errors in the page`);
      assert.equal(report.env.where, sc.worker ? "worker" : "window");
      assert.equal(report.env.crossOriginIsolated, sc.isolated, `${sc.name}: cross-origin isolation`);
      assert.equal(report.env.simd, true);
      assert.equal(report.env.defaultBackend, "wasm");
      assert.equal(report.env.threads, sc.isolated ? Math.min(2, report.env.cores) : 1, `${sc.name}: threads`);
      assert.equal(report.env.version, version);
      assert.equal(report.results.length, 6, `${sc.name}: every check reported`);
      const failed = report.results.filter((r) => !r.ok);
      assert.deepEqual(failed, [], `${sc.name}: failed checks`);
    }
  } finally {
    await browser.close();
    for (const s of Object.values(servers)) s.server.close();
  }
});
