// Writes through the patch helpers against the sandbox API server: the content types and field
// manager reach the server, and optimistic concurrency really refuses a stale write.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { loadCluster, type Cluster } from "../../src/kube/config.js";
import { KubeError } from "../../src/kube/errors.js";
import {
  FIELD_MANAGER,
  RESTARTED_AT_ANNOTATION,
  applyServerSide,
  guardedJsonPatch,
  jsonPatch,
  mergePatch,
  rolloutRestartPatch,
} from "../../src/kube/patch.js";
import { RESOURCES, objectPath, type KubeObject } from "../../src/kube/resources.js";

describe("patch helpers against the sandbox", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  before(async () => {
    sb = await startSandbox({ scenario: "demo", port: 0, timing: { podStartMs: 5, podReadyMs: 5, podTerminateMs: 5 } });
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  });
  after(async () => {
    cluster.close();
    await sb.stop();
  });

  test("server-side apply creates the object and records meshlift as its field manager", async () => {
    const applied = await applyServerSide(cluster.rest, RESOURCES.configMaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "meshlift-state", namespace: "tools" },
      data: { stage: "Prechecking" },
    });
    assert.equal(applied.data.stage, "Prechecking");
    const managers = (applied.metadata.managedFields as { manager: string; operation: string }[] | undefined) ?? [];
    assert.ok(
      managers.some((m) => m.manager === FIELD_MANAGER && m.operation === "Apply"),
      JSON.stringify(managers),
    );
  });

  test("merge patch: null removes a label, other keys merge", async () => {
    await mergePatch(
      cluster.rest,
      RESOURCES.namespaces,
      { name: "tools" },
      { metadata: { labels: { "istio.io/rev": null, "meshlift.io/wave": "1" } } },
    );
    const ns = await cluster.rest.requestJson<KubeObject>({ path: objectPath(RESOURCES.namespaces, "tools") });
    assert.equal(ns.metadata.labels?.["istio.io/rev"], undefined);
    assert.equal(ns.metadata.labels?.["meshlift.io/wave"], "1");
  });

  test("a restart patch sets the pod-template annotation kubectl rollout restart uses", async () => {
    const at = new Date("2026-03-01T10:00:00.123Z");
    const d = await mergePatch(
      cluster.rest,
      RESOURCES.deployments,
      { name: "curl-client", namespace: "tools" },
      rolloutRestartPatch(at),
    );
    assert.equal(d.spec.template.metadata.annotations[RESTARTED_AT_ANNOTATION], "2026-03-01T10:00:00Z");
  });

  test("a guarded JSON patch applies to the version it was computed from and is refused on a stale one", async () => {
    const path = objectPath(RESOURCES.configMaps, "meshlift-state", "tools");
    const read = await cluster.rest.requestJson<KubeObject>({ path });
    const wanted = { ...read, data: { stage: "ControlPlaneUpgrade" } };
    const ops = guardedJsonPatch(read, wanted);
    assert.deepEqual(ops[0], { op: "test", path: "/metadata/resourceVersion", value: read.metadata.resourceVersion });
    const written = await jsonPatch(
      cluster.rest,
      RESOURCES.configMaps,
      { name: "meshlift-state", namespace: "tools" },
      ops,
    );
    assert.equal(written.data.stage, "ControlPlaneUpgrade");
    // the same patch again: its resourceVersion test now fails, so nothing is written
    await assert.rejects(
      jsonPatch(cluster.rest, RESOURCES.configMaps, { name: "meshlift-state", namespace: "tools" }, ops),
      (e: KubeError) => e.code >= 400 && e.code < 500,
    );
    const after = await cluster.rest.requestJson<KubeObject>({ path });
    assert.equal(after.metadata.resourceVersion, written.metadata.resourceVersion);
  });

  test("dry run validates without persisting", async () => {
    await mergePatch(
      cluster.rest,
      RESOURCES.configMaps,
      { name: "meshlift-state", namespace: "tools" },
      { data: { stage: "DryRun" } },
      { dryRun: true },
    );
    const cm = await cluster.rest.requestJson<KubeObject>({
      path: objectPath(RESOURCES.configMaps, "meshlift-state", "tools"),
    });
    assert.equal(cm.data.stage, "ControlPlaneUpgrade");
  });
});
