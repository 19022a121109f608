// The verification gate of one wave: the health gate (always on) and, when Prometheus is configured,
// the metric analysis. The engine records a fresh gate status (newGateStatus) when a wave begins,
// then calls evaluateWaveGate until it answers passed or failed, recording the returned status each
// time and waiting as told in between. decideWaveGate is the pure core; evaluateWaveGate is its only
// I/O: one fresh read of the wave's objects, and the Prometheus queries that are due.
import type { KubeObject, ResourceRef } from "../../kube/resources.js";
import { durationMs, type MeshUpgradeSpec } from "../api/schema.js";
import type { RestClient } from "../../kube/rest.js";
import { nextStep, recordMeasurements, type AnalysisPolicy, type GateStatus } from "./analysis.js";
import { gateChecksOf, measureChecks, xdsRejectsTotalQuery, type GateCheck, type WaveScope } from "./checks.js";
import { collectHealthInput } from "./collect.js";
import { evaluateHealth, type HealthResult, type WorkloadRef } from "./health.js";
import { PrometheusClient, type QueryOutcome } from "./prometheus.js";

export * from "./analysis.js";
export * from "./checks.js";
export * from "./collect.js";
export * from "./health.js";
export * from "./prometheus.js";

export type Verification = MeshUpgradeSpec["verification"];

/** What a wave's gate runs, in milliseconds, from spec.verification. */
export interface GatePolicy {
  minReadySeconds: number;
  /**
   * the health gate fails a wave still not healthy this long after it first looked at it; a backstop
   * behind each Deployment's own progressDeadlineSeconds, which the health gate reports as soon as it is hit
   */
  healthTimeoutMs: number;
  /** how often the health gate is re-read while waiting (also during the analysis: a crash loop fails the wave at once) */
  healthPollMs: number;
  /** null without verification.prometheus */
  analysis: AnalysisPolicy | null;
  /** range of the built-in checks' rate() windows */
  windowMs: number;
  prometheusUrl: string | null;
  onFailure: Verification["onFailure"];
}

export interface GatePolicyOptions {
  /** default 600 s, the default progressDeadlineSeconds of a Deployment */
  healthTimeoutMs?: number;
  /** default 5 s */
  healthPollMs?: number;
  /**
   * The rate() window is the interval, as in Flagger; at least this long (default 0). Prometheus needs two
   * samples in a window: with a short interval and a slow scrape, raise it to 4× the scrape interval.
   */
  minWindowMs?: number;
}

export function gatePolicyOf(verification: Verification, options: GatePolicyOptions = {}): GatePolicy {
  const prom = verification.prometheus;
  const analysis: AnalysisPolicy | null = prom
    ? {
        intervalMs: durationMs(prom.interval),
        count: prom.count,
        failureLimit: prom.failureLimit,
        inconclusiveLimit: prom.inconclusiveLimit,
        initialDelayMs: durationMs(prom.initialDelay),
        checks: gateChecksOf(prom.checks),
      }
    : null;
  return {
    minReadySeconds: verification.healthGate.minReadySeconds,
    healthTimeoutMs: options.healthTimeoutMs ?? 600_000,
    healthPollMs: options.healthPollMs ?? 5_000,
    analysis,
    windowMs: Math.max(analysis?.intervalMs ?? 0, options.minWindowMs ?? 0),
    prometheusUrl: prom?.url ?? null,
    onFailure: verification.onFailure,
  };
}

/** The wave a gate verifies. */
export interface WaveGateTarget {
  wave: number;
  workloads: WorkloadRef[];
  targetRevision: string;
  /** the target revision's istiod Service, whose syncz lists connected proxies; unset: not checked */
  istiod?: { namespace: string; service: string };
}

export type GateNext =
  | { type: "wait"; untilMs: number }
  | { type: "passed"; message: string }
  | {
      type: "failed";
      phase: "Failed" | "Inconclusive" | "Error";
      /** checks, or "health", that decided it */
      failedChecks: string[];
      message: string;
      onFailure: Verification["onFailure"];
    };

export type GateDecision =
  { status: GateStatus; next: GateNext } | { status: GateStatus; next: { type: "measure"; checks: GateCheck[] } };

/** Reasons kept in status: enough to act on, small enough for a big wave's status. */
const MAX_RECORDED_REASONS = 10;

function capped(reasons: string[]): string[] {
  return reasons.length <= MAX_RECORDED_REASONS
    ? reasons
    : [...reasons.slice(0, MAX_RECORDED_REASONS - 1), `… and ${reasons.length - MAX_RECORDED_REASONS + 1} more`];
}

function finished(policy: GatePolicy, status: GateStatus): GateNext | null {
  if (status.phase === "Running") return null;
  if (status.phase === "Passed") return { type: "passed", message: status.message };
  return {
    type: "failed",
    phase: status.phase,
    failedChecks: status.failedChecks,
    message: status.message,
    onFailure: policy.onFailure,
  };
}

function fail(status: GateStatus, message: string, now: number): GateStatus {
  return { ...status, phase: "Failed", failedChecks: ["health"], message, finishedAt: new Date(now).toISOString() };
}

/**
 * One pure step of a wave's gate: records the health verdict (`health`; null when it was not read
 * this time), starts the analysis clock when the wave has first rolled out, and says what comes next.
 * "measure" asks the caller to take those measurements and call again with them recorded.
 */
export function decideWaveGate(
  policy: GatePolicy,
  target: WaveGateTarget,
  status: GateStatus,
  health: HealthResult | null,
  now: number,
): GateDecision {
  const done = finished(policy, status);
  if (done) return { status, next: done };
  let s = status;
  if (health) {
    const at = new Date(now).toISOString();
    s = {
      ...s,
      checkedSince: s.checkedSince ?? at,
      health: { verdict: health.verdict, at, reasons: capped(health.reasons) },
    };
    if (health.rolledOut && !s.analysisStartedAt) s = { ...s, analysisStartedAt: at };
    if (health.verdict === "Fail") {
      s = fail(s, `health gate: ${capped(health.reasons).join("; ")}`, now);
      return { status: s, next: finished(policy, s)! };
    }
    const waited = now - Date.parse(s.checkedSince!);
    if (health.verdict === "Waiting" && waited > policy.healthTimeoutMs) {
      s = fail(
        s,
        `health gate: still not healthy ${Math.round(policy.healthTimeoutMs / 1000)}s after its first check: ${capped(health.reasons).join("; ")}`,
        now,
      );
      return { status: s, next: finished(policy, s)! };
    }
  }
  const healthy = s.health?.verdict === "Pass";
  const recheck =
    health?.recheckAtMs !== undefined
      ? Math.min(health.recheckAtMs, now + policy.healthPollMs)
      : now + policy.healthPollMs;

  const analysis = target.workloads.length > 0 ? policy.analysis : null;
  if (analysis) {
    const step = nextStep(analysis, s, now);
    if (step.type === "measure") return { status: s, next: { type: "measure", checks: step.checks } };
    if (step.type === "done" && step.phase !== "Passed") {
      // recordMeasurements set the phase already; this covers a status recorded by an older step
      const out: GateStatus =
        s.phase === "Running"
          ? { ...s, phase: step.phase, message: step.reasons.join("; "), finishedAt: new Date(now).toISOString() }
          : s;
      return { status: out, next: finished(policy, out)! };
    }
    if (step.type === "wait") {
      // re-read health on the way: a crash loop or a rising xDS reject count fails the wave without waiting for the next measurement
      const untilMs = Math.min(step.untilMs, healthy ? now + policy.healthPollMs : recheck);
      const message = s.analysisStartedAt
        ? s.message
        : `waiting for the wave to roll out: ${capped(s.health?.reasons ?? []).join("; ")}`;
      return { status: { ...s, message }, next: { type: "wait", untilMs } };
    }
  }
  // the analysis passed (or there is none): the health gate decides
  if (healthy) {
    const workloads = target.workloads.length;
    const message =
      workloads === 0
        ? "no workloads in this wave: nothing to verify"
        : `${workloads} workloads rolled out, Ready ≥ ${policy.minReadySeconds}s, no restarts, proxies on ${target.targetRevision}${analysis ? `; analysis passed (${analysis.checks.length} checks × ${analysis.count})` : ""}`;
    const out: GateStatus = {
      ...s,
      phase: "Passed",
      failedChecks: [],
      message,
      finishedAt: new Date(now).toISOString(),
    };
    return { status: out, next: finished(policy, out)! };
  }
  return {
    status: {
      ...s,
      message: `${analysis ? "analysis passed; " : ""}waiting for the health gate: ${capped(s.health?.reasons ?? []).join("; ")}`,
    },
    next: { type: "wait", untilMs: recheck },
  };
}

export interface GateIO {
  rest: RestClient;
  /** default: a client of policy.prometheusUrl */
  prometheus?: PrometheusClient;
  now?: () => number;
  signal?: AbortSignal;
  /** warm caches to read the wave's objects from (see CollectHealthOptions.cached) */
  cached?: (resource: ResourceRef, namespace: string) => KubeObject[] | undefined;
}

function singleNumber(outcome: QueryOutcome): number | null {
  if (outcome.kind !== "samples" || outcome.samples.length !== 1) return null;
  const v = outcome.samples[0].value;
  return Number.isFinite(v) ? v : null;
}

/**
 * One step of a wave's gate, with I/O: reads the wave's objects (and the target istiod's syncz and
 * xDS reject counter), decides, takes the measurements that are due, and returns the status to record
 * and what to do next. Call again at `next.untilMs` while it says wait; a new process resumes from the
 * recorded status. Throws KubeError when the wave's objects cannot be read (nothing is recorded then).
 */
export async function evaluateWaveGate(
  io: GateIO,
  policy: GatePolicy,
  target: WaveGateTarget,
  status: GateStatus,
): Promise<{ status: GateStatus; next: GateNext; notes: string[] }> {
  const clock = io.now ?? Date.now;
  const already = finished(policy, status);
  if (already) return { status, next: already, notes: [] };
  const prometheus = io.prometheus ?? (policy.prometheusUrl ? new PrometheusClient(policy.prometheusUrl) : undefined);
  const waveStartedAtMs = Date.parse(status.startedAt);

  const observed = await collectHealthInput(io.rest, {
    workloads: target.workloads,
    istiod: target.istiod,
    signal: io.signal,
    cached: io.cached,
  });
  const notes = [...observed.notes];
  let xdsRejects: { before: number; now: number } | undefined;
  const now = clock();
  if (prometheus) {
    const query = xdsRejectsTotalQuery(target.targetRevision);
    const [before, current] = await Promise.all([
      prometheus.query(query, { timeMs: waveStartedAtMs, signal: io.signal }),
      prometheus.query(query, { timeMs: now, signal: io.signal }),
    ]);
    const b = singleNumber(before);
    const c = singleNumber(current);
    if (b !== null && c !== null) xdsRejects = { before: b, now: c };
    else
      notes.push(
        `pilot_total_xds_rejects of revision ${target.targetRevision} not available from Prometheus — not part of the health gate`,
      );
  }
  const health = evaluateHealth({
    ...observed,
    waveStartedAtMs,
    targetRevision: target.targetRevision,
    minReadySeconds: policy.minReadySeconds,
    now,
    ...(xdsRejects ? { xdsRejects } : {}),
  });
  notes.push(...health.notes);

  let decision = decideWaveGate(policy, target, status, health, now);
  if (decision.next.type === "measure") {
    const analysis = policy.analysis!;
    if (!prometheus) throw new Error("the wave's analysis needs verification.prometheus.url");
    const scope: WaveScope = { workloads: target.workloads, revision: target.targetRevision };
    const measuredAt = clock();
    const { results, baseline } = await measureChecks(decision.next.checks, {
      client: prometheus,
      scope,
      nowMs: measuredAt,
      windowMs: policy.windowMs,
      waveStartedAtMs,
      baseline: decision.status.baseline,
      signal: io.signal,
    });
    const withBaseline = baseline ? { ...decision.status, baseline } : decision.status;
    const recorded = recordMeasurements(analysis, withBaseline, results, measuredAt);
    decision = decideWaveGate(policy, target, recorded, null, measuredAt);
    if (decision.next.type === "measure") {
      // cannot happen: every due check was just measured; never loop on it
      throw new Error(
        `gate of wave ${target.wave}: checks ${decision.next.checks.map((c) => c.name).join(", ")} still due after measuring`,
      );
    }
  }
  return { status: decision.status, next: decision.next as GateNext, notes };
}
