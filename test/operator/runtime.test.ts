// runController end to end against the sandbox, with a toy reconcile over ConfigMaps (copy label
// `want` to label `have`): watch → queue → reconcile → requeue and periodic resync; only the leader
// reconciles; a graceful stop drains in-flight work before the follower takes over; a lost Lease
// aborts in-flight reconciles at once; /metrics, /healthz and /readyz answer on both replicas.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Sandbox } from "../../sandbox/index.js";
import { loadCluster, type Cluster } from "../../src/kube/config.js";
import { mergePatch } from "../../src/kube/patch.js";
import { collectionPath, objectKey, RESOURCES, type KubeList, type KubeObject } from "../../src/kube/resources.js";
import { EVENTS, subjectOf, type CoreEvent } from "../../src/operator/events.js";
import { LeadershipEnded } from "../../src/operator/leader.js";
import { silentLogger } from "../../src/operator/log.js";
import { runController, type Reconciler, type RunningController } from "../../src/operator/runtime.js";
import { eventually, LEASE_NAMESPACE, operatorSandbox, parsePromText, sampleValue } from "./support.js";

const NS = "toys";
const LEASE = "toy-controller";

interface Call {
  key: string;
  by: string;
  start: number;
  end?: number;
  abortedBy?: unknown;
}

describe("runController against the sandbox", () => {
  let sb: Sandbox;
  let admin: Cluster;
  const clusters: Cluster[] = [];
  const calls: Call[] = [];
  let a: RunningController;
  let b: RunningController;

  /** The toy reconcile: level-triggered, reads the cache, writes only when `have` differs from `want`. */
  const toyReconcile =
    (by: string, cluster: Cluster): Reconciler =>
    async (key, signal, ctx) => {
      const call: Call = { key, by, start: Date.now() };
      calls.push(call);
      try {
        const [namespace, name] = key.split("/");
        const cm = ctx.cache(RESOURCES.configMaps)?.get(name, namespace);
        if (!cm) return;
        const labels = cm.metadata.labels ?? {};
        if (labels.mode === "slow" || labels.mode === "hang") {
          // a long step that honours the signal: slow finishes in 400 ms, hang only when aborted
          await new Promise<void>((resolve, reject) => {
            const onAbort = () => {
              clearTimeout(t);
              call.abortedBy = signal.reason;
              reject(signal.reason as Error);
            };
            const t =
              labels.mode === "slow"
                ? setTimeout(() => (signal.removeEventListener("abort", onAbort), resolve()), 400)
                : undefined;
            signal.addEventListener("abort", onAbort, { once: true });
          });
        }
        if (labels.mode === "fail") throw new Error(`cannot reconcile ${key}: told to fail`);
        if (labels.want !== undefined && labels.want !== labels.have) {
          await mergePatch(
            cluster.rest,
            RESOURCES.configMaps,
            { name, namespace },
            {
              metadata: { labels: { have: labels.want } },
            },
          );
          await ctx.events.record(subjectOf(cm, RESOURCES.configMaps), "Normal", "Copied", `have=${labels.want}`);
        }
        return labels.mode === "poll" ? { requeueAfterMs: 250 } : undefined;
      } finally {
        call.end = Date.now();
      }
    };

  async function start(identity: string): Promise<RunningController> {
    const cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    clusters.push(cluster);
    return runController({
      name: "toy",
      cluster,
      identity,
      leaseNamespace: LEASE_NAMESPACE,
      leaseName: LEASE,
      leaderElection: { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 200 },
      http: { host: "127.0.0.1", port: 0 },
      watches: [{ resource: RESOURCES.configMaps, namespace: NS, keysFor: (change) => [objectKey(change.object)] }],
      reconcile: toyReconcile(identity, cluster),
      concurrency: 2,
      resyncIntervalMs: 800,
      drainTimeoutMs: 2_000,
      backoff: { baseDelayMs: 50, maxDelayMs: 200 },
      logger: silentLogger(),
    });
  }

  const configMap = (name: string, labels: Record<string, string>) =>
    admin.rest.requestJson<KubeObject>({
      method: "POST",
      path: collectionPath(RESOURCES.configMaps, NS),
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS, labels } },
    });
  const labelsOf = async (name: string) =>
    (await admin.rest.requestJson<KubeObject>({ path: `${collectionPath(RESOURCES.configMaps, NS)}/${name}` })).metadata
      .labels ?? {};
  const relabel = (name: string, labels: Record<string, string | null>) =>
    mergePatch(admin.rest, RESOURCES.configMaps, { name, namespace: NS }, { metadata: { labels } });
  const callsOf = (key: string, by?: string) => calls.filter((c) => c.key === `${NS}/${key}` && (!by || c.by === by));
  const scrape = async (c: RunningController) => parsePromText(await (await fetch(`${c.url}/metrics`)).text());

  before(async () => {
    ({ sb, cluster: admin } = await operatorSandbox());
    await admin.rest.requestJson({
      method: "POST",
      path: collectionPath(RESOURCES.namespaces),
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    });
    a = await start("replica-a");
    await eventually(() => a.isLeader, 3_000, "replica-a to lead");
    b = await start("replica-b");
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    for (const c of [...clusters, admin]) c?.close();
    await sb?.stop();
  });

  test("a change is watched, queued and reconciled by the leader only", async () => {
    await configMap("colour", { want: "blue" });
    await eventually(async () => (await labelsOf("colour")).have === "blue", 3_000, "have=blue");
    await relabel("colour", { want: "green" });
    await eventually(async () => (await labelsOf("colour")).have === "green", 3_000, "have=green");
    assert.equal(b.isLeader, false);
    assert.equal(b.leader, "replica-a");
    const events = await admin.rest.requestJson<KubeList<CoreEvent>>({
      path: collectionPath(EVENTS, NS),
      query: { fieldSelector: "involvedObject.name=colour,reason=Copied" },
    });
    assert.deepEqual(events.items.map((e) => e.message).sort(), ["have=blue", "have=green"]);
    assert.equal(calls.filter((c) => c.by === "replica-b").length, 0, "the follower never reconciles");
  });

  test("requeueAfter polls a key again without any change; a failing key is retried with backoff", async () => {
    await configMap("poller", { mode: "poll" });
    await configMap("broken", { mode: "fail" });
    await new Promise((r) => setTimeout(r, 900));
    assert.ok(callsOf("poller").length >= 3, `poller reconciled ${callsOf("poller").length} times`);
    assert.ok(callsOf("broken").length >= 3, `broken retried ${callsOf("broken").length} times`);
    await relabel("broken", { mode: null });
    await relabel("poller", { mode: null });
  });

  test("the periodic resync reconciles every known object again, with no event", async () => {
    await configMap("idle", { want: "x" });
    await eventually(() => callsOf("idle").length >= 2, 3_000, "the write-back's own event");
    const settled = callsOf("idle").length;
    await eventually(() => callsOf("idle").length > settled, 2_000, "a resync of the idle object");
  });

  test("/metrics scrapes as Prometheus text on both replicas; /healthz and /readyz answer", async () => {
    const leader = await scrape(a);
    assert.equal(leader.types.get("meshlift_reconcile_total"), "counter");
    assert.equal(leader.types.get("meshlift_reconcile_duration_seconds"), "histogram");
    assert.ok(sampleValue(leader.samples, "meshlift_reconcile_total", { controller: "toy", result: "success" })! > 0);
    assert.ok(
      sampleValue(leader.samples, "meshlift_reconcile_total", { controller: "toy", result: "requeue_after" })! >= 2,
    );
    assert.ok(sampleValue(leader.samples, "meshlift_reconcile_total", { controller: "toy", result: "error" })! >= 2);
    assert.ok(sampleValue(leader.samples, "meshlift_workqueue_retries_total", { controller: "toy" })! >= 2);
    assert.ok(sampleValue(leader.samples, "meshlift_workqueue_adds_total", { controller: "toy" })! > 0);
    assert.equal(sampleValue(leader.samples, "meshlift_leader", { lease: `${LEASE_NAMESPACE}/${LEASE}` }), 1);
    assert.ok(leader.types.has("process_cpu_seconds_total"), "process metrics");
    const follower = await scrape(b);
    assert.equal(sampleValue(follower.samples, "meshlift_leader", { lease: `${LEASE_NAMESPACE}/${LEASE}` }), 0);
    for (const c of [a, b]) {
      for (const path of ["/healthz", "/readyz"]) {
        const res = await fetch(c.url + path);
        assert.equal(res.status, 200, `${c.identity} ${path}: ${await res.text()}`);
      }
    }
    const verbose = await (await fetch(`${b.url}/readyz?verbose`)).text();
    assert.match(verbose, /\[\+\]caches ok/, "a standby is ready: it has nothing to sync");
  });

  test("stop() lets the in-flight reconcile finish, releases the Lease, and the follower takes over", async () => {
    await configMap("slow", { mode: "slow", want: "done" });
    await eventually(() => callsOf("slow", "replica-a").some((c) => !c.end), 2_000, "slow reconcile in flight");
    const stopped = a.stop();
    const readyz = await fetch(`${a.url}/readyz`);
    assert.equal(readyz.status, 503, "not ready while draining");
    assert.match(await readyz.text(), /\[-\]shutdown failed: the operator is shutting down/);
    await stopped;
    const slow = callsOf("slow", "replica-a")[0];
    assert.equal(slow.abortedBy, undefined, "drained, not aborted");
    const aCalls = calls.filter((c) => c.by === "replica-a").length;
    await eventually(() => b.isLeader, 2_000, "replica-b to lead (the Lease was released)");
    await relabel("colour", { want: "red" });
    await eventually(async () => (await labelsOf("colour")).have === "red", 3_000, "replica-b reconciles");
    const firstByB = calls.find((c) => c.by === "replica-b")!;
    assert.ok(firstByB.start >= slow.end!, "no overlap: b acted only after a's last reconcile ended");
    assert.equal(calls.filter((c) => c.by === "replica-a").length, aCalls, "a stopped reconciling");
    await assert.rejects(fetch(`${a.url}/healthz`), "a's HTTP server is closed");
  });

  test("losing the Lease aborts an in-flight reconcile at once; the replica campaigns and leads again", async () => {
    await configMap("stuck", { mode: "hang" });
    await eventually(() => callsOf("stuck", "replica-b").some((c) => !c.end), 2_000, "stuck reconcile in flight");
    sb.faults.add({ verb: "update", resource: "leases", code: 503 });
    const faultAt = Date.now();
    await eventually(() => callsOf("stuck", "replica-b")[0].end !== undefined, 2_000, "the abort");
    const stuck = callsOf("stuck", "replica-b")[0];
    assert.ok(stuck.abortedBy instanceof LeadershipEnded && stuck.abortedBy.why === "lost", String(stuck.abortedBy));
    assert.ok(stuck.end! - faultAt <= 600 + 200 + 300, `aborted ${stuck.end! - faultAt} ms after renewals failed`);
    assert.equal(b.isLeader, false);
    sb.faults.clear();
    await relabel("stuck", { mode: null, want: "free" });
    await eventually(() => b.isLeader, 3_000, "replica-b to lead again");
    await eventually(async () => (await labelsOf("stuck")).have === "free", 3_000, "reconciling resumes");
  });
});
