// The sandbox's stand-in for the apiserver calling istiod's /inject endpoint over HTTPS: the webhook's Service
// must have a Ready endpoint (an istiod pod), whose revision's injector ConfigMap then drives injectPod.
import type { WebhookBackend, WebhookResolver } from "../api/admission.js";
import type { ClusterStore, KObject } from "../api/types.js";
import { InjectionError, injectPod } from "./injector.js";
import { revisionLabel, revisionSuffix } from "./render.js";

function isReady(pod: KObject): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false; // a Service without selector has no managed endpoints
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The revision an istiod pod serves: its REVISION env ("default" when unrevisioned). */
function podRevision(pod: KObject): string | undefined {
  for (const c of pod.spec?.containers ?? []) {
    const env = (c.env ?? []).find((e: any) => e.name === "REVISION");
    if (env?.value !== undefined) return env.value;
  }
  return undefined;
}

export interface IstiodEndpoint {
  service: KObject;
  /** Ready pods behind the Service */
  pods: KObject[];
  /** the revision they serve: a revision name, or "default" */
  revision: string;
}

/** Finds the istiod behind a webhook's Service reference, or says why the call cannot be made. */
export function resolveIstiod(
  store: ClusterStore,
  ref: { name: string; namespace: string },
): IstiodEndpoint | { unavailable: string } {
  const service = store.get("/services", ref.namespace, ref.name);
  if (!service) return { unavailable: `service "${ref.name}" not found` };
  const pods = store
    .list("/pods", ref.namespace)
    .filter((p) => selects(service.spec?.selector, p.metadata.labels) && isReady(p));
  if (pods.length === 0) return { unavailable: `no endpoints available for service "${ref.name}"` };
  // istiod-revision-tag-<tag> Services select the target revision's pods, so the pod's REVISION is the truth
  const revision = podRevision(pods[0]) ?? service.metadata.labels?.["istio.io/rev"] ?? "default";
  return { service, pods, revision };
}

/** Resolves MutatingWebhookConfiguration clientConfigs to istiod injection backends inside the sandbox. */
export function istioWebhookResolver(store: ClusterStore): WebhookResolver {
  return (clientConfig) => {
    if (clientConfig?.url) {
      const host = (() => {
        try {
          return new URL(clientConfig.url).hostname;
        } catch {
          return String(clientConfig.url);
        }
      })();
      return { unavailable: `dial tcp: lookup ${host}: no such host` };
    }
    const ref = clientConfig?.service;
    if (!ref?.name || !ref?.namespace) return { unavailable: "webhook clientConfig has neither url nor service" };
    const endpoint = resolveIstiod(store, ref);
    if ("unavailable" in endpoint) return endpoint;
    const r = revisionSuffix(endpoint.revision);
    const injectorConfigMap = store.get("/configmaps", ref.namespace, `istio-sidecar-injector${r}`);
    if (!injectorConfigMap)
      return {
        unavailable: `istiod revision "${revisionLabel(endpoint.revision)}" cannot serve: configmap "istio-sidecar-injector${r}" not found in namespace "${ref.namespace}"`,
      };
    const meshConfigMap = store.get("/configmaps", ref.namespace, `istio${r}`);
    const backend: WebhookBackend = (review) => {
      if (review.operation !== "CREATE" || (review.object.kind !== undefined && review.object.kind !== "Pod"))
        return { allowed: true };
      const nsName = review.object.metadata.namespace ?? "";
      const namespace = review.namespace ??
        store.get("/namespaces", undefined, nsName) ?? {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: nsName },
        };
      try {
        const result = injectPod(review.object, {
          namespace,
          injectorConfigMap,
          meshConfigMap,
          revision: endpoint.revision,
          istioNamespace: ref.namespace,
        });
        return result.injected ? { allowed: true, object: result.pod } : { allowed: true };
      } catch (err) {
        if (err instanceof InjectionError)
          return { allowed: false, message: `injection failed: ${err.message}`, code: 500 };
        throw err;
      }
    };
    return backend;
  };
}
