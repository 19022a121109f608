// Events written by the operator's recorder, read back by the machine's kubectl from the sandbox:
// a repeat aggregates into one Event with count 2, and `kubectl describe meshupgrade` (which looks
// Events up by the object's uid in all namespaces) shows them.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Sandbox } from "../../sandbox/index.js";
import type { Cluster } from "../../src/kube/config.js";
import { collectionPath, objectPath, RESOURCES, type KubeList, type KubeObject } from "../../src/kube/resources.js";
import { EventRecorder, EVENTS, subjectOf, type CoreEvent } from "../../src/operator/events.js";
import { silentLogger } from "../../src/operator/log.js";
import { MESHUPGRADE } from "../../src/upgrade/api/schema.js";
import { kubectl, type KubectlResult } from "../helpers/kubectl.js";
import { operatorSandbox } from "./support.js";

const CRD = fileURLToPath(new URL("../../deploy/crds/meshupgrade.yaml", import.meta.url));
const MESHUPGRADES = {
  group: MESHUPGRADE.group,
  version: MESHUPGRADE.version,
  plural: MESHUPGRADE.plural,
  kind: MESHUPGRADE.kind,
  namespaced: false,
};

describe("EventRecorder against the sandbox, read back with kubectl", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let upgrade: KubeObject;
  let recorder: EventRecorder;
  const k = (args: string[], input?: string): Promise<KubectlResult> =>
    kubectl("kubectl", sb.kubeconfigPath, args, { input, timeoutMs: 20_000 });

  before(async () => {
    ({ sb, cluster } = await operatorSandbox());
    const applied = await k(["apply", "-f", CRD]);
    assert.equal(applied.code, 0, applied.stderr);
    const created = await k(
      ["apply", "-f", "-"],
      "apiVersion: meshlift.io/v1alpha1\nkind: MeshUpgrade\nmetadata: { name: to-1-28 }\nspec: { to: { version: '1.28' } }\n",
    );
    assert.equal(created.code, 0, created.stderr);
    upgrade = await cluster.rest.requestJson<KubeObject>({ path: objectPath(MESHUPGRADES, "to-1-28") });
    recorder = new EventRecorder(cluster.rest, { host: "operator-0", logger: silentLogger() });
  });
  after(async () => {
    cluster?.close();
    await sb?.stop();
  });

  const eventsOf = async (namespace: string, name: string) =>
    (
      await cluster.rest.requestJson<KubeList<CoreEvent>>({
        path: collectionPath(EVENTS, namespace),
        query: { fieldSelector: `involvedObject.name=${name}` },
      })
    ).items;

  test("the same Event twice is one Event in namespace default with count 2", async () => {
    const subject = subjectOf(upgrade);
    await recorder.record(subject, "Normal", "StageChanged", "ControlPlaneUpgrade: waiting for istiod 1-28-0");
    await new Promise((r) => setTimeout(r, 1_100)); // so lastTimestamp moves (second precision)
    await recorder.record(subject, "Normal", "StageChanged", "ControlPlaneUpgrade: waiting for istiod 1-28-0");
    const events = await eventsOf("default", "to-1-28");
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event.count, 2);
    assert.ok(event.lastTimestamp > event.firstTimestamp, `${event.firstTimestamp} → ${event.lastTimestamp}`);
    assert.deepEqual(event.involvedObject, {
      apiVersion: "meshlift.io/v1alpha1",
      kind: "MeshUpgrade",
      name: "to-1-28",
      uid: upgrade.metadata.uid,
      resourceVersion: upgrade.metadata.resourceVersion,
    });
    assert.deepEqual(event.source, { component: "meshlift-operator", host: "operator-0" });
    assert.equal(event.reportingComponent, "meshlift.io/operator");

    const listed = await k([
      "get",
      "events",
      "-n",
      "default",
      "--field-selector",
      "involvedObject.name=to-1-28",
      "-o",
      "custom-columns=REASON:.reason,COUNT:.count,OBJECT:.involvedObject.kind",
      "--no-headers",
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim().split("\n").length, 1, listed.stdout);
    assert.match(listed.stdout, /^StageChanged\s+2\s+MeshUpgrade$/m);
  });

  test("kubectl describe meshupgrade shows the operator's Events with their count", async () => {
    await recorder.record(subjectOf(upgrade), "Warning", "StragglerFound", "pod bookinfo/ratings-1 still runs 1-27-3");
    const described = await k(["describe", "meshupgrade", "to-1-28"]);
    assert.equal(described.code, 0, described.stderr);
    const section = described.stdout.slice(described.stdout.indexOf("Events:"));
    assert.match(
      section,
      /Normal\s+StageChanged\s+.*\(x2 over .*\)\s+meshlift-operator\s+ControlPlaneUpgrade: waiting/,
    );
    assert.match(section, /Warning\s+StragglerFound\s+.*meshlift-operator\s+pod bookinfo\/ratings-1 still runs 1-27-3/);
  });

  test("an Event about a namespaced object is written in its namespace and shown by describe", async () => {
    const configMap = await cluster.rest.requestJson<KubeObject>({
      method: "POST",
      path: collectionPath(RESOURCES.configMaps, "kube-public"),
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "mesh-settings" }, data: { a: "1" } },
    });
    await recorder.record(subjectOf(configMap, RESOURCES.configMaps), "Normal", "Adopted", "settings read");
    const events = await eventsOf("kube-public", "mesh-settings");
    assert.equal(events.length, 1);
    assert.equal(events[0].metadata.namespace, "kube-public");
    const described = await k(["describe", "configmap", "mesh-settings", "-n", "kube-public"]);
    assert.match(described.stdout, /Normal\s+Adopted\s+.*meshlift-operator\s+settings read/);
  });

  test("a refused write (namespace gone) is swallowed: record() resolves and nothing is written", async () => {
    const ghost = { apiVersion: "v1", kind: "ConfigMap", name: "x", namespace: "no-such-namespace", uid: "u" };
    await recorder.record(ghost, "Warning", "Lost", "never stored");
    assert.equal((await eventsOf("no-such-namespace", "x").catch(() => [])).length, 0);
  });
});
