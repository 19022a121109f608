import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { applyCreateDefaults } from "../api/defaults.js";
import { TypeRegistry } from "../api/registry.js";
import { createStore } from "../api/store.js";
import { resourceKey, type KObject } from "../api/types.js";
import { unknownFields, validateObject } from "../api/validate.js";
import { istioProxyContainer, imageVersion, revisionFromAnnotations } from "../istio/proxy-identity.js";
import { istioCRDs, loadIntoStore, scenarioObjects, scenarioPhases } from "./load.js";
import { loadScenario, parseScenario } from "./schema.js";

const demo = loadScenario("demo");
const demoObjects = scenarioObjects(demo);
const find = (kind: string, name: string, namespace?: string) =>
  demoObjects.find(
    (o) =>
      o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace),
  );

/**
 * Creates every object in order in a store with the API server's validation (no controllers, no webhooks),
 * and checks that no object carries a field the server's schema does not know (kubectl --validate=strict).
 */
function createAll(kubernetesVersion: string, objects: KObject[]) {
  const registry = new TypeRegistry(kubernetesVersion);
  const store = createStore({ types: registry });
  store.validators.push((t, obj, old) => (t.custom ? [] : validateObject(t, obj, old)));
  for (const o of objects) {
    const t = store.typeForKind(o.apiVersion!, o.kind!);
    assert.ok(t, `${o.apiVersion} ${o.kind} is not served when ${o.kind} ${o.metadata.name} is created`);
    if (!t.custom) assert.deepEqual(unknownFields(t, o), [], `unknown fields in ${o.kind} ${o.metadata.name}`);
    store.create(resourceKey(t.group, t.plural), o);
  }
  return store;
}

describe("scenario objects", () => {
  test("the vendored Istio CRDs are the 15 real ones", () => {
    const crds = istioCRDs();
    assert.equal(crds.length, 15);
    assert.ok(crds.some((c) => c.metadata.name === "envoyfilters.networking.istio.io"));
  });

  test("come in apply order: CRDs, nodes, namespaces, control plane, gateways, config, workloads, PDBs, Services", () => {
    assert.deepEqual(
      scenarioPhases(demo).map((p) => p.name),
      [
        "crds",
        "nodes",
        "namespaces",
        "control-plane",
        "gateways",
        "config",
        "workloads",
        "pdbs",
        "services",
        "objects",
      ],
    );
    const firstIndex = (kind: string) => demoObjects.findIndex((o) => o.kind === kind);
    const lastIndex = (kind: string) => demoObjects.map((o) => o.kind).lastIndexOf(kind);
    assert.ok(lastIndex("CustomResourceDefinition") < firstIndex("Namespace"));
    assert.ok(lastIndex("Namespace") < firstIndex("MutatingWebhookConfiguration"));
    assert.ok(lastIndex("EnvoyFilter") < firstIndex("StatefulSet"));
    assert.ok(
      lastIndex("PodDisruptionBudget") <
        demoObjects.findIndex((o) => o.kind === "Service" && o.metadata.namespace === "bookinfo"),
    );
  });

  test("demo installs revision 1-27-9 with the default and prod-stable tags pointing at it", () => {
    assert.equal(
      find("Deployment", "istiod-1-27-9", "istio-system")?.spec.template.spec.containers[0].image,
      "docker.io/istio/pilot:1.27.9",
    );
    assert.equal(
      find("MutatingWebhookConfiguration", "istio-revision-tag-default")?.metadata.labels?.["istio.io/rev"],
      "1-27-9",
    );
    assert.equal(
      find("MutatingWebhookConfiguration", "istio-revision-tag-prod-stable")?.metadata.labels?.["istio.io/rev"],
      "1-27-9",
    );
  });

  test("demo's blocking PDB selects exactly the ledger pods and allows no disruption", () => {
    const pdb = find("PodDisruptionBudget", "ledger", "payments")!;
    const ledger = find("Deployment", "ledger", "payments")!;
    assert.equal(pdb.spec.minAvailable, ledger.spec.replicas);
    assert.deepEqual(pdb.spec.selector.matchLabels, ledger.spec.selector.matchLabels);
  });

  test("demo's pre-injected workloads carry a 1.27.9 proxy from revision 1-27-9 in a namespace with injection disabled", () => {
    const billing = find("Deployment", "billing-api", "legacy-billing")!;
    const template = { metadata: billing.spec.template.metadata, spec: billing.spec.template.spec } as KObject;
    const status = JSON.parse(template.metadata.annotations!["sidecar.istio.io/status"]);
    assert.equal(status.revision, "1-27-9");
    assert.equal(revisionFromAnnotations(template.metadata.annotations), "1-27-9");
    assert.equal(imageVersion(istioProxyContainer(template)?.image), "1.27.9");
    assert.equal(template.metadata.labels?.["sidecar.istio.io/inject"], undefined, "kube-inject adds no opt-in label");
    assert.equal(demo.namespaces.find((n) => n.name === "legacy-billing")?.labels["istio-injection"], "disabled");
  });

  test("a pre-injected workload may name a revision that is no longer installed", () => {
    const s = parseScenario(
      "name: x\nistio:\n  revisions: [{ version: 1.27.9 }]\nnamespaces:\n  - name: old\n    workloads:\n      - { name: w, preInjected: { revision: 1-26-8, version: 1.26.8 } }\n",
      "x.yaml",
    );
    const w = scenarioObjects(s).find((o) => o.kind === "Deployment" && o.metadata.name === "w")!;
    assert.equal(imageVersion(istioProxyContainer({ metadata: {}, spec: w.spec.template.spec })?.image), "1.26.8");
    assert.equal(JSON.parse(w.spec.template.metadata.annotations["sidecar.istio.io/status"]).revision, "1-26-8");
  });

  test("bookinfo versions share one Service per app, each Deployment selecting only its version", () => {
    const reviews = demoObjects.filter(
      (o) => o.kind === "Service" && o.metadata.namespace === "bookinfo" && o.metadata.name === "reviews",
    );
    assert.equal(reviews.length, 1);
    assert.deepEqual(reviews[0].spec.selector, { app: "reviews" }, "the Service spans reviews v1, v2 and v3");
    assert.deepEqual(find("Service", "productpage", "bookinfo")?.spec.ports, [
      { name: "http", port: 9080, targetPort: 9080, protocol: "TCP" },
    ]);
    assert.deepEqual(find("Deployment", "reviews-v2", "bookinfo")?.spec.selector.matchLabels, {
      app: "reviews",
      version: "v2",
    });
  });

  test("the EnvoyFilter shorthand becomes a Lua filter pinned to the proxy version", () => {
    const ef = find("EnvoyFilter", "ledger-audit-header", "payments")!;
    assert.equal(ef.apiVersion, "networking.istio.io/v1alpha3");
    assert.equal(ef.spec.priority, undefined);
    assert.equal(ef.spec.configPatches[0].match.proxy.proxyVersion, "^1\\.27.*");
    assert.equal(ef.spec.configPatches[0].patch.operation, "INSERT_BEFORE");
    assert.deepEqual(ef.spec.workloadSelector, { labels: { app: "ledger" } });
  });

  test("every demo object is accepted by the sandbox API server in apply order", () => {
    const store = createAll(demo.kubernetesVersion, demoObjects);
    assert.equal(store.list("/namespaces").length, demo.namespaces.length + 3); // + istio-system, istio-ingress, istio-egress
    assert.equal(store.list("apps/deployments").filter((d) => d.metadata.name === "istiod-1-27-9").length, 1);
    assert.equal(store.list("networking.istio.io/envoyfilters").length, 2);
    assert.equal(store.list("/nodes").length, 3);
  });

  test("every object of a small large is accepted too", () => {
    const s = loadScenario("large:namespaces=6,pods=60", {});
    const store = createAll(s.kubernetesVersion, scenarioObjects(s));
    assert.equal(
      store
        .list("apps/deployments")
        .reduce((n, d) => n + (d.metadata.namespace?.startsWith("load-") ? d.spec.replicas : 0), 0),
      60,
    );
  });
});

/** A cluster as the sandbox runs it: store with the Istio injection webhook and every controller in-process. */
async function cluster(kubernetesVersion: string) {
  const { mutatingWebhookAdmission } = await import("../api/admission.js");
  const { istioWebhookResolver } = await import("../istio/webhook.js");
  const { startControllers } = await import("../controllers/index.js");
  const store = createStore({ types: new TypeRegistry(kubernetesVersion) });
  store.admission.push(mutatingWebhookAdmission(store, istioWebhookResolver(store)));
  const controllers = startControllers(store, {
    timing: { podStartMs: 5, podReadyMs: 5, podTerminateMs: 5, jobRunMs: 20, crashLoopMs: 50 },
    podFault: () => ({}),
    nodes: [],
    events: false,
  });
  return { store, controllers };
}

const isReady = (p: KObject) =>
  (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");

describe("loading into the sandbox with controllers running", () => {
  test("demo comes up with every pod Ready, sidecars from 1-27-9 wherever injection applies, none elsewhere", async () => {
    const { store, controllers } = await cluster(demo.kubernetesVersion);
    try {
      await loadIntoStore(store, demo, { idle: () => controllers.idle(), controlPlaneTimeoutMs: 10_000 });
      await controllers.idle();
      const all = store.list("/pods");
      // Job pods run to completion (and a CronJob may fire while the test runs): checked on their own
      const isJobPod = (p: KObject) => p.metadata.ownerReferences?.some((o) => o.kind === "Job");
      const jobPods = all.filter(isJobPod);
      assert.ok(
        jobPods.some((p) => p.metadata.namespace === "batch" && p.status?.phase === "Succeeded"),
        "the data-export Job completed",
      );
      const pods = all.filter((p) => !isJobPod(p));
      const replicasOf = (kinds: string[]) =>
        demo.namespaces
          .flatMap((n) => n.workloads)
          .filter((w) => kinds.includes(w.kind))
          .reduce((a, w) => a + (w.replicas ?? 1), 0);
      const expected =
        replicasOf(["Deployment", "StatefulSet", "Pod"]) +
        demo.nodes.length * demo.namespaces.flatMap((n) => n.workloads).filter((w) => w.kind === "DaemonSet").length +
        demo.gateways.reduce((a, g) => a + g.replicas, 0) +
        demo.istio.revisions.reduce((a, r) => a + r.replicas, 0);
      assert.equal(pods.length, expected);
      assert.deepEqual(
        pods.filter((p) => !isReady(p)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
        [],
      );

      const outsideMesh = new Set(["istio-system", "monitoring", "batch"]);
      for (const p of all) {
        const where = `${p.metadata.namespace}/${p.metadata.name}`;
        const proxy = istioProxyContainer(p);
        if (outsideMesh.has(p.metadata.namespace!)) {
          assert.equal(proxy, undefined, `${where} should have no sidecar`);
          continue;
        }
        assert.ok(proxy, `${where} should have a sidecar`);
        assert.equal(imageVersion(proxy.image), "1.27.9", where);
        assert.equal(revisionFromAnnotations(p.metadata.annotations), "1-27-9", where);
      }
      // pre-injected pods keep the kube-inject proxy although their namespace says disabled
      assert.equal(pods.filter((p) => p.metadata.namespace === "legacy-billing" && istioProxyContainer(p)).length, 3);
    } finally {
      controllers.stop();
    }
  });

  test("direct pod creation gives what the controllers give: same pods, one adopted ReplicaSet per Deployment", async () => {
    const s = loadScenario("large:namespaces=3,pods=30", {});
    const load = async (podCreation: "controllers" | "direct") => {
      const { store, controllers } = await cluster(s.kubernetesVersion);
      try {
        await loadIntoStore(store, s, { idle: () => controllers.idle(), controlPlaneTimeoutMs: 10_000, podCreation });
        await controllers.idle();
        return {
          pods: store.list("/pods").filter((p) => p.metadata.namespace!.startsWith("load-")),
          replicaSets: store.list("apps/replicasets").filter((r) => r.metadata.namespace!.startsWith("load-")),
          deployments: store.list("apps/deployments").filter((d) => d.metadata.namespace!.startsWith("load-")),
        };
      } finally {
        controllers.stop();
      }
    };
    const viaControllers = await load("controllers");
    const direct = await load("direct");
    assert.equal(direct.pods.length, 30);
    assert.ok(direct.pods.every((p) => isReady(p) && imageVersion(istioProxyContainer(p)?.image) === "1.27.9"));
    assert.equal(
      direct.replicaSets.length,
      direct.deployments.length,
      "the Deployment controller adopted the loader's ReplicaSets",
    );
    assert.ok(
      direct.deployments.every(
        (d) => d.status?.availableReplicas === d.spec.replicas && d.status?.observedGeneration === 1,
      ),
    );
    const api = (pods: KObject[]) =>
      pods.find((p) => p.metadata.namespace === "load-0002" && p.metadata.labels?.app === "api")!;
    // istiod names the Deployment as the proxy's workload (hello.yaml.injected: ISTIO_META_OWNER …/deployments/hello)
    const env = (p: KObject) => new Map<string, string>(istioProxyContainer(p)!.env.map((e: any) => [e.name, e.value]));
    assert.equal(env(api(direct.pods)).get("ISTIO_META_WORKLOAD_NAME"), "api");
    assert.equal(
      env(api(direct.pods)).get("ISTIO_META_OWNER"),
      "kubernetes://apis/apps/v1/namespaces/load-0002/deployments/api",
    );
    // otherwise the same workload's pods are identical whichever way they were made (names, uids and node aside);
    // the two workload-identity variables are compared above only, since they derive from the pod's generateName
    // (defaults applied to both: the real API server defaults again after mutating webhooks, the sandbox store
    // does not yet, so a webhook-injected pod and one created from it differ only in defaulted fields)
    const shape = (p: KObject) => {
      const defaulted = structuredClone(p);
      applyCreateDefaults("/pods", defaulted);
      const spec = { ...defaulted.spec, nodeName: undefined };
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])])
        c.env = c.env?.filter((e: any) => e.name !== "ISTIO_META_WORKLOAD_NAME" && e.name !== "ISTIO_META_OWNER");
      return {
        owner: p.metadata.ownerReferences?.map((o) => o.name),
        labels: p.metadata.labels,
        annotations: p.metadata.annotations,
        spec,
      };
    };
    assert.deepEqual(shape(api(direct.pods)), shape(api(viaControllers.pods)));
  });
});
