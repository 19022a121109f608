// Keyed table rows that change over time: each rebuild of the view replaces every row, and the
// index answers with only what changed (upserts and deleted keys), keeping an unchanged row's `rv`.
// Pages are served from it with server-side filtering, sorting and offset/limit, so a browser
// never receives 20,000 rows to show the 40 that fit on screen.

export interface KeyedRow {
  key: string;
  /** the version at which the row last changed */
  rv: number;
}

export interface RowChanges<Row> {
  upserts: Row[];
  /** keys of upserts that were not there before (they shift the positions of later rows) */
  added: string[];
  deletes: string[];
}

export interface RowQuery<Row> {
  /** case-insensitive substring of any of `searchIn`'s texts */
  q?: string;
  filter?: (row: Row) => boolean;
  /** compare two rows; default: by key */
  compare?: (a: Row, b: Row) => number;
  descending?: boolean;
  offset: number;
  limit: number;
}

export interface RowPageOf<Row> {
  total: number;
  offset: number;
  items: Row[];
}

export class RowIndex<Row extends KeyedRow> {
  private readonly rows = new Map<string, Row>();
  /** each row's content without rv, to tell a changed row from a rebuilt but equal one */
  private readonly content = new Map<string, string>();
  private sortedByKey: Row[] | undefined = [];

  constructor(private readonly searchIn: (row: Row) => string[]) {}

  get size(): number {
    return this.rows.size;
  }

  get(key: string): Row | undefined {
    return this.rows.get(key);
  }

  all(): Row[] {
    this.sortedByKey ??= [...this.rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return this.sortedByKey;
  }

  /**
   * Replaces every row with `next` (rows built with any rv). Rows whose content changed, and new
   * rows, get `version` as rv and are returned as upserts; keys no longer present are deletes.
   */
  replaceAll(next: Iterable<Row>, version: number): RowChanges<Row> {
    const upserts: Row[] = [];
    const added: string[] = [];
    const seen = new Set<string>();
    for (const candidate of next) {
      seen.add(candidate.key);
      const text = JSON.stringify({ ...candidate, rv: 0 });
      if (this.content.get(candidate.key) === text) continue;
      const row = { ...candidate, rv: version };
      if (!this.rows.has(row.key)) added.push(row.key);
      this.rows.set(row.key, row);
      this.content.set(row.key, text);
      upserts.push(row);
    }
    const deletes: string[] = [];
    for (const key of this.rows.keys()) {
      if (!seen.has(key)) {
        deletes.push(key);
        this.rows.delete(key);
        this.content.delete(key);
      }
    }
    if (added.length > 0 || deletes.length > 0 || upserts.length > 0) this.sortedByKey = undefined;
    return { upserts, added, deletes };
  }

  query(query: RowQuery<Row>): RowPageOf<Row> {
    const needle = query.q?.trim().toLowerCase();
    let rows = this.all();
    if (needle || query.filter) {
      rows = rows.filter(
        (row) =>
          (!query.filter || query.filter(row)) &&
          (!needle || this.searchIn(row).some((text) => text.toLowerCase().includes(needle))),
      );
    }
    if (query.compare) {
      const compare = query.compare;
      // ties keep key order, so pages stay stable while values change
      rows = [...rows].sort((a, b) => compare(a, b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    if (query.descending) rows = [...rows].reverse();
    const offset = Math.max(0, Math.min(query.offset, rows.length));
    return { total: rows.length, offset, items: rows.slice(offset, offset + query.limit) };
  }
}
