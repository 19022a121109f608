// What the console adds to a MeshUpgrade for its Upgrade page, and how it shows a plan before anything
// is created. Pure: the engine's guard decides the buttons (src/upgrade/engine/guards.ts), the status
// says the rest; the live mesh only names the gateways.
import type { Finding } from "../checks/finding.js";
import type { MeshSnapshot, Workload } from "../mesh/schema.js";
import { meshUpgradeSpecSchema, type MeshUpgradeStatus } from "../upgrade/api/schema.js";
import type { ResolvedUpgradeSpec } from "../upgrade/api/validate.js";
import { allowedActions, approvalPoint, pendingAction } from "../upgrade/engine/guards.js";
import { movable, movedTag, switchMode, type Plan } from "../upgrade/engine/plan.js";
import type {
  GatewayView,
  MeshUpgradeObject,
  PlannedWorkloadView,
  PlanPreview,
  StragglerView,
  UpgradeConsoleView,
} from "./api-types.js";

const ROLLOUT_KINDS = ["Deployment", "StatefulSet", "DaemonSet"];

/**
 * What to do about one straggler, from why the engine lists it (src/mesh/stragglers.ts): a naked pod
 * is deleted, a Job finishes, a workload a restart would move is restarted, one a restart would strip
 * of its sidecar (kube-inject, injection disabled) is re-injected or removed.
 */
export function stragglerAdvice(
  s: { kind: string; namespace: string; name: string; why: string },
  revisions: { from: string; to: string },
  workload?: Pick<Workload, "manualProxy">,
): Pick<StragglerView, "action" | "command"> {
  const { from, to } = revisions;
  const ns = `-n ${s.namespace}`;
  const restart = ROLLOUT_KINDS.includes(s.kind)
    ? `kubectl rollout restart ${s.kind.toLowerCase()}/${s.name} ${ns}`
    : null;
  if (s.kind === "Pod") {
    return {
      action: `a pod without a controller is never restarted: delete it (create it again if it is still needed; a new pod gets ${to} where its labels select it)`,
      command: `kubectl delete pod ${s.name} ${ns}`,
    };
  }
  if (s.kind === "Job" || s.kind === "CronJob") {
    return {
      action: "Job pods are never restarted: let it finish, or delete it",
      command: s.kind === "Job" ? `kubectl delete job ${s.name} ${ns}` : null,
    };
  }
  if (workload?.manualProxy) {
    return {
      action: `its proxy is written into its pod template (istioctl kube-inject): a restart keeps ${from}; inject it again for ${to} (istioctl kube-inject --revision ${to} | kubectl apply -f -), or delete it if it should leave the mesh`,
      command: null,
    };
  }
  if (/a restart would leave it without a sidecar/.test(s.why)) {
    return {
      action: `a restart would drop its sidecar (injection is off for it, or its proxy was added by istioctl kube-inject): re-inject it for ${to} (istioctl kube-inject --revision ${to}), enable injection for ${to} on its namespace and restart it, or delete it if it should leave the mesh`,
      command: null,
    };
  }
  const moveTo = /a restart would move it to (\S+)/.exec(s.why)?.[1];
  if (moveTo) {
    return { action: `restart it: its new pods get ${moveTo}`, command: restart };
  }
  if (/its labels still select this revision/.test(s.why)) {
    return {
      action: `its namespace or pod labels still select ${from}: set istio.io/rev=${to} on them, then restart it`,
      command: null,
    };
  }
  if (/connected to istiod/.test(s.why)) {
    return { action: `restart it so that its proxy connects to ${to}`, command: restart };
  }
  return { action: `restart it onto ${to}, or delete it`, command: restart };
}

type WorkloadProgress = NonNullable<NonNullable<MeshUpgradeStatus["progress"]>["workloads"]>[number];

/** The console's view of one MeshUpgrade: buttons from the engine's guard, stragglers with advice, gateways. */
export function consoleViewOf(upgrade: MeshUpgradeObject, snapshot: MeshSnapshot | undefined): UpgradeConsoleView {
  const status = upgrade.status as MeshUpgradeStatus | undefined;
  const parsed = meshUpgradeSpecSchema.safeParse(upgrade.spec);
  const spec = parsed.success ? parsed.data : undefined;
  const revisions = {
    from: status?.from?.revision ?? spec?.from ?? "the old revision",
    to: status?.to?.revision ?? spec?.to.revision ?? "the new revision",
  };
  const workloads = new Map((snapshot?.workloads ?? []).map((w) => [`${w.kind}/${w.namespace}/${w.name}`, w]));
  const stragglers: StragglerView[] = (status?.stragglers ?? []).map((s) => ({
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    why: s.why,
    ...stragglerAdvice(s, revisions, workloads.get(`${s.kind}/${s.namespace}/${s.name}`)),
  }));
  const progress = new Map<string, WorkloadProgress>(
    (status?.progress?.workloads ?? []).map((p) => [`${p.kind}/${p.namespace}/${p.name}`, p]),
  );
  const gateways: GatewayView[] = [];
  for (const w of snapshot?.workloads ?? []) {
    const type = w.gateway;
    if (!type) continue;
    const p = progress.get(`${w.kind}/${w.namespace}/${w.name}`);
    gateways.push({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      type,
      replicas: w.replicas,
      livePods: w.livePods,
      revisions: w.revisions,
      state: p?.state ?? null,
      ready: p?.ready ?? (w.rollout ? `${w.rollout.available}/${w.rollout.desired}` : null),
      canary: p?.gateway?.canary ?? null,
      surgedFrom: p?.gateway?.surgeToken !== undefined ? (p.gateway.originalReplicas ?? null) : null,
      message: p?.message ?? null,
    });
  }
  const gw = spec?.dataPlane.gateways;
  return {
    actions: allowedActions(upgrade),
    approval: approvalPoint(upgrade),
    pendingAction: pendingAction(upgrade),
    stragglers,
    gateways: {
      include: gw?.include ?? true,
      strategy: gw?.strategy ?? "InPlace",
      surgeSingleReplica: gw?.surgeSingleReplica ?? true,
      items: gateways,
    },
    restart: {
      mode: spec?.dataPlane.restart ?? "Automatic",
      selected: spec?.dataPlane.restartSelected ?? [],
    },
  };
}

function plannedWorkload(w: Workload | undefined, ref: { kind: string; namespace: string; name: string }) {
  return {
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
    gateway: w?.gateway ?? null,
    livePods: w?.livePods ?? 0,
  } satisfies PlannedWorkloadView;
}

/** Why a workload with proxies on the source revision is in no wave (it will be a straggler before offline). */
function notMovedWhy(w: Workload, spec: ResolvedUpgradeSpec, snapshot: MeshSnapshot, selected: Set<string>): string {
  if (w.kind === "Pod")
    return "a pod without a controller: meshlift never restarts it; delete it after its namespace switched";
  if (w.kind === "Job" || w.kind === "CronJob") return "Job pods are never restarted; they finish on the old revision";
  if (w.manualProxy)
    return "its proxy is in its pod template (istioctl kube-inject or a legacy gateway): a restart keeps it";
  if (!selected.has(w.namespace) && !(w.gateway === "injected" && spec.dataPlane.gateways.include))
    return "its namespace is not selected for this upgrade";
  if (!movable(w)) return "it has no proxy a restart would give again";
  if (w.gateway !== null && !spec.dataPlane.gateways.include)
    return "gateways are excluded (dataPlane.gateways.include false)";
  const ns = snapshot.namespaces.find((n) => n.name === w.namespace);
  if (ns && switchMode(ns, spec.from.revision, movedTag(spec)) === "none")
    return "its namespace's labels do not select the source revision (injection disabled or another revision): a restart would not move it";
  return "a restart would not move it";
}

/** The preview of a valid spec: waves → namespaces → workloads, gateways, what no wave moves, findings. */
export function planPreviewOf(input: {
  name: string;
  spec: ResolvedUpgradeSpec;
  plan: Plan;
  snapshot: MeshSnapshot;
  findings: Finding[];
  dryRun: PlanPreview["dryRun"];
  errors: PlanPreview["errors"];
}): PlanPreview {
  const { spec, plan, snapshot, findings } = input;
  const byKey = new Map(snapshot.workloads.map((w) => [`${w.kind}/${w.namespace}/${w.name}`, w]));
  const planned = new Set<string>();
  const waves = plan.waves.map((wave) => {
    const namespaces = wave.namespaces.map((name) => ({ name, workloads: [] as PlannedWorkloadView[] }));
    const gateways: PlannedWorkloadView[] = [];
    for (const ref of wave.workloads) {
      const key = `${ref.kind}/${ref.namespace}/${ref.name}`;
      planned.add(key);
      const view = plannedWorkload(byKey.get(key), ref);
      if (view.gateway !== null) gateways.push(view);
      let group = namespaces.find((n) => n.name === ref.namespace);
      if (!group) namespaces.push((group = { name: ref.namespace, workloads: [] }));
      group.workloads.push(view);
    }
    return { index: wave.index, namespaces, gateways };
  });
  const selected = new Set(spec.namespaces ?? []);
  const from = spec.from.revision;
  const notMoved = snapshot.workloads
    .filter((w) => w.revisions.includes(from) && !planned.has(`${w.kind}/${w.namespace}/${w.name}`))
    .map((w) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      why: notMovedWhy(w, spec, snapshot, selected),
    }));
  const count = (s: string) => findings.filter((f) => f.severity === s).length;
  return {
    valid: input.errors.length === 0 && input.dryRun?.ok === true,
    errors: input.errors,
    name: input.name,
    from: spec.from,
    to: spec.to,
    pathKind: spec.pathKind,
    waves,
    notMoved,
    findings,
    counts: { errors: count("error"), warnings: count("warning"), info: count("info") },
    dryRun: input.dryRun,
    resolved: spec as unknown as Record<string, any>,
  };
}
