import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { builtinCatalog } from "../catalog/catalog.js";
import { buildSnapshot, type MeshSnapshot, type SnapshotInput } from "../mesh/index.js";
import {
  emptyInput,
  loadFixture,
  materialize,
  mergeInputs,
  namespace,
  ofKind,
  servicesFor,
} from "../mesh/test-support.js";
import { hasBlockingFindings, proxyVersionMatches, runChecks, type Finding } from "./index.js";

const catalog = builtinCatalog();
const rev110 = loadFixture("rev-1-10-0-install.yaml");
const pilotDefault = loadFixture("pilot_default.golden.yaml");

function controlPlane(docs: any[]): Partial<SnapshotInput> {
  return {
    deployments: ofKind(docs, "Deployment"),
    configmaps: ofKind(docs, "ConfigMap"),
    services: ofKind(docs, "Service"),
    mutatingWebhooks: ofKind(docs, "MutatingWebhookConfiguration"),
    pdbs: ofKind(docs, "PodDisruptionBudget"),
  };
}

/** The rendered 1-10-0 control plane relabelled as a real release (istiod image and injector tag). */
function controlPlaneAt(version: string, revision: string): Partial<SnapshotInput> {
  const text = JSON.stringify(rev110).split("1-10-0").join(revision).split("1.10.0").join(version);
  return controlPlane(JSON.parse(text));
}

/** Pods carry the injected proxy, the Deployment's template does not: how webhook injection looks in a cluster. */
function webhookInjected(injected: any, ns: string, count: number): Partial<SnapshotInput> {
  const out = materialize(injected, ns, count);
  const template = out.deployments[0].spec!.template!;
  template.spec!.initContainers = [];
  template.metadata!.annotations = {};
  return out;
}

function ids(findings: Finding[]): string[] {
  return findings.map((f) => f.id);
}

function check(snapshot: MeshSnapshot, version: string, revision?: string): Finding[] {
  const findings = runChecks(snapshot, { version, revision }, catalog);
  for (const f of findings) {
    assert.ok(f.message.length > 10 && f.fix.length > 10, `finding ${f.id} says what and how to fix`);
  }
  return findings;
}

describe("version prechecks", () => {
  const mesh = buildSnapshot(mergeInputs(controlPlaneAt("1.27.9", "1-27-9"), { kubernetesVersion: "1.31" }));

  test("a supported one-minor canary on a supported Kubernetes raises no version finding", () => {
    const findings = check(mesh, "1.29.6");
    assert.deepEqual(
      ids(findings).filter((id) => /target|upgrade|kubernetes|revision-name/.test(id)),
      [],
    );
  });

  const refused: [string, string, string, RegExp][] = [
    ["a version missing from the catalog", "1.30.9", "target-not-in-catalog", /1\.30 is known up to 1\.30\.3/],
    ["malformed version text", "1.x", "target-version-invalid", /not an Istio version/],
    ["the version already running", "1.27.9", "upgrade-same-version", /already runs Istio 1\.27\.9/],
    ["a downgrade", "1.26.8", "upgrade-downgrade", /downgrade/],
    ["a jump over two minors", "1.30.3", "upgrade-path-too-long", /may skip at most one minor/],
  ];
  for (const [title, version, id, message] of refused) {
    test(`refuses ${title} (${version})`, () => {
      const f = check(mesh, version).find((x) => x.id === id);
      assert.ok(f, `expected ${id}`);
      assert.equal(f.severity, "error");
      assert.match(f.message, message);
      assert.ok(hasBlockingFindings(check(mesh, version)));
    });
  }

  test("a too-long path names the steps", () => {
    const f = check(mesh, "1.30.3").find((x) => x.id === "upgrade-path-too-long")!;
    assert.match(f.fix, /1\.27\.9 → 1\.29\.6 → 1\.30\.3/);
  });

  test("Kubernetes outside the target's supported range is an error naming the range; below MinK8S too (IST0142)", () => {
    const old = buildSnapshot(mergeInputs(controlPlaneAt("1.28.2", "1-28-2"), { kubernetesVersion: "v1.25.4" }));
    const findings = check(old, "1.29.6");
    const unsupported = findings.find((f) => f.id === "kubernetes-unsupported-by-target")!;
    assert.equal(unsupported.severity, "error");
    assert.match(unsupported.message, /Kubernetes 1\.25 is not supported by Istio 1\.29 \(supported 1\.31–1\.35/);
    assert.ok(ids(findings).includes("kubernetes-below-minimum"));
    // 1.28 supports 1.30–1.34; 1.25 is only tested
    assert.equal(findings.find((f) => f.id === "kubernetes-outside-current-range")!.severity, "warning");
  });

  test("Kubernetes only tested with the target is a warning", () => {
    const s = buildSnapshot(mergeInputs(controlPlaneAt("1.28.2", "1-28-2"), { kubernetesVersion: "1.30" }));
    assert.equal(check(s, "1.29.6").find((f) => f.id === "kubernetes-tested-only-by-target")!.severity, "warning");
  });

  test("a target revision name taken by another version, or by a tag, is refused", () => {
    assert.ok(ids(check(mesh, "1.29.6", "1-27-9")).includes("revision-name-taken"));
    assert.ok(ids(check(mesh, "1.29.6", "Canary_1")).includes("revision-name-invalid"));
    const tagged = structuredClone(mesh);
    tagged.tags.push({
      name: "1-29-6",
      revision: "1-27-9",
      configurations: ["istio-revision-tag-1-29-6"],
      revisionInstalled: true,
      namespaces: [],
    });
    assert.ok(ids(check(tagged, "1.29.6")).includes("revision-name-is-tag"));
  });

  test("an upgrade already in progress blocks a new one; finished ones do not", () => {
    const running = buildSnapshot(
      mergeInputs(controlPlaneAt("1.27.9", "1-27-9"), {
        kubernetesVersion: "1.31",
        meshUpgrades: [
          { metadata: { name: "to-1-29" }, status: { stage: "DataPlaneUpgrade" } },
          { metadata: { name: "old" }, status: { stage: "Completed" } },
        ],
      }),
    );
    const found = check(running, "1.29.6").filter((f) => f.id === "upgrade-in-progress");
    assert.deepEqual(
      found.map((f) => f.objects[0].name),
      ["to-1-29"],
    );
  });
});

describe("EnvoyFilter prechecks", () => {
  test("proxyVersion uses istiod's unanchored regex search; over-long patterns never match", () => {
    assert.equal(proxyVersionMatches("^1\\.19.*", "1.19.10"), true);
    assert.equal(proxyVersionMatches("^1\\.19.*", "1.20.0"), false);
    assert.equal(proxyVersionMatches("1\\.2", "1.21.0"), true);
    assert.equal(proxyVersionMatches("(", "1.21.0"), "invalid");
    assert.equal(proxyVersionMatches(`^1\\.19${".*".repeat(600)}`, "1.19.0"), false);
  });

  test("envoyfilter.yaml: stats-filter-1.19 matches today's 1.19 proxies but not 1.20.8, and is a leftover once on 1.21", () => {
    const ef = loadFixture("envoyfilter.yaml");
    const hello = structuredClone(loadFixture("hello.yaml.injected")[0]);
    for (const c of hello.spec.template.spec.initContainers) c.image = "docker.io/istio/proxyv2:1.19.10";
    const s = buildSnapshot(
      mergeInputs(
        controlPlaneAt("1.19.10", "1-19-10"),
        { kubernetesVersion: "1.27", envoyFilters: ef, namespaces: [namespace("apps")] },
        materialize(hello, "apps", 1),
      ),
    );
    const to120 = check(s, "1.20.8");
    const mismatch = to120.find((f) => f.id === "envoyfilter-proxyversion-mismatch")!;
    assert.equal(mismatch.severity, "warning");
    assert.deepEqual(mismatch.objects, [{ kind: "EnvoyFilter", namespace: "istio-system", name: "stats-filter-1.19" }]);
    assert.match(mismatch.message, /matches today's proxies \(1\.19\.10\) but not 1\.20\.8/);
    assert.ok(ids(to120).includes("envoyfilter-inventory"));
    assert.ok(!ids(to120).includes("envoyfilter-removed-telemetry-filter"), "1.20 still renders per-version filters");
    assert.ok(!ids(to120).some((id) => id.startsWith("envoyfilter-relative")), "priority -1 and no relative operation");
    assert.ok(ids(check(s, "1.21.6")).includes("envoyfilter-removed-telemetry-filter"));
  });

  test("relative-envoy-filter-operation.yaml: relative patches without priority are IST0151, with proxyVersion IST0155", () => {
    const s = buildSnapshot(emptyInput({ envoyFilters: loadFixture("relative-envoy-filter-operation.yaml") }));
    const findings = check(s, "1.29.6");
    const byFilter = (id: string) =>
      findings
        .filter((f) => f.id === id)
        .map((f) => f.objects[0].name)
        .sort();
    assert.deepEqual(byFilter("envoyfilter-relative-patch"), ["test-relative-1", "test-relative-2"]);
    assert.deepEqual(byFilter("envoyfilter-relative-patch-proxyversion"), ["test-relative-3"]);
    assert.match(
      findings.find((f) => f.id === "envoyfilter-relative-patch-proxyversion")!.message,
      /patch\(es\) 0, 1 .*IST0155/,
    );
    // ^1\.11.* matches nothing running and not the target
    assert.deepEqual(byFilter("envoyfilter-proxyversion-unused"), ["test-relative-3"]);
  });

  test("deprecated Envoy filter names in a match are reported with their replacement", () => {
    const ef = {
      metadata: { name: "old-names", namespace: "apps" },
      spec: {
        priority: 10,
        configPatches: [
          {
            applyTo: "HTTP_FILTER",
            match: {
              listener: {
                filterChain: { filter: { name: "envoy.http_connection_manager", subFilter: { name: "envoy.router" } } },
              },
            },
            patch: { operation: "INSERT_BEFORE" },
          },
        ],
      },
    };
    const f = check(buildSnapshot(emptyInput({ envoyFilters: [ef] })), "1.29.6").find(
      (x) => x.id === "envoyfilter-deprecated-filter-name",
    )!;
    assert.match(f.fix, /envoy\.http_connection_manager → envoy\.filters\.network\.http_connection_manager/);
    assert.match(f.fix, /envoy\.router → envoy\.filters\.http\.router/);
  });
});

describe("mesh prechecks", () => {
  test("injection.yaml: namespaces with both istio-injection and istio.io/rev are warned (IST0123)", () => {
    const docs = loadFixture("injection.yaml");
    const s = buildSnapshot(emptyInput({ namespaces: ofKind(docs, "Namespace") }));
    const warned = check(s, "1.29.6")
      .filter((f) => f.id === "namespace-injection-label-conflict")
      .map((f) => f.objects[0].name);
    assert.deepEqual(warned, ["busted", "multi-ns-1", "multi-ns-2", "multi-ns-3"]);
  });

  test("duplicate_mwc.yaml: overlapping webhooks and a duplicated default tag are errors (IST0139)", () => {
    const mwcs = loadFixture("duplicate_mwc.yaml");
    const findings = check(
      buildSnapshot(emptyInput({ mutatingWebhooks: mwcs, services: servicesFor(mwcs) })),
      "1.29.6",
    );
    assert.deepEqual(
      ids(findings)
        .filter((id) => id.startsWith("webhook-"))
        .sort(),
      ["webhook-duplicate-tag", "webhook-overlap"],
    );
    assert.ok(findings.filter((f) => f.id.startsWith("webhook-")).every((f) => f.severity === "error"));
  });

  test("a webhook calling a missing Service is an error", () => {
    const findings = check(
      buildSnapshot(emptyInput({ mutatingWebhooks: loadFixture("rev-16-injector.yaml") })),
      "1.29.6",
    );
    assert.ok(ids(findings).includes("webhook-missing-service"));
  });

  test("workloads that would lose their sidecar, naked pods, single-replica gateways, blocking PDBs, completed Job pods", () => {
    const hello = loadFixture("hello.yaml.injected")[0];
    const gateway = loadFixture("gateway.yaml.injected")[0];
    const cron = loadFixture("cronjob-old-version.yaml.injected")[0];
    const mismatched = loadFixture("injection-with-mismatched-sidecar.yaml");
    const s = buildSnapshot(
      mergeInputs(
        controlPlane(pilotDefault),
        controlPlaneAt("1.28.2", "1-28-2"),
        {
          kubernetesVersion: "1.31",
          namespaces: [
            namespace("gone", { "istio.io/rev": "1-99" }),
            namespace("edge", { "istio.io/rev": "1-28-2" }),
            ...ofKind(mismatched, "Namespace"),
          ],
          pods: ofKind(mismatched, "Pod").slice(0, 1),
        },
        webhookInjected(hello, "gone", 2),
        materialize(gateway, "edge", 1),
        materialize(cron, "edge", 1, "Succeeded"),
      ),
    );
    const findings = check(s, "1.29.6");
    const find = (id: string) => findings.filter((f) => f.id === id);
    const losing = find("restart-loses-sidecar");
    assert.deepEqual(
      losing.map((f) => f.objects[0]),
      [{ kind: "Deployment", namespace: "gone", name: "hello" }],
    );
    assert.match(losing[0].message, /istio\.io\/rev=1-99 names no installed revision or tag/);
    assert.deepEqual(
      find("naked-pod").map((f) => f.objects[0].name),
      ["details-v1-pod-old"],
    );
    assert.deepEqual(
      find("gateway-single-replica").map((f) => f.objects[0].name),
      ["istio-ingressgateway"],
    );
    assert.deepEqual(
      find("pdb-allows-no-disruption").map((f) => f.objects[0].name),
      ["istiod-1-28-2"],
    );
    assert.deepEqual(
      find("completed-pods-pin-revision").map((f) => f.objects[0].name),
      ["hellocron"],
    );
    // errors sort before warnings before info
    const order = findings.map((f) => ({ error: 0, warning: 1, info: 2 })[f.severity]);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
  });
});
