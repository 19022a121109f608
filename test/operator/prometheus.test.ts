// The operator's /metrics scraped by a real Prometheus (the machine's /usr/bin/prometheus): the
// exposition parses, the target is up, and the operator's and the engine's series can be queried.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { HealthChecks, startOperatorHttp, type OperatorHttpServer } from "../../src/operator/http.js";
import { silentLogger } from "../../src/operator/log.js";
import { OperatorMetrics } from "../../src/operator/metrics.js";
import { startPrometheus, type RunningPrometheus } from "../helpers/prometheus.js";

describe("a real Prometheus scrapes the operator's /metrics", () => {
  let server: OperatorHttpServer;
  let prometheus: RunningPrometheus;
  const metrics = new OperatorMetrics();

  before(async () => {
    const hooks = metrics.queueHooks("meshupgrade");
    hooks.processed!("to-1-28", "success", 80);
    hooks.processed!("to-1-28", "error", 20);
    metrics
      .gauge({ name: "meshlift_upgrade_stage", help: "stage per upgrade", labelNames: ["upgrade", "stage"] })
      .set({ upgrade: "to-1-28", stage: "DataPlaneUpgrade" }, 1);
    server = await startOperatorHttp({
      host: "127.0.0.1",
      port: 0,
      metrics,
      health: new HealthChecks(),
      logger: silentLogger(),
    });
    // startPrometheus resolves only once the target has been scraped successfully
    prometheus = await startPrometheus({ targets: [{ url: `${server.url}/metrics` }] });
  });
  after(async () => {
    await prometheus?.stop();
    await server?.close();
  });

  const query = async (promql: string) => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return body.data.result;
  };

  test("the scrape succeeds and every operator series is stored", async () => {
    const up = await query("up");
    assert.deepEqual(
      up.map((r) => r.value[1]),
      ["1"],
    );
    const reconciles = await query("meshlift_reconcile_total");
    assert.deepEqual(reconciles.map((r) => `${r.metric.result}=${r.value[1]}`).sort(), ["error=1", "success=1"]);
    const stage = await query('meshlift_upgrade_stage{stage="DataPlaneUpgrade"}');
    assert.equal(stage[0]?.metric.upgrade, "to-1-28");
    const buckets = await query('meshlift_reconcile_duration_seconds_bucket{le="0.1"}');
    assert.equal(buckets[0]?.value[1], "2");
    assert.equal((await query("process_cpu_seconds_total")).length, 1, "process metrics scraped too");
  });
});
