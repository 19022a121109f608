// The Upgrade page (/upgrades/:name): one MeshUpgrade, live over the console's event stream — the
// three-stage pipeline and its cancel path, progress per wave and namespace, the workloads with
// "Upgrade selected", gateways, verification gates, history, and the buttons. Every button follows
// the engine's guard (sent by the server with the upgrade) and Kubernetes RBAC; the server checks
// both again when an action is asked.
import { useEffect, useRef, useState } from "react";
import type { ConsoleAction, MeshUpgradeObject } from "../../../src/server/api-types.js";
import { ApiError, api } from "../api.ts";
import { ErrorBox, StageBadge } from "../components/common.tsx";
import { live } from "../live.ts";
import { Link, navigate } from "../router.tsx";
import { session } from "../session.ts";
import { useObservable } from "../store.ts";
import { ActionBar, ConfirmRollback } from "../upgrade/Actions.tsx";
import { revisions, stageOf, TERMINAL } from "../upgrade/model.ts";
import { GatesPanel, GatewaysPanel, HistoryPanel, NamespacesPanel, Pipeline, WavesPanel } from "../upgrade/Panels.tsx";
import { StragglersDialog } from "../upgrade/StragglersDialog.tsx";
import { WorkloadList } from "../upgrade/WorkloadList.tsx";

/** Stages in which stragglers block the way offline: the dialog opens by itself then. */
const STRAGGLER_STAGES = ["DataPlaneUpgrade", "OldControlPlaneOffline"];

function stragglerKeys(u: MeshUpgradeObject): string {
  return (u.console?.stragglers ?? [])
    .map((s) => `${s.kind}/${s.namespace}/${s.name}`)
    .sort()
    .join(",");
}

export function UpgradeDetailPage({ name }: { name: string }) {
  const upgrades = useObservable(live.upgrades.list);
  const upgrade = upgrades.find((u) => u.metadata.name === name);
  const info = useObservable(session);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirmRollback, setConfirmRollback] = useState<"Rollback" | "Cancel" | null>(null);
  const [dialog, setDialog] = useState<{ open: boolean; confirming: boolean }>({ open: false, confirming: false });
  const dismissed = useRef<string | null>(null);

  // the stragglers dialog opens by itself when something new blocks the way offline; closed, it stays
  // closed until the list changes
  const stage = upgrade ? stageOf(upgrade) : "Pending";
  const keys = upgrade ? stragglerKeys(upgrade) : "";
  useEffect(() => {
    if (!STRAGGLER_STAGES.includes(stage) || keys === "") return;
    if (dismissed.current === keys) return;
    setDialog((d) => (d.open ? d : { open: true, confirming: false }));
  }, [stage, keys]);
  useEffect(() => {
    if (TERMINAL.includes(stage) || stage === "RollingBack") setDialog({ open: false, confirming: false });
  }, [stage]);

  if (!upgrade) {
    return (
      <div className="page" data-testid="upgrade-missing">
        <p>
          <Link to="/upgrades">← Upgrades</Link>
        </p>
        <div className="muted">MeshUpgrade {name} does not exist (or is not loaded yet).</div>
      </div>
    );
  }

  const send = async (action: ConsoleAction) => {
    setBusy(action);
    setError(null);
    try {
      await api.post(`/api/upgrades/${encodeURIComponent(name)}/action`, { action });
      return true;
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "Failed", String(err)));
      return false;
    } finally {
      setBusy(null);
    }
  };

  const onAction = (action: ConsoleAction) => {
    if (action === "Rollback" || action === "Cancel") setConfirmRollback(action);
    else if (action === "Done" && upgrade.console?.approval?.kind === "offline")
      setDialog({ open: true, confirming: true });
    else void send(action);
  };

  const closeDialog = () => {
    dismissed.current = keys;
    setDialog({ open: false, confirming: false });
  };

  const active = upgrades.find((u) => !TERMINAL.includes(stageOf(u)));
  const create = info?.permissions.createUpgrade;
  const upgradeWhy =
    create && !create.allowed
      ? create.reason
      : active
        ? `MeshUpgrade ${active.metadata.name} is active (stage ${stageOf(active)}): one upgrade at a time per mesh`
        : null;

  const status = upgrade.status ?? {};
  const { from, to } = revisions(upgrade);
  const pending = upgrade.console?.pendingAction;
  const actOnUpgrade = info?.permissions.actOnUpgrade;

  return (
    <div className="page" data-testid="upgrade-detail" data-name={name} data-stage={stage}>
      <p>
        <Link to="/upgrades">← Upgrades</Link>
      </p>
      <div className="section-head">
        <h1>
          {name} <StageBadge stage={status.stage} />
        </h1>
        <div className="upgrade-path" data-testid="upgrade-path">
          <b>{from}</b>
          {status.from?.version ? <span className="muted"> ({status.from.version})</span> : null} → <b>{to}</b>
          {status.to?.version ? <span className="muted"> ({status.to.version})</span> : null}
        </div>
      </div>
      {status.message ? (
        <div className="notice" data-testid="upgrade-message">
          {status.message}
        </div>
      ) : null}
      {pending ? (
        <div className="notice notice-warn" data-testid="pending-action">
          {pending.action} was asked; waiting for the engine to acknowledge it.
        </div>
      ) : null}
      <ActionBar
        upgrade={upgrade}
        permission={actOnUpgrade}
        upgradeWhy={upgradeWhy}
        busy={busy !== null}
        onUpgrade={() => navigate("/upgrades/new")}
        onAction={onAction}
      />
      <ErrorBox error={error} testId="action-error" />
      {confirmRollback ? (
        <ConfirmRollback
          upgrade={upgrade}
          action={confirmRollback}
          busy={busy !== null}
          onClose={() => setConfirmRollback(null)}
          onConfirm={() =>
            void send(confirmRollback).then((ok) => {
              if (ok) setConfirmRollback(null);
            })
          }
        />
      ) : null}
      {dialog.open ? (
        <StragglersDialog
          upgrade={upgrade}
          permission={actOnUpgrade}
          confirming={dialog.confirming}
          busy={busy !== null}
          onClose={closeDialog}
          onDone={() =>
            void send("Done").then((ok) => {
              if (ok) setDialog({ open: false, confirming: false });
            })
          }
        />
      ) : null}
      <Pipeline upgrade={upgrade} />
      <dl className="facts" data-testid="upgrade-facts">
        <dt>progress</dt>
        <dd data-testid="upgrade-summary">{status.progress?.summary ?? "—"}</dd>
        <dt>approval</dt>
        <dd>{upgrade.spec.approval?.mode ?? "None"}</dd>
        <dt>restarts</dt>
        <dd>
          {upgrade.console?.restart.mode ?? "Automatic"}, at most {upgrade.spec.dataPlane?.maxConcurrent ?? 5} at once
        </dd>
        <dt>install</dt>
        <dd>{upgrade.spec.install?.mode ?? "Adopt"}</dd>
        {status.acknowledgedAction ? (
          <>
            <dt>last action</dt>
            <dd data-testid="last-action">
              {status.acknowledgedAction.action} at {status.acknowledgedAction.at}
            </dd>
          </>
        ) : null}
        {status.rollback ? (
          <>
            <dt>rollback</dt>
            <dd>
              from {status.rollback.from}: {status.rollback.reason}
            </dd>
          </>
        ) : null}
      </dl>
      <WavesPanel upgrade={upgrade} />
      <NamespacesPanel upgrade={upgrade} />
      <WorkloadList upgrade={upgrade} permissions={info?.permissions ?? {}} />
      <GatewaysPanel upgrade={upgrade} />
      <GatesPanel upgrade={upgrade} />
      <HistoryPanel upgrade={upgrade} />
    </div>
  );
}
