import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster } from "../kube/config.js";
import { parseCookies, sameSecret, sessionCookie, SessionStore, type SessionEndReason } from "./session.js";

function fakeCluster(): Cluster & { closed: boolean } {
  const c = { closed: false } as Cluster & { closed: boolean };
  c.close = () => void (c.closed = true);
  return c;
}

describe("console sessions", () => {
  test("a session ends after its idle time and after its lifetime, whichever comes first, and closes its cluster", () => {
    let now = 0;
    const store = new SessionStore({ idleTimeoutMs: 1_000, maxLifetimeMs: 2_500, now: () => now });
    const ended: SessionEndReason[] = [];
    store.onEnd((_s, reason) => ended.push(reason));
    try {
      const idle = store.create({ username: "a", groups: [] }, fakeCluster());
      const busy = store.create({ username: "b", groups: [] }, fakeCluster());
      assert.notEqual(idle.id, busy.id);
      assert.match(idle.id, /^[A-Za-z0-9_-]{43}$/, "32 random bytes");
      for (const at of [500, 1_000, 1_500, 2_000]) {
        now = at;
        store.get(busy.id);
      }
      assert.equal(store.get(idle.id), undefined, "unused for 1 s");
      assert.equal(store.get(busy.id), busy);
      now = 2_500;
      assert.equal(store.get(busy.id), undefined, "12 h… here 2.5 s after login, however busy");
      assert.deepEqual(ended, ["idle", "lifetime"]);
      assert.equal((busy.cluster as any).closed, true);
    } finally {
      store.close();
    }
  });

  test("cookies: HttpOnly and SameSite=Strict always, Secure and __Host- over https", () => {
    assert.equal(sessionCookie("abc", false), "meshlift_session=abc; Path=/; HttpOnly; SameSite=Strict");
    assert.equal(sessionCookie("abc", true), "__Host-meshlift_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure");
    assert.deepEqual(parseCookies('a=1; meshlift_session="xyz"; a=2'), { a: "1", meshlift_session: "xyz" });
    assert.deepEqual(parseCookies(undefined), {});
  });

  test("secrets compare in constant time and only when equal", () => {
    assert.equal(sameSecret("abc", "abc"), true);
    assert.equal(sameSecret("abc", "abd"), false);
    assert.equal(sameSecret("abc", "abcd"), false);
  });
});
