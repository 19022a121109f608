// decide(): the whole upgrade as a pure function of (spec, recorded status, observed mesh) → the next
// status to record and the writes to make. No I/O, no clock, no randomness: the same input gives the
// same decision, so a crash at any instant is harmless — the next run sees what happened and goes on.
// The executor records the returned status (with each write's intent in history) before any write.
import { runChecks } from "../../checks/index.js";
import { hasBlockingFindings } from "../../checks/finding.js";
import type { MeshSnapshot, NamespaceView, Revision, Workload } from "../../mesh/schema.js";
import { proxiesOnRevision } from "../../mesh/stragglers.js";
import {
  ROLLBACK_STAGES,
  TERMINAL_STAGES,
  meshUpgradeSpecSchema,
  type HistoryEntry,
  type MeshUpgradeSpec,
  type MeshUpgradeStatus,
  type UpgradeCondition,
  type UpgradeStage,
} from "../api/schema.js";
import { validateUpgradeSpec } from "../api/validate.js";
import { historyMeasurements, newGateStatus } from "../gates/analysis.js";
import type { GateStatus } from "../gates/status.js";
import { movedTag, planWaves, switchMode } from "./plan.js";
import {
  RESTART_TOKEN_ANNOTATION,
  refOf,
  workloadKey,
  type Decision,
  type EngineEvent,
  type EngineInput,
  type WorkloadRef,
  type WriteAction,
} from "./types.js";

type Status = MeshUpgradeStatus;
type WorkloadProgress = NonNullable<NonNullable<Status["progress"]>["workloads"]>[number];
type WaveProgress = NonNullable<NonNullable<Status["progress"]>["waves"]>[number];

/** How often an active upgrade looks again when nothing it watches changes. */
export const REQUEUE_ACTIVE_MS = 5_000;
/** How soon to look again after a write whose effect is not yet observed. */
export const REQUEUE_AFTER_WRITE_MS = 1_000;
/** A write asked again within this window is the same intent, not a new one. */
const REPEAT_INTENT_MS = 60_000;
/** A removal that has not taken effect after this long is asked again. */
const REMOVAL_RETRY_MS = 5_000;

const ACTIVE_FORWARD: readonly UpgradeStage[] = [
  "Pending",
  "Prechecking",
  "ControlPlaneUpgrade",
  "DataPlaneUpgrade",
  "OldControlPlaneOffline",
];

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Collects the next status, the writes and the events of one decision. */
class Builder {
  readonly status: Status;
  readonly writes: WriteAction[] = [];
  readonly events: EngineEvent[] = [];
  requeueAfterMs: number | null = null;
  needFresh: { revision: string } | undefined;
  needGate: { wave: number } | undefined;
  readonly nowIso: string;

  constructor(readonly input: EngineInput) {
    this.status = clone(input.upgrade.status) ?? { stage: "Pending" };
    this.status.stage ??= "Pending";
    this.nowIso = new Date(input.now).toISOString();
  }

  get snapshot(): MeshSnapshot {
    return this.input.snapshot;
  }

  history(entry: Omit<HistoryEntry, "time" | "actor"> & { actor?: string }): void {
    (this.status.history ??= []).push({ time: this.nowIso, actor: entry.actor ?? this.input.actor, ...entry });
  }

  /**
   * A write, recorded in history as intended before the executor makes it (DESIGN invariant 4). The
   * same write asked again while its effect is not yet observed keeps its first history entry.
   */
  write(action: WriteAction, reason: string): void {
    this.writes.push(action);
    const text = describeWrite(action);
    const { target } = writeTarget(action);
    const history = this.status.history ?? [];
    const recorded = history
      .slice(-200)
      .some(
        (h) =>
          h.outcome === "Intended" &&
          h.action === text &&
          JSON.stringify(h.target) === JSON.stringify(target) &&
          this.input.now - Date.parse(h.time) < REPEAT_INTENT_MS,
      );
    if (!recorded) this.history({ action: text, ...(target ? { target } : {}), reason, outcome: "Intended" });
    this.requeue(REQUEUE_AFTER_WRITE_MS);
  }

  /** A restart whose intent is already in history, sent again because its effect is not observed. */
  resend(action: WriteAction): void {
    this.writes.push(action);
    this.requeue(REQUEUE_AFTER_WRITE_MS);
  }

  /** Several restarts as one history entry (one status write before a batch). */
  restartBatch(actions: Extract<WriteAction, { type: "restart" }>[], reason: string): void {
    if (actions.length === 0) return;
    this.writes.push(...actions);
    this.history({
      action: "restart",
      targets: actions.map((a) => refOf(a.workload)),
      reason,
      outcome: "Intended",
    });
    this.requeue(REQUEUE_AFTER_WRITE_MS);
  }

  setStage(stage: UpgradeStage, reason: string): void {
    if (this.status.stage === stage) return;
    const from = this.status.stage;
    this.status.stage = stage;
    this.history({ action: `stage ${from} → ${stage}`, reason });
    this.event(stage === "Failed" || stage === "Paused" ? "Warning" : "Normal", `Stage${stage}`, reason);
    if (TERMINAL_STAGES.includes(stage)) this.status.completedAt = this.nowIso;
  }

  event(type: EngineEvent["type"], reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }

  condition(type: string, status: UpgradeCondition["status"], reason: string, message: string): void {
    const conditions = (this.status.conditions ??= []);
    const existing = conditions.find((c) => c.type === type);
    const observedGeneration = this.input.upgrade.generation;
    if (existing) {
      if (existing.status !== status) existing.lastTransitionTime = this.nowIso;
      Object.assign(existing, { status, reason, message, observedGeneration });
    } else {
      conditions.push({ type, status, reason, message, lastTransitionTime: this.nowIso, observedGeneration });
    }
  }

  /** Waiting for something outside meshlift's control: said in status.message and condition Waiting. */
  wait(reason: string, message: string, requeueMs = REQUEUE_ACTIVE_MS): void {
    this.status.message = message;
    this.condition("Waiting", "True", reason, message);
    this.requeue(requeueMs);
  }

  requeue(ms: number): void {
    this.requeueAfterMs = this.requeueAfterMs === null ? ms : Math.min(this.requeueAfterMs, ms);
  }

  pause(reason: string, message: string): void {
    if (this.status.stage !== "Paused") this.status.pausedFrom = this.status.stage;
    this.setStage("Paused", message);
    this.status.message = message;
    this.condition("Waiting", "True", reason, `${message} — set spec.action to Resume or Rollback`);
  }

  done(): Decision {
    const stage = this.status.stage;
    const active = !TERMINAL_STAGES.includes(stage) && stage !== "Paused";
    this.condition(
      "Progressing",
      active ? "True" : "False",
      stage,
      active ? `stage ${stage}` : (this.status.message ?? `stage ${stage}`),
    );
    if (this.writes.length > 0 || stage !== this.input.upgrade.status?.stage) {
      const waiting = this.status.conditions?.find((c) => c.type === "Waiting");
      if (waiting?.status === "True" && this.writes.length > 0) waiting.status = "False";
    }
    this.status.observedGeneration = this.input.upgrade.generation;
    return {
      status: this.status,
      writes: this.writes,
      needFresh: this.needFresh,
      needGate: this.needGate,
      requeueAfterMs: TERMINAL_STAGES.includes(stage) ? null : (this.requeueAfterMs ?? REQUEUE_ACTIVE_MS),
      events: this.events,
    };
  }
}

function describeWrite(a: WriteAction): string {
  switch (a.type) {
    case "install":
      return `install revision ${a.revision} (${a.mode})`;
    case "labelNamespace":
      return `label namespace ${a.namespace} ${labelText(a.labels)}`;
    case "moveTag":
      return `move tag ${a.tag} to ${a.revision}`;
    case "restart":
      return a.templateRevision === undefined
        ? "restart"
        : `restart with istio.io/rev=${a.templateRevision ?? "(removed)"}`;
    case "scale":
      return `scale to ${a.replicas} (pass ${a.token})`;
    case "deletePod":
      return "delete pod";
    case "createGatewayCanary":
      return `create gateway ${a.name} on ${a.revision} (canary)`;
    case "deleteWorkload":
      return `delete ${a.workload.kind}`;
    case "removeRevision":
      return `remove revision ${a.revision} (${a.how === "sail" ? "IstioRevision" : "as istioctl uninstall --revision"})`;
    case "removeInstalled":
      return `remove revision ${a.revision} installed by meshlift (${a.mode})`;
  }
}

function writeTarget(a: WriteAction): Pick<HistoryEntry, "target"> {
  switch (a.type) {
    case "labelNamespace":
      return { target: { kind: "Namespace", name: a.namespace } };
    case "restart":
    case "scale":
    case "createGatewayCanary":
    case "deleteWorkload":
      return { target: refOf(a.workload) };
    case "deletePod":
      return { target: { kind: "Pod", namespace: a.namespace, name: a.name } };
    default:
      return {};
  }
}

function labelText(l: { istioInjection: string | null; rev: string | null }): string {
  return `istio-injection=${l.istioInjection ?? "(none)"} istio.io/rev=${l.rev ?? "(none)"}`;
}

// ------------------------------------------------------------------------------ observations

function revisionReady(snapshot: MeshSnapshot, name: string): Revision | null {
  const r = snapshot.revisions.find((rev) => rev.name === name);
  return r && r.ready && r.webhookConfigurations.length > 0 ? r : null;
}

function findWorkload(snapshot: MeshSnapshot, ref: WorkloadRef): Workload | undefined {
  return workloadIndex(snapshot).get(workloadKey(ref));
}

const indexes = new WeakMap<MeshSnapshot, Map<string, Workload>>();
function workloadIndex(snapshot: MeshSnapshot): Map<string, Workload> {
  let idx = indexes.get(snapshot);
  if (!idx) {
    idx = new Map(snapshot.workloads.map((w) => [workloadKey(w), w]));
    indexes.set(snapshot, idx);
  }
  return idx;
}

function namespaceView(snapshot: MeshSnapshot, name: string): NamespaceView | undefined {
  return snapshot.namespaces.find((n) => n.name === name);
}

/** Every live proxy of the workload runs `revision` (a workload with no live proxies has none to move). */
function onlyOn(w: Workload, revision: string): boolean {
  return w.revisions.every((r) => r === revision);
}

/** Stragglers per workload (one line for a Deployment's three pods), for status.stragglers. */
function stragglerList(list: { kind: string; namespace: string; name: string; pod: string; why: string }[]) {
  const byWorkload = new Map<string, { kind: string; namespace: string; name: string; why: string; pods: number }>();
  for (const s of list) {
    const k = `${s.kind}/${s.namespace}/${s.name}`;
    const e = byWorkload.get(k);
    if (e) e.pods++;
    else byWorkload.set(k, { kind: s.kind, namespace: s.namespace, name: s.name, why: s.why, pods: 1 });
  }
  return [...byWorkload.values()].map(({ pods, ...s }) => ({
    ...s,
    why: s.kind === "Pod" || pods === 1 ? s.why : `${pods} pods: ${s.why}`,
  }));
}

function restartToken(uid: string, direction: "f" | "r", wave: number | null): string {
  return `${uid.slice(0, 8)}.${direction}${wave ?? ""}`;
}

// ------------------------------------------------------------------------------ actions

function pendingAction(input: EngineInput, spec: MeshUpgradeSpec | null, status: Status) {
  if (!spec?.action) return null;
  const ack = status.acknowledgedAction;
  if (ack && ack.action === spec.action && (ack.nonce ?? undefined) === spec.actionNonce) return null;
  return { action: spec.action, nonce: spec.actionNonce };
}

function acknowledge(b: Builder, action: NonNullable<ReturnType<typeof pendingAction>>, outcome: string): void {
  b.status.acknowledgedAction = {
    action: action.action,
    ...(action.nonce ? { nonce: action.nonce } : {}),
    at: b.nowIso,
  };
  b.history({ action: `action ${action.action}`, actor: b.input.upgrade.actionBy ?? "unknown", reason: outcome });
}

/** Pause, Resume and Rollback take effect at once; Proceed waits for the approval point it answers. */
function handleAction(b: Builder, spec: MeshUpgradeSpec | null): void {
  const pending = pendingAction(b.input, spec, b.status);
  if (!pending) return;
  const stage = b.status.stage;
  const reject = (why: string) => {
    acknowledge(b, pending, `refused: ${why}`);
    b.condition("ActionAccepted", "False", "ActionRefused", `${pending.action}: ${why}`);
    b.event("Warning", "ActionRefused", `${pending.action}: ${why}`);
  };
  const accept = (what: string) => {
    acknowledge(b, pending, what);
    b.condition("ActionAccepted", "True", `${pending.action}Accepted`, what);
  };
  if (TERMINAL_STAGES.includes(stage)) return reject(`the upgrade has finished (${stage})`);
  switch (pending.action) {
    case "Rollback": {
      if (stage === "RollingBack" || stage === "NewControlPlaneOffline") return accept("already rolling back");
      const from = stage === "Paused" ? (b.status.pausedFrom ?? stage) : stage;
      // invariant 5: paused in OldControlPlaneOffline is still past the point of no return
      if (!ROLLBACK_STAGES.includes(stage) || !ROLLBACK_STAGES.includes(from))
        return reject(`rollback is possible only before OldControlPlaneOffline (stage ${stage}, from ${from})`);
      b.status.rollback = { from, reason: "asked by spec.action Rollback", at: b.nowIso };
      accept(`rolling back from ${from}`);
      b.status.pausedFrom = undefined;
      b.setStage("RollingBack", `Rollback asked at stage ${from}`);
      return;
    }
    case "Pause":
      if (stage === "Paused") return accept("already paused");
      if (stage === "RollingBack" || stage === "NewControlPlaneOffline")
        return reject("a rollback runs to its end and cannot be paused");
      accept(`paused at ${stage}`);
      b.status.pausedFrom = stage;
      b.setStage("Paused", `Pause asked at stage ${stage}`);
      b.status.message = `paused at ${stage} — set spec.action to Resume or Rollback`;
      return;
    case "Resume": {
      if (stage !== "Paused") return reject(`the upgrade is not paused (stage ${stage})`);
      const back = b.status.pausedFrom ?? "DataPlaneUpgrade";
      accept(`resumed ${back}`);
      b.status.pausedFrom = undefined;
      b.setStage(back, "Resume asked");
      // a workload that failed is tried again after a Resume
      for (const w of b.status.progress?.workloads ?? []) {
        if (w.state === "Failed") {
          w.state = "Pending";
          w.restartToken = undefined;
          w.restartedAt = undefined;
          w.message = "tried again after Resume";
        }
      }
      for (const wave of b.status.progress?.waves ?? []) {
        if (wave.state !== "Failed") continue;
        wave.state = "Running";
        // the wave is verified again from now: a Resume is a new look, not the old verdict
        const gates = b.status.gates ?? [];
        const i = gates.findIndex((g) => g.wave === wave.index);
        if (i >= 0) gates[i] = newGateStatus(wave.index, b.input.now);
      }
      return;
    }
    case "Proceed":
      if (stage === "RollingBack" || stage === "NewControlPlaneOffline")
        return reject("a rollback runs to its end; Proceed has no meaning");
      return; // consumed by an approval point
  }
}

/** Consumes a pending Proceed at an approval point. */
function consumeProceed(b: Builder, spec: MeshUpgradeSpec, what: string): boolean {
  const pending = pendingAction(b.input, spec, b.status);
  if (pending?.action !== "Proceed") return false;
  acknowledge(b, pending, what);
  b.condition("ActionAccepted", "True", "ProceedAccepted", what);
  return true;
}

// ------------------------------------------------------------------------------ Pending / Prechecking

function lockHolders(input: EngineInput): { name: string; stage: string | null }[] {
  const self = input.upgrade;
  const mine = [self.createdAt ?? "", self.name] as const;
  return input.snapshot.upgrades
    .filter((u) => u.name !== self.name && !(u.stage !== null && (TERMINAL_STAGES as string[]).includes(u.stage)))
    .filter((u) => {
      // an upgrade that has started holds the lock; between two that have not, the older one does
      if (u.stage !== null && u.stage !== "Pending") return true;
      const theirs = [u.createdAt ?? "", u.name] as const;
      return theirs[0] < mine[0] || (theirs[0] === mine[0] && theirs[1] < mine[1]);
    })
    .map((u) => ({ name: u.name, stage: u.stage }));
}

function start(b: Builder): void {
  const input = b.input;
  const validation = validateUpgradeSpec(input.upgrade.spec, {
    snapshot: input.snapshot,
    catalog: input.catalog,
    kubernetesVersion: input.snapshot.kubernetesVersion,
    activeUpgrades: lockHolders(input),
    self: { name: input.upgrade.name, stage: "Pending" },
    namespaceLabels: input.namespaceLabels,
    manifestsFromFiles: input.manifestsFromFiles,
    manifestRevisions: input.manifestRevisions,
  });
  const queryErrors = validation.ok ? (input.queryCheck?.errors ?? []) : [];
  if (!validation.ok || queryErrors.length > 0) {
    const errors = validation.ok ? queryErrors : validation.errors;
    const text = errors.map((e) => `${e.field}: ${e.message} (fix: ${e.fix})`).join("; ");
    const lock = errors.some((e) => e.field === "metadata.name");
    b.condition("Valid", "False", lock ? "ConcurrentUpgrade" : validation.ok ? "InvalidQuery" : "InvalidSpec", text);
    b.status.message = `refused, nothing was changed: ${text}`;
    b.setStage("Failed", b.status.message);
    return;
  }
  const spec = validation.spec;
  const unchecked = input.queryCheck?.unchecked ?? [];
  b.condition(
    "Valid",
    "True",
    "SpecValid",
    unchecked.length
      ? `the spec is valid for this mesh; queries not checked by Prometheus: ${unchecked.join("; ")}`
      : "the spec is valid for this mesh",
  );
  b.status.from = spec.from;
  b.status.to = spec.to;
  b.status.startedAt = b.nowIso;
  b.setStage(
    "Prechecking",
    `upgrade ${spec.from.revision} (${spec.from.version}) → ${spec.to.revision} (${spec.to.version})`,
  );
  // this upgrade is not "another upgrade in progress" to its own prechecks, and a target installed
  // beforehand (Adopt, or an earlier attempt) is not a revision to upgrade from ("already runs" it)
  const others = {
    ...input.snapshot,
    upgrades: input.snapshot.upgrades.filter((u) => u.name !== input.upgrade.name),
    revisions: input.snapshot.revisions.filter((r) => r.name !== spec.to.revision),
  };
  const findings = runChecks(others, { version: spec.to.version, revision: spec.to.revision }, input.catalog);
  b.status.findings = findings;
  if (hasBlockingFindings(findings)) {
    const errors = findings.filter((f) => f.severity === "error");
    const text = errors.map((f) => `${f.id}: ${f.message}`).join("; ");
    b.status.message = `precheck found ${errors.length} error(s), nothing was changed: ${text}`;
    b.condition("PrecheckPassed", "False", "PrecheckErrors", text);
    b.setStage("Failed", b.status.message);
    return;
  }
  const warnings = findings.filter((f) => f.severity === "warning").length;
  b.condition("PrecheckPassed", "True", "NoErrors", `${warnings} warning(s), no error`);
  const plan = planWaves(spec, input.snapshot);
  b.status.plan = { waves: plan.waves };
  b.status.progress = {
    waves: plan.waves.map((w) => ({ index: w.index, state: "Pending" })),
    namespaces: plan.waves.flatMap((w) =>
      w.namespaces.map((name) => ({
        name,
        wave: w.index,
        state: "Pending" as const,
        proxies: { old: 0, new: 0, none: 0 },
      })),
    ),
    workloads: plan.waves.flatMap((w) =>
      w.workloads.map((ref) => ({ ...ref, wave: w.index, state: "Pending" as const })),
    ),
    currentWave: 0,
    completedWaves: 0,
  };
  b.setStage(
    "ControlPlaneUpgrade",
    `planned ${plan.waves.length} wave(s), ${plan.waves.reduce((n, w) => n + w.workloads.length, 0)} workload(s)`,
  );
}

// ------------------------------------------------------------------------------ ControlPlaneUpgrade

function controlPlane(b: Builder, spec: MeshUpgradeSpec): void {
  const to = b.status.to!;
  if (revisionReady(b.snapshot, to.revision)) {
    b.condition("TargetReady", "True", "Ready", `revision ${to.revision} is Ready and its injector answers`);
    b.status.message = undefined;
    b.setStage("DataPlaneUpgrade", `revision ${to.revision} is Ready`);
    dataPlane(b, spec);
    return;
  }
  const present = b.snapshot.revisions.find((r) => r.name === to.revision);
  const why = present
    ? `istiod ${present.deployment} has ${present.replicas.ready}/${present.replicas.desired} ready${present.webhookConfigurations.length === 0 ? ", no injector webhook yet" : ""}`
    : "not installed yet";
  switch (spec.install.mode) {
    case "Adopt":
      b.wait(
        "WaitingForInstall",
        `waiting for you to install revision ${to.revision} (Istio ${to.version}), e.g. istioctl install --set revision=${to.revision} --set tag=${to.version}, or helm install istiod-${to.revision} istio/istiod --version ${to.version} --set revision=${to.revision}: ${why}`,
      );
      return;
    case "Manifests":
      if ((b.status.installedObjects ?? []).length === 0) {
        b.write(
          { type: "install", mode: "Manifests", revision: to.revision, version: to.version },
          `revision ${to.revision} is ${why}`,
        );
        b.status.message = `installing revision ${to.revision} from manifests`;
      } else b.wait("Installing", `revision ${to.revision}: ${why}`, 2_000);
      return;
    case "Sail": {
      const sail = b.input.install?.sail;
      if (!sail?.exists) {
        b.write(
          { type: "install", mode: "Sail", revision: to.revision, version: to.version },
          `IstioRevision ${to.revision} does not exist`,
        );
        b.status.message = `creating IstioRevision ${to.revision}`;
      } else b.wait("Installing", `IstioRevision ${to.revision}: ${sail.message || why}`, 2_000);
      return;
    }
  }
}

// ------------------------------------------------------------------------------ restarts (both ways)

interface RestartPass {
  /** workloads in the pass, in order */
  refs: WorkloadRef[];
  /** the revision every proxy of a done workload runs */
  target: string;
  token: string;
  direction: "f" | "r";
  /** istio.io/rev for the pod template of this workload, when its labels decide (undefined: leave it) */
  templateRevision: (w: Workload, progress: WorkloadProgress) => string | null | undefined;
}

interface PassResult {
  done: boolean;
  inFlight: number;
  failed: WorkloadProgress[];
}

function progressOf(b: Builder, ref: WorkloadRef, wave: number): WorkloadProgress {
  const list = ((b.status.progress ??= {}).workloads ??= []);
  let p = list.find((w) => w.kind === ref.kind && w.namespace === ref.namespace && w.name === ref.name);
  if (!p) list.push((p = { ...ref, wave, state: "Pending" }));
  return p;
}

function pdbsOf(snapshot: MeshSnapshot): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pdb of snapshot.pdbs)
    for (const w of pdb.workloads) {
      const k = `${w.kind}/${w.namespace ?? ""}/${w.name}`;
      out.set(k, [...(out.get(k) ?? []), `${pdb.namespace}/${pdb.name}`]);
    }
  return out;
}

/**
 * Moves the pass's workloads: at most maxConcurrent mid-restart (invariant 3), never two under one
 * PodDisruptionBudget at once, never one that is already short of available pods, a single-replica
 * gateway surged to two first. A workload restarted with this pass's token is never restarted again
 * by it; if the write did not land, the identical patch (same token, same time) is sent again.
 */
function restartPass(b: Builder, spec: MeshUpgradeSpec, pass: RestartPass, wave: number): PassResult {
  const dp = spec.dataPlane;
  const snapshot = b.snapshot;
  const pdbs = pdbsOf(snapshot);
  const timeoutMs = dp.rolloutTimeoutSeconds * 1000;
  const inFlightPdbs = new Set<string>();
  const candidates: { w: Workload; p: WorkloadProgress }[] = [];
  const failed: WorkloadProgress[] = [];
  const restarts: Extract<WriteAction, { type: "restart" }>[] = [];
  let inFlight = 0;
  let done = true;
  const doneState = pass.direction === "f" ? "RolledOut" : "RolledBack";
  const busy = (ref: WorkloadRef) => {
    inFlight++;
    for (const k of pdbs.get(workloadKey(ref)) ?? []) inFlightPdbs.add(k);
  };

  // invariant 2: restarts move pods to the pass's target; while it is not Ready no pod template is
  // pointed at it and no restart starts (its injector would refuse the new pods: failurePolicy Fail)
  const targetReady = revisionReady(snapshot, pass.target) !== null;
  const canaryStarts: { w: Workload; p: WorkloadProgress }[] = [];
  for (const ref of pass.refs) {
    const p = progressOf(b, ref, wave);
    const w = findWorkload(snapshot, ref);
    if (!w) {
      if (p.state !== "Skipped") Object.assign(p, { state: "Skipped", message: "no longer exists" });
      continue;
    }
    const rollout = w.rollout;
    p.ready = rollout ? `${rollout.available}/${rollout.desired}` : undefined;
    if (p.state === "Failed") {
      failed.push(p);
      done = false;
      if (rollout !== null && !rollout.complete) busy(ref); // a timed-out rollout may still be rolling
      continue;
    }
    if (isCanaryGateway(spec, w, p, pass.direction)) {
      const state = canaryGatewayStep(b, pass, w, p);
      if (state === "done") {
        if (p.state !== doneState) Object.assign(p, { state: doneState, message: undefined });
        continue;
      }
      done = false;
      if (state === "busy") busy(ref);
      else canaryStarts.push({ w, p });
      continue;
    }
    const restarted = p.restartToken === pass.token;
    const landed = w.templateAnnotations[RESTART_TOKEN_ANNOTATION] === pass.token;
    // a rollback restarts back every workload the forward pass restarted, whatever an older cache shows
    const forwardRestarted = pass.direction === "r" && p.restartToken !== undefined && p.restartToken !== pass.token;
    const onTarget = onlyOn(w, pass.target) && rollout?.complete !== false && !forwardRestarted;
    const surgedByMe = p.gateway?.surgeToken === pass.token;
    const original = p.gateway?.originalReplicas;
    if (onTarget && (!restarted || landed)) {
      // a surge of any pass is undone (a rollback also undoes the forward pass's surge)
      if (p.gateway?.surgeToken !== undefined && original !== undefined && w.replicas !== original) {
        // every pod of the surged gateway runs the target: back to its own replica count
        b.write(
          { type: "scale", workload: ref, replicas: original, token: pass.token },
          `gateway ${ref.name} moved; undo the surge`,
        );
        busy(ref);
        done = false;
        continue;
      }
      if (p.state !== doneState) Object.assign(p, { state: doneState, message: undefined });
      continue;
    }
    done = false;
    if (restarted) {
      busy(ref);
      if (!landed) {
        // intent recorded, patch not observed: send the identical patch again (a no-op if it landed)
        if (targetReady) b.resend(restartAction(pass, w, p, p.restartedAt ?? b.nowIso));
      } else if (rollout?.complete && !w.revisions.includes(pass.target) && w.proxiedPods > 0) {
        // every pod is from the restarted template, and none got the target: the restart cannot move it
        Object.assign(p, {
          state: "Failed",
          message: `restarted, yet its pods run ${w.revisions.join(", ")}: ${w.restart.reason}`,
        });
        failed.push(p);
      } else if (p.restartedAt && b.input.now - Date.parse(p.restartedAt) > timeoutMs) {
        Object.assign(p, {
          state: "Failed",
          message: `rollout not finished after ${dp.rolloutTimeoutSeconds}s (${p.ready ?? "?"} available)`,
        });
        failed.push(p);
      }
      continue;
    }
    if (surgedByMe) {
      // surge asked: the restart follows once both replicas are available; it holds its slot meanwhile
      busy(ref);
      if ((w.replicas ?? 0) < 2) {
        // the surge is not observed (lost in a crash between the status write and the scale): ask it again
        b.write(
          { type: "scale", workload: ref, replicas: 2, token: pass.token },
          "a single-replica gateway never drops to zero ready pods",
        );
      } else if (targetReady && rollout?.complete && rollout.available >= 2) {
        Object.assign(p, { state: "Restarting", restartToken: pass.token, restartedAt: b.nowIso, message: undefined });
        restarts.push(restartAction(pass, w, p, b.nowIso));
      } else p.message = `surged to 2 replicas, ${rollout?.available ?? 0} available; restart follows`;
      continue;
    }
    candidates.push({ w, p });
    // invariant 3: a workload still rolling out (restarted by an earlier pass, the forward one during a
    // rollback, or before a Resume) is mid-restart: it holds a slot, and its PDB, until it is done
    if (rollout !== null && !rollout.complete) busy(ref);
  }

  if (dp.restart === "Manual" && pass.direction === "f") {
    // Alauda's "upgrade selected services": the workloads the user picked are restarted by meshlift now
    const picked = new Set((dp.restartSelected ?? []).map((r) => workloadKey(r)));
    const waiting = candidates.filter((c) => !picked.has(workloadKey(c.w)));
    candidates.splice(0, candidates.length, ...candidates.filter((c) => picked.has(workloadKey(c.w))));
    for (const { w, p } of waiting) {
      // where the namespace has no injection label the pod's own istio.io/rev decides (istio-facts §1.3):
      // a plain restart would not move it, the template label must change
      const perPod = namespaceView(snapshot, w.namespace)?.perPodRules === true;
      // the label the user is asked to change is restored on rollback
      if (perPod) p.gateway ??= { originalRevisionLabel: w.templateLabels["istio.io/rev"] ?? null };
      const message = perPod
        ? `set istio.io/rev=${pass.target} on its pod template yourself, which restarts it (manual mode)`
        : "restart it yourself (manual mode)";
      if (p.state !== "WaitingForUser" || p.message !== message) Object.assign(p, { state: "WaitingForUser", message });
    }
  }

  if (!targetReady && canaryStarts.length + candidates.length > 0)
    b.wait("RevisionNotReady", `restarts wait: revision ${pass.target} is not Ready`);
  for (const { w, p } of canaryStarts) {
    if (inFlight >= dp.maxConcurrent || !targetReady) break;
    if (pass.direction === "f") startGatewayCanary(b, pass, w, p);
    else rollBackGatewayCanary(b, pass, w, p);
    busy({ kind: w.kind, namespace: w.namespace, name: w.name });
  }
  for (const { w, p } of candidates) {
    if (inFlight >= dp.maxConcurrent || !targetReady) break;
    const ref: WorkloadRef = { kind: w.kind, namespace: w.namespace, name: w.name };
    const myPdbs = pdbs.get(workloadKey(ref)) ?? [];
    if (myPdbs.some((k) => inFlightPdbs.has(k))) {
      p.message = `waiting: another workload under PodDisruptionBudget ${myPdbs.join(", ")} is restarting`;
      continue;
    }
    const rollout = w.rollout;
    if (w.gateway !== null || pass.templateRevision(w, p) !== undefined)
      p.gateway ??= { originalRevisionLabel: w.templateLabels["istio.io/rev"] ?? null };
    if (w.gateway !== null && dp.gateways.surgeSingleReplica && w.kind === "Deployment" && w.replicas === 1) {
      p.gateway = { ...p.gateway!, originalReplicas: 1, surgeToken: pass.token };
      Object.assign(p, { state: "Restarting", message: "surging the single-replica gateway to 2 before its restart" });
      b.write(
        { type: "scale", workload: ref, replicas: 2, token: pass.token },
        "a single-replica gateway never drops to zero ready pods",
      );
      busy(ref);
      continue;
    }
    if (rollout && (!rollout.complete || rollout.available < rollout.desired)) {
      p.message = `waiting: ${rollout.available}/${rollout.desired} available before its restart`;
      continue;
    }
    Object.assign(p, { state: "Restarting", restartToken: pass.token, restartedAt: b.nowIso, message: undefined });
    restarts.push(restartAction(pass, w, p, b.nowIso));
    busy(ref);
  }
  b.restartBatch(
    restarts,
    pass.direction === "f"
      ? `wave ${wave + 1}: move proxies to ${pass.target}`
      : `rollback: move proxies back to ${pass.target}`,
  );
  return { done: done && failed.length === 0, inFlight, failed };
}

// ------------------------------------------------------------------------------ gateways: canary strategy

/** Gateways moved by the canary strategy: a second Deployment on the target, then the old one scaled to zero. */
function isCanaryGateway(spec: MeshUpgradeSpec, w: Workload, p: WorkloadProgress, direction: "f" | "r"): boolean {
  if (p.gateway?.canary) return true;
  // a rollback undoes a canary only where one was made; any other gateway goes back by restart
  if (direction === "r") return false;
  return spec.dataPlane.gateways.strategy === "Canary" && w.gateway === "injected" && w.kind === "Deployment";
}

/** `istio-ingressgateway-1-27-9` moved to 1-28-10 becomes `istio-ingressgateway-1-28-10`, not a growing chain. */
export function canaryName(name: string, from: string, to: string): string {
  const base = name.endsWith(`-${from}`) ? name.slice(0, -from.length - 1) : name;
  return `${base}-${to}`;
}

function startGatewayCanary(b: Builder, pass: RestartPass, w: Workload, p: WorkloadProgress): void {
  const name = canaryName(w.name, b.status.from!.revision, pass.target);
  p.gateway = {
    originalRevisionLabel: w.templateLabels["istio.io/rev"] ?? null,
    ...p.gateway,
    canary: name,
    originalReplicas: w.replicas ?? 1,
  };
  Object.assign(p, { state: "Restarting", message: `canary gateway ${name} on ${pass.target} starting` });
  b.write(
    {
      type: "createGatewayCanary",
      workload: { kind: w.kind, namespace: w.namespace, name: w.name },
      name,
      revision: pass.target,
    },
    "gateways.strategy Canary: the new revision's gateway runs beside the old one behind the same Service",
  );
}

/** A rollback takes the canary gateway's slot: the old Deployment goes back to its replicas first. */
function rollBackGatewayCanary(b: Builder, pass: RestartPass, w: Workload, p: WorkloadProgress): void {
  Object.assign(p, { state: "Restarting", restartToken: pass.token, restartedAt: b.nowIso, message: undefined });
  scaleGatewayBack(b, pass, w, p);
}

/** The replicas a canary gateway's old Deployment had before the cut-over. */
function gatewayReplicasBefore(w: Workload, p: WorkloadProgress): number {
  return p.gateway?.originalReplicas ?? w.replicas ?? 1;
}

function scaleGatewayBack(b: Builder, pass: RestartPass, w: Workload, p: WorkloadProgress): void {
  const original = gatewayReplicasBefore(w, p);
  b.write(
    {
      type: "scale",
      workload: { kind: w.kind, namespace: w.namespace, name: w.name },
      replicas: original,
      token: pass.token,
    },
    `rollback: gateway ${w.name} back to ${original} replica(s) before the canary goes`,
  );
}

/**
 * One step of a canary gateway: forward, the canary runs on the target with every pod Ready before the old
 * Deployment is scaled to zero (traffic is never without a Ready gateway pod); back, the old one is scaled up
 * and Ready before the canary is deleted.
 */
function canaryGatewayStep(b: Builder, pass: RestartPass, w: Workload, p: WorkloadProgress): "done" | "busy" | "start" {
  const ref: WorkloadRef = { kind: w.kind, namespace: w.namespace, name: w.name };
  const name = p.gateway?.canary;
  const canary = name ? findWorkload(b.snapshot, { kind: "Deployment", namespace: w.namespace, name }) : undefined;
  const original = gatewayReplicasBefore(w, p);
  if (pass.direction === "f") {
    if (!name) return onlyOn(w, pass.target) && w.proxiedPods > 0 ? "done" : "start";
    if (!canary) {
      if (!revisionReady(b.snapshot, pass.target)) return "busy";
      b.write(
        { type: "createGatewayCanary", workload: ref, name, revision: pass.target },
        "gateways.strategy Canary: the new revision's gateway runs beside the old one behind the same Service",
      );
      return "busy";
    }
    const ready =
      canary.rollout?.complete === true && canary.livePods > 0 && onlyOn(canary, pass.target) && canary.proxiedPods > 0;
    if (!ready) {
      p.message = `canary gateway ${name}: ${canary.rollout?.available ?? 0}/${canary.rollout?.desired ?? original} available`;
      return "busy";
    }
    if ((w.replicas ?? 0) > 0) {
      b.write(
        { type: "scale", workload: ref, replicas: 0, token: pass.token },
        `canary gateway ${name} serves on ${pass.target}: cut over`,
      );
      return "busy";
    }
    if (w.livePods > 0) return "busy";
    return "done";
  }
  // rollback: the old gateway back to its replicas, Ready, then the canary goes
  if (!name) return "done";
  if ((w.replicas ?? 0) !== original) {
    // bringing a gateway back is a restart: it waits for a slot (invariant 3); once started (the token is
    // recorded) the same scale is asked again until the cache shows it
    if (p.restartToken !== pass.token) return "start";
    scaleGatewayBack(b, pass, w, p);
    return "busy";
  }
  if (!w.rollout?.complete || (w.rollout.available ?? 0) < original) return "busy";
  if (canary) {
    b.write(
      { type: "deleteWorkload", workload: { kind: "Deployment", namespace: w.namespace, name } },
      `rollback: gateway ${w.name} serves again; remove the canary`,
    );
    return "busy";
  }
  return "done";
}

function restartAction(
  pass: RestartPass,
  w: Workload,
  p: WorkloadProgress,
  at: string,
): Extract<WriteAction, { type: "restart" }> {
  const templateRevision = pass.templateRevision(w, p);
  return {
    type: "restart",
    workload: { kind: w.kind, namespace: w.namespace, name: w.name },
    token: pass.token,
    at,
    ...(templateRevision !== undefined ? { templateRevision } : {}),
  };
}

// ------------------------------------------------------------------------------ DataPlaneUpgrade

function desiredLabels(to: string): { istioInjection: string | null; rev: string | null } {
  // one patch removes istio-injection (it beats istio.io/rev) and sets the revision: never both, never neither
  return { istioInjection: null, rev: to };
}

function labelsOf(ns: NamespaceView): { istioInjection: string | null; rev: string | null } {
  return { istioInjection: ns.labels.istioInjection, rev: ns.labels.rev };
}

function sameLabels(a: { istioInjection: string | null; rev: string | null }, b: typeof a): boolean {
  return a.istioInjection === b.istioInjection && a.rev === b.rev;
}

/** The last write intent in history whose action starts with `prefix`. */
function lastIntent(b: Builder, prefix: string): string | undefined {
  const history = b.status.history ?? [];
  for (let i = history.length - 1; i >= 0; i--)
    if (history[i].outcome === "Intended" && history[i].action.startsWith(prefix)) return history[i].action;
  return undefined;
}

/** Re-points a tag (invariant 2: only ever at a Ready revision), remembering where it pointed first. */
function moveTag(b: Builder, tag: string, revision: string, reason: string, evenIfThere = false): boolean {
  const current = b.snapshot.tags.find((t) => t.name === tag);
  if (!current || (current.revision === revision && !evenIfThere)) return false;
  if (!revisionReady(b.snapshot, revision)) {
    b.wait("RevisionNotReady", `tag ${tag} waits: revision ${revision} is not Ready`);
    return true;
  }
  const records = (b.status.tags ??= []);
  let rec = records.find((t) => t.name === tag);
  if (!rec) records.push((rec = { name: tag, originalRevision: current.revision ?? "" }));
  rec.movedAt = b.nowIso;
  b.write({ type: "moveTag", tag, revision }, reason);
  return true;
}

function forwardPass(b: Builder, refs: WorkloadRef[], wave: number): RestartPass {
  const to = b.status.to!.revision;
  return {
    refs,
    target: to,
    token: restartToken(b.input.upgrade.uid, "f", wave),
    direction: "f",
    templateRevision: (w) => {
      const ns = namespaceView(b.snapshot, w.namespace);
      // the pod's istio.io/rev decides only where the namespace has no injection label (istio-facts §1.3)
      return ns?.perPodRules || w.templateLabels["istio.io/rev"] !== undefined ? to : undefined;
    },
  };
}

/** Switches and restarts one wave; true when every workload in it runs the target. */
function runWave(
  b: Builder,
  spec: MeshUpgradeSpec,
  wave: { index: number; namespaces: string[]; workloads: WorkloadRef[] },
  wp: WaveProgress,
): boolean {
  const from = b.status.from!.revision;
  const to = b.status.to!.revision;
  const tag = movedTag(spec);
  if (wp.state === "Pending") {
    wp.state = "Running";
    wp.startedAt = b.nowIso;
    // the gate's clock starts before the first restart: restarts and the latency baseline count from it
    const gates = (b.status.gates ??= []);
    if (!gates.some((g) => g.wave === wave.index)) gates.push(newGateStatus(wave.index, b.input.now));
    b.history({ action: `wave ${wave.index + 1} started`, reason: `namespaces ${wave.namespaces.join(", ")}` });
  }
  b.status.progress!.currentWave = wave.index;
  let switching = false;
  for (const name of wave.namespaces) {
    const ns = namespaceView(b.snapshot, name);
    const np = (b.status.progress!.namespaces ??= []).find((n) => n.name === name);
    if (!ns || !np) continue;
    const switched = np.originalLabels !== undefined && sameLabels(labelsOf(ns), desiredLabels(to));
    const mode = switched ? "label" : switchMode(ns, from, tag);
    if (mode === "label" && !switched) {
      if (!revisionReady(b.snapshot, to)) {
        b.wait("RevisionNotReady", `namespace ${name} waits: revision ${to} is not Ready`);
        switching = true;
        continue;
      }
      np.originalLabels ??= labelsOf(ns);
      if (!sameLabels(labelsOf(ns), desiredLabels(to))) {
        b.write(
          { type: "labelNamespace", namespace: name, labels: desiredLabels(to) },
          `wave ${wave.index + 1}: new pods in ${name} get revision ${to}`,
        );
        np.state = "Switched";
        switching = true;
        continue;
      }
    }
    if (mode === "none" && np.state === "Pending") {
      np.state = "Done";
      np.originalLabels ??= labelsOf(ns);
    } else if (np.state === "Pending") {
      np.state = "Switched";
      np.originalLabels ??= labelsOf(ns);
    }
  }
  if (switching) return false;
  const result = restartPass(b, spec, forwardPass(b, wave.workloads, wave.index), wave.index);
  for (const name of wave.namespaces) {
    const np = b.status.progress!.namespaces!.find((n) => n.name === name);
    if (np && np.state !== "Done") np.state = result.done ? "Done" : "Restarting";
  }
  if (result.failed.length > 0) {
    const names = result.failed.map((p) => `${p.kind} ${p.namespace}/${p.name}: ${p.message ?? "failed"}`);
    wp.state = "Failed";
    wp.message = names.join("; ");
    b.pause("WorkloadFailed", `wave ${wave.index + 1} failed: ${names.join("; ")}`);
    return false;
  }
  return result.done && verifyWave(b, spec, wave.index, wp);
}

/**
 * The wave's verification gate (health, then metric analysis): asks the executor for a gate step
 * (needGate), records what it returns, and acts on the verdict — pause or roll back on failure.
 */
function verifyWave(b: Builder, spec: MeshUpgradeSpec, index: number, wp: WaveProgress): boolean {
  const gates = (b.status.gates ??= []);
  let gate: GateStatus | undefined = gates.find((g) => g.wave === index);
  if (!gate) {
    gate = newGateStatus(index, wp.startedAt ? Date.parse(wp.startedAt) : b.input.now);
    gates.push(gate);
  }
  const step = b.input.gate?.wave === index ? b.input.gate : undefined;
  if (step) {
    gates[gates.indexOf(gate)] = gate = step.status;
  }
  wp.state = "Verifying";
  if (gate.phase === "Passed") return true;
  if (gate.phase !== "Running") {
    const message = `wave ${index + 1} failed verification (${gate.phase}): ${gate.message}`;
    wp.state = "Failed";
    wp.message = message;
    b.history({
      action: `wave ${index + 1} verification ${gate.phase}`,
      reason: gate.message,
      measurements: historyMeasurements(gate),
    });
    if (spec.verification.onFailure === "Rollback") {
      b.status.rollback = { from: "DataPlaneUpgrade", reason: message, at: b.nowIso, wave: index };
      b.setStage("RollingBack", `${message}; rolling back (verification.onFailure Rollback)`);
    } else b.pause("VerificationFailed", message);
    return false;
  }
  if (!step) {
    b.needGate = { wave: index };
    return false;
  }
  b.status.message = `wave ${index + 1}: verifying — ${gate.message}`;
  if (step.next.type === "wait") b.requeue(Math.max(200, step.next.untilMs - b.input.now));
  else b.requeue(REQUEUE_AFTER_WRITE_MS);
  return false;
}

function dataPlane(b: Builder, spec: MeshUpgradeSpec): void {
  const from = b.status.from!.revision;
  const to = b.status.to!.revision;
  const tag = movedTag(spec);
  if (tag && moveTag(b, tag, to, `namespaces using tag ${tag} get revision ${to} for new pods`)) return;
  const waves = b.status.plan?.waves ?? [];
  const progress = (b.status.progress ??= {});
  const wavesProgress: WaveProgress[] = (progress.waves ??= waves.map((w) => ({ index: w.index, state: "Pending" })));
  for (const wave of waves) {
    const wp = wavesProgress[wave.index];
    if (wp.state === "Done") continue;
    if (wp.state === "WaitingForApproval") {
      if (!consumeProceed(b, spec, `wave ${wave.index + 1} approved`)) {
        b.wait(
          "WaitingForApproval",
          `wave ${wave.index + 1} is done; set spec.action Proceed (with a new actionNonce) to go on`,
        );
        return;
      }
      wp.state = "Done";
      continue;
    }
    if (!runWave(b, spec, wave, wp)) {
      if (b.status.stage === "DataPlaneUpgrade")
        b.status.message = `wave ${wave.index + 1}/${waves.length} in progress`;
      return;
    }
    wp.completedAt = b.nowIso;
    progress.completedWaves = wavesProgress.filter((w) => w.state === "Done").length + 1;
    const gate = b.status.gates?.find((g) => g.wave === wave.index);
    b.history({
      action: `wave ${wave.index + 1} done`,
      reason: `every proxy in ${wave.namespaces.join(", ")} runs ${to}${gate ? `; verified: ${gate.message}` : ""}`,
      ...(gate && gate.measurements.length > 0 ? { measurements: historyMeasurements(gate) } : {}),
    });
    b.event("Normal", "WaveDone", `wave ${wave.index + 1}/${waves.length} runs ${to}`);
    const last = wave.index === waves.length - 1;
    if (spec.approval.mode === "PerWave" && !last) {
      wp.state = "WaitingForApproval";
      b.wait(
        "WaitingForApproval",
        `wave ${wave.index + 1} is done; set spec.action Proceed (with a new actionNonce) to go on`,
      );
      return;
    }
    wp.state = "Done";
  }
  // guard: leave DataPlaneUpgrade only when nothing anywhere runs the source revision (DESIGN state machine)
  const stragglers = proxiesOnRevision(b.snapshot, from);
  const naked = stragglers.filter((s) => s.kind === "Pod");
  if (spec.dataPlane.nakedPods === "Delete" && naked.length > 0) {
    for (const s of naked)
      b.write({ type: "deletePod", namespace: s.namespace, name: s.name }, `naked pod on ${from} (nakedPods: Delete)`);
  }
  b.status.stragglers = stragglerList(stragglers);
  if (stragglers.length > 0) {
    b.wait(
      "Stragglers",
      `${stragglers.length} proxy(ies) still run ${from}; restart, re-inject or delete them (see status.stragglers), or roll back`,
    );
    return;
  }
  if (spec.approval.mode === "BeforeOffline" && !consumeProceed(b, spec, `take ${from} offline`)) {
    b.wait(
      "WaitingForApproval",
      `every proxy runs ${to}; set spec.action Proceed to take revision ${from} offline (no rollback after this)`,
    );
    return;
  }
  b.status.offline = { revision: from };
  b.status.message = undefined;
  b.condition("Waiting", "False", "DataPlaneDone", `every proxy runs ${to}`);
  b.setStage("OldControlPlaneOffline", `every proxy runs ${to}; taking ${from} offline`);
  oldControlPlaneOffline(b, spec);
}

// ------------------------------------------------------------------------------ offline stages

/**
 * Removes `revision` once a fresh LIST (not the cache) and istiod's syncz have shown zero proxies on it
 * for the grace period (DESIGN: remove a revision only after a fresh LIST shows zero proxies on it).
 */
function takeOffline(
  b: Builder,
  revision: string,
  graceSeconds: number,
  remove: () => void,
  manual: string | null,
): "gone" | "waiting" {
  const offline = (b.status.offline ??= { revision });
  if (offline.revision !== revision) Object.assign(offline, { revision, zeroSince: undefined, removedAt: undefined });
  const inSnapshot =
    b.snapshot.revisions.some((r) => r.name === revision) ||
    b.snapshot.orphanRevisions.some((r) => r.name === revision);
  if (!inSnapshot && manual !== null) return "gone";
  const fresh = b.input.fresh;
  if (!fresh || fresh.revision !== revision) {
    b.needFresh = { revision };
    return "waiting";
  }
  // after meshlift's removal, gone means none of the revision's objects is left (an interrupted removal
  // leaves service accounts, roles, ConfigMaps that the snapshot does not show): the removal is sent again
  const present = inSnapshot || (offline.removedAt !== undefined && (fresh.remainingObjects ?? 0) > 0);
  if (!present && offline.removedAt) return "gone";
  offline.checkedAt = new Date(fresh.takenAt).toISOString();
  b.status.stragglers = stragglerList(fresh.stragglers);
  if (fresh.stragglers.length > 0) {
    offline.zeroSince = undefined;
    b.wait(
      "Stragglers",
      `revision ${revision} still has ${fresh.stragglers.length} proxy(ies) (fresh LIST): ${fresh.stragglers
        .slice(0, 5)
        .map((s) => `${s.kind} ${s.namespace}/${s.name}`)
        .join(", ")}${fresh.stragglers.length > 5 ? ", …" : ""}; it is not removed until they are gone`,
    );
    return "waiting";
  }
  offline.zeroSince ??= offline.checkedAt;
  const waited = b.input.now - Date.parse(offline.zeroSince);
  if (waited < graceSeconds * 1000) {
    b.wait(
      "GracePeriod",
      `zero proxies on ${revision}; removing it after ${graceSeconds}s with none`,
      Math.max(500, graceSeconds * 1000 - waited),
    );
    return "waiting";
  }
  if (!present) return "gone";
  if (manual !== null) {
    b.wait("WaitingForManualDecommission", manual);
    return "waiting";
  }
  if (!offline.removedAt || b.input.now - Date.parse(offline.removedAt) > REMOVAL_RETRY_MS) {
    offline.removedAt = b.nowIso;
    remove();
  } else b.wait("Removing", `removing revision ${revision}`, 2_000);
  return "waiting";
}

function oldControlPlaneOffline(b: Builder, spec: MeshUpgradeSpec): void {
  const from = b.status.from!.revision;
  const to = b.status.to!.revision;
  // every tag still on the old revision (the default one included) follows the mesh to the new one
  // first: removing the revision would otherwise leave tags that inject nothing (invariant 2)
  let moving = false;
  for (const p of b.status.progress?.workloads ?? []) {
    if (!p.gateway?.canary) continue;
    const old = findWorkload(b.snapshot, p);
    if (old && (old.replicas ?? 0) === 0 && old.livePods === 0) {
      b.write(
        { type: "deleteWorkload", workload: { kind: p.kind, namespace: p.namespace, name: p.name } },
        `gateway ${p.name} was replaced by ${p.gateway.canary} (Canary strategy)`,
      );
      moving = true;
    }
  }
  for (const t of b.snapshot.tags) {
    if (t.revision === from)
      moving = moveTag(b, t.name, to, `revision ${from} goes offline; tag ${t.name} follows to ${to}`) || moving;
  }
  if (moving) return;
  const manual =
    spec.decommission.mode === "Manual"
      ? `every proxy left ${from}: remove it yourself (istioctl uninstall --revision ${from}, or helm delete istiod-${from}); meshlift completes once it is gone`
      : null;
  const state = takeOffline(
    b,
    from,
    spec.decommission.graceSeconds,
    () =>
      b.write(
        { type: "removeRevision", revision: from, how: b.input.install?.sourceIsSail ? "sail" : "istioctl" },
        `a fresh LIST shows no proxy on ${from} for ${spec.decommission.graceSeconds}s`,
      ),
    manual,
  );
  if (state === "gone") {
    b.status.message = `every proxy runs ${to}; revision ${from} is gone`;
    b.condition("Waiting", "False", "Completed", b.status.message);
    b.setStage("Completed", b.status.message);
  }
}

function rollingBack(b: Builder, spec: MeshUpgradeSpec): void {
  const from = b.status.from!.revision;
  const to = b.status.to!.revision;
  let switching = false;
  // a cache older than a forward write shows the original state too: once meshlift moved a tag or
  // relabelled a namespace, the undo is written (an idempotent patch) before the cache is believed
  for (const rec of b.status.tags ?? []) {
    if (!rec.movedAt) continue;
    const last = lastIntent(b, `move tag ${rec.name} to `);
    const undo = last !== undefined && last !== `move tag ${rec.name} to ${rec.originalRevision}`;
    switching =
      moveTag(b, rec.name, rec.originalRevision, `rollback: tag ${rec.name} back to ${rec.originalRevision}`, undo) ||
      switching;
  }
  for (const np of b.status.progress?.namespaces ?? []) {
    const ns = namespaceView(b.snapshot, np.name);
    if (!ns || !np.originalLabels) continue;
    const last = lastIntent(b, `label namespace ${np.name} `);
    const undone = last === undefined || last === `label namespace ${np.name} ${labelText(np.originalLabels)}`;
    if (undone && sameLabels(labelsOf(ns), np.originalLabels)) continue;
    if (!revisionReady(b.snapshot, from)) {
      b.wait("RevisionNotReady", `rollback waits: revision ${from} is not Ready`);
      return;
    }
    b.write(
      { type: "labelNamespace", namespace: np.name, labels: np.originalLabels },
      `rollback: ${np.name} back to ${labelText(np.originalLabels)}`,
    );
    switching = true;
  }
  if (switching) return;
  // the wave that failed verification goes back first, then everything else
  const failedWave = b.status.rollback?.wave;
  const refs = [...(b.status.progress?.workloads ?? [])]
    .sort((x, y) => Number(y.wave === failedWave) - Number(x.wave === failedWave))
    .map(({ kind, namespace, name }) => ({ kind, namespace, name }));
  const pass: RestartPass = {
    refs,
    target: from,
    token: restartToken(b.input.upgrade.uid, "r", null),
    direction: "r",
    templateRevision: (_w, p) =>
      p.gateway && p.gateway.originalRevisionLabel !== undefined ? p.gateway.originalRevisionLabel : undefined,
  };
  // failed workloads of the forward pass are part of the rollback
  for (const p of b.status.progress?.workloads ?? []) if (p.state === "Failed") p.state = "Restarting";
  const result = restartPass(b, spec, pass, 0);
  for (const np of b.status.progress?.namespaces ?? []) if (result.done) np.state = "RolledBack";
  if (!result.done) {
    if (result.failed.length > 0) {
      // a rollback is not paused or abandoned: it says what holds it and goes on once that is fixed
      const held = result.failed.map((p) => `${p.kind} ${p.namespace}/${p.name} (${p.message ?? "failed"})`);
      b.wait(
        "RollbackBlocked",
        `rollback waits: ${held.length} workload(s) did not come back on ${from}: ${held.join("; ")} — make their pods Ready on ${from} (or delete the stuck ones); the rollback goes on by itself`,
      );
      return;
    }
    b.status.message = `rolling back: ${result.inFlight} workload(s) restarting onto ${from}`;
    return;
  }
  const left = proxiesOnRevision(b.snapshot, to);
  b.status.stragglers = stragglerList(left);
  if (left.length > 0) {
    b.wait(
      "Stragglers",
      `${left.length} proxy(ies) still run ${to} (see status.stragglers); restart or delete them to finish the rollback`,
    );
    return;
  }
  b.setStage("NewControlPlaneOffline", `every proxy runs ${from} again; taking ${to} offline`);
  newControlPlaneOffline(b, spec);
}

function newControlPlaneOffline(b: Builder, spec: MeshUpgradeSpec): void {
  const from = b.status.from!.revision;
  const to = b.status.to!.revision;
  const mode = spec.install.mode;
  const finish = (message: string) => {
    b.status.message = message;
    b.condition("Waiting", "False", "RolledBack", message);
    b.setStage("RolledBack", message);
  };
  if (mode === "Adopt") {
    finish(
      `every proxy runs ${from} again; revision ${to} was installed by you and is left in place (remove it with istioctl uninstall --revision ${to})`,
    );
    return;
  }
  const recorded = (b.status.installedObjects ?? []).length > 0;
  // what meshlift never asked to install (the target was there before the upgrade) it never removes
  const installAsked = (b.status.history ?? []).some(
    (h) => h.outcome === "Intended" && h.action.startsWith(`install revision ${to} `),
  );
  if (!recorded && !installAsked) {
    finish(
      b.snapshot.revisions.some((r) => r.name === to)
        ? `every proxy runs ${from} again; revision ${to} was there before the upgrade and is left in place (remove it with istioctl uninstall --revision ${to})`
        : `every proxy runs ${from} again; nothing was installed`,
    );
    return;
  }
  const state = takeOffline(
    b,
    to,
    0,
    () =>
      mode === "Manifests" && !recorded
        ? // the install was made but its record lost (a crash before the status write): remove by revision label
          b.write(
            { type: "removeRevision", revision: to, how: "istioctl" },
            `rollback: remove revision ${to} as istioctl uninstall --revision does (what was installed was not recorded)`,
          )
        : b.write(
            { type: "removeInstalled", revision: to, mode },
            `rollback: remove what meshlift installed for ${to}`,
          ),
    null,
  );
  if (state === "gone") finish(`every proxy runs ${from} again; revision ${to} is removed`);
}

// ------------------------------------------------------------------------------ progress

function summarize(b: Builder): void {
  const st = b.status;
  const progress = st.progress;
  if (!progress || !st.from || !st.to) return;
  const from = st.from.revision;
  const to = st.to.revision;
  for (const np of progress.namespaces ?? []) {
    const ns = namespaceView(b.snapshot, np.name);
    if (!ns) continue;
    const onNew = ns.proxiesByRevision[to] ?? 0;
    const onOld = ns.proxiesByRevision[from] ?? 0;
    np.proxies = { old: onOld, new: onNew, none: Math.max(0, ns.pods - ns.proxies) };
  }
  const workloads = progress.workloads ?? [];
  const moved = workloads.filter(
    (w) => w.state === "RolledOut" || w.state === "Verified" || w.state === "Skipped",
  ).length;
  const waves = st.plan?.waves.length ?? 0;
  const doneWaves = (progress.waves ?? []).filter((w) => w.state === "Done").length;
  progress.completedWaves = doneWaves;
  if (st.stage === "RollingBack" || st.stage === "NewControlPlaneOffline" || st.stage === "RolledBack") {
    const back = workloads.filter(
      (w) => w.state === "RolledBack" || w.state === "Skipped" || w.state === "Pending",
    ).length;
    progress.summary = `rollback: ${back}/${workloads.length} workloads on ${from}`;
  } else {
    progress.summary = `wave ${Math.min(doneWaves + 1, waves)}/${waves}, ${moved}/${workloads.length} workloads`;
  }
}

// ------------------------------------------------------------------------------ decide

/** The next status and writes for one MeshUpgrade. Pure: see the file comment. */
export function decide(input: EngineInput): Decision {
  const b = new Builder(input);
  const stage = b.status.stage;
  if (TERMINAL_STAGES.includes(stage)) {
    handleAction(b, parsedSpec(input));
    return b.done();
  }
  if (stage === "Pending" || !b.status.from || !b.status.to) {
    start(b);
    if (b.status.stage === "ControlPlaneUpgrade") {
      const spec = parsedSpec(input)!;
      handleAction(b, spec);
      if (b.status.stage === "ControlPlaneUpgrade") controlPlane(b, spec);
      else if (b.status.stage === "RollingBack") rollingBack(b, spec);
    }
    summarize(b);
    return b.done();
  }
  const spec = parsedSpec(input);
  if (!spec) {
    // the spec was edited into something invalid mid-upgrade: touch nothing until it is fixed
    b.wait("InvalidSpec", "spec is no longer valid; fix it (kubectl edit mu) — nothing is changed meanwhile");
    return b.done();
  }
  handleAction(b, spec);
  switch (b.status.stage) {
    case "ControlPlaneUpgrade":
      controlPlane(b, spec);
      break;
    case "DataPlaneUpgrade":
      dataPlane(b, spec);
      break;
    case "OldControlPlaneOffline":
      oldControlPlaneOffline(b, spec);
      break;
    case "RollingBack":
      rollingBack(b, spec);
      break;
    case "NewControlPlaneOffline":
      newControlPlaneOffline(b, spec);
      break;
    case "Paused":
      b.status.message ??= "paused — set spec.action to Resume or Rollback";
      b.requeue(REQUEUE_ACTIVE_MS);
      break;
    default:
      break;
  }
  summarize(b);
  return b.done();
}

function parsedSpec(input: EngineInput): MeshUpgradeSpec | null {
  const parsed = meshUpgradeSpecSchema.safeParse(input.upgrade.spec);
  return parsed.success ? parsed.data : null;
}

/** Stages in which meshlift moves the mesh forward (used by surfaces to enable buttons). */
export function isForwardActive(stage: UpgradeStage): boolean {
  return ACTIVE_FORWARD.includes(stage);
}
