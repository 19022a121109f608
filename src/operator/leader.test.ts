// Leader election rules with a manual clock and an in-memory Lease: expiry by the holder's own
// duration, renewal, takeover with a transition count, stepping down past the renew deadline,
// and optimistic concurrency between candidates.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KubeError } from "../kube/errors.js";
import { ManualClock, settle } from "./clock.js";
import {
  decideLease,
  LeaderElector,
  LeadershipEnded,
  leaseExpiresAt,
  microTime,
  validateLeaderElectionOptions,
  type Lease,
  type LeaseStore,
} from "./leader.js";
import { silentLogger } from "./log.js";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const me = { identity: "me", leaseDurationSeconds: 15 };

describe("decideLease (client-go's tryAcquireOrRenew rules)", () => {
  test("an absent Lease is created, held by the candidate, with no transitions yet", () => {
    const d = decideLease(undefined, me, T0);
    assert.equal(d.action, "create");
    assert.deepEqual(d.spec, {
      holderIdentity: "me",
      leaseDurationSeconds: 15,
      acquireTime: "2026-03-01T12:00:00.000000Z",
      renewTime: "2026-03-01T12:00:00.000000Z",
      leaseTransitions: 0,
    });
  });

  test("the holder renews: renewTime moves, acquireTime and transitions stay", () => {
    const current = {
      holderIdentity: "me",
      leaseDurationSeconds: 15,
      acquireTime: microTime(T0 - 60_000),
      renewTime: microTime(T0 - 2_000),
      leaseTransitions: 3,
    };
    const d = decideLease(current, me, T0);
    assert.equal(d.action, "renew");
    assert.equal(d.spec.acquireTime, microTime(T0 - 60_000));
    assert.equal(d.spec.renewTime, microTime(T0));
    assert.equal(d.spec.leaseTransitions, 3);
  });

  test("another holder's Lease is respected until renewTime + *its* duration has passed", () => {
    // the holder claims 30 s; the candidate's own 15 s must not shorten that
    const current = {
      holderIdentity: "other",
      leaseDurationSeconds: 30,
      renewTime: microTime(T0),
      leaseTransitions: 2,
    };
    const waiting = decideLease(current, me, T0 + 20_000);
    assert.deepEqual(waiting, { action: "wait", holder: "other", expiresAt: T0 + 30_000 });
    assert.equal(decideLease(current, me, T0 + 30_000).action, "wait", "expiry is strict: renewTime + duration < now");
    const taken = decideLease(current, me, T0 + 30_001);
    assert.equal(taken.action, "acquire");
    assert.equal(taken.action === "acquire" && taken.previousHolder, "other");
    assert.equal(taken.spec.leaseTransitions, 3);
    assert.equal(taken.spec.holderIdentity, "me");
    assert.equal(taken.spec.leaseDurationSeconds, 15);
    assert.equal(taken.spec.acquireTime, microTime(T0 + 30_001));
  });

  test("a released Lease (empty holder) is taken at once and counts as a transition", () => {
    const released = { holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(T0), leaseTransitions: 4 };
    const d = decideLease(released, me, T0);
    assert.equal(d.action, "acquire");
    assert.equal(d.spec.leaseTransitions, 5);
  });

  test("a renewTime in the future (holder's clock ahead) is bounded by when we saw the record change", () => {
    const ahead = { holderIdentity: "other", leaseDurationSeconds: 10, renewTime: microTime(T0 + 3_600_000) };
    assert.equal(leaseExpiresAt(ahead), T0 + 3_610_000);
    assert.equal(leaseExpiresAt(ahead, T0), T0 + 10_000);
    assert.equal(decideLease(ahead, me, T0 + 9_000, T0).action, "wait");
    assert.equal(decideLease(ahead, me, T0 + 10_001, T0).action, "acquire");
  });

  test("a holder without renewTime is waited for until observed unchanged for its duration", () => {
    const odd = { holderIdentity: "other", leaseDurationSeconds: 5 };
    assert.equal(decideLease(odd, me, T0).action, "wait");
    assert.equal(decideLease(odd, me, T0 + 5_001, T0).action, "acquire");
  });

  test("timings that could make two leaders are refused with the rule they break", () => {
    const base = { namespace: "ns", name: "l", identity: "me" };
    assert.throws(
      () => validateLeaderElectionOptions({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      /leaseDurationMs \(10000\) must be greater than renewDeadlineMs/,
    );
    assert.throws(
      () => validateLeaderElectionOptions({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
      /renewDeadlineMs \(2000\) must be greater than retryPeriodMs × 1.2/,
    );
    assert.throws(() => validateLeaderElectionOptions({ ...base, identity: "" }), /identity is empty/);
    assert.deepEqual(validateLeaderElectionOptions(base), {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
  });
});

/** A Lease with the API server's optimistic concurrency: stale resourceVersions get 409. */
class MemoryLeaseStore implements LeaseStore {
  readonly description = "kube-system/meshlift";
  lease: Lease | undefined;
  writes = 0;
  down = false;
  private rv = 100;

  private unavailable(): KubeError {
    return new KubeError({ code: 503, reason: "ServiceUnavailable", message: "the API server is down" });
  }

  async get(): Promise<Lease | undefined> {
    if (this.down) throw this.unavailable();
    return this.lease && structuredClone(this.lease);
  }

  async create(lease: Lease): Promise<Lease> {
    if (this.down) throw this.unavailable();
    if (this.lease) throw new KubeError({ code: 409, reason: "AlreadyExists", message: "leases exists" });
    return this.store(lease);
  }

  async update(lease: Lease): Promise<Lease> {
    if (this.down) throw this.unavailable();
    if (lease.metadata.resourceVersion !== this.lease?.metadata.resourceVersion)
      throw new KubeError({ code: 409, reason: "Conflict", message: "the object has been modified" });
    return this.store(lease);
  }

  /** what an outside writer (another replica, kubectl) does */
  overwrite(spec: Lease["spec"]): void {
    this.store({ ...this.lease!, spec });
  }

  private store(lease: Lease): Lease {
    this.writes++;
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
}

interface Candidate {
  elector: LeaderElector;
  terms: AbortSignal[];
  stopped: number;
  leaders: string[];
  running: Promise<void>;
}

function candidate(
  store: LeaseStore,
  clock: ManualClock,
  identity: string,
  extra: { releaseOnStop?: boolean } = {},
): Candidate {
  const elector = new LeaderElector(store, {
    namespace: "kube-system",
    name: "meshlift",
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    clock,
    random: () => 0,
    logger: silentLogger(),
    ...extra,
  });
  const c: Candidate = { elector, terms: [], stopped: 0, leaders: [], running: Promise.resolve() };
  c.running = elector.run({
    onStartedLeading: (signal) => void c.terms.push(signal),
    onStoppedLeading: () => void c.stopped++,
    onNewLeader: (id) => void c.leaders.push(id),
  });
  return c;
}

describe("LeaderElector", () => {
  test("a lone candidate creates the Lease, leads, and renews every retry period", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, "a");
    await settle();
    assert.equal(a.elector.isLeader, true);
    assert.equal(a.terms.length, 1);
    assert.deepEqual(a.leaders, ["a"]);
    assert.equal(store.lease?.spec?.holderIdentity, "a");
    assert.equal(store.lease?.spec?.leaseTransitions, 0);
    await clock.advance(6_000);
    assert.equal(store.writes, 4, "create + three renewals");
    assert.equal(store.lease?.spec?.renewTime, microTime(T0 + 6_000));
    assert.equal(store.lease?.spec?.acquireTime, microTime(T0));
    await a.elector.stop();
  });

  test("a follower waits out the crashed leader's lease, then takes over with one more transition", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, "a", { releaseOnStop: false });
    await settle();
    const b = candidate(store, clock, "b");
    await clock.advance(5_000);
    assert.equal(a.elector.isLeader, true);
    assert.equal(b.elector.isLeader, false);
    assert.equal(b.elector.leader, "a");
    await a.elector.stop(); // a crash: no release
    const lastRenew = Date.parse(store.lease!.spec!.renewTime!);
    await clock.advance(lastRenew + 15_000 - clock.now());
    assert.equal(b.elector.isLeader, false, "not before renewTime + leaseDuration");
    await clock.advance(2_001); // b's next attempt after expiry
    assert.equal(b.elector.isLeader, true, "within one retry period after expiry");
    assert.equal(store.lease?.spec?.holderIdentity, "b");
    assert.equal(store.lease?.spec?.leaseTransitions, 1);
    assert.deepEqual(b.leaders, ["a", "b"]);
    await b.elector.stop();
  });

  test("stop() releases the Lease so the follower takes over at its next attempt", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, "a");
    await settle();
    const b = candidate(store, clock, "b");
    await clock.advance(3_000);
    await a.elector.stop();
    assert.equal(a.terms[0].aborted, true);
    assert.ok(a.terms[0].reason instanceof LeadershipEnded && a.terms[0].reason.why === "stopped");
    assert.equal(a.stopped, 1);
    assert.equal(store.lease?.spec?.holderIdentity, "");
    await clock.advance(2_000);
    assert.equal(b.elector.isLeader, true, "long before the 15 s lease would have expired");
    assert.equal(store.lease?.spec?.leaseTransitions, 1);
    await b.elector.stop();
  });

  test("the leader steps down once renewals have failed for renewDeadline, then campaigns again", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, "a");
    await settle();
    store.down = true;
    await clock.advance(9_000);
    assert.equal(a.elector.isLeader, true, "still inside the 10 s renew deadline");
    assert.equal(a.terms[0].aborted, false);
    await clock.advance(2_000);
    assert.equal(a.elector.isLeader, false);
    assert.ok(a.terms[0].reason instanceof LeadershipEnded && a.terms[0].reason.why === "lost");
    assert.equal(a.stopped, 1);
    store.down = false;
    await clock.advance(4_000);
    assert.equal(a.elector.isLeader, true, "the Lease still names a, so it renews it");
    assert.equal(a.terms.length, 2);
    await a.elector.stop();
  });

  test("a Lease that names someone else ends the term at once, without waiting for the deadline", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, "a");
    await settle();
    store.overwrite({ holderIdentity: "intruder", leaseDurationSeconds: 15, renewTime: microTime(T0) });
    await clock.advance(2_000);
    assert.equal(a.elector.isLeader, false);
    assert.equal(a.terms[0].aborted, true);
    await a.elector.stop();
    assert.equal(store.lease?.spec?.holderIdentity, "intruder", "stop() does not release a Lease it lost");
  });

  test("of two candidates racing for a missing Lease exactly one leads; the other got 409", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryLeaseStore();
    const a = candidate(store, clock, "a");
    const b = candidate(store, clock, "b");
    await settle();
    await clock.advance(10_000);
    assert.equal(Number(a.elector.isLeader) + Number(b.elector.isLeader), 1);
    assert.equal(store.lease?.spec?.leaseTransitions, 0);
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });
});
