// A small client for the console's API in tests: log in with a token (session cookie and CSRF token),
// then call routes as that user.
import assert from "node:assert/strict";
import type { SessionInfo } from "../../src/server/index.js";

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiUser {
  cookie: string;
  csrf: string;
  info: SessionInfo;
  call<T = any>(method: string, path: string, body?: unknown): Promise<Answer<T>>;
}

export async function callApi<T = any>(
  base: string,
  method: string,
  path: string,
  options: { cookie?: string; csrf?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf) headers["x-meshlift-csrf"] = options.csrf;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(base + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

export async function loginApi(base: string, token: string): Promise<ApiUser> {
  const r = await callApi<SessionInfo>(base, "POST", "/api/session", { csrf: "login", body: { token } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const cookie = (r.headers.get("set-cookie") ?? "").split(";")[0];
  const csrf = r.body.csrfToken;
  return {
    cookie,
    csrf,
    info: r.body,
    call: (method, path, body) => callApi(base, method, path, { cookie, csrf, body }),
  };
}
