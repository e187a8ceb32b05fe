/**
 * The playground (web/) end to end, in headless Chromium (Debian's `chromium`, driven by
 * playwright-core; see test/chromium.ts). It builds the site with Vite (as `npm run web:build`
 * does), serves it cross-origin isolated, and on the built page:
 *  - trains the memory task with an LSTM for a few seconds, on one worker thread (so that the
 *    page's thread keeps a core), and sees the loss fall;
 *  - sees the loss curve, the gate and state heatmaps and the gradient plot drawn, with data;
 *  - saves the model and reads the file with the CLI (`rnnkit predict`);
 *  - drops a model file that the CLI trained and checks one greedy generation against
 *    `rnnkit generate`'s, both on the wasm backend;
 *  - checks that no console error occurred and no main-thread task took longer than 200 ms
 *    during training (Long Tasks API);
 *  - saves screenshots at 390 px and 1280 px widths under test-output/.
 *
 * `npm run test:e2e` runs it alone; `npm test` runs it with the rest.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { build } from "vite";
import { modelFromBytes, openTask } from "../src/index.js";
import { launchChromium, projectRoot as root, serveProject } from "./chromium.js";

const cli = join(root, "dist/src/cli/main.js");
const rnnkit = (args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

interface PageState {
  env: { backend: string; threads: number; crossOriginIsolated: boolean; version: string } | null;
  losses: { step: number; loss: number }[];
  training: boolean;
  trainStart: number;
  trainEnd: number;
  drawn: Record<string, number>;
  model: { task: string; cell: string; generates: boolean } | null;
  lastSample: string;
  errors: string[];
}
interface LongTask {
  start: number;
  duration: number;
}
// The page's globals as the functions given to page.evaluate see them (this file compiles
// without the DOM library, as all of test/ does; these declarations are local to the module).
declare const window: { playground: PageState; longTasks: LongTask[] };
declare const document: {
  getElementById(id: string): { textContent: string | null; dispatchEvent(e: unknown): boolean } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
};
declare class DataTransfer {
  items: { add(f: unknown): void };
}
declare class DragEvent {
  constructor(type: string, init: object);
}
interface Canvas {
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

test("the playground: trains in a worker, draws, saves, opens a CLI model and generates as the CLI does", { timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), "rnnkit-web-"));
  const out = join(root, "test-output");
  mkdirSync(out, { recursive: true });
  // the site, built as `npm run web:build` builds it
  await build({ configFile: join(root, "web/vite.config.ts"), logLevel: "error" });

  // a character model made by the CLI, and its greedy generation (wasm backend)
  const text = "the cat sat on the mat. the dog sat on the log. a cat and a dog sat on a mat and a log. ".repeat(12);
  writeFileSync(join(tmp, "text.txt"), text);
  const modelFile = join(tmp, "cli.safetensors");
  rnnkit(["train", "lm", "--text", join(tmp, "text.txt"), "--out", modelFile, "--hidden", "32", "--embedding", "16", "--steps", "60",
    "--batch-size", "8", "--seq-len", "32", "--val-fraction", "0", "--sample", "0", "--backend", "wasm", "--quiet", "--json"]);
  const prompt = "the ";
  const cliText = (JSON.parse(rnnkit(["generate", modelFile, "--prompt", prompt, "--length", "80", "--temperature", "0", "--backend", "wasm", "--json"])) as { text: string }).text;
  assert.ok(cliText.startsWith(prompt) && cliText.length > prompt.length + 40, `the CLI generated ${JSON.stringify(cliText)}`);

  const server = await serveProject(true);
  const browser = await launchChromium().catch((e: unknown) => {
    server.server.close();
    throw e;
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console error: ${m.text()}`);
    });
    // every main-thread task over 50 ms, from the start (the Long Tasks API)
    await page.addInitScript(() => {
      window.longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: "longtask" as "mark", buffered: true });
    });
    await page.goto(`${server.origin}/dist/web/index.html?threads=1`);
    const pg = () => page.evaluate(() => window.playground);
    await page.waitForFunction(() => window.playground?.env !== null, null, { timeout: 30_000 });
    const env = (await pg()).env!;
    assert.equal(env.backend, "wasm");
    assert.equal(env.crossOriginIsolated, true, "npm run web's headers make the page cross-origin isolated");
    assert.equal(env.threads, 1, "?threads=1: the test trains on one worker thread");

    // ---- train the memory task with an LSTM for a few seconds
    await page.selectOption("#task", "memory");
    await page.selectOption("#cell", "lstm");
    await page.fill("#hidden", "32");
    await page.$eval("#delay", (el) => {
      (el as unknown as { value: string }).value = "5";
      el.dispatchEvent(new Event("input"));
    });
    assert.equal(await page.textContent("#delay-value"), "5");
    await page.click("#train");
    await page.waitForFunction(() => window.playground.losses.length > 0, null, { timeout: 20_000 });
    await page.waitForTimeout(5000);
    await page.click("#stop");
    await page.waitForFunction(() => !window.playground.training, null, { timeout: 20_000 });
    let s = await pg();
    const losses = s.losses.map((p) => p.loss);
    assert.ok(losses.length >= 40, `${losses.length} training steps in 5 s`);
    const first = mean(losses.slice(0, 10)), last = mean(losses.slice(-10));
    assert.ok(last < 0.5 * first, `the loss did not fall by half: ${first.toFixed(3)} -> ${last.toFixed(3)} over ${losses.length} steps`);
    assert.match(s.lastSample, /accuracy \d+(\.\d)?% on 512 fresh sequences/);
    const longTasks = (await page.evaluate(() => window.longTasks))
      .filter((t) => t.start + t.duration > s.trainStart && t.start < s.trainEnd);
    assert.deepEqual(longTasks.filter((t) => t.duration > 200), [], "main-thread tasks over 200 ms during training");
    const longest = Math.max(0, ...longTasks.map((t) => t.duration));
    console.log(`# trained ${losses.length} steps in ${((s.trainEnd - s.trainStart) / 1000).toFixed(1)} s: loss ${first.toFixed(3)} -> ${last.toFixed(3)}; ${s.lastSample}; ` +
      `${longTasks.length} main-thread tasks over 50 ms during training, the longest ${longest.toFixed(0)} ms`);

    // ---- charts: the loss curve (SVG), the heatmaps (canvas), the gradient plot (SVG)
    await page.waitForFunction(() => window.playground.drawn["loss-chart"] > 0, null, { timeout: 10_000 });
    const lossPath = await page.$eval("#loss-chart svg", (svg) => [...svg.querySelectorAll(".mark-line path")].map((p) => p.getAttribute("d") ?? "").join(""));
    assert.ok((lossPath.match(/L/g) ?? []).length >= 20, `the loss curve has ${(lossPath.match(/L/g) ?? []).length} segments`);
    await page.fill("#inspect-input", "c.....");
    await page.click("#inspect");
    await page.waitForFunction(() => (window.playground.drawn.heatmaps ?? 0) > 0, null, { timeout: 20_000 });
    s = await pg();
    assert.equal(s.drawn.heatmaps, 2, "LSTM: the gates chart (i, f, g, o) and the states chart (h, c)");
    const colours = await page.$$eval("#heatmaps canvas", (cs) => cs.map((c) => {
      const cv = c as unknown as Canvas;
      const px = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < px.length; i += 4) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      return seen.size;
    }));
    assert.equal(colours.length, 2);
    for (const n of colours) assert.ok(n > 10, `a heatmap canvas with ${n} colours: not drawn`);
    await page.click("#gradients");
    await page.waitForFunction(() => (window.playground.drawn["gradient-chart"] ?? 0) > 0, null, { timeout: 20_000 });
    const gradientLines = await page.$$eval("#gradient-chart svg .mark-line path", (ps) => ps.map((p) => (p.getAttribute("d") ?? "").length));
    assert.equal(gradientLines.length, 4, "RNN, LSTM and GRU at initialisation, and the trained LSTM");
    for (const n of gradientLines) assert.ok(n > 20, "a gradient line with data");
    const table = await page.$$eval("#params tbody tr", (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)));
    assert.deepEqual(table.map((r) => r[0]), ["LSTM", "GRU", "RNN"]);
    assert.deepEqual(table.map((r) => r[4]), ["100%", "75%", "25%"], "W_hh against the LSTM's");

    // ---- save: the CLI reads the file
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
    const saved = join(tmp, "memory.safetensors");
    await download.saveAs(saved);
    const back = openTask(modelFromBytes(readFileSync(saved)), saved);
    assert.equal(back.task, "classify");
    writeFileSync(join(tmp, "recall.csv"), `sequence\n${[..."abcdefgh"].map((c) => c + ".....").join("\n")}\n`);
    const predicted = rnnkit(["predict", saved, "--data", join(tmp, "recall.csv"), "--backend", "wasm"]).trim().split("\n");
    assert.equal(predicted.length, 8);
    const hits = predicted.filter((p, i) => p === "abcdefgh"[i]).length;
    assert.ok(hits >= 6, `the saved model recalls ${hits} of 8 symbols after 5 steps in rnnkit predict: ${predicted.join(" ")}`);

    // ---- the names task: samples as it learns; the saved file generates in the CLI as on the page
    await page.selectOption("#task", "names");
    await page.fill("#hidden", "48");
    await page.click("#train");
    await page.waitForFunction(() => window.playground.losses.length > 0, null, { timeout: 20_000 });
    await page.waitForTimeout(3000);
    await page.click("#stop");
    await page.waitForFunction(() => !window.playground.training, null, { timeout: 20_000 });
    s = await pg();
    const names = s.lastSample.split("\n");
    assert.equal(names.length, 6, `six sampled names, got ${JSON.stringify(s.lastSample)}`);
    assert.ok(names.every((n) => /^[A-Za-z'-]{0,24}$/.test(n)) && names.some((n) => n.length >= 2), `sampled names: ${JSON.stringify(names)}`);
    assert.ok(mean(s.losses.slice(-10).map((p) => p.loss)) < mean(s.losses.slice(0, 10).map((p) => p.loss)), "the names loss fell");
    await page.fill("#prompt", "Ma");
    await page.fill("#gen-length", "30");
    await page.fill("#temperature", "0");
    await page.click("#generate");
    await page.waitForFunction(() => (document.getElementById("generated")!.textContent ?? "").length > 0, null, { timeout: 20_000 });
    const pageNames = await page.textContent("#generated");
    const [namesDownload] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
    const namesFile = join(tmp, "names.safetensors");
    await namesDownload.saveAs(namesFile);
    const cliNames = (JSON.parse(rnnkit(["generate", namesFile, "--prompt", "Ma", "--length", "30", "--temperature", "0", "--backend", "wasm", "--json"])) as { text: string }).text;
    assert.equal("Ma" + pageNames, cliNames, "rnnkit generate on the page's saved names model equals the page's greedy generation");
    await page.evaluate(() => {
      document.getElementById("generated")!.textContent = "";
    });

    // ---- a file that is not a model: the page says why, and keeps working
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])], "notes.safetensors"));
      document.getElementById("drop")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => window.playground.errors.length > 0, null, { timeout: 20_000 });
    s = await pg();
    assert.match(s.errors[0], /notes\.safetensors/, "the error names the file");
    assert.equal(s.model?.task, "names", "the model held before is kept");
    await page.evaluate(() => void window.playground.errors.splice(0));

    // ---- open the CLI's model by drag and drop, generate greedily
    const bytes = [...readFileSync(modelFile)];
    await page.evaluate((b) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], "cli.safetensors"));
      document.getElementById("drop")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForFunction(() => window.playground.model?.generates === true, null, { timeout: 20_000 });
    await page.fill("#prompt", prompt);
    await page.fill("#gen-length", "80");
    await page.fill("#temperature", "0");
    await page.click("#generate");
    await page.waitForFunction(() => (document.getElementById("generated")!.textContent ?? "").length > 0, null, { timeout: 20_000 });
    const pageText = await page.textContent("#generated");
    assert.equal(prompt + pageText, cliText, "the page's greedy generation equals rnnkit generate's");
    console.log(`# rnnkit predict on the saved model: ${predicted.join(" ")}; greedy generation, page = CLI: ${JSON.stringify(cliText)}`);

    // ---- phone and desktop widths
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${width} px: the page is ${overflow} px wider than the window`);
      // what the window shows (docs/ keeps a copy), and the whole page
      await page.screenshot({ path: join(out, `playground-${width}.png`) });
      await page.screenshot({ path: join(out, `playground-${width}-full.png`), fullPage: true });
    }
    s = await pg();
    assert.deepEqual(s.errors, [], "errors shown on the page");
    assert.deepEqual(errors, [], "console errors");
    await context.close();
  } finally {
    await browser.close();
    server.server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
