#!/usr/bin/env node
// Mutation testing of rnnkit's non-kernel logic: `npm run test:mutation` (issue 10, item 8).
//
// A mutant is one small wrong change to src/ (a flipped comparison, a swapped operator, a dropped
// term, a changed constant, Math.max for Math.min, a dropped `!`), of the kind a gradient check
// cannot see when it is made consistently. Each is applied, one at a time, to a temporary copy of
// the compiled tree under the system's temp folder, never to src/ or dist/; the test files that
// (transitively) import the mutated file, and the end-to-end tests that spawn the CLI, are run
// against it until one fails. A mutant is "killed" when a test fails or times out, "survived"
// when every relevant test passes.
//
// The set is scripted and deterministic: every candidate is found by walking the TypeScript syntax
// tree of each file under src/{models,train,decode,data,tasks,io,losses,layers} (the kernels,
// src/backend and src/cells, are proven by the kernel and parity tests instead), skipping types,
// imports, template literals and throw statements (error-message text); a seeded shuffle then picks
// a quota per folder. The three mutations named in issue 10 come first. A mutated file is compiled
// on its own with TypeScript's transpileModule (the rest of the copy is the tsc build), so the
// run needs `npm run build` first (the npm script does it), and needs no wasm build.
//
// Usage: node scripts/mutation.mjs [--time-budget S] [--mutants N] [--seed N] [--folders a,b]
//                                  [--only ID,ID] [--list] [--fast]
//   --time-budget S  stop starting mutants after S seconds (default 1200)
//   --mutants N      how many generated mutants (default 160; the named ones come on top)
//   --only ID,...    run only these mutant ids (as printed by --list or in the results)
//   --list           print the selected mutants as JSON lines and exit
//   --fast           leave out the slow end-to-end CLI tests (cli/main, cli/out, serve)
// stdout: one JSON line per mutant, then one per folder ({"folder", "killed", "survived", ...})
// and a total; stderr: progress and the per-folder table.
import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const FOLDERS = ["models", "train", "decode", "data", "tasks", "io", "losses", "layers"];
// tests that spawn the CLI (dist/src/cli/main.js) run every floor below it
const E2E = ["dist/src/cli/main.test.js", "dist/src/cli/out.test.js", "dist/src/serve/serve-cli.test.js"];
// the browser test runs the esbuild bundle, which a mutant does not rebuild
const NEVER = ["dist/test/browser.test.js"];

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = { timeBudget: 1200, mutants: 160, seed: 20261201, folders: FOLDERS, only: null, list: false, fast: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a}: expected a value, got none`);
      return v;
    };
    const int = (v) => {
      if (!/^\d+$/.test(v)) fail(`${a}: expected an integer >= 0, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    if (a === "--time-budget") o.timeBudget = int(val());
    else if (a === "--mutants") o.mutants = int(val());
    else if (a === "--seed") o.seed = int(val());
    else if (a === "--folders") {
      o.folders = val().split(",");
      for (const f of o.folders) if (!FOLDERS.includes(f)) fail(`--folders: expected some of ${FOLDERS.join(", ")}, got ${JSON.stringify(f)}`);
    } else if (a === "--only") o.only = val().split(",");
    else if (a === "--list") o.list = true;
    else if (a === "--fast") o.fast = true;
    else fail(`unknown argument ${JSON.stringify(a)} (see the usage at the top of scripts/mutation.mjs)`);
  }
  return o;
}

function fail(msg) {
  process.stderr.write(`mutation: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- the mutants
/** The three mutations of issue 10, item 8: each is consistent between forward and backward. */
const NAMED = [
  {
    id: "named:mean-pool-length+1", file: "src/models/sequence-model.ts", op: "mean pooling divided by length + 1 (forward and backward)",
    edits: [
      ["out.data[(t * B + b) * D * H + k] / lengths[b];", "out.data[(t * B + b) * D * H + k] / (lengths[b] + 1);"],
      ["go[(t * B + b) * D * H + k] = v / lengths[b];", "go[(t * B + b) * D * H + k] = v / (lengths[b] + 1);"],
    ],
  },
  { id: "named:top-p-90%", file: "src/decode/sample.ts", op: "top-p keeps 90% of the requested mass", edits: [["acc < topP * sum", "acc < 0.9 * topP * sum"]] },
  {
    id: "named:cosine-horizon-ignores-warmup", file: "src/train/optimizers.ts", op: "cosine schedule over totalSteps, ignoring the warm-up",
    edits: [["s / Math.max(1, schedule.totalSteps - warmup)", "s / Math.max(1, schedule.totalSteps)"]],
  },
];

/** Applies string edits [from, to] (each must occur exactly once) to `text`. */
function applyEdits(id, text, edits) {
  for (const [from, to] of edits) {
    const at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`${id}: expected exactly one ${JSON.stringify(from)} in the source`);
    text = text.slice(0, at) + to + text.slice(at + from.length);
  }
  return text;
}

const SWAP = {
  [ts.SyntaxKind.LessThanToken]: ["<="],
  [ts.SyntaxKind.LessThanEqualsToken]: ["<"],
  [ts.SyntaxKind.GreaterThanToken]: [">="],
  [ts.SyntaxKind.GreaterThanEqualsToken]: [">"],
  [ts.SyntaxKind.EqualsEqualsEqualsToken]: ["!=="],
  [ts.SyntaxKind.ExclamationEqualsEqualsToken]: ["==="],
  [ts.SyntaxKind.PlusToken]: ["-"],
  [ts.SyntaxKind.MinusToken]: ["+"],
  [ts.SyntaxKind.AsteriskToken]: ["/"],
  [ts.SyntaxKind.SlashToken]: ["*"],
  [ts.SyntaxKind.AmpersandAmpersandToken]: ["||"],
  [ts.SyntaxKind.BarBarToken]: ["&&"],
  [ts.SyntaxKind.PlusEqualsToken]: ["-="],
  [ts.SyntaxKind.MinusEqualsToken]: ["+="],
};

/** Every candidate mutant of one source file, in source order. */
function candidates(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out = [];
  const add = (start, end, to, op) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(start);
    const from = text.slice(start, end);
    out.push({ id: `${file.replace(/^src\//, "")}:${line + 1}:${character + 1}:${op}`, file, line: line + 1, op, from, to, start, end });
  };
  const visit = (node) => {
    if (ts.isTypeNode(node) || ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isTemplateExpression(node)
      || ts.isThrowStatement(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
    if (ts.isBinaryExpression(node)) {
      const k = node.operatorToken.kind;
      for (const to of SWAP[k] ?? []) add(node.operatorToken.getStart(sf), node.operatorToken.end, to, `${ts.tokenToString(k)}->${to}`);
      // a dropped term: `a + b` -> `a`, `a - b` -> `a`, `a * b` -> `a`
      if (k === ts.SyntaxKind.PlusToken || k === ts.SyntaxKind.MinusToken || k === ts.SyntaxKind.AsteriskToken) {
        add(node.getStart(sf), node.end, node.left.getText(sf), `drop-right-of-${ts.tokenToString(k)}`);
      }
    } else if (ts.isNumericLiteral(node)) {
      const v = Number(node.text);
      const to = v === 0 ? "1" : v === 1 ? "0" : String(v + 1);
      add(node.getStart(sf), node.end, to, `${node.getText(sf)}->${to}`);
    } else if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) {
      add(node.getStart(sf), node.end, `(${node.operand.getText(sf)})`, "drop-!");
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "Math"
      && (node.name.text === "max" || node.name.text === "min")) {
      const to = node.name.text === "max" ? "min" : "max";
      add(node.name.getStart(sf), node.name.end, to, `Math.${node.name.text}->${to}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** mulberry32: a small seeded generator, so that the selection is the same on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sourceFiles(folder) {
  const dir = join(root, "src", folder);
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith(".d.ts"))
    .sort().map((f) => `src/${folder}/${f}`);
}

/** The generated mutants: a quota per folder (proportional to its candidates, at least 6), interleaved round-robin. */
function selectMutants(o) {
  const perFolder = new Map();
  for (const folder of o.folders) {
    const all = sourceFiles(folder).flatMap((f) => candidates(f, readFileSync(join(root, f), "utf8")));
    const r = rng(o.seed);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    perFolder.set(folder, all);
  }
  const total = [...perFolder.values()].reduce((a, l) => a + l.length, 0);
  const lists = o.folders.map((f) => perFolder.get(f).slice(0, Math.min(perFolder.get(f).length, Math.max(6, Math.round((o.mutants * perFolder.get(f).length) / total)))));
  const out = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return { mutants: out, candidates: total };
}

function mutatedText(m) {
  const text = readFileSync(join(root, m.file), "utf8");
  if (m.edits) return applyEdits(m.id, text, m.edits);
  if (text.slice(m.start, m.end) !== m.from) throw new Error(`${m.id}: the source changed since the mutant was chosen`);
  return text.slice(0, m.start) + m.to + text.slice(m.end);
}

// ---------------------------------------------------------------- the copy and its tests
function makeCopy() {
  if (!existsSync(join(root, "dist/src/index.js"))) fail("dist/ is missing: run `npm run build` first (npm run test:mutation does)");
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-mutation-"));
  for (const name of readdirSync(root)) {
    if (name === "dist" || name === ".git") continue;
    if (name === "package.json") copyFileSync(join(root, name), join(dir, name));
    else symlinkSync(resolve(root, name), join(dir, name));
  }
  cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
  return dir;
}

/** Import graph of the compiled tree: file -> the dist files it imports (static and dynamic, relative or #platform). */
function importGraph(dir) {
  const graph = new Map();
  const files = readdirSync(join(dir, "dist"), { recursive: true }).map(String).filter((f) => f.endsWith(".js")).map((f) => `dist/${f}`);
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    const deps = new Set();
    for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*)["']([^"']+)["']/g)) {
      if (m[1] === "#platform") deps.add("dist/src/platform/node.js");
      else if (m[1].startsWith(".")) deps.add(relative(dir, resolve(dir, dirname(f), m[1])));
    }
    graph.set(f, deps);
  }
  return graph;
}

function closure(graph, start) {
  const seen = new Set([start]);
  const stack = [start];
  while (stack.length) for (const d of graph.get(stack.pop()) ?? []) if (!seen.has(d)) { seen.add(d); stack.push(d); }
  return seen;
}

/** Runs one test file (node --test, or plain node for test/parity.js) in the copy; resolves {ok, ms, timedOut}. */
function runTest(dir, file, timeoutMs) {
  return new Promise((res) => {
    const args = file.endsWith("parity.js") ? [file] : ["--test", file];
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { cwd: dir, stdio: "ignore", detached: true, env: { ...process.env, NODE_OPTIONS: "" } });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      try { process.kill(-child.pid, "SIGKILL"); } catch { /* the group is gone */ }
      res({ ok: code === 0 && !signal, ms: Date.now() - t0, timedOut });
    });
  });
}

// ---------------------------------------------------------------- main
async function main() {
  const o = parseArgs(process.argv.slice(2));
  let { mutants, candidates: total } = selectMutants(o);
  const named = NAMED.filter((m) => o.folders.includes(m.file.split("/")[1]));
  if (o.only) {
    const byId = new Map([...named, ...FOLDERS.flatMap((f) => sourceFiles(f).flatMap((s) => candidates(s, readFileSync(join(root, s), "utf8"))))].map((m) => [m.id, m]));
    mutants = o.only.map((id) => byId.get(id) ?? fail(`--only: no mutant ${JSON.stringify(id)}`));
  } else mutants = [...named, ...mutants];
  if (o.list) {
    for (const m of mutants) process.stdout.write(JSON.stringify({ id: m.id, file: m.file, op: m.op, from: m.from, to: m.to, edits: m.edits }) + "\n");
    process.stderr.write(`mutation: ${mutants.length} mutants selected of ${total} candidates\n`);
    return;
  }
  const dir = makeCopy();
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on("SIGINT", () => { cleanup(); process.exit(130); });
  const t0 = Date.now();
  const results = [];
  try {
    const graph = importGraph(dir);
    const tests = [...graph.keys()].filter((f) => f.endsWith(".test.js") && !NEVER.includes(f) && !(o.fast && E2E.includes(f)));
    tests.push("dist/test/parity.js");
    const cli = closure(graph, "dist/src/cli/main.js");
    const reach = new Map(tests.map((t) => [t, E2E.includes(t) ? new Set([...closure(graph, t), ...cli]) : closure(graph, t)]));
    // the baseline: every test file passes on the unmutated copy; its time sets the timeouts and the order
    const base = new Map();
    for (const t of tests) {
      const r = await runTest(dir, t, 300_000);
      if (!r.ok) fail(`baseline: ${t} fails on the unmutated tree; fix the suite first`);
      base.set(t, r.ms);
    }
    process.stderr.write(`mutation: baseline ${tests.length} test files in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${mutants.length} mutants of ${total} candidates\n`);
    for (const m of mutants) {
      if ((Date.now() - t0) / 1000 > o.timeBudget) {
        results.push({ ...m, status: "not run" });
        continue;
      }
      const folder = m.file.split("/")[1];
      const js = join(dir, "dist", m.file.replace(/\.ts$/, ".js"));
      const original = readFileSync(js);
      const mt = Date.now();
      let status = "survived", by = null;
      const relevant = tests.filter((t) => reach.get(t).has(`dist/${m.file.replace(/\.ts$/, ".js")}`))
        // this folder's own tests first, then the fastest
        .sort((a, b) => (b.startsWith(`dist/src/${folder}/`) - a.startsWith(`dist/src/${folder}/`)) || base.get(a) - base.get(b));
      try {
        const out = ts.transpileModule(mutatedText(m), {
          fileName: m.file,
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: false, strict: true },
          reportDiagnostics: true,
        });
        if (out.diagnostics?.length) status = "invalid";
        else {
          writeFileSync(js, out.outputText);
          for (const t of relevant) {
            const r = await runTest(dir, t, Math.max(20_000, 4 * base.get(t)));
            if (!r.ok) {
              status = r.timedOut ? "timeout" : "killed";
              by = t.replace(/^dist\//, "").replace(/\.js$/, ".ts");
              break;
            }
          }
        }
      } finally {
        writeFileSync(js, original);
      }
      const row = { mutant: m.id, folder, file: m.file, op: m.op, from: m.from ?? m.edits.map((e) => e[0]).join(" | "), to: m.to ?? m.edits.map((e) => e[1]).join(" | "), status, killedBy: by, tests: relevant.length, ms: Date.now() - mt };
      results.push(row);
      process.stdout.write(JSON.stringify(row) + "\n");
      process.stderr.write(`mutation: ${results.length}/${mutants.length} ${status.padEnd(8)} ${m.id}\n`);
    }
  } finally {
    cleanup();
  }
  // src/ was never written, only the copy: say so, checked
  try {
    execFileSync("git", ["diff", "--quiet", "--", "src"], { cwd: root });
  } catch {
    process.stderr.write("mutation: warning: git diff src is not clean (uncommitted edits of yours, not this script's: it writes only to its copy)\n");
  }
  const rows = [];
  for (const folder of [...o.folders, "total"]) {
    const rs = results.filter((r) => (folder === "total" || r.folder === folder || r.file?.split("/")[1] === folder) && r.status !== "not run" && r.status !== "invalid");
    const killed = rs.filter((r) => r.status === "killed" || r.status === "timeout").length;
    const survived = rs.filter((r) => r.status === "survived").length;
    const notRun = results.filter((r) => (folder === "total" || r.file.split("/")[1] === folder) && r.status === "not run").length;
    const row = { folder, killed, survived, notRun, score: killed + survived ? Number((killed / (killed + survived)).toFixed(3)) : null };
    rows.push(row);
    process.stdout.write(JSON.stringify(row) + "\n");
  }
  process.stderr.write("\n| folder | killed | survived | not run | score |\n| --- | --- | --- | --- | --- |\n");
  for (const r of rows) process.stderr.write(`| ${r.folder} | ${r.killed} | ${r.survived} | ${r.notRun} | ${r.score === null ? "-" : `${(100 * r.score).toFixed(1)}%`} |\n`);
  process.stderr.write(`mutation: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

await main();
