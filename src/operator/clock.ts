// Time for the operator's loops, injectable so the lease-expiry and backoff rules can be tested
// without waiting: production uses the wall clock and node's timers, unit tests a ManualClock.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** milliseconds since the epoch */
  now(): number;
  /** runs `fn` after `ms`; the timer never keeps the process alive on its own */
  setTimer(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A clock that moves only when told to. `advance(ms)` fires due timers in time order and lets the
 * promise chains they start run (a macrotask turn per timer) before moving on.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.parse("2026-01-01T00:00:00Z")) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.seq++;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return { cancel: () => this.timers.delete(id) };
  }

  /** timers not yet fired */
  get pending(): number {
    return this.timers.size;
  }

  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.current = Math.max(this.current, next[1].at);
      next[1].fn();
      await settle();
    }
    this.current = target;
    await settle();
  }
}

/** Lets pending promise callbacks and I/O-free continuations run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A signal that aborts when any of `signals` does, with that one's reason. Unlike AbortSignal.any
 * its links are removed by dispose(), so the long-lived parents (the elector's stop signal, a
 * leadership term) gather no listeners from the thousands of short attempts and reconciles.
 */
export function linkedSignal(...signals: AbortSignal[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const links: [AbortSignal, () => void][] = [];
  for (const parent of signals) {
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const forward = () => controller.abort(parent.reason);
    parent.addEventListener("abort", forward, { once: true });
    links.push([parent, forward]);
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [parent, forward] of links) parent.removeEventListener("abort", forward);
      links.length = 0;
    },
  };
}
