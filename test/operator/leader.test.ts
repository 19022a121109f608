// Leader election on a real coordination.k8s.io/v1 Lease served by the sandbox, with short
// durations: one leader among candidates, takeover after a crashed leader's lease expires,
// immediate takeover after a graceful release, and stepping down when renewals are refused.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Sandbox } from "../../sandbox/index.js";
import type { Cluster } from "../../src/kube/config.js";
import { objectPath } from "../../src/kube/resources.js";
import {
  LEASES,
  leaderElectorFor,
  LeadershipEnded,
  type Lease,
  type LeaderElector,
} from "../../src/operator/leader.js";
import { silentLogger } from "../../src/operator/log.js";
import { kubectl } from "../helpers/kubectl.js";
import { eventually, LEASE_NAMESPACE, operatorSandbox } from "./support.js";

const FAST = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 200 };

interface Candidate {
  identity: string;
  elector: LeaderElector;
  /** when each term started and the signal it got */
  terms: { at: number; signal: AbortSignal }[];
}

describe("LeaderElector against the sandbox's Lease API", () => {
  let sb: Sandbox;
  let cluster: Cluster;
  let running: Candidate[] = [];
  let leaseSeq = 0;

  before(async () => {
    ({ sb, cluster } = await operatorSandbox());
  });
  afterEach(async () => {
    sb.faults.clear();
    await Promise.all(running.map((c) => c.elector.stop()));
    running = [];
  });
  after(async () => {
    cluster?.close();
    await sb?.stop();
  });

  function candidate(lease: string, identity: string, extra: Partial<typeof FAST> & { releaseOnStop?: boolean } = {}) {
    const c: Candidate = {
      identity,
      terms: [],
      elector: leaderElectorFor(cluster.rest, {
        namespace: LEASE_NAMESPACE,
        name: lease,
        identity,
        ...FAST,
        ...extra,
        logger: silentLogger(),
      }),
    };
    void c.elector.run({
      onStartedLeading: (signal) => void c.terms.push({ at: Date.now(), signal }),
      onStoppedLeading: () => {},
    });
    running.push(c);
    return c;
  }

  const readLease = (name: string) =>
    cluster.rest.requestJson<Lease>({ path: objectPath(LEASES, name, LEASE_NAMESPACE) });

  test("of three candidates on one Lease exactly one leads, and keeps leading while it renews", async () => {
    const lease = `election-${++leaseSeq}`;
    const cs = ["a", "b", "c"].map((id) => candidate(lease, id));
    await eventually(() => cs.some((c) => c.elector.isLeader), 3_000, "a leader");
    const leader = cs.find((c) => c.elector.isLeader)!;
    // several lease durations: renewals must keep the others out
    await new Promise((r) => setTimeout(r, 2_000));
    assert.deepEqual(
      cs.filter((c) => c.elector.isLeader).map((c) => c.identity),
      [leader.identity],
    );
    assert.equal(
      cs.reduce((n, c) => n + c.terms.length, 0),
      1,
      "one term in total: nobody else ever started leading",
    );
    const spec = (await readLease(lease)).spec!;
    assert.equal(spec.holderIdentity, leader.identity);
    assert.equal(spec.leaseDurationSeconds, 1);
    assert.equal(spec.leaseTransitions, 0);
    assert.ok(Date.now() - Date.parse(spec.renewTime!) < 1_000, `renewed recently: ${spec.renewTime}`);
    for (const c of cs) assert.equal(c.elector.leader, leader.identity, `${c.identity} observed the leader`);
  });

  test("when the leader dies without releasing, a follower takes over once the lease has expired", async () => {
    const lease = `election-${++leaseSeq}`;
    const a = candidate(lease, "a", { releaseOnStop: false });
    await eventually(() => a.elector.isLeader, 3_000, "a leads");
    const b = candidate(lease, "b");
    await new Promise((r) => setTimeout(r, 500));
    await a.elector.stop(); // a crash, as far as the Lease can tell
    const lastRenew = Date.parse((await readLease(lease)).spec!.renewTime!);
    await eventually(() => b.elector.isLeader, 3_000, "b takes over");
    const takeover = b.terms[0].at;
    assert.ok(takeover > lastRenew + FAST.leaseDurationMs, "not before renewTime + leaseDuration");
    // b tries every retryPeriod × [1, 2.2): it notices the expiry within one such period
    assert.ok(
      takeover - (lastRenew + FAST.leaseDurationMs) < FAST.retryPeriodMs * 2.2 + 300,
      `took over ${takeover - lastRenew} ms after the last renewal`,
    );
    const spec = (await readLease(lease)).spec!;
    assert.equal(spec.holderIdentity, "b");
    assert.equal(spec.leaseTransitions, 1);
  });

  test("a graceful stop releases the Lease: the follower takes over at once, not after the lease duration", async () => {
    const lease = `election-${++leaseSeq}`;
    const slow = { leaseDurationMs: 10_000, renewDeadlineMs: 5_000, retryPeriodMs: 200 };
    const a = candidate(lease, "a", slow);
    await eventually(() => a.elector.isLeader, 3_000, "a leads");
    const b = candidate(lease, "b", slow);
    await eventually(() => b.elector.leader === "a", 3_000, "b sees a");
    const stoppedAt = Date.now();
    await a.elector.stop();
    assert.ok(a.terms[0].signal.aborted, "a's term ended");
    await eventually(() => b.elector.isLeader, 2_000, "b takes over");
    assert.ok(b.terms[0].at - stoppedAt < 1_000, `took ${b.terms[0].at - stoppedAt} ms; the lease was 10 s`);
    const holder = await kubectl("kubectl", sb.kubeconfigPath, [
      "get",
      "lease",
      lease,
      "-n",
      LEASE_NAMESPACE,
      "-o",
      "jsonpath={.spec.holderIdentity} {.spec.leaseTransitions}",
    ]);
    assert.equal(holder.code, 0, holder.stderr);
    assert.equal(holder.stdout, "b 1");
  });

  test("a leader whose renewals the API server refuses steps down within the renew deadline", async () => {
    const lease = `election-${++leaseSeq}`;
    const a = candidate(lease, "a");
    await eventually(() => a.elector.isLeader, 3_000, "a leads");
    sb.faults.add({ verb: "update", resource: "leases", code: 503 });
    const refusedAt = Date.now();
    await eventually(() => a.terms[0].signal.aborted, 3_000, "a's term to end");
    const steppedDownAfter = Date.now() - refusedAt;
    assert.ok(
      steppedDownAfter <= FAST.renewDeadlineMs + FAST.retryPeriodMs + 300,
      `stepped down after ${steppedDownAfter} ms`,
    );
    assert.ok(a.terms[0].signal.reason instanceof LeadershipEnded && a.terms[0].signal.reason.why === "lost");
    assert.equal(a.elector.isLeader, false);
    sb.faults.clear();
    await eventually(() => a.elector.isLeader, 3_000, "a leads again once renewals work");
    assert.equal(a.terms.length, 2);
  });
});
