import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { TypeRegistry } from "./registry.js";
import { removedApiMessage, strictDecodingMessage, unknownFields, validateObject } from "./validate.js";
import { istioCRDs, istioFixtureObjects } from "./test-fixtures.js";
import type { KObject } from "./types.js";

const registry = new TypeRegistry("1.31.2");
const type = (key: string) => registry.byKey(key)!;
const fields = (errs: { field: string }[]) => errs.map((e) => e.field);

const deployment = (labels: Record<string, string> = { app: "web" }): KObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default" },
  spec: {
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels }, spec: { containers: [{ name: "app", image: "nginx" }] } },
  },
});

describe("validateObject", () => {
  test("a well-formed deployment has no errors", () => {
    assert.deepEqual(validateObject(type("apps/deployments"), deployment()), []);
  });

  test("a selector that does not match the template labels gets the real server's message", () => {
    const errs = validateObject(type("apps/deployments"), deployment({ app: "other", tier: "fe" }));
    assert.deepEqual(errs, [
      {
        field: "spec.template.metadata.labels",
        message:
          'Invalid value: map[string]string{"app":"other", "tier":"fe"}: `selector` does not match template `labels`',
        reason: "FieldValueInvalid",
      },
    ]);
  });

  test("missing selector is required; changing it on update is refused as immutable", () => {
    const noSelector = deployment();
    delete noSelector.spec.selector;
    assert.deepEqual(fields(validateObject(type("apps/deployments"), noSelector)), ["spec.selector"]);
    const changed = deployment({ app: "web2" });
    changed.spec.selector = { matchLabels: { app: "web2" } };
    const errs = validateObject(type("apps/deployments"), changed, deployment());
    assert.equal(errs.length, 1);
    assert.match(
      errs[0].message,
      /^Invalid value: v1\.LabelSelector\{MatchLabels:map\[string\]string\{"app":"web2"\}, MatchExpressions:\[\]v1\.LabelSelectorRequirement\(nil\)\}: field is immutable$/,
    );
  });

  test("names follow the resource's rule: subdomain, namespace label, service DNS-1035", () => {
    const bad = (key: string, name: string) =>
      validateObject(type(key), { metadata: { name }, spec: { ports: [{ port: 80 }] } } as KObject);
    assert.match(bad("/configmaps", "Upper_Case")[0].message, /a lowercase RFC 1123 subdomain must consist of/);
    assert.deepEqual(bad("/configmaps", "a.b-c"), []);
    assert.match(bad("/namespaces", "a.b")[0].message, /RFC 1123 label/);
    assert.match(bad("/services", "1abc")[0].message, /DNS-1035 label/);
    assert.deepEqual(fields(validateObject(type("/configmaps"), { metadata: {} })), ["metadata.name"]);
    assert.deepEqual(validateObject(type("/configmaps"), { metadata: { generateName: "x-" } }), []);
  });

  test("label keys and values are checked", () => {
    const errs = validateObject(type("/configmaps"), {
      metadata: { name: "c", labels: { "bad key": "v", "istio.io/rev": "1-2-3", ok: "has space" } },
    });
    assert.deepEqual(fields(errs), ["metadata.labels", "metadata.labels"]);
    assert.match(errs[0].message, /^Invalid value: "bad key": name part must consist of/);
    assert.match(errs[1].message, /^Invalid value: "has space": a valid label must be an empty string/);
  });

  test("pods need containers with name and image; ports must be in range", () => {
    const errs = validateObject(type("/pods"), {
      metadata: { name: "p" },
      spec: { containers: [{ name: "a" }, { image: "x", ports: [{ containerPort: 70000 }] }] },
    });
    assert.deepEqual(fields(errs), [
      "spec.containers[0].image",
      "spec.containers[1].name",
      "spec.containers[1].ports[0].containerPort",
    ]);
    assert.deepEqual(fields(validateObject(type("/pods"), { metadata: { name: "p" }, spec: {} })), ["spec.containers"]);
  });

  test("services need ports (named when several) and keep their clusterIP", () => {
    const svc = (spec: any) => ({ metadata: { name: "web" }, spec }) as KObject;
    assert.deepEqual(fields(validateObject(type("/services"), svc({}))), ["spec.ports"]);
    assert.deepEqual(fields(validateObject(type("/services"), svc({ ports: [{ port: 80 }, { port: 443 }] }))), [
      "spec.ports[0].name",
      "spec.ports[1].name",
    ]);
    const old = svc({ clusterIP: "10.96.0.1", ports: [{ port: 80 }] });
    assert.deepEqual(
      fields(validateObject(type("/services"), svc({ clusterIP: "10.96.0.2", ports: [{ port: 80 }] }), old)),
      ["spec.clusterIP"],
    );
  });

  test("configmap keys must be valid config keys, and immutable configmaps keep their data", () => {
    assert.deepEqual(
      fields(validateObject(type("/configmaps"), { metadata: { name: "c" }, data: { "a b": "1", "ok.key": "2" } })),
      ["data[a b]"],
    );
    const old: KObject = { metadata: { name: "c" }, immutable: true, data: { a: "1" } };
    assert.deepEqual(fields(validateObject(type("/configmaps"), { ...old, data: { a: "2" } }, old)), ["data"]);
  });

  test("every object in the real Istio fixtures passes (no false rejections)", () => {
    const r = new TypeRegistry("1.31.2");
    for (const crd of istioCRDs()) r.registerCRD(crd);
    let checked = 0;
    for (const { file, object } of istioFixtureObjects()) {
      const t = r.byKind(object.apiVersion ?? "", object.kind ?? "");
      if (!t) continue; // rev-1-10-0-install.yaml uses policy/v1beta1 and autoscaling/v2beta1, removed in 1.25
      checked++;
      assert.deepEqual(validateObject(t, object), [], `${file} ${object.kind}/${object.metadata.name}`);
      assert.deepEqual(
        unknownFields(t, object, r.crdFor(`${t.group}/${t.plural}`)),
        [],
        `${file} ${object.kind}/${object.metadata.name}`,
      );
    }
    assert.ok(checked >= 90, `checked ${checked}`);
  });
});

describe("unknownFields (fieldValidation=Strict)", () => {
  test("unknown fields are named by path in document order, including inside lists", () => {
    const d = deployment();
    d.spec.foo = 1;
    d.spec.template.spec.containers[0].imagePullPolcy = "Always";
    (d.metadata as Record<string, unknown>).labelz = {};
    assert.deepEqual(unknownFields(type("apps/deployments"), d), [
      "metadata.labelz",
      "spec.template.spec.containers[0].imagePullPolcy",
      "spec.foo",
    ]);
    assert.equal(strictDecodingMessage(["spec.foo"]), 'strict decoding error: unknown field "spec.foo"');
  });

  test("open levels (status, affinity) and maps (labels, data) accept any keys", () => {
    const d = deployment();
    d.status = { anything: 1 };
    d.spec.template.spec.affinity = { nodeAffinity: { whatever: true } };
    d.metadata.labels = { "any/key": "v" };
    assert.deepEqual(unknownFields(type("apps/deployments"), d), []);
    assert.deepEqual(unknownFields(type("/configmaps"), { metadata: { name: "c" }, data: { x: "1" }, extra: 1 }), [
      "extra",
    ]);
  });

  test("custom resources are checked against their CRD version's schema", () => {
    const r = new TypeRegistry("1.31.2");
    for (const crd of istioCRDs()) r.registerCRD(crd);
    const t = r.byKey("networking.istio.io/virtualservices")!;
    const vs: KObject = {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "v" },
      spec: { hostz: ["a"], hosts: ["a"] },
    };
    assert.deepEqual(unknownFields(t, vs, r.crdFor("networking.istio.io/virtualservices")), ["spec.hostz"]);
    assert.deepEqual(unknownFields(t, vs), [], "without the CRD nothing can be said");
  });
});

test("removed API versions get kubectl's message with the successor", () => {
  const msg = removedApiMessage("policy", "v1beta1", "PodDisruptionBudget", "1.31.2", {
    name: "istiod",
    namespace: "istio-system",
    file: "install.yaml",
  });
  assert.equal(
    msg!.split("\n").slice(0, 2).join("\n"),
    'resource mapping not found for name: "istiod" namespace: "istio-system" from "install.yaml": no matches for kind "PodDisruptionBudget" in version "policy/v1beta1"\nensure CRDs are installed first',
  );
  assert.match(msg!, /removed in Kubernetes 1\.25; use policy\/v1/);
  assert.equal(removedApiMessage("policy", "v1beta1", "PodDisruptionBudget", "1.24.0"), undefined);
  assert.equal(removedApiMessage("policy", "v1", "PodDisruptionBudget", "1.31.0"), undefined);
});
