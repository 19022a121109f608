import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeError } from "./errors.js";
import { RestClient } from "./rest.js";
import { Backoff, backoffDelay, isRetryable, withRetry } from "./retry.js";

function restFor(server: string): RestClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  return new RestClient(kc, { requestTimeoutMs: 2000 });
}

/** A server that answers the n-th request with responses[n] (the last one repeats). */
async function scripted(responses: ((res: http.ServerResponse, req: http.IncomingMessage) => void)[]) {
  let calls = 0;
  const server = http.createServer((req, res) => responses[Math.min(calls++, responses.length - 1)](res, req));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, calls: () => calls };
}

const status =
  (code: number, reason: string, extra: Record<string, unknown> = {}) =>
  (res: http.ServerResponse) =>
    res.writeHead(code, { "content-type": "application/json", ...(extra.headers as object) }).end(
      JSON.stringify({
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason,
        message: `${reason} happened`,
        code,
        ...(extra.body as object),
      }),
    );
const ok = (res: http.ServerResponse) => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');

describe("withRetry against a live HTTP server", () => {
  const servers: http.Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  async function run(responses: Parameters<typeof scripted>[0], attempts = 5) {
    const s = await scripted(responses);
    servers.push(s.server);
    const rest = restFor(s.url);
    const delays: number[] = [];
    const result = await withRetry(() => rest.requestJson<{ ok: boolean }>({ path: "/api/v1/pods" }), {
      attempts,
      sleep: async (ms) => void delays.push(ms),
      random: () => 0.5,
    }).then(
      (value): { value?: { ok: boolean }; error?: KubeError } => ({ value }),
      (error: KubeError): { value?: { ok: boolean }; error?: KubeError } => ({ error }),
    );
    rest.close();
    return { ...result, delays, calls: s.calls() };
  }

  test("429 with Retry-After: waits at least the server's seconds, then succeeds", async () => {
    const r = await run([status(429, "TooManyRequests", { headers: { "retry-after": "2" } }), ok]);
    assert.deepEqual(r.value, { ok: true });
    assert.equal(r.calls, 2);
    assert.deepEqual(r.delays, [2000]);
  });

  test("Retry-After carried only in Status details is honoured too", async () => {
    const r = await run([status(500, "InternalError", { body: { details: { retryAfterSeconds: 3 } } }), ok]);
    assert.deepEqual(r.delays, [3000]);
  });

  test("5xx twice, then 200: three attempts with growing backoff", async () => {
    const r = await run([status(503, "ServiceUnavailable"), status(500, "InternalError"), ok]);
    assert.deepEqual(r.value, { ok: true });
    assert.equal(r.calls, 3);
    assert.ok(r.delays[1] > r.delays[0], `delays should grow: ${r.delays}`);
  });

  test("a connection reset mid-request is retried", async () => {
    const r = await run([(res) => res.socket?.destroy(), ok]);
    assert.deepEqual(r.value, { ok: true });
    assert.equal(r.calls, 2);
  });

  for (const [code, reason] of [
    [400, "BadRequest"],
    [403, "Forbidden"],
    [404, "NotFound"],
    [409, "Conflict"],
    [422, "Invalid"],
    [501, "NotImplemented"],
  ] as const) {
    test(`${code} ${reason} is final: one attempt, the KubeError is thrown`, async () => {
      const r = await run([status(code, reason), ok]);
      assert.equal(r.calls, 1);
      assert.equal(r.error?.code, code);
      assert.equal(r.error?.reason, reason);
    });
  }

  test("attempts run out: the last error is thrown after exactly `attempts` calls", async () => {
    const r = await run([status(503, "ServiceUnavailable")], 3);
    assert.equal(r.calls, 3);
    assert.equal(r.error?.code, 503);
    assert.equal(r.delays.length, 2);
  });

  test("a Retry-After beyond the limit is not waited for", async () => {
    const r = await run([status(429, "TooManyRequests", { headers: { "retry-after": "3600" } }), ok]);
    assert.equal(r.calls, 1);
    assert.equal(r.error?.code, 429);
  });
});

describe("backoff", () => {
  test("every delay lies in [0, min(max, base·2^(n-1))]", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, max, r) => {
          const d = backoffDelay(attempt, { baseDelayMs: base, maxDelayMs: max, jitter: 1 }, () => r);
          return d >= 0 && d <= Math.min(max, base * 2 ** (attempt - 1));
        },
      ),
    );
  });

  test("without jitter the sequence doubles up to the cap, and reset starts over", () => {
    const b = new Backoff({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000]);
    b.reset();
    assert.equal(b.next(), 100);
  });

  test("refused connections and kubeconfig errors are not retryable; resets and timeouts are", () => {
    const e = (code: number, reason: string) => new KubeError({ code, reason, message: reason });
    assert.equal(isRetryable(e(0, "Unreachable")), false);
    assert.equal(isRetryable(e(0, "BadKubeconfig")), false);
    assert.equal(isRetryable(e(0, "ConnectionReset")), true);
    assert.equal(isRetryable(e(0, "Timeout")), true);
    assert.equal(isRetryable(e(429, "TooManyRequests")), true);
  });
});
