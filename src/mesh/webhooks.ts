// Istio injection webhooks, read from the live MutatingWebhookConfigurations and evaluated the way
// the API server and istiod would (istio-facts §1.3). Nothing here hard-codes the precedence: it
// falls out of each webhook's namespaceSelector/objectSelector, so a deleted tag or revision
// yields "no sidecar" exactly as in the cluster.
import type {
  AdmissionWebhookLike,
  Labels,
  LabelSelectorLike,
  ServiceLike,
  WebhookConfigurationLike,
} from "./kube-types.js";
import type { InjectorConfig } from "./injector.js";
import type { InjectionDecision, InjectionWebhook, WebhookConflict } from "./schema.js";
import { selectorKeys, selectorMatches, selectorsIntersect } from "./selectors.js";

export const LABEL_REV = "istio.io/rev";
export const LABEL_TAG = "istio.io/tag";
export const LABEL_INJECTION = "istio-injection";
export const LABEL_SIDECAR_INJECT = "sidecar.istio.io/inject";
export const LABEL_DATAPLANE_MODE = "istio.io/dataplane-mode";
const LABEL_DEACTIVATED = "istio.io/deactivated";
const LABEL_NAMESPACE_NAME = "kubernetes.io/metadata.name";
const TAG_MWC_PREFIX = "istio-revision-tag-";

/** injectRequired skips these namespaces even after a webhook fired (pkg/kube/inject). */
export const IGNORED_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "local-path-storage"]);

function roleOf(webhookName: string): InjectionWebhook["role"] {
  for (const role of ["rev.namespace", "rev.object", "namespace", "object", "auto"] as const) {
    if (webhookName === `${role}.sidecar-injector.istio.io`) return role;
  }
  return "other";
}

function isIstioInjector(mwc: WebhookConfigurationLike): boolean {
  if (mwc.metadata?.labels?.app === "sidecar-injector") return true;
  return (mwc.webhooks ?? []).some((w) => w.name.endsWith("sidecar-injector.istio.io"));
}

function deactivated(w: AdmissionWebhookLike): boolean {
  // `istioctl tag set default` rewrites the old default webhook's selectors to never match
  return (
    w.namespaceSelector?.matchLabels?.[LABEL_DEACTIVATED] === "never-match" ||
    w.objectSelector?.matchLabels?.[LABEL_DEACTIVATED] === "never-match"
  );
}

function targetsPodCreate(w: AdmissionWebhookLike): boolean {
  if (!w.rules || w.rules.length === 0) return true;
  return w.rules.some(
    (r) =>
      (r.resources ?? []).some((res) => res === "pods" || res === "*") &&
      (r.operations ?? []).some((op) => op === "CREATE" || op === "*") &&
      (r.apiGroups ?? [""]).some((g) => g === "" || g === "*"),
  );
}

/** Revision behind a webhook: the MWC's istio.io/rev label, else the istiod Service it calls. */
function revisionOf(mwc: WebhookConfigurationLike, w: AdmissionWebhookLike): string | null {
  const label = mwc.metadata?.labels?.[LABEL_REV];
  if (label) return label;
  const service = w.clientConfig.service?.name;
  if (service === "istiod") return "default";
  if (service?.startsWith("istiod-") && !service.startsWith("istiod-revision-tag-"))
    return service.slice("istiod-".length);
  return null;
}

function tagOf(mwc: WebhookConfigurationLike): string | null {
  const label = mwc.metadata?.labels?.[LABEL_TAG];
  if (label) return label;
  const name = mwc.metadata?.name ?? "";
  // outside istio-system the name carries a -<ns> suffix, which the label avoids guessing at
  return name.startsWith(TAG_MWC_PREFIX) ? name.slice(TAG_MWC_PREFIX.length) : null;
}

interface ActiveWebhook {
  view: InjectionWebhook;
  namespaceSelector?: LabelSelectorLike;
  objectSelector?: LabelSelectorLike;
}

export interface PodInjectionSubject {
  labels: Labels;
  annotations: Labels;
  hostNetwork: boolean;
}

/** Webhooks, tags and conflicts of a mesh, plus an evaluator for "what would a new pod get". */
export interface InjectionModel {
  webhooks: InjectionWebhook[];
  conflicts: WebhookConflict[];
  tags: Map<string, { revision: string | null; configurations: string[] }>;
  evaluate(namespace: string, namespaceLabels: Labels, pod: PodInjectionSubject): InjectionDecision;
  /** whether two pods in one namespace get the same decision (they agree on every input the webhooks and istiod read) */
  sameDecision(a: PodInjectionSubject, b: PodInjectionSubject): boolean;
}

const TRUE_VALUES = new Set(["y", "yes", "true", "on"]);

/**
 * istiod's injectRequired after a webhook fired: hostNetwork and system namespaces are skipped;
 * the sidecar.istio.io/inject label beats the annotation; never/alwaysInjectSelector; then policy.
 */
function injectRequired(
  namespace: string,
  pod: PodInjectionSubject,
  config: InjectorConfig | undefined,
): { required: boolean; outcome: InjectionDecision["outcome"]; reason?: string } {
  if (pod.hostNetwork)
    return { required: false, outcome: "host-network", reason: "hostNetwork pods are never injected" };
  if (IGNORED_NAMESPACES.has(namespace))
    return { required: false, outcome: "system-namespace", reason: `istiod never injects into ${namespace}` };
  let objectSelector = pod.annotations[LABEL_SIDECAR_INJECT] ?? "";
  if (Object.hasOwn(pod.labels, LABEL_SIDECAR_INJECT)) objectSelector = pod.labels[LABEL_SIDECAR_INJECT];
  let useDefault = false;
  let inject = false;
  const value = objectSelector.toLowerCase();
  if (TRUE_VALUES.has(value)) inject = true;
  else if (value === "") useDefault = true;
  if (useDefault && config?.neverInjectSelector.some((s) => selectorMatches(s, pod.labels))) {
    inject = false;
    useDefault = false;
  }
  if (useDefault && config?.alwaysInjectSelector.some((s) => selectorMatches(s, pod.labels))) {
    inject = true;
    useDefault = false;
  }
  const policy = config?.policy ?? "enabled";
  const required =
    policy === "enabled" ? (useDefault ? true : inject) : policy === "disabled" ? (useDefault ? false : inject) : false;
  if (required) return { required, outcome: "injected" };
  const why =
    !useDefault && !inject
      ? `sidecar.istio.io/inject="${objectSelector || "neverInjectSelector"}"`
      : `injection policy "${policy}"`;
  return { required, outcome: "policy-skip", reason: `webhook fired but istiod skips the pod (${why})` };
}

function describeMatch(
  role: InjectionWebhook["role"],
  rev: string,
  tag: string | null,
  nsLabels: Labels,
  podLabels: Labels,
): string {
  const target = tag ? `tag ${tag} → revision ${rev}` : `revision ${rev}`;
  switch (role) {
    case "rev.namespace":
      return `namespace label istio.io/rev=${nsLabels[LABEL_REV]} selects ${target}; pod istio.io/rev labels are ignored`;
    case "rev.object":
      return `pod label istio.io/rev=${podLabels[LABEL_REV]} (namespace has no injection label) selects ${target}`;
    case "namespace":
      return `namespace istio-injection=enabled selects the default ${target}${nsLabels[LABEL_REV] !== undefined ? ` (istio-injection beats istio.io/rev=${nsLabels[LABEL_REV]})` : ""}`;
    case "object":
      return `pod label sidecar.istio.io/inject=true in an unlabeled namespace selects the default ${target}`;
    case "auto":
      return `enableNamespacesByDefault injects unlabeled namespaces with ${target}`;
    default:
      return `webhook selects ${target}`;
  }
}

function describeNoMatch(
  nsLabels: Labels,
  podLabels: Labels,
  tags: Map<string, unknown>,
  knownRevisions: Set<string>,
): { outcome: InjectionDecision["outcome"]; reason: string } {
  if (podLabels[LABEL_SIDECAR_INJECT] === "false")
    return { outcome: "opted-out", reason: "pod label sidecar.istio.io/inject=false excludes it from every webhook" };
  const injection = nsLabels[LABEL_INJECTION];
  if (injection === "disabled")
    return { outcome: "not-selected", reason: "namespace istio-injection=disabled (beats any istio.io/rev label)" };
  if (injection !== undefined && injection !== "enabled")
    return {
      outcome: "not-selected",
      reason: `namespace istio-injection=${injection} matches no webhook and blocks istio.io/rev`,
    };
  if (injection === "enabled")
    return {
      outcome: "not-selected",
      reason: "namespace istio-injection=enabled but no default injector webhook exists",
    };
  const missing = (name: string) => !tags.has(name) && !knownRevisions.has(name);
  const nsRev = nsLabels[LABEL_REV];
  if (nsRev !== undefined) {
    return {
      outcome: "not-selected",
      reason: missing(nsRev)
        ? `namespace istio.io/rev=${nsRev} names no installed revision or tag: no sidecar`
        : `no webhook serves namespace istio.io/rev=${nsRev}`,
    };
  }
  const podRev = podLabels[LABEL_REV];
  if (podRev !== undefined) {
    return {
      outcome: "not-selected",
      reason: missing(podRev)
        ? `pod istio.io/rev=${podRev} names no installed revision or tag: no sidecar`
        : `no webhook serves pod istio.io/rev=${podRev}`,
    };
  }
  if (podLabels[LABEL_SIDECAR_INJECT] === "true")
    return { outcome: "not-selected", reason: "pod asks for injection but no default injector webhook exists" };
  return { outcome: "not-selected", reason: "no injection label on the namespace or the pod" };
}

export function buildInjectionModel(
  configurations: WebhookConfigurationLike[],
  injectors: Map<string, InjectorConfig>,
  services: ServiceLike[],
  installedRevisions: Set<string>,
): InjectionModel {
  const serviceKeys = new Set(services.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`));
  const webhooks: InjectionWebhook[] = [];
  const active: ActiveWebhook[] = [];
  const tags = new Map<string, { revision: string | null; configurations: string[] }>();
  const conflicts: WebhookConflict[] = [];

  for (const mwc of configurations) {
    if (!isIstioInjector(mwc)) continue;
    const configuration = mwc.metadata?.name ?? "";
    const tag = tagOf(mwc);
    for (const w of mwc.webhooks ?? []) {
      const service = w.clientConfig.service
        ? { namespace: w.clientConfig.service.namespace, name: w.clientConfig.service.name }
        : null;
      const view: InjectionWebhook = {
        configuration,
        name: w.name,
        role: roleOf(w.name),
        revision: revisionOf(mwc, w),
        tag,
        service,
        url: w.clientConfig.url ?? null,
        serviceExists: service ? serviceKeys.has(`${service.namespace}/${service.name}`) : null,
        deactivated: deactivated(w),
        failurePolicy: w.failurePolicy ?? "Fail",
      };
      webhooks.push(view);
      if (!view.deactivated && targetsPodCreate(w))
        active.push({ view, namespaceSelector: w.namespaceSelector, objectSelector: w.objectSelector });
    }
    if (tag !== null && (mwc.webhooks ?? []).some((w) => !deactivated(w))) {
      const entry = tags.get(tag) ?? { revision: null, configurations: [] };
      const rev = mwc.metadata?.labels?.[LABEL_REV] ?? (mwc.webhooks?.[0] ? revisionOf(mwc, mwc.webhooks[0]) : null);
      entry.configurations.push(configuration);
      if (entry.revision !== null && rev !== entry.revision) entry.revision = `${entry.revision},${rev}`;
      else entry.revision = rev;
      tags.set(tag, entry);
    }
  }

  for (const [tag, entry] of tags) {
    if (entry.configurations.length > 1) {
      conflicts.push({
        kind: "duplicate-tag",
        webhooks: entry.configurations,
        message: `tag ${tag} is defined by ${entry.configurations.length} webhook configurations (${entry.configurations.join(", ")}); pods it selects are injected more than once`,
      });
    }
  }

  // Two webhooks overlap when some namespace and some pod satisfy both (IST0139).
  for (let i = 0; i < active.length; i++) {
    for (let j = i + 1; j < active.length; j++) {
      const a = active[i];
      const b = active[j];
      if (
        selectorsIntersect(a.namespaceSelector, b.namespaceSelector) &&
        selectorsIntersect(a.objectSelector, b.objectSelector)
      ) {
        const names = [`${a.view.configuration}/${a.view.name}`, `${b.view.configuration}/${b.view.name}`];
        conflicts.push({
          kind: "overlap",
          webhooks: names,
          message: `webhooks ${names.join(" and ")} can both match the same pod, which would be injected twice`,
        });
      }
    }
  }
  for (const a of active) {
    if (a.view.serviceExists === false) {
      conflicts.push({
        kind: "missing-service",
        webhooks: [`${a.view.configuration}/${a.view.name}`],
        message: `webhook ${a.view.configuration}/${a.view.name} calls Service ${a.view.service!.namespace}/${a.view.service!.name}, which does not exist; matching pods ${a.view.failurePolicy === "Ignore" ? "start without a sidecar" : "cannot be created"}`,
      });
    }
  }

  const nsKeys = [...new Set(active.flatMap((a) => selectorKeys(a.namespaceSelector)))];
  const podKeys = [...new Set(active.flatMap((a) => selectorKeys(a.objectSelector)))];
  const memo = new Map<string, InjectionDecision>();
  const injectorsHaveSelectors = [...injectors.values()].some(
    (c) => c.neverInjectSelector.length > 0 || c.alwaysInjectSelector.length > 0,
  );

  function sameDecision(a: PodInjectionSubject, b: PodInjectionSubject): boolean {
    if (injectorsHaveSelectors || a.hostNetwork !== b.hostNetwork) return false;
    if (
      a.labels[LABEL_SIDECAR_INJECT] !== b.labels[LABEL_SIDECAR_INJECT] ||
      a.annotations[LABEL_SIDECAR_INJECT] !== b.annotations[LABEL_SIDECAR_INJECT]
    )
      return false;
    for (const k of podKeys) if (a.labels[k] !== b.labels[k]) return false;
    return true;
  }

  function evaluate(namespace: string, namespaceLabels: Labels, pod: PodInjectionSubject): InjectionDecision {
    const key = [
      namespace,
      ...nsKeys.map((k) => namespaceLabels[k] ?? "\u0000"),
      ...podKeys.map((k) => pod.labels[k] ?? "\u0000"),
      pod.labels[LABEL_SIDECAR_INJECT] ?? "\u0000",
      pod.annotations[LABEL_SIDECAR_INJECT] ?? "\u0000",
      pod.hostNetwork ? "h" : "",
      // never/alwaysInjectSelector may look at any pod label
      injectorsHaveSelectors ? JSON.stringify(pod.labels) : "",
    ].join("\u0001");
    let decision = memo.get(key);
    if (!decision) {
      decision = evaluateUncached(namespace, namespaceLabels, pod);
      memo.set(key, decision);
    }
    return decision;
  }

  function evaluateUncached(namespace: string, namespaceLabels: Labels, pod: PodInjectionSubject): InjectionDecision {
    // the API server labels every namespace with its own name (since 1.21)
    const nsLabels = Object.hasOwn(namespaceLabels, LABEL_NAMESPACE_NAME)
      ? namespaceLabels
      : { ...namespaceLabels, [LABEL_NAMESPACE_NAME]: namespace };
    const matched = active.filter(
      (a) => selectorMatches(a.namespaceSelector, nsLabels) && selectorMatches(a.objectSelector, pod.labels),
    );
    const webhookNames = matched.map((m) => `${m.view.configuration}/${m.view.name}`);
    if (matched.length === 0) {
      const none = describeNoMatch(nsLabels, pod.labels, tags, installedRevisions);
      return { revision: null, tag: null, outcome: none.outcome, webhooks: [], reason: none.reason };
    }
    const first = matched[0].view;
    if (matched.length > 1) {
      return {
        revision: first.revision,
        tag: first.tag,
        outcome: "double-injection",
        webhooks: webhookNames,
        reason: `${matched.length} webhooks match (${webhookNames.join(", ")}): the pod would be injected twice and fail to start (IST0139)`,
      };
    }
    if (first.serviceExists === false) {
      return {
        revision: null,
        tag: first.tag,
        outcome: "webhook-unavailable",
        webhooks: webhookNames,
        reason: `webhook ${webhookNames[0]} calls missing Service ${first.service!.namespace}/${first.service!.name}: ${first.failurePolicy === "Ignore" ? "the pod starts without a sidecar" : "pod creation is refused (failurePolicy Fail)"}`,
      };
    }
    const rev = first.revision ?? "unknown";
    const policy = injectRequired(namespace, pod, injectors.get(rev));
    const via = describeMatch(first.role, rev, first.tag, nsLabels, pod.labels);
    if (!policy.required)
      return {
        revision: null,
        tag: first.tag,
        outcome: policy.outcome,
        webhooks: webhookNames,
        reason: `${via}, but ${policy.reason}`,
      };
    return { revision: first.revision, tag: first.tag, outcome: "injected", webhooks: webhookNames, reason: via };
  }

  return { webhooks, conflicts, tags, evaluate, sameDecision };
}
