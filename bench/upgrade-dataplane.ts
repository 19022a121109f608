// bench: upgrade-dataplane — issue "Upgrade engine": data-plane wall time of 500 workloads at maxConcurrent 20 over the ideal, API writes per workload, LISTs after warm-up
// Run: npm run bench -- upgrade-dataplane. The sandbox runs in its own process with fixed pod timings; the
// engine runs here exactly as `meshlift upgrade run` runs it (a WarmSnapshotSource, UpgradeReconciler with the
// rendered 1.28.10 manifests, runUpgrade with its defaults), from Pending until the data plane is done.
//
// 500 Deployments: 25 namespaces × 20 (10 with 2 replicas, 10 with 1 in each), opted in the three ways
// (istio-injection, istio.io/rev, the prod-stable tag); no gateways, so the workload count is exactly 500.
// One rollout is measured first on two Deployments (1 and 2 replicas) of an unmeshed namespace of the same
// sandbox, from the restart patch until every old pod is gone — what the engine waits for before a slot is
// free. Ideal = ceil(500 / 20) × the workload-weighted mean rollout: the makespan of 20 slots that are never
// idle. Data-plane time = from the first wave's startedAt to the history entry
// "stage DataPlaneUpgrade → OldControlPlaneOffline". One wave (waves.size 25): the time is the restarts',
// not the waves' verification. The health gate runs with minReadySeconds 0 (its default 30 s window is a
// wait the user chooses, not engine overhead).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { renderManifests } from "../sandbox/render-cli.js";
import { builtinCatalog } from "../src/catalog/catalog.js";
import { loadCluster, type Cluster } from "../src/kube/config.js";
import { mergePatch, applyServerSide, rolloutRestartPatch } from "../src/kube/patch.js";
import { RESOURCES, type KubeObject } from "../src/kube/resources.js";
import { WarmSnapshotSource } from "../src/kube/snapshot-source.js";
import type { MeshUpgradeStatus } from "../src/upgrade/api/schema.js";
import { ClusterInstaller } from "../src/upgrade/engine/installer.js";
import { UpgradeReconciler, type ReconcileResult } from "../src/upgrade/engine/reconcile.js";
import { runUpgrade } from "../src/upgrade/engine/run.js";
import { BenchReport, median, percentile, round1 } from "./bench-report.js";
import { logLoadProgress, startSandboxProcess } from "./sandbox-process.js";

/** BENCH_UPGRADE_NAMESPACES=2 for a quick look (40 workloads); the targets are for 25 (500 workloads) */
const NAMESPACES = Number(process.env.BENCH_UPGRADE_NAMESPACES ?? 25);
const WORKLOADS_PER_NAMESPACE = 20;
const WORKLOADS = NAMESPACES * WORKLOADS_PER_NAMESPACE;
/** 10 Deployments of 2 replicas and 10 of 1 per namespace (the generator spreads pods, larger first) */
const PODS = NAMESPACES * 30;
const MAX_CONCURRENT = 20;
const TIMING = { podStartMs: 500, podReadyMs: 500, podTerminateMs: 100, jobRunMs: 1000, crashLoopMs: 1000 };
const CALIBRATION_RUNS = 3;
const TARGETS = { ratio: 1.1, writesPerWorkload: 2, lists: 0 };
const UPGRADE_BUDGET_MS = 10 * 60_000;
const TARGET = { version: "1.28.10", revision: "1-28-10" };
const REPO = path.resolve(import.meta.dirname, "..");

/** The reconciler as the CLI builds it, timing each reconcile for the "where the time goes" figures. */
class TimedReconciler extends UpgradeReconciler {
  readonly reconciles: { startedAt: number; ms: number; stage: string; requeue: number | null }[] = [];

  override async reconcile(name: string, signal?: AbortSignal): Promise<ReconcileResult | null> {
    const startedAt = performance.now();
    const result = await super.reconcile(name, signal);
    if (result)
      this.reconciles.push({
        startedAt,
        ms: performance.now() - startedAt,
        stage: result.stage,
        requeue: result.requeueAfterMs,
      });
    return result;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LoggedRequest {
  seq: number;
  time: string;
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

function scenarioYaml(): string {
  return `name: upgrade-dataplane
description: 500 Deployments in 25 namespaces on Istio 1.27.9, fixed pod timings, for the data-plane benchmark
kubernetesVersion: "1.31.4"
nodes: 20
timing: ${JSON.stringify(TIMING)}
istio:
  namespace: istio-system
  crds: true
  revisions:
    - { version: "1.27.9", name: 1-27-9, default: true, tags: [prod-stable], replicas: 1 }
generate:
  namespaces: ${NAMESPACES}
  pods: ${PODS}
  workloadsPerNamespace: ${WORKLOADS_PER_NAMESPACE}
  namePrefix: app
  namespaceLabels:
    - { istio-injection: enabled }
    - { istio.io/rev: 1-27-9 }
    - { istio.io/rev: prod-stable }
namespaces:
  # not in the mesh: one rollout of each size is timed here before the upgrade
  - name: calibration
    workloads:
      - { name: one-replica, replicas: 1 }
      - { name: two-replicas, replicas: 2 }
traffic:
  defaultRps: 1
`;
}

async function requestsSince(cluster: Cluster, since: number): Promise<LoggedRequest[]> {
  const body = await cluster.rest.requestJson<{ items: LoggedRequest[] }>({
    path: "/sandbox/requests",
    query: { since: String(since) },
  });
  return body.items;
}

/**
 * One `kubectl rollout restart` of a Deployment, timed until its rollout is complete and every pod it
 * had before is gone (a terminating pod still runs its proxy: the engine waits for it too).
 */
async function timeOneRollout(cluster: Cluster, namespace: string, name: string): Promise<number> {
  const podsOf = async () => {
    const list = await cluster.rest.requestJson<{ items: KubeObject[] }>({
      path: `/api/v1/namespaces/${namespace}/pods`,
    });
    return list.items.filter((p) =>
      (p.metadata.ownerReferences as { name: string }[] | undefined)?.some((o) => o.name.startsWith(`${name}-`)),
    );
  };
  const before = new Set((await podsOf()).map((p) => p.metadata.name));
  const started = performance.now();
  await mergePatch(cluster.rest, RESOURCES.deployments, { namespace, name }, rolloutRestartPatch());
  for (;;) {
    const d = await cluster.rest.requestJson<KubeObject>({
      path: `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
    });
    const s = (d.status ?? {}) as Record<string, number>;
    const want = (d.spec as { replicas: number }).replicas;
    const complete =
      (s.observedGeneration ?? 0) >= Number(d.metadata.generation ?? 0) &&
      s.updatedReplicas === want &&
      s.availableReplicas === want &&
      s.replicas === want;
    if (complete && !(await podsOf()).some((p) => before.has(p.metadata.name))) break;
    if (performance.now() - started > 60_000) throw new Error(`${namespace}/${name} did not roll out in 60 s`);
    await sleep(20);
  }
  return performance.now() - started;
}

const report = new BenchReport("upgrade-dataplane", "Upgrade engine");
report.figure("workloads", WORKLOADS);
report.figure("namespaces", NAMESPACES);
report.figure("pods", PODS);
report.figure("max_concurrent", MAX_CONCURRENT);
report.figure("timing_ms", TIMING);
const work = mkdtempSync(path.join(tmpdir(), "meshlift-bench-upgrade-"));
const scenarioFile = path.join(work, "upgrade-dataplane.yaml");
writeFileSync(scenarioFile, scenarioYaml());
const sandbox = await startSandboxProcess(scenarioFile, { onProgress: logLoadProgress("upgrade-dataplane") });
const cluster = loadCluster({ kubeconfig: sandbox.started.kubeconfigPath, env: {} });
let source: WarmSnapshotSource | undefined;
try {
  const load = await sandbox.allReady(5 * 60_000);
  report.figure("sandbox_load_ms", load.elapsedMs);
  if (load.event !== "ready") report.note(`only ${load.runningAndReady} of ${load.pods} pods ready; measured anyway`);
  const crd = parse(readFileSync(path.join(REPO, "deploy/crds/meshupgrade.yaml"), "utf8")) as KubeObject;
  await applyServerSide(cluster.rest, RESOURCES.customResourceDefinitions, crd);
  const manifests = (await renderManifests(TARGET)) as KubeObject[];

  // one rollout of each size, in the same sandbox
  const rollouts: Record<string, number[]> = { "1": [], "2": [] };
  for (let i = 0; i < CALIBRATION_RUNS; i++) {
    rollouts["1"].push(await timeOneRollout(cluster, "calibration", "one-replica"));
    rollouts["2"].push(await timeOneRollout(cluster, "calibration", "two-replicas"));
  }
  const one = median(rollouts["1"]);
  const two = median(rollouts["2"]);
  report.figure("rollout_1_replica_ms", { samples: rollouts["1"].map(round1), median: round1(one) });
  report.figure("rollout_2_replicas_ms", { samples: rollouts["2"].map(round1), median: round1(two) });
  const twoReplicaShare = (PODS - WORKLOADS) / WORKLOADS; // workloads with 2 replicas / all
  const rollout = one * (1 - twoReplicaShare) + two * twoReplicaShare;
  const ideal = Math.ceil(WORKLOADS / MAX_CONCURRENT) * rollout;
  report.figure("rollout_mean_ms", round1(rollout));
  report.figure("ideal_ms", round1(ideal));

  // the upgrade, as `meshlift upgrade run` drives it
  const startSeq = (await requestsSince(cluster, 0)).at(-1)?.seq ?? 0;
  await cluster.rest.requestJson({
    method: "POST",
    path: "/apis/meshlift.io/v1alpha1/meshupgrades",
    body: {
      apiVersion: "meshlift.io/v1alpha1",
      kind: "MeshUpgrade",
      metadata: { name: "bench" },
      spec: {
        to: { version: TARGET.version },
        install: { mode: "Manifests" },
        dataPlane: { maxConcurrent: MAX_CONCURRENT, waves: { size: NAMESPACES } },
        verification: { healthGate: { minReadySeconds: 0 } },
      },
    },
  });
  source = new WarmSnapshotSource(cluster);
  const reconciler = new TimedReconciler({
    cluster,
    source,
    catalog: builtinCatalog(),
    installer: new ClusterInstaller(cluster.rest, { manifests }),
    actor: "bench",
    manifestsFromFiles: true,
  });
  const upgradeStarted = performance.now();
  const result = await runUpgrade(reconciler, "bench", {
    source,
    signal: AbortSignal.timeout(UPGRADE_BUDGET_MS),
    until: (stage) => !["Pending", "Prechecking", "ControlPlaneUpgrade", "DataPlaneUpgrade"].includes(stage),
    onError: (err) => report.note(`reconcile failed: ${(err as Error).message}`),
  }).catch((err: unknown) => {
    report.note(`the upgrade did not leave the data plane in ${UPGRADE_BUDGET_MS / 1000} s: ${String(err)}`);
    return null;
  });
  report.figure("upgrade_until_offline_ms", round1(performance.now() - upgradeStarted));

  const mu = await cluster.rest.requestJson<KubeObject>({ path: "/apis/meshlift.io/v1alpha1/meshupgrades/bench" });
  const status = mu.status as MeshUpgradeStatus;
  report.figure("stage", status.stage);
  const waveStart = status.progress?.waves?.[0]?.startedAt;
  const offlineAt = status.history?.find((e) => e.action === "stage DataPlaneUpgrade → OldControlPlaneOffline")?.time;
  const dataPlaneMs = waveStart && offlineAt ? Date.parse(offlineAt) - Date.parse(waveStart) : null;
  report.figure("data_plane_ms", dataPlaneMs);
  report.figure("workloads_planned", status.plan?.waves.reduce((n, w) => n + w.workloads.length, 0) ?? 0);
  report.figure("waves", status.plan?.waves.length ?? 0);
  report.target(
    `data-plane wall time / ideal (ceil(${WORKLOADS}/${MAX_CONCURRENT}) × one rollout)`,
    "≤",
    TARGETS.ratio,
    "×",
    dataPlaneMs === null ? null : Math.round((dataPlaneMs / ideal) * 1000) / 1000,
    `${dataPlaneMs === null ? "not reached" : `${round1(dataPlaneMs / 1000)} s`} vs ideal ${round1(ideal / 1000)} s`,
    result !== null,
  );

  // writes and LISTs, from the sandbox's request log
  const log = await requestsSince(cluster, startSeq);
  const inDataPlane = (r: LoggedRequest) => !!waveStart && !!offlineAt && r.time >= waveStart && r.time < offlineAt;
  const writes = log.filter((r) => ["create", "update", "patch", "delete"].includes(r.verb) && inDataPlane(r));
  const byKind: Record<string, number> = {};
  for (const w of writes) {
    const k = `${w.verb} ${w.resource}${w.subresource ? "/" + w.subresource : ""}`;
    byKind[k] = (byKind[k] ?? 0) + 1;
  }
  report.figure("writes_in_data_plane", { total: writes.length, ...byKind });
  report.target(
    "API writes per workload in the data-plane stage",
    "≤",
    TARGETS.writesPerWorkload,
    "writes",
    dataPlaneMs === null ? null : Math.round((writes.length / WORKLOADS) * 100) / 100,
  );
  const firstStatus = log.find((r) => r.resource === "meshupgrades" && r.subresource === "status");
  // the offline stage's fresh check lists cluster-wide (and the istio namespace's ConfigMaps): not counted
  const freshCheck = (r: LoggedRequest) =>
    !!offlineAt && r.time >= offlineAt && (!r.namespace || r.namespace === "istio-system");
  const lists = log.filter((r) => r.verb === "list" && firstStatus && r.seq > firstStatus.seq && !freshCheck(r));
  const gateReads = lists.filter(
    (r) =>
      ["pods", "deployments", "statefulsets", "daemonsets"].includes(r.resource) && r.namespace?.startsWith("app-"),
  );
  report.figure("lists_after_warm_up", {
    total: lists.length,
    wave_gate_reads: gateReads.length,
    other: lists.filter((r) => !gateReads.includes(r)).map((r) => `${r.resource} ${r.namespace ?? ""}`),
  });
  report.target(
    "LISTs after warm-up, until the offline stage",
    "≤",
    TARGETS.lists,
    "LISTs",
    lists.length,
    gateReads.length > 0
      ? `${gateReads.length} are the wave gate's fresh reads of the wave's namespaces (src/upgrade/gates/collect.ts)`
      : undefined,
  );

  // where the time goes: the loop's reconciles and the restart batches it sent
  const dp = reconciler.reconciles.filter((r) => r.stage === "DataPlaneUpgrade");
  const gaps = dp.slice(1).map((r, i) => r.startedAt - (dp[i].startedAt + dp[i].ms));
  report.figure("reconciles_in_data_plane", dp.length);
  report.figure("reconcile_ms", {
    median: round1(median(dp.map((r) => r.ms))),
    p95: round1(
      percentile(
        dp.map((r) => r.ms),
        95,
      ),
    ),
  });
  report.figure("sleep_between_reconciles_ms", {
    median: round1(median(gaps)),
    p95: round1(percentile(gaps, 95)),
    max: round1(Math.max(0, ...gaps)),
    total: round1(gaps.reduce((a, b) => a + b, 0)),
  });
  report.figure(
    "requeue_after_ms_asked",
    [...new Set(dp.map((r) => r.requeue))].sort((a, b) => (a ?? -1) - (b ?? -1)),
  );
  const batches = (status.history ?? []).filter((e) => e.action === "restart" && e.targets);
  const batchTimes = batches.map((e) => Date.parse(e.time));
  report.figure("restart_batches", {
    count: batches.length,
    workloads: batches.reduce((n, e) => n + (e.targets?.length ?? 0), 0),
    size_median: median(batches.map((e) => e.targets?.length ?? 0)),
    interval_median_ms: median(batchTimes.slice(1).map((t, i) => t - batchTimes[i])),
  });
  const statusWrites = writes.filter((w) => w.resource === "meshupgrades").length;
  report.figure("status_writes_in_data_plane", statusWrites);
} catch (err) {
  report.note(`benchmark failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await source?.close();
  cluster.close();
  await sandbox.stop();
  rmSync(work, { recursive: true, force: true });
  report.write();
}
