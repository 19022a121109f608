// One MeshUpgrade, live: stage, source and target, waves, per-namespace progress, stragglers and
// history as the engine records them in status, and the spec.action buttons. The server refuses an
// action the stage does not allow (with the reason); Kubernetes RBAC refuses users who may not patch.
import { useState } from "react";
import type { MeshUpgradeObject } from "../../../src/server/api-types.js";
import { ApiError, api } from "../api.ts";
import { ActionButton, Bar, ErrorBox, StageBadge } from "../components/common.tsx";
import { live } from "../live.ts";
import { Link } from "../router.tsx";
import { session } from "../session.ts";
import { useObservable } from "../store.ts";
import { revisionsOf, waveProgress } from "./UpgradesPage.tsx";

const ACTIONS = ["Proceed", "Pause", "Resume", "Rollback"] as const;

interface NamespaceProgress {
  name: string;
  wave: number;
  state: string;
  proxies: { old: number; new: number; none: number };
}

export function UpgradeDetailPage({ name }: { name: string }) {
  useObservable(live.upgrades.list);
  const upgrade: MeshUpgradeObject | undefined = live.upgrades.byName(name);
  const info = useObservable(session);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  if (!upgrade) {
    return (
      <div className="page">
        <p>
          <Link to="/upgrades">← Upgrades</Link>
        </p>
        <div className="muted">MeshUpgrade {name} does not exist (or is not loaded yet).</div>
      </div>
    );
  }

  const act = async (action: string) => {
    setBusy(action);
    setError(null);
    try {
      await api.post(`/api/upgrades/${encodeURIComponent(name)}/action`, { action });
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "Failed", String(err)));
    } finally {
      setBusy(null);
    }
  };

  const status = upgrade.status ?? {};
  const { from, to } = revisionsOf(upgrade);
  const waves = waveProgress(upgrade);
  const namespaces: NamespaceProgress[] = status.progress?.namespaces ?? [];
  const stragglers: { kind: string; namespace: string; name: string; why: string }[] = status.stragglers ?? [];
  const history: { time: string; actor?: string; action: string; reason: string; outcome?: string }[] =
    status.history ?? [];

  return (
    <div className="page" data-testid="upgrade-detail" data-name={name}>
      <p>
        <Link to="/upgrades">← Upgrades</Link>
      </p>
      <div className="section-head">
        <h1>
          {name} <StageBadge stage={status.stage} />
        </h1>
        <div className="action-group">
          <div className="actions">
            {ACTIONS.map((a) => (
              <ActionButton
                key={a}
                testId={`action-${a.toLowerCase()}`}
                className={a === "Rollback" ? "btn-danger" : "btn-secondary"}
                permission={info?.permissions.actOnUpgrade}
                showReason={false}
                disabled={busy !== null}
                onClick={() => void act(a)}
              >
                {a}
              </ActionButton>
            ))}
          </div>
          {info && !info.permissions.actOnUpgrade.allowed ? (
            <div className="action-why" data-testid="actions-why">
              {info.permissions.actOnUpgrade.reason}
            </div>
          ) : null}
        </div>
      </div>
      <ErrorBox error={error} testId="action-error" />
      <dl className="facts">
        <dt>from</dt>
        <dd>{from}</dd>
        <dt>to</dt>
        <dd>{to}</dd>
        <dt>progress</dt>
        <dd>{status.progress?.summary ?? status.message ?? "—"}</dd>
        <dt>waves</dt>
        <dd className="bar-cell">
          {waves.total ? (
            <>
              <Bar value={waves.done} max={waves.total} label="waves done" /> {waves.done}/{waves.total}
            </>
          ) : (
            "not planned yet"
          )}
        </dd>
        {status.acknowledgedAction ? (
          <>
            <dt>last action</dt>
            <dd>
              {status.acknowledgedAction.action} at {status.acknowledgedAction.at}
            </dd>
          </>
        ) : null}
      </dl>
      {namespaces.length ? (
        <section className="section">
          <h2>Namespaces</h2>
          <table className="table">
            <thead>
              <tr>
                <th>namespace</th>
                <th>wave</th>
                <th>state</th>
                <th>proxies old / new / none</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {namespaces.map((n) => (
                <tr key={n.name}>
                  <td>{n.name}</td>
                  <td>{n.wave + 1}</td>
                  <td>{n.state}</td>
                  <td>
                    {n.proxies.old} / {n.proxies.new} / {n.proxies.none}
                  </td>
                  <td className="bar-cell">
                    <Bar value={n.proxies.new} max={n.proxies.old + n.proxies.new} label="proxies moved" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {stragglers.length ? (
        <section className="section">
          <h2>Stragglers</h2>
          <ul>
            {stragglers.map((s) => (
              <li key={`${s.kind}/${s.namespace}/${s.name}`}>
                {s.kind} {s.namespace}/{s.name}: {s.why}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {history.length ? (
        <section className="section">
          <h2>History</h2>
          <ol className="history">
            {history.map((h, i) => (
              <li key={i}>
                <span className="muted small">{h.time}</span> <b>{h.action}</b>
                {h.actor ? <span className="muted"> by {h.actor}</span> : null} — {h.reason}
                {h.outcome ? <span className="muted"> ({h.outcome})</span> : null}
              </li>
            ))}
          </ol>
        </section>
      ) : null}
    </div>
  );
}
