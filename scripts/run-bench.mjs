#!/usr/bin/env node
// Runs the benchmarks: every bench/*.ts with a `// bench:` header line, one at a time, each in its own
// `node --import tsx --expose-gc` process (so memory figures are clean), then prints a summary table
// from the bench/results/<name>.json files they wrote. Benchmarks report; the exit code is non-zero only
// when a benchmark crashed, never for a missed target.
// Usage: npm run bench [-- <filter substring>...]
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { spawn } from "node:child_process";

const root = resolve(import.meta.dirname, "..");
const benchDir = join(root, "bench");
const resultsDir = join(benchDir, "results");
const filters = process.argv.slice(2);

const HEADER = /^\/\/ bench:\s*(.+)$/m;
const benches = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
  .sort()
  .map((f) => ({
    file: join(benchDir, f),
    name: f.replace(/\.ts$/, ""),
    header: HEADER.exec(readFileSync(join(benchDir, f), "utf8"))?.[1],
  }))
  .filter((b) => b.header);
const selected = filters.length ? benches.filter((b) => filters.some((s) => b.name.includes(s))) : benches;
if (selected.length === 0) {
  console.error(`no benchmark matched ${filters.join(", ")} (have: ${benches.map((b) => b.name).join(", ")})`);
  process.exit(1);
}

function run(bench) {
  return new Promise((done) => {
    const started = Date.now();
    console.log(`\n=== ${bench.name}: ${bench.header}`);
    const child = spawn(process.execPath, ["--import", "tsx", "--expose-gc", bench.file], {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    });
    child.on("exit", (code, signal) => done({ bench, code: code ?? 1, signal, started }));
  });
}

function resultOf(name, since) {
  const file = join(resultsDir, `${name}.json`);
  try {
    // a result older than this run belongs to an earlier run: don't report it as this one's
    if (statSync(file).mtimeMs < since) return undefined;
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

const fmt = (x) =>
  x === null || x === undefined
    ? "—"
    : typeof x === "number"
      ? x.toLocaleString("en-US", { maximumFractionDigits: 2 })
      : String(x);

const outcomes = [];
for (const bench of selected) outcomes.push(await run(bench));

const rows = [];
for (const { bench, code, signal, started } of outcomes) {
  const result = resultOf(bench.name, started);
  if (!result) {
    rows.push([bench.name, `(no result: exited ${signal ?? code})`, "", "", ""]);
    continue;
  }
  for (const t of result.targets)
    rows.push([
      bench.name,
      t.name,
      `${fmt(t.value)} ${t.unit}`,
      `${t.comparison} ${fmt(t.limit)} ${t.unit}`,
      t.pass ? "PASS" : "MISS",
    ]);
  if (code !== 0) rows.push([bench.name, `(exited ${signal ?? code}: see its notes)`, "", "", ""]);
}
const header = ["benchmark", "target", "measured", "limit", ""];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) =>
  r
    .map((c, i) => c.padEnd(widths[i]))
    .join("  ")
    .trimEnd();
console.log(`\nSummary (results in ${relative(process.cwd(), resultsDir) || "."})`);
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
process.exitCode = outcomes.some((o) => o.code !== 0) ? 1 : 0;
