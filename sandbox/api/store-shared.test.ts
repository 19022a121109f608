// Stored objects are immutable and share what a write leaves alone: frozen deeply, copy-on-write updates,
// writes handed over without a defensive copy, and defaulting that never touches a shared part.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { recordStoredUpdate } from "./patch/index.js";
import { TypeRegistry } from "./registry.js";
import { createStore, type Store } from "./store.js";
import type { KObject, StoreEvent } from "./types.js";

function newStore(freezeObjects?: boolean): Store {
  const store = createStore({ types: new TypeRegistry("1.31.4"), freezeObjects });
  store.managedFields = recordStoredUpdate;
  store.create("/namespaces", { metadata: { name: "a" } });
  return store;
}

const pod = (name: string): KObject => ({
  metadata: { name, namespace: "a", labels: { app: "web" } },
  spec: { containers: [{ name: "app", image: "web:1", ports: [{ containerPort: 80 }] }] },
});

describe("store: immutable, shared stored objects", () => {
  test("stored objects are frozen all the way down under the test runner: changing one in place throws", () => {
    const s = newStore();
    assert.equal(s.freezeObjects, true, "node --test sets NODE_TEST_CONTEXT: every sandbox test runs frozen");
    const p = s.create("/pods", pod("p"));
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.spec.containers[0].ports[0]) && Object.isFrozen(p.status));
    assert.throws(() => {
      p.spec.containers[0].image = "web:2";
    }, TypeError);
    assert.equal(s.get("/pods", "a", "p")!.spec.containers[0].image, "web:1");
  });

  test("freezeObjects: false leaves them as they are (the default outside tests)", () => {
    const p = newStore(false).create("/pods", pod("p"));
    assert.equal(Object.isFrozen(p.spec), false);
  });

  test("updateShared of a copy-on-write version shares every unchanged part and tells observers old and new", () => {
    const s = newStore();
    const before = s.create("/pods", pod("p"));
    const events: StoreEvent[] = [];
    s.subscribe((ev) => events.push(ev));
    const after = s.updateShared(
      "/pods",
      { ...before, metadata: { ...before.metadata, labels: { ...before.metadata.labels, tier: "fe" } } },
      { fieldManager: "kubectl-label" },
    );
    assert.equal(after.spec, before.spec, "the spec is the stored one, not a copy");
    assert.equal(after.status, before.status);
    assert.deepEqual(after.metadata.labels, { app: "web", tier: "fe" });
    assert.deepEqual(before.metadata.labels, { app: "web" }, "the previous version is untouched");
    assert.ok(Number(after.metadata.resourceVersion) > Number(before.metadata.resourceVersion));
    assert.equal(after.metadata.managedFields?.[0]?.manager, "kubectl-label");
    assert.deepEqual(
      events.map((e) => [e.type, e.object === after, e.old === before]),
      [["MODIFIED", true, true]],
    );
  });

  test("updateShared keeps the stored status on the main resource and the stored spec on the status subresource", () => {
    const s = newStore();
    const created = s.create("/pods", pod("p"));
    const withStatus = s.updateShared(
      "/pods",
      { ...created, status: { phase: "Running" } },
      { subresource: "status", actor: "system:kubelet" },
    );
    assert.equal(withStatus.spec, created.spec);
    const relabelled = s.updateShared("/pods", {
      ...withStatus,
      metadata: { ...withStatus.metadata, labels: { app: "web", v: "2" } },
      status: { phase: "Failed" },
    });
    assert.equal(relabelled.status, withStatus.status, "the main resource cannot change status");
  });

  test("createShared stores the given parts without copying them, and leaves the caller's top level alone", () => {
    const s = newStore();
    const spec = pod("x").spec;
    const input = { metadata: { generateName: "p-", namespace: "a" }, spec };
    const created = s.createShared("/pods", input);
    assert.equal(created.spec.containers, spec.containers);
    assert.equal(input.metadata.generateName, "p-");
    assert.equal((input.metadata as { name?: string }).name, undefined);
    // a second pod may share the first one's (stored, complete) spec parts: defaulting finds nothing to fill
    const second = s.createShared("/pods", {
      metadata: { name: "q", namespace: "a" },
      spec: { ...created.spec, nodeName: "n1" },
    });
    assert.equal(second.spec.containers, created.spec.containers);
    assert.equal(second.spec.containers[0].imagePullPolicy, "IfNotPresent");
  });

  test("delete marks a copy-on-write version: a terminating pod shares its spec with the running one", () => {
    const s = newStore();
    const running = s.updateShared(
      "/pods",
      {
        ...s.create("/pods", { ...pod("p"), spec: { ...pod("p").spec, nodeName: "n1" } }),
        status: { phase: "Running" },
      },
      { subresource: "status" },
    );
    const terminating = s.delete("/pods", "a", "p");
    assert.ok(terminating.metadata.deletionTimestamp);
    assert.equal(terminating.spec, running.spec);
    assert.equal(running.metadata.deletionTimestamp, undefined);
  });

  test("lastChange moves with every committed write of a key, and only of that key", () => {
    const s = newStore();
    assert.equal(s.lastChange("/configmaps"), 0);
    s.create("/configmaps", { metadata: { name: "c", namespace: "a" } });
    const first = s.lastChange("/configmaps");
    assert.equal(first, s.resourceVersion);
    s.create("/pods", pod("p"));
    assert.equal(s.lastChange("/configmaps"), first);
    s.create("/configmaps", { metadata: { name: "d", namespace: "a" } }, { dryRun: true });
    assert.equal(s.lastChange("/configmaps"), first, "a dry run commits nothing");
    s.delete("/configmaps", "a", "c");
    assert.ok(s.lastChange("/configmaps") > first);
  });

  test("what a mutating admission plugin returns is defaulted, as the apiserver defaults a webhook's patched object", () => {
    const s = newStore();
    s.admission.push((req) =>
      req.key === "/pods"
        ? {
            ...req.object,
            spec: {
              ...req.object.spec,
              containers: [...req.object.spec.containers, { name: "sidecar", image: "proxy:1" }],
            },
          }
        : req.object,
    );
    const created = s.create("/pods", pod("p"));
    const sidecar = created.spec.containers.find((c: { name: string }) => c.name === "sidecar");
    assert.equal(sidecar.imagePullPolicy, "IfNotPresent");
    assert.equal(sidecar.terminationMessagePath, "/dev/termination-log");
  });
});
