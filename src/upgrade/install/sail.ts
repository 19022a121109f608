// The Sail install mode: the Sail operator's IstioRevision and IstioRevisionTag (sailoperator.io/v1,
// cluster-scoped). Sail renders the istiod chart for an IstioRevision and reports it in status conditions
// Reconciled, Ready (reason IstiodNotReady while istiod pods are not ready), DependenciesHealthy and InUse
// (istio-ecosystem/sail-operator api/v1/istiorevision_types.go).
import { KubeError, toKubeError } from "../../kube/errors.js";
import { applyServerSide, type WriteOptions } from "../../kube/patch.js";
import type { RestClient } from "../../kube/rest.js";
import { objectPath, qualifiedName, type KubeObject, type ResourceRef } from "../../kube/resources.js";
import { ResourceDiscovery } from "./discovery.js";
import type { AppliedObject } from "./apply.js";
import { isRevisionName } from "./revision-names.js";

export const SAIL_API_VERSION = "sailoperator.io/v1";

export const ISTIO_REVISION: ResourceRef = {
  group: "sailoperator.io",
  version: "v1",
  plural: "istiorevisions",
  kind: "IstioRevision",
  namespaced: false,
};

export const ISTIO_REVISION_TAG: ResourceRef = {
  group: "sailoperator.io",
  version: "v1",
  plural: "istiorevisiontags",
  kind: "IstioRevisionTag",
  namespaced: false,
};

/** Sail names the IstioRevision of an unrevisioned control plane "default" (its chart revision is ""). */
const DEFAULT_REVISION = "default";

function sailNotInstalled(resource: ResourceRef): KubeError {
  return new KubeError({
    code: 404,
    reason: "NotFound",
    message: `the Sail operator is not installed: ${resource.kind} (${SAIL_API_VERSION}) is not served by this cluster; install it or use install.mode Manifests`,
    object: { verb: "get", resource: qualifiedName(resource) },
  });
}

/** A 404 is an absent object only when the kind is served; otherwise Sail is not installed. */
async function absentOrNotInstalled(rest: RestClient, resource: ResourceRef, signal?: AbortSignal): Promise<void> {
  const served = await new ResourceDiscovery(rest, signal).resolve(SAIL_API_VERSION, resource.kind);
  if (!served) throw sailNotInstalled(resource);
}

async function readSail(
  rest: RestClient,
  resource: ResourceRef,
  name: string,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  try {
    return await rest.requestJson<KubeObject>({
      path: objectPath(resource, name),
      signal,
      target: { verb: "get", resource: qualifiedName(resource), name },
    });
  } catch (err) {
    const error = toKubeError(err);
    if (error.code !== 404) throw error;
    await absentOrNotInstalled(rest, resource, signal);
    return undefined;
  }
}

async function deleteSail(
  rest: RestClient,
  resource: ResourceRef,
  name: string,
  options: WriteOptions,
): Promise<"deleted" | "absent"> {
  try {
    // Foreground: the object stays until the API server's GC removed what Sail rendered for it (owner references)
    await rest.requestJson({
      method: "DELETE",
      path: objectPath(resource, name),
      query: { propagationPolicy: "Foreground", dryRun: options.dryRun ? "All" : undefined },
      signal: options.signal,
      target: { verb: "delete", resource: qualifiedName(resource), name },
    });
    return "deleted";
  } catch (err) {
    const error = toKubeError(err);
    if (error.code !== 404) throw error;
    await absentOrNotInstalled(rest, resource, options.signal);
    return "absent";
  }
}

export interface IstioRevisionSpec {
  /** IstioRevision name = revision name (Sail: values.revision must equal it; "default" = unrevisioned) */
  name: string;
  /** Istio version, "1.28.10" or "v1.28.10" */
  version: string;
  /** control-plane namespace (immutable in Sail) */
  namespace: string;
  /** Helm values for the istiod chart; revision and global.istioNamespace are filled in as Sail requires */
  values?: Record<string, unknown>;
}

type Values = Record<string, any>;

/**
 * The IstioRevision as Sail validates it: spec.version "vX.Y.Z", values.revision equal to the name ("" for
 * "default") and values.global.istioNamespace equal to spec.namespace, else Reconciled=False.
 */
export function istioRevisionObject(spec: IstioRevisionSpec): KubeObject {
  if (!isRevisionName(spec.name))
    throw new Error(
      `IstioRevision name "${spec.name}" is not a DNS-1123 label (lower-case letters, digits and "-", e.g. 1-28-10)`,
    );
  const version = spec.version.replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+/.test(version))
    throw new Error(`IstioRevision ${spec.name}: version "${spec.version}" is not an Istio release (e.g. 1.28.10)`);
  const revision = spec.name === DEFAULT_REVISION ? "" : spec.name;
  const values: Values = structuredClone(spec.values ?? {});
  if (values.revision !== undefined && values.revision !== revision)
    throw new Error(
      `IstioRevision ${spec.name}: values.revision is "${values.revision}", but Sail requires it to equal the IstioRevision name ("${revision}") — drop it from the values`,
    );
  const global: Values = values.global ?? {};
  if (global.istioNamespace !== undefined && global.istioNamespace !== spec.namespace)
    throw new Error(
      `IstioRevision ${spec.name}: values.global.istioNamespace is "${global.istioNamespace}", but Sail requires it to equal spec.namespace ("${spec.namespace}") — drop it from the values`,
    );
  return {
    apiVersion: SAIL_API_VERSION,
    kind: ISTIO_REVISION.kind,
    metadata: { name: spec.name },
    spec: {
      version: `v${version}`,
      namespace: spec.namespace,
      values: { ...values, revision, global: { ...global, istioNamespace: spec.namespace } },
    },
  };
}

/**
 * Creates or updates (server-side apply, field manager meshlift) the IstioRevision. Idempotent; `created` says
 * whether it did not exist before. Refuses to move an existing IstioRevision to another namespace (immutable).
 */
export async function ensureIstioRevision(
  rest: RestClient,
  spec: IstioRevisionSpec,
  options: WriteOptions = {},
): Promise<AppliedObject> {
  const desired = istioRevisionObject(spec);
  const live = await readSail(rest, ISTIO_REVISION, spec.name, options.signal);
  if (live && live.spec?.namespace && live.spec.namespace !== spec.namespace)
    throw new Error(
      `IstioRevision ${spec.name} exists in namespace ${live.spec.namespace}, not ${spec.namespace}; spec.namespace is immutable — use another revision name or namespace`,
    );
  await applyServerSide(rest, ISTIO_REVISION, desired, options);
  return { apiVersion: SAIL_API_VERSION, kind: ISTIO_REVISION.kind, name: spec.name, created: !live };
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

function conditionOf(obj: KubeObject, type: string): Condition | undefined {
  return (obj.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

function isTrue(obj: KubeObject, type: string): boolean {
  return conditionOf(obj, type)?.status === "True";
}

/** The generation of the spec the status describes is the current one. */
function observedCurrent(obj: KubeObject): boolean {
  const generation = obj.metadata.generation as number | undefined;
  const observed = obj.status?.observedGeneration as number | undefined;
  return generation === undefined || (observed !== undefined && observed >= generation);
}

/** What is not True among the conditions, as one sentence ("" when all are). */
function conditionsMessage(obj: KubeObject, types: string[], what: string): string {
  if (!observedCurrent(obj))
    return `the Sail operator has not yet reconciled ${what} generation ${String(obj.metadata.generation)} (status is for ${String(obj.status?.observedGeneration ?? "none")})`;
  for (const type of types) {
    const c = conditionOf(obj, type);
    if (!c) return `${what} has no ${type} condition yet`;
    if (c.status !== "True")
      return `${what} ${type}=${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`;
  }
  return "";
}

/** InUse True/False, undefined while Sail does not know (Unknown or not reported): never treat that as unused. */
function inUseOf(obj: KubeObject): boolean | undefined {
  const c = conditionOf(obj, "InUse");
  return c?.status === "True" ? true : c?.status === "False" ? false : undefined;
}

export interface IstioRevisionState {
  exists: boolean;
  /** Reconciled and Ready are True for the current generation */
  ready: boolean;
  /** InUse; undefined when Sail reports Unknown or nothing yet */
  inUse: boolean | undefined;
  /** spec.version without the leading "v" */
  version?: string;
  namespace?: string;
  /** status.state, e.g. Healthy, IstiodNotReady, ReconcileError */
  state?: string;
  /** why it is not ready ("" when it is) */
  message: string;
}

export async function readIstioRevision(
  rest: RestClient,
  name: string,
  options: { signal?: AbortSignal } = {},
): Promise<IstioRevisionState> {
  const rev = await readSail(rest, ISTIO_REVISION, name, options.signal);
  if (!rev) return { exists: false, ready: false, inUse: false, message: `IstioRevision ${name} does not exist` };
  const message = conditionsMessage(rev, ["Reconciled", "Ready", "DependenciesHealthy"], `IstioRevision ${name}`);
  return {
    exists: true,
    ready: observedCurrent(rev) && isTrue(rev, "Reconciled") && isTrue(rev, "Ready"),
    inUse: inUseOf(rev),
    version: typeof rev.spec?.version === "string" ? rev.spec.version.replace(/^v/, "") : undefined,
    namespace: rev.spec?.namespace,
    state: rev.status?.state,
    message,
  };
}

/** Deletes the IstioRevision (Sail's chart objects go with it by owner reference); 404 = already gone. */
export function deleteIstioRevision(
  rest: RestClient,
  name: string,
  options: WriteOptions = {},
): Promise<"deleted" | "absent"> {
  return deleteSail(rest, ISTIO_REVISION, name, options);
}

/**
 * Points the IstioRevisionTag `tag` at the IstioRevision `targetRevisionName` (creates or updates it), as
 * `istioctl tag set --overwrite` does for istioctl installs. Sail refuses a tag named like an IstioRevision, so
 * this does too. Whether the target is Ready is the caller's check (invariant 2).
 */
export async function ensureIstioRevisionTag(
  rest: RestClient,
  tag: string,
  targetRevisionName: string,
  options: WriteOptions = {},
): Promise<AppliedObject> {
  if (!isRevisionName(tag))
    throw new Error(`revision tag "${tag}" is not a DNS-1123 label (lower-case letters, digits and "-")`);
  const live = await readSail(rest, ISTIO_REVISION_TAG, tag, options.signal);
  if (await readSail(rest, ISTIO_REVISION, tag, options.signal))
    throw new Error(
      `an IstioRevision named "${tag}" exists: Sail refuses a tag with a revision's name — choose another tag name`,
    );
  await applyServerSide(
    rest,
    ISTIO_REVISION_TAG,
    {
      apiVersion: SAIL_API_VERSION,
      kind: ISTIO_REVISION_TAG.kind,
      metadata: { name: tag },
      spec: { targetRef: { kind: ISTIO_REVISION.kind, name: targetRevisionName } },
    },
    options,
  );
  return { apiVersion: SAIL_API_VERSION, kind: ISTIO_REVISION_TAG.kind, name: tag, created: !live };
}

export interface IstioRevisionTagState {
  exists: boolean;
  /** the IstioRevision the tag resolves to (status.istioRevision), once Sail reconciled it */
  revision?: string;
  /** spec.targetRef */
  target?: { kind: string; name: string };
  reconciled: boolean;
  inUse: boolean | undefined;
  message: string;
}

export async function readIstioRevisionTag(
  rest: RestClient,
  tag: string,
  options: { signal?: AbortSignal } = {},
): Promise<IstioRevisionTagState> {
  const obj = await readSail(rest, ISTIO_REVISION_TAG, tag, options.signal);
  if (!obj)
    return { exists: false, reconciled: false, inUse: false, message: `IstioRevisionTag ${tag} does not exist` };
  return {
    exists: true,
    revision: obj.status?.istioRevision || undefined,
    target: obj.spec?.targetRef,
    reconciled: observedCurrent(obj) && isTrue(obj, "Reconciled"),
    inUse: inUseOf(obj),
    message: conditionsMessage(obj, ["Reconciled"], `IstioRevisionTag ${tag}`),
  };
}

export function deleteIstioRevisionTag(
  rest: RestClient,
  tag: string,
  options: WriteOptions = {},
): Promise<"deleted" | "absent"> {
  return deleteSail(rest, ISTIO_REVISION_TAG, tag, options);
}
