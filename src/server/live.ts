// The live mesh view behind the console: list once, then apply watch events. Warm list-watch caches
// (WarmSnapshotSource) hold the cluster; any change schedules a rebuild of the MeshSnapshot, and the
// rebuilt view is diffed against the last one so subscribers receive only what changed — a changed
// overview, upserted or deleted table rows — never the whole mesh again. MeshUpgrade objects have
// their own cache and are forwarded as they change (added/updated/deleted, by uid).
import type { Logger } from "pino";
import type { Catalog } from "../catalog/index.js";
import { ResourceCache, withoutManagedFields, type CacheChange } from "../kube/cache.js";
import type { Cluster } from "../kube/config.js";
import { toKubeError } from "../kube/errors.js";
import type { KubeObject } from "../kube/resources.js";
import { MESH_UPGRADES, WarmSnapshotSource, collectSyncz, type WarmSourceOptions } from "../kube/snapshot-source.js";
import { buildSnapshot, type MeshSnapshot, type SnapshotInput, type SynczByRevision } from "../mesh/index.js";
import type {
  LiveEvent,
  MeshOverview,
  MeshUpgradeObject,
  NamespaceRow,
  UpgradeList,
  WorkloadRow,
} from "./api-types.js";
import { manifestRevisionsOf } from "../upgrade/api/validate.js";
import { RowIndex } from "./rows.js";
import { consoleViewOf } from "./upgrade-view.js";
import { namespaceRowOf, overviewOf, workloadRowOf } from "./view.js";

export interface LiveMeshOptions {
  /** the console's own identity: it fills the shared caches */
  cluster: Cluster;
  catalog: Catalog;
  now?: () => Date;
  /** rebuilds are at least this far apart, and further when the last one took longer (default 150 ms) */
  minRebuildIntervalMs?: number;
  /** how often istiod's connected proxies are asked again; 0: only at start (default 30 s) */
  synczIntervalMs?: number;
  /** how long start() waits for the first complete view (default 120 s) */
  startTimeoutMs?: number;
  cache?: WarmSourceOptions["cache"];
  logger?: Logger;
}

export type LiveListener = (events: LiveEvent[]) => void;

/** A burst of watch events (a rollout touches pods, ReplicaSets and the Deployment) becomes one rebuild. */
const COALESCE_MS = 15;
const RETRY_AFTER_FAILURE_MS = 2_000;

function comparable(overview: MeshOverview): string {
  return JSON.stringify({ ...overview, version: 0, takenAt: "" });
}

export class LiveMesh {
  private readonly source: WarmSnapshotSource;
  private readonly upgradeCache: ResourceCache;
  private readonly listeners = new Set<LiveListener>();
  private readonly unsubscribers: (() => void)[] = [];
  readonly namespaces = new RowIndex<NamespaceRow>((r) => [r.name, r.injectionLabel, r.effectiveRevision ?? ""]);
  readonly workloads = new RowIndex<WorkloadRow>((r) => [r.name, r.namespace, r.kind]);
  private currentVersion = 0;
  private currentSnapshot: MeshSnapshot | undefined;
  private currentOverview: MeshOverview | undefined;
  private overviewText = "";
  private lastInput: SnapshotInput | undefined;
  private syncz: SynczByRevision | undefined;
  private synczNotes: string[] = [];
  private crdInstalled = false;
  private timer: NodeJS.Timeout | undefined;
  private synczTimer: NodeJS.Timeout | undefined;
  private building: Promise<void> | undefined;
  private dirty = false;
  private closed = false;
  private lastBuildEnd = 0;
  private lastBuildMs = 0;
  private lastFailure: string | undefined;
  /** rebuild durations, for the benchmark and /api/health */
  readonly buildTimesMs: number[] = [];

  constructor(private readonly options: LiveMeshOptions) {
    this.source = new WarmSnapshotSource(options.cluster, { cache: options.cache });
    this.upgradeCache = new ResourceCache(options.cluster.rest, MESH_UPGRADES, {
      ...options.cache,
      transform: withoutManagedFields,
      // the CRD may be installed after the console starts: keep looking, but not often
      backoff: { baseDelayMs: 1_000, maxDelayMs: 10_000, jitter: 1 },
    });
  }

  get version(): number {
    return this.currentVersion;
  }

  get snapshot(): MeshSnapshot {
    if (!this.currentSnapshot) throw new Error("the live mesh has not been built yet: await start()");
    return this.currentSnapshot;
  }

  get overview(): MeshOverview {
    if (!this.currentOverview) throw new Error("the live mesh has not been built yet: await start()");
    return this.currentOverview;
  }

  /** Every namespace's labels (the snapshot keeps only Istio's), for MeshUpgrade selector validation. */
  namespaceLabels(): Record<string, Record<string, string>> {
    const labels: Record<string, Record<string, string>> = {};
    for (const ns of this.source.caches.get("namespaces")?.list() ?? [])
      if (ns.metadata.name) labels[ns.metadata.name] = ns.metadata.labels ?? {};
    return labels;
  }

  /**
   * Revisions whose rendered manifests a ConfigMap labelled meshlift.io/manifests-revision holds in an
   * Istio namespace (Manifests mode), read from the same warm caches the engine validates with. Those
   * ConfigMap caches do not schedule rebuilds, so they are read now rather than from the last view.
   */
  async manifestRevisions(): Promise<string[]> {
    const { input } = await this.source.collect({ syncz: false });
    return manifestRevisionsOf(input.configmaps);
  }

  /** A MeshUpgrade as the console serves it: the object, plus the actions the engine accepts now and more. */
  private withConsoleView(object: MeshUpgradeObject): MeshUpgradeObject {
    return { ...object, console: consoleViewOf(object, this.currentSnapshot) };
  }

  /** The MeshUpgrades as stored, newest first. */
  private storedUpgrades(): MeshUpgradeObject[] {
    return (this.upgradeCache.list() as MeshUpgradeObject[]).sort((a, b) =>
      String(b.metadata.creationTimestamp ?? "").localeCompare(String(a.metadata.creationTimestamp ?? "")),
    );
  }

  upgradeList(): UpgradeList {
    return { crdInstalled: this.crdInstalled, items: this.storedUpgrades().map((o) => this.withConsoleView(o)) };
  }

  upgrade(name: string): MeshUpgradeObject | undefined {
    const object = this.upgradeCache.get(name) as MeshUpgradeObject | undefined;
    return object && this.withConsoleView(object);
  }

  /** Name and stage of every MeshUpgrade: the one-upgrade-per-mesh lock of spec validation. */
  activeUpgrades(): { name: string; stage: string | null }[] {
    return (this.upgradeCache.list() as MeshUpgradeObject[]).map((u) => ({
      name: u.metadata.name,
      stage: typeof u.status?.stage === "string" ? u.status.stage : null,
    }));
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(events: LiveEvent[]): void {
    if (events.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        this.options.logger?.warn({ err: (err as Error).message }, "live listener failed");
      }
    }
  }

  /** Starts the caches and resolves with the first complete view; rejects when the cluster cannot be read. */
  async start(): Promise<void> {
    this.source.start();
    for (const cache of this.source.caches.values()) this.unsubscribers.push(cache.onChange(() => this.schedule()));
    this.unsubscribers.push(this.upgradeCache.onChange((change) => this.onUpgradeChange(change)));
    this.unsubscribers.push(
      this.upgradeCache.on((event) => {
        if (event.type === "listed" || event.type === "relisted") this.setCrdInstalled(true);
        else if (event.type === "error" && event.phase === "list" && event.error instanceof Error) {
          if (toKubeError(event.error).code === 404) this.setCrdInstalled(false);
        }
      }),
    );
    this.upgradeCache.start();
    const timeout = this.options.startTimeoutMs ?? 120_000;
    const [collected] = await Promise.all([
      this.source.collect({ syncz: true }),
      this.upgradeCache.waitForSync(Math.min(timeout, 10_000)).catch(() => undefined),
    ]);
    this.syncz = collected.input.syncz;
    this.synczNotes = collected.notes.filter((n) => n.includes("syncz"));
    this.apply(collected.input, collected.notes);
    const every = this.options.synczIntervalMs ?? 30_000;
    if (every > 0) {
      this.synczTimer = setInterval(() => void this.refreshSyncz(), every);
      this.synczTimer.unref();
    }
  }

  private setCrdInstalled(installed: boolean): void {
    if (this.crdInstalled === installed) return;
    this.crdInstalled = installed;
    // the handler runs before the cache settles: announce the list on the next turn
    setImmediate(() => this.emit([{ type: "upgrades", upgrades: this.upgradeList() }]));
  }

  private onUpgradeChange(change: CacheChange<KubeObject>): void {
    const kind = change.type;
    this.emit([{ type: "upgrade", change: kind, object: this.withConsoleView(change.object as MeshUpgradeObject) }]);
    // an upgrade's from/to decides what "old" and "new" proxies are
    this.schedule();
  }

  /** Asks for a rebuild soon; many calls before it runs make one rebuild. */
  schedule(): void {
    if (this.closed) return;
    if (this.building) {
      this.dirty = true;
      return;
    }
    if (this.timer) return;
    const gap = Math.max(this.options.minRebuildIntervalMs ?? 150, this.lastBuildMs);
    const wait = Math.max(COALESCE_MS, this.lastBuildEnd + gap - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.building = this.rebuild().finally(() => {
        this.building = undefined;
        if (this.dirty) {
          this.dirty = false;
          this.schedule();
        }
      });
    }, wait);
    this.timer.unref();
  }

  private async rebuild(): Promise<void> {
    try {
      const { input, notes } = await this.source.collect({ syncz: false });
      this.apply(input, notes);
      this.lastFailure = undefined;
    } catch (err) {
      const message = toKubeError(err).message;
      if (message !== this.lastFailure)
        this.options.logger?.warn({ err: message }, "could not refresh the mesh view; keeping the last one");
      this.lastFailure = message;
      if (!this.closed) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, RETRY_AFTER_FAILURE_MS);
        this.timer.unref();
      }
    }
  }

  private async refreshSyncz(): Promise<void> {
    if (!this.lastInput || this.closed) return;
    const { syncz, notes } = await collectSyncz(this.options.cluster, this.lastInput);
    if (JSON.stringify(syncz) === JSON.stringify(this.syncz) && notes.length === this.synczNotes.length) return;
    this.syncz = syncz;
    this.synczNotes = notes;
    this.schedule();
  }

  /** Builds the view from collected input and emits what changed. */
  private apply(input: SnapshotInput, notes: string[]): void {
    const started = performance.now();
    this.lastInput = input;
    // the console's own MeshUpgrade cache keeps looking for the CRD; the snapshot source's gives up when it is absent at start
    const meshUpgrades = this.crdInstalled ? this.upgradeCache.list() : input.meshUpgrades;
    const snapshot = buildSnapshot({
      ...input,
      meshUpgrades,
      syncz: this.syncz,
      now: this.options.now?.() ?? new Date(),
    });
    const version = this.currentVersion + 1;
    const overview = overviewOf(snapshot, {
      catalog: this.options.catalog,
      today: this.options.now?.() ?? new Date(),
      upgrades: this.storedUpgrades(),
      version,
      notes: [...new Set([...notes.filter((n) => !n.includes("syncz")), ...this.synczNotes])],
    });
    const comparison = overview.comparison;
    const namespaceChanges = this.namespaces.replaceAll(
      snapshot.namespaces.map((ns) => namespaceRowOf(ns, comparison)),
      version,
    );
    const workloadChanges = this.workloads.replaceAll(snapshot.workloads.map(workloadRowOf), version);
    const text = comparable(overview);
    const events: LiveEvent[] = [];
    if (text !== this.overviewText) events.push({ type: "overview", overview });
    for (const [collection, changes] of [
      ["namespaces", namespaceChanges],
      ["workloads", workloadChanges],
    ] as const) {
      if (changes.upserts.length || changes.deletes.length)
        events.push({ type: "rows", collection, version, ...changes });
    }
    this.currentSnapshot = snapshot;
    if (events.length > 0 || !this.currentOverview) {
      this.currentVersion = version;
      this.currentOverview = overview;
      this.overviewText = text;
    } else {
      // nothing the console shows changed: keep the version, refresh only the time of the reading
      this.currentOverview = { ...this.currentOverview, takenAt: overview.takenAt };
    }
    this.lastBuildEnd = Date.now();
    this.lastBuildMs = Math.round(performance.now() - started);
    this.buildTimesMs.push(this.lastBuildMs);
    if (this.buildTimesMs.length > 200) this.buildTimesMs.splice(0, this.buildTimesMs.length - 200);
    this.emit(events);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.synczTimer);
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    await this.building?.catch(() => undefined);
    await Promise.all([this.source.close(), this.upgradeCache.stop()]);
    this.listeners.clear();
  }
}
