// A window onto a server-side table: the pages that are on screen are fetched (filtered, sorted and
// paginated by the server), and live row events patch them in place. A row changes only when its
// copy is newer (higher rv); when rows appear or vanish, or the query depends on changing values,
// the visible pages are fetched again (debounced) since positions may have moved.
import type { RowCollection, RowPage } from "../../src/server/api-types.js";
import { ApiError, api, query } from "./api.ts";
import type { LiveConnection, RowsEvent } from "./live.ts";

export const PAGE_SIZE = 100;
const REFRESH_DEBOUNCE_MS = 150;
const OVERRIDE_TTL_MS = 30_000;

interface Keyed {
  key: string;
  rv: number;
}

export type QueryParams = Record<string, string>;

export class RowWindow<Row extends Keyed> {
  private params: QueryParams = {};
  private pages = new Map<number, Row[]>();
  private readonly loading = new Set<number>();
  private keyIndex: Map<string, { page: number; index: number }> | undefined;
  /** the newest copy of each row seen live, so a page fetched just before a change cannot undo it */
  private readonly recent = new Map<string, { row: Row | null; rv: number; at: number }>();
  private wanted = { first: 0, last: 0 };
  private generation = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();
  private marked = false;
  total: number | null = null;
  error: ApiError | null = null;
  /** changes whenever anything shown changes (useSyncExternalStore snapshot) */
  revision = 0;

  constructor(
    private readonly collection: RowCollection,
    /** does this query's result depend on values that change (filters/sorts on counts)? */
    private readonly contentDependent: (params: QueryParams) => boolean,
  ) {}

  /** Follows the live stream; returns the function that stops it. */
  attach(connection: LiveConnection): () => void {
    const offRows = connection.onRows(this.collection as never, (event: RowsEvent) => this.onRows(event));
    const offResync = connection.onResync(() => this.refresh());
    return () => {
      offRows();
      offResync();
      clearTimeout(this.refreshTimer);
    };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private changed(): void {
    this.revision++;
    for (const listener of [...this.listeners]) listener();
  }

  setParams(params: QueryParams): void {
    if (JSON.stringify(params) === JSON.stringify(this.params) && this.total !== null) return;
    this.params = params;
    this.generation++;
    this.pages = new Map();
    this.keyIndex = undefined;
    this.loading.clear();
    this.total = null;
    this.error = null;
    this.changed();
    this.ensureRange(this.wanted.first, this.wanted.last);
  }

  /** Rows first..last (inclusive) are about to be shown: fetch the pages that hold them. */
  ensureRange(first: number, last: number): void {
    this.wanted = { first: Math.max(0, first), last: Math.max(0, last) };
    const lastRow = this.total === null ? this.wanted.last : Math.min(this.wanted.last, this.total - 1);
    for (let page = Math.floor(this.wanted.first / PAGE_SIZE); page <= Math.floor(lastRow / PAGE_SIZE); page++)
      if (!this.pages.has(page) && !this.loading.has(page)) void this.load(page);
    if (this.total === null && this.loading.size === 0 && this.pages.size === 0) void this.load(0);
  }

  rowAt(index: number): Row | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  private async load(page: number): Promise<void> {
    const generation = this.generation;
    this.loading.add(page);
    try {
      const path = `/api/${this.collection}${query({ ...this.params, offset: page * PAGE_SIZE, limit: PAGE_SIZE })}`;
      const result = await api.get<RowPage<Row>>(path);
      if (generation !== this.generation) return;
      if (!this.marked) {
        this.marked = true;
        performance.mark(`meshlift:${this.collection}-data`);
      }
      this.total = result.total;
      this.error = null;
      this.pages.set(
        page,
        result.items.map((row) => this.newest(row)),
      );
      this.keyIndex = undefined;
    } catch (err) {
      if (generation !== this.generation) return;
      this.error = err instanceof ApiError ? err : new ApiError(0, "Failed", String(err));
    } finally {
      if (generation === this.generation) this.loading.delete(page);
    }
    this.changed();
  }

  private newest(row: Row): Row {
    const seen = this.recent.get(row.key);
    return seen?.row && seen.rv > row.rv ? seen.row : row;
  }

  private locate(key: string): { page: number; index: number } | undefined {
    if (!this.keyIndex) {
      this.keyIndex = new Map();
      for (const [page, rows] of this.pages) rows.forEach((r, index) => this.keyIndex!.set(r.key, { page, index }));
    }
    return this.keyIndex.get(key);
  }

  private onRows(event: RowsEvent): void {
    const now = Date.now();
    for (const [key, seen] of this.recent) if (now - seen.at > OVERRIDE_TTL_MS) this.recent.delete(key);
    for (const row of event.upserts as unknown as Row[]) this.recent.set(row.key, { row, rv: row.rv, at: now });
    for (const key of event.deletes) this.recent.set(key, { row: null, rv: event.version, at: now });

    let patched = false;
    for (const row of event.upserts as unknown as Row[]) {
      const at = this.locate(row.key);
      if (!at) continue;
      const rows = this.pages.get(at.page)!;
      if (rows[at.index].rv >= row.rv) continue;
      // a new array for the page, the same objects for every other row: only this row re-renders
      const copy = rows.slice();
      copy[at.index] = row;
      this.pages.set(at.page, copy);
      patched = true;
    }
    if (patched) this.changed();
    const positionsMoved = event.added.length > 0 || event.deletes.length > 0;
    if (positionsMoved || (this.contentDependent(this.params) && event.upserts.length > 0)) this.scheduleRefresh();
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  /** Fetches the wanted pages again, keeping what is shown until the new pages arrive. */
  refresh(): void {
    this.generation++;
    this.loading.clear();
    const first = Math.floor(this.wanted.first / PAGE_SIZE);
    const last = Math.floor(this.wanted.last / PAGE_SIZE);
    for (const page of [...this.pages.keys()]) if (page < first || page > last) this.pages.delete(page);
    this.keyIndex = undefined;
    for (let page = first; page <= last; page++) void this.load(page);
  }
}
