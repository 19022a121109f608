// The runtime's process-level helpers (the controller itself is tested against the sandbox in
// test/operator/runtime.test.ts).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { silentLogger } from "./log.js";
import { defaultIdentity, stopOnSignals } from "./runtime.js";

describe("runtime helpers", () => {
  test("the default identity is the host name and a UUID, different per process start", () => {
    const id = defaultIdentity();
    assert.match(id, new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_[0-9a-f-]{36}$`));
    assert.notEqual(id, defaultIdentity());
  });

  test("stopOnSignals stops the controller on the signal, once, and can be undone", () => {
    let stops = 0;
    const controller = { stop: async () => void stops++ };
    const before = process.listenerCount("SIGUSR2");
    const undo = stopOnSignals(controller, silentLogger(), ["SIGUSR2"]);
    assert.equal(process.listenerCount("SIGUSR2"), before + 1);
    process.emit("SIGUSR2", "SIGUSR2");
    assert.equal(stops, 1);
    assert.equal(process.listenerCount("SIGUSR2"), before, "a once-listener");
    const undo2 = stopOnSignals(controller, silentLogger(), ["SIGUSR2"]);
    undo2();
    undo();
    assert.equal(process.listenerCount("SIGUSR2"), before);
  });
});
