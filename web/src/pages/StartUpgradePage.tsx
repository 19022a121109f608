// Starting an upgrade: the essentials of a MeshUpgrade spec. The server validates it against the
// mesh (unknown version, unsupported path, zero concurrency, …) and creates it with the user's own
// token; a refusal is shown as the server worded it, field by field, and nothing is created.
import { useState, type FormEvent } from "react";
import type { MeshUpgradeObject } from "../../../src/server/api-types.js";
import { ApiError, api } from "../api.ts";
import { ActionButton, ErrorBox } from "../components/common.tsx";
import { live } from "../live.ts";
import { Link, navigate } from "../router.tsx";
import { session } from "../session.ts";
import { useObservable } from "../store.ts";

export function StartUpgradePage() {
  const overview = useObservable(live.overview);
  const info = useObservable(session);
  const offers = overview?.banner?.offers ?? [];
  const [form, setForm] = useState({
    version: overview?.banner?.recommended ?? offers.at(-1)?.version ?? "",
    name: "",
    mode: "Adopt",
    restart: "Automatic",
    maxConcurrent: "5",
  });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const maxConcurrent = Number(form.maxConcurrent);
    try {
      const created = await api.post<MeshUpgradeObject>("/api/upgrades", {
        ...(form.name.trim() ? { name: form.name.trim() } : {}),
        spec: {
          to: { version: form.version.trim() },
          install: { mode: form.mode },
          dataPlane: {
            restart: form.restart,
            maxConcurrent:
              Number.isFinite(maxConcurrent) && form.maxConcurrent.trim() !== "" ? maxConcurrent : form.maxConcurrent,
          },
        },
      });
      navigate(`/upgrades/${encodeURIComponent(created.metadata.name)}`);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "Failed", String(err)));
    } finally {
      setBusy(false);
    }
  };

  const set = (field: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [field]: e.target.value });

  return (
    <div className="page" data-testid="start-upgrade-page">
      <p>
        <Link to="/upgrades">← Upgrades</Link>
      </p>
      <h1>Start an upgrade</h1>
      <form className="stack-form" onSubmit={(e) => void submit(e)} data-testid="start-upgrade-form">
        <label>
          Target version
          <input list="start-offers" value={form.version} onChange={set("version")} data-testid="start-version" />
          <datalist id="start-offers">
            {offers.map((o) => (
              <option key={o.version} value={o.version} />
            ))}
          </datalist>
        </label>
        <label>
          Name <span className="muted">(default: to-&lt;revision&gt;)</span>
          <input value={form.name} onChange={set("name")} data-testid="start-name" />
        </label>
        <label>
          Control plane install
          <select value={form.mode} onChange={set("mode")} data-testid="start-mode">
            <option value="Adopt">Adopt — I install the revision (Helm, istioctl, GitOps)</option>
            <option value="Manifests">Manifests — meshlift applies rendered manifests</option>
            <option value="Sail">Sail — meshlift creates an IstioRevision</option>
          </select>
        </label>
        <label>
          Workload restarts
          <select value={form.restart} onChange={set("restart")} data-testid="start-restart">
            <option value="Automatic">Automatic</option>
            <option value="Manual">Manual — I restart workloads myself</option>
          </select>
        </label>
        <label>
          Workloads restarting at once
          <input
            value={form.maxConcurrent}
            onChange={set("maxConcurrent")}
            inputMode="numeric"
            data-testid="start-concurrency"
          />
        </label>
        <ErrorBox error={error} testId="start-error" />
        <ActionButton
          type="submit"
          testId="start-submit"
          permission={info?.permissions.createUpgrade}
          disabled={busy}
          onClick={undefined}
        >
          {busy ? "Creating…" : "Create MeshUpgrade"}
        </ActionButton>
      </form>
    </div>
  );
}
