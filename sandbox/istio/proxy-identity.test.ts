import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { KObject } from "../api/types.js";
import { imageVersion, proxyIdentity, revisionFromAnnotations, workloadOf } from "./proxy-identity.js";

const fixture = (name: string): KObject[] =>
  parseAllDocuments(readFileSync(new URL(`../../../shared/fixtures/istio/${name}`, import.meta.url), "utf8"))
    .map((d) => d.toJSON() as KObject)
    .filter(Boolean);

/** A pod as a Deployment's ReplicaSet creates it from the (injected) template of a fixture Deployment. */
function podFromDeployment(deployment: KObject): KObject {
  const hash = "6f7b8c9d5";
  const template = deployment.spec.template;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...template.metadata,
      name: `${deployment.metadata.name}-${hash}-x1y2z`,
      namespace: "default",
      labels: { ...template.metadata?.labels, "pod-template-hash": hash },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${deployment.metadata.name}-${hash}`,
          uid: "u",
          controller: true,
        },
      ],
    },
    spec: template.spec,
  };
}

describe("reading a proxy from a pod", () => {
  test("a native sidecar (istio-proxy in initContainers) injected by the default revision", () => {
    const [deployment] = fixture("hello.yaml.injected");
    const id = proxyIdentity(podFromDeployment(deployment));
    assert.deepEqual(id, {
      proxyVersion: "latest",
      revision: "default",
      proxyType: "sidecar",
      workload: { kind: "Deployment", name: "hello" },
      workloadKey: "default/hello",
    });
  });

  test("a classic sidecar and a gateway-template proxy", () => {
    const [classic] = fixture("hello-old-version.yaml.injected");
    assert.equal(proxyIdentity(podFromDeployment(classic)).proxyType, "sidecar");
    const [gateway] = fixture("gateway.yaml.injected");
    assert.equal(proxyIdentity(podFromDeployment(gateway)).proxyType, "router");
  });

  test("bare pods with different proxy images are their own workloads with their own versions", () => {
    const pods = fixture("injection-with-mismatched-sidecar.yaml").filter((o) => o.kind === "Pod");
    assert.ok(pods.length >= 4);
    assert.ok(
      pods.every((p) => proxyIdentity(p).workload.kind === "Pod" && proxyIdentity(p).workload.name === p.metadata.name),
    );
    assert.deepEqual([...new Set(pods.map((p) => proxyIdentity(p).proxyVersion))].sort(), [
      "1.3.0",
      "1.3.0-prerelease",
      "1.3.1",
    ]);
  });

  test("a pod without istio-proxy has no proxy version or revision", () => {
    const id = proxyIdentity({
      metadata: { name: "p", namespace: "n" },
      spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
    });
    assert.equal(id.proxyVersion, undefined);
    assert.equal(id.revision, undefined);
  });

  test("image tags: variants and digests are stripped, a registry port is not a tag", () => {
    assert.equal(imageVersion("docker.io/istio/proxyv2:1.28.0-distroless"), "1.28.0");
    assert.equal(imageVersion("gcr.io/istio-release/proxyv2:1.27.3-debug@sha256:0123abcd"), "1.27.3");
    assert.equal(imageVersion("localhost:5000/istio/proxyv2"), undefined);
    assert.equal(imageVersion("auto"), undefined);
  });

  test("revision: the istio.io/rev annotation wins over the status annotation; malformed status is ignored", () => {
    assert.equal(
      revisionFromAnnotations({ "istio.io/rev": "1-28-0", "sidecar.istio.io/status": '{"revision":"1-27-0"}' }),
      "1-28-0",
    );
    assert.equal(revisionFromAnnotations({ "sidecar.istio.io/status": '{"revision":"1-27-0"}' }), "1-27-0");
    assert.equal(revisionFromAnnotations({ "sidecar.istio.io/status": "{not json" }), undefined);
  });

  test("workload: the ReplicaSet stands for its Deployment only when its name ends in the pod-template-hash", () => {
    const owned = (kind: string, name: string, labels: Record<string, string> = {}): KObject => ({
      metadata: {
        name: "p",
        labels,
        ownerReferences: [{ apiVersion: "apps/v1", kind, name, uid: "u", controller: true }],
      },
    });
    assert.deepEqual(workloadOf(owned("ReplicaSet", "web-7d9c6b", { "pod-template-hash": "7d9c6b" })), {
      kind: "Deployment",
      name: "web",
    });
    assert.deepEqual(workloadOf(owned("ReplicaSet", "standalone-rs")), { kind: "ReplicaSet", name: "standalone-rs" });
    assert.deepEqual(workloadOf(owned("StatefulSet", "db")), { kind: "StatefulSet", name: "db" });
    assert.deepEqual(workloadOf({ metadata: { name: "lonely" } }), { kind: "Pod", name: "lonely" });
  });
});
