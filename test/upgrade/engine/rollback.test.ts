// Rollback on the demo (issue 4 acceptance) from the three points before the old control plane goes:
// during ControlPlaneUpgrade (the new revision installed, nothing moved), mid-DataPlaneUpgrade (a wave
// done, the next waiting for approval) and just before offline (every proxy moved, waiting for approval).
// Each ends RolledBack with every proxy on the old revision, every namespace's labels exactly as they were,
// the new revision removed and every write's intent in history first.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MeshUpgradeSpecInput, MeshUpgradeStatus } from "../../../src/upgrade/api/schema.js";
import type { ReconcileResult } from "../../../src/upgrade/engine/reconcile.js";
import { startHarness, TARGET, type Harness } from "./harness.js";
import {
  RequestWindow,
  SOURCE,
  namespaceLabels,
  proxiesByRevision,
  removeDemoStragglers,
  revisionObjects,
  runUntil,
  stageIs,
  stagePath,
  statusOf,
  tagRevision,
  waitingReason,
  writesWithoutIntent,
} from "./support.js";

const BASE: MeshUpgradeSpecInput = {
  to: { version: TARGET.version },
  install: { mode: "Manifests" },
  dataPlane: { maxConcurrent: 10, waves: { size: 4 } },
  decommission: { graceSeconds: 1 },
};

interface Case {
  name: string;
  spec: MeshUpgradeSpecInput;
  from: string;
  /** drives the upgrade to the point of rollback; returns the status there */
  reach(h: Harness, window: RequestWindow, name: string): Promise<MeshUpgradeStatus>;
  /** what must hold at that point, before the rollback */
  atRollback(h: Harness, status: MeshUpgradeStatus): void;
}

const CASES: Case[] = [
  {
    name: "from ControlPlaneUpgrade",
    spec: BASE,
    from: "ControlPlaneUpgrade",
    async reach(h, _window, name) {
      const r = await runUntil(
        h,
        name,
        "the new revision installed",
        (x: ReconcileResult, s) => x.stage === "ControlPlaneUpgrade" && (s.installedObjects?.length ?? 0) > 0,
      );
      return statusOf(r);
    },
    atRollback(h, status) {
      assert.ok(revisionObjects(h.sb, TARGET.revision).length > 0, "the target revision's objects exist");
      assert.equal((status.history ?? []).filter((e) => e.action.startsWith("restart")).length, 0);
    },
  },
  {
    name: "from mid-DataPlaneUpgrade, one wave done",
    spec: { ...BASE, approval: { mode: "PerWave" } },
    from: "DataPlaneUpgrade",
    async reach(h, _window, name) {
      const r = await runUntil(
        h,
        name,
        "wave 1 done, waiting for approval",
        (_x, s) => s.progress?.waves?.[0]?.state === "WaitingForApproval",
      );
      return statusOf(r);
    },
    atRollback(h, status) {
      const waves = status.progress?.waves ?? [];
      assert.ok(waves.length > 2, `the plan has ${waves.length} waves`);
      assert.deepEqual(
        waves.slice(1).map((w) => w.state),
        waves.slice(1).map(() => "Pending"),
        "only the first wave ran",
      );
      assert.ok((proxiesByRevision(h.sb)[TARGET.revision] ?? 0) > 0, "wave 1's proxies run the target");
      assert.ok((proxiesByRevision(h.sb)[SOURCE.revision] ?? 0) > 0, "later waves' proxies still run the source");
    },
  },
  {
    name: "from just before offline",
    spec: { ...BASE, approval: { mode: "BeforeOffline" } },
    from: "DataPlaneUpgrade",
    async reach(h, window, name) {
      await runUntil(h, name, "the demo's stragglers listed", (x, s) => waitingReason(s) === "Stragglers");
      await window.asUser(() => removeDemoStragglers(h));
      const r = await runUntil(
        h,
        name,
        "every proxy moved, waiting for approval to go offline",
        (x, s) => x.stage === "DataPlaneUpgrade" && waitingReason(s) === "WaitingForApproval",
      );
      return statusOf(r);
    },
    atRollback(h) {
      assert.deepEqual(Object.keys(proxiesByRevision(h.sb)), [TARGET.revision], "every proxy runs the target");
    },
  },
];

describe("rollback", { concurrency: CASES.length }, () => {
  for (const c of CASES) {
    test(
      `${c.name}: RolledBack, every proxy and label as before, the new revision removed`,
      { timeout: 85_000 },
      async () => {
        const h = await startHarness();
        try {
          const name = "rb";
          const labelsBefore = namespaceLabels(h.sb);
          await h.create(name, c.spec);
          const window = new RequestWindow(h.sb);
          const at = await c.reach(h, window, name);
          c.atRollback(h, at);
          await window.asUser(() => h.setAction(name, "Rollback"));
          const done = statusOf(await runUntil(h, name, "RolledBack", stageIs("RolledBack")));

          assert.equal(done.rollback?.from, c.from);
          const path = stagePath(done);
          assert.deepEqual(path.slice(-3), [
            `${c.from} → RollingBack`,
            "RollingBack → NewControlPlaneOffline",
            "NewControlPlaneOffline → RolledBack",
          ]);
          assert.deepEqual(Object.keys(proxiesByRevision(h.sb)), [SOURCE.revision], "every proxy runs the source");
          assert.deepEqual(revisionObjects(h.sb, TARGET.revision), [], "the target revision is removed");
          for (const tag of ["default", "prod-stable"])
            assert.equal(tagRevision(h.sb, tag), SOURCE.revision, `tag ${tag}`);
          assert.deepEqual(
            writesWithoutIntent(done, window.writes(), { from: SOURCE.revision, to: TARGET.revision }),
            [],
          );
          assert.deepEqual(namespaceLabels(h.sb), labelsBefore, "every namespace has exactly its labels from before");
        } finally {
          await h.close();
        }
      },
    );
  }
});
