import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { KObject } from "../api/types.js";
import { PodReferenceIndex, findReference, namespaceRevision, podLabelRevision } from "./references.js";

const ns = (name: string, labels: Record<string, string> = {}): KObject => ({ metadata: { name, labels } });
const pod = (
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
  phase = "Running",
): KObject => ({ metadata: { labels, annotations }, status: { phase } });

describe("which revision a namespace or pod references (Sail references.go)", () => {
  test("istio-injection=enabled means the default revision and beats istio.io/rev", () => {
    assert.equal(namespaceRevision({ "istio-injection": "enabled", "istio.io/rev": "1-28-0" }), "default");
    assert.equal(namespaceRevision({ "istio.io/rev": "1-28-0" }), "1-28-0");
    assert.equal(namespaceRevision({ "istio-injection": "disabled" }), "");
  });

  test("a pod label asks for its istio.io/rev, or default with sidecar.istio.io/inject=true, never when inject=false", () => {
    assert.equal(podLabelRevision({ "istio.io/rev": "canary" }), "canary");
    assert.equal(podLabelRevision({ "sidecar.istio.io/inject": "true" }), "default");
    assert.equal(podLabelRevision({ "sidecar.istio.io/inject": "false", "istio.io/rev": "canary" }), "");
  });
});

describe("PodReferenceIndex", () => {
  test("a pod injected by a revision references it until the pod succeeds or goes away", () => {
    const index = new PodReferenceIndex();
    assert.deepEqual(index.update("apps/a", pod({}, { "istio.io/rev": "1-28-0" })), ["1-28-0"]);
    assert.deepEqual([...index.injectedPods("1-28-0")], ["apps/a"]);
    assert.deepEqual(index.update("apps/a", pod({}, { "istio.io/rev": "1-28-0" }, "Succeeded")), ["1-28-0"]);
    assert.equal(index.injectedPods("1-28-0").size, 0);
  });

  test("a Failed pod still references its revision (Sail skips only Succeeded pods)", () => {
    const index = new PodReferenceIndex();
    index.update("apps/a", pod({}, { "istio.io/rev": "1-28-0" }, "Failed"));
    assert.equal(index.injectedPods("1-28-0").size, 1);
  });

  test("a status-only change reports no revision to look at again", () => {
    const index = new PodReferenceIndex();
    index.update("apps/a", pod({ "istio.io/rev": "x" }));
    assert.deepEqual(index.update("apps/a", pod({ "istio.io/rev": "x" }, {}, "Pending")), []);
  });

  test("property: after any sequence of updates the index equals the references of each pod's last state", () => {
    const revs = fc.constantFrom("", "a", "b");
    const state = fc.option(
      fc.record({ rev: revs, label: revs, phase: fc.constantFrom("Running", "Succeeded", "Failed") }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("n/p1", "n/p2", "n/p3"), state), { maxLength: 30 }), (steps) => {
        const index = new PodReferenceIndex();
        const last = new Map<string, (typeof steps)[number][1]>();
        for (const [id, s] of steps) {
          index.update(
            id,
            s && pod(s.label ? { "istio.io/rev": s.label } : {}, s.rev ? { "istio.io/rev": s.rev } : {}, s.phase),
          );
          last.set(id, s);
        }
        for (const r of ["a", "b"]) {
          const injected = [...last].filter(([, s]) => s && s.phase !== "Succeeded" && s.rev === r).map(([id]) => id);
          const labelled = [...last].filter(([, s]) => s && s.phase !== "Succeeded" && s.label === r).map(([id]) => id);
          assert.deepEqual([...index.injectedPods(r)].sort(), injected.sort());
          assert.deepEqual([...index.labelledPods(r)].sort(), labelled.sort());
        }
      }),
    );
  });
});

describe("findReference", () => {
  test("a namespace label referencing the revision is found first", () => {
    const found = findReference("1-28-0", [ns("apps", { "istio.io/rev": "1-28-0" })], new PodReferenceIndex(), {
      countInjected: true,
    });
    assert.match(found ?? "", /namespace apps/);
  });

  test("a pod label counts only in a namespace that references no revision itself", () => {
    const index = new PodReferenceIndex();
    index.update("plain/a", pod({ "istio.io/rev": "canary" }));
    index.update("owned/b", pod({ "istio.io/rev": "canary" }));
    const namespaces = [ns("plain"), ns("owned", { "istio.io/rev": "stable" })];
    assert.match(findReference("canary", namespaces, index, { countInjected: true }) ?? "", /pod plain\/a/);
    assert.equal(
      findReference("canary", [ns("plain", { "istio-injection": "enabled" }), namespaces[1]], index, {
        countInjected: true,
      }),
      undefined,
    );
  });

  test("injected pods count for revisions, not for tags (the annotation names the revision)", () => {
    const index = new PodReferenceIndex();
    index.update("apps/a", pod({}, { "istio.io/rev": "prod" }));
    assert.ok(findReference("prod", [ns("apps")], index, { countInjected: true }));
    assert.equal(findReference("prod", [ns("apps")], index, { countInjected: false }), undefined);
  });
});
