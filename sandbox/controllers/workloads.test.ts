import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../api/types.js";
import { findCondition } from "./meta.js";
import { isReady } from "./pods.js";
import { newCluster, podTemplate, podsOf, waitFor } from "./test-helpers.js";

function statefulSet(name: string, replicas: number, spec: Record<string, unknown> = {}): KObject {
  return {
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: podTemplate(name),
      ...spec,
    },
  };
}

describe("StatefulSet controller", () => {
  test("OrderedReady creates db-0, db-1, db-2 one at a time, each after the previous is Ready", async () => {
    const c = newCluster();
    try {
      const order: string[] = [];
      let violated = "";
      c.store.subscribe((ev) => {
        if (ev.key !== "/pods" || ev.type !== "ADDED") return;
        order.push(ev.object.metadata.name!);
        const ord = Number(ev.object.metadata.name!.split("-").pop());
        for (let i = 0; i < ord; i++) {
          const prev = c.store.get("/pods", "default", `db-${i}`);
          if (!prev || !isReady(prev)) violated = `db-${ord} created before db-${i} was Ready`;
        }
      });
      c.store.create("apps/statefulsets", statefulSet("db", 3));
      const sts = await waitFor(() => {
        const s = c.store.get("apps/statefulsets", "default", "db");
        return s?.status?.readyReplicas === 3 ? s : undefined;
      });
      assert.deepEqual(order, ["db-0", "db-1", "db-2"]);
      assert.equal(violated, "");
      assert.equal(sts.status.currentRevision, sts.status.updateRevision);
      const pod = c.store.get("/pods", "default", "db-1")!;
      assert.equal(pod.metadata.labels!["controller-revision-hash"], sts.status.updateRevision);
      assert.equal(pod.metadata.labels!["statefulset.kubernetes.io/pod-name"], "db-1");
      assert.equal(pod.spec.hostname, "db-1");
      assert.equal(pod.spec.subdomain, "db");
      const revs = c.store.list("apps/controllerrevisions", "default");
      assert.equal(revs.length, 1);
      assert.equal(revs[0].metadata.name, sts.status.updateRevision);
      assert.equal(revs[0].revision, 1);
    } finally {
      c.stop();
    }
  });

  test("RollingUpdate with partition=1 updates from the highest ordinal down and leaves db-0 on the old revision", async () => {
    const c = newCluster();
    try {
      c.store.create(
        "apps/statefulsets",
        statefulSet("db", 3, { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } }),
      );
      const v1 = await waitFor(() => {
        const s = c.store.get("apps/statefulsets", "default", "db");
        return s?.status?.readyReplicas === 3 ? s.status.updateRevision : undefined;
      });
      const deletions: string[] = [];
      c.store.subscribe((ev) => {
        if (ev.key === "/pods" && ev.object.metadata.deletionTimestamp && !ev.old?.metadata.deletionTimestamp)
          deletions.push(ev.object.metadata.name!);
      });
      c.store.mutate(
        "apps/statefulsets",
        "default",
        "db",
        (s) => void (s.spec.template.spec.containers[0].image = "nginx:1.28"),
      );
      const sts = await waitFor(() => {
        const s = c.store.get("apps/statefulsets", "default", "db");
        return s?.status?.updatedReplicas === 2 && s.status.readyReplicas === 3 && s.status.observedGeneration === 2
          ? s
          : undefined;
      });
      assert.deepEqual(deletions, ["db-2", "db-1"]);
      assert.notEqual(sts.status.updateRevision, v1);
      assert.equal(sts.status.currentRevision, v1, "not every pod is updated: current stays");
      assert.equal(c.store.get("/pods", "default", "db-0")!.metadata.labels!["controller-revision-hash"], v1);
      assert.equal(c.store.get("/pods", "default", "db-2")!.spec.containers[0].image, "nginx:1.28");
      // lowering the partition finishes the rollout and the update revision becomes current
      c.store.mutate(
        "apps/statefulsets",
        "default",
        "db",
        (s) => void (s.spec.updateStrategy.rollingUpdate.partition = 0),
      );
      const done = await waitFor(() => {
        const s = c.store.get("apps/statefulsets", "default", "db");
        return s?.status?.updatedReplicas === 3 &&
          s.status.readyReplicas === 3 &&
          s.status.currentRevision === s.status.updateRevision
          ? s
          : undefined;
      });
      assert.equal(done.status.currentReplicas, 3);
    } finally {
      c.stop();
    }
  });

  test("scale down removes the highest ordinals", async () => {
    const c = newCluster();
    try {
      c.store.create("apps/statefulsets", statefulSet("db", 3, { podManagementPolicy: "Parallel" }));
      await waitFor(() => c.store.get("apps/statefulsets", "default", "db")?.status?.readyReplicas === 3);
      c.store.mutate("apps/statefulsets", "default", "db", (s) => void (s.spec.replicas = 1));
      await waitFor(() => podsOf(c.store, "default", "app=db").length === 1);
      assert.equal(podsOf(c.store, "default", "app=db")[0].metadata.name, "db-0");
    } finally {
      c.stop();
    }
  });
});

describe("DaemonSet controller", () => {
  test("one pod per node, pinned by node affinity; a new node gets its own pod; an update rolls within maxUnavailable", async () => {
    const c = newCluster({ nodes: ["n1", "n2", "n3"] });
    try {
      c.store.create("apps/daemonsets", {
        metadata: { name: "cni", namespace: "default" },
        spec: { selector: { matchLabels: { app: "cni" } }, template: podTemplate("cni") },
      });
      const ds = await waitFor(() => {
        const d = c.store.get("apps/daemonsets", "default", "cni");
        return d?.status?.numberReady === 3 ? d : undefined;
      });
      assert.equal(ds.status.desiredNumberScheduled, 3);
      assert.equal(ds.status.updatedNumberScheduled, 3);
      const nodes = podsOf(c.store, "default", "app=cni")
        .map((p) => p.spec.nodeName)
        .sort();
      assert.deepEqual(nodes, ["n1", "n2", "n3"]);
      c.store.create("/nodes", { metadata: { name: "n4", labels: { "kubernetes.io/hostname": "n4" } } });
      c.store.mutate(
        "/nodes",
        undefined,
        "n4",
        (n) => void (n.status = { conditions: [{ type: "Ready", status: "True" }] }),
        { subresource: "status" },
      );
      await waitFor(() => c.store.get("apps/daemonsets", "default", "cni")?.status?.numberAvailable === 4);
      let maxUnavailable = 0;
      c.store.subscribe((ev) => {
        if (ev.key !== "/pods") return;
        const ready = podsOf(c.store, "default", "app=cni").filter(
          (p) => isReady(p) && !p.metadata.deletionTimestamp,
        ).length;
        maxUnavailable = Math.max(maxUnavailable, 4 - ready);
      });
      c.store.mutate(
        "apps/daemonsets",
        "default",
        "cni",
        (d) => void (d.spec.template.spec.containers[0].image = "cni:2"),
      );
      const done = await waitFor(() => {
        const d = c.store.get("apps/daemonsets", "default", "cni");
        return d?.status?.updatedNumberScheduled === 4 &&
          d.status.numberAvailable === 4 &&
          d.status.observedGeneration === 2
          ? d
          : undefined;
      });
      assert.equal(done.status.numberUnavailable, undefined);
      assert.ok(maxUnavailable <= 1, `at most 1 node without a ready pod, saw ${maxUnavailable}`);
      assert.equal(c.store.list("apps/controllerrevisions", "default").length, 2);
    } finally {
      c.stop();
    }
  });
});

describe("Job and CronJob controllers", () => {
  test("a Job with completions=3 parallelism=2 runs at most 2 pods and completes", async () => {
    const c = newCluster();
    try {
      let maxActive = 0;
      c.store.subscribe((ev) => {
        if (ev.key !== "/pods") return;
        maxActive = Math.max(
          maxActive,
          podsOf(c.store, "default", "job-name=batch").filter((p) => p.status?.phase !== "Succeeded").length,
        );
      });
      c.store.create("batch/jobs", {
        metadata: { name: "batch", namespace: "default" },
        spec: {
          completions: 3,
          parallelism: 2,
          template: podTemplate("batch", "busybox:1", { restartPolicy: "Never" }),
        },
      });
      const job = await waitFor(() => {
        const j = c.store.get("batch/jobs", "default", "batch");
        return findCondition(j, "Complete")?.status === "True" ? j : undefined;
      });
      assert.equal(job.status.succeeded, 3);
      assert.equal(job.status.active, undefined);
      assert.ok(job.status.completionTime);
      assert.ok(maxActive <= 2, `saw ${maxActive} active pods`);
      for (const p of podsOf(c.store, "default", "job-name=batch")) assert.equal(p.status.phase, "Succeeded");
    } finally {
      c.stop();
    }
  });

  test("a CronJob whose schedule time has passed creates its Job and records lastScheduleTime", async () => {
    const c = newCluster();
    try {
      c.store.create("batch/cronjobs", {
        metadata: { name: "tick", namespace: "default" },
        spec: {
          schedule: "* * * * *",
          jobTemplate: { spec: { template: podTemplate("tick", "busybox:1", { restartPolicy: "OnFailure" }) } },
        },
      });
      // creation is "now": backdate it so one schedule time has already passed
      c.store.mutate(
        "batch/cronjobs",
        "default",
        "tick",
        (cj) =>
          void (cj.status = {
            lastScheduleTime: new Date(Date.now() - 61_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
          }),
        { subresource: "status" },
      );
      const cj = await waitFor(
        () => {
          const o = c.store.get("batch/cronjobs", "default", "tick");
          return o?.status?.lastSuccessfulTime ? o : undefined;
        },
        5000,
        "a successful run",
      );
      const jobs = c.store.list("batch/jobs", "default");
      assert.equal(jobs.length, 1);
      assert.match(jobs[0].metadata.name!, /^tick-\d+$/);
      assert.equal(Number(jobs[0].metadata.name!.split("-")[1]) * 60000, Date.parse(cj.status.lastScheduleTime));
      assert.equal(jobs[0].metadata.ownerReferences![0].kind, "CronJob");
    } finally {
      c.stop();
    }
  });
});
