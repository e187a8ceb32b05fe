/**
 * `npm run bench:serve`: `rnnkit serve` under load, on loopback only (autocannon), bounded in time
 * and requests. For a classify model and a seq2seq model, batched (--max-batch 64) and unbatched
 * (--max-batch 1), at concurrency 1, 16 and 64: requests/s and p50/p99 latency, one JSON line per
 * cell, with `vsPrevious` against the last run and `vsUnbatched` for the batched rows.
 *
 *   --duration S   seconds per cell (default 10; 0 skips the grid, e.g. to run the soak alone)
 *   --soak N       also run N requests (e.g. 100000) at concurrency 64 against the batched classify
 *                  server with a hostile request every 10th (bad JSON, a huge body, wrong types, an
 *                  abrupt disconnect): reports errors among the good ones and the server's RSS at
 *                  10% of the run and at the end
 *
 * The server runs in its own process, so the load generator does not share its event loop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { Tokenizer } from "../src/data/tokenizer.js";
import { saveModel } from "../src/io/model-file.js";
import { Seq2Seq } from "../src/models/seq2seq.js";
import { SequenceModel } from "../src/models/sequence-model.js";
import { Results } from "./results.js";

const bin = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const duration = flag("--duration", 10);
const soak = flag("--soak", 0);

interface Row { model: string; batched: boolean; concurrency: number; rps: number; p50: number; p99: number; errors: number; non2xx: number; requests: number }

/** Model files of realistic size with random weights (their speed, not their answers, is measured). */
function models(dir: string): { name: string; path: string; body: string }[] {
  const words = Array.from({ length: 5000 }, (_, i) => `w${i}`);
  const tok = Tokenizer.build("word", words.join(" "));
  const cls = join(dir, "classify.safetensors");
  saveModel(cls, new SequenceModel({ task: "classify", cell: "gru", vocabSize: tok.size, embeddingDim: 64, hiddenSize: 128, outputSize: 4, pooling: "mean" }),
    { tokenizer: tok, info: { task: "classify", labels: ["a", "b", "c", "d"], textColumn: "text", labelColumn: "label", maxLen: 200 } });
  const chars = Tokenizer.build("char", "abcdefghijklmnopqrstuvwxyz ");
  const s2s = join(dir, "seq2seq.safetensors");
  saveModel(s2s, new Seq2Seq({ cell: "lstm", sourceVocabSize: chars.size, targetVocabSize: chars.size, embeddingDim: 32, hiddenSize: 128, attention: "luong" }),
    { tokenizer: chars, info: { task: "seq2seq", sourceColumn: "s", targetColumn: "t", targetTokenizer: chars.toJSON(), maxLen: 50, beam: 1 } });
  const sentence = Array.from({ length: 30 }, (_, i) => words[(i * 37) % words.length]).join(" ");
  return [
    { name: "classify", path: cls, body: JSON.stringify({ inputs: [sentence] }) },
    { name: "seq2seq", path: s2s, body: JSON.stringify({ inputs: ["the quick brown fox"] }) },
  ];
}

async function start(path: string, batched: boolean): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [bin, "serve", path, "--port", "0", "--max-batch", batched ? "64" : "1", "--max-wait-ms", batched ? "2" : "0", "--queue-limit", "100000"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
      if (err.length > 1e5) err = err.slice(-1e4);
    });
    child.on("exit", (c) => reject(new Error(`serve exited ${c}: ${err}`)));
  });
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await done;
}

function load(port: number, body: string, connections: number, opts: { duration?: number; amount?: number } = {}): Promise<autocannon.Result> {
  return autocannon({ url: `http://127.0.0.1:${port}/predict`, method: "POST", headers: { "content-type": "application/json" }, body, connections, ...opts });
}

async function rss(pid: number): Promise<number> {
  const { readFileSync } = await import("node:fs");
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function soakRun(path: string, body: string): Promise<void> {
  const { child, port } = await start(path, true);
  // the answer a good request must get (batched answers equal it within the parity tolerance)
  const expected = (await (await fetch(`http://127.0.0.1:${port}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body })).json()) as { outputs: { label: string; probabilities: Record<string, number> }[] };
  const hostile = [
    "{not json", JSON.stringify({ inputs: ["x".repeat(2e6)] }), JSON.stringify({ inputs: [1, 2] }), JSON.stringify({ input: "x" }),
  ];
  let goodSent = 0, goodRight = 0, goodWrong = 0, hostileSent = 0;
  const rssAt: Record<string, number> = {};
  const good = soak - Math.floor(soak / 10);
  const marks = new Map([[Math.max(1, Math.floor(good / 10)), "at10"], [Math.floor(good / 2), "at50"]]);
  // now and then a client that hangs up mid-request
  const abrupt = setInterval(() => {
    const s = connect(port, "127.0.0.1", () => {
      s.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"inp');
      s.destroy();
    });
    s.on("error", () => {});
  }, 20);
  const right = (text: string): boolean => {
    try {
      const got = (JSON.parse(text) as typeof expected).outputs[0], want = expected.outputs[0];
      return got.label === want.label && Object.entries(want.probabilities).every(([k, v]) => Math.abs(got.probabilities[k] - v) <= 1e-5 + 1e-4 * Math.abs(v));
    } catch {
      return false;
    }
  };
  // the good clients (56 connections) and the hostile ones (8 connections: bad JSON, 2 MB bodies,
  // wrong types; a 413 closes its connection) at once, on the same server
  const goodRun = autocannon({
    url: `http://127.0.0.1:${port}/predict`, connections: 56, amount: good,
    requests: [{
      method: "POST", headers: { "content-type": "application/json" }, body,
      setupRequest: (req: autocannon.Request) => {
        goodSent++;
        const mark = marks.get(goodSent);
        if (mark) void rss(child.pid!).then((v) => (rssAt[mark] = v));
        return req;
      },
      onResponse: (status: number, text: string) => {
        if (status === 200 && right(text)) goodRight++;
        else goodWrong++;
      },
    }],
  } as autocannon.Options);
  const hostileRun = autocannon({
    url: `http://127.0.0.1:${port}/predict`, connections: 8, amount: soak - good,
    requests: [{
      method: "POST", headers: { "content-type": "application/json" },
      setupRequest: (req: autocannon.Request) => ({ ...req, body: hostile[hostileSent++ % hostile.length] }),
    }],
  } as autocannon.Options);
  const [g, h] = await Promise.all([goodRun, hostileRun]);
  clearInterval(abrupt);
  const end = await rss(child.pid!);
  const mb = (v: number) => Math.round(v);
  // every good request must be answered, rightly; the hostile ones get 400/413 or a closed connection
  console.log(JSON.stringify({
    soak, good, goodRight, goodWrong, goodErrors: g.errors, goodTimeouts: g.timeouts, goodNon2xx: g.non2xx,
    hostile: soak - good, hostileNon2xx: h.non2xx, hostileConnectionErrors: h.errors,
    rssAt10pctMB: mb(rssAt.at10), rssAt50pctMB: mb(rssAt.at50), rssEndMB: mb(end),
    rssGrowth10ToEnd: Math.round((end / rssAt.at10 - 1) * 1000) / 1000, rssGrowth50ToEnd: Math.round((end / rssAt.at50 - 1) * 1000) / 1000, goodRps: Math.round(g.requests.average),
  }));
  await stop(child);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-bench-serve-"));
  const results = new Results<Row>("serve-latest.json", (a, b) => a.model === b.model && a.batched === b.batched && a.concurrency === b.concurrency, (r) => r.rps);
  const ms = models(dir);
  for (const m of duration > 0 ? ms : []) {
    const unbatched = new Map<number, number>();
    for (const batched of [false, true]) {
      const { child, port } = await start(m.path, batched);
      await load(port, m.body, 8, { duration: 1 }); // warm-up: V8 tiers the kernels up
      for (const concurrency of [1, 16, 64]) {
        const r = await load(port, m.body, concurrency, { duration });
        const row: Row = { model: m.name, batched, concurrency, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, requests: r.requests.total };
        if (!batched) unbatched.set(concurrency, row.rps);
        const out: Record<string, unknown> = { ...results.add(row) };
        if (batched && unbatched.get(concurrency)) out.vsUnbatched = Math.round((row.rps / unbatched.get(concurrency)!) * 100) / 100;
        console.log(JSON.stringify(out));
      }
      await stop(child);
    }
  }
  results.save();
  if (soak > 0) await soakRun(ms[0].path, ms[0].body);
}

void main();
