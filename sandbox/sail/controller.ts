// A simulated Sail operator (istio-ecosystem/sail-operator): reconciles Istio, IstioRevision and IstioRevisionTag
// objects (sailoperator.io/v1) into what the istiod chart installs, with Sail's status conditions, InUse rules
// and pruning of inactive revisions. It acts only on Sail objects, so it can run in every sandbox; it does
// nothing until the CRDs are installed (see crds.ts).
import {
  ApiError,
  resourceKey,
  type ClusterStore,
  type KObject,
  type OwnerReference,
  type ResourceType,
  type StoreEvent,
} from "../api/types.js";
import {
  canonicalJson,
  deepEqual,
  fnv32a,
  parseTime,
  setCondition,
  timestamp,
  type Condition,
} from "../controllers/meta.js";
import { informerFeed, servedKeys } from "../controllers/informer-feed.js";
import { WorkLoop, type ReconcileResult } from "../controllers/workloop.js";
import { ISTIO_KEY, ISTIO_REVISION_KEY, ISTIO_REVISION_TAG_KEY, SAIL_API_VERSION, SAIL_GROUP } from "./crds.js";
import { DEFAULT_REVISION, PodReferenceIndex, findReference, namespaceRevision } from "./references.js";
import {
  SailValidationError,
  activeRevisionName,
  computeValues,
  dependsOnIstioCNI,
  gracePeriodMs,
  istioNamespaceOf,
  istiodDeploymentName,
  releaseOf,
  renderIstioRevision,
  renderIstioRevisionTag,
} from "./revision.js";

export interface SailControllerOptions {
  /** wall clock for condition times (ms since epoch); timers always run on real time */
  now?: () => number;
  /** unexpected (non-ApiError) failures inside a reconcile; default: console.error */
  onError?: (queue: string, key: string, err: unknown) => void;
}

export interface RunningSailController {
  stop(): void;
  /** resolves when nothing is queued or being reconciled (prune timers are background clocks and do not hold it) */
  idle(): Promise<void>;
}

const ACTOR = { actor: "system:serviceaccount:sail-operator:sail-operator" };
const ISTIO_CNI_KEY = resourceKey(SAIL_GROUP, "istiocnis");
/** retry after a write the API server refused (a conflict, a missing namespace in flight…) */
const RETRY_MS = 200;

type Status = Record<string, any>;

interface OwnedRef {
  key: string;
  namespace: string | undefined;
  name: string;
}

const objectId = (key: string, namespace: string | undefined, name: string) => `${key}|${namespace ?? ""}|${name}`;

/** The Sail owner (IstioRevision or IstioRevisionTag, or Istio for revisions) an object's controller reference names. */
function sailOwner(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller && r.apiVersion.startsWith(`${SAIL_GROUP}/`));
}

function ownerRef(owner: KObject, kind: string): OwnerReference {
  return {
    apiVersion: SAIL_API_VERSION,
    kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** GetCondition: a missing condition reads as Unknown with no transition time. */
function conditionOf(obj: KObject | undefined, type: string): Condition {
  return (
    (obj?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type) ?? { type, status: "Unknown" }
  );
}

/** deriveState: the reason of the first condition that is not True, else Healthy. */
function deriveState(...conditions: Condition[]): string {
  for (const c of conditions) if (c.status !== "True") return c.reason ?? "";
  return "Healthy";
}

export function startSailController(store: ClusterStore, opts: SailControllerOptions = {}): RunningSailController {
  const now = opts.now ?? Date.now;
  const loop = new WorkLoop(
    opts.onError ?? ((queue, key, err) => console.error(`sandbox: sail ${queue} controller failed on ${key}:`, err)),
  );
  const pods = new PodReferenceIndex();
  /** objects each Sail owner (by uid) controls, from store events */
  const owned = new Map<string, Map<string, OwnedRef>>();
  /** hash of what was last written per object, as Helm compares against the previous release: no write when unchanged */
  const applied = new Map<string, string>();
  const rendered = new Map<string, { specHash: string; objects: KObject[] }>();

  const served = (key: string) => {
    try {
      store.type(key);
      return true;
    } catch {
      return false;
    }
  };
  const list = (key: string) => (served(key) ? store.list(key) : []);
  const get = (key: string, name: string) => (served(key) ? store.get(key, undefined, name) : undefined);

  // ---- writes shared by the revision and tag reconcilers --------------------------------------------------

  /**
   * Creates or updates `objects` as dependents of `owner` and deletes what the owner controlled before but no
   * longer renders (a Helm upgrade). An object of the same name the owner does not control is refused, as Helm
   * refuses to adopt a resource with "invalid ownership metadata".
   */
  function applyOwned(owner: OwnerReference, objects: KObject[]): void {
    const wanted = new Set<string>();
    for (const desired of objects) {
      const t: ResourceType | undefined = store.typeForKind(desired.apiVersion!, desired.kind!);
      if (!t)
        throw new SailValidationError(
          `the cluster serves no ${desired.apiVersion} ${desired.kind} (is its CRD installed?)`,
        );
      const key = resourceKey(t.group, t.plural);
      const namespace = t.namespaced ? desired.metadata.namespace : undefined;
      const name = desired.metadata.name!;
      const id = objectId(key, namespace, name);
      wanted.add(id);
      desired.metadata.ownerReferences = [owner];
      const hash = `${owner.uid}:${fnv32a(canonicalJson(desired))}`;
      const live = store.get(key, namespace, name);
      if (!live) {
        store.create(key, desired, ACTOR);
        applied.set(id, hash);
        continue;
      }
      if (!live.metadata.ownerReferences?.some((r) => r.uid === owner.uid))
        throw new SailValidationError(
          `${desired.kind} "${namespace ? `${namespace}/` : ""}${name}" exists and is not managed by ${owner.kind} ${owner.name}: ` +
            `remove it or the install that owns it first (Helm: invalid ownership metadata)`,
        );
      if (applied.get(id) === hash) continue;
      store.mutate(
        key,
        namespace,
        name,
        (o) => {
          for (const field of Object.keys(o))
            if (!["metadata", "status", "apiVersion", "kind"].includes(field) && !(field in desired)) delete o[field];
          for (const [field, value] of Object.entries(desired))
            if (field !== "metadata" && field !== "status") o[field] = value;
          o.metadata.labels = desired.metadata.labels;
          o.metadata.annotations = { ...(o.metadata.annotations ?? {}), ...(desired.metadata.annotations ?? {}) };
          o.metadata.ownerReferences = [owner];
        },
        ACTOR,
      );
      applied.set(id, hash);
    }
    for (const [id, ref] of owned.get(owner.uid) ?? new Map<string, OwnedRef>()) {
      if (wanted.has(id)) continue;
      deleteQuietly(ref);
      applied.delete(id);
    }
  }

  function deleteQuietly(ref: OwnedRef): void {
    try {
      store.delete(ref.key, ref.namespace, ref.name, { propagationPolicy: "Background", ...ACTOR });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }

  function writeStatus(key: string, obj: KObject, status: Status): void {
    if (deepEqual(obj.status ?? {}, status)) return;
    store.mutate(
      key,
      undefined,
      obj.metadata.name!,
      (o) => {
        if (o.metadata.uid !== obj.metadata.uid) return false;
        o.status = status;
      },
      { ...ACTOR, subresource: "status" },
    );
  }

  /** runs `act`, turning a refusal into a status message; ApiErrors (conflicts, races) also ask for a retry */
  function attempt(act: () => void): { error?: string; retry: boolean } {
    try {
      act();
      return { retry: false };
    } catch (err) {
      if (err instanceof SailValidationError) return { error: err.message, retry: false };
      if (err instanceof ApiError) return { error: err.message, retry: true };
      throw err;
    }
  }

  const setAll = (conditions: Condition[] | undefined, next: Condition[]) => {
    const nowIso = timestamp(now());
    let list = conditions;
    for (const c of next) list = setCondition(list, c, nowIso);
    return list ?? [];
  };

  // ---- IstioRevision ----------------------------------------------------------------------------------------

  function revisionObjects(rev: KObject): KObject[] {
    const specHash = canonicalJson(rev.spec ?? {});
    const cached = rendered.get(rev.metadata.uid!);
    if (cached?.specHash === specHash) return cached.objects.map((o) => structuredClone(o));
    const objects = renderIstioRevision(rev);
    rendered.set(rev.metadata.uid!, { specHash, objects });
    return objects.map((o) => structuredClone(o));
  }

  function validateAgainstCluster(rev: KObject): void {
    if (!store.get("/namespaces", undefined, rev.spec.namespace))
      throw new SailValidationError(`namespace "${rev.spec.namespace}" doesn't exist`);
    if (get(ISTIO_REVISION_TAG_KEY, rev.metadata.name!))
      throw new SailValidationError("an IstioRevisionTag exists with this name");
  }

  function readyCondition(rev: KObject): Condition {
    const d = store.get("apps/deployments", rev.spec?.namespace, istiodDeploymentName(rev));
    const notReady = (message: string): Condition => ({
      type: "Ready",
      status: "False",
      reason: "IstiodNotReady",
      message,
    });
    if (!d) return notReady("istiod Deployment not found");
    const replicas = d.status?.replicas ?? 0;
    if (replicas === 0) return notReady("istiod Deployment is scaled to zero replicas");
    if ((d.status?.readyReplicas ?? 0) < replicas) return notReady("not all istiod pods are ready");
    return { type: "Ready", status: "True" };
  }

  function dependenciesCondition(rev: KObject): Condition {
    if (dependsOnIstioCNI(rev)) {
      const cni = get(ISTIO_CNI_KEY, "default");
      if (!cni)
        return {
          type: "DependenciesHealthy",
          status: "False",
          reason: "IstioCNINotFound",
          message: "IstioCNI resource does not exist",
        };
      if (cni.status?.state !== "Healthy")
        return {
          type: "DependenciesHealthy",
          status: "False",
          reason: "IstioCNINotHealthy",
          message: "IstioCNI resource status indicates that the component is not healthy",
        };
    }
    return { type: "DependenciesHealthy", status: "True" };
  }

  function inUseCondition(rev: KObject): Condition {
    const name = rev.metadata.name!;
    const tag = list(ISTIO_REVISION_TAG_KEY).find((t) => t.status?.istioRevision === name);
    const why =
      (tag ? `IstioRevisionTag ${tag.metadata.name}` : undefined) ??
      findReference(name, store.list("/namespaces"), pods, { countInjected: true }) ??
      (name === DEFAULT_REVISION && rev.spec?.values?.sidecarInjectorWebhook?.enableNamespacesByDefault === true
        ? "enableNamespacesByDefault"
        : undefined);
    return why
      ? {
          type: "InUse",
          status: "True",
          reason: "ReferencedByWorkloads",
          message: "Referenced by at least one pod or namespace",
        }
      : {
          type: "InUse",
          status: "False",
          reason: "NotReferencedByAnything",
          message: "Not referenced by any pod or namespace",
        };
  }

  function reconcileRevision(name: string): ReconcileResult | void {
    const rev = get(ISTIO_REVISION_KEY, name);
    if (!rev || rev.metadata.deletionTimestamp) return;
    const outcome = attempt(() => {
      const objects = revisionObjects(rev);
      validateAgainstCluster(rev);
      applyOwned(ownerRef(rev, "IstioRevision"), objects);
    });
    const reconciled: Condition = outcome.error
      ? {
          type: "Reconciled",
          status: "False",
          reason: "ReconcileError",
          message: `error reconciling resource: ${outcome.error}`,
        }
      : { type: "Reconciled", status: "True" };
    const ready = readyCondition(rev);
    const dependencies = dependenciesCondition(rev);
    const inUse = inUseCondition(rev);
    writeStatus(ISTIO_REVISION_KEY, rev, {
      ...(rev.status ?? {}),
      observedGeneration: rev.metadata.generation,
      conditions: setAll(rev.status?.conditions, [reconciled, ready, dependencies, inUse]),
      state: deriveState(reconciled, ready, dependencies),
    });
    if (outcome.retry) return { requeueAfterMs: RETRY_MS, settling: false };
  }

  // ---- Istio ------------------------------------------------------------------------------------------------

  function ownedRevisions(istio: KObject): KObject[] {
    return list(ISTIO_REVISION_KEY).filter((r) =>
      r.metadata.ownerReferences?.some((o) => o.uid === istio.metadata.uid),
    );
  }

  function createOrUpdateRevision(istio: KObject, name: string): void {
    const version = istio.spec.version;
    const namespace = istioNamespaceOf(istio);
    const values = computeValues(istio, name);
    const existing = get(ISTIO_REVISION_KEY, name);
    if (!existing) {
      store.create(
        ISTIO_REVISION_KEY,
        {
          apiVersion: SAIL_API_VERSION,
          kind: "IstioRevision",
          metadata: { name, ownerReferences: [ownerRef(istio, "Istio")] },
          spec: { version, namespace, values },
        },
        ACTOR,
      );
      return;
    }
    if (existing.spec?.version === version && deepEqual(existing.spec?.values, values)) return;
    store.mutate(
      ISTIO_REVISION_KEY,
      undefined,
      name,
      (r) => {
        r.spec = { ...r.spec, version, values };
      },
      ACTOR,
    );
  }

  /**
   * PruneInactive: deletes revisions of this Istio that are not active and whose InUse has been False for the
   * whole grace period; Unknown is never pruned (sail-operator PR #1322). Returns ms until the next one is due.
   */
  function pruneInactive(istio: KObject, active: string): number | undefined {
    const grace = gracePeriodMs(istio);
    let next: number | undefined;
    for (const rev of ownedRevisions(istio)) {
      if (rev.metadata.name === active || rev.metadata.deletionTimestamp) continue;
      const inUse = conditionOf(rev, "InUse");
      if (inUse.status !== "False") continue;
      const pruneAt = (parseTime(inUse.lastTransitionTime) ?? now()) + grace;
      if (pruneAt < now()) deleteQuietly({ key: ISTIO_REVISION_KEY, namespace: undefined, name: rev.metadata.name! });
      else next = Math.min(next ?? Infinity, pruneAt - now() + 1);
    }
    return next;
  }

  function reconcileIstio(name: string): ReconcileResult | void {
    const istio = get(ISTIO_KEY, name);
    if (!istio || istio.metadata.deletionTimestamp) return;
    const active = activeRevisionName(istio);
    let pruneInMs: number | undefined;
    const outcome = attempt(() => {
      releaseOf(istio.spec?.version);
      createOrUpdateRevision(istio, active);
      pruneInMs = pruneInactive(istio, active);
    });
    const status: Status = { ...(istio.status ?? {}), observedGeneration: istio.metadata.generation };
    let conditions: Condition[];
    if (outcome.error) {
      conditions = [
        { type: "Reconciled", status: "False", reason: "ReconcileError", message: outcome.error },
        {
          type: "Ready",
          status: "Unknown",
          reason: "ReconcileError",
          message: "cannot determine readiness due to reconciliation error",
        },
      ];
      status.state = "ReconcileError";
    } else {
      status.activeRevisionName = active;
      const rev = get(ISTIO_REVISION_KEY, active);
      if (!rev) {
        const notFound = (type: string): Condition => ({
          type,
          status: "False",
          reason: "ActiveRevisionNotFound",
          message: "active IstioRevision not found",
        });
        conditions = [notFound("Reconciled"), notFound("Ready")];
        status.state = "ActiveRevisionNotFound";
      } else {
        // the Istio mirrors its active revision's conditions (convertCondition keeps type, status, reason, message)
        conditions = ["Reconciled", "Ready", "DependenciesHealthy"].map((type) => {
          const { lastTransitionTime: _ignored, ...c } = conditionOf(rev, type);
          return c;
        });
        status.state = rev.status?.state ?? "";
      }
    }
    const revisions = ownedRevisions(istio);
    status.revisions = {
      total: revisions.length,
      ready: revisions.filter((r) => conditionOf(r, "Ready").status === "True").length,
      inUse: revisions.filter((r) => conditionOf(r, "InUse").status === "True").length,
    };
    status.conditions = setAll(istio.status?.conditions, conditions);
    writeStatus(ISTIO_KEY, istio, status);
    if (outcome.retry) return { requeueAfterMs: RETRY_MS, settling: false };
    if (pruneInMs !== undefined) return { requeueAfterMs: pruneInMs, settling: false };
  }

  // ---- IstioRevisionTag -------------------------------------------------------------------------------------

  /** The IstioRevision a tag points at: the named one, or the active revision of the named Istio. */
  function resolveTag(tag: KObject): KObject {
    const ref = tag.spec?.targetRef ?? {};
    let revisionName: string | undefined;
    if (ref.kind === "IstioRevision") revisionName = ref.name;
    else if (ref.kind === "Istio") {
      const istio = get(ISTIO_KEY, ref.name);
      if (!istio) throw new TagRefNotFound(`referenced Istio "${ref.name}" not found`);
      revisionName = istio.status?.activeRevisionName || activeRevisionName(istio);
    } else throw new SailValidationError(`spec.targetRef.kind must be Istio or IstioRevision, not "${ref.kind}"`);
    const rev = get(ISTIO_REVISION_KEY, revisionName!);
    if (!rev) throw new TagRefNotFound(`referenced IstioRevision "${revisionName}" not found`);
    return rev;
  }

  function reconcileTag(name: string): ReconcileResult | void {
    const tag = get(ISTIO_REVISION_TAG_KEY, name);
    if (!tag || tag.metadata.deletionTimestamp) return;
    let target: KObject | undefined;
    let reason = "ReconcileError";
    const outcome = attempt(() => {
      if (get(ISTIO_REVISION_KEY, name)) {
        reason = "NameAlreadyExists";
        throw new SailValidationError(`an IstioRevision exists with the name ${name}`);
      }
      try {
        target = resolveTag(tag);
      } catch (err) {
        if (err instanceof TagRefNotFound) reason = "RefNotFound";
        throw err instanceof TagRefNotFound ? new SailValidationError(err.message) : err;
      }
      applyOwned(ownerRef(tag, "IstioRevisionTag"), renderIstioRevisionTag(tag, target));
    });
    const reconciled: Condition = outcome.error
      ? { type: "Reconciled", status: "False", reason, message: outcome.error }
      : { type: "Reconciled", status: "True" };
    const why = findReference(name, store.list("/namespaces"), pods, { countInjected: false });
    const inUse: Condition = why
      ? {
          type: "InUse",
          status: "True",
          reason: "ReferencedByWorkloads",
          message: "Referenced by at least one pod or namespace",
        }
      : {
          type: "InUse",
          status: "False",
          reason: "NotReferencedByAnything",
          message: "Not referenced by any pod or namespace",
        };
    writeStatus(ISTIO_REVISION_TAG_KEY, tag, {
      ...(tag.status ?? {}),
      observedGeneration: tag.metadata.generation,
      conditions: setAll(tag.status?.conditions, [reconciled, inUse]),
      state: deriveState(reconciled, inUse),
      istiodNamespace: target?.spec?.namespace ?? tag.status?.istiodNamespace ?? "",
      istioRevision: target?.metadata.name ?? tag.status?.istioRevision ?? "",
    });
    if (outcome.retry) return { requeueAfterMs: RETRY_MS, settling: false };
  }

  const revisions = loop.queue("sail-istiorevision", reconcileRevision);
  const istios = loop.queue("sail-istio", reconcileIstio);
  const tags = loop.queue("sail-istiorevisiontag", reconcileTag);

  // ---- event routing ----------------------------------------------------------------------------------------

  function trackOwned(ev: StoreEvent): OwnerReference | undefined {
    const { key, object } = ev;
    const namespace = object.metadata.namespace;
    const id = objectId(key, namespace, object.metadata.name!);
    const before = ev.old ? sailOwner(ev.old) : undefined;
    const after = ev.type === "DELETED" ? undefined : sailOwner(object);
    if (before && before.uid !== after?.uid) owned.get(before.uid)?.delete(id);
    if (after) {
      let set = owned.get(after.uid);
      if (!set) owned.set(after.uid, (set = new Map()));
      set.set(id, { key, namespace, name: object.metadata.name! });
    }
    if (ev.type === "DELETED") applied.delete(id);
    return after ?? before;
  }

  const enqueueAll = (queue: typeof tags, key: string) => {
    for (const o of list(key)) queue.add(o.metadata.name!);
  };

  function onEvent(ev: StoreEvent): void {
    if (ev.key === "/events" || ev.key === "events.k8s.io/events") return;
    const owner = trackOwned(ev);
    const name = ev.object.metadata.name!;
    switch (ev.key) {
      case ISTIO_REVISION_KEY: {
        revisions.add(name);
        if (owner?.kind === "Istio") istios.add(owner.name);
        enqueueAll(tags, ISTIO_REVISION_TAG_KEY);
        if (ev.type === "DELETED") {
          owned.delete(ev.object.metadata.uid!);
          rendered.delete(ev.object.metadata.uid!);
        }
        return;
      }
      case ISTIO_KEY:
        istios.add(name);
        enqueueAll(tags, ISTIO_REVISION_TAG_KEY);
        return;
      case ISTIO_REVISION_TAG_KEY:
        tags.add(name);
        revisions.add(name); // an IstioRevision of the same name is refused while the tag exists
        for (const r of [ev.old?.status?.istioRevision, ev.object.status?.istioRevision]) if (r) revisions.add(r);
        if (ev.type === "DELETED") owned.delete(ev.object.metadata.uid!);
        return;
      case "/namespaces": {
        // a namespace may be the one a revision installs into, or reference a revision or tag by its labels
        for (const r of list(ISTIO_REVISION_KEY)) if (r.spec?.namespace === name) revisions.add(r.metadata.name!);
        for (const labels of [ev.old?.metadata.labels, ev.type === "DELETED" ? undefined : ev.object.metadata.labels]) {
          const r = namespaceRevision(labels);
          if (r) {
            revisions.add(r);
            tags.add(r);
          }
        }
        // the pod-label rule depends on the namespace having no reference of its own
        if (namespaceRevision(ev.old?.metadata.labels) !== namespaceRevision(ev.object.metadata.labels)) {
          enqueueAll(revisions, ISTIO_REVISION_KEY);
          enqueueAll(tags, ISTIO_REVISION_TAG_KEY);
        }
        return;
      }
      case "/pods": {
        const changed = pods.update(
          `${ev.object.metadata.namespace}/${name}`,
          ev.type === "DELETED" ? undefined : ev.object,
        );
        for (const r of changed) {
          revisions.add(r);
          tags.add(r);
        }
        return;
      }
      case "apiextensions.k8s.io/customresourcedefinitions":
        if (ev.object.spec?.group === SAIL_GROUP) {
          // an IstioCNI CRD or object may decide DependenciesHealthy; a new Sail type may hold objects already
          enqueueAll(revisions, ISTIO_REVISION_KEY);
          enqueueAll(istios, ISTIO_KEY);
          enqueueAll(tags, ISTIO_REVISION_TAG_KEY);
        }
        return;
      case ISTIO_CNI_KEY:
        enqueueAll(revisions, ISTIO_REVISION_KEY);
        return;
      default:
        if (owner?.kind === "IstioRevision") revisions.add(owner.name);
        else if (owner?.kind === "IstioRevisionTag") tags.add(owner.name);
    }
  }

  // subscribe first, then replay what the store holds (as an informer's initial list does)
  const feed = informerFeed(store, () => servedKeys(store, ["/namespaces", "/pods"]), onEvent);
  feed.replay();

  return {
    stop() {
      feed.stop();
      loop.stop();
    },
    idle: () => loop.idle(),
  };
}

/** the tag's target does not exist (reason RefNotFound) */
class TagRefNotFound extends Error {}
