// The work queue's contract with a manual clock: dedupe, one reconcile in flight per key (re-run
// once when added meanwhile), parallelism across keys, per-key exponential backoff reset by
// success, addAfter keeping the earliest time, requeueAfter, shutdown draining or aborting.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock, settle } from "./clock.js";
import { failureDelay, WorkQueue, type ReconcileOutcome, type WorkQueueOptions } from "./queue.js";

interface Gate {
  promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** A queue whose reconciles are recorded; `behaviour` decides each one's outcome. */
function recordingQueue(
  clock: ManualClock,
  behaviour: (key: string, call: number, signal: AbortSignal) => Promise<ReconcileOutcome | void> = async () => {},
  options: Partial<WorkQueueOptions<string>> = {},
) {
  const calls: { key: string; at: number }[] = [];
  const running = new Map<string, number>();
  let maxParallelPerKey = 0;
  let maxParallel = 0;
  const queue = new WorkQueue<string>({
    clock,
    ...options,
    process: async (key, signal) => {
      calls.push({ key, at: clock.now() });
      running.set(key, (running.get(key) ?? 0) + 1);
      maxParallelPerKey = Math.max(maxParallelPerKey, running.get(key)!);
      maxParallel = Math.max(
        maxParallel,
        [...running.values()].reduce((a, b) => a + b, 0),
      );
      try {
        return await behaviour(key, calls.filter((c) => c.key === key).length, signal);
      } finally {
        running.set(key, running.get(key)! - 1);
      }
    },
  });
  return {
    queue,
    calls,
    callsOf: (key: string) => calls.filter((c) => c.key === key),
    get maxParallelPerKey() {
      return maxParallelPerKey;
    },
    get maxParallel() {
      return maxParallel;
    },
  };
}

describe("WorkQueue", () => {
  test("a key added many times before it runs is reconciled once", async () => {
    const clock = new ManualClock();
    const q = recordingQueue(clock, undefined, { paused: true });
    for (let i = 0; i < 5; i++) q.queue.add("mesh-a");
    q.queue.add("mesh-b");
    assert.equal(q.queue.depth, 2);
    q.queue.start();
    await q.queue.whenIdle();
    assert.deepEqual(
      q.calls.map((c) => c.key),
      ["mesh-a", "mesh-b"],
      "FIFO, one run each",
    );
  });

  test("a key added while in flight waits, then runs exactly once more", async () => {
    const clock = new ManualClock();
    const gates = [gate(), gate()];
    const q = recordingQueue(clock, (_key, call) => gates[call - 1].promise, { concurrency: 4 });
    q.queue.add("mesh-a");
    await settle();
    assert.equal(q.queue.inFlight, 1);
    q.queue.add("mesh-a");
    q.queue.add("mesh-a");
    q.queue.add("mesh-a");
    await settle();
    assert.equal(q.callsOf("mesh-a").length, 1, "not started again while in flight, despite free workers");
    gates[0].open();
    await settle();
    assert.equal(q.callsOf("mesh-a").length, 2);
    gates[1].open();
    await q.queue.whenIdle();
    assert.equal(q.callsOf("mesh-a").length, 2, "three adds during the first run collapse into one re-run");
    assert.equal(q.maxParallelPerKey, 1);
  });

  test("different keys run in parallel up to `concurrency`", async () => {
    const clock = new ManualClock();
    const gates = new Map(["a", "b", "c"].map((k) => [k, gate()]));
    const q = recordingQueue(clock, (key) => gates.get(key)!.promise, { concurrency: 2 });
    for (const k of ["a", "b", "c"]) q.queue.add(k);
    await settle();
    assert.deepEqual(
      q.calls.map((c) => c.key),
      ["a", "b"],
    );
    assert.equal(q.queue.depth, 1);
    gates.get("b")!.open();
    await settle();
    assert.deepEqual(
      q.calls.map((c) => c.key),
      ["a", "b", "c"],
    );
    gates.get("a")!.open();
    gates.get("c")!.open();
    await q.queue.whenIdle();
    assert.equal(q.maxParallel, 2);
  });

  test("failures back off exponentially per key up to the ceiling; a success resets the backoff", async () => {
    const clock = new ManualClock();
    let failing = true;
    const q = recordingQueue(
      clock,
      async () => {
        if (failing) throw new Error("API server said 500");
      },
      { backoff: { baseDelayMs: 100, maxDelayMs: 400 } },
    );
    const t0 = clock.now();
    q.queue.add("mesh-a");
    await clock.advance(100 + 200 + 400 + 400);
    assert.deepEqual(
      q.callsOf("mesh-a").map((c) => c.at - t0),
      [0, 100, 300, 700, 1100],
    );
    assert.equal(q.queue.numRequeues("mesh-a"), 5);
    failing = false;
    await clock.advance(400);
    assert.equal(q.callsOf("mesh-a").length, 6);
    assert.equal(q.queue.numRequeues("mesh-a"), 0, "forgotten after success");
    failing = true;
    const before = clock.now();
    q.queue.add("mesh-a");
    await clock.advance(100);
    assert.deepEqual(
      q
        .callsOf("mesh-a")
        .slice(6)
        .map((c) => c.at - before),
      [0, 100],
      "the first retry after a reset waits the base delay again",
    );
    await q.queue.shutdown();
  });

  test("failureDelay doubles from the base and stops at the ceiling", () => {
    const b = { baseDelayMs: 5, maxDelayMs: 300_000 };
    assert.deepEqual(
      [1, 2, 3, 10].map((n) => failureDelay(n, b)),
      [5, 10, 20, 2560],
    );
    assert.equal(failureDelay(40, b), 300_000);
  });

  test("addAfter keeps the earliest pending time for a key", async () => {
    const clock = new ManualClock();
    const q = recordingQueue(clock);
    const t0 = clock.now();
    q.queue.addAfter("late-then-early", 1_000);
    q.queue.addAfter("late-then-early", 300);
    q.queue.addAfter("early-then-late", 300);
    q.queue.addAfter("early-then-late", 1_000);
    assert.equal(q.queue.delayedCount, 2);
    await clock.advance(299);
    assert.equal(q.calls.length, 0);
    await clock.advance(2_000);
    assert.deepEqual(
      q.calls.map((c) => [c.key, c.at - t0]),
      [
        ["late-then-early", 300],
        ["early-then-late", 300],
      ],
    );
  });

  test("requeueAfterMs runs the key again after that delay, without counting a failure", async () => {
    const clock = new ManualClock();
    const q = recordingQueue(clock, async (_k, call) => (call < 3 ? { requeueAfterMs: 500 } : undefined));
    const t0 = clock.now();
    q.queue.add("mesh-a");
    await clock.advance(5_000);
    assert.deepEqual(
      q.callsOf("mesh-a").map((c) => c.at - t0),
      [0, 500, 1000],
    );
    assert.equal(q.queue.numRequeues("mesh-a"), 0);
  });

  test("hooks report depth, adds, retries and each reconcile's result and duration", async () => {
    const clock = new ManualClock();
    const seen = { depth: [] as number[], adds: 0, retries: [] as number[], results: [] as string[] };
    const q = recordingQueue(
      clock,
      async (key) => {
        await new Promise<void>((resolve) => clock.setTimer(resolve, 40));
        if (key === "bad") throw new Error("boom");
        return key === "poll" ? { requeueAfterMs: 10_000 } : undefined;
      },
      {
        paused: true,
        hooks: {
          depth: (d) => seen.depth.push(d),
          added: () => seen.adds++,
          retried: (_k, delay) => seen.retries.push(delay),
          processed: (key, result, ms) => seen.results.push(`${key}:${result}:${ms}`),
        },
        concurrency: 3,
      },
    );
    q.queue.add("ok");
    q.queue.add("ok");
    q.queue.add("bad");
    q.queue.add("poll");
    assert.equal(seen.adds, 4);
    assert.equal(seen.depth.at(-1), 3);
    q.queue.start();
    await clock.advance(40);
    assert.deepEqual(seen.results.sort(), ["bad:error:40", "ok:success:40", "poll:requeue_after:40"]);
    assert.deepEqual(seen.retries, [5]);
    assert.equal(seen.depth.at(-1), 0);
    await q.queue.shutdown({ graceMs: 0 });
  });

  test("shutdown waits for in-flight reconciles, drops queued and delayed keys, ignores new adds", async () => {
    const clock = new ManualClock();
    const g = gate();
    const q = recordingQueue(clock, (key) => (key === "slow" ? g.promise : Promise.resolve()), { concurrency: 1 });
    q.queue.add("slow");
    q.queue.add("queued");
    q.queue.addAfter("delayed", 100);
    await settle();
    let finished = false;
    const shutdown = q.queue.shutdown().then(() => (finished = true));
    await settle();
    assert.equal(finished, false, "still waiting for the in-flight reconcile");
    q.queue.add("after-shutdown");
    g.open();
    await shutdown;
    await clock.advance(1_000);
    assert.deepEqual(
      q.calls.map((c) => c.key),
      ["slow"],
    );
  });

  test("shutdown aborts in-flight reconciles once graceMs has passed", async () => {
    const clock = new ManualClock();
    let abortedAt: number | undefined;
    const q = recordingQueue(
      clock,
      (_key, _call, signal) =>
        new Promise<void>((_resolve, reject) =>
          signal.addEventListener("abort", () => {
            abortedAt = clock.now();
            reject(signal.reason);
          }),
        ),
    );
    const t0 = clock.now();
    q.queue.add("stuck");
    await settle();
    const shutdown = q.queue.shutdown({ graceMs: 250, reason: new Error("leadership lost") });
    await clock.advance(249);
    assert.equal(abortedAt, undefined);
    await clock.advance(1);
    await shutdown;
    assert.equal(abortedAt! - t0, 250);
    assert.equal(q.queue.delayedCount, 0, "an aborted reconcile is not retried after shutdown");
  });
});
