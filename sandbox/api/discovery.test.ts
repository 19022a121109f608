import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { TypeRegistry } from "./registry.js";
import { AGGREGATED_DISCOVERY_V2, AGGREGATED_DISCOVERY_V2BETA1, discoveryResponse, parseAccept } from "./discovery.js";
import { istioCRDs } from "./test-fixtures.js";

// the Accept headers kubectl sends for /api and /apis (captured from kubectl 1.33 and 1.27)
const KUBECTL_133 = `${AGGREGATED_DISCOVERY_V2},${AGGREGATED_DISCOVERY_V2BETA1},application/json`;
const KUBECTL_127 = `${AGGREGATED_DISCOVERY_V2BETA1},application/json`;

const registry = new TypeRegistry("1.31.2");
const body = (path: string, accept?: string) => discoveryResponse(registry, path, accept)!.body as any;

describe("legacy discovery documents", () => {
  test("/version reports the configured release", () => {
    const v = body("/version");
    assert.equal(v.gitVersion, "v1.31.2");
    assert.equal(v.major, "1");
    assert.equal(v.minor, "31");
    assert.equal(v.gitTreeState, "clean");
    assert.equal(v.platform, "linux/amd64");
    assert.match(v.gitCommit, /^[0-9a-f]{40}$/);
  });

  test("/api lists v1 with a server address; /apis lists named groups with preferred versions", () => {
    const api = discoveryResponse(registry, "/api", "application/json", { serverAddress: "10.0.0.1:6443" })!;
    assert.equal(api.contentType, "application/json");
    assert.deepEqual((api.body as any).versions, ["v1"]);
    assert.equal((api.body as any).serverAddressByClientCIDRs[0].serverAddress, "10.0.0.1:6443");
    const apis = body("/apis", "application/json");
    assert.equal(apis.kind, "APIGroupList");
    assert.ok(!apis.groups.some((g: any) => g.name === ""));
    const autoscaling = apis.groups.find((g: any) => g.name === "autoscaling");
    assert.deepEqual(autoscaling.preferredVersion, { groupVersion: "autoscaling/v2", version: "v2" });
    assert.deepEqual(
      autoscaling.versions.map((v: any) => v.groupVersion),
      ["autoscaling/v2", "autoscaling/v1"],
    );
    assert.equal(body("/apis/apps/").kind, "APIGroup");
  });

  test("/api/v1 lists resources and subresources with the kinds they speak", () => {
    const list = body("/api/v1?timeout=32s");
    assert.equal(list.groupVersion, "v1");
    const byName = new Map(list.resources.map((r: any) => [r.name, r]));
    const pods: any = byName.get("pods");
    assert.equal(pods.singularName, "pod");
    assert.deepEqual(pods.shortNames, ["po"]);
    assert.match(pods.storageVersionHash, /^[A-Za-z0-9+/]{11}=$/);
    assert.deepEqual(byName.get("pods/eviction"), {
      name: "pods/eviction",
      singularName: "",
      namespaced: true,
      group: "policy",
      version: "v1",
      kind: "Eviction",
      verbs: ["create"],
    });
    assert.equal((byName.get("pods/status") as any).kind, "Pod");
    assert.equal((byName.get("pods/exec") as any).kind, "PodExecOptions");
    assert.equal((byName.get("services/proxy") as any).kind, "ServiceProxyOptions");
    const scale = body("/apis/apps/v1").resources.find((r: any) => r.name === "deployments/scale");
    assert.deepEqual([scale.group, scale.version, scale.kind], ["autoscaling", "v1", "Scale"]);
  });

  test("unserved group versions and non-discovery paths are not answered", () => {
    assert.equal(discoveryResponse(registry, "/apis/policy/v1beta1", "application/json"), undefined);
    assert.equal(discoveryResponse(registry, "/apis/nope.example.com", "application/json"), undefined);
    assert.equal(discoveryResponse(registry, "/api/v1/pods", "application/json"), undefined);
  });
});

describe("aggregated discovery negotiation", () => {
  test("kubectl 1.30+ gets apidiscovery v2 with an honest Content-Type", () => {
    const r = discoveryResponse(registry, "/apis", KUBECTL_133)!;
    assert.equal(r.status, 200);
    assert.equal(r.contentType, AGGREGATED_DISCOVERY_V2);
    assert.equal((r.body as any).apiVersion, "apidiscovery.k8s.io/v2");
  });

  test("kubectl 1.27-1.29 get v2beta1; a 1.33 server no longer serves it and answers legacy JSON", () => {
    assert.equal(discoveryResponse(registry, "/api", KUBECTL_127)!.contentType, AGGREGATED_DISCOVERY_V2BETA1);
    const on133 = discoveryResponse(new TypeRegistry("1.33.0"), "/api", KUBECTL_127)!;
    assert.equal(on133.contentType, "application/json");
    assert.equal((on133.body as any).kind, "APIVersions");
  });

  test("the core group document describes pods with subresources and response kinds", () => {
    const doc = body("/api", KUBECTL_133);
    assert.equal(doc.items.length, 1);
    assert.equal(doc.items[0].metadata.name, "");
    const v1 = doc.items[0].versions[0];
    assert.equal(v1.freshness, "Current");
    const pods = v1.resources.find((r: any) => r.resource === "pods");
    assert.equal(pods.scope, "Namespaced");
    assert.deepEqual(pods.responseKind, { group: "", version: "v1", kind: "Pod" });
    assert.deepEqual(pods.categories, ["all"]);
    const eviction = pods.subresources.find((s: any) => s.subresource === "eviction");
    assert.deepEqual(eviction.responseKind, { group: "policy", version: "v1", kind: "Eviction" });
  });

  test("CRD groups appear once registered, preferred version first", () => {
    const r = new TypeRegistry("1.31.2");
    for (const crd of istioCRDs()) r.registerCRD(crd);
    const doc = discoveryResponse(r, "/apis", KUBECTL_133)!.body as any;
    const net = doc.items.find((i: any) => i.metadata.name === "networking.istio.io");
    assert.deepEqual(
      net.versions.map((v: any) => v.version),
      ["v1", "v1beta1", "v1alpha3"],
    );
    const vs = net.versions[0].resources.find((x: any) => x.resource === "virtualservices");
    assert.deepEqual(vs.shortNames, ["vs"]);
    assert.deepEqual(
      vs.subresources.map((s: any) => s.subresource),
      ["status"],
    );
  });

  test("a client accepting only protobuf is told 406", () => {
    const r = discoveryResponse(registry, "/apis", "application/vnd.kubernetes.protobuf")!;
    assert.equal(r.status, 406);
    assert.equal((r.body as any).reason, "NotAcceptable");
  });

  test("Accept parsing honours q values and keeps order for ties", () => {
    const ranges = parseAccept("application/json;q=0.5, application/yaml, */*;q=0");
    assert.deepEqual(
      ranges.map((r) => r.type),
      ["application/yaml", "application/json"],
    );
  });
});
