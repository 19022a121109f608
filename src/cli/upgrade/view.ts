// What a person (or a script) needs to know about a MeshUpgrade, derived from its status alone: the stage
// pipeline, wave and workload counts, whether it waits for someone, and which command answers it. Pure, so
// `upgrade run`, `upgrade status` and `status -w` show one truth and tests can feed statuses directly.
import type { MeshUpgradeStatus, UpgradeStage } from "../../upgrade/api/schema.js";
import { ExitCode } from "../exit-codes.js";

/** Exit codes of the upgrade commands: the upgrade waits for a person, or the command was interrupted. */
export const UpgradeExitCode = {
  NeedsAction: ExitCode.NeedsAction,
  Interrupted: ExitCode.Interrupted,
} as const;

type WorkloadProgress = NonNullable<NonNullable<MeshUpgradeStatus["progress"]>["workloads"]>[number];

/** abandoned: the forward stage a rollback left; skipped: a forward stage it never reached */
export type StepState = "done" | "current" | "paused" | "pending" | "abandoned" | "skipped";

export interface PipelineStep {
  stage: UpgradeStage;
  label: string;
  state: StepState;
}

const FORWARD: { stage: UpgradeStage; label: string }[] = [
  { stage: "ControlPlaneUpgrade", label: "Control-plane upgrade" },
  { stage: "DataPlaneUpgrade", label: "Data-plane upgrade" },
  { stage: "OldControlPlaneOffline", label: "Old control plane offline" },
];

const BACKWARD: { stage: UpgradeStage; label: string }[] = [
  { stage: "RollingBack", label: "Rolling back" },
  { stage: "NewControlPlaneOffline", label: "New control plane offline" },
];

function rollingBack(status: Pick<MeshUpgradeStatus, "stage" | "rollback">): boolean {
  return ["RollingBack", "NewControlPlaneOffline", "RolledBack"].includes(status.stage) || !!status.rollback;
}

/**
 * The three stages of an upgrade (DESIGN.md) with the current one marked; a rollback adds its own two
 * steps after the stage it left, and the forward stages it never reached are skipped.
 */
export function stagePipeline(status: Pick<MeshUpgradeStatus, "stage" | "pausedFrom" | "rollback">): PipelineStep[] {
  const stage = status.stage;
  const paused = stage === "Paused";
  const effective = paused ? (status.pausedFrom ?? "DataPlaneUpgrade") : stage;
  if (rollingBack(status)) {
    const left = status.rollback?.from ?? "DataPlaneUpgrade";
    const leftIndex = FORWARD.findIndex((s) => s.stage === left);
    const back = BACKWARD.findIndex((s) => s.stage === effective);
    return [
      ...FORWARD.map((s, i) => ({
        ...s,
        state: (i < leftIndex ? "done" : i === leftIndex ? "abandoned" : "skipped") as StepState,
      })),
      ...BACKWARD.map((s, i) => ({
        ...s,
        state: (stage === "RolledBack" || i < back ? "done" : i === back ? "current" : "pending") as StepState,
      })),
    ];
  }
  const index = FORWARD.findIndex((s) => s.stage === effective);
  return FORWARD.map((s, i) => {
    let state: StepState;
    if (effective === "Completed") state = "done";
    else if (index < 0)
      state = "pending"; // Pending, Prechecking, Failed before any stage ran
    else if (i < index) state = "done";
    else if (i === index) state = paused ? "paused" : "current";
    else state = "pending";
    return { ...s, state };
  });
}

export interface WaitingFor {
  /** the Waiting condition's reason, or "Paused" */
  reason: string;
  message: string;
  /** the commands that answer it */
  commands: string[];
  /** how to use them, in one line */
  hint: string;
}

export interface ProgressView {
  name: string;
  stage: UpgradeStage;
  from: string | null;
  to: string | null;
  /** the three stages (and a rollback's two) with the current one marked */
  pipeline: PipelineStep[];
  waves: { total: number; done: number; current: number | null };
  workloads: { total: number; done: number; restarting: number; failed: number };
  /** what the engine says it is doing or waiting for */
  message: string | null;
  /** the upgrade cannot go on without a person */
  needs: WaitingFor | null;
  /** the engine waits for something outside its control that may resolve itself (stragglers, install) */
  waiting: { reason: string; message: string } | null;
}

function workloadDone(w: WorkloadProgress, backward: boolean): boolean {
  // a workload never restarted forward is already on the old revision when rolling back (decide's summarize)
  return backward
    ? w.state === "RolledBack" || w.state === "Skipped" || w.state === "Pending"
    : w.state === "RolledOut" || w.state === "Verified" || w.state === "Skipped";
}

/** Waiting reasons that only a person can end (the others end when the mesh changes). */
const NEEDS_PERSON = new Set(["WaitingForApproval", "WaitingForManualDecommission"]);

export function progressView(name: string, status: MeshUpgradeStatus | undefined): ProgressView {
  const st: MeshUpgradeStatus = status ?? { stage: "Pending" };
  const backward = rollingBack(st);
  const workloads = st.progress?.workloads ?? [];
  const waves = st.plan?.waves.length ?? 0;
  const wavesDone = (st.progress?.waves ?? []).filter((w) => w.state === "Done").length;
  const waiting = st.conditions?.find((c) => c.type === "Waiting" && c.status === "True");
  let needs: WaitingFor | null = null;
  if (st.stage === "Paused") {
    needs = {
      reason: "Paused",
      message: st.message ?? "paused",
      commands: [`meshlift upgrade resume ${name}`, `meshlift upgrade rollback ${name}`],
      hint: `meshlift upgrade resume ${name} (or meshlift upgrade rollback ${name}), then meshlift upgrade run ${name}`,
    };
  } else if (waiting && NEEDS_PERSON.has(waiting.reason) && st.stage !== "Completed") {
    const approval = waiting.reason === "WaitingForApproval";
    needs = {
      reason: waiting.reason,
      message: waiting.message,
      commands: approval
        ? [`meshlift upgrade proceed ${name}`, `meshlift upgrade run ${name}`]
        : [`meshlift upgrade run ${name}`],
      hint: approval
        ? `meshlift upgrade proceed ${name}, then meshlift upgrade run ${name}`
        : `do what the message says, then meshlift upgrade run ${name}`,
    };
  }
  return {
    name,
    stage: st.stage,
    from: st.from?.revision ?? null,
    to: st.to?.revision ?? null,
    pipeline: stagePipeline(st),
    waves: {
      total: waves,
      done: wavesDone,
      current: st.stage === "DataPlaneUpgrade" || st.stage === "Paused" ? (st.progress?.currentWave ?? null) : null,
    },
    workloads: {
      total: workloads.length,
      done: workloads.filter((w) => workloadDone(w, backward)).length,
      restarting: workloads.filter((w) => w.state === "Restarting").length,
      failed: workloads.filter((w) => w.state === "Failed").length,
    },
    message: st.message ?? null,
    needs,
    waiting: waiting && !needs ? { reason: waiting.reason, message: waiting.message } : null,
  };
}

/** When `upgrade run` stops: a terminal stage, or the upgrade needs a person. */
export function stopsRun(view: ProgressView): boolean {
  return ["Completed", "RolledBack", "Failed"].includes(view.stage) || view.needs !== null;
}

/**
 * The exit code a finished `upgrade run` (or `status -w`) reports: 0 only when the upgrade completed; a
 * rollback or failure means the mesh did not reach the target (3); a person is needed (6).
 */
export function exitCodeOf(view: ProgressView): number {
  if (view.stage === "Completed") return ExitCode.Ok;
  if (view.stage === "RolledBack" || view.stage === "Failed") return ExitCode.Errors;
  if (view.needs) return UpgradeExitCode.NeedsAction;
  return ExitCode.Ok;
}

/** One line: the stage (the API's name, as kubectl shows it), wave and workload counts, and the engine's message. */
export function summaryLine(view: ProgressView): string {
  const parts: string[] = [view.stage];
  if (view.waves.total > 0 && !["Pending", "Prechecking", "ControlPlaneUpgrade"].includes(view.stage))
    parts.push(`waves ${view.waves.done}/${view.waves.total}`);
  if (view.workloads.total > 0 && !["Pending", "Prechecking"].includes(view.stage)) {
    let w = `workloads ${view.workloads.done}/${view.workloads.total}`;
    if (view.workloads.restarting > 0) w += ` (${view.workloads.restarting} restarting)`;
    if (view.workloads.failed > 0) w += ` (${view.workloads.failed} failed)`;
    parts.push(w);
  }
  const message = view.needs?.message ?? view.waiting?.message ?? view.message;
  return message ? `${parts.join(", ")} — ${message}` : parts.join(", ");
}
