// Issue 5's acceptance through the whole engine: a real Prometheus scrapes the demo sandbox, waves are
// verified by the engine's gate, and a 20% 5xx fault on the new proxies of one workload fails its wave
// within two intervals — with onFailure Rollback the mesh ends RolledBack with no later wave started;
// with Pause nothing further restarts until the user acts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { createCli } from "../../../src/cli/index.js";
import type { MeshUpgradeStatus } from "../../../src/upgrade/api/schema.js";
import { startPrometheus, type RunningPrometheus } from "../../helpers/prometheus.js";
import { startHarness, TARGET, type Harness } from "./harness.js";
import { liveProxies, RequestWindow } from "./support.js";

const INTERVAL_S = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spec(prometheusUrl: string, onFailure: "Pause" | "Rollback") {
  return {
    to: { version: TARGET.version },
    install: { mode: "Manifests" as const },
    dataPlane: {
      namespaces: { names: ["bookinfo", "online-boutique", "orders"] },
      waves: { explicit: [["bookinfo"], ["online-boutique"], ["orders"]] },
      maxConcurrent: 10,
    },
    verification: {
      healthGate: { minReadySeconds: 0 },
      onFailure,
      prometheus: {
        url: prometheusUrl,
        interval: `${INTERVAL_S}s`,
        count: 2,
        inconclusiveLimit: 1,
        checks: [{ name: "request-success-rate" }],
      },
    },
    decommission: { graceSeconds: 0 },
  };
}

const status = async (h: Harness, name: string) => (await h.get(name)).status as MeshUpgradeStatus;
const restartedIn = (s: MeshUpgradeStatus, namespace: string) =>
  (s.progress?.workloads ?? []).filter((w) => w.namespace === namespace && w.restartToken?.includes(".f"));

describe("verification gates inside the engine (real Prometheus)", () => {
  let h: Harness;
  let prometheus: RunningPrometheus;

  before(async () => {
    h = await startHarness();
    prometheus = await startPrometheus({
      targets: [{ url: `${h.sb.url}/sandbox/metrics`, caFile: path.join(path.dirname(h.sb.kubeconfigPath), "ca.crt") }],
      scrapeIntervalMs: 1000,
    });
    await sleep(2500);
    // the new proxies of online-boutique/frontend answer 20% of requests with 5xx
    h.sb.faults.add({
      match: { proxyVersion: "1.28", namespace: "online-boutique", workload: "frontend" },
      errorRate: 0.2,
    });
  });
  after(async () => {
    await prometheus?.stop();
    await h?.close();
  });

  test("a metric query Prometheus' own parser refuses fails the upgrade at its start, naming it; nothing is written", async () => {
    // balanced and free of placeholders, so only Prometheus can tell: rate() needs a range vector
    const bad = spec(prometheus.url, "Pause");
    (bad.verification.prometheus as { checks: unknown[] }).checks = [
      { name: "request-success-rate" },
      { name: "my-rate", query: "rate(istio_requests_total)", threshold: { min: 0 } },
    ];
    await h.create("bad-query", bad);
    const window = new RequestWindow(h.sb);
    const result = await h.run("bad-query", (s) => s !== "Pending", 30_000);
    assert.equal(result.stage, "Failed", result.decision.status.message);
    const s = await status(h, "bad-query");
    const valid = s.conditions?.find((c) => c.type === "Valid");
    assert.equal(valid?.status, "False");
    assert.equal(valid?.reason, "InvalidQuery");
    assert.match(
      valid?.message ?? "",
      /spec\.verification\.prometheus\.checks\[1\]\.query: Prometheus refuses the query of "my-rate": .*range vector/,
    );
    assert.deepEqual(
      window.writes().filter((w) => w.resource !== "meshupgrades" && w.resource !== "events"),
      [],
      "only the MeshUpgrade's own status was written",
    );
  });

  test("onFailure Rollback: wave 1 passes with its measurements recorded, wave 2 fails, wave 3 never starts, RolledBack", async () => {
    await h.create("gated-rollback", spec(prometheus.url, "Rollback"));
    const result = await h.run(
      "gated-rollback",
      (s) => ["RolledBack", "Completed", "Failed", "Paused"].includes(s),
      150_000,
    );
    assert.equal(result.stage, "RolledBack", result.decision.status.message);
    const s = await status(h, "gated-rollback");
    const gates = s.gates ?? [];
    assert.equal(gates.find((g) => g.wave === 0)?.phase, "Passed");
    const passed = s.history?.find((e) => e.action === "wave 1 done");
    assert.ok(passed?.measurements?.some((m) => m.check === "request-success-rate" && m.verdict === "Pass"));
    const failed = gates.find((g) => g.wave === 1)!;
    assert.equal(failed.phase, "Failed", failed.message);
    assert.match(failed.message, /frontend/);
    // decided within two intervals of the analysis start
    const analysis = Date.parse(failed.analysisStartedAt ?? failed.startedAt);
    assert.ok(Date.parse(failed.finishedAt!) - analysis <= 2 * INTERVAL_S * 1000 + 1500, JSON.stringify(failed));
    assert.equal(s.rollback?.wave, 1);
    assert.equal(restartedIn(s, "orders").length, 0, "no workload of wave 3 was restarted");
    assert.equal(s.progress?.waves?.[2].state, "Pending");
    assert.deepEqual(
      liveProxies(h.sb).filter((p) => p.revision === TARGET.revision),
      [],
      "every proxy is back on the old revision",
    );
    // `meshlift upgrade status` shows each gate's checks, values and verdicts
    let out = "";
    const code = await createCli().run(["upgrade", "status", "gated-rollback", "--kubeconfig", h.sb.kubeconfigPath], {
      stdout: { write: (t: string) => void (out += t) },
      stderr: { write: () => undefined },
      env: {},
      isTTY: false,
    });
    assert.ok(code === 0 || code === 3, `exit ${code}`);
    assert.match(out, /VERIFICATION GATES/);
    assert.match(out, /^\s*1\s+Passed\s+request-success-rate\s+\S+\s+Pass\b/m);
    assert.match(out, /^\s*2\s+Failed\s+request-success-rate\s+\S+\s+Fail\b/m);
  });

  test("onFailure Pause: the failed wave pauses the upgrade and nothing further restarts until the user acts", async () => {
    await h.create("gated-pause", spec(prometheus.url, "Pause"));
    const result = await h.run(
      "gated-pause",
      (s) => ["Paused", "Completed", "Failed", "RolledBack"].includes(s),
      150_000,
    );
    assert.equal(result.stage, "Paused", result.decision.status.message);
    const before = await status(h, "gated-pause");
    assert.match(before.message ?? "", /wave 2 failed verification/);
    // the engine keeps reconciling, and restarts nothing
    await h.run("gated-pause", () => false, 8_000).catch(() => undefined);
    const later = await status(h, "gated-pause");
    assert.equal(later.stage, "Paused");
    assert.equal(restartedIn(later, "orders").length, 0);
    assert.equal(
      later.history?.filter((e) => e.action === "restart").length,
      before.history?.filter((e) => e.action === "restart").length,
    );
    // the user rolls back
    await h.setAction("gated-pause", "Rollback");
    const back = await h.run("gated-pause", (s) => ["RolledBack", "Failed"].includes(s), 120_000);
    assert.equal(back.stage, "RolledBack");
  });
});
