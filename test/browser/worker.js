// A module Web Worker running the browser checks off the main thread (where rnnkit should train,
// so that a page never freezes). See page.html.
import { runChecks } from "/dist/test/browser/checks.bundle.js";

self.onmessage = async (e) => {
  try {
    self.postMessage(await runChecks(e.data));
  } catch (err) {
    self.postMessage({ error: String((err && err.stack) || err) });
  }
};
