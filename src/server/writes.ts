// The console's writes, each made with the user's own token so Kubernetes RBAC decides: preview and
// create a MeshUpgrade, ask one for an action (spec.action, acknowledged by the engine in status, when
// the engine's guard allows it), select workloads for it to restart (Manual mode), and restart
// selected workloads the way `kubectl rollout restart` does. Input is validated first, so
// bad input is refused with a clear reason and nothing is written (DESIGN.md invariant 6).
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { runChecks } from "../checks/index.js";
import type { Cluster } from "../kube/config.js";
import { mergePatch, rolloutRestartPatch } from "../kube/patch.js";
import { collectionPath, objectPath, rolloutResource } from "../kube/resources.js";
import { MESH_UPGRADES } from "../kube/snapshot-source.js";
import {
  MESHUPGRADE,
  meshUpgradeSpecSchema,
  validateUpgradeSpec,
  type ValidationContext,
} from "../upgrade/api/index.js";
import { CONSOLE_ACTIONS, allowedActions, engineAction } from "../upgrade/engine/guards.js";
import { planWaves } from "../upgrade/engine/plan.js";
import type { MeshUpgradeObject, PlanPreview, RestartResult } from "./api-types.js";
import { ConsoleError, consoleErrorFromKube } from "./access.js";
import { planPreviewOf } from "./upgrade-view.js";
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

function checkName(name: string): ConsoleError | null {
  if (name.length <= 253 && DNS1123_SUBDOMAIN.test(name)) return null;
  return new ConsoleError(
    422,
    "Invalid",
    `"${name}" cannot name a MeshUpgrade: it must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
    "Choose a name such as to-1-28-10.",
    [{ field: "metadata.name", message: "not a DNS-1123 subdomain", fix: "Use e.g. to-1-28-10." }],
  );
}

function upgradeObject(name: string, spec: unknown, requestedBy: string | null) {
  return {
    apiVersion: MESHUPGRADE.apiVersion,
    kind: MESHUPGRADE.kind,
    metadata: { name, ...(requestedBy ? { annotations: { [REQUESTED_BY_ANNOTATION]: requestedBy } } : {}) },
    spec,
  };
}

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
  const nameError = checkName(name);
  if (nameError) throw nameError;
  const object = upgradeObject(name, parsed.data.spec, requestedBy);
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

const actionBody = z.object({ action: z.enum(CONSOLE_ACTIONS) }).strict();

/** Optimistic concurrency: a write computed from one copy of the object is retried on a newer copy. */
const CONFLICT_ATTEMPTS = 3;

async function getUpgrade(userCluster: Cluster, name: string): Promise<MeshUpgradeObject> {
  try {
    return await userCluster.rest.requestJson<MeshUpgradeObject>({
      path: objectPath(MESH_UPGRADES, name),
      target: { verb: "get", resource: `${MESHUPGRADE.plural}.${MESHUPGRADE.group}`, name },
    });
  } catch (err) {
    throw consoleErrorFromKube(err, `read MeshUpgrade "${name}"`);
  }
}

/**
 * A merge patch of a MeshUpgrade with a field manager naming the user ("console/alice"): the engine
 * reads who set spec.action from managedFields (reconcile.ts actionSetBy) for its history.
 */
async function patchAsUser(
  userCluster: Cluster,
  name: string,
  patch: Record<string, unknown>,
  user: string | null,
): Promise<MeshUpgradeObject> {
  return userCluster.rest.requestJson<MeshUpgradeObject>({
    method: "PATCH",
    path: objectPath(MESH_UPGRADES, name),
    query: { fieldManager: `console/${user ?? "unknown"}`.slice(0, 128) },
    body: patch,
    contentType: "application/merge-patch+json",
    target: { verb: "patch", resource: `${MESHUPGRADE.plural}.${MESHUPGRADE.group}`, name },
  });
}

function isConflict(err: unknown): boolean {
  return err instanceof ConsoleError && err.status === 409 && err.reason === "Conflict";
}

/**
 * Sets spec.action with a fresh actionNonce (so the same action can be asked twice) when the engine's
 * guard allows it on the object as it is now (read with the user's token, written with its
 * resourceVersion). Done is Proceed, Cancel is Rollback. A refused action is 409 with the guard's
 * reason — unless Kubernetes would refuse the user anyway, which is the more basic answer (403).
 */
export async function requestAction(
  userCluster: Cluster,
  name: string,
  body: unknown,
  requestedBy: string | null,
): Promise<MeshUpgradeObject> {
  const parsed = actionBody.safeParse(body);
  if (!parsed.success)
    throw invalidBody(`the request must be { action: ${CONSOLE_ACTIONS.join(" | ")} }`, parsed.error);
  const { action } = parsed.data;
  const engine = engineAction(action);
  const annotations = requestedBy ? { annotations: { [REQUESTED_BY_ANNOTATION]: requestedBy } } : {};
  for (let attempt = 1; ; attempt++) {
    const current = await getUpgrade(userCluster, name);
    const verdict = allowedActions(current)[action];
    if (!verdict.allowed) {
      try {
        await mergePatch(
          userCluster.rest,
          MESH_UPGRADES,
          { name },
          { spec: { action: engine, actionNonce: "dry-run" } },
          { dryRun: true },
        );
      } catch (err) {
        const e = consoleErrorFromKube(err, `set ${engine} on MeshUpgrade "${name}"`);
        if (e.status === 403 || e.status === 401) throw e;
      }
      throw new ConsoleError(
        409,
        "Conflict",
        `${action} is not possible now: ${verdict.reason}`,
        "Wait for the stage the action needs; the buttons follow the upgrade live.",
        [{ field: "action", message: verdict.reason, fix: "" }],
      );
    }
    const patch = {
      metadata: { resourceVersion: current.metadata.resourceVersion, ...annotations },
      spec: { action: engine, actionNonce: randomBytes(6).toString("hex") },
    };
    try {
      return await patchAsUser(userCluster, name, patch, requestedBy);
    } catch (err) {
      const e = consoleErrorFromKube(err, `set ${engine} on MeshUpgrade "${name}"`);
      // the object changed since it was read (the engine writes status often): judge again on the new copy
      if (isConflict(e) && attempt < CONFLICT_ATTEMPTS) continue;
      throw e;
    }
  }
}

const selectBody = z
  .object({
    workloads: z
      .array(z.object({ kind: z.string().min(1), namespace: z.string().min(1), name: z.string().min(1) }).strict())
      .min(1, "select at least one workload"),
  })
  .strict();

const SELECTABLE_STAGES = ["Pending", "ControlPlaneUpgrade", "DataPlaneUpgrade", "Paused"];

/**
 * Manual restart mode: adds workloads to spec.dataPlane.restartSelected, which meshlift then restarts
 * as their wave comes (Alauda's "upgrade selected services"). Only workloads of the upgrade's plan,
 * only while the data plane can still move forward.
 */
export async function selectForRestart(
  userCluster: Cluster,
  name: string,
  body: unknown,
  requestedBy: string | null,
): Promise<MeshUpgradeObject> {
  const parsed = selectBody.safeParse(body);
  if (!parsed.success)
    throw invalidBody("the request must be { workloads: [{ kind, namespace, name }] }", parsed.error);
  const key = (w: { kind: string; namespace: string; name: string }) => `${w.kind}/${w.namespace}/${w.name}`;
  for (let attempt = 1; ; attempt++) {
    const current = await getUpgrade(userCluster, name);
    const spec = meshUpgradeSpecSchema.safeParse(current.spec);
    if (!spec.success)
      throw new ConsoleError(
        409,
        "Conflict",
        `MeshUpgrade "${name}" has an invalid spec; fix it first (kubectl edit mu ${name})`,
      );
    if (spec.data.dataPlane.restart !== "Manual") {
      throw new ConsoleError(
        409,
        "Conflict",
        `MeshUpgrade "${name}" restarts workloads itself (dataPlane.restart Automatic): there is nothing to select`,
        "Restart a workload now from the Workloads page (POST /api/workloads/restart).",
      );
    }
    const stage = String(current.status?.stage ?? "Pending");
    if (!SELECTABLE_STAGES.includes(stage)) {
      throw new ConsoleError(
        409,
        "Conflict",
        `workloads can be selected while the data plane moves forward, not at stage ${stage}`,
        "Nothing is restarted for the upgrade any more.",
      );
    }
    const planned = new Set(
      ((current.status?.progress?.workloads ?? []) as { kind: string; namespace: string; name: string }[]).map(key),
    );
    const unknown = parsed.data.workloads.filter((w) => !planned.has(key(w)));
    if (unknown.length > 0) {
      const w = unknown[0];
      throw new ConsoleError(
        400,
        "BadRequest",
        `${w.kind} ${w.namespace}/${w.name} is not in the plan of MeshUpgrade "${name}"${unknown.length > 1 ? ` (nor are ${unknown.length - 1} more)` : ""}`,
        "Select workloads from the upgrade's workload list.",
      );
    }
    const selected = new Map((spec.data.dataPlane.restartSelected ?? []).map((w) => [key(w), w]));
    for (const w of parsed.data.workloads) selected.set(key(w), w);
    const patch = {
      metadata: {
        resourceVersion: current.metadata.resourceVersion,
        ...(requestedBy ? { annotations: { [REQUESTED_BY_ANNOTATION]: requestedBy } } : {}),
      },
      spec: { dataPlane: { restartSelected: [...selected.values()] } },
    };
    try {
      return await patchAsUser(userCluster, name, patch, requestedBy);
    } catch (err) {
      const e = consoleErrorFromKube(err, `select workloads on MeshUpgrade "${name}"`);
      if (isConflict(e) && attempt < CONFLICT_ATTEMPTS) continue;
      throw e;
    }
  }
}

/**
 * The plan preview (POST /api/upgrades?dryRun=true): the spec validated against the mesh, the
 * prechecks the engine runs, the waves it would plan, and a server-side dry-run create with the
 * user's token (RBAC and the CRD schema decide). Nothing is created.
 */
export async function previewUpgrade(
  userCluster: Cluster,
  body: unknown,
  ctx: ValidationContext,
): Promise<PlanPreview> {
  const parsed = createBody.safeParse(body);
  if (!parsed.success) throw invalidBody("the request must be { name?, spec }", parsed.error);
  const validation = validateUpgradeSpec(parsed.data.spec, ctx);
  if (!validation.ok) {
    return {
      valid: false,
      errors: validation.errors,
      name: parsed.data.name?.trim() || null,
      from: null,
      to: null,
      pathKind: null,
      waves: [],
      notMoved: [],
      findings: [],
      counts: { errors: 0, warnings: 0, info: 0 },
      dryRun: null,
      resolved: null,
    };
  }
  const spec = validation.spec;
  const name = parsed.data.name?.trim() || `to-${spec.to.revision}`;
  const errors: PlanPreview["errors"] = [];
  const nameError = checkName(name);
  if (nameError) errors.push(...(nameError.fields ?? []));
  // as the engine's precheck stage runs them (decide.ts start): a target installed beforehand is not a
  // revision the mesh upgrades from
  const snapshot = ctx.snapshot;
  const findings = runChecks(
    { ...snapshot, revisions: snapshot.revisions.filter((r) => r.name !== spec.to.revision) },
    { version: spec.to.version, revision: spec.to.revision },
    ctx.catalog,
  );
  const plan = planWaves(spec, snapshot);
  let dryRun: PlanPreview["dryRun"] = null;
  if (!nameError) {
    try {
      await userCluster.rest.requestJson({
        method: "POST",
        path: collectionPath(MESH_UPGRADES),
        query: { fieldManager: MESHUPGRADE.fieldManager, dryRun: "All" },
        body: upgradeObject(name, parsed.data.spec, null),
        target: { verb: "create", resource: `${MESHUPGRADE.plural}.${MESHUPGRADE.group}`, name },
      });
      dryRun = { ok: true, status: 201, message: "Kubernetes would create it" };
    } catch (err) {
      const e = consoleErrorFromKube(err, `create MeshUpgrade "${name}"`);
      dryRun = { ok: false, status: e.status, message: e.message };
      if (e.status === 409)
        errors.push({ field: "metadata.name", message: e.message, fix: e.fix ?? "Choose another name." });
      else if (e.status === 422) errors.push(...(e.fields ?? []).map((f) => ({ ...f, fix: f.fix || (e.fix ?? "") })));
    }
  }
  return planPreviewOf({ name, spec, plan, snapshot, findings, dryRun, errors });
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
        await mergePatch(userCluster.rest, rolloutResource(w.kind)!, w, patch);
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
