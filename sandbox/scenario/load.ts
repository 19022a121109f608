// From a scenario to a running cluster: the objects in apply order, and loading them into the store
// through create (so defaulting, admission and sidecar injection run exactly as for any client).
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ApiError, resourceKey, type ClusterStore, type KObject } from "../api/types.js";
import { resolveFenceposts } from "../controllers/deployment.js";
import { readyNode } from "../controllers/nodes.js";
import { ownerRefTo, POD_TEMPLATE_HASH, REVISION_ANNOTATION, templateHash } from "../controllers/meta.js";
import { injectPod } from "../istio/injector.js";
import { renderGateway, renderRevision, renderTag, revisionSuffix } from "../istio/render.js";
import { sailCRDs } from "../sail/crds.js";
import { envoyFilterObject } from "./istio-config.js";
import type { Revision, Scenario, Workload } from "./schema.js";
import { pdbObject, serviceObject, workloadObject, type PreInjector } from "./workloads.js";

export type PhaseName =
  | "crds"
  | "nodes"
  | "namespaces"
  | "control-plane"
  | "gateways"
  | "config"
  | "workloads"
  | "pdbs"
  | "services"
  | "objects";

export interface ScenarioPhase {
  name: PhaseName;
  objects: KObject[];
}

const CRD_FILE = new URL("../istio/data/crd-all.gen.yaml", import.meta.url);
let crdCache: KObject[] | undefined;

/**
 * The real Istio CRDs (sandbox/istio/data/crd-all.gen.yaml), parsed once per process. Parsing the 1 MB of
 * YAML takes seconds, so the result is also kept as JSON in the temp dir, keyed by the file's content hash.
 */
export function istioCRDs(): KObject[] {
  if (!crdCache) {
    const text = readFileSync(CRD_FILE, "utf8");
    const cacheFile = join(
      tmpdir(),
      `meshlift-istio-crds-${createHash("sha256").update(text).digest("hex").slice(0, 16)}.json`,
    );
    try {
      crdCache = JSON.parse(readFileSync(cacheFile, "utf8")) as KObject[];
    } catch {
      crdCache = parseAllDocuments(text)
        .map((d) => d.toJS() as KObject)
        .filter((o) => o?.kind === "CustomResourceDefinition");
      try {
        // write-then-rename: a concurrent reader never sees half a file
        const partial = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(partial, JSON.stringify(crdCache));
        renameSync(partial, cacheFile);
      } catch {
        // a read-only temp dir only costs the next process the parse
      }
    }
  }
  return crdCache.map((o) => structuredClone(o));
}

function totalPods(s: Scenario): number {
  let n = 0;
  for (const ns of s.namespaces)
    for (const w of ns.workloads)
      n += w.kind === "DaemonSet" ? s.nodes.length : w.kind === "Pod" ? 1 : (w.replicas ?? 1);
  return n + s.gateways.reduce((a, g) => a + g.replicas, 0) + s.istio.revisions.reduce((a, r) => a + r.replicas, 0);
}

/** Ready worker nodes as a kubelet registers them; pod capacity sized so the scenario fits with room for surges. */
function nodeObjects(s: Scenario): KObject[] {
  const maxPods = Math.max(110, Math.ceil((totalPods(s) * 2) / s.nodes.length));
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  return s.nodes.map((name, i) => readyNode(name, i, { kubernetesVersion: s.kubernetesVersion, maxPods, now }));
}

function namespaceObjects(s: Scenario): KObject[] {
  const declared = new Map(s.namespaces.map((n) => [n.name, n]));
  const implicit = [s.istio.namespace, ...s.gateways.map((g) => g.namespace)].filter(
    (n, i, all) => !declared.has(n) && all.indexOf(n) === i,
  );
  return [
    ...implicit.map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })),
    ...s.namespaces.map((n) => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: n.name,
        ...(n.initialLabels
          ? { labels: { ...n.initialLabels } }
          : Object.keys(n.labels).length
            ? { labels: { ...n.labels } }
            : {}),
        ...(Object.keys(n.annotations).length ? { annotations: { ...n.annotations } } : {}),
      },
    })),
  ];
}

function controlPlaneObjects(s: Scenario): KObject[] {
  const istioNamespace = s.istio.namespace;
  const out: KObject[] = [];
  for (const r of s.istio.revisions) {
    out.push(
      ...renderRevision({
        version: r.version,
        revision: r.name,
        istioNamespace,
        hub: r.hub,
        replicas: r.replicas,
        nativeSidecars: r.native,
      }),
    );
    // the unrevisioned install's own webhook already serves the default (istio-facts §1.3), so no default tag for it
    if (r.default && r.name !== "") out.push(...renderTag("default", r.name, { istioNamespace, version: r.version }));
    for (const tag of r.tags) out.push(...renderTag(tag, r.name, { istioNamespace, version: r.version }));
  }
  return out;
}

/**
 * Injects pod templates the way `istioctl kube-inject` does, with the injector ConfigMap of the named
 * revision (rendered for the purpose when the revision is no longer installed).
 */
function preInjector(s: Scenario, controlPlane: KObject[]): PreInjector {
  const configs = new Map<string, { injector: KObject; mesh?: KObject }>();
  const configFor = (revision: string, version: string | undefined, objects: KObject[]) => {
    const r = revisionSuffix(revision);
    const find = (name: string) =>
      objects.find(
        (o) => o.kind === "ConfigMap" && o.metadata.name === name && o.metadata.namespace === s.istio.namespace,
      );
    const injector = find(`istio-sidecar-injector${r}`);
    if (!injector)
      throw new Error(
        `revision "${revision}"${version ? ` (${version})` : ""} renders no ConfigMap istio-sidecar-injector${r}`,
      );
    return { injector, mesh: find(`istio${r}`) };
  };
  return (pod, w: Workload) => {
    const { revision, version } = w.preInjected!;
    const key = `${revision}@${version ?? ""}`;
    let cfg = configs.get(key);
    if (!cfg) {
      const installed: Revision | undefined = s.istio.revisions.find((r) => r.name === revision);
      const objects =
        installed && (!version || version === installed.version)
          ? controlPlane
          : renderRevision({ version: version ?? installed!.version, revision, istioNamespace: s.istio.namespace });
      cfg = configFor(revision, version, objects);
      configs.set(key, cfg);
    }
    const ns = s.namespaces.find((n) => n.name === pod.metadata.namespace);
    // kube-inject forces injection whatever the namespace says: the pod asks for it explicitly
    const asking = {
      ...pod,
      metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, "sidecar.istio.io/inject": "true" } },
    };
    const result = injectPod(asking, {
      namespace: {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: pod.metadata.namespace, labels: { ...(ns?.labels ?? {}) } },
      },
      injectorConfigMap: cfg.injector,
      meshConfigMap: cfg.mesh,
      revision,
      istioNamespace: s.istio.namespace,
    });
    if (!result.injected) throw new Error(`cannot pre-inject ${pod.metadata.namespace}/${w.name}: ${result.reason}`);
    const labels = { ...result.pod.metadata.labels };
    if (pod.metadata.labels?.["sidecar.istio.io/inject"] === undefined) delete labels["sidecar.istio.io/inject"];
    return { ...result.pod, metadata: { ...result.pod.metadata, labels } };
  };
}

/** The scenario as Kubernetes objects, phase by phase, in apply order. */
export function scenarioPhases(s: Scenario): ScenarioPhase[] {
  const controlPlane = controlPlaneObjects(s);
  const inject = s.namespaces.some((n) => n.workloads.some((w) => w.preInjected))
    ? preInjector(s, controlPlane)
    : undefined;
  const workloads: KObject[] = [];
  const pdbs: KObject[] = [];
  const services: KObject[] = [];
  for (const ns of s.namespaces) {
    for (const w of ns.workloads) {
      workloads.push(workloadObject(ns, w, inject));
      const pdb = pdbObject(ns, w);
      if (pdb) pdbs.push(pdb);
      const svc = serviceObject(ns, w);
      if (svc) services.push(svc);
    }
  }
  return [
    { name: "crds", objects: [...(s.istio.crds ? istioCRDs() : []), ...(s.sail?.enabled ? sailCRDs() : [])] },
    { name: "nodes", objects: nodeObjects(s) },
    { name: "namespaces", objects: namespaceObjects(s) },
    { name: "control-plane", objects: controlPlane },
    {
      name: "gateways",
      objects: s.gateways.flatMap((g) =>
        renderGateway({
          name: g.name,
          namespace: g.namespace,
          kind: g.kind,
          replicas: g.replicas,
          revision: g.revision,
        }),
      ),
    },
    {
      name: "config",
      objects: [...s.envoyFilters.map(envoyFilterObject), ...s.istioConfig.map((o) => structuredClone(o) as KObject)],
    },
    { name: "workloads", objects: workloads },
    { name: "pdbs", objects: pdbs },
    { name: "services", objects: services },
    { name: "objects", objects: s.objects.map((o) => structuredClone(o) as KObject) },
  ];
}

/** Every object of the scenario in apply order: CRDs, nodes, namespaces, control plane, gateways, config, workloads, PDBs, Services, extra objects. */
export function scenarioObjects(s: Scenario): KObject[] {
  return scenarioPhases(s).flatMap((p) => p.objects);
}

export interface LoadOptions {
  /** resolves when the in-process controllers have nothing left to do right now (shortens the control-plane wait) */
  idle?: () => Promise<void>;
  /** how long to wait for each istiod Deployment to become Available (default 60 s) */
  controlPlaneTimeoutMs?: number;
  /** who the request log names as the writer (default "system:scenario-loader") */
  actor?: string;
  /** called after each phase, e.g. to print progress */
  onPhase?: (phase: PhaseName, created: number, elapsedMs: number) => void;
  /**
   * How Deployment pods come to exist. "controllers": the Deployment and ReplicaSet controllers create them
   * (~40 pods/s here). "direct": the loader writes each Deployment's ReplicaSet and bound pods itself, as
   * those controllers and the scheduler would, so fleets of 20,000 pods load in seconds. "auto" (default):
   * direct when the scenario has more than 2,000 Deployment pods.
   */
  podCreation?: "controllers" | "direct" | "auto";
}

const DIRECT_POD_THRESHOLD = 2000;

function describeObject(o: KObject): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
}

function keyOf(store: ClusterStore, o: KObject): string {
  const t = o.apiVersion && o.kind ? store.typeForKind(o.apiVersion, o.kind) : undefined;
  if (!t)
    throw new Error(
      `scenario object ${describeObject(o)}: the sandbox serves no ${o.apiVersion} ${o.kind} (is its CRD installed?)`,
    );
  return resourceKey(t.group, t.plural);
}

function create(store: ClusterStore, o: KObject, actor: string): KObject {
  const key = keyOf(store, o);
  try {
    return store.create(key, o, { actor, fieldManager: "kubectl-client-side-apply" });
  } catch (e) {
    // namespaces such as default or kube-system may already exist: apply the scenario's labels to them
    if (e instanceof ApiError && e.code === 409 && o.kind === "Namespace") {
      return store.mutate(
        key,
        undefined,
        o.metadata.name!,
        (ns) => {
          ns.metadata.labels = { ...(ns.metadata.labels ?? {}), ...(o.metadata.labels ?? {}) };
          ns.metadata.annotations = { ...(ns.metadata.annotations ?? {}), ...(o.metadata.annotations ?? {}) };
        },
        { actor },
      )!;
    }
    // a simulated kubelet may have registered its Node first, as a real one does
    if (e instanceof ApiError && e.code === 409 && o.kind === "Node")
      return store.get(key, undefined, o.metadata.name!)!;
    const why = e instanceof ApiError ? `${e.code} ${e.reason}: ${e.message}` : String(e);
    throw new Error(`loading scenario object ${describeObject(o)} failed: ${why}`, { cause: e });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isAvailable(d: KObject | undefined): boolean {
  if (!d) return false;
  const available = (d.status?.conditions ?? []).some((c: any) => c.type === "Available" && c.status === "True");
  return (
    available &&
    (d.status?.availableReplicas ?? 0) >= Math.min(1, d.spec?.replicas ?? 1) &&
    d.status?.observedGeneration >= (d.metadata.generation ?? 0)
  );
}

/** Waits until every istiod Deployment is Available: the injection webhooks only answer once istiod is Ready. */
async function waitForControlPlane(
  store: ClusterStore,
  deployments: KObject[],
  timeoutMs: number,
  idle?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = deployments.filter(
      (d) => !isAvailable(store.get("apps/deployments", d.metadata.namespace, d.metadata.name!)),
    );
    if (!pending.length) return;
    if (Date.now() > deadline)
      throw new Error(
        `istiod not Available after ${timeoutMs} ms: ${pending.map(describeObject).join(", ")} — are the sandbox controllers running (Deployment, ReplicaSet, scheduler, kubelet)?`,
      );
    // wake when the controllers settle (pods started, Deployment status written), or poll if they never do
    await Promise.race([idle?.(), sleep(25)]);
  }
}

/**
 * What the Deployment controller (getNewReplicaSet) and the ReplicaSet controller would write for a fresh
 * Deployment, written at once: the ReplicaSet named after the template hash, at full size, and its pods bound
 * round-robin to the nodes as the scheduler binds them. The first pod goes through admission like any other,
 * so the injection webhook decides its sidecar; the others are created from that injected pod (the webhook
 * then skips them: they already carry sidecar.istio.io/status) — one injection per Deployment, not per pod.
 * The kubelet simulation still runs every pod to Running and Ready.
 */
function createDeploymentDirect(store: ClusterStore, d: KObject, nodes: () => string, actor: string): void {
  const hash = templateHash(d.spec.template);
  const template = structuredClone(d.spec.template);
  template.metadata = {
    ...(template.metadata ?? {}),
    labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
  };
  const replicas: number = d.spec.replicas ?? 1;
  const { maxSurge } = resolveFenceposts(d);
  const rs = store.create(
    "apps/replicasets",
    {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations: {
          [REVISION_ANNOTATION]: "1",
          "deployment.kubernetes.io/desired-replicas": String(replicas),
          "deployment.kubernetes.io/max-replicas": String(replicas + maxSurge),
        },
        ownerReferences: [ownerRefTo(d, "apps/v1", "Deployment")],
      },
      spec: {
        replicas,
        minReadySeconds: d.spec.minReadySeconds ?? 0,
        selector: {
          ...d.spec.selector,
          matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash },
        },
        template,
      },
    },
    // written as the controller would, in-process: no managedFields entry (ADR 6)
    { actor },
  );
  // the replicas share one pod spec (and labels, annotations, owner reference): stored objects are immutable,
  // so the first pod's admitted spec serves them all, each with its own node, as the same template would give
  let podMeta = { labels: template.metadata.labels, annotations: template.metadata.annotations };
  let podSpec = template.spec;
  const ownerReferences = [ownerRefTo(rs, "apps/v1", "ReplicaSet")];
  for (let i = 0; i < replicas; i++) {
    const pod = store.createShared(
      "/pods",
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          generateName: `${rs.metadata.name}-`,
          namespace: d.metadata.namespace,
          labels: podMeta.labels,
          ...(podMeta.annotations ? { annotations: podMeta.annotations } : {}),
          ownerReferences,
        },
        spec: { ...podSpec, nodeName: nodes() },
      },
      { actor },
    );
    if (i === 0) {
      podMeta = { labels: pod.metadata.labels ?? {}, annotations: pod.metadata.annotations };
      const { nodeName: _bound, ...spec } = pod.spec;
      podSpec = spec;
    }
  }
}

/**
 * Creates the scenario in the store, phase by phase. The control plane goes first and must be Available
 * before anything with pods is created, so admission injects sidecars as a real cluster's webhook would.
 */
export async function loadIntoStore(store: ClusterStore, s: Scenario, opts: LoadOptions = {}): Promise<void> {
  const actor = opts.actor ?? "system:scenario-loader";
  const started = Date.now();
  const deploymentPods = s.namespaces.reduce(
    (n, ns) => n + ns.workloads.reduce((m, w) => m + (w.kind === "Deployment" ? (w.replicas ?? 1) : 0), 0),
    0,
  );
  const direct =
    opts.podCreation === "direct" || ((opts.podCreation ?? "auto") === "auto" && deploymentPods > DIRECT_POD_THRESHOLD);
  let nextNode = 0;
  const nodes = () => s.nodes[nextNode++ % s.nodes.length];
  for (const phase of scenarioPhases(s)) {
    let sinceYield = Date.now();
    for (const o of phase.objects) {
      const created = create(store, o, actor);
      // a kubelet registers its Node and then reports status; create drops status like the API server does
      if (o.kind === "Node" && o.status && !created.status?.conditions)
        store.mutate(
          keyOf(store, o),
          undefined,
          created.metadata.name!,
          (n) => void (n.status = structuredClone(o.status)),
          { actor, subresource: "status" },
        );
      if (direct && phase.name === "workloads" && o.kind === "Deployment")
        createDeploymentDirect(store, created, nodes, actor);
      // let the controllers run now and then instead of starving them behind thousands of creates
      if (Date.now() - sinceYield > 50) {
        await sleep(0);
        sinceYield = Date.now();
      }
    }
    if (phase.name === "control-plane") {
      const istiods = phase.objects.filter((o) => o.kind === "Deployment");
      await waitForControlPlane(store, istiods, opts.controlPlaneTimeoutMs ?? 60_000, opts.idle);
    }
    opts.onPhase?.(phase.name, phase.objects.length, Date.now() - started);
    await sleep(0);
  }
  await relabelNamespaces(store, s, actor, opts.idle);
}

/** Namespaces deployed under `initialLabels` get their final `labels` once their pods exist. */
async function relabelNamespaces(
  store: ClusterStore,
  s: Scenario,
  actor: string,
  idle?: () => Promise<void>,
): Promise<void> {
  const changed = s.namespaces.filter((n) => n.initialLabels);
  if (!changed.length) return;
  const end = Date.now() + 60_000;
  const settled = () =>
    changed.every((n) => {
      const pods = store.list("/pods", n.name);
      const wanted = n.workloads.reduce(
        (sum, w) => sum + (w.kind === "Deployment" || w.kind === "StatefulSet" ? (w.replicas ?? 1) : 0),
        0,
      );
      return (
        pods.filter((p) => p.metadata.annotations?.["sidecar.istio.io/status"] || p.status?.phase).length >= wanted
      );
    });
  while (!settled() && Date.now() < end) await (idle ? Promise.race([idle(), sleep(200)]) : sleep(50));
  for (const n of changed)
    store.mutate(
      "/namespaces",
      undefined,
      n.name,
      (ns) => {
        ns.metadata.labels = { ...n.labels, "kubernetes.io/metadata.name": n.name };
      },
      { actor, fieldManager: "kubectl-label" },
    );
}
