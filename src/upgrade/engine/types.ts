// The engine's vocabulary: what decide() reads (EngineInput) and what it asks the executor to do
// (Decision). Everything here is plain data, so decide() stays pure and property-testable.
import type { SpecError } from "../api/validate.js";
import type { Catalog } from "../../catalog/catalog.js";
import type { MeshSnapshot, ObjectRef } from "../../mesh/schema.js";
import type { Straggler } from "../../mesh/stragglers.js";
import type { InstallMode, MeshUpgradeStatus, UpgradeStage } from "../api/schema.js";
import type { GateNext } from "../gates/index.js";
import type { GateStatus } from "../gates/status.js";

/** The pod-template annotation that carries meshlift's restart token (one restart per workload per wave). */
export const RESTART_TOKEN_ANNOTATION = "meshlift.io/restart-token";
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

export interface WorkloadRef {
  kind: string;
  namespace: string;
  name: string;
}

/** What the executor observed of the target revision's installation, beyond the snapshot. */
export interface InstallObservation {
  /** Sail mode: the IstioRevision named for the target (null: not served or absent) */
  sail?: { exists: boolean; ready: boolean; message: string } | null;
  /** Sail mode: the IstioRevision of the source revision exists (then removal deletes it) */
  sourceIsSail?: boolean;
  /** Manifests mode: manifests are available to apply (files given to the CLI, or the ConfigMap exists) */
  manifestsAvailable?: boolean;
}

/** The result of a fresh LIST (not the cache) of every pod, plus istiod's syncz, for one revision. */
export interface FreshCheck {
  revision: string;
  takenAt: number;
  stragglers: Straggler[];
  /** objects of the revision still in the cluster (what `istioctl uninstall --revision` would delete) */
  remainingObjects?: number;
}

export interface EngineInput {
  upgrade: {
    name: string;
    uid: string;
    generation: number;
    createdAt: string | null;
    /** the spec as stored (validated by decide, never trusted) */
    spec: unknown;
    status: MeshUpgradeStatus | undefined;
    /** who last set spec.action, from managedFields, when known */
    actionBy?: string;
  };
  snapshot: MeshSnapshot;
  catalog: Catalog;
  /** every namespace's labels, to resolve a namespace label selector */
  namespaceLabels?: Record<string, Record<string, string>>;
  install?: InstallObservation;
  fresh?: FreshCheck;
  /** one step of a wave's verification gate, taken because the previous decision asked for it */
  gate?: { wave: number; status: GateStatus; next: GateNext };
  /** revisions with a ConfigMap labelled meshlift.io/manifests-revision (Manifests mode without configMapRef) */
  manifestRevisions?: string[];
  /** the CLI passes manifests as files */
  manifestsFromFiles?: boolean;
  /**
   * Prometheus' own parser on the spec's metric queries, asked once while Pending: a query it refuses is
   * refused like any invalid spec, before anything is changed. Unset: not asked (no Prometheus in the spec).
   */
  queryCheck?: { errors: SpecError[]; unchecked: string[] };
  /** who runs the engine: "operator/<pod>" or "cli/<user>" */
  actor: string;
  now: number;
}

export type WriteAction =
  | { type: "install"; mode: Exclude<InstallMode, "Adopt">; revision: string; version: string }
  | {
      type: "labelNamespace";
      namespace: string;
      labels: { istioInjection: string | null; rev: string | null };
    }
  | { type: "moveTag"; tag: string; revision: string }
  | {
      type: "restart";
      workload: WorkloadRef;
      token: string;
      at: string;
      /** also set (string) or remove (null) the pod template's istio.io/rev label */
      templateRevision?: string | null;
    }
  | {
      type: "scale";
      workload: WorkloadRef;
      replicas: number;
      /** the restart pass the surge belongs to: the same scale in another pass is another intent */
      token: string;
    }
  | { type: "deletePod"; namespace: string; name: string }
  /** a second gateway Deployment on `revision` beside `workload`, same selector, same Service (istio-facts §5) */
  | { type: "createGatewayCanary"; workload: WorkloadRef; name: string; revision: string }
  | { type: "deleteWorkload"; workload: WorkloadRef }
  | { type: "removeRevision"; revision: string; how: "istioctl" | "sail" }
  | { type: "removeInstalled"; revision: string; mode: InstallMode };

export interface EngineEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface Decision {
  /** the status to record before any write is made (it holds the writes' intents in history) */
  status: MeshUpgradeStatus;
  writes: WriteAction[];
  /** the executor must run a fresh LIST for this revision and call decide() again with `fresh` */
  needFresh?: { revision: string };
  /** the executor must take a step of this wave's verification gate and call decide() again with `gate` */
  needGate?: { wave: number };
  /** look again after this long even if nothing changes (null: only on change) */
  requeueAfterMs: number | null;
  events: EngineEvent[];
}

export function refOf(w: WorkloadRef): ObjectRef {
  return { kind: w.kind, namespace: w.namespace, name: w.name };
}

export function workloadKey(w: WorkloadRef): string {
  return `${w.kind}/${w.namespace}/${w.name}`;
}

export type { UpgradeStage };
