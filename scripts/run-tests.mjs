#!/usr/bin/env node
// Runs every *.test.ts under test/, src/ and sandbox/ with node's own test runner (via tsx).
// Usage: npm test [-- <filter substring>...]
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawn } from "node:child_process";

const roots = ["src", "sandbox", "test"];
const filters = process.argv.slice(2);
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    if (e === "node_modules") continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.test\.tsx?$/.test(e)) files.push(relative(process.cwd(), p));
  }
}
roots.forEach(walk);
files.sort();
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (selected.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
// --test-force-exit: a test file that leaves a handle open fails its own assertions, not the whole run by hanging
const args = [
  "--import",
  "tsx",
  "--test",
  "--test-force-exit",
  `--test-concurrency=${concurrency}`,
  "--test-reporter=spec",
  ...selected,
];
const child = spawn(process.execPath, args, { stdio: "inherit", env: { ...process.env, NODE_NO_WARNINGS: "1" } });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
