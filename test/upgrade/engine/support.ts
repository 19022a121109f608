// What the engine's acceptance tests check against the sandbox, read from the sandbox itself and never
// from meshlift: the request log as "what was written", the store as "what runs where", and a history
// check that every write had its intent recorded first (DESIGN invariant 4).
import type { RequestRecord } from "../../../sandbox/api/requestlog.js";
import type { KObject } from "../../../sandbox/api/types.js";
import type { Sandbox } from "../../../sandbox/index.js";
import { TERMINAL_STAGES, type HistoryEntry, type MeshUpgradeStatus } from "../../../src/upgrade/api/schema.js";
import type { ReconcileResult } from "../../../src/upgrade/engine/reconcile.js";
import { runUpgrade } from "../../../src/upgrade/engine/run.js";
import type { Harness } from "./harness.js";

export const SOURCE = { version: "1.27.9", revision: "1-27-9" };
const SIDECAR_STATUS = "sidecar.istio.io/status";
const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);
const ISTIO_NAMESPACE = "istio-system";

export const isWrite = (r: RequestRecord) => WRITE_VERBS.has(r.verb);
export const isList = (r: RequestRecord) => r.verb === "list";

/** The MeshUpgrade status write, the one write a refused spec or action may make. */
export const isOwnStatusWrite = (r: RequestRecord, upgrade: string) =>
  r.resource === "meshupgrades" && r.subresource === "status" && r.name === upgrade && r.verb === "update";

/** One line per request, for assertion messages. */
export function describeRequest(r: RequestRecord): string {
  const where = [r.namespace, r.name].filter(Boolean).join("/");
  return `#${r.seq} ${r.time} ${r.verb} ${r.resource}${r.subresource ? "/" + r.subresource : ""} ${where} → ${r.code}`;
}

/**
 * The requests the sandbox served from a starting point on, minus those the test made itself as "the
 * user" (deleting a straggler, setting spec.action): what is left is meshlift's. User actions are made
 * while no reconcile runs, so their sequence range holds only the user's requests.
 */
export class RequestWindow {
  private readonly userRanges: [number, number][] = [];
  readonly start: number;

  constructor(private readonly sb: Sandbox) {
    this.start = sb.requestLog.lastSeq;
  }

  async asUser<T>(action: () => Promise<T>): Promise<T> {
    const from = this.sb.requestLog.lastSeq;
    try {
      return await action();
    } finally {
      this.userRanges.push([from, this.sb.requestLog.lastSeq]);
    }
  }

  records(): RequestRecord[] {
    return this.sb.requestLog
      .since(this.start)
      .filter((r) => !this.userRanges.some(([from, to]) => r.seq > from && r.seq <= to));
  }

  writes(): RequestRecord[] {
    return this.records().filter(isWrite);
  }
}

// ------------------------------------------------------------------------------ intent before write

const WORKLOAD_KINDS: Record<string, string> = {
  deployments: "Deployment",
  statefulsets: "StatefulSet",
  daemonsets: "DaemonSet",
};

function targets(e: HistoryEntry): { kind: string; namespace?: string; name: string }[] {
  return [...(e.target ? [e.target] : []), ...(e.targets ?? [])];
}

/** Which history entries stand for the intent of this write; null when no engine action explains it. */
function intentOf(r: RequestRecord, from: string, to: string): ((e: HistoryEntry) => boolean) | null {
  const name = r.name ?? "";
  const kind = WORKLOAD_KINDS[r.resource];
  // the revisions' own objects (istiod) are installed and removed, never restarted
  const controlPlane = r.namespace === ISTIO_NAMESPACE && (name.includes(from) || name.includes(to));
  if (kind && r.verb === "patch" && !controlPlane) {
    return (e) =>
      /^(restart|scale)\b/.test(e.action) &&
      targets(e).some((t) => t.kind === kind && t.namespace === r.namespace && t.name === name);
  }
  if (r.resource === "namespaces" && r.verb === "patch") return (e) => e.action.startsWith(`label namespace ${name} `);
  if (r.resource === "pods" && r.verb === "delete")
    return (e) =>
      e.action === "delete pod" &&
      targets(e).some((t) => t.kind === "Pod" && t.namespace === r.namespace && t.name === name);
  // a tag move re-points the tag's webhook (istio-revision-tag-<tag>), its Service and the default validator
  if (
    r.verb === "update" &&
    ["mutatingwebhookconfigurations", "validatingwebhookconfigurations", "services"].includes(r.resource)
  ) {
    return (e) => {
      const tag = /^move tag (\S+) to /.exec(e.action)?.[1];
      return !!tag && (name.endsWith(`-${tag}`) || (tag === "default" && name === "istiod-default-validator"));
    };
  }
  if (r.resource === "istiorevisions" && r.verb !== "delete")
    return (e) => e.action === `install revision ${name} (Sail)`;
  if (r.verb === "patch" && name.includes(to)) return (e) => e.action === `install revision ${to} (Manifests)`;
  if (r.verb === "delete" && name.includes(from)) return (e) => e.action.startsWith(`remove revision ${from} `);
  if (r.verb === "delete" && name.includes(to))
    return (e) => e.action.startsWith(`remove revision ${to} installed by meshlift`);
  return null;
}

/**
 * Every write meshlift made (from the request log) must have an Intended history entry for it, recorded
 * no later than the write. Returns one line per write that has none; the MeshUpgrade's own writes are
 * exempt (the status is the record itself).
 */
export function writesWithoutIntent(
  status: MeshUpgradeStatus,
  writes: RequestRecord[],
  revisions: { from: string; to: string },
): string[] {
  const intended = (status.history ?? []).filter((e) => e.outcome === "Intended");
  const problems: string[] = [];
  for (const r of writes) {
    if (r.resource === "meshupgrades") continue;
    const matches = intentOf(r, revisions.from, revisions.to);
    if (!matches) {
      problems.push(`${describeRequest(r)}: no engine action explains this write`);
      continue;
    }
    if (!intended.some((e) => matches(e) && Date.parse(e.time) <= Date.parse(r.time)))
      problems.push(`${describeRequest(r)}: no Intended history entry recorded before it`);
  }
  return problems;
}

// ------------------------------------------------------------------------------ the store as the truth

/** Pods holding a proxy: not Succeeded/Failed (a terminating pod still runs its proxy). */
export function liveProxies(sb: Sandbox): { namespace: string; pod: string; revision: string }[] {
  const out: { namespace: string; pod: string; revision: string }[] = [];
  for (const pod of sb.store.list("/pods")) {
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    const status = pod.metadata.annotations?.[SIDECAR_STATUS];
    if (!status) continue;
    const revision = (JSON.parse(status) as { revision?: string }).revision ?? "default";
    out.push({ namespace: pod.metadata.namespace ?? "", pod: pod.metadata.name ?? "", revision });
  }
  return out;
}

export function proxiesByRevision(sb: Sandbox): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of liveProxies(sb)) counts[p.revision] = (counts[p.revision] ?? 0) + 1;
  return counts;
}

/**
 * The revision's control-plane objects still in the cluster: what `istioctl uninstall --revision` removes
 * (istio-facts §3.5: workloads, Service, ConfigMaps, SA, RBAC, webhooks, pods labelled istio.io/rev=R).
 */
export function revisionObjects(sb: Sandbox, revision: string): string[] {
  const keys: [string, string][] = [
    ["apps/deployments", "Deployment"],
    ["/services", "Service"],
    ["/configmaps", "ConfigMap"],
    ["/serviceaccounts", "ServiceAccount"],
    ["rbac.authorization.k8s.io/roles", "Role"],
    ["rbac.authorization.k8s.io/rolebindings", "RoleBinding"],
    ["rbac.authorization.k8s.io/clusterroles", "ClusterRole"],
    ["rbac.authorization.k8s.io/clusterrolebindings", "ClusterRoleBinding"],
    ["/pods", "Pod"],
    ["admissionregistration.k8s.io/mutatingwebhookconfigurations", "MutatingWebhookConfiguration"],
    ["admissionregistration.k8s.io/validatingwebhookconfigurations", "ValidatingWebhookConfiguration"],
  ];
  const found: string[] = [];
  for (const [key, kind] of keys) {
    for (const o of sb.store.list(key)) {
      const ns = o.metadata.namespace;
      if (ns && ns !== ISTIO_NAMESPACE) continue;
      if (o.metadata.labels?.["istio.io/rev"] === revision)
        found.push(`${kind} ${ns ? ns + "/" : ""}${o.metadata.name}`);
    }
  }
  return found.sort();
}

/** Every namespace's labels, exactly. */
export function namespaceLabels(sb: Sandbox): Record<string, Record<string, string>> {
  return Object.fromEntries(
    sb.store.list("/namespaces").map((n: KObject) => [n.metadata.name ?? "", { ...(n.metadata.labels ?? {}) }]),
  );
}

export function injectionLabels(sb: Sandbox, namespace: string): { injection?: string; rev?: string } {
  const labels = sb.store.get("/namespaces", undefined, namespace)?.metadata.labels ?? {};
  return {
    ...(labels["istio-injection"] !== undefined ? { injection: labels["istio-injection"] } : {}),
    ...(labels["istio.io/rev"] !== undefined ? { rev: labels["istio.io/rev"] } : {}),
  };
}

/** The revision a tag's webhook sends injection to (its istio.io/rev label), or undefined without one. */
export function tagRevision(sb: Sandbox, tag: string): string | undefined {
  return sb.store
    .list("admissionregistration.k8s.io/mutatingwebhookconfigurations")
    .find((m) => m.metadata.labels?.["istio.io/tag"] === tag)?.metadata.labels?.["istio.io/rev"];
}

// ------------------------------------------------------------------------------ driving the engine

export function statusOf(result: ReconcileResult): MeshUpgradeStatus {
  return (result.upgrade.status ?? { stage: "Pending" }) as MeshUpgradeStatus;
}

export function waitingReason(status: MeshUpgradeStatus): string | undefined {
  const waiting = status.conditions?.find((c) => c.type === "Waiting");
  return waiting?.status === "True" ? waiting.reason : undefined;
}

/**
 * Runs the reconcile loop until `reached` holds for a reconcile's result. Fails with the last stage and
 * message when the time runs out or the upgrade ends without reaching it.
 */
export async function runUntil(
  h: Harness,
  name: string,
  what: string,
  reached: (result: ReconcileResult, status: MeshUpgradeStatus) => boolean,
  timeoutMs = 45_000,
): Promise<ReconcileResult> {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
  let last: ReconcileResult | undefined;
  let matched: ReconcileResult | undefined;
  let ended = false;
  try {
    await runUpgrade(h.reconciler, name, {
      signal,
      source: h.source,
      maxSleepMs: 1_000,
      until: () => false,
      onResult: (r) => {
        last = r;
        if (matched) return;
        if (reached(r, statusOf(r))) matched = r;
        else if (TERMINAL_STAGES.includes(r.stage)) ended = true;
        if (matched || ended) stop.abort();
      },
    });
  } catch (err) {
    if (!matched && !ended) {
      const s = last ? statusOf(last) : undefined;
      throw new Error(
        `${name}: "${what}" not reached in ${timeoutMs} ms; last stage ${s?.stage ?? "(none)"}: ${s?.message ?? ""}`,
        { cause: err },
      );
    }
  }
  if (!matched) {
    const s = statusOf(last!);
    throw new Error(`${name}: "${what}" not reached; the upgrade ended in ${s.stage}: ${s.message ?? ""}`);
  }
  return matched;
}

export const stageIs =
  (...stages: string[]) =>
  (r: ReconcileResult) =>
    stages.includes(r.stage);

// ------------------------------------------------------------------------------ the demo, end to end

/** What the demo leaves on the source revision whatever meshlift does: a naked pod, a kube-injected
 * Deployment, and pods whose namespace has injection disabled (see sandbox/scenario/builtin/demo.yaml). */
export const DEMO_STRAGGLERS = [
  { kind: "Deployment", namespace: "legacy-billing", name: "billing-api" },
  { kind: "Deployment", namespace: "legacy-billing", name: "invoice-renderer" },
  { kind: "Pod", namespace: "tools", name: "netshoot" },
];

/** The user handles the demo's stragglers: deletes the naked pod and the two Deployments nothing can move. */
export async function removeDemoStragglers(h: Harness): Promise<void> {
  for (const s of DEMO_STRAGGLERS) {
    const path =
      s.kind === "Pod"
        ? `/api/v1/namespaces/${s.namespace}/pods/${s.name}`
        : `/apis/apps/v1/namespaces/${s.namespace}/deployments/${s.name}`;
    await h.cluster.rest.requestJson({ method: "DELETE", path, query: { gracePeriodSeconds: "0" } });
  }
}

export interface ForwardRun {
  status: MeshUpgradeStatus;
  window: RequestWindow;
  labelsBefore: Record<string, Record<string, string>>;
  /** status.stragglers when the data plane first waited on them */
  stragglers: NonNullable<MeshUpgradeStatus["stragglers"]>;
}

/**
 * Creates the upgrade and runs it: through the control plane and the waves until the data plane waits on
 * the demo's stragglers, removes them as a user would, then on to Completed.
 */
export async function upgradeDemo(
  h: Harness,
  name: string,
  spec: Parameters<Harness["create"]>[1],
  timeoutMs = 60_000,
): Promise<ForwardRun> {
  const labelsBefore = namespaceLabels(h.sb);
  await h.create(name, spec);
  const window = new RequestWindow(h.sb);
  const blocked = await runUntil(
    h,
    name,
    "the data plane waits on the demo's stragglers",
    (r, s) => r.stage === "DataPlaneUpgrade" && waitingReason(s) === "Stragglers",
    timeoutMs,
  );
  const stragglers = statusOf(blocked).stragglers ?? [];
  await window.asUser(() => removeDemoStragglers(h));
  const done = await runUntil(h, name, "Completed", stageIs("Completed"), timeoutMs);
  return { status: statusOf(done), window, labelsBefore, stragglers };
}

const FORWARD_STAGES = [
  "Pending → Prechecking",
  "Prechecking → ControlPlaneUpgrade",
  "ControlPlaneUpgrade → DataPlaneUpgrade",
  "DataPlaneUpgrade → OldControlPlaneOffline",
  "OldControlPlaneOffline → Completed",
];

/** The stage transitions in history, in order ("A → B"). */
export function stagePath(status: MeshUpgradeStatus): string[] {
  return (status.history ?? []).filter((e) => e.action.startsWith("stage ")).map((e) => e.action.slice(6));
}

export function historyTime(status: MeshUpgradeStatus, action: string): string | undefined {
  return status.history?.find((e) => e.action === action)?.time;
}

/**
 * LISTs after warm-up, but for the offline stages' fresh LISTs: the caches' initial LISTs come before the
 * first status write; the fresh check (ColdSnapshotSource) lists cluster-wide and the istio namespace's
 * ConfigMaps, from `offlineFrom` on. A namespaced LIST elsewhere is never part of it, whenever it comes.
 */
export function listsAfterWarmUp(records: RequestRecord[], upgrade: string, offlineFrom: string): RequestRecord[] {
  const firstStatus = records.find((r) => isOwnStatusWrite(r, upgrade));
  if (!firstStatus) return [];
  const freshCheck = (r: RequestRecord) => r.time >= offlineFrom && (!r.namespace || r.namespace === ISTIO_NAMESPACE);
  return records.filter((r) => isList(r) && r.seq > firstStatus.seq && !freshCheck(r));
}

/** The checks every forward run on the demo shares; `moved` are the namespaces relabelled to the target. */
export function forwardRunProblems(h: Harness, run: ForwardRun, to: string): string[] {
  const problems: string[] = [];
  const { status } = run;
  if (status.stage !== "Completed") problems.push(`stage ${status.stage}: ${status.message}`);
  const path = stagePath(status);
  if (JSON.stringify(path) !== JSON.stringify(FORWARD_STAGES)) problems.push(`stages went ${path.join(", ")}`);
  for (const s of DEMO_STRAGGLERS) {
    if (!run.stragglers.some((x) => x.kind === s.kind && x.namespace === s.namespace && x.name === s.name && x.why))
      problems.push(`straggler ${s.kind} ${s.namespace}/${s.name} was not listed: ${JSON.stringify(run.stragglers)}`);
  }
  const proxies = proxiesByRevision(h.sb);
  if (Object.keys(proxies).join() !== to) problems.push(`proxies by revision: ${JSON.stringify(proxies)}`);
  const left = revisionObjects(h.sb, SOURCE.revision);
  if (left.length > 0) problems.push(`revision ${SOURCE.revision} left: ${left.join(", ")}`);
  for (const tag of ["default", "prod-stable"]) {
    const rev = tagRevision(h.sb, tag);
    if (rev !== to) problems.push(`tag ${tag} points at ${rev}`);
  }
  problems.push(...writesWithoutIntent(status, run.window.writes(), { from: SOURCE.revision, to }));
  for (const w of status.progress?.workloads ?? []) {
    if (w.state !== "RolledOut" && w.state !== "Verified" && w.state !== "Skipped")
      problems.push(`workload ${w.kind} ${w.namespace}/${w.name} is ${w.state}`);
  }
  return problems;
}
