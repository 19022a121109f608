// Every MeshUpgrade with its stage and progress, live. Starting one needs create permission on
// meshupgrades; without it the button says why.
import type { MeshUpgradeObject } from "../../../src/server/api-types.js";
import { ActionButton, Bar, StageBadge } from "../components/common.tsx";
import { live } from "../live.ts";
import { Link, navigate } from "../router.tsx";
import { session } from "../session.ts";
import { useObservable } from "../store.ts";

export function revisionsOf(u: MeshUpgradeObject): { from: string; to: string } {
  const from = u.status?.from ? `${u.status.from.revision} (${u.status.from.version})` : (u.spec.from ?? "auto");
  const to = u.status?.to
    ? `${u.status.to.revision} (${u.status.to.version})`
    : `${u.spec.to?.version ?? "?"}${u.spec.to?.revision ? ` as ${u.spec.to.revision}` : ""}`;
  return { from, to };
}

export function waveProgress(u: MeshUpgradeObject): { done: number; total: number } {
  const total = Array.isArray(u.status?.plan?.waves) ? u.status.plan.waves.length : 0;
  return { done: Number(u.status?.progress?.completedWaves ?? 0), total };
}

export function UpgradesPage() {
  const upgrades = useObservable(live.upgrades.list);
  const crdInstalled = useObservable(live.upgrades.crdInstalled);
  const info = useObservable(session);

  return (
    <div className="page" data-testid="upgrades">
      <div className="section-head">
        <h1>Upgrades</h1>
        <ActionButton
          testId="start-upgrade"
          permission={info?.permissions.createUpgrade}
          blockedBecause={crdInstalled ? null : "the MeshUpgrade CRD is not installed"}
          onClick={() => navigate("/upgrades/new")}
        >
          Start upgrade
        </ActionButton>
      </div>
      {!crdInstalled ? (
        <div className="notice" data-testid="crd-missing">
          The MeshUpgrade custom resource is not installed in this cluster. Install it with{" "}
          <code>kubectl apply -f deploy/crds/meshupgrade.yaml</code> (the operator does this too).
        </div>
      ) : null}
      {crdInstalled && upgrades.length === 0 ? (
        <div className="muted" data-testid="no-upgrades">
          No MeshUpgrade yet.
        </div>
      ) : null}
      {upgrades.length > 0 ? (
        <table className="table" data-testid="upgrades-table">
          <thead>
            <tr>
              <th>name</th>
              <th>stage</th>
              <th>from</th>
              <th>to</th>
              <th>progress</th>
              <th>waves</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {upgrades.map((u) => {
              const { from, to } = revisionsOf(u);
              const waves = waveProgress(u);
              return (
                <tr key={u.metadata.uid ?? u.metadata.name} data-testid="upgrade-row" data-name={u.metadata.name}>
                  <td>
                    <Link to={`/upgrades/${encodeURIComponent(u.metadata.name)}`}>{u.metadata.name}</Link>
                  </td>
                  <td>
                    <StageBadge stage={u.status?.stage} />
                  </td>
                  <td>{from}</td>
                  <td>{to}</td>
                  <td data-testid="upgrade-progress">{u.status?.progress?.summary ?? u.status?.message ?? "—"}</td>
                  <td className="bar-cell">
                    {waves.total ? (
                      <>
                        <Bar value={waves.done} max={waves.total} label="waves done" />
                        <span className="muted small">
                          {waves.done}/{waves.total}
                        </span>
                      </>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td className="muted small">{u.metadata.creationTimestamp ?? ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
