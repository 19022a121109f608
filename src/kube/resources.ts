// The resources meshlift reads and writes, and their REST paths. Paths are built from
// group/version/plural (what the API server routes on), never from lower-cased kinds.

/** A served resource: enough to build its REST paths. */
export interface ResourceRef {
  /** "" for the core group */
  group: string;
  version: string;
  /** lower-case plural, the URL segment */
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** Any object as the API server serves it: plain JSON, unknown fields kept. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: any;
}

export interface KubeList<T = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

const core = (plural: string, kind: string, namespaced = true): ResourceRef => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced,
});

export const RESOURCES = {
  namespaces: core("namespaces", "Namespace", false),
  pods: core("pods", "Pod"),
  services: core("services", "Service"),
  configMaps: core("configmaps", "ConfigMap"),
  deployments: { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
  statefulSets: { group: "apps", version: "v1", plural: "statefulsets", kind: "StatefulSet", namespaced: true },
  daemonSets: { group: "apps", version: "v1", plural: "daemonsets", kind: "DaemonSet", namespaced: true },
  replicaSets: { group: "apps", version: "v1", plural: "replicasets", kind: "ReplicaSet", namespaced: true },
  jobs: { group: "batch", version: "v1", plural: "jobs", kind: "Job", namespaced: true },
  cronJobs: { group: "batch", version: "v1", plural: "cronjobs", kind: "CronJob", namespaced: true },
  podDisruptionBudgets: {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    namespaced: true,
  },
  mutatingWebhookConfigurations: {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "mutatingwebhookconfigurations",
    kind: "MutatingWebhookConfiguration",
    namespaced: false,
  },
  validatingWebhookConfigurations: {
    group: "admissionregistration.k8s.io",
    version: "v1",
    plural: "validatingwebhookconfigurations",
    kind: "ValidatingWebhookConfiguration",
    namespaced: false,
  },
  customResourceDefinitions: {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
  },
  envoyFilters: {
    group: "networking.istio.io",
    version: "v1alpha3",
    plural: "envoyfilters",
    kind: "EnvoyFilter",
    namespaced: true,
  },
} as const satisfies Record<string, ResourceRef>;

/** The workload kinds a rolling restart reaches through their controller, and their resources. */
export const ROLLOUT_RESOURCES = {
  Deployment: RESOURCES.deployments,
  StatefulSet: RESOURCES.statefulSets,
  DaemonSet: RESOURCES.daemonSets,
} as const satisfies Record<string, ResourceRef>;

/** The resource of a workload kind that rolls out, or undefined for any other kind. */
export function rolloutResource(kind: string): ResourceRef | undefined {
  return (ROLLOUT_RESOURCES as Record<string, ResourceRef>)[kind];
}

export function apiVersionOf(r: Pick<ResourceRef, "group" | "version">): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** `<plural>.<group>`, the name the API server uses in messages and RBAC. */
export function qualifiedName(r: Pick<ResourceRef, "group" | "plural">): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

function groupVersionPath(r: Pick<ResourceRef, "group" | "version">): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

/** The collection: namespaced when `namespace` is given, else cluster-wide (all namespaces). */
export function collectionPath(r: ResourceRef, namespace?: string): string {
  if (r.namespaced && namespace)
    return `${groupVersionPath(r)}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
  return `${groupVersionPath(r)}/${r.plural}`;
}

export function objectPath(r: ResourceRef, name: string, namespace?: string): string {
  if (r.namespaced && !namespace)
    throw new Error(`${qualifiedName(r)} "${name}" is namespaced: a namespace is required`);
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}`;
}

/** "namespace/name" for namespaced objects, "name" for cluster-scoped ones (client-go's cache key). */
export function objectKey(obj: { metadata?: { name?: string; namespace?: string } }): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ""}` : (m.name ?? "");
}
