// The controller runtime `meshlift operator` runs the upgrade engine in (controller-runtime's
// Manager in miniature): /healthz at once; leader election on a Lease; only the leader watches and
// reconciles — watch changes become keys on a per-object work queue (level-triggered: a key means
// "look again", never "here is what changed"); a periodic resync re-enqueues every known key so a
// missed event cannot strand an object. A lost Lease aborts in-flight reconciles at once and the
// process campaigns again; stop() drains in-flight work, then releases the Lease for a successor.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ResourceCache, type CacheChange, type CacheOptions } from "../kube/cache.js";
import type { Cluster } from "../kube/config.js";
import { qualifiedName, type KubeObject, type ResourceRef } from "../kube/resources.js";
import { linkedSignal, sleep, systemClock, type Clock } from "./clock.js";
import { EventRecorder } from "./events.js";
import { HealthChecks, startOperatorHttp, type CheckResult, type OperatorHttpServer } from "./http.js";
import { LeaderElector, LeadershipEnded, restLeaseStore, type LeaderElectionOptions } from "./leader.js";
import { errorFields, operatorLogger, type Logger } from "./log.js";
import { OperatorMetrics } from "./metrics.js";
import { WorkQueue, type QueueBackoff, type ReconcileOutcome } from "./queue.js";

/** One watched resource and how its changes map to reconcile keys. */
export interface WatchedResource {
  resource: ResourceRef;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * The keys a change concerns: the object's own name for the primary resource, the owning
   * upgrade(s) for secondary ones. Also called with an `updated` change (old = object) at resync.
   */
  keysFor(change: CacheChange<KubeObject>): string[];
  /** include this resource's objects in the periodic resync (default true) */
  resync?: boolean;
  cache?: Pick<
    CacheOptions,
    "pageSize" | "watchTimeoutSeconds" | "resyncIntervalMs" | "silenceTimeoutMs" | "transform"
  >;
}

export interface ReconcileContext {
  /** the synced cache of a watched resource (the first watch of it), for reads without a LIST */
  cache(resource: ResourceRef): ResourceCache | undefined;
  events: EventRecorder;
  logger: Logger;
}

export type Reconciler = (
  key: string,
  signal: AbortSignal,
  context: ReconcileContext,
) => Promise<ReconcileOutcome | void>;

export interface ControllerOptions {
  /** names the controller in logs and metrics (default "meshupgrade") */
  name?: string;
  cluster: Cluster;
  /** unique per process (default hostname_uuid, as controller-runtime) */
  identity?: string;
  leaseNamespace: string;
  leaseName: string;
  leaderElection?: Pick<LeaderElectionOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">;
  http: { host: string; port: number };
  watches: WatchedResource[];
  reconcile: Reconciler;
  /** keys reconciled in parallel (default 1) */
  concurrency?: number;
  /** every known key is enqueued this often (default 5 min) */
  resyncIntervalMs?: number;
  /** how long stop() lets in-flight reconciles finish before aborting them (default 30 s) */
  drainTimeoutMs?: number;
  /** a cache not synced after this long is reported (logs, /readyz) while it keeps trying (default 60 s) */
  cacheSyncTimeoutMs?: number;
  backoff?: Partial<QueueBackoff>;
  logger?: Logger;
  /** pass one to register the engine's gauges before start; default a fresh registry */
  metrics?: OperatorMetrics;
  events?: EventRecorder;
  clock?: Clock;
}

export interface RunningController {
  readonly identity: string;
  /** the /metrics, /healthz, /readyz server */
  readonly url: string;
  readonly port: number;
  readonly metrics: OperatorMetrics;
  readonly health: HealthChecks;
  readonly events: EventRecorder;
  readonly isLeader: boolean;
  /** the Lease holder as last read ("" when unknown or free) */
  readonly leader: string;
  /** Enqueues a key now (ignored unless leading). */
  enqueue(key: string): void;
  /** Drains in-flight reconciles, releases the Lease, closes the HTTP server. Idempotent. */
  stop(): Promise<void>;
  /** resolves after stop() finished */
  readonly done: Promise<void>;
}

/** controller-runtime's default identity: the host name plus a UUID, unique across restarts. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

interface WatchState {
  watch: WatchedResource;
  cache: ResourceCache;
  name: string;
  syncError?: string;
}

/** One leadership term: caches, queue and resync exist only while leading. */
class Term {
  readonly queue: WorkQueue<string>;
  readonly watches: WatchState[];
  synced = false;
  private readonly signal: AbortSignal;
  private draining: Promise<void> | undefined;

  constructor(
    private readonly options: ControllerOptions & { name: string },
    private readonly deps: { logger: Logger; metrics: OperatorMetrics; events: EventRecorder; clock: Clock },
    leading: AbortSignal,
  ) {
    this.signal = leading;
    const { cluster } = options;
    this.queue = new WorkQueue<string>({
      paused: true,
      concurrency: options.concurrency ?? 1,
      backoff: options.backoff,
      clock: deps.clock,
      hooks: deps.metrics.queueHooks(options.name),
      process: (key, signal) => this.reconcile(key, signal),
    });
    this.watches = options.watches.map((watch) => {
      const cache = new ResourceCache(cluster.rest, watch.resource, {
        namespace: watch.namespace,
        labelSelector: watch.labelSelector,
        fieldSelector: watch.fieldSelector,
        ...watch.cache,
      });
      const state: WatchState = { watch, cache, name: qualifiedName(watch.resource) };
      cache.on(deps.metrics.cacheListener());
      cache.on((event) => {
        if (event.type === "error")
          deps.logger.warn(
            { resource: event.resource, phase: event.phase, retryInMs: event.retryInMs, ...errorFields(event.error) },
            "watch failed; retrying",
          );
        else if (event.type === "relisted")
          deps.logger.debug({ resource: event.resource, reason: event.reason, items: event.items }, "relisted");
      });
      cache.onChange((change) => {
        for (const key of this.keysFor(state, change)) this.queue.add(key);
      });
      return state;
    });
  }

  /** Runs the term until the leading signal aborts; resolves when nothing of it runs any more. */
  async run(): Promise<void> {
    for (const w of this.watches) w.cache.start();
    const ended = new Promise<void>((resolve) =>
      this.signal.aborted ? resolve() : this.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    const resync = this.resyncLoop();
    await Promise.race([this.waitForCaches(), ended]);
    if (!this.signal.aborted) {
      this.synced = true;
      this.deps.logger.info(
        { watches: this.watches.map((w) => `${w.name}(${w.cache.size})`) },
        "caches synced; reconciling",
      );
      this.queue.start();
    }
    await ended;
    const lost = this.signal.reason instanceof LeadershipEnded && this.signal.reason.why === "lost";
    await this.drain(lost ? 0 : (this.options.drainTimeoutMs ?? 30_000), this.signal.reason as Error);
    await resync;
  }

  /** Stops taking keys, lets in-flight reconciles finish (up to graceMs), stops the watches. */
  drain(graceMs: number, reason?: Error): Promise<void> {
    this.draining ??= (async () => {
      await this.queue.shutdown({ graceMs, reason: reason ?? new Error("controller stopping") });
      await Promise.all(this.watches.map((w) => w.cache.stop()));
    })();
    // a lost Lease while draining: abort what still runs now
    if (graceMs <= 0) void this.queue.shutdown({ graceMs: 0, reason });
    return this.draining;
  }

  enqueueAll(): number {
    let keys = 0;
    for (const state of this.watches) {
      if (state.watch.resync === false) continue;
      for (const object of state.cache.list())
        for (const key of this.keysFor(state, { type: "updated", object, old: object })) {
          this.queue.add(key);
          keys++;
        }
    }
    return keys;
  }

  cacheOf(resource: ResourceRef): ResourceCache | undefined {
    const name = qualifiedName(resource);
    return this.watches.find((w) => w.name === name)?.cache;
  }

  readiness(): CheckResult {
    const pending = this.watches.filter((w) => !w.cache.synced);
    if (pending.length === 0) return true;
    return pending
      .map((w) => `cache of ${w.name} not synced${w.syncError ? `: ${w.syncError}` : " (first list in progress)"}`)
      .join("; ");
  }

  private keysFor(state: WatchState, change: CacheChange<KubeObject>): string[] {
    try {
      return state.watch.keysFor(change);
    } catch (err) {
      this.deps.logger.error(
        { resource: state.name, object: change.object.metadata.name, ...errorFields(err) },
        "keysFor failed; the change is not enqueued",
      );
      return [];
    }
  }

  private async waitForCaches(): Promise<void> {
    const timeoutMs = this.options.cacheSyncTimeoutMs ?? 60_000;
    await Promise.all(
      this.watches.map(async (state) => {
        while (!this.signal.aborted && !state.cache.synced) {
          try {
            await state.cache.waitForSync(timeoutMs);
          } catch (err) {
            if (this.signal.aborted) return;
            state.syncError = err instanceof Error ? err.message : String(err);
            this.deps.logger.warn({ resource: state.name, ...errorFields(err) }, "cache not synced yet; still trying");
            // a permanent answer (403) rejects at once: don't spin, the cache retries with backoff
            await sleep(this.deps.clock, Math.min(timeoutMs, 5_000), this.signal).catch(() => undefined);
          }
        }
        state.syncError = undefined;
      }),
    );
  }

  private async resyncLoop(): Promise<void> {
    const interval = this.options.resyncIntervalMs ?? 5 * 60_000;
    for (;;) {
      try {
        await sleep(this.deps.clock, interval, this.signal);
      } catch {
        return;
      }
      if (!this.synced) continue;
      const keys = this.enqueueAll();
      this.deps.logger.debug({ keys }, "periodic resync");
    }
  }

  private async reconcile(key: string, queueSignal: AbortSignal): Promise<ReconcileOutcome | void> {
    const { signal, dispose } = linkedSignal(queueSignal, this.signal);
    const logger = this.deps.logger.child({ key });
    const context: ReconcileContext = {
      cache: (resource) => this.cacheOf(resource),
      events: this.deps.events,
      logger,
    };
    try {
      const outcome = await this.options.reconcile(key, signal, context);
      logger.debug({ requeueAfterMs: outcome?.requeueAfterMs }, "reconciled");
      return outcome;
    } catch (err) {
      if (signal.aborted) logger.info({ ...errorFields(err) }, "reconcile aborted");
      else
        logger.warn({ ...errorFields(err), failures: this.queue.numRequeues(key) + 1 }, "reconcile failed; retrying");
      throw err;
    } finally {
      dispose();
    }
  }
}

export async function runController(options: ControllerOptions): Promise<RunningController> {
  const name = options.name ?? "meshupgrade";
  const identity = options.identity ?? defaultIdentity();
  if (options.watches.length === 0)
    throw new Error(`controller ${name}: no watches — give at least the primary resource to watch`);
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? operatorLogger()).child({ controller: name });
  const metrics = options.metrics ?? new OperatorMetrics();
  const events = options.events ?? new EventRecorder(options.cluster.rest, { logger, clock });
  const leaseDescription = `${options.leaseNamespace}/${options.leaseName}`;
  // validates the timing before anything starts
  const elector = new LeaderElector(restLeaseStore(options.cluster.rest, options.leaseNamespace, options.leaseName), {
    namespace: options.leaseNamespace,
    name: options.leaseName,
    identity,
    ...options.leaderElection,
    clock,
    logger,
  });
  const deps = { logger, metrics, events, clock };
  const settings = { ...options, name };
  let term: Term | undefined;
  let stopping: Promise<void> | undefined;
  let campaignFailure: string | undefined;
  metrics.leader.set({ lease: leaseDescription }, 0);

  const health = new HealthChecks()
    .addLiveness("leader-election", () => campaignFailure ?? true)
    .addReadiness("shutdown", () => (stopping ? "the operator is shutting down" : true))
    .addReadiness("lease", () =>
      elector.hasObservedLease || elector.isLeader
        ? true
        : `Lease ${leaseDescription} not read yet — is the API server at ${options.cluster.server} reachable?`,
    )
    // a standby replica is ready: it has nothing to sync, and an unready standby would stall rollouts
    .addReadiness("caches", () => (term ? term.readiness() : true));

  const server: OperatorHttpServer = await startOperatorHttp({ ...options.http, metrics, health, logger });
  logger.info({ url: server.url, identity, lease: leaseDescription }, "serving /metrics, /healthz and /readyz");

  const campaign = elector
    .run({
      onStartedLeading: async (signal) => {
        metrics.leader.set({ lease: leaseDescription }, 1);
        const current = new Term(settings, deps, signal);
        term = current;
        try {
          await current.run();
        } finally {
          if (term === current) term = undefined;
          metrics.leader.set({ lease: leaseDescription }, 0);
        }
      },
      onStoppedLeading: () => logger.info("stopped leading"),
      onNewLeader: (holder) => {
        if (holder !== identity) logger.info({ leader: holder }, "following the leader");
      },
    })
    .catch((err: unknown) => {
      campaignFailure = `leader election stopped unexpectedly: ${err instanceof Error ? err.message : String(err)}`;
      logger.fatal(errorFields(err), "leader election loop failed");
    });

  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info("stopping: draining in-flight reconciles");
      // drain while still holding the Lease, so no successor acts before our last write lands
      await term?.drain(options.drainTimeoutMs ?? 30_000);
      await events.flush();
      await elector.stop();
      await campaign;
      await server.close();
      logger.info("stopped");
      resolveDone();
    })();
    return stopping;
  };

  return {
    identity,
    url: server.url,
    port: server.port,
    metrics,
    health,
    events,
    get isLeader() {
      return elector.isLeader;
    },
    get leader() {
      return elector.leader;
    },
    enqueue: (key) => term?.queue.add(key),
    stop,
    done,
  };
}

/** Stops `controller` on SIGTERM/SIGINT (what a pod gets on deletion); returns the unsubscribe. */
export function stopOnSignals(
  controller: Pick<RunningController, "stop">,
  logger: Logger,
  signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"],
): () => void {
  const handler = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "signal received; shutting down");
    void controller.stop();
  };
  for (const s of signals) process.once(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
