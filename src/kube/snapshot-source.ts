// Everything buildSnapshot needs, read from a cluster: either cold (parallel paginated LISTs, for
// one-shot CLI commands) or from warm list-watch caches (the operator, `upgrade run`, the server).
// Required kinds fail the collection with their KubeError; optional ones (EnvoyFilters when the
// CRD is absent, PDBs, MeshUpgrades, istiod syncz) become notes (Backstage's failures-as-values).
import { buildSnapshot, type MeshSnapshot, type SnapshotInput, type SynczByRevision } from "../mesh/index.js";
import { ResourceCache, withoutManagedFields, type CacheOptions } from "./cache.js";
import type { Cluster } from "./config.js";
import { toKubeError, type KubeError } from "./errors.js";
import { listAll } from "./list.js";
import { RESOURCES, qualifiedName, type KubeObject, type ResourceRef } from "./resources.js";
import { withRetry } from "./retry.js";

export const MESH_UPGRADES: ResourceRef = {
  group: "meshlift.io",
  version: "v1alpha1",
  plural: "meshupgrades",
  kind: "MeshUpgrade",
  namespaced: false,
};

/** What the snapshot is built from, with notes on what could not be read. */
export interface CollectedInput {
  input: SnapshotInput;
  /** one line per optional source that was skipped, saying why */
  notes: string[];
}

export interface SnapshotSource {
  collect(options?: { signal?: AbortSignal; syncz?: boolean }): Promise<CollectedInput>;
  close(): Promise<void>;
}

/**
 * Keeps a pod small for the cache: the fields the read model never looks at (volumes, mounts,
 * probes, resources, managedFields) are dropped, which is most of a real pod's size — 20,000
 * pods must fit in the memory of a small operator pod.
 */
export function slimPod(pod: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = pod.metadata;
  const spec = pod.spec ?? {};
  const slimContainer = (c: Record<string, unknown>) => {
    const {
      volumeMounts: _v,
      livenessProbe: _l,
      readinessProbe: _r,
      startupProbe: _s,
      resources: _res,
      securityContext: _sc,
      ...rest
    } = c;
    return rest;
  };
  const { volumes: _vol, ...specRest } = spec;
  return {
    ...pod,
    metadata,
    spec: {
      ...specRest,
      ...(spec.containers ? { containers: spec.containers.map(slimContainer) } : {}),
      ...(spec.initContainers ? { initContainers: spec.initContainers.map(slimContainer) } : {}),
    },
  };
}

type Kind = keyof typeof REQUIRED | keyof typeof OPTIONAL;

const REQUIRED = {
  namespaces: RESOURCES.namespaces,
  pods: RESOURCES.pods,
  deployments: RESOURCES.deployments,
  statefulsets: RESOURCES.statefulSets,
  daemonsets: RESOURCES.daemonSets,
  replicasets: RESOURCES.replicaSets,
  jobs: RESOURCES.jobs,
  cronjobs: RESOURCES.cronJobs,
  services: RESOURCES.services,
  mutatingWebhooks: RESOURCES.mutatingWebhookConfigurations,
} as const;

const OPTIONAL = {
  validatingWebhooks: RESOURCES.validatingWebhookConfigurations,
  pdbs: RESOURCES.podDisruptionBudgets,
  envoyFilters: RESOURCES.envoyFilters,
  meshUpgrades: MESH_UPGRADES,
} as const;

function optionalNote(resource: ResourceRef, error: KubeError): string | undefined {
  const name = qualifiedName(resource);
  // no MeshUpgrade CRD just means meshlift's operator is not installed: nothing to say
  if (error.code === 404 && resource === MESH_UPGRADES) return undefined;
  if (error.code === 404) return `${name}: not served by this cluster (CRD not installed) — skipped`;
  return `${name}: ${error.message} — skipped; checks that need it are incomplete`;
}

/** istiod's Service carries the Deployment's name (istiod<-rev>); debug endpoints are on 15014. */
function synczPath(namespace: string, service: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(`${service}:15014`)}/proxy/debug/syncz`;
}

function isIstiod(d: KubeObject): boolean {
  return d.metadata.labels?.app === "istiod" || d.spec?.template?.metadata?.labels?.app === "istiod";
}

type SynczEntry = { proxy: string; istio_version?: string };

/**
 * Connected proxies from a syncz answer: istiod up to 1.26 serves a JSON array of SyncStatus
 * (`proxy`, `istio_version`); newer istiod serves an xDS DiscoveryResponse whose resources carry
 * the proxy's node (`node.id`, `node.metadata.ISTIO_VERSION`).
 */
export function synczEntries(body: unknown): SynczEntry[] {
  if (Array.isArray(body)) return body.filter((e): e is SynczEntry => typeof e?.proxy === "string");
  const resources = (body as { resources?: unknown } | null)?.resources;
  if (Array.isArray(resources)) {
    const entries: SynczEntry[] = [];
    for (const r of resources as { node?: { id?: unknown; metadata?: { ISTIO_VERSION?: unknown } } }[]) {
      const version = r?.node?.metadata?.ISTIO_VERSION;
      if (typeof r?.node?.id === "string")
        entries.push({ proxy: r.node.id, ...(typeof version === "string" ? { istio_version: version } : {}) });
    }
    return entries;
  }
  throw new Error("the answer is neither a SyncStatus list nor a DiscoveryResponse");
}

/** The namespaces that run an istiod: where the injector ConfigMaps live. */
export function istioNamespacesOf(deployments: KubeObject[]): string[] {
  const found = new Set<string>();
  for (const d of deployments) if (isIstiod(d) && d.metadata.namespace) found.add(d.metadata.namespace);
  return [...found].sort();
}

async function kubernetesVersion(cluster: Cluster, signal?: AbortSignal): Promise<string> {
  const info = await withRetry(
    () =>
      cluster.rest.requestJson<{ gitVersion?: string; major?: string; minor?: string }>({
        path: "/version",
        signal,
        target: { verb: "get", path: "/version" },
      }),
    { signal },
  );
  return info?.gitVersion ?? `v${info?.major ?? "0"}.${(info?.minor ?? "0").replace(/\D+$/, "")}.0`;
}

/**
 * Asks each revision's istiod (through the API server's service proxy) which proxies are connected.
 * Each failure becomes a note: syncz is evidence, not a requirement.
 */
export async function collectSyncz(
  cluster: Cluster,
  input: SnapshotInput,
  signal?: AbortSignal,
): Promise<{ syncz: SynczByRevision; notes: string[] }> {
  // the revisions (and their Deployments) come from the read model itself, so revision naming stays in one place
  const revisions = buildSnapshot({ ...input, pods: [], syncz: undefined }).revisions;
  const notes: string[] = [];
  const syncz: SynczByRevision = {};
  await Promise.all(
    revisions.map(async (rev) => {
      try {
        const body = await cluster.rest.requestJson<unknown>({
          path: synczPath(rev.namespace, rev.deployment),
          signal,
          timeoutMs: Math.min(cluster.rest.requestTimeoutMs, 10_000),
          target: {
            verb: "get",
            resource: "services/proxy",
            namespace: rev.namespace,
            name: `${rev.deployment}:15014`,
          },
        });
        syncz[rev.name] = synczEntries(body);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        notes.push(
          `istiod syncz of revision ${rev.name} unavailable (${message}) — connected-proxy counts are not shown for it`,
        );
      }
    }),
  );
  return { syncz, notes };
}

/** One-shot collection: every kind listed in parallel, paginated, with retries. */
export class ColdSnapshotSource implements SnapshotSource {
  constructor(private readonly cluster: Cluster) {}

  async collect(options: { signal?: AbortSignal; syncz?: boolean } = {}): Promise<CollectedInput> {
    const { signal } = options;
    const rest = this.cluster.rest;
    const notes: string[] = [];
    const list = (r: ResourceRef, namespace?: string) =>
      listAll(rest, r, { signal, namespace, transform: r === RESOURCES.pods ? slimPod : withoutManagedFields }).then(
        (l) => l.items,
      );
    const optional = (r: ResourceRef) =>
      list(r).catch((err: unknown) => {
        const note = optionalNote(r, toKubeError(err));
        if (note) notes.push(note);
        return undefined;
      });
    const [version, required, opt] = await Promise.all([
      kubernetesVersion(this.cluster, signal),
      Promise.all(Object.values(REQUIRED).map((r) => list(r))),
      Promise.all(Object.values(OPTIONAL).map((r) => optional(r))),
    ]);
    const byKind = Object.fromEntries([
      ...Object.keys(REQUIRED).map((k, i) => [k, required[i]]),
      ...Object.keys(OPTIONAL).map((k, i) => [k, opt[i]]),
    ]) as Record<Kind, KubeObject[] | undefined>;
    const istioNamespaces = istioNamespacesOf(byKind.deployments ?? []);
    const configmaps = (await Promise.all(istioNamespaces.map((ns) => list(RESOURCES.configMaps, ns)))).flat();
    const input: SnapshotInput = {
      namespaces: byKind.namespaces ?? [],
      pods: byKind.pods ?? [],
      deployments: byKind.deployments ?? [],
      statefulsets: byKind.statefulsets ?? [],
      daemonsets: byKind.daemonsets ?? [],
      replicasets: byKind.replicasets ?? [],
      jobs: byKind.jobs ?? [],
      cronjobs: byKind.cronjobs ?? [],
      services: byKind.services ?? [],
      configmaps,
      mutatingWebhooks: byKind.mutatingWebhooks ?? [],
      validatingWebhooks: byKind.validatingWebhooks,
      pdbs: byKind.pdbs,
      envoyFilters: byKind.envoyFilters,
      meshUpgrades: byKind.meshUpgrades,
      kubernetesVersion: version,
    };
    if (options.syncz !== false) {
      const s = await collectSyncz(this.cluster, input, signal);
      input.syncz = s.syncz;
      notes.push(...s.notes);
    }
    return { input, notes };
  }

  async close(): Promise<void> {}
}

export interface WarmSourceOptions {
  /** passed to every cache (resync interval, silence timeout, …) */
  cache?: Omit<CacheOptions, "namespace" | "transform">;
  /** how long the first collect() waits for the caches to sync (default 60 s) */
  syncTimeoutMs?: number;
}

/**
 * Collection from list-watch caches, started on first use and shared by every caller. ConfigMap
 * caches are added per istio namespace as istiod Deployments appear in the Deployment cache.
 */
export class WarmSnapshotSource implements SnapshotSource {
  readonly caches = new Map<string, ResourceCache>();
  private readonly configMapCaches = new Map<string, ResourceCache>();
  private readonly optionalAbsent = new Map<string, string | undefined>();
  private started = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly options: WarmSourceOptions = {},
  ) {}

  private newCache(r: ResourceRef, namespace?: string): ResourceCache {
    return new ResourceCache(this.cluster.rest, r, {
      ...this.options.cache,
      namespace,
      transform: r === RESOURCES.pods ? slimPod : withoutManagedFields,
    }).start();
  }

  /** Starts all caches (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const [kind, r] of [...Object.entries(REQUIRED), ...Object.entries(OPTIONAL)])
      this.caches.set(kind, this.newCache(r));
  }

  private async synced(
    kind: string,
    cache: ResourceCache,
    timeoutMs: number,
    optional: boolean,
    notes: string[],
  ): Promise<KubeObject[] | undefined> {
    if (this.optionalAbsent.has(kind)) {
      const absent = this.optionalAbsent.get(kind);
      if (absent) notes.push(absent);
      return undefined;
    }
    try {
      await cache.waitForSync(timeoutMs);
      return cache.list();
    } catch (err) {
      if (!optional) throw toKubeError(err);
      const note = optionalNote(cache.resource, toKubeError(err));
      // an optional kind the cluster does not serve stops being watched (it would only log 404s)
      if (toKubeError(err).code === 404) {
        this.optionalAbsent.set(kind, note);
        await cache.stop();
      }
      if (note) notes.push(note);
      return undefined;
    }
  }

  async collect(options: { signal?: AbortSignal; syncz?: boolean } = {}): Promise<CollectedInput> {
    this.start();
    const timeout = this.options.syncTimeoutMs ?? 60_000;
    const notes: string[] = [];
    const get = (kind: Kind, optional = false) => this.synced(kind, this.caches.get(kind)!, timeout, optional, notes);
    const [
      version,
      namespaces,
      pods,
      deployments,
      statefulsets,
      daemonsets,
      replicasets,
      jobs,
      cronjobs,
      services,
      mwcs,
      vwcs,
      pdbs,
      efs,
      mus,
    ] = await Promise.all([
      kubernetesVersion(this.cluster, options.signal),
      get("namespaces"),
      get("pods"),
      get("deployments"),
      get("statefulsets"),
      get("daemonsets"),
      get("replicasets"),
      get("jobs"),
      get("cronjobs"),
      get("services"),
      get("mutatingWebhooks"),
      get("validatingWebhooks", true),
      get("pdbs", true),
      get("envoyFilters", true),
      get("meshUpgrades", true),
    ]);
    for (const ns of istioNamespacesOf(deployments ?? [])) {
      if (!this.configMapCaches.has(ns)) this.configMapCaches.set(ns, this.newCache(RESOURCES.configMaps, ns));
    }
    const configmaps: KubeObject[] = [];
    for (const cache of this.configMapCaches.values()) {
      await cache.waitForSync(timeout);
      configmaps.push(...cache.list());
    }
    const input: SnapshotInput = {
      namespaces: namespaces ?? [],
      pods: pods ?? [],
      deployments: deployments ?? [],
      statefulsets: statefulsets ?? [],
      daemonsets: daemonsets ?? [],
      replicasets: replicasets ?? [],
      jobs: jobs ?? [],
      cronjobs: cronjobs ?? [],
      services: services ?? [],
      configmaps,
      mutatingWebhooks: mwcs ?? [],
      validatingWebhooks: vwcs,
      pdbs,
      envoyFilters: efs,
      meshUpgrades: mus,
      kubernetesVersion: version,
    };
    if (options.syncz !== false) {
      const s = await collectSyncz(this.cluster, input, options.signal);
      input.syncz = s.syncz;
      notes.push(...s.notes);
    }
    return { input, notes };
  }

  async close(): Promise<void> {
    await Promise.all([...this.caches.values(), ...this.configMapCaches.values()].map((c) => c.stop()));
  }
}

/** Collects and builds the snapshot. */
export async function takeSnapshot(
  source: SnapshotSource,
  options: { signal?: AbortSignal; syncz?: boolean; now?: Date } = {},
): Promise<{ snapshot: MeshSnapshot; notes: string[] }> {
  const { input, notes } = await source.collect(options);
  return { snapshot: buildSnapshot({ ...input, now: options.now }), notes };
}
