// The console's writes, each made with the user's own token so Kubernetes RBAC decides: create a
// MeshUpgrade, ask one for an action (spec.action, acknowledged by the engine in status), and
// restart selected workloads the way `kubectl rollout restart` does. Input is validated first, so
// bad input is refused with a clear reason and nothing is written (DESIGN.md invariant 6).
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Cluster } from "../kube/config.js";
import { mergePatch, rolloutRestartPatch } from "../kube/patch.js";
import { RESOURCES, type ResourceRef } from "../kube/resources.js";
import { MESH_UPGRADES } from "../kube/snapshot-source.js";
import { MESHUPGRADE, UPGRADE_ACTIONS, validateUpgradeSpec, type ValidationContext } from "../upgrade/api/index.js";
import type { MeshUpgradeObject, RestartResult } from "./api-types.js";
import { ConsoleError, consoleErrorFromKube } from "./access.js";
import { RESTARTABLE_KINDS } from "./view.js";

/** Who asked, for the engine's history (Kubernetes itself does not tell a controller who wrote a field). */
export const REQUESTED_BY_ANNOTATION = "meshlift.io/requested-by";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function zodFields(error: z.ZodError): { field: string; message: string; fix: string }[] {
  return error.issues.map((i) => ({
    field: i.path.map(String).join(".") || "(body)",
    message: i.message,
    fix: "",
  }));
}

function invalidBody(what: string, error: z.ZodError): ConsoleError {
  return new ConsoleError(
    400,
    "BadRequest",
    `${what}: ${error.issues.map((i) => `${i.path.map(String).join(".") || "body"}: ${i.message}`).join("; ")}`,
    undefined,
    zodFields(error),
  );
}

const createBody = z
  .object({
    name: z.string().optional(),
    spec: z.unknown(),
  })
  .strict();

/** Validates a new MeshUpgrade against the mesh, then creates it as the user. */
export async function createUpgrade(
  userCluster: Cluster,
  body: unknown,
  ctx: ValidationContext,
  requestedBy: string | null,
): Promise<MeshUpgradeObject> {
  const parsed = createBody.safeParse(body);
  if (!parsed.success) throw invalidBody("the request must be { name?, spec }", parsed.error);
  const validation = validateUpgradeSpec(parsed.data.spec, ctx);
  if (!validation.ok) {
    const [first] = validation.errors;
    throw new ConsoleError(
      422,
      "Invalid",
      validation.errors.length === 1
        ? `${first.field}: ${first.message}`
        : `the MeshUpgrade has ${validation.errors.length} problems; first: ${first.field}: ${first.message}`,
      first.fix,
      validation.errors,
    );
  }
  const name = parsed.data.name?.trim() || `to-${validation.spec.to.revision}`;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw new ConsoleError(
      422,
      "Invalid",
      `"${name}" cannot name a MeshUpgrade: it must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
      "Choose a name such as to-1-28-10.",
      [{ field: "metadata.name", message: "not a DNS-1123 subdomain", fix: "Use e.g. to-1-28-10." }],
    );
  }
  const object = {
    apiVersion: MESHUPGRADE.apiVersion,
    kind: MESHUPGRADE.kind,
    metadata: { name, ...(requestedBy ? { annotations: { [REQUESTED_BY_ANNOTATION]: requestedBy } } : {}) },
    spec: parsed.data.spec,
  };
  try {
    return await userCluster.rest.requestJson<MeshUpgradeObject>({
      method: "POST",
      path: `/apis/${MESHUPGRADE.group}/${MESHUPGRADE.version}/${MESHUPGRADE.plural}`,
      query: { fieldManager: MESHUPGRADE.fieldManager },
      body: object,
      target: { verb: "create", resource: `${MESHUPGRADE.plural}.${MESHUPGRADE.group}`, name },
    });
  } catch (err) {
    throw consoleErrorFromKube(err, `create MeshUpgrade "${name}"`);
  }
}

const actionBody = z.object({ action: z.enum(UPGRADE_ACTIONS) }).strict();

/**
 * Sets spec.action with a fresh actionNonce (so the same action can be asked twice), after checking
 * the action suits the upgrade's stage (the validator's rules for spec.action).
 */
export async function requestAction(
  userCluster: Cluster,
  upgrade: MeshUpgradeObject,
  body: unknown,
  ctx: ValidationContext,
  requestedBy: string | null,
): Promise<MeshUpgradeObject> {
  const parsed = actionBody.safeParse(body);
  if (!parsed.success)
    throw invalidBody(`the request must be { action: ${UPGRADE_ACTIONS.join(" | ")} }`, parsed.error);
  const { action } = parsed.data;
  const actionNonce = randomBytes(6).toString("hex");
  const name = upgrade.metadata.name;
  const check = validateUpgradeSpec(
    { ...upgrade.spec, action, actionNonce },
    {
      ...ctx,
      self: {
        name,
        stage: (upgrade.status?.stage as never) ?? null,
        acknowledgedAction: (upgrade.status?.acknowledgedAction as never) ?? null,
      },
    },
  );
  const refused = check.ok ? [] : check.errors.filter((e) => e.field.startsWith("spec.action"));
  if (refused.length > 0) throw new ConsoleError(409, "Conflict", refused[0].message, refused[0].fix, refused);
  const patch = {
    metadata: requestedBy ? { annotations: { [REQUESTED_BY_ANNOTATION]: requestedBy } } : {},
    spec: { action, actionNonce },
  };
  try {
    return (await mergePatch(userCluster.rest, MESH_UPGRADES, { name }, patch)) as MeshUpgradeObject;
  } catch (err) {
    throw consoleErrorFromKube(err, `set ${action} on MeshUpgrade "${name}"`);
  }
}

const MAX_RESTARTS = 200;
const RESTART_CONCURRENCY = 8;

const restartBody = z
  .object({
    workloads: z
      .array(z.object({ kind: z.string().min(1), namespace: z.string().min(1), name: z.string().min(1) }).strict())
      .min(1, "select at least one workload")
      .max(MAX_RESTARTS, `at most ${MAX_RESTARTS} workloads at once`),
  })
  .strict();

const RESOURCE_OF_KIND: Record<string, ResourceRef> = {
  Deployment: RESOURCES.deployments,
  StatefulSet: RESOURCES.statefulSets,
  DaemonSet: RESOURCES.daemonSets,
};

/**
 * Restarts each selected workload as the user, a few at a time. Failures are values: one workload
 * the user may not patch does not hide the others (Backstage's model).
 */
export async function restartWorkloads(userCluster: Cluster, body: unknown, at: Date): Promise<RestartResult[]> {
  const parsed = restartBody.safeParse(body);
  if (!parsed.success)
    throw invalidBody("the request must be { workloads: [{ kind, namespace, name }] }", parsed.error);
  const unknown = parsed.data.workloads.filter((w) => !RESTARTABLE_KINDS.includes(w.kind));
  if (unknown.length > 0) {
    const w = unknown[0];
    throw new ConsoleError(
      400,
      "BadRequest",
      `${w.kind} ${w.namespace}/${w.name} cannot be restarted: only ${RESTARTABLE_KINDS.join(", ")} roll out new pods on restart`,
      "Delete and recreate naked pods by hand; Jobs and CronJobs pick up the new revision on their next run.",
    );
  }
  const patch = rolloutRestartPatch(at);
  const queue = [...parsed.data.workloads];
  const results: RestartResult[] = new Array(queue.length);
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const i = next++;
      const w = queue[i];
      try {
        await mergePatch(userCluster.rest, RESOURCE_OF_KIND[w.kind], w, patch);
        results[i] = { workload: w, ok: true, status: 200, message: null };
      } catch (err) {
        const e = consoleErrorFromKube(err, `restart ${w.kind} ${w.namespace}/${w.name}`);
        results[i] = { workload: w, ok: false, status: e.status, message: e.message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RESTART_CONCURRENCY, queue.length) }, worker));
  return results;
}
