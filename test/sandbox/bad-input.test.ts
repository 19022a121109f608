// Acceptance "Bad input": malformed scenario files, unknown kinds, invalid objects, bad selectors and bad patch
// bodies each get the answer a real kube-apiserver (or a clear validator) gives — and change nothing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { parseScenario } from "../../sandbox/scenario/schema.js";
import type { KObject } from "../../sandbox/api/types.js";
import { kubectl } from "../helpers/kubectl.js";

const REPO = resolve(import.meta.dirname, "../..");
const FIXTURES = resolve(REPO, "../shared/fixtures/istio");
const TIMING = { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20, jobRunMs: 100, crashLoopMs: 50 };

interface Reply {
  code: number;
  body: any;
}

const configMap = (name: string, extra: Partial<KObject> = {}): KObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name },
  data: { mode: "a" },
  ...extra,
});

describe("Malformed scenario files stop `sandbox --scenario FILE` with file:line messages", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshlift-bad-scenario-"));
  const startSandboxProcess = (file: string) =>
    new Promise<{ code: number; stderr: string; stdout: string }>((done) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "sandbox/main.ts", "--scenario", file, "--kubeconfig", join(dir, "kubeconfig")],
        { cwd: REPO, timeout: 30_000 },
        (err, stdout, stderr) =>
          done({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr }),
      );
    });

  test("a YAML syntax error names the file and line, exit code 2, nothing started", async () => {
    const file = join(dir, "syntax.yaml");
    writeFileSync(
      file,
      "name: broken\nnamespaces:\n  - name: shop\n    workloads:\n      - name: web\n        replicas: [1\n",
    );
    const r = await startSandboxProcess(file);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^sandbox: invalid scenario ${file}:$`, "m"));
    assert.match(r.stderr, new RegExp(`${file}:\\d+:\\d+: YAML syntax error: `));
    assert.doesNotMatch(r.stdout, /ready/);
  });

  test("schema errors list every problem at its line: a negative count and a misspelt field with a suggestion", async () => {
    const file = join(dir, "schema.yaml");
    writeFileSync(
      file,
      "name: bad\nnamespaces:\n  - name: shop\n    workloads:\n      - name: web\n        replicas: -2\n        replicsa: 3\n",
    );
    const r = await startSandboxProcess(file);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`${file}:6:\\d+: namespaces\\[0\\]\\.workloads\\[0\\]\\.replicas: must be ≥ 0, got -2`),
    );
    assert.match(
      r.stderr,
      new RegExp(
        `${file}:7:9: namespaces\\[0\\]\\.workloads\\[0\\]: unknown field "replicsa" — did you mean "replicas"\\?`,
      ),
    );
  });
});

describe("Refused requests to the API server: code, reason and message as kube-apiserver gives them", () => {
  let sb: Sandbox;
  let envoyFilterPath = "";

  /** One HTTPS request with a real TLS client trusting the sandbox CA; token "admin" unless given (null: none). */
  const call = (
    method: string,
    path: string,
    o: { token?: string | null; body?: unknown; contentType?: string } = {},
  ) =>
    new Promise<Reply>((done, fail) => {
      const token = o.token === undefined ? sb.tokens.admin : o.token;
      const headers: Record<string, string> = { accept: "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      const payload = o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      if (payload !== undefined) headers["content-type"] = o.contentType ?? "application/json";
      const req = request(new URL(path, sb.url), { method, ca: sb.caPem, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => done({ code: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      });
      req.on("error", fail);
      req.end(payload);
    });

  /** Sends a request that must be refused, checks the Status body, and that the store did not move. */
  async function refused(
    send: () => Promise<Reply>,
    code: number,
    reason: string,
    message: string | RegExp,
  ): Promise<Reply> {
    await sb.idle();
    const rv = sb.store.resourceVersion;
    const r = await send();
    assert.equal(r.code, code, JSON.stringify(r.body));
    assert.equal(r.body.kind, "Status");
    assert.equal(r.body.status, "Failure");
    assert.equal(r.body.code, code);
    assert.equal(r.body.reason, reason);
    if (typeof message === "string") assert.equal(r.body.message, message);
    else assert.match(r.body.message, message);
    await sb.idle();
    assert.equal(sb.store.resourceVersion, rv, "a refused request changes nothing");
    return r;
  }

  /** refused() as a test body. */
  const refuses =
    (...args: Parameters<typeof refused>) =>
    async () => {
      await refused(...args);
    };

  before(async () => {
    // an empty cluster on the default Kubernetes version: only what these tests create moves the store
    sb = await startSandbox({
      scenario: parseScenario("name: bad-input\n", "bad-input.yaml"),
      empty: true,
      timing: TIMING,
    });
    // the EnvoyFilter CRD from Istio's own file, and one EnvoyFilter: a custom resource to patch
    const crd = parseAllDocuments(readFileSync(join(FIXTURES, "crd-all.gen.yaml"), "utf8"))
      .map((d) => d.toJS() as KObject)
      .find((o) => o?.metadata?.name === "envoyfilters.networking.istio.io")!;
    assert.equal(
      (await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", { body: crd })).code,
      201,
    );
    const version = crd.spec.versions.find((v: any) => v.storage).name;
    const ef = {
      apiVersion: `networking.istio.io/${version}`,
      kind: "EnvoyFilter",
      metadata: { name: "lua" },
      spec: { priority: 1 },
    };
    const created = await call("POST", `/apis/networking.istio.io/${version}/namespaces/default/envoyfilters`, {
      body: ef,
    });
    assert.equal(created.code, 201, JSON.stringify(created.body));
    envoyFilterPath = `/apis/networking.istio.io/${version}/namespaces/default/envoyfilters/lua`;
    assert.equal((await call("POST", "/api/v1/namespaces/default/configmaps", { body: configMap("cfg") })).code, 201);
  });
  after(async () => sb?.stop());

  test("the cluster has the namespaces kube-apiserver creates itself", () => {
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"])
      assert.ok(sb.store.get("/namespaces", undefined, ns), ns);
  });

  describe("unknown kinds", () => {
    test(
      "a raw POST to an unserved group/version is 404 NotFound",
      refuses(
        () =>
          call("POST", "/apis/example.com/v1/namespaces/default/widgets", {
            body: { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } },
          }),
        404,
        "NotFound",
        "the server could not find the requested resource",
      ),
    );

    test(
      "a served group with an unknown resource is 404 NotFound too",
      refuses(
        () => call("GET", "/apis/apps/v1/namespaces/default/widgets"),
        404,
        "NotFound",
        "the server could not find the requested resource",
      ),
    );

    test("kubectl apply of kind Widget fails before any request: no matches for kind", async () => {
      const rv = sb.store.resourceVersion;
      const r = await kubectl("kubectl", sb.kubeconfigPath, ["apply", "-f", "-"], {
        input: "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /resource mapping not found for name: "w" namespace: "" from "STDIN": no matches for kind "Widget" in version "example\.com\/v1"\nensure CRDs are installed first/,
      );
      assert.equal(sb.store.resourceVersion, rv);
    });
  });

  describe("invalid objects are 422 Invalid with the field and the rule", () => {
    test(
      "a Deployment whose selector does not match its template labels",
      refuses(
        () =>
          call("POST", "/apis/apps/v1/namespaces/default/deployments", {
            body: {
              apiVersion: "apps/v1",
              kind: "Deployment",
              metadata: { name: "web" },
              spec: {
                selector: { matchLabels: { app: "web" } },
                template: {
                  metadata: { labels: { app: "api" } },
                  spec: { containers: [{ name: "web", image: "nginx" }] },
                },
              },
            },
          }),
        422,
        "Invalid",
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"api"}: `selector` does not match template `labels`',
      ),
    );

    test("a Pod without containers", async () => {
      const r = await refused(
        () =>
          call("POST", "/api/v1/namespaces/default/pods", {
            body: { apiVersion: "v1", kind: "Pod", metadata: { name: "empty" }, spec: { containers: [] } },
          }),
        422,
        "Invalid",
        'Pod "empty" is invalid: spec.containers: Required value',
      );
      assert.deepEqual(r.body.details.causes, [
        { reason: "FieldValueRequired", message: "Required value", field: "spec.containers" },
      ]);
      assert.equal(r.body.details.kind, "Pod");
      assert.equal(r.body.details.name, "empty");
    });

    test(
      "a name with upper-case letters",
      refuses(
        () => call("POST", "/api/v1/namespaces/default/configmaps", { body: configMap("Bad") }),
        422,
        "Invalid",
        `ConfigMap "Bad" is invalid: metadata.name: Invalid value: "Bad": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      ),
    );

    test("kubectl shows the same 422 to its user", async () => {
      const r = await kubectl("kubectl", sb.kubeconfigPath, ["apply", "-f", "-"], {
        input: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad\n",
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /The ConfigMap "Bad" is invalid: metadata\.name: Invalid value: "Bad": a lowercase RFC 1123 subdomain must consist of/,
      );
    });

    test(
      "an unknown field under fieldValidation=Strict is 400 strict decoding error",
      refuses(
        () =>
          call("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", {
            body: {
              apiVersion: "apps/v1",
              kind: "Deployment",
              metadata: { name: "web" },
              spec: {
                foo: 1,
                selector: { matchLabels: { app: "web" } },
                template: {
                  metadata: { labels: { app: "web" } },
                  spec: { containers: [{ name: "web", image: "nginx" }] },
                },
              },
            },
          }),
        400,
        "BadRequest",
        'strict decoding error: unknown field "spec.foo"',
      ),
    );
  });

  describe("bad selectors are 400 BadRequest", () => {
    test(
      "a label selector cut short after 'in ('",
      refuses(
        () => call("GET", "/api/v1/namespaces/default/pods?labelSelector=a%20in%20("),
        400,
        "BadRequest",
        "unable to parse requirement: found '', expected: ',', ')' or identifier",
      ),
    );

    test(
      "a label key that is not a qualified name",
      refuses(
        () => call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Amonolith"),
        400,
        "BadRequest",
        /^unable to parse requirement: <nil>: Invalid value: "app:monolith": name part must consist of alphanumeric characters/,
      ),
    );

    test("kubectl get -l wraps the server's message as kubectl does", async () => {
      const r = await kubectl("kubectl", sb.kubeconfigPath, ["get", "pods", "-l", "a in ("]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /Error from server \(BadRequest\): Unable to find "\/v1, Resource=pods" that match label selector "a in \(", field selector "": unable to parse requirement: found '', expected: ',', '\)' or identifier/,
      );
    });

    test(
      "a field a pod cannot be selected by: field label not supported",
      refuses(
        () => call("GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.foo%3Dx"),
        400,
        "BadRequest",
        "field label not supported: spec.foo",
      ),
    );

    test(
      "a kind without field-label conversions accepts only metadata.name and metadata.namespace",
      refuses(
        () => call("GET", "/api/v1/namespaces/default/configmaps?fieldSelector=data.mode%3Da"),
        400,
        "BadRequest",
        '"data.mode" is not a known field selector: only "metadata.name", "metadata.namespace"',
      ),
    );

    test(
      "a field selector that is not key=value",
      refuses(
        () => call("GET", "/api/v1/namespaces/default/pods?fieldSelector=status.phase"),
        400,
        "BadRequest",
        "invalid selector: 'status.phase'; can't understand 'status.phase'",
      ),
    );
  });

  describe("bad patch bodies", () => {
    const patch = (path: string, body: string, contentType: string) => () => call("PATCH", path, { body, contentType });
    const cfg = "/api/v1/namespaces/default/configmaps/cfg";

    test(
      "a JSON patch that is an object, not a list of operations, is 400",
      refuses(
        patch(cfg, '{"op":"add","path":"/data/x","value":"1"}', "application/json-patch+json"),
        400,
        "BadRequest",
        "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp",
      ),
    );

    test(
      "a merge patch that is not JSON is 400",
      refuses(
        patch(cfg, "{not json", "application/merge-patch+json"),
        400,
        "BadRequest",
        "error decoding patch: invalid character 'n' looking for beginning of object key string",
      ),
    );

    test(
      "a strategic merge patch that is not JSON is 400",
      refuses(
        patch(cfg, '{"data": {"x": 1', "application/strategic-merge-patch+json"),
        400,
        "BadRequest",
        "unexpected end of JSON input",
      ),
    );

    test(
      "a strategic merge patch on a custom resource is 415 with the media types CRDs accept",
      refuses(
        // the path is known only once before() created the resource: build the request when the test runs
        () => patch(envoyFilterPath, '{"spec":{"priority":2}}', "application/strategic-merge-patch+json")(),
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
      ),
    );

    test("an apply patch without fieldManager is 422 on PatchOptions", async () => {
      const r = await refused(
        patch(cfg, JSON.stringify(configMap("cfg")), "application/apply-patch+yaml"),
        422,
        "Invalid",
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
      assert.deepEqual(r.body.details.causes, [
        { reason: "FieldValueRequired", message: "Required value: is required for apply patch", field: "fieldManager" },
      ]);
    });

    test("a well-formed merge patch on the same object still succeeds (the refusals above were about the bodies)", async () => {
      const r = await call("PATCH", cfg, {
        body: '{"data":{"mode":"b"}}',
        contentType: "application/merge-patch+json",
      });
      assert.equal(r.code, 200, JSON.stringify(r.body));
      assert.equal(sb.store.get("/configmaps", "default", "cfg")?.data.mode, "b");
    });
  });

  describe("conflicts, missing namespaces, authentication and authorization", () => {
    test("an update carrying a stale resourceVersion is 409 Conflict", async () => {
      const live = sb.store.get("/configmaps", "default", "cfg")!;
      const stale = String(Number(live.metadata.resourceVersion) - 1);
      await refused(
        () =>
          call("PUT", "/api/v1/namespaces/default/configmaps/cfg", {
            body: configMap("cfg", { metadata: { name: "cfg", resourceVersion: stale }, data: { mode: "stale" } }),
          }),
        409,
        "Conflict",
        'Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again',
      );
    });

    test("creating in a namespace that does not exist is 404 namespaces not found", async () => {
      const r = await refused(
        () => call("POST", "/api/v1/namespaces/x/configmaps", { body: configMap("cfg") }),
        404,
        "NotFound",
        'namespaces "x" not found',
      );
      assert.deepEqual(r.body.details, { name: "x", kind: "namespaces" });
    });

    test("no token is 401 Unauthorized; an unknown token too", async () => {
      await refused(
        () => call("POST", "/api/v1/namespaces/default/configmaps", { token: null, body: configMap("anon") }),
        401,
        "Unauthorized",
        "Unauthorized",
      );
      await refused(
        () => call("GET", "/api/v1/namespaces/default/configmaps", { token: "not-a-known-token-000000" }),
        401,
        "Unauthorized",
        "Unauthorized",
      );
    });

    test("the viewer creating a configmap is 403 Forbidden with the RBAC message", async () => {
      const r = await refused(
        () =>
          call("POST", "/api/v1/namespaces/default/configmaps", {
            token: sb.tokens.viewer,
            body: configMap("viewers"),
          }),
        403,
        "Forbidden",
        'configmaps is forbidden: User "viewer" cannot create resource "configmaps" in API group "" in the namespace "default"',
      );
      assert.equal(r.body.details.kind, "configmaps");
    });
  });
});
