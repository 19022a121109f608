import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { TypeRegistry, compareKubeAwareVersions, crdResourceType } from "./registry.js";
import type { KObject } from "./types.js";
import { istioCRDs } from "./test-fixtures.js";

describe("TypeRegistry built-ins", () => {
  const r = new TypeRegistry("1.31.2");

  test("pods are served like a real 1.31 server: short name, category all, subresources", () => {
    const pods = r.byResource("", "v1", "pods")!;
    assert.equal(pods.kind, "Pod");
    assert.deepEqual(pods.shortNames, ["po"]);
    assert.deepEqual(pods.categories, ["all"]);
    assert.ok(pods.namespaced);
    for (const s of ["status", "eviction", "binding", "log", "exec", "proxy"] as const)
      assert.ok(pods.subresources.includes(s), s);
    assert.deepEqual(r.byKey("/namespaces")!.verbs, ["create", "delete", "get", "list", "patch", "update", "watch"]);
  });

  test("short names and categories of the common kinds match kubectl api-resources", () => {
    const expect: [string, string[], boolean][] = [
      ["/services", ["svc"], true],
      ["apps/deployments", ["deploy"], true],
      ["apps/replicasets", ["rs"], true],
      ["apps/statefulsets", ["sts"], true],
      ["apps/daemonsets", ["ds"], true],
      ["/configmaps", ["cm"], false],
      ["/serviceaccounts", ["sa"], false],
      ["policy/poddisruptionbudgets", ["pdb"], false],
      ["autoscaling/horizontalpodautoscalers", ["hpa"], true],
      ["batch/cronjobs", ["cj"], true],
      ["apiextensions.k8s.io/customresourcedefinitions", ["crd", "crds"], false],
      ["networking.k8s.io/networkpolicies", ["netpol"], false],
    ];
    for (const [key, shortNames, all] of expect) {
      const t = r.byKey(key)!;
      assert.deepEqual(t.shortNames, shortNames, key);
      assert.equal(t.categories?.includes("all") ?? false, all, key);
    }
    assert.equal(r.byKey("batch/jobs")!.categories?.[0], "all");
  });

  test("review resources are create-only", () => {
    assert.deepEqual(r.byKey("authentication.k8s.io/tokenreviews")!.verbs, ["create"]);
    assert.deepEqual(r.byKey("authorization.k8s.io/localsubjectaccessreviews")!.verbs, ["create"]);
    assert.ok(r.byKey("authorization.k8s.io/localsubjectaccessreviews")!.namespaced);
  });

  test("HPA is served at autoscaling/v2 (preferred) and v1, and found by either apiVersion", () => {
    const g = r.groups().find((x) => x.name === "autoscaling")!;
    assert.deepEqual(g.versions, ["v2", "v1"]);
    assert.equal(g.preferredVersion, "v2");
    assert.equal(r.byKind("autoscaling/v1", "HorizontalPodAutoscaler")!.version, "v2");
    assert.equal(r.byKind("autoscaling/v2beta2", "HorizontalPodAutoscaler"), undefined);
  });

  test("deployments carry the scale subresource with replica paths", () => {
    assert.deepEqual(r.byKey("apps/deployments")!.scale, {
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
    });
  });

  test("removed API versions are absent from the releases that removed them", () => {
    const v124 = new TypeRegistry("v1.24.0");
    assert.ok(v124.isServedGroupVersion("policy", "v1beta1"));
    assert.ok(v124.byKind("batch/v1beta1", "CronJob"));
    assert.ok(!r.isServedGroupVersion("policy", "v1beta1"));
    assert.ok(!r.isServedGroupVersion("batch", "v1beta1"));
    assert.ok(!r.isServedGroupVersion("autoscaling", "v2beta1"));
    assert.ok(new TypeRegistry("1.25.3").isServedGroupVersion("autoscaling", "v2beta2"));
    assert.ok(!new TypeRegistry("1.26.0").isServedGroupVersion("autoscaling", "v2beta2"));
    assert.ok(r.isServedGroupVersion("flowcontrol.apiserver.k8s.io", "v1beta3"));
    assert.ok(!new TypeRegistry("1.32.0").isServedGroupVersion("flowcontrol.apiserver.k8s.io", "v1beta3"));
    assert.ok(!new TypeRegistry("1.27.0").byKey("authentication.k8s.io/selfsubjectreviews"));
  });

  test("an unparseable Kubernetes version is refused", () => {
    assert.throws(() => new TypeRegistry("latest"), /unsupported Kubernetes version/);
  });
});

describe("TypeRegistry CRDs (Istio crd-all.gen.yaml)", () => {
  test("every Istio CRD registers with its names, short names and categories", () => {
    const r = new TypeRegistry("1.31.2");
    const crds = istioCRDs();
    assert.equal(crds.length, 15);
    for (const crd of crds) r.registerCRD(crd);
    const vs = r.byResource("networking.istio.io", "v1beta1", "virtualservices")!;
    assert.equal(vs.kind, "VirtualService");
    assert.equal(vs.listKind, "VirtualServiceList");
    assert.equal(vs.singular, "virtualservice");
    assert.deepEqual(vs.shortNames, ["vs"]);
    assert.deepEqual(vs.categories, ["istio-io", "networking-istio-io"]);
    assert.deepEqual(vs.versions, ["v1", "v1beta1", "v1alpha3"]);
    assert.equal(vs.version, "v1");
    assert.deepEqual(vs.subresources, ["status"]);
    assert.ok(vs.custom);
    assert.deepEqual(
      vs.columns!.map((c) => [c.name, c.jsonPath]),
      [
        ["Gateways", ".spec.gateways"],
        ["Hosts", ".spec.hosts"],
        ["Age", ".metadata.creationTimestamp"],
      ],
    );
    assert.deepEqual(r.byKey("networking.istio.io/destinationrules")!.shortNames, ["dr"]);
    assert.equal(r.byKey("networking.istio.io/envoyfilters")!.shortNames, undefined);
    // telemetry stores v1alpha1 while v1 is preferred for discovery
    assert.equal(r.byKey("telemetry.istio.io/telemetries")!.version, "v1alpha1");
    const tg = r.groups().find((g) => g.name === "telemetry.istio.io")!;
    assert.equal(tg.preferredVersion, "v1");
    assert.deepEqual(
      r
        .groups()
        .filter((g) => g.name.endsWith("istio.io"))
        .map((g) => g.name),
      ["extensions.istio.io", "networking.istio.io", "security.istio.io", "telemetry.istio.io"],
    );
  });

  test("change listeners hear registrations and removals; removal drops the group when it empties", () => {
    const r = new TypeRegistry("1.31.2");
    const seen: string[] = [];
    const off = r.onChange((c) => seen.push(`${c.type}:${c.resourceType.plural}`));
    const [crd] = istioCRDs();
    r.registerCRD(crd);
    assert.ok(r.isServedGroupVersion("extensions.istio.io", "v1alpha1"));
    r.unregisterCRD(crd);
    off();
    r.registerCRD(crd);
    assert.deepEqual(seen, ["added:trafficextensions", "removed:trafficextensions"]);
    r.unregisterCRD(crd);
    assert.ok(!r.isServedGroupVersion("extensions.istio.io", "v1alpha1"));
  });

  test("a CRD claiming a built-in resource is refused", () => {
    const r = new TypeRegistry("1.31.2");
    const crd: KObject = {
      metadata: { name: "deployments.apps" },
      spec: {
        group: "apps",
        names: { plural: "deployments", kind: "Deployment" },
        scope: "Namespaced",
        versions: [{ name: "v1", served: true, storage: true }],
      },
    };
    assert.throws(() => r.registerCRD(crd), /resource is served by the API server itself/);
  });

  test("unserved CRD versions are not served; scale paths come from the CRD", () => {
    const t = crdResourceType({
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Cluster",
        names: { plural: "widgets", kind: "Widget" },
        versions: [
          { name: "v1alpha1", served: false, storage: false },
          {
            name: "v1",
            served: true,
            storage: true,
            subresources: { scale: { specReplicasPath: ".spec.size", statusReplicasPath: ".status.size" } },
          },
        ],
      },
    });
    assert.deepEqual(t.versions, ["v1"]);
    assert.equal(t.namespaced, false);
    assert.deepEqual(t.subresources, ["scale"]);
    assert.equal(t.scale!.specReplicasPath, ".spec.size");
  });
});

test("kube-aware version order: GA, then beta, then alpha, higher first", () => {
  assert.deepEqual(["v1alpha1", "v1beta1", "v2", "v1", "v1beta2", "v10"].sort(compareKubeAwareVersions), [
    "v10",
    "v2",
    "v1",
    "v1beta2",
    "v1beta1",
    "v1alpha1",
  ]);
});
