import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  labelSelectorMatches,
  mutatingWebhookAdmission,
  type AdmissionRequest,
  type WebhookBackend,
  type WebhookResolver,
} from "./admission.js";
import { TypeRegistry } from "./registry.js";
import { createStore } from "./store.js";
import { ApiError, type KObject } from "./types.js";

const MWC = "admissionregistration.k8s.io/mutatingwebhookconfigurations";

/** A backend that stamps its webhook name into annotation "seen" (comma list), so call order is visible. */
const stamping: WebhookResolver = (_cc, webhook) => (review) => {
  const o = structuredClone(review.object);
  o.metadata.annotations = {
    ...o.metadata.annotations,
    seen: [o.metadata.annotations?.seen, webhook.name].filter(Boolean).join(","),
  };
  return { allowed: true, object: o };
};

function webhook(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
    clientConfig: { service: { name: "hook", namespace: "hooks", path: "/mutate", port: 443 } },
    rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }],
    ...extra,
  };
}

function setup(configurations: { name: string; webhooks: object[] }[], resolver: WebhookResolver = stamping) {
  const store = createStore({ types: new TypeRegistry("1.33.0") });
  for (const c of configurations)
    store.create(MWC, {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: c.name },
      webhooks: c.webhooks,
    });
  return mutatingWebhookAdmission(store, resolver);
}

function podRequest(
  labels: Record<string, string> = {},
  nsLabels: Record<string, string> = {},
  extra: Partial<AdmissionRequest> = {},
): AdmissionRequest {
  return {
    key: "/pods",
    operation: "CREATE",
    object: { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "apps", labels } },
    namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps", labels: nsLabels } },
    dryRun: false,
    ...extra,
  };
}

const seen = (o: KObject) => o.metadata.annotations?.seen ?? "";

void describe("mutatingWebhookAdmission: which webhooks run", () => {
  void test("configurations run sorted by name, webhooks in listed order, each seeing the previous mutation", () => {
    const admit = setup([
      { name: "zeta", webhooks: [webhook("z1")] },
      { name: "alpha", webhooks: [webhook("a1"), webhook("a2")] },
    ]);
    assert.equal(seen(admit(podRequest())), "a1,a2,z1");
  });

  void test("rules: operation, group, resource and subresource must match", () => {
    const admit = setup([
      {
        name: "rules",
        webhooks: [
          webhook("update-only", {
            rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["pods"] }],
          }),
          webhook("apps-group", {
            rules: [{ apiGroups: ["apps"], apiVersions: ["*"], operations: ["*"], resources: ["*"] }],
          }),
          webhook("star", { rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"] }] }),
          webhook("status-only", {
            rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["*"], resources: ["pods/status"] }],
          }),
          webhook("cluster-scope", {
            rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"], scope: "Cluster" }],
          }),
        ],
      },
    ]);
    assert.equal(seen(admit(podRequest())), "star");
    assert.equal(
      seen(admit(podRequest({}, {}, { subresource: "status" }))),
      "status-only",
      '"*" does not cover subresources',
    );
  });

  void test("objectSelector is a full LabelSelector; NotIn matches objects without the key", () => {
    const admit = setup([
      {
        name: "sel",
        webhooks: [
          webhook("not-false", {
            objectSelector: { matchExpressions: [{ key: "inject", operator: "NotIn", values: ["false"] }] },
          }),
          webhook("labels", {
            objectSelector: { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "Exists" }] },
          }),
        ],
      },
    ]);
    assert.equal(seen(admit(podRequest())), "not-false");
    assert.equal(seen(admit(podRequest({ inject: "false", app: "web", tier: "x" }))), "labels");
  });

  void test("namespaceSelector reads the namespace's labels plus kubernetes.io/metadata.name; cluster-scoped objects skip it", () => {
    const admit = setup([
      {
        name: "ns",
        webhooks: [
          webhook("ns", {
            namespaceSelector: {
              matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["apps"] }],
            },
            rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"] }],
          }),
        ],
      },
    ]);
    assert.equal(seen(admit(podRequest())), "");
    const node: AdmissionRequest = {
      key: "/nodes",
      operation: "CREATE",
      object: { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } },
      dryRun: false,
    };
    assert.equal(seen(admit(node)), "ns");
  });

  void test("admission configuration objects are never sent to webhooks", () => {
    const admit = setup([
      {
        name: "all",
        webhooks: [
          webhook("all", { rules: [{ apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"] }] }),
        ],
      },
    ]);
    const req: AdmissionRequest = {
      key: MWC,
      operation: "CREATE",
      object: {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "MutatingWebhookConfiguration",
        metadata: { name: "x" },
      },
      dryRun: false,
    };
    assert.equal(seen(admit(req)), "");
  });
});

void describe("mutatingWebhookAdmission: failures", () => {
  const unavailable: WebhookResolver = () => ({ unavailable: 'no endpoints available for service "hook"' });

  void test("failurePolicy Fail (the default) rejects with the apiserver's InternalError message", () => {
    const admit = setup([{ name: "w", webhooks: [webhook("hook.example.com", { timeoutSeconds: 5 })] }], unavailable);
    assert.throws(
      () => admit(podRequest()),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 500 &&
        e.reason === "InternalError" &&
        e.message ===
          'Internal error occurred: failed calling webhook "hook.example.com": failed to call webhook: Post "https://hook.hooks.svc:443/mutate?timeout=5s": no endpoints available for service "hook"',
    );
  });

  void test("failurePolicy Ignore skips an unavailable webhook and later webhooks still run", () => {
    const resolver: WebhookResolver = (cc, w, c) =>
      w.name === "down" ? { unavailable: "connection refused" } : stamping(cc, w, c);
    const admit = setup(
      [{ name: "w", webhooks: [webhook("down", { failurePolicy: "Ignore" }), webhook("up")] }],
      resolver,
    );
    assert.equal(seen(admit(podRequest())), "up");
  });

  void test("a denial is at least 400 and names the webhook", () => {
    const deny: WebhookResolver = () =>
      (() => ({ allowed: false, message: "pods must be labelled" })) as WebhookBackend;
    const admit = setup([{ name: "w", webhooks: [webhook("policy.example.com")] }], deny);
    assert.throws(
      () => admit(podRequest()),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 400 &&
        e.message === 'admission webhook "policy.example.com" denied the request: pods must be labelled',
    );
  });

  void test("dry-run requests are refused by webhooks with side effects", () => {
    const admit = setup([{ name: "w", webhooks: [webhook("effects", { sideEffects: "Unknown" })] }]);
    assert.throws(
      () => admit(podRequest({}, {}, { dryRun: true })),
      /admission webhook "effects" does not support dry run/,
    );
    assert.equal(
      seen(setup([{ name: "w", webhooks: [webhook("pure")] }])(podRequest({}, {}, { dryRun: true }))),
      "pure",
    );
  });
});

void describe("labelSelectorMatches", () => {
  void test("all operators, and malformed requirements are errors", () => {
    const labels = { a: "1", b: "2" };
    assert.equal(
      labelSelectorMatches({ matchExpressions: [{ key: "a", operator: "In", values: ["1", "3"] }] }, labels),
      true,
    );
    assert.equal(
      labelSelectorMatches({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, labels),
      false,
    );
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: "c", operator: "DoesNotExist" }] }, labels), true);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: "c", operator: "Exists" }] }, labels), false);
    assert.equal(labelSelectorMatches({ matchLabels: { a: "1", b: "3" } }, labels), false);
    assert.equal(labelSelectorMatches({}, undefined), true);
    assert.throws(() => labelSelectorMatches({ matchExpressions: [{ key: "a", operator: "In", values: [] }] }, labels));
    assert.throws(() =>
      labelSelectorMatches({ matchExpressions: [{ key: "a", operator: "Gt", values: ["1"] }] }, labels),
    );
  });
});
