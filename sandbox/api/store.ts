// The sandbox's storage: one global resourceVersion counter, immutable stored objects, an event history
// for watch resumption, admission and validation on every write, and Kubernetes delete semantics
// (finalizers, graceful pod deletion, namespace termination, propagation policies).
import { randomBytes, randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { applyCreateDefaults, applyUpdateDefaults } from "./defaults.js";
import { noteNewVersion } from "./json-cache.js";
import { rememberStoredParts } from "./stored-parts.js";
import { compileFilter, matchFilter } from "./selectors.js";
import {
  ApiError,
  alreadyExists,
  conflict,
  invalid,
  notFound,
  resourceKey,
  type ClusterStore,
  type DeleteOptions,
  type KObject,
  type ListOptions,
  type ResourceType,
  type StoreEvent,
  type WriteOptions,
} from "./types.js";

/** What the store needs from the type registry (sandbox/api/registry.ts). */
export interface TypeSource {
  byKey(key: string): ResourceType | undefined;
  byKind(apiVersion: string, kind: string): ResourceType | undefined;
  registerCRD(crd: KObject): unknown;
  unregisterCRD(crd: KObject): unknown;
}

export type AdmissionRequest = {
  key: string;
  operation: "CREATE" | "UPDATE" | "DELETE";
  object: KObject;
  oldObject?: KObject;
  namespace?: KObject;
  dryRun: boolean;
};
/** Mutating admission: returns the (possibly changed) object or throws ApiError to refuse. */
export type AdmissionPlugin = (req: AdmissionRequest) => KObject;
/** Validation: returns field errors (422 Invalid) for the object. */
export type Validator = (
  type: ResourceType,
  obj: KObject,
  old?: KObject,
) => { field: string; message: string; reason?: string }[];
/** Managed-fields bookkeeping for non-apply writes (sandbox/api/patch). */
export type ManagedFieldsRecorder = (
  before: KObject | undefined,
  after: KObject,
  manager: string,
  apiVersion: string,
  now: string,
  subresource?: string,
) => KObject;

export interface StoreOptions {
  types: TypeSource;
  /** how many events to keep for watch resumption; older resourceVersions get 410 Expired */
  historySize?: number;
  now?: () => Date;
  /**
   * Deep-freeze every stored object. Stored objects share their unchanged parts with earlier versions and with
   * each other, so code that changed one in place would silently change what every other reader sees (and the
   * JSON cached for it); frozen, it throws a TypeError at the faulty line instead. Default: on under node's test
   * runner (every test checks the rule), off otherwise (freezing costs V8 about a microsecond per object, 10 % of
   * loading `large`); SANDBOX_FREEZE_OBJECTS=1 or 0 forces it.
   */
  freezeObjects?: boolean;
}

const NO_GENERATION = new Set([
  "/configmaps",
  "/secrets",
  "/events",
  "events.k8s.io/events",
  "/endpoints",
  "/serviceaccounts",
  "coordination.k8s.io/leases",
  "discovery.k8s.io/endpointslices",
  "apps/controllerrevisions",
]);

let lastSecond = NaN;
let lastSecondText = "";

/** RFC 3339 with second precision (metav1.Time); the text of the current second is kept, as most writes share it. */
function rfc3339(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondText = new Date(second * 1000).toISOString().replace(".000Z", "Z");
  }
  return lastSecondText;
}

/**
 * Freezes a value and everything under it, stopping at what is already frozen: parts shared with an object
 * stored before were frozen then, so each write freezes only what it made new.
 */
export function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (typeof value[i] === "object") deepFreeze(value[i]);
  } else {
    for (const key in value) {
      const child = (value as Record<string, unknown>)[key];
      if (typeof child === "object") deepFreeze(child);
    }
  }
}

/** Random bytes drawn a page at a time, so a generated name costs no system call. */
const entropy = { pool: Buffer.alloc(0), used: 0 };

function randomSuffix(n = 5): string {
  // the apiserver's generateName alphabet: consonants and digits without look-alikes
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  if (entropy.used + n > entropy.pool.length) {
    entropy.pool = randomBytes(4096);
    entropy.used = 0;
  }
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[entropy.pool[entropy.used++] % alphabet.length];
  return s;
}

/** Fields that make up the "spec" for generation purposes: everything but metadata and status. */
function specPart(o: KObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

function withoutVolatileMeta(o: KObject): KObject {
  const { resourceVersion: _r, managedFields: _f, ...meta } = o.metadata;
  return { ...o, metadata: meta };
}

export class Store implements ClusterStore {
  private rv = 0;
  /** key -> namespace ("" for cluster-scoped) -> name -> object */
  private readonly data = new Map<string, Map<string, Map<string, KObject>>>();
  private readonly history: StoreEvent[] = [];
  private historyStart = 0; // index of history[0] in the logical ring
  private readonly historySize: number;
  private readonly observers = new Set<(ev: StoreEvent) => void>();
  private readonly pending: StoreEvent[] = [];
  private dispatching = false;
  readonly admission: AdmissionPlugin[] = [];
  readonly validators: Validator[] = [];
  managedFields?: ManagedFieldsRecorder;
  readonly now: () => Date;
  readonly freezeObjects: boolean;
  /** key -> resourceVersion of the last committed change to an object of that key */
  private readonly lastChanges = new Map<string, number>();

  constructor(
    readonly types: TypeSource,
    opts: Omit<StoreOptions, "types"> = {},
  ) {
    this.historySize = opts.historySize ?? 20_000;
    this.now = opts.now ?? (() => new Date());
    this.freezeObjects =
      opts.freezeObjects ??
      (process.env.SANDBOX_FREEZE_OBJECTS
        ? process.env.SANDBOX_FREEZE_OBJECTS === "1"
        : process.env.NODE_TEST_CONTEXT !== undefined);
  }

  /**
   * The resourceVersion of the last committed change to any object of `key` (0 when none): a derived value
   * computed from a key's objects stays valid exactly as long as this number does not move.
   */
  lastChange(key: string): number {
    return this.lastChanges.get(key) ?? 0;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch may resume from (exclusive) without 410 Expired. */
  get oldestResumableVersion(): number {
    return this.history.length ? this.history[0].rv - 1 : this.rv;
  }

  type(key: string): ResourceType {
    const t = this.types.byKey(key);
    if (!t) {
      const [group, plural] = key.split("/");
      throw new ApiError(
        404,
        "NotFound",
        `the server could not find the requested resource (${group ? `${plural}.${group}` : plural})`,
      );
    }
    return t;
  }

  typeForKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.byKind(apiVersion, kind);
  }

  private bucket(key: string, ns: string, create: boolean): Map<string, KObject> | undefined {
    let byNs = this.data.get(key);
    if (!byNs) {
      if (!create) return undefined;
      byNs = new Map();
      this.data.set(key, byNs);
    }
    let b = byNs.get(ns);
    if (!b && create) {
      b = new Map();
      byNs.set(ns, b);
    }
    return b;
  }

  get(key: string, namespace: string | undefined, name: string): KObject | undefined {
    const t = this.type(key);
    return this.bucket(key, t.namespaced ? (namespace ?? "") : "", false)?.get(name);
  }

  /** Every object of a key, sorted by namespace then name (etcd key order). */
  list(key: string, namespace?: string, opts?: ListOptions): KObject[] {
    const t = this.type(key);
    const filter =
      opts?.labelSelector || opts?.fieldSelector
        ? compileFilter(key, opts.labelSelector, opts.fieldSelector)
        : undefined;
    const byNs = this.data.get(key);
    if (!byNs) return [];
    const out: KObject[] = [];
    const namespaces = t.namespaced && namespace ? [namespace] : [...byNs.keys()].sort();
    for (const ns of namespaces) {
      const b = byNs.get(ns);
      if (!b) continue;
      const names = [...b.keys()].sort();
      for (const n of names) {
        const o = b.get(n)!;
        if (!filter || matchFilter(filter, o)) out.push(o);
      }
    }
    return out;
  }

  /** Count of objects of a key (cheap, for metrics and tests). */
  count(key: string): number {
    let n = 0;
    for (const b of this.data.get(key)?.values() ?? []) n += b.size;
    return n;
  }

  subscribe(fn: (ev: StoreEvent) => void): () => void {
    this.observers.add(fn);
    return () => this.observers.delete(fn);
  }

  /** Events after `rv` (exclusive), or "expired" when history no longer reaches back that far. */
  eventsSince(rv: number): StoreEvent[] | "expired" {
    if (rv >= this.rv) return [];
    if (this.history.length === 0 || this.history[0].rv > rv + 1) {
      // nothing recorded in between can also mean no events happened since rv (rv == oldest-1)
      if (this.history.length && this.history[0].rv === rv + 1) return this.history.slice();
      return "expired";
    }
    // binary search for the first event with ev.rv > rv
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo);
  }

  private commit(ev: StoreEvent): void {
    if (this.freezeObjects) deepFreeze(ev.object);
    if (ev.type !== "DELETED") rememberStoredParts(ev.key, ev.object);
    this.lastChanges.set(ev.key, ev.rv);
    this.history.push(ev);
    // trim in batches: a splice per commit would make every write O(history)
    if (this.history.length > this.historySize + (this.historySize >> 2))
      this.history.splice(0, this.history.length - this.historySize);
    this.pending.push(ev);
    if (this.dispatching) return; // a write made by an observer: delivered after the current event, in order
    this.dispatching = true;
    try {
      while (this.pending.length) {
        const next = this.pending.shift()!;
        // a modified object shares what the write left alone with its previous version, JSON text included
        noteNewVersion(next.object, next.type === "MODIFIED" ? next.old : undefined);
        for (const fn of [...this.observers]) {
          try {
            fn(next);
          } catch (err) {
            console.error("sandbox: store observer failed:", err);
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private put(key: string, t: ResourceType, obj: KObject): void {
    this.bucket(key, t.namespaced ? obj.metadata.namespace! : "", true)!.set(obj.metadata.name!, obj);
  }

  private remove(key: string, t: ResourceType, obj: KObject): void {
    const b = this.bucket(key, t.namespaced ? obj.metadata.namespace! : "", false);
    b?.delete(obj.metadata.name!);
    if (b && b.size === 0) this.data.get(key)?.delete(t.namespaced ? obj.metadata.namespace! : "");
  }

  private namespaceObject(ns: string | undefined): KObject | undefined {
    return ns ? this.bucket("/namespaces", "", false)?.get(ns) : undefined;
  }

  private runAdmission(req: AdmissionRequest): KObject {
    let obj = req.object;
    for (const plugin of this.admission) obj = plugin({ ...req, object: obj });
    return obj;
  }

  /**
   * managedFields are recorded for writes that name a field manager (every API request does, from
   * ?fieldManager= or the user agent). The simulated controllers write in-process without one: tracking
   * their status churn would cost more than the rest of a write, and SSA conflicts never involve it.
   */
  private tracksManagedFields(opts: WriteOptions): boolean {
    return !!this.managedFields && !opts.applied && opts.fieldManager !== undefined;
  }

  private validate(t: ResourceType, obj: KObject, old?: KObject): void {
    const errors = this.validators.flatMap((v) => v(t, obj, old));
    if (errors.length) throw invalid(t.kind, t.group, obj.metadata.name ?? "", errors);
  }

  private stamp(t: ResourceType, obj: KObject): void {
    obj.apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    obj.kind = t.kind;
  }

  create(key: string, input: KObject, opts: WriteOptions = {}): KObject {
    return this.createFrom(key, structuredClone(input), opts);
  }

  /**
   * create() without the defensive deep copy, for an object the caller gives up: it is stored as it is, so the
   * caller must never change it (or anything in it) afterwards. Its nested values may be shared with stored
   * objects (which are immutable): defaulting only fills what is missing, and a stored object misses nothing.
   */
  createShared(key: string, input: KObject, opts: WriteOptions = {}): KObject {
    return this.createFrom(key, { ...input, metadata: { ...(input.metadata ?? {}) } }, opts);
  }

  /** create() for an object whose top level and metadata are the store's own. */
  private createFrom(key: string, obj: KObject, opts: WriteOptions): KObject {
    const t = this.type(key);
    if (!t.verbs.includes("create"))
      throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    obj.metadata ??= {};
    const meta = obj.metadata;
    if (t.namespaced) {
      if (!meta.namespace)
        throw new ApiError(
          400,
          "BadRequest",
          `the namespace of the provided object does not match the namespace sent on the request`,
        );
      const ns = this.namespaceObject(meta.namespace);
      if (!ns) throw notFound({ group: "", plural: "namespaces" }, meta.namespace);
      if (ns.metadata.deletionTimestamp)
        throw new ApiError(
          403,
          "Forbidden",
          `${t.kind.toLowerCase()}s "${meta.name ?? meta.generateName ?? ""}" is forbidden: unable to create new content in namespace ${meta.namespace} because it is being terminated`,
          {
            name: meta.name,
            kind: t.plural,
            causes: [
              {
                reason: "NamespaceTerminating",
                message: `namespace ${meta.namespace} is being terminated`,
                field: "metadata.namespace",
              },
            ],
          },
        );
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) {
      for (let i = 0; i < 8 && (!meta.name || this.get(key, meta.namespace, meta.name)); i++)
        meta.name = meta.generateName + randomSuffix();
    }
    if (!meta.name)
      throw invalid(t.kind, t.group, "", [
        {
          field: "metadata.name",
          message: "Required value: name or generateName is required",
          reason: "FieldValueRequired",
        },
      ]);
    if (this.get(key, meta.namespace, meta.name)) throw alreadyExists(t, meta.name);
    if (meta.resourceVersion)
      throw new ApiError(500, "InternalError", "resourceVersion should not be set on objects to be created");
    const now = this.now();
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(now);
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    this.stamp(t, obj);
    if (!t.custom) applyCreateDefaults(key, obj);
    else if (t.subresources.includes("status")) delete obj.status;
    if (
      t.subresources.includes("status") &&
      !t.custom &&
      !["/pods", "/namespaces", "/services", "policy/poddisruptionbudgets"].includes(key)
    )
      delete obj.status;
    if (!NO_GENERATION.has(key)) meta.generation = 1;
    const admitted = this.runAdmission({
      key,
      operation: "CREATE",
      object: obj,
      namespace: this.namespaceObject(meta.namespace),
      dryRun: !!opts.dryRun,
    });
    // the apiserver decodes what a mutating webhook returns, and decoding defaults it (e.g. an injected sidecar)
    if (admitted !== obj && !t.custom) applyCreateDefaults(key, admitted);
    obj = admitted;
    this.validate(t, obj);
    if (key === "apiextensions.k8s.io/customresourcedefinitions") this.prepareCRD(obj);
    if (this.tracksManagedFields(opts))
      obj = this.managedFields!(
        undefined,
        obj,
        opts.fieldManager ?? "unknown",
        obj.apiVersion!,
        rfc3339(now),
        opts.subresource,
      );
    if (opts.dryRun) return obj;
    obj.metadata.resourceVersion = String(++this.rv);
    this.put(key, t, obj);
    if (key === "apiextensions.k8s.io/customresourcedefinitions") this.types.registerCRD(obj);
    this.commit({ type: "ADDED", key, object: obj, rv: this.rv });
    return obj;
  }

  update(key: string, input: KObject, opts: WriteOptions = {}): KObject {
    return this.replace(key, structuredClone(input), opts);
  }

  /**
   * update() without the defensive deep copy, for an object the caller gives up (see createShared): typically
   * built from the stored object by copy-on-write, sharing every part the write does not change. Only the parts
   * it changes are new, so the write costs what it changes, not the size of the object.
   */
  updateShared(key: string, input: KObject, opts: WriteOptions = {}): KObject {
    return this.replace(key, { ...input }, opts);
  }

  /** update() for an object whose top level is the store's own; nested values may be shared, never changed. */
  private replace(key: string, input: KObject, opts: WriteOptions): KObject {
    const t = this.type(key);
    const name = input.metadata?.name;
    if (!name)
      throw invalid(t.kind, t.group, "", [
        { field: "metadata.name", message: "Required value: name is required", reason: "FieldValueRequired" },
      ]);
    const ns = t.namespaced ? input.metadata.namespace : undefined;
    const old = this.get(key, ns, name);
    if (!old) throw notFound(t, name);
    const rv = input.metadata.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== old.metadata.resourceVersion) throw conflict(t, name);
    if ((rv === undefined || rv === "") && t.custom && !opts.subresource)
      throw invalid(t.kind, t.group, name, [
        { field: "metadata.resourceVersion", message: "Invalid value: 0x0: must be specified for an update" },
      ]);
    if (input.metadata.uid && input.metadata.uid !== old.metadata.uid)
      throw new ApiError(
        409,
        "Conflict",
        `Precondition failed: UID in precondition: ${input.metadata.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    let obj: KObject = input;
    // metadata the client cannot change
    obj.metadata = {
      ...obj.metadata,
      name: old.metadata.name,
      namespace: old.metadata.namespace,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      deletionTimestamp: old.metadata.deletionTimestamp,
      deletionGracePeriodSeconds: old.metadata.deletionGracePeriodSeconds,
      generation: old.metadata.generation,
    };
    if (!obj.metadata.deletionTimestamp) delete obj.metadata.deletionTimestamp;
    if (obj.metadata.deletionGracePeriodSeconds === undefined) delete obj.metadata.deletionGracePeriodSeconds;
    if (obj.metadata.generation === undefined) delete obj.metadata.generation;
    if (!t.namespaced) delete obj.metadata.namespace;
    this.stamp(t, obj);
    if (opts.subresource === "status") {
      // the status endpoint changes only .status; stored objects are immutable, so the rest is shared
      if (isDeepStrictEqual(obj.status, old.status)) return old;
      obj = { ...old, metadata: { ...old.metadata }, status: obj.status };
    } else if (t.subresources.includes("status")) {
      // the main resource cannot change .status: the stored one is kept (shared, as stored objects are immutable)
      obj.status = old.status;
      if (obj.status === undefined) delete obj.status;
      if (key === "/namespaces" && input.spec?.finalizers && old.metadata.deletionTimestamp === undefined)
        obj.spec = input.spec;
    }
    if (!t.custom && opts.subresource !== "status") {
      if (key === "/services" && old.spec?.clusterIP && !obj.spec?.clusterIP && obj.spec) {
        obj.spec.clusterIP = old.spec.clusterIP;
        obj.spec.clusterIPs = old.spec.clusterIPs;
      }
      applyUpdateDefaults(key, obj);
    }
    if (
      old.metadata.generation !== undefined &&
      opts.subresource !== "status" &&
      !isDeepStrictEqual(specPart(obj), specPart(old))
    )
      obj.metadata.generation = (old.metadata.generation ?? 0) + 1;
    if (opts.subresource !== "status")
      obj = this.runAdmission({
        key,
        operation: "UPDATE",
        object: obj,
        oldObject: old,
        namespace: this.namespaceObject(obj.metadata.namespace),
        dryRun: !!opts.dryRun,
      });
    if (opts.subresource !== "status") this.validate(t, obj, old);
    if (this.tracksManagedFields(opts))
      obj = this.managedFields!(
        old,
        obj,
        opts.fieldManager ?? "unknown",
        obj.apiVersion!,
        rfc3339(this.now()),
        opts.subresource,
      );
    // a no-op update does not bump the resourceVersion (as etcd3 storage does)
    if (
      opts.subresource !== "status" &&
      isDeepStrictEqual(withoutVolatileMeta(obj), withoutVolatileMeta(old)) &&
      isDeepStrictEqual(obj.metadata.managedFields, old.metadata.managedFields)
    )
      return old;
    if (opts.dryRun) return { ...obj, metadata: { ...obj.metadata, resourceVersion: old.metadata.resourceVersion } };
    // the last finalizer gone from an object being deleted: it goes for real
    if (
      obj.metadata.deletionTimestamp &&
      !obj.metadata.finalizers?.length &&
      !(key === "/namespaces" && obj.spec?.finalizers?.length) &&
      !(key === "/pods" && this.podAwaitsKubelet(obj))
    ) {
      obj.metadata.resourceVersion = String(++this.rv);
      return this.purge(key, t, obj, old);
    }
    obj.metadata.resourceVersion = String(++this.rv);
    this.put(key, t, obj);
    if (key === "apiextensions.k8s.io/customresourcedefinitions") this.types.registerCRD(obj);
    this.commit({ type: "MODIFIED", key, object: obj, old, rv: this.rv });
    return obj;
  }

  mutate(
    key: string,
    namespace: string | undefined,
    name: string,
    fn: (obj: KObject) => void | false,
    opts: WriteOptions = {},
  ): KObject | undefined {
    const cur = this.get(key, namespace, name);
    if (!cur) return undefined;
    // a status write changes only .status: copy that and share the rest (fn must not change anything else)
    const copy: KObject =
      opts.subresource === "status"
        ? { ...cur, metadata: { ...cur.metadata }, status: structuredClone(cur.status) }
        : structuredClone(cur);
    if (fn(copy) === false) return cur;
    copy.metadata.resourceVersion = cur.metadata.resourceVersion;
    return this.replace(key, copy, opts);
  }

  /** A pod on a node is deleted gracefully: the kubelet finishes it (sets grace 0) after its containers stop. */
  private podAwaitsKubelet(pod: KObject): boolean {
    return (
      !!pod.spec?.nodeName &&
      pod.metadata.deletionGracePeriodSeconds !== 0 &&
      !["Succeeded", "Failed"].includes(pod.status?.phase)
    );
  }

  delete(key: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KObject {
    const t = this.type(key);
    const cur = this.get(key, namespace, name);
    if (!cur) throw notFound(t, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid)
      throw new ApiError(
        409,
        "Conflict",
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`,
        { name, group: t.group || undefined, kind: t.plural },
      );
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion)
      throw new ApiError(
        409,
        "Conflict",
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`,
        { name, group: t.group || undefined, kind: t.plural },
      );
    // copy-on-write: deletion changes metadata (and a namespace's status, replaced whole), the rest is shared
    const obj: KObject = { ...cur, metadata: { ...cur.metadata } };
    const meta = obj.metadata;
    const nowStr = rfc3339(this.now());
    let finalizers = [...(meta.finalizers ?? [])];
    const policy = opts.propagationPolicy;
    if (!meta.deletionTimestamp) {
      if (policy === "Foreground" && !finalizers.includes("foregroundDeletion")) finalizers.push("foregroundDeletion");
      if (policy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
    }
    if (finalizers.length) meta.finalizers = finalizers;
    else delete meta.finalizers;
    finalizers = meta.finalizers ?? [];

    if (key === "/pods") {
      const grace =
        opts.gracePeriodSeconds ??
        cur.metadata.deletionGracePeriodSeconds ??
        cur.spec?.terminationGracePeriodSeconds ??
        30;
      meta.deletionGracePeriodSeconds = Math.min(grace, cur.metadata.deletionGracePeriodSeconds ?? grace);
      if (!cur.spec?.nodeName || ["Succeeded", "Failed"].includes(cur.status?.phase))
        meta.deletionGracePeriodSeconds = 0;
      meta.deletionTimestamp ??= rfc3339(new Date(this.now().getTime() + meta.deletionGracePeriodSeconds * 1000));
    } else if (key === "/namespaces") {
      meta.deletionTimestamp ??= nowStr;
      meta.deletionGracePeriodSeconds ??= 0;
      obj.status = { ...(obj.status ?? {}), phase: "Terminating" };
    } else if (finalizers.length) {
      meta.deletionTimestamp ??= nowStr;
      meta.deletionGracePeriodSeconds ??= 0;
    }
    if (opts.dryRun) return obj;

    const mustWait =
      finalizers.length > 0 ||
      (key === "/namespaces" && (obj.spec?.finalizers?.length ?? 0) > 0) ||
      (key === "/pods" && this.podAwaitsKubelet(obj));
    if (mustWait) {
      if (isDeepStrictEqual(obj, cur)) return cur;
      meta.resourceVersion = String(++this.rv);
      this.put(key, t, obj);
      this.commit({ type: "MODIFIED", key, object: obj, old: cur, rv: this.rv });
      return obj;
    }
    meta.resourceVersion = String(++this.rv);
    return this.purge(key, t, obj, cur);
  }

  private purge(key: string, t: ResourceType, obj: KObject, old: KObject): KObject {
    this.remove(key, t, obj);
    this.commit({ type: "DELETED", key, object: obj, old, rv: this.rv });
    if (key === "apiextensions.k8s.io/customresourcedefinitions") {
      // deleting a CRD deletes every custom resource of it
      const crKey = resourceKey(obj.spec?.group, obj.spec?.names?.plural);
      if (this.types.byKey(crKey)) {
        const crType = this.type(crKey);
        for (const cr of this.list(crKey)) {
          const gone = { ...cr, metadata: { ...cr.metadata, resourceVersion: String(++this.rv) } };
          this.remove(crKey, crType, cr);
          this.commit({ type: "DELETED", key: crKey, object: gone, old: cr, rv: this.rv });
        }
      }
      this.types.unregisterCRD(obj);
    }
    return obj;
  }

  /** CRD status as the apiextensions controller sets it: names accepted and established at once. */
  private prepareCRD(crd: KObject): void {
    const names = crd.spec?.names ?? {};
    const time = rfc3339(this.now());
    crd.status = {
      acceptedNames: {
        plural: names.plural,
        singular: names.singular ?? names.plural,
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        ...(names.shortNames ? { shortNames: names.shortNames } : {}),
        ...(names.categories ? { categories: names.categories } : {}),
      },
      conditions: [
        {
          type: "NamesAccepted",
          status: "True",
          lastTransitionTime: time,
          reason: "NoConflicts",
          message: "no conflicts found",
        },
        {
          type: "Established",
          status: "True",
          lastTransitionTime: time,
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
        },
      ],
      storedVersions: (crd.spec?.versions ?? []).filter((v: any) => v.storage).map((v: any) => v.name),
    };
    names.singular ??= String(names.kind ?? "").toLowerCase();
    names.listKind ??= `${names.kind}List`;
  }
}

export function createStore(opts: StoreOptions): Store {
  return new Store(opts.types, opts);
}
