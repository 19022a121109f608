// Injection conformance: one case per precedence rule of istio-facts §1.3, through the real store, the generic
// webhook admission and the sandbox's istiod backends.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mutatingWebhookAdmission } from "../api/admission.js";
import { TypeRegistry } from "../api/registry.js";
import { createStore } from "../api/store.js";
import { ApiError, resourceKey, type ClusterStore, type KObject } from "../api/types.js";
import { SIDECAR_STATUS } from "./injector.js";
import { renderRevision, renderTag } from "./render.js";
import { istioWebhookResolver } from "./webhook.js";

function keyOf(store: ClusterStore, o: KObject): string {
  const t = store.typeForKind(o.apiVersion!, o.kind!);
  assert.ok(t, `${o.apiVersion} ${o.kind} is served`);
  return resourceKey(t.group, t.plural);
}

/** A sandbox cluster with Istio admission; istiod pods are created Ready unless told otherwise. */
function cluster() {
  const store = createStore({ types: new TypeRegistry("1.33.0") });
  store.admission.push(mutatingWebhookAdmission(store, istioWebhookResolver(store)));
  const apply = (objs: KObject[]) => {
    for (const o of objs) {
      const key = keyOf(store, o);
      if (store.get(key, o.metadata.namespace, o.metadata.name!))
        store.update(key, { ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
      else store.create(key, o);
    }
  };
  const namespace = (name: string, labels: Record<string, string> = {}) =>
    store.create("/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
  namespace("istio-system");
  return {
    store,
    apply,
    namespace,
    /** installs a revision ("" = unrevisioned) with one istiod pod */
    install(version: string, revision: string, opts: { ready?: boolean } = {}) {
      const objs = renderRevision({ version, revision });
      apply(objs);
      const deployment = objs.find((o) => o.kind === "Deployment")!;
      const name = `${deployment.metadata.name}-pod`;
      store.create("/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name,
          namespace: "istio-system",
          labels: deployment.spec.template.metadata.labels,
          annotations: deployment.spec.template.metadata.annotations,
        },
        spec: { ...deployment.spec.template.spec, nodeName: "sandbox-node-1" },
      });
      // what the kubelet reports once the readiness probe passes
      const status = {
        phase: "Running",
        conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
      };
      store.mutate("/pods", "istio-system", name, (p) => void (p.status = status), { subresource: "status" });
    },
    pod(ns: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): KObject {
      return store.create("/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { generateName: "app-", namespace: ns, labels, annotations },
        spec: { containers: [{ name: "app", image: "example/app:1", ports: [{ name: "http", containerPort: 8080 }] }] },
      });
    },
  };
}

/** Which istiod revision injected the pod: the istio.io/rev annotation, or undefined when it has no sidecar. */
function injectedBy(pod: KObject): string | undefined {
  if (!pod.metadata.annotations?.[SIDECAR_STATUS]) return undefined;
  return pod.metadata.annotations["istio.io/rev"];
}

function discoveryAddress(pod: KObject): string {
  const proxy = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c: any) => c.name === "istio-proxy");
  const config = JSON.parse(proxy.env.find((e: any) => e.name === "PROXY_CONFIG").value);
  return config.discoveryAddress ?? "istiod.istio-system.svc:15012";
}

void describe("injection precedence (istio-facts §1.3), first match wins", () => {
  // a default (unrevisioned) 1.29 control plane plus canaries 1-30-3 and 1-29-2
  const setup = () => {
    const c = cluster();
    c.install("1.29.2", "");
    c.install("1.30.3", "1-30-3");
    c.install("1.29.2", "1-29-2");
    return c;
  };
  const cases: {
    rule: string;
    ns: Record<string, string>;
    pod?: Record<string, string>;
    podAnnotations?: Record<string, string>;
    expect: string | undefined;
  }[] = [
    {
      rule: "1. pod label sidecar.istio.io/inject=false beats a namespace revision",
      ns: { "istio.io/rev": "1-30-3" },
      pod: { "sidecar.istio.io/inject": "false" },
      expect: undefined,
    },
    {
      rule: "1. pod label inject=false beats istio-injection=enabled",
      ns: { "istio-injection": "enabled" },
      pod: { "sidecar.istio.io/inject": "false" },
      expect: undefined,
    },
    {
      rule: "2. namespace istio-injection=enabled beats namespace istio.io/rev",
      ns: { "istio-injection": "enabled", "istio.io/rev": "1-30-3" },
      expect: "default",
    },
    {
      rule: "2. istio-injection=enabled beats the pod's istio.io/rev",
      ns: { "istio-injection": "enabled" },
      pod: { "istio.io/rev": "1-30-3" },
      expect: "default",
    },
    {
      rule: "2. istio-injection=disabled blocks even pod istio.io/rev and inject=true",
      ns: { "istio-injection": "disabled" },
      pod: { "istio.io/rev": "1-30-3", "sidecar.istio.io/inject": "true" },
      expect: undefined,
    },
    {
      rule: "3. namespace istio.io/rev beats the pod's istio.io/rev",
      ns: { "istio.io/rev": "1-30-3" },
      pod: { "istio.io/rev": "1-29-2" },
      expect: "1-30-3",
    },
    {
      rule: "3. namespace istio.io/rev=default selects the unrevisioned istiod",
      ns: { "istio.io/rev": "default" },
      expect: "default",
    },
    {
      rule: "4. pod istio.io/rev in an unlabelled namespace",
      ns: {},
      pod: { "istio.io/rev": "1-29-2" },
      expect: "1-29-2",
    },
    {
      rule: "5. pod inject=true in an unlabelled namespace → default revision",
      ns: {},
      pod: { "sidecar.istio.io/inject": "true" },
      expect: "default",
    },
    { rule: "6. nothing opts in → no sidecar (enableNamespacesByDefault off)", ns: {}, expect: undefined },
    {
      rule: "webhooks cannot see annotations: annotation inject=true alone does nothing",
      ns: {},
      podAnnotations: { "sidecar.istio.io/inject": "true" },
      expect: undefined,
    },
    {
      rule: "after a webhook fired, istiod honours annotation inject=false",
      ns: { "istio.io/rev": "1-30-3" },
      podAnnotations: { "sidecar.istio.io/inject": "false" },
      expect: undefined,
    },
    { rule: "a revision nobody serves → created without sidecar", ns: { "istio.io/rev": "1-28-0" }, expect: undefined },
  ];
  for (const c of cases) {
    void test(`${c.rule} → ${c.expect ?? "no sidecar"}`, () => {
      const k = setup();
      k.namespace("apps", c.ns);
      const pod = k.pod("apps", c.pod, c.podAnnotations);
      assert.equal(injectedBy(pod), c.expect);
      assert.equal(
        pod.metadata.labels?.["istio.io/rev"],
        c.pod?.["istio.io/rev"],
        "the istio.io/rev pod label is never written",
      );
    });
  }

  void test("a webhook matching kube-system still yields no sidecar: istiod ignores system namespaces", () => {
    const k = setup();
    k.namespace("kube-system", { "istio.io/rev": "1-30-3" });
    assert.equal(injectedBy(k.pod("kube-system")), undefined);
  });
});

void describe("revision tags", () => {
  void test("a namespace on tag prod-stable is injected by the tag's target, with the real revision recorded", () => {
    const k = cluster();
    k.install("1.29.2", "1-29-2");
    k.install("1.30.3", "1-30-3");
    k.apply(renderTag("prod-stable", "1-29-2", { version: "1.30.3" }));
    k.namespace("shop", { "istio.io/rev": "prod-stable" });
    const before = k.pod("shop");
    assert.equal(injectedBy(before), "1-29-2");
    assert.equal(discoveryAddress(before), "istiod-1-29-2.istio-system.svc:15012");

    // re-pointing the tag only affects pods created afterwards
    k.apply(renderTag("prod-stable", "1-30-3", { version: "1.30.3" }));
    const after = k.pod("shop");
    assert.equal(injectedBy(after), "1-30-3");
    assert.equal(discoveryAddress(after), "istiod-1-30-3.istio-system.svc:15012");
    assert.equal(injectedBy(k.store.get("/pods", "shop", before.metadata.name!)!), "1-29-2");
  });

  void test("the default tag serves istio-injection=enabled and pod inject=true for a revisioned-only mesh", () => {
    const k = cluster();
    k.install("1.30.3", "1-30-3");
    k.apply(renderTag("default", "1-30-3", { version: "1.30.3" }));
    k.namespace("legacy", { "istio-injection": "enabled" });
    k.namespace("plain");
    assert.equal(injectedBy(k.pod("legacy")), "1-30-3");
    assert.equal(injectedBy(k.pod("plain", { "sidecar.istio.io/inject": "true" })), "1-30-3");
  });

  void test("deleting a tag leaves its namespaces silently without sidecars", () => {
    const k = cluster();
    k.install("1.30.3", "1-30-3");
    k.apply(renderTag("canary", "1-30-3"));
    k.namespace("shop", { "istio.io/rev": "canary" });
    k.store.delete(
      "admissionregistration.k8s.io/mutatingwebhookconfigurations",
      undefined,
      "istio-revision-tag-canary",
    );
    assert.equal(injectedBy(k.pod("shop")), undefined);
  });
});

void describe("istiod availability (failurePolicy: Fail)", () => {
  void test("istiod not Ready → pod creation rejected with the apiserver's message", () => {
    const k = cluster();
    k.install("1.30.3", "1-30-3", { ready: false });
    k.namespace("shop", { "istio.io/rev": "1-30-3" });
    assert.throws(
      () => k.pod("shop"),
      (err: unknown) =>
        err instanceof ApiError &&
        err.code === 500 &&
        err.reason === "InternalError" &&
        err.message ===
          'Internal error occurred: failed calling webhook "rev.namespace.sidecar-injector.istio.io": failed to call webhook: Post "https://istiod-1-30-3.istio-system.svc:443/inject?timeout=10s": no endpoints available for service "istiod-1-30-3"',
    );
    assert.equal(k.store.list("/pods", "shop").length, 0);
  });

  void test("a terminating istiod pod is not an endpoint", () => {
    const k = cluster();
    k.install("1.30.3", "1-30-3");
    // graceful pod deletion: the pod stays, marked with deletionTimestamp, until the kubelet confirms
    const deleted = k.store.delete("/pods", "istio-system", "istiod-1-30-3-pod", { gracePeriodSeconds: 30 });
    assert.ok(deleted.metadata.deletionTimestamp && k.store.get("/pods", "istio-system", "istiod-1-30-3-pod"));
    k.namespace("shop", { "istio.io/rev": "1-30-3" });
    assert.throws(() => k.pod("shop"), /no endpoints available for service "istiod-1-30-3"/);
  });

  void test("a namespace that matches no webhook is unaffected by a broken istiod", () => {
    const k = cluster();
    k.install("1.30.3", "1-30-3", { ready: false });
    k.namespace("other");
    assert.equal(injectedBy(k.pod("other")), undefined);
  });
});

void describe("double webhooks (IST0139)", () => {
  void test("unrevisioned MWC and a default tag both match istio-injection=enabled: one sidecar, from the first webhook by name", () => {
    const k = cluster();
    k.install("1.29.2", "");
    k.install("1.30.3", "1-30-3");
    k.apply(renderTag("default", "1-30-3"));
    k.namespace("legacy", { "istio-injection": "enabled" });
    const pod = k.pod("legacy");
    // istio-revision-tag-default sorts before istio-sidecar-injector; istiod skips an already injected pod
    assert.equal(injectedBy(pod), "1-30-3");
    const proxies = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].filter(
      (c: any) => c.name === "istio-proxy",
    );
    assert.equal(proxies.length, 1);
  });
});
