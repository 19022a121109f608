// Which actions a MeshUpgrade accepts right now, and why not: the rules of decide.ts's handleAction and
// of its approval points, read from spec and status alone, so surfaces (the console's buttons, its API)
// offer exactly what the engine will do. Pure; guards.test.ts checks it against decide() itself.
import {
  ROLLBACK_STAGES,
  TERMINAL_STAGES,
  UPGRADE_STAGES,
  meshUpgradeSpecSchema,
  type MeshUpgradeSpec,
  type MeshUpgradeStatus,
  type UpgradeAction,
  type UpgradeStage,
} from "../api/schema.js";

/**
 * The console's buttons. Done is Proceed where the engine waits for approval (Tencent Cloud Mesh's
 * "Done"), Cancel is Rollback (its "Cancel"): the same spec.action, named as users know them.
 */
export const CONSOLE_ACTIONS = ["Proceed", "Rollback", "Pause", "Resume", "Done", "Cancel"] as const;
export type ConsoleAction = (typeof CONSOLE_ACTIONS)[number];

export interface ActionVerdict {
  allowed: boolean;
  /** allowed: what the action will do; refused: why not, and what to do instead */
  reason: string;
}

export type AllowedActions = Record<ConsoleAction, ActionVerdict>;

/** Where the engine waits for a Proceed: after a wave (approval PerWave) or before the old revision goes offline. */
export type ApprovalPoint =
  { kind: "wave"; wave: number; waves: number } | { kind: "offline"; revision: string; target: string };

/** The spec.action a console action sets. */
export function engineAction(action: ConsoleAction): UpgradeAction {
  if (action === "Done") return "Proceed";
  if (action === "Cancel") return "Rollback";
  return action;
}

export function isConsoleAction(value: unknown): value is ConsoleAction {
  return typeof value === "string" && (CONSOLE_ACTIONS as readonly string[]).includes(value);
}

interface UpgradeLike {
  spec: unknown;
  status?: unknown;
}

function stageOf(status: Partial<MeshUpgradeStatus> | undefined): UpgradeStage {
  const stage = status?.stage;
  return typeof stage === "string" && (UPGRADE_STAGES as readonly string[]).includes(stage) ? stage : "Pending";
}

function statusOf(upgrade: UpgradeLike): Partial<MeshUpgradeStatus> | undefined {
  return upgrade.status && typeof upgrade.status === "object"
    ? (upgrade.status as Partial<MeshUpgradeStatus>)
    : undefined;
}

/**
 * The action in spec that the engine has not acknowledged yet (decide.ts pendingAction: the same action
 * and nonce in status.acknowledgedAction means it was handled).
 */
export function pendingAction(upgrade: UpgradeLike): { action: UpgradeAction; nonce?: string } | null {
  const spec = (upgrade.spec ?? {}) as { action?: unknown; actionNonce?: unknown };
  if (typeof spec.action !== "string") return null;
  const nonce = typeof spec.actionNonce === "string" ? spec.actionNonce : undefined;
  const ack = statusOf(upgrade)?.acknowledgedAction;
  if (ack && ack.action === spec.action && (ack.nonce ?? undefined) === nonce) return null;
  return { action: spec.action as UpgradeAction, nonce };
}

/**
 * The approval point the engine waits at, if any (decide.ts dataPlane: a wave in WaitingForApproval,
 * or with approval BeforeOffline every wave done and condition Waiting=WaitingForApproval).
 */
export function approvalPoint(upgrade: UpgradeLike): ApprovalPoint | null {
  const status = statusOf(upgrade);
  if (stageOf(status) !== "DataPlaneUpgrade") return null;
  const waves = status?.progress?.waves ?? [];
  const planned = status?.plan?.waves.length ?? waves.length;
  // the engine walks the waves in order: the first one not Done is where it stands
  const current = waves.find((w) => w.state !== "Done");
  if (current?.state === "WaitingForApproval") return { kind: "wave", wave: current.index, waves: planned };
  if (current) return null;
  const parsed = meshUpgradeSpecSchema.safeParse(upgrade.spec);
  if (!parsed.success || parsed.data.approval.mode !== "BeforeOffline") return null;
  const waiting = status?.conditions?.find((c) => c.type === "Waiting");
  if (waiting?.status !== "True" || waiting.reason !== "WaitingForApproval") return null;
  return {
    kind: "offline",
    revision: status?.from?.revision ?? "the old revision",
    target: status?.to?.revision ?? "",
  };
}

function verdict(allowed: boolean, reason: string): ActionVerdict {
  return { allowed, reason };
}

function all(reason: string): AllowedActions {
  const refused = verdict(false, reason);
  return { Proceed: refused, Rollback: refused, Pause: refused, Resume: refused, Done: refused, Cancel: refused };
}

/**
 * What each action would do now, or why it cannot be asked. Allowed means decide() accepts it at its
 * next reconcile (Proceed: consumes it at the approval point); refused means decide() refuses it, or it
 * would change nothing ("already paused"), or an earlier action still waits for the engine.
 */
export function allowedActions(upgrade: UpgradeLike): AllowedActions {
  const status = statusOf(upgrade);
  const stage = stageOf(status);
  if (TERMINAL_STAGES.includes(stage)) {
    return all(`the upgrade has finished (${stage}); start another one with a new MeshUpgrade`);
  }
  const parsed = meshUpgradeSpecSchema.safeParse(upgrade.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `spec.${issue.path.map(String).join(".")}: ${issue.message}` : "";
    return all(
      `the spec is not valid (${where}); the engine changes nothing until it is fixed (kubectl edit meshupgrade)`,
    );
  }
  const spec: MeshUpgradeSpec = parsed.data;
  // spec.action is one field: a second action before the engine took the first would replace it
  // unseen. Proceed is the exception: the engine takes it only at an approval point.
  const pending = pendingAction(upgrade);
  if (pending && pending.action !== "Proceed") {
    return all(`${pending.action} was asked and the engine has not acknowledged it yet; wait for it to take effect`);
  }
  const from = status?.from?.revision ?? spec.from ?? "the source revision";
  const to = status?.to?.revision ?? spec.to.revision ?? `Istio ${spec.to.version}`;
  const rollingBack = stage === "RollingBack" || stage === "NewControlPlaneOffline";

  let rollback: ActionVerdict;
  if (rollingBack) rollback = verdict(false, `already rolling back (stage ${stage}); a rollback runs to its end`);
  else if (stage === "OldControlPlaneOffline")
    rollback = verdict(false, `the old revision ${from} is being removed: rollback is no longer possible`);
  else if (stage === "Paused" && status?.pausedFrom && !ROLLBACK_STAGES.includes(status.pausedFrom))
    // paused while the old revision was going offline: it may be gone already (DESIGN invariant 5)
    rollback = verdict(
      false,
      `paused while the old revision ${from} was being removed: rollback is no longer possible; Resume to finish`,
    );
  else if (ROLLBACK_STAGES.includes(stage))
    rollback = verdict(
      true,
      `move every namespace and workload back to ${from}${stage === "Pending" || stage === "Prechecking" ? "" : ` and remove what meshlift installed for ${to}`}`,
    );
  else rollback = verdict(false, `rollback is possible only before OldControlPlaneOffline (stage ${stage})`);

  let pause: ActionVerdict;
  if (stage === "Paused") pause = verdict(false, `already paused (at ${status?.pausedFrom ?? "an earlier stage"})`);
  else if (rollingBack) pause = verdict(false, "a rollback runs to its end and cannot be paused");
  else pause = verdict(true, `stop at ${stage}: nothing more is restarted or removed until Resume or Rollback`);

  const resume =
    stage === "Paused"
      ? verdict(true, `go on with ${status?.pausedFrom ?? "DataPlaneUpgrade"}`)
      : verdict(false, `the upgrade is not paused (stage ${stage})`);

  let proceed: ActionVerdict;
  const point = approvalPoint(upgrade);
  if (point?.kind === "wave")
    proceed = verdict(true, `wave ${point.wave + 1}/${point.waves} is done and verified: start wave ${point.wave + 2}`);
  else if (point?.kind === "offline")
    proceed = verdict(
      true,
      `every proxy runs ${point.target}: take ${point.revision} offline (no rollback after this)`,
    );
  else if (rollingBack) proceed = verdict(false, "a rollback runs to its end; there is nothing to approve");
  else if (stage === "Paused") proceed = verdict(false, "the upgrade is paused: Resume first");
  else if (spec.approval.mode === "None")
    proceed = verdict(
      false,
      "meshlift asks for no approval in this upgrade (approval mode None): it goes on by itself",
    );
  else proceed = verdict(false, notWaitingReason(spec, status, stage, from));

  return {
    Proceed: proceed,
    Done: proceed,
    Rollback: rollback,
    Cancel: rollback,
    Pause: pause,
    Resume: resume,
  };
}

function notWaitingReason(
  spec: MeshUpgradeSpec,
  status: Partial<MeshUpgradeStatus> | undefined,
  stage: UpgradeStage,
  from: string,
): string {
  const mode = spec.approval.mode;
  if (stage === "OldControlPlaneOffline") return `already approved: ${from} is going offline`;
  const stragglers = status?.stragglers?.length ?? 0;
  if (mode === "BeforeOffline" && stage === "DataPlaneUpgrade" && stragglers > 0)
    return `${stragglers} workload(s) still run ${from} (see the stragglers): Done is possible once they are gone`;
  return mode === "PerWave"
    ? "no wave is waiting for approval now: meshlift asks after each wave is done and verified"
    : "meshlift asks for approval only once every proxy runs the new revision, before taking the old one offline";
}
