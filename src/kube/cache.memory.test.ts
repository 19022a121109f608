// Memory budget: a pod cache of 20,000 injected pods must stay within 300 MB of heap. The pods are
// built from a real injected workload (Istio's hello.yaml.injected fixture) plus what the API server
// adds (status, managedFields), and served in pages by a local server that holds no list itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parseAllDocuments } from "yaml";
import { KubeConfig } from "@kubernetes/client-node";
import { ResourceCache } from "./cache.js";
import { RestClient } from "./rest.js";
import { RESOURCES, type KubeObject } from "./resources.js";
import { slimPod } from "./snapshot-source.js";

const PODS = 20_000;
const PAGE = 500;
const BUDGET_BYTES = 300 * 1024 * 1024;

// the fixture is a Deployment followed by an empty document
const deployment = parseAllDocuments(
  readFileSync(new URL("../../../shared/fixtures/istio/hello.yaml.injected", import.meta.url), "utf8"),
)[0].toJS() as KubeObject;
const template = deployment.spec.template;

function pod(i: number): KubeObject {
  const ns = `team-${i % 200}`;
  const name = `hello-7d9f${(i % 97).toString(16)}c-${i.toString(36).padStart(5, "0")}`;
  const containerStatus = (c: { name: string; image: string }) => ({
    name: c.name,
    image: c.image,
    imageID: `docker.io/library/${c.name}@sha256:${"ab".repeat(32)}`,
    containerID: `containerd://${"cd".repeat(32)}`,
    ready: true,
    restartCount: 0,
    started: true,
    state: { running: { startedAt: "2026-11-01T10:00:00Z" } },
  });
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      generateName: name.slice(0, -5),
      namespace: ns,
      uid: `0b1c${i.toString(16).padStart(4, "0")}-5f7e-4b8e-9a51-3c2d${i.toString(16).padStart(8, "0")}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: "2026-11-01T10:00:00Z",
      labels: { ...template.metadata.labels, "pod-template-hash": "7d9fc" },
      annotations: template.metadata.annotations,
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "hello-7d9fc",
          uid: "5a9a6c0e-1111-4b8e-9a51-3c2d5e6f7a8b",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: "kube-controller-manager",
          operation: "Update",
          apiVersion: "v1",
          time: "2026-11-01T10:00:00Z",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": {
              "f:labels": Object.fromEntries(Object.keys(template.metadata.labels).map((k) => [`f:${k}`, {}])),
              "f:ownerReferences": {},
            },
            "f:spec": {
              "f:containers": Object.fromEntries(
                template.spec.containers.map((c: { name: string }) => [
                  `k:{"name":"${c.name}"}`,
                  { ".": {}, "f:image": {}, "f:name": {}, "f:resources": {} },
                ]),
              ),
            },
          },
        },
        {
          manager: "kubelet",
          operation: "Update",
          apiVersion: "v1",
          subresource: "status",
          time: "2026-11-01T10:00:05Z",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:status": {
              "f:conditions": {},
              "f:containerStatuses": {},
              "f:hostIP": {},
              "f:phase": {},
              "f:podIP": {},
              "f:startTime": {},
            },
          },
        },
      ],
    },
    spec: {
      ...template.spec,
      nodeName: `node-${i % 50}`,
      serviceAccountName: "default",
      restartPolicy: "Always",
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
      terminationGracePeriodSeconds: 30,
    },
    status: {
      phase: "Running",
      hostIP: `10.0.${i % 50}.1`,
      podIP: `10.244.${(i >> 8) & 255}.${i & 255}`,
      startTime: "2026-11-01T10:00:00Z",
      qosClass: "Burstable",
      conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map(
        (type) => ({ type, status: "True", lastTransitionTime: "2026-11-01T10:00:05Z" }),
      ),
      initContainerStatuses: (template.spec.initContainers ?? []).map(containerStatus),
      containerStatuses: template.spec.containers.map(containerStatus),
    },
  };
}

test(`a pod cache of ${PODS} injected pods stays within ${BUDGET_BYTES / 1024 / 1024} MB of heap`, async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  let sampleSize = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    res.writeHead(200, { "content-type": "application/json" });
    if (url.searchParams.get("watch") === "true") return; // an idle watch: held open, no events
    const start = Number(url.searchParams.get("continue") ?? 0);
    const end = Math.min(PODS, start + Number(url.searchParams.get("limit") ?? PODS));
    const items = Array.from({ length: end - start }, (_, k) => pod(start + k));
    const body = JSON.stringify({
      kind: "PodList",
      apiVersion: "v1",
      metadata: { resourceVersion: "50000", ...(end < PODS ? { continue: String(end) } : {}) },
      items,
    });
    sampleSize ||= body.length / items.length;
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: "c", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const rest = new RestClient(kc, { requestTimeoutMs: 60_000 });

  gc();
  const before = process.memoryUsage().heapUsed;
  const cache = new ResourceCache(rest, RESOURCES.pods, { pageSize: PAGE, transform: slimPod });
  await cache.start().waitForSync(120_000);
  gc();
  const used = process.memoryUsage().heapUsed - before;
  assert.equal(cache.size, PODS);
  const kept = cache.get(pod(7).metadata.name!, pod(7).metadata.namespace);
  assert.ok(
    kept?.spec.containers.some((c: { name: string }) => c.name === "istio-proxy") ||
      kept?.spec.initContainers.some((c: { name: string }) => c.name === "istio-proxy"),
    "the proxy container survives slimming",
  );
  assert.equal(
    kept?.metadata.annotations?.["sidecar.istio.io/status"],
    template.metadata.annotations["sidecar.istio.io/status"],
  );
  assert.ok(sampleSize > 5000, `pods should be realistically large (${Math.round(sampleSize)} bytes of JSON each)`);
  const mb = (n: number) => Math.round(n / 1024 / 1024);
  console.log(
    `# ${PODS} pods (${Math.round(sampleSize)} B JSON each, ${mb(sampleSize * PODS)} MB on the wire) cached in ${mb(used)} MB of heap`,
  );
  assert.ok(used <= BUDGET_BYTES, `cache used ${mb(used)} MB, budget ${mb(BUDGET_BYTES)} MB`);
  await cache.stop();
  rest.close();
  server.closeAllConnections();
  server.close();
});
