import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { cachedJson, cachedJsonBytes, noteNewVersion } from "./json-cache.js";
import type { KObject } from "./types.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const key = fc.constantFrom("apiVersion", "kind", "metadata", "spec", "status", "data", "1", 'é"x');
const { json } = fc.letrec<{ json: Json; map: Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small" },
    fc.oneof(fc.boolean(), fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null)),
    tie("map"),
    fc.array(tie("json"), { maxLength: 3 }),
  ),
  map: fc.dictionary(key, tie("json"), { maxKeys: 5, noNullPrototype: true }),
}));
const object = fc.dictionary(key, json, { maxKeys: 6, noNullPrototype: true }) as fc.Arbitrary<KObject>;

describe("cachedJson: the JSON text of stored objects", () => {
  test("is JSON.stringify's text, undefined fields left out, and the same string on every call", () => {
    fc.assert(
      fc.property(object, fc.constantFrom("spec", "metadata", "x"), (obj, hole) => {
        const withHole = { ...obj, [hole]: undefined };
        const text = cachedJson(withHole);
        assert.equal(text, JSON.stringify(withHole));
        assert.equal(cachedJson(withHole), text);
        assert.equal(cachedJsonBytes(withHole).toString(), text);
      }),
      { numRuns: 300 },
    );
  });

  test("a new version takes the text of the parts it shares from the previous version's and still equals JSON.stringify", () => {
    fc.assert(
      fc.property(object, object, fc.boolean(), (previous, changes, cachedBefore) => {
        if (cachedBefore) cachedJson(previous);
        // a copy-on-write successor: some top-level values shared (same objects), some replaced, some new keys
        const next: KObject = { ...previous, ...changes };
        noteNewVersion(next, previous);
        assert.equal(cachedJson(next), JSON.stringify(next));
        noteNewVersion(next, undefined);
      }),
      { numRuns: 300 },
    );
  });

  test("shared parts are not serialised again", () => {
    const spec = { containers: [{ name: "app", image: "app:1" }] };
    const previous: KObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec };
    cachedJson(previous);
    // a spec whose JSON would differ if it were serialised again shows that the previous text was reused
    const next: KObject = { ...previous, metadata: { name: "p", labels: { a: "1" } } };
    Object.defineProperty(spec, "toJSON", { value: () => "serialised again", enumerable: false });
    noteNewVersion(next, previous);
    assert.equal(
      cachedJson(next),
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"1"}},"spec":{"containers":[{"name":"app","image":"app:1"}]}}',
    );
    noteNewVersion(next, undefined);
  });
});
