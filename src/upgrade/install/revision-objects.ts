// What belongs to a control-plane revision, and its removal as `istioctl uninstall --revision R` does it
// (istio-facts §3.5, operator/pkg/uninstall/prune.go): objects labelled istio.io/rev=R whose
// operator.istio.io/component is a prunable component, of the kinds istioctl prunes, deleted in the foreground.
// The istiod chart labels every object so (istioctl, Helm and Sail installs alike, and the sandbox's renderer).
// Unlike istioctl, revision tags are kept unless asked for: moving tags is the upgrade's own step.
import { toKubeError } from "../../kube/errors.js";
import { listAll } from "../../kube/list.js";
import type { RestClient } from "../../kube/rest.js";
import {
  RESOURCES,
  objectPath,
  qualifiedName,
  apiVersionOf,
  type KubeObject,
  type ResourceRef,
} from "../../kube/resources.js";
import { ResourceDiscovery } from "./discovery.js";
import { describeObject, type ObjectRef } from "./object-ref.js";
import { LABEL_COMPONENT, LABEL_REV, LABEL_TAG, revisionLabel, tagOf } from "./revision-names.js";

/** Components `uninstall --revision` prunes; Base (CRDs, shared objects) is never pruned. */
export const PRUNED_COMPONENTS = ["Pilot", "IngressGateways", "EgressGateways", "Cni", "IstiodRemote", "Ztunnel"];

const rbac = (plural: string, kind: string, namespaced: boolean): ResourceRef => ({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural,
  kind,
  namespaced,
});

/**
 * The kinds istioctl prunes, in removal order: webhooks first (the reverse of install order, so no webhook is left
 * calling an istiod that is gone), then the workloads and what they used.
 */
export const PRUNED_KINDS: ResourceRef[] = [
  RESOURCES.mutatingWebhookConfigurations,
  RESOURCES.validatingWebhookConfigurations,
  RESOURCES.deployments,
  RESOURCES.daemonSets,
  {
    group: "autoscaling",
    version: "v2",
    plural: "horizontalpodautoscalers",
    kind: "HorizontalPodAutoscaler",
    namespaced: true,
  },
  RESOURCES.podDisruptionBudgets,
  RESOURCES.services,
  RESOURCES.envoyFilters,
  RESOURCES.configMaps,
  { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true },
  RESOURCES.pods,
  rbac("rolebindings", "RoleBinding", true),
  rbac("roles", "Role", true),
  rbac("clusterrolebindings", "ClusterRoleBinding", false),
  rbac("clusterroles", "ClusterRole", false),
  { group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true },
];

const TAG_KINDS = new Set(["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "Service"]);

export interface RevisionObjectsOptions {
  /** where to look for namespaced objects; default: every namespace, as istioctl does */
  istioNamespaces?: string[];
  /** also the tag objects (istio.io/tag) that point at the revision; default false */
  includeTags?: boolean;
  signal?: AbortSignal;
}

interface FoundObject {
  ref: ObjectRef;
  rank: number;
  object: KubeObject;
}

async function listOrNothing(
  rest: RestClient,
  resource: ResourceRef,
  labelSelector: string,
  namespace: string | undefined,
  signal?: AbortSignal,
): Promise<KubeObject[]> {
  try {
    return (await listAll(rest, resource, { labelSelector, namespace, signal })).items;
  } catch (err) {
    // a kind this cluster does not serve (an EnvoyFilter without Istio CRDs, no autoscaling/v2) holds nothing
    if (toKubeError(err).code === 404) return [];
    throw err;
  }
}

async function findRevisionObjects(
  rest: RestClient,
  revision: string,
  options: RevisionObjectsOptions,
): Promise<FoundObject[]> {
  const rev = revisionLabel(revision);
  const pruned = `${LABEL_REV}=${rev},${LABEL_COMPONENT} in (${PRUNED_COMPONENTS.join(",")})`;
  const tagged = `${LABEL_REV}=${rev},${LABEL_TAG}`;
  const found = new Map<string, FoundObject>();
  const lists: Promise<void>[] = [];
  PRUNED_KINDS.forEach((resource, rank) => {
    const namespaces = resource.namespaced && options.istioNamespaces ? options.istioNamespaces : [undefined];
    const selectors = options.includeTags && TAG_KINDS.has(resource.kind) ? [pruned, tagged] : [pruned];
    for (const namespace of namespaces)
      for (const selector of selectors)
        lists.push(
          listOrNothing(rest, resource, selector, namespace, options.signal).then((items) => {
            for (const object of items) {
              const name = object.metadata.name ?? "";
              const isTag = tagOf(resource.kind, name, object.metadata.labels) !== undefined;
              if (isTag && !options.includeTags) continue;
              // pods of a workload go with it; only naked pods are removed by name
              if (resource.kind === "Pod" && (object.metadata.ownerReferences as unknown[] | undefined)?.length)
                continue;
              const ref: ObjectRef = {
                apiVersion: apiVersionOf(resource),
                kind: resource.kind,
                ...(resource.namespaced ? { namespace: object.metadata.namespace } : {}),
                name,
              };
              found.set(`${qualifiedName(resource)}|${ref.namespace ?? ""}|${name}`, { ref, rank, object });
            }
          }),
        );
  });
  await Promise.all(lists);
  return [...found.values()].sort(
    (a, b) => a.rank - b.rank || cmp(a.ref.namespace ?? "", b.ref.namespace ?? "") || cmp(a.ref.name, b.ref.name),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The objects `istioctl uninstall --revision R` would remove, in removal order (webhooks first), then by
 * namespace and name: deterministic for the same cluster state. Tag objects only with `includeTags`.
 */
export async function revisionObjects(
  rest: RestClient,
  revision: string,
  options: RevisionObjectsOptions = {},
): Promise<ObjectRef[]> {
  return (await findRevisionObjects(rest, revision, options)).map((f) => f.ref);
}

export type RemovalOutcome = "deleted" | "absent" | "failed";

export interface RemovalResult {
  ref: ObjectRef;
  /** deleted: the deletion was accepted (dry run: would be); absent: already gone; failed: see message */
  outcome: RemovalOutcome;
  message?: string;
}

export interface RemoveOptions {
  /** server-side dry run: the API server checks each deletion, nothing is removed */
  dryRun?: boolean;
  /** default Foreground, as istioctl: an object goes only after its dependents (ReplicaSets, pods) */
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  signal?: AbortSignal;
}

/**
 * Deletes each object in the given order. 404 (or a kind the cluster does not serve) counts as absent; a failure
 * is recorded and the rest are still tried: one result per ref, never a throw for a single object.
 */
export async function removeObjects(
  rest: RestClient,
  refs: ObjectRef[],
  options: RemoveOptions = {},
): Promise<RemovalResult[]> {
  const discovery = new ResourceDiscovery(rest, options.signal);
  const results: RemovalResult[] = [];
  for (const ref of refs) {
    if (options.signal?.aborted) throw options.signal.reason;
    try {
      const resource = await discovery.resolve(ref.apiVersion, ref.kind);
      if (!resource) {
        results.push({ ref, outcome: "absent", message: `${ref.kind} (${ref.apiVersion}) is not served` });
        continue;
      }
      await rest.requestJson({
        method: "DELETE",
        path: objectPath(resource, ref.name, ref.namespace),
        query: {
          propagationPolicy: options.propagationPolicy ?? "Foreground",
          dryRun: options.dryRun ? "All" : undefined,
        },
        signal: options.signal,
        target: { verb: "delete", resource: qualifiedName(resource), name: ref.name, namespace: ref.namespace },
      });
      results.push({ ref, outcome: "deleted" });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const error = toKubeError(err);
      if (error.code === 404) results.push({ ref, outcome: "absent" });
      else results.push({ ref, outcome: "failed", message: error.message });
    }
  }
  return results;
}

export interface RevisionTags {
  /** tags whose webhook points at the revision */
  tags: string[];
  /** the revision is the default one (tag `default` points at it, or it is unrevisioned and no default tag exists) */
  isDefault: boolean;
}

/** The revision of a tag webhook: its istio.io/rev label, else the istiod Service its webhooks call. */
function tagTarget(mwc: KubeObject): string | undefined {
  const label = mwc.metadata.labels?.[LABEL_REV];
  if (label) return label;
  const service: string | undefined = mwc.webhooks?.[0]?.clientConfig?.service?.name;
  if (service === "istiod") return "default";
  return service?.startsWith("istiod-") ? service.slice("istiod-".length) : undefined;
}

/** The revision tags pointing at a revision, from the live tag webhooks (istio-facts §1.3 default revision). */
export async function revisionTags(
  rest: RestClient,
  revision: string,
  options: { signal?: AbortSignal } = {},
): Promise<RevisionTags> {
  const rev = revisionLabel(revision);
  const { items } = await listAll(rest, RESOURCES.mutatingWebhookConfigurations, { signal: options.signal });
  const tags = new Set<string>();
  let defaultTagExists = false;
  for (const mwc of items) {
    const tag = tagOf(mwc.kind ?? "MutatingWebhookConfiguration", mwc.metadata.name ?? "", mwc.metadata.labels);
    if (!tag) continue;
    if (tag === "default") defaultTagExists = true;
    if (tagTarget(mwc) === rev) tags.add(tag);
  }
  const sorted = [...tags].sort(cmp);
  return { tags: sorted, isDefault: tags.has("default") || (rev === "default" && !defaultTagExists) };
}

/** The revision is still a tag's target or the default revision; the tags must move first. */
export class RevisionTaggedError extends Error {
  constructor(
    readonly revision: string,
    readonly tags: RevisionTags,
  ) {
    const named = tags.tags.filter((t) => t !== "default");
    const parts = [
      ...(tags.isDefault ? ["it is the default revision (tag default)"] : []),
      ...(named.length
        ? [`revision tag${named.length > 1 ? "s" : ""} ${named.join(", ")} point${named.length > 1 ? "" : "s"} at it`]
        : []),
    ];
    super(
      `refusing to remove revision ${revisionLabel(revision)}: ${parts.join(", and ")} — namespaces and pods using ${tags.isDefault || named.length > 1 ? "them" : "it"} would silently lose injection. Move the tags to another revision first (istioctl tag set <tag> --revision <rev> --overwrite), or pass allowTagged`,
    );
    this.name = "RevisionTaggedError";
  }
}

/** The revision's objects are rendered by the Sail operator; deleting them would only make Sail recreate them. */
export class RevisionManagedBySailError extends Error {
  constructor(revision: string, owner: string, example: string) {
    super(
      `refusing to remove revision ${revisionLabel(revision)} object by object: ${example} is managed by the Sail operator (IstioRevision ${owner}) — delete IstioRevision ${owner} instead (install.mode Sail)`,
    );
    this.name = "RevisionManagedBySailError";
  }
}

export interface RemoveRevisionOptions extends RevisionObjectsOptions {
  /** remove even though tags (or the default tag) still point at the revision */
  allowTagged?: boolean;
  dryRun?: boolean;
}

/**
 * Removes a revision as `istioctl uninstall --revision R` would, after the guards: no revision tag and not the
 * default revision (unless allowTagged), not managed by Sail. Idempotent: a revision already gone yields [].
 * That no proxy still uses the revision is the caller's check (a fresh LIST and syncz, DESIGN.md).
 */
export async function removeRevision(
  rest: RestClient,
  revision: string,
  options: RemoveRevisionOptions = {},
): Promise<RemovalResult[]> {
  const tags = await revisionTags(rest, revision, options);
  if (!options.allowTagged && (tags.isDefault || tags.tags.length)) throw new RevisionTaggedError(revision, tags);
  const found = await findRevisionObjects(rest, revision, options);
  for (const f of found) {
    const owner = (
      f.object.metadata.ownerReferences as { apiVersion: string; kind: string; name: string }[] | undefined
    )?.find((o) => o.apiVersion.startsWith("sailoperator.io/") && o.kind === "IstioRevision");
    if (owner) throw new RevisionManagedBySailError(revision, owner.name, describeObject(f.ref));
  }
  return removeObjects(
    rest,
    found.map((f) => f.ref),
    { dryRun: options.dryRun, signal: options.signal },
  );
}
