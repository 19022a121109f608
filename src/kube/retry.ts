// Retries for transient API failures: exponential backoff with full jitter, honouring Retry-After.
// Semantic 4xx answers (NotFound, Forbidden, Invalid, Conflict, …) are final: retrying cannot change them.
import { setTimeout as sleepTimer } from "node:timers/promises";
import { toKubeError, type KubeError } from "./errors.js";

export interface BackoffPolicy {
  /** first delay before jitter, ms */
  baseDelayMs: number;
  /** ceiling of any computed delay, ms */
  maxDelayMs: number;
  /** 0..1; with 1 the delay is uniform in [0, computed] ("full jitter", AWS architecture blog) */
  jitter: number;
}

export interface RetryPolicy extends BackoffPolicy {
  /** total tries including the first */
  attempts: number;
  /** a server's Retry-After longer than this is not waited for: the error is thrown instead */
  maxRetryAfterMs: number;
  signal?: AbortSignal;
  /** observes each scheduled retry (metrics, logs) */
  onRetry?: (error: KubeError, attempt: number, delayMs: number) => void;
  /** injectable for tests */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  jitter: 1,
  maxRetryAfterMs: 60_000,
};

/**
 * Whether repeating the same request may succeed: throttling (429), server failures (5xx except
 * 501 Not Implemented, which is permanent), and connection resets/timeouts. A refused connection
 * is not retried here, so a CLI pointed at a stopped cluster says so at once; long-running
 * watchers retry it themselves with their own backoff.
 */
export function isRetryable(error: KubeError): boolean {
  if (error.code === 0) return error.reason === "ConnectionReset" || error.reason === "Timeout";
  if (error.code === 429) return true;
  if (error.code >= 500) return error.code !== 501;
  // 409 ServerTimeout-style reasons the API server marks as transient
  return error.reason === "ServerTimeout" || error.reason === "Timeout";
}

/** Delay before retry number `attempt` (1-based): base·2^(attempt-1), capped, then jittered. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jitterPart = exponential * policy.jitter * random();
  return Math.round(exponential - jitterPart);
}

/** A backoff sequence for long-running loops (watch supervisors): next() grows, reset() after success. */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    this.failures++;
    return backoffDelay(this.failures, this.policy, this.random);
  }

  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}

const defaultSleep = (ms: number, signal?: AbortSignal) => sleepTimer(ms, undefined, { signal });

/**
 * Runs `operation` until it succeeds, fails permanently, or attempts run out. Errors come out as
 * KubeError (converted once by toKubeError); the last one is thrown.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: Partial<RetryPolicy> = {},
): Promise<T> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options };
  const sleep = policy.sleep ?? defaultSleep;
  const random = policy.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      const error = toKubeError(err);
      if (attempt >= policy.attempts || !isRetryable(error) || policy.signal?.aborted) throw error;
      let delay = backoffDelay(attempt, policy, random);
      if (error.retryAfterSeconds !== undefined) {
        const serverDelay = error.retryAfterSeconds * 1000;
        if (serverDelay > policy.maxRetryAfterMs) throw error;
        // the server knows its load better than our backoff: wait at least what it asks
        delay = Math.max(delay, serverDelay);
      }
      policy.onRetry?.(error, attempt, delay);
      await sleep(delay, policy.signal);
    }
  }
}
