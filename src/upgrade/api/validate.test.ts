import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { builtinCatalog } from "../../catalog/catalog.js";
import { buildSnapshot, type MeshSnapshot } from "../../mesh/index.js";
import { loadFixture, mergeInputs, namespace, ofKind } from "../../mesh/test-support.js";
import { validateUpgradeSpec, type SpecError, type ValidationContext } from "./validate.js";

const catalog = builtinCatalog();
const rev110 = loadFixture("rev-1-10-0-install.yaml");

/** The real rendered 1-10-0 control plane (istio/istio fixture) relabelled as a released version. */
function controlPlaneAt(version: string, revision: string) {
  const docs = JSON.parse(JSON.stringify(rev110).split("1-10-0").join(revision).split("1.10.0").join(version));
  return {
    deployments: ofKind(docs, "Deployment"),
    configmaps: ofKind(docs, "ConfigMap"),
    services: ofKind(docs, "Service"),
    mutatingWebhooks: ofKind(docs, "MutatingWebhookConfiguration"),
  };
}

const NAMESPACES: Record<string, Record<string, string>> = {
  bookinfo: { "istio.io/rev": "1-28-2", team: "books" },
  shop: { "istio.io/rev": "1-28-2", team: "retail" },
  payments: { "istio.io/rev": "1-28-2", team: "retail", tier: "critical" },
  legacy: {},
  "kube-system": {},
};

/** Istio 1.28.2 as revision 1-28-2, four app namespaces (three on it), Kubernetes 1.31. */
const mesh: MeshSnapshot = buildSnapshot(
  mergeInputs(controlPlaneAt("1.28.2", "1-28-2"), {
    namespaces: Object.entries(NAMESPACES).map(([name, labels]) => namespace(name, labels)),
    kubernetesVersion: "1.31",
  }),
);

/** The same mesh one minor older, for paths that cross two minors. */
const mesh127: MeshSnapshot = buildSnapshot(
  mergeInputs(controlPlaneAt("1.27.9", "1-28-2"), {
    namespaces: Object.entries(NAMESPACES).map(([name, labels]) => namespace(name, labels)),
    kubernetesVersion: "1.31",
  }),
);

function ctx(overrides: Partial<ValidationContext> = {}): ValidationContext {
  return {
    snapshot: mesh,
    catalog,
    kubernetesVersion: "1.31",
    activeUpgrades: [],
    namespaceLabels: NAMESPACES,
    ...overrides,
  };
}

function errorsOf(spec: unknown, context = ctx()): SpecError[] {
  const result = validateUpgradeSpec(spec, context);
  assert.equal(result.ok, false, "expected the spec to be refused");
  if (result.ok) return [];
  for (const e of result.errors) {
    assert.ok(
      e.field.length > 0 && e.message.length > 5 && e.fix.length > 5,
      `error says where, what and how: ${JSON.stringify(e)}`,
    );
  }
  return result.errors;
}

const target = { to: { version: "1.29.6" } };

describe("a valid spec resolves against the mesh", () => {
  test("the minimal spec: source detected, defaults applied, every namespace on the source selected", () => {
    const result = validateUpgradeSpec(target, ctx());
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.spec.from, { revision: "1-28-2", version: "1.28.2" });
    assert.deepEqual(result.spec.to, { revision: "1-29-6", version: "1.29.6" });
    assert.equal(result.spec.pathKind, "minor");
    assert.deepEqual(result.spec.namespaces, ["bookinfo", "payments", "shop"]);
    assert.equal(result.spec.dataPlane.maxConcurrent, 5);
    assert.equal(result.spec.install.mode, "Adopt");
    assert.equal(result.spec.decommission.graceSeconds, 60);
    assert.equal(result.spec.verification.onFailure, "Pause");
  });

  test("a minor version resolves to its latest patch; canary namespaces move first, then order, then by name", () => {
    const result = validateUpgradeSpec(
      { to: { version: "1.29" }, dataPlane: { canary: ["shop"], order: ["payments"] } },
      ctx(),
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.equal(result.spec.to.version, catalog.releases.find((r) => r.minor === "1.29")!.latestVersion);
    assert.deepEqual(result.spec.namespaces, ["shop", "payments", "bookinfo"]);
  });

  test("a label selector is resolved with the namespaces' labels, minus exclusions", () => {
    const result = validateUpgradeSpec(
      {
        ...target,
        dataPlane: { namespaces: { selector: { matchLabels: { team: "retail" } }, exclude: ["payments"] } },
      },
      ctx(),
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.spec.namespaces, ["shop"]);
  });

  test("without namespace labels a selector stays unresolved rather than guessed", () => {
    const result = validateUpgradeSpec(
      { ...target, dataPlane: { namespaces: { selector: { matchLabels: { team: "retail" } } } } },
      ctx({ namespaceLabels: undefined }),
    );
    assert.ok(result.ok);
    assert.equal(result.spec.namespaces, null);
  });

  test("explicit waves covering every selected namespace are accepted, in wave order", () => {
    const result = validateUpgradeSpec(
      { ...target, dataPlane: { waves: { explicit: [["shop"], ["payments", "bookinfo"]] } } },
      ctx(),
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.spec.namespaces, ["shop", "payments", "bookinfo"]);
  });

  test("the upgrade's own entry in the lock list and a finished upgrade do not block it", () => {
    const result = validateUpgradeSpec(
      target,
      ctx({
        self: { name: "to-1-29", stage: "DataPlaneUpgrade" },
        activeUpgrades: [
          { name: "to-1-29", stage: "DataPlaneUpgrade" },
          { name: "last-spring", stage: "Completed" },
        ],
      }),
    );
    assert.ok(result.ok);
  });

  test("an action already acknowledged is not judged again (Resume stays in spec after the upgrade resumed)", () => {
    const result = validateUpgradeSpec(
      { ...target, action: "Resume", actionNonce: "1" },
      ctx({
        self: { name: "u", stage: "DataPlaneUpgrade", acknowledgedAction: { action: "Resume", nonce: "1" } },
      }),
    );
    assert.ok(result.ok);
  });
});

/** [scenario, spec, context overrides, field, message] — each bad input and the refusal it gets. */
const refusals: [string, unknown, Partial<ValidationContext>, string, RegExp][] = [
  ["malformed target version", { to: { version: "1.x" } }, {}, "spec.to.version", /"1\.x" is not an Istio version/],
  [
    "target version unknown to the catalog",
    { to: { version: "1.29.99" } },
    {},
    "spec.to.version",
    /Istio 1\.29\.99 is not in the release catalog/,
  ],
  ["a minor the catalog lacks", { to: { version: "1.99" } }, {}, "spec.to.version", /1\.99 is not in the catalog/],
  ["a downgrade", { to: { version: "1.27.9" } }, {}, "spec.to.version", /downgrade/],
  ["the running version again", { to: { version: "1.28.2" } }, {}, "spec.to.version", /already the current version/],
  [
    "a jump over two minors",
    { to: { version: "1.30.3" } },
    { snapshot: mesh127 },
    "spec.to.version",
    /from revision 1-28-2: 1\.27\.9 → 1\.30\.3 crosses 3 minor versions/,
  ],
  [
    "a Kubernetes outside the target's support",
    target,
    { kubernetesVersion: "1.25" },
    "spec.to.version",
    /Kubernetes 1\.25 is not supported by Istio 1\.29/,
  ],
  [
    "a source revision that is not installed",
    { ...target, from: "1-28-3" },
    {},
    "spec.from",
    /revision "1-28-3" is not installed \(did you mean "1-28-2"\?\)/,
  ],
  [
    "a target revision named like the running one",
    { to: { version: "1.29.6", revision: "1-28-2" } },
    {},
    "spec.to.revision",
    /target revision "1-28-2" is the revision the mesh runs now/,
  ],
  [
    "a named namespace that does not exist",
    { ...target, dataPlane: { namespaces: { names: ["bookinfo", "bookinf0"] } } },
    {},
    "spec.dataPlane.namespaces.names[1]",
    /namespace "bookinf0" does not exist \(did you mean "bookinfo"\?\)/,
  ],
  [
    "a named namespace not on the source revision",
    { ...target, dataPlane: { namespaces: { names: ["legacy"] } } },
    {},
    "spec.dataPlane.namespaces.names[0]",
    /namespace "legacy" is not on revision 1-28-2/,
  ],
  [
    "an exclusion with a typo",
    { ...target, dataPlane: { namespaces: { exclude: ["paymnets"] } } },
    {},
    "spec.dataPlane.namespaces.exclude[0]",
    /namespace "paymnets" does not exist \(did you mean "payments"\?\)/,
  ],
  [
    "a selector that selects nothing",
    { ...target, dataPlane: { namespaces: { selector: { matchLabels: { team: "nobody" } } } } },
    {},
    "spec.dataPlane.namespaces",
    /no namespace is selected/,
  ],
  [
    "an empty wave",
    { ...target, dataPlane: { waves: { explicit: [["shop"], [], ["payments", "bookinfo"]] } } },
    {},
    "spec.dataPlane.waves.explicit[1]",
    /wave 1 is empty/,
  ],
  [
    "a namespace in two waves",
    {
      ...target,
      dataPlane: {
        waves: {
          explicit: [
            ["shop", "bookinfo"],
            ["payments", "shop"],
          ],
        },
      },
    },
    {},
    "spec.dataPlane.waves.explicit[1][1]",
    /namespace "shop" is in wave 0 and again in wave 1/,
  ],
  [
    "a wave naming an excluded namespace",
    {
      ...target,
      dataPlane: { namespaces: { exclude: ["payments"] }, waves: { explicit: [["shop", "bookinfo"], ["payments"]] } },
    },
    {},
    "spec.dataPlane.waves.explicit[1][0]",
    /wave 1: namespace "payments" is excluded/,
  ],
  [
    "a wave naming an unselected namespace",
    {
      ...target,
      dataPlane: { namespaces: { names: ["shop"] }, waves: { explicit: [["shop"], ["bookinfo"]] } },
    },
    {},
    "spec.dataPlane.waves.explicit[1][0]",
    /wave 1: namespace "bookinfo" is not selected/,
  ],
  [
    "explicit waves leaving a selected namespace out",
    { ...target, dataPlane: { waves: { explicit: [["shop"], ["bookinfo"]] } } },
    {},
    "spec.dataPlane.waves.explicit",
    /selected namespaces in no wave: payments/,
  ],
  [
    "a wave size below one",
    { ...target, dataPlane: { waves: { size: 0 } } },
    {},
    "spec.dataPlane.waves.size",
    /below the minimum 1/,
  ],
  [
    "both explicit waves and a wave size",
    { ...target, dataPlane: { waves: { explicit: [["shop"]], size: 2 } } },
    {},
    "spec.dataPlane.waves",
    /explicit and size are both set/,
  ],
  [
    "canary namespaces alongside explicit waves",
    { ...target, dataPlane: { canary: ["shop"], waves: { explicit: [["shop"], ["payments", "bookinfo"]] } } },
    {},
    "spec.dataPlane.canary",
    /canary conflicts with spec\.dataPlane\.waves\.explicit/,
  ],
  [
    "a canary namespace that is not selected",
    { ...target, dataPlane: { namespaces: { names: ["shop"] }, canary: ["bookinfo"] } },
    {},
    "spec.dataPlane.canary[0]",
    /canary namespace: namespace "bookinfo" is not selected/,
  ],
  [
    "maxConcurrent of zero",
    { ...target, dataPlane: { maxConcurrent: 0 } },
    {},
    "spec.dataPlane.maxConcurrent",
    /number 0 is below the minimum 1/,
  ],
  [
    "a misspelt field",
    { ...target, dataPlane: { maxConcurent: 3 } },
    {},
    "spec.dataPlane.maxConcurent",
    /unknown field "maxConcurent" \(did you mean "maxConcurrent"\?\)/,
  ],
  [
    "an unknown restart mode",
    { ...target, dataPlane: { restart: "Automatc" } },
    {},
    "spec.dataPlane.restart",
    /string "Automatc" is not allowed \(did you mean "Automatic"\?\)/,
  ],
  [
    "selector and names together",
    { ...target, dataPlane: { namespaces: { names: ["shop"], selector: {} } } },
    {},
    "spec.dataPlane.namespaces",
    /selector and names are set/,
  ],
  [
    "a revision tag that does not exist",
    { ...target, dataPlane: { revisionTag: { name: "prod-stable" } } },
    {},
    "spec.dataPlane.revisionTag.name",
    /revision tag "prod-stable" does not exist/,
  ],
  [
    "Sail settings with another install mode",
    { ...target, install: { mode: "Adopt", sail: { namespace: "istio-system" } } },
    {},
    "spec.install.sail",
    /sail is set but install\.mode is Adopt/,
  ],
  [
    "Manifests mode without manifests in the operator",
    { ...target, install: { mode: "Manifests" } },
    {},
    "spec.install.manifests.configMapRef",
    /no ConfigMap holds the manifests/,
  ],
  [
    "a second concurrent upgrade",
    target,
    { activeUpgrades: [{ name: "to-1-29-5", stage: "DataPlaneUpgrade" }] },
    "metadata.name",
    /MeshUpgrade "to-1-29-5" is already active \(stage DataPlaneUpgrade\)/,
  ],
  [
    "a rollback after the old control plane went offline",
    { ...target, action: "Rollback" },
    { self: { name: "u", stage: "OldControlPlaneOffline" } },
    "spec.action",
    /rollback is possible only before OldControlPlaneOffline/,
  ],
  [
    "Resume of an upgrade that is not paused",
    { ...target, action: "Resume", actionNonce: "2" },
    { self: { name: "u", stage: "DataPlaneUpgrade", acknowledgedAction: { action: "Resume", nonce: "1" } } },
    "spec.action",
    /not paused/,
  ],
  [
    "Proceed during a rollback",
    { ...target, action: "Proceed" },
    { self: { name: "u", stage: "RollingBack" } },
    "spec.action",
    /while rolling back/,
  ],
  ["an action nonce without an action", { ...target, actionNonce: "x" }, {}, "spec.actionNonce", /without an action/],
  [
    "an unknown metric check without a query",
    {
      ...target,
      verification: { prometheus: { url: "http://prom:9090", checks: [{ name: "request-sucess-rate" }] } },
    },
    {},
    "spec.verification.prometheus.checks[0].name",
    /not a built-in check \(did you mean "request-success-rate"\?\)/,
  ],
  [
    "a threshold whose min is above its max",
    {
      ...target,
      verification: {
        prometheus: { url: "http://prom:9090", checks: [{ name: "x", query: "up", threshold: { min: 5, max: 1 } }] },
      },
    },
    {},
    "spec.verification.prometheus.checks[0].threshold",
    /min 5 is above max 1/,
  ],
  [
    "a negative interval",
    { ...target, verification: { prometheus: { url: "http://prom:9090", interval: "-1m" } } },
    {},
    "spec.verification.prometheus.interval",
    /must be a duration/,
  ],
  [
    "a failure limit the analysis can never reach",
    { ...target, verification: { prometheus: { url: "http://prom:9090", count: 2, failureLimit: 2 } } },
    {},
    "spec.verification.prometheus.failureLimit",
    /could never fail/,
  ],
  [
    "a ScaleDown step without its target",
    { ...target, preUpgradeSteps: [{ name: "stop-discovery", kind: "ScaleDown" }] },
    {},
    "spec.preUpgradeSteps[0].target",
    /a ScaleDown step needs target/,
  ],
  [
    "two clusters without a kubeconfig",
    { ...target, clusters: [{ name: "east" }, { name: "west" }] },
    {},
    "spec.clusters[1].kubeconfigSecretRef",
    /only the local cluster may omit it/,
  ],
  ["no target at all", {}, {}, "spec.to", /required field is missing/],
  ["not an object", "upgrade please", {}, "spec", /expected an object, found string "upgrade please"/],
];

describe("bad input is refused with where, what and how to fix", () => {
  for (const [scenario, spec, overrides, field, message] of refusals) {
    test(`refuses ${scenario}`, () => {
      const errors = errorsOf(spec, ctx(overrides));
      const hit = errors.find((e) => e.field === field && message.test(e.message));
      assert.ok(
        hit,
        `expected ${field} ~ ${message}, got:\n${errors.map((e) => `${e.field}: ${e.message}`).join("\n")}`,
      );
    });
  }

  test("a revision tag that is moved must not drag unselected namespaces along", () => {
    const tagged = structuredClone(mesh);
    tagged.tags.push({
      name: "prod-stable",
      revision: "1-28-2",
      configurations: ["istio-revision-tag-prod-stable"],
      revisionInstalled: true,
      namespaces: ["shop", "payments"],
    });
    const spec = { ...target, dataPlane: { namespaces: { names: ["shop"] }, revisionTag: { name: "prod-stable" } } };
    const errors = errorsOf(spec, ctx({ snapshot: tagged }));
    assert.ok(errors.some((e) => e.field === "spec.dataPlane.revisionTag" && /payments/.test(e.message)));
    const relabel = validateUpgradeSpec(
      { ...spec, dataPlane: { ...spec.dataPlane, revisionTag: { name: "prod-stable", moveInsteadOfRelabel: false } } },
      ctx({ snapshot: tagged }),
    );
    assert.ok(relabel.ok, "relabelling namespace by namespace touches only the selected ones");
  });

  test("several problems are all reported at once", () => {
    const errors = errorsOf(
      { to: { version: "1.27.9" }, dataPlane: { namespaces: { names: ["nope"] } }, actionNonce: "x" },
      ctx({ activeUpgrades: [{ name: "first", stage: null }] }),
    );
    const fields = new Set(errors.map((e) => e.field));
    for (const f of ["metadata.name", "spec.actionNonce", "spec.to.version", "spec.dataPlane.namespaces.names[0]"]) {
      assert.ok(fields.has(f), `missing ${f} in ${[...fields].join(", ")}`);
    }
  });
});

describe("validation is total", () => {
  test("never throws on arbitrary JSON, and every refusal names a field and a fix", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = validateUpgradeSpec(value, ctx());
        if (!result.ok) for (const e of result.errors) assert.ok(e.field && e.message && e.fix);
      }),
      { numRuns: 500 },
    );
  });

  test("never throws on arbitrary specs shaped like MeshUpgrade (known fields, random values)", () => {
    const ns = fc.constantFrom("shop", "bookinfo", "payments", "legacy", "nope", "");
    const spec = fc.record(
      {
        from: fc.constantFrom("1-28-2", "1-29-6", "x", ""),
        to: fc.record(
          { version: fc.constantFrom("1.29.6", "1.29", "1.x", "1.31.0", "2.0.0"), revision: fc.string() },
          {
            requiredKeys: ["version"],
          },
        ),
        dataPlane: fc.record(
          {
            namespaces: fc.record(
              { names: fc.array(ns), exclude: fc.array(ns), all: fc.constant(true) },
              { requiredKeys: [] },
            ),
            canary: fc.array(ns),
            order: fc.array(ns),
            waves: fc.record(
              { explicit: fc.array(fc.array(ns)), size: fc.integer({ min: -2, max: 4 }) },
              { requiredKeys: [] },
            ),
            maxConcurrent: fc.integer({ min: -1, max: 20 }),
            revisionTag: fc.record({
              name: fc.constantFrom("prod-stable", "1-29-6"),
              moveInsteadOfRelabel: fc.boolean(),
            }),
          },
          { requiredKeys: [] },
        ),
        action: fc.constantFrom("Proceed", "Rollback", "Pause", "Resume", "Jump"),
        actionNonce: fc.string({ maxLength: 3 }),
      },
      { requiredKeys: ["to"] },
    );
    const stage = fc.constantFrom(null, "Pending", "Paused", "DataPlaneUpgrade", "OldControlPlaneOffline", "Completed");
    fc.assert(
      fc.property(spec, stage, (s, st) => {
        validateUpgradeSpec(s, ctx({ self: { name: "u", stage: st as never } }));
      }),
      { numRuns: 1000 },
    );
  });
});
