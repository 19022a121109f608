// The metric checks of a wave's gate: the built-in ones as PromQL over the wave's workloads (Istio
// standard metrics as the destination sidecar reports them: reporter="destination" with
// destination_workload / destination_workload_namespace), user checks with $placeholders, the
// verdict rules (no samples is Inconclusive, never success), and spec validation of checks.
import { closest, distance } from "fastest-levenshtein";
import { BUILTIN_CHECKS, type MeshUpgradeSpec } from "../api/schema.js";
import type { SpecError } from "../api/validate.js";
import type { PrometheusClient, PromSample, QueryOutcome } from "./prometheus.js";
import type { Verdict } from "./status.js";

export type BuiltinCheck = (typeof BUILTIN_CHECKS)[number];
export type MetricCheckSpec = NonNullable<NonNullable<MeshUpgradeSpec["verification"]["prometheus"]>["checks"]>[number];

export { VERDICTS, type Verdict } from "./status.js";

export interface Threshold {
  min?: number;
  max?: number;
}

/** A check as the gate runs it: built-in or user PromQL, with its effective threshold. */
export interface GateCheck {
  name: string;
  builtin: BuiltinCheck | null;
  /** user checks only */
  query?: string;
  threshold: Threshold;
  dryRun: boolean;
}

/** The wave a check looks at. */
export interface WaveScope {
  workloads: { kind: string; namespace: string; name: string }[];
  /** the target revision (the new istiod) */
  revision: string;
}

/** One measurement before it is recorded: what was measured and what it means. */
export interface CheckResult {
  check: string;
  /** the number compared with the threshold (null when none could be taken, or it is not finite) */
  value: number | null;
  verdict: Verdict;
  message: string;
}

/** The p99 latency of each workload just before the wave began, for request-duration-p99's ratio. */
export interface LatencyBaseline {
  /** evaluation time of the baseline query: the wave's start */
  at: string;
  /** p99 in ms per "namespace/workload"; workloads without requests then are absent */
  p99Ms: { workload: string; value: number }[];
}

interface BuiltinInfo {
  threshold: Threshold;
  /** the values the check can produce: a threshold entirely outside them can never pass */
  range: [number, number];
  unit: string;
}

export const BUILTIN_CHECK_INFO: Record<BuiltinCheck, BuiltinInfo> = {
  // Flagger's request-success-rate default (thresholdRange.min 99), in percent
  "request-success-rate": { threshold: { min: 99 }, range: [0, 100], unit: "%" },
  // a ratio to the same workloads' own p99 before the wave, not an absolute latency: services differ
  "request-duration-p99": { threshold: { max: 1.2 }, range: [0, Infinity], unit: "× baseline" },
  "xds-rejects": { threshold: { max: 0 }, range: [0, Infinity], unit: "rejects" },
};

const PLACEHOLDERS_IN_STRINGS = ["namespaces", "workloads", "revision"] as const;
const PLACEHOLDERS_IN_RANGES = ["interval"] as const;
const PLACEHOLDERS: readonly string[] = [...PLACEHOLDERS_IN_STRINGS, ...PLACEHOLDERS_IN_RANGES];

function isBuiltin(name: string): name is BuiltinCheck {
  return (BUILTIN_CHECKS as readonly string[]).includes(name);
}

/** The checks a wave runs: those listed, or every built-in check with its defaults. */
export function gateChecksOf(checks: readonly MetricCheckSpec[] | undefined): GateCheck[] {
  const listed = checks ?? BUILTIN_CHECKS.map((name) => ({ name, dryRun: false }) as MetricCheckSpec);
  return listed.map((c) => {
    const builtin = isBuiltin(c.name) && c.query === undefined ? c.name : null;
    const threshold = c.threshold ?? (builtin ? BUILTIN_CHECK_INFO[builtin].threshold : {});
    return {
      name: c.name,
      builtin,
      ...(builtin ? {} : { query: c.query }),
      threshold: { ...threshold },
      dryRun: c.dryRun ?? false,
    };
  });
}

// --- PromQL text ------------------------------------------------------------------------------

/**
 * A value as an RE2 literal inside a double-quoted PromQL string: regex metacharacters escaped, then
 * the string's own escapes (a backslash is written twice). Label regexes are fully anchored by Prometheus.
 */
export function promRegexLiteral(value: string): string {
  const regex = value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return regex.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/** `a|b|c` of the distinct values, sorted, for a `label=~"…"` matcher. */
export function promAlternation(values: readonly string[]): string {
  return [...new Set(values)].sort().map(promRegexLiteral).join("|");
}

/** A Prometheus duration: whole seconds as "30s", anything else in ms. */
export function promDuration(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

function workloadMatchers(scope: WaveScope): string {
  const namespaces = promAlternation(scope.workloads.map((w) => w.namespace));
  const names = promAlternation(scope.workloads.map((w) => w.name));
  return `reporter="destination",destination_workload_namespace=~"${namespaces}",destination_workload=~"${names}"`;
}

/**
 * Requests per workload and response code: the success rate is computed from it here, so a workload
 * answering only 5xx shows 0% instead of vanishing from a division whose numerator has no series.
 */
export function successRateQuery(scope: WaveScope, windowMs: number): string {
  return `sum by (destination_workload_namespace, destination_workload, response_code) (rate(istio_requests_total{${workloadMatchers(scope)}}[${promDuration(windowMs)}]))`;
}

/** p99 request duration (ms) per workload, from the Istio duration histogram. */
export function p99Query(scope: WaveScope, windowMs: number): string {
  return `histogram_quantile(0.99, sum by (destination_workload_namespace, destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{${workloadMatchers(scope)}}[${promDuration(windowMs)}])))`;
}

/** xDS responses NACKed by proxies of the target revision's istiod over the range. */
export function xdsRejectsQuery(revision: string, rangeMs: number): string {
  return `sum(increase(pilot_total_xds_rejects{istio_io_rev="${promRegexLiteral(revision)}"}[${promDuration(rangeMs)}]))`;
}

/** pilot_total_xds_rejects of the revision's istiod pods, summed: the health gate compares two of these. */
export function xdsRejectsTotalQuery(revision: string): string {
  return `sum(pilot_total_xds_rejects{istio_io_rev="${promRegexLiteral(revision)}"})`;
}

/**
 * A user query with its placeholders filled: $namespaces and $workloads become regex alternations for
 * `=~"…"` matchers, $revision the target revision, $interval the analysis window (for range selectors).
 */
export function substitutePlaceholders(query: string, scope: WaveScope, windowMs: number): string {
  const values: Record<string, string> = {
    namespaces: promAlternation(scope.workloads.map((w) => w.namespace)),
    workloads: promAlternation(scope.workloads.map((w) => w.name)),
    revision: promRegexLiteral(scope.revision),
    interval: promDuration(windowMs),
  };
  return query.replace(/\$([A-Za-z_]\w*)/g, (whole, name: string) => values[name] ?? whole);
}

// --- verdicts ---------------------------------------------------------------------------------

const round = (x: number) => Math.round(x * 1000) / 1000;

function passes(value: number, t: Threshold): boolean {
  return (t.min === undefined || value >= t.min) && (t.max === undefined || value <= t.max);
}

export function describeThreshold(t: Threshold): string {
  if (t.min !== undefined && t.max !== undefined) return `between ${t.min} and ${t.max}`;
  return t.min !== undefined ? `≥ ${t.min}` : `≤ ${t.max}`;
}

function formatNumber(x: number): string {
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  return String(round(x));
}

function notMeasured(check: string, outcome: Exclude<QueryOutcome, { kind: "samples" }>): CheckResult {
  const message =
    outcome.kind === "error" ? `PromQL error (${outcome.errorType}): ${outcome.message}` : outcome.message;
  return { check, value: null, verdict: "Error", message };
}

function workloadKey(labels: Record<string, string>): string {
  return `${labels.destination_workload_namespace ?? ""}/${labels.destination_workload ?? ""}`;
}

function scopeKeys(scope: WaveScope): Set<string> {
  return new Set(scope.workloads.map((w) => `${w.namespace}/${w.name}`));
}

/** Up to `limit` entries, then "and N more": a status message stays short on a wave of 200 workloads. */
function listed(items: string[], limit = 5): string {
  return items.length <= limit
    ? items.join(", ")
    : `${items.slice(0, limit).join(", ")} and ${items.length - limit} more`;
}

/**
 * Per-workload values to one verdict: the worst workload's value is recorded, every workload outside
 * the threshold is named. Workloads without a value (no requests) only make the check Inconclusive
 * when no workload has one.
 */
function perWorkloadVerdict(
  check: string,
  values: Map<string, number>,
  threshold: Threshold,
  format: (workload: string, value: number) => string,
  noValue: string,
  notes: string[],
): CheckResult {
  if (values.size === 0) return { check, value: null, verdict: "Inconclusive", message: noValue };
  const entries = [...values.entries()].sort(([a], [b]) => a.localeCompare(b));
  const failing = entries.filter(([, v]) => !passes(v, threshold));
  // the worst value is the one furthest on the failing side: lowest against a min, highest against a max
  const worst = entries.reduce((w, e) => (threshold.min !== undefined ? (e[1] < w[1] ? e : w) : e[1] > w[1] ? e : w));
  const value = Number.isFinite(worst[1]) ? round(worst[1]) : null;
  const extra = notes.length ? `; ${notes.join("; ")}` : "";
  if (failing.length > 0) {
    return {
      check,
      value,
      verdict: "Fail",
      message: `${failing.length} of ${entries.length} workloads not ${describeThreshold(threshold)}: ${listed(failing.map(([w, v]) => format(w, v)))}${extra}`,
    };
  }
  return {
    check,
    value,
    verdict: "Pass",
    message: `${entries.length} workloads ${describeThreshold(threshold)}; worst ${format(worst[0], worst[1])}${extra}`,
  };
}

/** request-success-rate: non-5xx / all requests, percent, per workload of the wave. */
export function evaluateSuccessRate(
  outcome: QueryOutcome,
  scope: WaveScope,
  threshold: Threshold,
  windowMs: number,
  check = "request-success-rate",
): CheckResult {
  if (outcome.kind !== "samples") return notMeasured(check, outcome);
  const wave = scopeKeys(scope);
  const totals = new Map<string, { all: number; failed: number }>();
  for (const s of outcome.samples) {
    const key = workloadKey(s.labels);
    if (!wave.has(key) || !Number.isFinite(s.value)) continue;
    const t = totals.get(key) ?? { all: 0, failed: 0 };
    t.all += s.value;
    // Envoy's 5xx: the upstream failed or the proxy could not reach it (Flagger's response_code!~"5.*")
    if (/^5/.test(s.labels.response_code ?? "")) t.failed += s.value;
    totals.set(key, t);
  }
  const rates = new Map<string, number>();
  for (const [key, t] of totals) if (t.all > 0) rates.set(key, (100 * (t.all - t.failed)) / t.all);
  const quiet = [...wave].filter((k) => !rates.has(k)).sort();
  const notes = quiet.length && rates.size ? [`no requests to ${listed(quiet)}`] : [];
  return perWorkloadVerdict(
    check,
    rates,
    threshold,
    (w, v) => `${w} ${formatNumber(v)}%`,
    `no requests to any of the wave's ${wave.size} workloads in the last ${promDuration(windowMs)} (no samples): inconclusive, not success`,
    notes,
  );
}

/** Finite p99 values per wave workload from a p99Query answer (NaN = no requests in the window). */
function p99ByWorkload(samples: PromSample[], scope: WaveScope): Map<string, number> {
  const wave = scopeKeys(scope);
  const out = new Map<string, number>();
  for (const s of samples) {
    const key = workloadKey(s.labels);
    if (wave.has(key) && !Number.isNaN(s.value)) out.set(key, s.value);
  }
  return out;
}

/** The baseline from a p99Query evaluated at the wave's start, or the error that prevented it. */
export function latencyBaselineOf(
  outcome: QueryOutcome,
  scope: WaveScope,
  at: string,
): { baseline: LatencyBaseline } | { error: CheckResult } {
  if (outcome.kind !== "samples") return { error: notMeasured("request-duration-p99", outcome) };
  const p99Ms = [...p99ByWorkload(outcome.samples, scope).entries()]
    .filter(([, v]) => Number.isFinite(v))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([workload, value]) => ({ workload, value: round(value) }));
  return { baseline: { at, p99Ms } };
}

/** request-duration-p99: each workload's p99 now / its p99 before the wave. */
export function evaluateLatencyRatio(
  outcome: QueryOutcome,
  baseline: LatencyBaseline,
  scope: WaveScope,
  threshold: Threshold,
  windowMs: number,
  check = "request-duration-p99",
): CheckResult {
  if (outcome.kind !== "samples") return notMeasured(check, outcome);
  const current = p99ByWorkload(outcome.samples, scope);
  const before = new Map(baseline.p99Ms.map((b) => [b.workload, b.value]));
  const ratios = new Map<string, number>();
  const withoutBaseline: string[] = [];
  for (const [key, now] of current) {
    const base = before.get(key);
    if (base === undefined || base <= 0) withoutBaseline.push(key);
    else ratios.set(key, now / base);
  }
  const noValue =
    current.size === 0
      ? `no requests to any of the wave's ${scope.workloads.length} workloads in the last ${promDuration(windowMs)} (no samples): inconclusive, not success`
      : `no baseline: none of ${listed([...current.keys()].sort())} had requests before the wave began (${baseline.at}), so there is nothing to compare with`;
  const notes = withoutBaseline.length && ratios.size ? [`no baseline for ${listed(withoutBaseline.sort())}`] : [];
  return perWorkloadVerdict(
    check,
    ratios,
    threshold,
    (w, ratio) =>
      `${w} p99 ${formatNumber(current.get(w)!)} ms vs ${formatNumber(before.get(w)!)} ms before (×${formatNumber(ratio)})`,
    noValue,
    notes,
  );
}

/** A query that must return one number: a scalar, or an instant vector of one series. */
export function evaluateSingleValue(
  outcome: QueryOutcome,
  check: string,
  threshold: Threshold,
  noSamples: string,
): CheckResult {
  if (outcome.kind !== "samples") return notMeasured(check, outcome);
  const { samples } = outcome;
  if (samples.length === 0) return { check, value: null, verdict: "Inconclusive", message: noSamples };
  if (samples.length > 1) {
    const series = samples.slice(0, 2).map(
      (s) =>
        `{${Object.entries(s.labels)
          .map(([k, v]) => `${k}="${v}"`)
          .join(",")}}`,
    );
    return {
      check,
      value: null,
      verdict: "Error",
      message: `the query returned ${samples.length} series (${series.join(", ")}${samples.length > 2 ? ", …" : ""}), not one number — aggregate it, e.g. sum(…), max(…) or min(…)`,
    };
  }
  const v = samples[0].value;
  if (Number.isNaN(v)) {
    return {
      check,
      value: null,
      verdict: "Inconclusive",
      message: "the query returned NaN (usually 0/0: no requests in the window)",
    };
  }
  const ok = passes(v, threshold);
  return {
    check,
    value: Number.isFinite(v) ? round(v) : null,
    verdict: ok ? "Pass" : "Fail",
    message: `${formatNumber(v)} ${ok ? "is" : "is not"} ${describeThreshold(threshold)}`,
  };
}

// --- measuring (the only I/O here) --------------------------------------------------------------

export interface MeasureContext {
  client: PrometheusClient;
  scope: WaveScope;
  nowMs: number;
  /** the range of rate() windows: the analysis interval */
  windowMs: number;
  /** when the wave began: the latency baseline is evaluated there, xDS rejects counted from there */
  waveStartedAtMs: number;
  /** recorded baseline, when an earlier step measured it */
  baseline?: LatencyBaseline;
  signal?: AbortSignal;
}

/**
 * Measures the given checks at `nowMs` (queries in parallel, each evaluated at that instant). The p99
 * baseline is measured first when it is due and not yet recorded; a new baseline is returned for the
 * caller to record, so a restarted process never measures it twice.
 */
export async function measureChecks(
  checks: readonly GateCheck[],
  ctx: MeasureContext,
): Promise<{ results: CheckResult[]; baseline?: LatencyBaseline }> {
  const { client, scope, windowMs, signal } = ctx;
  const at = { timeMs: ctx.nowMs, signal };
  let baseline = ctx.baseline;
  let baselineError: CheckResult | undefined;
  let newBaseline: LatencyBaseline | undefined;
  if (!baseline && checks.some((c) => c.builtin === "request-duration-p99")) {
    const startedAt = new Date(ctx.waveStartedAtMs).toISOString();
    const answer = latencyBaselineOf(
      await client.query(p99Query(scope, windowMs), { timeMs: ctx.waveStartedAtMs, signal }),
      scope,
      startedAt,
    );
    if ("baseline" in answer) baseline = newBaseline = answer.baseline;
    else baselineError = answer.error;
  }
  const results = await Promise.all(
    checks.map(async (c): Promise<CheckResult> => {
      switch (c.builtin) {
        case "request-success-rate":
          return evaluateSuccessRate(
            await client.query(successRateQuery(scope, windowMs), at),
            scope,
            c.threshold,
            windowMs,
            c.name,
          );
        case "request-duration-p99":
          if (!baseline) return { ...baselineError!, message: `baseline before the wave: ${baselineError!.message}` };
          return evaluateLatencyRatio(
            await client.query(p99Query(scope, windowMs), at),
            baseline,
            scope,
            c.threshold,
            windowMs,
            c.name,
          );
        case "xds-rejects": {
          // from the wave's start, not one window: a proxy NACKs its first push right when it connects
          const range = Math.max(windowMs, ctx.nowMs - ctx.waveStartedAtMs);
          return evaluateSingleValue(
            await client.query(xdsRejectsQuery(scope.revision, range), at),
            c.name,
            c.threshold,
            `no pilot_total_xds_rejects series for revision ${scope.revision}: is Prometheus scraping its istiod (port 15014)?`,
          );
        }
        default:
          return evaluateSingleValue(
            await client.query(substitutePlaceholders(c.query ?? "", scope, windowMs), at),
            c.name,
            c.threshold,
            "the query returned no samples: inconclusive, not success",
          );
      }
    }),
  );
  return newBaseline ? { results, baseline: newBaseline } : { results };
}

// --- validation -------------------------------------------------------------------------------

/**
 * A cheap PromQL syntax check, run offline when a spec is validated: string literals closed, brackets
 * balanced and nested, placeholders known and where they can work. Not a parser: what it passes may
 * still be refused by Prometheus (checkQueriesWithPrometheus asks Prometheus' own parser).
 */
export function lintPromQL(query: string): string | null {
  if (query.trim() === "") return "the query is empty";
  const stack: { char: string; at: number }[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  for (let i = 0; i < query.length; i++) {
    const ch = query[i];
    if (ch === "#") {
      // a comment runs to the end of the line
      while (i < query.length && query[i] !== "\n") i++;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") {
      const start = i;
      for (i++; i < query.length && query[i] !== ch; i++) {
        if (ch !== "`" && query[i] === "\\") i++;
        else if (ch !== "`" && query[i] === "\n") break;
      }
      if (i >= query.length || query[i] !== ch) return `the string starting at column ${start + 1} is never closed`;
      const literal = query.slice(start + 1, i);
      for (const m of literal.matchAll(/\$([A-Za-z_]\w*)/g)) {
        if ((PLACEHOLDERS_IN_RANGES as readonly string[]).includes(m[1]))
          return `$${m[1]} stands for a duration: use it in a range selector such as [$${m[1]}], not in a string`;
      }
      continue;
    }
    if (ch === "$") {
      const name = /^\$([A-Za-z_]\w*)/.exec(query.slice(i))?.[1];
      if (name && (PLACEHOLDERS_IN_STRINGS as readonly string[]).includes(name)) {
        return `$${name} must be inside a quoted label matcher, e.g. destination_workload=~"$workloads" (column ${i + 1})`;
      }
      continue;
    }
    if (ch === "(" || ch === "[" || ch === "{") stack.push({ char: ch, at: i });
    else if (ch in pairs) {
      const open = stack.pop();
      if (!open) return `"${ch}" at column ${i + 1} closes nothing`;
      if (open.char !== pairs[ch])
        return `"${ch}" at column ${i + 1} does not match "${open.char}" at column ${open.at + 1}`;
    }
  }
  const open = stack.pop();
  return open ? `"${open.char}" at column ${open.at + 1} is never closed` : null;
}

function suggestion(word: string, known: readonly string[]): string {
  const best = closest(word, [...known]);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best}"?)` : "";
}

const CHECKS_FIELD = "spec.verification.prometheus.checks";

/**
 * Every problem of the listed checks, as spec errors (field, message, fix): duplicate names, an unknown
 * name without a query, a query on a built-in name, a user check without threshold, a query that does
 * not parse (lintPromQL) or names an unknown placeholder, a threshold no value of a built-in check can meet.
 */
export function validateMetricChecks(checks: readonly MetricCheckSpec[] | undefined): SpecError[] {
  const errors: SpecError[] = [];
  const add = (field: string, message: string, fix: string) => errors.push({ field, message, fix });
  const seen = new Set<string>();
  (checks ?? []).forEach((check, i) => {
    const field = `${CHECKS_FIELD}[${i}]`;
    if (seen.has(check.name))
      add(`${field}.name`, `check "${check.name}" is listed twice`, "Give every check its own name.");
    seen.add(check.name);
    const builtin = isBuiltin(check.name);
    if (builtin && check.query !== undefined) {
      add(
        `${field}.query`,
        `"${check.name}" is a built-in check: its query is fixed`,
        `Remove the query to use the built-in check, or give your check another name (e.g. "${check.name}-custom").`,
      );
    }
    if (!builtin && check.query === undefined) {
      add(
        `${field}.name`,
        `"${check.name}" is not a built-in check${suggestion(check.name, BUILTIN_CHECKS)} and has no query`,
        `Use a built-in check (${BUILTIN_CHECKS.join(", ")}), or give a PromQL query and a threshold.`,
      );
    }
    if (!builtin && check.query !== undefined && check.threshold === undefined) {
      add(
        `${field}.threshold`,
        `custom check "${check.name}" has no threshold`,
        "Add threshold.min and/or threshold.max.",
      );
    }
    if (check.query !== undefined) {
      const problem = lintPromQL(check.query);
      if (problem) {
        add(
          `${field}.query`,
          `the query of "${check.name}" is not valid PromQL: ${problem}`,
          "Fix the query; try it in the Prometheus UI first.",
        );
      }
      for (const m of check.query.matchAll(/\$([A-Za-z_]\w*)/g)) {
        if (!PLACEHOLDERS.includes(m[1])) {
          add(
            `${field}.query`,
            `the query of "${check.name}" uses $${m[1]}, which meshlift does not fill${suggestion(m[1], PLACEHOLDERS)}`,
            `Use $namespaces, $workloads or $revision (inside a quoted matcher) or $interval (in a range selector).`,
          );
        }
      }
    }
    if (builtin && check.query === undefined && check.threshold) {
      const [lo, hi] = BUILTIN_CHECK_INFO[check.name as BuiltinCheck].range;
      const { min, max } = check.threshold;
      if ((min !== undefined && min > hi) || (max !== undefined && max < lo)) {
        add(
          `${field}.threshold`,
          `threshold ${describeThreshold(check.threshold)} can never be met: ${check.name} is always between ${lo} and ${hi === Infinity ? "+∞" : hi}`,
          `Use a threshold inside that range (default ${describeThreshold(BUILTIN_CHECK_INFO[check.name as BuiltinCheck].threshold)}).`,
        );
      }
    }
  });
  return errors;
}

/**
 * Asks Prometheus' own parser (/api/v1/format_query, nothing evaluated) about every user query, with
 * placeholders filled for an example wave. For the start of an upgrade, where Prometheus is reachable:
 * a query it refuses is refused before any workload restarts. Unreachable Prometheus gives no errors
 * here (the gate itself records that as Error); `unchecked` says which queries were not checked.
 */
export async function checkQueriesWithPrometheus(
  client: PrometheusClient,
  checks: readonly MetricCheckSpec[] | undefined,
  signal?: AbortSignal,
): Promise<{ errors: SpecError[]; unchecked: string[] }> {
  const example: WaveScope = {
    workloads: [{ kind: "Deployment", namespace: "example", name: "example" }],
    revision: "example",
  };
  const answers = await Promise.all(
    (checks ?? []).map((check) =>
      check.query === undefined
        ? null
        : client.checkSyntax(substitutePlaceholders(check.query, example, 60_000), signal),
    ),
  );
  const errors: SpecError[] = [];
  const unchecked: string[] = [];
  answers.forEach((answer, i) => {
    const check = checks![i];
    if (answer?.ok === false) {
      errors.push({
        field: `${CHECKS_FIELD}[${i}].query`,
        message: `Prometheus refuses the query of "${check.name}": ${answer.message}`,
        fix: "Fix the query; try it in the Prometheus UI first.",
      });
    } else if (answer?.ok === null) unchecked.push(`${check.name}: ${answer.message}`);
  });
  return { errors, unchecked };
}
