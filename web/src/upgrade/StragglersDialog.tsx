// The stragglers dialog before offline: everything that still runs the old revision (kind, namespace,
// name, why) and what to do about it. The old revision is removed only when a fresh LIST shows none
// (DESIGN invariant 1), so the dialog opens by itself while the engine waits on them, and when the user
// clicks Done, which it then confirms: taking the old revision offline ends the chance to roll back.
import type { MeshUpgradeObject, Permission } from "../../../src/server/api-types.js";
import { GuardedButton, whyNot } from "./Actions.tsx";
import { revisions } from "./model.ts";

export function StragglersDialog(props: {
  upgrade: MeshUpgradeObject;
  permission: Permission | undefined;
  /** opened by Done: confirm taking the old revision offline */
  confirming: boolean;
  busy: boolean;
  onDone: () => void;
  onClose: () => void;
}) {
  const { upgrade } = props;
  const { from, to } = revisions(upgrade);
  const stragglers = upgrade.console?.stragglers ?? [];
  const stage = String(upgrade.status?.stage ?? "Pending");
  const approval = upgrade.console?.approval;
  const doneWhy = whyNot(upgrade, "Done", props.permission);
  return (
    <div
      className="dialog dialog-wide"
      role="dialog"
      aria-label="stragglers"
      data-testid="stragglers-dialog"
      data-count={stragglers.length}
    >
      <div className="dialog-head">
        <h2>Before {from} goes offline</h2>
        <button type="button" className="btn btn-quiet-light" onClick={props.onClose} data-testid="stragglers-close">
          Close
        </button>
      </div>
      {stragglers.length > 0 ? (
        <>
          <p data-testid="stragglers-summary">
            {stragglers.length} workload{stragglers.length === 1 ? "" : "s"} still run
            {stragglers.length === 1 ? "s" : ""} <b>{from}</b>. meshlift cannot move{" "}
            {stragglers.length === 1 ? "it" : "them"} by itself, and removes {from} only once a fresh LIST shows no
            proxy on it
            {stage === "OldControlPlaneOffline" ? "" : "; or roll back"}. The list follows the cluster live.
          </p>
          <table className="table" data-testid="stragglers-table">
            <thead>
              <tr>
                <th>kind</th>
                <th>namespace</th>
                <th>name</th>
                <th>why</th>
                <th>action to take</th>
              </tr>
            </thead>
            <tbody>
              {stragglers.map((s) => (
                <tr
                  key={`${s.kind}/${s.namespace}/${s.name}`}
                  data-testid="straggler"
                  data-kind={s.kind}
                  data-namespace={s.namespace}
                  data-name={s.name}
                >
                  <td>{s.kind}</td>
                  <td>{s.namespace}</td>
                  <td>
                    <b>{s.name}</b>
                  </td>
                  <td className="small">{s.why}</td>
                  <td className="small" data-testid="straggler-action">
                    {s.action}
                    {s.command ? (
                      <div>
                        <code>{s.command}</code>
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p className="ok-text" data-testid="stragglers-none">
          No proxy runs {from} any more
          {approval?.kind === "offline" || upgrade.spec.approval?.mode === "BeforeOffline"
            ? ""
            : "; the engine goes on by itself"}
          .
        </p>
      )}
      {props.confirming || approval?.kind === "offline" || upgrade.spec.approval?.mode === "BeforeOffline" ? (
        <div className="dialog-buttons">
          <GuardedButton
            testId="stragglers-done"
            label={`Done: take ${from} offline`}
            tone="primary"
            why={doneWhy}
            does={`every proxy runs ${to}; ${from} is removed and rollback is no longer possible`}
            busy={props.busy}
            onClick={props.onDone}
          />
        </div>
      ) : null}
    </div>
  );
}
