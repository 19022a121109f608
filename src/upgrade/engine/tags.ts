// Re-pointing a revision tag, as `istioctl tag set <tag> --revision R --overwrite` does (istio-facts §3.2):
// the tag's MutatingWebhookConfiguration takes the target revision's injector clientConfig, its
// istio.io/rev label names R, and (≥1.28) the Service istiod-revision-tag-<tag> selects R's istiod.
// For the default tag, istiod-default-validator sends validation to R as well.
import type { RestClient } from "../../kube/rest.js";
import { RESOURCES, collectionPath, objectPath, type KubeObject } from "../../kube/resources.js";
import { KubeError } from "../../kube/errors.js";
import { FIELD_MANAGER } from "../../kube/patch.js";

const LABEL_REV = "istio.io/rev";
const LABEL_TAG = "istio.io/tag";

interface WebhookLike {
  name: string;
  clientConfig?: {
    service?: { name: string; namespace: string; path?: string; port?: number };
    url?: string;
    caBundle?: string;
  };
  [field: string]: unknown;
}

async function listWebhookConfigurations(rest: RestClient, selector: string, kind: "mutating" | "validating") {
  const r = kind === "mutating" ? RESOURCES.mutatingWebhookConfigurations : RESOURCES.validatingWebhookConfigurations;
  const list = await rest.requestJson<{ items: KubeObject[] }>({
    path: collectionPath(r),
    query: { labelSelector: selector },
  });
  return list.items;
}

async function put(rest: RestClient, path: string, body: KubeObject): Promise<KubeObject> {
  return rest.requestJson<KubeObject>({ method: "PUT", path, query: { fieldManager: FIELD_MANAGER }, body });
}

/**
 * Points `tag` at `revision`. Idempotent; every object is replaced with its resourceVersion, so a
 * concurrent change fails with 409 and the engine decides again.
 */
export async function moveRevisionTag(rest: RestClient, tag: string, revision: string): Promise<void> {
  const injectors = (
    await listWebhookConfigurations(rest, `${LABEL_REV}=${revision},!${LABEL_TAG}`, "mutating")
  ).filter((m) => (m.webhooks as WebhookLike[] | undefined)?.some((w) => w.clientConfig));
  if (injectors.length !== 1) {
    throw new Error(
      `cannot move tag ${tag} to ${revision}: expected exactly one injector MutatingWebhookConfiguration labelled ${LABEL_REV}=${revision} (and no ${LABEL_TAG}), found ${injectors.length}`,
    );
  }
  const source = (injectors[0].webhooks as WebhookLike[])[0].clientConfig!;
  // the tag's Service (1.28+) follows the revision's istiod pods
  const services = await rest.requestJson<{ items: KubeObject[] }>({
    path: `/api/v1/services`,
    query: { labelSelector: `${LABEL_TAG}=${tag}` },
  });
  for (const svc of services.items) {
    const next: KubeObject = structuredClone(svc);
    next.metadata.labels = { ...next.metadata.labels, [LABEL_REV]: revision };
    next.spec = {
      ...next.spec,
      selector: revision === "default" ? { app: "istiod", istio: "pilot" } : { app: "istiod", [LABEL_REV]: revision },
    };
    if (JSON.stringify(next) !== JSON.stringify(svc))
      await put(rest, objectPath(RESOURCES.services, svc.metadata.name!, svc.metadata.namespace), next);
  }
  if (tag === "default") {
    const validators = await listWebhookConfigurations(rest, `${LABEL_TAG}=default`, "validating").catch(
      (err: unknown) => {
        if (err instanceof KubeError && err.code === 404) return [];
        throw err;
      },
    );
    for (const vwc of validators) {
      const next: KubeObject = structuredClone(vwc);
      next.metadata.labels = { ...next.metadata.labels, [LABEL_REV]: revision };
      next.webhooks = (vwc.webhooks as WebhookLike[]).map((w) => ({
        ...w,
        clientConfig: {
          ...w.clientConfig,
          ...(source.service
            ? { service: { ...source.service, path: w.clientConfig?.service?.path ?? "/validate" } }
            : {}),
        },
      }));
      if (JSON.stringify(next) !== JSON.stringify(vwc))
        await put(rest, objectPath(RESOURCES.validatingWebhookConfigurations, vwc.metadata.name!), next);
    }
  }
  // the webhook last: decide() judges a tag moved by its webhook, so an interrupted move is sent again whole
  const tagConfigs = await listWebhookConfigurations(rest, `${LABEL_TAG}=${tag}`, "mutating");
  if (tagConfigs.length === 0)
    throw new Error(`cannot move tag ${tag}: no MutatingWebhookConfiguration labelled ${LABEL_TAG}=${tag}`);
  for (const mwc of tagConfigs) {
    const next: KubeObject = structuredClone(mwc);
    next.metadata.labels = { ...next.metadata.labels, [LABEL_REV]: revision };
    next.webhooks = (mwc.webhooks as WebhookLike[]).map((w) => ({
      ...w,
      clientConfig: {
        ...(source.url ? { url: source.url } : {}),
        ...(source.service ? { service: { ...source.service } } : {}),
        ...(source.caBundle ? { caBundle: source.caBundle } : {}),
      },
    }));
    if (JSON.stringify(next) !== JSON.stringify(mwc))
      await put(rest, objectPath(RESOURCES.mutatingWebhookConfigurations, mwc.metadata.name!), next);
  }
}
