// The Deployment controller, following k8s.io/kubernetes/pkg/controller/deployment:
// ReplicaSets named <deployment>-<pod-template-hash>, revisions in annotations (an old ReplicaSet is
// reused when the template goes back to it: `kubectl rollout undo`), RollingUpdate within
// maxSurge/maxUnavailable, Recreate, proportional scaling, pause, revision history cleanup, and the
// status/conditions `kubectl rollout status` reads.
import { ApiError, type KObject, type StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import {
  type Condition,
  POD_TEMPLATE_HASH,
  REVISION_ANNOTATION,
  clone,
  controllerRef,
  creationMs,
  deepEqual,
  findCondition,
  isDeleting,
  objKey,
  omitZero,
  ownerRefTo,
  parseTime,
  removeCondition,
  scaledValue,
  selectorMatches,
  splitNsName,
  templateHash,
  timestamp,
} from "./meta.js";

const COMPONENT = "deployment-controller";
const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
const REVISION_HISTORY = "deployment.kubernetes.io/revision-history";
/** annotations of the Deployment that are not copied to its ReplicaSets (deploymentutil.skipCopyAnnotation) */
const SKIP_COPY = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION_ANNOTATION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  "deprecated.deployment.rollback.to",
]);

function replicas(o: KObject | undefined): number {
  return o?.spec?.replicas ?? 0;
}

function revisionOf(rs: KObject): number {
  const v = Number(rs.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isFinite(v) ? v : 0;
}

/** deploymentutil.ResolveFenceposts: surge rounds up, unavailable rounds down, never both zero */
export function resolveFenceposts(d: KObject): { maxSurge: number; maxUnavailable: number } {
  const desired = replicas(d);
  if (d.spec?.strategy?.type === "Recreate") return { maxSurge: 0, maxUnavailable: desired };
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const maxSurge = scaledValue(ru.maxSurge, desired, true, "25%");
  let maxUnavailable = scaledValue(ru.maxUnavailable, desired, false, "25%");
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

/** deploymentutil.MaxUnavailable: what the Available condition tolerates */
function maxUnavailableOf(d: KObject): number {
  if (d.spec?.strategy?.type !== "RollingUpdate" && d.spec?.strategy?.type !== undefined) return 0;
  if (replicas(d) === 0) return 0;
  return Math.min(resolveFenceposts(d).maxUnavailable, replicas(d));
}

/** the template without the pod-template-hash label: what EqualIgnoreHash compares */
/**
 * Whether two pod templates are the same but for the pod-template-hash label (EqualIgnoreHash). Templates are
 * parts of stored (immutable) objects, so a pair's answer holds for as long as the two live: it is kept, because
 * every reconcile of a Deployment compares its template with each of its ReplicaSets'.
 */
const sameTemplates = new WeakMap<object, WeakMap<object, boolean>>();

function equalIgnoringHash(a: any, b: any): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null)
    return deepEqual(templateIgnoringHash(a), templateIgnoringHash(b));
  let answers = sameTemplates.get(a);
  if (!answers) sameTemplates.set(a, (answers = new WeakMap()));
  let same = answers.get(b);
  if (same === undefined) answers.set(b, (same = deepEqual(templateIgnoringHash(a), templateIgnoringHash(b))));
  return same;
}

function templateIgnoringHash(tpl: any): any {
  const t = clone(tpl ?? {});
  if (t.metadata?.labels) {
    delete t.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels;
  }
  if (t.metadata && Object.keys(t.metadata).length === 0) delete t.metadata;
  return t;
}

export function deploymentController(ctx: ControllerContext): Controller {
  const { store, index, events } = ctx;

  function ownedReplicaSets(d: KObject): KObject[] {
    const out: KObject[] = [];
    for (const ref of index.dependents(d.metadata.uid!)) {
      if (ref.key !== "apps/replicasets") continue;
      const rs = store.get("apps/replicasets", ref.namespace, ref.name);
      if (rs && controllerRef(rs)?.uid === d.metadata.uid) out.push(rs);
    }
    // adopt orphaned ReplicaSets that match the selector (after an orphaning delete and re-create)
    if (!isDeleting(d)) {
      for (const name of index.names("apps/replicasets", d.metadata.namespace)) {
        const rs = store.get("apps/replicasets", d.metadata.namespace, name);
        if (!rs || controllerRef(rs) || isDeleting(rs) || !selectorMatches(d.spec?.selector, rs.metadata.labels))
          continue;
        const adopted = store.mutate(
          "apps/replicasets",
          d.metadata.namespace,
          name,
          (o) => {
            if (controllerRef(o)) return false;
            o.metadata.ownerReferences = [
              ...(o.metadata.ownerReferences ?? []),
              ownerRefTo(d, "apps/v1", "Deployment"),
            ];
          },
          actor(COMPONENT),
        );
        if (adopted) out.push(adopted);
      }
    }
    return out.sort((a, b) => creationMs(a) - creationMs(b) || a.metadata.name!.localeCompare(b.metadata.name!));
  }

  function scaleReplicaSet(d: KObject, rs: KObject, newScale: number, op: "up" | "down" | undefined): KObject {
    const { maxSurge } = resolveFenceposts(d);
    const desired = String(replicas(d));
    const max = String(replicas(d) + maxSurge);
    const sizeChanged = replicas(rs) !== newScale;
    const annotationsChanged =
      rs.metadata.annotations?.[DESIRED_REPLICAS] !== desired || rs.metadata.annotations?.[MAX_REPLICAS] !== max;
    if (!sizeChanged && !annotationsChanged) return rs;
    const updated = store.mutate(
      "apps/replicasets",
      rs.metadata.namespace,
      rs.metadata.name!,
      (o) => {
        o.spec.replicas = newScale;
        o.metadata.annotations = {
          ...(o.metadata.annotations ?? {}),
          [DESIRED_REPLICAS]: desired,
          [MAX_REPLICAS]: max,
        };
      },
      actor(COMPONENT),
    )!;
    if (sizeChanged) {
      const dir = op ?? (newScale > replicas(rs) ? "up" : "down");
      events.record(
        d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${dir} replica set ${rs.metadata.name} from ${replicas(rs)} to ${newScale}`,
        COMPONENT,
      );
    }
    return updated;
  }

  function copyAnnotations(d: KObject): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!SKIP_COPY.has(k)) out[k] = v;
    return out;
  }

  /**
   * getNewReplicaSet: the ReplicaSet whose template equals the Deployment's (ignoring the hash label).
   * An existing one (rollout undo) gets the next revision; otherwise one is created, unless asked not to.
   */
  function newReplicaSet(d: KObject, all: KObject[], create: boolean): { rs?: KObject; created: boolean } {
    const existing = all
      .filter((rs) => equalIgnoringHash(rs.spec?.template, d.spec.template))
      .sort((a, b) => creationMs(a) - creationMs(b))[0];
    const olds = all.filter((rs) => rs !== existing);
    const maxOld = olds.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const nextRevision = maxOld + 1;
    if (existing) {
      const rev = revisionOf(existing);
      const needsRevision = rev < nextRevision;
      const minReadyDiffers = (existing.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      const annotations = { ...(existing.metadata.annotations ?? {}), ...copyAnnotations(d) };
      if (needsRevision) {
        annotations[REVISION_ANNOTATION] = String(nextRevision);
        if (rev > 0) {
          const history = existing.metadata.annotations?.[REVISION_HISTORY];
          annotations[REVISION_HISTORY] = history ? `${history},${rev}` : String(rev);
        }
      }
      if (!needsRevision && !minReadyDiffers && deepEqual(annotations, existing.metadata.annotations ?? {}))
        return { rs: existing, created: false };
      const updated = store.mutate(
        "apps/replicasets",
        existing.metadata.namespace,
        existing.metadata.name!,
        (o) => {
          o.metadata.annotations = annotations;
          o.spec.minReadySeconds = d.spec?.minReadySeconds ?? 0;
        },
        actor(COMPONENT),
      );
      return { rs: updated, created: false };
    }
    if (!create) return { created: false };
    const collisionCount: number = d.status?.collisionCount ?? 0;
    const hash = templateHash(d.spec.template, collisionCount);
    const name = `${d.metadata.name}-${hash}`;
    const template = clone(d.spec.template);
    template.metadata = {
      ...(template.metadata ?? {}),
      labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
    };
    const selector = clone(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const { maxSurge } = resolveFenceposts(d);
    const rsObj: KObject = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name,
        namespace: d.metadata.namespace,
        labels: { ...(template.metadata.labels ?? {}) },
        annotations: {
          ...copyAnnotations(d),
          [REVISION_ANNOTATION]: String(nextRevision),
          [DESIRED_REPLICAS]: String(replicas(d)),
          [MAX_REPLICAS]: String(replicas(d) + maxSurge),
        },
        ownerReferences: [ownerRefTo(d, "apps/v1", "Deployment")],
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    // a new ReplicaSet for a Recreate rollout or a fresh Deployment starts at its full size
    rsObj.spec.replicas = newReplicaSetSize(d, all);
    try {
      const created = store.create("apps/replicasets", rsObj, actor(COMPONENT));
      if (replicas(created) > 0)
        events.record(
          d,
          "Normal",
          "ScalingReplicaSet",
          `Scaled up replica set ${name} from 0 to ${replicas(created)}`,
          COMPONENT,
        );
      return { rs: created, created: true };
    } catch (err) {
      if (err instanceof ApiError && err.code === 409) {
        const clash = store.get("apps/replicasets", d.metadata.namespace, name);
        if (
          clash &&
          controllerRef(clash)?.uid === d.metadata.uid &&
          equalIgnoringHash(clash.spec.template, d.spec.template)
        )
          return { rs: clash, created: false };
        // hash collision with a foreign or different ReplicaSet: bump collisionCount and try again
        store.mutate(
          "apps/deployments",
          d.metadata.namespace,
          d.metadata.name!,
          (o) => {
            o.status = { ...(o.status ?? {}), collisionCount: collisionCount + 1 };
          },
          { subresource: "status", ...actor(COMPONENT) },
        );
      }
      throw err;
    }
  }

  /** deploymentutil.NewRSNewReplicas for a ReplicaSet that does not exist yet */
  function newReplicaSetSize(d: KObject, olds: KObject[]): number {
    if (d.spec?.strategy?.type === "Recreate") return olds.some((rs) => replicas(rs) > 0) ? 0 : replicas(d);
    if (d.spec?.paused) return 0;
    const { maxSurge } = resolveFenceposts(d);
    const current = olds.reduce((s, rs) => s + replicas(rs), 0);
    const room = replicas(d) + maxSurge - current;
    return Math.max(0, Math.min(room, replicas(d)));
  }

  /** isScalingEvent: active ReplicaSets were sized for a different spec.replicas */
  function isScalingEvent(d: KObject, all: KObject[]): boolean {
    return all.some(
      (rs) =>
        replicas(rs) > 0 &&
        rs.metadata.annotations?.[DESIRED_REPLICAS] !== undefined &&
        Number(rs.metadata.annotations[DESIRED_REPLICAS]) !== replicas(d),
    );
  }

  /** DeploymentController.scale: proportional scaling across active ReplicaSets */
  function scale(d: KObject, newRS: KObject | undefined, olds: KObject[]): void {
    const activeList = [...olds, ...(newRS ? [newRS] : [])].filter((rs) => replicas(rs) > 0);
    let activeOrLatest: KObject | undefined;
    if (activeList.length === 0) activeOrLatest = newRS ?? [...olds].sort((a, b) => creationMs(b) - creationMs(a))[0];
    else if (activeList.length === 1) activeOrLatest = activeList[0];
    if (activeOrLatest) {
      scaleReplicaSet(d, activeOrLatest, replicas(d), undefined);
      return;
    }
    if (newRS && isSaturated(d, newRS)) {
      for (const rs of olds) if (replicas(rs) > 0) scaleReplicaSet(d, rs, 0, "down");
      return;
    }
    if (d.spec?.strategy?.type === "Recreate") return;
    const { maxSurge } = resolveFenceposts(d);
    const allowed = replicas(d) > 0 ? replicas(d) + maxSurge : 0;
    const total = activeList.reduce((s, rs) => s + replicas(rs), 0);
    const toAdd = allowed - total;
    if (toAdd === 0) {
      for (const rs of activeList) scaleReplicaSet(d, rs, replicas(rs), undefined);
      return;
    }
    const ordered = [...activeList].sort((a, b) =>
      toAdd > 0
        ? replicas(b) - replicas(a) || creationMs(b) - creationMs(a)
        : replicas(b) - replicas(a) || creationMs(a) - creationMs(b),
    );
    const sizes = new Map<KObject, number>();
    let added = 0;
    for (const rs of ordered) {
      const p = proportion(d, rs, toAdd, added, maxSurge);
      sizes.set(rs, replicas(rs) + p);
      added += p;
    }
    ordered.forEach((rs, i) => {
      let size = sizes.get(rs)!;
      if (i === 0) size = Math.max(0, size + (toAdd - added)); // leftovers to the largest
      scaleReplicaSet(d, rs, size, toAdd > 0 ? "up" : "down");
    });
  }

  /** deploymentutil.GetProportion */
  function proportion(d: KObject, rs: KObject, toAdd: number, added: number, maxSurge: number): number {
    if (replicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
    let fraction: number;
    if (replicas(d) === 0) fraction = -replicas(rs);
    else {
      const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? d.status?.replicas ?? 0) || 1;
      fraction = Math.round((replicas(rs) * (replicas(d) + maxSurge)) / annotated) - replicas(rs);
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  function isSaturated(d: KObject, rs: KObject): boolean {
    return (
      replicas(rs) === replicas(d) &&
      Number(rs.metadata.annotations?.[DESIRED_REPLICAS]) === replicas(d) &&
      (rs.status?.availableReplicas ?? 0) === replicas(d)
    );
  }

  /** rolloutRolling: scale the new ReplicaSet up within maxSurge, old ones down within maxUnavailable */
  function rolloutRolling(d: KObject, newRS: KObject, olds: KObject[]): void {
    const { maxSurge, maxUnavailable } = resolveFenceposts(d);
    const all = [...olds, newRS];
    // reconcileNewReplicaSet
    if (replicas(newRS) > replicas(d)) {
      scaleReplicaSet(d, newRS, replicas(d), "down");
      return;
    }
    if (replicas(newRS) < replicas(d)) {
      const current = all.reduce((s, rs) => s + replicas(rs), 0);
      const maxTotal = replicas(d) + maxSurge;
      if (current < maxTotal) {
        const up = Math.min(maxTotal - current, replicas(d) - replicas(newRS));
        scaleReplicaSet(d, newRS, replicas(newRS) + up, "up");
        return; // the next pass (on the ReplicaSet's update) scales old ones down
      }
    }
    // reconcileOldReplicaSets
    const oldCount = olds.reduce((s, rs) => s + replicas(rs), 0);
    if (oldCount === 0) return;
    const allCount = [...olds, newRS].reduce((s, rs) => s + replicas(rs), 0);
    const minAvailable = replicas(d) - maxUnavailable;
    const newUnavailable = replicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allCount - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return;
    // cleanupUnhealthyReplicas: old pods that are not available cost no availability to remove
    let cleaned = 0;
    const oldsByAge = [...olds].sort((a, b) => creationMs(a) - creationMs(b));
    const afterCleanup = new Map<KObject, number>();
    for (const rs of oldsByAge) {
      if (cleaned >= maxScaledDown) break;
      if (replicas(rs) === 0) continue;
      const unhealthy = replicas(rs) - (rs.status?.availableReplicas ?? 0);
      if (unhealthy <= 0) continue;
      const down = Math.min(maxScaledDown - cleaned, unhealthy);
      scaleReplicaSet(d, rs, replicas(rs) - down, "down");
      afterCleanup.set(rs, replicas(rs) - down);
      cleaned += down;
    }
    // scaleDownOldReplicaSetsForRollingUpdate
    const availableNow = [...olds, newRS].reduce((s, rs) => s + (rs.status?.availableReplicas ?? 0), 0);
    if (availableNow <= minAvailable) return;
    let total = availableNow - minAvailable;
    for (const rs of oldsByAge) {
      if (total <= 0) break;
      const size = afterCleanup.get(rs) ?? replicas(rs);
      if (size === 0) continue;
      const down = Math.min(size, total);
      const fresh = store.get("apps/replicasets", rs.metadata.namespace, rs.metadata.name!) ?? rs;
      scaleReplicaSet(d, fresh, size - down, "down");
      total -= down;
    }
  }

  /** rolloutRecreate: every old pod gone before the new ReplicaSet scales up */
  function rolloutRecreate(d: KObject, newRS: KObject, olds: KObject[]): boolean {
    let scaledDown = false;
    for (const rs of olds) {
      if (replicas(rs) > 0) {
        scaleReplicaSet(d, rs, 0, "down");
        scaledDown = true;
      }
    }
    if (scaledDown) return false;
    for (const rs of olds) {
      for (const ref of index.dependents(rs.metadata.uid!)) {
        if (ref.key !== "/pods") continue;
        const pod = store.get("/pods", ref.namespace, ref.name);
        // oldPodsRunning: pods still Pending/Running/Unknown (terminating ones included) block the new ones
        if (pod && !["Succeeded", "Failed"].includes(pod.status?.phase)) return false;
      }
    }
    if (replicas(newRS) !== replicas(d)) scaleReplicaSet(d, newRS, replicas(d), "up");
    return true;
  }

  /** cleanupDeployment: keep revisionHistoryLimit old, empty ReplicaSets */
  function cleanup(d: KObject, olds: KObject[]): void {
    const limit: number = d.spec?.revisionHistoryLimit ?? 10;
    const removable = olds
      .filter(
        (rs) =>
          replicas(rs) === 0 &&
          (rs.status?.replicas ?? 0) === 0 &&
          !isDeleting(rs) &&
          rs.metadata.generation === rs.status?.observedGeneration,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b) || creationMs(a) - creationMs(b));
    const excess = removable.length - Math.max(0, limit - (olds.length - removable.length));
    const diff = Math.min(excess, removable.length);
    for (let i = 0; i < diff; i++) {
      try {
        store.delete("apps/replicasets", removable[i].metadata.namespace, removable[i].metadata.name!, {
          propagationPolicy: "Background",
          actor: actor(COMPONENT).actor,
        });
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
  }

  /** deploymentutil.SetDeploymentCondition: same status and reason is no change; same status keeps lastTransitionTime */
  function setDeploymentCondition(
    conds: Condition[],
    c: Omit<Condition, "lastTransitionTime" | "lastUpdateTime">,
    nowIso: string,
  ): Condition[] {
    const i = conds.findIndex((x) => x.type === c.type);
    const prev = i >= 0 ? conds[i] : undefined;
    if (prev && prev.status === c.status && prev.reason === c.reason) return conds;
    const next: Condition = {
      ...c,
      lastUpdateTime: nowIso,
      lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : nowIso,
    };
    const out = [...conds];
    if (i >= 0) out[i] = next;
    else out.push(next);
    return out;
  }

  /** calculateStatus + syncRolloutStatus; returns ms until the progress deadline, if one is running */
  function syncStatus(
    d: KObject,
    newRS: KObject | undefined,
    all: KObject[],
    createdNew: boolean,
    now: number,
  ): number | undefined {
    const nowIso = timestamp(now);
    const fresh = all.map((rs) => store.get("apps/replicasets", rs.metadata.namespace, rs.metadata.name!) ?? rs);
    const freshNew = newRS
      ? (store.get("apps/replicasets", newRS.metadata.namespace, newRS.metadata.name!) ?? newRS)
      : undefined;
    const sum = (f: (rs: KObject) => number) => fresh.reduce((s, rs) => s + f(rs), 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const totalSpec = sum(replicas);
    const status: Record<string, any> = {
      observedGeneration: d.metadata.generation,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: freshNew?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, totalSpec - available),
    };
    omitZero(status);
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;

    let conds: Condition[] = d.status?.conditions ? [...d.status.conditions] : [];
    const minAvailable = available >= replicas(d) - maxUnavailableOf(d);
    conds = setDeploymentCondition(
      conds,
      minAvailable
        ? {
            type: "Available",
            status: "True",
            reason: "MinimumReplicasAvailable",
            message: "Deployment has minimum availability.",
          }
        : {
            type: "Available",
            status: "False",
            reason: "MinimumReplicasUnavailable",
            message: "Deployment does not have minimum availability.",
          },
      nowIso,
    );
    // ReplicaFailure is surfaced from the ReplicaSets (deployment's status mirrors the first failure)
    const failure = fresh.map((rs) => findCondition(rs, "ReplicaFailure")).find((c) => c?.status === "True");
    if (failure)
      conds = setDeploymentCondition(
        conds,
        { type: "ReplicaFailure", status: "True", reason: failure.reason, message: failure.message },
        nowIso,
      );
    else conds = removeCondition(conds, "ReplicaFailure") ?? [];

    let deadlineInMs: number | undefined;
    const deadline: number | undefined = d.spec?.progressDeadlineSeconds;
    const rsName = freshNew?.metadata.name;
    const msg = (text: string) =>
      rsName ? `ReplicaSet "${rsName}" ${text}` : `Deployment "${d.metadata.name}" ${text}`;
    if (createdNew && rsName)
      conds = setDeploymentCondition(
        conds,
        {
          type: "Progressing",
          status: "True",
          reason: "NewReplicaSetCreated",
          message: `Created new replica set "${rsName}"`,
        },
        nowIso,
      );
    else if (rsName && !conds.some((c) => c.type === "Progressing"))
      conds = setDeploymentCondition(
        conds,
        {
          type: "Progressing",
          status: "True",
          reason: "FoundNewReplicaSet",
          message: `Found new replica set "${rsName}"`,
        },
        nowIso,
      );
    // checkPausedConditions
    const current = conds.find((c) => c.type === "Progressing");
    if (d.spec?.paused && current?.reason !== "DeploymentPaused")
      conds = setDeploymentCondition(
        conds,
        { type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused" },
        nowIso,
      );
    else if (!d.spec?.paused && current?.reason === "DeploymentPaused")
      conds = setDeploymentCondition(
        conds,
        { type: "Progressing", status: "Unknown", reason: "DeploymentResumed", message: "Deployment is resumed" },
        nowIso,
      );

    if (deadline === undefined || deadline === 2147483647) conds = removeCondition(conds, "Progressing") ?? [];
    else if (!d.spec?.paused) {
      // syncRolloutStatus
      const spec = replicas(d);
      const old = d.status ?? {};
      const complete =
        (status.updatedReplicas ?? 0) === spec &&
        (status.replicas ?? 0) === spec &&
        (status.availableReplicas ?? 0) === spec &&
        (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
      const progressing =
        (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
        (status.replicas ?? 0) - (status.updatedReplicas ?? 0) < (old.replicas ?? 0) - (old.updatedReplicas ?? 0) ||
        (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
        (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
      const cur = conds.find((c) => c.type === "Progressing");
      const timedOut = (): boolean => {
        if (!cur) return false;
        if (cur.reason === "ProgressDeadlineExceeded") return true;
        if (cur.reason === "NewReplicaSetAvailable") return false;
        return now > (parseTime(cur.lastUpdateTime) ?? now) + deadline * 1000;
      };
      if (complete) {
        conds = setDeploymentCondition(
          conds,
          {
            type: "Progressing",
            status: "True",
            reason: "NewReplicaSetAvailable",
            message: msg("has successfully progressed."),
          },
          nowIso,
        );
      } else if (progressing) {
        // progress refreshes lastUpdateTime (the deadline clock) but not lastTransitionTime
        const next: Condition = {
          type: "Progressing",
          status: "True",
          reason: "ReplicaSetUpdated",
          message: msg("is progressing."),
          lastUpdateTime: nowIso,
          lastTransitionTime: cur?.status === "True" ? cur.lastTransitionTime : nowIso,
        };
        conds = [...conds.filter((c) => c.type !== "Progressing"), next];
      } else if (timedOut()) {
        conds = setDeploymentCondition(
          conds,
          {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: msg("has timed out progressing."),
          },
          nowIso,
        );
      }
      const after = conds.find((c) => c.type === "Progressing");
      if (!complete && after && after.reason !== "ProgressDeadlineExceeded") {
        deadlineInMs = Math.max(0, (parseTime(after.lastUpdateTime) ?? now) + deadline * 1000 - now) + 1000;
      }
    }
    // the order a real server reports them in: Available, Progressing, ReplicaFailure
    const order = ["Available", "Progressing", "ReplicaFailure"];
    conds.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
    if (conds.length) status.conditions = conds;

    store.mutate(
      "apps/deployments",
      d.metadata.namespace,
      d.metadata.name!,
      (o) => {
        if (o.metadata.uid !== d.metadata.uid) return false;
        o.status = status;
      },
      { subresource: "status", ...actor(COMPONENT) },
    );
    return deadlineInMs;
  }

  const queue = ctx.loop.queue("deployment", (key) => {
    const { namespace, name } = splitNsName(key);
    const d = store.get("apps/deployments", namespace, name);
    if (!d || isDeleting(d)) return;
    const now = ctx.now();
    const all = ownedReplicaSets(d);
    const paused = !!d.spec?.paused;

    let created = false;
    let newRS: KObject | undefined;
    let olds: KObject[];
    if (paused || (isScalingEvent(d, all) && !d.spec?.strategy?.type?.startsWith("Recreate"))) {
      // sync(): scale proportionally, never start a new rollout while paused
      newRS = newReplicaSet(d, all, false).rs;
      olds = all.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
      scale(d, newRS, olds);
      if (paused) cleanup(d, olds);
    } else {
      const found = newReplicaSet(d, all, true);
      newRS = found.rs!;
      created = found.created;
      olds = all.filter((rs) => rs.metadata.uid !== newRS!.metadata.uid);
      if (d.spec?.strategy?.type === "Recreate") rolloutRecreate(d, newRS, olds);
      else rolloutRolling(d, newRS, olds);
      const freshNew = store.get("apps/replicasets", newRS.metadata.namespace, newRS.metadata.name!) ?? newRS;
      if (
        replicas(freshNew) === replicas(d) &&
        (freshNew.status?.availableReplicas ?? 0) === replicas(d) &&
        olds.every(
          (rs) => replicas(store.get("apps/replicasets", rs.metadata.namespace, rs.metadata.name!) ?? rs) === 0,
        )
      )
        cleanup(
          d,
          olds.map((rs) => store.get("apps/replicasets", rs.metadata.namespace, rs.metadata.name!) ?? rs),
        );
    }
    // the Deployment carries its current revision, as kubectl rollout history shows it
    if (newRS) {
      const rev = store.get("apps/replicasets", newRS.metadata.namespace, newRS.metadata.name!)?.metadata.annotations?.[
        REVISION_ANNOTATION
      ];
      if (rev && d.metadata.annotations?.[REVISION_ANNOTATION] !== rev) {
        store.mutate(
          "apps/deployments",
          namespace,
          name,
          (o) => {
            o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [REVISION_ANNOTATION]: rev };
          },
          actor(COMPONENT),
        );
      }
    }
    const current = store.get("apps/deployments", namespace, name) ?? d;
    const liveAll = ownedReplicaSets(current);
    const deadline = syncStatus(current, newRS, liveAll, created, now);
    if (deadline !== undefined) return { requeueAfterMs: Math.max(0, deadline), settling: false };
  });

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "apps/deployments") queue.add(objKey(ev.object));
      else if (ev.key === "apps/replicasets") {
        const ref = controllerRef(ev.object) ?? (ev.old && controllerRef(ev.old));
        if (ref?.kind === "Deployment") queue.add(`${ev.object.metadata.namespace}/${ref.name}`);
      } else if (ev.key === "/pods" && ev.type === "DELETED") {
        // Recreate waits for old pods to be gone: their deletion may unblock the rollout
        const rsRef = controllerRef(ev.object);
        if (rsRef?.kind !== "ReplicaSet") return;
        const rs = store.get("apps/replicasets", ev.object.metadata.namespace, rsRef.name);
        const dRef = rs && controllerRef(rs);
        if (dRef?.kind === "Deployment" && rs?.metadata.uid === rsRef.uid)
          queue.add(`${ev.object.metadata.namespace}/${dRef.name}`);
      }
    },
  };
}
