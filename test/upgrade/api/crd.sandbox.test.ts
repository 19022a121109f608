// The generated CRD against an API server: real kubectl applies it and the sample MeshUpgrades to the
// sandbox (demo mesh), lists them with the printer columns, and the samples validate against that mesh.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { startSandbox, type Sandbox } from "../../../sandbox/index.js";
import { kubectl, type KubectlResult } from "../../helpers/kubectl.js";
import { builtinCatalog } from "../../../src/catalog/catalog.js";
import { loadCluster, type Cluster } from "../../../src/kube/config.js";
import { ColdSnapshotSource, takeSnapshot } from "../../../src/kube/snapshot-source.js";
import type { MeshSnapshot } from "../../../src/mesh/schema.js";
import { validateUpgradeSpec } from "../../../src/upgrade/api/validate.js";

const file = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const CRD = file("deploy/crds/meshupgrade.yaml");
const MINIMAL = file("deploy/examples/meshupgrade-minimal.yaml");
const FULL = file("deploy/examples/meshupgrade-full.yaml");
const TIMING = { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20, jobRunMs: 100, crashLoopMs: 50 };

const upgrade = (name: string, dataPlane: string) => `
apiVersion: meshlift.io/v1alpha1
kind: MeshUpgrade
metadata: { name: ${name} }
spec:
  to: { version: "1.28" }
  dataPlane: ${dataPlane}
`;

describe("the MeshUpgrade CRD on an API server", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let mesh: MeshSnapshot;
  const k = (args: string[], input?: string): Promise<KubectlResult> =>
    kubectl("kubectl", sb.kubeconfigPath, args, { input, timeoutMs: 30_000 });

  before(async () => {
    sb = await startSandbox({ scenario: "demo", timing: TIMING });
    await sb.idle();
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    // the mesh as it is before any MeshUpgrade exists
    mesh = (await takeSnapshot(new ColdSnapshotSource(cluster), { syncz: false })).snapshot;
  });
  after(async () => {
    cluster?.close();
    await sb?.stop();
  });

  test("kubectl applies the generated CRD and the server serves meshupgrades (short name mu)", async () => {
    const applied = await k(["apply", "-f", CRD]);
    assert.equal(applied.code, 0, applied.stderr);
    const resources = await k(["api-resources", "--api-group=meshlift.io", "--no-headers"]);
    assert.match(resources.stdout, /^meshupgrades\s+mu\s+meshlift\.io\/v1alpha1\s+false\s+MeshUpgrade/m);
  });

  test("the minimal and full samples apply, and `kubectl get mu` shows STAGE, FROM, TO, PROGRESS, AGE", async () => {
    const applied = await k(["apply", "-f", MINIMAL, "-f", FULL]);
    assert.equal(applied.code, 0, applied.stderr);
    const status = JSON.stringify({
      status: {
        stage: "DataPlaneUpgrade",
        from: { revision: "1-27-9", version: "1.27.9" },
        progress: { summary: "wave 1/3" },
      },
    });
    const patched = await k(["patch", "mu", "to-1-29", "--subresource=status", "--type=merge", "-p", status]);
    assert.equal(patched.code, 0, patched.stderr);
    const table = await k(["get", "mu"]);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trim().split("\n");
    assert.deepEqual(header.trim().split(/\s+/), ["NAME", "STAGE", "FROM", "TO", "PROGRESS", "AGE"]);
    const row = rows.find((r) => r.startsWith("to-1-29 "));
    assert.match(row ?? "", /^to-1-29\s+DataPlaneUpgrade\s+1-27-9\s+1\.29\s+wave 1\/3\s+\d+s$/);
    assert.ok(
      rows.some((r) => /^to-1-28-10\s+1\.28\.10\s+\d+s$/.test(r)),
      rows.join("\n"),
    );
  });

  test("kubectl explain reads the field docs generated from the schema", async () => {
    const explained = await k(["explain", "mu.spec.dataPlane.maxConcurrent"]);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /Most workloads restarting at once/);
  });

  test("a misspelt field is refused by the server's strict field validation against the CRD schema", async () => {
    const refused = await k(["apply", "-f", "-"], upgrade("typo", "{ maxConcurent: 2 }"));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unknown field "spec\.dataPlane\.maxConcurent"/);
  });

  test("maxConcurrent: 0 is refused by the server's schema validation (minimum: 1)", async () => {
    const refused = await k(["apply", "-f", "-"], upgrade("zero", "{ maxConcurrent: 0 }"));
    assert.notEqual(refused.code, 0, "accepted by the API server");
    assert.match(refused.stderr, /spec\.dataPlane\.maxConcurrent: Invalid value: 0: .*greater than or equal to 1/);
  });

  test("both samples are valid upgrades of the demo mesh", () => {
    for (const path of [MINIMAL, FULL]) {
      const doc = parse(readFileSync(path, "utf8"));
      const result = validateUpgradeSpec(doc.spec, {
        snapshot: mesh,
        catalog: builtinCatalog(),
        kubernetesVersion: mesh.kubernetesVersion,
        activeUpgrades: [],
      });
      assert.ok(result.ok, `${path}: ${JSON.stringify(!result.ok && result.errors, null, 1)}`);
      assert.deepEqual(result.spec.from, { revision: "1-27-9", version: "1.27.9" });
    }
  });

  test("with both samples in the cluster, the second is refused naming the first", async () => {
    const { snapshot } = await takeSnapshot(new ColdSnapshotSource(cluster), { syncz: false });
    const doc = parse(readFileSync(MINIMAL, "utf8"));
    const result = validateUpgradeSpec(doc.spec, {
      snapshot,
      catalog: builtinCatalog(),
      kubernetesVersion: snapshot.kubernetesVersion,
      activeUpgrades: snapshot.upgrades.map((u) => ({ name: u.name, stage: u.stage })),
      self: { name: doc.metadata.name, stage: "Pending" },
    });
    assert.equal(result.ok, false);
    assert.ok(
      !result.ok &&
        result.errors.some((e) => e.field === "metadata.name" && /"to-1-28-10" is already active/.test(e.message)),
      JSON.stringify(!result.ok && result.errors),
    );
  });
});
