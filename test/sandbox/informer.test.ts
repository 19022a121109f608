// Acceptance: a client-node informer (list+watch) against the sandbox sees every change exactly once,
// and recovers from a forced 410 Expired and from a cut connection.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { startSandbox, type Sandbox } from "../../sandbox/index.js";

const NS = "informer-test";

async function until(cond: () => boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("client-node informer against the sandbox", () => {
  let sb: Sandbox;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  before(async () => {
    sb = await startSandbox({ scenario: "demo", empty: true, historySize: 3000 });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(sb.kubeconfigPath);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
  });
  after(async () => sb?.stop());

  function informer() {
    const inf = k8s.makeInformer(kc, `/api/v1/namespaces/${NS}/configmaps`, () =>
      core.listNamespacedConfigMap({ namespace: NS }),
    );
    const adds = new Map<string, number>();
    const updates = new Map<string, number>(); // keyed by name@resourceVersion
    const deletes = new Map<string, number>();
    const errors: unknown[] = [];
    inf.on("add", (o) => adds.set(o.metadata!.name!, (adds.get(o.metadata!.name!) ?? 0) + 1));
    inf.on("update", (o) => {
      const k = `${o.metadata!.name}@${o.metadata!.resourceVersion}`;
      updates.set(k, (updates.get(k) ?? 0) + 1);
    });
    inf.on("delete", (o) => deletes.set(o.metadata!.name!, (deletes.get(o.metadata!.name!) ?? 0) + 1));
    // stop() aborts the watch and client-node reports that abort as an error: not a failure
    inf.on("error", (e: any) => {
      if (e?.type !== "aborted" && e?.name !== "AbortError") errors.push(e);
    });
    return { inf, adds, updates, deletes, errors };
  }

  async function inBatches<T>(n: number, batch: number, fn: (i: number) => Promise<T>): Promise<void> {
    for (let i = 0; i < n; i += batch)
      await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => fn(i + j)));
  }

  test("1,000 rapid creates and 1,000 rapid updates are each seen exactly once", async () => {
    const { inf, adds, updates, errors } = informer();
    await inf.start();
    await inBatches(1000, 50, (i) =>
      core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `cm-${i}` }, data: { v: "0" } } }),
    );
    await until(() => adds.size === 1000, 20_000, "1000 adds");
    await inBatches(1000, 50, (i) =>
      core.replaceNamespacedConfigMap({
        name: `cm-${i}`,
        namespace: NS,
        body: { metadata: { name: `cm-${i}` }, data: { v: "1" } },
      }),
    );
    await until(() => updates.size === 1000, 20_000, "1000 updates");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(adds.size, 1000);
    assert.ok(
      [...adds.values()].every((c) => c === 1),
      "every add fired exactly once",
    );
    assert.equal(updates.size, 1000);
    assert.ok(
      [...updates.values()].every((c) => c === 1),
      "every update fired exactly once",
    );
    assert.deepEqual(errors, []);
    assert.equal(inf.list(NS).length, 1000);
    await inf.stop();
  });

  test("a watch resumed from a compacted resourceVersion gets 410 Expired; the informer relists and converges", async () => {
    const { inf, errors } = informer();
    await inf.start();
    await until(() => inf.list(NS).length === 1000, 10_000, "initial list");
    await inf.stop();
    // while it is stopped, more changes happen than the server's history holds
    await inBatches(3500, 100, (i) =>
      core.patchNamespacedConfigMap(
        { name: `cm-${i % 1000}`, namespace: NS, body: { data: { v: `w${i}` } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      ),
    );
    await core.deleteNamespacedConfigMap({ name: "cm-0", namespace: NS });
    await inf.start(); // resumes from its old resourceVersion: too old
    await until(
      () => inf.list(NS).length === 999 && inf.list(NS).every((o) => o.data?.v !== "1"),
      20_000,
      "relist after 410",
    );
    const live = await core.listNamespacedConfigMap({ namespace: NS });
    const want = new Map(live.items.map((o) => [o.metadata!.name!, o.data?.v]));
    for (const o of inf.list(NS)) assert.equal(o.data?.v, want.get(o.metadata!.name!), `${o.metadata!.name} converged`);
    assert.deepEqual(errors, []);
    await inf.stop();
  });

  test("a cut connection ends the watch; a supervised restart resumes without missing a change", async () => {
    const { inf, adds, errors } = informer();
    let connects = 0;
    inf.on("connect", () => connects++);
    // client-node 1.x stops after an error (issue #795): supervise it as KUBE-NOTES says
    let stopping = false;
    inf.on("error", () => {
      if (!stopping) setTimeout(() => void inf.start(), 50);
    });
    await inf.start();
    const connectsBefore = connects;
    await until(() => inf.list(NS).length === 999, 10_000, "initial list");
    sb.faults.add({ watchCut: { afterMs: 100, resource: "configmaps" } } as never);
    await new Promise((r) => setTimeout(r, 300));
    sb.faults.clear();
    await inBatches(100, 20, (i) =>
      core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `after-cut-${i}` } } }),
    );
    await until(
      () => [...adds.keys()].filter((n) => n.startsWith("after-cut-")).length === 100,
      20_000,
      "changes after the cut",
    );
    assert.ok(connects > connectsBefore, "the informer reconnected after the cut");
    for (const e of errors as any[])
      assert.match(
        `${e?.code} ${e?.message}`,
        /ECONNRESET|PREMATURE_CLOSE|Premature close|socket hang up|aborted|terminated/i,
        `only the cut surfaces as an error: ${e}`,
      );
    assert.equal(inf.list(NS).length, 1099);
    stopping = true;
    await inf.stop();
  });
});
