// A supervised list-watch cache of one resource (the kubernetes-fluent-client model):
//   paginated LIST (limit + continue) → WATCH from the list's resourceVersion with bookmarks and
//   timeoutSeconds → on 410 relist; on a cut or silent stream reconnect from the last version;
//   relist periodically (with jitter) to repair anything missed; back off on errors.
// Change handlers run before the cache changes: when one fails, the cache keeps the old object
// so the next relist sees the difference again and re-delivers it (level-triggered repair).
// client-node's informer is not used: it stops for good after an error (#795) and reconnects
// without backoff (#1933).
import { setTimeout as sleep } from "node:timers/promises";
import { KubeError, toKubeError } from "./errors.js";
import type { RestClient } from "./rest.js";
import { listAll } from "./list.js";
import { collectionPath, objectKey, qualifiedName, type KubeObject, type ResourceRef } from "./resources.js";
import { Backoff, type BackoffPolicy } from "./retry.js";
import { watchOnce, type WatchEvent } from "./watch.js";

export interface CacheOptions<T extends KubeObject = KubeObject> {
  /** restrict to one namespace (namespaced resources) */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** LIST page size (default 500, as client-go's pager) */
  pageSize?: number;
  /** server-side watch timeout; each watch uses a value in [t, 2t) like client-go (default 300 s) */
  watchTimeoutSeconds?: number;
  /** periodic relist, ±10 % jitter so many caches don't relist together (default 10 min) */
  resyncIntervalMs?: number;
  /** reconnect when no event or bookmark arrived for this long (default 120 s) */
  silenceTimeoutMs?: number;
  /** backoff after errors (default 500 ms doubling to 30 s, full jitter) */
  backoff?: BackoffPolicy;
  /** what is kept per object; the default drops metadata.managedFields (large, never read) */
  transform?: (object: KubeObject) => T;
  random?: () => number;
}

export type CacheChange<T> =
  { type: "added"; object: T } | { type: "updated"; object: T; old: T } | { type: "deleted"; object: T };

export type CacheLifecycleEvent =
  | { type: "listed"; resource: string; items: number; pages: number; resourceVersion: string; durationMs: number }
  | { type: "watching"; resource: string; resourceVersion: string }
  | {
      type: "relisted";
      resource: string;
      reason: "expired" | "periodic" | "error";
      items: number;
      pages: number;
      added: number;
      updated: number;
      deleted: number;
      resourceVersion: string;
      durationMs: number;
    }
  | {
      type: "error";
      resource: string;
      phase: "list" | "watch" | "handler";
      error: KubeError | Error;
      retryInMs?: number;
    }
  | { type: "reconnect"; resource: string; reason: "closed" | "silent" | "cut"; resourceVersion: string };

export type ChangeHandler<T> = (change: CacheChange<T>) => Promise<void> | void;
export type LifecycleListener = (event: CacheLifecycleEvent) => void;

/** Drops managedFields: often the largest part of an object, and read by nothing in meshlift. */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** Numeric comparison when both versions are integers (as etcd's are); otherwise "unknown". */
function isOlder(candidate: string | undefined, current: string | undefined): boolean {
  if (!candidate || !current || !/^\d+$/.test(candidate) || !/^\d+$/.test(current)) return false;
  return BigInt(candidate) < BigInt(current);
}

class RelistNeeded extends Error {
  constructor(readonly why: "expired" | "error") {
    super(`relist (${why})`);
  }
}

export class ResourceCache<T extends KubeObject = KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers = new Set<ChangeHandler<T>>();
  private readonly listeners = new Set<LifecycleListener>();
  private readonly options: Required<Omit<CacheOptions<T>, "namespace" | "labelSelector" | "fieldSelector">> &
    Pick<CacheOptions<T>, "namespace" | "labelSelector" | "fieldSelector">;
  private readonly backoff: Backoff;
  private readonly resourceName: string;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private rv = "";
  private hasSynced = false;
  private syncWaiters: { resolve(): void; reject(e: Error): void }[] = [];

  constructor(
    private readonly rest: RestClient,
    readonly resource: ResourceRef,
    options: CacheOptions<T> = {},
  ) {
    this.options = {
      pageSize: 500,
      watchTimeoutSeconds: 300,
      resyncIntervalMs: 10 * 60_000,
      silenceTimeoutMs: 120_000,
      backoff: { baseDelayMs: 500, maxDelayMs: 30_000, jitter: 1 },
      transform: withoutManagedFields as (o: KubeObject) => T,
      random: Math.random,
      ...options,
    };
    this.backoff = new Backoff(this.options.backoff, this.options.random);
    this.resourceName = qualifiedName(resource);
  }

  /** Starts listing and watching in the background; idempotent. */
  start(): this {
    if (!this.loop) {
      this.abort = new AbortController();
      this.loop = this.run(this.abort.signal);
    }
    return this;
  }

  /** Stops the watch and waits for the supervisor to finish; the cached objects stay readable. */
  async stop(): Promise<void> {
    this.abort.abort(new Error("cache stopped"));
    await this.loop;
    this.loop = undefined;
    this.rejectWaiters(new Error(`cache of ${this.resourceName} stopped before it synced`));
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /** The version the cache reflects (of the last list, event or bookmark). */
  get resourceVersion(): string {
    return this.rv;
  }

  get size(): number {
    return this.store.size;
  }

  /**
   * Resolves once the first LIST is in the cache. Rejects when that LIST fails permanently
   * (e.g. 403 Forbidden — retrying continues in the background), on stop, or on timeout.
   */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      this.syncWaiters.push(waiter);
      if (timeoutMs !== undefined) {
        const t = setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
          const error = new KubeError({
            code: 0,
            reason: "Timeout",
            message: `the first list of ${this.resourceName} from ${this.rest.server} did not complete within ${timeoutMs} ms — is the API server overloaded or the list very large?`,
          });
          reject(error);
        }, timeoutMs);
        t.unref?.();
        const done = () => clearTimeout(t);
        waiter.resolve = () => (done(), resolve());
        waiter.reject = (e) => (done(), reject(e));
      }
    });
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  /** All cached objects, or those of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /** Registers a change handler; returns its unsubscribe. Existing objects are not replayed. */
  onChange(handler: ChangeHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Lifecycle events for metrics and logs. */
  on(listener: LifecycleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: CacheLifecycleEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a broken metrics listener must not stop the cache
      }
    }
  }

  private resolveWaiters(): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private rejectWaiters(error: Error): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w.reject(error);
  }

  /** Runs handlers; the cache entry changes only when all of them succeeded. */
  private async deliver(change: CacheChange<T>): Promise<boolean> {
    for (const handler of this.handlers) {
      try {
        await handler(change);
      } catch (err) {
        this.emit({
          type: "error",
          resource: this.resourceName,
          phase: "handler",
          error: err instanceof Error ? err : new Error(String(err)),
        });
        return false;
      }
    }
    const key = objectKey(change.object);
    if (change.type === "deleted") this.store.delete(key);
    else this.store.set(key, change.object);
    return true;
  }

  private async listAll(
    signal: AbortSignal,
  ): Promise<{ items: Map<string, T>; resourceVersion: string; pages: number }> {
    const listed = await listAll(this.rest, this.resource, {
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      pageSize: this.options.pageSize,
      transform: this.options.transform,
      signal,
    });
    const items = new Map<string, T>();
    for (const object of listed.items) items.set(objectKey(object), object);
    return { items, resourceVersion: listed.resourceVersion, pages: listed.pages };
  }

  /** LIST, then reconcile the cache with the result: added/updated/deleted go through handlers. */
  private async relist(signal: AbortSignal, reason: "initial" | "expired" | "periodic" | "error"): Promise<void> {
    const started = Date.now();
    const listed = await this.listAll(signal);
    let added = 0;
    let updated = 0;
    let deleted = 0;
    if (this.handlers.size === 0) {
      for (const [key, object] of listed.items) {
        const old = this.store.get(key);
        if (!old) added++;
        else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) updated++;
      }
      for (const key of this.store.keys()) if (!listed.items.has(key)) deleted++;
      this.store.clear();
      for (const [key, object] of listed.items) this.store.set(key, object);
    } else {
      for (const [key, object] of listed.items) {
        const old = this.store.get(key);
        if (!old) {
          if (await this.deliver({ type: "added", object })) added++;
        } else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) {
          if (await this.deliver({ type: "updated", object, old })) updated++;
        }
      }
      for (const [key, old] of [...this.store]) {
        if (!listed.items.has(key) && (await this.deliver({ type: "deleted", object: old }))) deleted++;
      }
    }
    this.rv = listed.resourceVersion;
    const durationMs = Date.now() - started;
    if (reason === "initial") {
      this.emit({
        type: "listed",
        resource: this.resourceName,
        items: listed.items.size,
        pages: listed.pages,
        resourceVersion: this.rv,
        durationMs,
      });
    } else {
      this.emit({
        type: "relisted",
        resource: this.resourceName,
        reason,
        items: listed.items.size,
        pages: listed.pages,
        added,
        updated,
        deleted,
        resourceVersion: this.rv,
        durationMs,
      });
    }
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.resolveWaiters();
    }
  }

  private async onWatchEvent(event: WatchEvent): Promise<void> {
    if (event.type === "BOOKMARK") return;
    const object = this.options.transform(event.object);
    const key = objectKey(object);
    const old = this.store.get(key);
    // ignore replays older than what the cache holds (Headlamp's KubeList rule)
    if (old && isOlder(object.metadata.resourceVersion, old.metadata.resourceVersion)) return;
    if (event.type === "DELETED") {
      if (old) await this.deliver({ type: "deleted", object });
    } else if (!old) {
      await this.deliver({ type: "added", object });
    } else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) {
      await this.deliver({ type: "updated", object, old });
    }
  }

  private jittered(ms: number): number {
    return Math.round(ms * (0.9 + 0.2 * this.options.random()));
  }

  private async run(signal: AbortSignal): Promise<void> {
    let relistReason: "initial" | "expired" | "periodic" | "error" | undefined = "initial";
    let watchFailures = 0;
    let nextResync = 0;
    while (!signal.aborted) {
      let phase: "list" | "watch" = "list";
      try {
        if (relistReason) {
          await this.relist(signal, relistReason);
          relistReason = undefined;
          watchFailures = 0;
          this.backoff.reset();
          nextResync = Date.now() + this.jittered(this.options.resyncIntervalMs);
        }
        phase = "watch";
        const untilResync = Math.max(1, Math.ceil((nextResync - Date.now()) / 1000));
        const timeoutSeconds = Math.min(
          untilResync,
          Math.round(this.options.watchTimeoutSeconds * (1 + this.options.random())),
        );
        this.emit({ type: "watching", resource: this.resourceName, resourceVersion: this.rv });
        const end = await watchOnce(
          this.rest,
          {
            path: collectionPath(this.resource, this.options.namespace),
            resourceVersion: this.rv,
            timeoutSeconds,
            silenceTimeoutMs: this.options.silenceTimeoutMs,
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
            signal,
            resource: this.resourceName,
          },
          async (event) => {
            await this.onWatchEvent(event);
            // bookmarks and events both move the version the next watch resumes from
            if (event.object.metadata?.resourceVersion) this.rv = event.object.metadata.resourceVersion;
          },
        );
        if (end.events > 0) watchFailures = 0;
        this.backoff.reset();
        if (end.reason === "aborted") break;
        if (end.reason === "expired") throw new RelistNeeded("expired");
        if (Date.now() >= nextResync) {
          relistReason = "periodic";
          continue;
        }
        this.emit({ type: "reconnect", resource: this.resourceName, reason: end.reason, resourceVersion: this.rv });
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof RelistNeeded) {
          relistReason = err.why;
          continue;
        }
        const error = toKubeError(err);
        if (phase === "watch" && error.code === 410) {
          relistReason = "expired";
          continue;
        }
        const retryInMs = this.backoff.next();
        this.emit({ type: "error", resource: this.resourceName, phase, error, retryInMs });
        if (phase === "list" && !this.hasSynced && error.code >= 400 && error.code < 500 && error.code !== 429) {
          // a permanent answer (403, 404): tell whoever waits, keep trying in the background
          this.rejectWaiters(error);
        }
        if (phase === "watch") {
          watchFailures++;
          if (error.reason === "ConnectionReset")
            this.emit({ type: "reconnect", resource: this.resourceName, reason: "cut", resourceVersion: this.rv });
          // a watch that keeps failing may be missing events: fall back to a fresh list
          if (watchFailures >= 3) relistReason = "error";
        }
        try {
          await sleep(retryInMs, undefined, { signal });
        } catch {
          break;
        }
      }
    }
  }
}
