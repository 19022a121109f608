// HTTP plumbing of the console: JSON bodies and answers, security headers, and the request guards —
// the Host check (DNS rebinding) and the CSRF rules for requests that change something.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { ApiErrorBody } from "./api-types.js";
import { ConsoleError } from "./access.js";
import { sameSecret } from "./session.js";

export const CSRF_HEADER = "x-meshlift-csrf";
const MAX_BODY_BYTES = 1024 * 1024;

/** The page may load only its own scripts and styles and talk only to its own origin. */
export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(text)),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function errorBody(error: ConsoleError): ApiErrorBody {
  return {
    error: {
      status: error.status,
      reason: error.reason,
      message: error.message,
      ...(error.fix ? { fix: error.fix } : {}),
      ...(error.fields?.length ? { fields: error.fields } : {}),
    },
  };
}

export function sendError(res: ServerResponse, error: ConsoleError, headers: Record<string, string> = {}): void {
  sendJson(res, error.status, errorBody(error), headers);
}

/** Reads a JSON request body of at most 1 MiB. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = String(req.headers["content-type"] ?? "");
  if (!/^application\/json\b/i.test(type)) {
    throw new ConsoleError(
      415,
      "UnsupportedMediaType",
      `the body must be JSON (Content-Type: application/json), not ${type || "nothing"}`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ConsoleError(413, "RequestEntityTooLarge", `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return text.trim() ? JSON.parse(text) : {};
  } catch (err) {
    throw new ConsoleError(400, "BadRequest", `the body is not valid JSON: ${(err as Error).message}`);
  }
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith("127.");
}

/** "example.com:8080" → "example.com"; "[::1]:80" → "[::1]". */
export function hostnameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}

/**
 * A console bound to loopback answers only to loopback host names: a page on another site whose
 * DNS name is re-pointed to 127.0.0.1 (DNS rebinding) gets 421 and never reaches the API.
 */
export function checkHost(headers: IncomingHttpHeaders, loopbackOnly: boolean): ConsoleError | null {
  const host = headers.host;
  if (!host) return new ConsoleError(400, "BadRequest", "the request has no Host header");
  if (loopbackOnly && !isLoopback(hostnameOf(host))) {
    return new ConsoleError(
      421,
      "MisdirectedRequest",
      `the console listens on loopback and answers only to localhost, not to "${hostnameOf(host)}"`,
      "Open it as http://localhost:<port> or http://127.0.0.1:<port>, or start it with --host to serve other names.",
    );
  }
  return null;
}

/**
 * CSRF rules for POST, PUT, PATCH and DELETE:
 *   1. same origin: an Origin header, when sent (browsers always send it on these methods), must be
 *      this server's own; Sec-Fetch-Site, when sent, must be same-origin;
 *   2. the X-Meshlift-CSRF header must be present — a custom header cannot be sent cross-site
 *      without a CORS preflight, which this server never approves — and, once logged in, equal the
 *      session's CSRF token (synchronizer token).
 * SameSite=Strict on the session cookie is a third, independent barrier.
 */
export function checkCsrf(
  headers: IncomingHttpHeaders,
  secure: boolean,
  sessionCsrfToken: string | undefined,
): ConsoleError | null {
  const refuse = (message: string) =>
    new ConsoleError(
      403,
      "CsrfRejected",
      message,
      "Use the console's own pages; scripts must send the X-Meshlift-CSRF header from GET /api/session.",
    );
  const origin = headers.origin;
  if (origin !== undefined) {
    const expected = `${secure ? "https" : "http"}://${String(headers.host ?? "").toLowerCase()}`;
    if (origin.toLowerCase() !== expected)
      return refuse(`cross-origin request refused: Origin ${origin} is not ${expected}`);
  }
  const site = headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none")
    return refuse(`cross-site request refused (Sec-Fetch-Site: ${String(site)})`);
  const sent = headers[CSRF_HEADER];
  if (typeof sent !== "string" || sent === "")
    return refuse(`the ${CSRF_HEADER} header is missing: requests that change something must carry it`);
  if (sessionCsrfToken !== undefined && !sameSecret(sent, sessionCsrfToken))
    return refuse(`the ${CSRF_HEADER} header does not match this session's CSRF token`);
  return null;
}
