// The Upgrade page's buttons: Upgrade (a new MeshUpgrade), Rollback, Pause, Resume, Done and Cancel.
// Each is enabled exactly when the engine's guard allows its action now (the server sends the verdicts
// with the upgrade) and Kubernetes lets this user patch MeshUpgrades; otherwise it is disabled and says
// why, as text beside it and as its title.
import type { ReactNode } from "react";
import type { ConsoleAction, MeshUpgradeObject, Permission } from "../../../src/server/api-types.js";

export interface GuardedButtonProps {
  testId: string;
  label: ReactNode;
  /** why it cannot be used now (null: it can) */
  why: string | null;
  /** what it does, shown when it can be used */
  does?: string;
  tone?: "primary" | "secondary" | "danger";
  busy?: boolean;
  onClick: () => void;
}

export function GuardedButton({ testId, label, why, does, tone = "secondary", busy, onClick }: GuardedButtonProps) {
  return (
    <div className={`guarded${why ? " guarded-off" : ""}`} data-testid={`${testId}-box`}>
      <button
        type="button"
        className={`btn btn-${tone}`}
        data-testid={testId}
        disabled={why !== null || busy}
        title={why ?? does}
        aria-describedby={`${testId}-why`}
        onClick={onClick}
      >
        {label}
      </button>
      <span
        className={why ? "action-why" : "action-does"}
        id={`${testId}-why`}
        data-testid={why ? `${testId}-why` : `${testId}-does`}
      >
        {why ?? does}
      </span>
    </div>
  );
}

/** Why this user cannot take an action now: Kubernetes RBAC first, then the engine's guard. */
export function whyNot(upgrade: MeshUpgradeObject, action: ConsoleAction, permission: Permission | undefined) {
  if (permission && !permission.allowed) return permission.reason ?? "Kubernetes does not allow you to change it";
  const verdict = upgrade.console?.actions[action];
  if (!verdict) return "the console has not judged this upgrade yet";
  return verdict.allowed ? null : verdict.reason;
}

const TONES: Record<ConsoleAction, GuardedButtonProps["tone"]> = {
  Proceed: "primary",
  Done: "primary",
  Pause: "secondary",
  Resume: "primary",
  Rollback: "danger",
  Cancel: "danger",
};

const LABELS: Record<ConsoleAction, string> = {
  Proceed: "Proceed",
  Done: "Done",
  Pause: "Pause",
  Resume: "Resume",
  Rollback: "Rollback",
  Cancel: "Cancel",
};

export function ActionBar(props: {
  upgrade: MeshUpgradeObject;
  permission: Permission | undefined;
  /** why Upgrade (start another MeshUpgrade) cannot be used; null: it can */
  upgradeWhy: string | null;
  busy: boolean;
  onUpgrade: () => void;
  onAction: (action: ConsoleAction) => void;
}) {
  const { upgrade, permission, busy } = props;
  const shown: ConsoleAction[] = ["Rollback", "Pause", "Resume", "Done", "Cancel"];
  return (
    <div className="action-bar" data-testid="action-bar">
      <GuardedButton
        testId="action-upgrade"
        label="Upgrade"
        tone="secondary"
        why={props.upgradeWhy}
        does="start a new MeshUpgrade"
        onClick={props.onUpgrade}
      />
      {shown.map((a) => (
        <GuardedButton
          key={a}
          testId={`action-${a.toLowerCase()}`}
          label={LABELS[a]}
          tone={TONES[a]}
          why={whyNot(upgrade, a, permission)}
          does={upgrade.console?.actions[a].reason}
          busy={busy}
          onClick={() => props.onAction(a)}
        />
      ))}
    </div>
  );
}

/** Rollback and Cancel ask once more: they undo everything the upgrade did. */
export function ConfirmRollback(props: {
  upgrade: MeshUpgradeObject;
  action: "Rollback" | "Cancel";
  busy: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const from = props.upgrade.status?.from?.revision ?? "the source revision";
  return (
    <div className="dialog" role="dialog" aria-label="confirm rollback" data-testid="rollback-confirm">
      <h2>{props.action === "Cancel" ? "Cancel the upgrade" : "Roll back"}?</h2>
      <p>
        Every namespace and workload goes back to <b>{from}</b>: {props.upgrade.console?.actions.Rollback.reason}. A
        rollback runs to its end; it cannot be paused.
      </p>
      <div className="dialog-buttons">
        <button
          type="button"
          className="btn btn-danger"
          data-testid="rollback-go"
          disabled={props.busy}
          onClick={props.onConfirm}
        >
          {props.action === "Cancel" ? "Cancel the upgrade" : "Roll back"} to {from}
        </button>
        <button type="button" className="btn btn-quiet-light" onClick={props.onClose} data-testid="rollback-keep">
          Keep going
        </button>
      </div>
    </div>
  );
}
