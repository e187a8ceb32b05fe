// Runs bench/browser/cases.ts off the page's main thread (see page.html): one case per message,
// timed (runCase), profiled by kernel group (profileCase) when the message says `profile`, or one
// GEMM timed (gemmCase) when it carries a `shape`.
import { gemmCase, profileCase, runCase } from "/dist/bench/browser/cases.bundle.js";

self.onmessage = async (e) => {
  try {
    self.postMessage(await (e.data.shape ? gemmCase : e.data.profile ? profileCase : runCase)(e.data));
  } catch (err) {
    self.postMessage({ error: String((err && err.stack) || err) });
  }
};
