// Crash safety (issue 4 acceptance), shared by crash-a.test.ts and crash-b.test.ts (ten runs each, so each
// file stays short): the reconcile loop runs in a child process (crash-child.ts) that is
// SIGKILLed at random moments — after a random number of its API writes plus a random delay, from a
// seeded generator — and started again, 1 to 3 times per run; the last child must take the upgrade to
// Completed with no workload restarted twice in one wave and nothing else broken. Each run gets its own
// small sandbox (fixtures/crash-mesh.yaml), which starts in a few hundred milliseconds.
// CRASH_SEED=<n> replays a seed (each run's generator is derived from the seed and the run number).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { startSandbox, type Sandbox } from "../../../sandbox/index.js";
import { renderManifests } from "../../../sandbox/render-cli.js";
import { loadScenario, type Scenario } from "../../../sandbox/scenario/schema.js";
import { loadCluster } from "../../../src/kube/config.js";
import { applyServerSide } from "../../../src/kube/patch.js";
import { RESOURCES, type KubeObject } from "../../../src/kube/resources.js";
import type { MeshUpgradeStatus } from "../../../src/upgrade/api/schema.js";
import { RESTARTED_AT_ANNOTATION, RESTART_TOKEN_ANNOTATION } from "../../../src/upgrade/engine/types.js";
import { FAST_TIMING, TARGET } from "./harness.js";
import {
  RequestWindow,
  SOURCE,
  isWrite,
  liveProxies,
  namespaceLabels,
  proxiesByRevision,
  revisionObjects,
  writesWithoutIntent,
} from "./support.js";

const SEED = Number(process.env.CRASH_SEED ?? 20_261_122);
/** runs side by side: each is mostly waiting on pod timers and child start-up */
const PARALLEL = 5;
const MAX_KILLS = 3;
/**
 * a kill comes after at most this many writes of the run: the whole upgrade makes about 60 (installing
 * ~18, the data plane ~20, taking the old revision offline ~22), so kills land in every stage
 */
const MAX_WRITES_BEFORE_KILL = 56;
const MAX_KILL_DELAY_MS = 150;
const FINISH_TIMEOUT_MS = 75_000;
const UPGRADE = "crash";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD_TS = path.join(HERE, "crash-child.ts");
const CRD = path.resolve(HERE, "../../../deploy/crds/meshupgrade.yaml");
const SCENARIO_FILE = path.join(HERE, "fixtures", "crash-mesh.yaml");
/** the fixture's workloads that run proxies: each must be restarted exactly once */
const MESHED_NAMESPACES = ["shop", "ledger", "portal"];
const WORKLOADS = [
  "Deployment/shop/web",
  "Deployment/shop/cart",
  "Deployment/ledger/ledger-api",
  "StatefulSet/ledger/ledger-db",
  "Deployment/portal/portal-web",
  "Deployment/istio-egress/istio-egressgateway",
];

/** mulberry32: a small seeded generator, so a failing run can be replayed with CRASH_SEED */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Kill {
  afterWrites: number;
  delayMs: number;
  /** stage recorded in the MeshUpgrade when the signal was sent */
  stage: string;
}

interface RunReport {
  run: number;
  kills: Kill[];
  /** the child that was to be killed finished first */
  finishedBeforeKill: boolean;
}

let work: string;
let childCommand: string[];
let scenario: Scenario;
let manifestsFile: string;
let crd: KubeObject;
/**
 * One bundle of crash-child.ts and the product code it imports, made once: a node process starts in
 * under a second from it, against several seconds through tsx on a busy machine (20+ runs × 3 children).
 */
async function childEntry(): Promise<string[]> {
  try {
    const { build } = await import("esbuild");
    const outfile = path.join(work, "crash-child.mjs");
    await build({
      entryPoints: [CHILD_TS],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "warning",
      // bundled CommonJS dependencies call require() for node built-ins
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    return [outfile];
  } catch {
    return ["--import", "tsx", CHILD_TS];
  }
}

function startChild(sb: Sandbox): { child: ChildProcess; output: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...childCommand, sb.kubeconfigPath, UPGRADE, manifestsFile], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  const output: string[] = [];
  child.stdout!.on("data", (d: Buffer) => output.push(...d.toString().split("\n").filter(Boolean)));
  child.stderr!.on("data", (d: Buffer) => output.push(`stderr: ${d.toString().trim()}`));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output, exited };
}

function storedStatus(sb: Sandbox): MeshUpgradeStatus | undefined {
  return sb.store.get("meshlift.io/meshupgrades", undefined, UPGRADE)?.status as MeshUpgradeStatus | undefined;
}

/**
 * Kills the child with SIGKILL once the run has made `afterWrites` API writes in all (counted from
 * `startSeq`, every child's), plus `delayMs`; null when the child ended first.
 */
async function killAfterWrites(
  sb: Sandbox,
  run: { child: ChildProcess; exited: Promise<number | null> },
  startSeq: number,
  afterWrites: number,
  delayMs: number,
): Promise<string | null> {
  let exited = false;
  void run.exited.then(() => (exited = true));
  let seen = -1;
  while (!exited) {
    if (sb.requestLog.lastSeq !== seen) {
      seen = sb.requestLog.lastSeq;
      if (sb.requestLog.since(startSeq).filter(isWrite).length >= afterWrites) break;
    }
    await new Promise((r) => setTimeout(r, 3));
  }
  if (exited) return null;
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  if (exited) return null;
  const stage = storedStatus(sb)?.stage ?? "Pending";
  run.child.kill("SIGKILL");
  await run.exited;
  return stage;
}

interface Observations {
  /** pod-template changes per workload: a restart is one change; a resent identical patch is none */
  templateChanges: Map<string, { token?: string; restartedAt?: string }[]>;
  /** live proxies on the source revision when its istiod or injector first started going away */
  oldProxiesAtRemoval: number | null;
  stop(): void;
}

const WORKLOAD_KEYS: Record<string, string> = {
  "apps/deployments": "Deployment",
  "apps/statefulsets": "StatefulSet",
  "apps/daemonsets": "DaemonSet",
};

function observe(sb: Sandbox): Observations {
  const obs: Observations = { templateChanges: new Map(), oldProxiesAtRemoval: null, stop: () => {} };
  const removalMarks = new Set([`apps/deployments/istiod-${SOURCE.revision}`]);
  removalMarks.add(
    `admissionregistration.k8s.io/mutatingwebhookconfigurations/istio-sidecar-injector-${SOURCE.revision}`,
  );
  obs.stop = sb.store.subscribe((ev) => {
    const meta = ev.object.metadata;
    const kind = WORKLOAD_KEYS[ev.key];
    if (kind && ev.type === "MODIFIED" && ev.old && meta.namespace !== "istio-system") {
      if (JSON.stringify(ev.old.spec?.template) !== JSON.stringify(ev.object.spec?.template)) {
        const key = `${kind}/${meta.namespace}/${meta.name}`;
        const annotations = ev.object.spec?.template?.metadata?.annotations ?? {};
        const list = obs.templateChanges.get(key) ?? [];
        list.push({ token: annotations[RESTART_TOKEN_ANNOTATION], restartedAt: annotations[RESTARTED_AT_ANNOTATION] });
        obs.templateChanges.set(key, list);
      }
    }
    const going = ev.type === "DELETED" || !!meta.deletionTimestamp;
    if (going && obs.oldProxiesAtRemoval === null && removalMarks.has(`${ev.key}/${meta.name}`)) {
      obs.oldProxiesAtRemoval = liveProxies(sb).filter((p) => p.revision === SOURCE.revision).length;
    }
  });
  return obs;
}

async function crashRun(run: number): Promise<RunReport> {
  const random = seeded(SEED + run * 7919);
  const sb = await startSandbox({ scenario, timing: FAST_TIMING });
  const cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  const obs = observe(sb);
  const report: RunReport = { run, kills: [], finishedBeforeKill: false };
  const children: ChildProcess[] = [];
  try {
    await sb.idle();
    await applyServerSide(cluster.rest, RESOURCES.customResourceDefinitions, crd);
    const labelsBefore = namespaceLabels(sb);
    const podsBefore = liveProxies(sb).length;
    await cluster.rest.requestJson({
      method: "POST",
      path: "/apis/meshlift.io/v1alpha1/meshupgrades",
      body: {
        apiVersion: "meshlift.io/v1alpha1",
        kind: "MeshUpgrade",
        metadata: { name: UPGRADE },
        spec: {
          to: { version: TARGET.version },
          install: { mode: "Manifests" },
          dataPlane: { maxConcurrent: 2, waves: { size: 2 } },
          decommission: { graceSeconds: 1 },
          // waves are verified by their health gate without the default 30 s window: the runs are about crashes
          verification: { healthGate: { minReadySeconds: 0 } },
        },
      },
    });
    const window = new RequestWindow(sb);

    // kill points: 1–3 distinct write counts of the whole run, in order, each with its own delay
    const points = new Set<number>();
    const kills = 1 + Math.floor(random() * MAX_KILLS);
    while (points.size < kills) points.add(1 + Math.floor(random() * MAX_WRITES_BEFORE_KILL));
    for (const afterWrites of [...points].sort((a, b) => a - b)) {
      const delayMs = Math.floor(random() * MAX_KILL_DELAY_MS);
      const child = startChild(sb);
      children.push(child.child);
      const stage = await killAfterWrites(sb, child, window.start, afterWrites, delayMs);
      if (stage === null) {
        report.finishedBeforeKill = true;
        break;
      }
      report.kills.push({ afterWrites, delayMs, stage });
    }

    const last = startChild(sb);
    children.push(last.child);
    const code = await Promise.race([
      last.exited,
      new Promise<"timeout">((r) => setTimeout(() => r("timeout"), FINISH_TIMEOUT_MS).unref()),
    ]);
    const status = storedStatus(sb);
    const context = `run ${run} (CRASH_SEED=${SEED}), kills ${JSON.stringify(report.kills)}; last child said:\n${last.output.slice(-8).join("\n")}`;
    assert.notEqual(
      code,
      "timeout",
      `the last child did not finish in ${FINISH_TIMEOUT_MS} ms: stage ${status?.stage}, ${status?.message}; ${context}`,
    );
    assert.equal(code, 0, context);
    assert.equal(status?.stage, "Completed", `${status?.message}; ${context}`);

    // no workload restarted twice in one wave: exactly one pod-template change each, with its wave's token
    const waveOf = new Map(status.progress?.workloads?.map((w) => [`${w.kind}/${w.namespace}/${w.name}`, w.wave]));
    for (const key of WORKLOADS) {
      const changes = obs.templateChanges.get(key) ?? [];
      assert.equal(
        changes.length,
        1,
        `${key} had ${changes.length} pod-template changes ${JSON.stringify(changes)}; ${context}`,
      );
      assert.ok(
        changes[0].token?.endsWith(`.f${waveOf.get(key)}`),
        `${key} restarted with token ${changes[0].token}; ${context}`,
      );
    }
    assert.deepEqual([...obs.templateChanges.keys()].sort(), [...WORKLOADS].sort(), context);
    // the same from the Deployments' ReplicaSet history: the original template and one restarted one
    for (const key of WORKLOADS.filter((k) => k.startsWith("Deployment/"))) {
      const [, namespace, name] = key.split("/");
      const sets = sb.store
        .list("apps/replicasets", namespace)
        .filter((rs) =>
          rs.metadata.ownerReferences?.some(
            (o: { kind: string; name: string }) => o.kind === "Deployment" && o.name === name,
          ),
        );
      assert.equal(sets.length, 2, `${key} has ${sets.length} ReplicaSets; ${context}`);
    }

    // nothing else broken: every namespace switched, every proxy on the target, the gateway back to one
    // replica, the old revision removed only once it had no proxy left
    const labelsAfter = namespaceLabels(sb);
    for (const ns of MESHED_NAMESPACES) {
      const { "istio-injection": _dropped, ...kept } = labelsBefore[ns];
      assert.deepEqual(labelsAfter[ns], { ...kept, "istio.io/rev": TARGET.revision }, `namespace ${ns}; ${context}`);
    }
    assert.deepEqual(proxiesByRevision(sb), { [TARGET.revision]: podsBefore }, context);
    const gateway = sb.store.get("apps/deployments", "istio-egress", "istio-egressgateway");
    assert.equal(
      gateway?.spec?.replicas,
      1,
      `the surged gateway keeps ${gateway?.spec?.replicas} replicas; ${context}`,
    );
    assert.deepEqual(revisionObjects(sb, SOURCE.revision), [], context);
    assert.equal(obs.oldProxiesAtRemoval, 0, `old proxies when ${SOURCE.revision} started going away; ${context}`);
    assert.deepEqual(
      writesWithoutIntent(status, window.writes(), { from: SOURCE.revision, to: TARGET.revision }),
      [],
      context,
    );
    return report;
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    obs.stop();
    cluster.close();
    await sb.stop();
  }
}

/** Registers `count` crash runs numbered from `first`, and a check that each was killed in every writing stage. */
export function crashSuite(first: number, count: number): void {
  const reports: RunReport[] = [];
  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), "meshlift-crash-"));
    childCommand = await childEntry();
    scenario = loadScenario(SCENARIO_FILE);
    crd = parse(readFileSync(CRD, "utf8")) as KubeObject;
    manifestsFile = path.join(work, "manifests.json");
    writeFileSync(manifestsFile, JSON.stringify(await renderManifests(TARGET)));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  describe(
    `crash safety: runs ${first}–${first + count - 1}, the reconcile loop SIGKILLed 1–${MAX_KILLS} times each`,
    { concurrency: PARALLEL },
    () => {
      for (let run = first; run < first + count; run++) {
        test(`run ${run}: resumes to Completed, each workload restarted once`, { timeout: 150_000 }, async (t) => {
          const report = await crashRun(run);
          t.diagnostic(`kills: ${JSON.stringify(report.kills)}`);
          reports.push(report);
        });
      }
    },
  );

  test("every run was killed at least once, and the kills landed in every stage that writes", () => {
    assert.equal(reports.length, count, "every run reported");
    for (const r of reports) assert.ok(r.kills.length > 0, `run ${r.run} was never killed`);
    const stages = new Set(reports.flatMap((r) => r.kills.map((k) => k.stage)));
    for (const stage of ["ControlPlaneUpgrade", "DataPlaneUpgrade", "OldControlPlaneOffline"])
      assert.ok(stages.has(stage), `no kill landed in ${stage}: ${JSON.stringify(reports.map((r) => r.kills))}`);
  });
}
