// The Manifests install mode and revision removal against the sandbox's demo mesh (Istio 1.27.9 as revision
// 1-27-9, the default, tagged prod-stable): install 1.28.10 as revision 1-28-10 from rendered manifests, see it
// serve, apply again without change, dry-run, then take it offline as `istioctl uninstall --revision` would.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSandbox, type Sandbox } from "../../../sandbox/index.js";
import { renderManifests, toMultiDocumentYaml } from "../../../sandbox/render-cli.js";
import { parseScenario } from "../../../sandbox/scenario/schema.js";
import { loadCluster, type Cluster } from "../../../src/kube/config.js";
import type { RestClient } from "../../../src/kube/rest.js";
import { RESOURCES, collectionPath, type KubeObject } from "../../../src/kube/resources.js";
import {
  ManifestError,
  ResourceDiscovery,
  RevisionTaggedError,
  applyManifests,
  checkManifestsForRevision,
  manifestsFromConfigMap,
  objectsFromConfigMap,
  parseManifests,
  removeObjects,
  removeRevision,
  revisionObjects,
  revisionReadiness,
  revisionTags,
  type AppliedObject,
  type ObjectRef,
} from "../../../src/upgrade/install/index.js";

const OLD = "1-27-9";
const NEW = "1-28-10";
const VERSION = "1.28.10";
const ISTIO_NS = "istio-system";
const TIMING = { podStartMs: 5, podReadyMs: 5, podTerminateMs: 5 };

async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const key = (r: ObjectRef) => `${r.kind} ${r.namespace ?? ""}/${r.name}`;

/** The live object a ref names, or undefined. */
async function read(rest: RestClient, ref: ObjectRef): Promise<KubeObject | undefined> {
  const resource = await new ResourceDiscovery(rest).resolve(ref.apiVersion, ref.kind);
  assert.ok(resource, `${ref.kind} is served`);
  try {
    return await rest.requestJson<KubeObject>({
      path: `${collectionPath(resource, ref.namespace)}/${ref.name}`,
    });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

const writesSince = (sb: Sandbox, seq: number) => sb.requestLog.since(seq).filter((r) => r.method !== "GET");

describe("Manifests install mode on the demo mesh", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let rest: RestClient;
  let objects: KubeObject[];
  let applied: AppliedObject[];
  let oldRevisionObjects: ObjectRef[];

  before(async () => {
    sb = await startSandbox({ scenario: "demo", timing: TIMING });
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    rest = cluster.rest;
    const text = toMultiDocumentYaml(await renderManifests({ version: VERSION, revision: NEW }));
    objects = parseManifests(text, `istio-${NEW}.yaml`);
    oldRevisionObjects = await revisionObjects(rest, OLD, { istioNamespaces: [ISTIO_NS] });
  });
  after(async () => {
    cluster.close();
    await sb.stop();
  });

  test("rendered 1.28 manifests for the new revision pass the checks and are applied, webhooks last", async () => {
    assert.deepEqual(
      checkManifestsForRevision(objects, { revision: NEW, version: VERSION, istioNamespace: ISTIO_NS }),
      [],
    );
    const seq = sb.requestLog.lastSeq;
    applied = await applyManifests(rest, objects);

    assert.equal(applied.length, objects.length);
    assert.ok(
      applied.every((a) => a.created),
      "every object is new",
    );
    const patches = writesSince(sb, seq);
    assert.ok(
      patches.every((r) => r.verb === "patch"),
      "server-side apply only",
    );
    const order = patches.map((r) => r.resource);
    assert.equal(order.at(-1), "mutatingwebhookconfigurations");
    assert.ok(order.indexOf("deployments") < order.indexOf("validatingwebhookconfigurations"));
    assert.ok(order.lastIndexOf("configmaps") < order.indexOf("deployments"));

    const istiod = await read(rest, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: ISTIO_NS,
      name: `istiod-${NEW}`,
    });
    const managers = (istiod?.metadata.managedFields as { manager: string; operation: string }[]).map(
      (m) => `${m.manager}/${m.operation}`,
    );
    assert.ok(managers.includes("meshlift/Apply"), managers.join(", "));
    assert.equal(istiod?.metadata.labels?.["app.kubernetes.io/managed-by"], "Helm", "labels exactly as rendered");
  });

  test("the new istiod becomes Ready, its injector answers: a pod in a namespace on the new revision gets the 1.28 proxy", async () => {
    const readiness = await eventually(async () => {
      const r = await revisionReadiness(rest, NEW, { istioNamespace: ISTIO_NS });
      return r.ready && r;
    }, "revision 1-28-10 ready");
    assert.deepEqual(readiness.reasons, []);

    await rest.requestJson({
      method: "POST",
      path: collectionPath(RESOURCES.namespaces),
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "canary-apps", labels: { "istio.io/rev": NEW } } },
    });
    const pod = await rest.requestJson<KubeObject>({
      method: "POST",
      path: collectionPath(RESOURCES.pods, "canary-apps"),
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "echo", namespace: "canary-apps", labels: { app: "echo" } },
        spec: { containers: [{ name: "echo", image: "docker.io/library/nginx:1.27" }] },
      },
    });
    const proxy = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find(
      (c: { name: string }) => c.name === "istio-proxy",
    );
    assert.ok(proxy, "the pod was injected");
    assert.match(proxy.image, /\/proxyv2:1\.28\.10$/);
    assert.equal(pod.metadata.annotations?.["istio.io/rev"], NEW);
  });

  test("applying again changes nothing: no object reported created, every resourceVersion the same", async () => {
    const before = await Promise.all(applied.map(async (a) => (await read(rest, a))?.metadata.resourceVersion));
    // into the next second: a careless re-apply would move managedFields times (and resourceVersions) then
    await new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));
    const again = await applyManifests(rest, objects);
    assert.deepEqual(again.filter((a) => a.created).map(key), []);
    const after = await Promise.all(applied.map(async (a) => (await read(rest, a))?.metadata.resourceVersion));
    assert.deepEqual(after, before);
  });

  test("a resumed apply still reports what the interrupted one created (createdSince, on the server's clock)", async () => {
    const istiod = await read(
      rest,
      applied.find((a) => a.kind === "Deployment")!,
    );
    const since = istiod!.metadata.creationTimestamp as string;
    const resumed = await applyManifests(rest, objects, { createdSince: since });
    assert.ok(resumed.find((a) => a.kind === "Deployment")?.created);
    const later = new Date(Date.parse(since) + 3600_000).toISOString();
    assert.ok((await applyManifests(rest, objects, { createdSince: later })).every((a) => !a.created));
  });

  test("a dry run is checked by the API server and creates nothing", async () => {
    const text = toMultiDocumentYaml(await renderManifests({ version: "1.28.9", revision: "1-28-9" }));
    const dry = parseManifests(text, "istio-1-28-9.yaml");
    const result = await applyManifests(rest, dry, { dryRun: true });
    assert.equal(result.length, dry.length);
    assert.ok(
      result.every((a) => a.created),
      "all would be created",
    );
    const found = await Promise.all(result.map((a) => read(rest, a)));
    assert.deepEqual(
      found.filter(Boolean).map((o) => o!.metadata.name),
      [],
    );
  });

  test("revisionObjects finds exactly the objects applied for the revision, webhooks first, none of the old revision's", async () => {
    const refs = await revisionObjects(rest, NEW, { istioNamespaces: [ISTIO_NS] });
    assert.deepEqual(refs.map(key).sort(), applied.map(key).sort());
    assert.deepEqual(
      refs.slice(0, 2).map((r) => r.kind),
      ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"],
    );
    assert.deepEqual(await revisionObjects(rest, NEW, { istioNamespaces: [ISTIO_NS] }), refs, "deterministic");
    assert.ok(oldRevisionObjects.length > 10);
    const old = new Set(oldRevisionObjects.map(key));
    assert.deepEqual(
      refs.filter((r) => old.has(key(r))),
      [],
    );
    assert.ok(
      !oldRevisionObjects.some((r) => r.name.startsWith("istio-revision-tag-")),
      "tag webhooks are not the revision's objects",
    );
    // only when asked: the tag objects pointing at the revision (Istio 1.27 tags have no Service yet)
    const withTags = await revisionObjects(rest, OLD, { istioNamespaces: [ISTIO_NS], includeTags: true });
    assert.deepEqual(withTags.filter((r) => !old.has(key(r))).map(key), [
      "MutatingWebhookConfiguration /istio-revision-tag-default",
      "MutatingWebhookConfiguration /istio-revision-tag-prod-stable",
      "ValidatingWebhookConfiguration /istiod-default-validator",
    ]);
    assert.deepEqual(await revisionObjects(rest, NEW), refs, "every namespace: the same, as nothing else is labelled");
  });

  test("the old revision cannot be removed while it is the default and tagged prod-stable; nothing is deleted", async () => {
    assert.deepEqual(await revisionTags(rest, OLD), { tags: ["default", "prod-stable"], isDefault: true });
    assert.deepEqual(await revisionTags(rest, NEW), { tags: [], isDefault: false });
    const seq = sb.requestLog.lastSeq;
    await assert.rejects(
      removeRevision(rest, OLD, { istioNamespaces: [ISTIO_NS] }),
      (err: unknown) =>
        err instanceof RevisionTaggedError &&
        /refusing to remove revision 1-27-9: it is the default revision \(tag default\), and revision tag prod-stable points at it/.test(
          err.message,
        ) &&
        /Move the tags to another revision first/.test(err.message),
    );
    assert.deepEqual(writesSince(sb, seq), []);
  });

  test("removing the new revision deletes exactly its objects (dry run first); the old revision keeps serving", async () => {
    const refs = await revisionObjects(rest, NEW, { istioNamespaces: [ISTIO_NS] });
    const dry = await removeObjects(rest, refs, { dryRun: true });
    assert.ok(dry.every((r) => r.outcome === "deleted"));
    assert.equal(
      (await Promise.all(refs.map((r) => read(rest, r)))).filter(Boolean).length,
      refs.length,
      "dry run kept all",
    );

    const results = await removeRevision(rest, NEW, { istioNamespaces: [ISTIO_NS] });
    assert.deepEqual(
      results.map((r) => `${key(r.ref)} ${r.outcome}`),
      refs.map((r) => `${key(r)} deleted`),
    );
    await eventually(
      async () => (await Promise.all(refs.map((r) => read(rest, r)))).every((o) => o === undefined),
      "the new revision's objects gone",
    );
    assert.deepEqual(await revisionObjects(rest, OLD, { istioNamespaces: [ISTIO_NS] }), oldRevisionObjects);
    assert.deepEqual((await revisionReadiness(rest, OLD, { istioNamespace: ISTIO_NS })).reasons, []);

    // again: everything is absent, and the revision has nothing left to remove
    assert.ok((await removeObjects(rest, refs)).every((r) => r.outcome === "absent"));
    assert.deepEqual(await removeRevision(rest, NEW, { istioNamespaces: [ISTIO_NS] }), []);
    const gone = await revisionReadiness(rest, NEW, { istioNamespace: ISTIO_NS });
    assert.equal(gone.ready, false);
    assert.deepEqual(
      gone.reasons.map((r) => r.split(":")[0]),
      [
        `Deployment ${ISTIO_NS}/istiod-${NEW} not found`,
        `Service ${ISTIO_NS}/istiod-${NEW} not found`,
        `no injector MutatingWebhookConfiguration for revision ${NEW} (expected istio-sidecar-injector-${NEW}, labelled istio.io/rev=${NEW})`,
      ],
    );
  });

  test("removeObjects reports each failure and still tries the rest", async () => {
    sb.faults.add({ verb: "delete", resource: "configmaps", code: 500, count: 1 });
    const refs: ObjectRef[] = [
      { apiVersion: "v1", kind: "ConfigMap", namespace: "tools", name: "doomed-a" },
      { apiVersion: "v1", kind: "ConfigMap", namespace: "tools", name: "doomed-b" },
      { apiVersion: "example.com/v1", kind: "Widget", name: "never-served" },
    ];
    for (const name of ["doomed-a", "doomed-b"])
      await rest.requestJson({
        method: "POST",
        path: collectionPath(RESOURCES.configMaps, "tools"),
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "tools" } },
      });
    const results = await removeObjects(rest, refs);
    assert.deepEqual(
      results.map((r) => r.outcome),
      ["failed", "deleted", "absent"],
    );
    assert.match(results[0].message ?? "", /500/);
  });
});

describe("Manifests install mode: bad input is refused and nothing is written", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let rest: RestClient;

  before(async () => {
    // a small cluster: these checks need the API, not a mesh
    const scenario = parseScenario("name: bad-input\nnodes: 1\nistio: { crds: false }\n", "bad-input");
    sb = await startSandbox({ scenario, timing: TIMING });
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    rest = cluster.rest;
  });
  after(async () => {
    cluster.close();
    await sb.stop();
  });

  test("unrevisioned manifests (istioctl without --set revision) are flagged for a canary revision", async () => {
    const unrevisioned = parseManifests(toMultiDocumentYaml(await renderManifests({ version: VERSION })), "plain.yaml");
    const problems = checkManifestsForRevision(unrevisioned, {
      revision: NEW,
      version: VERSION,
      istioNamespace: ISTIO_NS,
    });
    assert.ok(problems.some((p) => /^Deployment istio-system\/istiod is labelled istio\.io\/rev=default/.test(p)));
    assert.ok(problems.some((p) => /^no istiod Deployment for revision 1-28-10/.test(p)));
    const tagged = parseManifests(
      toMultiDocumentYaml(await renderManifests({ version: VERSION, revision: NEW, tags: ["prod-stable"] })),
      "tagged.yaml",
    );
    assert.deepEqual(
      checkManifestsForRevision(tagged, { revision: NEW, version: VERSION, istioNamespace: ISTIO_NS }).map(
        (p) => p.split(":")[0],
      ),
      [
        'MutatingWebhookConfiguration istio-revision-tag-prod-stable belongs to revision tag "prod-stable"',
        'Service istio-system/istiod-revision-tag-prod-stable belongs to revision tag "prod-stable"',
      ],
    );
  });

  test("a kind the cluster does not serve, or a namespaced object without namespace: refused before any write", async () => {
    const text = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: { name: would-be-first, namespace: istio-system }",
      "---",
      "apiVersion: example.com/v1",
      "kind: Widget",
      "metadata: { name: w }",
      "---",
      "apiVersion: v1",
      "kind: Service",
      "metadata: { name: no-namespace }",
    ].join("\n");
    const seq = sb.requestLog.lastSeq;
    await assert.rejects(applyManifests(rest, parseManifests(text, "bad.yaml")), (err: unknown) => {
      assert.ok(err instanceof ManifestError);
      assert.deepEqual(
        err.problems.map((p) => p.split(" — ")[0]),
        [
          "Service no-namespace: Service is namespaced but the object has no metadata.namespace",
          "Widget w: Widget (example.com/v1) is not served by this cluster",
        ],
      );
      return true;
    });
    assert.deepEqual(writesSince(sb, seq), []);
  });

  test("a YAML syntax error names the line; nothing reaches the cluster", () => {
    const seq = sb.requestLog.lastSeq;
    assert.throws(
      () => parseManifests("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: 1\n", "cm.yaml"),
      /^ManifestError: cm\.yaml:\d+: .* — fix the YAML syntax there/m,
    );
    assert.equal(sb.requestLog.lastSeq, seq);
  });

  test("a missing ConfigMap or key is a clear error after one read", async () => {
    const seq = sb.requestLog.lastSeq;
    await assert.rejects(
      manifestsFromConfigMap(rest, { namespace: ISTIO_NS, name: "istio-1-28-10-manifests" }),
      /^ManifestError: ConfigMap istio-system\/istio-1-28-10-manifests not found — create it from the rendered manifests \(kubectl create configmap istio-1-28-10-manifests -n istio-system --from-file=manifests\.yaml=<file>\)/,
    );
    assert.deepEqual(
      sb.requestLog.since(seq).map((r) => `${r.verb} ${r.resource} ${r.code}`),
      ["get configmaps 404"],
    );
    await rest.requestJson({
      method: "POST",
      path: collectionPath(RESOURCES.configMaps, ISTIO_NS),
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "manifests", namespace: ISTIO_NS },
        data: {
          "b-istiod.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: b, namespace: istio-system }\n",
          "a-base.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: a, namespace: istio-system }",
          "c-broken.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {}\n",
        },
      },
    });
    await assert.rejects(
      manifestsFromConfigMap(rest, { namespace: ISTIO_NS, name: "manifests", key: "istiod.yaml" }),
      /has no key "istiod\.yaml" \(it has "a-base\.yaml", "b-istiod\.yaml", "c-broken\.yaml"\)/,
    );
    const all = await manifestsFromConfigMap(rest, { namespace: ISTIO_NS, name: "manifests" });
    assert.ok(all.indexOf("name: a,") < all.indexOf("name: b,"), "key order");
    assert.throws(() => parseManifests(all, "all"), /all:11: ServiceAccount has no metadata\.name/);
    const one = await manifestsFromConfigMap(rest, { namespace: ISTIO_NS, name: "manifests", key: "b-istiod.yaml" });
    assert.deepEqual(
      parseManifests(one, "b").map((o) => o.metadata.name),
      ["b"],
    );
    await assert.rejects(
      objectsFromConfigMap(rest, { namespace: ISTIO_NS, name: "manifests" }),
      /ConfigMap istio-system\/manifests\[c-broken\.yaml\]:3: ServiceAccount has no metadata\.name/,
    );
  });
});
