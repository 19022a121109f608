// The console's HTTP contract: what /api/* answers and what /api/events streams. Types only and
// self-contained (no imports), so the browser app (web/) imports them with `import type` and server
// and browser cannot drift apart; the server assigns its domain values to these types, so the
// compiler checks they still fit.

/** Every error the API answers: what was wrong, and how to fix it when there is a way. */
export interface ApiErrorBody {
  error: {
    /** HTTP status, repeated for clients that lose it */
    status: number;
    /** machine-readable: Unauthorized, Forbidden, Invalid, NotFound, CsrfRejected, … */
    reason: string;
    message: string;
    fix?: string;
    /** per-field problems of a refused input (MeshUpgrade spec validation) */
    fields?: { field: string; message: string; fix: string }[];
  };
}

export interface SessionUser {
  /** from SelfSubjectReview or TokenReview; null when the cluster would not say */
  username: string | null;
  groups: string[];
}

/** A verdict on one action for this user, asked of Kubernetes (SelfSubjectAccessReview). */
export interface Permission {
  allowed: boolean;
  /** why not, in words a user can act on; null when allowed */
  reason: string | null;
}

export interface Permissions {
  createUpgrade: Permission;
  /** patch spec.action of a MeshUpgrade (Proceed, Rollback, Pause, Resume) */
  actOnUpgrade: Permission;
  /** rollout restart of Deployments, StatefulSets and DaemonSets */
  restartWorkloads: Permission;
}

export interface SessionInfo {
  user: SessionUser;
  /** send back as the X-Meshlift-CSRF header on every POST/PATCH/PUT/DELETE */
  csrfToken: string;
  expiresAt: string;
  permissions: Permissions;
}

export interface RevisionCard {
  name: string;
  namespace: string;
  version: string | null;
  ready: boolean;
  replicas: { desired: number; ready: number };
  isDefault: boolean;
  tags: string[];
  /** live pods whose proxy this revision injected */
  proxies: number;
  /** proxies connected per istiod syncz; null when istiod did not answer */
  connectedProxies: number | null;
}

export interface UpgradeOffer {
  version: string;
  kind: "patch" | "minor" | "skip-one-minor";
  released: string;
  recommended: boolean;
  endOfLife: { date: string | null; estimated: boolean; reached: boolean; daysLeft: number | null };
  kubernetes: { status: "supported" | "tested-only" | "unsupported" | "unknown-release"; message: string };
}

/** The "new version available" banner: what runs, what the catalog offers, and whether it suits this Kubernetes. */
export interface VersionBanner {
  current: string;
  currentEndOfLife: UpgradeOffer["endOfLife"];
  currentKubernetes: UpgradeOffer["kubernetes"];
  newVersionAvailable: boolean;
  newestVersion: string | null;
  recommended: string | null;
  offers: UpgradeOffer[];
  beyondOneStep: { version: string; hops: string[] }[];
}

/** What "old" and "new" proxies mean in the namespaces table. */
export interface ProxyComparison {
  /** "upgrade": an active MeshUpgrade's from/to; "newest": the newest installed revision vs the others */
  basis: "upgrade" | "newest";
  newRevision: string | null;
  oldRevisions: string[];
  upgrade: string | null;
}

export interface MeshOverview {
  /** the live view's version: every change the server applies increments it */
  version: number;
  takenAt: string;
  kubernetesVersion: string;
  revisions: RevisionCard[];
  orphanRevisions: { name: string; proxies: number }[];
  tags: { name: string; revision: string | null; namespaces: number }[];
  proxiesByVersion: Record<string, number>;
  proxiesByRevision: Record<string, number>;
  totals: {
    namespaces: number;
    /** namespaces where a new pod gets a sidecar */
    injectedNamespaces: number;
    workloads: number;
    gateways: number;
    proxies: number;
    staleProxies: number;
    podsLosingSidecar: number;
  };
  comparison: ProxyComparison;
  banner: VersionBanner | null;
  /** sources that could not be read (e.g. an istiod that did not answer syncz) */
  notes: string[];
}

export interface NamespaceRow {
  key: string;
  /** live-view version at which this row last changed (Headlamp: the newer of two copies wins) */
  rv: number;
  name: string;
  /** "istio-injection=enabled, istio.io/rev=prod-stable" or "" */
  injectionLabel: string;
  /** revision a new pod here gets; null: no sidecar */
  effectiveRevision: string | null;
  /** the tag that resolved to it, if any */
  tag: string | null;
  /** no namespace label: each pod's labels decide */
  perPodRules: boolean;
  pods: number;
  proxies: number;
  proxiesOld: number;
  proxiesNew: number;
  stale: number;
  conflicts: string[];
}

export interface WorkloadRow {
  /** "<namespace>/<Kind>/<name>" */
  key: string;
  rv: number;
  kind: string;
  namespace: string;
  name: string;
  livePods: number;
  replicas: number | null;
  proxiedPods: number;
  revisions: string[];
  versions: string[];
  /** what a restart would get: a revision, "manual proxy" or "no sidecar" */
  onRestart: string;
  flags: string[];
  gateway: string | null;
  /** Deployment, StatefulSet and DaemonSet roll out on restart; other kinds cannot be restarted */
  restartable: boolean;
}

export type RowCollection = "namespaces" | "workloads";

export interface RowPage<Row> {
  total: number;
  offset: number;
  items: Row[];
  version: number;
}

/** A precheck finding (src/checks/finding.ts Finding): what is wrong, where, and how to fix it. */
export interface FindingView {
  id: string;
  severity: "error" | "warning" | "info";
  objects: { kind: string; namespace?: string; name: string }[];
  message: string;
  fix: string;
}

export interface PrecheckResult {
  target: { version: string; revision: string };
  kubernetesVersion: string;
  currentVersions: string[];
  counts: { errors: number; warnings: number; info: number };
  findings: FindingView[];
  version: number;
}

/** The console's buttons on an upgrade: Done is Proceed at an approval point, Cancel is Rollback. */
export type ConsoleAction = "Proceed" | "Rollback" | "Pause" | "Resume" | "Done" | "Cancel";

/** Whether the engine accepts an action now (src/upgrade/engine/guards.ts), and what it does or why not. */
export interface ActionVerdict {
  allowed: boolean;
  reason: string;
}

/** Something that still runs the old revision, and what the user can do about it. */
export interface StragglerView {
  kind: string;
  namespace: string;
  name: string;
  why: string;
  /** what to do, in words */
  action: string;
  /** a command that does it, when one does */
  command: string | null;
}

export interface GatewayView {
  kind: string;
  namespace: string;
  name: string;
  /** injected: a Deployment whose proxy is injected; legacy: the proxy is in the template; gateway-api: managed */
  type: "injected" | "legacy" | "gateway-api";
  replicas: number | null;
  livePods: number;
  revisions: string[];
  /** its state in the upgrade (null: not in the plan) */
  state: string | null;
  ready: string | null;
  /** Canary strategy: the Deployment meshlift created on the target revision */
  canary: string | null;
  /** replicas before meshlift surged a single-replica gateway to two */
  surgedFrom: number | null;
  message: string | null;
}

/** What the console adds to each MeshUpgrade it serves: the actions the engine accepts now, and more. */
export interface UpgradeConsoleView {
  actions: Record<ConsoleAction, ActionVerdict>;
  /** where the engine waits for Done (spec.action Proceed), if it does */
  approval:
    { kind: "wave"; wave: number; waves: number } | { kind: "offline"; revision: string; target: string } | null;
  /** an action set in spec that the engine has not acknowledged yet */
  pendingAction: { action: string; nonce?: string } | null;
  stragglers: StragglerView[];
  gateways: { include: boolean; strategy: string; surgeSingleReplica: boolean; items: GatewayView[] };
  restart: { mode: "Automatic" | "Manual"; selected: { kind: string; namespace: string; name: string }[] };
}

/** A MeshUpgrade as the API server serves it (the schema lives in src/upgrade/api/schema.ts). */
export interface MeshUpgradeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    generation?: number;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  spec: Record<string, any>;
  status?: Record<string, any>;
  /** added by the console (never stored in the cluster) */
  console?: UpgradeConsoleView;
}

export interface PlannedWorkloadView {
  kind: string;
  namespace: string;
  name: string;
  /** injected | legacy | gateway-api, or null for an application workload */
  gateway: string | null;
  livePods: number;
}

/** The answer of POST /api/upgrades?dryRun=true: what Start would create and do; nothing is created. */
export interface PlanPreview {
  /** Start would create it: the spec is valid for this mesh and Kubernetes accepted a dry-run create */
  valid: boolean;
  /** every refused field, with its fix */
  errors: { field: string; message: string; fix: string }[];
  name: string | null;
  from: { revision: string; version: string } | null;
  to: { revision: string; version: string } | null;
  pathKind: string | null;
  waves: {
    index: number;
    namespaces: { name: string; workloads: PlannedWorkloadView[] }[];
    gateways: PlannedWorkloadView[];
  }[];
  /** proxies on the source revision no wave moves: they will be stragglers before offline */
  notMoved: { kind: string; namespace: string; name: string; why: string }[];
  findings: FindingView[];
  counts: { errors: number; warnings: number; info: number };
  /** the server-side dry-run create with your token (null when the spec was refused first) */
  dryRun: { ok: boolean; status: number; message: string } | null;
  /** the spec with defaults applied and the source and target resolved */
  resolved: Record<string, any> | null;
}

/** What the start form offers: the catalog's upgrades, and what this mesh has for them. */
export interface UpgradeFormOptions {
  current: string | null;
  offers: UpgradeOffer[];
  /** revisions whose rendered manifests a ConfigMap labelled meshlift.io/manifests-revision holds */
  manifestRevisions: string[];
  tags: { name: string; revision: string | null }[];
  /** namespaces with sidecar injection or proxies: candidates for waves and canaries */
  namespaces: string[];
}

export interface UpgradeList {
  /** false while the MeshUpgrade CRD is not installed in the cluster */
  crdInstalled: boolean;
  items: MeshUpgradeObject[];
}

export interface RestartResult {
  workload: { kind: string; namespace: string; name: string };
  ok: boolean;
  status: number;
  message: string | null;
}

/** Server-sent events on /api/events; `event:` is the type, `data:` the JSON. */
export type LiveEvent =
  /** first message of every stream: everything a page needs to start, then only changes follow */
  | { type: "hello"; overview: MeshOverview; upgrades: UpgradeList }
  | { type: "overview"; overview: MeshOverview }
  | {
      type: "rows";
      collection: RowCollection;
      version: number;
      upserts: (NamespaceRow | WorkloadRow)[];
      /** keys among upserts that are new: rows after them move down a place */
      added: string[];
      deletes: string[];
    }
  | { type: "upgrade"; change: "added" | "updated" | "deleted"; object: MeshUpgradeObject }
  | { type: "upgrades"; upgrades: UpgradeList }
  /** the session ended or lost read access: the stream closes after this */
  | { type: "session-ended"; reason: string };
