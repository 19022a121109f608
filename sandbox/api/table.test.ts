import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { TypeRegistry } from "./registry.js";
import { humanDuration, podStatus, toTable, evalSimpleJsonPath } from "./table.js";
import { istioCRDs } from "./test-fixtures.js";
import type { KObject } from "./types.js";

const registry = new TypeRegistry("1.31.2");
const now = new Date("2025-01-01T12:00:00Z");
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
const table = (key: string, items: KObject[], includeObject: "None" | "Metadata" | "Object" = "None") =>
  toTable(registry.byKey(key)!, items, { includeObject, now }) as any;
const names = (t: any) => t.columnDefinitions.map((c: any) => c.name);

const runningPod: KObject = {
  metadata: { name: "web-1", namespace: "default", creationTimestamp: ago(65) },
  spec: {
    nodeName: "node-a",
    containers: [
      { name: "app", image: "nginx" },
      { name: "istio-proxy", image: "proxyv2" },
    ],
  },
  status: {
    phase: "Running",
    podIP: "10.0.0.7",
    containerStatuses: [
      { name: "app", ready: true, restartCount: 0, state: { running: {} } },
      {
        name: "istio-proxy",
        ready: true,
        restartCount: 2,
        state: { running: {} },
        lastState: { terminated: { finishedAt: ago(30) } },
      },
    ],
  },
};

describe("built-in printers", () => {
  test("pods: kubectl's columns, wide ones at priority 1, READY/STATUS/RESTARTS computed", () => {
    const t = table("/pods", [runningPod]);
    assert.equal(t.kind, "Table");
    assert.equal(t.apiVersion, "meta.k8s.io/v1");
    assert.deepEqual(names(t), [
      "Name",
      "Ready",
      "Status",
      "Restarts",
      "Age",
      "IP",
      "Node",
      "Nominated Node",
      "Readiness Gates",
    ]);
    assert.deepEqual(
      t.columnDefinitions.map((c: any) => c.priority),
      [0, 0, 0, 0, 0, 1, 1, 1, 1],
    );
    assert.deepEqual(t.rows[0].cells, [
      "web-1",
      "2/2",
      "Running",
      "2 (30s ago)",
      "65s",
      "10.0.0.7",
      "node-a",
      "<none>",
      "<none>",
    ]);
    assert.equal(t.rows[0].object, undefined);
  });

  test("pod STATUS follows kubectl: init progress, waiting reasons, completion, termination", () => {
    const base = { metadata: { name: "p" }, spec: { initContainers: [{ name: "init" }], containers: [{ name: "c" }] } };
    assert.equal(
      podStatus({
        ...base,
        status: {
          phase: "Pending",
          initContainerStatuses: [{ name: "init", state: { waiting: { reason: "PodInitializing" } } }],
        },
      }).status,
      "Init:0/1",
    );
    assert.equal(
      podStatus({
        ...base,
        status: {
          phase: "Pending",
          initContainerStatuses: [{ name: "init", state: { terminated: { exitCode: 1, reason: "Error" } } }],
        },
      }).status,
      "Init:Error",
    );
    const afterInit = [{ name: "init", state: { terminated: { exitCode: 0, reason: "Completed" } } }];
    assert.equal(
      podStatus({
        ...base,
        status: {
          phase: "Pending",
          initContainerStatuses: afterInit,
          containerStatuses: [{ name: "c", state: { waiting: { reason: "ContainerCreating" } } }],
        },
      }).status,
      "ContainerCreating",
    );
    assert.equal(
      podStatus({
        ...base,
        status: {
          phase: "Running",
          initContainerStatuses: afterInit,
          containerStatuses: [{ name: "c", restartCount: 4, state: { waiting: { reason: "CrashLoopBackOff" } } }],
        },
      }).status,
      "CrashLoopBackOff",
    );
    assert.equal(
      podStatus({
        ...base,
        status: {
          phase: "Succeeded",
          initContainerStatuses: afterInit,
          containerStatuses: [{ name: "c", state: { terminated: { exitCode: 0, reason: "Completed" } } }],
        },
      }).status,
      "Completed",
    );
    assert.equal(
      podStatus({
        metadata: { name: "p", deletionTimestamp: ago(1) },
        spec: { containers: [{ name: "c" }] },
        status: { phase: "Running" },
      }).status,
      "Terminating",
    );
    assert.equal(
      podStatus({ metadata: { name: "p" }, spec: { containers: [{ name: "c" }] }, status: { phase: "Pending" } }).ready,
      "0/1",
    );
  });

  test("deployments: READY UP-TO-DATE AVAILABLE, wide CONTAINERS IMAGES SELECTOR", () => {
    const d: KObject = {
      metadata: { name: "web", creationTimestamp: ago(3 * 60 + 2) },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web", tier: "fe" } },
        template: { spec: { containers: [{ name: "app", image: "nginx:1.25" }] } },
      },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    };
    const t = table("apps/deployments", [d]);
    assert.deepEqual(names(t), ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]);
    assert.deepEqual(t.rows[0].cells, ["web", "2/3", 3, 2, "3m2s", "app", "nginx:1.25", "app=web,tier=fe"]);
  });

  test("services, namespaces, configmaps, MWCs, CRDs and PDBs print their real columns", () => {
    const svc = table("/services", [
      {
        metadata: { name: "web", creationTimestamp: ago(10) },
        spec: {
          type: "NodePort",
          clusterIP: "10.96.0.10",
          ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }],
          selector: { app: "web" },
        },
      },
    ]);
    assert.deepEqual(svc.rows[0].cells, ["web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP", "10s", "app=web"]);
    const ns = table("/namespaces", [
      { metadata: { name: "istio-system", creationTimestamp: ago(2 * 86400 + 4 * 3600) }, status: { phase: "Active" } },
    ]);
    assert.deepEqual(ns.rows[0].cells, ["istio-system", "Active", "2d4h"]);
    const cm = table("/configmaps", [
      { metadata: { name: "istio", creationTimestamp: ago(5) }, data: { mesh: "", meshNetworks: "" } },
    ]);
    assert.deepEqual(cm.rows[0].cells, ["istio", 2, "5s"]);
    const mwc = table("admissionregistration.k8s.io/mutatingwebhookconfigurations", [
      { metadata: { name: "istio-sidecar-injector", creationTimestamp: ago(5) }, webhooks: [{}, {}, {}, {}] },
    ]);
    assert.deepEqual(names(mwc), ["Name", "Webhooks", "Age"]);
    assert.equal(mwc.rows[0].cells[1], 4);
    const crd = table("apiextensions.k8s.io/customresourcedefinitions", [
      { metadata: { name: "x.y", creationTimestamp: "2024-06-01T00:00:00Z" } },
    ]);
    assert.deepEqual(crd.rows[0].cells, ["x.y", "2024-06-01T00:00:00Z"]);
    const pdb = table("policy/poddisruptionbudgets", [
      {
        metadata: { name: "istiod", creationTimestamp: ago(5) },
        spec: { minAvailable: 1 },
        status: { disruptionsAllowed: 0 },
      },
    ]);
    assert.deepEqual(pdb.rows[0].cells, ["istiod", "1", "N/A", 0, "5s"]);
  });

  test("rows carry PartialObjectMetadata or the full object as asked", () => {
    const meta = table("/pods", [runningPod], "Metadata").rows[0].object;
    assert.deepEqual(meta, {
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: runningPod.metadata,
    });
    const full = table("/pods", [runningPod], "Object").rows[0].object;
    assert.equal(full.kind, "Pod");
    assert.equal(full.spec.nodeName, "node-a");
  });

  test("kinds without a printer get NAME and AGE; wide:false drops priority columns", () => {
    assert.deepEqual(names(table("/podtemplates", [])), ["Name", "Age"]);
    const narrow = toTable(registry.byKey("/pods")!, [runningPod], { includeObject: "None", wide: false, now }) as any;
    assert.deepEqual(names(narrow), ["Name", "Ready", "Status", "Restarts", "Age"]);
  });
});

describe("CRD printer columns", () => {
  const r = new TypeRegistry("1.31.2");
  for (const crd of istioCRDs()) r.registerCRD(crd);

  test("VirtualService prints GATEWAYS HOSTS AGE from additionalPrinterColumns", () => {
    const vs: KObject = {
      metadata: { name: "reviews", creationTimestamp: ago(125) },
      spec: { gateways: ["mesh"], hosts: ["reviews", "reviews.default.svc"] },
    };
    const t = toTable(r.byKey("networking.istio.io/virtualservices")!, [vs], { includeObject: "Metadata", now }) as any;
    assert.deepEqual(names(t), ["Name", "Gateways", "Hosts", "Age"]);
    assert.deepEqual(t.rows[0].cells, ["reviews", '["mesh"]', '["reviews","reviews.default.svc"]', "2m5s"]);
  });

  test("missing values are null and CRDs without columns print NAME and AGE", () => {
    const t = toTable(
      r.byKey("networking.istio.io/virtualservices")!,
      [{ metadata: { name: "x", creationTimestamp: ago(1) }, spec: {} }],
      { includeObject: "None", now },
    ) as any;
    assert.deepEqual(t.rows[0].cells, ["x", null, null, "1s"]);
    assert.deepEqual(names(toTable(r.byKey("networking.istio.io/envoyfilters")!, [], { includeObject: "None" })), [
      "Name",
      "Age",
    ]);
  });

  test("the JSONPath subset walks fields, indexes and quoted keys", () => {
    const o = { spec: { ports: [{ port: 80 }], labels: { "app.kubernetes.io/name": "x" } } };
    assert.equal(evalSimpleJsonPath(o, ".spec.ports[0].port"), 80);
    assert.equal(evalSimpleJsonPath(o, ".spec.labels['app.kubernetes.io/name']"), "x");
    assert.equal(evalSimpleJsonPath(o, ".spec.missing.deeper"), undefined);
  });
});

test("AGE is formatted like kubectl's HumanDuration", () => {
  const cases: [number, string][] = [
    [5, "5s"],
    [119, "119s"],
    [182, "3m2s"],
    [600, "10m"],
    [3 * 3600 + 120, "3h2m"],
    [10 * 3600, "10h"],
    [2 * 86400 + 4 * 3600, "2d4h"],
    [30 * 86400, "30d"],
    [3 * 365 * 86400 + 10 * 86400, "3y10d"],
    [9 * 365 * 86400, "9y"],
  ];
  for (const [s, want] of cases) assert.equal(humanDuration(s * 1000), want, `${s}s`);
});
