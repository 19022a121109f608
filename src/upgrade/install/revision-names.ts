// The names and labels a control-plane revision uses (istio-facts §1.1, §2): "<r>" is "-<rev>", or empty for
// the unrevisioned install, whose labels and webhooks say "default".

export const LABEL_REV = "istio.io/rev";
export const LABEL_TAG = "istio.io/tag";
/** operator.istio.io/component, on every chart resource (operator/pkg/manifest/name.go) */
export const LABEL_COMPONENT = "operator.istio.io/component";
export const ISTIO_SYSTEM = "istio-system";
const TAG_WEBHOOK_PREFIX = "istio-revision-tag-";
const TAG_SERVICE_PREFIX = "istiod-revision-tag-";

/** The revision as labels and webhooks spell it: "" and "default" both mean the unrevisioned install. */
export function revisionLabel(revision: string): string {
  return revision === "" ? "default" : revision;
}

/** "-<rev>", or "" for the unrevisioned install (istio-facts §2 notation <r>). */
export function revisionSuffix(revision: string): string {
  return revisionLabel(revision) === "default" ? "" : `-${revision}`;
}

/** The istiod Deployment, Service and ServiceAccount of a revision: istiod<r>. */
export function istiodName(revision: string): string {
  return `istiod${revisionSuffix(revision)}`;
}

/** Cluster-scoped injector and tag webhooks carry a -<ns> suffix outside istio-system. */
function clusterScopedSuffix(istioNamespace: string): string {
  return istioNamespace === ISTIO_SYSTEM ? "" : `-${istioNamespace}`;
}

/** The revision's own injector MWC: istio-sidecar-injector<r>[-<ns>]. */
export function injectorWebhookName(revision: string, istioNamespace: string): string {
  return `istio-sidecar-injector${revisionSuffix(revision)}${clusterScopedSuffix(istioNamespace)}`;
}

/** The MWC of a revision tag: istio-revision-tag-<tag>[-<ns>]. */
export function tagWebhookName(tag: string, istioNamespace: string): string {
  return `${TAG_WEBHOOK_PREFIX}${tag}${clusterScopedSuffix(istioNamespace)}`;
}

/** The tag an object serves (MWC istio-revision-tag-*, Service istiod-revision-tag-*), from its label or name. */
export function tagOf(
  kind: string | undefined,
  name: string,
  labels: Record<string, string> | undefined,
): string | undefined {
  const label = labels?.[LABEL_TAG];
  if (label) return label;
  if (kind === "MutatingWebhookConfiguration" && name.startsWith(TAG_WEBHOOK_PREFIX))
    return name.slice(TAG_WEBHOOK_PREFIX.length);
  if (kind === "Service" && name.startsWith(TAG_SERVICE_PREFIX)) return name.slice(TAG_SERVICE_PREFIX.length);
  return undefined;
}

/** DNS-1123 label: what istioctl accepts as a revision name (operator/pkg/apis/validation). */
export function isRevisionName(name: string): boolean {
  return name.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name);
}

function suffixRevision(name: string, base: string): string | undefined {
  if (name === base) return "default";
  if (name.startsWith(`${base}-`)) return name.slice(base.length + 1) || undefined;
  return undefined;
}

function stripSuffix(name: string, suffix: string): string | undefined {
  if (!suffix) return name;
  return name.endsWith(suffix) ? name.slice(0, name.length - suffix.length) : undefined;
}

/**
 * The revision whose object a (kind, namespace, name) is, judged by the names the istiod chart gives a revision's
 * objects (istio-facts §2), or undefined when the name is not one of them. Used to catch manifests that would
 * overwrite another revision, e.g. an unrevisioned `istiod` when installing revision 1-28-0.
 */
export function revisionByName(
  kind: string | undefined,
  namespace: string | undefined,
  name: string,
  istioNamespace: string,
): string | undefined {
  if (tagOf(kind, name, undefined)) return undefined;
  switch (kind) {
    case "Deployment":
    case "Service":
    case "ServiceAccount":
    case "Role":
    case "RoleBinding":
    case "HorizontalPodAutoscaler":
    case "PodDisruptionBudget":
      return namespace === istioNamespace ? suffixRevision(name, "istiod") : undefined;
    case "ConfigMap":
      if (namespace !== istioNamespace) return undefined;
      // istio-<x> is ambiguous (istio-ca-root-cert), so only the exact unrevisioned mesh ConfigMap counts
      if (name === "istio") return "default";
      return suffixRevision(name, "istio-sidecar-injector") ?? suffixRevision(name, "values");
    case "MutatingWebhookConfiguration": {
      const base = stripSuffix(name, clusterScopedSuffix(istioNamespace)) ?? name;
      return suffixRevision(base, "istio-sidecar-injector");
    }
    case "ValidatingWebhookConfiguration": {
      const base = stripSuffix(name, `-${istioNamespace}`);
      return base === undefined ? undefined : suffixRevision(base, "istio-validator");
    }
    case "ClusterRole":
    case "ClusterRoleBinding": {
      const base = stripSuffix(name, `-${istioNamespace}`);
      if (base === undefined) return undefined;
      for (const prefix of ["istiod-clusterrole", "istiod-gateway-controller", "istio-reader-clusterrole"]) {
        const r = suffixRevision(base, prefix);
        if (r) return r;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
