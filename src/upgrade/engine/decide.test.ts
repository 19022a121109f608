// decide(), by example: the tricky paths of the data-plane upgrade (legacy-crm's two labels, tag mode,
// per-pod namespaces, PerWave approval, Manual restarts, stragglers) and the bugs the property tests
// found, each driven step by step through the pure world simulator in test-support.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Labels } from "../../mesh/kube-types.js";
import { decide } from "./decide.js";
import type { EngineInput, WriteAction } from "./types.js";
import {
  CALM,
  Simulation,
  checkCompleted,
  checkRolledBack,
  findWorldWorkload,
  livePodsOn,
  sketchWorld,
  type ChaosOptions,
  type MeshWorld,
  type WorldSketch,
} from "./test-support.js";

const FROM = "1-27-9";
const TO = "1-28-10";
const TARGET = { version: "1.28.10" };
/** the source (default revision, tagged prod-stable) and the target, installed and Ready (Adopt) */
const REVISIONS = { [FROM]: "1.27.9", [TO]: "1.28.10" };
const TAGS = { default: FROM, "prod-stable": FROM };

function mesh(sketch: Omit<WorldSketch, "revisions" | "tags"> & Partial<Pick<WorldSketch, "revisions" | "tags">>) {
  return sketchWorld({ revisions: REVISIONS, tags: TAGS, ...sketch });
}

function simulate(world: MeshWorld, spec: Record<string, unknown>, chaos: ChaosOptions = CALM): Simulation {
  const sim = new Simulation({ world, spec, seed: 7, chaos, maxTicks: 300 });
  sim.keepSteps = Infinity;
  return sim;
}

function runUntil(sim: Simulation, done: (s: Simulation) => boolean, limit = 200): void {
  const start = sim.tick;
  while (!done(sim)) {
    if (sim.tick - start >= limit)
      throw new Error(`not reached in ${limit} ticks: stage ${sim.stage}, ${sim.status?.message ?? ""}`);
    sim.step();
  }
}

function waiting(sim: Simulation): string | null {
  const c = sim.status?.conditions?.find((x) => x.type === "Waiting");
  return c?.status === "True" ? c.reason : null;
}

function ofType<T extends WriteAction["type"]>(writes: WriteAction[], type: T): Extract<WriteAction, { type: T }>[] {
  return writes.filter((w): w is Extract<WriteAction, { type: T }> => w.type === type);
}

function labelsOf(world: MeshWorld, namespace: string): Labels {
  return world.namespaces.find((n) => n.name === namespace)!.labels;
}

describe("namespaces, tags and pod labels switch the way Istio's precedence needs", () => {
  test("legacy-crm has istio-injection and istio.io/rev: one patch removes istio-injection and sets the revision", () => {
    const world = mesh({
      namespaces: { "legacy-crm": { "istio-injection": "enabled", "istio.io/rev": "prod-stable" } },
      workloads: [
        { namespace: "legacy-crm", name: "crm-web" },
        { namespace: "legacy-crm", name: "crm-api", replicas: 2 },
      ],
    });
    const sim = simulate(world, { to: TARGET });
    const result = sim.run();
    assert.equal(result.stage, "Completed", sim.status?.message);
    checkCompleted(result);
    const patches = ofType(sim.applied, "labelNamespace").filter((w) => w.namespace === "legacy-crm");
    assert.deepEqual(patches, [
      { type: "labelNamespace", namespace: "legacy-crm", labels: { istioInjection: null, rev: TO } },
    ]);
    assert.deepEqual(labelsOf(result.world, "legacy-crm"), { "istio.io/rev": TO });
    assert.deepEqual(livePodsOn(result.world, TO).length, 3);
  });

  test("tag mode: prod-stable moves to the target exactly once and the namespaces keep their labels", () => {
    const world = mesh({
      namespaces: { payments: { "istio.io/rev": "prod-stable" }, orders: { "istio.io/rev": "prod-stable" } },
      workloads: [
        { namespace: "payments", name: "ledger", replicas: 3 },
        { namespace: "orders", name: "orders-api", replicas: 2 },
        { namespace: "orders", name: "orders-db", kind: "StatefulSet", replicas: 2 },
      ],
    });
    const sim = simulate(world, { to: TARGET, dataPlane: { revisionTag: { name: "prod-stable" } } });
    const result = sim.run();
    assert.equal(result.stage, "Completed", sim.status?.message);
    checkCompleted(result);
    const moves = ofType(sim.applied, "moveTag").filter((w) => w.tag === "prod-stable");
    assert.deepEqual(moves, [{ type: "moveTag", tag: "prod-stable", revision: TO }]);
    const firstRestart = sim.applied.findIndex((w) => w.type === "restart");
    assert.ok(sim.applied.indexOf(moves[0]) < firstRestart, "the tag moves before any restart");
    assert.deepEqual(ofType(sim.applied, "labelNamespace"), []);
    assert.deepEqual(labelsOf(result.world, "payments"), { "istio.io/rev": "prod-stable" });
    assert.equal(livePodsOn(result.world, TO).length, 7);
  });

  test("a namespace without injection labels: the restart sets the pod template's istio.io/rev", () => {
    const world = mesh({
      namespaces: { tools: {} },
      workloads: [{ namespace: "tools", name: "toolbox", replicas: 2, labels: { "istio.io/rev": FROM } }],
    });
    const sim = simulate(world, { to: TARGET });
    const result = sim.run();
    assert.equal(result.stage, "Completed", sim.status?.message);
    const restarts = ofType(sim.applied, "restart");
    assert.equal(restarts.length, 1);
    assert.equal(restarts[0].templateRevision, TO);
    assert.deepEqual(ofType(sim.applied, "labelNamespace"), []);
    assert.equal(
      findWorldWorkload(result.world, { kind: "Deployment", namespace: "tools", name: "toolbox" })!.template.labels[
        "istio.io/rev"
      ],
      TO,
    );
    assert.deepEqual(labelsOf(result.world, "tools"), {});
  });
});

describe("what meshlift waits for", () => {
  test("PerWave approval: each Proceed (with a new nonce) releases exactly one wave; the same nonce again releases none", () => {
    const world = mesh({
      namespaces: { a: { "istio.io/rev": FROM }, b: { "istio.io/rev": FROM }, c: { "istio.io/rev": FROM } },
      workloads: ["a", "b", "c"].map((ns) => ({ namespace: ns, name: `${ns}-api` })),
    });
    const sim = simulate(world, {
      to: TARGET,
      dataPlane: { waves: { explicit: [["a"], ["b"], ["c"]] } },
      approval: { mode: "PerWave" },
    });
    const restarted = () => new Set(ofType(sim.applied, "restart").map((w) => w.workload.namespace));
    runUntil(sim, (s) => waiting(s) === "WaitingForApproval");
    assert.deepEqual([...restarted()], ["a"]);
    for (let i = 0; i < 10; i++) sim.step();
    assert.deepEqual([...restarted()], ["a"], "no Proceed, no second wave");

    sim.setAction("Proceed", "n1");
    runUntil(sim, (s) => restarted().has("b") && waiting(s) === "WaitingForApproval");
    sim.setAction("Proceed", "n1"); // the same nonce: an old answer, not a new approval
    for (let i = 0; i < 10; i++) sim.step();
    assert.deepEqual([...restarted()], ["a", "b"]);
    assert.equal(waiting(sim), "WaitingForApproval");

    sim.setAction("Proceed", "n2");
    const result = sim.run();
    assert.equal(result.stage, "Completed", sim.status?.message);
    const approvals = (sim.status?.history ?? []).filter((h) => h.action === "action Proceed");
    assert.deepEqual(
      approvals.map((h) => h.reason),
      ["wave 1 approved", "wave 2 approved"],
    );
  });

  test("Manual restarts: meshlift switches injection, never restarts, and follows the user's own restarts", () => {
    const world = mesh({
      namespaces: { shop: { "istio.io/rev": FROM } },
      workloads: [
        { namespace: "shop", name: "cart", replicas: 2 },
        { namespace: "shop", name: "redis", kind: "StatefulSet" },
      ],
    });
    const sim = simulate(world, { to: TARGET, dataPlane: { restart: "Manual" } });
    for (let i = 0; i < 15; i++) sim.step();
    assert.equal(sim.stage, "DataPlaneUpgrade");
    assert.deepEqual(labelsOf(sim.world, "shop"), { "istio.io/rev": TO });
    const progress = sim.status!.progress!.workloads!;
    assert.deepEqual(
      progress.map((p) => [p.name, p.state, p.message]),
      [
        ["cart", "WaitingForUser", "restart it yourself (manual mode)"],
        ["redis", "WaitingForUser", "restart it yourself (manual mode)"],
      ],
    );
    sim.userRestart({ kind: "Deployment", namespace: "shop", name: "cart" });
    sim.userRestart({ kind: "StatefulSet", namespace: "shop", name: "redis" });
    const result = sim.run();
    assert.equal(result.stage, "Completed", sim.status?.message);
    assert.deepEqual(ofType(sim.applied, "restart"), [], "meshlift restarted nothing");
    checkCompleted(result);
  });

  test("stragglers block the way offline and are listed once per workload; handled, the upgrade completes", () => {
    const world = mesh({
      namespaces: {
        bookinfo: { "istio.io/rev": FROM },
        tools: {},
        "legacy-billing": { "istio-injection": "disabled" },
      },
      workloads: [
        { namespace: "bookinfo", name: "productpage", replicas: 2 },
        { namespace: "tools", name: "netshoot", kind: "Pod", podsOn: FROM },
        { namespace: "legacy-billing", name: "billing-api", replicas: 3, manualProxy: true },
        { namespace: "legacy-billing", name: "invoice-renderer", replicas: 2, podsOn: FROM },
      ],
    });
    const sim = simulate(world, { to: TARGET });
    runUntil(sim, (s) => waiting(s) === "Stragglers");
    for (let i = 0; i < 10; i++) sim.step();
    assert.equal(sim.stage, "DataPlaneUpgrade", "no way offline while proxies run the source");
    assert.deepEqual(
      sim.status!.stragglers!.map((s) => [s.kind, s.namespace, s.name, s.why.match(/^\d+ pods: /)?.[0] ?? ""]),
      [
        ["Deployment", "legacy-billing", "billing-api", "3 pods: "],
        ["Deployment", "legacy-billing", "invoice-renderer", "2 pods: "],
        ["Pod", "tools", "netshoot", ""],
      ],
    );
    assert.deepEqual(ofType(sim.applied, "removeRevision"), []);
    assert.equal(livePodsOn(sim.world, TO).length, 2, "the movable workload moved meanwhile");

    sim.userDelete({ kind: "Pod", namespace: "tools", name: "netshoot" });
    sim.userDelete({ kind: "Deployment", namespace: "legacy-billing", name: "billing-api" });
    sim.userDelete({ kind: "Deployment", namespace: "legacy-billing", name: "invoice-renderer" });
    const result = sim.run();
    assert.equal(result.stage, "Completed", sim.status?.message);
    checkCompleted(result);
    assert.deepEqual(ofType(sim.applied, "removeRevision"), [
      { type: "removeRevision", revision: FROM, how: "istioctl" },
    ]);
  });
});

describe("bugs the property tests found (each fixed in decide.ts)", () => {
  test("Adopt with the target installed beforehand: the prechecks do not call the target 'already running' it", () => {
    const sim = simulate(
      mesh({ namespaces: { shop: { "istio.io/rev": FROM } }, workloads: [{ namespace: "shop", name: "cart" }] }),
      {
        to: TARGET,
      },
    );
    sim.step();
    assert.notEqual(sim.stage, "Failed", sim.status?.message);
    assert.ok(!(sim.status?.findings ?? []).some((f) => f.id === "upgrade-same-version"));
    assert.equal(sim.run().stage, "Completed");
  });

  test("invariant 2: no restart (and no pod-template istio.io/rev) while the target's istiod is not Ready", () => {
    const world = mesh({
      namespaces: { tools: {} },
      workloads: [
        { namespace: "tools", name: "toolbox-a", labels: { "istio.io/rev": FROM } },
        { namespace: "tools", name: "toolbox-b", labels: { "istio.io/rev": FROM } },
      ],
    });
    const sim = simulate(world, { to: TARGET, dataPlane: { maxConcurrent: 1 } });
    // the second restart is decided in DataPlaneUpgrade, the first one finished
    runUntil(sim, () => ofType(sim.applied, "restart").length > 1);
    const step = sim.steps.find(
      (s) =>
        s.input.upgrade.status?.stage === "DataPlaneUpgrade" &&
        s.decision.writes.some((w) => w.type === "restart" && w.workload.name === "toolbox-b"),
    )!;
    // the same input, but the target's istiod lost its ready replica
    const snapshot = {
      ...step.input.snapshot,
      revisions: step.input.snapshot.revisions.map((r) => (r.name === TO ? { ...r, ready: false } : r)),
    };
    const decision = decide({ ...step.input, snapshot } satisfies EngineInput);
    assert.deepEqual(ofType(decision.writes, "restart"), []);
    assert.equal(decision.status.conditions?.find((c) => c.type === "Waiting")?.reason, "RevisionNotReady");
  });

  test("invariant 3: a rollback does not restart more workloads while forward restarts still roll", () => {
    // maxConcurrent 1: a-fast moves first and finishes; b-slow (3 replicas) is mid-rollout when Rollback comes
    const world = mesh({
      namespaces: { shop: { "istio.io/rev": FROM } },
      workloads: [
        { namespace: "shop", name: "a-fast" },
        { namespace: "shop", name: "b-slow", replicas: 3 },
      ],
    });
    const sim = simulate(world, { to: TARGET, dataPlane: { maxConcurrent: 1 } });
    runUntil(sim, () => ofType(sim.applied, "restart").some((w) => w.workload.name === "b-slow"));
    sim.step();
    sim.setAction("Rollback", "r1");
    const result = sim.run(); // the simulator checks the truth after every decision: at most one restart rolls
    assert.equal(result.stage, "RolledBack", sim.status?.message);
    checkRolledBack(result);
  });

  test("a rollback undoes the forward pass's surge of a single-replica gateway", () => {
    const world = mesh({
      namespaces: { "istio-ingress": {} },
      workloads: [{ namespace: "istio-ingress", name: "istio-ingressgateway", gateway: true, replicas: 1 }],
    });
    const sim = simulate(world, { to: TARGET });
    runUntil(sim, () => ofType(sim.applied, "scale").length > 0);
    sim.setAction("Rollback", "r1");
    const result = sim.run();
    assert.equal(result.stage, "RolledBack", sim.status?.message);
    const gateway = findWorldWorkload(result.world, {
      kind: "Deployment",
      namespace: "istio-ingress",
      name: "istio-ingressgateway",
    })!;
    assert.equal(gateway.replicas, 1);
    checkRolledBack(result);
  });

  test("invariant 3: a rollback brings canary gateways back one slot at a time (maxConcurrent 1)", () => {
    const world = mesh({
      namespaces: { "istio-ingress": {}, "istio-egress": {} },
      workloads: [
        { namespace: "istio-ingress", name: "istio-ingressgateway", gateway: true, replicas: 2 },
        { namespace: "istio-egress", name: "istio-egressgateway", gateway: true, replicas: 2 },
      ],
    });
    const sim = simulate(world, {
      to: TARGET,
      dataPlane: { maxConcurrent: 1, gateways: { strategy: "Canary" } },
      approval: { mode: "BeforeOffline" },
    });
    runUntil(sim, () => waiting(sim) === "WaitingForApproval");
    assert.equal(ofType(sim.applied, "createGatewayCanary").length, 2);
    sim.setAction("Rollback", "r1");
    const from = sim.steps.length;
    const result = sim.run();
    assert.equal(result.stage, "RolledBack", sim.status?.message);
    assert.equal(ofType(sim.applied, "deleteWorkload").length, 2, "both canaries removed");
    // one gateway is back (scaled up, its canary deleted) before the other is scaled up
    const order = sim.steps
      .slice(from)
      .flatMap((st) => st.decision.writes)
      .flatMap((w) =>
        w.type === "scale" && w.replicas > 0
          ? [`up ${w.workload.name}`]
          : w.type === "deleteWorkload"
            ? [`delete ${w.workload.name}`]
            : [],
      );
    const firstUp = order.findIndex((e) => e.startsWith("up "));
    const gateway = order[firstUp].slice(3);
    const otherUp = order.findIndex((e) => e.startsWith("up ") && e !== `up ${gateway}`);
    const canaryGone = order.indexOf(`delete ${gateway}-${TO}`);
    assert.ok(canaryGone >= 0 && canaryGone < otherUp, order.join(", "));
    checkRolledBack(result);
  });

  test("a surge lost in a crash is asked again: the single-replica gateway is not left waiting for it", () => {
    const world = mesh({
      namespaces: { "istio-ingress": {} },
      workloads: [{ namespace: "istio-ingress", name: "istio-ingressgateway", gateway: true, replicas: 1 }],
    });
    const sim = simulate(world, { to: TARGET });
    let lost = false;
    sim.loseWrite = (w) => (w.type === "scale" && !lost ? (lost = true) : false);
    const result = sim.run();
    assert.equal(result.stage, "Completed", sim.status?.message);
    assert.ok(lost);
    assert.deepEqual(
      ofType(sim.applied, "scale").map((w) => w.replicas),
      [2, 1],
    );
    checkCompleted(result);
  });

  test("invariant 5: paused in OldControlPlaneOffline, a Rollback is refused", () => {
    const world = mesh({
      namespaces: { shop: { "istio.io/rev": FROM } },
      workloads: [{ namespace: "shop", name: "cart" }],
    });
    const sim = simulate(world, { to: TARGET, decommission: { graceSeconds: 30 } });
    runUntil(sim, (s) => s.stage === "OldControlPlaneOffline");
    sim.setAction("Pause", "p1");
    runUntil(sim, (s) => s.stage === "Paused");
    sim.setAction("Rollback", "r1");
    sim.step();
    assert.equal(sim.stage, "Paused");
    const refusal = sim.status!.history!.findLast((h) => h.action === "action Rollback");
    assert.match(refusal?.reason ?? "", /^refused: rollback is possible only before OldControlPlaneOffline/);
    sim.setAction("Resume", "r2");
    assert.equal(sim.run().stage, "Completed", sim.status?.message);
  });

  test("a rollback decided on a cache that has not seen the relabel yet still restores the labels", () => {
    const world = mesh({
      namespaces: { shop: { "istio-injection": "enabled" } },
      workloads: [{ namespace: "shop", name: "cart" }],
    });
    const sim = simulate(world, { to: TARGET });
    runUntil(sim, () => ofType(sim.applied, "labelNamespace").length > 0);
    sim.setAction("Rollback", "r1");
    sim.forcedLag = 1; // the cache still shows istio-injection=enabled
    const result = sim.run();
    assert.equal(result.stage, "RolledBack", sim.status?.message);
    assert.deepEqual(labelsOf(result.world, "shop"), { "istio-injection": "enabled" });
    checkRolledBack(result);
  });

  test("a rollback decided on a cache that has not seen a forward restart yet still restarts it back", () => {
    // a namespace without labels: no relabel to undo first, the rollback goes straight to the restarts
    const world = mesh({
      namespaces: { tools: {} },
      workloads: [{ namespace: "tools", name: "toolbox", replicas: 2, labels: { "istio.io/rev": FROM } }],
    });
    const sim = simulate(world, { to: TARGET });
    runUntil(sim, () => ofType(sim.applied, "restart").length > 0);
    sim.setAction("Rollback", "r1");
    sim.forcedLag = 1; // the cache still shows the old template and its pods, all on the source
    const result = sim.run();
    assert.equal(result.stage, "RolledBack", sim.status?.message);
    checkRolledBack(result);
  });

  test("Manifests mode with the target there before the upgrade: a rollback leaves it in place", () => {
    const world = mesh({
      namespaces: { shop: { "istio.io/rev": FROM } },
      workloads: [{ namespace: "shop", name: "cart" }],
    });
    const sim = simulate(world, {
      to: TARGET,
      install: { mode: "Manifests", manifests: { configMapRef: { namespace: "istio-system", name: "m" } } },
    });
    runUntil(sim, () => ofType(sim.applied, "restart").length > 0);
    sim.setAction("Rollback", "r1");
    const result = sim.run();
    assert.equal(result.stage, "RolledBack", sim.status?.message);
    assert.match(sim.status!.message!, /was there before the upgrade and is left in place/);
    assert.deepEqual(
      sim.applied.filter((w) => w.type === "removeInstalled" || w.type === "removeRevision"),
      [],
    );
    assert.ok(result.world.revisions.some((r) => r.name === TO));
  });

  test("Manifests mode, the record of what was installed lost in a crash: a rollback removes the revision by its label", () => {
    const world = mesh({
      revisions: { [FROM]: "1.27.9" },
      namespaces: { shop: { "istio.io/rev": FROM } },
      workloads: [{ namespace: "shop", name: "cart" }],
    });
    const sim = simulate(world, {
      to: TARGET,
      install: { mode: "Manifests", manifests: { configMapRef: { namespace: "istio-system", name: "m" } } },
    });
    runUntil(sim, (s) => s.stage === "DataPlaneUpgrade");
    assert.equal(ofType(sim.applied, "install").length, 1);
    // the executor crashed before its second status write; the revision came up Ready meanwhile
    delete sim.status!.installedObjects;
    sim.setAction("Rollback", "r1");
    const result = sim.run();
    assert.equal(result.stage, "RolledBack", sim.status?.message);
    assert.deepEqual(ofType(sim.applied, "removeRevision"), [
      { type: "removeRevision", revision: TO, how: "istioctl" },
    ]);
    assert.ok(!result.world.revisions.some((r) => r.name === TO));
  });

  test("Manual mode in a namespace without labels: the user is told to set the template label, and a rollback restores it", () => {
    const world = mesh({
      namespaces: { tools: {} },
      workloads: [{ namespace: "tools", name: "toolbox", labels: { "istio.io/rev": "prod-stable" } }],
    });
    const ref = { kind: "Deployment", namespace: "tools", name: "toolbox" };
    const sim = simulate(world, { to: TARGET, dataPlane: { restart: "Manual" } });
    runUntil(sim, (s) => s.status?.progress?.workloads?.[0]?.state === "WaitingForUser");
    const progress = sim.status!.progress!.workloads![0];
    assert.equal(
      progress.message,
      `set istio.io/rev=${TO} on its pod template yourself, which restarts it (manual mode)`,
    );
    sim.userRestart(ref, TO);
    runUntil(sim, () => livePodsOn(sim.world, TO).length === 1);
    sim.setAction("Rollback", "r1");
    const result = sim.run();
    assert.equal(result.stage, "RolledBack", sim.status?.message);
    assert.equal(findWorldWorkload(result.world, ref)!.template.labels["istio.io/rev"], "prod-stable");
    checkRolledBack(result);
  });
});
