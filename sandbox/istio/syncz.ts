// istiod's debug endpoint /debug/syncz (monitoring port 15014), reached the way istioctl and meshlift
// reach it: through the API server's service proxy, /api/v1/namespaces/<ns>/services/<svc>:15014/proxy/debug/syncz.
//
// Shape: the JSON array of SyncStatus objects istiod served up to 1.26 (pilot/pkg/xds/debug.go, JSON tags
// cluster_id, proxy, proxy_type, istio_version, <type>_sent/<type>_acked, extensionconfig_sent/_acked).
// Newer istiod answers the same path with an xDS DiscoveryResponse; the older array is what this simulates.
import { ApiError, type ClusterStore, type KObject } from "../api/types.js";
import type { Faults } from "../faults.js";
import { isServingEndpoint } from "./proxy-identity.js";
import { stableHash, xdsTopology } from "./xds-topology.js";

export const ISTIOD_MONITORING_PORT = 15014;
/** istiod's default cluster ID (CLUSTER_ID env unset). */
const CLUSTER_ID = "Kubernetes";
const MWC_KEY = "admissionregistration.k8s.io/mutatingwebhookconfigurations";
const TAG_SERVICE_PREFIX = "istiod-revision-tag-";

export interface SyncStatus {
  cluster_id: string;
  proxy: string;
  proxy_type: "sidecar" | "router";
  istio_version: string;
  cluster_sent: string;
  cluster_acked: string;
  listener_sent: string;
  listener_acked: string;
  route_sent: string;
  route_acked: string;
  endpoint_sent: string;
  endpoint_acked: string;
  extensionconfig_sent: string;
  extensionconfig_acked: string;
}

export function isIstiodService(service: KObject): boolean {
  const name = service.metadata.name ?? "";
  return name === "istiod" || name.startsWith("istiod-") || service.metadata.labels?.app === "istiod";
}

/**
 * The revision whose istiod a Service reaches. The chart labels `istiod[-<rev>]` and the tag Service
 * `istiod-revision-tag-<tag>` with `istio.io/rev` = the (target) revision; without labels the name decides:
 * `istiod` is the unrevisioned "default", a tag Service follows its tag webhook `istio-revision-tag-<tag>[-<ns>]`.
 */
export function servedRevision(store: ClusterStore, service: KObject): string | undefined {
  const label = service.metadata.labels?.["istio.io/rev"];
  if (label) return label;
  const name = service.metadata.name ?? "";
  if (name === "istiod") return "default";
  if (name.startsWith(TAG_SERVICE_PREFIX)) {
    const tag = name.slice(TAG_SERVICE_PREFIX.length);
    const ns = service.metadata.namespace ?? "";
    const webhook =
      store.get(MWC_KEY, undefined, `istio-revision-tag-${tag}`) ??
      store.get(MWC_KEY, undefined, `istio-revision-tag-${tag}-${ns}`);
    return webhook?.metadata.labels?.["istio.io/rev"];
  }
  if (name.startsWith("istiod-")) return name.slice("istiod-".length);
  return undefined;
}

/** Pods a Service's selector picks that are Ready and not terminating: its ready endpoints. */
function readyEndpoints(pods: readonly KObject[], service: KObject): KObject[] {
  const selector = Object.entries((service.spec?.selector ?? {}) as Record<string, string>);
  if (selector.length === 0) return [];
  return pods.filter((p) => {
    const labels = p.metadata.labels ?? {};
    return selector.every(([k, v]) => labels[k] === v) && isServingEndpoint(p);
  });
}

/** A deterministic stand-in for istiod's per-push UUID nonce. */
function nonce(seed: string): string {
  const h = [stableHash(seed), stableHash(`${seed}#1`), stableHash(`${seed}#2`), stableHash(`${seed}#3`)]
    .map((n) => n.toString(16).padStart(8, "0"))
    .join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The sync status of every proxy connected to the revision behind `revisionService`: Running proxies of
 * that revision while it has a Ready istiod. Everything sent is acked, except listeners of a proxy with
 * an `xdsRejects` fault, which keep acking the previous push (istioctl proxy-status shows them STALE).
 */
export function renderSyncz(
  store: ClusterStore,
  revisionService: { namespace: string; name: string },
  faults?: Faults,
): SyncStatus[] {
  const service = store.get("/services", revisionService.namespace, revisionService.name);
  if (!service) return [];
  const revision = servedRevision(store, service);
  if (revision === undefined) return [];
  const pods = store.list("/pods");
  if (readyEndpoints(pods, service).length === 0) return [];
  const topology = xdsTopology(store.list("apps/deployments"), pods);
  const statuses: SyncStatus[] = [];
  for (const c of topology.connections) {
    if (c.revision !== revision) continue;
    const id = c.proxy.metadata.uid ?? `${c.proxy.metadata.namespace}/${c.proxy.metadata.name}`;
    const sent = (type: string) => nonce(`${id}/${revision}/${type}`);
    const listenerSent = sent("lds");
    const rejects = faults?.podEffects(c.proxy).xdsRejects ?? false;
    statuses.push({
      cluster_id: CLUSTER_ID,
      proxy: `${c.proxy.metadata.name}.${c.proxy.metadata.namespace}`,
      proxy_type: c.identity.proxyType ?? "sidecar",
      istio_version: c.identity.proxyVersion ?? "",
      cluster_sent: sent("cds"),
      cluster_acked: sent("cds"),
      listener_sent: listenerSent,
      listener_acked: rejects ? nonce(`${id}/${revision}/lds/previous`) : listenerSent,
      route_sent: sent("rds"),
      route_acked: sent("rds"),
      endpoint_sent: sent("eds"),
      endpoint_acked: sent("eds"),
      extensionconfig_sent: sent("ecds"),
      extensionconfig_acked: sent("ecds"),
    });
  }
  return statuses.sort((a, b) => a.proxy.localeCompare(b.proxy));
}

export interface ProxiedResponse {
  status: number;
  contentType: string;
  body: string;
}

/** The service port a proxy request names ("15014" or a port name such as "http-monitoring"), as its port number. */
function resolvePort(service: KObject, port: string): number | undefined {
  const ports: { name?: string; port?: number }[] = service.spec?.ports ?? [];
  const byNumber = /^\d+$/.test(port) ? ports.find((p) => p.port === Number(port)) : undefined;
  return (byNumber ?? ports.find((p) => p.name === port))?.port;
}

/**
 * Answers service-proxy requests to istiod's monitoring port: /debug/syncz, and 503 "no endpoints available"
 * (a Kubernetes Status, as the API server answers) when no istiod pod behind the Service is Ready.
 * Anything else is left to the caller (undefined).
 */
export function serviceProxyHandler(
  store: ClusterStore,
  faults?: Faults,
): (namespace: string, service: string, port: string, path: string) => ProxiedResponse | undefined {
  return (namespace, serviceName, port, path) => {
    const service = store.get("/services", namespace, serviceName);
    if (!service || !isIstiodService(service)) return undefined;
    if (resolvePort(service, port) !== ISTIOD_MONITORING_PORT) return undefined;
    if (readyEndpoints(store.list("/pods", namespace), service).length === 0) {
      const status = new ApiError(
        503,
        "ServiceUnavailable",
        `no endpoints available for service "${serviceName}"`,
      ).toStatus();
      return { status: 503, contentType: "application/json", body: JSON.stringify(status) };
    }
    const route = path.replace(/^\/+/, "").split("?")[0].replace(/\/+$/, "");
    if (route !== "debug/syncz") return undefined;
    const body = renderSyncz(store, { namespace, name: serviceName }, faults);
    return { status: 200, contentType: "application/json", body: JSON.stringify(body) };
  };
}
