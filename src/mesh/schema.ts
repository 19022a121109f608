// The MeshSnapshot as a zod schema: the one definition of its JSON shape. TypeScript types are
// inferred from it, and the CLI checks `-o json` output against it (or against meshSnapshotJsonSchema()).
import { z } from "zod";

const count = z.number().int().nonnegative();
const countsByKey = z.record(z.string(), count);

export const objectRefSchema = z.object({ kind: z.string(), namespace: z.string().optional(), name: z.string() });
export type ObjectRef = z.infer<typeof objectRefSchema>;

export const injectionDecisionSchema = z.object({
  /** revision whose istiod would inject (a tag resolved to its revision); null = no sidecar */
  revision: z.string().nullable(),
  /** tag the matching webhook belongs to, if any */
  tag: z.string().nullable(),
  outcome: z.enum([
    "injected",
    "not-selected",
    "opted-out",
    "policy-skip",
    "host-network",
    "system-namespace",
    "double-injection",
    "webhook-unavailable",
  ]),
  /** "<MutatingWebhookConfiguration>/<webhook>" that matched */
  webhooks: z.array(z.string()),
  reason: z.string(),
});
export type InjectionDecision = z.infer<typeof injectionDecisionSchema>;

export const injectionWebhookSchema = z.object({
  configuration: z.string(),
  name: z.string(),
  role: z.enum(["rev.namespace", "rev.object", "namespace", "object", "auto", "other"]),
  revision: z.string().nullable(),
  tag: z.string().nullable(),
  service: z.object({ namespace: z.string(), name: z.string() }).nullable(),
  url: z.string().nullable(),
  serviceExists: z.boolean().nullable(),
  deactivated: z.boolean(),
  failurePolicy: z.string(),
});
export type InjectionWebhook = z.infer<typeof injectionWebhookSchema>;

export const webhookConflictSchema = z.object({
  kind: z.enum(["overlap", "duplicate-tag", "missing-service"]),
  webhooks: z.array(z.string()),
  message: z.string(),
});
export type WebhookConflict = z.infer<typeof webhookConflictSchema>;

export const revisionSchema = z.object({
  name: z.string(),
  namespace: z.string(),
  deployment: z.string(),
  image: z.string().nullable(),
  version: z.string().nullable(),
  versionSource: z.enum(["image", "label"]).nullable(),
  replicas: z.object({ desired: count, ready: count, available: count, updated: count }),
  ready: z.boolean(),
  injector: z.object({
    configMap: z.string().nullable(),
    expectedProxyImage: z.string().nullable(),
    policy: z.string().nullable(),
    enableNamespacesByDefault: z.boolean(),
  }),
  /** injector MutatingWebhookConfigurations of the revision itself (not tags) */
  webhookConfigurations: z.array(z.string()),
  tags: z.array(z.string()),
  isDefault: z.boolean(),
  /** live pods whose proxy was injected by this revision */
  proxies: count,
  /** proxies connected per istiod syncz; null when syncz was not given */
  connectedProxies: count.nullable(),
});
export type Revision = z.infer<typeof revisionSchema>;

export const orphanRevisionSchema = z.object({
  name: z.string(),
  webhookConfigurations: z.array(z.string()),
  tags: z.array(z.string()),
  proxies: count,
});
export type OrphanRevision = z.infer<typeof orphanRevisionSchema>;

export const revisionTagSchema = z.object({
  name: z.string(),
  /** null when the tag webhook names no revision; "a,b" when its configurations disagree */
  revision: z.string().nullable(),
  configurations: z.array(z.string()),
  revisionInstalled: z.boolean(),
  namespaces: z.array(z.string()),
});
export type RevisionTag = z.infer<typeof revisionTagSchema>;

export const namespaceViewSchema = z.object({
  name: z.string(),
  labels: z.object({
    istioInjection: z.string().nullable(),
    rev: z.string().nullable(),
    dataplaneMode: z.string().nullable(),
  }),
  /** what an unlabeled pod created here now gets */
  injection: injectionDecisionSchema,
  /** no namespace-level injection label: each pod's labels decide */
  perPodRules: z.boolean(),
  conflicts: z.array(z.object({ code: z.string(), message: z.string() })),
  pods: count,
  proxies: count,
  proxiesByRevision: countsByKey,
  proxiesByVersion: countsByKey,
  staleProxies: count,
});
export type NamespaceView = z.infer<typeof namespaceViewSchema>;

export const workloadFlagSchema = z.enum([
  "stale",
  "would-lose-sidecar",
  "would-gain-sidecar",
  "naked-pod",
  "single-replica",
  "mixed-revisions",
  "manual-proxy",
  "completed-pods-pin-revision",
  "double-injection",
  "webhook-unavailable",
  "image-auto-without-injection",
]);
export type WorkloadFlag = z.infer<typeof workloadFlagSchema>;

export const rolloutSchema = z.object({
  generation: count,
  observedGeneration: count,
  /** replicas the spec asks for (DaemonSet: desiredNumberScheduled) */
  desired: count,
  /** pods from the current template */
  updated: count,
  ready: count,
  available: count,
  /** pods of any template (old ones count until they are gone) */
  total: count,
  /** the controller saw the latest spec and every pod is from the current template and available */
  complete: z.boolean(),
  paused: z.boolean(),
});
export type Rollout = z.infer<typeof rolloutSchema>;

/** Deployment, StatefulSet, DaemonSet, ReplicaSet (without Deployment), Job, CronJob, Pod (naked), or another controller's kind */
export const workloadKindSchema = z.string();
export type WorkloadKind = z.infer<typeof workloadKindSchema>;

export const workloadSchema = z.object({
  kind: workloadKindSchema,
  namespace: z.string(),
  name: z.string(),
  replicas: count.nullable(),
  templateLabels: z.record(z.string(), z.string()),
  pods: z.array(z.string()),
  livePods: count,
  completedPods: count,
  proxiedPods: count,
  /** revisions / versions of its live proxies now */
  revisions: z.array(z.string()),
  versions: z.array(z.string()),
  /** what a restart (a new pod from the template) would get */
  restart: injectionDecisionSchema,
  /** the template itself carries a concrete istio-proxy (legacy gateway, kube-inject): it survives a restart */
  manualProxy: z.boolean(),
  gateway: z.enum(["injected", "legacy", "gateway-api"]).nullable(),
  flags: z.array(workloadFlagSchema),
  /** the pod template's annotations that say who restarted it last (kubectl, meshlift's restart token) */
  templateAnnotations: z.record(z.string(), z.string()),
  /** rollout state of a Deployment/StatefulSet/DaemonSet; null for other kinds */
  rollout: rolloutSchema.nullable(),
});
export type Workload = z.infer<typeof workloadSchema>;

export const proxySchema = z.object({
  namespace: z.string(),
  pod: z.string(),
  workload: objectRefSchema.nullable(),
  phase: z.string(),
  /** Succeeded/Failed pods are listed but are not live proxies (sail-operator#2100) */
  live: z.boolean(),
  terminating: z.boolean(),
  sidecar: z.enum(["native", "classic"]),
  image: z.string().nullable(),
  version: z.string().nullable(),
  revision: z.string().nullable(),
  revisionSource: z.enum(["annotation", "status", "label", "ca-address"]).nullable(),
  /** image the proxy's injector would inject now; null when unknown */
  expectedImage: z.string().nullable(),
  imageMismatch: z.boolean(),
  /** sidecar.istio.io/proxyImage pins a custom image; image checks skip it */
  imageOverridden: z.boolean(),
  /** revision the namespace/tag/pod labels select now */
  selectedRevision: z.string().nullable(),
  stale: z.boolean(),
  staleReasons: z.array(z.string()),
  gateway: z.boolean(),
  connected: z.object({ revision: z.string(), istioVersion: z.string().nullable() }).nullable(),
});
export type Proxy = z.infer<typeof proxySchema>;

export const podChangeSchema = z.object({
  namespace: z.string(),
  pod: z.string(),
  workload: objectRefSchema.nullable(),
  reason: z.string(),
});
export type PodChange = z.infer<typeof podChangeSchema>;

export const envoyFilterPatchSchema = z.object({
  index: count,
  applyTo: z.string().nullable(),
  operation: z.string().nullable(),
  context: z.string().nullable(),
  proxyVersion: z.string().nullable(),
  filterNames: z.array(z.string()),
  valueName: z.string().nullable(),
});

export const envoyFilterViewSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  priority: z.number().int(),
  revision: z.string().nullable(),
  workloadSelector: z.record(z.string(), z.string()).nullable(),
  patches: z.array(envoyFilterPatchSchema),
});
export type EnvoyFilterView = z.infer<typeof envoyFilterViewSchema>;

export const pdbViewSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  minAvailable: z.union([z.number(), z.string()]).nullable(),
  maxUnavailable: z.union([z.number(), z.string()]).nullable(),
  disruptionsAllowed: z.number().int().nullable(),
  workloads: z.array(objectRefSchema),
  /** no voluntary eviction possible right now (status) or ever at the current replica count (spec) */
  blocksEviction: z.boolean(),
  reason: z.string().nullable(),
});
export type PdbView = z.infer<typeof pdbViewSchema>;

export const upgradeViewSchema = z.object({
  name: z.string(),
  createdAt: z.string().nullable(),
  stage: z.string().nullable(),
  targetVersion: z.string().nullable(),
  targetRevision: z.string().nullable(),
});
export type UpgradeView = z.infer<typeof upgradeViewSchema>;

export const meshSnapshotSchema = z.object({
  takenAt: z.string(),
  kubernetesVersion: z.string(),
  istioNamespaces: z.array(z.string()),
  defaultRevision: z.string().nullable(),
  revisions: z.array(revisionSchema),
  orphanRevisions: z.array(orphanRevisionSchema),
  tags: z.array(revisionTagSchema),
  webhooks: z.array(injectionWebhookSchema),
  webhookConflicts: z.array(webhookConflictSchema),
  namespaces: z.array(namespaceViewSchema),
  workloads: z.array(workloadSchema),
  proxies: z.array(proxySchema),
  podsLosingSidecar: z.array(podChangeSchema),
  podsGainingSidecar: z.array(podChangeSchema),
  envoyFilters: z.array(envoyFilterViewSchema),
  pdbs: z.array(pdbViewSchema),
  upgrades: z.array(upgradeViewSchema),
  summary: z.object({
    liveProxies: count,
    /** Succeeded/Failed pods that still carry an injected proxy */
    completedPods: count,
    proxiesByRevision: countsByKey,
    proxiesByVersion: countsByKey,
    staleProxies: count,
    podsLosingSidecar: count,
    podsGainingSidecar: count,
  }),
});
export type MeshSnapshot = z.infer<typeof meshSnapshotSchema>;

/** JSON Schema (draft 2020-12) of the snapshot, for tools outside TypeScript. */
export function meshSnapshotJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(meshSnapshotSchema) as Record<string, unknown>;
}
