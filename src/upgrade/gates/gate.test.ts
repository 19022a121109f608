// One wave's gate, pure: how the health verdict and the analysis combine into wait / measure / passed /
// failed, and when the analysis clock starts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { meshUpgradeSpecSchema } from "../api/schema.js";
import { newGateStatus, recordMeasurements } from "./analysis.js";
import type { HealthResult } from "./health.js";
import { decideWaveGate, gatePolicyOf, type WaveGateTarget } from "./index.js";

const T0 = Date.parse("2026-03-01T12:00:00.000Z");
const target: WaveGateTarget = {
  wave: 1,
  workloads: [{ kind: "Deployment", namespace: "payments", name: "ledger" }],
  targetRevision: "1-28-0",
};

function verification(prometheus?: Record<string, unknown>) {
  return meshUpgradeSpecSchema.parse({
    to: { version: "1.28.0" },
    verification: { healthGate: { minReadySeconds: 5 }, onFailure: "Rollback", ...(prometheus ? { prometheus } : {}) },
  }).verification;
}

const health = (
  verdict: HealthResult["verdict"],
  rolledOut: boolean,
  reasons: string[] = [],
  recheckAtMs?: number,
): HealthResult => ({
  verdict,
  rolledOut,
  workloads: [],
  reasons,
  notes: [],
  ...(recheckAtMs !== undefined ? { recheckAtMs } : {}),
});

describe("a wave's gate", () => {
  test("without Prometheus: waits for the health gate, then passes", () => {
    const policy = gatePolicyOf(verification());
    const waiting = decideWaveGate(
      policy,
      target,
      newGateStatus(1, T0),
      health("Waiting", false, ["payments/Deployment/ledger: rolling out: 1 of 2 replicas updated"]),
      T0 + 1000,
    );
    assert.deepEqual(waiting.next, { type: "wait", untilMs: T0 + 1000 + policy.healthPollMs });
    assert.match(waiting.status.message, /waiting for the health gate: payments\/Deployment\/ledger: rolling out/);
    const minReady = decideWaveGate(
      policy,
      target,
      waiting.status,
      health("Waiting", true, ["… minReadySeconds 5"], T0 + 3000),
      T0 + 2000,
    );
    assert.deepEqual(minReady.next, { type: "wait", untilMs: T0 + 3000 });
    const passed = decideWaveGate(policy, target, minReady.status, health("Pass", true), T0 + 3000);
    assert.equal(passed.next.type, "passed");
    assert.equal(passed.status.phase, "Passed");
    assert.equal(passed.status.finishedAt, new Date(T0 + 3000).toISOString());
  });

  test("a health failure fails the gate at once, with the reasons and the policy's onFailure", () => {
    const policy = gatePolicyOf(verification({ url: "http://prometheus:9090" }));
    const d = decideWaveGate(
      policy,
      target,
      newGateStatus(1, T0),
      health("Fail", false, [
        "payments/Deployment/ledger: container app restarted 2 times since the wave began (CrashLoopBackOff) (pod ledger-a)",
      ]),
      T0 + 1000,
    );
    assert.deepEqual(d.next, {
      type: "failed",
      phase: "Failed",
      failedChecks: ["health"],
      message:
        "health gate: payments/Deployment/ledger: container app restarted 2 times since the wave began (CrashLoopBackOff) (pod ledger-a)",
      onFailure: "Rollback",
    });
    // a recorded failure stays failed, whatever is observed later
    assert.deepEqual(decideWaveGate(policy, target, d.status, health("Pass", true), T0 + 5000).next, d.next);
  });

  test("a wave that never becomes healthy fails after the health timeout, counted from the gate's first look", () => {
    const policy = gatePolicyOf(verification(), { healthTimeoutMs: 60_000 });
    const notReady = health("Waiting", false, ["x: pod p is not Ready"]);
    // the restarts of a big wave took 5 minutes before the gate first looked: that time does not count
    const first = decideWaveGate(policy, target, newGateStatus(1, T0 - 300_000), notReady, T0);
    assert.equal(first.status.checkedSince, new Date(T0).toISOString());
    const still = decideWaveGate(policy, target, first.status, notReady, T0 + 59_000);
    assert.equal(still.next.type, "wait");
    assert.equal(still.status.checkedSince, new Date(T0).toISOString());
    const late = decideWaveGate(policy, target, still.status, notReady, T0 + 61_000);
    assert.equal(late.next.type, "failed");
    assert.match(late.status.message, /still not healthy 60s after its first check: x: pod p is not Ready/);
  });

  test("the analysis clock starts when the wave has rolled out, and measurements follow the interval", () => {
    const policy = gatePolicyOf(
      verification({ url: "http://prometheus:9090", interval: "10s", count: 2, initialDelay: "2s" }),
    );
    const rolling = decideWaveGate(
      policy,
      target,
      newGateStatus(1, T0),
      health("Waiting", false, ["rolling"]),
      T0 + 1000,
    );
    assert.equal(rolling.status.analysisStartedAt, undefined);
    const rolled = decideWaveGate(
      policy,
      target,
      rolling.status,
      health("Waiting", true, ["minReady"], T0 + 8000),
      T0 + 4000,
    );
    assert.equal(rolled.status.analysisStartedAt, new Date(T0 + 4000).toISOString());
    assert.deepEqual(rolled.next, { type: "wait", untilMs: T0 + 6000 });
    const due = decideWaveGate(
      policy,
      target,
      rolled.status,
      health("Waiting", true, ["minReady"], T0 + 8000),
      T0 + 6000,
    );
    assert.equal(due.next.type, "measure");
    const checks = due.next.type === "measure" ? due.next.checks : [];
    assert.deepEqual(
      checks.map((c) => c.name),
      ["request-success-rate", "request-duration-p99", "xds-rejects"],
    );
    const pass = (at: number, s = due.status) =>
      recordMeasurements(
        policy.analysis!,
        s,
        checks.map((c) => ({ check: c.name, value: 1, verdict: "Pass" as const, message: "ok" })),
        at,
      );
    const once = pass(T0 + 6000);
    // healthy now: the analysis' next measurement is 10 s away, health is re-read on the way
    const healthy = decideWaveGate(policy, target, once, health("Pass", true), T0 + 8000);
    assert.deepEqual(healthy.next, { type: "wait", untilMs: T0 + 8000 + policy.healthPollMs });
    const twice = pass(T0 + 16_000, healthy.status);
    const done = decideWaveGate(policy, target, twice, health("Pass", true), T0 + 16_000);
    assert.equal(done.next.type, "passed");
    assert.match(done.status.message, /analysis passed \(3 checks × 2\)/);
    assert.equal(done.status.measurements.length, 6);
  });

  test("a failed analysis fails the gate whatever the health says", () => {
    const policy = gatePolicyOf(verification({ url: "http://prometheus:9090", interval: "10s", count: 3 }));
    const s = { ...newGateStatus(1, T0), analysisStartedAt: new Date(T0).toISOString() };
    const failed = recordMeasurements(
      policy.analysis!,
      s,
      [{ check: "request-success-rate", value: 80, verdict: "Fail", message: "payments/ledger 80%" }],
      T0,
    );
    const d = decideWaveGate(policy, target, failed, health("Pass", true), T0 + 1000);
    assert.equal(d.next.type, "failed");
    assert.deepEqual(d.next.type === "failed" && d.next.failedChecks, ["request-success-rate"]);
  });

  test("a wave without workloads has nothing to measure and passes on health", () => {
    const policy = gatePolicyOf(verification({ url: "http://prometheus:9090" }));
    const d = decideWaveGate(policy, { ...target, workloads: [] }, newGateStatus(1, T0), health("Pass", true), T0);
    assert.deepEqual(d.next, { type: "passed", message: "no workloads in this wave: nothing to verify" });
  });
});
