// meshlift's reconcile loop in a process of its own, as `meshlift upgrade run` runs it, for the
// crash-safety test to SIGKILL at random moments and start again.
// Usage: node crash-child.mjs <kubeconfig> <MeshUpgrade name> <manifests.json>
// Prints one JSON line per reconcile ({"stage": …}) and exits 0 once the upgrade reaches a terminal stage.
import { readFileSync } from "node:fs";
import { builtinCatalog } from "../../../src/catalog/catalog.js";
import { loadCluster } from "../../../src/kube/config.js";
import type { KubeObject } from "../../../src/kube/resources.js";
import { WarmSnapshotSource } from "../../../src/kube/snapshot-source.js";
import { ClusterInstaller } from "../../../src/upgrade/engine/installer.js";
import { UpgradeReconciler } from "../../../src/upgrade/engine/reconcile.js";
import { runUpgrade } from "../../../src/upgrade/engine/run.js";

const [kubeconfig, name, manifestsFile] = process.argv.slice(2);
if (!kubeconfig || !name || !manifestsFile) {
  process.stderr.write("usage: crash-child <kubeconfig> <MeshUpgrade name> <manifests.json>\n");
  process.exit(2);
}
const manifests = JSON.parse(readFileSync(manifestsFile, "utf8")) as KubeObject[];
const cluster = loadCluster({ kubeconfig, env: {} });
const source = new WarmSnapshotSource(cluster);
const reconciler = new UpgradeReconciler({
  cluster,
  source,
  catalog: builtinCatalog(),
  installer: new ClusterInstaller(cluster.rest, { manifests }),
  actor: `cli/crash-child-${process.pid}`,
  manifestsFromFiles: true,
});
const print = (line: object) => process.stdout.write(JSON.stringify(line) + "\n");
const result = await runUpgrade(reconciler, name, {
  source,
  maxSleepMs: 1_000,
  onResult: (r) => print({ stage: r.stage, failures: r.failures.map((f) => f.message) }),
  onError: (err) => print({ error: String(err) }),
});
print({ done: result?.stage ?? null });
await source.close();
cluster.close();
process.exit(0);
