/**
 * `rnnkit serve`: a model behind HTTP (fastify), over the task layer, never over the CLI.
 *
 *   POST /predict  {"inputs": [...]}  ->  {"outputs": [...]}   each output a row of src/tasks/rows.ts,
 *                                                               the same object as a line of `rnnkit predict --json`
 *   GET  /health   {"status": "ok"}
 *   GET  /model    {"task", "kind", "config", "info", "parameters", "version", "formatVersion"}
 *
 * Concurrent requests are batched: inputs wait at most `maxWaitMs` for others, and up to
 * `maxBatch` inputs run in one forward pass (a request larger than that runs alone). Every
 * request's inputs are checked before they are queued (a bad one gets a 400 and never shares a
 * batch); the body is limited (413); a full queue answers 503; a request that waits longer than
 * `timeoutMs` gets a 503. Errors are `{"error": "..."}`. CORS is off unless `cors` names an origin.
 * Generation (lm) runs one input at a time, each with its own seed.
 */
import cors from "@fastify/cors";
import Fastify, { type FastifyInstance } from "fastify";
import { defaults } from "../defaults.js";
import type { SavedModel } from "../io/model-file.js";
import { parameterTable } from "../inspect/parameters.js";
import { type TaskModel, openTask } from "../tasks/open.js";
import { checkInputs, predictRows } from "../tasks/rows.js";
import { RnnkitError } from "../tensor.js";

export interface ServeOptions {
  maxBatch?: number;
  maxWaitMs?: number;
  /** bytes */
  bodyLimit?: number;
  /** inputs waiting before new requests are refused with 503 */
  queueLimit?: number;
  /** ms a request may wait for its answer */
  timeoutMs?: number;
  /** an origin allowed to call from a browser (CORS); none by default */
  cors?: string;
  /** where log lines go (stderr in the CLI) */
  log?: (line: string) => void;
  /** names the model in errors */
  source?: string;
}

interface Pending {
  inputs: unknown[];
  resolve: (outputs: Record<string, unknown>[]) => void;
  reject: (e: Error) => void;
  settled: boolean;
}

/**
 * Gathers the inputs of concurrent requests into forward passes of at most `maxBatch` inputs; the
 * first waiting input waits at most `maxWaitMs`. `run` is synchronous (the model computes on this
 * thread), so one batch runs at a time and the event loop turns between batches.
 */
export class Batcher {
  private queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  /** forward passes run, and inputs run (for the tests and /model) */
  batches = 0;
  inputs = 0;
  /** requests in the last forward pass */
  private lastBatch = 0;

  constructor(private readonly run: (inputs: unknown[]) => Record<string, unknown>[], private readonly o: Required<Pick<ServeOptions, "maxBatch" | "maxWaitMs" | "queueLimit">>) {}

  get waiting(): number {
    return this.queued;
  }

  submit(inputs: unknown[]): { promise: Promise<Record<string, unknown>[]>; cancel: () => void } {
    if (this.queued + inputs.length > this.o.queueLimit && this.queued > 0) {
      return { promise: Promise.reject(new QueueFull(`the queue is full (${this.queued} inputs waiting, limit ${this.o.queueLimit}): try again later`)), cancel: () => {} };
    }
    let p!: Pending;
    const promise = new Promise<Record<string, unknown>[]>((resolve, reject) => {
      p = { inputs, resolve, reject, settled: false };
    });
    this.queue.push(p);
    this.queued += inputs.length;
    // a full batch runs now; so does a lone request when the last batch was a lone request too
    // (light load: waiting for company would only add latency); under load, the first input
    // waits up to maxWaitMs for others to share its forward pass
    if (this.queued >= this.o.maxBatch || (this.lastBatch <= 1 && this.queue.length === 1)) this.schedule(0);
    else this.schedule(this.o.maxWaitMs);
    return {
      promise,
      cancel: () => {
        // a request that timed out or whose client left gives its place back
        const i = this.queue.indexOf(p);
        if (i >= 0) {
          this.queue.splice(i, 1);
          this.queued -= p.inputs.length;
        }
        p.settled = true;
      },
    };
  }

  private schedule(ms: number): void {
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer), clearImmediate(this.timer as unknown as NodeJS.Immediate);
    // 0: after the requests already read in this turn of the event loop (setImmediate), so an idle
    // server answers at once, and a busy one batches whatever arrived while it computed
    this.timer = ms > 0 ? setTimeout(() => this.flush(), ms) : (setImmediate(() => this.flush()) as unknown as NodeJS.Timeout);
  }

  private flush(): void {
    this.timer = null;
    // take whole requests until the batch is full (a larger request runs on its own)
    const take: Pending[] = [];
    let n = 0;
    while (this.queue.length && (take.length === 0 || n + this.queue[0].inputs.length <= this.o.maxBatch)) {
      const p = this.queue.shift()!;
      take.push(p);
      n += p.inputs.length;
    }
    this.queued -= n;
    if (take.length) {
      try {
        const out = this.run(take.flatMap((p) => p.inputs));
        this.batches++;
        this.inputs += n;
        this.lastBatch = take.length;
        let at = 0;
        for (const p of take) {
          if (!p.settled) p.resolve(out.slice(at, at + p.inputs.length));
          at += p.inputs.length;
        }
      } catch (e) {
        for (const p of take) if (!p.settled) p.reject(e as Error);
      }
    }
    if (this.queue.length) this.schedule(0);
  }
}

class QueueFull extends Error {}

/** A fastify app serving `saved` (call `listen` on it, or `inject` in tests). */
export function createServer(saved: SavedModel, opts: ServeOptions = {}): { app: FastifyInstance; task: TaskModel; batcher: Batcher; shutdown: () => Promise<void> } {
  const o = {
    maxBatch: opts.maxBatch ?? defaults.serveMaxBatch,
    maxWaitMs: opts.maxWaitMs ?? defaults.serveMaxWaitMs,
    bodyLimit: opts.bodyLimit ?? defaults.serveBodyLimit,
    queueLimit: opts.queueLimit ?? defaults.serveQueueLimit,
    timeoutMs: opts.timeoutMs ?? defaults.serveTimeoutMs,
  };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isInteger(v) || v < (k === "maxWaitMs" ? 0 : 1)) throw new RnnkitError(`serve: ${k}: expected an integer >= ${k === "maxWaitMs" ? 0 : 1}, got ${String(v)}`);
  }
  const task = openTask(saved, opts.source ?? "model");
  // generation draws per input with its own seed: one input per pass keeps answers as unbatched
  const batcher = new Batcher((inputs) => predictRows(task, inputs), { ...o, maxBatch: task.task === "lm" ? 1 : o.maxBatch });
  const log = opts.log ?? (() => {});
  const app = Fastify({ bodyLimit: o.bodyLimit, logger: false, requestTimeout: o.timeoutMs + 5000 });
  if (opts.cors) void app.register(cors, { origin: opts.cors });
  // once shutting down, answers close their connection: a keep-alive client cannot hold the
  // process open after its request in flight is answered
  let closing = false;
  app.addHook("onSend", async (_req, reply) => {
    if (closing) void reply.header("connection", "close");
  });
  const shutdown = async () => {
    closing = true;
    await app.close();
  };
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log(`error: ${err.stack ?? err.message}`);
    void reply.code(status).send({ error: status === 413 ? `the request body is larger than the limit of ${o.bodyLimit} bytes` : err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url}: expected POST /predict, GET /health or GET /model` });
  });
  app.get("/health", async () => ({ status: "ok", task: task.task, waiting: batcher.waiting }));
  app.get("/model", async () => {
    const t = parameterTable(saved.model);
    return { task: task.task, kind: saved.model.kind, config: saved.model.config, info: task.info, parameters: t.total, version: saved.version, formatVersion: saved.formatVersion };
  });
  app.post("/predict", async (req, reply) => {
    const body = req.body as { inputs?: unknown } | null;
    if (body === null || typeof body !== "object" || Array.isArray(body)) return reply.code(400).send({ error: 'expected a JSON object {"inputs": [...]}' });
    try {
      checkInputs(task, body.inputs);
    } catch (e) {
      if (e instanceof RnnkitError) return reply.code(400).send({ error: e.message });
      throw e;
    }
    const inputs = body.inputs as unknown[];
    if (inputs.length === 0) return { outputs: [] };
    const job = batcher.submit(inputs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueFull(`no answer within ${o.timeoutMs} ms: the server is busy, try again later`)), o.timeoutMs);
    });
    // the connection closed before the answer was written: the client left, its inputs leave the
    // queue (the request stream's own "close" fires as soon as its body is read, so not that one)
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) job.cancel();
    });
    try {
      return { outputs: await Promise.race([job.promise, timeout]) };
    } catch (e) {
      job.cancel();
      if (e instanceof QueueFull) return reply.code(503).send({ error: e.message });
      if (e instanceof RnnkitError) return reply.code(400).send({ error: e.message });
      throw e;
    } finally {
      clearTimeout(timer);
    }
  });
  return { app, task, batcher, shutdown };
}
