// A rollback held by a workload whose pods never become Ready on the old revision: after its rollout
// timeout the upgrade says which workload holds it (Waiting=True, RollbackBlocked), restarts nothing
// else twice, and goes on by itself to RolledBack once the pods are fixed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { MeshUpgradeStatus } from "../../../src/upgrade/api/schema.js";
import { startHarness, TARGET, type Harness } from "./harness.js";
import { proxiesByRevision, SOURCE, waitingReason } from "./support.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => h?.close());

const status = async (name: string) => (await h.get(name)).status as MeshUpgradeStatus;

test("a rollback held by a workload that never gets Ready names it, then finishes once it is fixed", async () => {
  await h.create("held", {
    to: { version: TARGET.version },
    install: { mode: "Manifests" },
    dataPlane: {
      namespaces: { names: ["bookinfo", "orders"] },
      waves: { explicit: [["bookinfo"], ["orders"]] },
      maxConcurrent: 10,
      rolloutTimeoutSeconds: 10,
    },
    approval: { mode: "PerWave" },
    decommission: { graceSeconds: 0 },
  });
  for (let i = 0; i < 600 && (await status("held"))?.progress?.waves?.[0]?.state !== "WaitingForApproval"; i++)
    await h.run("held", () => false, 1_000).catch(() => undefined);
  const moved = await status("held");
  assert.equal(moved.progress?.waves?.[0].state, "WaitingForApproval", moved.message);

  // details-v1's pods on the old proxy never get Ready: its rollback cannot finish
  h.sb.faults.add({ match: { namespace: "bookinfo", workload: "details-v1", proxyVersion: "1.27" }, neverReady: true });
  await h.setAction("held", "Rollback");
  // the rollback runs until the workload's rollout timeout (10 s) has passed; it must neither finish nor give up
  for (let i = 0; i < 40 && waitingReason(await status("held")) !== "RollbackBlocked"; i++) {
    const r = await h.run("held", (stage) => stage !== "RollingBack", 1_000).catch(() => null);
    assert.equal(r, null, `the rollback ended at ${r?.stage}: ${r?.decision.status.message}`);
  }
  const s = await status("held");
  assert.equal(s.stage, "RollingBack");
  assert.equal(waitingReason(s), "RollbackBlocked", s.message);
  assert.match(s.message ?? "", /Deployment bookinfo\/details-v1 \(rollout not finished after 10s/);
  const restarts = (s.history ?? []).filter(
    (e) =>
      e.action.startsWith("restart") &&
      [...(e.target ? [e.target] : []), ...(e.targets ?? [])].some((t) => t.name === "details-v1"),
  );
  assert.equal(restarts.length, 2, "details-v1 restarted once forward and once back, never again");

  h.sb.faults.clear();
  const done = await h.run("held", (stage) => ["RolledBack", "Failed"].includes(stage), 60_000);
  assert.equal(done.stage, "RolledBack", done.decision.status.message);
  assert.deepEqual(Object.keys(proxiesByRevision(h.sb)), [SOURCE.revision]);
});
