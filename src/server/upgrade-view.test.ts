// The console's additions to a MeshUpgrade: advice per straggler from why the engine lists it, and
// the view the Upgrade page reads (guard verdicts, approval point, gateways with their upgrade state).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MeshSnapshot, Workload } from "../mesh/schema.js";
import type { MeshUpgradeObject } from "./api-types.js";
import { consoleViewOf, stragglerAdvice } from "./upgrade-view.js";

const REVS = { from: "1-27-9", to: "1-28-10" };
const INJECTED = "proxy 1.27.9 injected by revision 1-27-9 (sidecar.istio.io/status)";

describe("stragglerAdvice", () => {
  test("a naked pod is deleted: the command names it", () => {
    const a = stragglerAdvice({ kind: "Pod", namespace: "tools", name: "netshoot", why: INJECTED }, REVS);
    assert.match(a.action, /without a controller is never restarted: delete it/);
    assert.equal(a.command, "kubectl delete pod netshoot -n tools");
  });

  test("a workload a restart would strip of its sidecar is re-injected or removed, not restarted", () => {
    const a = stragglerAdvice(
      {
        kind: "Deployment",
        namespace: "legacy-billing",
        name: "billing-api",
        why: `${INJECTED}; a restart would leave it without a sidecar`,
      },
      REVS,
    );
    assert.match(a.action, /a restart would drop its sidecar/);
    assert.match(a.action, /istioctl kube-inject --revision 1-28-10/);
    assert.equal(a.command, null);
  });

  test("a kube-injected workload (its proxy in the template) is injected again for the target, whatever its labels say", () => {
    const a = stragglerAdvice(
      {
        kind: "Deployment",
        namespace: "legacy-billing",
        name: "billing-api",
        why: `${INJECTED}; its labels still select this revision`,
      },
      REVS,
      { manualProxy: true },
    );
    assert.match(a.action, /written into its pod template \(istioctl kube-inject\): a restart keeps 1-27-9/);
    assert.match(a.action, /istioctl kube-inject --revision 1-28-10 \| kubectl apply -f -/);
  });

  test("a workload a restart moves is restarted; one whose labels still select the old revision is relabelled", () => {
    const move = stragglerAdvice(
      { kind: "StatefulSet", namespace: "shop", name: "db", why: `${INJECTED}; a restart would move it to 1-28-10` },
      REVS,
    );
    assert.equal(move.action, "restart it: its new pods get 1-28-10");
    assert.equal(move.command, "kubectl rollout restart statefulset/db -n shop");
    const pinned = stragglerAdvice(
      {
        kind: "Deployment",
        namespace: "monitoring",
        name: "late",
        why: `${INJECTED}; its labels still select this revision`,
      },
      REVS,
    );
    assert.match(pinned.action, /still select 1-27-9: set istio.io\/rev=1-28-10/);
  });

  test("Job pods finish on their own", () => {
    const a = stragglerAdvice({ kind: "Job", namespace: "batch", name: "nightly", why: INJECTED }, REVS);
    assert.match(a.action, /never restarted: let it finish/);
    assert.equal(a.command, "kubectl delete job nightly -n batch");
  });
});

function workload(w: Partial<Workload> & Pick<Workload, "kind" | "namespace" | "name">): Workload {
  return {
    replicas: 1,
    templateLabels: {},
    pods: [],
    livePods: 1,
    completedPods: 0,
    proxiedPods: 1,
    revisions: ["1-27-9"],
    versions: ["1.27.9"],
    restart: {} as Workload["restart"],
    manualProxy: false,
    gateway: null,
    flags: [],
    templateAnnotations: {},
    rollout: null,
    ...w,
  };
}

describe("consoleViewOf", () => {
  test("verdicts, approval point, stragglers with advice, gateways with their state and surge", () => {
    const upgrade: MeshUpgradeObject = {
      apiVersion: "meshlift.io/v1alpha1",
      kind: "MeshUpgrade",
      metadata: { name: "to-1-28-10" },
      spec: { to: { version: "1.28.10" }, approval: { mode: "BeforeOffline" }, dataPlane: { restart: "Manual" } },
      status: {
        stage: "DataPlaneUpgrade",
        from: { revision: "1-27-9", version: "1.27.9" },
        to: { revision: "1-28-10", version: "1.28.10" },
        progress: {
          waves: [{ index: 0, state: "Done" }],
          workloads: [
            {
              kind: "Deployment",
              namespace: "istio-ingress",
              name: "ingressgateway",
              wave: 0,
              state: "Restarting",
              ready: "1/2",
              gateway: { originalRevisionLabel: null, originalReplicas: 1, surgeToken: "abc.f0" },
            },
          ],
        },
        stragglers: [{ kind: "Pod", namespace: "tools", name: "netshoot", why: INJECTED }],
        conditions: [
          {
            type: "Waiting",
            status: "True",
            reason: "Stragglers",
            message: "",
            lastTransitionTime: "2026-11-22T10:00:00Z",
          },
        ],
      },
    };
    const snapshot = {
      workloads: [
        workload({
          kind: "Deployment",
          namespace: "istio-ingress",
          name: "ingressgateway",
          gateway: "injected",
          replicas: 2,
        }),
        workload({ kind: "Deployment", namespace: "bookinfo", name: "details-v1" }),
      ],
    } as unknown as MeshSnapshot;
    const view = consoleViewOf(upgrade, snapshot);
    assert.equal(view.actions.Done.allowed, false);
    assert.match(view.actions.Done.reason, /1 workload\(s\) still run 1-27-9/);
    assert.equal(view.actions.Rollback.allowed, true);
    assert.equal(view.approval, null);
    assert.deepEqual(view.stragglers[0].command, "kubectl delete pod netshoot -n tools");
    assert.deepEqual(view.gateways.items, [
      {
        kind: "Deployment",
        namespace: "istio-ingress",
        name: "ingressgateway",
        type: "injected",
        replicas: 2,
        livePods: 1,
        revisions: ["1-27-9"],
        state: "Restarting",
        ready: "1/2",
        canary: null,
        surgedFrom: 1,
        message: null,
      },
    ]);
    assert.equal(view.gateways.strategy, "InPlace");
    assert.deepEqual(view.restart, { mode: "Manual", selected: [] });
  });
});
