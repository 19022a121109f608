import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../api/types.js";
import { EVICTION_REFUSED_MESSAGE, evictionAllowed, recordEviction } from "./disruption.js";
import { findCondition } from "./meta.js";
import { isReady } from "./pods.js";
import { deployment, newCluster, podsOf, waitFor } from "./test-helpers.js";

function pod(name: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = { app: "p" }): KObject {
  return {
    metadata: { name, namespace: "default", labels },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }], ...spec },
  };
}

describe("kubelet", () => {
  test("a kubelet that gets to a pod after it would be ready reports Running and Ready in one status write", async () => {
    // the clock jumps 5 s while the containers are being created: the next sync is far past start + readiness
    let lateBy = 0;
    const c = newCluster({
      nodes: ["n1"],
      timing: { podStartMs: 30, podReadyMs: 1000 },
      now: () => Date.now() + lateBy,
    });
    try {
      const seen: string[] = [];
      c.store.subscribe((ev) => {
        if (ev.key !== "/pods") return;
        const s = ev.object.status ?? {};
        if (s.containerStatuses?.[0]?.state?.waiting?.reason === "ContainerCreating") lateBy = 5000;
        seen.push(`${s.phase}${isReady(ev.object) ? "/Ready" : ""}`);
      });
      c.store.create("/pods", pod("late"));
      const p = await waitFor(() => {
        const o = c.store.get("/pods", "default", "late");
        return o && isReady(o) ? o : undefined;
      });
      assert.deepEqual([...new Set(seen)], ["Pending", "Running/Ready"]);
      // the containers started when they were due, before the late sync
      const started = Date.parse(p.status.containerStatuses[0].state.running.startedAt);
      assert.ok(started < Date.now() + 4000, `startedAt ${p.status.containerStatuses[0].state.running.startedAt}`);
      assert.deepEqual(c.errors, []);
    } finally {
      c.stop();
    }
  });

  test("a pod is scheduled, goes Pending (ContainerCreating) -> Running -> Ready, each step a MODIFIED event", async () => {
    // a kubelet that syncs more than podReadyMs late reports Ready at once: a long readiness delay keeps every step
    const c = newCluster({ nodes: ["n1"], timing: { podReadyMs: 400 } });
    try {
      const seen: string[] = [];
      c.store.subscribe((ev) => {
        if (ev.key !== "/pods") return;
        const s = ev.object.status ?? {};
        const waiting = s.containerStatuses?.[0]?.state?.waiting?.reason;
        seen.push(`${ev.type}:${s.phase}${waiting ? `/${waiting}` : ""}${isReady(ev.object) ? "/Ready" : ""}`);
      });
      c.store.create(
        "/pods",
        pod("p", {
          initContainers: [
            { name: "istio-init", image: "proxyv2:1" },
            { name: "istio-proxy", image: "proxyv2:1", restartPolicy: "Always" },
          ],
        }),
      );
      const p = await waitFor(() => {
        const o = c.store.get("/pods", "default", "p");
        return o && isReady(o) ? o : undefined;
      });
      assert.deepEqual(
        [...new Set(seen)],
        [
          "ADDED:Pending",
          "MODIFIED:Pending",
          "MODIFIED:Pending/ContainerCreating",
          "MODIFIED:Running",
          "MODIFIED:Running/Ready",
        ],
      );
      assert.equal(p.spec.nodeName, "n1");
      assert.match(p.status.podIP, /^10\.\d+\.\d+\.\d+$/);
      // the InternalIP of the node it runs on
      assert.equal(p.status.hostIP, "10.0.0.2");
      assert.ok(p.status.startTime);
      assert.deepEqual(
        p.status.conditions.map((x: any) => `${x.type}=${x.status}`),
        [
          "PodReadyToStartContainers=True",
          "Initialized=True",
          "Ready=True",
          "ContainersReady=True",
          "PodScheduled=True",
        ],
      );
      const [init, sidecar] = p.status.initContainerStatuses;
      assert.equal(init.state.terminated.reason, "Completed");
      assert.ok(sidecar.state.running, "native sidecar keeps running");
      assert.equal(sidecar.ready, true);
      assert.ok(p.status.containerStatuses[0].state.running);
      const reasons = new Set(c.store.list("/events", "default").map((e) => e.reason));
      for (const r of ["Scheduled", "Pulled", "Created", "Started"]) assert.ok(reasons.has(r), `event ${r}`);
    } finally {
      c.stop();
    }
  });

  test("crashLoop: containers restart with CrashLoopBackOff between runs and the pod is never Ready", async () => {
    const c = newCluster({ podFault: () => ({ crashLoop: true }) });
    try {
      c.store.create("/pods", pod("p"));
      let everReady = false;
      c.store.subscribe((ev) => void (ev.key === "/pods" && isReady(ev.object) && (everReady = true)));
      const backoff = await waitFor(
        () => {
          const cs = c.store.get("/pods", "default", "p")?.status?.containerStatuses?.[0];
          return cs?.restartCount >= 2 && cs.state.waiting?.reason === "CrashLoopBackOff" ? cs : undefined;
        },
        5000,
        "two restarts",
      );
      assert.equal(backoff.lastState.terminated.exitCode, 1);
      assert.equal(backoff.lastState.terminated.reason, "Error");
      assert.equal(c.store.get("/pods", "default", "p")!.status.phase, "Running");
      assert.equal(everReady, false);
      assert.ok(c.store.list("/events", "default").some((e) => e.reason === "BackOff" && e.type === "Warning"));
    } finally {
      c.stop();
    }
  });

  test("neverReady: Running with Ready=False (ContainersNotReady)", async () => {
    const c = newCluster({ podFault: () => ({ neverReady: true }) });
    try {
      c.store.create("/pods", pod("p"));
      await waitFor(() => c.store.get("/pods", "default", "p")?.status?.phase === "Running");
      await c.controllers.idle();
      const p = c.store.get("/pods", "default", "p")!;
      assert.equal(findCondition(p, "Ready")?.status, "False");
      assert.equal(findCondition(p, "Ready")?.reason, "ContainersNotReady");
      assert.equal(p.status.containerStatuses[0].ready, false);
    } finally {
      c.stop();
    }
  });

  test("a deleted pod stays Terminating for podTerminateMs, then the kubelet removes it", async () => {
    const c = newCluster({ timing: { podTerminateMs: 150 } });
    try {
      c.store.create("/pods", pod("p"));
      await waitFor(() => isReady(c.store.get("/pods", "default", "p") ?? { metadata: {} }));
      const t0 = Date.now();
      const marked = c.store.delete("/pods", "default", "p");
      assert.ok(marked.metadata.deletionTimestamp, "graceful: kept with a deletionTimestamp");
      await waitFor(() => !c.store.get("/pods", "default", "p"), 3000, "pod gone");
      assert.ok(Date.now() - t0 >= 140, "waited for the graceful shutdown");
    } finally {
      c.stop();
    }
  });

  test("a pod with restartPolicy Never runs to Succeeded", async () => {
    const c = newCluster();
    try {
      c.store.create("/pods", pod("p", { restartPolicy: "Never" }));
      const p = await waitFor(() => {
        const o = c.store.get("/pods", "default", "p");
        return o?.status?.phase === "Succeeded" ? o : undefined;
      });
      assert.equal(p.status.containerStatuses[0].state.terminated.reason, "Completed");
      assert.equal(findCondition(p, "Ready")?.reason, "PodCompleted");
    } finally {
      c.stop();
    }
  });
});

describe("garbage collector and namespace lifecycle", () => {
  test("Background deletion of a Deployment removes its ReplicaSets and pods", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 2));
      await waitFor(() => podsOf(c.store, "default", "app=web").filter(isReady).length === 2);
      c.store.delete("apps/deployments", "default", "web", { propagationPolicy: "Background" });
      await waitFor(
        () =>
          c.store.list("apps/replicasets", "default").length === 0 &&
          podsOf(c.store, "default", "app=web").length === 0,
        5000,
        "cascade",
      );
    } finally {
      c.stop();
    }
  });

  test("Foreground deletion keeps the owner until its dependents are gone", async () => {
    const c = newCluster({ timing: { podTerminateMs: 60 } });
    try {
      c.store.create("apps/deployments", deployment("web", 2));
      await waitFor(() => podsOf(c.store, "default", "app=web").filter(isReady).length === 2);
      let ownerGoneWhilePodsLeft = false;
      c.store.subscribe((ev) => {
        if (ev.key === "apps/deployments" && ev.type === "DELETED" && podsOf(c.store, "default", "app=web").length > 0)
          ownerGoneWhilePodsLeft = true;
      });
      const marked = c.store.delete("apps/deployments", "default", "web", { propagationPolicy: "Foreground" });
      assert.deepEqual(marked.metadata.finalizers, ["foregroundDeletion"]);
      await waitFor(() => !c.store.get("apps/deployments", "default", "web"), 5000, "owner deleted");
      assert.equal(ownerGoneWhilePodsLeft, false);
      assert.equal(c.store.list("apps/replicasets", "default").length, 0);
    } finally {
      c.stop();
    }
  });

  test("Orphan deletion strips owner references and keeps the ReplicaSet", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 1));
      await waitFor(() => c.store.list("apps/replicasets", "default").length === 1);
      c.store.delete("apps/deployments", "default", "web", { propagationPolicy: "Orphan" });
      await waitFor(() => !c.store.get("apps/deployments", "default", "web"), 5000, "owner deleted");
      await c.controllers.idle();
      const [rs] = c.store.list("apps/replicasets", "default");
      assert.ok(rs, "ReplicaSet kept");
      assert.equal(rs.metadata.ownerReferences, undefined);
    } finally {
      c.stop();
    }
  });

  test("deleting a namespace deletes its content, then the namespace", async () => {
    const c = newCluster({ namespaces: ["default", "shop"] });
    try {
      c.store.create("apps/deployments", deployment("web", 2, {}, "shop"));
      c.store.create("/configmaps", { metadata: { name: "cfg", namespace: "shop" }, data: {} });
      await waitFor(() => podsOf(c.store, "shop", "app=web").filter(isReady).length === 2);
      const ns = c.store.delete("/namespaces", undefined, "shop");
      assert.equal(ns.status.phase, "Terminating");
      await waitFor(() => !c.store.get("/namespaces", undefined, "shop"), 5000, "namespace gone");
      for (const key of ["/pods", "/configmaps", "apps/deployments", "apps/replicasets"])
        assert.equal(c.store.list(key, "shop").length, 0, key);
      assert.ok(c.store.get("/namespaces", undefined, "default"));
    } finally {
      c.stop();
    }
  });
});

describe("PodDisruptionBudget", () => {
  test("status counts healthy pods; evictionAllowed refuses with the real message when the budget is spent", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/deployments", deployment("web", 3));
      c.store.create("policy/poddisruptionbudgets", {
        metadata: { name: "web-pdb", namespace: "default" },
        spec: { minAvailable: 2, selector: { matchLabels: { app: "web" } } },
      });
      const pdb = await waitFor(() => {
        const p = c.store.get("policy/poddisruptionbudgets", "default", "web-pdb");
        return p?.status?.currentHealthy === 3 ? p : undefined;
      });
      assert.deepEqual(
        { ...pdb.status, conditions: undefined },
        {
          observedGeneration: 1,
          disruptionsAllowed: 1,
          currentHealthy: 3,
          desiredHealthy: 2,
          expectedPods: 3,
          conditions: undefined,
        },
      );
      assert.equal(findCondition(pdb, "DisruptionAllowed")?.reason, "SufficientPods");
      const [first, second] = podsOf(c.store, "default", "app=web");
      const ok = evictionAllowed([pdb], first);
      assert.deepEqual(ok, { allowed: true, pdb: "web-pdb" });
      // the eviction endpoint records the disruption, then deletes the pod
      const spent = structuredClone(pdb);
      recordEviction(spent, first.metadata.name!, Date.now());
      const refused = evictionAllowed([spent], second);
      assert.deepEqual(refused, {
        allowed: false,
        pdb: "web-pdb",
        code: 429,
        message: "The disruption budget web-pdb needs 2 healthy pods and has 3 currently",
      });
      assert.equal(EVICTION_REFUSED_MESSAGE, "Cannot evict pod as it would violate the pod's disruption budget.");
      assert.deepEqual(
        evictionAllowed([spent], { ...second, metadata: { ...second.metadata, labels: { app: "other" } } }),
        { allowed: true },
      );
    } finally {
      c.stop();
    }
  });

  test("maxUnavailable counts the Deployment's replicas as expected pods", async () => {
    const c = newCluster({ podFault: (p) => ({ neverReady: p.metadata.name!.endsWith("x") }) });
    try {
      c.store.create("apps/deployments", deployment("web", 4));
      c.store.create("policy/poddisruptionbudgets", {
        metadata: { name: "web-pdb", namespace: "default" },
        spec: { maxUnavailable: "50%", selector: { matchLabels: { app: "web" } } },
      });
      await waitFor(() => c.store.get("policy/poddisruptionbudgets", "default", "web-pdb")?.status?.expectedPods === 4);
      await c.controllers.idle();
      const pdb = c.store.get("policy/poddisruptionbudgets", "default", "web-pdb")!;
      const healthy = podsOf(c.store, "default", "app=web").filter(isReady).length;
      assert.equal(pdb.status.desiredHealthy, 2);
      assert.equal(pdb.status.currentHealthy, healthy);
      assert.equal(pdb.status.disruptionsAllowed, Math.max(0, healthy - 2));
    } finally {
      c.stop();
    }
  });
});

describe("Endpoints and EndpointSlices", () => {
  test("a Service lists Ready pods as addresses, the others as notReadyAddresses, with named target ports resolved", async () => {
    const c = newCluster({ podFault: (p) => ({ neverReady: p.metadata.labels?.slow === "true" }) });
    try {
      c.store.create("/services", {
        metadata: { name: "web", namespace: "default" },
        spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      });
      c.store.create("apps/deployments", deployment("web", 2));
      c.store.create("/pods", {
        metadata: { name: "slow", namespace: "default", labels: { app: "web", slow: "true" } },
        spec: { containers: [{ name: "app", image: "nginx:1", ports: [{ name: "http", containerPort: 8080 }] }] },
      });
      const ep = await waitFor(() => {
        const e = c.store.get("/endpoints", "default", "web");
        return e?.subsets?.[0]?.addresses?.length === 2 && e.subsets[0].notReadyAddresses?.length === 1 ? e : undefined;
      });
      assert.deepEqual(ep.subsets[0].ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
      assert.equal(ep.subsets[0].notReadyAddresses[0].targetRef.name, "slow");
      const [slice] = c.store.list("discovery.k8s.io/endpointslices", "default", {
        labelSelector: "kubernetes.io/service-name=web",
      });
      assert.equal(slice.endpoints.length, 3);
      assert.equal(slice.endpoints.filter((e: any) => e.conditions.ready).length, 2);
      assert.equal(slice.metadata.ownerReferences![0].kind, "Service");
      c.store.delete("/services", "default", "web");
      await waitFor(
        () =>
          !c.store.get("/endpoints", "default", "web") &&
          c.store.list("discovery.k8s.io/endpointslices", "default").length === 0,
        3000,
        "endpoints removed",
      );
      assert.deepEqual(c.errors, []);
    } finally {
      c.stop();
    }
  });
});
