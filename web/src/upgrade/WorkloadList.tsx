// The upgrade's workloads, virtualised, filtered in the page, with selection → "Upgrade selected"
// (Alauda's "upgrade selected services"): in Manual mode it adds them to spec.dataPlane.restartSelected
// (meshlift restarts them as their wave comes); in Automatic mode it restarts them now, as
// `kubectl rollout restart` does. Both with the user's own token.
import { useEffect, useMemo, useState } from "react";
import type { MeshUpgradeObject, Permission, RestartResult } from "../../../src/server/api-types.js";
import { ApiError, api } from "../api.ts";
import { Badge, ErrorBox } from "../components/common.tsx";
import { VirtualTable, type Column } from "../components/VirtualTable.tsx";
import { LocalRows } from "../local-rows.ts";
import { GuardedButton } from "./Actions.tsx";
import { workloadRows, type WorkloadRef, type WorkloadRow } from "./model.ts";

const STATE_TONES: Record<string, string> = {
  RolledOut: "good",
  Verified: "good",
  RolledBack: "neutral",
  Skipped: "neutral",
  Restarting: "active",
  WaitingForUser: "warn",
  Failed: "bad",
  Pending: "neutral",
};

type Row = WorkloadRow & { selected: boolean };

export function WorkloadList(props: {
  upgrade: MeshUpgradeObject;
  permissions: { actOnUpgrade?: Permission; restartWorkloads?: Permission };
}) {
  const { upgrade } = props;
  const manual = upgrade.console?.restart.mode === "Manual";
  const [selected, setSelected] = useState<Map<string, WorkloadRef>>(new Map());
  const [filter, setFilter] = useState({ text: "", state: "all" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const all = useMemo(() => workloadRows(upgrade), [upgrade]);
  const picked = useMemo(
    () => new Set((upgrade.console?.restart.selected ?? []).map((w) => `${w.namespace}/${w.kind}/${w.name}`)),
    [upgrade],
  );
  const rows = useMemo<Row[]>(() => {
    const text = filter.text.trim().toLowerCase();
    return all
      .filter((r) => filter.state === "all" || r.state === filter.state)
      .filter((r) => !text || `${r.namespace}/${r.kind}/${r.name}`.toLowerCase().includes(text))
      .map((r) => ({ ...r, selected: selected.has(r.key) }));
  }, [all, filter, selected]);
  const source = useMemo(() => new LocalRows<Row>(), []);
  useEffect(() => source.set(rows), [source, rows]);

  // a workload that can no longer be picked (it moved meanwhile) leaves the selection
  useEffect(() => {
    const selectable = new Set(all.filter((r) => r.selectable).map((r) => r.key));
    setSelected((current) => {
      const next = new Map([...current].filter(([k]) => selectable.has(k)));
      return next.size === current.size ? current : next;
    });
  }, [all]);

  const toggle = (r: Row) =>
    setSelected((current) => {
      const next = new Map(current);
      if (next.has(r.key)) next.delete(r.key);
      else next.set(r.key, { kind: r.kind, namespace: r.namespace, name: r.name });
      return next;
    });

  const columns = useMemo<Column<Row>[]>(
    () => [
      {
        id: "select",
        header: "",
        width: "34px",
        render: (r) =>
          r.selectable ? (
            <input
              type="checkbox"
              aria-label={`select ${r.namespace}/${r.name}`}
              checked={r.selected}
              onChange={() => toggle(r)}
              data-testid="uw-select"
            />
          ) : null,
      },
      { id: "namespace", header: "namespace", width: "minmax(110px, 1fr)", render: (r) => r.namespace },
      { id: "kind", header: "kind", width: "110px", render: (r) => r.kind },
      { id: "name", header: "name", width: "minmax(140px, 1.4fr)", render: (r) => <b>{r.name}</b> },
      { id: "wave", header: "wave", width: "60px", render: (r) => r.wave + 1 },
      {
        id: "state",
        header: "state",
        width: "130px",
        render: (r) => (
          <>
            <Badge tone={STATE_TONES[r.state] ?? "neutral"}>{r.state}</Badge>
            {picked.has(r.key) && !["RolledOut", "Verified"].includes(r.state) ? (
              <span className="muted small" title="in spec.dataPlane.restartSelected">
                {" "}
                selected
              </span>
            ) : null}
          </>
        ),
      },
      { id: "ready", header: "ready", width: "70px", render: (r) => r.ready ?? "" },
      {
        id: "message",
        header: "",
        width: "minmax(120px, 2fr)",
        render: (r) => (
          <span className="small" title={r.message}>
            {r.message ?? ""}
          </span>
        ),
      },
    ],
    [picked],
  );

  const permission = manual ? props.permissions.actOnUpgrade : props.permissions.restartWorkloads;
  const why =
    permission && !permission.allowed
      ? permission.reason
      : selected.size === 0
        ? manual
          ? "select workloads not yet moved for meshlift to restart as their wave comes"
          : "select workloads of a wave that has begun to restart them now"
        : null;

  const submit = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    const workloads = [...selected.values()];
    try {
      if (manual) {
        await api.post(`/api/upgrades/${encodeURIComponent(upgrade.metadata.name)}/restart-selected`, { workloads });
        setDone(`${workloads.length} workload(s) added to spec.dataPlane.restartSelected`);
      } else {
        const answer = await api.post<{ results: RestartResult[] }>("/api/workloads/restart", { workloads });
        const failed = answer.results.filter((r) => !r.ok);
        setDone(
          `${answer.results.length - failed.length} restarted${failed.length ? `; ${failed.map((f) => `${f.workload.name}: ${f.message}`).join("; ")}` : ""}`,
        );
      }
      setSelected(new Map());
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "Failed", String(err)));
    } finally {
      setBusy(false);
    }
  };

  if (all.length === 0) return null;
  const states = [...new Set(all.map((r) => r.state))].sort();
  return (
    <section className="section" data-testid="upgrade-workloads">
      <div className="section-head">
        <h2>
          Workloads <span className="muted small">({all.length})</span>
        </h2>
        <GuardedButton
          testId="upgrade-selected"
          label={`Upgrade selected (${selected.size})`}
          tone="primary"
          why={why}
          does={
            manual
              ? "meshlift restarts them onto the new revision as their wave comes"
              : "restart them now (kubectl rollout restart), with your token"
          }
          busy={busy}
          onClick={() => void submit()}
        />
      </div>
      <ErrorBox error={error} testId="upgrade-selected-error" />
      {done ? (
        <div className="ok-text small" data-testid="upgrade-selected-done">
          {done}
        </div>
      ) : null}
      <div className="filters">
        <input
          type="search"
          placeholder="filter by namespace, kind or name"
          value={filter.text}
          onChange={(e) => setFilter({ ...filter, text: e.target.value })}
          data-testid="uw-search"
        />
        <select
          value={filter.state}
          onChange={(e) => setFilter({ ...filter, state: e.target.value })}
          data-testid="uw-state"
        >
          <option value="all">every state</option>
          {states.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <VirtualTable<Row & { rv: number }>
        testId="uw-table"
        source={source}
        columns={columns}
        height={Math.min(420, 34 * all.length + 4)}
      />
    </section>
  );
}
