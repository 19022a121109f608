// The Upgrade page's panels, each a reading of the live status: the pipeline of stages, progress per
// wave and per namespace (old/new proxies), the gateways, each wave's verification gate with its
// measurements, and the history of what the engine decided and why.
import { memo, useEffect, useMemo, useState } from "react";
import type { MeshUpgradeObject } from "../../../src/server/api-types.js";
import { Badge, Bar } from "../components/common.tsx";
import { VirtualTable, type Column } from "../components/VirtualTable.tsx";
import { LocalRows } from "../local-rows.ts";
import {
  clock,
  formatValue,
  gatesOf,
  historyOf,
  namespacesOf,
  pipelineOf,
  refText,
  waveRows,
  type GateStatus,
  type HistoryEntry,
  type Measurement,
  type NamespaceProgress,
  type PipelineStep,
  type WaveRow,
} from "./model.ts";

function Step({ step, index }: { step: PipelineStep; index: number }) {
  return (
    <li
      className={`step step-${step.state}`}
      data-testid="pipeline-step"
      data-stage={step.stage}
      data-state={step.state}
    >
      <span className="step-dot">{step.state === "done" ? "✓" : index + 1}</span>
      <span className="step-label">{step.label}</span>
      <span className="step-state">{step.state === "skipped" ? "abandoned" : step.state}</span>
    </li>
  );
}

export function Pipeline({ upgrade }: { upgrade: MeshUpgradeObject }) {
  const { forward, back, cancelled } = pipelineOf(upgrade);
  return (
    <section className="section" data-testid="pipeline" data-cancelled={cancelled}>
      <ol className="pipeline">
        {forward.map((s, i) => (
          <Step key={s.stage} step={s} index={i} />
        ))}
      </ol>
      <div className={`cancel-path${cancelled ? "" : " cancel-path-idle"}`}>
        <span className="muted small">cancel path</span>
        <ol className="pipeline pipeline-back">
          {back.map((s, i) => (
            <Step key={s.stage} step={s} index={i} />
          ))}
        </ol>
      </div>
    </section>
  );
}

const WAVE_TONES: Record<string, string> = {
  Done: "good",
  Failed: "bad",
  WaitingForApproval: "warn",
  Verifying: "active",
  Running: "active",
  Pending: "neutral",
};

/** Keeps a LocalRows in step with rows computed from the latest status. */
function useLocalRows<Row extends { key: string }>(rows: Row[]): LocalRows<Row> {
  const source = useMemo(() => new LocalRows<Row>(), []);
  useEffect(() => source.set(rows), [source, rows]);
  return source;
}

export function WavesPanel({ upgrade }: { upgrade: MeshUpgradeObject }) {
  const rows = useMemo(() => waveRows(upgrade), [upgrade]);
  const source = useLocalRows(rows);
  const columns = useMemo<Column<WaveRow>[]>(
    () => [
      { id: "wave", header: "wave", width: "60px", render: (r) => r.index + 1 },
      {
        id: "state",
        header: "state",
        width: "170px",
        render: (r) => <Badge tone={WAVE_TONES[r.state] ?? "neutral"}>{r.state}</Badge>,
      },
      { id: "namespaces", header: "namespaces", width: "minmax(160px, 2fr)", render: (r) => r.namespaces.join(", ") },
      {
        id: "workloads",
        header: "workloads moved",
        width: "190px",
        render: (r) => (
          <span className="bar-cell">
            <Bar value={r.moved} max={r.workloads} label={`wave ${r.index + 1} workloads moved`} /> {r.moved}/
            {r.workloads}
          </span>
        ),
      },
      {
        id: "proxies",
        header: "proxies old / new",
        width: "200px",
        render: (r) => (
          <span className="bar-cell">
            <Bar value={r.proxiesNew} max={r.proxiesOld + r.proxiesNew} label={`wave ${r.index + 1} proxies`} />{" "}
            {r.proxiesOld} / {r.proxiesNew}
          </span>
        ),
      },
      {
        id: "message",
        header: "",
        width: "minmax(100px, 1.5fr)",
        render: (r) => <span className="small">{r.message}</span>,
      },
    ],
    [],
  );
  if (rows.length === 0) return null;
  return (
    <section className="section">
      <h2>Waves</h2>
      <VirtualTable<WaveRow & { rv: number }>
        testId="waves-table"
        source={source}
        columns={columns}
        height={Math.min(240, 34 * rows.length + 4)}
      />
    </section>
  );
}

type NamespaceRow = NamespaceProgress & { key: string };

export function NamespacesPanel({ upgrade }: { upgrade: MeshUpgradeObject }) {
  const rows = useMemo<NamespaceRow[]>(() => namespacesOf(upgrade).map((n) => ({ ...n, key: n.name })), [upgrade]);
  const source = useLocalRows(rows);
  const columns = useMemo<Column<NamespaceRow>[]>(
    () => [
      { id: "name", header: "namespace", width: "minmax(140px, 1.5fr)", render: (r) => <b>{r.name}</b> },
      { id: "wave", header: "wave", width: "60px", render: (r) => r.wave + 1 },
      { id: "state", header: "state", width: "110px", render: (r) => r.state },
      {
        id: "bar",
        header: "moved",
        width: "140px",
        render: (r) => (
          <Bar value={r.proxies.new} max={r.proxies.old + r.proxies.new} label={`${r.name} proxies moved`} />
        ),
      },
      { id: "old", header: "old", width: "60px", align: "right", render: (r) => r.proxies.old },
      { id: "new", header: "new", width: "60px", align: "right", render: (r) => r.proxies.new },
      { id: "none", header: "no sidecar", width: "90px", align: "right", render: (r) => r.proxies.none },
    ],
    [],
  );
  if (rows.length === 0) return null;
  return (
    <section className="section">
      <h2>Namespaces</h2>
      <VirtualTable<NamespaceRow & { rv: number }>
        testId="ns-progress-table"
        source={source}
        columns={columns}
        height={Math.min(300, 34 * rows.length + 4)}
      />
    </section>
  );
}

export function GatewaysPanel({ upgrade }: { upgrade: MeshUpgradeObject }) {
  const gw = upgrade.console?.gateways;
  if (!gw) return null;
  return (
    <section className="section" data-testid="gateways-panel">
      <h2>Gateways</h2>
      <dl className="facts">
        <dt>included</dt>
        <dd>{gw.include ? "yes" : "no (dataPlane.gateways.include false)"}</dd>
        <dt>strategy</dt>
        <dd data-testid="gateway-strategy">
          {gw.strategy}
          <span className="muted small">
            {" "}
            {gw.strategy === "Canary"
              ? "— a second Deployment on the new revision behind the same Service, then cut over"
              : "— relabel and rolling-restart each gateway"}
          </span>
        </dd>
        <dt>single-replica surge</dt>
        <dd>{gw.surgeSingleReplica ? "yes: scaled to 2 before its restart, never 0 ready pods" : "no"}</dd>
      </dl>
      {gw.items.length > 0 ? (
        <table className="table gateways">
          <thead>
            <tr>
              <th>gateway</th>
              <th>type</th>
              <th>ready</th>
              <th>revisions</th>
              <th>state</th>
              <th>canary</th>
              <th>surge</th>
            </tr>
          </thead>
          <tbody>
            {gw.items.map((g) => (
              <tr key={`${g.namespace}/${g.name}`} data-testid="gateway" data-name={g.name}>
                <td>
                  {g.namespace}/<b>{g.name}</b>
                </td>
                <td>{g.type}</td>
                <td>{g.ready ?? `${g.livePods}/${g.replicas ?? "?"}`}</td>
                <td>{g.revisions.join(", ") || "—"}</td>
                <td>
                  {g.state ?? <span className="muted">not in the plan</span>}
                  {g.message ? <div className="muted small">{g.message}</div> : null}
                </td>
                <td>{g.canary ?? "—"}</td>
                <td>{g.surgedFrom !== null ? `surged from ${g.surgedFrom}` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="muted">No gateway in this mesh.</div>
      )}
    </section>
  );
}

const VERDICT_TONES: Record<string, string> = {
  Pass: "good",
  Passed: "good",
  Fail: "bad",
  Failed: "bad",
  Error: "bad",
  Inconclusive: "warn",
  Waiting: "active",
  Running: "active",
};

function Measurements({ list }: { list: Measurement[] }) {
  if (list.length === 0) return null;
  return (
    <table className="table measurements" data-testid="measurements">
      <thead>
        <tr>
          <th>check</th>
          <th>value</th>
          <th>verdict</th>
          <th>measured</th>
        </tr>
      </thead>
      <tbody>
        {list.map((m, i) => (
          <tr key={i} data-testid="measurement" data-check={m.check} data-verdict={m.verdict}>
            <td>
              {m.check}
              {m.dryRun ? <span className="muted small"> (dry run)</span> : null}
            </td>
            <td>{formatValue(m.value)}</td>
            <td>
              <Badge tone={VERDICT_TONES[m.verdict] ?? "neutral"}>{m.verdict}</Badge>
              {m.message ? <span className="muted small"> {m.message}</span> : null}
            </td>
            <td className="muted small">{clock(m.at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const Gate = memo(function Gate({ gate }: { gate: GateStatus }) {
  return (
    <li className="gate" data-testid="gate" data-wave={gate.wave} data-phase={gate.phase}>
      <div className="gate-head">
        <b>wave {gate.wave + 1}</b> <Badge tone={VERDICT_TONES[gate.phase] ?? "neutral"}>{gate.phase}</Badge>
        <span className="muted small">
          {" "}
          since {clock(gate.startedAt)}
          {gate.finishedAt ? `, decided ${clock(gate.finishedAt)}` : ""}
        </span>
      </div>
      <div className="small" data-testid="gate-message">
        {gate.message}
        {gate.failedChecks.length ? (
          <span className="error-text"> — failed: {gate.failedChecks.join(", ")}</span>
        ) : null}
      </div>
      {gate.health ? (
        <div className="small" data-testid="gate-health" data-verdict={gate.health.verdict}>
          health <Badge tone={VERDICT_TONES[gate.health.verdict] ?? "neutral"}>{gate.health.verdict}</Badge>{" "}
          <span className="muted">{clock(gate.health.at)}</span>
          {gate.health.reasons.length ? (
            <ul className="reasons">
              {gate.health.reasons.map((r, i) => (
                <li key={i}>{r}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <Measurements list={gate.measurements} />
    </li>
  );
});

const SHOWN_GATES = 12;

export function GatesPanel({ upgrade }: { upgrade: MeshUpgradeObject }) {
  const gates = gatesOf(upgrade);
  const [all, setAll] = useState(false);
  if (gates.length === 0) return null;
  const shown = all ? gates : gates.slice(0, SHOWN_GATES);
  return (
    <section className="section" data-testid="gates-panel">
      <h2>Verification gates</h2>
      <p className="muted small">
        Each wave is verified before the next begins: its workloads healthy on the new revision, then the metric checks
        when Prometheus is configured.
      </p>
      <ol className="gates">
        {shown.map((g) => (
          <Gate key={g.wave} gate={g} />
        ))}
      </ol>
      {gates.length > shown.length ? (
        <button type="button" className="btn btn-secondary" onClick={() => setAll(true)}>
          Show all {gates.length} gates
        </button>
      ) : null}
    </section>
  );
}

const HistoryItem = memo(function HistoryItem({ entry }: { entry: HistoryEntry }) {
  const targets = entry.targets ?? (entry.target ? [entry.target] : []);
  return (
    <li className="history-entry" data-testid="history-entry" data-action={entry.action}>
      <span className="muted small history-time" title={entry.time}>
        {clock(entry.time)}
      </span>
      <div>
        <b>{entry.action}</b>
        {entry.actor ? <span className="muted small"> by {entry.actor}</span> : null}
        {entry.outcome ? <span className="muted small"> ({entry.outcome})</span> : null}
        {targets.length ? (
          <div className="small history-targets">
            {targets.length > 6
              ? `${targets.slice(0, 6).map(refText).join(", ")} and ${targets.length - 6} more`
              : targets.map(refText).join(", ")}
          </div>
        ) : null}
        <div className="small">{entry.reason}</div>
        {entry.measurements?.length ? <Measurements list={entry.measurements} /> : null}
      </div>
    </li>
  );
});

const SHOWN_HISTORY = 150;

export function HistoryPanel({ upgrade }: { upgrade: MeshUpgradeObject }) {
  const history = historyOf(upgrade);
  const [all, setAll] = useState(false);
  if (history.length === 0) return null;
  const shown = all ? history : history.slice(0, SHOWN_HISTORY);
  return (
    <section className="section">
      <h2>History</h2>
      <p className="muted small">Newest first. Every write is recorded as intended before meshlift makes it.</p>
      <ol className="timeline" data-testid="history">
        {shown.map((h, i) => (
          <HistoryItem key={history.length - i} entry={h} />
        ))}
      </ol>
      {history.length > shown.length ? (
        <button type="button" className="btn btn-secondary" onClick={() => setAll(true)}>
          Show all {history.length} entries
        </button>
      ) : null}
    </section>
  );
}
