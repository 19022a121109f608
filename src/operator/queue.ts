// A per-object work queue with client-go workqueue semantics, driving reconciles itself (pepr's
// per-object FIFO): a key is queued at most once (dedupe); a key is never reconciled twice at once —
// added while in flight, it runs once more after; up to `concurrency` different keys run in
// parallel. Level-triggered: a key only says "look at this object again", so collapsing repeats
// loses nothing. Results follow controller-runtime's reconcileHandler: an error requeues with
// per-key exponential backoff, `requeueAfterMs` requeues after that delay, success forgets the key.
import { systemClock, type Clock, type TimerHandle } from "./clock.js";

export interface ReconcileOutcome {
  /** reconcile again after this long even if nothing changes (polling a rollout, a grace period) */
  requeueAfterMs?: number;
}

export type ReconcileResult = "success" | "error" | "requeue_after";

export interface WorkQueueHooks<K extends string> {
  /** keys waiting to run (not counting delayed or in-flight ones) */
  depth?(depth: number): void;
  /** every add, including ones collapsed into an already queued key */
  added?(key: K): void;
  /** a failed key was scheduled again after `delayMs` (its `failures`-th consecutive failure) */
  retried?(key: K, delayMs: number, failures: number): void;
  /** one reconcile finished */
  processed?(key: K, result: ReconcileResult, durationMs: number, error?: unknown): void;
}

export interface QueueBackoff {
  /** delay after the first failure (default 5 ms, controller-runtime's) */
  baseDelayMs: number;
  /** ceiling (default 5 min: a broken object is still looked at every few minutes) */
  maxDelayMs: number;
}

export interface WorkQueueOptions<K extends string> {
  process(key: K, signal: AbortSignal): Promise<ReconcileOutcome | void>;
  /** keys reconciled in parallel (default 1) */
  concurrency?: number;
  backoff?: Partial<QueueBackoff>;
  /** start paused: keys collect until start() (e.g. while caches sync) */
  paused?: boolean;
  clock?: Clock;
  hooks?: WorkQueueHooks<K>;
}

export interface ShutdownOptions {
  /** how long in-flight reconciles may run on before their signals abort (default: no limit) */
  graceMs?: number;
  /** the abort reason in-flight reconciles see */
  reason?: Error;
}

/** Delay after the `failures`-th consecutive failure: base·2^(failures−1), capped. */
export function failureDelay(failures: number, backoff: QueueBackoff): number {
  return Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** Math.max(0, failures - 1));
}

/** Hooks that cannot throw into the queue: a broken metrics hook must not stall reconciles. */
function guarded<K extends string>(hooks: WorkQueueHooks<K>): WorkQueueHooks<K> {
  const safe: WorkQueueHooks<K> = {};
  for (const [name, hook] of Object.entries(hooks) as [keyof WorkQueueHooks<K>, (...a: unknown[]) => void][]) {
    if (typeof hook !== "function") continue;
    (safe as Record<string, unknown>)[name] = (...args: unknown[]) => {
      try {
        hook(...args);
      } catch {
        // ignored on purpose
      }
    };
  }
  return safe;
}

export class WorkQueue<K extends string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Map<K, AbortController>();
  private readonly running = new Set<Promise<void>>();
  private readonly delayed = new Map<K, { at: number; timer: TimerHandle }>();
  private readonly failures = new Map<K, number>();
  private readonly concurrency: number;
  private readonly backoff: QueueBackoff;
  private readonly clock: Clock;
  private readonly hooks: WorkQueueHooks<K>;
  private paused: boolean;
  private shuttingDown = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions<K>) {
    this.concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new Error(`work queue concurrency must be a whole number ≥ 1, got ${options.concurrency}`);
    this.backoff = { baseDelayMs: 5, maxDelayMs: 300_000, ...options.backoff };
    this.clock = options.clock ?? systemClock;
    this.hooks = guarded(options.hooks ?? {});
    this.paused = options.paused ?? false;
  }

  /** keys waiting to run */
  get depth(): number {
    return this.queue.length;
  }

  /** keys being reconciled now */
  get inFlight(): number {
    return this.processing.size;
  }

  /** keys scheduled for later (addAfter, backoff) */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** consecutive failures of `key` since it last succeeded or was forgotten */
  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  add(key: K): void {
    if (this.shuttingDown) return;
    this.hooks.added?.(key);
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    // in flight: it runs again when the current reconcile finishes (done() requeues dirty keys)
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.hooks.depth?.(this.queue.length);
    this.dispatch();
  }

  /** Adds `key` after `ms`; of several pending delays for one key the earliest wins (client-go). */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Adds `key` after its per-key exponential backoff; returns the delay. */
  addRateLimited(key: K): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = failureDelay(failures, this.backoff);
    this.hooks.retried?.(key, delay, failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets `key`'s backoff (after a success). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** Starts a queue created paused. */
  start(): void {
    this.paused = false;
    this.dispatch();
  }

  /** Resolves when nothing is queued or in flight (delayed keys do not count). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting keys, drops queued and delayed ones, and waits for in-flight reconciles; those
   * still running after `graceMs` see their signal abort (then are still waited for).
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.hooks.depth?.(0);
    const reason = options.reason ?? new Error("work queue shut down");
    const graceMs = options.graceMs ?? Infinity;
    let timer: TimerHandle | undefined;
    if (graceMs <= 0) this.abortInFlight(reason);
    else if (Number.isFinite(graceMs)) timer = this.clock.setTimer(() => this.abortInFlight(reason), graceMs);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    timer?.cancel();
    this.notifyIdle();
  }

  private abortInFlight(reason: Error): void {
    for (const controller of this.processing.values()) controller.abort(reason);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private dispatch(): void {
    while (!this.paused && !this.shuttingDown && this.processing.size < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.dirty.delete(key);
      this.hooks.depth?.(this.queue.length);
      const controller = new AbortController();
      this.processing.set(key, controller);
      const run = this.reconcile(key, controller.signal);
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }
  }

  private async reconcile(key: K, signal: AbortSignal): Promise<void> {
    // start on a later turn of the event loop: a ResourceCache enqueues from its change handler and
    // stores the new object only after the handler returns, so the reconcile must not read before that
    await new Promise<void>((resolve) => setImmediate(resolve));
    const started = this.clock.now();
    let result: ReconcileResult = "success";
    let failure: unknown;
    try {
      if (signal.aborted) throw signal.reason;
      const outcome = await this.options.process(key, signal);
      const after = outcome?.requeueAfterMs;
      this.forget(key);
      if (after !== undefined && after > 0) {
        result = "requeue_after";
        this.addAfter(key, after);
      }
    } catch (err) {
      result = "error";
      failure = err;
      if (!this.shuttingDown) this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      this.hooks.processed?.(key, result, this.clock.now() - started, failure);
      if (this.dirty.has(key) && !this.shuttingDown) {
        this.queue.push(key);
        this.hooks.depth?.(this.queue.length);
      }
      this.dispatch();
      this.notifyIdle();
    }
  }
}
