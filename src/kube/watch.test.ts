// One watch connection against a scripted local server (single-call unit tests; the cache's
// supervision is tested against the sandbox in cache.test.ts).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeError } from "./errors.js";
import { RestClient } from "./rest.js";
import { watchOnce, type WatchEvent } from "./watch.js";

const servers: http.Server[] = [];
after(() => servers.forEach((s) => (s.closeAllConnections(), s.close())));

async function streaming(
  write: (res: http.ServerResponse, url: URL) => void,
): Promise<{ rest: RestClient; urls: URL[] }> {
  const urls: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    urls.push(url);
    res.writeHead(200, { "content-type": "application/json" });
    write(res, url);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: "c", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return { rest: new RestClient(kc, { requestTimeoutMs: 1000 }), urls };
}

const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;
const cm = (name: string, rv: string) => ({
  kind: "ConfigMap",
  metadata: { name, namespace: "a", resourceVersion: rv },
});
const request = { path: "/api/v1/configmaps", resourceVersion: "10", timeoutSeconds: 5, silenceTimeoutMs: 2000 };

describe("watchOnce", () => {
  test("sends watch, resourceVersion, bookmarks and timeoutSeconds; events arrive in order and advance the version", async () => {
    const { rest, urls } = await streaming((res) => {
      // one event split across two chunks, then a bookmark, then a clean end (server timeout)
      const first = line("ADDED", cm("one", "11"));
      res.write(first.slice(0, 20));
      setTimeout(() => {
        res.write(
          first.slice(20) +
            line("MODIFIED", cm("one", "12")) +
            line("BOOKMARK", { kind: "ConfigMap", metadata: { resourceVersion: "15" } }),
        );
        res.end();
      }, 20);
    });
    const events: WatchEvent[] = [];
    const end = await watchOnce(rest, request, async (e) => {
      await new Promise((r) => setTimeout(r, 5)); // a slow handler holds the next event back
      events.push(e);
    });
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.resourceVersion]),
      [
        ["ADDED", "11"],
        ["MODIFIED", "12"],
        ["BOOKMARK", "15"],
      ],
    );
    assert.deepEqual(end, { reason: "closed", resourceVersion: "15", events: 3 });
    const q = urls[0].searchParams;
    assert.equal(q.get("watch"), "true");
    assert.equal(q.get("resourceVersion"), "10");
    assert.equal(q.get("allowWatchBookmarks"), "true");
    assert.equal(q.get("timeoutSeconds"), "5");
    rest.close();
  });

  test("an ERROR event with 410 Expired ends the watch as expired (relist needed), not as a failure", async () => {
    const { rest } = await streaming((res) => {
      res.write(
        line("ERROR", {
          kind: "Status",
          status: "Failure",
          message: "too old resource version: 10 (40)",
          reason: "Expired",
          code: 410,
        }),
      );
    });
    const end = await watchOnce(rest, request, () => undefined);
    assert.equal(end.reason, "expired");
    assert.equal(end.reason === "expired" && end.message, "too old resource version: 10 (40)");
    rest.close();
  });

  test("a line that is not JSON is a BadResponse error, never silently dropped", async () => {
    const { rest } = await streaming((res) => res.write(line("ADDED", cm("a", "11")) + "<html>proxy error</html>\n"));
    await assert.rejects(
      watchOnce(rest, request, () => undefined),
      (e: KubeError) => e.reason === "BadResponse",
    );
    rest.close();
  });

  test("a stream that goes quiet ends as silent at the last version seen", async () => {
    const { rest } = await streaming((res) => res.write(line("ADDED", cm("a", "11"))));
    const started = Date.now();
    const end = await watchOnce(rest, { ...request, silenceTimeoutMs: 200 }, () => undefined);
    assert.deepEqual(end, { reason: "silent", resourceVersion: "11", events: 1 });
    assert.ok(Date.now() - started < 1500);
    rest.close();
  });

  test("a handler's own error propagates unchanged", async () => {
    const { rest } = await streaming((res) => res.write(line("ADDED", cm("a", "11"))));
    const boom = new Error("handler failed");
    await assert.rejects(
      watchOnce(rest, request, () => {
        throw boom;
      }),
      (e) => e === boom,
    );
    rest.close();
  });

  test("the caller's abort ends the watch as aborted", async () => {
    const { rest } = await streaming((res) => res.write(line("ADDED", cm("a", "11"))));
    const controller = new AbortController();
    const end = watchOnce(
      rest,
      { ...request, signal: controller.signal },
      () => void setTimeout(() => controller.abort(), 10),
    );
    assert.equal((await end).reason, "aborted");
    rest.close();
  });
});

test("watchOnce with an already-aborted signal returns at once without connecting", async () => {
  const { rest, urls } = await streaming(() => undefined);
  const controller = new AbortController();
  controller.abort();
  const end = await watchOnce(rest, { ...request, signal: controller.signal }, () => undefined);
  assert.equal(end.reason, "aborted");
  assert.equal(urls.length, 0);
  rest.close();
});
