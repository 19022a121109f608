// The health gate of a wave, pure over the objects as the API serves them: every workload rolled out
// (the rules of `kubectl rollout status`), every pod Ready for minReadySeconds, no container restarted
// or in CrashLoopBackOff since the wave began, every proxy injected by the target revision and (with
// syncz) connected to its istiod, and the target istiod's xDS rejects not rising. A failure names the
// workload and the reason; Waiting lists what is still missing.
import { selectorMatches } from "../../mesh/selectors.js";
import { readProxy } from "../../mesh/proxies.js";
import type { LabelSelectorLike, ObjectMetaLike, PodSpecLike } from "../../mesh/kube-types.js";
import type { HealthVerdict } from "./status.js";

export const HEALTH_GATE_KINDS = ["Deployment", "StatefulSet", "DaemonSet"] as const;

export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
}

interface ConditionLike {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** A Deployment, StatefulSet or DaemonSet as served (the fields the gate reads). */
export interface GateWorkload {
  kind?: string;
  metadata?: ObjectMetaLike & { generation?: number };
  spec?: {
    replicas?: number;
    selector?: LabelSelectorLike;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    conditions?: ConditionLike[];
  };
}

interface ContainerStatusLike {
  name: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; running?: unknown; terminated?: unknown };
  lastState?: { terminated?: { finishedAt?: string; reason?: string; exitCode?: number } };
}

export interface GatePod {
  metadata?: ObjectMetaLike;
  spec?: PodSpecLike;
  status?: {
    phase?: string;
    conditions?: ConditionLike[];
    containerStatuses?: ContainerStatusLike[];
    initContainerStatuses?: ContainerStatusLike[];
  };
}

export interface HealthInput {
  /** the wave's workloads as read now (kind set on each) */
  workloads: GateWorkload[];
  /** workloads of the wave's plan that no longer exist */
  missing?: WorkloadRef[];
  /** pods of the wave's namespaces */
  pods: GatePod[];
  /** when the wave began (epoch ms): restarts after it count */
  waveStartedAtMs: number;
  targetRevision: string;
  minReadySeconds: number;
  now: number;
  /** proxies connected to the target revision's istiod (its /debug/syncz ids); undefined: not asked */
  syncz?: { proxy: string }[];
  /** sum of pilot_total_xds_rejects of the target istiod when the wave began, and now */
  xdsRejects?: { before: number; now: number };
}

export interface WorkloadHealth {
  workload: WorkloadRef;
  verdict: HealthVerdict;
  rolledOut: boolean;
  reasons: string[];
}

export interface HealthResult {
  verdict: HealthVerdict;
  /** every workload's rollout is complete (pods may still be short of minReadySeconds) */
  rolledOut: boolean;
  workloads: WorkloadHealth[];
  /** failures first, then what is still awaited, each naming its workload */
  reasons: string[];
  /** when waiting only for minReadySeconds: the time the last pod reaches it (epoch ms) */
  recheckAtMs?: number;
  /** facts that are neither failures nor waits (e.g. a workload deleted during the wave) */
  notes: string[];
}

export function workloadId(w: WorkloadRef): string {
  return `${w.namespace}/${w.kind}/${w.name}`;
}

const ms = (t: string | Date | undefined) => (t === undefined ? NaN : t instanceof Date ? t.getTime() : Date.parse(t));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Rollout progress as `kubectl rollout status` judges it (kubectl/pkg/polymorphichelpers/rollout_status.go). */
function rolloutProgress(w: GateWorkload): { done: boolean; failure?: string; waiting?: string } {
  const generation = w.metadata?.generation ?? 0;
  const st = w.status ?? {};
  if ((st.observedGeneration ?? 0) < generation)
    return { done: false, waiting: "the controller has not observed the latest spec yet" };
  switch (w.kind) {
    case "Deployment": {
      const progressing = st.conditions?.find((c) => c.type === "Progressing");
      if (progressing?.reason === "ProgressDeadlineExceeded") {
        return {
          done: false,
          failure:
            `rollout exceeded its progress deadline (ProgressDeadlineExceeded: ${progressing.message ?? ""})`.replace(
              /: \)$/,
              ")",
            ),
        };
      }
      const desired = w.spec?.replicas ?? 1;
      const updated = st.updatedReplicas ?? 0;
      if (updated < desired) return { done: false, waiting: `${updated} of ${desired} replicas updated` };
      if ((st.replicas ?? 0) > updated)
        return { done: false, waiting: `${plural((st.replicas ?? 0) - updated, "old replica")} pending termination` };
      if ((st.availableReplicas ?? 0) < updated)
        return { done: false, waiting: `${st.availableReplicas ?? 0} of ${updated} updated replicas available` };
      return { done: true };
    }
    case "StatefulSet": {
      const desired = w.spec?.replicas ?? 1;
      if ((st.readyReplicas ?? 0) < desired)
        return { done: false, waiting: `${st.readyReplicas ?? 0} of ${desired} replicas ready` };
      if (w.spec?.updateStrategy?.type === "OnDelete") return { done: true };
      const partition = w.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
      if (partition > 0) {
        const wanted = desired - partition;
        return (st.updatedReplicas ?? 0) < wanted
          ? {
              done: false,
              waiting: `${st.updatedReplicas ?? 0} of ${wanted} replicas above partition ${partition} updated`,
            }
          : { done: true };
      }
      if (st.updateRevision && st.currentRevision !== st.updateRevision) {
        return {
          done: false,
          waiting: `${st.updatedReplicas ?? 0} of ${desired} replicas on revision ${st.updateRevision}`,
        };
      }
      return { done: true };
    }
    case "DaemonSet": {
      const desired = st.desiredNumberScheduled ?? 0;
      if ((st.updatedNumberScheduled ?? 0) < desired)
        return { done: false, waiting: `${st.updatedNumberScheduled ?? 0} of ${desired} pods updated` };
      if ((st.numberAvailable ?? 0) < desired)
        return { done: false, waiting: `${st.numberAvailable ?? 0} of ${desired} updated pods available` };
      return { done: true };
    }
    default:
      return { done: true };
  }
}

function desiredPods(w: GateWorkload): number {
  return w.kind === "DaemonSet" ? (w.status?.desiredNumberScheduled ?? 0) : (w.spec?.replicas ?? 1);
}

function readySinceMs(pod: GatePod): number | null {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status !== "True") return null;
  const t = ms(ready.lastTransitionTime);
  return Number.isFinite(t) ? t : 0;
}

/** A container's restarts since the wave began: all of them for a pod created after it, else those that ended after it. */
function restartsSinceWave(pod: GatePod, c: ContainerStatusLike, waveStartedAtMs: number): number {
  const created = ms(pod.metadata?.creationTimestamp);
  const count = c.restartCount ?? 0;
  if (Number.isFinite(created) && created >= waveStartedAtMs) return count;
  const finished = ms(c.lastState?.terminated?.finishedAt);
  return Number.isFinite(finished) && finished >= waveStartedAtMs ? Math.max(1, count) : 0;
}

/** syncz ids are "<pod>.<namespace>" or full node ids "sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local". */
function synczKey(proxy: string): string {
  return proxy.includes("~") ? (proxy.split("~")[2] ?? proxy) : proxy;
}

function isLive(pod: GatePod): boolean {
  // terminating pods are on their way out; Succeeded/Failed pods hold no running proxy (sail-operator#2100)
  return !pod.metadata?.deletionTimestamp && pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed";
}

function workloadHealth(
  w: GateWorkload,
  input: HealthInput,
  pods: GatePod[],
  connected: Set<string> | null,
): WorkloadHealth & { recheckAtMs?: number } {
  const ref: WorkloadRef = { kind: w.kind ?? "", namespace: w.metadata?.namespace ?? "", name: w.metadata?.name ?? "" };
  const failures: string[] = [];
  const waiting: string[] = [];
  let recheckAtMs: number | undefined;
  let minReadyWaits = 0;
  const rollout = rolloutProgress(w);
  if (rollout.failure) failures.push(rollout.failure);
  if (rollout.waiting) waiting.push(`rolling out: ${rollout.waiting}`);

  const selector = w.spec?.selector;
  const mine = selector
    ? pods.filter(
        (p) =>
          p.metadata?.namespace === ref.namespace && isLive(p) && selectorMatches(selector, p.metadata?.labels ?? {}),
      )
    : [];
  // one line per container name: the pod that restarted most speaks for the others
  const restarted = new Map<string, { pod: string; restarts: number; backOff: boolean; pods: number }>();
  for (const pod of mine) {
    const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
    for (const c of statuses) {
      const restarts = restartsSinceWave(pod, c, input.waveStartedAtMs);
      const backOff = c.state?.waiting?.reason === "CrashLoopBackOff";
      if (restarts === 0 && !backOff) continue;
      const seen = restarted.get(c.name);
      const pods = (seen?.pods ?? 0) + 1;
      if (!seen || restarts > seen.restarts)
        restarted.set(c.name, { pod: pod.metadata?.name ?? "", restarts, backOff: backOff || !!seen?.backOff, pods });
      else restarted.set(c.name, { ...seen, backOff: seen.backOff || backOff, pods });
    }
  }
  for (const [container, r] of restarted) {
    failures.push(
      `container ${container} ${r.restarts > 0 ? `restarted ${plural(r.restarts, "time")} since the wave began` : "is waiting to restart"}${r.backOff ? " (CrashLoopBackOff)" : ""} (pod ${r.pod}${r.pods > 1 ? ` and ${plural(r.pods - 1, "other pod")}` : ""})`,
    );
  }
  for (const pod of mine) {
    const name = pod.metadata?.name ?? "";
    const proxy = readProxy(pod.metadata, pod.spec, (tag) => tag);
    if (!proxy) {
      // after the rollout this pod came from the new template: the webhook did not inject it
      (rollout.done ? failures : waiting).push(
        `pod ${name} has no istio-proxy container${rollout.done ? " — injection did not happen; check the namespace's istio-injection / istio.io/rev labels" : ""}`,
      );
    } else if (proxy.revision !== input.targetRevision) {
      (rollout.done ? failures : waiting).push(
        `pod ${name} runs a proxy of revision ${proxy.revision ?? "unknown"}, not ${input.targetRevision}${rollout.done ? " — the namespace or a pod label still selects the old revision" : ""}`,
      );
    } else if (connected && !connected.has(`${name}.${ref.namespace}`)) {
      waiting.push(`pod ${name}'s proxy is not connected to istiod ${input.targetRevision} (syncz)`);
    }
    const since = readySinceMs(pod);
    if (since === null) waiting.push(`pod ${name} is not Ready`);
    else if (input.now - since < input.minReadySeconds * 1000) {
      const at = since + input.minReadySeconds * 1000;
      waiting.push(
        `pod ${name} Ready for ${Math.floor((input.now - since) / 1000)}s of minReadySeconds ${input.minReadySeconds}`,
      );
      recheckAtMs = Math.max(recheckAtMs ?? 0, at);
      minReadyWaits++;
    }
  }
  if (!selector) failures.push("has no pod selector");
  else if (rollout.done && mine.length === 0 && desiredPods(w) > 0) waiting.push("no pods match its selector yet");
  const verdict: HealthVerdict = failures.length ? "Fail" : waiting.length ? "Waiting" : "Pass";
  return {
    workload: ref,
    verdict,
    rolledOut: rollout.done,
    reasons: [...failures, ...waiting].map((r) => `${workloadId(ref)}: ${r}`),
    // a recheck time only when nothing but minReadySeconds is awaited: anything else is polled
    ...(recheckAtMs !== undefined && minReadyWaits === waiting.length ? { recheckAtMs } : {}),
  };
}

/** The health gate's verdict for a wave at `input.now`. */
export function evaluateHealth(input: HealthInput): HealthResult {
  const connected = input.syncz ? new Set(input.syncz.map((e) => synczKey(e.proxy))) : null;
  const results = input.workloads.map((w) => workloadHealth(w, input, input.pods, connected));
  const failures = results.filter((r) => r.verdict === "Fail").flatMap((r) => r.reasons);
  const reasons: string[] = [];
  if (input.xdsRejects) {
    const { before, now } = input.xdsRejects;
    // a counter that went down was reset (istiod restarted): everything it shows now is new
    const rose = now >= before ? now - before : now;
    if (rose > 0) {
      reasons.push(
        `istiod ${input.targetRevision}: pilot_total_xds_rejects rose by ${Math.round(rose * 1000) / 1000} since the wave began — proxies rejected its configuration (see istioctl proxy-status and istiod's logs)`,
      );
    }
  }
  const xdsFailed = reasons.length > 0;
  reasons.push(...failures);
  for (const r of results) if (r.verdict === "Waiting") reasons.push(...r.reasons);
  const verdict: HealthVerdict =
    xdsFailed || failures.length ? "Fail" : results.some((r) => r.verdict === "Waiting") ? "Waiting" : "Pass";
  const onlyMinReady =
    verdict === "Waiting" && results.every((r) => r.verdict === "Pass" || r.recheckAtMs !== undefined);
  const recheckAtMs = onlyMinReady ? Math.max(...results.map((r) => r.recheckAtMs ?? 0)) : undefined;
  return {
    verdict,
    rolledOut: results.every((r) => r.rolledOut),
    workloads: results.map(({ recheckAtMs: _r, ...w }) => w),
    reasons,
    ...(recheckAtMs !== undefined ? { recheckAtMs } : {}),
    notes: (input.missing ?? []).map((m) => `${workloadId(m)}: no longer exists — skipped`),
  };
}
