// The executor: records a decision's status (with every write's intent in history) and only then makes
// the writes. Each write is idempotent, so sending one again after a crash changes nothing that was done.
import { isKubeError, toKubeError } from "../../kube/errors.js";
import { mergePatch } from "../../kube/patch.js";
import type { RestClient } from "../../kube/rest.js";
import { MESH_UPGRADES } from "../../kube/snapshot-source.js";
import {
  RESOURCES,
  collectionPath,
  objectPath,
  rolloutResource,
  type KubeObject,
  type ResourceRef,
} from "../../kube/resources.js";
import type { MeshUpgradeStatus } from "../api/schema.js";
import { moveRevisionTag } from "./tags.js";
import {
  RESTARTED_AT_ANNOTATION,
  RESTART_TOKEN_ANNOTATION,
  type Decision,
  type InstallObservation,
  type WorkloadRef,
  type WriteAction,
} from "./types.js";

/** Installs and removes revisions (Manifests / Sail / istioctl-like removal); see src/upgrade/install. */
export interface Installer {
  /** what decide() needs to know about the target's installation, beyond the snapshot */
  observe(upgrade: KubeObject, stage: string): Promise<InstallObservation>;
  /** applies the target; returns the objects it applied, for status.installedObjects */
  install(
    action: Extract<WriteAction, { type: "install" }>,
    upgrade: KubeObject,
  ): Promise<NonNullable<MeshUpgradeStatus["installedObjects"]>>;
  removeRevision(action: Extract<WriteAction, { type: "removeRevision" }>): Promise<void>;
  removeInstalled(action: Extract<WriteAction, { type: "removeInstalled" }>, upgrade: KubeObject): Promise<void>;
}

export interface WriteFailure {
  action: WriteAction;
  message: string;
}

function workloadResource(ref: WorkloadRef): ResourceRef {
  const r = rolloutResource(ref.kind);
  if (!r) throw new Error(`${ref.kind} ${ref.namespace}/${ref.name} cannot be restarted by meshlift`);
  return r;
}

/** The restart patch: what `kubectl rollout restart` writes, plus meshlift's token (and, for gateways, istio.io/rev). */
export function restartPatch(action: Extract<WriteAction, { type: "restart" }>): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    annotations: {
      [RESTARTED_AT_ANNOTATION]: action.at.replace(/\.\d{3}Z$/, "Z"),
      [RESTART_TOKEN_ANNOTATION]: action.token,
    },
  };
  if (action.templateRevision !== undefined) metadata.labels = { "istio.io/rev": action.templateRevision };
  return { spec: { template: { metadata } } };
}

/** Fields that change as pods roll: written at most every PROGRESS_WRITE_MS unless something else changes. */
export function material(status: MeshUpgradeStatus | undefined): string {
  if (!status) return "";
  const s = structuredClone(status);
  if (s.progress) {
    s.progress.summary = undefined;
    for (const n of s.progress.namespaces ?? []) n.proxies = { old: 0, new: 0, none: 0 };
    for (const w of s.progress.workloads ?? []) {
      w.ready = undefined;
      w.message = undefined;
    }
  }
  for (const c of s.conditions ?? []) c.lastTransitionTime = "";
  return JSON.stringify(s);
}

export const PROGRESS_WRITE_MS = 2_000;
/** An identical write is not repeated within this window: the cache may not show the first one yet. */
export const REPEAT_WRITE_MS = 15_000;

export class Executor {
  private readonly recent = new Map<string, number>();
  private lastStatusWrite = 0;

  constructor(
    private readonly rest: RestClient,
    private readonly installer: Installer,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records the decision's status, then makes its writes. Returns the stored MeshUpgrade and the
   * writes that failed (recorded in history as Failed by a second status write).
   */
  async execute(
    upgrade: KubeObject,
    decision: Decision,
  ): Promise<{ upgrade: KubeObject; failures: WriteFailure[]; statusWritten: boolean }> {
    let current = upgrade;
    const statusChanged = material(upgrade.status as MeshUpgradeStatus) !== material(decision.status);
    const progressOnly = !statusChanged && JSON.stringify(upgrade.status) !== JSON.stringify(decision.status);
    let statusWritten = false;
    if (statusChanged || (progressOnly && this.now() - this.lastStatusWrite >= PROGRESS_WRITE_MS)) {
      current = await this.writeStatus(current, decision.status);
      statusWritten = true;
    }
    const failures: WriteFailure[] = [];
    const installed: NonNullable<MeshUpgradeStatus["installedObjects"]> = [];
    await Promise.all(
      decision.writes.map(async (action) => {
        const key = JSON.stringify(action);
        const last = this.recent.get(key);
        if (last !== undefined && this.now() - last < REPEAT_WRITE_MS) return;
        try {
          const result = await this.perform(action, current);
          if (result) installed.push(...result);
          this.recent.set(key, this.now());
        } catch (err) {
          failures.push({ action, message: isKubeError(err) ? err.message : (err as Error).message });
        }
      }),
    );
    this.prune();
    if (installed.length > 0 || failures.length > 0) {
      const status = structuredClone(current.status as MeshUpgradeStatus);
      if (installed.length > 0) status.installedObjects = installed;
      const time = new Date(this.now()).toISOString();
      for (const f of failures) {
        (status.history ??= []).push({
          time,
          action: `failed: ${f.action.type}`,
          reason: f.message,
          outcome: "Failed",
        });
      }
      if (failures.length > 0) status.message = `${failures.length} write(s) failed, retrying: ${failures[0].message}`;
      current = await this.writeStatus(current, status);
    }
    return { upgrade: current, failures, statusWritten };
  }

  private prune(): void {
    const now = this.now();
    for (const [k, t] of this.recent) if (now - t >= REPEAT_WRITE_MS) this.recent.delete(k);
  }

  /** Replaces the status subresource, guarded by resourceVersion: a concurrent writer gets 409, never a lost update. */
  private async writeStatus(upgrade: KubeObject, status: MeshUpgradeStatus): Promise<KubeObject> {
    const body = { ...upgrade, status };
    const stored = await this.rest.requestJson<KubeObject>({
      method: "PUT",
      path: `${objectPath(MESH_UPGRADES, upgrade.metadata.name!)}/status`,
      query: { fieldManager: "meshlift" },
      body,
      target: { verb: "update", resource: "meshupgrades.meshlift.io", name: upgrade.metadata.name },
    });
    this.lastStatusWrite = this.now();
    return stored;
  }

  /** The canary: the gateway's Deployment copied, its pods on the target revision (istio-facts §5, canary gateways). */
  private async createGatewayCanary(action: Extract<WriteAction, { type: "createGatewayCanary" }>): Promise<void> {
    const resource = workloadResource(action.workload);
    const original = await this.rest.requestJson<KubeObject>({
      path: objectPath(resource, action.workload.name, action.workload.namespace),
    });
    const template = structuredClone(original.spec.template) as KubeObject;
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, "istio.io/rev": action.revision },
      annotations: Object.fromEntries(
        Object.entries(template.metadata?.annotations ?? {}).filter(
          ([k]) => k !== RESTARTED_AT_ANNOTATION && k !== RESTART_TOKEN_ANNOTATION,
        ),
      ),
    };
    const canary: KubeObject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: action.name,
        namespace: action.workload.namespace,
        labels: { ...original.metadata.labels, "meshlift.io/canary-of": action.workload.name },
        annotations: { "meshlift.io/canary-of": action.workload.name },
      },
      spec: { ...original.spec, template },
    };
    try {
      await this.rest.requestJson({
        method: "POST",
        path: collectionPath(resource, action.workload.namespace),
        query: { fieldManager: "meshlift" },
        body: canary,
      });
    } catch (err) {
      if (toKubeError(err).code !== 409) throw err;
    }
  }

  private async perform(
    action: WriteAction,
    upgrade: KubeObject,
  ): Promise<NonNullable<MeshUpgradeStatus["installedObjects"]> | void> {
    const rest = this.rest;
    switch (action.type) {
      case "labelNamespace":
        await mergePatch(
          rest,
          RESOURCES.namespaces,
          { name: action.namespace },
          {
            metadata: {
              labels: { "istio-injection": action.labels.istioInjection, "istio.io/rev": action.labels.rev },
            },
          },
        );
        return;
      case "moveTag":
        await moveRevisionTag(rest, action.tag, action.revision);
        return;
      case "restart":
        await mergePatch(rest, workloadResource(action.workload), action.workload, restartPatch(action));
        return;
      case "scale":
        await mergePatch(rest, workloadResource(action.workload), action.workload, {
          spec: { replicas: action.replicas },
        });
        return;
      case "deletePod":
        try {
          await rest.requestJson({ method: "DELETE", path: objectPath(RESOURCES.pods, action.name, action.namespace) });
        } catch (err) {
          if (toKubeError(err).code !== 404) throw err;
        }
        return;
      case "createGatewayCanary":
        await this.createGatewayCanary(action);
        return;
      case "deleteWorkload":
        try {
          await rest.requestJson({
            method: "DELETE",
            path: objectPath(workloadResource(action.workload), action.workload.name, action.workload.namespace),
          });
        } catch (err) {
          if (toKubeError(err).code !== 404) throw err;
        }
        return;
      case "install":
        return this.installer.install(action, upgrade);
      case "removeRevision":
        return this.installer.removeRevision(action);
      case "removeInstalled":
        return this.installer.removeInstalled(action, upgrade);
    }
  }
}
