// decide() one reconcile at a time, over inputs it really meets (every reconcile of chaotic simulations:
// all stages, paused, waiting for approval, rolling back, offline) and over generated invalid specs:
// determinism, idempotence, when Rollback is accepted (invariant 5) and refusing bad input (invariant 6).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ROLLBACK_STAGES, type UpgradeStage } from "../api/schema.js";
import { buildSpec, invalidCases, reachedInputArb, reachedInputs, specChoice, worldArb } from "./arbitraries.js";
import { decide } from "./decide.js";
import { UID, catalog, snapshotOf } from "./test-support.js";
import { workloadKey, type EngineInput, type WriteAction } from "./types.js";

let pool: EngineInput[] = [];
before(() => {
  pool = reachedInputs(20, 20260822);
});

function stageOf(input: EngineInput): UpgradeStage {
  return input.upgrade.status?.stage ?? "Pending";
}

function withAction(input: EngineInput, action: string, nonce: string): EngineInput {
  const spec = { ...(input.upgrade.spec as Record<string, unknown>), action, actionNonce: nonce };
  return {
    ...input,
    upgrade: { ...input.upgrade, spec, generation: input.upgrade.generation + 1, actionBy: "kubectl" },
  };
}

function restarts(writes: WriteAction[]): Extract<WriteAction, { type: "restart" }>[] {
  return writes.filter((w): w is Extract<WriteAction, { type: "restart" }> => w.type === "restart");
}

describe("one reconcile", () => {
  test("the pool of reached inputs covers every stage the properties talk about", () => {
    const stages = new Set(pool.map(stageOf));
    for (const stage of ["Pending", "DataPlaneUpgrade", "OldControlPlaneOffline", "RollingBack", "Paused", "Completed"])
      assert.ok(stages.has(stage as UpgradeStage), `no reached input in ${stage}: ${[...stages].join(", ")}`);
  });

  test("determinism: the same input gives a deep-equal decision, and the input is left as it was", () => {
    fc.assert(
      fc.property(reachedInputArb(pool), (drawn) => {
        const input = drawn.input;
        const before = JSON.stringify(input.upgrade);
        const first = decide(input);
        // a copy, so nothing can depend on object identity (decide indexes snapshots by identity)
        const second = decide({
          ...input,
          upgrade: structuredClone(input.upgrade),
          snapshot: structuredClone(input.snapshot),
        });
        assert.deepEqual(second, first);
        assert.equal(JSON.stringify(input.upgrade), before, "decide() changed its input");
      }),
      { numRuns: 2500 },
    );
  });

  test("idempotence: decide on its own output with the same snapshot starts no second restart and records no new intent for a write it already asked", () => {
    fc.assert(
      fc.property(reachedInputArb(pool), (drawn) => {
        const input = drawn.input;
        const first = decide(input);
        const second = decide({ ...input, upgrade: { ...input.upgrade, status: first.status } });
        const progress = new Map((first.status.progress?.workloads ?? []).map((p) => [workloadKey(p), p]));
        for (const w of restarts(second.writes)) {
          // only the identical patch may be sent again (same token, same time): a no-op where it landed
          const p = progress.get(workloadKey(w.workload));
          assert.ok(
            p?.restartToken === w.token && p.restartedAt === w.at,
            `${workloadKey(w.workload)} restarted twice with token ${w.token}`,
          );
        }
        // an intent is recorded once: what the first decision asked, the second asks without a new entry
        const intentKey = (h: { action: string; target?: unknown; targets?: unknown }) =>
          JSON.stringify([h.action, h.target, h.targets]);
        const inputLength = (input.upgrade.status?.history ?? []).length;
        const firstIntents = new Set(
          (first.status.history ?? [])
            .slice(inputLength)
            .filter((h) => h.outcome === "Intended")
            .map(intentKey),
        );
        const restartedFirst = new Set(restarts(first.writes).map((w) => workloadKey(w.workload)));
        const added = (second.status.history ?? []).slice((first.status.history ?? []).length);
        for (const h of added.filter((x) => x.outcome === "Intended")) {
          assert.ok(!firstIntents.has(intentKey(h)), `intent recorded twice: ${h.action}`);
          const targets = [...(h.target ? [h.target] : []), ...(h.targets ?? [])];
          const again = targets.some((t) =>
            restartedFirst.has(workloadKey({ kind: t.kind, namespace: t.namespace ?? "", name: t.name })),
          );
          assert.ok(!(h.action.startsWith("restart") && again), `a second restart intent: ${JSON.stringify(h)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test("5: Rollback is accepted from every stage before OldControlPlaneOffline and refused from it and after", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(reachedInputArb(pool), fc.integer({ min: 1, max: 1_000_000 }), (drawn, n) => {
        const input = drawn.input;
        const stage = stageOf(input);
        const nonce = `rb-${n}`;
        const decision = decide(withAction(input, "Rollback", nonce));
        const after = decision.status.stage;
        if (stage === "Pending" && after === "Failed") {
          // refused at the start for another reason: the same happens without the Rollback
          assert.equal(decide(input).status.stage, "Failed");
          return;
        }
        // Paused keeps the stage it paused in: paused in OldControlPlaneOffline is past the point of no return
        const real = stage === "Paused" ? (input.upgrade.status?.pausedFrom ?? stage) : stage;
        const rollingBack = stage === "RollingBack" || stage === "NewControlPlaneOffline";
        const allowed = rollingBack || (ROLLBACK_STAGES.includes(stage) && ROLLBACK_STAGES.includes(real));
        seen.add(stage === "Paused" ? `Paused in ${real}` : stage);
        if (!allowed) {
          assert.notEqual(after, "RollingBack", `rolled back from ${stage} (${real})`);
          assert.deepEqual(decision.status.rollback, input.upgrade.status?.rollback);
          const entry = (decision.status.history ?? []).findLast((h) => h.action === "action Rollback");
          assert.match(entry?.reason ?? "", /^refused: /, `Rollback at ${stage} (${real}) not refused`);
        } else {
          assert.ok(
            ["RollingBack", "NewControlPlaneOffline", "RolledBack"].includes(after),
            `Rollback at ${stage} → ${after}`,
          );
          if (!rollingBack)
            assert.equal(decision.status.rollback?.from, stage === "Pending" ? "ControlPlaneUpgrade" : real);
        }
        assert.deepEqual(decision.status.acknowledgedAction, {
          action: "Rollback",
          nonce,
          at: new Date(input.now).toISOString(),
        });
      }),
      { numRuns: 3000 },
    );
    for (const stage of [
      "DataPlaneUpgrade",
      "Paused in DataPlaneUpgrade",
      "OldControlPlaneOffline",
      "Paused in OldControlPlaneOffline",
      "Completed",
      "RollingBack",
    ])
      assert.ok(seen.has(stage), `Rollback never tried at ${stage}: ${[...seen].join(", ")}`);
  });
});

describe("6: bad input is refused with a clear reason and changes nothing", () => {
  test("an invalid spec (version, path, namespace, waves, maxConcurrent, conflicts, a second upgrade) → Failed, the reason named, zero writes", () => {
    const kinds = new Set<string>();
    fc.assert(
      fc.property(worldArb, specChoice, fc.nat(), (world, choice, k) => {
        const snapshot = snapshotOf(world);
        const cases = invalidCases(world, buildSpec(world, choice, snapshot));
        const bad = cases[k % cases.length];
        kinds.add(bad.kind);
        const input: EngineInput = {
          upgrade: {
            name: "mu",
            uid: UID,
            generation: 1,
            createdAt: "2026-08-22T09:59:59.000Z",
            spec: bad.spec,
            status: undefined,
          },
          snapshot: bad.snapshot ? bad.snapshot(snapshot) : snapshot,
          catalog,
          namespaceLabels: Object.fromEntries(world.namespaces.map((n) => [n.name, n.labels])),
          actor: "operator/meshlift-0",
          now: Date.parse("2026-08-22T10:00:00Z"),
        };
        const decision = decide(input);
        assert.equal(decision.status.stage, "Failed", `${bad.kind}: ${decision.status.message}`);
        assert.deepEqual(decision.writes, [], bad.kind);
        assert.equal(decision.needFresh, undefined);
        assert.match(decision.status.message ?? "", /^refused, nothing was changed: /);
        assert.match(decision.status.message ?? "", bad.expect, bad.kind);
        const valid = decision.status.conditions?.find((c) => c.type === "Valid");
        assert.equal(valid?.status, "False");
        assert.equal(valid?.reason, bad.kind.startsWith("second") ? "ConcurrentUpgrade" : "InvalidSpec");
        assert.deepEqual(
          (decision.status.history ?? []).filter((h) => h.outcome === "Intended"),
          [],
        );
        assert.equal(decision.status.from, undefined);
      }),
      { numRuns: 1600 },
    );
    assert.equal(kinds.size, invalidCases(worldArbSample(), {}).length, "every kind of bad input was tried");
  });
});

function worldArbSample() {
  return fc.sample(worldArb, { numRuns: 1, seed: 1 })[0];
}
