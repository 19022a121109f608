// Test harness for the engine against the sandbox: a demo mesh with the MeshUpgrade CRD, a reconciler with
// warm caches, and helpers to create upgrades and drive them to a stage.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../../sandbox/index.js";
import { renderManifests } from "../../../sandbox/render-cli.js";
import { builtinCatalog } from "../../../src/catalog/catalog.js";
import { loadCluster, type Cluster } from "../../../src/kube/config.js";
import { applyServerSide } from "../../../src/kube/patch.js";
import { RESOURCES, type KubeObject } from "../../../src/kube/resources.js";
import { MESH_UPGRADES, WarmSnapshotSource } from "../../../src/kube/snapshot-source.js";
import type { MeshUpgradeSpecInput, UpgradeStage } from "../../../src/upgrade/api/schema.js";
import { ClusterInstaller } from "../../../src/upgrade/engine/installer.js";
import { UpgradeReconciler, type ReconcileResult } from "../../../src/upgrade/engine/reconcile.js";
import { runUpgrade } from "../../../src/upgrade/engine/run.js";

export const FAST_TIMING = { podStartMs: 20, podReadyMs: 30, podTerminateMs: 20, jobRunMs: 200, crashLoopMs: 100 };
export const TARGET = { version: "1.28.10", revision: "1-28-10" };
const CRD = fileURLToPath(new URL("../../../deploy/crds/meshupgrade.yaml", import.meta.url));

export interface Harness {
  sb: Sandbox;
  cluster: Cluster;
  source: WarmSnapshotSource;
  reconciler: UpgradeReconciler;
  manifests: KubeObject[];
  create(name: string, spec: MeshUpgradeSpecInput): Promise<KubeObject>;
  get(name: string): Promise<KubeObject>;
  setAction(name: string, action: string, nonce?: string): Promise<void>;
  run(name: string, until: (stage: UpgradeStage) => boolean, timeoutMs?: number): Promise<ReconcileResult>;
  close(): Promise<void>;
}

export async function startHarness(opts: Partial<SandboxOptions> = {}): Promise<Harness> {
  const sb = await startSandbox({ scenario: "demo", timing: FAST_TIMING, ...opts });
  await sb.idle();
  const cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  const crd = parse(readFileSync(CRD, "utf8")) as KubeObject;
  await applyServerSide(cluster.rest, RESOURCES.customResourceDefinitions, crd);
  const manifests = (await renderManifests({ version: TARGET.version, revision: TARGET.revision })) as KubeObject[];
  const source = new WarmSnapshotSource(cluster);
  const reconciler = new UpgradeReconciler({
    cluster,
    source,
    catalog: builtinCatalog(),
    installer: new ClusterInstaller(cluster.rest, { manifests }),
    actor: "test",
    manifestsFromFiles: true,
  });
  const path = (name: string) => `/apis/meshlift.io/v1alpha1/meshupgrades/${name}`;
  const h: Harness = {
    sb,
    cluster,
    source,
    reconciler,
    manifests,
    async create(name, spec) {
      return cluster.rest.requestJson<KubeObject>({
        method: "POST",
        path: "/apis/meshlift.io/v1alpha1/meshupgrades",
        // tests verify waves without the default 30 s health window unless they ask for one
        body: {
          apiVersion: MESH_UPGRADES.group + "/v1alpha1",
          kind: "MeshUpgrade",
          metadata: { name },
          spec: { ...spec, verification: spec.verification ?? { healthGate: { minReadySeconds: 0 } } },
        },
      });
    },
    get: (name) => cluster.rest.requestJson<KubeObject>({ path: path(name) }),
    async setAction(name, action, nonce) {
      await cluster.rest.requestJson({
        method: "PATCH",
        path: path(name),
        contentType: "application/merge-patch+json",
        query: { fieldManager: "test-user" },
        body: { spec: { action, actionNonce: nonce ?? null } },
      });
    },
    async run(name, until, timeoutMs = 60_000) {
      const signal = AbortSignal.timeout(timeoutMs);
      const result = await runUpgrade(reconciler, name, { until, source, signal, maxSleepMs: 1_000 });
      if (!result) throw new Error(`MeshUpgrade ${name} is gone`);
      return result;
    },
    async close() {
      await source.close();
      cluster.close();
      await sb.stop();
    },
  };
  return h;
}
