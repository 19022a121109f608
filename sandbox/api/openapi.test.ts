import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { TypeRegistry } from "./registry.js";
import { openapiV2, openapiV3Document, openapiV3Index, OPENAPI_V2_PROTOBUF, structuralToV2 } from "./openapi.js";
import { istioCRDs } from "./test-fixtures.js";

const registry = new TypeRegistry("1.31.2");
for (const crd of istioCRDs()) registry.registerCRD(crd);

/** What kubectl's query_param_verifier_v3 checks: a PATCH for the GVK that declares fieldValidation. */
function patchSupportsFieldValidation(doc: any, gvk: { group: string; version: string; kind: string }): boolean {
  for (const item of Object.values<any>(doc.paths)) {
    const op = item.patch;
    const ext = op?.["x-kubernetes-group-version-kind"];
    if (!ext || ext.group !== gvk.group || ext.version !== gvk.version || ext.kind !== gvk.kind) continue;
    return op.parameters.some((p: any) => p.name === "fieldValidation" && p.in === "query");
  }
  return false;
}

describe("OpenAPI v3", () => {
  test("the index lists every served group version and nothing else", () => {
    const index = openapiV3Index(registry).body as any;
    const expected = registry
      .groups()
      .flatMap((g) => g.versions.map((v) => (g.name ? `apis/${g.name}/${v}` : `api/${v}`)));
    assert.deepEqual(Object.keys(index.paths).sort(), expected.sort());
    assert.match(index.paths["apis/apps/v1"].serverRelativeURL, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    assert.ok(index.paths["apis/networking.istio.io/v1alpha3"]);
    assert.ok(!index.paths["apis/policy/v1beta1"]);
  });

  test("every kind of a group version has a PATCH with fieldValidation (kubectl trusts server-side validation)", () => {
    for (const gvPath of ["api/v1", "apis/apps/v1", "apis/autoscaling/v1", "apis/networking.istio.io/v1"]) {
      const doc = openapiV3Document(registry, gvPath)!.body as any;
      const [group, version] = gvPath === "api/v1" ? ["", "v1"] : gvPath.split("/").slice(1);
      for (const t of registry.resourcesIn(group, version).filter((x) => x.verbs.includes("patch"))) {
        assert.ok(patchSupportsFieldValidation(doc, { group, version, kind: t.kind }), `${gvPath} ${t.kind}`);
      }
    }
  });

  test("Pod schema carries its GVK, and containers merge by name for strategic merge patch", () => {
    const doc = openapiV3Document(registry, "/api/v1")!.body as any;
    const pod = doc.components.schemas["io.k8s.api.core.v1.Pod"];
    assert.deepEqual(pod["x-kubernetes-group-version-kind"], [{ group: "", kind: "Pod", version: "v1" }]);
    assert.equal(pod.properties.spec.$ref, "#/components/schemas/io.k8s.api.core.v1.PodSpec");
    const containers = doc.components.schemas["io.k8s.api.core.v1.PodSpec"].properties.containers;
    assert.equal(containers["x-kubernetes-patch-merge-key"], "name");
    assert.equal(containers["x-kubernetes-patch-strategy"], "merge");
    assert.ok(doc.components.schemas["io.k8s.api.core.v1.Container"].properties.image);
  });

  test("CRD documents use the version's openAPIV3Schema and refuse strategic merge patch", () => {
    const doc = openapiV3Document(registry, "apis/networking.istio.io/v1beta1")!.body as any;
    const vs = doc.components.schemas["io.istio.networking.v1beta1.VirtualService"];
    assert.ok(vs.properties.spec.properties.hosts);
    assert.equal(vs.properties.metadata.$ref, "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    const patch = doc.paths["/apis/networking.istio.io/v1beta1/namespaces/{namespace}/virtualservices/{name}"].patch;
    assert.ok(!Object.keys(patch.requestBody.content).includes("application/strategic-merge-patch+json"));
  });

  test("unserved group versions are 404 (undefined); protobuf-only clients get 406", () => {
    assert.equal(openapiV3Document(registry, "apis/policy/v1beta1"), undefined);
    assert.equal(
      openapiV3Document(registry, "apis/apps/v1", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf")!.status,
      406,
    );
  });

  test("documents are rebuilt after a CRD is removed", () => {
    const r = new TypeRegistry("1.31.2");
    const [crd] = istioCRDs();
    r.registerCRD(crd);
    const before = (openapiV3Index(r).body as any).paths;
    assert.ok(before["apis/extensions.istio.io/v1alpha1"]);
    r.unregisterCRD(crd);
    assert.ok(!(openapiV3Index(r).body as any).paths["apis/extensions.istio.io/v1alpha1"]);
    assert.equal(openapiV3Document(r, "apis/extensions.istio.io/v1alpha1"), undefined);
  });
});

describe("OpenAPI v2", () => {
  test("JSON swagger 2.0 has definitions with GVKs and no v3-only keywords", () => {
    const doc = openapiV2(registry, "application/json").body as any;
    assert.equal(doc.swagger, "2.0");
    const dep = doc.definitions["io.k8s.api.apps.v1.Deployment"];
    assert.deepEqual(dep["x-kubernetes-group-version-kind"], [{ group: "apps", kind: "Deployment", version: "v1" }]);
    const targetPort = doc.definitions["io.k8s.api.core.v1.ServicePort"].properties.targetPort;
    assert.equal(targetPort.anyOf, undefined);
    assert.equal(targetPort.format, "int-or-string");
  });

  test("CRD definitions carry their structural schema without what v2 cannot say (ToStructuralOpenAPIV2)", () => {
    const doc = openapiV2(registry, "application/json").body as any;
    const ef = doc.definitions["io.istio.networking.v1alpha3.EnvoyFilter"];
    assert.ok(ef.properties.spec.properties.configPatches, "spec is published, so a List of them validates");
    assert.equal(ef.properties.metadata.$ref, "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    // Istio's status keeps unknown fields: no properties under it
    assert.equal(ef.properties.status.properties, undefined);
    assert.ok(!JSON.stringify(ef).includes('"oneOf"'));
    assert.deepEqual(
      structuralToV2({
        type: "object",
        properties: {
          a: { type: "string", nullable: true },
          b: { type: "object", "x-kubernetes-preserve-unknown-fields": true, properties: { c: { type: "string" } } },
          d: {
            type: "array",
            items: { oneOf: [{ required: ["x"] }], type: "object", properties: { x: { type: "string" } } },
          },
        },
      }),
      {
        type: "object",
        properties: {
          a: {},
          b: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          d: { type: "array", items: { type: "object", properties: { x: { type: "string" } } } },
        },
      },
    );
    assert.equal(structuralToV2({ type: "object", "x-kubernetes-preserve-unknown-fields": true }), undefined);
  });

  test("the protobuf form kubectl 1.27 asks for is binary gnostic with a parseable Content-Type", () => {
    const r = openapiV2(registry, OPENAPI_V2_PROTOBUF);
    assert.equal(r.status, 200);
    assert.ok(Buffer.isBuffer(r.body));
    // no '@' in the response media type: Go's mime parser rejects it
    assert.equal(r.contentType, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
    const bytes = r.body as Buffer;
    // field 1 (swagger), length-delimited: "2.0"
    assert.deepEqual([...bytes.subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30]);
    assert.ok(bytes.includes(Buffer.from("fieldValidation")));
  });
});
