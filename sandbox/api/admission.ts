// Mutating admission webhooks, evaluated the way kube-apiserver's dispatcher does
// (k8s.io/apiserver/pkg/admission/plugin/webhook): configurations sorted by name, each webhook matched by
// rules, namespaceSelector and objectSelector, then called; its failurePolicy decides what a failed call means.
// Independent of Istio: the "call" is a WebhookBackend the caller resolves from the clientConfig.
import { matchRequirements, requirementsFromLabelSelector } from "./selectors.js";
import { ApiError, type ClusterStore, type KObject } from "./types.js";

export interface AdmissionRequest {
  /** group/resource key, e.g. "/pods" */
  key: string;
  operation: "CREATE" | "UPDATE" | "DELETE";
  object: KObject;
  oldObject?: KObject;
  /** the Namespace object of a namespaced request */
  namespace?: KObject;
  dryRun: boolean;
  /** e.g. "status" for writes to a subresource; absent for the main resource */
  subresource?: string;
}

/** Returns the (possibly mutated) object; throws ApiError to reject the request. */
export type AdmissionPlugin = (req: AdmissionRequest) => KObject;

export interface AdmissionReview {
  object: KObject;
  oldObject?: KObject;
  namespace?: KObject;
  operation: string;
  dryRun: boolean;
}

/** A webhook's handler. The review's objects are the request's own: a backend returns a new object to mutate, never changes them. */
export type WebhookBackend = (
  review: AdmissionReview,
) => { allowed: true; object?: KObject } | { allowed: false; message: string; code?: number };

export type WebhookResolver = (
  clientConfig: any,
  webhook: any,
  configuration: KObject,
) => WebhookBackend | { unavailable: string };

/** A metav1.LabelSelector object; an absent selector matches everything for webhooks (apiserver default `{}`). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const MWC_KEY = "admissionregistration.k8s.io/mutatingwebhookconfigurations";
const CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions";

// Admission webhooks never intercept the admission configuration objects themselves, so a broken webhook
// cannot lock the cluster out of fixing it (admission/plugin/webhook/predicates/rules).
const NEVER_INTERCEPTED = new Set([
  MWC_KEY,
  "admissionregistration.k8s.io/validatingwebhookconfigurations",
  "admissionregistration.k8s.io/validatingadmissionpolicies",
  "admissionregistration.k8s.io/validatingadmissionpolicybindings",
  "admissionregistration.k8s.io/mutatingadmissionpolicies",
  "admissionregistration.k8s.io/mutatingadmissionpolicybindings",
]);

/** metav1.LabelSelector against a label map: matchLabels AND every matchExpression. */
export function labelSelectorMatches(
  selector: LabelSelector | undefined | null,
  labels: Record<string, string> | undefined,
): boolean {
  for (const e of selector?.matchExpressions ?? []) {
    const n = e.values?.length ?? 0;
    if ((e.operator === "In" || e.operator === "NotIn") && n === 0)
      throw new Error(`label selector: operator ${e.operator} on key "${e.key}" needs at least one value`);
    if ((e.operator === "Exists" || e.operator === "DoesNotExist") && n > 0)
      throw new Error(`label selector: operator ${e.operator} on key "${e.key}" takes no values`);
    if (!["In", "NotIn", "Exists", "DoesNotExist"].includes(e.operator))
      throw new Error(`label selector: "${e.operator}" is not a valid operator`);
  }
  return matchRequirements(requirementsFromLabelSelector(selector), labels);
}

function ruleListMatches(list: string[] | undefined, value: string): boolean {
  return !!list && (list.includes("*") || list.includes(value));
}

// Resources in a rule: "pods" (main resource only), "pods/status", "pods/*", "*" (all main resources), "*/status", "*/*".
function resourceMatches(resources: string[] | undefined, plural: string, subresource: string | undefined): boolean {
  const want = subresource ? `${plural}/${subresource}` : plural;
  for (const r of resources ?? []) {
    if (r === "*/*" || r === want) return true;
    const [res, sub] = r.split("/");
    if (sub === undefined) {
      if (res === "*" && !subresource) return true;
    } else if ((res === "*" || res === plural) && (sub === "*" ? !!subresource : sub === subresource)) return true;
  }
  return false;
}

interface RequestFacts {
  group: string;
  plural: string;
  /** versions the request's resource is served in (matchPolicy Equivalent) and the request version (Exact) */
  versions: string[];
  requestVersion: string;
  namespaced: boolean;
}

function ruleMatches(
  rule: any,
  op: string,
  facts: RequestFacts,
  subresource: string | undefined,
  matchPolicy: string,
): boolean {
  if (!ruleListMatches(rule.operations, op)) return false;
  if (!ruleListMatches(rule.apiGroups, facts.group)) return false;
  const versions = matchPolicy === "Exact" ? [facts.requestVersion] : facts.versions;
  if (!versions.some((v) => ruleListMatches(rule.apiVersions, v))) return false;
  if (!resourceMatches(rule.resources, facts.plural, subresource)) return false;
  const scope = rule.scope ?? "*";
  if (scope === "Cluster" && facts.namespaced) return false;
  if (scope === "Namespaced" && !facts.namespaced) return false;
  return true;
}

function requestFacts(store: ClusterStore, req: AdmissionRequest): RequestFacts {
  const [group, plural] = req.key.split("/");
  let versions = [req.object.apiVersion?.split("/").pop() ?? "v1"];
  let namespaced = !!req.object.metadata.namespace;
  try {
    const t = store.type(req.key);
    versions = t.versions.length ? t.versions : [t.version];
    namespaced = t.namespaced;
  } catch {
    // unknown to the store: fall back to what the object says
  }
  const requestVersion = req.object.apiVersion?.split("/").pop() ?? versions[0];
  return { group, plural, versions, requestVersion, namespaced };
}

// namespaceSelector runs against the namespace's labels; for a Namespace object against its own labels;
// cluster-scoped objects always match. kubernetes.io/metadata.name is guaranteed by the apiserver (1.21+).
function namespaceSelectorMatches(webhook: any, req: AdmissionRequest, facts: RequestFacts): boolean {
  if (req.key === "/namespaces") return labelSelectorMatches(webhook.namespaceSelector, req.object.metadata.labels);
  if (!facts.namespaced) return true;
  const name = req.object.metadata.namespace ?? req.oldObject?.metadata.namespace ?? "";
  const labels = { ...(req.namespace?.metadata.labels ?? {}), "kubernetes.io/metadata.name": name };
  return labelSelectorMatches(webhook.namespaceSelector, labels);
}

// objectSelector matches when either the new or the old object matches (admission/plugin/webhook/predicates/object).
function objectSelectorMatches(webhook: any, req: AdmissionRequest): boolean {
  if (req.operation !== "DELETE" && labelSelectorMatches(webhook.objectSelector, req.object.metadata.labels))
    return true;
  return !!req.oldObject && labelSelectorMatches(webhook.objectSelector, req.oldObject.metadata.labels);
}

/** The URL the apiserver posts to, as it appears in its error messages. */
export function webhookURL(clientConfig: any, timeoutSeconds: number): string {
  if (clientConfig?.url)
    return `${clientConfig.url}${String(clientConfig.url).includes("?") ? "&" : "?"}timeout=${timeoutSeconds}s`;
  const s = clientConfig?.service ?? {};
  return `https://${s.name}.${s.namespace}.svc:${s.port ?? 443}${s.path ?? ""}?timeout=${timeoutSeconds}s`;
}

function callFailed(webhookName: string, url: string, cause: string): ApiError {
  const inner = `failed calling webhook "${webhookName}": failed to call webhook: Post "${url}": ${cause}`;
  return new ApiError(500, "InternalError", `Internal error occurred: ${inner}`, { causes: [{ message: inner }] });
}

// webhookerrors.ToStatusErr: a denial is at least a 400 and says which webhook denied it.
function denied(webhookName: string, message: string, code: number | undefined): ApiError {
  const prefix = `admission webhook "${webhookName}" denied the request`;
  return new ApiError(
    Math.max(code ?? 400, 400),
    "",
    message ? `${prefix}: ${message}` : `${prefix} without explanation`,
  );
}

/** Mutating webhook admission over every MutatingWebhookConfiguration in the store. */
export function mutatingWebhookAdmission(store: ClusterStore, resolveBackend: WebhookResolver): AdmissionPlugin {
  // Which webhooks a kind of request matches by their rules depends only on the configurations and the served
  // types: it is worked out once per kind of request and kept while neither changes (a store that tells when
  // objects of a key last changed). Never stale: any write of a configuration or a CRD moves those clocks.
  const changeClock = (store as { lastChange?: (key: string) => number }).lastChange?.bind(store);
  type Candidate = { configuration: KObject; webhook: any };
  let cache: { at: string; byRequest: Map<string, Candidate[]> } | undefined;
  const candidates = (req: AdmissionRequest): Candidate[] => {
    const at = changeClock ? `${changeClock(MWC_KEY)}/${changeClock(CRD_KEY)}` : undefined;
    if (at === undefined || cache?.at !== at) cache = { at: at ?? "", byRequest: new Map() };
    const requestKind = `${req.key}\u0000${req.operation}\u0000${req.subresource ?? ""}\u0000${req.object.apiVersion ?? ""}`;
    let list = at === undefined ? undefined : cache.byRequest.get(requestKind);
    if (list) return list;
    // the apiserver sorts configurations by name and runs webhooks in their listed order
    const configurations = [...store.list(MWC_KEY)].sort((a, b) =>
      a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0,
    );
    const facts = requestFacts(store, req);
    list = [];
    for (const configuration of configurations)
      for (const webhook of configuration.webhooks ?? [])
        if (
          (webhook.rules ?? []).some((r: any) =>
            ruleMatches(r, req.operation, facts, req.subresource, webhook.matchPolicy ?? "Equivalent"),
          )
        )
          list.push({ configuration, webhook });
    if (at !== undefined) cache.byRequest.set(requestKind, list);
    return list;
  };
  return (req) => {
    if (NEVER_INTERCEPTED.has(req.key)) return req.object;
    let matched: Candidate[];
    try {
      matched = candidates(req);
    } catch {
      return req.object; // the resource is not served: no webhooks can exist
    }
    if (matched.length === 0) return req.object;
    const facts = requestFacts(store, req);
    let object = req.object;
    for (const { configuration, webhook } of matched) {
      const current: AdmissionRequest = { ...req, object };
      if (!namespaceSelectorMatches(webhook, current, facts)) continue;
      if (!objectSelectorMatches(webhook, current)) continue;
      const sideEffects = webhook.sideEffects ?? "Unknown";
      if (req.dryRun && sideEffects !== "None" && sideEffects !== "NoneOnDryRun")
        throw new ApiError(400, "BadRequest", `admission webhook "${webhook.name}" does not support dry run`);
      const failClosed = (webhook.failurePolicy ?? "Fail") !== "Ignore";
      const url = webhookURL(webhook.clientConfig, webhook.timeoutSeconds ?? 10);
      const backend = resolveBackend(webhook.clientConfig, webhook, configuration);
      if (typeof backend !== "function") {
        if (failClosed) throw callFailed(webhook.name, url, backend.unavailable);
        continue;
      }
      let response: ReturnType<WebhookBackend>;
      try {
        response = backend({
          object,
          oldObject: req.oldObject,
          namespace: req.namespace,
          operation: req.operation,
          dryRun: req.dryRun,
        });
      } catch (err) {
        // a crashing backend is a failed call, not a denial
        if (failClosed) throw callFailed(webhook.name, url, err instanceof Error ? err.message : String(err));
        continue;
      }
      if (!response.allowed) throw denied(webhook.name, response.message, response.code);
      if (response.object) object = response.object;
    }
    return object;
  };
}
