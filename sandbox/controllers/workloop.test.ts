import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { scaledValue, selectorMatches, templateHash } from "./meta.js";
import { WorkLoop } from "./workloop.js";

describe("WorkLoop", () => {
  test("a burst of adds for one key is reconciled once; different keys run in arrival order", async () => {
    const loop = new WorkLoop(() => {});
    const seen: string[] = [];
    const q = loop.queue("q", (key) => void seen.push(key));
    for (let i = 0; i < 100; i++) q.add("a");
    q.add("b");
    q.add("a");
    await loop.idle();
    assert.deepEqual(seen, ["a", "b"]);
    loop.stop();
  });

  test("idle() waits for settling requeues but not for background clocks", async () => {
    const loop = new WorkLoop(() => {});
    const runs: string[] = [];
    const q = loop.queue("q", (key) => {
      runs.push(key);
      if (key === "settle" && runs.filter((k) => k === "settle").length === 1)
        return { requeueAfterMs: 30, settling: true };
      if (key === "clock") return { requeueAfterMs: 60_000, settling: false };
    });
    q.add("settle");
    q.add("clock");
    const t0 = Date.now();
    await loop.idle();
    assert.ok(Date.now() - t0 >= 25, "waited for the settling timer");
    assert.deepEqual(runs, ["settle", "clock", "settle"]);
    loop.stop();
  });

  test("a failing reconcile is retried with backoff and reported when it is not an ApiError", async () => {
    const errors: string[] = [];
    const loop = new WorkLoop((queue, key) => errors.push(`${queue}/${key}`));
    let calls = 0;
    const q = loop.queue("q", () => {
      calls++;
      if (calls < 3) throw new Error("boom");
    });
    q.add("k");
    const deadline = Date.now() + 2000;
    while (calls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(calls, 3);
    assert.deepEqual(errors, ["q/k", "q/k"]);
    loop.stop();
  });
});

describe("meta helpers", () => {
  test("percentages scale like intstr.GetScaledValueFromIntOrPercent: surge up, unavailable down", () => {
    assert.equal(scaledValue("25%", 10, true, 0), 3);
    assert.equal(scaledValue("25%", 10, false, 0), 2);
    assert.equal(scaledValue(2, 10, false, 0), 2);
    assert.equal(scaledValue(undefined, 4, true, "25%"), 1);
    assert.throws(() => scaledValue("abc", 10, true, 0));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 1000 }), (pct, total) => {
        const up = scaledValue(`${pct}%`, total, true, 0);
        const down = scaledValue(`${pct}%`, total, false, 0);
        return down <= up && up - down <= 1 && down * 100 <= pct * total && up * 100 >= pct * total;
      }),
    );
  });

  test("label selectors: matchLabels and every matchExpressions operator; empty matches all, null none", () => {
    const labels = { app: "web", tier: "front" };
    assert.equal(selectorMatches({}, labels), true);
    assert.equal(selectorMatches(undefined, labels), false);
    assert.equal(selectorMatches({ matchLabels: { app: "web" } }, labels), true);
    assert.equal(selectorMatches({ matchLabels: { app: "db" } }, labels), false);
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["front", "back"] }] }, labels),
      true,
    );
    assert.equal(
      selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] }, labels),
      false,
    );
    assert.equal(selectorMatches({ matchExpressions: [{ key: "x", operator: "NotIn", values: ["a"] }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "app", operator: "Exists" }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, labels), false);
  });

  test("template hashes ignore key order and change with the template or the collision count", () => {
    const a = { metadata: { labels: { app: "x", v: "1" } }, spec: { containers: [{ name: "c", image: "i:1" }] } };
    const b = { spec: { containers: [{ image: "i:1", name: "c" }] }, metadata: { labels: { v: "1", app: "x" } } };
    assert.equal(templateHash(a), templateHash(b));
    assert.match(templateHash(a), /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.notEqual(templateHash(a), templateHash({ ...a, spec: { containers: [{ name: "c", image: "i:2" }] } }));
    assert.notEqual(templateHash(a), templateHash(a, 1));
  });
});
