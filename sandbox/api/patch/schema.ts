// Patch metadata of the built-in kinds: which lists merge, and by which key.
// Mirrors the `patchStrategy`/`patchMergeKey` struct tags of k8s.io/api (used by strategic merge patch)
// and the `x-kubernetes-list-type`/`x-kubernetes-list-map-keys` markers (used by server-side apply).

/** How one list field behaves under strategic merge patch and server-side apply. */
export interface ListRule {
  /** `patchMergeKey`: list items are objects merged by this field. Absent: a set of primitives (`patchStrategy:"merge"`). */
  mergeKey?: string;
  /** `x-kubernetes-list-map-keys`: the identity of an item for server-side apply; defaults to `[mergeKey]`. */
  mapKeys?: string[];
  /** values the API server defaults for a missing map key (e.g. `protocol: TCP` on ports), so an item without it still has an identity */
  keyDefaults?: Record<string, string | number | boolean>;
}

/**
 * Which field paths of one kind are merged lists (every other list is atomic: replaced whole, owned whole).
 * Paths are dotted field names from the object root; `[]` steps into the items of a list,
 * e.g. `spec.template.spec.containers[].ports`.
 */
export interface PatchSchema {
  lists: Record<string, ListRule>;
  /** maps that are replaced and owned as one value (`x-kubernetes-map-type: atomic`), e.g. a Deployment's `spec.selector` */
  atomicMaps?: string[];
}

/** The SSA identity fields of a list item: the map keys, or the merge key. */
export function listMapKeys(rule: ListRule): string[] {
  return rule.mapKeys ?? (rule.mergeKey !== undefined ? [rule.mergeKey] : []);
}

const byName: ListRule = { mergeKey: "name" };
const byType: ListRule = { mergeKey: "type" };
const set: ListRule = {};

/** ObjectMeta: ownerReferences merge by uid, finalizers are a set (`patchStrategy:"merge"` on []string). */
function objectMetaLists(at: string): Record<string, ListRule> {
  return {
    [`${at}.ownerReferences`]: { mergeKey: "uid" },
    [`${at}.finalizers`]: set,
  };
}

/** core/v1 Container (and EphemeralContainer, which shares EphemeralContainerCommon's tags). */
function containerLists(at: string): Record<string, ListRule> {
  return {
    [`${at}.ports`]: {
      mergeKey: "containerPort",
      mapKeys: ["containerPort", "protocol"],
      keyDefaults: { protocol: "TCP" },
    },
    [`${at}.env`]: byName,
    [`${at}.volumeMounts`]: { mergeKey: "mountPath" },
    [`${at}.volumeDevices`]: { mergeKey: "devicePath" },
  };
}

/** core/v1 PodSpec at `at`. tolerations, readinessGates, envFrom, args and command have no patch strategy: atomic. */
function podSpecLists(at: string): Record<string, ListRule> {
  return {
    [`${at}.containers`]: byName,
    ...containerLists(`${at}.containers[]`),
    [`${at}.initContainers`]: byName,
    ...containerLists(`${at}.initContainers[]`),
    [`${at}.ephemeralContainers`]: byName,
    ...containerLists(`${at}.ephemeralContainers[]`),
    [`${at}.volumes`]: byName,
    [`${at}.imagePullSecrets`]: byName,
    [`${at}.hostAliases`]: { mergeKey: "ip" },
    [`${at}.topologySpreadConstraints`]: {
      mergeKey: "topologyKey",
      mapKeys: ["topologyKey", "whenUnsatisfiable"],
    },
    [`${at}.schedulingGates`]: byName,
    [`${at}.resourceClaims`]: byName,
  };
}

/** core/v1 PodTemplateSpec at `at`: its metadata is an ObjectMeta, its spec a PodSpec. */
function podTemplateLists(at: string): Record<string, ListRule> {
  return { ...objectMetaLists(`${at}.metadata`), ...podSpecLists(`${at}.spec`) };
}

const labelSelectorIsAtomic = (at: string) => [`${at}.selector`];

/**
 * The patch schema of a built-in kind. Unknown kinds (custom resources) get the ObjectMeta rules only:
 * without list-type markers every list of a CRD is atomic.
 */
const schemaCache = new Map<string, PatchSchema>();

/** The strategic-merge schema of a built-in kind (memoised: it is asked for on every write). */
export function builtinPatchSchema(kind: string): PatchSchema {
  let schema = schemaCache.get(kind);
  if (!schema) {
    schema = buildPatchSchema(kind);
    schemaCache.set(kind, schema);
  }
  return schema;
}

function buildPatchSchema(kind: string): PatchSchema {
  const lists: Record<string, ListRule> = {
    ...objectMetaLists("metadata"),
    // status.conditions of every built-in kind are `patchMergeKey:"type"` (PodCondition, DeploymentCondition, metav1.Condition, ...)
    "status.conditions": byType,
  };
  const atomicMaps: string[] = [];
  switch (kind) {
    case "Pod":
      Object.assign(lists, podSpecLists("spec"), {
        "status.podIPs": { mergeKey: "ip" },
        "status.hostIPs": { mergeKey: "ip" },
      });
      break;
    case "PodTemplate":
      Object.assign(lists, podTemplateLists("template"));
      break;
    case "Deployment":
    case "ReplicaSet":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicationController":
      Object.assign(lists, podTemplateLists("spec.template"));
      if (kind !== "ReplicationController") atomicMaps.push(...labelSelectorIsAtomic("spec"));
      break;
    case "Job":
      Object.assign(lists, podTemplateLists("spec.template"));
      atomicMaps.push(...labelSelectorIsAtomic("spec"));
      break;
    case "CronJob":
      Object.assign(
        lists,
        objectMetaLists("spec.jobTemplate.metadata"),
        podTemplateLists("spec.jobTemplate.spec.template"),
      );
      atomicMaps.push(...labelSelectorIsAtomic("spec.jobTemplate.spec"));
      break;
    case "Service":
      lists["spec.ports"] = { mergeKey: "port", mapKeys: ["port", "protocol"], keyDefaults: { protocol: "TCP" } };
      break;
    case "Node":
      Object.assign(lists, { "spec.podCIDRs": set, "status.addresses": byType });
      break;
    case "ServiceAccount":
      lists["secrets"] = byName;
      break;
    case "MutatingWebhookConfiguration":
    case "ValidatingWebhookConfiguration":
      lists["webhooks"] = byName;
      break;
    // Namespace (spec.finalizers is atomic), ConfigMap, Secret and the rest: ObjectMeta and conditions only.
  }
  return atomicMaps.length ? { lists, atomicMaps } : { lists };
}
