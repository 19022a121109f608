// End to end on the demo with the Sail install mode (issue 4 acceptance): the demo's scenario with the Sail
// operator's CRDs, so meshlift creates an IstioRevision for 1.28.10 and the simulated Sail operator
// installs it; the source revision (installed by istioctl, not Sail) is removed as istioctl would.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { loadScenario } from "../../../sandbox/scenario/schema.js";
import { startHarness, TARGET, type Harness } from "./harness.js";
import { forwardRunProblems, upgradeDemo, type ForwardRun } from "./support.js";

let h: Harness;
let run: ForwardRun;
before(async () => {
  h = await startHarness({ scenario: { ...loadScenario("demo"), sail: { enabled: true } } });
  run = await upgradeDemo(h, "to-1-28-sail", {
    to: { version: TARGET.version },
    install: { mode: "Sail" },
    dataPlane: { maxConcurrent: 10, waves: { size: 6 } },
    decommission: { graceSeconds: 1 },
  });
});
after(() => h.close());

test("Sail: Completed, every proxy on the target, the source revision gone, history complete", () => {
  assert.deepEqual(forwardRunProblems(h, run, TARGET.revision), []);
});

test("the target runs from the IstioRevision meshlift created, Ready and owning its istiod", () => {
  const ir = h.sb.store.get("sailoperator.io/istiorevisions", undefined, TARGET.revision);
  assert.ok(ir, `IstioRevision ${TARGET.revision} exists`);
  assert.equal(String(ir.spec?.version).replace(/^v/, ""), TARGET.version);
  const ready = (ir.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready");
  assert.equal(ready?.status, "True", `IstioRevision Ready: ${JSON.stringify(ir.status?.conditions)}`);
  const istiod = h.sb.store.get("apps/deployments", "istio-system", `istiod-${TARGET.revision}`);
  assert.deepEqual(
    istiod?.metadata.ownerReferences?.map((o: { kind: string; name: string }) => `${o.kind}/${o.name}`),
    [`IstioRevision/${TARGET.revision}`],
  );
  assert.deepEqual(
    run.status.installedObjects?.map((o) => `${o.kind}/${o.name}`),
    [`IstioRevision/${TARGET.revision}`],
    "status.installedObjects names the IstioRevision",
  );
});
