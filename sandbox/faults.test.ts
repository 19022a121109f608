import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "./api/types.js";
import {
  FaultRulesSchema,
  Faults,
  apiErrorOf,
  isInjectedApiError,
  parseFaultRules,
  type InjectedApiError,
} from "./faults.js";
import { meshPod } from "./istio/test-mesh.js";

const listPods = { verb: "list", group: "", resource: "pods", namespace: "shop" };
const patchDeployments = { verb: "patch", group: "apps", resource: "deployments", namespace: "shop" };

function injected(outcome: ReturnType<Faults["apiFault"]>): InjectedApiError {
  assert.ok(outcome && isInjectedApiError(outcome), `expected an injected error, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe("fault rule validation", () => {
  test("a rule with a wrong field is refused with the rule index and field named, and nothing changes", () => {
    const faults = new Faults([{ code: 503 }]);
    assert.throws(
      () => faults.replace([{ code: 503 }, { code: "503", rate: 2 }]),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 400 &&
        /\[1\]\.code/.test(e.message) &&
        /\[1\]\.rate/.test(e.message) &&
        /between 0 and 1/.test(e.message),
    );
    assert.equal(faults.rules.length, 1);
  });

  test("each kind of rule is checked against its own fields", () => {
    const r = FaultRulesSchema.safeParse([
      { watchCut: { afterMs: -5 } },
      { match: { workload: "web" } },
      { verb: "explode", code: 500 },
      { code: 500, extra: 1 },
    ]);
    assert.equal(r.success, false);
    const messages = r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    assert.ok(
      messages.some((m) => m.startsWith("0.watchCut.afterMs:") && m.includes("negative")),
      messages.join("\n"),
    );
    assert.ok(
      messages.some((m) => m.startsWith("1:") && m.includes("needs an effect")),
      messages.join("\n"),
    );
    assert.ok(
      messages.some((m) => m.startsWith("2.verb:") && m.includes("one of get, list")),
      messages.join("\n"),
    );
    assert.ok(
      messages.some((m) => m.startsWith("3:") && m.includes('"extra"')),
      messages.join("\n"),
    );
  });

  test("an API rule needs a code or a delay", () => {
    assert.throws(() => parseFaultRules([{ resource: "pods" }]), /needs a status `code`/);
  });
});

describe("API faults", () => {
  test("a 429 rule answers with TooManyRequests and a default Retry-After of one second", () => {
    const f = injected(new Faults([{ resource: "pods", code: 429 }]).apiFault(listPods));
    assert.equal(f.code, 429);
    assert.equal(f.reason, "TooManyRequests");
    assert.equal(f.retryAfterSeconds, 1);
    assert.match(f.message, /too many requests.*list pods/);
  });

  test("status reasons follow the code as apimachinery names them", () => {
    const reasons = [500, 503, 504, 409, 404, 403].map(
      (code) => injected(new Faults([{ code }]).apiFault(listPods)).reason,
    );
    assert.deepEqual(reasons, ["InternalError", "ServiceUnavailable", "Timeout", "Conflict", "NotFound", "Forbidden"]);
  });

  test("verb, group, resource and namespace must all match", () => {
    const faults = new Faults([
      { verb: "patch", group: "apps", resource: "deployments", namespace: "shop", code: 409 },
    ]);
    assert.equal(faults.apiFault(listPods), undefined);
    assert.equal(faults.apiFault({ ...patchDeployments, namespace: "other" }), undefined);
    assert.equal(faults.apiFault({ ...patchDeployments, group: "" }), undefined);
    assert.equal(injected(faults.apiFault(patchDeployments)).reason, "Conflict");
  });

  test("a rule with count applies to the next N matching requests and is then gone", () => {
    const changes: number[] = [];
    const faults = new Faults([{ resource: "pods", code: 500, count: 2 }]);
    faults.onChange((rules) => changes.push(rules.length));
    assert.ok(faults.apiFault(listPods));
    assert.equal((faults.rules[0] as { count: number }).count, 1);
    assert.ok(faults.apiFault(listPods));
    assert.equal(faults.apiFault(listPods), undefined);
    assert.deepEqual(faults.rules, []);
    assert.deepEqual(changes, [0]);
  });

  test("a delay-only rule adds latency and lets the request through; delays add up before an error", () => {
    const faults = new Faults([{ resource: "pods", delayMs: 200 }]);
    assert.deepEqual(faults.apiFault(listPods), { delayMs: 200 });
    faults.add({ resource: "pods", code: 503, delayMs: 50, retryAfterSeconds: 7 });
    const f = injected(faults.apiFault(listPods));
    assert.equal(f.delayMs, 250);
    assert.equal(apiErrorOf(f).toStatus().details?.retryAfterSeconds, 7);
  });

  test("a partial rate fires in the same pattern on every run and about as often as asked", () => {
    const pattern = () => {
      const faults = new Faults([{ code: 503, rate: 0.3 }], { seed: 42 });
      return Array.from({ length: 2000 }, () => (faults.apiFault(listPods) ? 1 : 0));
    };
    const first = pattern();
    assert.deepEqual(pattern(), first);
    const fired = first.reduce<number>((a, b) => a + b, 0) / first.length;
    assert.ok(Math.abs(fired - 0.3) < 0.04, `fired ${fired}`);
  });

  test("clear removes every rule and tells listeners", () => {
    const faults = new Faults([{ code: 500 }]);
    let told = false;
    faults.onChange(() => (told = true));
    faults.clear();
    assert.equal(faults.apiFault(listPods), undefined);
    assert.ok(told);
  });
});

describe("watch cuts", () => {
  test("the shortest matching cut wins; a cut without afterMs defaults to one second; other resources stay open", () => {
    const faults = new Faults([
      { watchCut: { resource: "pods", afterMs: 5000 } },
      { watchCut: { resource: "pods", afterMs: 800 } },
      { watchCut: { resource: "services" } },
    ]);
    assert.equal(faults.watchCutMs("pods"), 800);
    assert.equal(faults.watchCutMs("services"), 1000);
    assert.equal(faults.watchCutMs("deployments"), undefined);
  });
});

describe("pod faults", () => {
  const old = meshPod({
    namespace: "shop",
    deployment: "cart",
    suffix: "a",
    revision: "1-27-0",
    proxyVersion: "1.27.3",
    variant: "-distroless",
  });
  const fresh = meshPod({
    namespace: "shop",
    deployment: "cart",
    suffix: "b",
    revision: "1-28-0",
    proxyVersion: "1.28.0",
    native: true,
  });
  const plain = meshPod({ namespace: "shop", deployment: "legacy", suffix: "c" });

  test("proxyVersion matches the istio-proxy image tag without its variant, exactly or by minor", () => {
    const faults = new Faults([
      { match: { proxyVersion: "1.27.3" }, crashLoop: true },
      { match: { proxyVersion: "1.28" }, neverReady: true },
    ]);
    assert.deepEqual(faults.podFault(old), { crashLoop: true });
    assert.deepEqual(faults.podFault(fresh), { neverReady: true });
    assert.deepEqual(faults.podFault(plain), {});
  });

  test("workload is the owning Deployment (ReplicaSet name minus pod-template-hash), revision the injecting one", () => {
    const faults = new Faults([
      { match: { workload: "cart", revision: "1-28-0" }, errorRate: 0.2, addedLatencyMs: 100 },
    ]);
    assert.deepEqual(faults.trafficFault(fresh), { errorRate: 0.2, addedLatencyMs: 100 });
    assert.deepEqual(faults.trafficFault(old), { errorRate: 0, addedLatencyMs: 0 });
  });

  test("several matching rules combine: latencies add, error rates compound as independent failures", () => {
    const faults = new Faults([
      { match: { namespace: "shop" }, errorRate: 0.5, addedLatencyMs: 10 },
      { match: { workload: "cart" }, errorRate: 0.5, addedLatencyMs: 20, xdsRejects: true },
    ]);
    assert.deepEqual(faults.trafficFault(fresh), { errorRate: 0.75, addedLatencyMs: 30 });
    assert.equal(faults.podEffects(fresh).xdsRejects, true);
    assert.equal(faults.podEffects(plain).xdsRejects, false);
  });

  test("a proxy-version rule never matches a pod without a sidecar", () => {
    const faults = new Faults([
      { match: { proxyVersion: "1.27" }, crashLoop: true },
      { match: { revision: "default" }, crashLoop: true },
    ]);
    assert.deepEqual(faults.podFault(plain), {});
  });
});
