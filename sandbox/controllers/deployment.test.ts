import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, type KObject } from "../api/types.js";
import { findCondition } from "./meta.js";
import { isReady } from "./pods.js";
import { deployment, newCluster, podsOf, waitFor, type TestCluster } from "./test-helpers.js";

/** what `kubectl rollout status deployment` waits for */
function rolloutComplete(d: KObject | undefined): boolean {
  if (!d) return false;
  const s = d.status ?? {};
  const want = d.spec.replicas;
  return (
    (s.observedGeneration ?? 0) >= d.metadata.generation! &&
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want
  );
}

function get(c: TestCluster, name: string): KObject | undefined {
  return c.store.get("apps/deployments", "default", name);
}

function setImage(c: TestCluster, name: string, image: string): void {
  c.store.mutate("apps/deployments", "default", name, (d) => {
    d.spec.template.spec.containers[0].image = image;
  });
}

function replicaSets(c: TestCluster, app: string): KObject[] {
  return c.store.list("apps/replicasets", "default", { labelSelector: `app=${app}` });
}

async function rolledOut(c: TestCluster, name: string): Promise<KObject> {
  return waitFor(
    () => {
      const d = get(c, name);
      return rolloutComplete(d) && findCondition(d, "Progressing")?.reason === "NewReplicaSetAvailable" ? d : undefined;
    },
    8000,
    `rollout of ${name}`,
  );
}

describe("Deployment controller", () => {
  test("a new Deployment gets one ReplicaSet <name>-<pod-template-hash> and becomes Available", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 3));
      const d = await rolledOut(c, "web");
      const [rs] = replicaSets(c, "web");
      const hash = rs.metadata.labels!["pod-template-hash"];
      assert.equal(rs.metadata.name, `web-${hash}`);
      assert.equal(rs.spec.selector.matchLabels["pod-template-hash"], hash);
      assert.equal(rs.metadata.annotations!["deployment.kubernetes.io/revision"], "1");
      assert.equal(d.metadata.annotations!["deployment.kubernetes.io/revision"], "1");
      assert.equal(findCondition(d, "Available")?.reason, "MinimumReplicasAvailable");
      const pods = podsOf(c.store, "default", "app=web");
      assert.equal(pods.length, 3);
      for (const p of pods) {
        assert.equal(p.metadata.labels!["pod-template-hash"], hash);
        assert.match(p.metadata.name!, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
        assert.equal(p.metadata.ownerReferences![0].uid, rs.metadata.uid);
        assert.equal(p.metadata.ownerReferences![0].controller, true);
      }
      assert.deepEqual(c.errors, []);
    } finally {
      c.stop();
    }
  });

  for (const [surge, unavailable, replicas, maxSurge, maxUnavailable] of [
    [1, 1, 4, 1, 1],
    ["25%", "25%", 10, 3, 2], // surge rounds up (2.5 -> 3), unavailable rounds down (2.5 -> 2)
    [2, 0, 3, 2, 0],
  ] as const) {
    test(`a rolling update with maxSurge=${surge} maxUnavailable=${unavailable} on ${replicas} replicas never exceeds ${replicas + maxSurge} pods nor drops below ${replicas - maxUnavailable} ready`, async () => {
      const c = newCluster();
      try {
        c.store.create(
          "apps/deployments",
          deployment("web", replicas, {
            strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } },
          }),
        );
        await rolledOut(c, "web");
        let maxPods = 0;
        let minReady = Infinity;
        const unsubscribe = c.store.subscribe((ev) => {
          if (ev.key !== "/pods") return;
          const pods = podsOf(c.store, "default", "app=web").filter((p) => !p.metadata.deletionTimestamp);
          maxPods = Math.max(maxPods, pods.length);
          minReady = Math.min(minReady, pods.filter(isReady).length);
        });
        setImage(c, "web", "nginx:1.28");
        const d = await rolledOut(c, "web");
        unsubscribe();
        assert.ok(maxPods <= replicas + maxSurge, `saw ${maxPods} pods, limit ${replicas + maxSurge}`);
        assert.ok(maxPods > replicas, "the rollout did use its surge");
        assert.ok(
          minReady >= replicas - maxUnavailable,
          `saw only ${minReady} ready pods, limit ${replicas - maxUnavailable}`,
        );
        const rss = replicaSets(c, "web");
        assert.equal(rss.length, 2);
        const fresh = rss.find((rs) => rs.spec.template.spec.containers[0].image === "nginx:1.28")!;
        assert.equal(fresh.spec.replicas, replicas);
        assert.equal(rss.find((rs) => rs !== fresh)!.spec.replicas, 0);
        assert.equal(d.metadata.annotations!["deployment.kubernetes.io/revision"], "2");
        const events = c.store
          .list("/events", "default")
          .filter((e) => e.reason === "ScalingReplicaSet")
          .map((e) => e.message);
        assert.ok(
          events.some((m: string) => m.startsWith(`Scaled down replica set`)),
          "scale-down events recorded",
        );
        assert.deepEqual(c.errors, []);
      } finally {
        c.stop();
      }
    });
  }

  test("rollout restart (a restartedAt template annotation) replaces every pod and completes", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 2));
      await rolledOut(c, "web");
      const before = new Set(podsOf(c.store, "default", "app=web").map((p) => p.metadata.name));
      c.store.mutate("apps/deployments", "default", "web", (d) => {
        d.spec.template.metadata.annotations = { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z" };
      });
      await waitFor(() => get(c, "web")!.status?.observedGeneration === 2);
      await rolledOut(c, "web");
      await c.controllers.idle();
      const after = podsOf(c.store, "default", "app=web");
      assert.equal(after.length, 2);
      for (const p of after) assert.ok(!before.has(p.metadata.name), `${p.metadata.name} survived the restart`);
      for (const p of after)
        assert.equal(p.metadata.annotations!["kubectl.kubernetes.io/restartedAt"], "2026-01-01T00:00:00Z");
    } finally {
      c.stop();
    }
  });

  test("undo: setting the template back reuses the old ReplicaSet with the next revision", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 2));
      await rolledOut(c, "web");
      const [v1] = replicaSets(c, "web");
      setImage(c, "web", "nginx:1.28");
      await waitFor(() => get(c, "web")!.status?.observedGeneration === 2);
      await rolledOut(c, "web");
      // kubectl rollout undo: the old ReplicaSet's template (without pod-template-hash) patched back
      c.store.mutate("apps/deployments", "default", "web", (d) => {
        const tpl = structuredClone(v1.spec.template);
        delete tpl.metadata.labels["pod-template-hash"];
        d.spec.template = tpl;
      });
      await waitFor(() => get(c, "web")!.status?.observedGeneration === 3);
      const d = await rolledOut(c, "web");
      const rss = replicaSets(c, "web");
      assert.equal(rss.length, 2, "no third ReplicaSet");
      const reused = rss.find((rs) => rs.metadata.uid === v1.metadata.uid)!;
      assert.equal(reused.spec.replicas, 2);
      assert.equal(reused.metadata.annotations!["deployment.kubernetes.io/revision"], "3");
      assert.equal(reused.metadata.annotations!["deployment.kubernetes.io/revision-history"], "1");
      assert.equal(d.metadata.annotations!["deployment.kubernetes.io/revision"], "3");
      await c.controllers.idle();
      for (const p of podsOf(c.store, "default", "app=web"))
        assert.equal(p.metadata.labels!["pod-template-hash"], v1.metadata.labels!["pod-template-hash"]);
    } finally {
      c.stop();
    }
  });

  test("scale to 0 removes every pod; scaling back to 3 restores them on the same ReplicaSet", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 3));
      await rolledOut(c, "web");
      c.store.mutate("apps/deployments", "default", "web", (d) => void (d.spec.replicas = 0));
      await c.controllers.idle();
      await waitFor(() => podsOf(c.store, "default", "app=web").length === 0, 5000, "pods gone");
      const zero = await rolledOut(c, "web");
      assert.equal(zero.status.replicas, undefined, "zero counts are omitted like Go's omitempty");
      c.store.mutate("apps/deployments", "default", "web", (d) => void (d.spec.replicas = 3));
      await rolledOut(c, "web");
      assert.equal(replicaSets(c, "web").length, 1);
      assert.equal(podsOf(c.store, "default", "app=web").filter(isReady).length, 3);
    } finally {
      c.stop();
    }
  });

  test("a paused Deployment does not roll out a template change until resumed", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 2));
      await rolledOut(c, "web");
      c.store.mutate("apps/deployments", "default", "web", (d) => void (d.spec.paused = true));
      setImage(c, "web", "nginx:1.28");
      await c.controllers.idle();
      const paused = get(c, "web")!;
      assert.equal(paused.status.observedGeneration, paused.metadata.generation);
      assert.equal(findCondition(paused, "Progressing")?.reason, "DeploymentPaused");
      assert.equal(replicaSets(c, "web").length, 1, "no new ReplicaSet while paused");
      for (const p of podsOf(c.store, "default", "app=web")) assert.equal(p.spec.containers[0].image, "nginx:1.27");
      c.store.mutate("apps/deployments", "default", "web", (d) => void (d.spec.paused = false));
      await waitFor(() => get(c, "web")!.status?.observedGeneration === get(c, "web")!.metadata.generation);
      await rolledOut(c, "web");
      await c.controllers.idle();
      for (const p of podsOf(c.store, "default", "app=web")) assert.equal(p.spec.containers[0].image, "nginx:1.28");
    } finally {
      c.stop();
    }
  });

  test("Recreate: no new pod exists while an old one is still there", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 3, { strategy: { type: "Recreate" } }));
      await rolledOut(c, "web");
      let overlap = false;
      const unsubscribe = c.store.subscribe((ev) => {
        if (ev.key !== "/pods") return;
        const images = new Set(podsOf(c.store, "default", "app=web").map((p) => p.spec.containers[0].image));
        if (images.size > 1) overlap = true;
      });
      setImage(c, "web", "nginx:1.28");
      await waitFor(() => get(c, "web")!.status?.observedGeneration === 2);
      await rolledOut(c, "web");
      unsubscribe();
      assert.equal(overlap, false);
    } finally {
      c.stop();
    }
  });

  test("pods that never become ready exceed progressDeadlineSeconds: Progressing=False ProgressDeadlineExceeded", async () => {
    const c = newCluster({ podFault: (p) => ({ neverReady: p.spec.containers[0].image === "broken:1" }) });
    try {
      c.store.create("apps/deployments", deployment("web", 2, { progressDeadlineSeconds: 1 }));
      await rolledOut(c, "web");
      setImage(c, "web", "broken:1");
      const d = await waitFor(
        () => {
          const cur = get(c, "web");
          return findCondition(cur, "Progressing")?.reason === "ProgressDeadlineExceeded" ? cur : undefined;
        },
        6000,
        "deadline exceeded",
      );
      const cond = findCondition(d, "Progressing")!;
      assert.equal(cond.status, "False");
      assert.match(cond.message!, /^ReplicaSet "web-[a-z0-9]+" has timed out progressing\.$/);
      assert.equal(findCondition(d, "Available")?.status, "True", "old pods still serve");
    } finally {
      c.stop();
    }
  });

  test("admission refusing pods: FailedCreate event and ReplicaFailure condition, then recovery", async () => {
    const c = newCluster();
    let refuse = true;
    c.store.admission.push((req) => {
      if (refuse && req.key === "/pods" && req.operation === "CREATE")
        throw new ApiError(
          500,
          "InternalError",
          'Internal error occurred: failed calling webhook "rev.namespace.sidecar-injector.istio.io": no endpoints available for service "istiod"',
        );
      return req.object;
    });
    try {
      c.store.create("apps/deployments", deployment("web", 2));
      const rs = await waitFor(
        () => replicaSets(c, "web").find((r) => findCondition(r, "ReplicaFailure")?.status === "True"),
        5000,
        "ReplicaFailure",
      );
      const cond = findCondition(rs, "ReplicaFailure")!;
      assert.equal(cond.reason, "FailedCreate");
      assert.match(cond.message!, /failed calling webhook "rev\.namespace\.sidecar-injector\.istio\.io"/);
      const ev = c.store.list("/events", "default").find((e) => e.reason === "FailedCreate")!;
      assert.equal(ev.type, "Warning");
      assert.match(ev.message, /^Error creating: Internal error occurred: failed calling webhook/);
      assert.equal(ev.involvedObject.name, rs.metadata.name);
      await waitFor(
        () => findCondition(get(c, "web"), "ReplicaFailure")?.status === "True",
        5000,
        "deployment mirrors ReplicaFailure",
      );
      // the retry backoff keeps trying: the same event is counted, not duplicated
      await waitFor(
        () => (c.store.list("/events", "default").find((e) => e.reason === "FailedCreate")?.count ?? 0) >= 2,
        5000,
        "retries",
      );
      refuse = false;
      const d = await rolledOut(c, "web");
      assert.equal(findCondition(d, "ReplicaFailure"), undefined);
      await waitFor(() => !findCondition(replicaSets(c, "web")[0], "ReplicaFailure"), 3000, "condition cleared");
    } finally {
      c.stop();
    }
  });
});
