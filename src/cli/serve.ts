/**
 * `rnnkit serve MODEL`: the model behind HTTP (src/serve/server.ts), logs on stderr. SIGTERM and
 * SIGINT stop taking requests, let those in flight finish (at most `defaults.serveTimeoutMs`),
 * and exit (0 on SIGTERM, 130 on Ctrl-C).
 */
import { existsSync } from "node:fs";
import type { Backend } from "../backend/backend.js";
import { defaults } from "../defaults.js";
import { loadModel } from "../io/model-file.js";
import { createServer } from "../serve/server.js";
import { RnnkitError } from "../tensor.js";
import { int } from "./commands.js";

export interface ServeFlags {
  port: string;
  host: string;
  maxBatch: string;
  maxWaitMs: string;
  bodyLimit: string;
  queueLimit: string;
  timeoutMs: string;
  cors?: string;
}


export async function serveCommand(path: string, o: ServeFlags, backend: Backend): Promise<void> {
  if (!existsSync(path)) throw new RnnkitError(`${path}: no such model file`);
  const port = int("port", o.port, 0, 65535);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const { app, task, shutdown } = createServer(loadModel(path, { backend }), {
    maxBatch: int("max-batch", o.maxBatch, 1), maxWaitMs: int("max-wait-ms", o.maxWaitMs, 0), bodyLimit: int("body-limit", o.bodyLimit, 16),
    queueLimit: int("queue-limit", o.queueLimit, 1), timeoutMs: int("timeout-ms", o.timeoutMs, 1), cors: o.cors, log, source: path,
  });
  app.addHook("onResponse", async (req, reply) => log(`${req.method} ${req.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)} ms`));
  let address: string;
  try {
    address = await app.listen({ port, host: o.host });
  } catch (e) {
    throw new RnnkitError(`cannot listen on ${o.host}:${port}: ${(e as Error).message}`);
  }
  log(`serving ${path} (a ${task.task} model) on ${address}: POST /predict, GET /health, GET /model`);
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: finishing the requests in flight`);
    // bounded: a stuck client cannot keep the process alive
    setTimeout(() => process.exit(signal === "SIGINT" ? 130 : 0), defaults.serveTimeoutMs).unref();
    void shutdown().then(() => process.exit(signal === "SIGINT" ? 130 : 0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
