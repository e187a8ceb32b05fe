// npm start's pre-step: builds once when dist/ is missing (a fresh `npm ci`), so that
// `npm ci && npm start` works without `prepare`, which a package's consumers would see listed
// among its install scripts (npm 11's allowScripts review) although it never runs for them.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

if (!existsSync(new URL("../dist/src/cli/main.js", import.meta.url))) {
  process.stderr.write("dist/ is missing: npm run build (about a minute, once)\n");
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "build"], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
