// What the console shows, computed from a MeshSnapshot: the overview (revision cards, proxies by
// version, the "new version available" banner) and one row per namespace and per workload. Pure:
// the same snapshot gives the same view; nothing here reads the cluster.
import { availableUpgrades, compareVersions, looseVersion, type Catalog } from "../catalog/index.js";
import type { MeshSnapshot, NamespaceView, Workload } from "../mesh/index.js";
import type {
  MeshOverview,
  MeshUpgradeObject,
  NamespaceRow,
  ProxyComparison,
  VersionBanner,
  WorkloadRow,
} from "./api-types.js";

/** Stages after which an upgrade no longer decides what "old" and "new" mean (schema.ts TERMINAL_STAGES). */
const FINISHED_STAGES = new Set(["Completed", "RolledBack", "Failed"]);

/** Kinds a rollout restart rebuilds (what `kubectl rollout restart` accepts). */
export const RESTARTABLE_KINDS: readonly string[] = ["Deployment", "StatefulSet", "DaemonSet"];

/** "istio-injection=enabled, istio.io/rev=prod-stable": the namespace labels that decide injection. */
export function injectionLabelText(ns: NamespaceView): string {
  const labels: string[] = [];
  if (ns.labels.istioInjection !== null) labels.push(`istio-injection=${ns.labels.istioInjection}`);
  if (ns.labels.rev !== null) labels.push(`istio.io/rev=${ns.labels.rev}`);
  if (ns.labels.dataplaneMode !== null) labels.push(`istio.io/dataplane-mode=${ns.labels.dataplaneMode}`);
  return labels.join(", ");
}

/**
 * Which revision is "new": an active MeshUpgrade's target (its source and target revisions, from
 * status or spec), otherwise the newest installed version — so the table shows how far the data
 * plane is from the newest control plane before and during an upgrade alike.
 */
export function proxyComparison(snapshot: MeshSnapshot, upgrades: readonly MeshUpgradeObject[]): ProxyComparison {
  const active = upgrades.find((u) => !FINISHED_STAGES.has(String(u.status?.stage ?? "Pending")));
  const toRevision: unknown = active?.status?.to?.revision ?? active?.spec?.to?.revision;
  if (active && typeof toRevision === "string") {
    const fromRevision: unknown = active.status?.from?.revision ?? active.spec?.from;
    const old =
      typeof fromRevision === "string"
        ? [fromRevision]
        : snapshot.revisions.map((r) => r.name).filter((name) => name !== toRevision);
    return { basis: "upgrade", newRevision: toRevision, oldRevisions: old, upgrade: active.metadata.name };
  }
  const ordered = [...snapshot.revisions].sort((a, b) => {
    const va = looseVersion(a.version);
    const vb = looseVersion(b.version);
    if (va && vb) return compareVersions(va, vb) || a.name.localeCompare(b.name);
    return va ? 1 : vb ? -1 : a.name.localeCompare(b.name);
  });
  const newest = ordered.at(-1)?.name ?? null;
  return {
    basis: "newest",
    newRevision: newest,
    oldRevisions: ordered.map((r) => r.name).filter((name) => name !== newest),
    upgrade: null,
  };
}

export function namespaceRowOf(ns: NamespaceView, comparison: ProxyComparison): NamespaceRow {
  let proxiesNew = 0;
  let proxiesOld = 0;
  for (const [revision, n] of Object.entries(ns.proxiesByRevision)) {
    if (revision === comparison.newRevision) proxiesNew += n;
    else if (comparison.oldRevisions.includes(revision)) proxiesOld += n;
  }
  return {
    key: ns.name,
    rv: 0,
    name: ns.name,
    injectionLabel: injectionLabelText(ns),
    effectiveRevision: ns.injection.revision,
    tag: ns.injection.tag,
    perPodRules: ns.perPodRules,
    pods: ns.pods,
    proxies: ns.proxies,
    proxiesOld,
    proxiesNew,
    stale: ns.staleProxies,
    conflicts: ns.conflicts.map((c) => `${c.message} (${c.code})`),
  };
}

export function workloadKey(w: { namespace: string; kind: string; name: string }): string {
  return `${w.namespace}/${w.kind}/${w.name}`;
}

export function workloadRowOf(w: Workload): WorkloadRow {
  return {
    key: workloadKey(w),
    rv: 0,
    kind: w.kind,
    namespace: w.namespace,
    name: w.name,
    livePods: w.livePods,
    replicas: w.replicas,
    proxiedPods: w.proxiedPods,
    revisions: w.revisions,
    versions: w.versions,
    onRestart: w.restart.revision ?? (w.manualProxy ? "manual proxy" : "no sidecar"),
    flags: w.flags,
    gateway: w.gateway,
    restartable: RESTARTABLE_KINDS.includes(w.kind),
  };
}

/** The banner: upgrades the catalog offers from the newest installed version, with Kubernetes support. */
export function versionBanner(snapshot: MeshSnapshot, catalog: Catalog, today: Date): VersionBanner | null {
  const newest = snapshot.revisions
    .map((r) => looseVersion(r.version))
    .filter((v) => v !== null)
    .sort(compareVersions)
    .at(-1);
  if (!newest) return null;
  const options = availableUpgrades(newest, snapshot.kubernetesVersion, today, catalog);
  const kubernetes = (k: { status: VersionBanner["currentKubernetes"]["status"]; message: string }) => ({
    status: k.status,
    message: k.message,
  });
  return {
    current: options.current.version,
    currentEndOfLife: options.current.endOfLife,
    currentKubernetes: kubernetes(options.current.kubernetes),
    newVersionAvailable: options.newVersionAvailable,
    newestVersion: options.newestVersion,
    recommended: options.recommended,
    offers: options.upgrades.map((u) => ({
      version: u.version,
      kind: u.kind,
      released: u.released,
      recommended: u.recommended,
      endOfLife: u.endOfLife,
      kubernetes: kubernetes(u.kubernetes),
    })),
    beyondOneStep: options.beyondOneStep,
  };
}

export interface OverviewInputs {
  catalog: Catalog;
  today: Date;
  upgrades: readonly MeshUpgradeObject[];
  version: number;
  notes: string[];
}

export function overviewOf(snapshot: MeshSnapshot, inputs: OverviewInputs): MeshOverview {
  const tagNamespaces = new Map(snapshot.tags.map((t) => [t.name, t.namespaces.length]));
  return {
    version: inputs.version,
    takenAt: snapshot.takenAt,
    kubernetesVersion: snapshot.kubernetesVersion,
    revisions: snapshot.revisions.map((r) => ({
      name: r.name,
      namespace: r.namespace,
      version: r.version,
      ready: r.ready,
      replicas: { desired: r.replicas.desired, ready: r.replicas.ready },
      isDefault: r.isDefault,
      tags: r.tags,
      proxies: r.proxies,
      connectedProxies: r.connectedProxies,
    })),
    orphanRevisions: snapshot.orphanRevisions.map((o) => ({ name: o.name, proxies: o.proxies })),
    tags: snapshot.tags.map((t) => ({
      name: t.name,
      revision: t.revision,
      namespaces: tagNamespaces.get(t.name) ?? 0,
    })),
    proxiesByVersion: snapshot.summary.proxiesByVersion,
    proxiesByRevision: snapshot.summary.proxiesByRevision,
    totals: {
      namespaces: snapshot.namespaces.length,
      injectedNamespaces: snapshot.namespaces.filter((n) => n.injection.revision !== null).length,
      workloads: snapshot.workloads.length,
      gateways: snapshot.workloads.filter((w) => w.gateway !== null).length,
      proxies: snapshot.summary.liveProxies,
      staleProxies: snapshot.summary.staleProxies,
      podsLosingSidecar: snapshot.summary.podsLosingSidecar,
    },
    comparison: proxyComparison(snapshot, inputs.upgrades),
    banner: versionBanner(snapshot, inputs.catalog, inputs.today),
    notes: inputs.notes,
  };
}
