// The sandbox's type registry: which resources a Kubernetes API server of a given version serves
// (built-ins, parameterised by release), plus the types CustomResourceDefinitions add at run time.
import { ApiError, resourceKey, type KObject, type ResourceType, type Subresource } from "./types.js";

/** Every verb a full CRUD resource serves (as `kubectl api-resources -o wide` prints them). */
export const CRUD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const CREATE_ONLY = ["create"];
/** Namespaces cannot be deleted as a collection (real server: no deletecollection on namespaces). */
const NAMESPACE_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

/** A Kubernetes release as [minor] (the major is always 1). */
export function kubernetesMinor(kubernetesVersion: string): number {
  const m = /^v?1\.(\d+)(?:\.\d+)?/.exec(kubernetesVersion);
  if (!m) throw new Error(`unsupported Kubernetes version "${kubernetesVersion}": expected 1.<minor>[.<patch>]`);
  return Number(m[1]);
}

interface BuiltinSpec {
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs?: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: Subresource[];
  /** scale subresource paths (Deployment, ReplicaSet, StatefulSet, ReplicationController) */
  scaled?: boolean;
  /** first minor release serving this resource in its group version */
  since?: number;
}

/** One group/version as served by a range of releases: `since` inclusive, `removedIn` exclusive. */
interface GroupVersionSpec {
  group: string;
  version: string;
  since?: number;
  removedIn?: number;
  resources: BuiltinSpec[];
}

const ALL = ["all"];
const API_EXTENSIONS = ["api-extensions"];

const ns = (kind: string, plural: string, extra: Partial<BuiltinSpec> = {}): BuiltinSpec => ({
  kind,
  plural,
  namespaced: true,
  ...extra,
});
const cluster = (kind: string, plural: string, extra: Partial<BuiltinSpec> = {}): BuiltinSpec => ({
  kind,
  plural,
  namespaced: false,
  ...extra,
});

const hpa = ns("HorizontalPodAutoscaler", "horizontalpodautoscalers", {
  shortNames: ["hpa"],
  categories: ALL,
  subresources: ["status"],
});
const pdb = ns("PodDisruptionBudget", "poddisruptionbudgets", { shortNames: ["pdb"], subresources: ["status"] });
const cronJob = ns("CronJob", "cronjobs", { shortNames: ["cj"], categories: ALL, subresources: ["status"] });
const flowcontrol = (version: string, since: number, removedIn?: number): GroupVersionSpec => ({
  group: "flowcontrol.apiserver.k8s.io",
  version,
  since,
  removedIn,
  resources: [
    cluster("FlowSchema", "flowschemas", { subresources: ["status"] }),
    cluster("PriorityLevelConfiguration", "prioritylevelconfigurations", { subresources: ["status"] }),
  ],
});

/**
 * Built-in group versions in the order a real server lists them in /apis (its group priority order),
 * preferred version first within a group. Release ranges follow the Kubernetes deprecation guide.
 */
const BUILTIN_GROUP_VERSIONS: GroupVersionSpec[] = [
  {
    group: "",
    version: "v1",
    resources: [
      ns("Binding", "bindings", { verbs: CREATE_ONLY }),
      cluster("ComponentStatus", "componentstatuses", { verbs: ["get", "list"], shortNames: ["cs"] }),
      ns("ConfigMap", "configmaps", { shortNames: ["cm"] }),
      ns("Endpoints", "endpoints", { shortNames: ["ep"] }),
      ns("Event", "events", { shortNames: ["ev"] }),
      ns("LimitRange", "limitranges", { shortNames: ["limits"] }),
      cluster("Namespace", "namespaces", { verbs: NAMESPACE_VERBS, shortNames: ["ns"], subresources: ["status"] }),
      cluster("Node", "nodes", { shortNames: ["no"], subresources: ["status", "proxy"] }),
      ns("PersistentVolumeClaim", "persistentvolumeclaims", { shortNames: ["pvc"], subresources: ["status"] }),
      cluster("PersistentVolume", "persistentvolumes", { shortNames: ["pv"], subresources: ["status"] }),
      ns("Pod", "pods", {
        shortNames: ["po"],
        categories: ALL,
        subresources: ["status", "eviction", "binding", "log", "exec", "proxy"],
      }),
      ns("PodTemplate", "podtemplates"),
      ns("ReplicationController", "replicationcontrollers", {
        shortNames: ["rc"],
        categories: ALL,
        subresources: ["status", "scale"],
        scaled: true,
      }),
      ns("ResourceQuota", "resourcequotas", { shortNames: ["quota"], subresources: ["status"] }),
      ns("Secret", "secrets"),
      ns("ServiceAccount", "serviceaccounts", { shortNames: ["sa"] }),
      ns("Service", "services", { shortNames: ["svc"], categories: ALL, subresources: ["status", "proxy"] }),
    ],
  },
  {
    group: "apps",
    version: "v1",
    resources: [
      ns("ControllerRevision", "controllerrevisions"),
      ns("DaemonSet", "daemonsets", { shortNames: ["ds"], categories: ALL, subresources: ["status"] }),
      ns("Deployment", "deployments", {
        shortNames: ["deploy"],
        categories: ALL,
        subresources: ["status", "scale"],
        scaled: true,
      }),
      ns("ReplicaSet", "replicasets", {
        shortNames: ["rs"],
        categories: ALL,
        subresources: ["status", "scale"],
        scaled: true,
      }),
      ns("StatefulSet", "statefulsets", {
        shortNames: ["sts"],
        categories: ALL,
        subresources: ["status", "scale"],
        scaled: true,
      }),
    ],
  },
  { group: "events.k8s.io", version: "v1", resources: [ns("Event", "events", { shortNames: ["ev"] })] },
  {
    group: "events.k8s.io",
    version: "v1beta1",
    removedIn: 25,
    resources: [ns("Event", "events", { shortNames: ["ev"] })],
  },
  {
    group: "authentication.k8s.io",
    version: "v1",
    resources: [
      cluster("TokenReview", "tokenreviews", { verbs: CREATE_ONLY }),
      // GA in 1.28 (`kubectl auth whoami`)
      cluster("SelfSubjectReview", "selfsubjectreviews", { verbs: CREATE_ONLY, since: 28 }),
    ],
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    resources: [
      ns("LocalSubjectAccessReview", "localsubjectaccessreviews", { verbs: CREATE_ONLY }),
      cluster("SelfSubjectAccessReview", "selfsubjectaccessreviews", { verbs: CREATE_ONLY }),
      cluster("SelfSubjectRulesReview", "selfsubjectrulesreviews", { verbs: CREATE_ONLY }),
      cluster("SubjectAccessReview", "subjectaccessreviews", { verbs: CREATE_ONLY }),
    ],
  },
  { group: "autoscaling", version: "v2", since: 23, resources: [hpa] },
  { group: "autoscaling", version: "v1", resources: [hpa] },
  { group: "autoscaling", version: "v2beta1", removedIn: 25, resources: [hpa] },
  { group: "autoscaling", version: "v2beta2", removedIn: 26, resources: [hpa] },
  {
    group: "batch",
    version: "v1",
    resources: [cronJob, ns("Job", "jobs", { categories: ALL, subresources: ["status"] })],
  },
  { group: "batch", version: "v1beta1", removedIn: 25, resources: [cronJob] },
  {
    group: "networking.k8s.io",
    version: "v1",
    resources: [
      cluster("IngressClass", "ingressclasses"),
      ns("Ingress", "ingresses", { shortNames: ["ing"], subresources: ["status"] }),
      ns("NetworkPolicy", "networkpolicies", { shortNames: ["netpol"] }),
    ],
  },
  { group: "policy", version: "v1", resources: [pdb] },
  { group: "policy", version: "v1beta1", removedIn: 25, resources: [pdb] },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resources: [
      cluster("ClusterRoleBinding", "clusterrolebindings"),
      cluster("ClusterRole", "clusterroles"),
      ns("RoleBinding", "rolebindings"),
      ns("Role", "roles"),
    ],
  },
  {
    group: "admissionregistration.k8s.io",
    version: "v1",
    resources: [
      cluster("MutatingWebhookConfiguration", "mutatingwebhookconfigurations", { categories: API_EXTENSIONS }),
      cluster("ValidatingWebhookConfiguration", "validatingwebhookconfigurations", { categories: API_EXTENSIONS }),
    ],
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    resources: [
      cluster("CustomResourceDefinition", "customresourcedefinitions", {
        shortNames: ["crd", "crds"],
        categories: API_EXTENSIONS,
        subresources: ["status"],
      }),
    ],
  },
  { group: "coordination.k8s.io", version: "v1", resources: [ns("Lease", "leases")] },
  { group: "discovery.k8s.io", version: "v1", resources: [ns("EndpointSlice", "endpointslices")] },
  {
    group: "discovery.k8s.io",
    version: "v1beta1",
    removedIn: 25,
    resources: [ns("EndpointSlice", "endpointslices")],
  },
  // flowcontrol: v1 since 1.29, v1beta3 1.26–1.31, v1beta2 until 1.28 (deprecation guide)
  flowcontrol("v1", 29),
  flowcontrol("v1beta3", 26, 32),
  flowcontrol("v1beta2", 23, 29),
];

function servedIn(gv: GroupVersionSpec, minor: number): boolean {
  return (gv.since === undefined || minor >= gv.since) && (gv.removedIn === undefined || minor < gv.removedIn);
}

/** Kubernetes version priority (apimachinery `CompareKubeAwareVersionStrings`): GA > beta > alpha, higher first. */
export function compareKubeAwareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return { rank: -1, major: 0, minor: 0 };
    const rank = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
    return { rank, major: Number(m[1]), minor: m[3] ? Number(m[3]) : 0 };
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa.rank === -1 && pb.rank === -1) return a.localeCompare(b);
  // GA versions rank above beta above alpha; non-Kubernetes-looking versions sort last, alphabetically
  if (pa.rank !== pb.rank) return pb.rank - pa.rank;
  if (pa.major !== pb.major) return pb.major - pa.major;
  return pb.minor - pa.minor;
}

export interface ApiGroupInfo {
  /** "" for the core group */
  name: string;
  /** served versions, preferred first */
  versions: string[];
  preferredVersion: string;
}

export type RegistryChange = { type: "added" | "removed"; resourceType: ResourceType };

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: {
    status?: Record<string, unknown>;
    scale?: { specReplicasPath?: string; statusReplicasPath?: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: {
    name: string;
    type: string;
    jsonPath: string;
    description?: string;
    priority?: number;
    format?: string;
  }[];
}

/** The resources a Kubernetes API server of one version serves: built-ins plus registered CRDs. */
export class TypeRegistry {
  readonly kubernetesVersion: string;
  readonly minor: number;
  private readonly types = new Map<string, ResourceType>();
  /** built-in groups in the order a real server lists them; CRD groups follow alphabetically */
  private readonly builtinGroupOrder: string[] = [];
  /** built-in group versions served, e.g. "autoscaling" -> ["v2", "v1"] */
  private readonly builtinGroupVersions = new Map<string, string[]>();
  /** CRD objects behind custom types, by resource key */
  private readonly crds = new Map<string, KObject>();
  private readonly listeners = new Set<(change: RegistryChange) => void>();

  constructor(kubernetesVersion: string) {
    this.kubernetesVersion = kubernetesVersion.replace(/^v/, "");
    this.minor = kubernetesMinor(kubernetesVersion);
    for (const gv of BUILTIN_GROUP_VERSIONS) {
      if (!servedIn(gv, this.minor)) continue;
      if (!this.builtinGroupVersions.has(gv.group)) {
        this.builtinGroupVersions.set(gv.group, []);
        this.builtinGroupOrder.push(gv.group);
      }
      this.builtinGroupVersions.get(gv.group)!.push(gv.version);
      for (const spec of gv.resources) {
        if (spec.since !== undefined && this.minor < spec.since) continue;
        const key = resourceKey(gv.group, spec.plural);
        const existing = this.types.get(key);
        if (existing) {
          existing.versions.push(gv.version);
          continue;
        }
        // the first served version in BUILTIN_GROUP_VERSIONS order is the preferred (and storage) version
        this.types.set(key, builtinType(gv.group, gv.version, spec));
      }
    }
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  byKey(key: string): ResourceType | undefined {
    return this.types.get(key);
  }

  /** The type served at /apis/<group>/<version>/<plural> (or /api/v1/<plural>), if that version serves it. */
  byResource(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.types.get(resourceKey(group, plural.toLowerCase()));
    return t && t.versions.includes(version) ? t : undefined;
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    for (const t of this.types.values()) {
      if (t.group === group && t.kind === kind && t.versions.includes(version)) return t;
    }
    return undefined;
  }

  /** The resources served in one group version, in discovery order (alphabetical by plural). */
  resourcesIn(group: string, version: string): ResourceType[] {
    return this.all()
      .filter((t) => t.group === group && t.versions.includes(version))
      .sort((a, b) => a.plural.localeCompare(b.plural));
  }

  isServedGroupVersion(group: string, version: string): boolean {
    // asked on every request: the answer is kept until a CRD changes the served types
    this.servedGroupVersions ??= new Set(this.groups().flatMap((g) => g.versions.map((v) => `${g.name}/${v}`)));
    return this.servedGroupVersions.has(`${group}/${version}`);
  }

  /** "group/version" of every served API version; dropped whenever the types change */
  private servedGroupVersions: Set<string> | undefined;

  /** API groups for discovery, the core group ("") first, each with its preferred version first. */
  groups(): ApiGroupInfo[] {
    const result: ApiGroupInfo[] = [];
    for (const name of this.builtinGroupOrder) {
      const versions = this.builtinGroupVersions.get(name)!;
      result.push({ name, versions: [...versions], preferredVersion: versions[0] });
    }
    const crdGroups = new Map<string, Set<string>>();
    for (const t of this.types.values()) {
      if (!t.custom) continue;
      const set = crdGroups.get(t.group) ?? new Set<string>();
      t.versions.forEach((v) => set.add(v));
      crdGroups.set(t.group, set);
    }
    for (const name of [...crdGroups.keys()].sort()) {
      if (this.builtinGroupVersions.has(name)) continue;
      const versions = [...crdGroups.get(name)!].sort(compareKubeAwareVersions);
      result.push({ name, versions, preferredVersion: versions[0] });
    }
    return result;
  }

  /** The CustomResourceDefinition behind a custom type (for its per-version schemas and columns). */
  crdFor(key: string): KObject | undefined {
    return this.crds.get(key);
  }

  /**
   * Registers (or re-registers, on update) the type a CustomResourceDefinition defines.
   * A CRD with no served version defines nothing. Claiming a built-in resource is refused:
   * the real server reports NamesAccepted=False, and the sandbox refuses the write instead.
   */
  registerCRD(crd: KObject): ResourceType | undefined {
    const type = crdResourceType(crd);
    const key = resourceKey(type.group, type.plural);
    const existing = this.types.get(key);
    if (existing && !existing.custom) {
      throw new ApiError(
        422,
        "Invalid",
        `CustomResourceDefinition.apiextensions.k8s.io "${crd.metadata.name}" is invalid: spec.names.plural: Invalid value: "${type.plural}": resource is served by the API server itself`,
      );
    }
    if (type.versions.length === 0) {
      this.unregisterCRD(crd);
      return undefined;
    }
    this.types.set(key, type);
    this.crds.set(key, crd);
    this.servedGroupVersions = undefined;
    this.emit({ type: "added", resourceType: type });
    return type;
  }

  unregisterCRD(crd: KObject): ResourceType | undefined {
    const key = resourceKey(crd.spec?.group ?? "", crd.spec?.names?.plural ?? "");
    const existing = this.types.get(key);
    if (!existing?.custom) return undefined;
    this.types.delete(key);
    this.crds.delete(key);
    this.servedGroupVersions = undefined;
    this.emit({ type: "removed", resourceType: existing });
    return existing;
  }

  /** Called after every CRD registration change; returns the unsubscribe function. */
  onChange(listener: (change: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: RegistryChange): void {
    for (const l of this.listeners) l(change);
  }
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

function builtinType(group: string, version: string, spec: BuiltinSpec): ResourceType {
  return {
    group,
    version,
    versions: [version],
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
    namespaced: spec.namespaced,
    verbs: spec.verbs ?? CRUD_VERBS,
    ...(spec.shortNames ? { shortNames: spec.shortNames } : {}),
    ...(spec.categories ? { categories: spec.categories } : {}),
    subresources: spec.subresources ?? [],
    custom: false,
    ...(spec.scaled ? { scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" } } : {}),
  };
}

/** The served type a CRD defines (apiextensions.k8s.io/v1 rules: served versions, one storage version). */
export function crdResourceType(crd: KObject): ResourceType {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const group: string = spec.group ?? "";
  const plural: string = names.plural ?? "";
  const versions: CrdVersion[] = Array.isArray(spec.versions) ? spec.versions : [];
  const served = versions.filter((v) => v.served !== false).map((v) => v.name);
  served.sort(compareKubeAwareVersions);
  const storage = versions.find((v) => v.storage)?.name;
  // objects are returned in the storage version when it is served, else the preferred served version
  const version = storage && served.includes(storage) ? storage : (served[0] ?? storage ?? "");
  const defining = versions.find((v) => v.name === version);
  const subresources: Subresource[] = [];
  if (defining?.subresources?.status) subresources.push("status");
  const scale = defining?.subresources?.scale;
  if (scale) subresources.push("scale");
  const printerColumns = defining?.additionalPrinterColumns;
  return {
    group,
    version,
    versions: served,
    kind: names.kind ?? "",
    listKind: names.listKind ?? `${names.kind ?? ""}List`,
    plural,
    singular: names.singular ?? String(names.kind ?? "").toLowerCase(),
    namespaced: spec.scope !== "Cluster",
    verbs: CRUD_VERBS,
    ...(names.shortNames?.length ? { shortNames: [...names.shortNames] } : {}),
    ...(names.categories?.length ? { categories: [...names.categories] } : {}),
    subresources,
    custom: true,
    ...(printerColumns?.length
      ? {
          columns: printerColumns.map((c) => ({
            name: c.name,
            type: c.type,
            jsonPath: c.jsonPath,
            ...(c.description ? { description: c.description } : {}),
            ...(c.priority ? { priority: c.priority } : {}),
          })),
        }
      : {}),
    ...(scale
      ? {
          scale: {
            specReplicasPath: scale.specReplicasPath ?? ".spec.replicas",
            statusReplicasPath: scale.statusReplicasPath ?? ".status.replicas",
            ...(scale.labelSelectorPath ? { labelSelectorPath: scale.labelSelectorPath } : {}),
          },
        }
      : {}),
  };
}
