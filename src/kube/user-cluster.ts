// A Cluster that acts as one console user: the same API server, CA and proxy as the console's own
// kubeconfig, but authenticated only by the user's bearer token — no client certificate, exec
// plugin or impersonation is carried over — so Kubernetes RBAC decides what each request may do.
import { KubeConfig } from "@kubernetes/client-node";
import { clusterOf, type Cluster } from "./config.js";
import { kubeconfigError } from "./errors.js";

/** RFC 6750 b64token, the characters a bearer token may have; anything else cannot be sent in a header. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/** Why a text cannot be a bearer token, or null when it can. Never echoes the text itself. */
export function bearerTokenProblem(token: string): string | null {
  if (token.length === 0) return "the token is empty";
  if (token.length > MAX_TOKEN_LENGTH) return `the token is longer than ${MAX_TOKEN_LENGTH} characters`;
  if (!BEARER_TOKEN.test(token))
    return "the token has characters a bearer token cannot contain (spaces, quotes or line breaks?) — paste the token alone";
  return null;
}

export interface UserClusterOptions {
  /** per-request timeout, ms (default: the base cluster's) */
  requestTimeoutMs?: number;
  /** a name for the user in error messages (never the token) */
  label?: string;
}

/** The base cluster's API server with `token` as the only credential. */
export function clusterForToken(base: Cluster, token: string, options: UserClusterOptions = {}): Cluster {
  const problem = bearerTokenProblem(token);
  if (problem) throw kubeconfigError(`cannot use the given bearer token: ${problem}`);
  const server = base.kubeConfig.getCurrentCluster();
  if (!server) throw kubeconfigError(`the console's kubeconfig (${base.source}) has no current cluster`);
  const label = options.label ?? "console user";
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...server, name: "console" }],
    users: [{ name: label, token }],
    contexts: [{ name: label, cluster: "console", user: label }],
    currentContext: label,
  });
  return clusterOf(kc, {
    requestTimeoutMs: options.requestTimeoutMs ?? base.rest.requestTimeoutMs,
    contextName: label,
    namespace: "default",
    source: `bearer token of ${label}`,
  });
}
