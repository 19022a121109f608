import { describe, test } from "node:test";
import assert from "node:assert/strict";
import os from "node:os";
import { V1CronJob, V1Deployment, V1MutatingWebhookConfiguration, V1Pod } from "@kubernetes/client-node";
import {
  buildSnapshot,
  meshSnapshotSchema,
  proxiesOnRevision,
  type MeshSnapshot,
  type SnapshotInput,
} from "./index.js";
import type { BatchObjectLike, PodLike, WebhookConfigurationLike, WorkloadObjectLike } from "./kube-types.js";
import {
  emptyInput,
  loadFixture,
  materialize,
  mergeInputs,
  namespace,
  ofKind,
  renameRevision,
  servicesFor,
} from "./test-support.js";

const pilotDefault = loadFixture("pilot_default.golden.yaml");
const rev110 = loadFixture("rev-1-10-0-install.yaml");
const defaultInjector = loadFixture("default-injector.yaml")[0];
const rev16Injector = loadFixture("rev-16-injector.yaml")[0];
const neverMatchInjector = loadFixture("never-match-injector.yaml")[0];
const defaultTag = loadFixture("default_tag.yaml")[0];
const duplicateMwc = loadFixture("duplicate_mwc.yaml");

function controlPlane(docs: any[]): Partial<SnapshotInput> {
  return {
    deployments: ofKind(docs, "Deployment"),
    configmaps: ofKind(docs, "ConfigMap"),
    services: ofKind(docs, "Service"),
    mutatingWebhooks: ofKind(docs, "MutatingWebhookConfiguration"),
    envoyFilters: ofKind(docs, "EnvoyFilter"),
    pdbs: ofKind(docs, "PodDisruptionBudget"),
  };
}

function named<T extends { metadata?: { name?: string } }>(obj: T, name: string): T {
  const copy = structuredClone(obj);
  copy.metadata = { ...copy.metadata, name };
  return copy;
}

/** A tag webhook configuration `istio-revision-tag-<tag>` → revision, derived from a revision's own MWC as `istioctl tag generate` does. */
function tagWebhook(revisionMwc: any, revision: string, tag: string): any {
  const copy = structuredClone(revisionMwc);
  copy.metadata = {
    name: `istio-revision-tag-${tag}`,
    labels: { app: "sidecar-injector", "istio.io/rev": revision, "istio.io/tag": tag },
  };
  for (const w of copy.webhooks) {
    for (const sel of [w.namespaceSelector, w.objectSelector]) {
      for (const e of sel?.matchExpressions ?? [])
        if (e.key === "istio.io/rev" && e.operator === "In") e.values = [tag];
    }
  }
  return copy;
}

function assertSchema(snapshot: MeshSnapshot): void {
  const parsed = meshSnapshotSchema.safeParse(JSON.parse(JSON.stringify(snapshot)));
  assert.ok(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues.slice(0, 3)));
}

describe("client-node models fit the read model's input types", () => {
  test("V1Pod, V1Deployment, V1CronJob and V1MutatingWebhookConfiguration are accepted as they are", () => {
    const pod: PodLike = new V1Pod();
    const deployment: WorkloadObjectLike = new V1Deployment();
    const cronjob: BatchObjectLike = new V1CronJob();
    const mwc: WebhookConfigurationLike = new V1MutatingWebhookConfiguration();
    const snapshot = buildSnapshot(
      emptyInput({ pods: [pod], deployments: [deployment], cronjobs: [cronjob], mutatingWebhooks: [mwc] }),
    );
    assert.equal(snapshot.proxies.length, 0);
  });
});

describe("rendered control planes", () => {
  test("rev-1-10-0-install.yaml: one revision 1-10-0 at 1.10.0 with its injector image, webhook, EnvoyFilters and PDB", () => {
    const s = buildSnapshot(mergeInputs(controlPlane(rev110)));
    assert.equal(s.revisions.length, 1);
    const r = s.revisions[0];
    assert.equal(r.name, "1-10-0");
    assert.equal(r.deployment, "istiod-1-10-0");
    assert.equal(r.version, "1.10.0");
    assert.equal(r.injector.configMap, "istio-sidecar-injector-1-10-0");
    assert.equal(r.injector.expectedProxyImage, "gcr.io/istio-release/proxyv2:1.10.0");
    assert.deepEqual(r.webhookConfigurations, ["istio-sidecar-injector-1-10-0"]);
    assert.equal(r.ready, false, "no status: not ready");
    // revisioned MWCs have no istio-injection webhook: there is no default revision
    assert.equal(s.defaultRevision, null);
    assert.equal(r.isDefault, false);
    assert.equal(s.envoyFilters.length, 8);
    assert.deepEqual(
      new Set(s.envoyFilters.flatMap((f) => f.patches.map((p) => p.proxyVersion))),
      new Set(["^1\\.10.*", "^1\\.9.*"]),
    );
    assert.equal(s.pdbs.length, 1);
    assert.equal(s.pdbs[0].blocksEviction, true, "minAvailable 1 with one istiod replica");
    assert.deepEqual(s.pdbs[0].workloads, [{ kind: "Deployment", namespace: "istio-system", name: "istiod-1-10-0" }]);
    assert.deepEqual(s.webhookConflicts, []);
    assertSchema(s);
  });

  test("pilot_default.golden.yaml: the unrevisioned istiod is revision 'default' and the default revision", () => {
    const s = buildSnapshot(mergeInputs(controlPlane(pilotDefault)));
    assert.deepEqual(
      s.revisions.map((r) => [r.name, r.version, r.isDefault]),
      [["default", "1.1.4", true]],
    );
    assert.equal(s.revisions[0].injector.expectedProxyImage, "registry.istio.io/release/proxyv2:1.1.4");
    assert.equal(s.defaultRevision, "default");
    assert.equal(s.webhooks.length, 4);
    assertSchema(s);
  });

  test("both control planes side by side: two revisions, no overlapping webhooks", () => {
    const s = buildSnapshot(mergeInputs(controlPlane(pilotDefault), controlPlane(rev110)));
    assert.deepEqual(
      s.revisions.map((r) => r.name),
      ["1-10-0", "default"],
    );
    assert.deepEqual(s.webhookConflicts, []);
  });

  test("sidecar-injector-configmap-with-revision-canary.yaml: the canary injector expects proxyv2:1.3.1 (full image in global.proxy.image)", () => {
    const cm = loadFixture("sidecar-injector-configmap-with-revision-canary.yaml")[0];
    const istiod = named(ofKind(rev110, "Deployment")[0], "istiod-canary");
    istiod.metadata.labels["istio.io/rev"] = "canary";
    const s = buildSnapshot(emptyInput({ deployments: [istiod], configmaps: [cm] }));
    assert.equal(s.revisions[0].name, "canary");
    assert.equal(s.revisions[0].injector.expectedProxyImage, "registry.istio.io/release/proxyv2:1.3.1");
    assert.equal(s.revisions[0].injector.policy, "enabled");
  });
});

describe("injected workloads", () => {
  const cp = controlPlane(pilotDefault);
  const apps = [namespace("apps", { "istio-injection": "enabled" })];
  const hello = loadFixture("hello.yaml.injected")[0];
  const helloOld = named(loadFixture("hello-old-version.yaml.injected")[0], "hello-old");
  const cron = loadFixture("cronjob-old-version.yaml.injected")[0];
  const s = buildSnapshot(
    mergeInputs(
      cp,
      { namespaces: apps },
      materialize(hello, "apps", 2),
      materialize(helloOld, "apps", 1),
      materialize(cron, "apps", 1, "Succeeded"),
    ),
  );
  const proxyOf = (pod: string) => s.proxies.find((p) => p.pod === pod)!;

  test("hello.yaml.injected runs a native sidecar (istio-proxy init container with restartPolicy Always)", () => {
    const p = proxyOf("hello-5d4f8-0");
    assert.equal(p.sidecar, "native");
    assert.equal(p.revision, "default");
    assert.equal(p.revisionSource, "annotation");
    assert.equal(p.version, null, "tag 'latest' names no version");
    assert.deepEqual(p.workload, { kind: "Deployment", namespace: "apps", name: "hello" });
  });

  test("hello-old-version.yaml.injected runs a classic sidecar container", () => {
    assert.equal(proxyOf("hello-old-5d4f8-0").sidecar, "classic");
  });

  test("cronjob-old-version.yaml.injected: the CronJob owns the pod via its Job; a completed pod is listed but not live", () => {
    const p = proxyOf("hellocron-29000000-0");
    assert.equal(p.sidecar, "classic");
    assert.equal(p.live, false);
    assert.equal(p.stale, false, "completed pods are not stale proxies");
    // kube-inject put the annotations on the jobTemplate, not the pod template: CA_ADDR names the revision
    assert.equal(p.revisionSource, "ca-address");
    assert.equal(p.revision, "default");
    assert.deepEqual(p.workload, { kind: "CronJob", namespace: "apps", name: "hellocron" });
    assert.equal(s.summary.liveProxies, 3);
    assert.equal(s.summary.completedPods, 1);
    const cronWorkload = s.workloads.find((w) => w.kind === "CronJob")!;
    assert.ok(cronWorkload.flags.includes("completed-pods-pin-revision"));
  });

  test("proxies whose image differs from the injector's image are stale (IST0158)", () => {
    assert.equal(s.summary.staleProxies, 3);
    assert.match(
      proxyOf("hello-5d4f8-0").staleReasons[0],
      /registry\.istio\.io\/testing\/proxyv2:latest differs from registry\.istio\.io\/release\/proxyv2:1\.1\.4/,
    );
    assert.equal(s.namespaces.find((n) => n.name === "apps")!.staleProxies, 3);
    assert.deepEqual(s.summary.proxiesByRevision, { default: 3 });
    assert.equal(s.revisions[0].proxies, 3);
  });

  test("the manually injected template keeps its proxy on restart, and istiod is not a mesh workload", () => {
    const w = s.workloads.find((x) => x.name === "hello")!;
    assert.equal(w.manualProxy, true);
    assert.equal(w.restart.revision, "default");
    assert.equal(s.workloads.find((x) => x.name === "istiod")!.restart.outcome, "opted-out");
    assertSchema(s);
  });

  test("gateway.yaml.injected is recognised as a gateway", () => {
    const gw = loadFixture("gateway.yaml.injected")[0];
    const g = buildSnapshot(mergeInputs(cp, { namespaces: apps }, materialize(gw, "apps", 1)));
    assert.equal(g.workloads.find((w) => w.name === "istio-ingressgateway")!.gateway, "injected");
    assert.equal(g.proxies[0].gateway, true);
  });
});

describe("injection-with-mismatched-sidecar.yaml (IST0158)", () => {
  const docs = loadFixture("injection-with-mismatched-sidecar.yaml");
  const canaryCm = loadFixture("sidecar-injector-configmap-with-revision-canary.yaml")[0];
  const defaultCm = named(canaryCm, "istio-sidecar-injector");
  const canaryMwc = renameRevision(rev16Injector, "1-16", "canary", "istio-sidecar-injector-canary");
  const mwcs = [defaultInjector, canaryMwc];
  const s = buildSnapshot(
    emptyInput({
      namespaces: ofKind(docs, "Namespace"),
      pods: ofKind(docs, "Pod"),
      configmaps: [canaryCm, defaultCm],
      mutatingWebhooks: mwcs,
      services: servicesFor(mwcs),
    }),
  );

  test("flags exactly the pods whose proxy image differs from their namespace revision's injector", () => {
    const stale = s.proxies
      .filter((p) => p.stale)
      .map((p) => p.pod)
      .sort();
    assert.deepEqual(stale, [
      "details-v1-pod-old",
      "details-v1-pod-old-native",
      "details-v1-pod-old-pre",
      "details-v1-pod-old-pre-2",
      "details-v1-pod-old-pre-3",
      "revision-details-v1-pod-old",
    ]);
  });

  test("pods with sidecar.istio.io/proxyImage are never flagged; unlabeled namespaces have no expectation", () => {
    const overridden = s.proxies
      .filter((p) => p.imageOverridden)
      .map((p) => p.pod)
      .sort();
    assert.deepEqual(overridden, ["details-v1-pod-overwritten-sidecar", "revision-details-v1-pod-overwritten-sidecar"]);
    const unlabeled = s.proxies.find((p) => p.pod === "details-v2-pod-old")!;
    assert.equal(unlabeled.expectedImage, null);
    assert.equal(unlabeled.stale, false);
  });

  test("an init-container istio-proxy is a native sidecar", () => {
    assert.equal(s.proxies.find((p) => p.pod === "details-v1-pod-old-native")!.sidecar, "native");
    assert.equal(s.proxies.find((p) => p.pod === "details-v1-pod-old")!.sidecar, "classic");
  });

  test("versions are read from image tags", () => {
    assert.deepEqual(s.summary.proxiesByVersion, { "1.3.0": 4, "1.3.1": 3, "1.3.0-prerelease": 5 });
  });
});

describe("injection precedence, evaluated from the real webhooks (istio-facts §1.3)", () => {
  const istiod16 = named(ofKind(rev110, "Deployment")[0], "istiod-1-16");
  istiod16.metadata.labels["istio.io/rev"] = "1-16";
  const mwcs = [defaultInjector, rev16Injector, tagWebhook(rev16Injector, "1-16", "prod"), neverMatchInjector];
  const base = {
    deployments: [...ofKind(pilotDefault, "Deployment"), istiod16],
    mutatingWebhooks: mwcs,
    services: servicesFor(mwcs),
  };

  type Row = [
    string,
    Record<string, string>,
    Record<string, string>,
    Record<string, string>,
    string | null,
    string,
    RegExp?,
  ];
  const rows: Row[] = [
    ["no labels anywhere → no sidecar", {}, {}, {}, null, "not-selected", /no injection label/],
    ["istio-injection=enabled → default revision", { "istio-injection": "enabled" }, {}, {}, "default", "injected"],
    [
      "istio-injection beats namespace istio.io/rev",
      { "istio-injection": "enabled", "istio.io/rev": "1-16" },
      {},
      {},
      "default",
      "injected",
      /istio-injection beats istio\.io\/rev=1-16/,
    ],
    [
      "istio-injection=disabled blocks a pod istio.io/rev",
      { "istio-injection": "disabled" },
      { "istio.io/rev": "1-16" },
      {},
      null,
      "not-selected",
      /disabled/,
    ],
    [
      "istio-injection=disabled blocks pod inject=true",
      { "istio-injection": "disabled" },
      { "sidecar.istio.io/inject": "true" },
      {},
      null,
      "not-selected",
    ],
    ["namespace istio.io/rev selects that revision", { "istio.io/rev": "1-16" }, {}, {}, "1-16", "injected"],
    [
      "namespace istio.io/rev beats the pod's istio.io/rev",
      { "istio.io/rev": "1-16" },
      { "istio.io/rev": "default" },
      {},
      "1-16",
      "injected",
      /pod istio\.io\/rev labels are ignored/,
    ],
    [
      "namespace istio.io/rev=<tag> resolves through the tag webhook",
      { "istio.io/rev": "prod" },
      {},
      {},
      "1-16",
      "injected",
      /tag prod → revision 1-16/,
    ],
    [
      "namespace istio.io/rev naming a missing revision → no sidecar",
      { "istio.io/rev": "1-99" },
      {},
      {},
      null,
      "not-selected",
      /names no installed revision or tag/,
    ],
    [
      "namespace istio.io/rev=default → the unrevisioned webhook",
      { "istio.io/rev": "default" },
      {},
      {},
      "default",
      "injected",
    ],
    ["pod istio.io/rev in an unlabeled namespace", {}, { "istio.io/rev": "1-16" }, {}, "1-16", "injected"],
    ["pod istio.io/rev=<tag> in an unlabeled namespace", {}, { "istio.io/rev": "prod" }, {}, "1-16", "injected"],
    [
      "pod inject=true in an unlabeled namespace → default revision",
      {},
      { "sidecar.istio.io/inject": "true" },
      {},
      "default",
      "injected",
    ],
    [
      "pod inject=true plus istio.io/rev → that revision",
      {},
      { "sidecar.istio.io/inject": "true", "istio.io/rev": "1-16" },
      {},
      "1-16",
      "injected",
    ],
    [
      "pod label inject=false is excluded by every webhook",
      { "istio-injection": "enabled" },
      { "sidecar.istio.io/inject": "false" },
      {},
      null,
      "opted-out",
    ],
    [
      "annotation inject=false: webhook fires, istiod skips",
      { "istio-injection": "enabled" },
      {},
      { "sidecar.istio.io/inject": "false" },
      null,
      "policy-skip",
    ],
    [
      "the inject label beats the annotation",
      { "istio-injection": "enabled" },
      { "sidecar.istio.io/inject": "true" },
      { "sidecar.istio.io/inject": "false" },
      "default",
      "injected",
    ],
  ];
  for (const [title, nsLabels, podLabels, podAnnotations, revision, outcome, reason] of rows) {
    test(title, () => {
      const pod: PodLike = {
        metadata: { name: "p", namespace: "ns1", labels: podLabels, annotations: podAnnotations },
        spec: { containers: [{ name: "app", image: "app:1" }] },
        status: { phase: "Running" },
      };
      const s = buildSnapshot(mergeInputs(base, { namespaces: [namespace("ns1", nsLabels)], pods: [pod] }));
      const w = s.workloads.find((x) => x.name === "p")!;
      assert.equal(w.restart.revision, revision, w.restart.reason);
      assert.equal(w.restart.outcome, outcome, w.restart.reason);
      if (reason) assert.match(w.restart.reason, reason);
      // a pod without a proxy that a restart would inject "gains" one
      assert.equal(s.podsGainingSidecar.length, outcome === "injected" ? 1 : 0);
    });
  }

  test("hostNetwork pods and system namespaces are skipped after the webhook fired", () => {
    const pods: PodLike[] = [
      { metadata: { name: "hostnet", namespace: "ns1" }, spec: { hostNetwork: true, containers: [{ name: "a" }] } },
      { metadata: { name: "sys", namespace: "kube-system" }, spec: { containers: [{ name: "a" }] } },
    ];
    const s = buildSnapshot(
      mergeInputs(base, {
        namespaces: [
          namespace("ns1", { "istio-injection": "enabled" }),
          namespace("kube-system", { "istio-injection": "enabled" }),
        ],
        pods,
      }),
    );
    assert.equal(s.workloads.find((w) => w.name === "hostnet")!.restart.outcome, "host-network");
    assert.equal(s.workloads.find((w) => w.name === "sys")!.restart.outcome, "system-namespace");
  });

  test("tags map to their revision; the deactivated old default injector is ignored", () => {
    const s = buildSnapshot(mergeInputs(base, { namespaces: [namespace("a", { "istio.io/rev": "prod" })] }));
    assert.deepEqual(s.tags, [
      {
        name: "prod",
        revision: "1-16",
        configurations: ["istio-revision-tag-prod"],
        revisionInstalled: true,
        namespaces: ["a"],
      },
    ]);
    assert.deepEqual(s.revisions.find((r) => r.name === "1-16")!.tags, ["prod"]);
    assert.ok(
      s.webhooks.filter((w) => w.configuration === "istio-sidecar-injector-deactivated").every((w) => w.deactivated),
    );
    assert.deepEqual(s.webhookConflicts, []);
  });
});

describe("webhook conflicts", () => {
  test("duplicate_mwc.yaml: two default tags overlap and a pod in an istio.io/rev=default namespace would be injected twice (IST0139)", () => {
    const s = buildSnapshot(
      emptyInput({
        mutatingWebhooks: duplicateMwc,
        services: servicesFor(duplicateMwc),
        namespaces: [namespace("a", { "istio.io/rev": "default" })],
      }),
    );
    assert.deepEqual(s.webhookConflicts.map((c) => c.kind).sort(), ["duplicate-tag", "overlap"]);
    assert.equal(s.namespaces[0].injection.outcome, "double-injection");
    assert.deepEqual(s.tags[0].configurations, [
      "w-istio-sidecar-injector-istio-system",
      "w2-istio-sidecar-injector-istio-system",
    ]);
  });

  test("default_tag.yaml beside the still-active unrevisioned injector: both serve istio-injection=enabled", () => {
    const mwcs = [defaultInjector, defaultTag];
    const s = buildSnapshot(emptyInput({ mutatingWebhooks: mwcs, services: servicesFor(mwcs) }));
    const overlaps = s.webhookConflicts.filter((c) => c.kind === "overlap").map((c) => c.webhooks.join(" + "));
    assert.ok(
      overlaps.includes(
        "istio-sidecar-injector/namespace.sidecar-injector.istio.io + istio-revision-tag-default/namespace.sidecar-injector.istio.io",
      ),
      overlaps.join("\n"),
    );
    assert.equal(s.defaultRevision, "test-dev2");
    assert.deepEqual(s.orphanRevisions.map((o) => o.name).sort(), ["default", "test-dev2"]);
  });

  test("default_tag.yaml after the old default was deactivated (never-match-injector.yaml): no overlap, tag default → test-dev2", () => {
    const mwcs = [neverMatchInjector, defaultTag];
    const s = buildSnapshot(
      emptyInput({
        mutatingWebhooks: mwcs,
        services: servicesFor(mwcs),
        namespaces: [namespace("a", { "istio-injection": "enabled" })],
      }),
    );
    assert.deepEqual(s.webhookConflicts, []);
    assert.equal(s.namespaces[0].injection.revision, "test-dev2");
  });

  test("rev-16-injector.yaml without its istiod Service: pods cannot be created (failurePolicy Fail)", () => {
    const s = buildSnapshot(
      emptyInput({ mutatingWebhooks: [rev16Injector], namespaces: [namespace("a", { "istio.io/rev": "1-16" })] }),
    );
    assert.deepEqual(
      s.webhookConflicts.map((c) => c.kind),
      ["missing-service", "missing-service"],
    );
    assert.equal(s.namespaces[0].injection.outcome, "webhook-unavailable");
    assert.match(s.namespaces[0].injection.reason, /pod creation is refused/);
  });
});

describe("namespaces with mixed labels (injection.yaml)", () => {
  const docs = loadFixture("injection.yaml");
  const canaryMwc = renameRevision(rev16Injector, "1-16", "canary", "istio-sidecar-injector-canary");
  const mwcs = [defaultInjector, canaryMwc];
  const s = buildSnapshot(
    emptyInput({
      namespaces: ofKind(docs, "Namespace"),
      pods: ofKind(docs, "Pod"),
      mutatingWebhooks: mwcs,
      services: servicesFor(mwcs),
    }),
  );

  test("IST0123 for every namespace with two injection-mode labels, except with istio-injection=disabled", () => {
    const conflicted = s.namespaces.filter((n) => n.conflicts.some((c) => c.code === "IST0123")).map((n) => n.name);
    assert.deepEqual(conflicted, ["busted", "multi-ns-1", "multi-ns-2", "multi-ns-3"]);
  });

  test("a namespace naming a revision nobody serves gets no sidecar", () => {
    const pidgeon = s.namespaces.find((n) => n.name === "pidgeon-test")!;
    assert.equal(pidgeon.injection.revision, null);
    assert.match(pidgeon.injection.reason, /istio\.io\/rev=pidgeon names no installed revision or tag/);
    assert.equal(s.namespaces.find((n) => n.name === "busted")!.injection.revision, "default");
    assert.equal(s.namespaces.find((n) => n.name === "canary-test")!.injection.revision, "canary");
  });

  test("pods that a restart would inject gain a sidecar; opted-out and hostNetwork pods do not", () => {
    const gaining = s.podsGainingSidecar.map((p) => p.pod);
    assert.ok(gaining.includes("noninjectedpod"));
    for (const pod of [
      "podinjectiondisabled",
      "podinjectiondisabled-label",
      "podinjectiondisabled-label-and-anno",
      "noninjectedpodhostnetwork",
    ]) {
      assert.ok(!gaining.includes(pod), pod);
    }
  });
});

describe("multiple-istio-versions.yaml: pods labelled with two revisions", () => {
  test("only the revision that still has a webhook injects; the other template's image: auto would not start", () => {
    const docs = loadFixture("multiple-istio-versions.yaml");
    const revA = renameRevision(rev16Injector, "1-16", "rev-a", "istio-sidecar-injector-rev-a");
    const s = buildSnapshot(
      mergeInputs(
        { namespaces: [namespace("echo")], mutatingWebhooks: [revA], services: servicesFor([revA]) },
        ...ofKind(docs, "Deployment").map((d) => materialize(d, "echo", 1)),
      ),
    );
    const a = s.workloads.find((w) => w.name === "foo-bar-rev-a")!;
    const b = s.workloads.find((w) => w.name === "foo-bar-rev-b")!;
    assert.equal(a.restart.revision, "rev-a");
    assert.equal(b.restart.revision, null);
    assert.match(b.restart.reason, /pod istio\.io\/rev=rev-b names no installed revision or tag/);
    assert.ok(b.flags.includes("image-auto-without-injection"));
    assert.ok(!a.flags.includes("image-auto-without-injection"));
  });
});

describe("moving a namespace to a new revision", () => {
  const hello = loadFixture("hello.yaml.injected")[0];
  const input = mergeInputs(
    controlPlane(pilotDefault),
    controlPlane(rev110),
    {
      namespaces: [namespace("apps", { "istio.io/rev": "1-10-0" })],
      syncz: { default: [{ proxy: "hello-5d4f8-0.apps", istio_version: "1.1.4" }], "1-10-0": [] },
    },
    materialize(hello, "apps", 2),
  );
  const s = buildSnapshot(input);

  test("pods still on the old revision are stale and listed as stragglers of it", () => {
    assert.ok(s.proxies.every((p) => p.stale && p.selectedRevision === "1-10-0"));
    assert.match(s.proxies[0].staleReasons[0], /runs revision default but its labels now select revision 1-10-0/);
    const stragglers = proxiesOnRevision(s, "default");
    assert.deepEqual(
      stragglers.map((x) => [x.kind, x.namespace, x.name, x.pod]),
      [
        ["Deployment", "apps", "hello", "hello-5d4f8-0"],
        ["Deployment", "apps", "hello", "hello-5d4f8-1"],
      ],
    );
    assert.match(stragglers[0].why, /a restart would move it to 1-10-0/);
    assert.deepEqual(proxiesOnRevision(s, "1-10-0"), []);
  });

  test("syncz gives connected counts per revision", () => {
    assert.equal(s.revisions.find((r) => r.name === "default")!.connectedProxies, 1);
    assert.equal(s.revisions.find((r) => r.name === "1-10-0")!.connectedProxies, 0);
    assert.deepEqual(s.proxies[0].connected, { revision: "default", istioVersion: "1.1.4" });
  });
});

describe("scale", () => {
  test("20,000 pods in 200 namespaces build in well under 250 ms", () => {
    // pods share their template's objects (buildSnapshot never mutates input), so setup stays cheap
    const template = loadFixture("hello.yaml.injected")[0].spec.template;
    const namespaces = [];
    const deployments: WorkloadObjectLike[] = [];
    const replicasets: WorkloadObjectLike[] = [];
    const pods: PodLike[] = [];
    for (let n = 0; n < 200; n++) {
      const ns = `team-${n}`;
      namespaces.push(namespace(ns, n % 2 ? { "istio.io/rev": "1-10-0" } : { "istio-injection": "enabled" }));
      for (let d = 0; d < 10; d++) {
        deployments.push({
          kind: "Deployment",
          metadata: { name: `app-${d}`, namespace: ns },
          spec: { replicas: 10, template },
        });
        replicasets.push({
          kind: "ReplicaSet",
          metadata: {
            name: `app-${d}-7c9f`,
            namespace: ns,
            ownerReferences: [{ kind: "Deployment", name: `app-${d}`, controller: true }],
          },
        });
        for (let i = 0; i < 10; i++) {
          pods.push({
            metadata: {
              ...template.metadata,
              name: `app-${d}-7c9f-${i}`,
              namespace: ns,
              ownerReferences: [{ kind: "ReplicaSet", name: `app-${d}-7c9f`, controller: true }],
            },
            spec: template.spec,
            status: { phase: "Running" },
          });
        }
      }
    }
    const input = mergeInputs(controlPlane(pilotDefault), controlPlane(rev110), {
      namespaces,
      deployments,
      replicasets,
      pods,
    });
    let best = Infinity;
    let s: MeshSnapshot | undefined;
    // best of several runs: the first warms up the JIT, and the CI machine is shared
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      s = buildSnapshot(input);
      best = Math.min(best, performance.now() - started);
    }
    assert.equal(s!.summary.liveProxies, 20_000);
    assert.equal(s!.summary.staleProxies, 20_000);
    assert.equal(s!.workloads.length, 2000 + 2);
    // about 90 ms on an idle machine, 250 allowed: with two test files running beside it on 2 cores a
    // build takes twice as long; the budget also scales with the load. A quadratic pass over 20,000 pods
    // would still blow it by orders of magnitude — this guards against that, it is not the benchmark.
    const budget = 250 * Math.max(1, os.loadavg()[0] / os.availableParallelism());
    assert.ok(best < budget, `best run took ${best.toFixed(1)} ms (budget ${budget.toFixed(0)} ms)`);
  });
});
