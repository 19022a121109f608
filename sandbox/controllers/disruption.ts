// The disruption controller (PodDisruptionBudget status) and the eviction rule the API server applies
// (k8s.io/kubernetes/pkg/registry/core/pod/storage/eviction.go), as a pure function for the
// eviction endpoint.
import type { KObject, StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import {
  controllerRef,
  deepEqual,
  objKey,
  parseTime,
  scaledValue,
  selectorMatches,
  setCondition,
  splitNsName,
  timestamp,
  type Condition,
} from "./meta.js";
import { isReady, isTerminal } from "./pods.js";

const COMPONENT = "disruption-controller";
/** how long an eviction the controller has not seen complete still counts (DeletionTimeout) */
const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** the top-level message of the 429 an eviction gets when a budget forbids it */
export const EVICTION_REFUSED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";

export type EvictionDecision =
  | { allowed: true; pdb?: string }
  | {
      allowed: false;
      /** the PodDisruptionBudget that refused it */
      pdb: string;
      /** the message of the `DisruptionBudget` cause (details.causes[0].message) */
      message: string;
      /** 429 TooManyRequests (budget exhausted or not yet processed), 500 (several budgets), 403 (negative budget) */
      code: 429 | 500 | 403;
    };

/**
 * Whether the eviction API may evict `pod` given the budgets of its namespace (as the API server decides).
 * When allowed with a `pdb`, the caller must call recordEviction() on that budget before deleting the pod.
 */
export function evictionAllowed(pdbs: KObject[], pod: KObject): EvictionDecision {
  // canIgnorePDB: finished, pending or already terminating pods never count against a budget
  const phase = pod.status?.phase ?? "Pending";
  if (isTerminal(pod) || phase === "Pending" || pod.metadata.deletionTimestamp) return { allowed: true };
  const matching = pdbs.filter(
    (p) => p.metadata.namespace === pod.metadata.namespace && selectorMatches(p.spec?.selector, pod.metadata.labels),
  );
  if (matching.length === 0) return { allowed: true };
  if (matching.length > 1)
    return {
      allowed: false,
      pdb: matching.map((p) => p.metadata.name).join(","),
      code: 500,
      message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    };
  const pdb = matching[0];
  const name = pdb.metadata.name!;
  const st = pdb.status ?? {};
  const currentHealthy: number = st.currentHealthy ?? 0;
  const desiredHealthy: number = st.desiredHealthy ?? 0;
  if (!isReady(pod)) {
    // unhealthyPodEvictionPolicy: IfHealthyBudget (default) lets unready pods go while the budget holds
    if (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") return { allowed: true };
    if (currentHealthy >= desiredHealthy && desiredHealthy > 0) return { allowed: true };
  }
  if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0))
    return {
      allowed: false,
      pdb: name,
      code: 429,
      message: `The disruption budget ${name} is still being processed by the server.`,
    };
  const allowedDisruptions: number = st.disruptionsAllowed ?? 0;
  if (allowedDisruptions < 0)
    return { allowed: false, pdb: name, code: 403, message: "pdb disruptions allowed is negative" };
  if (allowedDisruptions === 0)
    return {
      allowed: false,
      pdb: name,
      code: 429,
      message: `The disruption budget ${name} needs ${desiredHealthy} healthy pods and has ${currentHealthy} currently`,
    };
  return { allowed: true, pdb: name };
}

/** What the eviction registry writes to the budget's status before deleting the pod (in place). */
export function recordEviction(pdb: KObject, podName: string, nowMs: number): void {
  pdb.status ??= {};
  pdb.status.disruptionsAllowed = Math.max(0, (pdb.status.disruptionsAllowed ?? 0) - 1);
  pdb.status.disruptedPods = { ...(pdb.status.disruptedPods ?? {}), [podName]: timestamp(nowMs) };
}

export function disruptionController(ctx: ControllerContext): Controller {
  const { store, index } = ctx;

  /** getExpectedScale: the replicas the pods' controllers want (Deployment over its ReplicaSet) */
  function expectedScale(pods: KObject[]): number {
    const seen = new Map<string, number>();
    let uncontrolled = 0;
    for (const pod of pods) {
      const ref = controllerRef(pod);
      if (!ref) {
        uncontrolled++;
        continue;
      }
      if (seen.has(ref.uid)) continue;
      const ns = pod.metadata.namespace;
      let scale: number | undefined;
      if (ref.kind === "ReplicaSet") {
        const rs = store.get("apps/replicasets", ns, ref.name);
        const dRef = rs && controllerRef(rs);
        const d = dRef?.kind === "Deployment" ? store.get("apps/deployments", ns, dRef.name) : undefined;
        if (d) {
          if (seen.has(d.metadata.uid!)) {
            seen.set(ref.uid, 0);
            continue;
          }
          seen.set(d.metadata.uid!, 0);
          scale = d.spec?.replicas ?? 1;
        } else scale = rs?.spec?.replicas;
      } else if (ref.kind === "StatefulSet") scale = store.get("apps/statefulsets", ns, ref.name)?.spec?.replicas;
      else if (ref.kind === "ReplicationController")
        scale = store.get("/replicationcontrollers", ns, ref.name)?.spec?.replicas;
      seen.set(ref.uid, scale ?? 0);
      // controllers without a scale (DaemonSet, Job) count their pods
      if (scale === undefined) uncontrolled += pods.filter((p) => controllerRef(p)?.uid === ref.uid).length;
    }
    return [...seen.values()].reduce((s, n) => s + n, 0) + uncontrolled;
  }

  const queue = ctx.loop.queue("disruption", (key) => {
    const { namespace, name } = splitNsName(key);
    const pdb = store.get("policy/poddisruptionbudgets", namespace, name);
    if (!pdb) return;
    const now = ctx.now();
    const pods: KObject[] = [];
    for (const n of index.names("/pods", namespace)) {
      const p = store.get("/pods", namespace, n);
      if (p && selectorMatches(pdb.spec?.selector, p.metadata.labels)) pods.push(p);
    }
    const spec = pdb.spec ?? {};
    let expected: number;
    let desired: number;
    if (spec.maxUnavailable !== undefined) {
      expected = expectedScale(pods);
      desired = Math.max(0, expected - scaledValue(spec.maxUnavailable, expected, true, 0));
    } else if (typeof spec.minAvailable === "string" && spec.minAvailable.endsWith("%")) {
      expected = expectedScale(pods);
      desired = scaledValue(spec.minAvailable, expected, true, 0);
    } else {
      expected = pods.length;
      desired = scaledValue(spec.minAvailable, expected, true, 0);
    }
    // evictions the API server granted that have not yet turned into a deleted pod
    const disrupted: Record<string, string> = {};
    let nextExpiry: number | undefined;
    for (const [podName, at] of Object.entries<string>(pdb.status?.disruptedPods ?? {})) {
      const pod = pods.find((p) => p.metadata.name === podName);
      const since = parseTime(at) ?? now;
      if (!pod || pod.metadata.deletionTimestamp || since + DELETION_TIMEOUT_MS <= now) continue;
      disrupted[podName] = at;
      nextExpiry = Math.min(nextExpiry ?? Infinity, since + DELETION_TIMEOUT_MS - now);
    }
    const healthy = pods.filter(
      (p) => !p.metadata.deletionTimestamp && isReady(p) && !(p.metadata.name! in disrupted),
    ).length;
    let allowed = healthy - desired;
    if (expected <= 0 || allowed <= 0) allowed = 0;
    store.mutate(
      "policy/poddisruptionbudgets",
      namespace,
      name,
      (o) => {
        const conds: Condition[] = setCondition(
          o.status?.conditions,
          allowed > 0
            ? {
                type: "DisruptionAllowed",
                status: "True",
                reason: "SufficientPods",
                message: "",
                observedGeneration: o.metadata.generation,
              }
            : {
                type: "DisruptionAllowed",
                status: "False",
                reason: "InsufficientPods",
                message: "",
                observedGeneration: o.metadata.generation,
              },
          timestamp(now),
        );
        o.status = {
          observedGeneration: o.metadata.generation,
          ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
          disruptionsAllowed: allowed,
          currentHealthy: healthy,
          desiredHealthy: desired,
          expectedPods: expected,
          conditions: conds,
        };
      },
      { subresource: "status", ...actor(COMPONENT) },
    );
    if (nextExpiry !== undefined) return { requeueAfterMs: nextExpiry, settling: false };
  });

  function budgetsFor(pod: KObject | undefined): void {
    if (!pod) return;
    const ns = pod.metadata.namespace!;
    for (const n of index.names("policy/poddisruptionbudgets", ns)) {
      const pdb = store.get("policy/poddisruptionbudgets", ns, n);
      if (pdb && selectorMatches(pdb.spec?.selector, pod.metadata.labels)) queue.add(`${ns}/${n}`);
    }
  }

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "policy/poddisruptionbudgets") {
        if (ev.type !== "DELETED") queue.add(objKey(ev.object));
      } else if (ev.key === "/pods") {
        const o = ev.object;
        const prev = ev.old;
        if (
          prev &&
          ev.type === "MODIFIED" &&
          isReady(prev) === isReady(o) &&
          !!prev.metadata.deletionTimestamp === !!o.metadata.deletionTimestamp &&
          deepEqual(prev.metadata.labels, o.metadata.labels)
        )
          return;
        budgetsFor(o);
        if (prev && !deepEqual(prev.metadata.labels, o.metadata.labels)) budgetsFor(prev);
      } else if (ev.key === "apps/deployments" || ev.key === "apps/statefulsets" || ev.key === "apps/replicasets") {
        if (ev.old && ev.old.spec?.replicas === ev.object.spec?.replicas) return;
        // a scale change moves expectedPods: every budget of the namespace looks again (few per namespace)
        for (const n of index.names("policy/poddisruptionbudgets", ev.object.metadata.namespace))
          queue.add(`${ev.object.metadata.namespace}/${n}`);
      }
    },
  };
}
