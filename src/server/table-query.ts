// The query strings of the namespaces and workloads tables (?q=&filter=&sort=&dir=&offset=&limit=),
// parsed into RowQuery objects. Unknown values are refused with the list of accepted ones.
import type { NamespaceRow, WorkloadRow } from "./api-types.js";
import type { RowQuery } from "./rows.js";

export const MAX_PAGE = 500;
const DEFAULT_PAGE = 100;

export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueryError";
  }
}

const byNumber =
  <Row>(get: (row: Row) => number) =>
  (a: Row, b: Row) =>
    get(a) - get(b);
const byText =
  <Row>(get: (row: Row) => string) =>
  (a: Row, b: Row) =>
    get(a).localeCompare(get(b));

const NAMESPACE_SORTS: Record<string, ((a: NamespaceRow, b: NamespaceRow) => number) | undefined> = {
  name: undefined,
  revision: byText((r) => r.effectiveRevision ?? ""),
  pods: byNumber((r) => r.pods),
  proxies: byNumber((r) => r.proxies),
  old: byNumber((r) => r.proxiesOld),
  new: byNumber((r) => r.proxiesNew),
  stale: byNumber((r) => r.stale),
};

const NAMESPACE_FILTERS: Record<string, ((r: NamespaceRow) => boolean) | undefined> = {
  all: undefined,
  stale: (r) => r.stale > 0,
  conflicts: (r) => r.conflicts.length > 0,
  injected: (r) => r.effectiveRevision !== null,
  "not-injected": (r) => r.effectiveRevision === null,
  "has-old": (r) => r.proxiesOld > 0,
};

const WORKLOAD_SORTS: Record<string, ((a: WorkloadRow, b: WorkloadRow) => number) | undefined> = {
  namespace: undefined,
  name: byText((r) => r.name),
  kind: byText((r) => r.kind),
  pods: byNumber((r) => r.livePods),
  proxied: byNumber((r) => r.proxiedPods),
};

const WORKLOAD_FILTERS: Record<string, ((r: WorkloadRow) => boolean) | undefined> = {
  all: undefined,
  stale: (r) => r.flags.includes("stale"),
  restartable: (r) => r.restartable,
  gateways: (r) => r.gateway !== null,
  flagged: (r) => r.flags.length > 0,
};

function pick<T>(table: Record<string, T>, value: string | null, param: string, fallback: string): T {
  const key = value ?? fallback;
  if (!(key in table))
    throw new QueryError(`${param}=${key} is not known; use one of: ${Object.keys(table).join(", ")}`);
  return table[key];
}

function integer(value: string | null, param: string, fallback: number, max: number): number {
  if (value === null || value === "") return fallback;
  if (!/^\d+$/.test(value)) throw new QueryError(`${param}=${value} is not a whole number ≥ 0`);
  const n = Number(value);
  if (n > max) throw new QueryError(`${param}=${value} is above the maximum ${max}`);
  return n;
}

function common(params: URLSearchParams) {
  const dir = params.get("dir") ?? "asc";
  if (dir !== "asc" && dir !== "desc") throw new QueryError(`dir=${dir} is not known; use asc or desc`);
  return {
    q: params.get("q") ?? undefined,
    descending: dir === "desc",
    offset: integer(params.get("offset"), "offset", 0, Number.MAX_SAFE_INTEGER),
    limit: integer(params.get("limit"), "limit", DEFAULT_PAGE, MAX_PAGE),
  };
}

export function namespaceQuery(params: URLSearchParams): RowQuery<NamespaceRow> {
  return {
    ...common(params),
    filter: pick(NAMESPACE_FILTERS, params.get("filter"), "filter", "all"),
    compare: pick(NAMESPACE_SORTS, params.get("sort"), "sort", "name"),
  };
}

export function workloadQuery(params: URLSearchParams): RowQuery<WorkloadRow> {
  const base = pick(WORKLOAD_FILTERS, params.get("filter"), "filter", "all");
  const namespace = params.get("namespace");
  const kind = params.get("kind");
  const filter =
    base || namespace || kind
      ? (r: WorkloadRow) =>
          (!base || base(r)) && (!namespace || r.namespace === namespace) && (!kind || r.kind === kind)
      : undefined;
  return { ...common(params), filter, compare: pick(WORKLOAD_SORTS, params.get("sort"), "sort", "namespace") };
}
