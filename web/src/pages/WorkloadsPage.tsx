// Every workload with its proxies' revisions and what a restart would give it; select some and
// restart them (Alauda's "upgrade selected services"). The restart is made with the user's token.
import { useEffect, useMemo, useState } from "react";
import type { RestartResult, WorkloadRow } from "../../../src/server/api-types.js";
import { ApiError, api } from "../api.ts";
import { ActionButton, ErrorBox, formatCount } from "../components/common.tsx";
import { VirtualTable, type Column, type SortState } from "../components/VirtualTable.tsx";
import { live } from "../live.ts";
import { setSearch, useLocation } from "../router.tsx";
import { RowWindow } from "../rows.ts";
import { session } from "../session.ts";
import { useObservable } from "../store.ts";

const FILTERS: Record<string, string> = {
  all: "all workloads",
  stale: "stale (restart moves them)",
  restartable: "restartable",
  gateways: "gateways",
  flagged: "with any flag",
};

type Workload = Pick<WorkloadRow, "kind" | "namespace" | "name">;

export function WorkloadsPage() {
  const info = useObservable(session);
  const { search } = useLocation();
  const params = useMemo(
    () => ({
      q: search.get("q") ?? "",
      namespace: search.get("namespace") ?? "",
      filter: search.get("filter") ?? "all",
      sort: search.get("sort") ?? "namespace",
      dir: search.get("dir") ?? "asc",
    }),
    [search.get("q"), search.get("namespace"), search.get("filter"), search.get("sort"), search.get("dir")],
  );
  const source = useMemo(
    () =>
      new RowWindow<WorkloadRow>(
        "workloads",
        (p) => (p.filter ?? "all") !== "all" || !["namespace", "name", "kind"].includes(p.sort ?? "namespace"),
      ),
    [],
  );
  useEffect(() => source.attach(live), [source]);
  useEffect(() => source.setParams(params), [source, params]);

  const [selected, setSelected] = useState<Map<string, Workload>>(new Map());
  const [confirming, setConfirming] = useState(false);
  const [results, setResults] = useState<RestartResult[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const toggle = (row: WorkloadRow) =>
    setSelected((current) => {
      const next = new Map(current);
      if (next.has(row.key)) next.delete(row.key);
      else next.set(row.key, { kind: row.kind, namespace: row.namespace, name: row.name });
      return next;
    });

  const columns = useMemo<Column<WorkloadRow>[]>(
    () => [
      {
        id: "select",
        header: "",
        width: "34px",
        render: (r) =>
          r.restartable ? (
            <input
              type="checkbox"
              aria-label={`select ${r.namespace}/${r.name}`}
              checked={selected.has(r.key)}
              onChange={() => toggle(r)}
              data-testid="wl-select"
            />
          ) : null,
      },
      {
        id: "namespace",
        header: "namespace",
        width: "minmax(120px, 1fr)",
        sort: "namespace",
        render: (r) => r.namespace,
      },
      { id: "kind", header: "kind", width: "110px", sort: "kind", render: (r) => r.kind },
      { id: "name", header: "name", width: "minmax(140px, 1.4fr)", sort: "name", render: (r) => <b>{r.name}</b> },
      {
        id: "pods",
        header: "pods",
        width: "70px",
        align: "right",
        sort: "pods",
        render: (r) => `${r.livePods}/${r.replicas ?? r.livePods}`,
      },
      {
        id: "proxied",
        header: "proxied",
        width: "80px",
        align: "right",
        sort: "proxied",
        render: (r) => formatCount(r.proxiedPods),
      },
      {
        id: "revisions",
        header: "revisions",
        width: "minmax(100px, 1fr)",
        render: (r) => r.revisions.join(", ") || <span className="muted">—</span>,
      },
      { id: "restart", header: "on restart", width: "minmax(100px, 1fr)", render: (r) => r.onRestart },
      {
        id: "flags",
        header: "flags",
        width: "minmax(120px, 1.3fr)",
        render: (r) => (r.flags.length ? <span className="flags">{r.flags.join(", ")}</span> : null),
      },
    ],
    [selected],
  );

  const restart = async () => {
    setBusy(true);
    setError(null);
    setResults(null);
    try {
      const answer = await api.post<{ results: RestartResult[] }>("/api/workloads/restart", {
        workloads: [...selected.values()],
      });
      setResults(answer.results);
      setSelected(new Map());
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, "Failed", String(err));
      setError(e);
      const body = e.body as { results?: RestartResult[] } | undefined;
      if (body?.results) setResults(body.results);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  return (
    <div className="page" data-testid="workloads">
      <div className="section-head">
        <h1>Workloads</h1>
        <ActionButton
          testId="restart-selected"
          permission={info?.permissions.restartWorkloads}
          blockedBecause={selected.size === 0 ? "select workloads to restart" : null}
          disabled={busy}
          onClick={() => setConfirming(true)}
        >
          Restart selected ({selected.size})
        </ActionButton>
      </div>
      {confirming ? (
        <div className="confirm" role="dialog" aria-label="confirm restart" data-testid="restart-confirm">
          <p>
            Restart {selected.size} workload{selected.size === 1 ? "" : "s"} (as <code>kubectl rollout restart</code>
            ), with your own token:
          </p>
          <ul>
            {[...selected.values()].map((w) => (
              <li key={`${w.namespace}/${w.kind}/${w.name}`}>
                {w.kind} {w.namespace}/{w.name}
              </li>
            ))}
          </ul>
          <button type="button" className="btn btn-primary" onClick={() => void restart()} data-testid="restart-go">
            Restart
          </button>{" "}
          <button type="button" className="btn btn-quiet" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : null}
      <ErrorBox error={error} testId="restart-error" />
      {results ? (
        <ul className="results" data-testid="restart-results">
          {results.map((r) => (
            <li
              key={`${r.workload.namespace}/${r.workload.kind}/${r.workload.name}`}
              className={r.ok ? "ok-text" : "error-text"}
            >
              {r.workload.kind} {r.workload.namespace}/{r.workload.name}: {r.ok ? "restarted" : r.message}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="filters">
        <input
          type="search"
          placeholder="filter by name, namespace or kind"
          defaultValue={params.q}
          onChange={(e) => setSearch({ q: e.target.value })}
          data-testid="wl-search"
        />
        <input
          placeholder="namespace (exact)"
          defaultValue={params.namespace}
          onChange={(e) => setSearch({ namespace: e.target.value })}
          data-testid="wl-namespace"
        />
        <select value={params.filter} onChange={(e) => setSearch({ filter: e.target.value })} data-testid="wl-filter">
          {Object.entries(FILTERS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <VirtualTable
        testId="workloads-table"
        source={source}
        columns={columns}
        height={520}
        sort={{ sort: params.sort, dir: params.dir as SortState["dir"] }}
        onSort={(s) => setSearch({ sort: s.sort, dir: s.dir })}
      />
    </div>
  );
}
