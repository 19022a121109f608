// Prechecks for a chosen target version: findings grouped by severity, each with the objects it is
// about and the fix (SMM's validation view). Runs again when the mesh changes.
import { useEffect, useRef, useState, type FormEvent } from "react";
import type { FindingView, PrecheckResult } from "../../../src/server/api-types.js";
import { ApiError, api, query } from "../api.ts";
import { ErrorBox } from "../components/common.tsx";
import { live } from "../live.ts";
import { setSearch, useLocation } from "../router.tsx";
import { useObservable } from "../store.ts";

const SEVERITIES: { id: FindingView["severity"]; title: string }[] = [
  { id: "error", title: "Errors — the upgrade is blocked until they are fixed" },
  { id: "warning", title: "Warnings — review before upgrading" },
  { id: "info", title: "Information" },
];

function objectText(o: FindingView["objects"][number]): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
}

function FindingCard({ finding }: { finding: FindingView }) {
  return (
    <li className={`finding finding-${finding.severity}`} data-testid="finding" data-id={finding.id}>
      <div className="finding-head">
        <code className="finding-id">{finding.id}</code>
        <span className="finding-objects">
          {finding.objects.map((o) => (
            <span
              key={objectText(o)}
              className="object"
              data-testid="finding-object"
              data-kind={o.kind}
              data-namespace={o.namespace ?? ""}
              data-name={o.name}
            >
              {objectText(o)}
            </span>
          ))}
        </span>
      </div>
      <div className="finding-message">{finding.message}</div>
      {finding.fix ? (
        <div className="finding-fix" data-testid="finding-fix">
          <b>Fix:</b> {finding.fix}
        </div>
      ) : null}
    </li>
  );
}

export function PrecheckPage() {
  const overview = useObservable(live.overview);
  const { search } = useLocation();
  const target = search.get("to") ?? "";
  const revision = search.get("revision") ?? "";
  const [draft, setDraft] = useState({ to: target, revision });
  const [result, setResult] = useState<PrecheckResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const request = useRef(0);

  const offers = overview?.banner?.offers ?? [];
  const suggested = overview?.banner?.recommended ?? offers.at(-1)?.version ?? "";

  useEffect(() => {
    setDraft({ to: target || suggested, revision });
  }, [target, revision, suggested]);

  // run for the target in the URL, and again whenever the live view moves on
  const version = overview?.version;
  useEffect(() => {
    if (!target) return;
    const mine = ++request.current;
    setBusy(true);
    const timer = setTimeout(
      () => {
        api
          .get<PrecheckResult>(`/api/precheck${query({ to: target, revision })}`)
          .then((r) => {
            if (mine !== request.current) return;
            setResult(r);
            setError(null);
          })
          .catch((err: unknown) => {
            if (mine !== request.current) return;
            setResult(null);
            setError(err instanceof ApiError ? err : new ApiError(0, "Failed", String(err)));
          })
          .finally(() => mine === request.current && setBusy(false));
      },
      result ? 400 : 0,
    );
    return () => clearTimeout(timer);
    // `result` only decides the debounce: not a reason to run again
  }, [target, revision, version]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSearch({ to: draft.to.trim(), revision: draft.revision.trim() || undefined });
  };

  return (
    <div className="page" data-testid="precheck">
      <h1>Precheck</h1>
      <form className="inline-form" onSubmit={submit} data-testid="precheck-form">
        <label>
          Target version
          <input
            list="precheck-offers"
            value={draft.to}
            onChange={(e) => setDraft({ ...draft, to: e.target.value })}
            placeholder="e.g. 1.28 or 1.28.10"
            data-testid="precheck-target"
          />
          <datalist id="precheck-offers">
            {offers.map((o) => (
              <option key={o.version} value={o.version} />
            ))}
          </datalist>
        </label>
        <label>
          Revision name <span className="muted">(optional)</span>
          <input
            value={draft.revision}
            onChange={(e) => setDraft({ ...draft, revision: e.target.value })}
            placeholder="default: version with dashes"
            data-testid="precheck-revision"
          />
        </label>
        <button type="submit" className="btn btn-primary" data-testid="precheck-run">
          Run precheck
        </button>
      </form>
      <ErrorBox error={error} testId="precheck-error" />
      {busy && !result ? <div className="muted">Checking…</div> : null}
      {result ? (
        <div data-testid="precheck-result" data-target={result.target.version}>
          <div
            className={`summary ${result.counts.errors ? "summary-bad" : result.counts.warnings ? "summary-warn" : "summary-good"}`}
          >
            {result.currentVersions.join(", ") || "?"} → <b>{result.target.version}</b> (revision{" "}
            {result.target.revision}
            ): {result.counts.errors} error(s), {result.counts.warnings} warning(s), {result.counts.info} info.{" "}
            {result.counts.errors
              ? "Blocked: fix the errors first."
              : result.counts.warnings
                ? "Passes with warnings."
                : "Passes: nothing to fix."}
          </div>
          {SEVERITIES.map((s) => {
            const findings = result.findings.filter((f) => f.severity === s.id);
            if (findings.length === 0) return null;
            return (
              <section key={s.id} className="section" data-testid={`findings-${s.id}`}>
                <h2>
                  {s.title} ({findings.length})
                </h2>
                <ul className="findings">
                  {findings.map((f, i) => (
                    <FindingCard key={`${f.id}-${i}`} finding={f} />
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      ) : null}
    </div>
  );
}
