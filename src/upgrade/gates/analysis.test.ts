// The analysis rules of a wave's gate (Argo Rollouts' AnalysisRun semantics, errors counted as failures):
// examples for each rule, then properties over generated policies and measurement sequences, each run
// through a simulated crash and resume (status serialised and re-parsed) at every step.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { toStructural } from "../api/crd.js";
import {
  gateStatusSchema,
  newGateStatus,
  nextStep,
  recordMeasurements,
  type AnalysisPolicy,
  type GateStatus,
} from "./analysis.js";
import { VERDICTS, type CheckResult, type GateCheck, type Verdict } from "./checks.js";

const T0 = Date.parse("2026-03-01T12:00:00.000Z");
const check = (name: string, dryRun = false): GateCheck => ({
  name,
  builtin: null,
  query: "up",
  threshold: { min: 1 },
  dryRun,
});

function policy(overrides: Partial<AnalysisPolicy> = {}): AnalysisPolicy {
  return {
    intervalMs: 10_000,
    count: 3,
    failureLimit: 0,
    inconclusiveLimit: 0,
    initialDelayMs: 0,
    checks: [check("success")],
    ...overrides,
  };
}

function started(at = T0): GateStatus {
  return { ...newGateStatus(1, at - 60_000), analysisStartedAt: new Date(at).toISOString() };
}

const result = (name: string, verdict: Verdict): CheckResult => ({
  check: name,
  verdict,
  value: verdict === "Pass" ? 100 : verdict === "Fail" ? 50 : null,
  message: `${name} ${verdict}`,
});

describe("analysis rules", () => {
  test("waits for initialDelay after the analysis start, then measures every check at once", () => {
    const p = policy({ initialDelayMs: 5_000, checks: [check("a"), check("b")] });
    assert.deepEqual(nextStep(p, started(), T0 + 4_999), { type: "wait", untilMs: T0 + 5_000 });
    const step = nextStep(p, started(), T0 + 5_000);
    assert.equal(step.type, "measure");
    assert.deepEqual(step.type === "measure" && step.checks.map((c) => c.name), ["a", "b"]);
  });

  test("before the analysis start (wave not rolled out) there is nothing to measure", () => {
    assert.deepEqual(nextStep(policy(), newGateStatus(0, T0), T0 + 999_999), { type: "wait", untilMs: Infinity });
  });

  test("the next measurement is due one interval after the recorded one, whatever the clock did since", () => {
    const p = policy();
    const s = recordMeasurements(p, started(), [result("success", "Pass")], T0 + 1_234);
    assert.deepEqual(nextStep(p, s, T0 + 5_000), { type: "wait", untilMs: T0 + 11_234 });
    // a process that resumes long after still measures once, not once per missed interval
    const late = nextStep(p, s, T0 + 60_000);
    assert.equal(late.type, "measure");
    const s2 = recordMeasurements(p, s, [result("success", "Pass")], T0 + 60_000);
    assert.deepEqual(nextStep(p, s2, T0 + 60_001), { type: "wait", untilMs: T0 + 70_000 });
    assert.deepEqual(
      s2.measurements.map((m) => m.at),
      ["2026-03-01T12:00:01.234Z", "2026-03-01T12:01:00.000Z"],
    );
  });

  test("count passing measurements pass the analysis", () => {
    const p = policy();
    let s = started();
    for (let i = 0; i < 3; i++) s = recordMeasurements(p, s, [result("success", "Pass")], T0 + i * 10_000);
    assert.deepEqual(nextStep(p, s, T0 + 30_000), { type: "done", phase: "Passed", reasons: [] });
  });

  test("a failure beyond failureLimit fails at once, without waiting for the remaining measurements", () => {
    const p = policy({ count: 5, failureLimit: 1 });
    let s = recordMeasurements(p, started(), [result("success", "Fail")], T0);
    assert.equal(s.phase, "Running");
    s = recordMeasurements(p, s, [result("success", "Fail")], T0 + 10_000);
    assert.equal(s.phase, "Failed");
    assert.deepEqual(s.failedChecks, ["success"]);
    assert.match(s.message, /success: 2 of 2 measurements not ≥ 1 \(failureLimit 1\): success Fail/);
    assert.equal(s.finishedAt, new Date(T0 + 10_000).toISOString());
    assert.equal(nextStep(p, s, T0 + 20_000).type, "done");
  });

  test("errors count against failureLimit; a gate that failed only by errors is Error, not Failed", () => {
    const p = policy({ failureLimit: 1 });
    let s = recordMeasurements(p, started(), [result("success", "Error")], T0);
    s = recordMeasurements(p, s, [result("success", "Error")], T0 + 10_000);
    assert.equal(s.phase, "Error");
    assert.match(s.message, /could not be taken/);
    let mixed = recordMeasurements(p, started(), [result("success", "Error")], T0);
    mixed = recordMeasurements(p, mixed, [result("success", "Fail")], T0 + 10_000);
    assert.equal(mixed.phase, "Failed");
  });

  test("inconclusive measurements beyond inconclusiveLimit make the analysis Inconclusive", () => {
    const p = policy({ inconclusiveLimit: 1 });
    let s = recordMeasurements(p, started(), [result("success", "Inconclusive")], T0);
    assert.equal(s.phase, "Running");
    s = recordMeasurements(p, s, [result("success", "Inconclusive")], T0 + 10_000);
    assert.equal(s.phase, "Inconclusive");
    assert.deepEqual(s.failedChecks, ["success"]);
  });

  test("errors and inconclusive results within their limits never add up to a pass", () => {
    const p = policy({ count: 2, failureLimit: 1, inconclusiveLimit: 1 });
    let s = recordMeasurements(p, started(), [result("success", "Error")], T0);
    s = recordMeasurements(p, s, [result("success", "Inconclusive")], T0 + 10_000);
    assert.equal(s.phase, "Inconclusive");
    assert.match(s.message, /no measurement of 2 passed/);
  });

  test("dryRun checks are measured and recorded but never decide", () => {
    const p = policy({ checks: [check("real"), check("trial", true)] });
    let s = started();
    for (let i = 0; i < 3; i++)
      s = recordMeasurements(p, s, [result("real", "Pass"), result("trial", "Fail")], T0 + i * 10_000);
    assert.equal(nextStep(p, s, T0 + 30_000).type, "done");
    assert.deepEqual(nextStep(p, s, T0 + 30_000), { type: "done", phase: "Passed", reasons: [] });
    assert.deepEqual(
      s.measurements.filter((m) => m.check === "trial").map((m) => [m.verdict, m.dryRun]),
      [
        ["Fail", true],
        ["Fail", true],
        ["Fail", true],
      ],
    );
  });

  test("results for unknown checks and beyond count are ignored", () => {
    const p = policy({ count: 1 });
    let s = recordMeasurements(p, started(), [result("success", "Pass"), result("other", "Fail")], T0);
    s = recordMeasurements(p, s, [result("success", "Fail")], T0 + 10_000);
    assert.deepEqual(
      s.measurements.map((m) => [m.check, m.verdict]),
      [["success", "Pass"]],
    );
  });

  test("the gate status is a structural CRD schema, so the MeshUpgrade status can embed it", () => {
    const structural = toStructural(z.toJSONSchema(gateStatusSchema, { io: "output" }));
    assert.equal(structural.type, "object");
    const props = structural.properties as Record<string, { type?: string; nullable?: boolean; items?: any }>;
    assert.equal(props.measurements.items.properties.value.nullable, true);
  });
});

// --- properties -----------------------------------------------------------------------------------

interface Scenario {
  policy: AnalysisPolicy;
  /** verdicts per check, one per measurement round */
  verdicts: Verdict[][];
  /** a measurement round lands this many ms after it was due (the process was slow or down) */
  delays: number[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    count: fc.integer({ min: 1, max: 5 }),
    checks: fc.integer({ min: 1, max: 3 }),
    intervalMs: fc.integer({ min: 1, max: 60_000 }),
    initialDelayMs: fc.integer({ min: 0, max: 30_000 }),
    dryRun: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    limits: fc.tuple(fc.nat(), fc.nat()),
  })
  .chain((p) =>
    fc.record({
      policy: fc.constant<AnalysisPolicy>({
        intervalMs: p.intervalMs,
        count: p.count,
        failureLimit: p.limits[0] % p.count,
        inconclusiveLimit: p.limits[1] % p.count,
        initialDelayMs: p.initialDelayMs,
        checks: Array.from({ length: p.checks }, (_, i) => check(`c${i}`, p.dryRun[i])),
      }),
      verdicts: fc.array(fc.array(fc.constantFrom(...VERDICTS), { minLength: p.count, maxLength: p.count }), {
        minLength: p.checks,
        maxLength: p.checks,
      }),
      delays: fc.array(fc.nat({ max: 120_000 }), { minLength: p.count, maxLength: p.count }),
    }),
  );

/** Runs the analysis to its end; the status goes through JSON and the schema at every step, as across a restart. */
function simulate(s: Scenario): { status: GateStatus; rounds: number } {
  let status = started();
  let now = T0;
  let rounds = 0;
  for (let guard = 0; guard < 100; guard++) {
    status = gateStatusSchema.parse(JSON.parse(JSON.stringify(status)));
    const step = nextStep(s.policy, status, now);
    if (step.type === "done") return { status, rounds };
    if (step.type === "wait") {
      assert.ok(Number.isFinite(step.untilMs) && step.untilMs > now, `waits forward, not ${step.untilMs} at ${now}`);
      now = step.untilMs + (s.delays[rounds] ?? 0);
      continue;
    }
    const results = step.checks.map((c) => {
      const i = s.policy.checks.indexOf(c);
      const taken = status.measurements.filter((m) => m.check === c.name).length;
      return result(c.name, s.verdicts[i][taken]);
    });
    status = recordMeasurements(s.policy, status, results, now);
    rounds++;
  }
  throw new Error("the analysis did not finish within 100 steps");
}

function tallyOf(status: GateStatus, name: string) {
  const ms = status.measurements.filter((m) => m.check === name);
  return {
    taken: ms.length,
    failures: ms.filter((m) => m.verdict === "Fail" || m.verdict === "Error").length,
    inconclusive: ms.filter((m) => m.verdict === "Inconclusive").length,
    passes: ms.filter((m) => m.verdict === "Pass").length,
  };
}

describe("analysis properties", () => {
  test("a gate never passes with a counted check beyond a limit, unmeasured, or without a single Pass", () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { status } = simulate(sc);
        const decided = nextStep(sc.policy, status, Infinity);
        assert.equal(decided.type, "done");
        if (decided.type !== "done" || decided.phase !== "Passed") return;
        for (const c of sc.policy.checks.filter((c) => !c.dryRun)) {
          const t = tallyOf(status, c.name);
          assert.equal(t.taken, sc.policy.count);
          assert.ok(t.failures <= sc.policy.failureLimit);
          assert.ok(t.inconclusive <= sc.policy.inconclusiveLimit);
          assert.ok(t.passes >= 1);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test("a check beyond failureLimit fails the gate in the round that crossed it, and nothing is measured after", () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { status, rounds } = simulate(sc);
        // the first round in which any counted check crosses a limit, from the verdicts alone
        let crossing: number | null = null;
        for (let r = 0; r < sc.policy.count && crossing === null; r++) {
          for (const [i, c] of sc.policy.checks.entries()) {
            if (c.dryRun) continue;
            const upTo = sc.verdicts[i].slice(0, r + 1);
            const failures = upTo.filter((v) => v === "Fail" || v === "Error").length;
            const inconclusive = upTo.filter((v) => v === "Inconclusive").length;
            if (failures > sc.policy.failureLimit || inconclusive > sc.policy.inconclusiveLimit) crossing = r;
          }
        }
        if (crossing === null) {
          assert.equal(rounds, sc.policy.count);
          return;
        }
        assert.equal(rounds, crossing + 1, "decided in the crossing round");
        assert.ok(["Failed", "Error", "Inconclusive"].includes(status.phase), status.phase);
        const anyCountedFailure = sc.policy.checks.some((c, i) => {
          if (c.dryRun) return false;
          return (
            sc.verdicts[i].slice(0, crossing! + 1).filter((v) => v === "Fail" || v === "Error").length >
            sc.policy.failureLimit
          );
        });
        if (anyCountedFailure) assert.ok(status.phase === "Failed" || status.phase === "Error", status.phase);
      }),
      { numRuns: 2000 },
    );
  });

  test("dryRun checks never change the outcome", () => {
    fc.assert(
      fc.property(scenarioArb, fc.array(fc.constantFrom(...VERDICTS), { minLength: 5, maxLength: 5 }), (sc, other) => {
        const replaced: Scenario = {
          ...sc,
          verdicts: sc.verdicts.map((vs, i) => (sc.policy.checks[i].dryRun ? vs.map((_, r) => other[r]) : vs)),
        };
        assert.equal(simulate(sc).status.phase, simulate(replaced).status.phase);
        const a = nextStep(sc.policy, simulate(sc).status, Infinity);
        const b = nextStep(replaced.policy, simulate(replaced).status, Infinity);
        assert.equal(a.type === "done" && a.phase, b.type === "done" && b.phase);
      }),
      { numRuns: 1000 },
    );
  });

  test("measurements are never repeated: at most count per check, the first after initialDelay, each an interval after the last", () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { status } = simulate(sc);
        for (const c of sc.policy.checks) {
          const times = status.measurements.filter((m) => m.check === c.name).map((m) => Date.parse(m.at));
          assert.ok(times.length <= sc.policy.count);
          if (times.length) assert.ok(times[0] >= T0 + sc.policy.initialDelayMs);
          for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= sc.policy.intervalMs);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
