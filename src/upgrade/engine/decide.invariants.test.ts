// The DESIGN.md invariants, tried against decide() by simulation: generated meshes and specs, driven
// reconcile by reconcile through a pure world (test-support.ts) whose controllers are slow, whose cache
// lags, whose executor crashes between the status write and the writes, and whose users pause, resume,
// approve and roll back at random. Every decision is checked (invariants 1–4, one restart per token),
// and every run that ends is checked for what its end promises (Completed, RolledBack: invariant 5).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ROLLBACK_STAGES, type UpgradeStage } from "../api/schema.js";
import { scenarioArb } from "./arbitraries.js";
import { Simulation, checkCompleted, checkRolledBack, type RunResult } from "./test-support.js";

/** An upgrade refused at the start (a spec the generated mesh makes invalid): Failed, and nothing written. */
function refusedAtStart(sim: Simulation, result: RunResult): boolean {
  return result.stage === "Failed" && sim.applied.length === 0 && !result.status?.from;
}

function endOf(sim: Simulation, result: RunResult): string {
  return `stage ${result.stage} after ${result.ticks} ticks: ${result.status?.message ?? ""}`;
}

describe("invariants at every decision, in a world that crashes, lags and acts at random", () => {
  test("1–4: no removal under live proxies, nothing pointed at an unready revision, restarts within limits, intent before every write", () => {
    const ends: Record<string, number> = {};
    fc.assert(
      fc.property(scenarioArb("chaotic", { maxTicks: 400 }), (scenario) => {
        const sim = new Simulation(scenario);
        const result = sim.run(); // throws InvariantViolation at the first decision that breaks one
        ends[result.stage] = (ends[result.stage] ?? 0) + 1;
        if (result.stage === "Completed") checkCompleted(result);
        else if (result.stage === "RolledBack") checkRolledBack(result);
        else assert.ok(refusedAtStart(sim, result), endOf(sim, result));
      }),
      { numRuns: 45 },
    );
    // the property is not vacuous: upgrades went all the way, and rollbacks too
    assert.ok((ends.Completed ?? 0) >= 15, JSON.stringify(ends));
    assert.ok((ends.RolledBack ?? 0) >= 3, JSON.stringify(ends));
  });
});

describe("progress: with a cooperative world every upgrade ends", () => {
  test("Completed within 400 reconciles: every proxy on the target, the source gone, surges undone", () => {
    let completed = 0;
    fc.assert(
      fc.property(scenarioArb("cooperative", { maxTicks: 400 }), (scenario) => {
        const sim = new Simulation(scenario);
        const result = sim.run();
        if (refusedAtStart(sim, result)) return;
        assert.equal(result.stage, "Completed", endOf(sim, result));
        checkCompleted(result);
        completed++;
      }),
      { numRuns: 30 },
    );
    assert.ok(completed >= 24, `only ${completed} of 30 upgrades were valid for their mesh`);
  });

  test("5: Rollback asked at a random moment is accepted before OldControlPlaneOffline and refused after; a rollback restores every label", () => {
    const asked: Record<string, number> = {};
    fc.assert(
      fc.property(scenarioArb("cooperative", { maxTicks: 400, rollback: true }), (scenario) => {
        const sim = new Simulation(scenario);
        const asking: { stage: UpgradeStage | null } = { stage: null };
        const rollbackAt = scenario.chaos.rollbackAtTick!;
        const result = sim.run((s) => {
          const ended = s.stage === "Completed" || s.stage === "RolledBack" || s.stage === "Failed";
          // the stage the Rollback meets: what the reconcile of tick `rollbackAt` reads (unless it ended before)
          if (s.tick === rollbackAt - 1 && !ended) asking.stage = s.stage;
          return ended;
        });
        if (refusedAtStart(sim, result)) return;
        const when = asking.stage;
        asked[when ?? "never (done before)"] = (asked[when ?? "never (done before)"] ?? 0) + 1;
        if (when === null) {
          assert.equal(result.stage, "Completed", endOf(sim, result));
          checkCompleted(result);
        } else if (ROLLBACK_STAGES.includes(when)) {
          assert.equal(result.stage, "RolledBack", `Rollback asked at ${when}: ${endOf(sim, result)}`);
          checkRolledBack(result);
        } else {
          assert.equal(result.stage, "Completed", `Rollback asked at ${when}: ${endOf(sim, result)}`);
          const refusal = (result.status?.history ?? []).find((h) => h.action === "action Rollback");
          assert.match(refusal?.reason ?? "", /^refused: /);
          checkCompleted(result);
        }
      }),
      { numRuns: 35 },
    );
    assert.ok((asked.DataPlaneUpgrade ?? 0) >= 3, JSON.stringify(asked));
  });
});
