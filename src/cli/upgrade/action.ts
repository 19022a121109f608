// `meshlift upgrade proceed|rollback|pause|resume [NAME]`: users steer an upgrade by setting spec.action (with
// a fresh actionNonce, so the same action can be asked twice); the engine acknowledges it in
// status.acknowledgedAction. The stage rules are the validator's (validate.ts checkAction), so a request the
// engine would refuse is refused here with the same message and nothing is written. The patch carries the
// resourceVersion that was checked: if the stage moved meanwhile, the check runs again on the new state.
import { randomBytes } from "node:crypto";
import type { Catalog } from "../../catalog/index.js";
import type { Cluster } from "../../kube/config.js";
import type { UpgradeAction } from "../../upgrade/api/schema.js";
import { parseDuration, type CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import type { ActionOptions, UpgradeActionVerb } from "./index.js";
import {
  CLI_FIELD_MANAGER,
  emptyMesh,
  getUpgrade,
  reportingCrdMissing,
  resolveUpgrade,
  stopSignal,
  upgradePath,
  type MeshUpgradeObject,
} from "./upgrades.js";
import { progressView } from "./view.js";

const ACTION_OF: Record<UpgradeActionVerb, UpgradeAction> = {
  proceed: "Proceed",
  rollback: "Rollback",
  pause: "Pause",
  resume: "Resume",
};

/** Conflicts tolerated before giving up: each means another writer changed the MeshUpgrade meanwhile. */
const MAX_CONFLICTS = 3;
const POLL_MS = 500;

/** The validator's refusal of `action` at the upgrade's current stage, or null when it is allowed. */
export async function actionRefusal(
  upgrade: MeshUpgradeObject,
  action: UpgradeAction,
  nonce: string,
  catalog: Catalog,
): Promise<{ message: string; fix: string } | null> {
  const { validateUpgradeSpec } = await import("../../upgrade/api/index.js");
  const check = validateUpgradeSpec(
    { ...upgrade.spec, action, actionNonce: nonce },
    {
      // the action rules look only at the stage and the acknowledged action, never at the mesh
      snapshot: await emptyMesh(),
      catalog,
      kubernetesVersion: "0.0.0",
      activeUpgrades: [],
      self: {
        name: upgrade.metadata.name,
        // no status yet: the engine has not looked at it, which it treats as Pending
        stage: upgrade.status?.stage ?? "Pending",
        acknowledgedAction: upgrade.status?.acknowledgedAction ?? null,
      },
    },
  );
  const refused = check.ok ? [] : check.errors.filter((e) => e.field.startsWith("spec.action"));
  return refused[0] ? { message: refused[0].message, fix: refused[0].fix } : null;
}

async function setAction(
  cluster: Cluster,
  upgrade: MeshUpgradeObject,
  action: UpgradeAction,
  nonce: string,
): Promise<MeshUpgradeObject> {
  const name = upgrade.metadata.name;
  return cluster.rest.requestJson<MeshUpgradeObject>({
    method: "PATCH",
    path: upgradePath(name),
    contentType: "application/merge-patch+json",
    query: { fieldManager: CLI_FIELD_MANAGER },
    // resourceVersion in a merge patch is a precondition: 409 if the object changed since it was checked
    body: { metadata: { resourceVersion: upgrade.metadata.resourceVersion }, spec: { action, actionNonce: nonce } },
    target: { verb: "patch", resource: "meshupgrades.meshlift.io", name },
  });
}

function acknowledged(upgrade: MeshUpgradeObject, action: UpgradeAction, nonce: string): boolean {
  const ack = upgrade.status?.acknowledgedAction;
  return !!ack && ack.action === action && ack.nonce === nonce;
}

/** The engine's word on an acknowledged action: its ActionAccepted condition (True, or False with why). */
function outcomeOf(upgrade: MeshUpgradeObject): { accepted: boolean; message: string } {
  const c = upgrade.status?.conditions?.find((x) => x.type === "ActionAccepted");
  return { accepted: c?.status !== "False", message: c?.message ?? "acknowledged" };
}

export function upgradeAction(
  ctx: CommandContext,
  verb: UpgradeActionVerb,
  name: string | undefined,
  options: ActionOptions,
): Promise<number> {
  return reportingCrdMissing(ctx, () => ask(ctx, verb, name, options));
}

async function ask(
  ctx: CommandContext,
  verb: UpgradeActionVerb,
  nameArg: string | undefined,
  options: ActionOptions,
): Promise<number> {
  const timeoutMs = options.wait ? parseDuration(options.timeout, "--timeout") : 0;
  const action = ACTION_OF[verb];
  const nonce = randomBytes(6).toString("hex");
  const [cluster, catalog] = await Promise.all([ctx.connect(), ctx.catalog()]);
  const { toKubeError } = await import("../../kube/errors.js");
  let upgrade = await resolveUpgrade(cluster, nameArg);
  const name = upgrade.metadata.name;
  const report = async (result: Record<string, unknown>, code: number) => {
    if (ctx.out.structured) await ctx.out.data({ name, action, nonce, ...result });
    return code;
  };

  for (let conflicts = 0; ; conflicts++) {
    const refusal = await actionRefusal(upgrade, action, nonce, catalog);
    if (refusal) {
      ctx.out.error(`${action} refused for MeshUpgrade ${name}: ${refusal.message} — nothing was changed`);
      return report({ refused: refusal.message, stage: upgrade.status?.stage ?? "Pending" }, ExitCode.Usage);
    }
    try {
      upgrade = await setAction(cluster, upgrade, action, nonce);
      break;
    } catch (err) {
      if (toKubeError(err).code !== 409 || conflicts >= MAX_CONFLICTS) throw err;
      upgrade = await getUpgrade(cluster, name);
    }
  }

  const view = progressView(name, upgrade.status);
  const runHint = `it takes effect when the operator or \`meshlift upgrade run ${name}\` next looks at the upgrade`;
  // Proceed is consumed only at an approval point; asked earlier, it waits there
  const waitsForApprovalPoint = action === "Proceed" && view.needs?.reason !== "WaitingForApproval";
  if (timeoutMs <= 0 || waitsForApprovalPoint) {
    if (!ctx.out.structured)
      ctx.out.line(
        waitsForApprovalPoint
          ? `Proceed recorded on MeshUpgrade ${name} (stage ${view.stage}); it is used at the next approval point.`
          : `${action} recorded on MeshUpgrade ${name}; ${runHint}.`,
      );
    return report({ acknowledged: false, stage: view.stage }, ExitCode.Ok);
  }

  const stop = stopSignal(ctx.io);
  const deadline = Date.now() + timeoutMs;
  try {
    while (!acknowledged(upgrade, action, nonce) && Date.now() < deadline && !stop.signal.aborted) {
      await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
      upgrade = await getUpgrade(cluster, name);
    }
  } finally {
    stop.dispose();
  }
  const stage = upgrade.status?.stage ?? "Pending";
  if (!acknowledged(upgrade, action, nonce)) {
    if (!ctx.out.structured)
      ctx.out.line(
        `${action} recorded on MeshUpgrade ${name}, not acknowledged within ${options.timeout}: nothing is driving the upgrade right now; ${runHint}.`,
      );
    return report({ acknowledged: false, stage }, ExitCode.Ok);
  }
  const outcome = outcomeOf(upgrade);
  if (!outcome.accepted) {
    ctx.out.error(`the engine refused ${action} on MeshUpgrade ${name}: ${outcome.message}`);
    return report({ acknowledged: true, accepted: false, outcome: outcome.message, stage }, ExitCode.Usage);
  }
  if (!ctx.out.structured)
    ctx.out.line(`${action} acknowledged on MeshUpgrade ${name}: ${outcome.message} (stage ${stage}).`);
  return report({ acknowledged: true, accepted: true, outcome: outcome.message, stage }, ExitCode.Ok);
}
