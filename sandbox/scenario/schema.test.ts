import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadScenario, parseScenario, ScenarioError, scenarioWarnings, type Scenario } from "./schema.js";

/** Parses `text` expecting failure; returns the ScenarioError. */
function rejects(text: string): ScenarioError {
  try {
    parseScenario(text, "bad.yaml");
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `expected ScenarioError, got ${String(e)}`);
    return e;
  }
  assert.fail("the scenario was accepted");
}

const podsOf = (s: Scenario) =>
  s.namespaces.reduce((n, ns) => n + ns.workloads.reduce((m, w) => m + (w.replicas ?? 0), 0), 0);

describe("built-in scenario demo", () => {
  const demo = loadScenario("demo");

  test("runs Istio 1.27.9 as revision 1-27-9, the default, also tagged prod-stable, on Kubernetes 1.31", () => {
    assert.equal(demo.kubernetesVersion, "1.31.4");
    assert.deepEqual(
      demo.istio.revisions.map((r) => [r.version, r.name, r.default, r.tags]),
      [["1.27.9", "1-27-9", true, ["prod-stable"]]],
    );
  });

  test("opts namespaces in by istio-injection, by revision and by tag, with one IST0123 conflict", () => {
    const label = (k: string, v: string) => demo.namespaces.filter((n) => n.labels[k] === v).map((n) => n.name);
    assert.ok(label("istio-injection", "enabled").length >= 2);
    assert.ok(label("istio.io/rev", "1-27-9").length >= 2);
    assert.ok(label("istio.io/rev", "prod-stable").length >= 2);
    const both = demo.namespaces
      .filter((n) => n.labels["istio-injection"] && n.labels["istio.io/rev"])
      .map((n) => n.name);
    assert.deepEqual(both, ["legacy-crm"]);
    assert.deepEqual(scenarioWarnings(demo), [
      "namespace legacy-crm: both istio-injection and istio.io/rev are set (IST0123); istio-injection wins",
    ]);
  });

  test("has ~40 workloads covering every kind, a blocking PDB, pre-injected pods and two gateways", () => {
    const workloads = demo.namespaces.flatMap((n) => n.workloads.map((w) => ({ ns: n, w })));
    assert.ok(workloads.length >= 35 && workloads.length <= 45, `${workloads.length} workloads`);
    for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"])
      assert.ok(
        workloads.some(({ w }) => w.kind === kind),
        `no ${kind}`,
      );
    assert.ok(
      workloads.some(({ w }) => w.pdb?.minAvailable === w.replicas),
      "no PDB with minAvailable == replicas",
    );
    const preInjected = workloads.filter(({ w }) => w.preInjected);
    assert.ok(preInjected.length > 0 && preInjected.every(({ ns }) => ns.labels["istio-injection"] === "disabled"));
    assert.deepEqual(
      demo.gateways.map((g) => [g.namespace, g.kind, g.replicas]),
      [
        ["istio-ingress", "ingress", 2],
        ["istio-egress", "egress", 1],
      ],
    );
    assert.ok(demo.envoyFilters.some((f) => f.proxyVersion === "^1\\.27.*"));
  });

  test("gets an admin and a read-only viewer token, generated fresh for each load", () => {
    assert.deepEqual(
      demo.tokens.map((t) => [t.name, t.role]),
      [
        ["admin", "admin"],
        ["viewer", "view"],
      ],
    );
    assert.notEqual(loadScenario("demo").tokens[0].token, demo.tokens[0].token);
    assert.ok(demo.tokens.every((t) => t.token.length >= 32));
  });

  test("takes no parameters", () => {
    assert.throws(() => loadScenario("demo:namespaces=3"), /takes no parameters/);
  });
});

describe("built-in scenario large", () => {
  test("defaults to 1,000 namespaces × 20 pods = 20,000 pods on the demo's Istio setup", () => {
    const large = loadScenario("large", {});
    assert.equal(large.namespaces.length, 1000);
    assert.equal(podsOf(large), 20_000);
    assert.ok(large.namespaces.every((n) => n.workloads.reduce((a, w) => a + (w.replicas ?? 0), 0) === 20));
    assert.deepEqual(
      large.istio.revisions.map((r) => [r.name, r.default, r.tags]),
      [["1-27-9", true, ["prod-stable"]]],
    );
    assert.deepEqual(
      [...new Set(large.namespaces.map((n) => JSON.stringify(n.labels)))],
      ['{"istio-injection":"enabled"}', '{"istio.io/rev":"1-27-9"}', '{"istio.io/rev":"prod-stable"}'],
    );
  });

  test("large:namespaces=100,pods=2000 spreads 2,000 pods over 100 namespaces", () => {
    const s = loadScenario("large:namespaces=100,pods=2000", {});
    assert.equal(s.namespaces.length, 100);
    assert.equal(podsOf(s), 2000);
    assert.equal(s.source, "builtin:large:namespaces=100,pods=2000");
  });

  test("an uneven total is spread without losing pods", () => {
    const s = loadScenario("large:namespaces=7,pods=101", {});
    assert.equal(podsOf(s), 101);
  });

  test("SANDBOX_LARGE applies, and the name's own parameters win over it", () => {
    assert.equal(loadScenario("large", { SANDBOX_LARGE: "namespaces=5,podsPerNamespace=3" }).namespaces.length, 5);
    const s = loadScenario("large:namespaces=2", { SANDBOX_LARGE: "namespaces=5,podsPerNamespace=3" });
    assert.equal(s.namespaces.length, 2);
    assert.equal(podsOf(s), 6);
  });

  test("an unknown parameter is refused with a suggestion", () => {
    assert.throws(
      () => loadScenario("large:namespace=10", {}),
      /unknown large parameter "namespace" — did you mean "namespaces"\?/,
    );
  });
});

describe("scenario files", () => {
  test("a file path is loaded and named in messages", () => {
    const dir = mkdtempSync(join(tmpdir(), "scenario-"));
    const file = join(dir, "mine.yaml");
    writeFileSync(
      file,
      "name: mine\nnamespaces:\n  - name: shop\n    workloads:\n      - name: web\n        replicas: 3\n",
    );
    const s = loadScenario(file);
    assert.equal(s.source, file);
    assert.equal(s.namespaces[0].workloads[0].replicas, 3);
    writeFileSync(file, "name: mine\nnodes: 0\n");
    assert.throws(
      () => loadScenario(file),
      (e: Error) => e.message.includes(`${file}:2:8: nodes: a cluster needs at least one node`),
    );
  });

  test("a missing file says it is neither a file nor a built-in", () => {
    assert.throws(
      () => loadScenario("/nonexistent/demo2.yaml"),
      /no such file, and not a built-in scenario \(demo, large\)/,
    );
  });

  test("a minimal scenario gets defaults: Kubernetes 1.31.4, 3 nodes, no Istio, Istio CRDs on", () => {
    const s = parseScenario("name: bare\n", "bare.yaml");
    assert.equal(s.kubernetesVersion, "1.31.4");
    assert.deepEqual(s.nodes, ["sandbox-node-1", "sandbox-node-2", "sandbox-node-3"]);
    assert.deepEqual(s.istio, { namespace: "istio-system", crds: true, revisions: [] });
    assert.equal(s.timing.podReadyMs, 400);
  });

  test("a revision without a name is named after its version; tag default marks the default revision", () => {
    const s = parseScenario(
      "name: x\nistio:\n  revisions:\n    - version: 1.28.10\n      tags: [default, canary]\n    - version: 1.27.9\n      name: ''\n",
      "x.yaml",
    );
    assert.deepEqual(
      s.istio.revisions.map((r) => [r.name, r.default, r.tags]),
      [
        ["1-28-10", true, ["canary"]],
        ["", false, []],
      ],
    );
  });

  test("a namespace label naming a revision that is not installed is allowed, and warned about", () => {
    const s = parseScenario(
      "name: x\nistio:\n  revisions: [{ version: 1.27.9 }]\nnamespaces:\n  - name: orphan\n    labels: { istio.io/rev: 1-26-8 }\n",
      "x.yaml",
    );
    assert.equal(s.namespaces[0].labels["istio.io/rev"], "1-26-8");
    assert.deepEqual(scenarioWarnings(s), [
      "namespace orphan: istio.io/rev=1-26-8 names no installed revision or tag; its pods get no sidecar",
    ]);
  });
});

describe("malformed scenario files", () => {
  test("a YAML syntax error gives the line and column", () => {
    const e = rejects("name: x\nnamespaces:\n  - name: a\n   labels: {\n");
    assert.match(e.message, /^invalid scenario bad\.yaml:\n {2}bad\.yaml:4:\d+: YAML syntax error: /);
    assert.equal(e.issues[0].line, 4);
  });

  test("an unknown field names the path, the line and the field it was probably meant to be", () => {
    const e = rejects(
      "name: x\nnamespaces:\n  - name: a\n  - name: b\n  - name: c\n  - name: d\n    workloads:\n      - name: w1\n      - name: w2\n        replica: 3\n",
    );
    assert.deepEqual(e.issues, [
      {
        path: "namespaces[3].workloads[1]",
        line: 10,
        column: 9,
        message: 'unknown field "replica" — did you mean "replicas"?',
      },
    ]);
  });

  test("an unknown field with no near match lists the allowed fields", () => {
    const e = rejects("name: x\ntiming:\n  warpSpeed: 1\n");
    assert.match(
      e.issues[0].message,
      /^unknown field "warpSpeed" — allowed fields here: podStartMs, podReadyMs, podTerminateMs, jobRunMs, crashLoopMs$/,
    );
  });

  test("a wrong type says what was expected and what was found", () => {
    const e = rejects("name: x\nnamespaces:\n  - name: a\n    workloads:\n      - name: w\n        replicas: three\n");
    assert.deepEqual(
      e.issues.map((i) => [i.path, i.line, i.message]),
      [["namespaces[0].workloads[0].replicas", 6, 'expected a number, got the string "three"']],
    );
  });

  test("an unquoted boolean label value is refused with the quoting fix", () => {
    const e = rejects(
      "name: x\nnamespaces:\n  - name: a\n    workloads:\n      - name: w\n        podLabels:\n          sidecar.istio.io/inject: false\n",
    );
    assert.equal(e.issues[0].path, 'namespaces[0].workloads[0].podLabels["sidecar.istio.io/inject"]');
    assert.match(e.issues[0].message, /expected a string, got boolean false — quote it: "false"/);
  });

  test("negative replicas are refused", () => {
    const e = rejects("name: x\nnamespaces:\n  - name: a\n    workloads:\n      - name: w\n        replicas: -2\n");
    assert.deepEqual(
      e.issues.map((i) => [i.path, i.message]),
      [["namespaces[0].workloads[0].replicas", "must be ≥ 0, got -2"]],
    );
  });

  test("an unknown Kubernetes version names the known range", () => {
    const e = rejects('name: x\nkubernetesVersion: "1.45.0"\n');
    assert.deepEqual(e.issues, [
      {
        path: "kubernetesVersion",
        line: 2,
        column: 20,
        message: 'unknown Kubernetes version "1.45.0" — the sandbox knows Kubernetes 1.20–1.36; use e.g. "1.31.4"',
      },
    ]);
    assert.match(
      rejects("name: x\nkubernetesVersion: latest\n").issues[0].message,
      /"latest" is not a Kubernetes version — write MAJOR\.MINOR\.PATCH/,
    );
  });

  test("a misspelt workload kind suggests the right one", () => {
    const e = rejects("name: x\nnamespaces:\n  - name: a\n    workloads:\n      - name: w\n        kind: Deploymnet\n");
    assert.match(e.issues[0].message, /use one of "Deployment", .* — did you mean "Deployment"\?$/);
  });

  test("duplicate names are refused where the second one is declared", () => {
    const ns = rejects("name: x\nnamespaces:\n  - name: shop\n  - name: shop\n");
    assert.deepEqual(
      ns.issues.map((i) => [i.path, i.line, i.message]),
      [["namespaces[1].name", 4, 'duplicate namespace "shop" (first declared at index 0) — names must be unique']],
    );
    const wl = rejects(
      "name: x\nnamespaces:\n  - name: shop\n    workloads:\n      - name: web\n      - { name: web, kind: StatefulSet }\n",
    );
    assert.equal(wl.issues[0].path, "namespaces[0].workloads[1].name");
    const rev = rejects("name: x\nistio:\n  revisions:\n    - version: 1.27.9\n    - version: 1.27.9\n");
    assert.match(rev.issues[0].message, /duplicate revision name "1-27-9"/);
    const gw = rejects("name: x\ngateways:\n  - { name: gw, kind: ingress }\n  - { name: gw, kind: ingress }\n");
    assert.match(gw.issues[0].message, /duplicate gateway "istio-ingress\/gw"/);
  });

  test("two default revisions, a tag named like a revision, and a Service name clash are refused", () => {
    const two = rejects(
      "name: x\nistio:\n  revisions:\n    - { version: 1.27.9, default: true }\n    - { version: 1.28.10, default: true }\n",
    );
    assert.match(two.issues[0].message, /only one revision can be the default/);
    const tag = rejects(
      "name: x\nistio:\n  revisions:\n    - { version: 1.27.9 }\n    - { version: 1.28.10, tags: [1-27-9] }\n",
    );
    assert.match(tag.issues[0].message, /tag "1-27-9" has the same name as a revision/);
    const svc = rejects(
      "name: x\nnamespaces:\n  - name: a\n    workloads:\n      - { name: r1, podLabels: { app: r, version: v1 }, service: true }\n      - { name: r2, podLabels: { app: r, version: v2 }, service: true }\n",
    );
    assert.match(svc.issues[0].message, /duplicate Service \(named after the app label\) in namespace "a" "r"/);
  });

  test("kind-specific fields are refused on the wrong kind", () => {
    const e = rejects(
      "name: x\nnamespaces:\n  - name: a\n    workloads:\n      - { name: agent, kind: DaemonSet, replicas: 3 }\n      - { name: web, schedule: '* * * * *' }\n",
    );
    assert.deepEqual(
      e.issues.map((i) => i.message),
      [
        "a DaemonSet runs one pod per node — remove replicas (or use a Deployment)",
        "schedule is for kind CronJob, not Deployment",
      ],
    );
  });

  test("a PDB needs exactly one of minAvailable and maxUnavailable", () => {
    const e = rejects(
      "name: x\nnamespaces:\n  - name: a\n    workloads:\n      - { name: w, pdb: { minAvailable: 1, maxUnavailable: 1 } }\n",
    );
    assert.match(e.issues[0].message, /set exactly one of minAvailable or maxUnavailable/);
  });

  test("bad fault rules are reported with the faults schema's own message", () => {
    const e = rejects("name: x\nfaults:\n  - { verb: gett, code: 500 }\n");
    assert.equal(e.issues[0].path, "faults[0].verb");
    assert.match(e.issues[0].message, /verb must be one of get, list/);
  });

  test("traffic for an undeclared workload is refused", () => {
    const e = rejects(
      "name: x\nnamespaces: [{ name: a }]\ntraffic:\n  workloads: [{ namespace: a, workload: ghost, rps: 3 }]\n",
    );
    assert.equal(e.issues[0].path, "traffic.workloads[0].workload");
  });

  test("every problem is reported at once, in file order", () => {
    const e = rejects("name: Bad_Name\nnodes: -1\nnamespaces:\n  - name: a\n    labelz: {}\n");
    assert.deepEqual(
      e.issues.map((i) => i.line),
      [1, 2, 5],
    );
  });

  test("an empty file or a list is not a scenario", () => {
    assert.match(rejects("").message, /a scenario is a YAML mapping with at least "name:", got an empty file/);
    assert.match(rejects("- a\n").message, /got a list/);
  });
});
