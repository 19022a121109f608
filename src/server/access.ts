// Who a token belongs to and what it may do, asked of Kubernetes with the token itself.
//   - A token is valid when the API server does not answer 401 to a request made with it.
//   - Read access is proven, not assumed: the shared cache was filled with the console's own
//     identity, so each session must show it could list the same kinds itself (LIST limit=1).
//   - Actions are shown enabled or disabled by SelfSubjectAccessReview, as kubectl auth can-i does.
import type { Cluster } from "../kube/config.js";
import { toKubeError, type KubeError } from "../kube/errors.js";
import { RESOURCES, collectionPath, qualifiedName, type ResourceRef } from "../kube/resources.js";
import { MESH_UPGRADES } from "../kube/snapshot-source.js";
import type { Permission, Permissions, SessionUser } from "./api-types.js";
import type { ReadAccess } from "./session.js";

/** The kinds the mesh view is built from (snapshot-source REQUIRED): a user must be able to list each. */
export const MESH_READ_KINDS: readonly ResourceRef[] = [
  RESOURCES.namespaces,
  RESOURCES.pods,
  RESOURCES.deployments,
  RESOURCES.statefulSets,
  RESOURCES.daemonSets,
  RESOURCES.replicaSets,
  RESOURCES.jobs,
  RESOURCES.cronJobs,
  RESOURCES.services,
  RESOURCES.mutatingWebhookConfigurations,
];

/** A failure of the console's API with the status it answers. */
export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly fix?: string,
    readonly fields?: { field: string; message: string; fix: string }[],
  ) {
    super(message);
    this.name = "ConsoleError";
  }
}

/** Kubernetes' own message for a refused request (what RBAC said), without the CLI's hints. */
export function kubernetesReason(error: KubeError): string {
  return error.serverMessage ?? error.message;
}

/** A KubeError met while acting for a user, as the console answers it: 403 stays 403 with Kubernetes' reason. */
export function consoleErrorFromKube(err: unknown, doing: string): ConsoleError {
  const e = toKubeError(err);
  switch (e.code) {
    case 401:
      return new ConsoleError(
        401,
        "Unauthorized",
        `Kubernetes no longer accepts your token (${doing})`,
        "Log in again with a valid token.",
      );
    case 403:
      return new ConsoleError(
        403,
        "Forbidden",
        `Kubernetes refused to let you ${doing}: ${kubernetesReason(e)}`,
        "Ask a cluster admin for a role that grants it, or log in with a token that has it.",
      );
    case 404:
      return new ConsoleError(404, "NotFound", `cannot ${doing}: ${kubernetesReason(e)}`);
    case 409:
      return new ConsoleError(
        409,
        e.reason,
        `cannot ${doing}: ${kubernetesReason(e)}`,
        e.reason === "AlreadyExists" ? "Choose another name." : "Reload and try again.",
      );
    case 422:
      return new ConsoleError(
        422,
        "Invalid",
        `Kubernetes refused the object (${doing}): ${kubernetesReason(e)}`,
        "Correct the fields named in the message.",
        (e.details?.causes ?? []).map((c) => ({ field: c.field ?? "", message: c.message ?? "", fix: "" })),
      );
    case 0:
      return new ConsoleError(502, e.reason, `cannot reach Kubernetes to ${doing}: ${e.message}`);
    default:
      return new ConsoleError(e.code >= 500 ? 502 : e.code, e.reason, `cannot ${doing}: ${kubernetesReason(e)}`);
  }
}

function invalidToken(): ConsoleError {
  return new ConsoleError(
    401,
    "Unauthorized",
    "Kubernetes rejected this token (401 Unauthorized)",
    "Check that you pasted the whole token for this cluster, and that it has not expired.",
  );
}

async function canList(cluster: Cluster, resource: ResourceRef): Promise<{ ok: boolean; error?: KubeError }> {
  try {
    await cluster.rest.requestJson({
      path: collectionPath(resource),
      query: { limit: 1 },
      target: { verb: "list", resource: qualifiedName(resource) },
    });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: toKubeError(err) };
  }
}

/**
 * Checks that the token authenticates. Throws 401 when Kubernetes rejects it; 403 on a list is fine
 * here (a valid token with little access); read access is decided by readAccess().
 */
export async function verifyToken(userCluster: Cluster): Promise<void> {
  const probe = await canList(userCluster, RESOURCES.namespaces);
  if (probe.ok || probe.error?.code === 403) return;
  if (probe.error?.code === 401) throw invalidToken();
  throw consoleErrorFromKube(probe.error, "check the token");
}

/**
 * The user's name: SelfSubjectReview with their own token (Kubernetes ≥ 1.28, `kubectl auth whoami`),
 * else a TokenReview made with the console's identity; null when neither answers.
 */
export async function identify(userCluster: Cluster, consoleCluster: Cluster, token: string): Promise<SessionUser> {
  try {
    const review = await userCluster.rest.requestJson<{
      status?: { userInfo?: { username?: string; groups?: string[] } };
    }>({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
      target: { verb: "create", resource: "selfsubjectreviews.authentication.k8s.io" },
    });
    const info = review?.status?.userInfo;
    if (info?.username) return { username: info.username, groups: info.groups ?? [] };
  } catch {
    // not served (Kubernetes < 1.28) or not allowed: ask with the console's identity
  }
  try {
    const review = await consoleCluster.rest.requestJson<{
      status?: { authenticated?: boolean; user?: { username?: string; groups?: string[] } };
    }>({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
      target: { verb: "create", resource: "tokenreviews.authentication.k8s.io" },
    });
    const user = review?.status?.user;
    if (review?.status?.authenticated && user?.username) return { username: user.username, groups: user.groups ?? [] };
  } catch {
    // the console may not review tokens: the user stays nameless
  }
  return { username: null, groups: [] };
}

/** Whether the user could list every kind the mesh view shows; 401 ends the session. */
export async function readAccess(userCluster: Cluster): Promise<ReadAccess> {
  const probes = await Promise.all(MESH_READ_KINDS.map((r) => canList(userCluster, r)));
  if (probes.some((p) => p.error?.code === 401)) throw invalidToken();
  const failed = probes.map((p, i) => ({ p, r: MESH_READ_KINDS[i] })).filter(({ p }) => !p.ok);
  if (failed.length === 0) return { allowed: true, missing: [], message: null };
  const missing = failed.map(({ r }) => qualifiedName(r));
  const forbidden = failed.find(({ p }) => p.error?.code === 403)?.p.error;
  const message = forbidden
    ? `the mesh view needs cluster-wide list access to ${missing.join(", ")}; Kubernetes says: ${kubernetesReason(forbidden)}`
    : `could not check your access to ${missing.join(", ")}: ${failed[0].p.error?.message ?? "unknown error"}`;
  return { allowed: false, missing, message };
}

/** Whether the user may list MeshUpgrades (the Upgrades page). */
export async function canListUpgrades(userCluster: Cluster): Promise<{ ok: boolean; error?: KubeError }> {
  return canList(userCluster, MESH_UPGRADES);
}

interface AccessQuestion {
  verb: string;
  resource: ResourceRef;
}

async function ask(userCluster: Cluster, who: string, q: AccessQuestion): Promise<Permission> {
  const what = `${q.verb} ${qualifiedName(q.resource)}`;
  try {
    const review = await userCluster.rest.requestJson<{
      status?: { allowed?: boolean; denied?: boolean; reason?: string };
    }>({
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { verb: q.verb, group: q.resource.group, resource: q.resource.plural } },
      },
      target: { verb: "create", resource: "selfsubjectaccessreviews.authorization.k8s.io" },
    });
    if (review?.status?.allowed) return { allowed: true, reason: null };
    const said = review?.status?.reason ? ` (${review.status.reason})` : "";
    return {
      allowed: false,
      reason: `Kubernetes RBAC does not allow ${who} to ${what} across the cluster${said} — ask a cluster admin for a role that grants it`,
    };
  } catch (err) {
    const e = toKubeError(err);
    if (e.code === 401) throw invalidToken();
    return {
      allowed: false,
      reason: `Kubernetes would not tell whether ${who} may ${what}: ${kubernetesReason(e)} — every user may normally ask (ClusterRole system:basic-user)`,
    };
  }
}

/** The console's actions, each allowed or not with the reason (one SelfSubjectAccessReview per question). */
export async function permissionsOf(userCluster: Cluster, user: SessionUser): Promise<Permissions> {
  const who = user.username ? `user "${user.username}"` : "your user";
  const [createUpgrade, actOnUpgrade, ...restarts] = await Promise.all([
    ask(userCluster, who, { verb: "create", resource: MESH_UPGRADES }),
    ask(userCluster, who, { verb: "patch", resource: MESH_UPGRADES }),
    ...[RESOURCES.deployments, RESOURCES.statefulSets, RESOURCES.daemonSets].map((resource) =>
      ask(userCluster, who, { verb: "patch", resource }),
    ),
  ]);
  const refusedRestart = restarts.find((p) => !p.allowed);
  return { createUpgrade, actOnUpgrade, restartWorkloads: refusedRestart ?? { allowed: true, reason: null } };
}
