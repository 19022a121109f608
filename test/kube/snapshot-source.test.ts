// Collecting the read model's input from the sandbox: cold (one-shot LISTs) and warm (caches)
// must agree, warm must follow changes, and optional sources fail softly into notes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { loadCluster, type Cluster } from "../../src/kube/config.js";
import { mergePatch } from "../../src/kube/patch.js";
import { RESOURCES } from "../../src/kube/resources.js";
import { ColdSnapshotSource, WarmSnapshotSource, synczEntries, takeSnapshot } from "../../src/kube/snapshot-source.js";

describe("snapshot sources against the sandbox", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let warm: WarmSnapshotSource;

  before(async () => {
    sb = await startSandbox({ scenario: "demo", port: 0 });
    await sb.idle();
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    warm = new WarmSnapshotSource(cluster);
  });
  after(async () => {
    await warm.close();
    cluster.close();
    await sb.stop();
  });

  test("cold and warm collection build the same snapshot; istiod syncz gives connected proxies", async () => {
    const now = new Date("2026-03-01T00:00:00Z");
    const cold = await takeSnapshot(new ColdSnapshotSource(cluster), { now });
    const fromCaches = await takeSnapshot(warm, { now });
    assert.deepEqual(fromCaches.snapshot, cold.snapshot);
    assert.deepEqual(cold.notes, [], "EnvoyFilters are served; an absent MeshUpgrade CRD is not worth a note");
    const revision = cold.snapshot.revisions[0];
    assert.equal(revision.connectedProxies, revision.proxies);
    assert.ok(cold.snapshot.envoyFilters.length > 0);
  });

  test("the warm source follows a namespace relabel without relisting", async () => {
    const lifecycle: string[] = [];
    const off = warm.caches.get("namespaces")!.on((e) => lifecycle.push(e.type));
    await mergePatch(
      cluster.rest,
      RESOURCES.namespaces,
      { name: "tools" },
      { metadata: { labels: { "istio.io/rev": "prod-stable" } } },
    );
    const deadline = Date.now() + 5000;
    for (;;) {
      const { snapshot } = await takeSnapshot(warm, { syncz: false });
      if (snapshot.namespaces.find((n) => n.name === "tools")?.labels.rev === "prod-stable") break;
      assert.ok(Date.now() < deadline, "the relabel did not reach the warm snapshot");
      await new Promise((r) => setTimeout(r, 50));
    }
    off();
    assert.ok(
      !lifecycle.includes("relisted"),
      `the watch carried the change (lifecycle: ${lifecycle.join(", ") || "none"})`,
    );
  });

  test("an istiod that cannot be reached becomes a note, not a failure", async () => {
    sb.faults.add({ verb: "get", resource: "services", code: 503, count: 1 });
    const { snapshot, notes } = await takeSnapshot(new ColdSnapshotSource(cluster));
    assert.equal(snapshot.revisions[0].connectedProxies, 0);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0],
      /^istiod syncz of revision 1-27-9 unavailable \(.*503.*\) — connected-proxy counts are not shown for it$/,
    );
    sb.faults.clear();
  });
});

describe("syncz answers", () => {
  test("istiod up to 1.26: a SyncStatus list", () => {
    assert.deepEqual(synczEntries([{ proxy: "a-1.ns", istio_version: "1.26.1", cluster_sent: "x" }, { nope: 1 }]), [
      { proxy: "a-1.ns", istio_version: "1.26.1", cluster_sent: "x" },
    ]);
  });
  test("newer istiod: a DiscoveryResponse whose resources carry the node id and ISTIO_VERSION", () => {
    const body = {
      versionInfo: "1",
      resources: [
        { node: { id: "sidecar~10.0.0.1~a-1.ns~ns.svc.cluster.local", metadata: { ISTIO_VERSION: "1.28.0" } } },
        { node: {} },
      ],
    };
    assert.deepEqual(synczEntries(body), [
      { proxy: "sidecar~10.0.0.1~a-1.ns~ns.svc.cluster.local", istio_version: "1.28.0" },
    ]);
  });
  test("anything else is refused (and becomes a note upstream)", () => {
    assert.throws(() => synczEntries({ error: "x" }), /neither a SyncStatus list nor a DiscoveryResponse/);
  });
});
