import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApiException, KubeConfig } from "@kubernetes/client-node";
import { KubeError, parseRetryAfter, toKubeError } from "./errors.js";
import { RestClient } from "./rest.js";

function restFor(server: string, requestTimeoutMs = 2000): RestClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t0ken" }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  return new RestClient(kc, { requestTimeoutMs, context: "ctx" });
}

async function serve(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const notFoundStatus = {
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message: 'pods "web-1" not found',
  reason: "NotFound",
  details: { name: "web-1", kind: "pods" },
  code: 404,
};

describe("KubeError from client-node's ApiException", () => {
  test("a raw Status JSON body becomes code, reason, details and a readable message", () => {
    const ex = new ApiException(404, "Unknown API Status Code!", JSON.stringify(notFoundStatus), {
      "content-type": "application/json",
    });
    const err = toKubeError(ex, {
      verb: "get",
      resource: "pods",
      name: "web-1",
      namespace: "shop",
      server: "https://k8s:6443",
    });
    assert.equal(err.code, 404);
    assert.equal(err.reason, "NotFound");
    assert.deepEqual(err.details, { name: "web-1", kind: "pods" });
    assert.match(err.message, /pods "web-1" not found \[404 NotFound\] \(https:\/\/k8s:6443\)/);
    assert.doesNotMatch(err.message, /HTTP-Code|Headers/, "client-node's dump must not leak into the message");
  });

  test("a 401 without a body says the credentials of the context were rejected", () => {
    const err = toKubeError(new ApiException(401, "Unauthorized", undefined, {}), {
      context: "prod",
      server: "https://k8s",
    });
    assert.equal(err.reason, "Unauthorized");
    assert.match(err.message, /credentials .*context "prod".* were rejected/);
    assert.equal(err.isAccessProblem, true);
  });

  test("a 403 names the denied verb, resource and namespace", () => {
    const status = {
      kind: "Status",
      message: 'pods is forbidden: User "viewer" cannot list resource "pods"',
      reason: "Forbidden",
      code: 403,
    };
    const err = toKubeError(new ApiException(403, "x", JSON.stringify(status), {}), {
      verb: "list",
      resource: "pods",
      namespace: "istio-system",
    });
    assert.equal(err.code, 403);
    assert.match(err.message, /^list pods in namespace istio-system: pods is forbidden/);
    assert.match(err.message, /lacks RBAC permission to list pods in namespace istio-system/);
  });

  test("a body that is already an object (not text) is read too", () => {
    const err = toKubeError(new ApiException(409, "x", { reason: "AlreadyExists", message: "exists" }, {}));
    assert.equal(err.reason, "AlreadyExists");
  });

  test("Retry-After: delta seconds, HTTP dates, and garbage", () => {
    assert.equal(parseRetryAfter("7"), 7);
    assert.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1)), 10);
    assert.equal(parseRetryAfter("soon"), undefined);
  });
});

describe("KubeError from the REST transport", () => {
  const servers: http.Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  test("a Status body on 404 becomes a NotFound KubeError; the token is sent as a bearer", async () => {
    let auth: string | undefined;
    const { url, server } = await serve((req, res) => {
      auth = req.headers.authorization;
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify(notFoundStatus));
    });
    servers.push(server);
    const rest = restFor(url);
    const err = await rest.requestJson({ path: "/api/v1/namespaces/shop/pods/web-1" }).then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeError);
    assert.equal(err.code, 404);
    assert.equal(err.reason, "NotFound");
    assert.equal(auth, "Bearer t0ken");
    rest.close();
  });

  test("a non-JSON error page (a proxy's 502) keeps its text and reads as InternalError-class", async () => {
    const { url, server } = await serve((_req, res) =>
      res.writeHead(502, { "content-type": "text/html" }).end("<html>Bad Gateway</html>"),
    );
    servers.push(server);
    const rest = restFor(url);
    await assert.rejects(
      rest.requestJson({ path: "/api/v1/pods" }),
      (e: KubeError) => e.code === 502 && /Bad Gateway/.test(e.message),
    );
    rest.close();
  });

  test("a 200 that is not JSON is a BadResponse that says the address may not be an API server", async () => {
    const { url, server } = await serve((_req, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end("<html>login</html>"),
    );
    servers.push(server);
    const rest = restFor(url);
    await assert.rejects(
      rest.requestJson({ path: "/version" }),
      (e: KubeError) => e.reason === "BadResponse" && /not JSON/.test(e.message),
    );
    rest.close();
  });

  test("a refused connection says the API cannot be reached and what to check", async () => {
    const { url, server } = await serve(() => undefined);
    await new Promise((r) => server.close(r));
    const rest = restFor(url);
    await assert.rejects(rest.requestJson({ path: "/version" }), (e: KubeError) => {
      assert.equal(e.code, 0);
      assert.equal(e.reason, "Unreachable");
      assert.equal(
        e.message,
        `cannot reach the Kubernetes API at ${url}: connection refused — is the cluster running / is the kubeconfig right?`,
      );
      return true;
    });
  });

  test("a server that never answers hits the request timeout with a Timeout KubeError", async () => {
    const { url, server } = await serve(() => undefined); // never responds
    servers.push(server);
    const rest = restFor(url, 150);
    const started = Date.now();
    await assert.rejects(
      rest.requestJson({ path: "/version" }),
      (e: KubeError) => e.reason === "Timeout" && /did not answer after 150 ms/.test(e.message),
    );
    assert.ok(Date.now() - started < 2000);
    rest.close();
    server.closeAllConnections();
  });
});
