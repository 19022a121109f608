// The copy-on-write write path: merge patches share what they leave alone, and the field changes managedFields
// needs are computed by walking old and new together (diffFields) — exactly what the full computation gives.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { KObject } from "../types.js";
import { collectFields, compareFields, diffFields, encodeFieldsV1, fieldsV1Of } from "./field-set.js";
import { applyMergePatch, builtinPatchSchema, recordStoredUpdate, recordUpdate } from "./index.js";
import type { JsonObject } from "./json-value.js";

const runs = { numRuns: 200 };
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const fieldName = fc.constantFrom("a", "b", "c", "name", "image", "labels", "ports", "x.io/y");
const scalar = fc.oneof(fc.boolean(), fc.integer({ min: 0, max: 3 }), fc.constantFrom("", "v", "w"));
const { json } = fc.letrec<{ json: Json; map: Json }>((tie) => ({
  json: fc.oneof({ depthSize: "small" }, scalar, tie("map"), fc.array(tie("json"), { maxLength: 3 })),
  map: fc.dictionary(fieldName, tie("json"), { maxKeys: 4, noNullPrototype: true }),
}));
/** a merge patch: like json, with nulls (deletions) */
const { patchMap } = fc.letrec<{ patchValue: Json; patchMap: Json }>((tie) => ({
  patchValue: fc.oneof({ depthSize: "small" }, scalar, fc.constant(null), tie("patchMap"), fc.array(scalar)),
  patchMap: fc.dictionary(fieldName, tie("patchValue"), { maxKeys: 4, noNullPrototype: true }),
}));

const container = fc.record(
  {
    name: fc.constantFrom("app", "istio-proxy", "init"),
    image: fc.constantFrom("app:1", "app:2", "proxyv2:1.27.9"),
    ports: fc.array(fc.record({ containerPort: fc.constantFrom(80, 15090) }, { noNullPrototype: true }), {
      maxLength: 2,
    }),
    env: fc.array(fc.record({ name: fc.constantFrom("A", "B"), value: scalar }, { noNullPrototype: true }), {
      maxLength: 2,
    }),
  },
  { requiredKeys: ["name"], noNullPrototype: true },
);
/** pods as the store holds them: keyed lists (containers, env, ports), sets (finalizers), maps and leaves */
const pod = fc
  .record(
    {
      labels: fc.dictionary(fc.constantFrom("app", "version", "x.io/y"), fc.constantFrom("a", "b"), {
        noNullPrototype: true,
      }),
      annotations: fc.option(fc.dictionary(fieldName, fc.constantFrom("1", "2"), { noNullPrototype: true }), {
        nil: undefined,
      }),
      finalizers: fc.option(fc.uniqueArray(fc.constantFrom("a.io/x", "b.io/y"), { minLength: 1 }), { nil: undefined }),
      containers: fc.array(container, { maxLength: 3 }),
      extra: fc.dictionary(fieldName, json, { maxKeys: 3, noNullPrototype: true }),
      status: fc.option(fc.dictionary(fieldName, json, { maxKeys: 3, noNullPrototype: true }), { nil: undefined }),
    },
    { noNullPrototype: true },
  )
  .map(({ labels, annotations, finalizers, containers, extra, status }): KObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "p",
      namespace: "ns",
      resourceVersion: "7",
      labels,
      ...(annotations ? { annotations } : {}),
      ...(finalizers ? { finalizers } : {}),
    },
    spec: { containers, ...extra },
    ...(status ? { status } : {}),
  }));
/** a merge patch over a pod's metadata, spec and status */
const podPatch = fc.record(
  {
    metadata: fc.record({ labels: patchMap, annotations: patchMap }, { requiredKeys: [], noNullPrototype: true }),
    spec: patchMap,
    status: patchMap,
  },
  { requiredKeys: [], noNullPrototype: true },
);

/** RFC 7386 on deep copies: the reference the copy-on-write implementation must agree with */
function referenceMerge(target: unknown, patch: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isMap(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = referenceMerge(out[k], v);
  }
  return out;
}

const fullComparison = (before: KObject | undefined, after: KObject) => {
  const schema = builtinPatchSchema("Pod");
  const fields = (o: KObject | undefined) =>
    o ? collectFields(o as JsonObject, schema, { strict: false }) : new Map<string, never>();
  return compareFields(fields(before), fields(after));
};

describe("merge patch, copy-on-write", () => {
  test("agrees with RFC 7386 on copies, and changes neither input", () => {
    fc.assert(
      fc.property(pod, podPatch, (target, patch) => {
        const targetBefore = structuredClone(target);
        const patchBefore = structuredClone(patch);
        const out = applyMergePatch(target, patch);
        assert.deepEqual(out, referenceMerge(target, patch));
        assert.deepEqual(target, targetBefore);
        assert.deepEqual(patch, patchBefore);
        assert.notEqual(out, target, "the top level is always a new object (callers set metadata on it)");
      }),
      runs,
    );
  });

  test("shares every part the patch leaves alone, and copies what it takes from the patch", () => {
    fc.assert(
      fc.property(pod, fc.constantFrom("a", "b"), (target, value) => {
        const patch = { metadata: { labels: { "bench.io/write": value } } };
        const out = applyMergePatch(target, patch);
        assert.equal(out.spec, target.spec);
        assert.equal(out.status, target.status);
        assert.equal(out.metadata.annotations, target.metadata.annotations);
        assert.notEqual(out.metadata.labels, target.metadata.labels);
        assert.equal(out.metadata.labels?.["bench.io/write"], value);
        const listPatch = { spec: { containers: [{ name: "x" }] } };
        const replaced = applyMergePatch(target, listPatch);
        assert.notEqual(replaced.spec.containers, listPatch.spec.containers, "a list from the patch is a copy");
      }),
      runs,
    );
  });
});

describe("diffFields: the field changes of a write, walking only what differs", () => {
  test("equals comparing the full field sets, for unrelated objects", () => {
    fc.assert(
      fc.property(fc.option(pod, { nil: undefined }), pod, (before, after) => {
        const schema = builtinPatchSchema("Pod");
        assert.deepEqual(
          diffFields(before as JsonObject | undefined, after as JsonObject, schema),
          fullComparison(before, after),
        );
      }),
      runs,
    );
  });

  test("equals comparing the full field sets, for a patched version that shares the unchanged parts", () => {
    fc.assert(
      fc.property(pod, podPatch, (before, patch) => {
        const after = applyMergePatch(before, patch);
        const schema = builtinPatchSchema("Pod");
        assert.deepEqual(diffFields(before as JsonObject, after as JsonObject, schema), fullComparison(before, after));
      }),
      runs,
    );
  });

  test("fieldsV1Of: the field set of a whole object, in one walk, is what collecting and encoding gives", () => {
    fc.assert(
      fc.property(pod, (obj) => {
        const schema = builtinPatchSchema("Pod");
        assert.deepEqual(
          fieldsV1Of(obj as JsonObject, schema),
          encodeFieldsV1(collectFields(obj as JsonObject, schema, { strict: false }).keys()),
        );
      }),
      runs,
    );
  });

  test("recordStoredUpdate gives what recordUpdate gives over a chain of shared-part writes", () => {
    fc.assert(
      fc.property(
        pod,
        fc.array(
          fc.tuple(
            fc.constantFrom("kubectl", "meshlift", "helm"),
            fc.constantFrom("v1", "v2"),
            fc.constantFrom(undefined, "status"),
            fc.integer({ min: 0, max: 3 }),
            podPatch,
          ),
          { maxLength: 6 },
        ),
        (start, writes) => {
          let plain = recordUpdate(undefined, structuredClone(start), "creator", "v1", "2026-01-01T00:00:00Z");
          let stored = recordStoredUpdate(undefined, structuredClone(start), "creator", "v1", "2026-01-01T00:00:00Z");
          writes.forEach(([manager, version, subresource, minutes, patch], i) => {
            // times that tie or go back and forth, so entries are also ordered by manager and version
            const now = `2026-01-01T00:0${Math.min(9, i + minutes)}:00Z`;
            plain = recordUpdate(plain, applyMergePatch(plain, patch), manager, version, now, subresource);
            stored = recordStoredUpdate(stored, applyMergePatch(stored, patch), manager, version, now, subresource);
            assert.deepEqual(stored, plain);
          });
        },
      ),
      runs,
    );
  });
});

describe("diffFields: the field changes of a write, walking only what differs", () => {
  test("equals comparing the full field sets, for unrelated objects", () => {
    fc.assert(
      fc.property(fc.option(pod, { nil: undefined }), pod, (before, after) => {
        const schema = builtinPatchSchema("Pod");
        assert.deepEqual(
          diffFields(before as JsonObject | undefined, after as JsonObject, schema),
          fullComparison(before, after),
        );
      }),
      runs,
    );
  });

  test("equals comparing the full field sets, for a patched version that shares the unchanged parts", () => {
    fc.assert(
      fc.property(pod, podPatch, (before, patch) => {
        const after = applyMergePatch(before, patch);
        const schema = builtinPatchSchema("Pod");
        assert.deepEqual(diffFields(before as JsonObject, after as JsonObject, schema), fullComparison(before, after));
      }),
      runs,
    );
  });

  test("fieldsV1Of: the field set of a whole object, in one walk, is what collecting and encoding gives", () => {
    fc.assert(
      fc.property(pod, (obj) => {
        const schema = builtinPatchSchema("Pod");
        assert.deepEqual(
          fieldsV1Of(obj as JsonObject, schema),
          encodeFieldsV1(collectFields(obj as JsonObject, schema, { strict: false }).keys()),
        );
      }),
      runs,
    );
  });

  test("recordStoredUpdate gives what recordUpdate gives over a chain of shared-part writes", () => {
    fc.assert(
      fc.property(
        pod,
        fc.array(fc.tuple(fc.constantFrom("kubectl", "meshlift", "helm"), podPatch), { maxLength: 5 }),
        (start, writes) => {
          let plain = recordUpdate(undefined, structuredClone(start), "creator", "v1", "2026-01-01T00:00:00Z");
          let stored = recordStoredUpdate(undefined, structuredClone(start), "creator", "v1", "2026-01-01T00:00:00Z");
          writes.forEach(([manager, patch], i) => {
            const now = `2026-01-01T00:0${i + 1}:00Z`;
            plain = recordUpdate(plain, applyMergePatch(plain, patch), manager, "v1", now);
            stored = recordStoredUpdate(stored, applyMergePatch(stored, patch), manager, "v1", now);
            assert.deepEqual(stored, plain);
          });
        },
      ),
      runs,
    );
  });
});
