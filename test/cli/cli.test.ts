// The CLI in-process (`run(argv, io)`) against the sandbox's demo mesh: what a user sees and the
// exit codes scripts rely on. The demo runs Istio 1.27.9 as revision 1-27-9 (tags default and
// prod-stable) on Kubernetes 1.31.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";

import { startSandbox, type Sandbox } from "../../sandbox/index.js";

import { renderRevision } from "../../sandbox/istio/render.js";

import { loadScenario } from "../../sandbox/scenario/schema.js";
import { kubectl } from "../helpers/kubectl.js";
import { loadCluster } from "../../src/kube/config.js";
import { meshSnapshotSchema, type MeshSnapshot } from "../../src/mesh/index.js";
import { run, type CliIO } from "../../src/cli/index.js";

const RUNNING = "1-27-9";
const ESC = "\u001b[";
const FIXED_NOW = new Date("2026-03-01T12:00:00Z");
const tmp = mkdtempSync(path.join(tmpdir(), "meshlift-cli-"));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function meshlift(argv: string[], options: { env?: NodeJS.ProcessEnv; isTTY?: boolean } = {}): Promise<Result> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: options.env ?? {},
    isTTY: options.isTTY ?? false,
    now: () => FIXED_NOW,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

/** Rows of one section of the plain (non-TTY) output: cells are separated by 3+ spaces. */
function section(output: string, heading: string): Record<string, string>[] {
  const lines = output.split("\n");
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `section ${heading} missing in:\n${output}`);
  const header = lines[start + 1].split(/\s{3,}/);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim()) break;
    const cells = line.split(/\s{3,}/);
    rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""])));
  }
  return rows;
}

const NARROW_TOKEN = "narrow-token-0123456789abcdef";

describe("meshlift CLI against the demo sandbox", () => {
  let sb: Sandbox;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    const scenario = loadScenario("demo");
    // a user who may read core and apps objects but not admission webhooks (RBAC denies with 403)
    const narrow = {
      name: "narrow",
      token: NARROW_TOKEN,
      groups: [],
      rules: [{ verbs: ["get", "list", "watch"], apiGroups: ["", "apps", "batch", "policy"], resources: ["*"] }],
    };
    sb = await startSandbox({
      scenario: { ...scenario, tokens: [...scenario.tokens, narrow] } as typeof scenario,
      port: 0,
      // every pod, the Job's included, settles before the tests read the mesh
      timing: { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20, jobRunMs: 20 },
    });
    await sb.idle();
    env = { KUBECONFIG: sb.kubeconfigPath, HOME: tmp };
  });
  after(async () => {
    await sb.stop();
  });

  test("--help lists the commands and global flags, exit 0", async () => {
    const r = await meshlift(["--help"]);
    assert.equal(r.code, 0);
    for (const word of [
      "status",
      "versions",
      "precheck",
      "--kubeconfig",
      "--context",
      "--output",
      "--no-color",
      "--request-timeout",
      "Exit codes",
    ])
      assert.match(r.stdout, new RegExp(word));
  });

  test("status shows the running revision, both gateways and every namespace with its effective revision", async () => {
    const r = await meshlift(["status"], { env });
    assert.equal(r.code, 0, r.stderr);
    const revisions = section(r.stdout, "REVISIONS");
    assert.deepEqual(
      revisions.map((x) => [x.REVISION, x.VERSION, x.READY, x.DEFAULT, x.TAGS]),
      [[RUNNING, "1.27.9", "1/1", "yes", "default,prod-stable"]],
    );
    const gateways = section(r.stdout, "GATEWAYS");
    assert.deepEqual(gateways.map((g) => `${g.NAMESPACE}/${g.NAME}`).sort(), [
      "istio-egress/istio-egressgateway",
      "istio-ingress/istio-ingressgateway",
    ]);
    for (const g of gateways) assert.equal(g.REVISION, RUNNING);

    // expected by Istio's precedence: istio-injection beats istio.io/rev; tags resolve to their revision
    const cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    const listed = await cluster.rest.requestJson<{
      items: { metadata: { name: string; labels?: Record<string, string> } }[];
    }>({ path: "/api/v1/namespaces" });
    cluster.close();
    const expected = (labels: Record<string, string>): string => {
      if (labels["istio-injection"] === "enabled") return `${RUNNING} (tag default)`;
      if (labels["istio-injection"] !== undefined) return "-";
      const rev = labels["istio.io/rev"];
      if (rev === "prod-stable" || rev === "default") return `${RUNNING} (tag ${rev})`;
      return rev ?? "per pod";
    };
    const shown = new Map(section(r.stdout, "NAMESPACES").map((n) => [n.NAMESPACE, n.REVISION]));
    assert.equal(shown.size, listed.items.length, "every namespace is listed");
    for (const ns of listed.items)
      assert.equal(shown.get(ns.metadata.name), expected(ns.metadata.labels ?? {}), `namespace ${ns.metadata.name}`);
    assert.match(r.stdout, /No stale proxies/);
    // legacy-billing: injection switched off after deployment; webhook-injected pods would lose their sidecar
    assert.match(
      r.stdout + r.stderr,
      /1 pod would lose the sidecar when restarted \(e\.g\. legacy-billing\/invoice-renderer-/,
    );
    assert.ok(!r.stdout.includes(ESC), "no colour outside a terminal");
  });

  test("status -n limits the views to one namespace; an unknown namespace is a usage error", async () => {
    const r = await meshlift(["status", "-n", "payments", "--wide"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      section(r.stdout, "NAMESPACES").map((n) => n.NAMESPACE),
      ["payments"],
    );
    assert.ok(section(r.stdout, "WORKLOADS").every((w) => w.NAMESPACE === "payments"));
    const missing = await meshlift(["status", "-n", "no-such-ns"], { env });
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /namespace "no-such-ns" does not exist/);
  });

  test("status -o json is the full snapshot and matches the MeshSnapshot schema; -o yaml is the same document", async () => {
    const json = await meshlift(["status", "-o", "json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const snapshot = meshSnapshotSchema.strict().parse(JSON.parse(json.stdout)) as MeshSnapshot;
    assert.deepEqual(
      snapshot.revisions.map((r) => r.name),
      [RUNNING],
    );
    assert.ok(snapshot.proxies.length > 40);
    const yaml = await meshlift(["-o", "yaml", "status"], { env });
    assert.equal(yaml.code, 0, yaml.stderr);
    const fromYaml = parseYaml(yaml.stdout) as MeshSnapshot;
    assert.deepEqual({ ...fromYaml, takenAt: "" }, { ...snapshot, takenAt: "" });
  });

  test("versions: installed version, upgrades within one canary step with Kubernetes support, and the new-version line", async () => {
    const r = await meshlift(["versions"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      section(r.stdout, "INSTALLED").map((i) => [i.REVISION, i.VERSION, i["END OF LIFE"]]),
      [[RUNNING, "1.27.9", "2026-04-07, 37 days left"]],
    );
    const upgrades = section(r.stdout, "AVAILABLE UPGRADES FROM 1.27.9");
    assert.deepEqual(
      upgrades.map((u) => [u.VERSION, u.TYPE, u["KUBERNETES 1.31"]]),
      [
        ["1.28.10", "minor", "supported (1.30–1.34)"],
        ["1.29.6 *", "skip-one-minor", "supported (1.31–1.35)"],
      ],
    );
    assert.match(r.stdout, /1\.30\.3: more than one canary step away — upgrade via 1\.29\.6 → 1\.30\.3/);
    assert.match(r.stdout, /New version available: Istio 1\.30\.3 \(installed 1\.27\.9\)\. Recommended: 1\.29\.6/);
  });

  test("precheck to the next minor passes with warnings: exit 1, and 2 with --strict", async () => {
    const r = await meshlift(["precheck", "--to", "1.28"], { env });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /PRECHECK 1\.27\.9 → 1\.28\.10/);
    assert.match(r.stdout, /Passed with warnings: 0 error\(s\), \d+ warning\(s\)/);
    assert.doesNotMatch(r.stdout, /^ERROR/m);
    const strict = await meshlift(["precheck", "--to", "1.28.10", "--strict"], { env });
    assert.equal(strict.code, 2);
    const json = await meshlift(["precheck", "--to", "1.28.10", "-o", "json"], { env });
    const report = JSON.parse(json.stdout) as {
      target: { version: string; revision: string };
      exitCode: number;
      findings: { severity: string }[];
    };
    assert.equal(json.code, 1);
    assert.deepEqual(report.target, { version: "1.28.10", revision: "1-28-10" });
    assert.ok(report.findings.length > 0 && report.findings.every((f) => f.severity !== "error"));
  });

  test("unknown and malformed target versions are refused with exit 4 before the cluster is contacted", async () => {
    const requestsBefore = sb.requestLog.since(0).length;
    const unknown = await meshlift(["precheck", "--to", "1.99.0"], { env });
    assert.equal(unknown.code, 4);
    assert.match(
      unknown.stderr,
      /^error: Istio 1\.99\.0 is not a known release \(catalog as of 2026-08-22: 1\.18\.0–1\.30\.3\)/,
    );
    const malformed = await meshlift(["precheck", "--to", "1.28.x"], { env });
    assert.equal(malformed.code, 4);
    assert.match(malformed.stderr, /"1\.28\.x" is not an Istio version: expected MAJOR\.MINOR\.PATCH/);
    const missing = await meshlift(["precheck"], { env });
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /required option '--to <version>' not specified/);
    assert.equal(sb.requestLog.since(0).length, requestsBefore, "no API request was made");
  });

  test("usage errors exit 4: unknown flag, unknown command, bad -o, bad --request-timeout", async () => {
    for (const argv of [
      ["status", "--bogus"],
      ["statsu"],
      ["status", "-o", "xml"],
      ["status", "--request-timeout", "soon"],
    ]) {
      const r = await meshlift(argv, { env });
      assert.equal(r.code, 4, `${argv.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /error/);
    }
  });

  test("a stopped cluster: one line saying it cannot be reached, exit 5", async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((r) => server.close(r));
    const kubeconfig = path.join(tmp, "stopped.yaml");
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
    );
    const r = await meshlift(["status", "--kubeconfig", kubeconfig], { env: { HOME: tmp } });
    assert.equal(r.code, 5);
    assert.equal(
      r.stderr,
      `error: cannot reach the Kubernetes API at ${url}: connection refused — is the cluster running / is the kubeconfig right?\n`,
    );
    assert.equal(r.stdout, "");
  });

  test("a missing kubeconfig file: one line, exit 5", async () => {
    const r = await meshlift(["versions", "--kubeconfig", path.join(tmp, "absent.yaml")], { env: { HOME: tmp } });
    assert.equal(r.code, 5);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /kubeconfig .*absent\.yaml does not exist/);
  });

  test("a token the server rejects: one line naming the context, exit 5", async () => {
    const kubeconfig = path.join(tmp, "rejected.yaml");
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${sb.url}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: not-a-valid-token}}]\ncontexts: [{name: expired, context: {cluster: c, user: u}}]\ncurrent-context: expired\n`,
    );
    const r = await meshlift(["status", "--kubeconfig", kubeconfig], { env: { HOME: tmp } });
    assert.equal(r.code, 5);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /401 Unauthorized.*credentials in the kubeconfig \(context "expired"\) were rejected/);
  });

  test("a user without permission to list webhooks: one line naming what is denied, exit 5", async () => {
    const r = await meshlift(["status", "--context", "sandbox-narrow"], { env });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(
      r.stderr,
      /list mutatingwebhookconfigurations\.admissionregistration\.k8s\.io.*\[403 Forbidden\].*lacks RBAC permission/,
    );
  });

  test("on a terminal tables are coloured, unless --no-color, NO_COLOR or CI", async () => {
    const coloured = async (argv: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
      (await meshlift(argv, { env: { ...env, ...extraEnv }, isTTY: true })).stdout.includes(ESC);
    assert.equal(await coloured(["versions"]), true);
    assert.equal(await coloured(["versions", "--no-color"]), false);
    assert.equal(await coloured(["versions"], { NO_COLOR: "1" }), false);
    assert.equal(await coloured(["versions"], { CI: "true" }), false);
  });

  test("after relabelling a namespace to a new revision and restarting one Deployment, only its pods run the new revision; the rest are stale", async () => {
    const k = (args: string[], input?: string) =>
      kubectl("kubectl", sb.kubeconfigPath, args, { input, timeoutMs: 60_000 });
    const manifests = {
      apiVersion: "v1",
      kind: "List",
      items: renderRevision({ version: "1.28.10", revision: "1-28-10" }),
    };
    const applied = await k(["apply", "-f", "-"], JSON.stringify(manifests));
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(
      (await k(["rollout", "status", "deployment/istiod-1-28-10", "-n", "istio-system", "--timeout=60s"])).code,
      0,
    );
    const labelled = await k(["label", "namespace", "online-boutique", "istio.io/rev=1-28-10", "--overwrite"]);
    assert.equal(labelled.code, 0, labelled.stderr);
    assert.equal((await k(["rollout", "restart", "deployment/frontend", "-n", "online-boutique"])).code, 0);
    const rolled = await k(["rollout", "status", "deployment/frontend", "-n", "online-boutique", "--timeout=60s"]);
    assert.equal(rolled.code, 0, rolled.stderr);
    await sb.idle();

    const json = await meshlift(["status", "-o", "json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const snapshot = JSON.parse(json.stdout) as MeshSnapshot;
    const live = snapshot.proxies.filter((p) => p.live && p.namespace === "online-boutique" && !p.terminating);
    const frontend = live.filter((p) => p.workload?.name === "frontend");
    const others = live.filter((p) => p.workload?.name !== "frontend");
    assert.equal(frontend.length, 2);
    for (const p of frontend) assert.deepEqual([p.revision, p.version, p.stale], ["1-28-10", "1.28.10", false], p.pod);
    assert.ok(others.length >= 10);
    for (const p of others)
      assert.deepEqual([p.revision, p.selectedRevision, p.stale], [RUNNING, "1-28-10", true], p.pod);
    const elsewhere = snapshot.proxies.filter((p) => p.live && p.namespace !== "online-boutique");
    assert.ok(
      elsewhere.every((p) => !p.stale),
      "other namespaces are untouched",
    );

    const table = await meshlift(["status"], { env });
    const ns = section(table.stdout, "NAMESPACES").find((n) => n.NAMESPACE === "online-boutique")!;
    assert.equal(ns.REVISION, "1-28-10");
    assert.equal(ns.STALE, String(others.length));
    assert.deepEqual(
      section(table.stdout, "REVISIONS")
        .map((r) => r.REVISION)
        .sort(),
      ["1-27-9", "1-28-10"],
    );
    assert.match(table.stdout, new RegExp(`${others.length} stale proxies in \\d+ workloads`));
    assert.match(table.stdout, /online-boutique\/Deployment\/cartservice: 1 pod on 1-27-9, restart → 1-28-10/);
    assert.doesNotMatch(table.stdout, /online-boutique\/Deployment\/frontend:/);
  });
});

describe("precheck on a cluster newer than the target supports", () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({
      scenario: { ...loadScenario("demo"), kubernetesVersion: "1.36.1" },
      port: 0,
      // every pod, the Job's included, settles before the tests read the mesh
      timing: { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20, jobRunMs: 20 },
    });
    await sb.idle();
  });
  after(async () => {
    await sb.stop();
  });

  test("precheck --to 1.28 is blocked: exit 3, naming the supported Kubernetes range", async () => {
    const r = await meshlift(["precheck", "--to", "1.28"], { env: { KUBECONFIG: sb.kubeconfigPath, HOME: tmp } });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^ERROR\s+kubernetes-unsupported-by-target\s+Kubernetes 1\.36 is not supported by Istio 1\.28 \(supported 1\.30–1\.34/m,
    );
    assert.match(r.stdout, /Blocked: [1-9]\d* error\(s\)/);
  });
});
