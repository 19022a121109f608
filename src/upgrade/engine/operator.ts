// `meshlift operator`: the upgrade engine inside the controller runtime (src/operator). MeshUpgrade
// changes enqueue their own name; any change in the mesh (pods, namespaces, workloads, webhooks…)
// enqueues every upgrade that is not finished, so a rollout's progress is seen as it happens.
import type { Catalog } from "../../catalog/catalog.js";
import type { Cluster } from "../../kube/config.js";
import { MESH_UPGRADES, WarmSnapshotSource } from "../../kube/snapshot-source.js";
import type { KubeObject } from "../../kube/resources.js";
import { runController, type RunningController } from "../../operator/runtime.js";
import { OperatorMetrics } from "../../operator/metrics.js";
import type { Logger } from "../../operator/log.js";
import { TERMINAL_STAGES, UPGRADE_STAGES, type MeshUpgradeStatus } from "../api/schema.js";
import { ClusterInstaller } from "./installer.js";
import { UpgradeReconciler } from "./reconcile.js";

export interface UpgradeOperatorOptions {
  cluster: Cluster;
  catalog: Catalog;
  identity?: string;
  /** namespace of the leader-election Lease (default: the kubeconfig context's namespace) */
  leaseNamespace?: string;
  http: { host: string; port: number };
  logger?: Logger;
  leaderElection?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** mesh changes are coalesced for this long before upgrades are enqueued (default 200 ms) */
  debounceMs?: number;
}

export interface UpgradeOperator {
  controller: RunningController;
  stop(): Promise<void>;
}

function stageOf(mu: KubeObject): string {
  return (mu.status as MeshUpgradeStatus | undefined)?.stage ?? "Pending";
}

export async function runUpgradeOperator(options: UpgradeOperatorOptions): Promise<UpgradeOperator> {
  const { cluster } = options;
  const source = new WarmSnapshotSource(cluster);
  const metrics = new OperatorMetrics();
  const upgradesNow = () => source.caches.get("meshUpgrades")?.list() ?? [];
  metrics.gauge({
    name: "meshlift_upgrade_stage",
    help: "1 for the stage each MeshUpgrade is in",
    labelNames: ["upgrade", "stage"],
    collect(this: { reset(): void; set(labels: Record<string, string>, v: number): void }) {
      this.reset();
      for (const mu of upgradesNow())
        for (const stage of UPGRADE_STAGES)
          this.set({ upgrade: mu.metadata.name ?? "", stage }, stage === stageOf(mu) ? 1 : 0);
    },
  });
  metrics.gauge({
    name: "meshlift_upgrade_workloads",
    help: "Workloads of each MeshUpgrade by progress state",
    labelNames: ["upgrade", "state"],
    collect(this: { reset(): void; set(labels: Record<string, string>, v: number): void }) {
      this.reset();
      for (const mu of upgradesNow()) {
        const counts: Record<string, number> = {};
        for (const w of (mu.status as MeshUpgradeStatus | undefined)?.progress?.workloads ?? [])
          counts[w.state] = (counts[w.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ upgrade: mu.metadata.name ?? "", state }, n);
      }
    },
  });
  const reconcilerRef: { current?: UpgradeReconciler } = {};
  const controller: RunningController = await runController({
    name: "meshupgrade",
    cluster,
    identity: options.identity,
    leaseNamespace: options.leaseNamespace ?? cluster.namespace,
    leaseName: "meshlift-operator",
    leaderElection: options.leaderElection,
    http: options.http,
    metrics,
    logger: options.logger,
    watches: [
      {
        resource: MESH_UPGRADES,
        keysFor: (change) => (change.object.metadata.name ? [change.object.metadata.name] : []),
      },
    ],
    reconcile: async (key, signal) => {
      const result = await reconcilerRef.current!.reconcile(key, signal);
      if (!result) return;
      return result.requeueAfterMs === null ? undefined : { requeueAfterMs: result.requeueAfterMs };
    },
  });
  reconcilerRef.current = new UpgradeReconciler({
    cluster,
    source,
    catalog: options.catalog,
    installer: new ClusterInstaller(cluster.rest),
    actor: `operator/${controller.identity}`,
    events: { record: (subject, type, reason, message) => controller.events.record(subject, type, reason, message) },
  });
  // every mesh change is a reason to look at the unfinished upgrades again (level-triggered)
  source.start();
  let timer: NodeJS.Timeout | undefined;
  const debounce = options.debounceMs ?? 200;
  const unsubscribe = [...source.caches.values()].map((cache) =>
    cache.onChange(() => {
      if (cache.resource === MESH_UPGRADES || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        const active = (source.caches.get("meshUpgrades")?.list() ?? []).filter(
          (mu) => !(TERMINAL_STAGES as readonly string[]).includes(stageOf(mu)),
        );
        for (const mu of active) controller.enqueue(mu.metadata.name!);
      }, debounce);
    }),
  );
  return {
    controller,
    async stop() {
      if (timer) clearTimeout(timer);
      for (const u of unsubscribe) u();
      await controller.stop();
      await source.close();
    },
  };
}
