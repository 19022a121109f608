// Live updates in the browser: one EventSource on /api/events. The first message (hello) carries
// the overview and every MeshUpgrade; after it only changes arrive, and each is applied where it
// belongs — the overview value, the MeshUpgrade collection (by uid, stale resourceVersions ignored:
// Headlamp's KubeList rule), or the tables' row windows. After a reconnect the next hello resyncs.
import type {
  LiveEvent,
  MeshOverview,
  MeshUpgradeObject,
  NamespaceRow,
  RowCollection,
  UpgradeList,
  WorkloadRow,
} from "../../src/server/api-types.js";
import { ApiError, api } from "./api.ts";
import { Observable } from "./store.ts";

export type LiveStatus = "idle" | "connecting" | "live" | "reconnecting" | "ended";

export type RowsEvent = Extract<LiveEvent, { type: "rows" }>;

function resourceVersionOf(o: MeshUpgradeObject): bigint | null {
  const rv = o.metadata.resourceVersion;
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : null;
}

/** MeshUpgrades by uid; a copy older than the one held is ignored. */
export class UpgradeCollection {
  readonly list = new Observable<MeshUpgradeObject[]>([]);
  readonly crdInstalled = new Observable<boolean>(true);
  private readonly byUid = new Map<string, MeshUpgradeObject>();

  private idOf(o: MeshUpgradeObject): string {
    return o.metadata.uid ?? o.metadata.name;
  }

  reset(upgrades: UpgradeList): void {
    this.byUid.clear();
    for (const item of upgrades.items) this.byUid.set(this.idOf(item), item);
    this.crdInstalled.set(upgrades.crdInstalled);
    this.publish();
  }

  apply(change: "added" | "updated" | "deleted", object: MeshUpgradeObject): void {
    const id = this.idOf(object);
    const held = this.byUid.get(id);
    const heldRv = held ? resourceVersionOf(held) : null;
    const rv = resourceVersionOf(object);
    if (held && heldRv !== null && rv !== null && rv < heldRv) return;
    if (change === "deleted") {
      if (!held) return;
      this.byUid.delete(id);
    } else {
      this.byUid.set(id, object);
    }
    this.publish();
  }

  byName(name: string): MeshUpgradeObject | undefined {
    return this.list.get().find((u) => u.metadata.name === name);
  }

  private publish(): void {
    this.list.set(
      [...this.byUid.values()].sort((a, b) =>
        String(b.metadata.creationTimestamp ?? "").localeCompare(String(a.metadata.creationTimestamp ?? "")),
      ),
    );
  }
}

export class LiveConnection {
  readonly status = new Observable<LiveStatus>("idle");
  readonly overview = new Observable<MeshOverview | null>(null);
  /** why the stream ended for good (session over, read access lost) */
  readonly endedReason = new Observable<string | null>(null);
  readonly upgrades = new UpgradeCollection();
  private readonly rowListeners = new Map<RowCollection, Set<(event: RowsEvent) => void>>();
  private readonly resyncListeners = new Set<() => void>();
  private source: EventSource | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private hellos = 0;

  connect(): void {
    this.disconnect();
    this.endedReason.set(null);
    this.status.set(this.hellos === 0 ? "connecting" : "reconnecting");
    const source = new EventSource("/api/events");
    this.source = source;
    const on = (type: LiveEvent["type"], handle: (event: any) => void) =>
      source.addEventListener(type, (message) => {
        if (this.source !== source) return;
        handle(JSON.parse((message as MessageEvent<string>).data));
      });
    on("hello", (e: Extract<LiveEvent, { type: "hello" }>) => {
      performance.mark("meshlift:overview-data");
      this.overview.set(e.overview);
      this.upgrades.reset(e.upgrades);
      this.status.set("live");
      // after the first hello, tables may have missed changes while disconnected: reload them
      if (this.hellos++ > 0) for (const l of this.resyncListeners) l();
    });
    on("overview", (e: Extract<LiveEvent, { type: "overview" }>) => this.overview.set(e.overview));
    on("rows", (e: RowsEvent) => {
      for (const l of this.rowListeners.get(e.collection) ?? []) l(e);
    });
    on("upgrade", (e: Extract<LiveEvent, { type: "upgrade" }>) => this.upgrades.apply(e.change, e.object));
    on("upgrades", (e: Extract<LiveEvent, { type: "upgrades" }>) => this.upgrades.reset(e.upgrades));
    on("session-ended", (e: Extract<LiveEvent, { type: "session-ended" }>) => this.end(e.reason));
    source.onerror = () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CLOSED) void this.diagnose();
      else this.status.set("reconnecting");
    };
  }

  /** The stream was refused (not a network drop): ask the API why, then retry or stop. */
  private async diagnose(): Promise<void> {
    this.status.set("reconnecting");
    try {
      await api.get("/api/overview");
      this.retry = setTimeout(() => this.connect(), 1_000);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) this.end(err.message);
      else this.retry = setTimeout(() => this.connect(), 2_000);
    }
  }

  private end(reason: string): void {
    this.disconnect();
    this.endedReason.set(reason);
    this.status.set("ended");
  }

  disconnect(): void {
    clearTimeout(this.retry);
    this.source?.close();
    this.source = undefined;
  }

  /** Stops and forgets everything (logout). */
  reset(): void {
    this.disconnect();
    this.hellos = 0;
    this.status.set("idle");
    this.overview.set(null);
    this.upgrades.reset({ crdInstalled: true, items: [] });
  }

  onRows(collection: "namespaces", listener: (event: RowsEvent & { upserts: NamespaceRow[] }) => void): () => void;
  onRows(collection: "workloads", listener: (event: RowsEvent & { upserts: WorkloadRow[] }) => void): () => void;
  onRows(collection: RowCollection, listener: (event: any) => void): () => void {
    let set = this.rowListeners.get(collection);
    if (!set) this.rowListeners.set(collection, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }
}

export const live = new LiveConnection();
