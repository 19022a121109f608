// The reconcile loop every simulated controller runs on (the controller-runtime model):
// per-object keys, level-triggered, bursts coalesced, one object reconciled at a time,
// delayed requeues on timers, failures retried with per-key exponential backoff.
import { ApiError } from "../api/types.js";

/** What a reconcile asks for besides being run again when its inputs change. */
export interface ReconcileResult {
  /** run again after this many ms because the outcome depends on time (pod start, minReadySeconds…) */
  requeueAfterMs?: number;
  /**
   * true when that wait is part of converging (the system is not settled until it fires);
   * false for background clocks that may tick forever (crash loops, cron schedules, deadlines).
   */
  settling?: boolean;
}

export type Reconcile = (key: string) => ReconcileResult | void;

export interface Queue {
  readonly name: string;
  add(key: string): void;
  addAfter(key: string, ms: number, settling: boolean): void;
}

interface Timer {
  due: number;
  handle: NodeJS.Timeout;
}

const MAX_SLICE_MS = 20;
const BACKOFF_BASE_MS = 5;
const BACKOFF_MAX_MS = 5_000;

export class WorkLoop {
  /** insertion-ordered: a key added again while pending keeps its place (bursts coalesce) */
  private pending = new Map<string, { queue: QueueImpl; key: string }>();
  /** the batch being worked through; consumed with one live iterator so removal from the front stays O(1) */
  private batch = new Map<string, { queue: QueueImpl; key: string }>();
  private batchIter: Iterator<[string, { queue: QueueImpl; key: string }]> | undefined;
  private readonly timers = new Map<string, { settling?: Timer; background?: Timer }>();
  private settlingTimers = 0;
  private readonly failures = new Map<string, number>();
  private flushScheduled = false;
  private running = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly onError: (queue: string, key: string, err: unknown) => void) {}

  queue(name: string, reconcile: Reconcile): Queue {
    return new QueueImpl(this, name, reconcile);
  }

  /** @internal */
  enqueue(queue: QueueImpl, key: string): void {
    if (this.stopped) return;
    const id = `${queue.name}\u0000${key}`;
    if (!this.pending.has(id) && !this.batch.has(id)) this.pending.set(id, { queue, key });
    this.scheduleFlush();
  }

  /** @internal */
  enqueueAfter(queue: QueueImpl, key: string, ms: number, settling: boolean): void {
    if (this.stopped) return;
    if (ms <= 0) return this.enqueue(queue, key);
    const id = `${queue.name}\u0000${key}`;
    const due = Date.now() + ms;
    const slot = settling ? "settling" : "background";
    const entry = this.timers.get(id) ?? {};
    const existing = entry[slot];
    if (existing && existing.due <= due) return;
    if (existing) {
      clearTimeout(existing.handle);
      if (settling) this.settlingTimers--;
    }
    const handle = setTimeout(() => {
      const e = this.timers.get(id);
      if (e?.[slot]?.handle !== handle) return;
      delete e[slot];
      if (!e.settling && !e.background) this.timers.delete(id);
      if (settling) this.settlingTimers--;
      this.enqueue(queue, key);
      this.notifyIfIdle();
    }, ms);
    // background clocks (crash loops, cron) must not keep a finished process alive
    if (!settling) handle.unref?.();
    entry[slot] = { due, handle };
    this.timers.set(id, entry);
    if (settling) this.settlingTimers++;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.running) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped) return;
    this.running = true;
    const sliceEnd = Date.now() + MAX_SLICE_MS;
    try {
      // work through the queue in arrival order, yielding to I/O (the HTTP server) every slice
      while (Date.now() < sliceEnd) {
        if (!this.batchIter) {
          if (this.pending.size === 0) break;
          this.batch = this.pending;
          this.pending = new Map();
          this.batchIter = this.batch.entries();
        }
        const next = this.batchIter.next();
        if (next.done) {
          this.batchIter = undefined;
          continue;
        }
        const [id, item] = next.value;
        this.batch.delete(id);
        this.runOne(id, item.queue, item.key);
      }
    } finally {
      this.running = false;
    }
    if (this.pending.size > 0 || this.batch.size > 0) this.scheduleFlush();
    else this.notifyIfIdle();
  }

  private runOne(id: string, queue: QueueImpl, key: string): void {
    let result: ReconcileResult | void;
    try {
      result = queue.reconcile(key);
      this.failures.delete(id);
    } catch (err) {
      const n = (this.failures.get(id) ?? 0) + 1;
      this.failures.set(id, n);
      if (!(err instanceof ApiError)) this.onError(queue.name, key, err);
      // a conflict or a missing object is normal churn: retry at once-ish; anything else backs off
      this.enqueueAfter(queue, key, Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (n - 1)), false);
      return;
    }
    if (result?.requeueAfterMs !== undefined)
      this.enqueueAfter(queue, key, result.requeueAfterMs, result.settling ?? true);
  }

  /** busy while anything is queued, being reconciled, or a settling timer is pending */
  get busy(): boolean {
    return (
      this.pending.size > 0 || this.batch.size > 0 || this.running || this.flushScheduled || this.settlingTimers > 0
    );
  }

  idle(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.stopped || !this.busy) {
          // one more turn of the event loop: writes made by other parties may still be in flight
          setImmediate(() => (this.stopped || !this.busy ? resolve() : this.idleWaiters.push(check)));
        } else this.idleWaiters.push(check);
      };
      check();
    });
  }

  private notifyIfIdle(): void {
    if (this.busy) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    this.batch.clear();
    this.batchIter = undefined;
    for (const e of this.timers.values()) {
      if (e.settling) clearTimeout(e.settling.handle);
      if (e.background) clearTimeout(e.background.handle);
    }
    this.timers.clear();
    this.settlingTimers = 0;
    this.notifyIfIdle();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

class QueueImpl implements Queue {
  constructor(
    private readonly loop: WorkLoop,
    readonly name: string,
    readonly reconcile: Reconcile,
  ) {}
  add(key: string): void {
    this.loop.enqueue(this, key);
  }
  addAfter(key: string, ms: number, settling: boolean): void {
    this.loop.enqueueAfter(this, key, ms, settling);
  }
}
