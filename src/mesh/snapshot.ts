// buildSnapshot: the whole mesh read model from plain Kubernetes objects, in one pass.
// Pure and linear: indexes are built once (by namespace/name), webhook evaluations are memoised.
import { versionFromImage } from "../catalog/version.js";
import { isInjectorConfigMap, readInjectorConfig, type InjectorConfig } from "./injector.js";
import type {
  BatchObjectLike,
  ConfigMapLike,
  EnvoyFilterLike,
  KubeObjectLike,
  Labels,
  MeshUpgradeLike,
  ObjectMetaLike,
  PodDisruptionBudgetLike,
  PodLike,
  PodTemplateLike,
  ServiceLike,
  WebhookConfigurationLike,
  WorkloadObjectLike,
} from "./kube-types.js";
import { ANNOTATION_STATUS, ANNOTATION_TEMPLATES, findProxyContainer, readProxy } from "./proxies.js";
import type {
  EnvoyFilterView,
  InjectionDecision,
  MeshSnapshot,
  NamespaceView,
  ObjectRef,
  OrphanRevision,
  PdbView,
  PodChange,
  Proxy,
  Revision,
  RevisionTag,
  Rollout,
  UpgradeView,
  Workload,
  WorkloadFlag,
} from "./schema.js";
import { selectorMatches } from "./selectors.js";
import {
  LABEL_DATAPLANE_MODE,
  LABEL_INJECTION,
  LABEL_REV,
  buildInjectionModel,
  type InjectionModel,
} from "./webhooks.js";

/** One istiod's view of its connected proxies (istiod debug/syncz), keyed by revision. */
export type SynczByRevision = Record<string, { proxy: string; istio_version?: string }[]>;

export interface SnapshotInput {
  namespaces: { metadata?: ObjectMetaLike }[];
  pods: PodLike[];
  deployments: WorkloadObjectLike[];
  statefulsets: WorkloadObjectLike[];
  daemonsets: WorkloadObjectLike[];
  jobs: BatchObjectLike[];
  cronjobs: BatchObjectLike[];
  replicasets: WorkloadObjectLike[];
  services: ServiceLike[];
  configmaps: ConfigMapLike[];
  mutatingWebhooks: WebhookConfigurationLike[];
  validatingWebhooks?: WebhookConfigurationLike[];
  envoyFilters?: EnvoyFilterLike[];
  pdbs?: PodDisruptionBudgetLike[];
  /** meshlift MeshUpgrade objects, to detect an upgrade already in progress */
  meshUpgrades?: MeshUpgradeLike[];
  kubernetesVersion: string;
  syncz?: SynczByRevision;
  now?: Date | string;
}

/** An input with no objects: the base for building inputs by hand (tests, checks that need no mesh). */
export function emptySnapshotInput(kubernetesVersion: string, overrides: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    namespaces: [],
    pods: [],
    deployments: [],
    statefulsets: [],
    daemonsets: [],
    jobs: [],
    cronjobs: [],
    replicasets: [],
    services: [],
    configmaps: [],
    mutatingWebhooks: [],
    kubernetesVersion,
    ...overrides,
  };
}

const COMPLETED_PHASES = new Set(["Succeeded", "Failed"]);

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ""}/${name ?? ""}`;
}

function inc(counts: Record<string, number>, k: string): void {
  counts[k] = (counts[k] ?? 0) + 1;
}

function controllerOf(meta: ObjectMetaLike | undefined) {
  const refs = meta?.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

function templateOf(kind: string, obj: BatchObjectLike): PodTemplateLike | undefined {
  return kind === "CronJob" ? obj.spec?.jobTemplate?.spec?.template : obj.spec?.template;
}

// ---------------------------------------------------------------- revisions

function istiodRevisionName(d: WorkloadObjectLike): string {
  const fromLabel = d.metadata?.labels?.[LABEL_REV] ?? d.spec?.template?.metadata?.labels?.[LABEL_REV];
  if (fromLabel) return fromLabel;
  const discovery =
    d.spec?.template?.spec?.containers?.find((c) => c.name === "discovery") ?? d.spec?.template?.spec?.containers?.[0];
  const env = discovery?.env?.find((e) => e.name === "REVISION")?.value;
  if (env) return env;
  const name = d.metadata?.name ?? "istiod";
  return name.startsWith("istiod-") ? name.slice("istiod-".length) : "default";
}

function isIstiod(d: WorkloadObjectLike): boolean {
  return d.metadata?.labels?.app === "istiod" || d.spec?.template?.metadata?.labels?.app === "istiod";
}

function readRevision(d: WorkloadObjectLike, injectors: Map<string, InjectorConfig>): Revision {
  const name = istiodRevisionName(d);
  const discovery =
    d.spec?.template?.spec?.containers?.find((c) => c.name === "discovery") ?? d.spec?.template?.spec?.containers?.[0];
  const image = discovery?.image ?? null;
  let version = image ? versionFromImage(image) : null;
  let versionSource: Revision["versionSource"] = version ? "image" : null;
  if (!version) {
    const labels = d.metadata?.labels ?? {};
    version = labels["operator.istio.io/version"] ?? labels["app.kubernetes.io/version"] ?? null;
    versionSource = version ? "label" : null;
  }
  const desired = d.spec?.replicas ?? 1;
  const ready = d.status?.readyReplicas ?? 0;
  const injector = injectors.get(name);
  return {
    name,
    namespace: d.metadata?.namespace ?? "",
    deployment: d.metadata?.name ?? "",
    image,
    version,
    versionSource,
    replicas: { desired, ready, available: d.status?.availableReplicas ?? 0, updated: d.status?.updatedReplicas ?? 0 },
    ready: desired > 0 && ready >= desired,
    injector: {
      configMap: injector?.configMap ?? null,
      expectedProxyImage: injector?.expectedProxyImage ?? null,
      policy: injector?.policy ?? null,
      enableNamespacesByDefault: injector?.enableNamespacesByDefault ?? false,
    },
    webhookConfigurations: [],
    tags: [],
    isDefault: false,
    proxies: 0,
    connectedProxies: null,
  };
}

// ---------------------------------------------------------------- workloads

/**
 * Rollout state as `kubectl rollout status` judges it (kubectl/pkg/polymorphichelpers/rollout_status.go):
 * the controller observed the latest generation, every pod runs the current template, and all are available.
 */
export function readRollout(kind: string, obj: WorkloadObjectLike): Rollout | null {
  if (kind !== "Deployment" && kind !== "StatefulSet" && kind !== "DaemonSet") return null;
  const st = obj.status ?? {};
  const generation = obj.metadata?.generation ?? 0;
  const observedGeneration = st.observedGeneration ?? 0;
  const observed = observedGeneration >= generation;
  if (kind === "DaemonSet") {
    const desired = st.desiredNumberScheduled ?? 0;
    const updated = st.updatedNumberScheduled ?? 0;
    const available = st.numberAvailable ?? 0;
    return {
      generation,
      observedGeneration,
      desired,
      updated,
      ready: st.numberReady ?? 0,
      available,
      total: st.currentNumberScheduled ?? desired,
      complete: observed && updated >= desired && available >= desired,
      paused: false,
    };
  }
  const desired = obj.spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const ready = st.readyReplicas ?? 0;
  const available = kind === "StatefulSet" ? (st.availableReplicas ?? ready) : (st.availableReplicas ?? 0);
  const total = st.replicas ?? 0;
  const complete =
    kind === "StatefulSet"
      ? observed &&
        updated >= desired &&
        ready >= desired &&
        (st.updateRevision === undefined || st.currentRevision === st.updateRevision)
      : observed && updated >= desired && total <= updated && available >= desired;
  return {
    generation,
    observedGeneration,
    desired,
    updated,
    ready,
    available,
    total,
    complete,
    paused: obj.spec?.paused === true,
  };
}

/** Pod-template annotations that record restarts (kubectl's and meshlift's). */
const RESTART_ANNOTATIONS = ["kubectl.kubernetes.io/restartedAt", "meshlift.io/restart-token"];

function restartAnnotations(template: PodTemplateLike | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const annotations = template?.metadata?.annotations ?? {};
  for (const k of RESTART_ANNOTATIONS) if (annotations[k] !== undefined) out[k] = annotations[k];
  return out;
}

interface WorkloadBuilder {
  view: Workload;
  template: PodTemplateLike | undefined;
  revisions: Set<string>;
  versions: Set<string>;
  /** gatewayKind(template), computed once: every pod of a controller shares the template */
  gateway: Workload["gateway"] | undefined;
}

function gatewayKind(template: PodTemplateLike | undefined): Workload["gateway"] {
  const labels = template?.metadata?.labels ?? {};
  const annotations = template?.metadata?.annotations ?? {};
  if (labels["gateway.networking.k8s.io/gateway-name"] !== undefined) return "gateway-api";
  const templates = (annotations[ANNOTATION_TEMPLATES] ?? "").split(",").map((t) => t.trim());
  if (templates.includes("gateway")) return "injected";
  const container = findProxyContainer(template?.spec)?.container;
  if (!container) return null;
  // gateways run `pilot-agent proxy router`, sidecars `proxy sidecar`
  const isRouter = container.args?.[0] === "proxy" && container.args?.[1] === "router";
  if (!isRouter && !/gateway$/.test(labels.istio ?? "")) return null;
  return container.image === "auto" || annotations[ANNOTATION_STATUS] !== undefined ? "injected" : "legacy";
}

/** The template itself holds a concrete istio-proxy: webhooks never touch templates, so it survives restarts. */
function templateHasManualProxy(template: PodTemplateLike | undefined): boolean {
  const container = findProxyContainer(template?.spec)?.container;
  return !!container && !!container.image && container.image !== "auto";
}

function emptyDecision(): InjectionDecision {
  return { revision: null, tag: null, outcome: "not-selected", webhooks: [], reason: "" };
}

// ---------------------------------------------------------------- envoy filters, PDBs, upgrades

function readEnvoyFilter(ef: EnvoyFilterLike): EnvoyFilterView {
  return {
    namespace: ef.metadata?.namespace ?? "",
    name: ef.metadata?.name ?? "",
    priority: ef.spec?.priority ?? 0,
    revision: ef.metadata?.labels?.[LABEL_REV] ?? null,
    workloadSelector: ef.spec?.workloadSelector?.labels ?? null,
    patches: (ef.spec?.configPatches ?? []).map((p, index) => {
      const filter = p.match?.listener?.filterChain?.filter;
      const valueName = p.patch?.value?.name;
      return {
        index,
        applyTo: p.applyTo ?? null,
        operation: p.patch?.operation ?? null,
        context: p.match?.context ?? null,
        proxyVersion: p.match?.proxy?.proxyVersion ?? null,
        filterNames: [filter?.name, filter?.subFilter?.name].filter(
          (n): n is string => typeof n === "string" && n !== "",
        ),
        valueName: typeof valueName === "string" ? valueName : null,
      };
    }),
  };
}

function resolveIntOrPercent(value: number | string | undefined, total: number, roundUp: boolean): number | null {
  if (value === undefined) return null;
  if (typeof value === "number") return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number.isFinite(Number(value)) ? Number(value) : null;
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}

function readPdb(pdb: PodDisruptionBudgetLike, workloads: Workload[]): PdbView {
  const namespace = pdb.metadata?.namespace ?? "";
  const selector = pdb.spec?.selector;
  // an empty selector selects every pod of the namespace in policy/v1; a missing one selects none
  const matched = selector
    ? workloads.filter((w) => w.namespace === namespace && selectorMatches(selector, w.templateLabels))
    : [];
  const replicas = matched.reduce((sum, w) => sum + (w.replicas ?? w.livePods), 0);
  const minAvailable = resolveIntOrPercent(pdb.spec?.minAvailable, replicas, true);
  const maxUnavailable = resolveIntOrPercent(pdb.spec?.maxUnavailable, replicas, false);
  const disruptionsAllowed = pdb.status?.disruptionsAllowed ?? null;
  let reason: string | null = null;
  if (maxUnavailable !== null && maxUnavailable <= 0) reason = "maxUnavailable is 0";
  else if (minAvailable !== null && matched.length > 0 && minAvailable >= replicas)
    reason = `minAvailable ${pdb.spec?.minAvailable} with ${replicas} replica(s)`;
  else if (disruptionsAllowed === 0) reason = "status.disruptionsAllowed is 0";
  return {
    namespace,
    name: pdb.metadata?.name ?? "",
    minAvailable: pdb.spec?.minAvailable ?? null,
    maxUnavailable: pdb.spec?.maxUnavailable ?? null,
    disruptionsAllowed,
    workloads: matched.map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name })),
    blocksEviction: reason !== null,
    reason,
  };
}

function readUpgrade(u: MeshUpgradeLike): UpgradeView {
  const created = u.metadata?.creationTimestamp;
  return {
    name: u.metadata?.name ?? "",
    createdAt: created === undefined ? null : typeof created === "string" ? created : created.toISOString(),
    stage: u.status?.stage ?? u.status?.phase ?? null,
    targetVersion: u.spec?.targetVersion ?? u.spec?.to?.version ?? null,
    targetRevision: u.spec?.revision ?? u.spec?.to?.revision ?? null,
  };
}

function syncProxyKey(proxy: string): string {
  // syncz ids are "<pod>.<ns>" or full node ids "sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local"
  return proxy.includes("~") ? (proxy.split("~")[2] ?? proxy) : proxy;
}

// ---------------------------------------------------------------- the snapshot

export function buildSnapshot(input: SnapshotInput): MeshSnapshot {
  const now = input.now === undefined ? new Date() : new Date(input.now);

  const nsLabels = new Map<string, Labels>();
  for (const ns of input.namespaces) if (ns.metadata?.name) nsLabels.set(ns.metadata.name, ns.metadata.labels ?? {});
  const labelsOfNamespace = (name: string) => nsLabels.get(name) ?? {};

  const injectors = new Map<string, InjectorConfig>();
  for (const cm of input.configmaps)
    if (isInjectorConfigMap(cm)) {
      const config = readInjectorConfig(cm);
      injectors.set(config.revision, config);
    }

  const revisions = input.deployments.filter(isIstiod).map((d) => readRevision(d, injectors));
  const revisionByName = new Map(revisions.map((r) => [r.name, r]));
  const installed = new Set(revisionByName.keys());

  const model: InjectionModel = buildInjectionModel(input.mutatingWebhooks, injectors, input.services, installed);
  const resolveTag = (name: string) => {
    const tag = model.tags.get(name);
    return tag?.revision && !installed.has(name) ? tag.revision : name;
  };

  for (const w of model.webhooks) {
    if (w.deactivated || !w.revision) continue;
    const rev = revisionByName.get(w.revision);
    if (rev && w.tag === null && !rev.webhookConfigurations.includes(w.configuration))
      rev.webhookConfigurations.push(w.configuration);
  }

  const defaultRevision =
    model.tags.get("default")?.revision ??
    model.evaluate(
      "meshlift-probe",
      { [LABEL_INJECTION]: "enabled" },
      { labels: {}, annotations: {}, hostNetwork: false },
    ).revision;

  // ---- workloads and ownership
  const workloads = new Map<string, WorkloadBuilder>();
  const addWorkload = (
    kind: string,
    obj: KubeObjectLike,
    template: PodTemplateLike | undefined,
    replicas: number | null,
    rollout: Rollout | null = null,
  ) => {
    const namespace = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    const builder: WorkloadBuilder = {
      view: {
        kind,
        namespace,
        name,
        replicas,
        templateLabels: template?.metadata?.labels ?? {},
        pods: [],
        livePods: 0,
        completedPods: 0,
        proxiedPods: 0,
        revisions: [],
        versions: [],
        restart: emptyDecision(),
        manualProxy: templateHasManualProxy(template),
        gateway: null,
        flags: [],
        templateAnnotations: restartAnnotations(template),
        rollout,
      },
      template,
      revisions: new Set(),
      versions: new Set(),
      gateway: undefined,
    };
    workloads.set(`${kind}/${namespace}/${name}`, builder);
    return builder;
  };
  for (const d of input.deployments)
    addWorkload("Deployment", d, d.spec?.template, d.spec?.replicas ?? 1, readRollout("Deployment", d));
  for (const s of input.statefulsets)
    addWorkload("StatefulSet", s, s.spec?.template, s.spec?.replicas ?? 1, readRollout("StatefulSet", s));
  for (const d of input.daemonsets)
    addWorkload(
      "DaemonSet",
      d,
      d.spec?.template,
      d.status?.desiredNumberScheduled ?? null,
      readRollout("DaemonSet", d),
    );
  for (const c of input.cronjobs) addWorkload("CronJob", c, templateOf("CronJob", c), null);

  const replicaSetOwner = new Map<string, string>();
  for (const rs of input.replicasets) {
    const owner = controllerOf(rs.metadata);
    if (owner?.kind === "Deployment")
      replicaSetOwner.set(
        key(rs.metadata?.namespace, rs.metadata?.name),
        `Deployment/${rs.metadata?.namespace ?? ""}/${owner.name}`,
      );
    else
      replicaSetOwner.set(
        key(rs.metadata?.namespace, rs.metadata?.name),
        `ReplicaSet/${rs.metadata?.namespace ?? ""}/${rs.metadata?.name}`,
      );
  }
  for (const rs of input.replicasets) {
    const owner = replicaSetOwner.get(key(rs.metadata?.namespace, rs.metadata?.name));
    if (owner?.startsWith("ReplicaSet/")) addWorkload("ReplicaSet", rs, rs.spec?.template, rs.spec?.replicas ?? 1);
  }
  const jobOwner = new Map<string, string>();
  for (const job of input.jobs) {
    const owner = controllerOf(job.metadata);
    const ns = job.metadata?.namespace ?? "";
    if (owner?.kind === "CronJob" && workloads.has(`CronJob/${ns}/${owner.name}`))
      jobOwner.set(key(ns, job.metadata?.name), `CronJob/${ns}/${owner.name}`);
    else {
      addWorkload("Job", job, job.spec?.template, null);
      jobOwner.set(key(ns, job.metadata?.name), `Job/${ns}/${job.metadata?.name}`);
    }
  }

  const workloadOfPod = (pod: PodLike): WorkloadBuilder => {
    const ns = pod.metadata?.namespace ?? "";
    const owner = controllerOf(pod.metadata);
    if (!owner) {
      const naked = addWorkload("Pod", pod, { metadata: pod.metadata, spec: pod.spec }, 1);
      naked.view.flags.push("naked-pod");
      // a naked pod is recreated from its manifest, which never held the injected proxy
      naked.view.manualProxy =
        !!findProxyContainer(pod.spec) && pod.metadata?.annotations?.[ANNOTATION_STATUS] === undefined;
      return naked;
    }
    let workloadKey: string;
    if (owner.kind === "ReplicaSet")
      workloadKey = replicaSetOwner.get(key(ns, owner.name)) ?? `ReplicaSet/${ns}/${owner.name}`;
    else if (owner.kind === "Job") workloadKey = jobOwner.get(key(ns, owner.name)) ?? `Job/${ns}/${owner.name}`;
    else workloadKey = `${owner.kind}/${ns}/${owner.name}`;
    const existing = workloads.get(workloadKey);
    if (existing) return existing;
    // the owner was not listed (e.g. a custom controller): model it from this pod
    const [kind, , name] = workloadKey.split("/");
    return addWorkload(kind, { metadata: { namespace: ns, name } }, { metadata: pod.metadata, spec: pod.spec }, null);
  };

  // ---- pods and proxies
  const proxies: Proxy[] = [];
  const losing: PodChange[] = [];
  const gaining: PodChange[] = [];
  const proxiesByRevision: Record<string, number> = {};
  const proxiesByVersion: Record<string, number> = {};
  const nsStats = new Map<
    string,
    {
      pods: number;
      proxies: number;
      byRevision: Record<string, number>;
      byVersion: Record<string, number>;
      stale: number;
    }
  >();
  const nsStat = (ns: string) => {
    let s = nsStats.get(ns);
    if (!s) nsStats.set(ns, (s = { pods: 0, proxies: 0, byRevision: {}, byVersion: {}, stale: 0 }));
    return s;
  };
  const connectedBy = new Map<string, { revision: string; istioVersion: string | null }>();
  for (const [revision, entries] of Object.entries(input.syncz ?? {})) {
    for (const e of entries)
      connectedBy.set(syncProxyKey(e.proxy), { revision, istioVersion: e.istio_version ?? null });
  }
  const restartDecision = new Map<WorkloadBuilder, InjectionDecision>();
  // one subject per template: the pod loop asks for its workload's on every pod
  const subjects = new Map<
    PodTemplateLike | undefined,
    { labels: Labels; annotations: Labels; hostNetwork: boolean }
  >();
  const subjectOf = (template: PodTemplateLike | undefined) => {
    let subject = subjects.get(template);
    if (!subject) {
      subject = {
        labels: template?.metadata?.labels ?? {},
        annotations: template?.metadata?.annotations ?? {},
        hostNetwork: template?.spec?.hostNetwork === true,
      };
      subjects.set(template, subject);
    }
    return subject;
  };
  const decideRestart = (w: WorkloadBuilder): InjectionDecision => {
    let decision = restartDecision.get(w);
    if (!decision) {
      decision = model.evaluate(w.view.namespace, labelsOfNamespace(w.view.namespace), subjectOf(w.template));
      restartDecision.set(w, decision);
    }
    return decision;
  };
  let completedPods = 0;

  for (const pod of input.pods) {
    const namespace = pod.metadata?.namespace ?? "";
    const podName = pod.metadata?.name ?? "";
    const workload = workloadOfPod(pod);
    const ref: ObjectRef | null =
      workload.view.kind === "Pod" ? null : { kind: workload.view.kind, namespace, name: workload.view.name };
    const phase = pod.status?.phase ?? "Unknown";
    const live = !COMPLETED_PHASES.has(phase);
    workload.view.pods.push(podName);
    if (live) workload.view.livePods++;
    else workload.view.completedPods++;
    const stat = nsStat(namespace);
    if (live) stat.pods++;

    const reading = readProxy(pod.metadata, pod.spec, resolveTag);
    const restart = decideRestart(workload);
    const restartInjects = restart.outcome === "injected";
    if (!reading) {
      if (live && restartInjects) gaining.push({ namespace, pod: podName, workload: ref, reason: restart.reason });
      continue;
    }
    if (!live) completedPods++;

    const subject = {
      labels: pod.metadata?.labels ?? {},
      annotations: pod.metadata?.annotations ?? {},
      hostNetwork: pod.spec?.hostNetwork === true,
    };
    // pods usually carry their template's labels: reuse the workload's decision when nothing relevant differs
    const podDecision = model.sameDecision(subject, subjectOf(workload.template))
      ? restart
      : model.evaluate(namespace, labelsOfNamespace(namespace), subject);
    const selectedRevision =
      podDecision.outcome === "injected" ? podDecision.revision : workload.view.manualProxy ? reading.revision : null;
    const injectorRevision = selectedRevision ?? reading.revision;
    const expectedImage = injectorRevision ? (injectors.get(injectorRevision)?.expectedProxyImage ?? null) : null;
    const imageMismatch =
      !reading.imageOverridden && expectedImage !== null && reading.image !== null && reading.image !== expectedImage;
    const staleReasons: string[] = [];
    if (reading.revision && selectedRevision && reading.revision !== selectedRevision) {
      staleReasons.push(
        `runs revision ${reading.revision} but ${podDecision.tag ? `tag ${podDecision.tag}` : "its labels"} now select revision ${selectedRevision}; restart it`,
      );
    }
    if (imageMismatch)
      staleReasons.push(
        `proxy image ${reading.image} differs from ${expectedImage} injected by revision ${injectorRevision} (IST0158); restart it`,
      );
    const stale = live && staleReasons.length > 0;
    const connected = connectedBy.size > 0 ? (connectedBy.get(`${podName}.${namespace}`) ?? null) : null;
    if (workload.gateway === undefined) workload.gateway = gatewayKind(workload.template);
    const gateway = workload.gateway !== null;

    proxies.push({
      namespace,
      pod: podName,
      workload: ref,
      phase,
      live,
      terminating: pod.metadata?.deletionTimestamp !== undefined && pod.metadata?.deletionTimestamp !== null,
      sidecar: reading.sidecar,
      image: reading.image,
      version: reading.version,
      revision: reading.revision,
      revisionSource: reading.revisionSource,
      expectedImage,
      imageMismatch,
      imageOverridden: reading.imageOverridden,
      selectedRevision,
      stale,
      staleReasons,
      gateway,
      connected,
    });
    if (!live) continue;

    const revKey = reading.revision ?? "unknown";
    const versionKey = reading.version ?? "unknown";
    inc(proxiesByRevision, revKey);
    inc(proxiesByVersion, versionKey);
    stat.proxies++;
    inc(stat.byRevision, revKey);
    inc(stat.byVersion, versionKey);
    if (stale) stat.stale++;
    workload.view.proxiedPods++;
    if (reading.revision) workload.revisions.add(reading.revision);
    if (reading.version) workload.versions.add(reading.version);
    if (stale && !workload.view.flags.includes("stale")) workload.view.flags.push("stale");
    if (!restartInjects && !workload.view.manualProxy)
      losing.push({ namespace, pod: podName, workload: ref, reason: restart.reason });
  }

  // ---- workload views
  const workloadViews: Workload[] = [];
  for (const w of workloads.values()) {
    const view = w.view;
    view.restart = decideRestart(w);
    view.revisions = [...w.revisions].sort();
    view.versions = [...w.versions].sort();
    view.gateway = w.gateway === undefined ? gatewayKind(w.template) : w.gateway;
    const flags = new Set<WorkloadFlag>(view.flags);
    const restartInjects = view.restart.outcome === "injected";
    if (view.proxiedPods > 0 && !restartInjects && !view.manualProxy) flags.add("would-lose-sidecar");
    if (view.livePods > view.proxiedPods && restartInjects) flags.add("would-gain-sidecar");
    if (view.replicas === 1 && (view.kind === "Deployment" || view.kind === "StatefulSet")) flags.add("single-replica");
    if (w.revisions.size > 1) flags.add("mixed-revisions");
    if (view.manualProxy) flags.add("manual-proxy");
    if (view.restart.outcome === "double-injection") flags.add("double-injection");
    if (view.restart.outcome === "webhook-unavailable") flags.add("webhook-unavailable");
    const templateProxy = findProxyContainer(w.template?.spec)?.container;
    if (templateProxy?.image === "auto" && !restartInjects) flags.add("image-auto-without-injection");
    view.flags = [...flags];
    workloadViews.push(view);
  }
  for (const p of proxies) {
    if (p.live || !p.revision) continue;
    const w = p.workload ? workloads.get(`${p.workload.kind}/${p.namespace}/${p.workload.name}`) : undefined;
    if (w && !w.view.flags.includes("completed-pods-pin-revision")) w.view.flags.push("completed-pods-pin-revision");
  }

  // ---- revisions: proxies, tags, default, syncz
  for (const [name, n] of Object.entries(proxiesByRevision)) {
    const rev = revisionByName.get(name);
    if (rev) rev.proxies = n;
  }
  if (input.syncz) {
    for (const rev of revisions) rev.connectedProxies = input.syncz[rev.name]?.length ?? 0;
  }
  const namespacesByRevLabel = new Map<string, string[]>();
  for (const [name, labels] of nsLabels) {
    const rev = labels[LABEL_REV];
    if (rev) namespacesByRevLabel.set(rev, [...(namespacesByRevLabel.get(rev) ?? []), name]);
  }
  const tags: RevisionTag[] = [...model.tags.entries()]
    .map(([name, t]) => ({
      name,
      revision: t.revision,
      configurations: t.configurations,
      revisionInstalled: t.revision !== null && installed.has(t.revision),
      namespaces: (namespacesByRevLabel.get(name) ?? []).sort(),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const t of tags) {
    const rev = t.revision ? revisionByName.get(t.revision) : undefined;
    if (rev) rev.tags.push(t.name);
  }
  for (const rev of revisions) rev.isDefault = rev.name === defaultRevision;

  const orphans = new Map<string, OrphanRevision>();
  const orphan = (name: string) => {
    let o = orphans.get(name);
    if (!o) orphans.set(name, (o = { name, webhookConfigurations: [], tags: [], proxies: 0 }));
    return o;
  };
  for (const w of model.webhooks) {
    if (w.deactivated || !w.revision || installed.has(w.revision)) continue;
    const o = orphan(w.revision);
    if (!o.webhookConfigurations.includes(w.configuration)) o.webhookConfigurations.push(w.configuration);
    if (w.tag && !o.tags.includes(w.tag)) o.tags.push(w.tag);
  }
  for (const [name, n] of Object.entries(proxiesByRevision))
    if (name !== "unknown" && !installed.has(name)) orphan(name).proxies = n;

  // ---- namespaces
  const namespaceNames = new Set([...nsLabels.keys(), ...nsStats.keys()]);
  const namespaceViews: NamespaceView[] = [...namespaceNames].sort().map((name) => {
    const labels = labelsOfNamespace(name);
    const injection = model.evaluate(name, labels, { labels: {}, annotations: {}, hostNetwork: false });
    const stat = nsStats.get(name);
    const conflicts: NamespaceView["conflicts"] = [];
    const injectionLabel = labels[LABEL_INJECTION];
    // IST0123: more than one injection-mode label; istio-injection=disabled is an explicit opt-out
    const modeLabels = [
      injectionLabel !== undefined ? `istio-injection=${injectionLabel}` : null,
      labels[LABEL_REV] !== undefined ? `istio.io/rev=${labels[LABEL_REV]}` : null,
      labels[LABEL_DATAPLANE_MODE] === "ambient" ? "istio.io/dataplane-mode=ambient" : null,
    ].filter((l): l is string => l !== null);
    if (injectionLabel !== "disabled" && modeLabels.length > 1) {
      conflicts.push({
        code: "IST0123",
        message: `namespace ${name} has ${modeLabels.join(" and ")}; ${injectionLabel !== undefined ? "istio-injection wins, so the other label is ignored" : "both apply"}`,
      });
    }
    return {
      name,
      labels: {
        istioInjection: injectionLabel ?? null,
        rev: labels[LABEL_REV] ?? null,
        dataplaneMode: labels[LABEL_DATAPLANE_MODE] ?? null,
      },
      injection,
      perPodRules: injectionLabel === undefined && labels[LABEL_REV] === undefined,
      conflicts,
      pods: stat?.pods ?? 0,
      proxies: stat?.proxies ?? 0,
      proxiesByRevision: stat?.byRevision ?? {},
      proxiesByVersion: stat?.byVersion ?? {},
      staleProxies: stat?.stale ?? 0,
    };
  });

  const istioNamespaces = [...new Set(revisions.map((r) => r.namespace))].sort();
  const staleProxies = proxies.reduce((n, p) => n + (p.stale ? 1 : 0), 0);
  const liveProxies = proxies.length - completedPods;

  return {
    takenAt: now.toISOString(),
    kubernetesVersion: input.kubernetesVersion,
    istioNamespaces,
    defaultRevision: defaultRevision ?? null,
    revisions: revisions.sort((a, b) => a.name.localeCompare(b.name)),
    orphanRevisions: [...orphans.values()].sort((a, b) => a.name.localeCompare(b.name)),
    tags,
    webhooks: model.webhooks,
    webhookConflicts: model.conflicts,
    namespaces: namespaceViews,
    workloads: workloadViews,
    proxies,
    podsLosingSidecar: losing,
    podsGainingSidecar: gaining,
    envoyFilters: (input.envoyFilters ?? []).map(readEnvoyFilter),
    pdbs: (input.pdbs ?? []).map((p) => readPdb(p, workloadViews)),
    upgrades: (input.meshUpgrades ?? []).map(readUpgrade),
    summary: {
      liveProxies,
      completedPods,
      proxiesByRevision,
      proxiesByVersion,
      staleProxies,
      podsLosingSidecar: losing.length,
      podsGainingSidecar: gaining.length,
    },
  };
}
