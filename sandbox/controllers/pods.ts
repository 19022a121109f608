// Pod predicates the workload controllers share (k8s.io/kubernetes/pkg/api/v1/pod and controller utils).
import { isDeepStrictEqual } from "node:util";
import type { KObject, StoreEvent } from "../api/types.js";
import { findCondition, isDeleting, parseTime, creationMs } from "./meta.js";

export function podPhase(pod: KObject): string {
  return pod.status?.phase ?? "Pending";
}

export function isTerminal(pod: KObject): boolean {
  const p = podPhase(pod);
  return p === "Succeeded" || p === "Failed";
}

/** controller.IsPodActive: not finished and not being deleted */
export function isActive(pod: KObject): boolean {
  return !isTerminal(pod) && !isDeleting(pod);
}

export function isReady(pod: KObject): boolean {
  return findCondition(pod, "Ready")?.status === "True";
}

/** podutil.IsPodAvailable: Ready for at least minReadySeconds */
export function isAvailable(pod: KObject, minReadySeconds: number, nowMs: number): boolean {
  const ready = findCondition(pod, "Ready");
  if (ready?.status !== "True") return false;
  if (!minReadySeconds) return true;
  const since = parseTime(ready.lastTransitionTime) ?? 0;
  return since + minReadySeconds * 1000 <= nowMs;
}

/** ms until a Ready pod becomes available, or undefined when it is not Ready or already available */
export function msUntilAvailable(pod: KObject, minReadySeconds: number, nowMs: number): number | undefined {
  if (!minReadySeconds) return undefined;
  const ready = findCondition(pod, "Ready");
  if (ready?.status !== "True") return undefined;
  const at = (parseTime(ready.lastTransitionTime) ?? 0) + minReadySeconds * 1000;
  return at > nowMs ? at - nowMs : undefined;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(pod: KObject): number {
  let n = 0;
  for (const c of pod.status?.containerStatuses ?? []) n = Math.max(n, c.restartCount ?? 0);
  return n;
}

/**
 * controller.ActivePods ordering: the pods to delete first when scaling down come first —
 * unscheduled before scheduled, Pending before Running, not ready before ready,
 * ready for less time first, more restarts first, newer first.
 */
export function deletionOrder(a: KObject, b: KObject): number {
  const sa = a.spec?.nodeName ? 1 : 0;
  const sb = b.spec?.nodeName ? 1 : 0;
  if (sa !== sb) return sa - sb;
  const pa = PHASE_RANK[podPhase(a)] ?? 1;
  const pb = PHASE_RANK[podPhase(b)] ?? 1;
  if (pa !== pb) return pa - pb;
  const ra = isReady(a) ? 1 : 0;
  const rb = isReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  if (ra && rb) {
    const ta = parseTime(findCondition(a, "Ready")?.lastTransitionTime) ?? 0;
    const tb = parseTime(findCondition(b, "Ready")?.lastTransitionTime) ?? 0;
    if (ta !== tb) return tb - ta;
  }
  const xa = restarts(a);
  const xb = restarts(b);
  if (xa !== xb) return xb - xa;
  return creationMs(b) - creationMs(a);
}

/** The node a pod is bound or pinned to (DaemonSet pods are pinned by node affinity on metadata.name). */
export function podNode(pod: KObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/**
 * Event predicate for workload controllers: a pod change they must look at (creation, deletion,
 * phase, readiness, termination, labels, owners, binding) — not every kubelet status refresh.
 */
export function podChangeMatters(ev: StoreEvent): boolean {
  const prev = ev.old;
  const cur = ev.object;
  if (ev.type !== "MODIFIED" || !prev) return true;
  return (
    podPhase(prev) !== podPhase(cur) ||
    isReady(prev) !== isReady(cur) ||
    prev.metadata.deletionTimestamp !== cur.metadata.deletionTimestamp ||
    prev.spec?.nodeName !== cur.spec?.nodeName ||
    !isDeepStrictEqual(prev.metadata.labels, cur.metadata.labels) ||
    !isDeepStrictEqual(prev.metadata.ownerReferences, cur.metadata.ownerReferences)
  );
}
