// The names a revision's objects carry (istio-facts §2), read back into the revision they belong to.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  injectorWebhookName,
  istiodName,
  revisionByName,
  revisionLabel,
  tagOf,
  tagWebhookName,
} from "./revision-names.js";

describe("revision names", () => {
  test("an empty or 'default' revision is the unrevisioned install", () => {
    assert.equal(revisionLabel(""), "default");
    assert.equal(istiodName(""), "istiod");
    assert.equal(istiodName("default"), "istiod");
    assert.equal(istiodName("1-28-10"), "istiod-1-28-10");
    assert.equal(injectorWebhookName("1-28-10", "istio-system"), "istio-sidecar-injector-1-28-10");
    assert.equal(injectorWebhookName("", "istio-canary"), "istio-sidecar-injector-istio-canary");
    assert.equal(tagWebhookName("prod", "istio-system"), "istio-revision-tag-prod");
  });

  test("revisionByName reads the revision from each revision-scoped name, and nothing from other names", () => {
    const ns = "istio-system";
    const cases: [string, string | undefined, string, string | undefined][] = [
      ["Deployment", ns, "istiod", "default"],
      ["Deployment", ns, "istiod-1-27-9", "1-27-9"],
      ["Deployment", "bookinfo", "istiod-1-27-9", undefined],
      ["Service", ns, "istiod-revision-tag-prod-stable", undefined],
      ["ConfigMap", ns, "istio", "default"],
      ["ConfigMap", ns, "istio-ca-root-cert", undefined],
      ["ConfigMap", ns, "istio-sidecar-injector-1-27-9", "1-27-9"],
      ["ConfigMap", ns, "values-1-27-9", "1-27-9"],
      ["MutatingWebhookConfiguration", undefined, "istio-sidecar-injector", "default"],
      ["MutatingWebhookConfiguration", undefined, "istio-sidecar-injector-1-27-9", "1-27-9"],
      ["MutatingWebhookConfiguration", undefined, "istio-revision-tag-default", undefined],
      ["ValidatingWebhookConfiguration", undefined, "istio-validator-istio-system", "default"],
      ["ValidatingWebhookConfiguration", undefined, "istio-validator-1-27-9-istio-system", "1-27-9"],
      ["ValidatingWebhookConfiguration", undefined, "istiod-default-validator", undefined],
      ["ClusterRole", undefined, "istiod-gateway-controller-1-27-9-istio-system", "1-27-9"],
      ["ClusterRoleBinding", undefined, "istio-reader-clusterrole-istio-system", "default"],
      ["ClusterRole", undefined, "istio-reader-istio-system", undefined],
    ];
    for (const [kind, namespace, name, want] of cases)
      assert.equal(revisionByName(kind, namespace, name, ns), want, `${kind} ${name}`);
    // outside istio-system the cluster-scoped injector carries a -<ns> suffix
    assert.equal(
      revisionByName(
        "MutatingWebhookConfiguration",
        undefined,
        "istio-sidecar-injector-1-28-0-istio-canary",
        "istio-canary",
      ),
      "1-28-0",
    );
  });

  test("tagOf prefers the istio.io/tag label and falls back to the tag object names", () => {
    assert.equal(tagOf("MutatingWebhookConfiguration", "anything", { "istio.io/tag": "canary" }), "canary");
    assert.equal(tagOf("MutatingWebhookConfiguration", "istio-revision-tag-prod", {}), "prod");
    assert.equal(tagOf("Service", "istiod-revision-tag-prod", undefined), "prod");
    assert.equal(tagOf("Deployment", "istiod-revision-tag-prod", undefined), undefined);
    assert.equal(
      tagOf("MutatingWebhookConfiguration", "istio-sidecar-injector-1-27-9", { "istio.io/rev": "1-27-9" }),
      undefined,
    );
  });
});
