// "The revision's istiod is Ready and its injector answers", from what the API server shows: the istiod Deployment
// rolled out and available, its Service backed by ready endpoints, and the revision's injector webhook calling that
// Service. The same test for every install mode (Adopt, Manifests, Sail), since each ends in these objects.
import { toKubeError } from "../../kube/errors.js";
import { listAll } from "../../kube/list.js";
import type { RestClient } from "../../kube/rest.js";
import { RESOURCES, objectPath, type KubeObject, type ResourceRef } from "../../kube/resources.js";
import { LABEL_REV, LABEL_TAG, injectorWebhookName, istiodName, revisionLabel } from "./revision-names.js";

export interface RevisionReadiness {
  ready: boolean;
  /** one sentence per unmet condition; empty when ready */
  reasons: string[];
}

const ENDPOINT_SLICES: ResourceRef = {
  group: "discovery.k8s.io",
  version: "v1",
  plural: "endpointslices",
  kind: "EndpointSlice",
  namespaced: true,
};
const ENDPOINTS: ResourceRef = { group: "", version: "v1", plural: "endpoints", kind: "Endpoints", namespaced: true };

async function getOrUndefined(
  rest: RestClient,
  resource: ResourceRef,
  name: string,
  namespace: string | undefined,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  try {
    return await rest.requestJson<KubeObject>({ path: objectPath(resource, name, namespace), signal });
  } catch (err) {
    const error = toKubeError(err);
    if (error.code === 404) return undefined;
    throw error;
  }
}

/** What keeps a Deployment from being rolled out and available, as `kubectl rollout status` judges it. */
export function deploymentProblems(d: KubeObject): string[] {
  const at = `Deployment ${d.metadata.namespace}/${d.metadata.name}`;
  const generation = d.metadata.generation as number | undefined;
  const status = d.status ?? {};
  if (generation !== undefined && (status.observedGeneration ?? 0) < generation)
    return [`${at}: its controller has not yet observed generation ${generation} (the latest spec)`];
  const desired: number = d.spec?.replicas ?? 1;
  if (desired === 0) return [`${at} is scaled to zero replicas — scale it up`];
  const problems: string[] = [];
  const updated: number = status.updatedReplicas ?? 0;
  const ready: number = status.readyReplicas ?? 0;
  const available: number = status.availableReplicas ?? 0;
  const total: number = status.replicas ?? 0;
  if (updated < desired) problems.push(`${at}: ${updated} of ${desired} replicas run the latest template`);
  if (total > updated) problems.push(`${at}: ${total - updated} replica(s) of the previous template still run`);
  if (ready < desired) problems.push(`${at}: ${ready} of ${desired} replicas are ready`);
  else if (available < desired) problems.push(`${at}: ${available} of ${desired} replicas are available`);
  return problems;
}

/** Ready addresses behind a Service: EndpointSlices (a nil `ready` counts as ready), else the Endpoints object. */
async function readyEndpoints(rest: RestClient, service: string, namespace: string, signal?: AbortSignal) {
  let slices: KubeObject[] = [];
  try {
    slices = (
      await listAll(rest, ENDPOINT_SLICES, {
        namespace,
        labelSelector: `kubernetes.io/service-name=${service}`,
        signal,
      })
    ).items;
  } catch (err) {
    if (toKubeError(err).code !== 404) throw err;
  }
  let ready = 0;
  for (const slice of slices)
    for (const e of (slice.endpoints ?? []) as { conditions?: { ready?: boolean } }[])
      if (e.conditions?.ready !== false) ready++;
  if (slices.length) return ready;
  const endpoints = await getOrUndefined(rest, ENDPOINTS, service, namespace, signal);
  for (const subset of (endpoints?.subsets ?? []) as { addresses?: unknown[] }[])
    ready += subset.addresses?.length ?? 0;
  return ready;
}

/** The revision's own injector MWC: labelled istio.io/rev=R and not a tag (as `istioctl tag set` finds it), else by name. */
async function injectorWebhook(
  rest: RestClient,
  revision: string,
  istioNamespace: string,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  const { items } = await listAll(rest, RESOURCES.mutatingWebhookConfigurations, {
    labelSelector: `${LABEL_REV}=${revisionLabel(revision)},!${LABEL_TAG}`,
    signal,
  });
  const byName = injectorWebhookName(revision, istioNamespace);
  return items.find((m) => m.metadata.name === byName) ?? items[0];
}

function webhookProblems(mwc: KubeObject, service: string, istioNamespace: string): string[] {
  const at = `MutatingWebhookConfiguration ${mwc.metadata.name}`;
  const hooks = (mwc.webhooks ?? []) as {
    name: string;
    clientConfig?: { service?: { name?: string; namespace?: string }; url?: string };
  }[];
  if (!hooks.length) return [`${at} has no webhooks`];
  const problems: string[] = [];
  for (const h of hooks) {
    const s = h.clientConfig?.service;
    if (s?.name === service && s.namespace === istioNamespace) continue;
    const calls = s
      ? `Service ${s.namespace}/${s.name}`
      : h.clientConfig?.url
        ? `URL ${h.clientConfig.url}`
        : "nothing";
    problems.push(`${at}: webhook ${h.name} calls ${calls}, not Service ${istioNamespace}/${service}`);
  }
  return problems;
}

/**
 * Whether revision `revision` in `istioNamespace` serves: istiod Deployment rolled out (observedGeneration current,
 * updated = ready = desired > 0), its Service with ready endpoints, and the injector webhook calling that Service.
 */
export async function revisionReadiness(
  rest: RestClient,
  revision: string,
  options: { istioNamespace: string; signal?: AbortSignal },
): Promise<RevisionReadiness> {
  const { istioNamespace: ns, signal } = options;
  const name = istiodName(revision);
  const [deployment, service, endpoints, mwc] = await Promise.all([
    getOrUndefined(rest, RESOURCES.deployments, name, ns, signal),
    getOrUndefined(rest, RESOURCES.services, name, ns, signal),
    readyEndpoints(rest, name, ns, signal),
    injectorWebhook(rest, revision, ns, signal),
  ]);
  const reasons: string[] = [];
  if (!deployment)
    reasons.push(`Deployment ${ns}/${name} not found: revision ${revisionLabel(revision)} is not installed (yet)`);
  else reasons.push(...deploymentProblems(deployment));
  if (!service) reasons.push(`Service ${ns}/${name} not found: nothing can reach the revision's istiod`);
  else if (endpoints === 0)
    reasons.push(`Service ${ns}/${name} has no ready endpoints: no istiod pod behind it is Ready yet`);
  if (!mwc)
    reasons.push(
      `no injector MutatingWebhookConfiguration for revision ${revisionLabel(revision)} (expected ${injectorWebhookName(revision, ns)}, labelled ${LABEL_REV}=${revisionLabel(revision)}): pods cannot be injected by it`,
    );
  else reasons.push(...webhookProblems(mwc, name, ns));
  return { ready: reasons.length === 0, reasons };
}
