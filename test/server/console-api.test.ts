// The console's HTTP API against the demo sandbox: who may do what (Kubernetes decides, with each
// user's own token), CSRF refusals, bad input that creates nothing, live updates over SSE, and the
// promise that no token ever reaches a log line.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { kubectl } from "../helpers/kubectl.js";
import type {
  MeshOverview,
  NamespaceRow,
  PrecheckResult,
  RowPage,
  SessionInfo,
  UpgradeList,
} from "../../src/server/index.js";
import { openEvents, startConsoleHarness, type ConsoleHarness } from "./console-harness.js";

const CSRF = "x-meshlift-csrf";

interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

describe("the console API on the demo mesh", () => {
  let h: ConsoleHarness;
  let base: string;
  const sessions: { cookie: string; csrf: string; info: SessionInfo }[] = [];
  let viewer: { cookie: string; csrf: string; info: SessionInfo };
  let admin: { cookie: string; csrf: string; info: SessionInfo };

  async function call<T = any>(
    method: string,
    path: string,
    options: { cookie?: string; csrf?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.cookie) headers.cookie = options.cookie;
    if (options.csrf) headers[CSRF] = options.csrf;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const r = await fetch(base + path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
  }

  async function login(token: string) {
    const r = await call<SessionInfo>("POST", "/api/session", { csrf: "login", body: { token } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const setCookie = r.headers.get("set-cookie") ?? "";
    const session = { cookie: setCookie.split(";")[0], csrf: r.body.csrfToken, info: r.body, setCookie };
    sessions.push(session);
    return session;
  }

  const deployment = (ns: string, name: string) =>
    h.admin.rest.requestJson<any>({ path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}` });
  const meshUpgrades = async () =>
    (await h.admin.rest.requestJson<any>({ path: "/apis/meshlift.io/v1alpha1/meshupgrades" })).items as any[];

  before(async () => {
    h = await startConsoleHarness();
    base = h.server.url;
  });
  after(async () => {
    await h?.stop();
  });

  test("without a session every API answers 401 and the stream refuses to open", async () => {
    for (const path of ["/api/overview", "/api/namespaces", "/api/precheck?to=1.28", "/api/upgrades", "/api/session"]) {
      const r = await call("GET", path);
      assert.equal(r.status, 401, path);
      assert.equal(r.body.error.reason, "Unauthorized");
    }
    const events = await call("GET", "/api/events");
    assert.equal(events.status, 401);
    const forged = await call("GET", "/api/overview", { cookie: "meshlift_session=forged-session-id" });
    assert.equal(forged.status, 401);
  });

  test("a token Kubernetes rejects gets 401 with what to do, and no session cookie", async () => {
    const r = await call("POST", "/api/session", { csrf: "login", body: { token: "not-a-token-of-this-cluster-123" } });
    assert.equal(r.status, 401);
    assert.match(r.body.error.message, /Kubernetes rejected this token/);
    assert.ok(r.body.error.fix);
    assert.equal(r.headers.get("set-cookie"), null);
    const malformed = await call("POST", "/api/session", { csrf: "login", body: { token: "two words" } });
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.error.message, /characters a bearer token cannot contain/);
    const empty = await call("POST", "/api/session", { csrf: "login", body: {} });
    assert.equal(empty.status, 400);
  });

  test("login without the CSRF header, or from another origin, is refused even with a valid token", async () => {
    const noHeader = await call("POST", "/api/session", { body: { token: h.tokens.admin } });
    assert.equal(noHeader.status, 403);
    assert.equal(noHeader.body.error.reason, "CsrfRejected");
    const crossOrigin = await call("POST", "/api/session", {
      csrf: "login",
      body: { token: h.tokens.admin },
      headers: { origin: "https://evil.example" },
    });
    assert.equal(crossOrigin.status, 403);
    assert.match(crossOrigin.body.error.message, /Origin https:\/\/evil\.example/);
    assert.equal(crossOrigin.headers.get("set-cookie"), null);
  });

  test("the viewer logs in: an HttpOnly, SameSite=Strict cookie, and permissions that say why actions are disabled", async () => {
    viewer = await login(h.tokens.viewer);
    const setCookie = (sessions.at(-1) as any).setCookie as string;
    assert.match(setCookie, /^meshlift_session=[A-Za-z0-9_-]{40,};/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.ok(!setCookie.includes(h.tokens.viewer), "the cookie holds a session id, not the token");
    assert.equal(viewer.info.user.username, "viewer");
    const p = viewer.info.permissions;
    assert.equal(p.createUpgrade.allowed, false);
    assert.match(p.createUpgrade.reason!, /user "viewer".*create meshupgrades\.meshlift\.io/);
    assert.equal(p.actOnUpgrade.allowed, false);
    assert.match(p.actOnUpgrade.reason!, /patch meshupgrades\.meshlift\.io/);
    assert.equal(p.restartWorkloads.allowed, false);
    assert.match(p.restartWorkloads.reason!, /patch deployments\.apps/);

    admin = await login(h.tokens.admin);
    assert.equal(admin.info.user.username, "admin");
    for (const permission of Object.values(admin.info.permissions))
      assert.deepEqual(permission, { allowed: true, reason: null });
  });

  test("the viewer reads the mesh: the overview, paged namespaces and the precheck match the demo", async () => {
    const overview = await call<MeshOverview>("GET", "/api/overview", { cookie: viewer.cookie });
    assert.equal(overview.status, 200);
    const [revision] = overview.body.revisions;
    assert.equal(overview.body.revisions.length, 1);
    assert.equal(revision.name, "1-27-9");
    assert.equal(revision.version, "1.27.9");
    assert.ok(revision.tags.includes("prod-stable"));
    const listed = await h.admin.rest.requestJson<any>({ path: "/api/v1/namespaces" });
    assert.equal(overview.body.totals.namespaces, listed.items.length);

    const page = await call<RowPage<NamespaceRow>>("GET", "/api/namespaces?limit=5&offset=5", {
      cookie: viewer.cookie,
    });
    assert.equal(page.body.total, listed.items.length);
    const names = listed.items.map((n: any) => n.metadata.name).sort();
    assert.deepEqual(
      page.body.items.map((r) => r.name),
      names.slice(5, 10),
    );
    const crm = await call<RowPage<NamespaceRow>>("GET", "/api/namespaces?filter=conflicts", { cookie: viewer.cookie });
    assert.deepEqual(
      crm.body.items.map((r) => r.name),
      ["legacy-crm"],
    );
    assert.match(crm.body.items[0].conflicts[0], /IST0123/);

    const bad = await call("GET", "/api/namespaces?sort=bogus", { cookie: viewer.cookie });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /sort=bogus is not known; use one of: name/);

    const precheck = await call<PrecheckResult>("GET", "/api/precheck?to=1.28", { cookie: viewer.cookie });
    assert.equal(precheck.status, 200);
    assert.equal(precheck.body.target.version, "1.28.10");
    const about = (id: string) => precheck.body.findings.filter((f) => f.id === id).flatMap((f) => f.objects);
    assert.deepEqual(about("namespace-injection-label-conflict"), [{ kind: "Namespace", name: "legacy-crm" }]);
    assert.ok(about("restart-loses-sidecar").some((o) => o.namespace === "legacy-billing"));
    assert.ok(about("pdb-allows-no-disruption").some((o) => o.kind === "PodDisruptionBudget" && o.name === "ledger"));

    const unknown = await call("GET", "/api/precheck?to=9.99", { cookie: viewer.cookie });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /9\.99/);

    const upgrades = await call<UpgradeList>("GET", "/api/upgrades", { cookie: viewer.cookie });
    assert.deepEqual(upgrades.body, { crdInstalled: true, items: [] });
  });

  test("the viewer's writes get 403 with Kubernetes' own reason, and change nothing", async () => {
    const before = await deployment("bookinfo", "productpage-v1");
    const restart = await call("POST", "/api/workloads/restart", {
      cookie: viewer.cookie,
      csrf: viewer.csrf,
      body: { workloads: [{ kind: "Deployment", namespace: "bookinfo", name: "productpage-v1" }] },
    });
    assert.equal(restart.status, 403);
    assert.match(
      restart.body.error.message,
      /deployments\.apps "productpage-v1" is forbidden: User "viewer" cannot patch resource "deployments" in API group "apps" in the namespace "bookinfo"/,
    );
    const afterRestart = await deployment("bookinfo", "productpage-v1");
    assert.equal(afterRestart.metadata.resourceVersion, before.metadata.resourceVersion);

    const create = await call("POST", "/api/upgrades", {
      cookie: viewer.cookie,
      csrf: viewer.csrf,
      body: { spec: { to: { version: "1.28" } } },
    });
    assert.equal(create.status, 403);
    assert.equal(create.body.error.reason, "Forbidden");
    assert.match(create.body.error.message, /meshupgrades\.meshlift\.io is forbidden: User "viewer" cannot create/);
    assert.deepEqual(await meshUpgrades(), []);
  });

  test("writes without the CSRF header, with another session's token, or from another origin are refused", async () => {
    const body = { workloads: [{ kind: "Deployment", namespace: "bookinfo", name: "details-v1" }] };
    const before = await deployment("bookinfo", "details-v1");
    const missing = await call("POST", "/api/workloads/restart", { cookie: admin.cookie, body });
    assert.equal(missing.status, 403);
    assert.match(missing.body.error.message, /x-meshlift-csrf header is missing/);
    const foreign = await call("POST", "/api/workloads/restart", { cookie: admin.cookie, csrf: viewer.csrf, body });
    assert.equal(foreign.status, 403);
    assert.match(foreign.body.error.message, /does not match this session/);
    const crossSite = await call("POST", "/api/workloads/restart", {
      cookie: admin.cookie,
      csrf: admin.csrf,
      body,
      headers: { "sec-fetch-site": "cross-site" },
    });
    assert.equal(crossSite.status, 403);
    assert.equal(
      (await deployment("bookinfo", "details-v1")).metadata.resourceVersion,
      before.metadata.resourceVersion,
    );
  });

  test("a request for another host name is refused (DNS rebinding)", async () => {
    // fetch() will not send a foreign Host header: a raw request can, as a rebound browser would
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${base}/api/overview`);
      http
        .get(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            headers: { host: "evil.example", cookie: admin.cookie },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on("error", reject);
    });
    assert.equal(status, 421);
    assert.equal((await call("GET", "/api/overview", { cookie: admin.cookie })).status, 200, "localhost is served");
  });

  test("bad MeshUpgrade input is refused with the field and the fix, and nothing is created", async () => {
    const cases: [unknown, RegExp, string][] = [
      [{ to: { version: "9.99" } }, /9\.99/, "spec.to.version"],
      [{ to: { version: "1.28" }, dataPlane: { maxConcurrent: 0 } }, /maxConcurrent/, "spec.dataPlane.maxConcurrent"],
      [
        { to: { version: "1.28" }, dataPlane: { waves: { explicit: [["no-such-namespace"]] } } },
        /no-such-namespace/,
        "spec.dataPlane.waves",
      ],
    ];
    for (const [spec, message, field] of cases) {
      const r = await call("POST", "/api/upgrades", { cookie: admin.cookie, csrf: admin.csrf, body: { spec } });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.match(r.body.error.message, message);
      assert.ok(
        r.body.error.fields.some((f: { field: string }) => f.field.startsWith(field)),
        `a field under ${field} in ${JSON.stringify(r.body.error.fields)}`,
      );
    }
    const badName = await call("POST", "/api/upgrades", {
      cookie: admin.cookie,
      csrf: admin.csrf,
      body: { name: "Not A Name", spec: { to: { version: "1.28" } } },
    });
    assert.equal(badName.status, 422);
    assert.deepEqual(await meshUpgrades(), []);
  });

  test("the admin's writes work: restart, create a MeshUpgrade, ask it to pause; the viewer's stream sees them live", async () => {
    const stream = await openEvents(base, viewer.cookie);
    try {
      assert.equal(stream.status, 200);
      await stream.waitFor((e) => e.type === "hello", 2_000);

      const restart = await call("POST", "/api/workloads/restart", {
        cookie: admin.cookie,
        csrf: admin.csrf,
        body: { workloads: [{ kind: "Deployment", namespace: "bookinfo", name: "ratings-v1" }] },
      });
      assert.equal(restart.status, 200, JSON.stringify(restart.body));
      assert.deepEqual(
        restart.body.results.map((r: any) => r.ok),
        [true],
      );
      const restarted = await deployment("bookinfo", "ratings-v1");
      assert.ok(restarted.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]);

      const created = await call("POST", "/api/upgrades", {
        cookie: admin.cookie,
        csrf: admin.csrf,
        body: { spec: { to: { version: "1.28" } } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.metadata.name, "to-1-28-10");
      assert.equal(created.body.metadata.annotations["meshlift.io/requested-by"], "admin");
      const added = await stream.waitFor((e) => e.type === "upgrade" && e.change === "added", 2_000);
      assert.equal((added.event as any).object.metadata.name, "to-1-28-10");

      const second = await call("POST", "/api/upgrades", {
        cookie: admin.cookie,
        csrf: admin.csrf,
        body: { name: "another", spec: { to: { version: "1.28" } } },
      });
      assert.equal(second.status, 422);
      assert.match(second.body.error.message, /"to-1-28-10" is already active/);

      const paused = await call("POST", "/api/upgrades/to-1-28-10/action", {
        cookie: admin.cookie,
        csrf: admin.csrf,
        body: { action: "Pause" },
      });
      assert.equal(paused.status, 200, JSON.stringify(paused.body));
      assert.equal(paused.body.spec.action, "Pause");
      assert.match(paused.body.spec.actionNonce, /^[0-9a-f]{12}$/);
      await stream.waitFor(
        (e) => e.type === "upgrade" && e.change === "updated" && (e.object.spec as any).action === "Pause",
        2_000,
      );

      const viewerAction = await call("POST", "/api/upgrades/to-1-28-10/action", {
        cookie: viewer.cookie,
        csrf: viewer.csrf,
        body: { action: "Rollback" },
      });
      assert.equal(viewerAction.status, 403);
      assert.match(viewerAction.body.error.message, /User "viewer" cannot patch/);
      const unknownAction = await call("POST", "/api/upgrades/to-1-28-10/action", {
        cookie: admin.cookie,
        csrf: admin.csrf,
        body: { action: "Explode" },
      });
      assert.equal(unknownAction.status, 400);
      assert.match(unknownAction.body.error.message, /Proceed \| Rollback \| Pause \| Resume/);
    } finally {
      stream.close();
    }
  });

  test("a namespace labelled with kubectl reaches an open stream within 1 s", async () => {
    const stream = await openEvents(base, viewer.cookie);
    try {
      await stream.waitFor((e) => e.type === "hello", 2_000);
      const r = await kubectl("kubectl", h.sb.kubeconfigPath, [
        "label",
        "namespace",
        "monitoring",
        "istio.io/rev=1-27-9",
      ]);
      const labelledAt = Date.now();
      assert.equal(r.code, 0, r.stderr);
      const got = await stream.waitFor(
        (e) =>
          e.type === "rows" &&
          e.collection === "namespaces" &&
          e.upserts.some(
            (row) => row.key === "monitoring" && (row as NamespaceRow).injectionLabel === "istio.io/rev=1-27-9",
          ),
        5_000,
      );
      assert.ok(got.at - labelledAt <= 1_000, `the change arrived ${got.at - labelledAt} ms after kubectl returned`);
      const overview = await stream.waitFor((e) => e.type === "overview", 2_000);
      assert.ok((overview.event as any).overview.totals.injectedNamespaces > 0);
    } finally {
      stream.close();
    }
  });

  test("logout ends the session: its cookie stops working and its streams close", async () => {
    const extra = await login(h.tokens.viewer);
    const stream = await openEvents(base, extra.cookie);
    await stream.waitFor((e) => e.type === "hello", 2_000);
    const out = await call("DELETE", "/api/session", { cookie: extra.cookie, csrf: extra.csrf });
    assert.equal(out.status, 204);
    assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
    await stream.waitFor((e) => e.type === "session-ended", 2_000);
    stream.close();
    assert.equal((await call("GET", "/api/overview", { cookie: extra.cookie })).status, 401);
  });

  test("no token and no session id appears in any log line", () => {
    assert.ok(h.logs.length > 20, `the console logged (${h.logs.length} lines)`);
    assert.ok(
      h.logs.some((l) => l.includes('"path":"/api/session"')),
      "requests are logged",
    );
    const secrets = [
      h.tokens.admin,
      h.tokens.viewer,
      "not-a-token-of-this-cluster-123",
      ...sessions.flatMap((s) => [s.cookie.split("=")[1], s.csrf]),
    ];
    for (const line of h.logs)
      for (const secret of secrets) assert.ok(!line.includes(secret), `a secret leaked into the log: ${line}`);
  });
});
