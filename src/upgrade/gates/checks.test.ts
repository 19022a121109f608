// The metric checks without Prometheus: PromQL text for a wave, placeholder filling, verdicts from
// query answers (as the client returns them), and the validation of checks in a spec.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  evaluateLatencyRatio,
  evaluateSingleValue,
  evaluateSuccessRate,
  gateChecksOf,
  latencyBaselineOf,
  lintPromQL,
  promAlternation,
  promDuration,
  successRateQuery,
  substitutePlaceholders,
  validateMetricChecks,
  type MetricCheckSpec,
  type WaveScope,
} from "./checks.js";
import type { QueryOutcome } from "./prometheus.js";

const scope: WaveScope = {
  workloads: [
    { kind: "Deployment", namespace: "payments", name: "ledger" },
    { kind: "Deployment", namespace: "payments", name: "fraud-check" },
    { kind: "StatefulSet", namespace: "orders", name: "orders-db" },
  ],
  revision: "1-28-0",
};

const vector = (...samples: [Record<string, string>, number][]): QueryOutcome => ({
  kind: "samples",
  resultType: "vector",
  samples: samples.map(([labels, value]) => ({ labels, value })),
});
const wl = (ns: string, name: string, extra: Record<string, string> = {}) => ({
  destination_workload_namespace: ns,
  destination_workload: name,
  ...extra,
});

describe("PromQL for a wave", () => {
  test("names become an escaped, sorted, de-duplicated alternation for a =~ matcher", () => {
    assert.equal(promAlternation(["b", "a.b", "b"]), "a\\\\.b|b");
    assert.equal(promAlternation(['we"ird']), 'we\\"ird');
  });

  test("an escaped name matches itself and nothing else under Prometheus' fully anchored RE2 semantics", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9.()*+?|[\]\\{}^$-]{1,12}$/),
        fc.string({ maxLength: 12 }),
        (name, other) => {
          // undo the PromQL string escaping, then match as Prometheus does: ^(?:re)$
          const regex = promAlternation([name]).replace(/\\\\/g, "\\").replace(/\\"/g, '"');
          const re = new RegExp(`^(?:${regex})$`);
          assert.ok(re.test(name));
          if (other !== name) assert.ok(!re.test(other));
        },
      ),
    );
  });

  test("durations: whole seconds as s, the rest as ms", () => {
    assert.equal(promDuration(60_000), "60s");
    assert.equal(promDuration(1_500), "1500ms");
    assert.equal(promDuration(0), "1ms");
  });

  test("the success-rate query sums per workload and response code over the window", () => {
    assert.equal(
      successRateQuery(scope, 2000),
      'sum by (destination_workload_namespace, destination_workload, response_code) (rate(istio_requests_total{reporter="destination",destination_workload_namespace=~"orders|payments",destination_workload=~"fraud-check|ledger|orders-db"}[2s]))',
    );
  });

  test("placeholders: $namespaces, $workloads, $revision and $interval are filled, others left alone", () => {
    assert.equal(
      substitutePlaceholders(
        'sum(rate(x{ns=~"$namespaces",w=~"$workloads",rev="$revision",o="$other"}[$interval]))',
        scope,
        30_000,
      ),
      'sum(rate(x{ns=~"orders|payments",w=~"fraud-check|ledger|orders-db",rev="1-28-0",o="$other"}[30s]))',
    );
  });
});

describe("verdicts from query answers", () => {
  test("success rate per workload: the worst is recorded and every failing workload named", () => {
    const r = evaluateSuccessRate(
      vector(
        [wl("payments", "ledger", { response_code: "200" }), 80],
        [wl("payments", "ledger", { response_code: "503" }), 20],
        [wl("payments", "fraud-check", { response_code: "200" }), 10],
        [wl("orders", "orders-db", { response_code: "200" }), 5],
        [wl("orders", "orders-db", { response_code: "404" }), 5],
        // not in the wave: ignored
        [wl("payments", "other", { response_code: "500" }), 99],
      ),
      scope,
      { min: 99 },
      60_000,
    );
    assert.equal(r.verdict, "Fail");
    assert.equal(r.value, 80);
    assert.match(r.message, /1 of 3 workloads not ≥ 99: payments\/ledger 80%/);
  });

  test("a workload answering only 5xx is 0%, not missing", () => {
    const r = evaluateSuccessRate(
      vector([wl("payments", "ledger", { response_code: "503" }), 3]),
      scope,
      { min: 99 },
      60_000,
    );
    assert.equal(r.verdict, "Fail");
    assert.equal(r.value, 0);
    assert.match(r.message, /no requests to orders\/orders-db, payments\/fraud-check/);
  });

  test("no samples at all is Inconclusive, never success", () => {
    for (const answer of [vector(), vector([wl("payments", "ledger", { response_code: "200" }), 0])]) {
      const r = evaluateSuccessRate(answer, scope, { min: 99 }, 60_000);
      assert.equal(r.verdict, "Inconclusive");
      assert.equal(r.value, null);
      assert.match(r.message, /no requests to any of the wave's 3 workloads in the last 60s/);
    }
  });

  test("Prometheus unreachable or refusing the query is an Error carrying its message", () => {
    const down = evaluateSuccessRate(
      { kind: "unreachable", message: "Prometheus at http://x is unreachable (ECONNREFUSED)" },
      scope,
      { min: 99 },
      1000,
    );
    assert.deepEqual([down.verdict, down.value], ["Error", null]);
    assert.match(down.message, /ECONNREFUSED/);
    const bad = evaluateSingleValue(
      { kind: "error", errorType: "bad_data", message: "1:5: parse error: unexpected" },
      "mine",
      { max: 1 },
      "",
    );
    assert.equal(bad.verdict, "Error");
    assert.equal(bad.message, "PromQL error (bad_data): 1:5: parse error: unexpected");
  });

  test("p99 ratio against the baseline per workload; workloads without a baseline are noted, not failed", () => {
    const base = latencyBaselineOf(
      vector([wl("payments", "ledger"), 20], [wl("payments", "fraud-check"), NaN]),
      scope,
      "2026-03-01T12:00:00.000Z",
    );
    assert.ok("baseline" in base);
    assert.deepEqual(base.baseline.p99Ms, [{ workload: "payments/ledger", value: 20 }]);
    const slow = evaluateLatencyRatio(
      vector([wl("payments", "ledger"), 50], [wl("payments", "fraud-check"), 9]),
      base.baseline,
      scope,
      { max: 1.2 },
      1000,
    );
    assert.equal(slow.verdict, "Fail");
    assert.equal(slow.value, 2.5);
    assert.match(slow.message, /payments\/ledger p99 50 ms vs 20 ms before \(×2\.5\)/);
    assert.match(slow.message, /no baseline for payments\/fraud-check/);
    const fine = evaluateLatencyRatio(vector([wl("payments", "ledger"), 22]), base.baseline, scope, { max: 1.2 }, 1000);
    assert.deepEqual([fine.verdict, fine.value], ["Pass", 1.1]);
  });

  test("p99 with traffic now but none before the wave is Inconclusive: nothing to compare with", () => {
    const r = evaluateLatencyRatio(
      vector([wl("orders", "orders-db"), 5]),
      { at: "2026-03-01T12:00:00.000Z", p99Ms: [] },
      scope,
      { max: 1.2 },
      1000,
    );
    assert.equal(r.verdict, "Inconclusive");
    assert.match(r.message, /no baseline/);
  });

  test("a user query must return one number: several series are an Error, NaN is Inconclusive", () => {
    const many = evaluateSingleValue(
      vector([{ a: "1" }, 1], [{ a: "2" }, 2], [{ a: "3" }, 3]),
      "mine",
      { max: 5 },
      "none",
    );
    assert.equal(many.verdict, "Error");
    assert.match(many.message, /returned 3 series \(\{a="1"\}, \{a="2"\}, …\), not one number — aggregate it/);
    assert.equal(evaluateSingleValue(vector([{}, NaN]), "mine", { max: 5 }, "none").verdict, "Inconclusive");
    assert.deepEqual(evaluateSingleValue(vector(), "mine", { max: 5 }, "none"), {
      check: "mine",
      value: null,
      verdict: "Inconclusive",
      message: "none",
    });
    const inf = evaluateSingleValue(vector([{}, Infinity]), "mine", { max: 5 }, "none");
    assert.deepEqual([inf.verdict, inf.value], ["Fail", null]);
    const scalar: QueryOutcome = { kind: "samples", resultType: "scalar", samples: [{ labels: {}, value: 3 }] };
    assert.deepEqual([evaluateSingleValue(scalar, "mine", { min: 1, max: 5 }, "").verdict], ["Pass"]);
  });
});

describe("the checks a wave runs", () => {
  test("unset: every built-in check with Flagger-like defaults", () => {
    assert.deepEqual(
      gateChecksOf(undefined).map((c) => [c.name, c.builtin, c.threshold]),
      [
        ["request-success-rate", "request-success-rate", { min: 99 }],
        ["request-duration-p99", "request-duration-p99", { max: 1.2 }],
        ["xds-rejects", "xds-rejects", { max: 0 }],
      ],
    );
  });

  test("a threshold given for a built-in check replaces its default; user checks keep their query", () => {
    const checks = gateChecksOf([
      { name: "request-success-rate", threshold: { min: 95 }, dryRun: false },
      { name: "errors", query: "sum(x)", threshold: { max: 1 }, dryRun: true },
    ]);
    assert.deepEqual(checks[0].threshold, { min: 95 });
    assert.deepEqual([checks[1].builtin, checks[1].query, checks[1].dryRun], [null, "sum(x)", true]);
  });
});

describe("validation of checks", () => {
  const v = (checks: MetricCheckSpec[]) => validateMetricChecks(checks).map((e) => `${e.field}: ${e.message}`);

  test("good checks pass", () => {
    assert.deepEqual(
      v([
        { name: "request-success-rate", dryRun: false },
        {
          name: "p95",
          query: 'histogram_quantile(0.95, sum by (le) (rate(m_bucket{w=~"$workloads"}[$interval]))) # ms',
          threshold: { max: 200 },
          dryRun: false,
        },
      ]),
      [],
    );
  });

  test("unknown names, queries on built-ins, missing thresholds and duplicates are refused", () => {
    assert.deepEqual(
      v([
        { name: "request-sucess-rate", dryRun: false },
        { name: "xds-rejects", query: "sum(x)", dryRun: false },
        { name: "mine", query: "sum(x)", dryRun: false },
        { name: "mine", query: "sum(y)", threshold: { max: 1 }, dryRun: false },
      ]),
      [
        'spec.verification.prometheus.checks[0].name: "request-sucess-rate" is not a built-in check (did you mean "request-success-rate"?) and has no query',
        'spec.verification.prometheus.checks[1].query: "xds-rejects" is a built-in check: its query is fixed',
        'spec.verification.prometheus.checks[2].threshold: custom check "mine" has no threshold',
        'spec.verification.prometheus.checks[3].name: check "mine" is listed twice',
      ],
    );
  });

  test("queries that cannot parse, and placeholders that cannot work, are refused with where", () => {
    const errs = v([
      { name: "a", query: "sum(rate(x[1m])", threshold: { max: 1 }, dryRun: false },
      { name: "b", query: 'x{a="b}', threshold: { max: 1 }, dryRun: false },
      { name: "c", query: "sum(x{w=~$workloads})", threshold: { max: 1 }, dryRun: false },
      { name: "d", query: 'x{w=~"$workload"}', threshold: { max: 1 }, dryRun: false },
      { name: "e", query: "sum(x])", threshold: { max: 1 }, dryRun: false },
    ]);
    assert.deepEqual(errs, [
      'spec.verification.prometheus.checks[0].query: the query of "a" is not valid PromQL: "(" at column 4 is never closed',
      'spec.verification.prometheus.checks[1].query: the query of "b" is not valid PromQL: the string starting at column 5 is never closed',
      'spec.verification.prometheus.checks[2].query: the query of "c" is not valid PromQL: $workloads must be inside a quoted label matcher, e.g. destination_workload=~"$workloads" (column 10)',
      'spec.verification.prometheus.checks[3].query: the query of "d" uses $workload, which meshlift does not fill (did you mean "workloads"?)',
      'spec.verification.prometheus.checks[4].query: the query of "e" is not valid PromQL: "]" at column 6 does not match "(" at column 4',
    ]);
  });

  test("a built-in threshold outside what the check can measure is refused", () => {
    assert.deepEqual(
      v([
        { name: "request-success-rate", threshold: { min: 101 }, dryRun: false },
        { name: "xds-rejects", threshold: { max: -1 }, dryRun: false },
        { name: "request-duration-p99", threshold: { max: 2 }, dryRun: false },
      ]),
      [
        "spec.verification.prometheus.checks[0].threshold: threshold ≥ 101 can never be met: request-success-rate is always between 0 and 100",
        "spec.verification.prometheus.checks[1].threshold: threshold ≤ -1 can never be met: xds-rejects is always between 0 and +∞",
      ],
    );
  });

  test("the lint never rejects what it produced itself: a filled query stays balanced", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/), { minLength: 1, maxLength: 5 }),
        (names) => {
          const wave: WaveScope = {
            workloads: names.map((n) => ({ kind: "Deployment", namespace: n, name: n })),
            revision: "1-28-0",
          };
          const filled = substitutePlaceholders(
            'sum(rate(x{a=~"$namespaces",b=~"$workloads"}[$interval]))',
            wave,
            60_000,
          );
          assert.equal(lintPromQL(filled), null);
        },
      ),
    );
  });
});
