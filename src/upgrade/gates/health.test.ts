// The health gate over plain objects: rollout rules, readiness for minReadySeconds, restarts since the
// wave began, the proxy's revision and connection, xDS rejects — each failure naming its workload.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { evaluateHealth, type GatePod, type GateWorkload, type HealthInput } from "./health.js";

const WAVE = Date.parse("2026-03-01T12:00:00.000Z");
const iso = (offsetMs: number) => new Date(WAVE + offsetMs).toISOString();
const TARGET = "1-28-0";

function deployment(
  name: string,
  over: { replicas?: number; status?: GateWorkload["status"]; generation?: number } = {},
): GateWorkload {
  const replicas = over.replicas ?? 2;
  return {
    kind: "Deployment",
    metadata: { name, namespace: "payments", generation: over.generation ?? 2 },
    spec: { replicas, selector: { matchLabels: { app: name } } },
    status: over.status ?? {
      observedGeneration: 2,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    },
  };
}

interface PodOptions {
  app?: string;
  revision?: string | null;
  readySince?: number | null;
  created?: number;
  restarts?: number;
  backOff?: boolean;
  lastFinished?: number;
  deleting?: boolean;
}

function pod(name: string, o: PodOptions = {}): GatePod {
  const revision = o.revision === undefined ? TARGET : o.revision;
  return {
    metadata: {
      name,
      namespace: "payments",
      labels: { app: o.app ?? "ledger" },
      creationTimestamp: iso(o.created ?? 1_000),
      ...(o.deleting ? { deletionTimestamp: iso(50_000) } : {}),
      annotations: revision
        ? { "sidecar.istio.io/status": JSON.stringify({ revision }), "istio.io/rev": revision }
        : {},
    },
    spec: {
      containers: [
        { name: "app", image: "example/app:1" },
        ...(revision ? [{ name: "istio-proxy", image: `docker.io/istio/proxyv2:${revision.replace(/-/g, ".")}` }] : []),
      ],
    },
    status: {
      phase: "Running",
      conditions: [
        {
          type: "Ready",
          status: o.readySince === null ? "False" : "True",
          lastTransitionTime: iso(o.readySince ?? 2_000),
        },
      ],
      containerStatuses: [
        {
          name: "app",
          restartCount: o.restarts ?? 0,
          state: o.backOff ? { waiting: { reason: "CrashLoopBackOff", message: "back-off 1s" } } : { running: {} },
          lastState:
            o.lastFinished !== undefined ? { terminated: { finishedAt: iso(o.lastFinished), exitCode: 1 } } : {},
        },
      ],
    },
  };
}

function input(over: Partial<HealthInput> = {}): HealthInput {
  return {
    workloads: [deployment("ledger")],
    pods: [pod("ledger-a"), pod("ledger-b")],
    waveStartedAtMs: WAVE,
    targetRevision: TARGET,
    minReadySeconds: 10,
    now: WAVE + 60_000,
    ...over,
  };
}

describe("health gate", () => {
  test("rolled out, Ready long enough, no restarts, proxies on the target revision: Pass", () => {
    const r = evaluateHealth(input());
    assert.equal(r.verdict, "Pass");
    assert.equal(r.rolledOut, true);
    assert.deepEqual(r.reasons, []);
  });

  test("a rollout in progress is Waiting, saying what is missing, and old pods are not failures yet", () => {
    const r = evaluateHealth(
      input({
        workloads: [
          deployment("ledger", {
            status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 },
          }),
        ],
        pods: [pod("ledger-a"), pod("ledger-old", { revision: "1-27-9", created: -100_000 })],
      }),
    );
    assert.equal(r.verdict, "Waiting");
    assert.equal(r.rolledOut, false);
    assert.deepEqual(r.reasons, [
      "payments/Deployment/ledger: rolling out: 1 of 2 replicas updated",
      "payments/Deployment/ledger: pod ledger-old runs a proxy of revision 1-27-9, not 1-28-0",
    ]);
  });

  test("a spec the controller has not observed yet is not rolled out", () => {
    const r = evaluateHealth(input({ workloads: [deployment("ledger", { generation: 3 })] }));
    assert.equal(r.verdict, "Waiting");
    assert.match(r.reasons[0], /has not observed the latest spec/);
  });

  test("a crash loop since the wave began fails, naming the workload, the container and the restarts", () => {
    const r = evaluateHealth(
      input({
        pods: [pod("ledger-a", { restarts: 3, backOff: true }), pod("ledger-b", { restarts: 1 })],
        workloads: [
          deployment("ledger", {
            status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 0 },
          }),
        ],
      }),
    );
    assert.equal(r.verdict, "Fail");
    assert.equal(
      r.reasons[0],
      "payments/Deployment/ledger: container app restarted 3 times since the wave began (CrashLoopBackOff) (pod ledger-a and 1 other pod)",
    );
  });

  test("restarts before the wave began do not count; a termination after it does", () => {
    const old = { created: -600_000, restarts: 4, lastFinished: -300_000 };
    assert.equal(evaluateHealth(input({ pods: [pod("ledger-a", old), pod("ledger-b")] })).verdict, "Pass");
    const r = evaluateHealth(input({ pods: [pod("ledger-a", { ...old, lastFinished: 5_000 }), pod("ledger-b")] }));
    assert.equal(r.verdict, "Fail");
    assert.match(r.reasons[0], /container app restarted 4 times since the wave began \(pod ledger-a\)/);
  });

  test("pods Ready for less than minReadySeconds: Waiting, with the time to look again", () => {
    const r = evaluateHealth(
      input({ pods: [pod("ledger-a", { readySince: 55_000 }), pod("ledger-b", { readySince: 52_000 })] }),
    );
    assert.equal(r.verdict, "Waiting");
    assert.equal(r.recheckAtMs, WAVE + 65_000);
    assert.deepEqual(r.reasons, [
      "payments/Deployment/ledger: pod ledger-a Ready for 5s of minReadySeconds 10",
      "payments/Deployment/ledger: pod ledger-b Ready for 8s of minReadySeconds 10",
    ]);
  });

  test("after the rollout, a pod on another revision or without a proxy fails", () => {
    const wrong = evaluateHealth(input({ pods: [pod("ledger-a", { revision: "1-27-9" }), pod("ledger-b")] }));
    assert.equal(wrong.verdict, "Fail");
    assert.match(
      wrong.reasons[0],
      /pod ledger-a runs a proxy of revision 1-27-9, not 1-28-0 — the namespace or a pod label still selects the old revision/,
    );
    const none = evaluateHealth(input({ pods: [pod("ledger-a", { revision: null }), pod("ledger-b")] }));
    assert.equal(none.verdict, "Fail");
    assert.match(none.reasons[0], /pod ledger-a has no istio-proxy container — injection did not happen/);
  });

  test("terminating pods and other workloads' pods are not looked at", () => {
    const r = evaluateHealth(
      input({
        pods: [
          pod("ledger-a"),
          pod("ledger-b"),
          pod("ledger-gone", { deleting: true, backOff: true }),
          pod("other", { app: "other", revision: "1-27-9" }),
        ],
      }),
    );
    assert.equal(r.verdict, "Pass");
  });

  test("with syncz, a proxy not connected to the target istiod is awaited", () => {
    const connected = evaluateHealth(
      input({
        syncz: [
          { proxy: "ledger-a.payments" },
          { proxy: "sidecar~10.0.0.2~ledger-b.payments~payments.svc.cluster.local" },
        ],
      }),
    );
    assert.equal(connected.verdict, "Pass");
    const r = evaluateHealth(input({ syncz: [{ proxy: "ledger-a.payments" }] }));
    assert.equal(r.verdict, "Waiting");
    assert.deepEqual(r.reasons, [
      "payments/Deployment/ledger: pod ledger-b's proxy is not connected to istiod 1-28-0 (syncz)",
    ]);
    assert.equal(r.recheckAtMs, undefined);
  });

  test("xDS rejects of the target istiod rising since the wave began fail; a counter reset counts from zero", () => {
    assert.equal(evaluateHealth(input({ xdsRejects: { before: 4, now: 4 } })).verdict, "Pass");
    const r = evaluateHealth(input({ xdsRejects: { before: 4, now: 6 } }));
    assert.equal(r.verdict, "Fail");
    assert.match(r.reasons[0], /^istiod 1-28-0: pilot_total_xds_rejects rose by 2 since the wave began/);
    assert.equal(evaluateHealth(input({ xdsRejects: { before: 4, now: 1 } })).verdict, "Fail");
  });

  test("a Deployment past its progress deadline fails", () => {
    const w = deployment("ledger", {
      status: {
        observedGeneration: 2,
        replicas: 3,
        updatedReplicas: 1,
        availableReplicas: 2,
        conditions: [
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: 'ReplicaSet "ledger-7c" has timed out progressing.',
          },
        ],
      },
    });
    const r = evaluateHealth(input({ workloads: [w] }));
    assert.equal(r.verdict, "Fail");
    assert.match(
      r.reasons[0],
      /rollout exceeded its progress deadline \(ProgressDeadlineExceeded: ReplicaSet "ledger-7c" has timed out progressing\.\)/,
    );
  });

  test("StatefulSets and DaemonSets follow kubectl rollout status", () => {
    const sts: GateWorkload = {
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "payments", generation: 1 },
      spec: { replicas: 3, selector: { matchLabels: { app: "db" } } },
      status: {
        observedGeneration: 1,
        readyReplicas: 3,
        updatedReplicas: 1,
        currentRevision: "db-1",
        updateRevision: "db-2",
      },
    };
    assert.deepEqual(evaluateHealth(input({ workloads: [sts], pods: [] })).reasons, [
      "payments/StatefulSet/db: rolling out: 1 of 3 replicas on revision db-2",
    ]);
    const done = { ...sts, status: { ...sts.status, updatedReplicas: 3, currentRevision: "db-2" } };
    assert.deepEqual(evaluateHealth(input({ workloads: [done], pods: [] })).reasons, [
      "payments/StatefulSet/db: no pods match its selector yet",
    ]);
    const dbPods = ["db-0", "db-1", "db-2"].map((n) => pod(n, { app: "db" }));
    assert.equal(evaluateHealth(input({ workloads: [done], pods: dbPods })).verdict, "Pass");
    const ds: GateWorkload = {
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: "payments", generation: 1 },
      spec: { selector: { matchLabels: { app: "agent" } } },
      status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 },
    };
    assert.deepEqual(evaluateHealth(input({ workloads: [ds], pods: [] })).reasons, [
      "payments/DaemonSet/agent: rolling out: 2 of 3 updated pods available",
    ]);
  });

  test("workloads deleted during the wave are noted, not failed", () => {
    const r = evaluateHealth(input({ missing: [{ kind: "Deployment", namespace: "payments", name: "gone" }] }));
    assert.equal(r.verdict, "Pass");
    assert.deepEqual(r.notes, ["payments/Deployment/gone: no longer exists — skipped"]);
  });
});
