// Console sessions: the user's bearer token stays on the server, keyed by a random session id that
// the browser holds in an HttpOnly, SameSite=Strict cookie (Secure over https), so page scripts never
// see the token and it is never in a URL. Each session also has a CSRF token (synchronizer-token
// pattern) that mutating requests must echo in a header.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Cluster } from "../kube/config.js";
import type { Permissions, SessionUser } from "./api-types.js";

export const SESSION_COOKIE = "meshlift_session";
/** The `__Host-` prefix makes browsers refuse the cookie unless it is Secure, Path=/ and host-only. */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

export interface ReadAccess {
  allowed: boolean;
  /** what the user may not list, e.g. ["pods", "mutatingwebhookconfigurations.admissionregistration.k8s.io"] */
  missing: string[];
  message: string | null;
}

export interface Session {
  id: string;
  csrfToken: string;
  user: SessionUser;
  /** the API server as this user: every write goes through it */
  cluster: Cluster;
  createdAt: number;
  lastSeenAt: number;
  readAccess?: { checkedAt: number; value: ReadAccess };
  /** may list MeshUpgrades: null, or Kubernetes' reason why not */
  upgradeAccess?: { checkedAt: number; refusal: string | null };
  permissions?: { checkedAt: number; value: Permissions };
}

export type SessionEndReason = "logout" | "idle" | "lifetime" | "token-rejected" | "shutdown";

export interface SessionStoreOptions {
  /** a session unused for this long ends (default 30 min) */
  idleTimeoutMs?: number;
  /** and every session ends this long after login (default 12 h) */
  maxLifetimeMs?: number;
  now?: () => number;
}

function randomId(): string {
  return randomBytes(32).toString("base64url");
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly endListeners = new Set<(session: Session, reason: SessionEndReason) => void>();
  private readonly idleTimeoutMs: number;
  private readonly maxLifetimeMs: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: SessionStoreOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000;
    this.maxLifetimeMs = options.maxLifetimeMs ?? 12 * 3_600_000;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, this.idleTimeoutMs));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  create(user: SessionUser, cluster: Cluster): Session {
    const at = this.now();
    const session: Session = { id: randomId(), csrfToken: randomId(), user, cluster, createdAt: at, lastSeenAt: at };
    this.sessions.set(session.id, session);
    return session;
  }

  expiresAt(session: Session): number {
    return Math.min(session.lastSeenAt + this.idleTimeoutMs, session.createdAt + this.maxLifetimeMs);
  }

  /** The live session of an id, touched; undefined when unknown or expired (and then ended). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const reason = this.expiry(session);
    if (reason) {
      this.end(session, reason);
      return undefined;
    }
    session.lastSeenAt = this.now();
    return session;
  }

  /** A long-lived stream keeps its session alive without a request. */
  touch(session: Session): void {
    session.lastSeenAt = this.now();
  }

  isLive(session: Session): boolean {
    return this.sessions.get(session.id) === session && this.expiry(session) === null;
  }

  end(session: Session, reason: SessionEndReason): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    session.cluster.close();
    for (const listener of this.endListeners) listener(session, reason);
  }

  onEnd(listener: (session: Session, reason: SessionEndReason) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  private expiry(session: Session): SessionEndReason | null {
    const at = this.now();
    if (at >= session.createdAt + this.maxLifetimeMs) return "lifetime";
    if (at >= session.lastSeenAt + this.idleTimeoutMs) return "idle";
    return null;
  }

  sweep(): void {
    for (const session of [...this.sessions.values()]) {
      const reason = this.expiry(session);
      if (reason) this.end(session, reason);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const session of [...this.sessions.values()]) this.end(session, "shutdown");
  }
}

/** Cookie header → name/value pairs (RFC 6265 §5.2, values not decoded beyond quotes). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!(name in cookies)) cookies[name] = value;
  }
  return cookies;
}

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** Set-Cookie for a session id: HttpOnly (no script access), SameSite=Strict (never sent cross-site). */
export function sessionCookie(id: string, secure: boolean): string {
  return `${sessionCookieName(secure)}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${sessionCookieName(secure)}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`;
}
