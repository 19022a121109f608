// The console's API client: same-origin fetch with the session cookie (HttpOnly: this code never
// sees it), the CSRF header on every write, and the server's error bodies turned into ApiError so a
// form can show exactly what the server said was wrong and how to fix it.
import type { ApiErrorBody, SessionInfo } from "../../src/server/api-types.js";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly fix?: string,
    readonly fields: { field: string; message: string; fix: string }[] = [],
    readonly body?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const CSRF_HEADER = "X-Meshlift-CSRF";

type Method = "GET" | "POST" | "PATCH" | "DELETE";

export class ApiClient {
  /** the session's CSRF token, kept in memory only; "login" before there is a session */
  private csrfToken = "login";
  private readonly unauthorizedListeners = new Set<(error: ApiError) => void>();

  setCsrfToken(token: string | null): void {
    this.csrfToken = token ?? "login";
  }

  /** Called when any request answers 401: the session is gone. */
  onUnauthorized(listener: (error: ApiError) => void): () => void {
    this.unauthorizedListeners.add(listener);
    return () => this.unauthorizedListeners.delete(listener);
  }

  async request<T>(method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (method !== "GET") headers[CSRF_HEADER] = this.csrfToken;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        signal,
      });
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      throw new ApiError(
        0,
        "Unreachable",
        "the console server did not answer",
        "Check that `meshlift console` is still running.",
      );
    }
    const text = await response.text();
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (!response.ok) {
      const e = (parsed as ApiErrorBody | undefined)?.error;
      const error = new ApiError(
        response.status,
        e?.reason ?? response.statusText,
        e?.message ?? `${response.status} ${response.statusText}`,
        e?.fix,
        e?.fields ?? [],
        parsed,
      );
      if (response.status === 401 && path !== "/api/session") for (const l of this.unauthorizedListeners) l(error);
      throw error;
    }
    return parsed as T;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, undefined, signal);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  async login(token: string): Promise<SessionInfo> {
    const info = await this.request<SessionInfo>("POST", "/api/session", { token });
    this.setCsrfToken(info.csrfToken);
    return info;
  }

  async session(): Promise<SessionInfo> {
    const info = await this.get<SessionInfo>("/api/session");
    this.setCsrfToken(info.csrfToken);
    return info;
  }

  async logout(): Promise<void> {
    try {
      await this.request<void>("DELETE", "/api/session");
    } finally {
      this.setCsrfToken(null);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { status: 0, reason: "BadResponse", message: text.slice(0, 200) } };
  }
}

export const api = new ApiClient();

/** "?a=1&b=2" from defined values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : "";
}
