// Verification gates against the sandbox and a real Prometheus scraping it (issue 5's acceptance for
// the gate itself): each test moves one namespace — a wave — from revision 1-27-9 to 1-28-0 the way the
// engine does (relabel, rollout restart), with or without a fault on the 1.28 proxies, then drives
// evaluateWaveGate until it answers passed or failed, recording the status between steps through JSON
// and the schema as the MeshUpgrade status would.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";

import { startSandbox, type Sandbox } from "../../../sandbox/index.js";
import { parseScenario } from "../../../sandbox/scenario/schema.js";
import { loadCluster, type Cluster } from "../../../src/kube/config.js";
import { listAll } from "../../../src/kube/list.js";
import { mergePatch, rolloutRestartPatch } from "../../../src/kube/patch.js";
import { RESOURCES } from "../../../src/kube/resources.js";
import { meshUpgradeSpecSchema } from "../../../src/upgrade/api/schema.js";
import {
  PrometheusClient,
  checkQueriesWithPrometheus,
  evaluateWaveGate,
  gatePolicyOf,
  gateStatusSchema,
  newGateStatus,
  type GateNext,
  type GateStatus,
  type WaveGateTarget,
} from "../../../src/upgrade/gates/index.js";
import { startPrometheus, type RunningPrometheus } from "../../helpers/prometheus.js";

const OLD = "1-27-9";
const NEW = "1-28-0";
const INTERVAL_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// one namespace per test, each a wave of its own; 200 requests/s per pod keeps the p99 estimates steady
const SCENARIO = `
name: gates
kubernetesVersion: "1.31.4"
nodes: 2
timing: { podStartMs: 50, podReadyMs: 50, podTerminateMs: 50, crashLoopMs: 300 }
istio:
  namespace: istio-system
  revisions:
    - { version: "1.27.9", name: ${OLD}, default: true }
    - { version: "1.28.0", name: ${NEW} }
namespaces:
${["healthy", "errors", "crashing", "slow", "lagging", "quiet", "inconclusive", "rejecting", "badquery", "outage"]
  .map(
    (ns) => `  - name: ${ns}
    labels: { istio.io/rev: ${OLD} }
    workloads:
      - { name: api, replicas: 2, containers: [{ name: app, image: example/api:1 }], service: { port: 8080 } }
      - { name: web, containers: [{ name: app, image: example/web:1 }], service: { port: 8080 } }`,
  )
  .join("\n")}
traffic:
  defaultRps: 200
  workloads:
    - { namespace: quiet, workload: api, rps: 0 }
    - { namespace: quiet, workload: web, rps: 0 }
    - { namespace: inconclusive, workload: api, rps: 0 }
    - { namespace: inconclusive, workload: web, rps: 0 }
`;

function verification(prometheusUrl: string, overrides: Record<string, unknown> = {}, checks?: unknown[]) {
  return meshUpgradeSpecSchema.parse({
    to: { version: "1.28.0" },
    verification: {
      healthGate: { minReadySeconds: 1 },
      onFailure: "Pause",
      prometheus: {
        url: prometheusUrl,
        interval: `${INTERVAL_MS / 1000}s`,
        count: 3,
        initialDelay: "0s",
        ...overrides,
        ...(checks ? { checks } : {}),
      },
    },
  }).verification;
}

describe("verification gates against the sandbox and a real Prometheus", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let prometheus: RunningPrometheus;

  before(async () => {
    sb = await startSandbox({ scenario: parseScenario(SCENARIO, "gates-test"), port: 0 });
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    prometheus = await startPrometheus({
      targets: [{ url: `${sb.url}/sandbox/metrics`, caFile: path.join(path.dirname(sb.kubeconfigPath), "ca.crt") }],
      scrapeIntervalMs: 1000,
    });
    // two scrapes more, so that every rate() window before the first wave holds two samples
    await sleep(2500);
  });

  after(async () => {
    await prometheus?.stop();
    cluster?.close();
    await sb?.stop();
  });

  /** The wave's workloads, as the engine's plan lists them. */
  async function waveOf(namespace: string, index: number): Promise<WaveGateTarget> {
    const deployments = await listAll(cluster.rest, RESOURCES.deployments, { namespace });
    return {
      wave: index,
      workloads: deployments.items.map((d) => ({ kind: "Deployment", namespace, name: d.metadata.name! })),
      targetRevision: NEW,
      istiod: { namespace: "istio-system", service: `istiod-${NEW}` },
    };
  }

  /** What the engine does when a wave begins: record the gate, switch the namespace, restart its workloads. */
  async function beginWave(target: WaveGateTarget): Promise<GateStatus> {
    const status = newGateStatus(target.wave, Date.now());
    const namespace = target.workloads[0].namespace;
    await mergePatch(
      cluster.rest,
      RESOURCES.namespaces,
      { name: namespace },
      { metadata: { labels: { "istio.io/rev": NEW } } },
    );
    for (const w of target.workloads)
      await mergePatch(cluster.rest, RESOURCES.deployments, { name: w.name, namespace }, rolloutRestartPatch());
    return status;
  }

  /**
   * Drives the gate as the engine would, until passed or failed (or `stopWhen` says the process dies);
   * the status crosses a JSON round trip and the schema at every step, as through the MeshUpgrade status.
   */
  async function runGate(
    policy: ReturnType<typeof gatePolicyOf>,
    target: WaveGateTarget,
    initial: GateStatus,
    stopWhen: (status: GateStatus) => boolean = () => false,
  ): Promise<{ status: GateStatus; next: GateNext; notes: Set<string> }> {
    let status = initial;
    const notes = new Set<string>();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const step = await evaluateWaveGate({ rest: cluster.rest }, policy, target, status);
      status = gateStatusSchema.parse(JSON.parse(JSON.stringify(step.status)));
      step.notes.forEach((n) => notes.add(n));
      if (step.next.type !== "wait" || stopWhen(status)) return { status, next: step.next, notes };
      assert.ok(Date.now() < deadline, `gate still waiting after 30 s: ${status.message}`);
      await sleep(Math.min(step.next.untilMs, deadline) - Date.now());
    }
  }

  const policyOf = (v: ReturnType<typeof verification>) => gatePolicyOf(v, { healthPollMs: 300, minWindowMs: 4000 });
  const measured = (status: GateStatus, check: string) => status.measurements.filter((m) => m.check === check);

  test("healthy traffic: every check passes with measured values; a restarted process keeps what was measured", async () => {
    const target = await waveOf("healthy", 1);
    const policy = policyOf(verification(prometheus.url));
    const first = await runGate(policy, target, await beginWave(target), (s) => s.measurements.length > 0);
    assert.equal(first.next.type, "wait");
    const firstRound = first.status.measurements;
    assert.equal(firstRound.length, 3);
    // the process dies and a new one starts from the recorded status after more than an interval
    await sleep(INTERVAL_MS + 500);
    const { status, next, notes } = await runGate(policy, target, first.status);
    // syncz of the new istiod and its xDS reject counter were read: nothing was left unchecked
    assert.deepEqual([...first.notes, ...notes], []);
    assert.deepEqual(
      status.measurements.slice(0, 3),
      firstRound,
      "measurements taken before the restart are kept as they were",
    );
    assert.equal(next.type, "passed", status.message);
    assert.equal(status.phase, "Passed");
    for (const check of ["request-success-rate", "request-duration-p99", "xds-rejects"]) {
      const ms = measured(status, check);
      assert.equal(ms.length, 3, check);
      assert.ok(
        ms.every((m) => m.verdict === "Pass" && typeof m.value === "number"),
        `${check}: ${JSON.stringify(ms)}`,
      );
    }
    assert.ok(measured(status, "request-success-rate").every((m) => m.value === 100));
    assert.ok(measured(status, "request-duration-p99").every((m) => m.value! > 0.5 && m.value! <= 1.2));
    assert.ok(measured(status, "xds-rejects").every((m) => m.value === 0));
    const times = measured(status, "request-success-rate").map((m) => Date.parse(m.at));
    assert.ok(times[1] - times[0] >= INTERVAL_MS && times[2] - times[1] >= INTERVAL_MS, JSON.stringify(times));
    assert.deepEqual(
      status.baseline?.p99Ms.map((b) => b.workload),
      ["healthy/api", "healthy/web"],
    );
    assert.ok(status.baseline!.p99Ms.every((b) => b.value > 0));
    assert.equal(status.health?.verdict, "Pass");
  });

  test("20% 5xx from the new proxy of one workload: the success rate fails within two intervals, naming it", async () => {
    sb.faults.add({ match: { proxyVersion: "1.28", namespace: "errors", workload: "api" }, errorRate: 0.2 });
    const target = await waveOf("errors", 2);
    const { status, next } = await runGate(policyOf(verification(prometheus.url)), target, await beginWave(target));
    assert.equal(next.type, "failed");
    assert.deepEqual(next.type === "failed" && [next.phase, next.failedChecks, next.onFailure], [
      "Failed",
      ["request-success-rate"],
      "Pause",
    ]);
    const decided = Date.parse(status.finishedAt!) - Date.parse(status.analysisStartedAt!);
    assert.ok(decided <= 2 * INTERVAL_MS, `decided ${decided} ms after the analysis began`);
    const failing = measured(status, "request-success-rate").at(-1)!;
    assert.equal(failing.verdict, "Fail");
    assert.ok(failing.value! < 99 && failing.value! > 50, String(failing.value));
    assert.match(failing.message!, /1 of 2 workloads not ≥ 99: errors\/api \d+(\.\d+)?%/);
    assert.doesNotMatch(failing.message!, /errors\/web \d/);
    assert.match(
      status.message,
      /request-success-rate: 1 of [12] measurements not ≥ 99 \(failureLimit 0\): 1 of 2 workloads not ≥ 99: errors\/api/,
    );
  });

  test("crash loop of the pods on the new proxy: the health gate fails, naming the workload", async () => {
    sb.faults.add({ match: { proxyVersion: "1.28", namespace: "crashing", workload: "web" }, crashLoop: true });
    const target = await waveOf("crashing", 3);
    const { status, next } = await runGate(policyOf(verification(prometheus.url)), target, await beginWave(target));
    assert.equal(next.type, "failed");
    assert.deepEqual(status.failedChecks, ["health"]);
    assert.match(
      status.message,
      /^health gate: crashing\/Deployment\/web: container app (restarted \d+ times? since the wave began|is waiting to restart)/,
    );
    assert.doesNotMatch(status.message, /crashing\/Deployment\/api: container/);
  });

  test("p99 latency of the new proxy above 1.2× the baseline fails the latency check", async () => {
    sb.faults.add({ match: { proxyVersion: "1.28", namespace: "slow", workload: "api" }, addedLatencyMs: 50 });
    const target = await waveOf("slow", 4);
    const { status, next } = await runGate(policyOf(verification(prometheus.url)), target, await beginWave(target));
    assert.equal(next.type, "failed");
    assert.deepEqual(status.failedChecks, ["request-duration-p99"]);
    const m = measured(status, "request-duration-p99").at(-1)!;
    assert.equal(m.verdict, "Fail");
    assert.ok(m.value! > 1.2, String(m.value));
    assert.match(m.message!, /slow\/api p99 [\d.]+ ms vs [\d.]+ ms before \(×[\d.]+\)/);
    assert.ok(measured(status, "request-success-rate").every((x) => x.verdict === "Pass"));
  });

  test("p99 latency of the new proxy below the ratio passes", async () => {
    sb.faults.add({ match: { proxyVersion: "1.28", namespace: "lagging", workload: "api" }, addedLatencyMs: 2 });
    const target = await waveOf("lagging", 5);
    const { status, next } = await runGate(policyOf(verification(prometheus.url)), target, await beginWave(target));
    assert.equal(next.type, "passed", status.message);
    assert.ok(measured(status, "request-duration-p99").every((m) => m.verdict === "Pass" && m.value! <= 1.2));
  });

  test("no traffic to the wave's workloads is inconclusive, not success", async () => {
    const target = await waveOf("quiet", 6);
    const { status, next } = await runGate(policyOf(verification(prometheus.url)), target, await beginWave(target));
    assert.equal(next.type, "failed");
    assert.equal(next.type === "failed" && next.phase, "Inconclusive");
    assert.deepEqual(status.failedChecks, ["request-success-rate", "request-duration-p99"]);
    const m = measured(status, "request-success-rate")[0];
    assert.deepEqual([m.verdict, m.value], ["Inconclusive", null]);
    assert.match(m.message!, /no requests to any of the wave's 2 workloads in the last 4s \(no samples\)/);
  });

  test("inconclusiveLimit tolerates that many inconclusive measurements, then decides", async () => {
    const target = await waveOf("inconclusive", 8);
    const policy = policyOf(verification(prometheus.url, { inconclusiveLimit: 1 }, [{ name: "request-success-rate" }]));
    const { status } = await runGate(policy, target, await beginWave(target));
    assert.equal(status.phase, "Inconclusive");
    assert.deepEqual(
      measured(status, "request-success-rate").map((m) => m.verdict),
      ["Inconclusive", "Inconclusive"],
    );
  });

  test("a PromQL error is an Error with Prometheus' own message, counted against failureLimit", async () => {
    const bad = 'sum(rate(istio_requests_total{destination_workload_namespace=~"$namespaces"}[$interval])';
    const checks = [{ name: "request-success-rate" }, { name: "my-rate", query: bad, threshold: { min: 1 } }];
    const client = new PrometheusClient(prometheus.url);
    const refused = await checkQueriesWithPrometheus(
      client,
      checks.map((c) => ({ dryRun: false, ...c })),
    );
    assert.equal(refused.errors.length, 1);
    assert.match(
      refused.errors[0].message,
      /Prometheus refuses the query of "my-rate": .*parse error: unclosed left parenthesis/,
    );

    const target = await waveOf("badquery", 9);
    const policy = policyOf(verification(prometheus.url, { failureLimit: 1 }, checks));
    const { status, next } = await runGate(policy, target, await beginWave(target));
    assert.equal(next.type === "failed" && next.phase, "Error");
    assert.deepEqual(status.failedChecks, ["my-rate"]);
    const errors = measured(status, "my-rate");
    assert.deepEqual(
      errors.map((m) => m.verdict),
      ["Error", "Error"],
    );
    assert.match(errors[0].message!, /^PromQL error \(bad_data\): .*parse error: unclosed left parenthesis/);
    assert.match(status.message, /my-rate: 2 of 2 measurements could not be taken \(failureLimit 1\)/);
  });

  test("the Prometheus client tells empty results, single numbers, several series and refused queries apart", async () => {
    const client = new PrometheusClient(prometheus.url);
    assert.deepEqual(await client.query("sum(nonexistent_metric)"), {
      kind: "samples",
      resultType: "vector",
      samples: [],
    });
    const scalar = await client.query("scalar(sum(pilot_xds))");
    assert.ok(
      scalar.kind === "samples" && scalar.resultType === "scalar" && scalar.samples[0].value > 0,
      JSON.stringify(scalar),
    );
    const several = await client.query('sum by (istio_io_rev) (pilot_xds{app="istiod"})');
    assert.ok(several.kind === "samples" && several.samples.length === 2, JSON.stringify(several));
    const matrix = await client.query("pilot_xds[10s]");
    assert.equal(matrix.kind === "error" && matrix.errorType, "bad_result_type");
    const nan = await client.query("0/0");
    assert.ok(nan.kind === "samples" && Number.isNaN(nan.samples[0].value));
    const notProm = await new PrometheusClient(`${prometheus.url}/nothing-here`).query("up");
    assert.equal(notProm.kind, "unreachable");
    assert.match(notProm.kind === "unreachable" ? notProm.message : "", /HTTP 404 .*must be the server's root/);
  });

  test("proxies of the new revision rejecting its xDS config fail the wave, by the health gate or the xds-rejects check", async () => {
    sb.faults.add({ match: { revision: NEW, namespace: "rejecting" }, xdsRejects: true });
    const target = await waveOf("rejecting", 7);
    const { status, next } = await runGate(policyOf(verification(prometheus.url)), target, await beginWave(target));
    // the rejecting proxies keep NACKing every push: stop it, so later waves see a quiet istiod
    sb.faults.replace(sb.faults.rules.filter((r) => !("match" in r && r.match.namespace === "rejecting")));
    assert.equal(next.type, "failed");
    assert.ok(
      /^health gate: istiod 1-28-0: pilot_total_xds_rejects rose by \d+ since the wave began/.test(status.message) ||
        status.failedChecks.includes("xds-rejects"),
      status.message,
    );
  });

  // last: it stops the shared Prometheus
  test("Prometheus unreachable: measurements are Errors, counted against failureLimit, never success", async () => {
    const target = await waveOf("outage", 10);
    const policy = policyOf(verification(prometheus.url, { failureLimit: 1 }));
    const initial = await beginWave(target);
    await prometheus.stop();
    const { status, next } = await runGate(policy, target, initial);
    assert.equal(next.type === "failed" && next.phase, "Error");
    for (const check of ["request-success-rate", "request-duration-p99", "xds-rejects"]) {
      const ms = measured(status, check);
      assert.deepEqual(
        ms.map((m) => [m.verdict, m.value]),
        [
          ["Error", null],
          ["Error", null],
        ],
        check,
      );
      assert.match(ms[0].message!, /Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED/);
    }
    assert.match(measured(status, "request-duration-p99")[0].message!, /^baseline before the wave: /);
  });
});
