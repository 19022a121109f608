// How the simulated mesh reads a pod: its sidecar, proxy version, revision and owning workload.
// Shared by fault matching, the traffic model, /metrics and /debug/syncz, so all of them agree on identity.
import type { KObject } from "../api/types.js";

export interface Workload {
  kind: string;
  name: string;
}

export interface ProxyIdentity {
  /** tag of the istio-proxy image without -distroless/-debug, e.g. "1.28.0"; undefined when the pod has no sidecar */
  proxyVersion?: string;
  /** the injecting istiod's revision ("default" for the unrevisioned one); undefined when the pod has no sidecar */
  revision?: string;
  /** "router" for gateways (proxy args `router`, or the `gateway` injection template), else "sidecar" */
  proxyType?: "sidecar" | "router";
  workload: Workload;
  /** "<namespace>/<workload name>": the key traffic and metrics group pods by */
  workloadKey: string;
}

/** Image variants Istio publishes as tag suffixes (global.variant / sidecar.istio.io/proxyImageType). */
const VARIANT_SUFFIX = /-(distroless|debug)$/;

/** The `istio-proxy` container: a native sidecar (initContainers, restartPolicy Always) or a classic one (containers). */
export function istioProxyContainer(pod: KObject): KObject | undefined {
  const spec = pod.spec ?? {};
  for (const list of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) if (c?.name === "istio-proxy") return c;
  }
  return undefined;
}

/** The tag of an image reference ("hub/proxyv2:1.28.0-distroless@sha256:…" → "1.28.0"), undefined without a tag. */
export function imageVersion(image: unknown): string | undefined {
  if (typeof image !== "string") return undefined;
  const withoutDigest = image.split("@")[0];
  const colon = withoutDigest.lastIndexOf(":");
  // a colon before the last "/" belongs to a registry host:port, not to a tag
  if (colon < 0 || colon < withoutDigest.lastIndexOf("/")) return undefined;
  const tag = withoutDigest.slice(colon + 1);
  return tag ? tag.replace(VARIANT_SUFFIX, "") : undefined;
}

/**
 * The revision that injected the proxy, as istioctl reads it (GetRevisionFromPodAnnotation):
 * the `istio.io/rev` annotation first, then `.revision` of the `sidecar.istio.io/status` annotation.
 */
export function revisionFromAnnotations(annotations: Record<string, string> | undefined): string | undefined {
  const rev = annotations?.["istio.io/rev"];
  if (rev) return rev;
  const status = annotations?.["sidecar.istio.io/status"];
  if (!status) return undefined;
  try {
    const parsed = JSON.parse(status);
    return typeof parsed?.revision === "string" && parsed.revision ? parsed.revision : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The workload a pod belongs to, as Istio names it in telemetry: the controller owner, except that a
 * ReplicaSet `<deployment>-<pod-template-hash>` stands for its Deployment. A bare pod is its own workload.
 */
export function workloadOf(pod: KObject): Workload {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return { kind: "Pod", name: pod.metadata.name ?? "" };
  if (owner.kind === "ReplicaSet") {
    const hash = pod.metadata.labels?.["pod-template-hash"];
    if (hash && owner.name.endsWith(`-${hash}`)) {
      return { kind: "Deployment", name: owner.name.slice(0, -(hash.length + 1)) };
    }
  }
  return { kind: owner.kind, name: owner.name };
}

function isRouter(pod: KObject, proxy: KObject): boolean {
  const templates = pod.metadata.annotations?.["inject.istio.io/templates"];
  if (templates && templates.split(",").some((t) => t.trim() === "gateway")) return true;
  const args: unknown = proxy.args;
  return Array.isArray(args) && args[0] === "proxy" && args[1] === "router";
}

// Stored objects are immutable (types.ts), so identity can be cached per object version:
// a render over 20,000 pods then parses each status annotation once per pod change, not per scrape.
const identityCache = new WeakMap<KObject, ProxyIdentity>();

export function proxyIdentity(pod: KObject): ProxyIdentity {
  const cached = identityCache.get(pod);
  if (cached) return cached;
  const proxy = istioProxyContainer(pod);
  const workload = workloadOf(pod);
  const workloadKey = `${pod.metadata.namespace ?? ""}/${workload.name}`;
  const identity: ProxyIdentity = proxy
    ? {
        proxyVersion: imageVersion(proxy.image),
        revision: revisionFromAnnotations(pod.metadata.annotations) ?? "default",
        proxyType: isRouter(pod, proxy) ? "router" : "sidecar",
        workload,
        workloadKey,
      }
    : { workload, workloadKey };
  identityCache.set(pod, identity);
  return identity;
}

/** Pod condition Ready=True (the kubelet's readiness, which is what Endpoints and traffic follow). */
export function isPodReady(pod: KObject): boolean {
  const conditions: unknown = pod.status?.conditions;
  return Array.isArray(conditions) && conditions.some((c) => c?.type === "Ready" && c.status === "True");
}

/** When the pod last became Ready (epoch ms), from the Ready condition's lastTransitionTime. */
export function readySince(pod: KObject): number | undefined {
  const conditions: unknown = pod.status?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  const ready = conditions.find((c) => c?.type === "Ready" && c.status === "True");
  const t = ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

export function isPodRunning(pod: KObject): boolean {
  return pod.status?.phase === "Running";
}

/** A Ready pod that is not terminating: what an EndpointSlice lists as ready (terminating endpoints are not ready). */
export function isServingEndpoint(pod: KObject): boolean {
  return !pod.metadata.deletionTimestamp && isPodReady(pod);
}
