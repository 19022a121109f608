// Small shared pieces: an action button that shows why it is disabled, the server's error with its
// fix, stage and severity badges.
import type { ButtonHTMLAttributes, ReactNode } from "react";
import type { Permission } from "../../../src/server/api-types.js";
import type { ApiError } from "../api.ts";

/**
 * A button for something the user may or may not do. When Kubernetes says no (or the action does
 * not apply now) it is disabled and the reason is written next to it — not only in a tooltip.
 */
export function ActionButton(
  props: ButtonHTMLAttributes<HTMLButtonElement> & {
    permission?: Permission;
    /** another reason it cannot be used right now (e.g. nothing selected) */
    blockedBecause?: string | null;
    testId: string;
    /** false when a group of buttons shows one shared reason instead */
    showReason?: boolean;
  },
) {
  const { permission, blockedBecause, testId, children, className, showReason = true, ...rest } = props;
  const reason = permission && !permission.allowed ? permission.reason : (blockedBecause ?? null);
  return (
    <span className="action">
      <button
        type="button"
        {...rest}
        className={`btn ${className ?? "btn-primary"}`}
        data-testid={testId}
        disabled={reason !== null || rest.disabled}
        title={reason ?? undefined}
        aria-describedby={reason ? `${testId}-why` : undefined}
      >
        {children}
      </button>
      {showReason && reason && permission && !permission.allowed ? (
        <span className="action-why" id={`${testId}-why`} data-testid={`${testId}-why`}>
          {reason}
        </span>
      ) : null}
    </span>
  );
}

/** The server's error: what was wrong, its fix, and each refused field. */
export function ErrorBox({ error, testId = "error" }: { error: ApiError | Error | null; testId?: string }) {
  if (!error) return null;
  const api = error as Partial<ApiError>;
  return (
    <div className="error-box" role="alert" data-testid={testId}>
      <div className="error-message">{error.message}</div>
      {api.fix ? <div className="error-fix">Fix: {api.fix}</div> : null}
      {api.fields && api.fields.length > 1 ? (
        <ul className="error-fields">
          {api.fields.map((f, i) => (
            <li key={i}>
              <code>{f.field}</code>: {f.message}
              {f.fix ? <span className="error-fix"> — {f.fix}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

const STAGE_TONES: Record<string, string> = {
  Completed: "good",
  RolledBack: "neutral",
  Failed: "bad",
  Paused: "warn",
  RollingBack: "warn",
  NewControlPlaneOffline: "warn",
};

export function StageBadge({ stage }: { stage: string | undefined }) {
  const text = stage ?? "Pending";
  return (
    <span className={`badge badge-${STAGE_TONES[text] ?? "active"}`} data-testid="stage">
      {text}
    </span>
  );
}

export function Badge({ tone, children, title }: { tone: string; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function Bar({ value, max, label }: { value: number; max: number; label?: string }) {
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <div className="bar" role="progressbar" aria-valuenow={value} aria-valuemax={max} aria-label={label}>
      <div className="bar-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}
