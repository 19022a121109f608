import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Faults } from "../faults.js";
import { renderSyncz, serviceProxyHandler } from "./syncz.js";
import { InMemoryStore, appService, istiodDeployment, istiodPod, istiodService, meshPod } from "./test-mesh.js";

/** Revisions 1-27-0 (cart, 2 pods) and 1-28-0 (checkout, 1 pod + 1 still Pending), each with a Ready istiod and its Service. */
function mesh() {
  const store = new InMemoryStore();
  for (const rev of ["1-27-0", "1-28-0"]) {
    store.put("apps/deployments", istiodDeployment(rev));
    store.put("/pods", istiodPod(rev));
    store.put("/services", istiodService(rev));
  }
  store.put(
    "/pods",
    meshPod({
      namespace: "shop",
      deployment: "cart",
      suffix: "a",
      revision: "1-27-0",
      proxyVersion: "1.27.3",
      variant: "-distroless",
    }),
  );
  store.put(
    "/pods",
    meshPod({
      namespace: "shop",
      deployment: "cart",
      suffix: "b",
      revision: "1-27-0",
      proxyVersion: "1.27.3",
      ready: false,
    }),
  );
  store.put(
    "/pods",
    meshPod({
      namespace: "web",
      deployment: "checkout",
      suffix: "c",
      revision: "1-28-0",
      proxyVersion: "1.28.0",
      native: true,
    }),
  );
  store.put(
    "/pods",
    meshPod({
      namespace: "web",
      deployment: "checkout",
      suffix: "d",
      revision: "1-28-0",
      proxyVersion: "1.28.0",
      phase: "Pending",
      ready: false,
    }),
  );
  store.put(
    "/pods",
    meshPod({
      namespace: "istio-ingress",
      deployment: "istio-ingressgateway",
      suffix: "g",
      revision: "1-28-0",
      proxyVersion: "1.28.0",
      gateway: true,
    }),
  );
  store.put("/services", appService("shop", "cart", { app: "cart" }));
  return store;
}

const proxies = (statuses: { proxy: string }[]) => statuses.map((s) => s.proxy);

describe("/debug/syncz", () => {
  test("each revision's Service lists the Running proxies of that revision only, synced", () => {
    const store = mesh();
    const old = renderSyncz(store, { namespace: "istio-system", name: "istiod-1-27-0" });
    assert.deepEqual(
      proxies(old),
      ["cart-5d8f7c9b4-a.shop", "cart-5d8f7c9b4-b.shop"],
      "a Running proxy stays connected while not Ready",
    );
    const first = old[0];
    assert.equal(first.cluster_id, "Kubernetes");
    assert.equal(first.proxy_type, "sidecar");
    assert.equal(first.istio_version, "1.27.3");
    for (const type of ["cluster", "listener", "route", "endpoint", "extensionconfig"] as const) {
      assert.match(first[`${type}_sent`], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(first[`${type}_acked`], first[`${type}_sent`]);
    }
    assert.notEqual(old[0].cluster_sent, old[1].cluster_sent);

    const fresh = renderSyncz(store, { namespace: "istio-system", name: "istiod-1-28-0" });
    assert.deepEqual(
      proxies(fresh),
      ["checkout-5d8f7c9b4-c.web", "istio-ingressgateway-5d8f7c9b4-g.istio-ingress"],
      "the Pending pod has no proxy running yet",
    );
    assert.deepEqual(
      fresh.map((s) => s.proxy_type),
      ["sidecar", "router"],
    );
  });

  test("a tag Service serves its target revision, read from its label or from the tag's webhook", () => {
    const store = mesh();
    store.put("/services", istiodService("1-28-0", { name: "istiod-revision-tag-prod", tag: "prod" }));
    assert.deepEqual(
      proxies(renderSyncz(store, { namespace: "istio-system", name: "istiod-revision-tag-prod" })),
      proxies(renderSyncz(store, { namespace: "istio-system", name: "istiod-1-28-0" })),
    );

    const unlabeled = istiodService("1-27-0", { name: "istiod-revision-tag-canary" });
    unlabeled.metadata.labels = {};
    store.put("/services", unlabeled);
    store.put("admissionregistration.k8s.io/mutatingwebhookconfigurations", {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: "istio-revision-tag-canary", labels: { "istio.io/tag": "canary", "istio.io/rev": "1-27-0" } },
    });
    assert.equal(renderSyncz(store, { namespace: "istio-system", name: "istiod-revision-tag-canary" }).length, 2);
  });

  test("the unrevisioned istiod Service serves the proxies injected as revision default", () => {
    const store = mesh();
    store.put("apps/deployments", istiodDeployment("default"));
    store.put("/pods", istiodPod("default"));
    store.put("/services", istiodService("default"));
    store.put(
      "/pods",
      meshPod({ namespace: "legacy", deployment: "old", suffix: "x", revision: "default", proxyVersion: "1.26.2" }),
    );
    const statuses = renderSyncz(store, { namespace: "istio-system", name: "istiod" });
    assert.deepEqual(proxies(statuses), ["old-5d8f7c9b4-x.legacy"]);
    assert.equal(statuses[0].istio_version, "1.26.2");
  });

  test("a proxy with an xdsRejects fault has listeners sent but not acked", () => {
    const store = mesh();
    const faults = new Faults([{ match: { workload: "cart" }, xdsRejects: true }]);
    const [status] = renderSyncz(store, { namespace: "istio-system", name: "istiod-1-27-0" }, faults);
    assert.notEqual(status.listener_acked, status.listener_sent);
    assert.equal(status.cluster_acked, status.cluster_sent);
  });
});

describe("service proxy to istiod", () => {
  test("answers /debug/syncz on port 15014, by number or by port name", () => {
    const handler = serviceProxyHandler(mesh());
    for (const port of ["15014", "http-monitoring"]) {
      const res = handler("istio-system", "istiod-1-27-0", port, "/debug/syncz");
      assert.equal(res?.status, 200);
      assert.equal(res?.contentType, "application/json");
      assert.equal(JSON.parse(res!.body).length, 2);
    }
  });

  test("leaves other ports, other paths and other services to the caller", () => {
    const handler = serviceProxyHandler(mesh());
    assert.equal(handler("istio-system", "istiod-1-27-0", "15010", "debug/syncz"), undefined);
    assert.equal(handler("istio-system", "istiod-1-27-0", "15014", "debug/configz"), undefined);
    assert.equal(handler("shop", "cart", "80", "debug/syncz"), undefined);
    assert.equal(handler("istio-system", "nope", "15014", "debug/syncz"), undefined);
  });

  test("a Service without a Ready istiod answers 503 with a Kubernetes Status", () => {
    const store = mesh();
    store.put("/pods", istiodPod("1-28-0", { ready: false }));
    const res = serviceProxyHandler(store)("istio-system", "istiod-1-28-0", "15014", "debug/syncz");
    assert.equal(res?.status, 503);
    assert.deepEqual(JSON.parse(res!.body), {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'no endpoints available for service "istiod-1-28-0"',
      reason: "ServiceUnavailable",
      code: 503,
    });
    assert.deepEqual(renderSyncz(store, { namespace: "istio-system", name: "istiod-1-28-0" }), []);
  });
});
