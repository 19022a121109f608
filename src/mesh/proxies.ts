// Reading the Istio proxy of one pod (or pod template): container, revision, version (istio-facts §1.2).
import { versionFromImage } from "../catalog/version.js";
import type { ContainerLike, ObjectMetaLike, PodSpecLike } from "./kube-types.js";

export const PROXY_CONTAINER = "istio-proxy";
export const ANNOTATION_STATUS = "sidecar.istio.io/status";
export const ANNOTATION_PROXY_IMAGE = "sidecar.istio.io/proxyImage";
export const ANNOTATION_TEMPLATES = "inject.istio.io/templates";

export interface ProxyReading {
  container: ContainerLike;
  /** native = an init container (KEP-753 sidecar), classic = a regular container */
  sidecar: "native" | "classic";
  image: string | null;
  version: string | null;
  revision: string | null;
  revisionSource: "annotation" | "status" | "label" | "ca-address" | null;
  /** carries sidecar.istio.io/status, i.e. a template added the proxy */
  injected: boolean;
  imageOverridden: boolean;
}

export function findProxyContainer(
  spec: PodSpecLike | undefined,
): { container: ContainerLike; sidecar: "native" | "classic" } | null {
  const classic = spec?.containers?.find((c) => c.name === PROXY_CONTAINER);
  if (classic) return { container: classic, sidecar: "classic" };
  // an init container named istio-proxy can only run as a native sidecar (restartPolicy Always);
  // as a plain init container it would never finish and the pod would never start
  const native = spec?.initContainers?.find((c) => c.name === PROXY_CONTAINER);
  return native ? { container: native, sidecar: "native" } : null;
}

const versionOfImage = new Map<string, string | null>();

/** versionFromImage, memoised: a mesh runs few distinct proxy images across many pods. */
function cachedVersionFromImage(image: string): string | null {
  let version = versionOfImage.get(image);
  if (version === undefined) {
    version = versionFromImage(image);
    if (versionOfImage.size < 10_000) versionOfImage.set(image, version);
  }
  return version;
}

function revisionFromStatus(status: string | undefined): string | null {
  if (!status) return null;
  try {
    const parsed = JSON.parse(status) as { revision?: unknown };
    return typeof parsed.revision === "string" && parsed.revision !== "" ? parsed.revision : null;
  } catch {
    return null;
  }
}

/** CA_ADDR=istiod[-<rev>].<ns>.svc:15012 names the injecting revision when annotations are missing. */
function revisionFromCaAddress(container: ContainerLike): string | null {
  const value = container.env?.find((e) => e.name === "CA_ADDR")?.value;
  const m = value ? /^istiod(?:-([a-z0-9][-a-z0-9]*?))?\.[^.]+\.svc(?::\d+)?$/.exec(value) : null;
  if (!m) return null;
  return m[1] && !m[1].startsWith("revision-tag-") ? m[1] : m[1] ? null : "default";
}

/**
 * The proxy of a pod, or null without an istio-proxy container. Revision as istioctl's
 * GetRevisionFromPodAnnotation: the istio.io/rev annotation, then the status `.revision`; for
 * proxies no template injected (legacy gateways) the pod's istio.io/rev label, resolved through tags.
 */
export function readProxy(
  meta: ObjectMetaLike | undefined,
  spec: PodSpecLike | undefined,
  resolveTag: (name: string) => string,
): ProxyReading | null {
  const found = findProxyContainer(spec);
  if (!found) return null;
  const annotations = meta?.annotations ?? {};
  const status = annotations[ANNOTATION_STATUS];
  const image = found.container.image && found.container.image !== "auto" ? found.container.image : null;
  let revision: string | null = annotations["istio.io/rev"] || null;
  let revisionSource: ProxyReading["revisionSource"] = revision ? "annotation" : null;
  if (!revision) {
    revision = revisionFromStatus(status);
    if (revision) revisionSource = "status";
  }
  if (!revision && !status && meta?.labels?.["istio.io/rev"]) {
    revision = resolveTag(meta.labels["istio.io/rev"]);
    revisionSource = "label";
  }
  if (!revision) {
    revision = revisionFromCaAddress(found.container);
    if (revision) revisionSource = "ca-address";
  }
  return {
    container: found.container,
    sidecar: found.sidecar,
    image,
    version: image ? cachedVersionFromImage(image) : null,
    revision,
    revisionSource,
    injected: status !== undefined,
    imageOverridden: annotations[ANNOTATION_PROXY_IMAGE] !== undefined,
  };
}
