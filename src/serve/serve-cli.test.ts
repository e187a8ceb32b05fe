/**
 * `rnnkit serve` over a real socket: it listens, answers concurrent clients (batched) while a
 * broken client sends half a request and hangs up, and SIGTERM lets the request in flight finish
 * and exits 0.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "../data/tokenizer.js";
import { saveModel } from "../io/model-file.js";
import { SequenceModel } from "../models/sequence-model.js";

const bin = fileURLToPath(new URL("../cli/main.js", import.meta.url));

test("rnnkit serve: listens, answers concurrent clients beside a broken one, and exits 0 on SIGTERM after finishing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-serve-"));
  const tok = Tokenizer.build("word", "good bad film plot");
  const path = join(dir, "c.safetensors");
  saveModel(path, new SequenceModel({ task: "classify", cell: "gru", vocabSize: tok.size, embeddingDim: 3, hiddenSize: 4, outputSize: 2 }),
    { tokenizer: tok, info: { task: "classify", labels: ["neg", "pos"], textColumn: "text", labelColumn: "label", maxLen: 20 } });
  const child = spawn(process.execPath, [bin, "serve", path, "--port", "0", "--max-wait-ms", "20"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  assert.equal(((await (await fetch(`${url}/health`)).json()) as { status: string }).status, "ok");
  // a client that sends half a request and hangs up
  await new Promise<void>((resolve) => {
    const s = connect(port, "127.0.0.1", () => {
      s.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inputs": ["go');
      setTimeout(() => s.destroy(), 30);
    });
    s.on("close", () => resolve());
    s.on("error", () => resolve());
  });
  const post = (inputs: unknown) => fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs }) });
  const answers = await Promise.all(["good film", "bad plot", "film", "good"].map((t) => post([t])));
  for (const a of answers) {
    assert.equal(a.status, 200);
    const out = ((await a.json()) as { outputs: { label: string }[] }).outputs[0];
    assert.ok(out.label === "neg" || out.label === "pos");
  }
  const bad = await post([3]);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /inputs\[0\]: expected a string/);
  const inFlight = post(["good bad film"]);
  await new Promise((r) => setTimeout(r, 5));
  child.kill("SIGTERM");
  assert.equal((await inFlight).status, 200, "the request in flight at SIGTERM is answered");
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  assert.match(stderr, /POST \/predict 200/);
});
