import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Faults } from "../faults.js";
import { escapeLabelValue, renderMeshMetrics } from "./metrics.js";
import {
  InMemoryStore,
  appService,
  istiodDeployment,
  istiodPod,
  meshPod,
  parseExposition,
  quantileOfIncrease,
  sumOf,
  type Sample,
} from "./test-mesh.js";
import { TrafficModel } from "./traffic.js";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const LONG_AGO = "2026-03-01T09:00:00Z";

/** shop: cart (3 pods, revision 1-27-0, proxy 1.27.3) and checkout (2 pods, 1-28-0, proxy 1.28.0); both istiods Ready. */
function twoRevisionMesh() {
  const store = new InMemoryStore();
  for (const rev of ["1-27-0", "1-28-0"]) {
    store.put("apps/deployments", istiodDeployment(rev));
    store.put("/pods", istiodPod(rev, { version: rev.replace(/-/g, ".") }));
  }
  for (const s of ["a", "b", "c"])
    store.put(
      "/pods",
      meshPod({
        namespace: "shop",
        deployment: "cart",
        suffix: s,
        revision: "1-27-0",
        proxyVersion: "1.27.3",
        readySince: LONG_AGO,
        labels: { version: "v1" },
      }),
    );
  for (const s of ["d", "e"])
    store.put(
      "/pods",
      meshPod({
        namespace: "shop",
        deployment: "checkout",
        suffix: s,
        revision: "1-28-0",
        proxyVersion: "1.28.0",
        readySince: LONG_AGO,
      }),
    );
  store.put("/pods", meshPod({ namespace: "shop", deployment: "legacy", suffix: "f", readySince: LONG_AGO }));
  store.put("/services", appService("shop", "cart", { app: "cart" }));
  store.put("/services", appService("shop", "checkout", { app: "checkout" }));
  const clock = { t: T0 };
  const traffic = new TrafficModel({}, () => clock.t);
  return { store, clock, traffic };
}

function scrape(
  store: InMemoryStore,
  faults: Faults,
  traffic: TrafficModel,
  at: number,
  opts?: Parameters<typeof renderMeshMetrics>[4],
): Sample[] {
  return parseExposition(renderMeshMetrics(store, faults, traffic, at, opts)).samples;
}

describe("mesh metrics exposition", () => {
  test("parses as text format 0.0.4 with Istio's request labels on every series", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    const faults = new Faults([{ match: { workload: "checkout" }, errorRate: 0.1 }]);
    const text = renderMeshMetrics(store, faults, traffic, (clock.t += 15_000));
    const { samples, types } = parseExposition(text);
    assert.equal(types.get("istio_requests_total"), "counter");
    assert.equal(types.get("istio_request_duration_milliseconds"), "histogram");
    const cartSeries = samples.find(
      (s) => s.name === "istio_requests_total" && s.labels.destination_workload === "cart",
    )!;
    assert.deepEqual(cartSeries.labels, {
      reporter: "destination",
      source_workload: "unknown",
      source_workload_namespace: "unknown",
      destination_workload: "cart",
      destination_workload_namespace: "shop",
      destination_service: "cart.shop.svc.cluster.local",
      destination_service_name: "cart",
      destination_service_namespace: "shop",
      destination_canonical_service: "cart",
      destination_canonical_revision: "v1",
      destination_version: "v1",
      request_protocol: "http",
      response_flags: "-",
      connection_security_policy: "mutual_tls",
      pod: cartSeries.labels.pod,
      namespace: "shop",
      response_code: "200",
    });
    assert.match(cartSeries.labels.pod, /^cart-5d8f7c9b4-[abc]$/);
    const buckets = samples.filter(
      (s) => s.name === "istio_request_duration_milliseconds_bucket" && s.labels.pod === cartSeries.labels.pod,
    );
    assert.deepEqual(
      buckets.map((b) => b.labels.le),
      [
        "0.5",
        "1",
        "5",
        "10",
        "25",
        "50",
        "100",
        "250",
        "500",
        "1000",
        "2500",
        "5000",
        "10000",
        "30000",
        "60000",
        "300000",
        "600000",
        "1800000",
        "3600000",
        "+Inf",
      ],
    );
    assert.equal(
      samples.filter((s) => s.name === "istio_requests_total" && s.labels.destination_workload === "legacy").length,
      0,
      "no sidecar, no Istio metrics",
    );
    assert.ok(
      samples.some(
        (s) =>
          s.name === "istio_requests_total" &&
          s.labels.destination_workload === "checkout" &&
          s.labels.response_code === "503",
      ),
    );
  });

  test("label values are escaped as the text format requires", () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(escapeLabelValue("plain"), "plain");
  });

  test("if promtool is installed, it accepts the exposition", (t) => {
    const probe = spawnSync("promtool", ["--version"], { encoding: "utf8" });
    if (probe.error) return t.skip("promtool is not installed");
    const { store, clock, traffic } = twoRevisionMesh();
    const text = renderMeshMetrics(store, new Faults(), traffic, (clock.t += 15_000));
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    // lint findings (exit 3) are style notes; exit 1 is a parse error
    assert.notEqual(check.status, 1, check.stderr);
  });
});

describe("request metrics over time", () => {
  test("over two scrapes 30 s apart the success rate is 1 - errorRate and the request rate is 10 rps per pod", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    const faults = new Faults([{ match: { workload: "checkout" }, errorRate: 0.2 }]);
    const before = scrape(store, faults, traffic, (clock.t += 60_000));
    const after = scrape(store, faults, traffic, (clock.t += 30_000));
    const delta = (m: Record<string, string>) =>
      sumOf(after, "istio_requests_total", m) - sumOf(before, "istio_requests_total", m);
    const all = delta({ destination_workload: "checkout" });
    const ok = delta({ destination_workload: "checkout", response_code: "200" });
    assert.ok(Math.abs(all / 30 - 20) <= 0.1, `checkout rate ${all / 30} rps`);
    assert.ok(Math.abs(ok / all - 0.8) < 0.01, `success rate ${ok / all}`);
    assert.equal(delta({ destination_workload: "cart", response_code: "503" }), 0);
    assert.ok(Math.abs(delta({ destination_workload: "cart" }) / 30 - 30) <= 0.15);
  });

  test("p99 from the histogram follows addedLatencyMs", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    const faults = new Faults([{ match: { workload: "checkout" }, addedLatencyMs: 300 }]);
    const before = scrape(store, faults, traffic, (clock.t += 60_000));
    const after = scrape(store, faults, traffic, (clock.t += 30_000));
    const family = "istio_request_duration_milliseconds";
    const cartP99 = quantileOfIncrease(0.99, before, after, family, { destination_workload: "cart" });
    const checkoutP99 = quantileOfIncrease(0.99, before, after, family, { destination_workload: "checkout" });
    const checkoutP50 = quantileOfIncrease(0.5, before, after, family, { destination_workload: "checkout" });
    assert.ok(cartP99 > 10 && cartP99 <= 25, `cart p99 ${cartP99}`);
    assert.ok(checkoutP99 > 250 && checkoutP99 <= 500, `checkout p99 ${checkoutP99}`);
    assert.ok(checkoutP50 > 300 && checkoutP50 <= 500, `checkout p50 ${checkoutP50}`);
  });

  test("every counter series is monotonic between scrapes, and a replaced pod's series go away", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    const faults = new Faults([{ match: { workload: "cart" }, errorRate: 0.3 }]);
    const counterNames = new Set([
      "istio_requests_total",
      "istio_request_duration_milliseconds_bucket",
      "istio_request_duration_milliseconds_count",
      "pilot_xds_pushes",
    ]);
    const index = (samples: Sample[]) =>
      new Map(
        samples.filter((s) => counterNames.has(s.name)).map((s) => [`${s.name}${JSON.stringify(s.labels)}`, s.value]),
      );
    let previous = index(scrape(store, faults, traffic, (clock.t += 5_000)));
    for (let i = 0; i < 5; i++) {
      const current = index(scrape(store, faults, traffic, (clock.t += 7_000)));
      for (const [key, value] of previous)
        assert.ok((current.get(key) ?? -1) >= value, `${key}: ${value} -> ${current.get(key)}`);
      previous = current;
    }
    const gone = "cart-5d8f7c9b4-a";
    store.remove("/pods", "shop", gone);
    const replacement = store.put(
      "/pods",
      meshPod({
        namespace: "shop",
        deployment: "cart",
        suffix: "z",
        revision: "1-28-0",
        proxyVersion: "1.28.0",
        readySince: new Date(clock.t).toISOString(),
      }),
    );
    const after = scrape(store, faults, traffic, clock.t);
    assert.equal(after.filter((s) => s.labels.pod === gone).length, 0);
    assert.equal(sumOf(after, "istio_requests_total", { pod: replacement.metadata.name! }), 0);
  });
});

describe("workload-level detail for large meshes", () => {
  test("above the pod series limit, series are summed per workload without the pod label and match the per-pod sums", () => {
    const perPod = twoRevisionMesh();
    const perWorkload = twoRevisionMesh();
    const faults = new Faults([{ match: { workload: "checkout" }, errorRate: 0.2 }]);
    const a = scrape(perPod.store, faults, perPod.traffic, T0 + 45_000, { detail: "pod" });
    const b = scrape(perWorkload.store, faults, perWorkload.traffic, T0 + 45_000, { podSeriesLimit: 2 });
    assert.ok(b.every((s) => !s.name.startsWith("istio_request") || !("pod" in s.labels)));
    assert.equal(b.filter((s) => s.name === "istio_requests_total").length, 3, "cart 200, checkout 200 and 503");
    for (const m of [
      { destination_workload: "cart" },
      { destination_workload: "checkout", response_code: "503" },
    ] as Record<string, string>[]) {
      // per-pod values are each rounded down, the workload sum once: they differ by less than one per pod
      assert.ok(Math.abs(sumOf(a, "istio_requests_total", m) - sumOf(b, "istio_requests_total", m)) < 3);
    }
  });

  test("a workload's counter keeps growing when one of its pods is replaced", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    const faults = new Faults();
    const opts = { detail: "workload" as const };
    const before = sumOf(scrape(store, faults, traffic, (clock.t += 60_000), opts), "istio_requests_total", {
      destination_workload: "cart",
    });
    store.remove("/pods", "shop", "cart-5d8f7c9b4-a");
    store.put(
      "/pods",
      meshPod({
        namespace: "shop",
        deployment: "cart",
        suffix: "z",
        revision: "1-27-0",
        proxyVersion: "1.27.3",
        readySince: new Date(clock.t).toISOString(),
        labels: { version: "v1" },
      }),
    );
    const after = sumOf(scrape(store, faults, traffic, (clock.t += 10_000), opts), "istio_requests_total", {
      destination_workload: "cart",
    });
    assert.ok(after >= before + 299 && after <= before + 301, `cart went from ${before} to ${after}`);
  });
});

describe("istiod metrics", () => {
  test("pilot_xds counts the proxies connected to each revision's Ready istiod, by proxy version", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    const samples = scrape(store, new Faults(), traffic, (clock.t += 15_000));
    const xds = samples.filter((s) => s.name === "pilot_xds");
    assert.deepEqual(
      xds.map((s) => [s.labels.app, s.labels.istio_io_rev, s.labels.version, s.value]),
      [
        ["istiod", "1-27-0", "1.27.3", 3],
        ["istiod", "1-28-0", "1.28.0", 2],
      ],
    );
    assert.match(xds[0].labels.pod, /^istiod-1-27-0-/);
    const build = samples.find((s) => s.name === "istio_build" && s.labels.istio_io_rev === "1-28-0");
    assert.equal(build?.labels.tag, "1.28.0");
  });

  test("with two Ready istiod replicas each proxy is counted by exactly one of them", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    store.put("/pods", istiodPod("1-27-0", { suffix: "bbbbb" }));
    for (let i = 0; i < 20; i++)
      store.put(
        "/pods",
        meshPod({
          namespace: "shop",
          deployment: "cart",
          suffix: `n${i}`,
          revision: "1-27-0",
          proxyVersion: "1.27.3",
          readySince: LONG_AGO,
        }),
      );
    const samples = scrape(store, new Faults(), traffic, (clock.t += 15_000));
    const perReplica = samples
      .filter((s) => s.name === "pilot_xds" && s.labels.istio_io_rev === "1-27-0")
      .map((s) => s.value);
    assert.equal(perReplica.length, 2);
    assert.ok(perReplica.every((n) => n > 0));
    assert.equal(perReplica[0] + perReplica[1], 23);
  });

  test("a revision whose istiod is not Ready has no pilot series and no connected proxies", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    store.put("/pods", istiodPod("1-28-0", { ready: false }));
    const samples = scrape(store, new Faults(), traffic, (clock.t += 15_000));
    assert.equal(samples.filter((s) => s.name.startsWith("pilot_") && s.labels.istio_io_rev === "1-28-0").length, 0);
    assert.equal(sumOf(samples, "pilot_xds"), 3);
  });

  test("pushes grow with time, and a proxy with an xdsRejects fault makes its istiod's lds rejects grow", () => {
    const { store, clock, traffic } = twoRevisionMesh();
    const faults = new Faults([{ match: { workload: "checkout" }, xdsRejects: true }]);
    const first = scrape(store, faults, traffic, (clock.t += 15_000));
    const second = scrape(store, faults, traffic, (clock.t += 120_000));
    const rejects = (s: Sample[], rev: string) =>
      sumOf(s, "pilot_total_xds_rejects", { istio_io_rev: rev, type: "lds" });
    assert.ok(rejects(first, "1-28-0") >= 2, "both checkout proxies NACK their first listener push");
    assert.ok(
      rejects(second, "1-28-0") >= rejects(first, "1-28-0") + 4,
      `rejects ${rejects(first, "1-28-0")} -> ${rejects(second, "1-28-0")}`,
    );
    assert.equal(rejects(second, "1-27-0"), 0);
    const eds = (s: Sample[]) => sumOf(s, "pilot_xds_pushes", { istio_io_rev: "1-27-0", type: "eds" });
    assert.ok(eds(second) - eds(first) >= 3 * 8 - 1, `eds pushes ${eds(first)} -> ${eds(second)}`);
    const convergence = second.find(
      (s) => s.name === "pilot_proxy_convergence_time_count" && s.labels.istio_io_rev === "1-27-0",
    );
    assert.ok(convergence && convergence.value > 0);
  });
});
