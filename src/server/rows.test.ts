import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RowIndex, type KeyedRow } from "./rows.js";

interface Row extends KeyedRow {
  name: string;
  count: number;
}

const row = (name: string, count = 0): Row => ({ key: name, rv: 0, name, count });
const index = () => new RowIndex<Row>((r) => [r.name]);

describe("RowIndex: only what changed leaves the server", () => {
  test("a rebuild returns new and changed rows as upserts, vanished keys as deletes, and keeps unchanged rows' rv", () => {
    const rows = index();
    const first = rows.replaceAll([row("a"), row("b"), row("c")], 1);
    assert.deepEqual(
      first.upserts.map((r) => [r.key, r.rv]),
      [
        ["a", 1],
        ["b", 1],
        ["c", 1],
      ],
    );
    assert.deepEqual(first.added, ["a", "b", "c"]);

    const second = rows.replaceAll([row("a"), row("b", 5), row("d")], 2);
    assert.deepEqual(
      second.upserts.map((r) => [r.key, r.rv, r.count]),
      [
        ["b", 2, 5],
        ["d", 2, 0],
      ],
    );
    assert.deepEqual(second.added, ["d"]);
    assert.deepEqual(second.deletes, ["c"]);
    assert.equal(rows.get("a")!.rv, 1, "an equal row keeps the version it last changed at");

    const third = rows.replaceAll([row("a"), row("b", 5), row("d")], 3);
    assert.deepEqual(third, { upserts: [], added: [], deletes: [] });
  });

  test("pages are filtered, searched, sorted and sliced on the server; ties keep key order", () => {
    const rows = index();
    rows.replaceAll(
      ["e", "d", "c", "b", "a"].map((n, i) => row(n, i % 2)),
      1,
    );
    assert.deepEqual(rows.query({ offset: 1, limit: 2 }), {
      total: 5,
      offset: 1,
      items: [rows.get("b"), rows.get("c")],
    });
    const byCount = rows.query({ offset: 0, limit: 10, compare: (x, y) => x.count - y.count, descending: true });
    assert.deepEqual(
      byCount.items.map((r) => r.key),
      ["d", "b", "e", "c", "a"],
    );
    const odd = rows.query({ offset: 0, limit: 10, filter: (r) => r.count === 1, q: "D" });
    assert.deepEqual(
      odd.items.map((r) => r.key),
      ["d"],
    );
    assert.equal(rows.query({ offset: 99, limit: 10 }).offset, 5, "an offset past the end is clamped");
  });

  test("property: a client applying every change (newest rv wins) ends with exactly the server's rows", () => {
    const rebuild = fc.uniqueArray(
      fc.record({ name: fc.constantFrom("a", "b", "c", "d", "e", "f"), count: fc.integer({ min: 0, max: 3 }) }),
      { selector: (r) => r.name, maxLength: 6 },
    );
    fc.assert(
      fc.property(fc.array(rebuild, { minLength: 1, maxLength: 12 }), (rebuilds) => {
        const server = index();
        const client = new Map<string, Row>();
        rebuilds.forEach((rowsOfBuild, i) => {
          const changes = server.replaceAll(
            rowsOfBuild.map((r) => row(r.name, r.count)),
            i + 1,
          );
          for (const r of changes.upserts) if ((client.get(r.key)?.rv ?? -1) < r.rv) client.set(r.key, r);
          for (const key of changes.deletes) client.delete(key);
        });
        assert.deepEqual(
          [...client.values()].sort((x, y) => x.key.localeCompare(y.key)),
          server.all(),
        );
      }),
      { numRuns: 300 },
    );
  });
});
