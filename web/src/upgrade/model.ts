// The Upgrade page's reading of a MeshUpgrade status (src/upgrade/api/schema.ts): the pipeline's steps,
// one row per wave, namespace and workload, the gates and the history. Pure functions over the object
// the live stream delivers; the page renders what they return.
import type { MeshUpgradeObject } from "../../../src/server/api-types.js";

export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
}

export interface WorkloadProgress extends WorkloadRef {
  wave: number;
  state: string;
  ready?: string;
  message?: string;
  restartedAt?: string;
}

export interface NamespaceProgress {
  name: string;
  wave: number;
  state: string;
  proxies: { old: number; new: number; none: number };
}

export interface Measurement {
  check: string;
  value: number | null;
  verdict: string;
  at?: string;
  message?: string;
  dryRun?: boolean;
}

export interface GateStatus {
  wave: number;
  startedAt: string;
  health?: { verdict: string; at: string; reasons: string[] };
  measurements: Measurement[];
  phase: string;
  failedChecks: string[];
  message: string;
  finishedAt?: string;
}

export interface HistoryEntry {
  time: string;
  actor?: string;
  action: string;
  target?: { kind: string; namespace?: string; name: string };
  targets?: { kind: string; namespace?: string; name: string }[];
  reason: string;
  outcome?: string;
  measurements?: Measurement[];
}

/** Workload states in which the upgrade has moved it (or it needs no move). */
const MOVED = new Set(["RolledOut", "Verified", "Skipped"]);
export const TERMINAL = ["Completed", "RolledBack", "Failed"];
const CANCEL_PATH = ["RollingBack", "NewControlPlaneOffline", "RolledBack"];

export function stageOf(u: MeshUpgradeObject): string {
  return String(u.status?.stage ?? "Pending");
}

export function revisions(u: MeshUpgradeObject): { from: string; to: string } {
  return {
    from: u.status?.from?.revision ?? u.spec.from ?? "the source revision",
    to: u.status?.to?.revision ?? u.spec.to?.revision ?? `Istio ${u.spec.to?.version ?? "?"}`,
  };
}

export type StepState = "done" | "current" | "paused" | "failed" | "pending" | "skipped";

export interface PipelineStep {
  stage: string;
  label: string;
  state: StepState;
}

const FORWARD: { stage: string; label: string }[] = [
  { stage: "Prechecking", label: "Prechecks" },
  { stage: "ControlPlaneUpgrade", label: "Control plane" },
  { stage: "DataPlaneUpgrade", label: "Data plane" },
  { stage: "OldControlPlaneOffline", label: "Old control plane offline" },
];
const BACK: { stage: string; label: string }[] = [
  { stage: "RollingBack", label: "Rolling back" },
  { stage: "NewControlPlaneOffline", label: "New control plane offline" },
  { stage: "RolledBack", label: "Rolled back" },
];

/**
 * The three stages forward (after the prechecks) and the cancel path: where the upgrade stands, what is
 * done, what was abandoned when it turned back.
 */
export function pipelineOf(u: MeshUpgradeObject): {
  forward: PipelineStep[];
  back: PipelineStep[];
  cancelled: boolean;
} {
  const stage = stageOf(u);
  const cancelled = CANCEL_PATH.includes(stage);
  const forwardIndex = (s: string) => {
    if (s === "Pending" || s === "Prechecking") return 0;
    const i = FORWARD.findIndex((f) => f.stage === s);
    return i >= 0 ? i : s === "Completed" ? FORWARD.length : -1;
  };
  let at: number;
  let state: StepState = "current";
  if (stage === "Paused") {
    at = forwardIndex(String(u.status?.pausedFrom ?? "DataPlaneUpgrade"));
    state = "paused";
  } else if (stage === "Failed") {
    // the engine fails an upgrade only before it changes anything: its spec or prechecks were refused
    at = 0;
    state = "failed";
  } else if (cancelled) {
    at = forwardIndex(String(u.status?.rollback?.from ?? "DataPlaneUpgrade"));
    if (at < 0) at = 2;
  } else at = forwardIndex(stage);
  const forward = FORWARD.map((f, i): PipelineStep => {
    if (i < at) return { ...f, state: "done" };
    if (i === at) return { ...f, state: cancelled ? "skipped" : state };
    return { ...f, state: cancelled ? "skipped" : "pending" };
  });
  const backAt = BACK.findIndex((b) => b.stage === stage);
  const back = BACK.map((b, i): PipelineStep => {
    if (!cancelled) return { ...b, state: "pending" };
    if (i < backAt) return { ...b, state: "done" };
    if (i === backAt) return { ...b, state: stage === "RolledBack" ? "done" : "current" };
    return { ...b, state: "pending" };
  });
  return { forward, back, cancelled };
}

export function workloadsOf(u: MeshUpgradeObject): WorkloadProgress[] {
  return (u.status?.progress?.workloads ?? []) as WorkloadProgress[];
}

export function namespacesOf(u: MeshUpgradeObject): NamespaceProgress[] {
  return (u.status?.progress?.namespaces ?? []) as NamespaceProgress[];
}

export interface WaveRow {
  key: string;
  index: number;
  state: string;
  namespaces: string[];
  workloads: number;
  moved: number;
  proxiesOld: number;
  proxiesNew: number;
  message: string;
}

export function waveRows(u: MeshUpgradeObject): WaveRow[] {
  const plan: { index: number; namespaces: string[]; workloads: WorkloadRef[] }[] = u.status?.plan?.waves ?? [];
  const progress: { index: number; state: string; message?: string }[] = u.status?.progress?.waves ?? [];
  const workloads = workloadsOf(u);
  const namespaces = namespacesOf(u);
  return plan.map((w) => {
    const mine = workloads.filter((p) => p.wave === w.index);
    const ns = namespaces.filter((n) => n.wave === w.index);
    return {
      key: `wave-${w.index}`,
      index: w.index,
      state: progress.find((p) => p.index === w.index)?.state ?? "Pending",
      namespaces: w.namespaces,
      workloads: w.workloads.length,
      moved: mine.filter((p) => MOVED.has(p.state)).length,
      proxiesOld: ns.reduce((n, x) => n + x.proxies.old, 0),
      proxiesNew: ns.reduce((n, x) => n + x.proxies.new, 0),
      message: progress.find((p) => p.index === w.index)?.message ?? "",
    };
  });
}

export interface WorkloadRow extends WorkloadProgress {
  key: string;
  /** can be picked for "Upgrade selected" now, or why not */
  selectable: boolean;
}

/**
 * Which workloads "Upgrade selected" may take: in Manual mode any the engine has not moved yet (it
 * restarts them as their wave comes); in Automatic mode those of a wave that has begun (a restart
 * before its namespace switched would bring back the old revision).
 */
export function workloadRows(u: MeshUpgradeObject): WorkloadRow[] {
  const stage = stageOf(u);
  const forward = ["Pending", "ControlPlaneUpgrade", "DataPlaneUpgrade", "Paused"].includes(stage);
  const manual = u.console?.restart.mode === "Manual";
  const begun = new Set(
    ((u.status?.progress?.waves ?? []) as { index: number; state: string }[])
      .filter((w) => w.state !== "Pending")
      .map((w) => w.index),
  );
  return workloadsOf(u).map((p) => ({
    ...p,
    key: `${p.namespace}/${p.kind}/${p.name}`,
    selectable:
      forward &&
      ["Pending", "WaitingForUser", "Failed"].includes(p.state) &&
      (manual || begun.has(p.wave)) &&
      ["Deployment", "StatefulSet", "DaemonSet"].includes(p.kind),
  }));
}

export function gatesOf(u: MeshUpgradeObject): GateStatus[] {
  return ((u.status?.gates ?? []) as GateStatus[]).slice().sort((a, b) => b.wave - a.wave);
}

export function historyOf(u: MeshUpgradeObject): HistoryEntry[] {
  return ((u.status?.history ?? []) as HistoryEntry[]).slice().reverse();
}

export function refText(r: { kind: string; namespace?: string; name: string }): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
}

/** "99.2", "1.2e-3", "—" for a measured value. */
export function formatValue(v: number | null): string {
  if (v === null) return "—";
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 0.01 ? v.toFixed(2) : v.toExponential(1);
}

/** The time of day of an ISO timestamp, for timelines. */
export function clock(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 19);
}
