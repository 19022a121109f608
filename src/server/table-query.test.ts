import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { NamespaceRow, WorkloadRow } from "./api-types.js";
import { namespaceQuery, QueryError, workloadQuery } from "./table-query.js";

const params = (text: string) => new URLSearchParams(text);

describe("table query strings", () => {
  test("defaults: first 100 rows in key order", () => {
    const q = namespaceQuery(params(""));
    assert.equal(q.offset, 0);
    assert.equal(q.limit, 100);
    assert.equal(q.compare, undefined);
    assert.equal(q.filter, undefined);
    assert.equal(q.descending, false);
  });

  test("unknown sorts, filters and directions are refused with the accepted values", () => {
    assert.throws(
      () => namespaceQuery(params("sort=age")),
      (e: Error) => e instanceof QueryError && /use one of: name, revision, pods/.test(e.message),
    );
    assert.throws(() => namespaceQuery(params("filter=broken")), /filter=broken is not known/);
    assert.throws(() => workloadQuery(params("dir=up")), /use asc or desc/);
    assert.throws(() => workloadQuery(params("limit=5000")), /above the maximum 500/);
    assert.throws(() => workloadQuery(params("offset=-1")), /not a whole number/);
  });

  test("filters select the rows they name", () => {
    const ns = (stale: number, conflicts: string[] = []) =>
      ({ stale, conflicts, effectiveRevision: "r" }) as NamespaceRow;
    const stale = namespaceQuery(params("filter=stale")).filter!;
    assert.equal(stale(ns(1)), true);
    assert.equal(stale(ns(0)), false);
    const w = (namespace: string, kind: string, flags: string[]) => ({ namespace, kind, flags }) as WorkloadRow;
    const q = workloadQuery(params("filter=stale&namespace=shop&kind=Deployment")).filter!;
    assert.equal(q(w("shop", "Deployment", ["stale"])), true);
    assert.equal(q(w("shop", "StatefulSet", ["stale"])), false);
    assert.equal(q(w("other", "Deployment", ["stale"])), false);
    assert.equal(q(w("shop", "Deployment", [])), false);
  });
});
