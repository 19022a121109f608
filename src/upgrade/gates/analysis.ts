// The metric analysis of one wave, as a pure, resumable state machine modelled on Argo Rollouts'
// AnalysisRun (analysis_types.go, docs/features/analysis.md): each check is measured `count` times,
// `interval` apart, the first after `initialDelay`; more than `failureLimit` failed measurements fail
// it, more than `inconclusiveLimit` inconclusive ones make it Inconclusive. Unlike Argo, an Error
// (Prometheus unreachable, bad PromQL) counts against failureLimit, so an analysis that cannot measure
// never passes. Everything it needs is in the recorded gate status: a restarted process resumes from
// it, and measurements already taken are neither repeated nor re-timed.
import { describeThreshold, type CheckResult, type GateCheck } from "./checks.js";
import type { GateMeasurement, GatePhase, GateStatus } from "./status.js";

export * from "./status.js";

/** What the analysis runs: the spec's verification.prometheus in milliseconds, checks resolved. */
export interface AnalysisPolicy {
  intervalMs: number;
  count: number;
  failureLimit: number;
  inconclusiveLimit: number;
  initialDelayMs: number;
  checks: GateCheck[];
}

export type AnalysisStep =
  | { type: "wait"; untilMs: number }
  | { type: "measure"; checks: GateCheck[] }
  | { type: "done"; phase: Exclude<GatePhase, "Running">; reasons: string[] };

/** A fresh gate for a wave, recorded when the wave begins (before its first restart). */
export function newGateStatus(wave: number, startedAtMs: number): GateStatus {
  return {
    wave,
    startedAt: new Date(startedAtMs).toISOString(),
    measurements: [],
    phase: "Running",
    failedChecks: [],
    message: "waiting for the wave's workloads to roll out",
  };
}

const ms = (iso: string) => Date.parse(iso);

function measurementsOf(status: GateStatus, check: string): GateMeasurement[] {
  return status.measurements.filter((m) => m.check === check);
}

/** When the check's next measurement is due: initialDelay after the analysis start, then interval after the last one. */
function dueAt(policy: AnalysisPolicy, startMs: number, taken: GateMeasurement[]): number {
  if (taken.length === 0) return startMs + policy.initialDelayMs;
  return ms(taken[taken.length - 1].at) + policy.intervalMs;
}

interface CheckTally {
  check: GateCheck;
  taken: GateMeasurement[];
  failures: GateMeasurement[];
  inconclusive: GateMeasurement[];
  passes: number;
}

function tally(policy: AnalysisPolicy, status: GateStatus): CheckTally[] {
  return policy.checks.map((check) => {
    const taken = measurementsOf(status, check.name);
    return {
      check,
      taken,
      failures: taken.filter((m) => m.verdict === "Fail" || m.verdict === "Error"),
      inconclusive: taken.filter((m) => m.verdict === "Inconclusive"),
      passes: taken.filter((m) => m.verdict === "Pass").length,
    };
  });
}

function lastMessage(list: GateMeasurement[]): string {
  const last = list[list.length - 1];
  return last?.message ? `: ${last.message}` : "";
}

/**
 * The analysis outcome the recorded measurements already decide, or null while it is still open.
 * A limit exceeded decides at once (no waiting for the remaining measurements); Failed beats Error
 * beats Inconclusive. dryRun checks never decide anything.
 */
export function analysisOutcome(
  policy: AnalysisPolicy,
  status: GateStatus,
): { phase: Exclude<GatePhase, "Running">; failedChecks: string[]; reasons: string[] } | null {
  const counted = tally(policy, status).filter((t) => !t.check.dryRun);
  const failed = counted.filter((t) => t.failures.length > policy.failureLimit);
  if (failed.length > 0) {
    // Error only when nothing was measured wrong, only unmeasurable: "Prometheus is down" is not "the proxy is bad"
    const realFailures = failed.filter((t) => t.failures.some((m) => m.verdict === "Fail"));
    const reasons = failed.map(
      (t) =>
        `${t.check.name}: ${t.failures.length} of ${t.taken.length} measurements ${t.failures.every((m) => m.verdict === "Error") ? "could not be taken" : `not ${describeThreshold(t.check.threshold)}`} (failureLimit ${policy.failureLimit})${lastMessage(t.failures)}`,
    );
    return {
      phase: realFailures.length > 0 ? "Failed" : "Error",
      failedChecks: failed.map((t) => t.check.name),
      reasons,
    };
  }
  const inconclusive = counted.filter((t) => t.inconclusive.length > policy.inconclusiveLimit);
  if (inconclusive.length > 0) {
    return {
      phase: "Inconclusive",
      failedChecks: inconclusive.map((t) => t.check.name),
      reasons: inconclusive.map(
        (t) =>
          `${t.check.name}: ${t.inconclusive.length} of ${t.taken.length} measurements inconclusive (inconclusiveLimit ${policy.inconclusiveLimit})${lastMessage(t.inconclusive)}`,
      ),
    };
  }
  const all = tally(policy, status);
  if (all.some((t) => t.taken.length < policy.count)) return null;
  // every measurement is taken and within the limits; a check still needs one Pass to pass: errors and
  // inconclusive results within their limits are tolerated, never counted as success
  const neverPassed = counted.filter((t) => t.passes === 0);
  if (neverPassed.length > 0) {
    const onlyErrors = neverPassed.every((t) => t.inconclusive.length === 0);
    return {
      phase: onlyErrors ? "Error" : "Inconclusive",
      failedChecks: neverPassed.map((t) => t.check.name),
      reasons: neverPassed.map(
        (t) => `${t.check.name}: no measurement of ${t.taken.length} passed${lastMessage(t.taken)}`,
      ),
    };
  }
  return { phase: "Passed", failedChecks: [], reasons: [] };
}

/**
 * The analysis' next step at `now`: measure the checks that are due, wait until the next one is, or
 * done. Needs the analysis start (status.analysisStartedAt); before it there is nothing to do but wait.
 */
export function nextStep(policy: AnalysisPolicy, status: GateStatus, now: number): AnalysisStep {
  if (status.phase !== "Running") {
    return { type: "done", phase: status.phase, reasons: status.message ? [status.message] : [] };
  }
  const decided = analysisOutcome(policy, status);
  if (decided) return { type: "done", phase: decided.phase, reasons: decided.reasons };
  if (!status.analysisStartedAt) return { type: "wait", untilMs: Infinity };
  const start = ms(status.analysisStartedAt);
  let next = Infinity;
  const due: GateCheck[] = [];
  for (const check of policy.checks) {
    const taken = measurementsOf(status, check.name);
    if (taken.length >= policy.count) continue;
    const at = dueAt(policy, start, taken);
    if (at <= now) due.push(check);
    else next = Math.min(next, at);
  }
  return due.length > 0 ? { type: "measure", checks: due } : { type: "wait", untilMs: next };
}

function summary(policy: AnalysisPolicy, status: GateStatus): string {
  const counted = policy.checks.filter((c) => !c.dryRun).length;
  const rounds = Math.min(...policy.checks.map((c) => measurementsOf(status, c.name).length), policy.count);
  return `analysis running: ${Number.isFinite(rounds) ? rounds : 0} of ${policy.count} measurements of ${counted} checks taken`;
}

/**
 * Records one round of measurements taken at `now` and decides the phase they lead to. Results for
 * checks that are not in the policy, or that already have `count` measurements, are ignored; so is
 * anything after the analysis has finished.
 */
export function recordMeasurements(
  policy: AnalysisPolicy,
  status: GateStatus,
  results: readonly CheckResult[],
  now: number,
): GateStatus {
  if (status.phase !== "Running") return status;
  const at = new Date(now).toISOString();
  const byName = new Map(policy.checks.map((c) => [c.name, c]));
  const measurements = [...status.measurements];
  for (const r of results) {
    const check = byName.get(r.check);
    if (!check || measurements.filter((m) => m.check === r.check).length >= policy.count) continue;
    measurements.push({
      check: r.check,
      at,
      value: r.value !== null && Number.isFinite(r.value) ? r.value : null,
      verdict: r.verdict,
      ...(r.message ? { message: r.message } : {}),
      ...(check.dryRun ? { dryRun: true } : {}),
    });
  }
  const next: GateStatus = { ...status, measurements };
  const decided = analysisOutcome(policy, next);
  if (!decided) return { ...next, message: summary(policy, next) };
  if (decided.phase === "Passed") {
    // the analysis passed; the gate passes when the health gate agrees (index.ts)
    return { ...next, message: `analysis passed: ${policy.count} measurements of every check within thresholds` };
  }
  return {
    ...next,
    phase: decided.phase,
    failedChecks: decided.failedChecks,
    message: decided.reasons.join("; "),
    finishedAt: at,
  };
}

/** The measurements in the shape of the MeshUpgrade history's `measurements` (check, value, verdict). */
export function historyMeasurements(
  status: GateStatus,
): { check: string; value: number | null; verdict: GateMeasurement["verdict"] }[] {
  return status.measurements.map((m) => ({ check: m.check, value: m.value, verdict: m.verdict }));
}
