// One reconcile of one MeshUpgrade: read it (GET, so its status is never stale), observe the mesh from
// the warm caches, decide(), take a fresh LIST only when the decision needs one (the offline stages),
// then let the executor record the status and write. The same function runs in the operator and in
// `meshlift upgrade run`.
import type { Catalog } from "../../catalog/catalog.js";
import type { Cluster } from "../../kube/config.js";
import { toKubeError } from "../../kube/errors.js";
import {
  MESH_UPGRADES,
  ColdSnapshotSource,
  WarmSnapshotSource,
  type SnapshotSource,
} from "../../kube/snapshot-source.js";
import { objectPath, type KubeObject, type ResourceRef } from "../../kube/resources.js";
import { buildSnapshot } from "../../mesh/snapshot.js";
import { proxiesOnRevision } from "../../mesh/stragglers.js";
import { meshUpgradeSpecSchema, type MeshUpgradeStatus, type UpgradeStage } from "../api/schema.js";
import { evaluateWaveGate, gatePolicyOf } from "../gates/index.js";
import { checkQueriesWithPrometheus } from "../gates/checks.js";
import { PrometheusClient } from "../gates/prometheus.js";
import { manifestRevisionsOf } from "../api/validate.js";
import type { MeshSnapshot } from "../../mesh/schema.js";
import { decide } from "./decide.js";
import { revisionObjects } from "../install/revision-objects.js";
import { Executor, type Installer, type WriteFailure } from "./executor.js";
import type { Decision, EngineEvent, FreshCheck } from "./types.js";

export interface EventSink {
  record(
    object: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string },
    type: EngineEvent["type"],
    reason: string,
    message: string,
  ): void | Promise<void>;
}

export interface ReconcilerOptions {
  cluster: Cluster;
  /** warm list-watch caches (the operator, `upgrade run`) */
  source: SnapshotSource;
  catalog: Catalog;
  installer: Installer;
  /** who runs the engine, for history: "operator/<pod>" or "cli/<user>" */
  actor: string;
  manifestsFromFiles?: boolean;
  events?: EventSink;
  /** the Prometheus client for a spec's URL (default: PrometheusClient with its defaults) */
  prometheus?: (url: string) => PrometheusClient;
  now?: () => number;
}

export interface ReconcileResult {
  name: string;
  stage: UpgradeStage;
  /** look again after this long (null: only when something changes) */
  requeueAfterMs: number | null;
  decision: Decision;
  failures: WriteFailure[];
  upgrade: KubeObject;
}

/** Who last set spec.action, from managedFields (kubectl, the console, meshlift's CLI…). */
export function actionSetBy(upgrade: KubeObject): string | undefined {
  const entries = (upgrade.metadata.managedFields as { manager?: string; time?: string; fieldsV1?: unknown }[]) ?? [];
  let best: { manager?: string; time?: string } | undefined;
  for (const e of entries) {
    const spec = (e.fieldsV1 as Record<string, Record<string, unknown>> | undefined)?.["f:spec"];
    if (!spec || !("f:action" in spec)) continue;
    if (!best || (e.time ?? "") >= (best.time ?? "")) best = e;
  }
  return best?.manager;
}

export class UpgradeReconciler {
  readonly executor: Executor;
  private readonly now: () => number;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
    this.executor = new Executor(options.cluster.rest, options.installer, this.now);
  }

  private async get(name: string, signal?: AbortSignal): Promise<KubeObject | null> {
    try {
      return await this.options.cluster.rest.requestJson<KubeObject>({
        path: objectPath(MESH_UPGRADES, name),
        signal,
        target: { verb: "get", resource: "meshupgrades.meshlift.io", name },
      });
    } catch (err) {
      if (toKubeError(err).code === 404) return null;
      throw err;
    }
  }

  /** A fresh LIST of every pod plus istiod's syncz: the proxies still on `revision` (DESIGN: never the cache). */
  async freshCheck(revision: string, signal?: AbortSignal): Promise<FreshCheck> {
    const cold = new ColdSnapshotSource(this.options.cluster);
    const { input } = await cold.collect({ signal, syncz: true });
    const takenAt = this.now();
    const snapshot = buildSnapshot({ ...input, now: new Date(takenAt) });
    const remaining = await revisionObjects(this.options.cluster.rest, revision, { signal });
    return {
      revision,
      takenAt,
      stragglers: proxiesOnRevision(snapshot, revision),
      remainingObjects: remaining.length,
    };
  }

  /** The spec's own metric queries through Prometheus' parser (once, at Pending); undefined: nothing to ask. */
  private async checkQueries(upgrade: KubeObject, signal?: AbortSignal) {
    const spec = meshUpgradeSpecSchema.safeParse(upgrade.spec);
    const prom = spec.success ? spec.data.verification.prometheus : undefined;
    if (!prom?.checks?.some((c) => c.query !== undefined)) return undefined;
    const client = this.options.prometheus?.(prom.url) ?? new PrometheusClient(prom.url);
    return checkQueriesWithPrometheus(client, prom.checks, signal);
  }

  /** Reads from the warm caches of the snapshot source, when it has them (no LIST per gate step). */
  private cachedLister(): ((resource: ResourceRef, namespace: string) => KubeObject[] | undefined) | undefined {
    const source = this.options.source;
    if (!(source instanceof WarmSnapshotSource)) return undefined;
    const kinds: Record<string, string> = {
      Pod: "pods",
      Deployment: "deployments",
      StatefulSet: "statefulsets",
      DaemonSet: "daemonsets",
    };
    return (resource, namespace) => source.caches.get(kinds[resource.kind] ?? "")?.list(namespace);
  }

  /** One step of a wave's verification gate (health reads, Prometheus queries), from the status decide() wrote. */
  private async gateStep(
    decision: Decision,
    wave: number,
    upgrade: KubeObject,
    snapshot: MeshSnapshot,
    signal?: AbortSignal,
  ) {
    const status = decision.status;
    const gateStatus = status.gates?.find((g) => g.wave === wave);
    const planned = status.plan?.waves.find((w) => w.index === wave);
    const spec = meshUpgradeSpecSchema.safeParse(upgrade.spec);
    if (!gateStatus || !planned || !spec.success || !status.to) return undefined;
    const rev = snapshot.revisions.find((r) => r.name === status.to!.revision);
    const { status: next, next: step } = await evaluateWaveGate(
      { rest: this.options.cluster.rest, now: this.now, signal, cached: this.cachedLister() },
      gatePolicyOf(spec.data.verification),
      {
        wave,
        workloads: planned.workloads,
        targetRevision: status.to.revision,
        ...(rev ? { istiod: { namespace: rev.namespace, service: rev.deployment } } : {}),
      },
      gateStatus,
    );
    return { wave, status: next, next: step };
  }

  async reconcile(name: string, signal?: AbortSignal): Promise<ReconcileResult | null> {
    const upgrade = await this.get(name, signal);
    if (!upgrade) return null;
    const status = upgrade.status as MeshUpgradeStatus | undefined;
    const stage = status?.stage ?? "Pending";
    const { input } = await this.options.source.collect({ signal, syncz: false });
    const now = this.now();
    const snapshot = buildSnapshot({ ...input, now: new Date(now) });
    const namespaceLabels =
      stage === "Pending"
        ? Object.fromEntries(input.namespaces.map((n) => [n.metadata?.name ?? "", n.metadata?.labels ?? {}]))
        : undefined;
    const install = await this.options.installer.observe(upgrade, stage);
    const queryCheck = stage === "Pending" ? await this.checkQueries(upgrade, signal) : undefined;
    const engineInput = {
      upgrade: {
        name,
        uid: upgrade.metadata.uid ?? name,
        generation: (upgrade.metadata.generation as number | undefined) ?? 0,
        createdAt: (upgrade.metadata.creationTimestamp as string | undefined) ?? null,
        spec: upgrade.spec,
        status,
        actionBy: actionSetBy(upgrade),
      },
      snapshot,
      catalog: this.options.catalog,
      namespaceLabels,
      install,
      manifestsFromFiles: this.options.manifestsFromFiles,
      queryCheck,
      manifestRevisions: manifestRevisionsOf(input.configmaps),
      actor: this.options.actor,
      now,
    };
    let decision = decide(engineInput);
    if (decision.needFresh) {
      const fresh = await this.freshCheck(decision.needFresh.revision, signal);
      decision = decide({ ...engineInput, fresh });
    }
    if (decision.needGate) {
      const gate = await this.gateStep(decision, decision.needGate.wave, upgrade, snapshot, signal);
      if (gate) decision = decide({ ...engineInput, gate });
    }
    const { upgrade: stored, failures } = await this.executor.execute(upgrade, decision);
    if (this.options.events) {
      const ref = {
        apiVersion: MESH_UPGRADES.group + "/" + MESH_UPGRADES.version,
        kind: "MeshUpgrade",
        name,
        uid: upgrade.metadata.uid,
      };
      for (const e of decision.events) await this.options.events.record(ref, e.type, e.reason, e.message);
      for (const f of failures) await this.options.events.record(ref, "Warning", "WriteFailed", f.message);
    }
    return {
      name,
      stage: decision.status.stage,
      requeueAfterMs: failures.length > 0 ? Math.max(decision.requeueAfterMs ?? 0, 2_000) : decision.requeueAfterMs,
      decision,
      failures,
      upgrade: stored,
    };
  }
}
