import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, type KObject } from "../types.js";
import { applyJsonPatch, applyMergePatch } from "./index.js";

const deployment = (): KObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "shop", annotations: { "deployment.kubernetes.io/revision": "3" } },
  spec: {
    replicas: 2,
    template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "web:1" }] } },
  },
});

const isApiError = (code: number, pattern?: RegExp) => (err: unknown) =>
  err instanceof ApiError &&
  err.code === code &&
  (pattern === undefined || pattern.test(err.message) || pattern.test(err.details?.causes?.[0]?.message ?? ""));

describe("JSON patch (RFC 6902)", () => {
  const cases: { name: string; ops: unknown; expect: (out: KObject) => void }[] = [
    {
      name: "replace and add change the addressed values",
      ops: [
        { op: "replace", path: "/spec/replicas", value: 5 },
        { op: "add", path: "/metadata/labels", value: { app: "web" } },
      ],
      expect: (out) => {
        assert.equal(out.spec.replicas, 5);
        assert.deepEqual(out.metadata.labels, { app: "web" });
      },
    },
    {
      name: "a passing test lets the other operations apply (optimistic lock on a value)",
      ops: [
        { op: "test", path: "/spec/replicas", value: 2 },
        { op: "replace", path: "/spec/replicas", value: 3 },
      ],
      expect: (out) => assert.equal(out.spec.replicas, 3),
    },
    {
      name: "~1 in a path addresses a key containing a slash",
      ops: [{ op: "remove", path: "/metadata/annotations/deployment.kubernetes.io~1revision" }],
      expect: (out) => assert.deepEqual(out.metadata.annotations, {}),
    },
    {
      name: "- appends to a list",
      ops: [{ op: "add", path: "/spec/template/spec/containers/-", value: { name: "istio-proxy" } }],
      expect: (out) =>
        assert.deepEqual(
          out.spec.template.spec.containers.map((c: { name: string }) => c.name),
          ["web", "istio-proxy"],
        ),
    },
    {
      // kubectl rollout undo of a Deployment: getDeploymentPatch in kubectl/pkg/polymorphichelpers/rollback.go
      name: "kubectl rollout undo of a Deployment replaces the template and the annotations",
      ops: JSON.parse(
        '[{"op":"replace","path":"/spec/template","value":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"image":"web:0","name":"web","resources":{}}]}}},{"op":"replace","path":"/metadata/annotations","value":{"deployment.kubernetes.io/revision":"3"}}]',
      ),
      expect: (out) => {
        assert.equal(out.spec.template.spec.containers[0].image, "web:0");
        assert.equal(out.spec.template.metadata.creationTimestamp, null);
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const live = deployment();
      c.expect(applyJsonPatch(live, c.ops));
      assert.deepEqual(live, deployment(), "the live object is not mutated");
    });
  }

  const failures: { name: string; ops: unknown; code: number; message: RegExp }[] = [
    {
      name: "a failed test is a 422",
      ops: [{ op: "test", path: "/spec/replicas", value: 9 }],
      code: 422,
      message: /testing value \/spec\/replicas failed/,
    },
    {
      name: "replacing a missing path is a 422",
      ops: [{ op: "replace", path: "/spec/paused", value: true }],
      code: 422,
      message: /doc is missing path: "\/spec\/paused"/,
    },
    {
      name: "removing a missing path is a 422",
      ops: [{ op: "remove", path: "/metadata/labels" }],
      code: 422,
      message: /remove operation does not apply/,
    },
    {
      name: "an unknown operation is a 422",
      ops: [{ op: "merge", path: "/spec" }],
      code: 422,
      message: /Unexpected kind: merge/,
    },
    {
      name: "a body that is an object, not a list, is a 400",
      ops: { op: "add" },
      code: 400,
      message: /cannot unmarshal object/,
    },
    { name: "a list of non-objects is a 400", ops: ["add"], code: 400, message: /cannot unmarshal/ },
  ];
  for (const c of failures) {
    test(c.name, () => {
      assert.throws(() => applyJsonPatch(deployment(), c.ops), isApiError(c.code, c.message));
    });
  }

  test("a failed operation reports kube-apiserver's 422 wording with the detail as a cause", () => {
    try {
      applyJsonPatch(deployment(), [{ op: "test", path: "/spec/replicas", value: 9 }]);
      assert.fail("expected a 422");
    } catch (err) {
      assert.ok(err instanceof ApiError);
      assert.equal(err.reason, "Invalid");
      assert.equal(err.message, "the server rejected our request due to an error in our request");
    }
  });

  test("operations apply all or nothing: a later failure leaves the input untouched", () => {
    const live = deployment();
    assert.throws(() =>
      applyJsonPatch(live, [
        { op: "replace", path: "/spec/replicas", value: 7 },
        { op: "test", path: "/spec/replicas", value: 2 },
      ]),
    );
    assert.equal(live.spec.replicas, 2);
  });
});

describe("JSON merge patch (RFC 7386)", () => {
  test("kubectl label: maps merge and null deletes a key", () => {
    const out = applyMergePatch(deployment(), {
      metadata: { labels: { team: "mesh" }, annotations: { "deployment.kubernetes.io/revision": null } },
    });
    assert.deepEqual(out.metadata.labels, { team: "mesh" });
    assert.deepEqual(out.metadata.annotations, {});
  });

  test("lists are replaced, not merged", () => {
    const out = applyMergePatch(deployment(), { spec: { template: { spec: { containers: [{ name: "other" }] } } } });
    assert.deepEqual(out.spec.template.spec.containers, [{ name: "other" }]);
  });

  test("nulls inside a new object are not stored", () => {
    const out = applyMergePatch(deployment(), { spec: { strategy: { type: "Recreate", rollingUpdate: null } } });
    assert.deepEqual(out.spec.strategy, { type: "Recreate" });
  });

  test("an object replaces a scalar and a scalar replaces an object", () => {
    const out = applyMergePatch(deployment(), { spec: { replicas: { odd: true }, template: "gone" } });
    assert.deepEqual(out.spec.replicas, { odd: true });
    assert.equal(out.spec.template, "gone");
  });

  for (const body of [null, [], "x", 3]) {
    test(`a ${JSON.stringify(body)} body is a 400 Invalid JSON Patch`, () => {
      assert.throws(() => applyMergePatch(deployment(), body), isApiError(400, /^Invalid JSON Patch$/));
    });
  }

  test("the input is not mutated", () => {
    const live = deployment();
    const patch = { spec: { replicas: 9, template: { metadata: { labels: { v: "2" } } } } };
    applyMergePatch(live, patch);
    assert.deepEqual(live, deployment());
    assert.deepEqual(patch, { spec: { replicas: 9, template: { metadata: { labels: { v: "2" } } } } });
  });
});
