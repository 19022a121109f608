// The one typed error of the cluster boundary. Every failure that crosses src/kube/ — an HTTP Status
// from the API server, a network error, a bad kubeconfig — is turned into a KubeError exactly once,
// here, so callers branch on `code`/`reason` instead of parsing client-node's message dumps.
import { ApiException } from "@kubernetes/client-node";

/** Status.details as the API server sends it (meta/v1 StatusDetails). */
export interface StatusDetails {
  name?: string;
  group?: string;
  /** the resource (plural) the Status is about, despite the field's name */
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** What a request was about, so a message can say where it failed. */
export interface RequestTarget {
  /** base URL of the API server */
  server?: string;
  verb?: string;
  /** plural resource, e.g. "pods" or "envoyfilters.networking.istio.io" */
  resource?: string;
  namespace?: string;
  name?: string;
  path?: string;
  /** kubeconfig context name, for credential hints */
  context?: string;
}

/** Reasons for failures that never reached an API server response. */
export type TransportReason =
  | "Unreachable" // connection refused, host not found, network unreachable
  | "ConnectionReset" // socket closed mid-request
  | "Timeout" // no answer within the request timeout
  | "TLSError" // certificate verification / handshake failed
  | "BadKubeconfig" // no usable cluster/context/credentials
  | "BadResponse"; // a 2xx response that is not the JSON it should be

export class KubeError extends Error {
  /** HTTP status; 0 when no response arrived (network, kubeconfig) */
  readonly code: number;
  /** Status.reason ("NotFound", "Forbidden", "Expired", …) or a TransportReason */
  readonly reason: string;
  readonly details?: StatusDetails;
  /** the request the failure belongs to */
  readonly object?: RequestTarget;
  /** the server's Retry-After (header or details.retryAfterSeconds) */
  readonly retryAfterSeconds?: number;
  /** the API server's own message, before hints were added */
  readonly serverMessage?: string;

  constructor(init: {
    code: number;
    reason: string;
    message: string;
    details?: StatusDetails;
    object?: RequestTarget;
    retryAfterSeconds?: number;
    serverMessage?: string;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "KubeError";
    this.code = init.code;
    this.reason = init.reason;
    this.details = init.details;
    this.object = init.object;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.serverMessage = init.serverMessage;
  }

  /** No API server answered, or it refused who we are: the CLI maps these to "cluster unreachable/auth". */
  get isAccessProblem(): boolean {
    return this.code === 0 || this.code === 401 || this.code === 403;
  }
}

export function isKubeError(err: unknown): err is KubeError {
  return err instanceof KubeError;
}

function describeTarget(t: RequestTarget | undefined): string {
  if (!t) return "";
  const what = [t.resource, t.name ? `"${t.name}"` : ""].filter(Boolean).join(" ");
  const where = t.namespace ? ` in namespace ${t.namespace}` : "";
  return what ? `${t.verb ? `${t.verb} ` : ""}${what}${where}` : (t.path ?? "");
}

function asStatus(
  body: unknown,
): { message?: string; reason?: string; details?: StatusDetails; code?: number } | undefined {
  let value = body;
  if (typeof body === "string") {
    if (!body.trim()) return undefined;
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.trim().slice(0, 500) };
    }
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    return {
      message: typeof v.message === "string" ? v.message : undefined,
      reason: typeof v.reason === "string" ? v.reason : undefined,
      details: v.details && typeof v.details === "object" ? (v.details as StatusDetails) : undefined,
      code: typeof v.code === "number" ? v.code : undefined,
    };
  }
  return undefined;
}

const REASON_BY_CODE: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Expired",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  501: "NotImplemented",
  503: "ServiceUnavailable",
  504: "Timeout",
};

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== "object") return undefined;
  if (typeof (headers as { get?: unknown }).get === "function") {
    const v = (headers as { get(n: string): string | null }).get(name);
    return v ?? undefined;
  }
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : v == null ? undefined : String(v);
  }
  return undefined;
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function hintFor(code: number, reason: string, target: RequestTarget | undefined): string {
  const ctx = target?.context ? ` (context "${target.context}")` : "";
  switch (code) {
    case 401:
      return `the credentials in the kubeconfig${ctx} were rejected — refresh the token or certificate (e.g. re-run your provider's get-credentials) or choose another --context`;
    case 403:
      return `the user${ctx} lacks RBAC permission to ${describeTarget(target) || "do this"} — ask a cluster admin for it, or use a context with more rights`;
    case 404:
      return "check the name and namespace; for a custom resource, check that its CRD is installed";
    case 409:
      return reason === "AlreadyExists"
        ? "the object already exists"
        : "the object changed meanwhile; re-read it and retry";
    case 410:
      return "the requested resourceVersion is too old; list again";
    case 415:
      return "the patch type is not accepted for this resource (custom resources take merge patch or server-side apply)";
    case 429:
      return "the API server is throttling requests; retry later";
    default:
      return code >= 500 ? "the API server failed; retry, and check the control plane's health if it persists" : "";
  }
}

/** A KubeError from an HTTP response with a (possibly empty, possibly non-JSON) Status body. */
export function kubeErrorFromResponse(
  httpStatus: number,
  body: unknown,
  headers: unknown,
  target?: RequestTarget,
  cause?: unknown,
): KubeError {
  const status = asStatus(body);
  const reason = status?.reason || REASON_BY_CODE[httpStatus] || (httpStatus >= 500 ? "InternalError" : "Unknown");
  const retryAfterSeconds = parseRetryAfter(headerValue(headers, "retry-after")) ?? status?.details?.retryAfterSeconds;
  const serverMessage = status?.message || `${httpStatus} ${reason}`;
  const at = target?.server ? ` (${target.server})` : "";
  const what = describeTarget(target);
  const hint = hintFor(httpStatus, reason, target);
  // real servers already name the object ("pods \"x\" not found"); only add it when they don't
  const named = target?.name ? serverMessage.includes(target.name) : false;
  const lead = what && !named ? `${what}: ` : "";
  return new KubeError({
    code: httpStatus,
    reason,
    message: `${lead}${serverMessage} [${httpStatus} ${reason}]${at}${hint ? ` — ${hint}` : ""}`,
    details: status?.details,
    object: target,
    retryAfterSeconds,
    serverMessage,
    cause,
  });
}

const NETWORK_CODES: Record<string, { reason: TransportReason; text: string }> = {
  ECONNREFUSED: { reason: "Unreachable", text: "connection refused" },
  ENOTFOUND: { reason: "Unreachable", text: "host not found" },
  EAI_AGAIN: { reason: "Unreachable", text: "DNS lookup failed" },
  EHOSTUNREACH: { reason: "Unreachable", text: "host unreachable" },
  ENETUNREACH: { reason: "Unreachable", text: "network unreachable" },
  ECONNRESET: { reason: "ConnectionReset", text: "connection reset" },
  EPIPE: { reason: "ConnectionReset", text: "connection closed" },
  UND_ERR_SOCKET: { reason: "ConnectionReset", text: "connection closed" },
  ETIMEDOUT: { reason: "Timeout", text: "connection timed out" },
  ESOCKETTIMEDOUT: { reason: "Timeout", text: "socket timed out" },
};

function errorCode(err: unknown): string | undefined {
  for (let e: any = err, depth = 0; e && depth < 4; e = e.cause, depth++) {
    if (typeof e.code === "string") return e.code;
    if (typeof e.errno === "string") return e.errno;
  }
  return undefined;
}

/** A KubeError for a failure that never got an HTTP response. */
export function kubeErrorFromNetwork(err: unknown, target?: RequestTarget, timeoutMs?: number): KubeError {
  const code = errorCode(err);
  const server = target?.server ?? "the configured server";
  const original = err instanceof Error ? err.message : String(err);
  const isAbortTimeout = (err as any)?.name === "TimeoutError" || (err as any)?.type === "request-timeout";
  if (isAbortTimeout || code === "ETIMEDOUT" || code === "ESOCKETTIMEDOUT") {
    const after = timeoutMs ? ` after ${timeoutMs} ms` : "";
    return new KubeError({
      code: 0,
      reason: "Timeout",
      message: `the Kubernetes API at ${server} did not answer${after}${target?.path ? ` (${target.verb ?? "GET"} ${target.path})` : ""} — is the cluster overloaded or the network slow? raise --request-timeout or retry`,
      object: target,
      cause: err,
    });
  }
  if (
    (code?.startsWith("ERR_TLS") ?? false) ||
    (code?.includes("CERT") ?? false) ||
    /certificate|self.signed|SSL/i.test(original)
  ) {
    return new KubeError({
      code: 0,
      reason: "TLSError",
      message: `TLS with the Kubernetes API at ${server} failed: ${original} — check certificate-authority(-data) in the kubeconfig, or the server address`,
      object: target,
      cause: err,
    });
  }
  const known = code ? NETWORK_CODES[code] : undefined;
  if (known?.reason === "Unreachable") {
    return new KubeError({
      code: 0,
      reason: "Unreachable",
      message: `cannot reach the Kubernetes API at ${server}: ${known.text} — is the cluster running / is the kubeconfig right?`,
      object: target,
      cause: err,
    });
  }
  if (known) {
    return new KubeError({
      code: 0,
      reason: known.reason,
      message: `the connection to the Kubernetes API at ${server} failed: ${known.text}${target?.path ? ` during ${target.verb ?? "GET"} ${target.path}` : ""} — retry; if it persists, check the network path to the cluster`,
      object: target,
      cause: err,
    });
  }
  return new KubeError({
    code: 0,
    reason: "ConnectionReset",
    message: `request to the Kubernetes API at ${server} failed: ${original}`,
    object: target,
    cause: err,
  });
}

/** A kubeconfig problem (missing file, unknown context, http without skip-TLS-verify, …). */
export function kubeconfigError(message: string, cause?: unknown): KubeError {
  return new KubeError({ code: 0, reason: "BadKubeconfig", message, cause });
}

/**
 * Turns anything thrown by client-node or the transport into a KubeError, once. client-node's
 * ApiException carries the raw Status JSON text in `body` (undefined on 401), and its message is
 * a dump of code, body and headers — never show that to a user.
 */
export function toKubeError(err: unknown, target?: RequestTarget): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) {
    return kubeErrorFromResponse(err.code, err.body, err.headers, target, err);
  }
  // client-node's Watch reports non-200 as a plain Error carrying statusCode
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === "number") return kubeErrorFromResponse(statusCode, undefined, undefined, target, err);
  return kubeErrorFromNetwork(err, target);
}
