// Test support for decide(): a small pure "world" — the plain Kubernetes and Istio objects a mesh is
// made of — that the engine's writes change and that simulated controllers move on, plus a driver that
// runs decide() step by step against it the way the reconciler and executor do (status recorded before
// the writes, crashes between them, a cache that lags, users that act), and the DESIGN.md invariants
// as checks over every decision. Tests only; nothing here reaches a cluster.
import { emptySnapshotInput } from "../../mesh/snapshot.js";
import { loadFixture } from "../../mesh/test-support.js";
import { buildSnapshot, type SnapshotInput } from "../../mesh/snapshot.js";
import { proxiesOnRevision } from "../../mesh/stragglers.js";
import type {
  Labels,
  PodDisruptionBudgetLike,
  PodLike,
  WebhookConfigurationLike,
  WorkloadObjectLike,
} from "../../mesh/kube-types.js";
import type { MeshSnapshot } from "../../mesh/schema.js";
import { builtinCatalog, type Catalog } from "../../catalog/catalog.js";
import {
  TERMINAL_STAGES,
  meshUpgradeSpecSchema,
  meshUpgradeStatusSchema,
  type HistoryEntry,
  type MeshUpgradeSpec,
  type MeshUpgradeStatus,
  type UpgradeAction,
  type UpgradeStage,
} from "../api/schema.js";
import { newGateStatus } from "../gates/analysis.js";
import type { GateNext } from "../gates/index.js";
import type { GateStatus } from "../gates/status.js";
import { decide } from "./decide.js";
import {
  RESTARTED_AT_ANNOTATION,
  RESTART_TOKEN_ANNOTATION,
  workloadKey,
  type Decision,
  type EngineInput,
  type FreshCheck,
  type InstallObservation,
  type WorkloadRef,
  type WriteAction,
} from "./types.js";

export const catalog: Catalog = builtinCatalog();

// ------------------------------------------------------------------------------ the world

export interface WorldRevision {
  name: string;
  version: string;
  /** istiod has its replica ready */
  ready: boolean;
  /** the injector MutatingWebhookConfiguration exists */
  webhook: boolean;
  /** an install in progress becomes ready at this time */
  readyAt?: number;
  /** installed as a Sail IstioRevision */
  sail?: boolean;
}

export interface WorldTag {
  name: string;
  revision: string;
}

export interface WorldNamespace {
  name: string;
  labels: Labels;
}

export type WorldKind = "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "Pod";

export interface WorldPod {
  name: string;
  /** the template version the pod was made from */
  templateVersion: number;
  /** revision whose injector added its proxy (null: no proxy) */
  revision: string | null;
  version: string | null;
  ready: boolean;
  phase: "Running" | "Succeeded";
  /** Job pods finish at this time */
  finishAt?: number;
}

export interface WorldTemplate {
  labels: Labels;
  annotations: Labels;
  /** an istio/gateway chart gateway: istio-proxy image "auto", gateway injection template */
  gateway: boolean;
  /** istioctl kube-inject: the template itself carries this revision's proxy, so restarts keep it */
  manualProxy: { revision: string; version: string } | null;
}

export interface WorldWorkload {
  kind: WorldKind;
  namespace: string;
  name: string;
  replicas: number;
  template: WorldTemplate;
  /** metadata.generation: any spec change */
  generation: number;
  observedGeneration: number;
  /** bumped by template changes only (the pod-template-hash of a ReplicaSet) */
  templateVersion: number;
  pods: WorldPod[];
  podSerial: number;
  /** who made the last template change: a workload meshlift restarted whose rollout runs is "mid-restart" */
  changedBy: "meshlift" | "user" | null;
}

export interface WorldPdb {
  namespace: string;
  name: string;
  matchLabels: Labels;
  maxUnavailable?: number;
  minAvailable?: number;
}

export interface OtherUpgrade {
  name: string;
  createdAt: string;
  stage: string | null;
}

export interface MeshWorld {
  kubernetesVersion: string;
  /** ms since the epoch */
  now: number;
  revisions: WorldRevision[];
  tags: WorldTag[];
  namespaces: WorldNamespace[];
  workloads: WorldWorkload[];
  pdbs: WorldPdb[];
  otherUpgrades: OtherUpgrade[];
}

export const HUB = "gcr.io/istio-release";
export const STATUS_ANNOTATION = "sidecar.istio.io/status";

const statusAnnotations = new Map<string, string>();

function statusAnnotation(revision: string): string {
  let text = statusAnnotations.get(revision);
  if (text === undefined) statusAnnotations.set(revision, (text = injectionStatus(revision)));
  return text;
}

function injectionStatus(revision: string): string {
  // SidecarInjectionStatus as istiod writes it (istio-facts §1.2)
  return JSON.stringify({
    initContainers: ["istio-init"],
    containers: ["istio-proxy"],
    volumes: null,
    imagePullSecrets: null,
    revision,
  });
}

export function cloneWorld(world: MeshWorld): MeshWorld {
  return structuredClone(world);
}

export function findWorldWorkload(world: MeshWorld, ref: WorkloadRef): WorldWorkload | undefined {
  return world.workloads.find((w) => w.kind === ref.kind && w.namespace === ref.namespace && w.name === ref.name);
}

function revisionOf(world: MeshWorld, name: string): WorldRevision | undefined {
  return world.revisions.find((r) => r.name === name);
}

/** Live pods whose proxy runs `revision`, anywhere in the world (the truth, not any snapshot). */
export function livePodsOn(world: MeshWorld, revision: string): string[] {
  const out: string[] = [];
  for (const w of world.workloads)
    for (const p of w.pods) if (p.phase === "Running" && p.revision === revision) out.push(`${w.namespace}/${p.name}`);
  return out;
}

// ------------------------------------------------------------------------------ building worlds by hand

export interface WorkloadSketch {
  kind?: WorldKind;
  namespace: string;
  name: string;
  replicas?: number;
  labels?: Labels;
  /** an istio/gateway chart gateway (istio-proxy image "auto", gateway template) */
  gateway?: boolean;
  /** istioctl kube-inject: the template carries the source revision's proxy */
  manualProxy?: boolean;
  /** the revision its pods run now; default: what the labels select */
  podsOn?: string | null;
}

export interface WorldSketch {
  /** installed revisions, the source first: name → version */
  revisions: Record<string, string>;
  /** tag → revision */
  tags?: Record<string, string>;
  namespaces: Record<string, Labels>;
  workloads: WorkloadSketch[];
  pdbs?: WorldPdb[];
  /** revisions installed but not (yet) Ready */
  notReady?: string[];
  kubernetesVersion?: string;
}

/** A world at rest from a sketch: every rollout finished, every pod injected by what its labels select. */
export function sketchWorld(sketch: WorldSketch): MeshWorld {
  const world: MeshWorld = {
    kubernetesVersion: sketch.kubernetesVersion ?? "1.31",
    now: Date.parse("2026-08-22T10:00:00Z"),
    revisions: Object.entries(sketch.revisions).map(([name, version]) => ({
      name,
      version,
      ready: !(sketch.notReady ?? []).includes(name),
      webhook: true,
    })),
    tags: Object.entries(sketch.tags ?? {}).map(([name, revision]) => ({ name, revision })),
    namespaces: Object.entries(sketch.namespaces).map(([name, labels]) => ({ name, labels: { ...labels } })),
    workloads: [],
    pdbs: sketch.pdbs ?? [],
    otherUpgrades: [],
  };
  const [source] = world.revisions;
  for (const w of sketch.workloads) {
    const labels: Labels = { app: w.name, ...(w.labels ?? {}) };
    if (w.gateway) Object.assign(labels, { istio: w.name.replace(/^istio-/, ""), "sidecar.istio.io/inject": "true" });
    world.workloads.push({
      kind: w.kind ?? "Deployment",
      namespace: w.namespace,
      name: w.name,
      replicas: w.replicas ?? 1,
      template: {
        labels,
        annotations: w.gateway ? { "inject.istio.io/templates": "gateway", "sidecar.istio.io/inject": "true" } : {},
        gateway: w.gateway ?? false,
        manualProxy: w.manualProxy ? { revision: source.name, version: source.version } : null,
      },
      generation: 1,
      observedGeneration: 1,
      templateVersion: 1,
      pods: [],
      podSerial: 0,
      changedBy: null,
    });
  }
  const skeleton = snapshotOf(world);
  world.workloads.forEach((w, i) => {
    const given = sketch.workloads[i].podsOn;
    const view = skeleton.workloads.find((v) => v.kind === w.kind && v.namespace === w.namespace && v.name === w.name);
    const revision =
      given !== undefined
        ? given
        : w.template.manualProxy
          ? source.name
          : view?.restart.outcome === "injected"
            ? view.restart.revision
            : null;
    const version = revision ? (world.revisions.find((r) => r.name === revision)?.version ?? null) : null;
    for (let n = 0; n < w.replicas; n++) {
      const name = w.kind === "Pod" ? w.name : w.kind === "Deployment" ? `${w.name}-t1-${n}` : `${w.name}-${n}`;
      w.pods.push({ name, templateVersion: 1, revision, version, ready: true, phase: "Running" });
    }
    w.podSerial = w.replicas;
  });
  return world;
}

// ------------------------------------------------------------------------------ rendering to Kubernetes objects

const controlPlaneCache = new Map<string, any[]>();
const rev110 = loadFixture("rev-1-10-0-install.yaml");
const defaultTagFixture = loadFixture("default_tag.yaml")[0];

/** The real rendered 1-10-0 control plane (istio/istio fixture) renamed to a revision and version. */
function controlPlaneDocs(revision: string, version: string): any[] {
  const key = `${revision}@${version}`;
  let docs = controlPlaneCache.get(key);
  if (!docs) {
    docs = JSON.parse(JSON.stringify(rev110).split("1-10-0").join(revision).split("1.10.0").join(version)) as any[];
    docs = docs.filter((d) => ["Deployment", "ConfigMap", "Service", "MutatingWebhookConfiguration"].includes(d.kind));
    for (const cm of docs.filter((d) => d.kind === "ConfigMap" && typeof d.data?.config === "string")) {
      // the injector reads the policy head of `config`, never the (large) templates after it
      const lines = (cm.data.config as string).split("\n");
      const end = lines.findIndex((l) => /^templates?:/.test(l));
      if (end >= 0) cm.data.config = lines.slice(0, end).join("\n");
    }
    controlPlaneCache.set(key, docs);
  }
  return docs;
}

const tagCache = new Map<string, WebhookConfigurationLike>();

/**
 * MWC istio-revision-tag-<tag> → revision, as `istioctl tag set` renders it (istio-facts §1.3): the default
 * tag also carries the namespace.* (istio-injection=enabled) and object.* (inject=true) webhooks.
 */
function tagWebhook(tag: string, revision: string): WebhookConfigurationLike {
  const key = `${tag}→${revision}`;
  let mwc = tagCache.get(key);
  if (!mwc) {
    const copy = structuredClone(defaultTagFixture);
    copy.metadata = {
      name: `istio-revision-tag-${tag}`,
      labels: { app: "sidecar-injector", "istio.io/rev": revision, "istio.io/tag": tag },
    };
    copy.webhooks = copy.webhooks
      .filter((w: any) => tag === "default" || w.name.startsWith("rev."))
      .map((w: any) => {
        w.clientConfig.service.name = `istiod-${revision}`;
        for (const sel of [w.namespaceSelector, w.objectSelector])
          for (const e of sel?.matchExpressions ?? [])
            if (e.key === "istio.io/rev" && e.operator === "In") e.values = [tag];
        return w;
      });
    mwc = copy as WebhookConfigurationLike;
    tagCache.set(key, mwc);
  }
  return mwc;
}

function podObject(w: WorldWorkload, pod: WorldPod, owner: { kind: string; name: string } | null): PodLike {
  const annotations: Labels = { ...w.template.annotations };
  const containers: { name: string; image: string; args?: string[] }[] = [
    { name: "app", image: `example.com/${w.name}:1.0` },
  ];
  if (pod.revision !== null) {
    annotations[STATUS_ANNOTATION] = statusAnnotation(pod.revision);
    containers.push({
      name: "istio-proxy",
      image: `${HUB}/proxyv2:${pod.version}`,
      args: ["proxy", w.template.gateway ? "router" : "sidecar"],
    });
  } else if (w.template.gateway) {
    containers.push({ name: "istio-proxy", image: "auto" });
  }
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: pod.name,
      namespace: w.namespace,
      labels: { ...w.template.labels },
      annotations,
      ...(owner ? { ownerReferences: [{ ...owner, controller: true }] } : {}),
    },
    spec: { containers },
    status: { phase: pod.phase, containerStatuses: containers.map((c) => ({ name: c.name, ready: pod.ready })) },
  };
}

function templateObject(w: WorldWorkload) {
  const annotations: Labels = { ...w.template.annotations };
  const containers: { name: string; image: string; args?: string[] }[] = [
    { name: "app", image: `example.com/${w.name}:1.0` },
  ];
  if (w.template.gateway) containers.push({ name: "istio-proxy", image: "auto" });
  if (w.template.manualProxy) {
    annotations[STATUS_ANNOTATION] = statusAnnotation(w.template.manualProxy.revision);
    containers.push({
      name: "istio-proxy",
      image: `${HUB}/proxyv2:${w.template.manualProxy.version}`,
      args: ["proxy", "sidecar"],
    });
  }
  return { metadata: { labels: { ...w.template.labels }, annotations }, spec: { containers } };
}

function rolloutCounts(w: WorldWorkload) {
  const live = w.pods.filter((p) => p.phase === "Running");
  const updated = live.filter((p) => p.templateVersion === w.templateVersion);
  const ready = live.filter((p) => p.ready);
  return {
    live: live.length,
    updated: updated.length,
    ready: ready.length,
    updatedReady: updated.filter((p) => p.ready).length,
  };
}

/** The world as the plain objects the API would list: the input of buildSnapshot. */
export function renderWorld(
  world: MeshWorld,
  self?: { name: string; createdAt: string; stage: string | null },
): SnapshotInput {
  const input: SnapshotInput = emptySnapshotInput(world.kubernetesVersion, {
    namespaces: world.namespaces.map((n) => ({ metadata: { name: n.name, labels: { ...n.labels } } })),
    pdbs: [],
    meshUpgrades: [],
    now: new Date(world.now),
  });
  for (const rev of world.revisions) {
    for (const doc of controlPlaneDocs(rev.name, rev.version)) {
      if (doc.kind === "Deployment") {
        const n = rev.ready ? 1 : 0;
        input.deployments.push({
          ...doc,
          status: { replicas: 1, readyReplicas: n, availableReplicas: n, updatedReplicas: 1, observedGeneration: 1 },
        });
      } else if (doc.kind === "ConfigMap") input.configmaps.push(doc);
      else if (doc.kind === "Service") input.services.push(doc);
      else if (doc.kind === "MutatingWebhookConfiguration" && rev.webhook) input.mutatingWebhooks.push(doc);
    }
  }
  for (const tag of world.tags) input.mutatingWebhooks.push(tagWebhook(tag.name, tag.revision));

  for (const w of world.workloads) {
    const metadata = {
      name: w.name,
      namespace: w.namespace,
      uid: `uid-${w.kind}-${w.namespace}-${w.name}`,
      generation: w.generation,
    };
    const template = templateObject(w);
    const c = rolloutCounts(w);
    switch (w.kind) {
      case "Deployment": {
        input.deployments.push({
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata,
          spec: { replicas: w.replicas, selector: { matchLabels: { app: w.template.labels.app } }, template },
          status: {
            observedGeneration: w.observedGeneration,
            replicas: c.live,
            updatedReplicas: c.updated,
            readyReplicas: c.ready,
            availableReplicas: c.ready,
          },
        } as WorkloadObjectLike);
        const versions = [...new Set(w.pods.map((p) => p.templateVersion))];
        for (const v of versions)
          input.replicasets.push({
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            metadata: {
              name: `${w.name}-t${v}`,
              namespace: w.namespace,
              ownerReferences: [{ kind: "Deployment", name: w.name, controller: true }],
            },
            spec: { replicas: w.pods.filter((p) => p.templateVersion === v).length, template },
          });
        for (const p of w.pods)
          input.pods.push(podObject(w, p, { kind: "ReplicaSet", name: `${w.name}-t${p.templateVersion}` }));
        break;
      }
      case "StatefulSet": {
        const allUpdated = c.updated === c.live && c.live >= w.replicas;
        input.statefulsets.push({
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          metadata,
          spec: { replicas: w.replicas, selector: { matchLabels: { app: w.template.labels.app } }, template },
          status: {
            observedGeneration: w.observedGeneration,
            replicas: c.live,
            updatedReplicas: c.updated,
            readyReplicas: c.ready,
            availableReplicas: c.ready,
            updateRevision: `${w.name}-t${w.templateVersion}`,
            currentRevision: allUpdated ? `${w.name}-t${w.templateVersion}` : `${w.name}-t${w.templateVersion - 1}`,
          },
        } as WorkloadObjectLike);
        for (const p of w.pods) input.pods.push(podObject(w, p, { kind: "StatefulSet", name: w.name }));
        break;
      }
      case "DaemonSet": {
        input.daemonsets.push({
          apiVersion: "apps/v1",
          kind: "DaemonSet",
          metadata,
          spec: { selector: { matchLabels: { app: w.template.labels.app } }, template },
          status: {
            observedGeneration: w.observedGeneration,
            desiredNumberScheduled: w.replicas,
            currentNumberScheduled: c.live,
            updatedNumberScheduled: c.updated,
            numberReady: c.ready,
            numberAvailable: c.ready,
          },
        } as WorkloadObjectLike);
        for (const p of w.pods) input.pods.push(podObject(w, p, { kind: "DaemonSet", name: w.name }));
        break;
      }
      case "Job":
        input.jobs.push({ apiVersion: "batch/v1", kind: "Job", metadata, spec: { template } });
        for (const p of w.pods) input.pods.push(podObject(w, p, { kind: "Job", name: w.name }));
        break;
      case "Pod":
        for (const p of w.pods) input.pods.push(podObject(w, p, null));
        break;
    }
  }
  for (const pdb of world.pdbs) {
    const covered = world.workloads.filter(
      (w) =>
        w.namespace === pdb.namespace && Object.entries(pdb.matchLabels).every(([k, v]) => w.template.labels[k] === v),
    );
    const healthy = covered.reduce((n, w) => n + w.pods.filter((p) => p.ready && p.phase === "Running").length, 0);
    const expected = covered.reduce((n, w) => n + w.replicas, 0);
    const minAvailable = pdb.minAvailable ?? expected - (pdb.maxUnavailable ?? 0);
    input.pdbs!.push({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: pdb.name, namespace: pdb.namespace },
      spec: {
        selector: { matchLabels: { ...pdb.matchLabels } },
        ...(pdb.minAvailable !== undefined
          ? { minAvailable: pdb.minAvailable }
          : { maxUnavailable: pdb.maxUnavailable ?? 1 }),
      },
      status: {
        disruptionsAllowed: Math.max(0, healthy - minAvailable),
        currentHealthy: healthy,
        expectedPods: expected,
      },
    } as PodDisruptionBudgetLike);
  }
  for (const u of [...world.otherUpgrades, ...(self ? [self] : [])])
    input.meshUpgrades!.push({
      apiVersion: "meshlift.io/v1alpha1",
      kind: "MeshUpgrade",
      metadata: { name: u.name, creationTimestamp: u.createdAt },
      spec: { to: { version: "1.28.10" } },
      status: u.stage ? { stage: u.stage } : {},
    });
  return input;
}

export function snapshotOf(
  world: MeshWorld,
  self?: { name: string; createdAt: string; stage: string | null },
): MeshSnapshot {
  return buildSnapshot(renderWorld(world, self));
}

// ------------------------------------------------------------------------------ randomness

/** mulberry32: a seeded PRNG, so a failing simulation replays exactly from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

// ------------------------------------------------------------------------------ controllers

/** What a new pod of `w` gets now: the injector decision the read model computes for its template. */
type Injection = { revision: string | null; version: string | null; blocked: boolean };

function injectionFor(world: MeshWorld, snapshot: MeshSnapshot, w: WorldWorkload): Injection {
  if (w.template.manualProxy) return { ...w.template.manualProxy, blocked: false };
  const view = snapshot.workloads.find((v) => v.kind === w.kind && v.namespace === w.namespace && v.name === w.name);
  const restart = view?.restart;
  if (!restart) return { revision: null, version: null, blocked: false };
  if (restart.outcome === "webhook-unavailable" || restart.outcome === "double-injection")
    return { revision: null, version: null, blocked: true };
  if (restart.outcome !== "injected" || !restart.revision) return { revision: null, version: null, blocked: false };
  const rev = revisionOf(world, restart.revision);
  // failurePolicy Fail: a webhook whose istiod is not ready refuses the pod; the controller retries
  if (!rev || !rev.ready) return { revision: null, version: null, blocked: true };
  return { revision: rev.name, version: rev.version, blocked: false };
}

function newPod(w: WorldWorkload, name: string, inj: Injection): WorldPod {
  return {
    name,
    templateVersion: w.templateVersion,
    revision: inj.revision,
    version: inj.version,
    ready: false,
    phase: "Running",
  };
}

/** A gateway pod whose "auto" image was never replaced cannot start. */
function canStart(w: WorldWorkload, pod: WorldPod): boolean {
  return !(w.template.gateway && pod.revision === null);
}

/** One step of the workload's controller: Deployment (maxSurge 1, maxUnavailable 0), StatefulSet, DaemonSet. */
function stepController(world: MeshWorld, snapshot: MeshSnapshot, w: WorldWorkload, rng: () => number): void {
  if (w.kind === "Job") {
    for (const p of w.pods)
      if (p.phase === "Running" && p.finishAt !== undefined && world.now >= p.finishAt) p.phase = "Succeeded";
    return;
  }
  if (w.kind === "Pod") {
    for (const p of w.pods) if (!p.ready) p.ready = true;
    return;
  }
  if (w.observedGeneration < w.generation) {
    w.observedGeneration = w.generation;
    return;
  }
  const unready = w.pods.filter((p) => !p.ready && canStart(w, p));
  if (unready.length > 0) {
    pick(rng, unready).ready = true;
    return;
  }
  const current = w.pods.filter((p) => p.templateVersion === w.templateVersion);
  const old = w.pods.filter((p) => p.templateVersion !== w.templateVersion);
  const total = w.pods.length;
  const create = (name: string) => {
    const inj = injectionFor(world, snapshot, w);
    if (inj.blocked) return;
    w.pods.push(newPod(w, name, inj));
  };
  if (w.kind === "Deployment") {
    if (old.length > 0) {
      if (total <= w.replicas && current.length < w.replicas)
        create(`${w.name}-t${w.templateVersion}-${w.podSerial++}`);
      else w.pods.splice(w.pods.indexOf(old.find((p) => !p.ready) ?? old[0]), 1);
    } else if (current.length < w.replicas) create(`${w.name}-t${w.templateVersion}-${w.podSerial++}`);
    else if (current.length > w.replicas) w.pods.pop();
    return;
  }
  if (w.kind === "StatefulSet") {
    if (total < w.replicas) create(`${w.name}-${total}`);
    else if (total > w.replicas) w.pods.pop();
    else if (old.length > 0) {
      // OrderedReady rolling update: the highest ordinal on an old revision is replaced first
      const victim = old[old.length - 1];
      const inj = injectionFor(world, snapshot, w);
      w.pods.splice(w.pods.indexOf(victim), 1);
      if (!inj.blocked) w.pods.push(newPod(w, victim.name, inj));
      w.pods.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    }
    return;
  }
  // DaemonSet: one node at a time, delete then create
  if (total < w.replicas) create(`${w.name}-${w.podSerial++}`);
  else if (old.length > 0) {
    w.pods.splice(w.pods.indexOf(old[0]), 1);
    create(`${w.name}-${w.podSerial++}`);
  }
}

/** Rollout finished: the controller saw the spec, every pod is from the current template and ready. */
export function rolledOut(w: WorldWorkload): boolean {
  if (w.kind === "Job" || w.kind === "Pod") return true;
  return (
    w.observedGeneration >= w.generation &&
    w.pods.length === w.replicas &&
    w.pods.every((p) => p.templateVersion === w.templateVersion && (p.ready || !canStart(w, p)))
  );
}

// ------------------------------------------------------------------------------ the world applies writes

export interface RestartRecord {
  workload: string;
  token: string;
  at: string;
}

export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
  }
}

function setLabel(labels: Labels, key: string, value: string | null): void {
  if (value === null) delete labels[key];
  else labels[key] = value;
}

/** restartPatch as the API applies it: a template change only when a value differs (no-op patches keep the generation). */
function applyTemplatePatch(w: WorldWorkload, annotations: Labels, revisionLabel?: string | null): boolean {
  const before = JSON.stringify(w.template);
  Object.assign(w.template.annotations, annotations);
  if (revisionLabel !== undefined) setLabel(w.template.labels, "istio.io/rev", revisionLabel);
  if (JSON.stringify(w.template) === before) return false;
  w.generation++;
  w.templateVersion++;
  return true;
}

// ------------------------------------------------------------------------------ the driver

export interface ChaosOptions {
  /** probability that the executor crashes while acting on a decision */
  crashRate: number;
  /** most ticks the observed snapshot lags the world (the cache; never goes backwards) */
  maxLag: number;
  /** probability that a controller does not move on a tick */
  slowness: number;
  /** random user actions (Pause/Resume/Rollback/Proceed with old and new nonces) and world events */
  chaoticUsers: boolean;
  /** a cooperative user asks Rollback at this tick */
  rollbackAtTick?: number;
  /** nobody answers what meshlift waits for (approvals, manual restarts, stragglers): the test acts itself */
  passiveUser?: boolean;
}

/** A world without surprises: no crash, no lag, controllers move every tick, users only do what a test says. */
export const CALM: ChaosOptions = { crashRate: 0, maxLag: 0, slowness: 0, chaoticUsers: false, passiveUser: true };

export interface Scenario {
  world: MeshWorld;
  spec: unknown;
  seed: number;
  chaos: ChaosOptions;
  maxTicks: number;
  /** another MeshUpgrade holds the lock */
  name?: string;
}

export interface UpgradeObject {
  name: string;
  uid: string;
  generation: number;
  createdAt: string;
  spec: Record<string, unknown>;
  status: MeshUpgradeStatus | undefined;
}

export interface StepRecord {
  tick: number;
  input: EngineInput;
  decision: Decision;
  /** the status the executor stored (null: it crashed before the status write) */
  stored: MeshUpgradeStatus | null;
  applied: WriteAction[];
}

export interface RunResult {
  stage: UpgradeStage;
  status: MeshUpgradeStatus | undefined;
  world: MeshWorld;
  initial: MeshWorld;
  ticks: number;
  steps: StepRecord[];
  restarts: RestartRecord[];
}

const START = Date.parse("2026-08-22T10:00:00Z");
export const UID = "5f0c1a2b-7d3e-4c11-9a8b-2f6e0d4c9b71";

/**
 * The status without the fields the executor writes at most every PROGRESS_WRITE_MS (mirrors
 * executor.ts `material`: progress summary, per-namespace proxy counts, per-workload ready/message,
 * condition transition times).
 */
function material(status: MeshUpgradeStatus | undefined): string {
  if (!status) return "";
  return JSON.stringify(status, function (this: Record<string, unknown>, key: string, value: unknown) {
    if (key === "lastTransitionTime") return "";
    if (key === "summary" && "workloads" in this) return undefined;
    if (key === "proxies" && "wave" in this) return undefined;
    if ((key === "ready" || key === "message") && "wave" in this && "kind" in this) return undefined;
    return value;
  });
}
const PROGRESS_WRITE_MS = 2_000;

export function parseSpec(spec: unknown): MeshUpgradeSpec | null {
  const r = meshUpgradeSpecSchema.safeParse(spec);
  return r.success ? r.data : null;
}

function waitingReason(status: MeshUpgradeStatus | undefined): string | null {
  const c = status?.conditions?.find((x) => x.type === "Waiting");
  return c?.status === "True" ? c.reason : null;
}

/** Drives one MeshUpgrade through the world, checking every invariant at every decision; throws InvariantViolation. */
export class Simulation {
  readonly world: MeshWorld;
  readonly initial: MeshWorld;
  readonly rng: () => number;
  readonly upgrade: UpgradeObject;
  readonly steps: StepRecord[] = [];
  readonly restarts: RestartRecord[] = [];
  /** workload+token pairs a Resume allowed to restart again (a Failed workload is retried after Resume) */
  private readonly retryAllowed = new Set<string>();
  private readonly observed: { tick: number; snapshot: MeshSnapshot }[] = [];
  private lastObservedTick = 0;
  private lastStatusWrite = -Infinity;
  private nonce = 0;
  private waitingSince = new Map<string, number>();
  private unreadyUntil = -1;
  private crashed = false;
  /** the next reconcile sees the world as it was this many ticks ago (a cache that has not caught up) */
  forcedLag: number | undefined;
  /** a test decides which writes the executor loses (it crashed before making them) */
  loseWrite: ((action: WriteAction) => boolean) | undefined;
  /** every write that reached the world, in order */
  readonly applied: WriteAction[] = [];
  tick = 0;
  /** recorded per step, for tests that look at the trace (kept short: the last 40) */
  keepSteps = 40;

  constructor(readonly scenario: Scenario) {
    this.world = cloneWorld(scenario.world);
    this.world.now = START;
    this.initial = cloneWorld(this.world);
    this.rng = seededRandom(scenario.seed);
    this.upgrade = {
      name: scenario.name ?? "mu",
      uid: UID,
      generation: 1,
      createdAt: new Date(START - 1000).toISOString(),
      spec: structuredClone(scenario.spec) as Record<string, unknown>,
      status: undefined,
    };
  }

  get status(): MeshUpgradeStatus | undefined {
    return this.upgrade.status;
  }

  get stage(): UpgradeStage {
    return this.upgrade.status?.stage ?? "Pending";
  }

  private selfView() {
    return { name: this.upgrade.name, createdAt: this.upgrade.createdAt, stage: this.upgrade.status?.stage ?? null };
  }

  /** Sets spec.action as a user would (kubectl patch): the generation moves. */
  setAction(action: UpgradeAction | null, nonce?: string): void {
    if (action === null) {
      delete this.upgrade.spec.action;
      delete this.upgrade.spec.actionNonce;
    } else {
      this.upgrade.spec.action = action;
      if (nonce === undefined) delete this.upgrade.spec.actionNonce;
      else this.upgrade.spec.actionNonce = nonce;
    }
    this.upgrade.generation++;
  }

  newNonce(): string {
    return `n${++this.nonce}`;
  }

  /** `kubectl rollout restart` by a user, optionally also setting the pod template's istio.io/rev. */
  userRestart(ref: WorkloadRef, revisionLabel?: string | null): void {
    const w = findWorldWorkload(this.world, ref);
    if (!w) throw new Error(`no workload ${workloadKey(ref)}`);
    const at = new Date(this.world.now).toISOString();
    if (applyTemplatePatch(w, { [RESTARTED_AT_ANNOTATION]: at }, revisionLabel)) w.changedBy = "user";
  }

  /** A user deletes a workload (or a naked pod) and everything it runs. */
  userDelete(ref: WorkloadRef): void {
    const before = this.world.workloads.length;
    this.world.workloads = this.world.workloads.filter(
      (w) => !(w.kind === ref.kind && w.namespace === ref.namespace && w.name === ref.name),
    );
    if (this.world.workloads.length === before) throw new Error(`no workload ${workloadKey(ref)}`);
  }

  /** Runs until a terminal stage or maxTicks; returns what happened. */
  run(until: (sim: Simulation) => boolean = (s) => TERMINAL_STAGES.includes(s.stage)): RunResult {
    while (this.tick < this.scenario.maxTicks && !until(this)) this.step();
    return {
      stage: this.stage,
      status: this.upgrade.status,
      world: this.world,
      initial: this.initial,
      ticks: this.tick,
      steps: this.steps,
      restarts: this.restarts,
    };
  }

  /** One tick: time passes, controllers move, users act, one reconcile (decide → record status → write). */
  step(): void {
    const rng = this.rng;
    const chaos = this.scenario.chaos;
    this.tick++;
    this.world.now += 500 + Math.floor(rng() * 4500);
    for (const r of this.world.revisions) {
      if (r.readyAt !== undefined && this.world.now >= r.readyAt && this.world.now > this.unreadyUntil) {
        r.ready = true;
        r.webhook = true;
        r.readyAt = undefined;
      }
    }
    if (this.unreadyUntil >= 0 && this.world.now > this.unreadyUntil) {
      for (const r of this.world.revisions) if (r.readyAt === undefined) r.ready = true;
      this.unreadyUntil = -1;
    }
    const before = this.injectionSnapshot();
    for (const w of this.world.workloads) {
      if (rng() < chaos.slowness) continue;
      stepController(this.world, before, w, rng);
      if (rng() < 0.5) stepController(this.world, before, w, rng);
    }
    this.userActs();
    // a restart ends when its rollout settles; later scaling is no restart
    for (const w of this.world.workloads) if (w.changedBy === "meshlift" && settled(w)) w.changedBy = null;
    const current = snapshotOf(this.world, this.selfView());
    this.observed.push({ tick: this.tick, snapshot: current });
    if (this.observed.length > Math.max(chaos.maxLag, 3) + 1) this.observed.shift();

    // the cache lags the world by up to maxLag ticks and never goes back in time
    // a process that crashed starts with a fresh LIST: its cache is not stale
    const lag = this.forcedLag ?? (this.crashed ? 0 : Math.floor(rng() * (chaos.maxLag + 1)));
    this.forcedLag = undefined;
    if (this.crashed) this.lastObservedTick = this.tick;
    this.crashed = false;
    const candidates = this.observed.filter((o) => o.tick >= Math.max(this.lastObservedTick, this.tick - lag));
    const seen = candidates[0] ?? this.observed[this.observed.length - 1];
    this.lastObservedTick = seen.tick;

    const status = this.upgrade.status;
    const stage = status?.stage ?? "Pending";
    const input: EngineInput = {
      upgrade: {
        name: this.upgrade.name,
        uid: this.upgrade.uid,
        generation: this.upgrade.generation,
        createdAt: this.upgrade.createdAt,
        spec: structuredClone(this.upgrade.spec),
        status: structuredClone(status),
        actionBy: this.upgrade.spec.action ? "kubectl-patch" : undefined,
      },
      snapshot: seen.snapshot,
      catalog,
      namespaceLabels:
        stage === "Pending"
          ? Object.fromEntries(this.world.namespaces.map((n) => [n.name, { ...n.labels }]))
          : undefined,
      install: this.installObservation(stage),
      actor: "operator/meshlift-0",
      now: this.world.now,
    };
    let decision = decide(input);
    let finalInput = input;
    if (decision.needFresh) {
      const fresh: FreshCheck = {
        revision: decision.needFresh.revision,
        takenAt: this.world.now,
        stragglers: proxiesOnRevision(current, decision.needFresh.revision),
      };
      finalInput = { ...input, fresh };
      decision = decide(finalInput);
    }
    if (decision.needGate) {
      finalInput = { ...finalInput, gate: this.gateStep(decision, decision.needGate.wave) };
      decision = decide(finalInput);
    }
    const record: StepRecord = { tick: this.tick, input: finalInput, decision, stored: null, applied: [] };
    this.steps.push(record);
    if (this.steps.length > this.keepSteps) this.steps.shift();
    checkDecisionInvariants(finalInput, decision);
    this.execute(record);
  }

  private injection: { key: string; snapshot: MeshSnapshot } | null = null;

  /** A snapshot for injection decisions: rebuilt only when labels, tags, webhooks or templates changed. */
  private injectionSnapshot(): MeshSnapshot {
    const key = JSON.stringify([
      this.world.namespaces,
      this.world.tags,
      this.world.revisions.map((r) => [r.name, r.webhook]),
      this.world.workloads.map((w) => [w.kind, w.namespace, w.name, w.template.labels]),
    ]);
    if (this.injection?.key !== key) this.injection = { key, snapshot: snapshotOf(this.world, this.selfView()) };
    return this.injection.snapshot;
  }

  /**
   * One step of a wave's verification gate, as the gates module takes it against a cluster: the health
   * gate passes once every workload of the wave rolled out on the target and stayed so for minReadySeconds.
   * Chaotic worlds fail a gate now and then.
   */
  private gateStep(decision: Decision, wave: number): NonNullable<EngineInput["gate"]> {
    const now = this.world.now;
    const at = new Date(now).toISOString();
    const spec = parseSpec(this.upgrade.spec);
    const minReadyMs = (spec?.verification.healthGate.minReadySeconds ?? 0) * 1000;
    const recorded = decision.status.gates?.find((g) => g.wave === wave) ?? newGateStatus(wave, now);
    const to = decision.status.to?.revision;
    const planned = decision.status.plan?.waves.find((w) => w.index === wave)?.workloads ?? [];
    let status: GateStatus = { ...recorded, checkedSince: recorded.checkedSince ?? at };
    if (status.phase !== "Running")
      return {
        wave,
        status,
        next: status.phase === "Passed" ? { type: "passed", message: status.message } : failedNext(status, spec),
      };
    if (this.scenario.chaos.chaoticUsers && this.rng() < 0.03) {
      status = {
        ...status,
        phase: "Failed",
        failedChecks: ["health"],
        message: "health gate: pods crash-looping",
        finishedAt: at,
      };
      return { wave, status, next: failedNext(status, spec) };
    }
    const healthy = planned.every((ref) => {
      const w = findWorldWorkload(this.world, ref);
      return !w || (rolledOut(w) && w.pods.every((p) => p.phase !== "Running" || (p.ready && p.revision === to)));
    });
    if (!healthy) {
      status = { ...status, health: { verdict: "Waiting", at, reasons: ["not every workload rolled out"] } };
      return { wave, status, next: { type: "wait", untilMs: now + 5_000 } };
    }
    status = {
      ...status,
      analysisStartedAt: status.analysisStartedAt ?? at,
      health: { verdict: "Pass", at, reasons: [] },
    };
    if (now - Date.parse(status.analysisStartedAt!) < minReadyMs)
      return { wave, status, next: { type: "wait", untilMs: Date.parse(status.analysisStartedAt!) + minReadyMs } };
    status = { ...status, phase: "Passed", message: "every workload healthy", finishedAt: at };
    return { wave, status, next: { type: "passed", message: status.message } };
  }

  private installObservation(stage: UpgradeStage): InstallObservation {
    const spec = parseSpec(this.upgrade.spec);
    const to = this.upgrade.status?.to?.revision;
    const out: InstallObservation = {};
    if (
      spec?.install.mode === "Sail" &&
      to &&
      (stage === "ControlPlaneUpgrade" || stage === "NewControlPlaneOffline")
    ) {
      const rev = revisionOf(this.world, to);
      out.sail = rev?.sail
        ? { exists: true, ready: rev.ready, message: rev.ready ? "" : "istiod is starting" }
        : { exists: false, ready: false, message: "" };
    }
    if (stage === "OldControlPlaneOffline") {
      const from = this.upgrade.status?.from?.revision;
      out.sourceIsSail = from ? (revisionOf(this.world, from)?.sail ?? false) : false;
    }
    return out;
  }

  /** The executor: status first (unless only progress moved within 2 s), then every write; a crash loses some. */
  private execute(record: StepRecord): void {
    const { input, decision } = record;
    const rng = this.rng;
    const crash = rng() < this.scenario.chaos.crashRate;
    const beforeStatus = crash && rng() < 0.3;
    this.crashed = crash;
    if (beforeStatus) return;
    const prev = this.upgrade.status;
    const changed =
      prev?.stage !== decision.status.stage ||
      prev?.history?.length !== decision.status.history?.length ||
      material(prev) !== material(decision.status);
    const progressOnly = !changed && JSON.stringify(prev) !== JSON.stringify(decision.status);
    if (changed || (progressOnly && this.world.now - this.lastStatusWrite >= PROGRESS_WRITE_MS)) {
      this.upgrade.status = JSON.parse(JSON.stringify(decision.status)) as MeshUpgradeStatus;
      this.lastStatusWrite = this.world.now;
      this.noteResume(prev, this.upgrade.status);
    }
    record.stored = this.upgrade.status ?? null;
    const installed: NonNullable<MeshUpgradeStatus["installedObjects"]> = [];
    for (const action of decision.writes) {
      if (crash && rng() < 0.5) continue;
      if (this.loseWrite?.(action)) continue;
      const result = this.apply(action);
      record.applied.push(action);
      this.applied.push(action);
      if (result) installed.push(...result);
    }
    checkAfterWrites(this, input);
    if (installed.length > 0 && !crash && this.upgrade.status) {
      this.upgrade.status = { ...this.upgrade.status, installedObjects: installed };
    }
  }

  /** A Resume that was accepted retries Failed workloads: their next restart with the same token is allowed. */
  private noteResume(prev: MeshUpgradeStatus | undefined, next: MeshUpgradeStatus): void {
    const accepted =
      next.acknowledgedAction?.action === "Resume" &&
      JSON.stringify(prev?.acknowledgedAction) !== JSON.stringify(next.acknowledgedAction);
    if (!accepted) return;
    for (const p of prev?.progress?.workloads ?? [])
      if (p.state === "Failed" && p.restartToken) this.retryAllowed.add(`${workloadKey(p)}#${p.restartToken}`);
  }

  /** One write, as the API server and the installer would make it. */
  apply(action: WriteAction): NonNullable<MeshUpgradeStatus["installedObjects"]> | void {
    const world = this.world;
    switch (action.type) {
      case "labelNamespace": {
        const ns = world.namespaces.find((n) => n.name === action.namespace);
        if (!ns) return;
        setLabel(ns.labels, "istio-injection", action.labels.istioInjection);
        setLabel(ns.labels, "istio.io/rev", action.labels.rev);
        return;
      }
      case "moveTag": {
        const tag = world.tags.find((t) => t.name === action.tag);
        if (tag) tag.revision = action.revision;
        return;
      }
      case "restart": {
        const w = findWorldWorkload(world, action.workload);
        if (!w) return;
        const key = workloadKey(action.workload);
        const at = action.at.replace(/\.\d{3}Z$/, "Z");
        if (
          w.template.annotations[RESTART_TOKEN_ANNOTATION] === action.token &&
          w.template.annotations[RESTARTED_AT_ANNOTATION] !== at
        ) {
          const retry = `${key}#${action.token}`;
          if (!this.retryAllowed.delete(retry))
            throw new InvariantViolation(
              "restart token",
              `${key} restarted twice with token ${action.token} (first at ${w.template.annotations[RESTARTED_AT_ANNOTATION]}, again at ${at})`,
            );
        }
        const changed = applyTemplatePatch(
          w,
          { [RESTARTED_AT_ANNOTATION]: at, [RESTART_TOKEN_ANNOTATION]: action.token },
          action.templateRevision,
        );
        if (changed) {
          w.changedBy = "meshlift";
          this.restarts.push({ workload: key, token: action.token, at });
        }
        return;
      }
      case "scale": {
        const w = findWorldWorkload(world, action.workload);
        if (!w || w.replicas === action.replicas) return;
        // scaling (a surge, its undo, a canary cut-over) starts or stops pods: it restarts none
        w.replicas = action.replicas;
        w.generation++;
        return;
      }
      case "createGatewayCanary": {
        const original = findWorldWorkload(world, action.workload);
        if (!original || findWorldWorkload(world, { ...action.workload, name: action.name })) return;
        // the executor copies the gateway's spec, pins the template to the revision, drops restart annotations
        const template = structuredClone(original.template);
        template.labels["istio.io/rev"] = action.revision;
        delete template.annotations[RESTARTED_AT_ANNOTATION];
        delete template.annotations[RESTART_TOKEN_ANNOTATION];
        world.workloads.push({
          kind: "Deployment",
          namespace: original.namespace,
          name: action.name,
          replicas: original.replicas,
          template,
          generation: 1,
          observedGeneration: 0,
          templateVersion: 1,
          pods: [],
          podSerial: 0,
          changedBy: null,
        });
        return;
      }
      case "deleteWorkload": {
        world.workloads = world.workloads.filter(
          (w) =>
            !(
              w.kind === action.workload.kind &&
              w.namespace === action.workload.namespace &&
              w.name === action.workload.name
            ),
        );
        return;
      }
      case "deletePod": {
        for (const w of world.workloads) {
          if (w.namespace !== action.namespace) continue;
          const i = w.pods.findIndex((p) => p.name === action.name);
          if (i >= 0) w.pods.splice(i, 1);
        }
        world.workloads = world.workloads.filter((w) => w.kind !== "Pod" || w.pods.length > 0);
        return;
      }
      case "install": {
        let rev = revisionOf(world, action.revision);
        if (!rev) {
          rev = {
            name: action.revision,
            version: action.version,
            ready: false,
            webhook: false,
            sail: action.mode === "Sail",
          };
          world.revisions.push(rev);
        }
        rev.readyAt ??= world.now + 2_000 + Math.floor(this.rng() * 15_000);
        return action.mode === "Sail"
          ? [{ apiVersion: "sailoperator.io/v1", kind: "IstioRevision", name: action.revision, created: true }]
          : [
              {
                apiVersion: "v1",
                kind: "ConfigMap",
                namespace: "istio-system",
                name: `istio-sidecar-injector-${action.revision}`,
                created: true,
              },
              {
                apiVersion: "apps/v1",
                kind: "Deployment",
                namespace: "istio-system",
                name: `istiod-${action.revision}`,
                created: true,
              },
            ];
      }
      case "removeRevision":
      case "removeInstalled": {
        const live = livePodsOn(world, action.revision);
        if (live.length > 0)
          throw new InvariantViolation(
            "invariant 1",
            `${action.type} ${action.revision} while live pods still run it: ${live.join(", ")}`,
          );
        if (
          action.type === "removeInstalled" &&
          action.mode === "Manifests" &&
          (this.upgrade.status?.installedObjects ?? []).length === 0
        )
          return; // the installer removes exactly what status lists
        world.revisions = world.revisions.filter((r) => r.name !== action.revision);
        return;
      }
    }
  }

  /** Users: cooperative ones answer what meshlift waits for; chaotic ones also act at random. */
  private userActs(): void {
    const rng = this.rng;
    const chaos = this.scenario.chaos;
    const status = this.upgrade.status;
    const stage = this.stage;
    const waiting = waitingReason(status);
    const key = `${stage}/${waiting ?? ""}`;
    if (!this.waitingSince.has(key)) this.waitingSince = new Map([[key, this.tick]]);
    const waitedTicks = this.tick - (this.waitingSince.get(key) ?? this.tick);
    const spec = parseSpec(this.upgrade.spec);

    if (chaos.rollbackAtTick !== undefined && this.tick === chaos.rollbackAtTick) {
      this.setAction("Rollback", this.newNonce());
      return;
    }
    if (chaos.passiveUser) return;
    if (chaos.chaoticUsers && rng() < 0.06) {
      const r = rng();
      if (r < 0.2) this.setAction("Pause", this.newNonce());
      else if (r < 0.45) this.setAction("Resume", this.newNonce());
      else if (r < 0.55) this.setAction("Rollback", this.newNonce());
      else if (r < 0.75) this.setAction("Proceed", this.newNonce());
      else if (r < 0.9) this.setAction("Proceed", this.upgrade.spec.actionNonce as string | undefined);
      else this.setAction(null);
      return;
    }
    if (chaos.chaoticUsers && rng() < 0.02 && this.unreadyUntil < 0) {
      // the target's istiod restarts: not Ready for a while
      const to = status?.to?.revision;
      const rev = to ? revisionOf(this.world, to) : undefined;
      if (rev?.ready) {
        rev.ready = false;
        this.unreadyUntil = this.world.now + 3_000 + Math.floor(rng() * 20_000);
      }
    }
    if (stage === "Paused" && waitedTicks >= 3 && rng() < 0.3) this.setAction("Resume", this.newNonce());
    if (waiting === "WaitingForApproval" && waitedTicks >= 1 && rng() < 0.5) this.setAction("Proceed", this.newNonce());
    if (waiting === "WaitingForInstall" && spec && status?.to && !revisionOf(this.world, status.to.revision)) {
      this.world.revisions.push({
        name: status.to.revision,
        version: status.to.version,
        ready: false,
        webhook: false,
        readyAt: this.world.now + 1_000 + Math.floor(rng() * 10_000),
      });
    }
    if (waiting === "WaitingForManualDecommission" && status?.from) {
      const live = livePodsOn(this.world, status.from.revision);
      if (live.length > 0)
        throw new InvariantViolation(
          "invariant 1",
          `meshlift told the user to remove ${status.from.revision} while live pods run it: ${live.join(", ")}`,
        );
      this.world.revisions = this.world.revisions.filter((r) => r.name !== status.from!.revision);
    }
    if (waiting === "Stragglers" && waitedTicks >= 3) {
      // the user handles what meshlift lists and cannot move: deletes it (as the demo's walk-through does)
      for (const s of status?.stragglers ?? []) {
        if (s.kind === "Job") continue;
        this.world.workloads = this.world.workloads.filter(
          (w) =>
            !(
              w.namespace === s.namespace &&
              (w.name === s.name || (s.kind === "Pod" && w.pods.some((p) => p.name === s.name)))
            ),
        );
      }
    }
    // Manual restart mode: the user restarts what meshlift waits for (kubectl rollout restart)
    if (spec?.dataPlane.restart === "Manual") {
      for (const p of status?.progress?.workloads ?? []) {
        if (p.state !== "WaitingForUser" || rng() < 0.5) continue;
        const w = findWorldWorkload(this.world, p);
        if (!w || !rolledOut(w)) continue;
        // once its pods run the target the user is done with it, whatever a lagging status still says
        if (w.pods.every((pod) => pod.revision === status?.to?.revision)) continue;
        // the user does what the status says: a restart, or the pod template's istio.io/rev where that decides
        const label = /istio\.io\/rev=(\S+) on its pod template/.exec(p.message ?? "")?.[1];
        if (applyTemplatePatch(w, { [RESTARTED_AT_ANNOTATION]: new Date(this.world.now).toISOString() }, label))
          w.changedBy = "user";
      }
    }
  }
}

function failedNext(status: GateStatus, spec: MeshUpgradeSpec | null): GateNext {
  return {
    type: "failed",
    phase: status.phase === "Inconclusive" || status.phase === "Error" ? status.phase : "Failed",
    failedChecks: status.failedChecks,
    message: status.message,
    onFailure: spec?.verification.onFailure ?? "Pause",
  };
}

// ------------------------------------------------------------------------------ invariant checks

/** The revision a namespace/pod label value or istio-injection=enabled points at, in a snapshot. */
function resolveRevision(snapshot: MeshSnapshot, value: string): string | null {
  if (snapshot.revisions.some((r) => r.name === value)) return value;
  return snapshot.tags.find((t) => t.name === value)?.revision ?? null;
}

function readyIn(snapshot: MeshSnapshot, revision: string | null): boolean {
  const r = revision ? snapshot.revisions.find((x) => x.name === revision) : undefined;
  return !!r && r.ready && r.webhookConfigurations.length > 0;
}

function sameRef(a: { kind: string; namespace?: string; name: string } | undefined, b: WorkloadRef): boolean {
  return !!a && a.kind === b.kind && (a.namespace ?? "") === b.namespace && a.name === b.name;
}

/** The history entry that announces a write (invariant 4). */
export function intentOf(history: HistoryEntry[], action: WriteAction): HistoryEntry | undefined {
  const intended = history.filter((h) => h.outcome === "Intended");
  switch (action.type) {
    case "labelNamespace":
      return intended.find(
        (h) =>
          h.action.startsWith(`label namespace ${action.namespace} `) &&
          h.action.includes(`istio.io/rev=${action.labels.rev ?? "(none)"}`) &&
          h.action.includes(`istio-injection=${action.labels.istioInjection ?? "(none)"}`) &&
          h.target?.kind === "Namespace" &&
          h.target.name === action.namespace,
      );
    case "moveTag":
      return intended.find((h) => h.action === `move tag ${action.tag} to ${action.revision}`);
    case "restart":
      return intended.find(
        (h) =>
          h.action.startsWith("restart") &&
          (sameRef(h.target, action.workload) || (h.targets ?? []).some((t) => sameRef(t, action.workload))),
      );
    case "scale":
      return intended.find(
        (h) => h.action.startsWith(`scale to ${action.replicas} `) && sameRef(h.target, action.workload),
      );
    case "deletePod":
      return intended.find(
        (h) => h.action === "delete pod" && h.target?.kind === "Pod" && h.target.name === action.name,
      );
    case "createGatewayCanary":
      return intended.find(
        (h) =>
          h.action.startsWith(`create gateway ${action.name} on ${action.revision}`) &&
          sameRef(h.target, action.workload),
      );
    case "deleteWorkload":
      return intended.find((h) => h.action === `delete ${action.workload.kind}` && sameRef(h.target, action.workload));
    case "install":
      return intended.find((h) => h.action.startsWith(`install revision ${action.revision} `));
    case "removeRevision":
      return intended.find((h) => h.action.startsWith(`remove revision ${action.revision} (`));
    case "removeInstalled":
      return intended.find((h) => h.action.startsWith(`remove revision ${action.revision} installed by meshlift`));
  }
}

/** Invariants 1–4 on one decision, against the snapshot decide saw (and the truth where the invariant is about it). */
export function checkDecisionInvariants(input: EngineInput, decision: Decision): void {
  const snapshot = input.snapshot;
  const spec = parseSpec(input.upgrade.spec);
  const status = decision.status;
  const parsed = meshUpgradeStatusSchema.safeParse(JSON.parse(JSON.stringify(status)));
  if (!parsed.success)
    throw new InvariantViolation(
      "status schema",
      `the API server would refuse the status: ${JSON.stringify(parsed.error.issues.slice(0, 3))}`,
    );
  const before = input.upgrade.status?.history ?? [];
  const history = status.history ?? [];
  for (const w of decision.writes) {
    // invariant 1: removal only after a fresh LIST of the revision found no proxy
    if (w.type === "removeRevision" || w.type === "removeInstalled") {
      if (!input.fresh || input.fresh.revision !== w.revision || input.fresh.stragglers.length > 0)
        throw new InvariantViolation(
          "invariant 1",
          `${w.type} ${w.revision} without a fresh LIST showing zero proxies on it (fresh: ${JSON.stringify(input.fresh && { revision: input.fresh.revision, stragglers: input.fresh.stragglers.length })})`,
        );
    }
    // invariant 2: only ever point at a revision installed and Ready in the snapshot decide saw
    if (w.type === "labelNamespace") {
      const target =
        w.labels.istioInjection !== null
          ? w.labels.istioInjection === "enabled"
            ? snapshot.defaultRevision
            : null
          : w.labels.rev !== null
            ? resolveRevision(snapshot, w.labels.rev)
            : null;
      const pointsSomewhere =
        w.labels.istioInjection === "enabled" || (w.labels.istioInjection === null && w.labels.rev !== null);
      if (pointsSomewhere && !readyIn(snapshot, target))
        throw new InvariantViolation(
          "invariant 2",
          `label namespace ${w.namespace} ${JSON.stringify(w.labels)} → revision ${target} is not installed and Ready`,
        );
    }
    if (w.type === "createGatewayCanary" && !readyIn(snapshot, w.revision))
      throw new InvariantViolation(
        "invariant 2",
        `canary gateway ${w.name} on ${w.revision}, which is not installed and Ready`,
      );
    if (w.type === "moveTag" && !readyIn(snapshot, w.revision))
      throw new InvariantViolation(
        "invariant 2",
        `move tag ${w.tag} to ${w.revision}, which is not installed and Ready`,
      );
    if (
      w.type === "restart" &&
      typeof w.templateRevision === "string" &&
      !readyIn(snapshot, resolveRevision(snapshot, w.templateRevision))
    )
      throw new InvariantViolation(
        "invariant 2",
        `restart ${workloadKey(w.workload)} with istio.io/rev=${w.templateRevision}, not installed and Ready`,
      );
    // invariant 3: a single-replica gateway is surged to two (and both available) before its restart
    if (w.type === "restart" && spec?.dataPlane.gateways.surgeSingleReplica) {
      const view = snapshot.workloads.find((x) => sameRef(x, w.workload));
      const progress = status.progress?.workloads?.find((p) => sameRef(p, w.workload));
      if (view && view.gateway !== null && view.kind === "Deployment" && progress?.gateway?.originalReplicas === 1) {
        if ((view.replicas ?? 0) < 2 || (view.rollout?.available ?? 0) < 2)
          throw new InvariantViolation(
            "invariant 3",
            `single-replica gateway ${workloadKey(w.workload)} restarted with ${view.rollout?.available ?? 0} available of ${view.replicas}`,
          );
      }
      if (
        view &&
        view.gateway !== null &&
        view.kind === "Deployment" &&
        view.replicas === 1 &&
        !progress?.gateway?.surgeToken
      )
        throw new InvariantViolation(
          "invariant 3",
          `single-replica gateway ${workloadKey(w.workload)} restarted without a surge`,
        );
    }
    // invariant 4: the status recorded before the write holds its intent
    const entry = intentOf(history, w);
    if (!entry)
      throw new InvariantViolation(
        "invariant 4",
        `${JSON.stringify(w)} has no Intended history entry in the status recorded before it`,
      );
    const known = before.some((h) => JSON.stringify(h) === JSON.stringify(entry));
    if (!known && history.length <= before.length)
      throw new InvariantViolation("invariant 4", `the intent of ${w.type} is new but the status history did not grow`);
  }
  // invariant 3: never two restarts under one PodDisruptionBudget started in one decision
  const started = decision.writes.filter(
    (w): w is Extract<WriteAction, { type: "restart" }> =>
      w.type === "restart" &&
      !(input.upgrade.status?.progress?.workloads ?? []).some(
        (p) => sameRef(p, w.workload) && p.restartToken === w.token,
      ),
  );
  for (const pdb of snapshot.pdbs) {
    const under = started.filter((w) => pdb.workloads.some((x) => sameRef(x, w.workload)));
    if (under.length > 1)
      throw new InvariantViolation(
        "invariant 3",
        `${under.map((w) => workloadKey(w.workload)).join(", ")} under PDB ${pdb.namespace}/${pdb.name} started together`,
      );
  }
  // a scale that starts moving a workload (a surge, a canary gateway brought back) takes a slot too
  const progress = input.upgrade.status?.progress?.workloads ?? [];
  const scaledUp = decision.writes.filter(
    (w): w is Extract<WriteAction, { type: "scale" }> =>
      w.type === "scale" &&
      w.replicas > 0 &&
      !progress.some(
        (p) => sameRef(p, w.workload) && (p.restartToken === w.token || p.gateway?.surgeToken === w.token),
      ),
  );
  if (spec && started.length + scaledUp.length > spec.dataPlane.maxConcurrent)
    throw new InvariantViolation(
      "invariant 3",
      `${started.length + scaledUp.length} restarts started at once (${[...started, ...scaledUp].map((w) => workloadKey(w.workload)).join(", ")}), maxConcurrent ${spec.dataPlane.maxConcurrent}`,
    );
}

/** Workloads meshlift changed whose rollout is not finished, per the world. */
export function midRestart(world: MeshWorld): WorldWorkload[] {
  return world.workloads.filter((w) => w.changedBy === "meshlift" && !settled(w));
}

/** Every pod is from the current template and ready, as many as asked (a surplus being scaled down disrupts nothing). */
function settled(w: WorldWorkload): boolean {
  if (w.kind === "Job" || w.kind === "Pod") return true;
  return (
    w.observedGeneration >= w.generation &&
    w.pods.length >= w.replicas &&
    w.pods.every((p) => p.templateVersion === w.templateVersion && (p.ready || !canStart(w, p)))
  );
}

/** Invariant 3 on the truth: after the writes land, at most maxConcurrent meshlift restarts roll, one per PDB. */
function checkAfterWrites(sim: Simulation, input: EngineInput): void {
  const spec = parseSpec(input.upgrade.spec);
  if (!spec) return;
  const rolling = midRestart(sim.world);
  if (rolling.length > spec.dataPlane.maxConcurrent)
    throw new InvariantViolation(
      "invariant 3",
      `${rolling.length} workloads mid-restart (${rolling.map((w) => `${w.kind}/${w.namespace}/${w.name}`).join(", ")}), maxConcurrent ${spec.dataPlane.maxConcurrent} (stage ${input.upgrade.status?.stage})`,
    );
  for (const pdb of sim.world.pdbs) {
    const under = rolling.filter(
      (w) =>
        w.namespace === pdb.namespace && Object.entries(pdb.matchLabels).every(([k, v]) => w.template.labels[k] === v),
    );
    if (under.length > 1)
      throw new InvariantViolation(
        "invariant 3",
        `${under.map((w) => w.name).join(", ")} under PDB ${pdb.namespace}/${pdb.name} restart at once`,
      );
  }
}

/** Workloads that exist before and after kept their replica count: every surge was undone. */
function checkReplicas(result: RunResult, invariant: string): void {
  for (const before of result.initial.workloads) {
    const after = findWorldWorkload(result.world, before);
    if (after && after.replicas !== before.replicas && !(before.template.gateway && after.replicas === 0))
      throw new InvariantViolation(
        invariant,
        `${before.kind} ${before.namespace}/${before.name} has ${after.replicas} replica(s), not its own ${before.replicas}`,
      );
  }
}

/** After Completed: the source revision is gone, no proxy runs it, its tags follow the target, surges are undone. */
export function checkCompleted(result: RunResult): void {
  const status = result.status!;
  const from = status.from!.revision;
  const to = status.to!.revision;
  if (result.world.revisions.some((r) => r.name === from))
    throw new InvariantViolation("completed", `revision ${from} is still installed after Completed`);
  const live = livePodsOn(result.world, from);
  if (live.length > 0) throw new InvariantViolation("completed", `pods still run ${from}: ${live.join(", ")}`);
  for (const tag of result.initial.tags) {
    const now = result.world.tags.find((t) => t.name === tag.name);
    if (tag.revision === from && now?.revision !== to)
      throw new InvariantViolation("completed", `tag ${tag.name} points at ${now?.revision}, not ${to}`);
  }
  checkReplicas(result, "completed");
}

/** After a completed rollback: every namespace has exactly its original labels, tags are back, no proxy runs the target. */
export function checkRolledBack(result: RunResult): void {
  const status = result.status!;
  const to = status.to!.revision;
  for (const ns of result.initial.namespaces) {
    const now = result.world.namespaces.find((n) => n.name === ns.name);
    const sorted = (l: Labels | undefined) => JSON.stringify(Object.entries(l ?? {}).sort());
    if (sorted(now?.labels) !== sorted(ns.labels))
      throw new InvariantViolation(
        "invariant 5",
        `namespace ${ns.name} has labels ${JSON.stringify(now?.labels)} after the rollback, not ${JSON.stringify(ns.labels)}`,
      );
  }
  for (const tag of result.initial.tags) {
    const now = result.world.tags.find((t) => t.name === tag.name);
    if (now?.revision !== tag.revision)
      throw new InvariantViolation(
        "invariant 5",
        `tag ${tag.name} points at ${now?.revision} after the rollback, not ${tag.revision}`,
      );
  }
  const live = livePodsOn(result.world, to);
  if (live.length > 0)
    throw new InvariantViolation("invariant 5", `after the rollback pods still run ${to}: ${live.join(", ")}`);
  checkReplicas(result, "invariant 5");
}
