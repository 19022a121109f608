// The Manifests install mode's pure part on real istioctl output (shared/fixtures/istio): parsing with
// line-numbered errors, the safety checks for one revision, and the apply order.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import fc from "fast-check";
import YAML from "yaml";
import type { KubeObject } from "../../kube/resources.js";
import {
  ManifestError,
  applyRank,
  checkManifestsForRevision,
  imageVersion,
  inApplyOrder,
  parseManifests,
} from "./manifests.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../../../../shared/fixtures/istio/${name}`, import.meta.url), "utf8");

/** parse errors, or a failure when the text parsed */
function parseProblems(text: string, source = "manifests.yaml"): string[] {
  try {
    parseManifests(text, source);
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    return err.problems;
  }
  assert.fail("expected a ManifestError");
}

describe("parseManifests", () => {
  test("a real revisioned istioctl install parses into every object, in document order", () => {
    const text = fixture("rev-1-10-0-install.yaml");
    const objects = parseManifests(text, "rev-1-10-0-install.yaml");
    const kinds = [...text.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(
      objects.map((o) => o.kind),
      kinds,
    );
    const istiod = objects.find((o) => o.kind === "Deployment");
    assert.equal(istiod?.metadata.name, "istiod-1-10-0");
    assert.equal(istiod?.metadata.namespace, "istio-system");
  });

  test("empty and comment-only documents are skipped, List kinds are flattened into their items", () => {
    const text = [
      "# Source: istiod/templates/serviceaccount.yaml",
      "---",
      "---",
      "apiVersion: v1",
      "kind: List",
      "items:",
      "  - apiVersion: v1",
      "    kind: ConfigMap",
      "    metadata: { name: a, namespace: istio-system }",
      "  - apiVersion: v1",
      "    kind: ServiceAccount",
      "    metadata: { name: b, namespace: istio-system }",
      "---",
      "# only a comment",
      "---",
      "apiVersion: v1",
      "kind: Service",
      "metadata: { name: c, namespace: istio-system }",
    ].join("\n");
    const objects = parseManifests(text, "m.yaml");
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.name}`),
      ["ConfigMap/a", "ServiceAccount/b", "Service/c"],
    );
  });

  test("a YAML syntax error names the source and the line, and says what to fix", () => {
    const text = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: { name: ok, namespace: istio-system }",
      "---",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: [unclosed",
      "---",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: { name: also-ok, namespace: istio-system }",
    ].join("\n");
    const problems = parseProblems(text);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], /^manifests\.yaml:9: .*— fix the YAML syntax there$/);
  });

  test("objects without apiVersion, kind or metadata.name are refused at their line, all at once", () => {
    const text = [
      "apiVersion: v1", // 1
      "kind: ConfigMap",
      "metadata: { name: fine, namespace: istio-system }",
      "---",
      "kind: ConfigMap", // 5
      "metadata: { name: no-api-version }",
      "---",
      "apiVersion: v1", // 8
      "metadata: { name: no-kind }",
      "---",
      "apiVersion: apps/v1", // 11
      "kind: Deployment",
      "metadata: { generateName: istiod- }",
      "---",
      "- just", // 15
      "- a list",
      "---",
      "apiVersion: v1", // 18
      "kind: List",
      "items:",
      "  - kind: Secret", // 21
      "    metadata: { name: s }",
    ].join("\n");
    const problems = parseProblems(text, "bad.yaml");
    assert.deepEqual(
      problems.map((p) => p.split(" —")[0]),
      [
        'bad.yaml:5: ConfigMap "no-api-version" has no apiVersion',
        'bad.yaml:8: object "no-kind" has no kind',
        "bad.yaml:13: Deployment has only metadata.generateName",
        "bad.yaml:15: this document is a list, not a Kubernetes object",
        'bad.yaml:21: Secret "s" has no apiVersion',
      ],
    );
    assert.ok(
      problems.every((p) => p.includes(" — ")),
      "every problem says how to fix it",
    );
  });

  test("a chart values file is refused with a hint that rendered output is needed", () => {
    const problems = parseProblems("revision: 1-28-0\nglobal:\n  hub: docker.io/istio\n", "values.yaml");
    assert.ok(
      problems.some((p) => /^values\.yaml:1: .*has no apiVersion.*helm template/.test(p)),
      problems.join("\n"),
    );
  });
});

const target = (revision: string, version?: string) => ({ revision, version, istioNamespace: "istio-system" });

describe("checkManifestsForRevision", () => {
  const rev110 = parseManifests(fixture("rev-1-10-0-install.yaml"), "rev-1-10-0-install.yaml");
  const unrevisioned = parseManifests(fixture("pilot_default.golden.yaml"), "pilot_default.golden.yaml");

  test("a revisioned install is safe for its own revision and version", () => {
    assert.deepEqual(checkManifestsForRevision(rev110, target("1-10-0", "1.10.0")), []);
    assert.deepEqual(checkManifestsForRevision(rev110, target("1-10-0", "1.10")), []);
  });

  test("an istiod image of another version is refused, naming the image", () => {
    const problems = checkManifestsForRevision(rev110, target("1-10-0", "1.10.3"));
    assert.equal(problems.length, 1);
    assert.match(
      problems[0],
      /Deployment istio-system\/istiod-1-10-0 runs gcr\.io\/istio-release\/pilot:1\.10\.0.*not the requested 1\.10\.3/,
    );
  });

  test("manifests of another revision are refused: every object of it, and the missing istiod", () => {
    const problems = checkManifestsForRevision(rev110, target("1-11-0"));
    assert.equal(problems.length, rev110.length + 1);
    assert.ok(
      problems.some((p) => /^Deployment istio-system\/istiod-1-10-0 is labelled istio\.io\/rev=1-10-0/.test(p)),
    );
    assert.match(
      problems.at(-1)!,
      /no istiod Deployment for revision 1-11-0: expected Deployment istio-system\/istiod-1-11-0 \(render with --set revision=1-11-0\)/,
    );
  });

  test("unrevisioned manifests would overwrite the default revision's istiod and injector when installing a canary", () => {
    const problems = checkManifestsForRevision(unrevisioned, target("1-28-0"));
    for (const what of [
      "Deployment istio-system/istiod",
      "MutatingWebhookConfiguration istio-sidecar-injector",
      "ConfigMap istio-system/istio-sidecar-injector",
      "Service istio-system/istiod",
    ])
      assert.ok(
        problems.some((p) => p.startsWith(`${what} is labelled istio.io/rev=default`)),
        `${what} not flagged:\n${problems.join("\n")}`,
      );
    assert.ok(problems.some((p) => p.startsWith("no istiod Deployment for revision 1-28-0")));
  });

  test("without labels, the names another revision uses are still caught", () => {
    const stripped = unrevisioned.map((o) => ({ ...o, metadata: { ...o.metadata, labels: undefined } }));
    const problems = checkManifestsForRevision(stripped, target("1-28-0"));
    assert.ok(problems.some((p) => p.startsWith("Deployment istio-system/istiod has the name revision default uses")));
    assert.ok(
      problems.some((p) =>
        p.startsWith("MutatingWebhookConfiguration istio-sidecar-injector has the name revision default uses"),
      ),
    );
    const otherCanary: KubeObject = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "istio-validator-1-27-9-istio-system" },
    };
    assert.match(
      checkManifestsForRevision([otherCanary], target("1-28-0"))[0],
      /^ValidatingWebhookConfiguration istio-validator-1-27-9-istio-system has the name revision 1-27-9 uses/,
    );
  });

  test("the default tag, other tags and the default validator are refused: moving tags is the upgrade's step", () => {
    const defaultTag = YAML.parse(fixture("default_tag.yaml")) as KubeObject;
    const ownTag: KubeObject = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: {
        name: "istio-revision-tag-prod-stable",
        labels: { "istio.io/rev": "test-dev2", "istio.io/tag": "prod-stable" },
      },
    };
    const validator: KubeObject = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "istiod-default-validator", labels: { "istio.io/rev": "test-dev2" } },
    };
    const problems = checkManifestsForRevision([defaultTag, ownTag, validator], target("test-dev2"));
    assert.match(
      problems[0],
      /^MutatingWebhookConfiguration istio-revision-tag-default is the default revision tag: applying it would move the default revision to revision test-dev2/,
    );
    assert.match(problems[1], /belongs to revision tag "prod-stable"/);
    assert.match(
      problems[2],
      /^ValidatingWebhookConfiguration istiod-default-validator sends validation to the default revision/,
    );
    assert.match(problems[3], /^no istiod Deployment/);
  });

  test("an object given twice is refused", () => {
    const cm = rev110.find((o) => o.kind === "ConfigMap")!;
    const problems = checkManifestsForRevision([...rev110, structuredClone(cm)], target("1-10-0"));
    assert.deepEqual(problems, [
      "ConfigMap istio-system/istio-1-10-0 is given more than once: which copy wins would depend on the order; keep one",
    ]);
  });

  test("an istiod in another namespace than the Istio namespace is named", () => {
    const problems = checkManifestsForRevision(rev110, { revision: "1-10-0", istioNamespace: "istio-canary" });
    assert.match(
      problems.at(-1)!,
      /the istiod Deployment "istiod-1-10-0" is in namespace istio-system, not in the Istio namespace istio-canary/,
    );
  });
});

describe("imageVersion", () => {
  test("reads the tag without variant, with a registry port, and gives up on digests", () => {
    assert.equal(imageVersion("docker.io/istio/pilot:1.28.10"), "1.28.10");
    assert.equal(imageVersion("registry.local:5000/istio/pilot:1.30.0-distroless"), "1.30.0");
    assert.equal(imageVersion("gcr.io/istio-release/pilot:v1.27.2-debug"), "1.27.2");
    assert.equal(imageVersion("registry.local:5000/istio/pilot"), undefined);
    assert.equal(imageVersion("docker.io/istio/pilot@sha256:abcd"), undefined);
  });
});

describe("inApplyOrder", () => {
  test("the real install goes ConfigMaps, Services, Deployment, … and webhooks last", () => {
    const objects = parseManifests(fixture("rev-1-10-0-install.yaml"), "rev");
    const ordered = inApplyOrder(objects).map((o) => o.kind);
    assert.equal(ordered.at(-1), "MutatingWebhookConfiguration");
    assert.ok(ordered.indexOf("Deployment") > ordered.lastIndexOf("ConfigMap"));
    assert.ok(ordered.indexOf("Deployment") > ordered.indexOf("Service"));
    assert.ok(ordered.lastIndexOf("EnvoyFilter") < ordered.indexOf("MutatingWebhookConfiguration"));
  });

  test("any permutation: ranks never decrease, nothing is lost, and one rank keeps its input order", () => {
    const kinds = [
      "CustomResourceDefinition",
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "RoleBinding",
      "ConfigMap",
      "Secret",
      "Service",
      "Deployment",
      "EnvoyFilter",
      "ValidatingWebhookConfiguration",
      "MutatingWebhookConfiguration",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...kinds), { maxLength: 40 }), (picked) => {
        const objects = picked.map((kind, i) => ({ kind, i }));
        const ordered = inApplyOrder(objects);
        assert.equal(ordered.length, objects.length);
        for (let k = 1; k < ordered.length; k++) {
          const [a, b] = [ordered[k - 1], ordered[k]];
          assert.ok(applyRank(a.kind) <= applyRank(b.kind));
          if (applyRank(a.kind) === applyRank(b.kind)) assert.ok(a.i < b.i);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("CRDs before namespaces before RBAC; roles before their bindings; validators before injectors", () => {
    const r = applyRank;
    assert.ok(r("CustomResourceDefinition") < r("Namespace"));
    assert.ok(r("Namespace") < r("ServiceAccount"));
    assert.ok(r("ClusterRole") < r("ClusterRoleBinding"));
    assert.ok(r("ConfigMap") < r("Deployment"));
    assert.ok(r("Deployment") < r("EnvoyFilter"));
    assert.ok(r("ValidatingWebhookConfiguration") < r("MutatingWebhookConfiguration"));
  });
});
