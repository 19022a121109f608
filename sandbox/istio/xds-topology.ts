// Which istiod pods serve which revision, and which istiod pod each proxy holds its xDS stream with.
// Read by /metrics (pilot_xds*) and by /debug/syncz, so both report the same connections.
import type { KObject } from "../api/types.js";
import { isPodRunning, isServingEndpoint, proxyIdentity, type ProxyIdentity } from "./proxy-identity.js";

export interface XdsConnection {
  proxy: KObject;
  identity: ProxyIdentity;
  revision: string;
  istiod: KObject;
}

export interface XdsTopology {
  /** Ready, non-terminating istiod pods per revision, sorted by name */
  istiods: Map<string, KObject[]>;
  /** the revision served by each istiod Deployment, keyed "<namespace>/<name>" */
  deployments: Map<string, string>;
  connections: XdsConnection[];
}

/** An istiod Deployment as the chart renders it: `istiod[-<rev>]` labelled app=istiod. */
export function isIstiodDeployment(deployment: KObject): boolean {
  const name = deployment.metadata.name ?? "";
  return deployment.metadata.labels?.app === "istiod" || name === "istiod" || name.startsWith("istiod-");
}

/**
 * The revision an istiod Deployment serves: its `istio.io/rev` label (the chart writes `<rev|default>`),
 * else the REVISION env of its `discovery` container, else its name `istiod-<rev>`; unrevisioned is "default".
 */
export function istiodRevision(deployment: KObject): string {
  const label = deployment.metadata.labels?.["istio.io/rev"];
  if (label) return label;
  const containers: any[] = deployment.spec?.template?.spec?.containers ?? [];
  const env: any[] = containers.find((c) => c?.name === "discovery")?.env ?? [];
  const fromEnv = env.find((e) => e?.name === "REVISION")?.value;
  if (typeof fromEnv === "string" && fromEnv) return fromEnv;
  const name = deployment.metadata.name ?? "";
  return name.startsWith("istiod-") ? name.slice("istiod-".length) : "default";
}

/** FNV-1a: a stable spread of proxies over the Ready replicas of their istiod. */
export function stableHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const hashCache = new WeakMap<KObject, number>();
function podHash(pod: KObject): number {
  let h = hashCache.get(pod);
  if (h === undefined)
    hashCache.set(pod, (h = stableHash(pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`)));
  return h;
}

/**
 * A proxy is connected while its pod runs (Envoy holds the stream from start until exit, through readiness
 * changes and graceful termination) and its revision's istiod has a Ready pod; otherwise it is disconnected.
 */
export function xdsTopology(deployments: readonly KObject[], pods: readonly KObject[]): XdsTopology {
  const istiodDeployments = new Map<string, string>();
  for (const d of deployments) {
    if (isIstiodDeployment(d))
      istiodDeployments.set(`${d.metadata.namespace ?? ""}/${d.metadata.name}`, istiodRevision(d));
  }
  const istiods = new Map<string, KObject[]>();
  const proxies: { pod: KObject; identity: ProxyIdentity }[] = [];
  for (const pod of pods) {
    const identity = proxyIdentity(pod);
    if (identity.workload.kind === "Deployment") {
      const revision = istiodDeployments.get(`${pod.metadata.namespace ?? ""}/${identity.workload.name}`);
      if (revision !== undefined) {
        if (isServingEndpoint(pod)) {
          let list = istiods.get(revision);
          if (!list) istiods.set(revision, (list = []));
          list.push(pod);
        }
        continue;
      }
    }
    if (identity.revision !== undefined && isPodRunning(pod)) proxies.push({ pod, identity });
  }
  for (const list of istiods.values())
    list.sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));

  const connections: XdsConnection[] = [];
  for (const { pod, identity } of proxies) {
    const serving = istiods.get(identity.revision!);
    if (!serving?.length) continue;
    const istiod = serving.length === 1 ? serving[0] : serving[podHash(pod) % serving.length];
    connections.push({ proxy: pod, identity, revision: identity.revision!, istiod });
  }
  return { istiods, deployments: istiodDeployments, connections };
}
