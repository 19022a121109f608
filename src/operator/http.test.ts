// The operator's HTTP endpoints on an ephemeral local port: /metrics in the Prometheus text format
// with the engine's own gauges, /healthz and /readyz in the kube-apiserver's [+]/[-] format.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { HealthChecks, startOperatorHttp, type OperatorHttpServer } from "./http.js";
import { silentLogger } from "./log.js";
import { OperatorMetrics } from "./metrics.js";

describe("operator HTTP endpoints", () => {
  let server: OperatorHttpServer;
  const metrics = new OperatorMetrics({ processMetrics: false });
  let cachesSynced: true | string = "cache of meshupgrades.meshlift.io not synced (first list in progress)";
  const health = new HealthChecks()
    .addLiveness("leader-election", () => true)
    .addReadiness("lease", () => true)
    .addReadiness("caches", () => cachesSynced);

  before(async () => {
    server = await startOperatorHttp({ host: "127.0.0.1", port: 0, metrics, health, logger: silentLogger() });
  });
  after(() => server.close());

  const get = async (path: string, method = "GET") => {
    const res = await fetch(server.url + path, { method });
    return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() };
  };

  test("port 0 binds an ephemeral port and reports it", () => {
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
  });

  test("/metrics serves the operator's series and the engine's gauges in the text format", async () => {
    const stage = metrics.gauge({
      name: "meshlift_upgrade_stage",
      help: "1 for the stage each MeshUpgrade is in",
      labelNames: ["upgrade", "stage"],
    });
    stage.set({ upgrade: "to-1-28", stage: "DataPlaneUpgrade" }, 1);
    assert.equal(metrics.gauge({ name: "meshlift_upgrade_stage", help: "again" }), stage, "same name, same gauge");
    metrics.queueHooks("meshupgrade").processed!("to-1-28", "success", 120);
    const res = await get("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^# TYPE meshlift_upgrade_stage gauge$/m);
    assert.match(res.body, /^meshlift_upgrade_stage\{upgrade="to-1-28",stage="DataPlaneUpgrade"\} 1$/m);
    assert.match(res.body, /^meshlift_reconcile_total\{controller="meshupgrade",result="success"\} 1$/m);
    assert.match(res.body, /^meshlift_reconcile_duration_seconds_bucket\{le="0\.25",controller="meshupgrade"\} 1$/m);
  });

  test("a metric name taken by another type is refused with a clear message", () => {
    assert.throws(() => metrics.counter({ name: "meshlift_upgrade_stage", help: "x" }), /different type/);
  });

  test("/healthz and /livez answer ok while liveness checks pass", async () => {
    assert.deepEqual(await get("/healthz"), { status: 200, type: "text/plain; charset=utf-8", body: "ok" });
    assert.equal((await get("/livez")).status, 200);
    assert.equal((await get("/healthz?verbose")).body, "[+]leader-election ok\nhealthz check passed\n");
  });

  test("/readyz is 503 with the reason until the caches sync, then ok", async () => {
    const unready = await get("/readyz");
    assert.equal(unready.status, 503);
    assert.equal(
      unready.body,
      "[+]lease ok\n[-]caches failed: cache of meshupgrades.meshlift.io not synced (first list in progress)\nreadyz check failed\n",
    );
    cachesSynced = true;
    assert.deepEqual(await get("/readyz"), { status: 200, type: "text/plain; charset=utf-8", body: "ok" });
  });

  test("a check that throws fails with its message", () => {
    const checks = new HealthChecks().addLiveness("broken", () => {
      throw new Error("queue worker died");
    });
    assert.deepEqual(checks.evaluate("healthz"), {
      ok: false,
      results: [{ name: "broken", result: "queue worker died" }],
    });
  });

  test("other paths are 404 and other methods 405, each saying what is served", async () => {
    const missing = await get("/debug");
    assert.equal(missing.status, 404);
    assert.match(missing.body, /serves \/metrics, \/healthz, \/livez and \/readyz/);
    const post = await get("/metrics", "POST");
    assert.equal(post.status, 405);
  });

  test("binding a port in use fails with the address and what to do", async () => {
    await assert.rejects(
      startOperatorHttp({ host: "127.0.0.1", port: server.port, metrics, health, logger: silentLogger() }),
      new RegExp(`cannot serve /metrics and /healthz on 127\\.0\\.0\\.1:${server.port}: the address is in use`),
    );
  });
});
