// The supervised list-watch cache against the sandbox API server: real HTTP, real watch streams,
// faults injected through the sandbox (a 410 on watch, a cut connection).
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { ResourceCache, type CacheChange, type CacheLifecycleEvent } from "../../src/kube/cache.js";
import { loadCluster, type Cluster } from "../../src/kube/config.js";
import { mergePatch } from "../../src/kube/patch.js";
import { collectionPath, objectPath, RESOURCES, type KubeObject } from "../../src/kube/resources.js";

const NS = "tools";

/** Resolves when `predicate` holds for an event, or fails after `ms`. */
function waitFor<E>(
  subscribe: (fn: (e: E) => void) => () => void,
  predicate: (e: E) => boolean,
  ms = 5000,
  what = "event",
): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const off = subscribe((e) => {
      if (!predicate(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** Polls until `condition` holds (handlers run before the cache changes, so the cache lags them by a tick). */
async function eventually(condition: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("ResourceCache against the sandbox", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  const caches: ResourceCache[] = [];
  let seq = 0;

  before(async () => {
    // bookmarks rarely, so a quiet watch really is silent
    sb = await startSandbox({
      scenario: "demo",
      port: 0,
      bookmarkIntervalMs: 60_000,
      timing: { podStartMs: 5, podReadyMs: 5, podTerminateMs: 5 },
    });
    await sb.idle();
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  });
  afterEach(async () => {
    sb.faults.clear();
    await Promise.all(caches.splice(0).map((c) => c.stop()));
  });
  after(async () => {
    cluster.close();
    await sb.stop();
  });

  function cacheOf(options: ConstructorParameters<typeof ResourceCache>[2] = {}) {
    const cache = new ResourceCache(cluster.rest, RESOURCES.configMaps, { namespace: NS, ...options });
    const lifecycle: CacheLifecycleEvent[] = [];
    cache.on((e) => lifecycle.push(e));
    caches.push(cache);
    return { cache, lifecycle };
  }

  const createConfigMap = (name: string, data: Record<string, string>) =>
    cluster.rest.requestJson<KubeObject>({
      method: "POST",
      path: collectionPath(RESOURCES.configMaps, NS),
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS }, data },
    });
  const deleteConfigMap = (name: string) =>
    cluster.rest.requestJson({ method: "DELETE", path: objectPath(RESOURCES.configMaps, name, NS) });

  test("paginated list: every pod arrives across several pages, from one resourceVersion", async () => {
    const pods = new ResourceCache(cluster.rest, RESOURCES.pods, { pageSize: 7 });
    caches.push(pods);
    const listed = waitFor<CacheLifecycleEvent>(
      (fn) => pods.on(fn),
      (e) => e.type === "listed",
      5000,
      "listed",
    );
    await pods.start().waitForSync(5000);
    const event = (await listed) as Extract<CacheLifecycleEvent, { type: "listed" }>;
    const direct = await cluster.rest.requestJson<{ items: KubeObject[] }>({ path: "/api/v1/pods" });
    assert.equal(pods.size, direct.items.length);
    assert.ok(event.pages > 1, `expected several pages, got ${event.pages}`);
    assert.ok(
      pods.list().every((p) => p.metadata.managedFields === undefined),
      "managedFields are dropped",
    );
    await pods.stop();
  });

  test("list then watch: a created, changed and deleted object reaches handlers and the cache in order", async () => {
    const { cache } = cacheOf();
    const changes: CacheChange<KubeObject>[] = [];
    cache.onChange((c) => void changes.push(c));
    await cache.start().waitForSync(5000);
    const name = `cm-${++seq}`;
    const seen = (type: string) =>
      waitFor<CacheChange<KubeObject>>(
        (fn) => cache.onChange(fn),
        (c) => c.type === type && c.object.metadata.name === name,
        5000,
        type,
      );

    const added = seen("added");
    await createConfigMap(name, { step: "one" });
    await added;
    await eventually(() => cache.get(name, NS)?.data?.step === "one", 5000, "cached step one");

    const updated = seen("updated");
    await mergePatch(cluster.rest, RESOURCES.configMaps, { name, namespace: NS }, { data: { step: "two" } });
    const u = (await updated) as Extract<CacheChange<KubeObject>, { type: "updated" }>;
    assert.equal(u.old.data.step, "one");
    await eventually(() => cache.get(name, NS)?.data?.step === "two", 5000, "cached step two");

    const deleted = seen("deleted");
    await deleteConfigMap(name);
    await deleted;
    await eventually(() => cache.get(name, NS) === undefined, 5000, "removed from the cache");
    assert.deepEqual(
      changes.filter((c) => c.object.metadata.name === name).map((c) => c.type),
      ["added", "updated", "deleted"],
    );
  });

  test("a 410 Expired on watch makes the cache relist, and it keeps following changes", async () => {
    sb.faults.add({ verb: "watch", resource: "configmaps", code: 410, count: 1 });
    const { cache, lifecycle } = cacheOf();
    const relisted = waitFor<CacheLifecycleEvent>(
      (fn) => cache.on(fn),
      (e) => e.type === "relisted" && e.reason === "expired",
      5000,
      "relisted(expired)",
    );
    await cache.start().waitForSync(5000);
    await relisted;
    const name = `cm-${++seq}`;
    const added = waitFor<CacheChange<KubeObject>>(
      (fn) => cache.onChange(fn),
      (c) => c.type === "added" && c.object.metadata.name === name,
      5000,
      "added after relist",
    );
    await createConfigMap(name, { after: "410" });
    await added;
    assert.ok(lifecycle.some((e) => e.type === "watching"));
  });

  test("a cut watch connection is resumed from the last resourceVersion without a relist, missing nothing", async () => {
    sb.faults.add({ watchCut: { afterMs: 300, resource: "configmaps" } });
    const { cache, lifecycle } = cacheOf({ backoff: { baseDelayMs: 20, maxDelayMs: 100, jitter: 0 } });
    const cut = waitFor<CacheLifecycleEvent>(
      (fn) => cache.on(fn),
      (e) => e.type === "reconnect" && e.reason === "cut",
      5000,
      "reconnect(cut)",
    );
    await cache.start().waitForSync(5000);
    const before = `cm-${++seq}`;
    await createConfigMap(before, { when: "before the cut" });
    await cut;
    sb.faults.clear();
    const afterCut = `cm-${++seq}`;
    const seen = waitFor<CacheChange<KubeObject>>(
      (fn) => cache.onChange(fn),
      (c) => c.object.metadata.name === afterCut,
      5000,
      "change after the cut",
    );
    await createConfigMap(afterCut, { when: "after the cut" });
    await seen;
    await eventually(() => !!cache.get(afterCut, NS), 5000, "the change after the cut is cached");
    assert.ok(cache.get(before, NS), "the change before the cut is cached");
    assert.equal(
      lifecycle.filter((e) => e.type === "relisted").length,
      0,
      "a cut is resumed from its resourceVersion, not relisted",
    );
  });

  test("a silent watch (no event, no bookmark) is reconnected", async () => {
    const { cache } = cacheOf({ silenceTimeoutMs: 300 });
    const silent = waitFor<CacheLifecycleEvent>(
      (fn) => cache.on(fn),
      (e) => e.type === "reconnect" && e.reason === "silent",
      5000,
      "reconnect(silent)",
    );
    await cache.start().waitForSync(5000);
    const e = (await silent) as Extract<CacheLifecycleEvent, { type: "reconnect" }>;
    assert.equal(e.resourceVersion, cache.resourceVersion);
  });

  test("a failing handler leaves the cache unchanged until the periodic relist re-delivers the object", async () => {
    const { cache } = cacheOf({ resyncIntervalMs: 600 });
    let failures = 0;
    const name = `cm-${++seq}`;
    cache.onChange((c) => {
      if (c.object.metadata.name === name && failures++ === 0) throw new Error("handler down");
    });
    await cache.start().waitForSync(5000);
    const handlerError = waitFor<CacheLifecycleEvent>(
      (fn) => cache.on(fn),
      (e) => e.type === "error" && e.phase === "handler",
      5000,
      "handler error",
    );
    await createConfigMap(name, { x: "1" });
    await handlerError;
    assert.equal(cache.get(name, NS), undefined, "not cached while its handler failed");
    await waitFor<CacheLifecycleEvent>(
      (fn) => cache.on(fn),
      (e) => e.type === "relisted" && e.reason === "periodic" && e.added === 1,
      5000,
      "periodic relist",
    );
    assert.ok(cache.get(name, NS), "cached once the handler succeeded on relist");
    assert.equal(failures, 2);
  });

  test("waitForSync rejects with the KubeError of a permanent list failure (403)", async () => {
    sb.faults.add({ verb: "list", resource: "services", code: 403, count: 1 });
    const cache = new ResourceCache(cluster.rest, RESOURCES.services, {
      backoff: { baseDelayMs: 10_000, maxDelayMs: 10_000, jitter: 0 },
    });
    caches.push(cache);
    await assert.rejects(
      cache.start().waitForSync(5000),
      (e: { code?: number; reason?: string }) => e.code === 403 && e.reason === "Forbidden",
    );
    await cache.stop();
  });
});
