// Runs bench/browser/cases.ts off the page's main thread (see page.html): one case per message.
import { runCase } from "/dist/bench/browser/cases.bundle.js";

self.onmessage = async (e) => {
  try {
    self.postMessage(await runCase(e.data));
  } catch (err) {
    self.postMessage({ error: String((err && err.stack) || err) });
  }
};
