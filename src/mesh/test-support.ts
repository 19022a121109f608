// Test support for the read model: loads the real Istio fixtures (/work/shared/fixtures/istio) and
// turns workloads into the pods their controllers would create. Used by mesh and checks tests only.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { emptySnapshotInput, type SnapshotInput } from "./snapshot.js";
import type { PodLike, ServiceLike, WebhookConfigurationLike, WorkloadObjectLike } from "./kube-types.js";

export const FIXTURES = path.resolve(import.meta.dirname, "../../../shared/fixtures/istio");

/** Every non-empty YAML document of a fixture, as plain JSON. */
export function loadFixture(name: string): any[] {
  const text = readFileSync(path.join(FIXTURES, name), "utf8");
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((d) => d && typeof d === "object");
}

export function ofKind(docs: any[], kind: string): any[] {
  return docs.filter((d) => d.kind === kind);
}

export function emptyInput(overrides: Partial<SnapshotInput> = {}): SnapshotInput {
  return emptySnapshotInput("1.33", { now: "2026-08-22T00:00:00Z", ...overrides });
}

export function namespace(name: string, labels: Record<string, string> = {}) {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } };
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/**
 * What the Deployment/CronJob controllers would create for a workload: ReplicaSet or Job, and
 * `count` running pods carrying the template (the pod template is already injected in these fixtures).
 */
export function materialize(workload: WorkloadObjectLike, ns: string, count = 1, phase = "Running") {
  const w = clone(workload);
  w.metadata = { ...w.metadata, namespace: ns, uid: `uid-${w.kind}-${w.metadata?.name}` };
  const out = {
    deployments: [] as WorkloadObjectLike[],
    replicasets: [] as WorkloadObjectLike[],
    cronjobs: [] as WorkloadObjectLike[],
    jobs: [] as WorkloadObjectLike[],
    statefulsets: [] as WorkloadObjectLike[],
    pods: [] as PodLike[],
  };
  const name = w.metadata.name!;
  let owner: { kind: string; name: string };
  let template;
  if (w.kind === "CronJob") {
    out.cronjobs.push(w);
    const job: WorkloadObjectLike = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: `${name}-29000000`,
        namespace: ns,
        ownerReferences: [{ kind: "CronJob", name, controller: true }],
      },
      spec: { template: w.spec?.jobTemplate?.spec?.template },
    };
    out.jobs.push(job);
    owner = { kind: "Job", name: job.metadata!.name! };
    template = w.spec?.jobTemplate?.spec?.template;
  } else if (w.kind === "StatefulSet") {
    out.statefulsets.push(w);
    owner = { kind: "StatefulSet", name };
    template = w.spec?.template;
  } else {
    out.deployments.push(w);
    const rs: WorkloadObjectLike = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${name}-5d4f8`,
        namespace: ns,
        ownerReferences: [{ kind: "Deployment", name, controller: true }],
      },
      spec: { replicas: count, template: w.spec?.template },
    };
    out.replicasets.push(rs);
    owner = { kind: "ReplicaSet", name: rs.metadata!.name! };
    template = w.spec?.template;
  }
  for (let i = 0; i < count; i++) {
    out.pods.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        ...clone(template?.metadata ?? {}),
        name: `${owner.name}-${i}`,
        namespace: ns,
        ownerReferences: [{ ...owner, controller: true }],
      },
      spec: clone(template?.spec ?? {}),
      status: { phase },
    });
  }
  return out;
}

/** Services the webhooks call, so that "missing Service" is only reported when a test wants it. */
export function servicesFor(mwcs: WebhookConfigurationLike[]): ServiceLike[] {
  const seen = new Map<string, ServiceLike>();
  for (const mwc of mwcs) {
    for (const w of mwc.webhooks ?? []) {
      const s = w.clientConfig.service;
      if (s)
        seen.set(`${s.namespace}/${s.name}`, {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: s.name, namespace: s.namespace },
        });
    }
  }
  return [...seen.values()];
}

/** A copy of a webhook configuration with every occurrence of a revision name replaced (to derive variants). */
export function renameRevision(mwc: any, from: string, to: string, name?: string): any {
  const text = JSON.stringify(mwc).split(`"${from}"`).join(`"${to}"`).split(`istiod-${from}`).join(`istiod-${to}`);
  const copy = JSON.parse(text);
  if (name) copy.metadata.name = name;
  return copy;
}

/** Merges several partial inputs (lists are concatenated). */
export function mergeInputs(...parts: Partial<SnapshotInput>[]): SnapshotInput {
  const merged = emptyInput() as any;
  for (const part of parts) {
    for (const [k, v] of Object.entries(part)) {
      if (Array.isArray(v) && Array.isArray(merged[k])) for (const item of v) merged[k].push(item);
      else merged[k] = v;
    }
  }
  return merged as SnapshotInput;
}
