// Core types shared by every part of the sandbox (API server, controllers, Istio simulation).
// The sandbox is a Kubernetes API server simulator; nothing in src/ may import it.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

/** Any Kubernetes object. Objects held by the store are treated as immutable: clone before changing. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: any;
}

export type Subresource = "status" | "scale" | "eviction" | "proxy" | "log" | "binding" | "exec";

/** One served resource (group/version/plural), as discovery describes it. */
export interface ResourceType {
  group: string; // "" for the core group
  version: string; // the version objects are stored and returned in
  /** every version the server serves for this resource (for CRDs: spec.versions[].served) */
  versions: string[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources: Subresource[];
  /** defined by a CustomResourceDefinition: strategic merge patch is refused with 415 */
  custom: boolean;
  /** extra printer columns for Table output: jsonPath relative to the object */
  columns?: { name: string; type: string; jsonPath: string; description?: string; priority?: number }[];
  /** when the scale subresource exists: where replicas live */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
}

/** group/resource key, e.g. "apps/deployments", "/pods" for core. */
export function resourceKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** What the store tells in-process observers (controllers) and watchers after each committed change. */
export interface StoreEvent {
  type: WatchEventType;
  /** group/resource key of the object, see resourceKey() */
  key: string;
  object: KObject;
  /** the object before the change (undefined on ADDED) */
  old?: KObject;
  rv: number;
}

/** A parsed label selector requirement (all Kubernetes operators). */
export interface LabelRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Equals" | "NotEquals";
  values: string[];
}

/** Error raised anywhere inside the sandbox and turned into a Kubernetes `Status` body by the HTTP layer. */
export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly details?: {
      name?: string;
      group?: string;
      kind?: string;
      uid?: string;
      causes?: { reason?: string; message?: string; field?: string }[];
      retryAfterSeconds?: number;
    },
  ) {
    super(message);
  }

  toStatus(): KObject {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `<plural>.<group>` or `<plural>` for the core group: the resource name real servers put in messages. */
export function qualifiedResource(t: Pick<ResourceType, "group" | "plural">): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

export const notFound = (t: Pick<ResourceType, "group" | "plural">, name: string) =>
  new ApiError(404, "NotFound", `${qualifiedResource(t)} "${name}" not found`, {
    name,
    group: t.group || undefined,
    kind: t.plural,
  });

export const alreadyExists = (t: Pick<ResourceType, "group" | "plural">, name: string) =>
  new ApiError(409, "AlreadyExists", `${qualifiedResource(t)} "${name}" already exists`, {
    name,
    group: t.group || undefined,
    kind: t.plural,
  });

export const conflict = (t: Pick<ResourceType, "group" | "plural">, name: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: t.group || undefined, kind: t.plural },
  );

export const invalid = (
  kind: string,
  group: string,
  name: string,
  causes: { field: string; message: string; reason?: string }[],
) =>
  new ApiError(
    422,
    "Invalid",
    `${kind}${group ? "." + group : ""} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}`,
    {
      name,
      group: group || undefined,
      kind,
      causes: causes.map((c) => ({ reason: c.reason ?? "FieldValueInvalid", message: c.message, field: c.field })),
    },
  );

export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  /** who made the change (user name from the token, or "system:<controller>") for the request log */
  actor?: string;
  /** "status" (and "scale" for update) writes only that part of the object */
  subresource?: "status" | "scale";
  /** server-side apply already computed metadata.managedFields: keep them as given */
  applied?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  actor?: string;
}

/**
 * The sandbox's storage and API semantics, used in-process by the HTTP layer and by simulated controllers.
 * `key` is a group/resource key as made by resourceKey(), e.g. "apps/deployments", "/pods", "/namespaces".
 * Objects returned are the stored objects: never change them in place (clone, or use mutate()).
 * Every method throws ApiError on failure, with the status code, reason and message a real API server gives.
 */
export interface ClusterStore {
  /** the current global resourceVersion (one integer counter for all objects) */
  readonly resourceVersion: number;
  /** the served type for a key; throws ApiError 404 when unknown */
  type(key: string): ResourceType;
  /** the served type for an apiVersion + kind, or undefined */
  typeForKind(apiVersion: string, kind: string): ResourceType | undefined;
  get(key: string, namespace: string | undefined, name: string): KObject | undefined;
  list(key: string, namespace?: string, opts?: ListOptions): KObject[];
  /** runs defaulting, admission (mutating webhooks: pods get injected) and validation; sets uid, RV, generation, timestamps */
  create(key: string, obj: KObject, opts?: WriteOptions): KObject;
  /**
   * create() of an object the caller gives up, without the defensive deep copy: the caller never changes it
   * afterwards. Nested values may be shared with stored objects (never changed by the store either).
   */
  createShared(key: string, obj: KObject, opts?: WriteOptions): KObject;
  /** full replace; 409 Conflict when metadata.resourceVersion is set and stale; generation bumps on spec change */
  update(key: string, obj: KObject, opts?: WriteOptions): KObject;
  /**
   * update() of an object the caller gives up, without the defensive deep copy: typically a copy-on-write
   * of the stored object ({ ...stored, status: next }) that shares every part the write leaves alone.
   */
  updateShared(key: string, obj: KObject, opts?: WriteOptions): KObject;
  /** read-modify-write for controllers: clones, calls fn, writes back unless fn returns false; undefined if absent */
  mutate(
    key: string,
    namespace: string | undefined,
    name: string,
    fn: (obj: KObject) => void | false,
    opts?: WriteOptions,
  ): KObject | undefined;
  /** honours finalizers (sets deletionTimestamp), propagation policy and preconditions; returns the object as deleted/marked */
  delete(key: string, namespace: string | undefined, name: string, opts?: DeleteOptions): KObject;
  /** in-process observers: called synchronously, in commit order, after every committed change */
  subscribe(fn: (ev: StoreEvent) => void): () => void;
}

/** Timing of the simulated kubelet and controllers (milliseconds; tiny in tests). */
export interface SimTiming {
  /** Pending -> Running (image pull + start) */
  podStartMs: number;
  /** Running -> Ready (readiness probe passes) */
  podReadyMs: number;
  /** how long a terminating pod takes to go away after deletion (graceful shutdown) */
  podTerminateMs: number;
  /** how long a Job pod runs before it completes */
  jobRunMs: number;
  /** crash-loop: how long a crashing container runs before it exits again */
  crashLoopMs: number;
}

/** What the fault rules say about one pod (see sandbox/faults.ts). */
export interface PodFault {
  crashLoop?: boolean;
  neverReady?: boolean;
}
