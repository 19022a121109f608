import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { catalogFromData } from "../catalog/index.js";
import { buildSnapshot } from "../mesh/index.js";
import { emptyInput, loadFixture, materialize, mergeInputs, namespace, ofKind } from "../mesh/test-support.js";
import type { MeshUpgradeObject } from "./api-types.js";
import { namespaceRowOf, overviewOf, proxyComparison, versionBanner, workloadRowOf } from "./view.js";

// two revisions from the real Istio fixtures: "default" (1.1.4) and "1-10-0" (1.10.0)
const controlPlane = [...loadFixture("pilot_default.golden.yaml"), ...loadFixture("rev-1-10-0-install.yaml")];
const hello = loadFixture("hello.yaml.injected")[0];
const snapshot = buildSnapshot(
  mergeInputs(
    emptyInput({
      kubernetesVersion: "v1.31.4",
      deployments: ofKind(controlPlane, "Deployment"),
      configmaps: ofKind(controlPlane, "ConfigMap"),
      services: ofKind(controlPlane, "Service"),
      mutatingWebhooks: ofKind(controlPlane, "MutatingWebhookConfiguration"),
      namespaces: [
        namespace("shop", { "istio-injection": "enabled" }),
        namespace("plain"),
        namespace("pinned", { "istio.io/rev": "1-10-0", "istio-injection": "enabled" }),
      ],
    }),
    materialize(hello, "shop", 3),
  ),
);

const upgrade = (stage: string, from: string, to: string): MeshUpgradeObject => ({
  apiVersion: "meshlift.io/v1alpha1",
  kind: "MeshUpgrade",
  metadata: { name: `to-${to}` },
  spec: { to: { version: "1.10.0" } },
  status: { stage, from: { revision: from, version: "?" }, to: { revision: to, version: "?" } },
});

// a catalog in which 1.10.0 runs and 1.11 is out: only for the banner
const catalog = catalogFromData(
  {
    releases: [
      {
        minor: "1.10",
        released: "2021-05-18",
        endOfLife: "2022-03-31",
        latestPatch: 0,
        kubernetes: { supported: ["1.18", "1.21"], minimum: "1.18" },
      },
      {
        minor: "1.11",
        released: "2021-08-12",
        endOfLife: "2022-07-12",
        latestPatch: 8,
        kubernetes: { supported: ["1.19", "1.22"], minimum: "1.19" },
      },
    ],
  },
  "test",
);

describe("what the console shows from a snapshot", () => {
  test("without an upgrade, 'new' is the newest installed version — compared as versions, not text (1.10 > 1.1)", () => {
    const c = proxyComparison(snapshot, []);
    assert.deepEqual(c, { basis: "newest", newRevision: "1-10-0", oldRevisions: ["default"], upgrade: null });
  });

  test("an active upgrade's source and target decide old and new; a finished one does not", () => {
    assert.deepEqual(proxyComparison(snapshot, [upgrade("DataPlaneUpgrade", "1-10-0", "default")]), {
      basis: "upgrade",
      newRevision: "default",
      oldRevisions: ["1-10-0"],
      upgrade: "to-default",
    });
    assert.equal(proxyComparison(snapshot, [upgrade("Completed", "1-10-0", "default")]).basis, "newest");
  });

  test("a namespace row counts its proxies as old or new and names its labels, revision and conflicts", () => {
    const shop = snapshot.namespaces.find((n) => n.name === "shop")!;
    const row = namespaceRowOf(shop, proxyComparison(snapshot, []));
    assert.equal(row.injectionLabel, "istio-injection=enabled");
    assert.equal(row.effectiveRevision, "default");
    assert.equal(row.proxies, 3);
    assert.deepEqual([row.proxiesOld, row.proxiesNew], [3, 0], "on default (1.1.4), older than 1-10-0");
    const during = namespaceRowOf(shop, proxyComparison(snapshot, [upgrade("DataPlaneUpgrade", "1-10-0", "default")]));
    assert.deepEqual([during.proxiesOld, during.proxiesNew], [0, 3]);
    const pinned = namespaceRowOf(
      snapshot.namespaces.find((n) => n.name === "pinned")!,
      proxyComparison(snapshot, []),
    );
    assert.match(pinned.conflicts[0], /IST0123/);
    const plain = namespaceRowOf(
      snapshot.namespaces.find((n) => n.name === "plain")!,
      proxyComparison(snapshot, []),
    );
    assert.deepEqual([plain.injectionLabel, plain.effectiveRevision, plain.perPodRules], ["", null, true]);
  });

  test("workload rows say what a restart gives and whether a restart applies", () => {
    const rows = snapshot.workloads.map(workloadRowOf);
    const deployment = rows.find((r) => r.kind === "Deployment" && r.namespace === "shop")!;
    assert.equal(deployment.key, `shop/Deployment/${deployment.name}`);
    assert.equal(deployment.restartable, true);
    assert.equal(deployment.onRestart, "default");
    assert.equal(workloadRowOf({ ...snapshot.workloads[0], kind: "Job" }).restartable, false);
  });

  test("the banner offers the next release with its Kubernetes support on this cluster", () => {
    const banner = versionBanner(snapshot, catalog, new Date("2021-09-01"))!;
    assert.equal(banner.current, "1.10.0");
    assert.equal(banner.newVersionAvailable, true);
    assert.deepEqual(
      banner.offers.map((o) => [o.version, o.kind, o.kubernetes.status]),
      [["1.11.8", "minor", "unsupported"]],
    );
    assert.match(banner.offers[0].kubernetes.message, /Kubernetes 1\.31 is not supported by Istio 1\.11/);
  });

  test("the overview totals what the snapshot holds", () => {
    const o = overviewOf(snapshot, { catalog, today: new Date("2021-09-01"), upgrades: [], version: 7, notes: [] });
    assert.equal(o.version, 7);
    assert.deepEqual(o.revisions.map((r) => [r.name, r.version, r.isDefault]).sort(), [
      ["1-10-0", "1.10.0", false],
      ["default", "1.1.4", true],
    ]);
    assert.equal(o.totals.namespaces, 3);
    assert.equal(o.totals.proxies, 3);
    assert.deepEqual(o.proxiesByVersion, snapshot.summary.proxiesByVersion);
  });
});
