// The reconcile loop (runUpgrade) must wake when a watched object changes, not only when its requeue
// timer fires: `meshlift upgrade run` hands it a WarmSnapshotSource that nothing has started yet, as
// here. The user installs the target revision (Adopt) right after a reconcile that asked to look again
// in 5 s; the loop must see the revision Ready within the debounce, far sooner than that.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { applyManifests } from "../../../src/upgrade/install/index.js";
import { REQUEUE_ACTIVE_MS } from "../../../src/upgrade/engine/decide.js";
import { runUpgrade } from "../../../src/upgrade/engine/run.js";
import { startHarness, TARGET, type Harness } from "./harness.js";
import { statusOf, waitingReason } from "./support.js";

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

test("a change seen by the caches wakes the loop before its requeue time", { timeout: 60_000 }, async () => {
  await h.create("adopt", { to: { version: TARGET.version }, install: { mode: "Adopt" } });
  let installedAt = 0;
  let installing: Promise<unknown> | undefined;
  let reachedAt = 0;
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(40_000)]);
  await runUpgrade(h.reconciler, "adopt", {
    source: h.source,
    signal,
    maxSleepMs: 30_000,
    until: () => false,
    onResult: (r) => {
      const status = statusOf(r);
      if (!installing && r.stage === "ControlPlaneUpgrade" && waitingReason(status) === "WaitingForInstall") {
        assert.equal(
          r.requeueAfterMs,
          REQUEUE_ACTIVE_MS,
          "waiting for the user's install, the loop looks again in 5 s",
        );
        installedAt = performance.now();
        // the user installs the revision (as helm or istioctl would) while the loop sleeps
        installing = applyManifests(h.cluster.rest, h.manifests);
      } else if (installing && r.stage !== "ControlPlaneUpgrade") {
        reachedAt = performance.now();
        stop.abort();
      }
    },
  }).catch((err: unknown) => {
    if (!stop.signal.aborted) throw err;
  });
  await installing;
  assert.ok(reachedAt > 0, "the upgrade left ControlPlaneUpgrade after the install");
  const took = reachedAt - installedAt;
  assert.ok(
    took < REQUEUE_ACTIVE_MS - 1_500,
    `the loop saw the installed revision ${Math.round(took)} ms after the install began: it slept until its requeue timer instead of waking on the cache change`,
  );
  const mu = await h.get("adopt");
  assert.equal((mu.status as { stage: string }).stage, "DataPlaneUpgrade");
});
