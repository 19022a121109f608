// Offline refuses while a straggler exists (issue 4 acceptance): the data plane does not leave while a
// naked pod runs the old revision, and the offline stage does not remove the old revision while a pod
// created on it after the switch exists (made with kubectl: istio.io/rev=1-27-9 on a pod in a namespace
// without injection labels, so the old revision's webhook injects it). Each is listed in status.stragglers
// (kind, namespace, name, why); once handled, the upgrade goes on to Completed. A Rollback asked while the
// old revision is going offline is refused, and nothing but the MeshUpgrade's status is written.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { kubectl } from "../../helpers/kubectl.js";
import { startHarness, TARGET, type Harness } from "./harness.js";
import {
  DEMO_STRAGGLERS,
  RequestWindow,
  SOURCE,
  describeRequest,
  isOwnStatusWrite,
  liveProxies,
  removeDemoStragglers,
  revisionObjects,
  runUntil,
  stageIs,
  statusOf,
  waitingReason,
  writesWithoutIntent,
} from "./support.js";

const NAME = "stragglers";
const LATE_POD = `apiVersion: v1
kind: Pod
metadata:
  name: late-client
  namespace: monitoring
  labels: { app: late-client, istio.io/rev: ${SOURCE.revision} }
spec:
  containers:
    - { name: curl, image: docker.io/curlimages/curl:8.10.1, command: ["sleep", "infinity"] }
`;

let h: Harness;
let window: RequestWindow;
before(async () => {
  h = await startHarness();
  await h.create(NAME, {
    to: { version: TARGET.version },
    install: { mode: "Manifests" },
    dataPlane: { maxConcurrent: 10, waves: { size: 6 } },
    // long enough for the test to create a pod on the old revision while the offline stage waits
    decommission: { graceSeconds: 6 },
  });
  window = new RequestWindow(h.sb);
});
after(() => h.close());

test(
  "the data plane does not leave while a naked pod runs the old revision, and lists it",
  { timeout: 60_000 },
  async () => {
    await runUntil(h, NAME, "the data plane waits on stragglers", (r, s) => waitingReason(s) === "Stragglers");
    // a few more reconciles: it keeps waiting, the old revision untouched
    let more = 0;
    const r = await runUntil(h, NAME, "three more reconciles", () => ++more >= 3);
    const status = statusOf(r);
    assert.equal(r.stage, "DataPlaneUpgrade");
    const netshoot = status.stragglers?.find(
      (s) => s.kind === "Pod" && s.namespace === "tools" && s.name === "netshoot",
    );
    assert.ok(netshoot, `the naked pod is listed: ${JSON.stringify(status.stragglers)}`);
    assert.match(netshoot.why, new RegExp(`injected by revision ${SOURCE.revision}`));
    assert.deepEqual(
      status.stragglers?.map((s) => `${s.kind} ${s.namespace}/${s.name}`).sort(),
      DEMO_STRAGGLERS.map((s) => `${s.kind} ${s.namespace}/${s.name}`).sort(),
    );
    assert.match(status.message ?? "", /still run 1-27-9/);
    assert.ok(revisionObjects(h.sb, SOURCE.revision).length > 0, "the old revision is untouched");
  },
);

test(
  "offline waits on a pod created on the old revision after the switch, lists it, refuses a Rollback",
  { timeout: 60_000 },
  async () => {
    await window.asUser(() => removeDemoStragglers(h));
    await runUntil(h, NAME, "OldControlPlaneOffline", stageIs("OldControlPlaneOffline"));
    const created = await window.asUser(() =>
      kubectl("kubectl", h.sb.kubeconfigPath, ["apply", "-f", "-"], { input: LATE_POD }),
    );
    assert.equal(created.code, 0, created.stderr);
    assert.ok(
      liveProxies(h.sb).some((p) => p.pod === "late-client" && p.revision === SOURCE.revision),
      "the old revision's webhook injected the late pod",
    );
    const waiting = statusOf(
      await runUntil(h, NAME, "offline lists the late pod", (r, s) =>
        (s.stragglers ?? []).some((x) => x.namespace === "monitoring" && x.name === "late-client"),
      ),
    );
    assert.equal(waiting.stage, "OldControlPlaneOffline");
    assert.equal(waitingReason(waiting), "Stragglers");
    assert.deepEqual(
      waiting.stragglers?.map(({ kind, namespace, name }) => ({ kind, namespace, name })),
      [{ kind: "Pod", namespace: "monitoring", name: "late-client" }],
    );
    assert.match(waiting.stragglers![0].why, new RegExp(`injected by revision ${SOURCE.revision}`));
    assert.match(waiting.message ?? "", /fresh LIST.*monitoring\/late-client.*not removed until they are gone/);
    assert.equal(waiting.offline?.zeroSince, undefined, "the grace period starts again once the pod is gone");
    assert.ok(revisionObjects(h.sb, SOURCE.revision).length > 0, "the old revision is not removed");

    // a Rollback now is refused (no rollback once the old control plane goes offline), and changes nothing
    await window.asUser(() => h.setAction(NAME, "Rollback"));
    const refusal = new RequestWindow(h.sb);
    const refused = statusOf(
      await runUntil(h, NAME, "the Rollback acknowledged", (r, s) => s.acknowledgedAction?.action === "Rollback"),
    );
    const accepted = refused.conditions?.find((c) => c.type === "ActionAccepted");
    assert.equal(accepted?.status, "False");
    assert.equal(accepted?.reason, "ActionRefused");
    assert.match(accepted?.message ?? "", /Rollback: rollback is possible only before OldControlPlaneOffline/);
    assert.equal(refused.stage, "OldControlPlaneOffline");
    assert.deepEqual(
      refusal
        .writes()
        .filter((r) => !isOwnStatusWrite(r, NAME))
        .map(describeRequest),
      [],
      "the refused Rollback wrote nothing but the MeshUpgrade's status",
    );
  },
);

test("once the late pod is deleted the old revision goes and the upgrade completes", { timeout: 60_000 }, async () => {
  const deleted = await window.asUser(() =>
    kubectl("kubectl", h.sb.kubeconfigPath, ["delete", "pod", "-n", "monitoring", "late-client", "--grace-period=0"]),
  );
  assert.equal(deleted.code, 0, deleted.stderr);
  const done = statusOf(await runUntil(h, NAME, "Completed", stageIs("Completed")));
  assert.deepEqual(done.stragglers ?? [], []);
  assert.deepEqual(revisionObjects(h.sb, SOURCE.revision), []);
  assert.deepEqual(writesWithoutIntent(done, window.writes(), { from: SOURCE.revision, to: TARGET.revision }), []);
});
