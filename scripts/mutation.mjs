#!/usr/bin/env node
// Mutation testing of rnnkit's non-kernel logic: `npm run test:mutation` (issue 10, item 8).
//
// A mutant is one small wrong change to src/ (a flipped comparison, a swapped operator, a dropped
// term, a changed constant, Math.max for Math.min, a dropped `!`), of the kind a gradient check
// cannot see when it is made consistently. Each is applied, one at a time, to a temporary copy of
// the compiled tree under the system's temp folder, never to src/ or dist/. A baseline run of
// every test file on the unmutated copy records its V8 block coverage (NODE_V8_COVERAGE, which the
// CLIs that end-to-end tests spawn inherit); a mutant then runs only the test files that executed
// the code it changed, fastest first, until one fails. A mutant is "killed" when a test fails or
// times out, "survived" when every test that runs its line passes ("no coverage" when none does;
// counted as survived).
//
// The set is scripted and deterministic: every candidate is found by walking the TypeScript syntax
// tree of each file under src/{models,train,decode,data,tasks,io,losses,layers} (the kernels,
// src/backend and src/cells, are proven by the kernel and parity tests instead), skipping types,
// imports, template literals and throw statements (error-message text); a seeded shuffle then picks
// a quota per folder. The three mutations named in issue 10 come first. In the copy, every file
// that may be mutated is TypeScript's transpileModule of its source, mutated or not (so that the
// two differ only where the mutant is, which places it in the coverage); the rest is the tsc
// build, so the run needs `npm run build` first (the npm script does it) and no wasm build. Mutants run
// in the order chosen until --time-budget is spent; the rest are reported as "not run".
//
// Usage: node scripts/mutation.mjs [--time-budget S] [--mutants N] [--seed N] [--folders a,b]
//                                  [--only ID,ID] [--file PATH] [--tests A,B] [--list] [--fast]
//   --time-budget S  stop starting mutants after S seconds (default 1200)
//   --mutants N      how many generated mutants (default 100; the named ones come on top)
//   --only ID,...    run only these mutant ids (as printed by --list or in the results)
//   --file PATH,...  run every candidate of these source files (src/...), not a sample
//   --tests A,B      run only these test files (src/x/y.test.ts or dist/...js) against every mutant,
//                    without coverage (to check that a new test kills the survivors it was written for)
//   --list           print the selected mutants as JSON lines and exit
//   --fast           leave out the slow end-to-end CLI tests (cli/main, cli/out, serve)
// stdout: one JSON line per mutant, then one per folder ({"folder", "killed", "survived", ...})
// and a total; stderr: progress and the per-folder table.
import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const FOLDERS = ["models", "train", "decode", "data", "tasks", "io", "losses", "layers"];
// tests that spawn the CLI (dist/src/cli/main.js) run every floor below it
const E2E = ["dist/src/cli/main.test.js", "dist/src/cli/out.test.js", "dist/src/serve/serve-cli.test.js"];
// the browser test runs the esbuild bundle, which a mutant does not rebuild
const NEVER = ["dist/test/browser.test.js"];

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = { timeBudget: 1200, mutants: 100, seed: 20261201, folders: FOLDERS, only: null, files: null, tests: null, list: false, fast: false };
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
    else if (a === "--file") {
      o.files = val().split(",");
      for (const f of o.files) if (!FOLDERS.includes(f.split("/")[1]) || !existsSync(join(root, f))) fail(`--file: expected a source file under src/{${FOLDERS.join(",")}}, got ${JSON.stringify(f)}`);
    } else if (a === "--tests") {
      o.tests = val().split(",").map((t) => (t.startsWith("dist/") ? t : `dist/${t.replace(/\.ts$/, ".js")}`));
      for (const t of o.tests) if (!existsSync(join(root, t))) fail(`--tests: expected a compiled test file, got ${JSON.stringify(t)} (no ${t}: npm run build?)`);
    } else if (a === "--list") o.list = true;
    else if (a === "--fast") o.fast = true;
    else fail(`unknown argument ${JSON.stringify(a)} (see the usage at the top of scripts/mutation.mjs)`);
  }
  return o;
}

class UsageError extends Error {}

/** Stops the run with one line on stderr and exit code 2 (thrown, so that the copy is still removed). */
function fail(msg) {
  throw new UsageError(msg);
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
/** TypeScript's transpileModule of one file (the same output settings as tsconfig.json, no type check). */
function transpile(file, text) {
  const out = ts.transpileModule(text, {
    fileName: file,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: false, strict: true },
    reportDiagnostics: true,
  });
  return { js: out.outputText, ok: !out.diagnostics?.length };
}

/**
 * The copy: dist/ copied, everything else linked. Each file that may be mutated is replaced by its
 * transpileModule output, so that an unmutated and a mutated file come from the same compiler and
 * differ only where the mutant is (which locates it in the coverage).
 */
function makeCopy() {
  if (!existsSync(join(root, "dist/src/index.js"))) fail("dist/ is missing: run `npm run build` first (npm run test:mutation does)");
  const dir = mkdtempSync(join(tmpdir(), "rnnkit-mutation-"));
  for (const name of readdirSync(root)) {
    if (name === "dist" || name === ".git") continue;
    if (name === "package.json") copyFileSync(join(root, name), join(dir, name));
    else symlinkSync(resolve(root, name), join(dir, name));
  }
  cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
  const js = new Map();
  for (const f of FOLDERS.flatMap(sourceFiles)) {
    const t = transpile(f, readFileSync(join(root, f), "utf8"));
    if (!t.ok) fail(`${f}: transpileModule reports a syntax error in the unmutated source`);
    writeFileSync(join(dir, "dist", f.replace(/\.ts$/, ".js")), t.js);
    js.set(f, t.js);
  }
  return { dir, js };
}

/**
 * The V8 coverage that one test file's processes (its own and every CLI it spawns, which inherit
 * NODE_V8_COVERAGE) wrote to `covDir`: dist-relative file -> one list of function ranges per process.
 */
function readCoverage(dir, covDir) {
  const prefix = pathToFileURL(join(dir, "dist")).href + "/";
  const cov = new Map();
  for (const name of readdirSync(covDir)) {
    if (!name.endsWith(".json")) continue;
    let data;
    try { data = JSON.parse(readFileSync(join(covDir, name), "utf8")); } catch { continue; }
    for (const script of data.result ?? []) {
      if (!script.url.startsWith(prefix)) continue;
      const f = "dist/" + script.url.slice(prefix.length);
      if (!cov.has(f)) cov.set(f, []);
      cov.get(f).push(script.functions.flatMap((fn) => fn.ranges));
    }
  }
  return cov;
}

/** Whether some process ran the code at `offset`: the innermost block range around it has a count > 0. */
function ran(perProcess, offset) {
  for (const ranges of perProcess ?? []) {
    let best = null;
    for (const r of ranges) if (r.startOffset <= offset && offset < r.endOffset && (!best || r.endOffset - r.startOffset <= best.endOffset - best.startOffset)) best = r;
    if (best && best.count > 0) return true;
  }
  return false;
}

/** The test process running now (its own process group), so that Ctrl-C can end it too. */
let running = null;

/** Runs one test file (node --test, or plain node for test/parity.js) in the copy; resolves {ok, ms, timedOut}. */
function runTest(dir, file, timeoutMs, covDir) {
  return new Promise((res) => {
    const args = file.endsWith("parity.js") ? [file] : ["--test", file];
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { cwd: dir, stdio: "ignore", detached: true, env: { ...process.env, NODE_OPTIONS: "", ...(covDir ? { NODE_V8_COVERAGE: covDir } : {}) } });
    running = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      running = null;
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
  } else if (o.files) mutants = o.files.flatMap((f) => candidates(f, readFileSync(join(root, f), "utf8")));
  else mutants = [...named, ...mutants];
  if (o.list) {
    for (const m of mutants) process.stdout.write(JSON.stringify({ id: m.id, file: m.file, op: m.op, from: m.from, to: m.to, edits: m.edits }) + "\n");
    process.stderr.write(`mutation: ${mutants.length} mutants selected of ${total} candidates\n`);
    return;
  }
  const { dir, js: originalJs } = makeCopy();
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on("SIGINT", () => {
    if (running) try { process.kill(-running.pid, "SIGKILL"); } catch { /* gone */ }
    cleanup();
    process.exit(130);
  });
  const t0 = Date.now();
  const results = [];
  try {
    const tests = readdirSync(join(dir, "dist"), { recursive: true }).map(String).filter((f) => f.endsWith(".test.js")).map((f) => `dist/${f}`)
      .filter((f) => !NEVER.includes(f) && !(o.fast && E2E.includes(f))).sort();
    tests.push("dist/test/parity.js");
    if (o.tests) tests.splice(0, tests.length, ...o.tests);
    // the baseline: every test file passes on the unmutated copy; its time sets the timeouts and
    // the order, its coverage which test files can see each mutant
    const base = new Map(), cover = new Map();
    for (const t of tests) {
      const covDir = mkdtempSync(join(tmpdir(), "rnnkit-mutation-cov-"));
      try {
        const r = await runTest(dir, t, 300_000, covDir);
        if (!r.ok) fail(`baseline: ${t} fails on the unmutated tree; fix the suite first`);
        base.set(t, r.ms);
        cover.set(t, readCoverage(dir, covDir));
      } finally {
        rmSync(covDir, { recursive: true, force: true });
      }
    }
    process.stderr.write(`mutation: baseline ${tests.length} test files in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${mutants.length} mutants of ${total} candidates\n`);
    for (const m of mutants) {
      if ((Date.now() - t0) / 1000 > o.timeBudget) {
        results.push({ ...m, status: "not run" });
        continue;
      }
      const folder = m.file.split("/")[1];
      const jsRel = `dist/${m.file.replace(/\.ts$/, ".js")}`;
      const jsPath = join(dir, jsRel);
      const original = originalJs.get(m.file);
      const mt = Date.now();
      let status = "survived", by = null, relevant = [];
      const t = transpile(m.file, mutatedText(m));
      if (!t.ok) status = "invalid";
      else if (t.js === original) status = "equivalent";
      else {
        // where the compiled files first differ: the mutant's place in the coverage
        let at = 0;
        while (t.js[at] === original[at]) at++;
        // V8 starts the block of a short-circuited operand (`a && b`) at the operator, so the
        // character before the change is checked too: a mutant is run where either ran
        relevant = tests.filter((x) => o.tests || ran(cover.get(x).get(jsRel), at) || (at > 0 && ran(cover.get(x).get(jsRel), at - 1)))
          // this folder's own tests first, then the fastest
          .sort((a, b) => (b.startsWith(`dist/src/${folder}/`) - a.startsWith(`dist/src/${folder}/`)) || base.get(a) - base.get(b));
        if (relevant.length === 0) status = "no coverage";
        try {
          writeFileSync(jsPath, t.js);
          for (const x of relevant) {
            const r = await runTest(dir, x, Math.max(20_000, 4 * base.get(x)));
            if (!r.ok) {
              status = r.timedOut ? "timeout" : "killed";
              by = x.replace(/^dist\//, "").replace(/\.js$/, ".ts");
              break;
            }
          }
        } finally {
          writeFileSync(jsPath, original);
        }
      }
      const row = { mutant: m.id, folder, file: m.file, op: m.op, from: m.from ?? m.edits.map((e) => e[0]).join(" | "), to: m.to ?? m.edits.map((e) => e[1]).join(" | "), status, killedBy: by, tests: relevant.length, ms: Date.now() - mt };
      results.push(row);
      process.stdout.write(JSON.stringify(row) + "\n");
      process.stderr.write(`mutation: ${results.length}/${mutants.length} ${status.padEnd(11)} ${m.id}\n`);
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
    const rs = results.filter((r) => (folder === "total" || r.folder === folder || r.file?.split("/")[1] === folder) && !["not run", "invalid", "equivalent"].includes(r.status));
    const killed = rs.filter((r) => r.status === "killed" || r.status === "timeout").length;
    const uncovered = rs.filter((r) => r.status === "no coverage").length;
    const survived = rs.filter((r) => r.status === "survived").length + uncovered;
    const notRun = results.filter((r) => (folder === "total" || r.file.split("/")[1] === folder) && r.status === "not run").length;
    const row = { folder, killed, survived, uncovered, notRun, score: killed + survived ? Number((killed / (killed + survived)).toFixed(3)) : null };
    rows.push(row);
    process.stdout.write(JSON.stringify(row) + "\n");
  }
  process.stderr.write("\n| folder | killed | survived (of which no test runs the line) | not run | score |\n| --- | --- | --- | --- | --- |\n");
  for (const r of rows) process.stderr.write(`| ${r.folder} | ${r.killed} | ${r.survived} (${r.uncovered}) | ${r.notRun} | ${r.score === null ? "-" : `${(100 * r.score).toFixed(1)}%`} |\n`);
  process.stderr.write(`mutation: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

try {
  await main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`mutation: ${e.message}\n`);
  process.exitCode = 2;
}
