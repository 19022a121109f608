// fast-check arbitraries for decide(): meshes with the label mixes of the demo (istio-injection, istio.io/rev
// with a revision or a tag, both, none, disabled), every workload kind with pods on the source revision,
// PDBs, gateways (single-replica ones too), tags, a target revision installed or not; specs that are valid
// for the mesh they go with; invalid specs with the reason they must be refused for; and whole scenarios.
import fc from "fast-check";
import type { Labels } from "../../mesh/kube-types.js";
import type { MeshSnapshot } from "../../mesh/schema.js";
import { revisionName } from "../../catalog/version.js";
import { decide } from "./decide.js";
import type { EngineInput } from "./types.js";
import {
  Simulation,
  snapshotOf,
  type ChaosOptions,
  type MeshWorld,
  type Scenario,
  type WorldKind,
  type WorldPod,
  type WorldWorkload,
} from "./test-support.js";

/** Source versions and the targets a canary upgrade may reach from them (patch, minor, skipping one minor). */
export const PATHS: { from: string; to: string[] }[] = [
  { from: "1.27.9", to: ["1.28.10", "1.29.6", "1.28"] },
  { from: "1.27.5", to: ["1.27.9", "1.28.10"] },
  { from: "1.28.2", to: ["1.28.10", "1.29.6"] },
];

export type NamespaceMode =
  /** istio-injection=enabled: the default revision injects */
  | "injection"
  /** istio.io/rev=<source revision> */
  | "rev"
  /** istio.io/rev=prod-stable (a tag on the source) */
  | "tag"
  /** both labels (IST0123): istio-injection wins */
  | "both"
  /** istio.io/rev=default (the default tag) */
  | "default-tag"
  /** no injection label: each pod's labels decide */
  | "per-pod"
  /** istio-injection=disabled, with proxies injected earlier or by kube-inject */
  | "disabled";

interface WorkloadChoice {
  kind: WorldKind;
  replicas: number;
  team: "a" | "b";
  /** per-pod namespaces: the pod label that selects the revision */
  podLabel: "rev" | "tag" | "inject" | "none";
  /** disabled namespaces: kube-injected template (else: injected before injection was disabled) */
  manualProxy: boolean;
  jobSeconds: number;
}

interface NamespaceChoice {
  mode: NamespaceMode;
  team: "a" | "b" | null;
  workloads: WorkloadChoice[];
  pdb: boolean;
}

interface GatewayChoice {
  pinned: boolean;
  replicas: number;
  inAppNamespace: boolean;
}

export interface WorldChoice {
  path: number;
  defaultTag: boolean;
  prodStable: boolean;
  target: "absent" | "installed" | "ready";
  namespaces: NamespaceChoice[];
  gateways: GatewayChoice[];
}

const workloadChoice: fc.Arbitrary<WorkloadChoice> = fc.record({
  kind: fc.constantFrom<WorldKind>("Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "Job", "Pod"),
  replicas: fc.integer({ min: 1, max: 3 }),
  team: fc.constantFrom("a" as const, "b" as const),
  podLabel: fc.constantFrom("rev" as const, "tag" as const, "inject" as const, "none" as const),
  manualProxy: fc.boolean(),
  jobSeconds: fc.integer({ min: 5, max: 90 }),
});

const namespaceChoice: fc.Arbitrary<NamespaceChoice> = fc.record({
  mode: fc.constantFrom<NamespaceMode>("injection", "rev", "rev", "tag", "both", "default-tag", "per-pod", "disabled"),
  team: fc.constantFrom("a" as const, "b" as const, null),
  workloads: fc.array(workloadChoice, { minLength: 0, maxLength: 3 }),
  pdb: fc.boolean(),
});

export const worldChoice: fc.Arbitrary<WorldChoice> = fc.record({
  path: fc.integer({ min: 0, max: PATHS.length - 1 }),
  defaultTag: fc.boolean(),
  prodStable: fc.boolean(),
  target: fc.constantFrom("absent" as const, "absent" as const, "installed" as const, "ready" as const),
  namespaces: fc.array(namespaceChoice, { minLength: 1, maxLength: 5 }),
  gateways: fc.array(
    fc.record({ pinned: fc.boolean(), replicas: fc.integer({ min: 1, max: 2 }), inAppNamespace: fc.boolean() }),
    { maxLength: 2 },
  ),
});

const NAMESPACE_NAMES = ["bookinfo", "shop", "payments", "orders", "legacy-crm", "tools", "inventory", "billing"];
export const TAG = "prod-stable";

function injectedPods(
  w: WorldWorkload,
  count: number,
  revision: string | null,
  version: string | null,
  finishAt?: number,
): WorldPod[] {
  const pods: WorldPod[] = [];
  for (let i = 0; i < count; i++) {
    const name =
      w.kind === "Deployment"
        ? `${w.name}-t1-${i}`
        : w.kind === "StatefulSet"
          ? `${w.name}-${i}`
          : w.kind === "Pod"
            ? w.name
            : `${w.name}-${i}`;
    pods.push({
      name,
      templateVersion: 1,
      revision,
      version,
      ready: true,
      phase: "Running",
      ...(finishAt !== undefined ? { finishAt } : {}),
    });
  }
  w.podSerial = count;
  return pods;
}

/** A mesh at rest on the source revision: every rollout finished, every pod on what its labels select. */
export function buildWorld(choice: WorldChoice): MeshWorld {
  const path = PATHS[choice.path];
  const from = revisionName(path.from);
  const world: MeshWorld = {
    kubernetesVersion: "1.31",
    now: Date.parse("2026-08-22T10:00:00Z"),
    revisions: [{ name: from, version: path.from, ready: true, webhook: true }],
    tags: [],
    namespaces: [],
    workloads: [],
    pdbs: [],
    otherUpgrades: [],
  };
  const needsDefault =
    choice.defaultTag ||
    choice.namespaces.some((n) => ["injection", "both", "default-tag"].includes(n.mode)) ||
    choice.gateways.some((g) => !g.pinned);
  const needsTag = choice.prodStable || choice.namespaces.some((n) => n.mode === "tag" || n.mode === "both");
  if (needsDefault) world.tags.push({ name: "default", revision: from });
  if (needsTag) world.tags.push({ name: TAG, revision: from });
  const to = path.to[0].split(".").length === 3 ? path.to[0] : null;
  if (choice.target !== "absent" && to)
    world.revisions.push({
      name: revisionName(to),
      version: to,
      ready: choice.target === "ready",
      webhook: true,
      // an istiod installed beforehand is starting: it becomes Ready by itself
      ...(choice.target === "installed" ? { readyAt: world.now + 20_000 } : {}),
    });

  const forced = new Map<WorldWorkload, boolean>();
  choice.namespaces.forEach((nc, i) => {
    const name = NAMESPACE_NAMES[i];
    const labels: Labels = nc.team ? { team: nc.team } : {};
    if (nc.mode === "injection") labels["istio-injection"] = "enabled";
    if (nc.mode === "rev") labels["istio.io/rev"] = from;
    if (nc.mode === "tag") labels["istio.io/rev"] = TAG;
    if (nc.mode === "both") Object.assign(labels, { "istio-injection": "enabled", "istio.io/rev": TAG });
    if (nc.mode === "default-tag") labels["istio.io/rev"] = "default";
    if (nc.mode === "disabled") labels["istio-injection"] = "disabled";
    world.namespaces.push({ name, labels });
    nc.workloads.forEach((wc, j) => {
      const podLabels: Labels = { app: `${name}-w${j}`, team: wc.team };
      if (nc.mode === "per-pod") {
        if (wc.podLabel === "rev") podLabels["istio.io/rev"] = from;
        if (wc.podLabel === "tag" && needsTag) podLabels["istio.io/rev"] = TAG;
        if (wc.podLabel === "inject" && needsDefault) podLabels["sidecar.istio.io/inject"] = "true";
      }
      const w: WorldWorkload = {
        kind: wc.kind,
        namespace: name,
        name: wc.kind === "Pod" ? `${name}-debug-${j}` : `${name}-w${j}`,
        replicas: wc.kind === "Pod" || wc.kind === "Job" ? 1 : wc.replicas,
        template: {
          labels: podLabels,
          annotations: {},
          gateway: false,
          manualProxy:
            nc.mode === "disabled" && wc.manualProxy && wc.kind !== "Job" && wc.kind !== "Pod"
              ? { revision: from, version: path.from }
              : null,
        },
        generation: 1,
        observedGeneration: 1,
        templateVersion: 1,
        pods: [],
        podSerial: 0,
        changedBy: null,
      };
      world.workloads.push(w);
      // pods of a disabled namespace were injected before injection was turned off
      forced.set(w, nc.mode === "disabled");
    });
    if (nc.pdb)
      world.pdbs.push({ namespace: name, name: `${name}-team-a`, matchLabels: { team: "a" }, maxUnavailable: 1 });
  });
  choice.gateways.forEach((g, i) => {
    // a gateway beside the apps sits in a namespace whose label injects; else in its own unlabelled one
    const injecting = choice.namespaces.findIndex((n) => !["per-pod", "disabled"].includes(n.mode));
    const namespace =
      g.inAppNamespace && injecting >= 0 ? NAMESPACE_NAMES[injecting] : i === 0 ? "istio-ingress" : "istio-egress";
    if (!world.namespaces.some((n) => n.name === namespace)) world.namespaces.push({ name: namespace, labels: {} });
    const name = i === 0 ? "istio-ingressgateway" : "istio-egressgateway";
    const labels: Labels = { app: name, istio: name.replace(/^istio-/, ""), "sidecar.istio.io/inject": "true" };
    if (g.pinned) labels["istio.io/rev"] = from;
    world.workloads.push({
      kind: "Deployment",
      namespace,
      name,
      replicas: g.replicas,
      template: {
        labels,
        annotations: { "inject.istio.io/templates": "gateway", "sidecar.istio.io/inject": "true" },
        gateway: true,
        manualProxy: null,
      },
      generation: 1,
      observedGeneration: 1,
      templateVersion: 1,
      pods: [],
      podSerial: 0,
      changedBy: null,
    });
  });

  // every pod got what the injection rules gave when it was created (the read model evaluates the webhooks)
  const skeleton = snapshotOf(world);
  for (const w of world.workloads) {
    const view = skeleton.workloads.find((v) => v.kind === w.kind && v.namespace === w.namespace && v.name === w.name);
    let revision: string | null = null;
    if (w.template.manualProxy || forced.get(w)) revision = from;
    else if (view?.restart.outcome === "injected") revision = view.restart.revision;
    const version = revision ? (world.revisions.find((r) => r.name === revision)?.version ?? null) : null;
    const finishAt = w.kind === "Job" ? world.now + 30_000 : undefined;
    w.pods = injectedPods(w, w.replicas, revision, version, finishAt);
  }
  return world;
}

export const worldArb: fc.Arbitrary<MeshWorld> = worldChoice.map(buildWorld);

// ------------------------------------------------------------------------------ specs

export interface SpecChoice {
  target: number;
  explicitRevision: boolean;
  explicitFrom: boolean;
  install: "Adopt" | "Manifests" | "Sail";
  selection: "all" | "names" | "exclude" | "selector";
  pickMask: number;
  waves: "none" | "size" | "explicit";
  size: number;
  canary: boolean;
  order: boolean;
  maxConcurrent: number;
  restart: "Automatic" | "Automatic2" | "Manual";
  revisionTag: "none" | "move" | "relabel";
  approval: "None" | "BeforeOffline" | "PerWave";
  decommission: "Automatic" | "Automatic2" | "Manual";
  graceSeconds: number;
  nakedPods: "List" | "Delete";
  gatewaysInclude: boolean;
  surge: boolean;
  canaryGateways: boolean;
  minReadySeconds: number;
  onFailure: "Pause" | "Rollback";
  shortTimeout: boolean;
}

export const specChoice: fc.Arbitrary<SpecChoice> = fc.record({
  target: fc.nat(),
  explicitRevision: fc.boolean(),
  explicitFrom: fc.boolean(),
  install: fc.constantFrom("Adopt" as const, "Manifests" as const, "Sail" as const),
  selection: fc.constantFrom("all" as const, "all" as const, "names" as const, "exclude" as const, "selector" as const),
  pickMask: fc.nat(),
  waves: fc.constantFrom("none" as const, "size" as const, "explicit" as const),
  size: fc.integer({ min: 1, max: 3 }),
  canary: fc.boolean(),
  order: fc.boolean(),
  maxConcurrent: fc.integer({ min: 1, max: 4 }),
  restart: fc.constantFrom("Automatic" as const, "Automatic2" as const, "Manual" as const),
  revisionTag: fc.constantFrom("none" as const, "move" as const, "relabel" as const),
  approval: fc.constantFrom("None" as const, "BeforeOffline" as const, "PerWave" as const),
  decommission: fc.constantFrom("Automatic" as const, "Automatic2" as const, "Manual" as const),
  graceSeconds: fc.integer({ min: 0, max: 10 }),
  nakedPods: fc.constantFrom("List" as const, "Delete" as const),
  gatewaysInclude: fc.boolean(),
  surge: fc.boolean(),
  canaryGateways: fc.boolean(),
  minReadySeconds: fc.integer({ min: 0, max: 8 }),
  onFailure: fc.constantFrom("Pause" as const, "Rollback" as const),
  shortTimeout: fc.boolean(),
});

/** Namespaces on the source revision (validate.ts: injection or proxies on it). */
export function meshNamespaces(snapshot: MeshSnapshot, from: string): string[] {
  return snapshot.namespaces
    .filter((ns) => ns.injection.revision === from || (ns.proxiesByRevision[from] ?? 0) > 0)
    .map((ns) => ns.name);
}

/** A spec meant to be valid for the world (a few still fail prechecks, which is a case of its own). */
export function buildSpec(world: MeshWorld, c: SpecChoice, snapshot = snapshotOf(world)): Record<string, any> {
  const source = world.revisions[0];
  const path = PATHS.find((p) => p.from === source.version)!;
  const installed = world.revisions.length > 1;
  // a target installed beforehand is the first of the path's targets (see buildWorld)
  const version = installed ? path.to[0] : path.to[c.target % path.to.length];
  const spec: Record<string, any> = { to: { version } };
  if (c.explicitRevision && !installed && version.split(".").length === 3)
    spec.to.revision = `${revisionName(version)}-canary`;
  if (c.explicitFrom) spec.from = source.name;
  if (c.install === "Manifests")
    spec.install = {
      mode: "Manifests",
      manifests: { configMapRef: { namespace: "istio-system", name: "istio-manifests" } },
    };
  if (c.install === "Sail") spec.install = { mode: "Sail" };

  const inMesh = meshNamespaces(snapshot, source.name).sort();
  let selected = inMesh;
  const dp: Record<string, any> = {};
  const mask = (i: number) => ((c.pickMask >> i) & 1) === 1;
  if (c.selection === "names" && inMesh.length > 0) {
    const names = inMesh.filter((_, i) => mask(i));
    selected = names.length > 0 ? names : [inMesh[0]];
    dp.namespaces = { names: selected };
  } else if (c.selection === "exclude" && inMesh.length > 1) {
    const excluded = inMesh[c.pickMask % inMesh.length];
    selected = inMesh.filter((n) => n !== excluded);
    dp.namespaces = { exclude: [excluded] };
  } else if (c.selection === "selector") {
    const team = mask(0) ? "a" : "b";
    const matching = inMesh.filter((n) => world.namespaces.find((x) => x.name === n)?.labels.team === team);
    if (matching.length > 0) {
      selected = matching;
      dp.namespaces = { selector: { matchLabels: { team } } };
    }
  }
  const tag = world.tags.find((t) => t.name === TAG);
  if (tag && c.revisionTag !== "none") {
    const tagged = world.namespaces.filter((n) => n.labels["istio.io/rev"] === TAG).map((n) => n.name);
    const dragged = tagged.some((n) => !selected.includes(n));
    dp.revisionTag = { name: TAG, moveInsteadOfRelabel: c.revisionTag === "move" && !dragged };
  }
  if (c.waves === "explicit" && selected.length > 0) {
    const waves: string[][] = [];
    selected.forEach((n, i) => {
      if (i === 0 || mask(i + 8)) waves.push([n]);
      else waves[waves.length - 1].push(n);
    });
    dp.waves = { explicit: waves };
  } else {
    if (c.waves === "size") dp.waves = { size: c.size };
    if (c.canary && selected.length > 1) dp.canary = [selected[selected.length - 1]];
    if (c.order && selected.length > 2) dp.order = [selected[1]];
  }
  dp.maxConcurrent = c.maxConcurrent;
  // a short rollout timeout makes slow worlds fail workloads: Pause, Resume and retries get exercised
  if (c.shortTimeout) dp.rolloutTimeoutSeconds = 15;
  if (c.restart === "Manual") dp.restart = "Manual";
  if (c.nakedPods === "Delete") dp.nakedPods = "Delete";
  if (!c.gatewaysInclude || !c.surge || c.canaryGateways)
    dp.gateways = {
      include: c.gatewaysInclude,
      surgeSingleReplica: c.surge,
      ...(c.canaryGateways ? { strategy: "Canary" } : {}),
    };
  spec.dataPlane = dp;
  if (c.approval !== "None") spec.approval = { mode: c.approval };
  spec.verification = { healthGate: { minReadySeconds: c.minReadySeconds }, onFailure: c.onFailure };
  spec.decommission = { mode: c.decommission === "Manual" ? "Manual" : "Automatic", graceSeconds: c.graceSeconds };
  return spec;
}

// ------------------------------------------------------------------------------ invalid specs

export interface InvalidCase {
  /** what is wrong, for the test's name in a counterexample */
  kind: string;
  spec: unknown;
  /** text the refusal must contain (the field or the reason) */
  expect: RegExp;
  /** what the cluster shows differently (a Kubernetes version the target does not support, a first upgrade) */
  snapshot?: (s: MeshSnapshot) => MeshSnapshot;
}

/** Another MeshUpgrade, older than the one under test, in the given stage. */
function withUpgrade(s: MeshSnapshot, stage: string | null): MeshSnapshot {
  const first = {
    name: "first-upgrade",
    createdAt: "2026-08-01T00:00:00Z",
    stage,
    targetVersion: "1.28.10",
    targetRevision: null,
  };
  return { ...s, upgrades: [...s.upgrades, first] };
}

/** Turns a valid spec into an invalid one; each case says what the refusal must name. */
export function invalidCases(world: MeshWorld, valid: Record<string, any>): InvalidCase[] {
  const source = world.revisions[0];
  const names = world.namespaces.map((n) => n.name);
  const with_ = (patch: (s: Record<string, any>) => void): Record<string, any> => {
    const s = structuredClone(valid);
    s.dataPlane ??= {};
    patch(s);
    return s;
  };
  const first = names[0] ?? "bookinfo";
  // the source named explicitly: with a new target, auto-detection could stop first at "several revisions"
  const retarget = (to: Record<string, string>) =>
    with_((s) => {
      s.to = to;
      s.from = source.name;
    });
  return [
    {
      kind: "unknown version",
      spec: retarget({ version: "1.99.0" }),
      expect: /spec\.to\.version.*(not in the release catalog|unknown|not)/,
    },
    { kind: "not a version", spec: retarget({ version: "banana" }), expect: /spec\.to\.version/ },
    { kind: "downgrade", spec: retarget({ version: "1.26.8" }), expect: /spec\.to\.version.*downgrade/ },
    {
      kind: "too far",
      spec: retarget({ version: source.version.startsWith("1.27") ? "1.30.3" : "1.31.0-rc.0" }),
      expect: /spec\.to\.version/,
    },
    {
      kind: "same version",
      spec: retarget({ version: source.version, revision: `${source.name}-b` }),
      expect: /spec\.to\.version|already/,
    },
    {
      kind: "missing namespace",
      spec: with_((s) => (s.dataPlane.namespaces = { names: ["no-such-namespace"] })),
      expect: /spec\.dataPlane\.namespaces\.names\[0\].*does not exist/,
    },
    {
      kind: "missing canary namespace",
      spec: with_((s) => {
        delete s.dataPlane.waves;
        s.dataPlane.canary = ["nope"];
      }),
      expect: /spec\.dataPlane\.canary\[0\].*does not exist/,
    },
    {
      kind: "empty wave",
      spec: with_((s) => {
        delete s.dataPlane.canary;
        delete s.dataPlane.order;
        s.dataPlane.waves = { explicit: [[], ...(s.dataPlane.waves?.explicit ?? [])] };
      }),
      expect: /spec\.dataPlane\.waves\.explicit/,
    },
    {
      kind: "namespace in two waves",
      spec: with_((s) => {
        delete s.dataPlane.canary;
        delete s.dataPlane.order;
        s.dataPlane.waves = { explicit: [[first], [first]] };
      }),
      expect: /spec\.dataPlane\.waves\.explicit/,
    },
    {
      kind: "explicit and size",
      spec: with_((s) => (s.dataPlane.waves = { explicit: [[first]], size: 2 })),
      expect: /spec\.dataPlane\.waves.*explicit and size/,
    },
    {
      kind: "maxConcurrent 0",
      spec: with_((s) => (s.dataPlane.maxConcurrent = 0)),
      expect: /spec\.dataPlane\.maxConcurrent/,
    },
    {
      kind: "maxConcurrent negative",
      spec: with_((s) => (s.dataPlane.maxConcurrent = -3)),
      expect: /spec\.dataPlane\.maxConcurrent/,
    },
    {
      kind: "maxConcurrent fraction",
      spec: with_((s) => (s.dataPlane.maxConcurrent = 1.5)),
      expect: /spec\.dataPlane\.maxConcurrent/,
    },
    {
      kind: "maxConcurrent text",
      spec: with_((s) => (s.dataPlane.maxConcurrent = "3")),
      expect: /spec\.dataPlane\.maxConcurrent/,
    },
    {
      kind: "names and all",
      spec: with_((s) => (s.dataPlane.namespaces = { names: [first], all: true })),
      expect: /spec\.dataPlane\.namespaces.*at most one/,
    },
    {
      kind: "manifests without Manifests mode",
      spec: with_(
        (s) => (s.install = { mode: "Adopt", manifests: { configMapRef: { namespace: "istio-system", name: "m" } } }),
      ),
      expect: /spec\.install\.manifests/,
    },
    { kind: "Resume before it started", spec: with_((s) => (s.action = "Resume")), expect: /spec\.action.*not paused/ },
    { kind: "nonce without action", spec: with_((s) => (s.actionNonce = "x1")), expect: /spec\.actionNonce/ },
    {
      kind: "unknown tag",
      spec: with_((s) => (s.dataPlane.revisionTag = { name: "no-such-tag" })),
      expect: /spec\.dataPlane\.revisionTag\.name.*does not exist/,
    },
    {
      kind: "canary with explicit waves",
      spec: with_((s) => {
        s.dataPlane.waves = { explicit: [[first]] };
        s.dataPlane.canary = [first];
      }),
      expect: /spec\.dataPlane\.(canary|waves)/,
    },
    {
      kind: "unknown field",
      spec: with_((s) => (s.dataplane = { maxConcurrent: 2 })),
      expect: /spec\.dataplane.*did you mean "dataPlane"/,
    },
    { kind: "unknown source", spec: with_((s) => (s.from = "1-0-0")), expect: /spec\.from.*not installed/ },
    {
      kind: "Kubernetes too old for the target",
      spec: retarget({ version: "1.29.6" }),
      expect: /spec\.to\.version.*Kubernetes|Kubernetes.*1\.29/,
      snapshot: (s) => ({ ...s, kubernetesVersion: "1.29" }),
    },
    {
      kind: "second concurrent upgrade",
      spec: valid,
      expect: /metadata\.name.*"first-upgrade" is already active/,
      snapshot: (s) => withUpgrade(s, "DataPlaneUpgrade"),
    },
    {
      kind: "second upgrade, the other one older and not started",
      spec: valid,
      expect: /metadata\.name.*"first-upgrade"/,
      snapshot: (s) => withUpgrade(s, null),
    },
  ];
}

// ------------------------------------------------------------------------------ scenarios

export const chaosArb = (kind: "chaotic" | "cooperative" | "calm"): fc.Arbitrary<ChaosOptions> =>
  fc.record({
    crashRate: kind === "calm" ? fc.constant(0) : fc.constantFrom(0, 0.05, 0.2),
    maxLag: kind === "calm" ? fc.constant(0) : fc.integer({ min: 0, max: 3 }),
    slowness: kind === "calm" ? fc.constant(0) : fc.constantFrom(0, 0.3, 0.6),
    chaoticUsers: fc.constant(kind === "chaotic"),
  });

export function scenarioArb(
  kind: "chaotic" | "cooperative" | "calm",
  options: { maxTicks: number; rollback?: boolean } = { maxTicks: 400 },
): fc.Arbitrary<Scenario> {
  return fc
    .record({
      world: worldArb,
      spec: specChoice,
      seed: fc.integer(),
      chaos: chaosArb(kind),
      rollbackAt: fc.integer({ min: 1, max: 60 }),
    })
    .map(({ world, spec, seed, chaos, rollbackAt }) => {
      const scenario: Scenario = {
        world,
        spec: buildSpec(world, spec),
        seed,
        chaos: options.rollback ? { ...chaos, rollbackAtTick: rollbackAt } : chaos,
        maxTicks: options.maxTicks,
      };
      // a counterexample reads as the mesh and spec, not as every generated object
      Object.defineProperty(scenario, fc.toStringMethod, {
        value: () => describeScenario(scenario),
        enumerable: false,
      });
      return scenario;
    });
}

/** The scenario in a few lines: spec, chaos, namespaces with labels, workloads with replicas and revisions. */
export function describeScenario(s: Scenario): string {
  const w = s.world;
  const lines = [
    `seed ${s.seed}; chaos ${JSON.stringify(s.chaos)}`,
    `spec ${JSON.stringify(s.spec)}`,
    `revisions ${w.revisions.map((r) => `${r.name}@${r.version}${r.ready ? "" : " (not ready)"}`).join(", ")}; tags ${w.tags.map((t) => `${t.name}→${t.revision}`).join(", ") || "none"}`,
    ...w.namespaces.map((n) => `namespace ${n.name} ${JSON.stringify(n.labels)}`),
    ...w.workloads.map(
      (x) =>
        `  ${x.kind} ${x.namespace}/${x.name} ×${x.replicas} ${JSON.stringify(x.template.labels)}${x.template.gateway ? " gateway" : ""}${x.template.manualProxy ? " kube-injected" : ""} pods on ${[...new Set(x.pods.map((p) => p.revision ?? "none"))].join(",")}`,
    ),
    ...w.pdbs.map((p) => `pdb ${p.namespace}/${p.name} ${JSON.stringify(p.matchLabels)}`),
  ];
  return lines.join("\n");
}

// ------------------------------------------------------------------------------ reached states

/**
 * Inputs decide() really meets: every reconcile of chaotic simulations (stale caches, crashes, users
 * acting at random), so statuses in every stage — Paused, waiting for approval, rolling back, offline.
 * Sampled once with a fixed seed; properties draw from it.
 */
export function reachedInputs(simulations: number, seed: number): EngineInput[] {
  const inputs: EngineInput[] = [];
  for (const scenario of fc.sample(scenarioArb("chaotic", { maxTicks: 150 }), { numRuns: simulations, seed })) {
    const sim = new Simulation(scenario);
    sim.keepSteps = Infinity;
    sim.run();
    // and a few reconciles after the end, where only actions are answered
    for (let i = 0; i < 3; i++) sim.step();
    for (const step of sim.steps) inputs.push(step.input);
  }
  // users pause at any stage, the offline one too (rare at random): add what a Pause there leads to
  for (const input of inputs.filter((i) => i.upgrade.status?.stage === "OldControlPlaneOffline")) {
    const spec = { ...(input.upgrade.spec as Record<string, unknown>), action: "Pause", actionNonce: "pause-offline" };
    const upgrade = { ...input.upgrade, spec, generation: input.upgrade.generation + 1 };
    inputs.push({ ...input, upgrade: { ...upgrade, status: decide({ ...input, upgrade }).status } });
  }
  return inputs;
}

/** One of the reached inputs; a counterexample shows its index in the pool and its stage, not the whole input. */
export function reachedInputArb(pool: readonly EngineInput[]): fc.Arbitrary<ReachedInput> {
  return fc.nat({ max: pool.length - 1 }).map((index) => new ReachedInput(index, pool[index]));
}

export class ReachedInput {
  constructor(
    readonly index: number,
    readonly input: EngineInput,
  ) {}

  toString(): string {
    return `reached input #${this.index} (stage ${this.input.upgrade.status?.stage ?? "Pending"})`;
  }

  [fc.toStringMethod](): string {
    return this.toString();
  }
}
