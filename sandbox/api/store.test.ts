import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TypeRegistry } from "./registry.js";
import { createStore } from "./store.js";
import { ApiError, type StoreEvent } from "./types.js";

function newStore(historySize?: number) {
  const store = createStore({ types: new TypeRegistry("1.31.4"), historySize });
  store.create("/namespaces", { metadata: { name: "a" } });
  return store;
}

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail("expected an ApiError");
}

describe("store: create, get, list", () => {
  test("create assigns uid, numeric increasing resourceVersions, timestamps and generation", () => {
    const s = newStore();
    const a = s.create("/configmaps", { metadata: { name: "x", namespace: "a" }, data: { k: "v" } });
    const b = s.create("apps/deployments", {
      metadata: { name: "d", namespace: "a" },
      spec: {
        selector: { matchLabels: { app: "d" } },
        template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "nginx:1" }] } },
      },
    });
    assert.match(a.metadata.uid!, /^[0-9a-f-]{36}$/);
    assert.ok(Number(b.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
    assert.match(a.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(a.metadata.generation, undefined, "configmaps have no generation");
    assert.equal(b.metadata.generation, 1);
    assert.equal(b.apiVersion, "apps/v1");
    assert.equal(b.kind, "Deployment");
    assert.equal(b.spec.replicas, 1, "defaulted");
  });

  test('create in a missing namespace is 404 namespaces "x" not found; duplicate is 409 AlreadyExists', () => {
    const s = newStore();
    const e = thrown(() => s.create("/configmaps", { metadata: { name: "x", namespace: "nope" } }));
    assert.equal(e.code, 404);
    assert.equal(e.message, 'namespaces "nope" not found');
    s.create("/configmaps", { metadata: { name: "x", namespace: "a" } });
    const d = thrown(() => s.create("/configmaps", { metadata: { name: "x", namespace: "a" } }));
    assert.equal(d.code, 409);
    assert.equal(d.reason, "AlreadyExists");
    assert.equal(d.message, 'configmaps "x" already exists');
  });

  test("generateName makes a unique name", () => {
    const s = newStore();
    const o = s.create("/configmaps", { metadata: { generateName: "gen-", namespace: "a" } });
    assert.match(o.metadata.name!, /^gen-[a-z0-9]{5}$/);
  });

  test("list is sorted by namespace then name and filters by label and field selectors", () => {
    const s = newStore();
    s.create("/namespaces", { metadata: { name: "b" } });
    for (const [ns, n, l] of [
      ["b", "z", "x"],
      ["a", "y", "y"],
      ["a", "c", "x"],
    ] as const)
      s.create("/configmaps", { metadata: { name: n, namespace: ns, labels: { t: l } } });
    assert.deepEqual(
      s.list("/configmaps").map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      ["a/c", "a/y", "b/z"],
    );
    assert.deepEqual(
      s.list("/configmaps", undefined, { labelSelector: "t=x" }).map((o) => o.metadata.name),
      ["c", "z"],
    );
    assert.deepEqual(
      s
        .list("/configmaps", undefined, { labelSelector: "t notin (x)", fieldSelector: "metadata.namespace=a" })
        .map((o) => o.metadata.name),
      ["y"],
    );
    assert.equal(thrown(() => s.list("/configmaps", undefined, { fieldSelector: "spec.foo=1" })).code, 400);
  });
});

describe("store: update semantics", () => {
  test("a stale resourceVersion is 409 Conflict with the real message", () => {
    const s = newStore();
    const o = s.create("/configmaps", { metadata: { name: "x", namespace: "a" }, data: { v: "1" } });
    s.update("/configmaps", { ...o, data: { v: "2" } });
    const e = thrown(() => s.update("/configmaps", { ...o, data: { v: "3" } }));
    assert.equal(e.code, 409);
    assert.equal(
      e.message,
      'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  test("a no-op update does not bump the resourceVersion or emit an event", () => {
    const s = newStore();
    const o = s.create("/configmaps", { metadata: { name: "x", namespace: "a" }, data: { v: "1" } });
    const events: StoreEvent[] = [];
    s.subscribe((e) => events.push(e));
    const same = s.update("/configmaps", structuredClone(o));
    assert.equal(same.metadata.resourceVersion, o.metadata.resourceVersion);
    assert.equal(events.length, 0);
  });

  test("spec changes bump generation; status writes through the status subresource do not, and the main endpoint ignores status", () => {
    const s = newStore();
    const spec = {
      replicas: 1,
      selector: { matchLabels: { app: "d" } },
      template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "nginx:1" }] } },
    };
    const d = s.create("apps/deployments", { metadata: { name: "d", namespace: "a" }, spec });
    const d2 = s.update("apps/deployments", {
      ...structuredClone(d),
      spec: { ...spec, replicas: 3 },
      status: { replicas: 99 },
    });
    assert.equal(d2.metadata.generation, 2);
    assert.equal(d2.status, undefined, "status ignored on the main endpoint");
    const d3 = s.update(
      "apps/deployments",
      { ...structuredClone(d2), status: { replicas: 3 } },
      { subresource: "status" },
    );
    assert.equal(d3.metadata.generation, 2);
    assert.equal(d3.status.replicas, 3);
    assert.equal(d3.spec.replicas, 3);
  });

  test("custom resources need a resourceVersion on update", () => {
    const s = newStore();
    s.create("apiextensions.k8s.io/customresourcedefinitions", {
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Namespaced",
        names: { plural: "widgets", kind: "Widget" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    });
    const w = s.create("example.com/widgets", { metadata: { name: "w", namespace: "a" }, spec: { size: 1 } });
    const { resourceVersion: _rv, ...meta } = w.metadata;
    const e = thrown(() => s.update("example.com/widgets", { ...w, metadata: meta, spec: { size: 2 } }));
    assert.equal(e.code, 422);
    assert.match(e.message, /metadata\.resourceVersion: Invalid value: 0x0: must be specified for an update/);
  });
});

describe("store: delete semantics", () => {
  test("finalizers keep an object with deletionTimestamp until the last one is removed", () => {
    const s = newStore();
    s.create("/configmaps", { metadata: { name: "x", namespace: "a", finalizers: ["example.com/hold"] } });
    const marked = s.delete("/configmaps", "a", "x");
    assert.ok(marked.metadata.deletionTimestamp);
    assert.ok(s.get("/configmaps", "a", "x"));
    s.mutate("/configmaps", "a", "x", (o) => void (o.metadata.finalizers = []));
    assert.equal(s.get("/configmaps", "a", "x"), undefined);
  });

  test("a pod on a node is deleted gracefully; grace 0 removes it", () => {
    const s = newStore();
    s.create("/pods", {
      metadata: { name: "p", namespace: "a" },
      spec: { nodeName: "n1", containers: [{ name: "c", image: "nginx:1" }] },
    });
    const marked = s.delete("/pods", "a", "p");
    assert.equal(marked.metadata.deletionGracePeriodSeconds, 30);
    assert.ok(s.get("/pods", "a", "p"));
    s.delete("/pods", "a", "p", { gracePeriodSeconds: 0 });
    assert.equal(s.get("/pods", "a", "p"), undefined);
  });

  test("a terminating namespace refuses new content with 403", () => {
    const s = newStore();
    s.delete("/namespaces", undefined, "a");
    assert.equal(s.get("/namespaces", undefined, "a")?.status.phase, "Terminating");
    const e = thrown(() => s.create("/configmaps", { metadata: { name: "x", namespace: "a" } }));
    assert.equal(e.code, 403);
    assert.match(e.message, /unable to create new content in namespace a because it is being terminated/);
  });

  test("preconditions that do not match are 409", () => {
    const s = newStore();
    s.create("/configmaps", { metadata: { name: "x", namespace: "a" } });
    assert.equal(thrown(() => s.delete("/configmaps", "a", "x", { preconditions: { uid: "nope" } })).code, 409);
  });
});

describe("store: events", () => {
  test("observers see events in commit order, even when an observer writes", () => {
    const s = newStore();
    const seen: number[] = [];
    s.subscribe((e) => {
      if (e.object.metadata.name === "first") s.create("/configmaps", { metadata: { name: "second", namespace: "a" } });
    });
    s.subscribe((e) => seen.push(e.rv));
    s.create("/configmaps", { metadata: { name: "first", namespace: "a" } });
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
    );
    assert.equal(seen.length, 2);
  });

  test("eventsSince returns later events, or expired beyond the history", () => {
    const s = newStore(10);
    const start = s.resourceVersion;
    for (let i = 0; i < 5; i++) s.create("/configmaps", { metadata: { name: `c${i}`, namespace: "a" } });
    const evs = s.eventsSince(start);
    assert.ok(Array.isArray(evs) && evs.length === 5);
    for (let i = 5; i < 30; i++) s.create("/configmaps", { metadata: { name: `c${i}`, namespace: "a" } });
    assert.equal(s.eventsSince(start), "expired");
    assert.deepEqual(s.eventsSince(s.resourceVersion), []);
  });
});
