// The ReplicaSet controller: keep spec.replicas active pods (create from the template with a
// controller ownerReference, delete the least valuable first), adopt matching orphans, record
// admission failures as FailedCreate + ReplicaFailure and retry with backoff, report status.
import { ApiError, type KObject, type StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import {
  type Condition,
  controllerRef,
  isDeleting,
  objKey,
  omitZero,
  ownerRefTo,
  randomSuffix,
  removeCondition,
  selectorMatches,
  setCondition,
  splitNsName,
  timestamp,
  clone,
} from "./meta.js";
import { deletionOrder, isActive, isAvailable, isReady, msUntilAvailable, podChangeMatters } from "./pods.js";

const COMPONENT = "replicaset-controller";
/** controller.SlowStartInitialBatchSize: creations go in batches of 1, 2, 4… and stop at the first error */
const SLOW_START_INITIAL_BATCH = 1;
/** the most pods one reconcile creates or deletes (the real controller's burstReplicas) */
const BURST_REPLICAS = 500;

export interface PodTemplateOwner {
  owner: KObject;
  ownerApiVersion: string;
  ownerKind: string;
  template: any;
  /** extra labels (e.g. controller-revision-hash) */
  labels?: Record<string, string>;
  name: string;
  extraSpec?: Record<string, unknown>;
}

/** A pod as a workload controller creates it from its template. */
export function podFromTemplate(t: PodTemplateOwner): KObject {
  const tpl = t.template ?? {};
  const meta = tpl.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: t.name,
      namespace: t.owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}), ...(t.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [ownerRefTo(t.owner, t.ownerApiVersion, t.ownerKind)],
    },
    spec: { ...clone(tpl.spec ?? {}), ...(t.extraSpec ?? {}) },
  };
}

/** The message an ApiError carries into FailedCreate events, as client-go formats it. */
export function createErrorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export function replicaSetController(ctx: ControllerContext): Controller {
  const { store, index, events } = ctx;
  const failures = new Map<string, { count: number; retryAt: number }>(); // consecutive create failures per RS

  function ownedPods(rs: KObject): KObject[] {
    const out: KObject[] = [];
    for (const ref of index.dependents(rs.metadata.uid!)) {
      if (ref.key !== "/pods") continue;
      const pod = store.get("/pods", ref.namespace, ref.name);
      if (pod && controllerRef(pod)?.uid === rs.metadata.uid) out.push(pod);
    }
    return out;
  }

  /** ControllerRefManager: adopt orphans that match the selector, release owned pods that no longer match. */
  function adoptAndRelease(rs: KObject, pods: KObject[]): KObject[] {
    const ns = rs.metadata.namespace!;
    const selector = rs.spec?.selector;
    const kept: KObject[] = [];
    for (const pod of pods) {
      if (selectorMatches(selector, pod.metadata.labels)) {
        kept.push(pod);
        continue;
      }
      store.mutate(
        "/pods",
        ns,
        pod.metadata.name!,
        (p) => {
          p.metadata.ownerReferences = (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid);
          if (p.metadata.ownerReferences.length === 0) delete p.metadata.ownerReferences;
        },
        actor(COMPONENT),
      );
    }
    if (isDeleting(rs)) return kept;
    for (const name of index.orphanPods(ns)) {
      const pod = store.get("/pods", ns, name);
      if (!pod || controllerRef(pod) || isDeleting(pod) || !selectorMatches(selector, pod.metadata.labels)) continue;
      const adopted = store.mutate(
        "/pods",
        ns,
        name,
        (p) => {
          if (controllerRef(p)) return false;
          p.metadata.ownerReferences = [...(p.metadata.ownerReferences ?? []), ownerRefTo(rs, "apps/v1", "ReplicaSet")];
        },
        actor(COMPONENT),
      );
      if (adopted && controllerRef(adopted)?.uid === rs.metadata.uid) kept.push(adopted);
    }
    return kept;
  }

  const queue = ctx.loop.queue("replicaset", (key) => {
    const { namespace, name } = splitNsName(key);
    const rs = store.get("apps/replicasets", namespace, name);
    if (!rs) {
      failures.delete(key);
      return;
    }
    const now = ctx.now();
    const pods = adoptAndRelease(rs, ownedPods(rs));
    const active = pods.filter(isActive);
    const wanted: number = rs.spec?.replicas ?? 1;
    let createError: string | undefined;
    let result: { requeueAfterMs: number; settling: boolean } | undefined;

    if (!isDeleting(rs)) {
      const diff = active.length - wanted;
      const backoff = failures.get(key);
      if (diff < 0 && backoff && now < backoff.retryAt) {
        // still backing off after a failed create: other events do not shorten the wait
        result = { requeueAfterMs: backoff.retryAt - now, settling: false };
      } else if (diff < 0) {
        const toCreate = Math.min(-diff, BURST_REPLICAS);
        let created = 0;
        // slow start: batches of 1, 2, 4… so a failing webhook costs one error, not a storm
        for (let batch = SLOW_START_INITIAL_BATCH; created < toCreate && !createError; batch *= 2) {
          const n = Math.min(batch, toCreate - created);
          for (let i = 0; i < n; i++) {
            const podName = `${name}-${randomSuffix()}`;
            try {
              const pod = store.create(
                "/pods",
                podFromTemplate({
                  owner: rs,
                  ownerApiVersion: "apps/v1",
                  ownerKind: "ReplicaSet",
                  template: rs.spec.template,
                  name: podName,
                }),
                actor(COMPONENT),
              );
              created++;
              events.record(rs, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`, COMPONENT);
            } catch (err) {
              if (err instanceof ApiError && err.code === 409 && err.reason === "AlreadyExists") continue; // name clash: next pass
              createError = createErrorMessage(err);
              events.record(rs, "Warning", "FailedCreate", `Error creating: ${createError}`, COMPONENT);
              break;
            }
          }
        }
        if (createError) {
          const count = (failures.get(key)?.count ?? 0) + 1;
          // the workqueue's exponential per-item backoff (5ms doubling, capped)
          const wait = Math.min(10_000, 5 * 2 ** Math.min(count, 12));
          failures.set(key, { count, retryAt: now + wait });
          result = { requeueAfterMs: wait, settling: false };
        } else failures.delete(key);
      } else if (diff > 0) {
        const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, BURST_REPLICAS));
        for (const pod of victims) {
          try {
            store.delete("/pods", namespace, pod.metadata.name!, {
              preconditions: { uid: pod.metadata.uid },
              actor: actor(COMPONENT).actor,
            });
            events.record(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`, COMPONENT);
          } catch (err) {
            if (!(err instanceof ApiError && err.code === 404)) throw err;
          }
        }
        failures.delete(key);
      } else failures.delete(key);
    }

    // status from the pods as they are now (after this pass's creates and deletes)
    const current = ownedPods(rs).filter(isActive);
    const minReady: number = rs.spec?.minReadySeconds ?? 0;
    const templateLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
    let ready = 0;
    let available = 0;
    let fullyLabeled = 0;
    for (const p of current) {
      if (Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)) fullyLabeled++;
      if (isReady(p)) ready++;
      if (isAvailable(p, minReady, now)) available++;
      else {
        const wait = msUntilAvailable(p, minReady, now);
        if (wait !== undefined && (!result || wait < result.requeueAfterMs))
          result = { requeueAfterMs: wait + 5, settling: true };
      }
    }
    store.mutate(
      "apps/replicasets",
      namespace,
      name,
      (o) => {
        const nowIso = timestamp(now);
        let conditions: Condition[] | undefined = o.status?.conditions;
        if (createError)
          conditions = setCondition(
            conditions,
            { type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: createError },
            nowIso,
          );
        else if (!isDeleting(o) && current.length >= wanted) conditions = removeCondition(conditions, "ReplicaFailure");
        const status: Record<string, unknown> = omitZero({
          replicas: current.length,
          fullyLabeledReplicas: fullyLabeled,
          readyReplicas: ready,
          availableReplicas: available,
          observedGeneration: o.metadata.generation,
        });
        status.replicas = current.length;
        if (conditions?.length) status.conditions = conditions;
        o.status = status;
      },
      { subresource: "status", ...actor(COMPONENT) },
    );
    return result;
  });

  function enqueueOwner(pod: KObject | undefined): void {
    const ref = pod && controllerRef(pod);
    if (ref?.kind === "ReplicaSet") queue.add(`${pod!.metadata.namespace}/${ref.name}`);
  }

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "apps/replicasets") queue.add(objKey(ev.object));
      else if (ev.key === "/pods") {
        if (!podChangeMatters(ev)) return;
        enqueueOwner(ev.object);
        if (ev.old && controllerRef(ev.old)?.uid !== controllerRef(ev.object)?.uid) enqueueOwner(ev.old);
      }
    },
  };
}
