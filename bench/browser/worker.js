// Runs bench/browser/cases.ts off the page's main thread (see page.html).
import { runBench } from "/dist/bench/browser/cases.bundle.js";

self.onmessage = async (e) => {
  try {
    self.postMessage(await runBench(e.data));
  } catch (err) {
    self.postMessage({ error: String((err && err.stack) || err) });
  }
};
