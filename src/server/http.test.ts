import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkCsrf, checkHost, hostnameOf } from "./http.js";

const SESSION_CSRF = "session-csrf-token";

describe("request guards", () => {
  test("a write needs the CSRF header, equal to the session's token once logged in", () => {
    const host = "127.0.0.1:8080";
    assert.match(checkCsrf({ host }, false, undefined)!.message, /header is missing/);
    assert.equal(checkCsrf({ host, "x-meshlift-csrf": "login" }, false, undefined), null, "login: any value");
    assert.match(checkCsrf({ host, "x-meshlift-csrf": "guess" }, false, SESSION_CSRF)!.message, /does not match/);
    assert.equal(checkCsrf({ host, "x-meshlift-csrf": SESSION_CSRF }, false, SESSION_CSRF), null);
  });

  test("a browser's Origin must be this server's own, scheme included; Sec-Fetch-Site must be same-origin", () => {
    const ok = { host: "localhost:8080", "x-meshlift-csrf": SESSION_CSRF };
    assert.equal(checkCsrf({ ...ok, origin: "http://localhost:8080" }, false, SESSION_CSRF), null);
    assert.equal(checkCsrf({ ...ok, origin: "https://localhost:8080" }, true, SESSION_CSRF), null);
    for (const origin of ["http://localhost:9090", "https://localhost:8080", "http://evil.example", "null"])
      assert.equal(checkCsrf({ ...ok, origin }, false, SESSION_CSRF)?.status, 403, origin);
    assert.equal(checkCsrf({ ...ok, "sec-fetch-site": "same-origin" }, false, SESSION_CSRF), null);
    for (const site of ["cross-site", "same-site"])
      assert.equal(checkCsrf({ ...ok, "sec-fetch-site": site }, false, SESSION_CSRF)?.reason, "CsrfRejected", site);
  });

  test("a loopback console answers only to loopback host names (DNS rebinding)", () => {
    for (const host of ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST"])
      assert.equal(checkHost({ host }, true), null, host);
    assert.equal(checkHost({ host: "evil.example:8080" }, true)?.status, 421);
    assert.equal(checkHost({ host: "console.example.com" }, false), null, "not bound to loopback: any name");
    assert.equal(checkHost({}, false)?.status, 400);
    assert.equal(hostnameOf("[::1]:80"), "[::1]");
    assert.equal(hostnameOf("Example.COM:443"), "example.com");
  });
});
