// Who is logged in. The session itself lives on the server (an HttpOnly cookie names it); the
// browser keeps only what the server says about it: the user, the CSRF token and the permissions.
import type { SessionInfo } from "../../src/server/api-types.js";
import { ApiError, api } from "./api.ts";
import { live } from "./live.ts";
import { Observable } from "./store.ts";

/** undefined while the first check runs; null when logged out */
export const session = new Observable<SessionInfo | null | undefined>(undefined);
/** why the user was logged out, shown on the login page */
export const logoutReason = new Observable<string | null>(null);

function loggedOut(reason: string | null): void {
  live.reset();
  api.setCsrfToken(null);
  logoutReason.set(reason);
  session.set(null);
}

api.onUnauthorized((error) => loggedOut(error.message));
live.endedReason.subscribe(() => {
  const reason = live.endedReason.get();
  if (reason && /session|token|log in/i.test(reason)) loggedOut(reason);
});

export async function restoreSession(): Promise<void> {
  try {
    session.set(await api.session());
    live.connect();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) loggedOut(null);
    else loggedOut(err instanceof Error ? err.message : String(err));
  }
}

/** Throws ApiError with the server's reason when the token is refused. */
export async function login(token: string): Promise<void> {
  const info = await api.login(token);
  logoutReason.set(null);
  session.set(info);
  live.connect();
}

export async function logout(): Promise<void> {
  try {
    await api.logout();
  } finally {
    loggedOut(null);
  }
}

/** Asks the server again (permissions are re-checked with Kubernetes at most once a minute). */
export async function refreshSession(): Promise<void> {
  try {
    session.set(await api.session());
  } catch {
    // a 401 already logged the user out through onUnauthorized
  }
}
