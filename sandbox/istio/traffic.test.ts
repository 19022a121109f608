import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Faults } from "../faults.js";
import { meshPod } from "./test-mesh.js";
import {
  FAULT_RESPONSE_CODE,
  ISTIO_DURATION_BUCKETS_MS,
  SUCCESS_RESPONSE_CODE,
  TrafficModel,
  latencyCdf,
  type PodTraffic,
} from "./traffic.js";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const LONG_AGO = "2026-03-01T09:00:00Z";

function clockAt(start: number) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

function total(p: PodTraffic | undefined): number {
  let n = 0;
  for (const s of p?.responses.values() ?? []) n += s.requests;
  return n;
}

const cart = (suffix: string, extra: Partial<Parameters<typeof meshPod>[0]> = {}) =>
  meshPod({ namespace: "shop", deployment: "cart", suffix, revision: "1-28-0", readySince: LONG_AGO, ...extra });

describe("traffic model", () => {
  test("the base latency has a median of 5 ms and a p99 of 20 ms; added latency shifts it", () => {
    assert.ok(Math.abs(latencyCdf(5) - 0.5) < 1e-6);
    assert.ok(Math.abs(latencyCdf(20) - 0.99) < 1e-4);
    assert.ok(Math.abs(latencyCdf(220, 200) - 0.99) < 1e-4);
    assert.equal(latencyCdf(150, 200), 0);
  });

  test("each Ready sidecar receives the default 10 rps, counted from when the model started", () => {
    const clock = clockAt(T0);
    const model = new TrafficModel({}, clock.now);
    const pods = [cart("a"), cart("b"), cart("c")];
    clock.t += 30_000;
    model.advance(pods, new Faults());
    for (const p of pods) assert.ok(Math.abs(total(model.podTraffic(p.metadata.uid!)) - 300) < 1e-9);
  });

  test("a configured workload rate is spread evenly over its Ready pods", () => {
    const clock = clockAt(T0);
    const model = new TrafficModel(
      { defaultRps: 1, workloads: [{ namespace: "shop", workload: "cart", rps: 30 }] },
      clock.now,
    );
    const pods = [cart("a"), cart("b"), cart("c", { ready: false })];
    clock.t += 10_000;
    model.advance(pods, new Faults());
    assert.ok(Math.abs(total(model.podTraffic(pods[0].metadata.uid!)) - 150) < 1e-9);
    assert.ok(Math.abs(total(model.podTraffic(pods[1].metadata.uid!)) - 150) < 1e-9);
    assert.equal(model.podTraffic(pods[2].metadata.uid!), undefined, "a pod that never served has no series yet");
  });

  test("a pod that becomes Ready between scrapes is counted from its Ready transition", () => {
    const clock = clockAt(T0);
    const model = new TrafficModel({}, clock.now);
    clock.t += 60_000;
    const readyAt = new Date(T0 + 50_000).toISOString();
    const pod = cart("a", { readySince: readyAt });
    model.advance([pod], new Faults());
    assert.ok(Math.abs(total(model.podTraffic(pod.metadata.uid!)) - 100) < 1e-9);
  });

  test("an errorRate fault splits requests into 200 and 503 in that proportion", () => {
    const clock = clockAt(T0);
    const model = new TrafficModel({}, clock.now);
    const pod = cart("a");
    clock.t += 30_000;
    model.advance([pod], new Faults([{ match: { workload: "cart" }, errorRate: 0.25 }]));
    const responses = model.podTraffic(pod.metadata.uid!)!.responses;
    assert.ok(Math.abs(responses.get(SUCCESS_RESPONSE_CODE)!.requests - 225) < 1e-9);
    assert.ok(Math.abs(responses.get(FAULT_RESPONSE_CODE)!.requests - 75) < 1e-9);
  });

  test("a replaced pod's counters vanish and its successor starts at zero", () => {
    const clock = clockAt(T0);
    const model = new TrafficModel({}, clock.now);
    const old = cart("a");
    clock.t += 30_000;
    model.advance([old], new Faults());
    const successor = cart("b", { readySince: new Date(clock.t).toISOString() });
    model.advance([successor], new Faults());
    assert.equal(model.podTraffic(old.metadata.uid!), undefined);
    assert.equal(total(model.podTraffic(successor.metadata.uid!)), 0);
    clock.t += 1_000;
    model.advance([successor], new Faults());
    assert.ok(Math.abs(total(model.podTraffic(successor.metadata.uid!)) - 10) < 1e-9);
  });

  test("gateways and pods without a sidecar are not destinations", () => {
    const clock = clockAt(T0);
    const model = new TrafficModel({}, clock.now);
    const gateway = meshPod({
      namespace: "istio-ingress",
      deployment: "istio-ingressgateway",
      suffix: "g",
      revision: "1-28-0",
      gateway: true,
      readySince: LONG_AGO,
    });
    const plain = meshPod({ namespace: "shop", deployment: "legacy", suffix: "p", readySince: LONG_AGO });
    clock.t += 10_000;
    model.advance([gateway, plain], new Faults());
    assert.equal(model.podCount, 0);
  });

  test("property: counters and buckets never decrease, and buckets never exceed the request count", () => {
    const step = fc.record({
      seconds: fc.integer({ min: 0, max: 120 }),
      readyA: fc.boolean(),
      errorRate: fc.constantFrom(0, 0.1, 0.5, 1),
      addedLatencyMs: fc.constantFrom(0, 40, 900, 5000),
      backwards: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => {
        const clock = clockAt(T0);
        const model = new TrafficModel({ defaultRps: 7 }, clock.now);
        let previous = new Map<string, number[]>();
        for (const s of steps) {
          // a clock that steps back (NTP) must not make counters go down either
          clock.t += s.backwards ? -s.seconds * 100 : s.seconds * 1000;
          const pods = [cart("a", { ready: s.readyA }), cart("b")];
          const faults = new Faults([
            { match: { workload: "cart" }, errorRate: s.errorRate, addedLatencyMs: s.addedLatencyMs },
          ]);
          model.advance(pods, faults);
          const current = new Map<string, number[]>();
          for (const p of pods) {
            for (const series of model.podTraffic(p.metadata.uid!)?.responses.values() ?? []) {
              const values = [series.requests, series.sumMs, ...series.buckets];
              current.set(`${p.metadata.uid}/${series.responseCode}`, values);
              series.buckets.forEach((b) => assert.ok(b <= series.requests + 1e-9));
            }
          }
          for (const [key, values] of previous) {
            const now = current.get(key);
            assert.ok(now, `${key} disappeared while its pod exists`);
            values.forEach((v, i) => assert.ok(now[i] >= v, `${key}[${i}] went from ${v} to ${now[i]}`));
          }
          previous = current;
        }
      }),
      { numRuns: 150 },
    );
  });

  test("the bucket layout is Istio's default", () => {
    assert.equal(ISTIO_DURATION_BUCKETS_MS.length, 19);
    assert.equal(ISTIO_DURATION_BUCKETS_MS[0], 0.5);
    assert.equal(ISTIO_DURATION_BUCKETS_MS.at(-1), 3600000);
  });
});
