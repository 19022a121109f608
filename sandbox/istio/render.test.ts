import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import YAML from "yaml";
import type { KObject } from "../api/types.js";
import { renderGateway, renderRevision, renderTag } from "./render.js";

function fixture(name: string): KObject[] {
  const text = readFileSync(new URL(`../../../shared/fixtures/istio/${name}`, import.meta.url), "utf8");
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as KObject)
    .filter(Boolean);
}

const find = (objs: KObject[], kind: string, name?: string) =>
  objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const webhookShape = (mwc: KObject | undefined) =>
  (mwc?.webhooks ?? []).map((w: any) => ({
    name: w.name,
    namespaceSelector: w.namespaceSelector,
    objectSelector: w.objectSelector,
    service: w.clientConfig.service,
  }));

void describe("renderRevision: unrevisioned install matches pilot_default.golden.yaml", () => {
  const golden = fixture("pilot_default.golden.yaml");
  // the golden is rendered from HEAD charts (hub registry.istio.io/release, values ConfigMap): a current release
  const ours = renderRevision({ version: "1.30.3", revision: "" });

  void test("installs the same kind/name pairs as istioctl (HPA aside)", () => {
    const key = (o: KObject) => `${o.kind}/${o.metadata.name}`;
    const expected = golden
      .filter((o) => o.kind !== "HorizontalPodAutoscaler")
      .map(key)
      .sort();
    assert.deepEqual(ours.map(key).sort(), expected);
  });

  void test("the injector MWC has the four default webhooks with the golden selectors and service", () => {
    assert.deepEqual(
      webhookShape(find(ours, "MutatingWebhookConfiguration")),
      webhookShape(find(golden, "MutatingWebhookConfiguration")),
    );
  });

  void test("Deployment and Service selectors keep canaries out of the `istiod` Service (istio=pilot)", () => {
    const d = find(ours, "Deployment")!;
    const g = find(golden, "Deployment")!;
    assert.deepEqual(d.spec.selector, g.spec.selector);
    for (const k of ["app", "istio", "istio.io/rev", "istio.io/dataplane-mode", "sidecar.istio.io/inject"])
      assert.equal(d.spec.template.metadata.labels[k], g.spec.template.metadata.labels[k], k);
    assert.deepEqual(find(ours, "Service")!.spec.selector, find(golden, "Service")!.spec.selector);
    assert.deepEqual(find(ours, "Service")!.spec.ports, find(golden, "Service")!.spec.ports);
  });

  void test("mesh config points proxies at istiod.istio-system.svc:15012", () => {
    const mesh = YAML.parse(find(ours, "ConfigMap", "istio")!.data.mesh);
    assert.equal(
      mesh.defaultConfig.discoveryAddress,
      YAML.parse(find(golden, "ConfigMap", "istio")!.data.mesh).defaultConfig.discoveryAddress,
    );
  });

  void test("values JSON has the proxy image coordinates the ImageAnalyzer reads", () => {
    const values = JSON.parse(find(ours, "ConfigMap", "istio-sidecar-injector")!.data.values);
    const real = JSON.parse(find(golden, "ConfigMap", "istio-sidecar-injector")!.data.values);
    assert.deepEqual(
      [values.global.hub, values.global.proxy.image, values.revision],
      [real.global.hub, real.global.proxy.image, real.revision],
    );
    assert.equal(values.global.tag, "1.30.3");
  });
});

void describe("renderRevision: revisioned install matches rev-1-10-0-install.yaml", () => {
  const real = fixture("rev-1-10-0-install.yaml");
  const ours = renderRevision({ version: "1.10.0", revision: "1-10-0", replicas: 2 });

  void test("every object carries the labels `istioctl uninstall --revision 1-10-0` selects on", () => {
    for (const o of ours) {
      assert.equal(o.metadata.labels?.["istio.io/rev"], "1-10-0", `${o.kind}/${o.metadata.name}`);
      assert.equal(o.metadata.labels?.["operator.istio.io/component"], "Pilot", `${o.kind}/${o.metadata.name}`);
    }
  });

  void test("names of the Deployment, Service, ConfigMaps, MWC and PDB match the real install", () => {
    for (const kind of ["Deployment", "Service", "MutatingWebhookConfiguration", "PodDisruptionBudget"])
      assert.equal(find(ours, kind)!.metadata.name, find(real, kind)!.metadata.name, kind);
    for (const name of ["istio-1-10-0", "istio-sidecar-injector-1-10-0"])
      assert.ok(find(ours, "ConfigMap", name), name);
    assert.equal(find(ours, "ConfigMap", "values-1-10-0"), undefined, "values<r> only from 1.26");
  });

  void test("revisioned selectors: app=istiod + istio.io/rev, pods labelled istio=istiod", () => {
    const d = find(ours, "Deployment")!;
    assert.deepEqual(d.spec.selector, find(real, "Deployment")!.spec.selector);
    assert.equal(d.spec.template.metadata.labels.istio, "istiod");
    assert.deepEqual(find(ours, "Service")!.spec.selector, find(real, "Service")!.spec.selector);
    assert.deepEqual(
      find(ours, "PodDisruptionBudget")!.spec.selector,
      find(real, "PodDisruptionBudget")!.spec.selector,
    );
  });

  void test("the MWC has only rev.namespace and rev.object webhooks with the real selectors", () => {
    assert.deepEqual(
      webhookShape(find(ours, "MutatingWebhookConfiguration")),
      webhookShape(find(real, "MutatingWebhookConfiguration")),
    );
  });

  void test("pilot image and REVISION env follow the version and revision", () => {
    const c = find(ours, "Deployment")!.spec.template.spec.containers[0];
    assert.equal(c.name, "discovery");
    assert.equal(c.image, "docker.io/istio/pilot:1.10.0");
    assert.equal(c.env.find((e: any) => e.name === "REVISION").value, "1-10-0");
  });

  void test("mesh config points revisioned proxies at istiod-1-10-0", () => {
    const mesh = YAML.parse(find(ours, "ConfigMap", "istio-1-10-0")!.data.mesh);
    assert.equal(mesh.defaultConfig.discoveryAddress, "istiod-1-10-0.istio-system.svc:15012");
  });
});

void describe("renderRevision: version-dependent pieces", () => {
  void test("a single replica gets no PDB", () => {
    assert.equal(find(renderRevision({ version: "1.27.3", revision: "1-27-3" }), "PodDisruptionBudget"), undefined);
  });

  void test("the release hub moves to registry.istio.io/release at 1.30", () => {
    const image = (v: string) =>
      find(renderRevision({ version: v, revision: "x" }), "Deployment")!.spec.template.spec.containers[0].image;
    assert.equal(image("1.29.2"), "docker.io/istio/pilot:1.29.2");
    assert.equal(image("1.30.0"), "registry.istio.io/release/pilot:1.30.0");
  });

  void test("native sidecars default on from 1.27 and are written into pilot.env", () => {
    const env = (v: string) =>
      JSON.parse(
        find(renderRevision({ version: v, revision: "x" }), "ConfigMap", "istio-sidecar-injector-x")!.data.values,
      ).pilot.env.ENABLE_NATIVE_SIDECARS;
    assert.equal(env("1.26.8"), "false");
    assert.equal(env("1.27.0"), "true");
  });

  void test("1.18–1.20 install stats EnvoyFilters with a proxyVersion match, 1.21 does not", () => {
    const filters = renderRevision({ version: "1.19.3", revision: "1-19-3" }).filter((o) => o.kind === "EnvoyFilter");
    assert.deepEqual(filters.map((f) => f.metadata.name).sort(), [
      "stats-filter-1.19-1-19-3",
      "tcp-stats-filter-1.19-1-19-3",
    ]);
    assert.equal(filters[0].spec.configPatches[0].match.proxy.proxyVersion, "^1\\.19.*");
    assert.equal(
      renderRevision({ version: "1.21.0", revision: "a" }).filter((o) => o.kind === "EnvoyFilter").length,
      0,
    );
  });

  void test("cluster-scoped names carry the Istio namespace outside istio-system", () => {
    const objs = renderRevision({ version: "1.27.0", revision: "blue", istioNamespace: "mesh" });
    assert.ok(find(objs, "MutatingWebhookConfiguration", "istio-sidecar-injector-blue-mesh"));
    assert.ok(find(objs, "ValidatingWebhookConfiguration", "istio-validator-blue-mesh"));
    assert.ok(find(objs, "ClusterRole", "istiod-clusterrole-blue-mesh"));
  });

  void test("a revision that is not a DNS-1123 label is refused", () => {
    assert.throws(() => renderRevision({ version: "1.27.0", revision: "1.27.0" }), /DNS-1123/);
  });
});

void describe("renderTag", () => {
  void test("the default tag matches default_tag.yaml: four webhooks calling the target revision", () => {
    const real = fixture("default_tag.yaml")[0];
    const ours = renderTag("default", "test-dev2", { version: "1.27.0" });
    const mwc = find(ours, "MutatingWebhookConfiguration")!;
    assert.equal(mwc.metadata.name, real.metadata.name);
    for (const k of ["istio.io/rev", "istio.io/tag", "app"])
      assert.equal(mwc.metadata.labels?.[k], real.metadata.labels?.[k], k);
    assert.deepEqual(webhookShape(mwc), webhookShape(real));
    assert.ok(find(ours, "ValidatingWebhookConfiguration", "istiod-default-validator"));
    assert.equal(find(ours, "Service"), undefined, "no tag Service before 1.28");
  });

  void test("a named tag has only rev.* webhooks selecting the tag, and a Service from 1.28", () => {
    const ours = renderTag("prod-stable", "1-30-0", { version: "1.28.0" });
    const mwc = find(ours, "MutatingWebhookConfiguration")!;
    assert.deepEqual(
      mwc.webhooks.map((w: any) => w.name),
      ["rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io"],
    );
    assert.deepEqual(mwc.webhooks[0].namespaceSelector.matchExpressions[0], {
      key: "istio.io/rev",
      operator: "In",
      values: ["prod-stable"],
    });
    assert.equal(mwc.webhooks[0].clientConfig.service.name, "istiod-1-30-0");
    const svc = find(ours, "Service", "istiod-revision-tag-prod-stable")!;
    assert.deepEqual(svc.spec.selector, { app: "istiod", "istio.io/rev": "1-30-0" });
    assert.equal(find(ours, "ValidatingWebhookConfiguration"), undefined);
  });
});

void describe("renderGateway", () => {
  void test("istio/gateway chart shape: image auto, gateway template, opt-in label, revision pin", () => {
    const objs = renderGateway({
      name: "istio-ingressgateway",
      namespace: "istio-ingress",
      revision: "1-30-0",
      replicas: 2,
      kind: "ingress",
    });
    const d = find(objs, "Deployment")!;
    assert.deepEqual(d.spec.selector.matchLabels, { app: "istio-ingressgateway", istio: "ingressgateway" });
    const pod = d.spec.template;
    assert.equal(pod.metadata.annotations["inject.istio.io/templates"], "gateway");
    assert.equal(pod.metadata.labels["sidecar.istio.io/inject"], "true");
    assert.equal(pod.metadata.labels["istio.io/rev"], "1-30-0");
    assert.deepEqual(
      pod.spec.containers.map((c: any) => [c.name, c.image]),
      [["istio-proxy", "auto"]],
    );
    assert.equal(find(objs, "Service")!.spec.type, "LoadBalancer");
    assert.ok(find(objs, "ServiceAccount", "istio-ingressgateway"));
  });
});
