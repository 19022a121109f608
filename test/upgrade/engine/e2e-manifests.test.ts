// End to end on the demo with the Manifests install mode (issue 4 acceptance): 1.27.9 → 1.28.10 through
// every stage to Completed — every proxy on the new revision, the old revision gone, every write's intent
// in history before the write — and no LIST per reconcile once the caches have synced (only the offline
// stage's fresh LISTs). Namespaces switch by relabelling.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startHarness, TARGET, type Harness } from "./harness.js";
import {
  describeRequest,
  forwardRunProblems,
  historyTime,
  listsAfterWarmUp,
  namespaceLabels,
  upgradeDemo,
  type ForwardRun,
} from "./support.js";

/** Namespaces the demo opts in on the source revision, each one way (label, revision, tag, both). */
const RELABELLED = [
  "bookinfo",
  "inventory",
  "online-boutique",
  "orders",
  "tools",
  "batch",
  "payments",
  "storefront",
  "legacy-crm",
];

let h: Harness;
let run: ForwardRun;
before(async () => {
  h = await startHarness();
  run = await upgradeDemo(h, "to-1-28", {
    to: { version: TARGET.version },
    install: { mode: "Manifests" },
    dataPlane: { maxConcurrent: 10, waves: { size: 6 } },
    decommission: { graceSeconds: 1 },
  });
});
after(() => h.close());

test("Manifests: Completed, every proxy on the target, the source revision gone, history complete", () => {
  assert.deepEqual(forwardRunProblems(h, run, TARGET.revision), []);
  assert.ok(
    run.status.installedObjects?.some((o) => o.kind === "Deployment" && o.name === `istiod-${TARGET.revision}`),
    "status.installedObjects records the istiod meshlift applied",
  );
});

test("every namespace on the source revision now names the target; no other namespace changed", () => {
  const after = namespaceLabels(h.sb);
  for (const [ns, labels] of Object.entries(run.labelsBefore)) {
    if (RELABELLED.includes(ns)) {
      const { "istio-injection": _injection, ...kept } = labels;
      assert.deepEqual(after[ns], { ...kept, "istio.io/rev": TARGET.revision }, `namespace ${ns}`);
    } else if (after[ns] !== undefined)
      assert.deepEqual(after[ns], labels, `namespace ${ns} is not meshlift's to change`);
  }
});

test("no LIST per reconcile after the caches synced: only the offline stage's fresh LISTs", () => {
  const offlineFrom = historyTime(run.status, "stage DataPlaneUpgrade → OldControlPlaneOffline");
  assert.ok(offlineFrom, "the upgrade went through OldControlPlaneOffline");
  const records = run.window.records();
  // the reconcile loop and the wave gates read the warm caches; only the fresh check of the offline stage lists
  assert.deepEqual(listsAfterWarmUp(records, "to-1-28", offlineFrom).map(describeRequest), []);
  const reconciles = records.filter((r) => r.verb === "get" && r.resource === "meshupgrades").length;
  assert.ok(reconciles > 10, `the run reconciled ${reconciles} times: the count above covers many reconciles`);
  assert.ok(
    records.some((r) => r.verb === "list" && r.resource === "pods" && !r.namespace && r.time >= offlineFrom),
    "the offline stage took a fresh LIST of every pod",
  );
});
