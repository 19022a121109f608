// Leader election on a coordination.k8s.io/v1 Lease, with client-go's leaderelection semantics:
// create the Lease when absent; take it when it is free (empty holder) or expired (renewTime plus
// the *holder's* leaseDurationSeconds is past); write with the resourceVersion that was read, so of
// two candidates exactly one wins (the other gets 409 Conflict and tries again a retry period later);
// renew every retryPeriod; step down when no renewal succeeded for renewDeadline — shorter than the
// lease duration, so the old leader stops acting before anyone else may take over.
import { isKubeError, KubeError } from "../kube/errors.js";
import type { RestClient } from "../kube/rest.js";
import { collectionPath, objectPath, type KubeObject, type ResourceRef } from "../kube/resources.js";
import { linkedSignal, sleep, systemClock, type Clock } from "./clock.js";
import { errorFields, operatorLogger, type Logger } from "./log.js";

export const LEASES: ResourceRef = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};

/** coordination.k8s.io/v1 LeaseSpec (times are MicroTime: RFC 3339 with microseconds). */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** Where the Lease lives: the API server in production, a Map in unit tests. */
export interface LeaseStore {
  /** undefined when the Lease does not exist */
  get(signal?: AbortSignal): Promise<Lease | undefined>;
  /** 409 AlreadyExists when another candidate created it first */
  create(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  /** replaces the Lease; 409 Conflict when its resourceVersion is stale */
  update(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  /** for messages: "namespace/name" */
  readonly description: string;
}

export function restLeaseStore(rest: RestClient, namespace: string, name: string): LeaseStore {
  const target = { resource: "leases.coordination.k8s.io", namespace, name };
  return {
    description: `${namespace}/${name}`,
    async get(signal) {
      try {
        return await rest.requestJson<Lease>({
          path: objectPath(LEASES, name, namespace),
          signal,
          target: { ...target, verb: "get" },
        });
      } catch (err) {
        if (isKubeError(err) && err.code === 404) return undefined;
        throw err;
      }
    },
    create(lease, signal) {
      return rest.requestJson<Lease>({
        method: "POST",
        path: collectionPath(LEASES, namespace),
        body: lease,
        signal,
        target: { ...target, verb: "create" },
      });
    },
    update(lease, signal) {
      return rest.requestJson<Lease>({
        method: "PUT",
        path: objectPath(LEASES, name, namespace),
        body: lease,
        signal,
        target: { ...target, verb: "update" },
      });
    },
  };
}

/** Lease times are MicroTime ("2006-01-02T15:04:05.000000Z07:00"); Date has milliseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

/** Whole seconds, as the Lease stores them; never below one. */
export function leaseSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * When the holder's claim ends: renewTime + the holder's own leaseDurationSeconds. When we have
 * watched the record stay unchanged since `observedAt`, the claim also ends observedAt + duration:
 * this bounds a renewTime that lies in the future (holder's clock ahead) and covers a missing one.
 */
export function leaseExpiresAt(spec: LeaseSpec, observedAt?: number): number | undefined {
  const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  const byRenewTime = Number.isNaN(renewed) ? undefined : renewed + durationMs;
  const byObservation = observedAt === undefined ? undefined : observedAt + durationMs;
  if (byRenewTime === undefined) return byObservation;
  return byObservation === undefined ? byRenewTime : Math.min(byRenewTime, byObservation);
}

export type LeaseDecision =
  | { action: "create"; spec: LeaseSpec }
  | { action: "renew"; spec: LeaseSpec }
  | { action: "acquire"; spec: LeaseSpec; previousHolder: string }
  | { action: "wait"; holder: string; expiresAt: number | undefined };

/**
 * What a candidate does with the Lease it just read (pure: the rules of client-go's
 * tryAcquireOrRenew). `current` undefined means the Lease does not exist.
 */
export function decideLease(
  current: LeaseSpec | undefined,
  candidate: { identity: string; leaseDurationSeconds: number },
  now: number,
  observedAt?: number,
): LeaseDecision {
  const fresh = { holderIdentity: candidate.identity, leaseDurationSeconds: candidate.leaseDurationSeconds };
  if (current === undefined) {
    return {
      action: "create",
      spec: { ...fresh, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
    };
  }
  const holder = current.holderIdentity ?? "";
  if (holder === candidate.identity) {
    // renewing keeps acquireTime and the transition count: leadership did not change hands
    return {
      action: "renew",
      spec: {
        ...fresh,
        acquireTime: current.acquireTime ?? microTime(now),
        renewTime: microTime(now),
        leaseTransitions: current.leaseTransitions ?? 0,
      },
    };
  }
  if (holder !== "") {
    const expiresAt = leaseExpiresAt(current, observedAt);
    if (expiresAt === undefined || expiresAt >= now) return { action: "wait", holder, expiresAt };
  }
  // free (released) or expired: take it, counting the change of hands as client-go does
  return {
    action: "acquire",
    previousHolder: holder,
    spec: {
      ...fresh,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (current.leaseTransitions ?? 0) + 1,
    },
  };
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** unique per process; client-go uses hostname + "_" + a UUID */
  identity: string;
  /** how long a holder's claim lasts without renewal (default 15 s; stored in whole seconds) */
  leaseDurationMs?: number;
  /** the leader steps down when no renewal succeeded for this long (default 10 s) */
  renewDeadlineMs?: number;
  /** between acquire and renew attempts (default 2 s; acquire attempts add up to 120 % jitter) */
  retryPeriodMs?: number;
  /** on stop(), empty the holder so a successor takes over at once (client-go ReleaseOnCancel; default true) */
  releaseOnStop?: boolean;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

export interface LeaderCallbacks {
  /** runs when this candidate becomes leader; `signal` aborts (reason LeadershipEnded) when the term ends */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** runs after a term ended and onStartedLeading's promise settled */
  onStoppedLeading(): void | Promise<void>;
  /** the observed holder changed (including to this candidate) */
  onNewLeader?(identity: string): void;
}

/** The abort reason of a leading signal: the Lease was lost (renewal failed) or the elector stopped. */
export class LeadershipEnded extends Error {
  constructor(readonly why: "lost" | "stopped") {
    super(why === "lost" ? "leadership lost: the Lease could not be renewed" : "leader election stopped");
    this.name = "LeadershipEnded";
  }
}

/** client-go's JitterFactor for acquire attempts; renewDeadline must exceed retryPeriod times it. */
const JITTER_FACTOR = 1.2;

export function validateLeaderElectionOptions(
  options: LeaderElectionOptions,
): Required<Pick<LeaderElectionOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">> {
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  const where = `leader election on Lease ${options.namespace}/${options.name}`;
  if (!options.identity) throw new Error(`${where}: identity is empty — give each process a unique identity`);
  if (!options.namespace || !options.name) throw new Error(`${where}: the Lease needs a namespace and a name`);
  for (const [field, value] of Object.entries({ leaseDurationMs, renewDeadlineMs, retryPeriodMs })) {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${where}: ${field} must be a positive number of ms`);
  }
  if (leaseDurationMs <= renewDeadlineMs)
    throw new Error(
      `${where}: leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs}), so a leader steps down before its Lease can be taken`,
    );
  if (renewDeadlineMs <= retryPeriodMs * JITTER_FACTOR)
    throw new Error(
      `${where}: renewDeadlineMs (${renewDeadlineMs}) must be greater than retryPeriodMs × ${JITTER_FACTOR} (${retryPeriodMs * JITTER_FACTOR}), so several renewals fit in the deadline`,
    );
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

type Attempt = { ok: true } | { ok: false; holder?: string; error?: unknown };

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private leading = false;
  /** the last Lease read or written, and when (on our clock) its content last changed */
  private observed: Lease | undefined;
  private observedAt: number | undefined;
  private observedHolder = "";
  /** the renewTime of our last successful write */
  private lastRenewTime = 0;

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaderElectionOptions,
  ) {
    const timing = validateLeaderElectionOptions(options);
    this.leaseDurationMs = timing.leaseDurationMs;
    this.renewDeadlineMs = timing.renewDeadlineMs;
    this.retryPeriodMs = timing.retryPeriodMs;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = (options.logger ?? operatorLogger()).child({
      lease: store.description,
      identity: options.identity,
    });
  }

  get identity(): string {
    return this.options.identity;
  }

  /** true between winning the Lease and the end of the term */
  get isLeader(): boolean {
    return this.leading;
  }

  /** the holder named by the Lease as last read ("" when free or not read yet) */
  get leader(): string {
    return this.observedHolder;
  }

  /** whether the Lease has been read at least once (the API server answers) */
  get hasObservedLease(): boolean {
    return this.observedAt !== undefined;
  }

  /**
   * Campaigns, leads, and campaigns again after a lost term, until stop(). Resolves once stopped
   * (and the Lease released when releaseOnStop).
   */
  run(callbacks: LeaderCallbacks): Promise<void> {
    if (this.running) throw new Error(`LeaderElector for Lease ${this.store.description} is already running`);
    this.running = this.campaign(callbacks);
    return this.running;
  }

  /** Ends the current term (its signal aborts with LeadershipEnded("stopped")) and releases the Lease. */
  async stop(): Promise<void> {
    this.stopping.abort(new LeadershipEnded("stopped"));
    await this.running;
  }

  private async campaign(callbacks: LeaderCallbacks): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      if (!(await this.acquire(callbacks))) break;
      if (stop.aborted) {
        // won just as stop() came: hand the Lease straight back instead of starting a term
        if (this.options.releaseOnStop ?? true) await this.release();
        break;
      }
      const outcome = await this.lead(callbacks);
      if (outcome === "stopped") break;
      // a lost term: campaign again after a pause, as a restarted client-go process would
      try {
        await sleep(this.clock, this.retryPeriodMs, stop);
      } catch {
        break;
      }
    }
  }

  /** Tries until this candidate holds the Lease (true) or the elector stops (false). */
  private async acquire(callbacks: LeaderCallbacks): Promise<boolean> {
    const stop = this.stopping.signal;
    this.logger.info({ retryPeriodMs: this.retryPeriodMs }, "campaigning for leadership");
    while (!stop.aborted) {
      const attempt = await this.tryAcquireOrRenew(this.renewDeadlineMs, callbacks);
      if (attempt.ok) return true;
      const delay = this.retryPeriodMs * (1 + JITTER_FACTOR * this.random());
      try {
        await sleep(this.clock, delay, stop);
      } catch {
        return false;
      }
    }
    return false;
  }

  /** One term: runs the callback, renews until the Lease is lost or the elector stops. */
  private async lead(callbacks: LeaderCallbacks): Promise<"lost" | "stopped"> {
    this.leading = true;
    const term = new AbortController();
    this.logger.info("became leader");
    const work = Promise.resolve()
      .then(() => callbacks.onStartedLeading(term.signal))
      .catch((err: unknown) => this.logger.error(errorFields(err), "onStartedLeading failed"));
    const outcome = await this.renewUntilLost(callbacks);
    this.leading = false;
    term.abort(new LeadershipEnded(outcome));
    if (outcome === "lost") this.logger.warn("leadership lost: stopped leading");
    await work;
    try {
      await callbacks.onStoppedLeading();
    } catch (err) {
      this.logger.error(errorFields(err), "onStoppedLeading failed");
    }
    if (outcome === "stopped" && (this.options.releaseOnStop ?? true)) await this.release();
    return outcome;
  }

  private async renewUntilLost(callbacks: LeaderCallbacks): Promise<"lost" | "stopped"> {
    const stop = this.stopping.signal;
    for (;;) {
      try {
        await sleep(this.clock, this.retryPeriodMs, stop);
      } catch {
        return "stopped";
      }
      // counted from the renewTime last written, which is what other candidates judge expiry by
      const deadline = this.lastRenewTime + this.renewDeadlineMs;
      const attempt = await this.tryAcquireOrRenew(deadline - this.clock.now(), callbacks);
      if (stop.aborted) return "stopped";
      if (attempt.ok) continue;
      // another holder in the Lease means it is gone now: waiting out the deadline would make two leaders
      if (attempt.holder) {
        this.logger.warn({ holder: attempt.holder }, "the Lease names another holder");
        return "lost";
      }
      if (this.clock.now() >= deadline) {
        this.logger.warn(
          { renewDeadlineMs: this.renewDeadlineMs, ...errorFields(attempt.error) },
          "failed to renew the Lease within the renew deadline",
        );
        return "lost";
      }
    }
  }

  /** A signal that aborts after `ms` on the elector's clock, or when the elector stops. */
  private attemptSignal(ms: number): { signal: AbortSignal; done(): void } {
    const controller = new AbortController();
    const timer = this.clock.setTimer(
      () =>
        controller.abort(
          new KubeError({
            code: 0,
            reason: "Timeout",
            message: `no answer about Lease ${this.store.description} within ${Math.round(ms)} ms`,
          }),
        ),
      Math.max(0, ms),
    );
    const linked = linkedSignal(controller.signal, this.stopping.signal);
    return {
      signal: linked.signal,
      done: () => {
        timer.cancel();
        linked.dispose();
      },
    };
  }

  private observe(lease: Lease, callbacks: LeaderCallbacks): void {
    const before = JSON.stringify(this.observed?.spec ?? null);
    if (before !== JSON.stringify(lease.spec ?? null) || this.observedAt === undefined) {
      this.observedAt = this.clock.now();
    }
    this.observed = lease;
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder) {
        this.logger.info({ leader: holder }, "new leader observed");
        try {
          callbacks.onNewLeader?.(holder);
        } catch (err) {
          this.logger.error(errorFields(err), "onNewLeader failed");
        }
      }
    }
  }

  private async tryAcquireOrRenew(timeoutMs: number, callbacks: LeaderCallbacks): Promise<Attempt> {
    const { signal, done } = this.attemptSignal(timeoutMs);
    try {
      const current = await this.store.get(signal);
      if (current) this.observe(current, callbacks);
      const now = this.clock.now();
      const decision = decideLease(
        current ? (current.spec ?? {}) : undefined,
        { identity: this.options.identity, leaseDurationSeconds: leaseSeconds(this.leaseDurationMs) },
        now,
        current ? this.observedAt : undefined,
      );
      if (decision.action === "wait") return { ok: false, holder: decision.holder };
      const written =
        decision.action === "create"
          ? await this.store.create(
              {
                apiVersion: "coordination.k8s.io/v1",
                kind: "Lease",
                metadata: { name: this.options.name, namespace: this.options.namespace },
                spec: decision.spec,
              },
              signal,
            )
          : await this.store.update({ ...current!, spec: decision.spec }, signal);
      this.observe(written, callbacks);
      this.lastRenewTime = now;
      if (decision.action === "acquire")
        this.logger.info(
          { previousHolder: decision.previousHolder || undefined, transitions: decision.spec.leaseTransitions },
          "acquired the Lease",
        );
      return { ok: true };
    } catch (err) {
      // 409: another candidate wrote first (AlreadyExists or Conflict); the next attempt re-reads
      const conflict = isKubeError(err) && err.code === 409;
      this.logger.debug({ conflict, ...errorFields(err) }, "Lease attempt failed");
      return { ok: false, error: err };
    } finally {
      done();
    }
  }

  /** Empties the holder (client-go's release: duration 1 s, times now) so a successor need not wait. */
  private async release(): Promise<void> {
    const { signal, done } = this.attemptSignalWithoutStop(this.renewDeadlineMs);
    try {
      // a renewal cut short by stop() may have landed: on a stale resourceVersion, re-read once and retry
      for (let attempt = 1; ; attempt++) {
        const lease = attempt === 1 ? this.observed : await this.store.get(signal);
        if (!lease || lease.spec?.holderIdentity !== this.options.identity) return;
        const now = microTime(this.clock.now());
        try {
          this.observed = await this.store.update(
            {
              ...lease,
              spec: {
                holderIdentity: "",
                leaseDurationSeconds: 1,
                acquireTime: now,
                renewTime: now,
                leaseTransitions: lease.spec?.leaseTransitions ?? 0,
              },
            },
            signal,
          );
          this.observedHolder = "";
          this.logger.info("released the Lease");
          return;
        } catch (err) {
          if (attempt >= 2 || !isKubeError(err) || err.code !== 409) throw err;
        }
      }
    } catch (err) {
      this.logger.warn(errorFields(err), "could not release the Lease; it expires on its own");
    } finally {
      done();
    }
  }

  /** For release(), which runs after stop() aborted the elector's own signal. */
  private attemptSignalWithoutStop(ms: number): { signal: AbortSignal; done(): void } {
    const controller = new AbortController();
    const timer = this.clock.setTimer(() => controller.abort(new Error("Lease release timed out")), ms);
    return { signal: controller.signal, done: () => timer.cancel() };
  }
}

/** A LeaderElector on the Lease served by the cluster behind `rest`. */
export function leaderElectorFor(rest: RestClient, options: LeaderElectionOptions): LeaderElector {
  return new LeaderElector(restLeaseStore(rest, options.namespace, options.name), options);
}
