import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { recordStoredUpdate, recordUpdate } from "./managed-fields.js";
import type { KObject } from "../types.js";

const NOW = "2026-11-22T00:00:00Z";

function pod(labels: Record<string, string>, image: string, status?: object): KObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", labels },
    spec: { containers: [{ name: "app", image, env: [{ name: "A", value: labels.a ?? "" }] }] },
    ...(status ? { status } : {}),
  };
}

describe("recordStoredUpdate: the store's cached variant of recordUpdate", () => {
  test("a chain of writes by several managers gives exactly what recordUpdate gives", () => {
    const writes: [string, KObject, string?][] = [
      ["kubectl-create", pod({ app: "x" }, "nginx:1")],
      ["kubectl-label", pod({ app: "x", a: "1" }, "nginx:1")],
      ["meshlift", pod({ app: "x", a: "1" }, "nginx:2")],
      ["kubectl-label", pod({ app: "x", a: "2" }, "nginx:2")],
      ["kubelet", pod({ app: "x", a: "2" }, "nginx:2", { phase: "Running" }), "status"],
      ["meshlift", pod({ app: "y" }, "nginx:3", { phase: "Running" })],
    ];
    let plainBefore: KObject | undefined;
    let storedBefore: KObject | undefined;
    for (const [manager, next, sub] of writes) {
      const plain = recordUpdate(plainBefore, structuredClone(next), manager, "v1", NOW, sub);
      const stored = recordStoredUpdate(storedBefore, structuredClone(next), manager, "v1", NOW, sub);
      assert.deepEqual(stored, plain, `after ${manager}`);
      plainBefore = plain;
      storedBefore = stored;
    }
    assert.ok((plainBefore!.metadata.managedFields ?? []).length >= 3);
  });
});
