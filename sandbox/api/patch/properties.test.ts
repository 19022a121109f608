import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import jsonpatch from "fast-json-patch";
import type { KObject } from "../types.js";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  builtinPatchSchema,
  recordUpdate,
  serverSideApply,
} from "./index.js";

const runs = { numRuns: 100 };
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// field names as the API uses them: no directive prefix, nothing that collides with Object.prototype
const fieldName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9.\-/]{0,11}$/).filter((k) => !(k in Object.prototype));
const scalar = fc.oneof(fc.boolean(), fc.integer({ min: -5, max: 1000 }), fc.string({ maxLength: 8 }));
const { json } = fc.letrec<{ json: Json; map: Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    tie("map"),
    fc.array(tie("json"), { maxLength: 3 }),
  ),
  map: fc.dictionary(fieldName, tie("json"), { maxKeys: 4, noNullPrototype: true }),
}));
const jsonMap = fc.dictionary(fieldName, json, { maxKeys: 5, noNullPrototype: true });

/** An object as the store holds it: identity plus arbitrary content. */
const kobject = fc
  .record({ spec: jsonMap, data: jsonMap }, { noNullPrototype: true })
  .map(({ spec, data }): KObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "ns" },
    spec,
    data,
  }));

/** The RFC 7386 patch that turns `from` into `to` (neither contains nulls). */
function mergePatchBetween(from: unknown, to: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(from) || !isMap(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    if (!(key in from)) patch[key] = value;
    else if (!assertDeepEqualSafe(from[key], value))
      patch[key] = isMap(value) && isMap(from[key]) ? mergePatchBetween(from[key], value) : value;
  }
  return patch;
}

function assertDeepEqualSafe(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

const containerName = fc.constantFrom("web", "istio-proxy", "debug", "init");
const container = fc.record(
  {
    name: containerName,
    image: fc.constantFrom("web:1", "web:2", "proxyv2:1.22", "proxyv2:1.23"),
    env: fc.uniqueArray(
      fc.record(
        { name: fc.constantFrom("A", "B", "C"), value: fc.string({ maxLength: 3 }) },
        { noNullPrototype: true },
      ),
      {
        selector: (e) => e.name,
        maxLength: 3,
      },
    ),
    ports: fc.uniqueArray(fc.record({ containerPort: fc.constantFrom(80, 8080, 15090) }, { noNullPrototype: true }), {
      selector: (p) => p.containerPort,
      maxLength: 2,
    }),
  },
  { requiredKeys: ["name"], noNullPrototype: true },
);
const containers = fc.uniqueArray(container, { selector: (c) => c.name, minLength: 1, maxLength: 3 });
const deployment = fc
  .record(
    {
      replicas: fc.integer({ min: 0, max: 5 }),
      labels: fc.dictionary(fc.constantFrom("app", "tier", "version"), fc.constantFrom("web", "fe", "v1"), {
        maxKeys: 3,
        noNullPrototype: true,
      }),
      containers,
      finalizers: fc.uniqueArray(fc.constantFrom("a.io/x", "b.io/y", "c.io/z"), { maxLength: 3 }),
    },
    { noNullPrototype: true },
  )
  .map(({ replicas, labels, containers, finalizers }): KObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop", labels, ...(finalizers.length ? { finalizers } : {}) },
    spec: { replicas, template: { metadata: { labels: { app: "web" } }, spec: { containers } } },
  }));

describe("patch properties", () => {
  test("JSON patch: applying the operations that diff a into b yields b", () => {
    fc.assert(
      fc.property(kobject, kobject, (a, b) => {
        assert.deepEqual(applyJsonPatch(a, jsonpatch.compare(a, b)), b);
      }),
      runs,
    );
  });

  test("merge patch: applying the merge patch that diffs a into b yields b", () => {
    fc.assert(
      fc.property(kobject, kobject, (a, b) => {
        assert.deepEqual(applyMergePatch(a, mergePatchBetween(a, b)), b);
      }),
      runs,
    );
  });

  test("strategic merge patch: an empty patch is the identity", () => {
    fc.assert(
      fc.property(fc.oneof(kobject, deployment), (obj) => {
        assert.deepEqual(applyStrategicMergePatch(obj, {}, builtinPatchSchema(obj.kind!)), obj);
      }),
      runs,
    );
  });

  test("strategic merge patch: without lists or directives it agrees with merge patch", () => {
    const listFree = fc.letrec<{ v: Json; m: Json }>((tie) => ({
      v: fc.oneof({ depthSize: "small" }, scalar, fc.constant(null), tie("m")),
      m: fc.dictionary(fieldName, tie("v"), { maxKeys: 4, noNullPrototype: true }),
    })).m;
    fc.assert(
      fc.property(kobject, fc.record({ spec: listFree, data: listFree }, { noNullPrototype: true }), (obj, patch) => {
        const schema = builtinPatchSchema("ConfigMap");
        assert.deepEqual(applyStrategicMergePatch(obj, patch, schema), applyMergePatch(obj, patch));
      }),
      runs,
    );
  });

  test("strategic merge patch: patching a container by name changes that container only", () => {
    fc.assert(
      fc.property(deployment, fc.constantFrom("web:9", "proxyv2:9"), (obj, image) => {
        const [first, ...rest] = obj.spec.template.spec.containers;
        const out = applyStrategicMergePatch(
          obj,
          { spec: { template: { spec: { containers: [{ name: first.name, image }] } } } },
          builtinPatchSchema("Deployment"),
        );
        assert.deepEqual(out.spec.template.spec.containers, [{ ...first, image }, ...rest]);
      }),
      runs,
    );
  });

  test("server-side apply: re-applying the same configuration changes nothing", () => {
    fc.assert(
      fc.property(deployment, deployment, (first, second) => {
        const opts = { manager: "meshlift", force: false, apiVersion: "apps/v1" };
        const once = serverSideApply(
          serverSideApply(undefined, first, { ...opts, now: "2026-01-01T00:00:00Z" }),
          second,
          {
            ...opts,
            now: "2026-01-01T00:01:00Z",
          },
        );
        const twice = serverSideApply(once, second, { ...opts, now: "2026-01-01T00:02:00Z" });
        assert.deepEqual(twice, once);
      }),
      runs,
    );
  });

  test("server-side apply by a sole manager: the result holds exactly what was applied last", () => {
    fc.assert(
      fc.property(deployment, deployment, (first, second) => {
        const opts = { manager: "meshlift", force: false, apiVersion: "apps/v1" };
        const live = serverSideApply(undefined, first, { ...opts, now: "2026-01-01T00:00:00Z" });
        const out = serverSideApply(live, second, { ...opts, now: "2026-01-01T00:01:00Z" });
        const { managedFields: _managed, ...metadata } = out.metadata;
        // list order follows the last configuration (no other manager keeps items alive)
        assert.deepEqual({ ...out, metadata }, second);
      }),
      runs,
    );
  });

  test("recordUpdate on create: the writer owns every field of the object", () => {
    fc.assert(
      fc.property(deployment, (obj) => {
        const created = recordUpdate(undefined, obj, "kubectl-create", "apps/v1", "2026-01-01T00:00:00Z");
        const entries = created.metadata.managedFields ?? [];
        assert.equal(entries.length, 1);
        // every field the writer owns exists, and an SSA of a changed replicas count conflicts with it
        assert.throws(
          () =>
            serverSideApply(
              created,
              { ...obj, spec: { ...obj.spec, replicas: obj.spec.replicas + 1 } },
              {
                manager: "meshlift",
                force: false,
                apiVersion: "apps/v1",
                now: "2026-01-01T00:01:00Z",
              },
            ),
          /conflict with "kubectl-create" using apps\/v1/,
        );
      }),
      runs,
    );
  });
});
