// A virtualised table over a RowSource (a server-side RowWindow, or LocalRows): only the rows in view
// (plus a few either side) are in the DOM, positioned inside a spacer as tall as all rows; scrolling
// asks the source for the pages it needs. Rows are memoised on the row object, so a live change re-renders just the changed row.
import { memo, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore, type ReactNode } from "react";

/** Rows a table shows: a server-side window (RowWindow) or rows held in the page (LocalRows). */
export interface RowSource<Row> {
  subscribe(listener: () => void): () => void;
  /** changes whenever anything shown changes */
  readonly revision: number;
  /** null while the first page loads */
  readonly total: number | null;
  readonly error: { message: string } | null;
  /** rows first..last are about to be shown */
  ensureRange(first: number, last: number): void;
  rowAt(index: number): Row | undefined;
}

export interface Column<Row> {
  id: string;
  header: ReactNode;
  /** CSS grid track, e.g. "2fr" or "90px" */
  width: string;
  render: (row: Row) => ReactNode;
  align?: "left" | "right";
  /** server-side sort key when the header is clickable */
  sort?: string;
  title?: string;
}

export interface SortState {
  sort: string;
  dir: "asc" | "desc";
}

interface Props<Row extends { key: string }> {
  testId: string;
  source: RowSource<Row & { rv: number }>;
  columns: Column<Row>[];
  rowHeight?: number;
  height?: number;
  sort?: SortState;
  onSort?: (sort: SortState) => void;
  emptyText?: string;
  /** called after rows are first on screen (performance marks) */
  onFirstRows?: () => void;
}

const OVERSCAN = 8;

const RowView = memo(function RowView<Row extends { key: string }>(props: {
  row: Row | undefined;
  index: number;
  top: number;
  height: number;
  columns: Column<Row>[];
  template: string;
}) {
  const { row, columns, top, height, template, index } = props;
  return (
    <div
      className={`vt-row${row ? "" : " vt-row-loading"}${index % 2 ? " vt-row-odd" : ""}`}
      role="row"
      data-testid={row ? "vt-row" : "vt-row-loading"}
      data-key={row?.key}
      style={{ transform: `translateY(${top}px)`, height, gridTemplateColumns: template }}
    >
      {columns.map((c) => (
        <div key={c.id} role="cell" data-col={c.id} className={`vt-cell${c.align === "right" ? " vt-right" : ""}`}>
          {row ? c.render(row) : c === columns[0] ? "…" : ""}
        </div>
      ))}
    </div>
  );
}) as <Row extends { key: string }>(props: {
  row: Row | undefined;
  index: number;
  top: number;
  height: number;
  columns: Column<Row>[];
  template: string;
}) => ReactNode;

export function VirtualTable<Row extends { key: string; rv: number }>(props: Props<Row>) {
  const { source, columns, rowHeight = 34, height = 480, sort, onSort } = props;
  useSyncExternalStore(source.subscribe, () => source.revision);
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const frame = useRef(0);
  const firstRowsSeen = useRef(false);
  const total = source.total ?? 0;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(Math.max(total - 1, 0), Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);
  const template = columns.map((c) => c.width).join(" ");

  useEffect(() => {
    source.ensureRange(first, last);
  }, [source, first, last, source.total]);

  // a new query starts at the top
  useLayoutEffect(() => {
    if (source.total === null && scroller.current) {
      scroller.current.scrollTop = 0;
      setScrollTop(0);
    }
  }, [source.total]);

  const onFirstRows = props.onFirstRows;
  const hasRows = source.rowAt(first) !== undefined;
  useEffect(() => {
    if (hasRows && !firstRowsSeen.current) {
      firstRowsSeen.current = true;
      onFirstRows?.();
    }
  }, [hasRows, onFirstRows]);

  const onScroll = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => setScrollTop(scroller.current?.scrollTop ?? 0));
  };

  const rows: ReactNode[] = [];
  for (let i = first; i <= last && i < total; i++) {
    const row = source.rowAt(i);
    rows.push(
      <RowView
        key={row?.key ?? `loading-${i}`}
        row={row}
        index={i}
        top={i * rowHeight}
        height={rowHeight}
        columns={columns}
        template={template}
      />,
    );
  }

  const header = (c: Column<Row>) => {
    if (!c.sort || !onSort) return c.header;
    const active = sort?.sort === c.sort;
    const next: SortState = { sort: c.sort, dir: active && sort?.dir === "asc" ? "desc" : "asc" };
    return (
      <button type="button" className={`vt-sort${active ? " vt-sort-active" : ""}`} onClick={() => onSort(next)}>
        {c.header}
        {active ? (sort?.dir === "asc" ? " ▲" : " ▼") : ""}
      </button>
    );
  };

  return (
    <div className="vt" data-testid={props.testId} data-total={source.total ?? ""} role="table">
      <div className="vt-head" role="row" style={{ gridTemplateColumns: template }}>
        {columns.map((c) => (
          <div
            key={c.id}
            role="columnheader"
            title={c.title}
            className={`vt-cell${c.align === "right" ? " vt-right" : ""}`}
          >
            {header(c)}
          </div>
        ))}
      </div>
      <div className="vt-body" ref={scroller} onScroll={onScroll} style={{ height }}>
        {source.error ? (
          <div className="vt-empty error-text">{source.error.message}</div>
        ) : source.total === 0 ? (
          <div className="vt-empty">{props.emptyText ?? "Nothing matches."}</div>
        ) : null}
        <div className="vt-spacer" style={{ height: total * rowHeight }}>
          {rows}
        </div>
      </div>
      <div className="vt-foot">
        {source.total === null
          ? "loading…"
          : `${source.total.toLocaleString("en-US")} row${source.total === 1 ? "" : "s"}`}
      </div>
    </div>
  );
}
