// Rows the page already holds (a MeshUpgrade's waves, namespaces and workloads from its status) as a
// source for the virtualised table. Each update keeps the same object for every row whose content did
// not change, so the table's memoised rows re-render only where the status moved.
import type { RowSource } from "./components/VirtualTable.tsx";

export class LocalRows<Row extends { key: string }> implements RowSource<Row & { rv: number }> {
  private rows: (Row & { rv: number })[] = [];
  private held = new Map<string, { text: string; row: Row & { rv: number } }>();
  private readonly listeners = new Set<() => void>();
  private version = 0;
  revision = 0;
  total: number | null = 0;
  readonly error = null;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Replaces the rows; notifies only when something shown changed. */
  set(rows: Row[]): void {
    this.version++;
    const held = new Map<string, { text: string; row: Row & { rv: number } }>();
    let changed = rows.length !== this.rows.length;
    const next = rows.map((r, i) => {
      const text = JSON.stringify(r);
      const before = this.held.get(r.key);
      const row = before && before.text === text ? before.row : { ...r, rv: this.version };
      held.set(r.key, { text, row });
      if (this.rows[i] !== row) changed = true;
      return row;
    });
    this.held = held;
    if (!changed) return;
    this.rows = next;
    this.total = next.length;
    this.revision++;
    for (const listener of [...this.listeners]) listener();
  }

  all(): readonly (Row & { rv: number })[] {
    return this.rows;
  }

  ensureRange(): void {
    // every row is here already
  }

  rowAt(index: number): (Row & { rv: number }) | undefined {
    return this.rows[index];
  }
}
