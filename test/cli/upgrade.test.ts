// `meshlift upgrade …`, `rollout` and `decommission` in-process (`run(argv, io)`) against the sandbox: what a
// user sees, the exit codes, and — read from the sandbox's request log — that refused input writes nothing.
// The demo runs Istio 1.27.9 as revision 1-27-9 (tags default and prod-stable) on Kubernetes 1.31.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { parse as parseYaml } from "yaml";

import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { manifestsConfigMap, renderManifests } from "../../sandbox/render-cli.js";
import { loadScenario } from "../../sandbox/scenario/schema.js";
import { run, type CliIO } from "../../src/cli/index.js";
import { loadCluster, type Cluster } from "../../src/kube/config.js";
import { applyServerSide, mergePatch } from "../../src/kube/patch.js";
import { RESOURCES, type KubeObject } from "../../src/kube/resources.js";
import { meshUpgradeCrd } from "../../src/upgrade/api/index.js";
import { applyManifests } from "../../src/upgrade/install/index.js";

const TIMING = { podStartMs: 20, podReadyMs: 20, podTerminateMs: 20, jobRunMs: 20, crashLoopMs: 100 };
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const tmp = mkdtempSync(path.join(tmpdir(), "meshlift-upgrade-cli-"));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function meshlift(
  env: NodeJS.ProcessEnv,
  argv: string[],
  options: { stdin?: string; signal?: AbortSignal; onStdout?: (all: string) => void } = {},
): Promise<Result> {
  let stdout = "";
  let stderr = "";
  const io: CliIO & { signal?: AbortSignal } = {
    stdout: {
      write: (s: string) => {
        stdout += s;
        options.onStdout?.(stdout);
      },
    },
    stderr: { write: (s: string) => (stderr += s) },
    ...(options.stdin !== undefined ? { stdin: Readable.from([options.stdin]) } : {}),
    env,
    isTTY: false,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

/** Requests since `seq` that could change something (every method but GET). */
function writesSince(sb: Sandbox, seq: number) {
  return sb.requestLog.since(seq).filter((r) => WRITES.has(r.method));
}

/** Rows of one plain-output table: the heading line, a header line, rows until a blank line. */
function section(output: string, heading: string): Record<string, string>[] {
  const lines = output.split("\n");
  const start = lines.findIndex((l) => l.startsWith(heading));
  assert.ok(start >= 0, `section ${heading} missing in:\n${output}`);
  const header = lines[start + 1].trim().split(/\s{3,}/);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim()) break;
    const cells = line.trim().split(/\s{3,}/);
    rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""])));
  }
  return rows;
}

async function writeManifests(version: string, revision: string): Promise<{ file: string; objects: KubeObject[] }> {
  const objects = (await renderManifests({ version, revision })) as KubeObject[];
  const file = path.join(tmp, `${revision}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
  return { file, objects };
}

/** Plays the engine's part for a stage check: writes status.stage through the status subresource. */
async function setStage(cluster: Cluster, name: string, stage: string, extra: Record<string, unknown> = {}) {
  const path = `/apis/meshlift.io/v1alpha1/meshupgrades/${name}`;
  const current = await cluster.rest.requestJson<KubeObject>({ path });
  await cluster.rest.requestJson({
    method: "PUT",
    path: `${path}/status`,
    body: { ...current, status: { ...(current.status ?? {}), stage, ...extra } },
  });
}

describe("meshlift upgrade start / actions / status, rollout and decommission on the demo mesh", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let env: NodeJS.ProcessEnv;
  const mu = (name: string) =>
    cluster.rest.requestJson<KubeObject>({ path: `/apis/meshlift.io/v1alpha1/meshupgrades/${name}` });

  before(async () => {
    sb = await startSandbox({ scenario: "demo", port: 0, timing: TIMING });
    await sb.idle();
    env = { KUBECONFIG: sb.kubeconfigPath, HOME: tmp };
    cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  });
  after(async () => {
    cluster.close();
    await sb.stop();
  });

  test("start without the CRD prints the plan, then says how to install the CRD: exit 3, nothing written", async () => {
    const seq = sb.requestLog.lastSeq;
    const r = await meshlift(env, ["upgrade", "start", "--to", "1.28", "--dry-run"]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^UPGRADE to-1-28-10 {3}1-27-9 \(1\.27\.9\) → 1-28-10 \(1\.28\.10\), minor/m);
    assert.match(
      r.stderr,
      /error: the MeshUpgrade CRD \(meshupgrades\.meshlift\.io\) is not installed .* `kubectl apply -f deploy\/crds\/meshupgrade\.yaml`, or add --install-crd/,
    );
    assert.deepEqual(writesSince(sb, seq), []);
    await applyServerSide(cluster.rest, RESOURCES.customResourceDefinitions, meshUpgradeCrd() as KubeObject);
  });

  test("start --dry-run prints waves, workloads and prechecks; the API server only dry-runs the create", async () => {
    const seq = sb.requestLog.lastSeq;
    const r = await meshlift(env, ["upgrade", "start", "--to", "1.28.10", "--wave-size", "4", "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    const waves = section(r.stdout, "WAVES");
    assert.deepEqual(
      waves.map((w) => [w.WAVE, w.NAMESPACES]),
      [
        ["1", "batch, bookinfo, inventory, istio-egress"],
        ["2", "istio-ingress, legacy-billing, legacy-crm, online-boutique"],
        ["3", "orders, payments, storefront, tools"],
      ],
    );
    assert.match(r.stdout, /^Wave 2: istio-ingress, .*\n(?: {2}.*\n)*? {2}StatefulSet online-boutique\/redis-cart$/m);
    assert.match(r.stdout, /PRECHECKS {3}0 error\(s\), \d+ warning\(s\)/);
    assert.match(r.stdout, /WARNING {2}naked-pod {2}pod tools\/netshoot/);
    assert.match(r.stdout, /Dry run: the API server accepts MeshUpgrade to-1-28-10; nothing was changed/);
    const writes = writesSince(sb, seq);
    assert.deepEqual(
      writes.map((w) => `${w.verb} ${w.resource}`),
      ["create meshupgrades"],
      "one create, sent with dryRun=All",
    );
    const list = await cluster.rest.requestJson<{ items: unknown[] }>({
      path: "/apis/meshlift.io/v1alpha1/meshupgrades",
    });
    assert.equal(list.items.length, 0, "the dry-run create stored nothing");

    const json = await meshlift(env, ["upgrade", "start", "--to", "1.28.10", "--dry-run", "-o", "json"]);
    const doc = JSON.parse(json.stdout) as { plan: { waves: { workloads: unknown[] }[] }; created: boolean };
    assert.equal(doc.created, false);
    assert.equal(
      doc.plan.waves.reduce((n, w) => n + w.workloads.length, 0),
      32,
    );
  });

  test("bad input is refused with the flag, what is wrong and the fix: exit 4 and not one write", async () => {
    const cases: [string[], RegExp][] = [
      [["--to", "1.99.0"], /--to \(spec\.to\.version\): Istio 1\.99\.0 is not a known release/],
      [
        ["--to", "1.30"],
        /--to \(spec\.to\.version\): from revision 1-27-9: .* — fix: Upgrade in steps, one MeshUpgrade each: 1\.27\.9 → /,
      ],
      [
        ["--to", "1.28", "--namespaces", "bookinfo,paymnets"],
        /--namespaces \(spec\.dataPlane\.namespaces\.names\[1\]\): namespace "paymnets" does not exist \(did you mean "payments"\?\)/,
      ],
      [
        ["--to", "1.28", "--waves", "bookinfo;;payments"],
        /error: --waves: wave 2 of "bookinfo;;payments" is empty — fix: /,
      ],
      [
        ["--to", "1.28", "--waves", "bookinfo;orders"],
        /--waves \(spec\.dataPlane\.waves\.explicit\): selected namespaces in no wave: .*online-boutique/,
      ],
      [
        ["--to", "1.28", "--max-concurrent", "0"],
        /--max-concurrent \(spec\.dataPlane\.maxConcurrent\): number 0 is below the minimum 1/,
      ],
      [
        ["--to", "1.28", "--install", "Manifests"],
        /--manifests-configmap \(spec\.install\.manifests\.configMapRef\): install\.mode is Manifests but no ConfigMap/,
      ],
      [
        ["--to", "1.28", "--gateways", "sideways"],
        /argument 'sideways' is invalid\. Allowed choices are InPlace, Canary, none/,
      ],
    ];
    for (const [flags, message] of cases) {
      const seq = sb.requestLog.lastSeq;
      const r = await meshlift(env, ["upgrade", "start", ...flags]);
      assert.equal(r.code, 4, `${flags.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, flags.join(" "));
      assert.deepEqual(writesSince(sb, seq), [], `${flags.join(" ")} wrote nothing`);
    }
  });

  test("--install Manifests without -f takes the ConfigMap labelled meshlift.io/manifests-revision (as the engine does)", async () => {
    // the refusal above was for a mesh without it; `npm start` stores one per target revision
    await cluster.rest.requestJson({
      method: "POST",
      path: "/api/v1/namespaces/istio-system/configmaps",
      body: await manifestsConfigMap({ version: "1.28.10", revision: "1-28-10" }),
    });
    const seq = sb.requestLog.lastSeq;
    const r = await meshlift(env, ["upgrade", "start", "--to", "1.28", "--install", "Manifests", "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Dry run: the API server accepts MeshUpgrade to-1-28-10; nothing was changed/);
    assert.deepEqual(
      writesSince(sb, seq).map((w) => `${w.verb} ${w.resource}`),
      ["create meshupgrades"],
      "only the dry-run create",
    );
    await cluster.rest.requestJson({
      method: "DELETE",
      path: "/api/v1/namespaces/istio-system/configmaps/istio-1-28-10-manifests",
    });
  });

  test("start creates the MeshUpgrade as given; a second concurrent upgrade is refused naming the first", async () => {
    const r = await meshlift(env, ["upgrade", "start", "--to", "1.28", "--namespaces", "bookinfo", "--name", "first"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Created MeshUpgrade first\.\n {2}drive it here: {2}meshlift upgrade run first/);
    const created = await mu("first");
    assert.deepEqual((created.spec as { to: unknown }).to, { version: "1.28" });
    assert.deepEqual((created.spec as { dataPlane: { namespaces: unknown } }).dataPlane.namespaces, {
      names: ["bookinfo"],
    });
    const managers = (created.metadata.managedFields as { manager: string }[]).map((m) => m.manager);
    assert.deepEqual(managers, ["meshlift-cli"]);

    const seq = sb.requestLog.lastSeq;
    const second = await meshlift(env, ["upgrade", "start", "--to", "1.28", "--name", "second"]);
    assert.equal(second.code, 4);
    assert.match(
      second.stderr,
      /error: metadata\.name: MeshUpgrade "first" is already active \(stage Pending\); one upgrade at a time per mesh/,
    );
    assert.deepEqual(writesSince(sb, seq), []);
  });

  test("pause, resume, proceed and rollback set spec.action with a fresh nonce, and are refused where the stage forbids", async () => {
    const pause = await meshlift(env, ["upgrade", "pause", "--no-wait"]);
    assert.equal(pause.code, 0, pause.stderr);
    assert.match(
      pause.stdout,
      /Pause recorded on MeshUpgrade first; it takes effect when the operator or `meshlift upgrade run first`/,
    );
    const paused = await mu("first");
    const spec = paused.spec as { action?: string; actionNonce?: string };
    assert.equal(spec.action, "Pause");
    assert.match(spec.actionNonce ?? "", /^[0-9a-f]{12}$/);
    const actionManager = (
      paused.metadata.managedFields as { manager: string; fieldsV1: { "f:spec"?: object } }[]
    ).find((m) => m.fieldsV1["f:spec"] && "f:action" in m.fieldsV1["f:spec"]);
    assert.equal(actionManager?.manager, "meshlift-cli", "history can tell who asked");

    const refusals: [string, string, RegExp][] = [
      ["DataPlaneUpgrade", "resume", /Resume asked, but the upgrade is not paused \(stage DataPlaneUpgrade\)/],
      ["RollingBack", "proceed", /Proceed asked while rolling back \(stage RollingBack\); a rollback runs to its end/],
      ["RollingBack", "pause", /Pause asked while rolling back/],
      [
        "OldControlPlaneOffline",
        "rollback",
        /Rollback asked at stage OldControlPlaneOffline: rollback is possible only before OldControlPlaneOffline/,
      ],
      ["Completed", "rollback", /Rollback asked, but the upgrade has finished \(Completed\)/],
    ];
    for (const [stage, verb, message] of refusals) {
      await setStage(cluster, "first", stage);
      const seq = sb.requestLog.lastSeq;
      const r = await meshlift(env, ["upgrade", verb, "first", "--no-wait"]);
      assert.equal(r.code, 4, `${verb} at ${stage}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /nothing was changed/);
      assert.deepEqual(writesSince(sb, seq), [], `${verb} at ${stage} wrote nothing`);
    }

    await setStage(cluster, "first", "Paused", { pausedFrom: "DataPlaneUpgrade" });
    const before = ((await mu("first")).spec as { actionNonce: string }).actionNonce;
    const rollback = await meshlift(env, ["upgrade", "rollback", "first", "--timeout", "300ms"]);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(
      rollback.stdout,
      /Rollback recorded on MeshUpgrade first, not acknowledged within 300ms: nothing is driving/,
      rollback.stdout + rollback.stderr,
    );
    const after = (await mu("first")).spec as { action: string; actionNonce: string };
    assert.equal(after.action, "Rollback");
    assert.notEqual(after.actionNonce, before, "every request gets a new nonce");

    const json = await meshlift(env, ["upgrade", "resume", "first", "--no-wait", "-o", "json"]);
    assert.deepEqual(
      { ...(JSON.parse(json.stdout) as object), nonce: "" },
      { name: "first", action: "Resume", nonce: "", acknowledged: false, stage: "Paused" },
    );
  });

  test("upgrade status shows the stage pipeline, and -o yaml the object; no active upgrade and no NAME is an error", async () => {
    const r = await meshlift(env, ["upgrade", "status", "first"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^MESHUPGRADE first {3}→ Istio 1\.28$/m);
    assert.match(r.stdout, /stages {3}✓ Control-plane upgrade {3}‖ Data-plane upgrade {3}○ Old control plane offline/);
    assert.match(r.stdout, /next {5}meshlift upgrade resume first \(or meshlift upgrade rollback first\)/);
    const yaml = await meshlift(env, ["upgrade", "status", "first", "-o", "yaml"]);
    const doc = parseYaml(yaml.stdout) as KubeObject;
    assert.equal(doc.status?.stage, "Paused");
    assert.equal(doc.metadata.managedFields, undefined);

    await setStage(cluster, "first", "RolledBack");
    const none = await meshlift(env, ["upgrade", "run"]);
    assert.equal(none.code, 4);
    assert.match(none.stderr, /no MeshUpgrade is active \(finished: first \(RolledBack\)\) — name one/);
    const latest = await meshlift(env, ["upgrade", "status"]);
    assert.equal(latest.code, 0, "status falls back to the newest upgrade");
    assert.match(latest.stdout, /^MESHUPGRADE first/m);
    await cluster.rest.requestJson({ method: "DELETE", path: "/apis/meshlift.io/v1alpha1/meshupgrades/first" });
  });

  test("decommission: --dry-run lists what would go; a revision nobody uses is removed", async () => {
    const { objects } = await writeManifests("1.28.10", "1-28-10");
    await applyManifests(cluster.rest, objects);
    await sb.idle();
    let seq = sb.requestLog.lastSeq;
    const dry = await meshlift(env, ["decommission", "--revision", "1-28-10", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    const listed = section(dry.stdout, "WOULD DELETE");
    assert.ok(
      listed.some((o) => o.KIND === "Deployment" && o.NAME === "istiod-1-28-10"),
      dry.stdout,
    );
    assert.ok(listed.some((o) => o.KIND === "MutatingWebhookConfiguration"));
    assert.deepEqual(writesSince(sb, seq), []);

    const real = await meshlift(env, ["decommission", "--revision", "1-28-10"]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /Revision 1-28-10 is removed: no proxy used it/);
    await sb.idle();
    const deployments = await cluster.rest.requestJson<{ items: KubeObject[] }>({
      path: "/apis/apps/v1/namespaces/istio-system/deployments",
    });
    assert.deepEqual(
      deployments.items.map((d) => d.metadata.name),
      ["istiod-1-27-9"],
    );

    seq = sb.requestLog.lastSeq;
    const only = await meshlift(env, ["decommission"]);
    assert.equal(only.code, 4);
    assert.match(only.stderr, /only revision 1-27-9 is installed: nothing to decommission/);
    assert.deepEqual(writesSince(sb, seq), []);
  });

  test("rollout lists the stale workloads; answered n it changes nothing, --no-prompt restarts exactly them; decommission refuses while they remain", async () => {
    const { objects } = await writeManifests("1.28.10", "1-28-10");
    await applyManifests(cluster.rest, objects);
    await sb.idle();
    await mergePatch(
      cluster.rest,
      RESOURCES.namespaces,
      { name: "online-boutique" },
      {
        metadata: { labels: { "istio.io/rev": "1-28-10" } },
      },
    );
    await sb.idle();
    // every controller-run workload of the relabelled namespace now runs a stale proxy
    const list = async (p: string) =>
      (await cluster.rest.requestJson<{ items: KubeObject[] }>({ path: p })).items.map((o) => o.metadata.name!);
    const expected = [
      ...(await list("/apis/apps/v1/namespaces/online-boutique/deployments")).map((n) => `deployments/${n}`),
      ...(await list("/apis/apps/v1/namespaces/online-boutique/statefulsets")).map((n) => `statefulsets/${n}`),
    ].sort();
    assert.equal(expected.length, 11);

    let seq = sb.requestLog.lastSeq;
    const stragglers = await meshlift(env, ["decommission"]);
    assert.equal(stragglers.code, 3, stragglers.stderr);
    const rows = section(stragglers.stdout, "STRAGGLERS ON 1-27-9");
    assert.ok(
      rows.some(
        (s) =>
          s.NAMESPACE === "online-boutique" &&
          s.NAME === "frontend" &&
          /a restart would move it to 1-28-10/.test(s.WHY),
      ),
      stragglers.stdout,
    );
    assert.ok(
      rows.some((s) => s.KIND === "Pod" && s.NAME === "netshoot"),
      `a naked pod is a straggler too:\n${stragglers.stdout}`,
    );
    assert.match(
      stragglers.stderr,
      /error: revision 1-27-9 still has \d+ proxies \(fresh LIST and syncz\); nothing was removed/,
    );
    assert.deepEqual(writesSince(sb, seq), []);

    seq = sb.requestLog.lastSeq;
    const declined = await meshlift(env, ["rollout", "--namespaces", "online-boutique"], { stdin: "n\n" });
    assert.equal(declined.code, 0, declined.stderr);
    const shown = section(declined.stdout, "STALE WORKLOADS (11)");
    assert.ok(
      shown.every((w) => w.NAMESPACE === "online-boutique" && w.REVISION === "1-27-9 → 1-28-10"),
      declined.stdout,
    );
    assert.match(declined.stderr, /Restart 11 workloads\? \[y\/N\] /);
    assert.match(declined.stdout, /Nothing was restarted\./);
    assert.deepEqual(writesSince(sb, seq), []);

    seq = sb.requestLog.lastSeq;
    const restarted = await meshlift(env, ["rollout", "--no-prompt"]);
    assert.equal(restarted.code, 0, restarted.stderr);
    const patched = writesSince(sb, seq).map((w) => {
      assert.equal(w.verb, "patch");
      assert.equal(w.namespace, "online-boutique");
      return `${w.resource}/${w.name}`;
    });
    assert.deepEqual(patched.sort(), expected, "exactly the stale workloads, each once");
    assert.match(restarted.stdout, /11 workloads restarted/);

    await sb.idle();
    seq = sb.requestLog.lastSeq;
    const again = await meshlift(env, ["rollout", "--no-prompt"]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Nothing to restart/);
    assert.deepEqual(writesSince(sb, seq), []);
  });
});

describe("meshlift upgrade run drives a small mesh to Completed", () => {
  let sb: Sandbox;
  let env: NodeJS.ProcessEnv;
  let manifests: string;

  before(async () => {
    const demo = loadScenario("demo");
    const inventory = demo.namespaces.find((n) => n.name === "inventory")!;
    const scenario = {
      ...demo,
      name: "small",
      gateways: [],
      envoyFilters: [],
      traffic: { defaultRps: 1 },
      namespaces: [inventory, { ...inventory, name: "shop", labels: { "istio.io/rev": "1-27-9" } }],
    } as typeof demo;
    sb = await startSandbox({ scenario, port: 0, timing: TIMING });
    await sb.idle();
    env = { KUBECONFIG: sb.kubeconfigPath, HOME: tmp };
    manifests = (await writeManifests("1.28.10", "1-28-10")).file;
  });
  after(async () => {
    await sb.stop();
  });

  test("waits for approval after wave 1 (exit 6), proceeds when approved, and completes with NDJSON progress", async () => {
    const start = await meshlift(env, [
      "upgrade",
      "start",
      "--to",
      "1.28.10",
      "-f",
      manifests,
      "--install-crd",
      "--approval",
      "PerWave",
      "--min-ready",
      "0s",
      "--offline-grace",
      "0s",
      "--name",
      "up",
    ]);
    assert.equal(start.code, 0, start.stderr);
    assert.deepEqual(
      section(start.stdout, "WAVES").map((w) => w.NAMESPACES),
      ["inventory", "shop"],
    );

    const missing = await meshlift(env, ["upgrade", "run"]);
    assert.equal(missing.code, 4);
    assert.match(
      missing.stderr,
      /MeshUpgrade up installs revision 1-28-10 from manifests given as files: run `meshlift upgrade run up -f <file>`/,
    );

    const first = await meshlift(env, ["upgrade", "run", "up", "-f", manifests]);
    assert.equal(first.code, 6, first.stdout + first.stderr);
    assert.match(first.stdout, /install revision 1-28-10 \(Manifests\)/);
    assert.match(first.stdout, /The upgrade needs you: wave 1 is done/);
    assert.match(first.stdout, /next: meshlift upgrade proceed up, then meshlift upgrade run up/);

    // approved, then driven: `proceed` waits for the engine's acknowledgement, which the run gives
    const approving = meshlift(env, ["upgrade", "proceed", "--timeout", "30s"]);
    const cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
    const path = "/apis/meshlift.io/v1alpha1/meshupgrades/up";
    while ((await cluster.rest.requestJson<KubeObject>({ path })).spec?.action !== "Proceed")
      await new Promise((r) => setTimeout(r, 50));
    cluster.close();
    const running = meshlift(env, ["upgrade", "run", "-f", manifests, "--json"]);
    const proceed = await approving;
    assert.equal(proceed.code, 0, proceed.stderr);
    assert.match(proceed.stdout, /Proceed acknowledged on MeshUpgrade up: wave 1 approved/);
    const second = await running;
    assert.equal(second.code, 0, second.stderr);
    const events = second.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, any>);
    const end = events.at(-1)!;
    assert.deepEqual(end, { type: "end", name: "up", stage: "Completed", exitCode: 0, next: [] });
    const actions = events.filter((e) => e.type === "history").map((e) => `${e.actor} ${e.action}`);
    assert.ok(actions.includes("meshlift-cli action Proceed"), actions.join("\n"));
    assert.ok(actions.some((a) => /^cli\/\S+ wave 2 started$/.test(a)));
    assert.ok(actions.some((a) => /remove revision 1-27-9/.test(a)));
    const progress = events.filter((e) => e.type === "progress");
    assert.ok(progress.length >= 2);
    assert.deepEqual(progress.at(-1)!.workloads, { total: 4, done: 4, restarting: 0, failed: 0 });
    assert.deepEqual(progress.at(-1)!.waves, { total: 2, done: 2, current: null });

    const status = await meshlift(env, ["upgrade", "status"]);
    assert.match(
      status.stdout,
      /stages {3}✓ Control-plane upgrade {3}✓ Data-plane upgrade {3}✓ Old control plane offline/,
    );
    assert.match(status.stdout, /WORKLOADS NOT DONE \(0 of 4\)/);
    const again = await meshlift(env, ["upgrade", "run", "up"]);
    assert.equal(again.code, 0, "a completed upgrade: nothing to drive, exit 0");
    assert.match(again.stdout, /Completed: every proxy runs 1-28-10; revision 1-27-9 is gone/);
  });

  test("Ctrl-C stops `upgrade run` cleanly (exit 130) and says how to continue", async () => {
    // Adopt mode: the run waits for someone to install 1.29.6, so only an interruption ends it
    const start = await meshlift(env, ["upgrade", "start", "--to", "1.29.6", "--name", "adopt"]);
    assert.equal(start.code, 0, start.stderr);
    const controller = new AbortController();
    const r = await meshlift(env, ["upgrade", "run", "adopt"], {
      signal: controller.signal,
      onStdout: (all) => {
        if (all.includes("waiting for you to install")) controller.abort();
      },
    });
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /waiting for you to install revision 1-29-6/);
    assert.match(
      r.stdout,
      /Interrupted at stage ControlPlaneUpgrade; nothing is lost — continue with `meshlift upgrade run adopt`/,
    );
  });

  test("rollback asked from the CLI, carried out by `upgrade run`, followed by `upgrade status -w` to its end", async () => {
    const watching = meshlift(env, ["upgrade", "status", "adopt", "-w", "-o", "json"]);
    const rollback = await meshlift(env, ["upgrade", "rollback", "adopt", "--no-wait"]);
    assert.equal(rollback.code, 0, rollback.stderr);
    const r = await meshlift(env, ["upgrade", "run", "adopt"]);
    assert.equal(r.code, 3, "the upgrade did not land: exit 3");
    assert.match(r.stdout, /action Rollback — rolling back from ControlPlaneUpgrade/);
    assert.match(r.stdout, /Rolled back: every proxy runs 1-28-10 again; revision 1-29-6 was installed by you/);
    const watched = await watching;
    assert.equal(watched.code, 3, watched.stderr);
    const stages = watched.stdout
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as KubeObject).status?.stage as string);
    assert.equal(stages[0], "ControlPlaneUpgrade");
    assert.equal(stages.at(-1), "RolledBack");
  });
});
