// What the health gate looks at, read fresh from the cluster (never from a cache: the gate's verdict
// must reflect what the API server says now). Small on purpose: only the wave's namespaces are listed.
import { listAll } from "../../kube/list.js";
import type { RestClient } from "../../kube/rest.js";
import { RESOURCES, ROLLOUT_RESOURCES, type KubeObject, type ResourceRef } from "../../kube/resources.js";
import { slimPod, synczEntries } from "../../kube/snapshot-source.js";
import { HEALTH_GATE_KINDS, type GatePod, type GateWorkload, type HealthInput, type WorkloadRef } from "./health.js";

export interface HealthObservation extends Pick<HealthInput, "workloads" | "missing" | "pods" | "syncz"> {
  /** what could not be read or checked, one line each (syncz unavailable, unsupported kinds) */
  notes: string[];
}

export interface CollectHealthOptions {
  workloads: readonly WorkloadRef[];
  /** the target revision's istiod Service (e.g. istio-system/istiod-1-28-0): its syncz lists connected proxies */
  istiod?: { namespace: string; service: string };
  signal?: AbortSignal;
  /**
   * Objects of a kind in a namespace from a warm list-watch cache (the engine's), instead of a LIST per
   * namespace and kind: the gate is polled while a wave verifies, and the engine makes no LIST per reconcile.
   */
  cached?: (resource: ResourceRef, namespace: string) => KubeObject[] | undefined;
}

/** istiod's debug endpoints are on its monitoring port 15014, reached through the API server's service proxy. */
function synczPath(namespace: string, service: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(`${service}:15014`)}/proxy/debug/syncz`;
}

/**
 * Reads the wave's workloads and the pods of their namespaces (one LIST per namespace and kind, in
 * parallel), and the target istiod's syncz when `istiod` is given. Failures of required reads throw
 * KubeError; syncz is evidence, not a requirement: when it cannot be read, a note says so.
 */
export async function collectHealthInput(rest: RestClient, options: CollectHealthOptions): Promise<HealthObservation> {
  const { signal } = options;
  const notes: string[] = [];
  const supported = options.workloads.filter((w) => (HEALTH_GATE_KINDS as readonly string[]).includes(w.kind));
  for (const w of options.workloads) {
    if (!supported.includes(w))
      notes.push(
        `${w.namespace}/${w.kind}/${w.name}: the health gate checks Deployments, StatefulSets and DaemonSets only — not checked`,
      );
  }
  const namespaces = [...new Set(supported.map((w) => w.namespace))].sort();
  const lists = await Promise.all(
    namespaces.map(async (namespace) => {
      const kinds = [
        ...new Set(supported.filter((w) => w.namespace === namespace).map((w) => w.kind)),
      ] as (keyof typeof ROLLOUT_RESOURCES)[];
      const read = async (resource: ResourceRef, transform?: (o: KubeObject) => KubeObject): Promise<KubeObject[]> =>
        options.cached?.(resource, namespace) ??
        (await listAll<KubeObject>(rest, resource, { namespace, signal, transform }).then((l) => l.items));
      const [pods, ...workloads] = await Promise.all([
        read(RESOURCES.pods, slimPod),
        ...kinds.map((kind) => read(ROLLOUT_RESOURCES[kind]).then((items) => items.map((o) => ({ ...o, kind })))),
      ]);
      return { pods, workloads: workloads.flat() };
    }),
  );
  const found = new Map<string, KubeObject>();
  for (const l of lists)
    for (const w of l.workloads) found.set(`${w.kind}/${w.metadata.namespace}/${w.metadata.name}`, w);
  const workloads: GateWorkload[] = [];
  const missing: WorkloadRef[] = [];
  for (const w of supported) {
    const object = found.get(`${w.kind}/${w.namespace}/${w.name}`);
    if (object) workloads.push(object as GateWorkload);
    else missing.push({ kind: w.kind, namespace: w.namespace, name: w.name });
  }

  let syncz: { proxy: string }[] | undefined;
  if (options.istiod) {
    const { namespace, service } = options.istiod;
    try {
      const body = await rest.requestJson<unknown>({
        path: synczPath(namespace, service),
        signal,
        timeoutMs: Math.min(rest.requestTimeoutMs, 10_000),
        target: { verb: "get", resource: "services/proxy", namespace, name: `${service}:15014` },
      });
      syncz = synczEntries(body);
    } catch (err) {
      if (signal?.aborted) throw err;
      notes.push(
        `syncz of istiod ${namespace}/${service} unavailable (${err instanceof Error ? err.message : String(err)}) — proxy connections not checked`,
      );
    }
  }
  return {
    workloads,
    missing,
    pods: lists.flatMap((l) => l.pods) as GatePod[],
    ...(syncz ? { syncz } : {}),
    notes,
  };
}
