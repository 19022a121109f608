// The operator's time and abort plumbing: the manual clock fires timers in time order, and linked
// signals forward the first abort and can be detached from long-lived parents.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { linkedSignal, ManualClock, sleep } from "./clock.js";

describe("ManualClock", () => {
  test("advance fires due timers in time order and stops at the target time", async () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimer(() => fired.push("late"), 300);
    clock.setTimer(() => fired.push("early"), 100);
    const cancelled = clock.setTimer(() => fired.push("cancelled"), 200);
    cancelled.cancel();
    clock.setTimer(() => fired.push("beyond"), 500);
    await clock.advance(300);
    assert.deepEqual(fired, ["early", "late"]);
    assert.equal(clock.now(), 1_300);
    assert.equal(clock.pending, 1);
  });

  test("sleep resolves on the clock and rejects with the abort reason", async () => {
    const clock = new ManualClock(0);
    let woke = false;
    const nap = sleep(clock, 50).then(() => (woke = true));
    await clock.advance(49);
    assert.equal(woke, false);
    await clock.advance(1);
    await nap;
    assert.equal(woke, true);
    const controller = new AbortController();
    const interrupted = sleep(clock, 1_000, controller.signal);
    controller.abort(new Error("stop"));
    await assert.rejects(interrupted, /stop/);
    assert.equal(clock.pending, 0, "the aborted sleep's timer is cancelled");
  });
});

describe("linkedSignal", () => {
  test("aborts with the reason of whichever parent aborts first", () => {
    const a = new AbortController();
    const b = new AbortController();
    const { signal } = linkedSignal(a.signal, b.signal);
    b.abort(new Error("lease lost"));
    a.abort(new Error("later"));
    assert.equal((signal.reason as Error).message, "lease lost");
  });

  test("is aborted at once when a parent already is", () => {
    const a = new AbortController();
    a.abort(new Error("already"));
    assert.equal(linkedSignal(new AbortController().signal, a.signal).signal.aborted, true);
  });

  test("after dispose a parent's abort no longer reaches it", () => {
    const parent = new AbortController();
    const { signal, dispose } = linkedSignal(parent.signal);
    dispose();
    parent.abort();
    assert.equal(signal.aborted, false);
  });
});
