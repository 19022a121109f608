// Starting an upgrade (/upgrades/new): the target from the catalog's offers (with Kubernetes
// compatibility), install mode, waves, canaries, concurrency, restarts, revision tag, gateways,
// approval, health window. "Preview plan" asks the server for a dry run — the spec validated against
// the mesh, the prechecks, the waves and the workloads in each, a dry-run create with your token — and
// creates nothing; "Start" creates the MeshUpgrade. A refusal shows the server's words, field by field.
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from "react";
import type { MeshUpgradeObject, PlanPreview, UpgradeFormOptions } from "../../../src/server/api-types.js";
import { ApiError, api } from "../api.ts";
import { ActionButton, Badge, ErrorBox } from "../components/common.tsx";
import { Link, navigate } from "../router.tsx";
import { session } from "../session.ts";
import { useObservable } from "../store.ts";

interface FormState {
  version: string;
  name: string;
  mode: "Adopt" | "Manifests" | "Sail";
  /** true until the user picks a mode: then the target decides (Manifests where its manifests are stored) */
  modeAuto: boolean;
  waves: "one" | "size" | "explicit";
  size: string;
  explicit: string;
  canary: string;
  maxConcurrent: string;
  restart: "Automatic" | "Manual";
  tag: string;
  moveTag: boolean;
  gatewaysInclude: boolean;
  gatewayStrategy: "InPlace" | "Canary";
  surge: boolean;
  approval: "None" | "BeforeOffline" | "PerWave";
  minReadySeconds: string;
  graceSeconds: string;
}

const INITIAL: FormState = {
  version: "",
  name: "",
  mode: "Adopt",
  modeAuto: true,
  waves: "one",
  size: "3",
  explicit: "",
  canary: "",
  maxConcurrent: "5",
  restart: "Automatic",
  tag: "",
  moveTag: true,
  gatewaysInclude: true,
  gatewayStrategy: "InPlace",
  surge: true,
  approval: "None",
  minReadySeconds: "30",
  graceSeconds: "60",
};

/** "3" → 3; anything else is sent as written, so the server names the field that is wrong. */
function numberOrText(text: string): number | string {
  const t = text.trim();
  return t !== "" && Number.isFinite(Number(t)) ? Number(t) : t;
}

function list(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** "a,b;c" → [["a","b"],["c"]]: waves separated by ';', namespaces by ','. An empty wave stays empty. */
export function parseWaves(text: string): string[][] {
  return text.split(";").map((wave) => list(wave));
}

/** The target's revision name as the engine derives it ("1.28.10" → "1-28-10"); null for "1.28" (latest patch). */
function revisionOf(version: string, offers: UpgradeFormOptions["offers"]): string | null {
  const v = version.trim();
  const exact = /^\d+\.\d+\.\d+$/.test(v) ? v : offers.find((o) => o.version.startsWith(`${v}.`))?.version;
  return exact ? exact.replace(/\./g, "-") : null;
}

function specOf(form: FormState): Record<string, unknown> {
  const dataPlane: Record<string, unknown> = {
    maxConcurrent: numberOrText(form.maxConcurrent),
    restart: form.restart,
    gateways: { include: form.gatewaysInclude, strategy: form.gatewayStrategy, surgeSingleReplica: form.surge },
  };
  if (form.waves === "size") dataPlane.waves = { size: numberOrText(form.size) };
  if (form.waves === "explicit") dataPlane.waves = { explicit: parseWaves(form.explicit) };
  if (list(form.canary).length) dataPlane.canary = list(form.canary);
  if (form.tag) dataPlane.revisionTag = { name: form.tag, moveInsteadOfRelabel: form.moveTag };
  return {
    to: { version: form.version.trim() },
    install: { mode: form.mode },
    dataPlane,
    approval: { mode: form.approval },
    verification: { healthGate: { minReadySeconds: numberOrText(form.minReadySeconds) } },
    decommission: { graceSeconds: numberOrText(form.graceSeconds) },
  };
}

/** Refused fields under one form input, by the spec path the server names. */
function FieldErrors({
  errors,
  prefix,
}: {
  errors: { field: string; message: string; fix: string }[];
  prefix: string[];
}) {
  const mine = errors.filter((e) => prefix.some((p) => e.field.startsWith(p)));
  if (mine.length === 0) return null;
  return (
    <span className="field-error" data-testid="field-error" data-field={mine[0].field}>
      {mine.map((e, i) => (
        <span key={i}>
          {e.message}
          {e.fix ? <span className="muted"> — {e.fix}</span> : null}
        </span>
      ))}
    </span>
  );
}

function Field(props: { label: ReactNode; hint?: ReactNode; children: ReactNode; errors?: ReactNode }) {
  return (
    <label>
      {props.label}
      {props.children}
      {props.hint ? <span className="muted small hint">{props.hint}</span> : null}
      {props.errors}
    </label>
  );
}

export function StartUpgradePage() {
  const info = useObservable(session);
  const [options, setOptions] = useState<UpgradeFormOptions | null>(null);
  const [optionsError, setOptionsError] = useState<ApiError | null>(null);
  const [form, setForm] = useState<FormState>(INITIAL);
  const [error, setError] = useState<ApiError | null>(null);
  const [preview, setPreview] = useState<PlanPreview | null>(null);
  const [busy, setBusy] = useState<"preview" | "start" | null>(null);

  useEffect(() => {
    api
      .get<UpgradeFormOptions>("/api/upgrade-options")
      .then((o) => {
        setOptions(o);
        setForm((f) =>
          f.version
            ? f
            : { ...f, version: o.offers.find((x) => x.recommended)?.version ?? o.offers.at(-1)?.version ?? "" },
        );
      })
      .catch((err: unknown) => setOptionsError(err instanceof ApiError ? err : new ApiError(0, "Failed", String(err))));
  }, []);

  // Manifests where a ConfigMap holds the target's rendered manifests (the demo stores one per offer)
  const offers = options?.offers ?? [];
  const revision = revisionOf(form.version, offers);
  const manifestsStored = revision !== null && (options?.manifestRevisions ?? []).includes(revision);
  useEffect(() => {
    if (!form.modeAuto) return;
    const mode = manifestsStored ? "Manifests" : "Adopt";
    if (form.mode !== mode) setForm((f) => ({ ...f, mode }));
  }, [form.modeAuto, form.mode, manifestsStored]);

  const set =
    <K extends keyof FormState>(field: K) =>
    (value: FormState[K]) => {
      setForm((f) => ({ ...f, [field]: value, ...(field === "mode" ? { modeAuto: false } : {}) }));
      setPreview(null);
    };
  const text = (field: keyof FormState) => (e: { target: { value: string } }) => set(field)(e.target.value as never);

  const body = useMemo(() => ({ ...(form.name.trim() ? { name: form.name.trim() } : {}), spec: specOf(form) }), [form]);
  const fieldErrors = error?.fields ?? preview?.errors ?? [];

  const runPreview = async () => {
    setBusy("preview");
    setError(null);
    try {
      setPreview(await api.post<PlanPreview>("/api/upgrades?dryRun=true", body));
    } catch (err) {
      setPreview(null);
      setError(err instanceof ApiError ? err : new ApiError(0, "Failed", String(err)));
    } finally {
      setBusy(null);
    }
  };

  const start = async (e: FormEvent) => {
    e.preventDefault();
    setBusy("start");
    setError(null);
    try {
      const created = await api.post<MeshUpgradeObject>("/api/upgrades", body);
      navigate(`/upgrades/${encodeURIComponent(created.metadata.name)}`);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "Failed", String(err)));
    } finally {
      setBusy(null);
    }
  };

  const offer = offers.find((o) => o.version === form.version.trim());
  return (
    <div className="page" data-testid="start-upgrade-page">
      <p>
        <Link to="/upgrades">← Upgrades</Link>
      </p>
      <h1>Start an upgrade</h1>
      <ErrorBox error={optionsError} testId="options-error" />
      <div className="start-grid">
        <form className="stack-form" onSubmit={(e) => void start(e)} data-testid="start-upgrade-form">
          <Field
            label="Target version"
            hint={
              offer ? (
                <span data-testid="start-compat" data-status={offer.kubernetes.status}>
                  {offer.kind} upgrade from {options?.current}; Kubernetes: {offer.kubernetes.message}
                </span>
              ) : (
                "a version such as 1.28.10, or 1.28 for its latest patch"
              )
            }
            errors={<FieldErrors errors={fieldErrors} prefix={["spec.to"]} />}
          >
            <input list="start-offers" value={form.version} onChange={text("version")} data-testid="start-version" />
            <datalist id="start-offers">
              {offers.map((o) => (
                <option key={o.version} value={o.version} />
              ))}
            </datalist>
          </Field>
          {offers.length ? (
            <table className="table offers-pick" data-testid="start-offers">
              <tbody>
                {offers.map((o) => (
                  <tr key={o.version} data-testid="start-offer" data-version={o.version}>
                    <td>
                      <button type="button" className="link-button" onClick={() => set("version")(o.version)}>
                        {o.version}
                      </button>
                      {o.recommended ? <Badge tone="good">recommended</Badge> : null}
                    </td>
                    <td>{o.kind}</td>
                    <td>
                      <Badge
                        tone={
                          o.kubernetes.status === "supported"
                            ? "good"
                            : o.kubernetes.status === "unsupported"
                              ? "bad"
                              : "warn"
                        }
                      >
                        Kubernetes {o.kubernetes.status}
                      </Badge>
                    </td>
                    <td className="muted small">
                      {(options?.manifestRevisions ?? []).includes(o.version.replace(/\./g, "-"))
                        ? "manifests stored"
                        : ""}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <Field
            label={
              <>
                Name <span className="muted">(default: to-&lt;revision&gt;)</span>
              </>
            }
            errors={<FieldErrors errors={fieldErrors} prefix={["metadata.name"]} />}
          >
            <input value={form.name} onChange={text("name")} data-testid="start-name" />
          </Field>
          <Field
            label="Control plane install"
            hint={manifestsStored ? `a ConfigMap holds the rendered manifests of ${revision}` : undefined}
            errors={<FieldErrors errors={fieldErrors} prefix={["spec.install"]} />}
          >
            <select
              value={form.mode}
              onChange={(e) => set("mode")(e.target.value as FormState["mode"])}
              data-testid="start-mode"
            >
              <option value="Adopt">Adopt — I install the revision (Helm, istioctl, GitOps)</option>
              <option value="Manifests">Manifests — meshlift applies rendered manifests</option>
              <option value="Sail">Sail — meshlift creates an IstioRevision</option>
            </select>
          </Field>
          <fieldset className="fieldset">
            <legend>Waves</legend>
            <select
              value={form.waves}
              onChange={(e) => set("waves")(e.target.value as FormState["waves"])}
              data-testid="start-waves"
            >
              <option value="one">one namespace per wave</option>
              <option value="size">N namespaces per wave</option>
              <option value="explicit">explicit waves</option>
            </select>
            {form.waves === "size" ? (
              <input
                value={form.size}
                onChange={text("size")}
                inputMode="numeric"
                data-testid="start-wave-size"
                aria-label="namespaces per wave"
              />
            ) : null}
            {form.waves === "explicit" ? (
              <input
                value={form.explicit}
                onChange={text("explicit")}
                placeholder="bookinfo,shop;payments"
                data-testid="start-wave-explicit"
                aria-label="explicit waves"
              />
            ) : null}
            <span className="muted small hint">
              {form.waves === "explicit"
                ? "';' between waves, ',' between namespaces; unlisted namespaces follow in a last wave"
                : "each wave is verified before the next"}
            </span>
            <FieldErrors errors={fieldErrors} prefix={["spec.dataPlane.waves"]} />
          </fieldset>
          <Field
            label="Canary namespaces"
            hint="moved first, as a wave of their own (comma-separated)"
            errors={<FieldErrors errors={fieldErrors} prefix={["spec.dataPlane.canary"]} />}
          >
            <input value={form.canary} onChange={text("canary")} list="start-namespaces" data-testid="start-canary" />
            <datalist id="start-namespaces">
              {(options?.namespaces ?? []).map((n) => (
                <option key={n} value={n} />
              ))}
            </datalist>
          </Field>
          <Field
            label="Workloads restarting at once"
            errors={<FieldErrors errors={fieldErrors} prefix={["spec.dataPlane.maxConcurrent"]} />}
          >
            <input
              value={form.maxConcurrent}
              onChange={text("maxConcurrent")}
              inputMode="numeric"
              data-testid="start-concurrency"
            />
          </Field>
          <Field
            label="Workload restarts"
            errors={<FieldErrors errors={fieldErrors} prefix={["spec.dataPlane.restart"]} />}
          >
            <select
              value={form.restart}
              onChange={(e) => set("restart")(e.target.value as FormState["restart"])}
              data-testid="start-restart"
            >
              <option value="Automatic">Automatic — meshlift restarts them</option>
              <option value="Manual">Manual — I restart them, or pick some for meshlift</option>
            </select>
          </Field>
          <Field
            label="Revision tag"
            errors={<FieldErrors errors={fieldErrors} prefix={["spec.dataPlane.revisionTag"]} />}
          >
            <select value={form.tag} onChange={text("tag")} data-testid="start-tag">
              <option value="">none — relabel namespaces</option>
              {(options?.tags ?? [])
                .filter((t) => t.name !== "default")
                .map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.name} (on {t.revision ?? "?"})
                  </option>
                ))}
            </select>
            {form.tag ? (
              <span className="check">
                <input
                  type="checkbox"
                  checked={form.moveTag}
                  onChange={(e) => set("moveTag")(e.target.checked)}
                  data-testid="start-move-tag"
                />
                move the tag instead of relabelling its namespaces
              </span>
            ) : null}
          </Field>
          <fieldset className="fieldset">
            <legend>Gateways</legend>
            <span className="check">
              <input
                type="checkbox"
                checked={form.gatewaysInclude}
                onChange={(e) => set("gatewaysInclude")(e.target.checked)}
                data-testid="start-gateways"
              />
              upgrade gateways
            </span>
            <select
              value={form.gatewayStrategy}
              onChange={(e) => set("gatewayStrategy")(e.target.value as FormState["gatewayStrategy"])}
              data-testid="start-gateway-strategy"
            >
              <option value="InPlace">InPlace — relabel and rolling-restart</option>
              <option value="Canary">Canary — a second Deployment on the new revision, then cut over</option>
            </select>
            <span className="check">
              <input
                type="checkbox"
                checked={form.surge}
                onChange={(e) => set("surge")(e.target.checked)}
                data-testid="start-surge"
              />
              surge single-replica gateways to 2 first
            </span>
            <FieldErrors errors={fieldErrors} prefix={["spec.dataPlane.gateways"]} />
          </fieldset>
          <Field label="Approval" errors={<FieldErrors errors={fieldErrors} prefix={["spec.approval"]} />}>
            <select
              value={form.approval}
              onChange={(e) => set("approval")(e.target.value as FormState["approval"])}
              data-testid="start-approval"
            >
              <option value="None">None — go on by itself</option>
              <option value="BeforeOffline">BeforeOffline — I click Done before the old revision is removed</option>
              <option value="PerWave">PerWave — I click Done after every wave</option>
            </select>
          </Field>
          <Field
            label="Health window (seconds)"
            hint="a wave's workloads must stay Ready this long before the next wave"
            errors={<FieldErrors errors={fieldErrors} prefix={["spec.verification"]} />}
          >
            <input
              value={form.minReadySeconds}
              onChange={text("minReadySeconds")}
              inputMode="numeric"
              data-testid="start-min-ready"
            />
          </Field>
          <Field
            label="Grace before removing the old revision (seconds)"
            errors={<FieldErrors errors={fieldErrors} prefix={["spec.decommission"]} />}
          >
            <input
              value={form.graceSeconds}
              onChange={text("graceSeconds")}
              inputMode="numeric"
              data-testid="start-grace"
            />
          </Field>
          <ErrorBox error={error} testId="start-error" />
          <div className="form-buttons">
            <button
              type="button"
              className="btn btn-secondary"
              disabled={busy !== null}
              onClick={() => void runPreview()}
              data-testid="start-preview"
            >
              {busy === "preview" ? "Previewing…" : "Preview plan"}
            </button>
            <ActionButton
              type="submit"
              testId="start-submit"
              permission={info?.permissions.createUpgrade}
              disabled={busy !== null}
              onClick={undefined}
            >
              {busy === "start" ? "Starting…" : "Start"}
            </ActionButton>
          </div>
        </form>
        <PlanView preview={preview} />
      </div>
    </div>
  );
}

function PlanView({ preview }: { preview: PlanPreview | null }) {
  if (!preview)
    return (
      <div className="section muted" data-testid="plan-empty">
        Preview the plan to see the waves, the workloads in each, the prechecks and what no wave moves. Nothing is
        created.
      </div>
    );
  const workloads = preview.waves.reduce((n, w) => n + w.namespaces.reduce((m, ns) => m + ns.workloads.length, 0), 0);
  return (
    <div className="section plan" data-testid="plan-preview" data-valid={preview.valid}>
      <h2>Plan {preview.name ? <span className="muted">for {preview.name}</span> : null}</h2>
      {preview.errors.length ? (
        <div className="error-box" data-testid="plan-errors">
          <div className="error-message">The server refuses this MeshUpgrade:</div>
          <ul className="error-fields">
            {preview.errors.map((e, i) => (
              <li key={i}>
                <code>{e.field}</code>: {e.message}
                {e.fix ? <span className="error-fix"> — {e.fix}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {preview.to ? (
        <p data-testid="plan-summary">
          {preview.from?.revision} ({preview.from?.version}) → <b>{preview.to.revision}</b> ({preview.to.version}), a{" "}
          {preview.pathKind} upgrade: {preview.waves.length} wave{preview.waves.length === 1 ? "" : "s"}, {workloads}{" "}
          workload
          {workloads === 1 ? "" : "s"} to restart.
        </p>
      ) : null}
      {preview.dryRun ? (
        <p className={preview.dryRun.ok ? "ok-text small" : "error-text small"} data-testid="plan-dry-run">
          Dry-run create with your token: {preview.dryRun.message}
        </p>
      ) : null}
      {preview.counts.errors > 0 ? (
        <div className="error-box" data-testid="plan-blocking">
          {preview.counts.errors} precheck error(s): the engine would stop at its prechecks and change nothing.
        </div>
      ) : null}
      <ol className="plan-waves">
        {preview.waves.map((w) => (
          <li key={w.index} data-testid="plan-wave" data-index={w.index}>
            <b>wave {w.index + 1}</b>
            <ul>
              {w.namespaces.map((ns) => (
                <li key={ns.name} data-testid="plan-namespace" data-name={ns.name}>
                  {ns.name}{" "}
                  <span className="muted small">
                    {ns.workloads.length
                      ? ns.workloads
                          .map((wl) => `${wl.kind === "Deployment" ? "" : `${wl.kind} `}${wl.name}`)
                          .join(", ")
                      : "no workload to restart"}
                  </span>
                </li>
              ))}
            </ul>
            {w.gateways.length ? (
              <div className="small">gateways: {w.gateways.map((g) => `${g.namespace}/${g.name}`).join(", ")}</div>
            ) : null}
          </li>
        ))}
      </ol>
      {preview.notMoved.length ? (
        <div data-testid="plan-not-moved">
          <h3>Not moved by any wave ({preview.notMoved.length})</h3>
          <p className="muted small">They will be stragglers before the old revision goes offline.</p>
          <ul>
            {preview.notMoved.map((w) => (
              <li key={`${w.kind}/${w.namespace}/${w.name}`} className="small">
                {w.kind} {w.namespace}/<b>{w.name}</b>: {w.why}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {preview.findings.length ? (
        <div data-testid="plan-findings">
          <h3>
            Prechecks: {preview.counts.errors} error(s), {preview.counts.warnings} warning(s), {preview.counts.info}{" "}
            info
          </h3>
          <ul className="findings">
            {preview.findings.map((f, i) => (
              <li key={i} className={`finding finding-${f.severity}`} data-testid="plan-finding" data-id={f.id}>
                <b>{f.severity}</b> {f.message}
                <div className="finding-fix small">Fix: {f.fix}</div>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
