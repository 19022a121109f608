// The mesh overview: the "new version available" banner, one card per istiod revision, proxies by
// version, and every namespace with its injection label, effective revision and proxies old/new.
import { useEffect, useMemo, useRef } from "react";
import type { MeshOverview, NamespaceRow, RevisionCard, VersionBanner } from "../../../src/server/api-types.js";
import { Badge, formatCount } from "../components/common.tsx";
import { VirtualTable, type Column, type SortState } from "../components/VirtualTable.tsx";
import { live } from "../live.ts";
import { Link, setSearch, useLocation } from "../router.tsx";
import { RowWindow } from "../rows.ts";
import { useObservable } from "../store.ts";

function Banner({ banner }: { banner: VersionBanner }) {
  const eol = banner.currentEndOfLife;
  return (
    <section
      className={`banner ${banner.newVersionAvailable ? "banner-new" : "banner-ok"}`}
      data-testid="version-banner"
    >
      <div className="banner-title">
        {banner.newVersionAvailable ? (
          <>
            New version available: <b data-testid="newest-version">Istio {banner.newestVersion}</b> (installed{" "}
            {banner.current})
          </>
        ) : (
          <>Istio {banner.current} is the newest release in the catalog</>
        )}
      </div>
      <div className="banner-sub">
        {banner.currentKubernetes.message}.{" "}
        {eol.date
          ? eol.reached
            ? `Istio ${banner.current} reached end of life on ${eol.date}.`
            : `Supported until ${eol.date}${eol.estimated ? " (estimated)" : ""}.`
          : ""}
      </div>
      {banner.offers.length > 0 ? (
        <table className="offers" data-testid="upgrade-offers">
          <thead>
            <tr>
              <th>version</th>
              <th>step</th>
              <th>Kubernetes compatibility</th>
              <th>end of life</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {banner.offers.map((o) => (
              <tr key={o.version} data-testid="upgrade-offer" data-version={o.version}>
                <td>
                  <b>{o.version}</b> {o.recommended ? <Badge tone="good">recommended</Badge> : null}
                </td>
                <td>{o.kind}</td>
                <td>
                  <Badge
                    tone={
                      o.kubernetes.status === "supported"
                        ? "good"
                        : o.kubernetes.status === "tested-only"
                          ? "warn"
                          : "bad"
                    }
                  >
                    {o.kubernetes.status}
                  </Badge>{" "}
                  <span className="muted small">{o.kubernetes.message}</span>
                </td>
                <td className={o.endOfLife.reached ? "muted" : ""}>
                  {o.endOfLife.date ?? "not announced"}
                  {o.endOfLife.reached ? " (ended)" : ""}
                </td>
                <td>
                  <Link to={`/precheck?to=${encodeURIComponent(o.version)}`}>precheck →</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {banner.beyondOneStep.map((b) => (
        <div key={b.version} className="muted small">
          {b.version}: more than one canary step away — via {b.hops.join(" → ")}
        </div>
      ))}
    </section>
  );
}

function RevisionCardView({ revision }: { revision: RevisionCard }) {
  return (
    <div className="card revision" data-testid="revision-card" data-revision={revision.name}>
      <div className="card-head">
        <span className="revision-name">{revision.name}</span>
        {revision.isDefault ? <Badge tone="active">default</Badge> : null}
        <Badge tone={revision.ready ? "good" : "bad"}>{revision.ready ? "ready" : "not ready"}</Badge>
      </div>
      <dl>
        <dt>version</dt>
        <dd data-testid="revision-version">{revision.version ?? "unknown"}</dd>
        <dt>istiod</dt>
        <dd>
          {revision.replicas.ready}/{revision.replicas.desired} ready in {revision.namespace}
        </dd>
        <dt>tags</dt>
        <dd data-testid="revision-tags">{revision.tags.length ? revision.tags.join(", ") : "—"}</dd>
        <dt>proxies</dt>
        <dd data-testid="revision-proxies">{formatCount(revision.proxies)}</dd>
        <dt>connected</dt>
        <dd data-testid="revision-connected">
          {revision.connectedProxies === null ? "unknown" : formatCount(revision.connectedProxies)}
        </dd>
      </dl>
    </div>
  );
}

/** Horizontal bars: proxies per Istio version, largest version last. */
function ProxyChart({ counts }: { counts: Record<string, number> }) {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }));
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const barHeight = 26;
  const width = 520;
  const labelWidth = 90;
  return (
    <figure className="chart" data-testid="proxy-chart">
      <figcaption>Proxies by version</figcaption>
      {entries.length === 0 ? (
        <div className="muted">No proxies.</div>
      ) : (
        <svg width={width} height={entries.length * (barHeight + 8)} role="img" aria-label="proxies by Istio version">
          {entries.map(([version, n], i) => {
            const w = Math.max(2, Math.round(((width - labelWidth - 80) * n) / max));
            const y = i * (barHeight + 8);
            return (
              <g key={version} data-testid="chart-bar" data-version={version} data-count={n}>
                <text x={0} y={y + barHeight / 2 + 5} className="chart-label">
                  {version}
                </text>
                <rect x={labelWidth} y={y} width={w} height={barHeight} rx={3} className="chart-bar" />
                <text x={labelWidth + w + 8} y={y + barHeight / 2 + 5} className="chart-value">
                  {formatCount(n)}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}

function Totals({ overview }: { overview: MeshOverview }) {
  const t = overview.totals;
  return (
    <div className="totals" data-testid="totals">
      <span data-testid="total-namespaces" data-count={t.namespaces}>
        <b>{formatCount(t.namespaces)}</b> namespaces
      </span>
      <span data-testid="total-injected" data-count={t.injectedNamespaces}>
        <b>{formatCount(t.injectedNamespaces)}</b> with injection
      </span>
      <span>
        <b>{formatCount(t.workloads)}</b> workloads
      </span>
      <span data-testid="total-proxies" data-count={t.proxies}>
        <b>{formatCount(t.proxies)}</b> proxies
      </span>
      <span className={t.staleProxies ? "warn-text" : ""}>
        <b>{formatCount(t.staleProxies)}</b> stale
      </span>
      {t.podsLosingSidecar ? (
        <span className="warn-text">
          <b>{formatCount(t.podsLosingSidecar)}</b> would lose their sidecar on restart
        </span>
      ) : null}
      <span className="muted">Kubernetes {overview.kubernetesVersion}</span>
    </div>
  );
}

const NAMESPACE_FILTERS: Record<string, string> = {
  all: "all namespaces",
  injected: "with injection",
  "not-injected": "without injection",
  stale: "with stale proxies",
  "has-old": "with old proxies",
  conflicts: "with label conflicts",
};

function markRendered(name: string): void {
  requestAnimationFrame(() => setTimeout(() => performance.mark(name), 0));
}

function NamespacesTable({ overview }: { overview: MeshOverview }) {
  const { search } = useLocation();
  const params = useMemo(
    () => ({
      q: search.get("q") ?? "",
      filter: search.get("filter") ?? "all",
      sort: search.get("sort") ?? "name",
      dir: search.get("dir") ?? "asc",
    }),
    [search.get("q"), search.get("filter"), search.get("sort"), search.get("dir")],
  );
  const source = useMemo(
    () =>
      new RowWindow<NamespaceRow>("namespaces", (p) => (p.filter ?? "all") !== "all" || (p.sort ?? "name") !== "name"),
    [],
  );
  useEffect(() => source.attach(live), [source]);
  useEffect(() => source.setParams(params), [source, params]);

  const c = overview.comparison;
  const newLabel = c.newRevision ? `on ${c.newRevision}` : "new";
  const oldTitle =
    c.basis === "upgrade"
      ? `proxies on ${c.oldRevisions.join(", ")} (the source of upgrade ${c.upgrade})`
      : `proxies on older revisions than the newest installed (${c.newRevision ?? "none"})`;
  const columns = useMemo<Column<NamespaceRow>[]>(
    () => [
      { id: "name", header: "namespace", width: "minmax(160px, 1.4fr)", sort: "name", render: (r) => <b>{r.name}</b> },
      {
        id: "label",
        header: "injection label",
        width: "minmax(180px, 2fr)",
        render: (r) => (r.injectionLabel ? <code>{r.injectionLabel}</code> : <span className="muted">—</span>),
      },
      {
        id: "revision",
        header: "effective revision",
        width: "minmax(150px, 1.3fr)",
        sort: "revision",
        render: (r) =>
          r.effectiveRevision ? (
            <span>
              {r.effectiveRevision}
              {r.tag ? <span className="muted"> (tag {r.tag})</span> : null}
            </span>
          ) : (
            <span className="muted">{r.perPodRules ? "per pod" : "no sidecar"}</span>
          ),
      },
      { id: "pods", header: "pods", width: "70px", align: "right", sort: "pods", render: (r) => formatCount(r.pods) },
      {
        id: "old",
        header: "old",
        title: oldTitle,
        width: "70px",
        align: "right",
        sort: "old",
        render: (r) => formatCount(r.proxiesOld),
      },
      {
        id: "new",
        header: newLabel,
        title: `proxies on ${c.newRevision ?? "the newest revision"}`,
        width: "100px",
        align: "right",
        sort: "new",
        render: (r) => formatCount(r.proxiesNew),
      },
      {
        id: "stale",
        header: "stale",
        width: "70px",
        align: "right",
        sort: "stale",
        render: (r) => <span className={r.stale ? "warn-text" : ""}>{formatCount(r.stale)}</span>,
      },
      {
        id: "conflicts",
        header: "",
        width: "34px",
        render: (r) =>
          r.conflicts.length ? (
            <span className="warn-icon" title={r.conflicts.join("\n")} data-testid="ns-conflict">
              ⚠
            </span>
          ) : null,
      },
    ],
    [newLabel, oldTitle, c.newRevision],
  );

  return (
    <section className="section">
      <div className="section-head">
        <h2>Namespaces</h2>
        <div className="filters">
          <input
            type="search"
            placeholder="filter by name, label or revision"
            defaultValue={params.q}
            onChange={(e) => setSearch({ q: e.target.value })}
            data-testid="ns-search"
          />
          <select value={params.filter} onChange={(e) => setSearch({ filter: e.target.value })} data-testid="ns-filter">
            {Object.entries(NAMESPACE_FILTERS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <VirtualTable
        testId="namespaces-table"
        source={source}
        columns={columns}
        height={440}
        sort={{ sort: params.sort, dir: params.dir as SortState["dir"] }}
        onSort={(s) => setSearch({ sort: s.sort, dir: s.dir })}
        onFirstRows={() => markRendered("meshlift:namespaces-rendered")}
      />
    </section>
  );
}

export function OverviewPage() {
  const overview = useObservable(live.overview);
  const rendered = useRef(false);
  useEffect(() => {
    if (overview && !rendered.current) {
      rendered.current = true;
      markRendered("meshlift:overview-rendered");
    }
  }, [overview]);

  if (!overview) return <div className="page muted">Reading the mesh…</div>;
  return (
    <div className="page" data-testid="overview" data-version={overview.version}>
      {overview.banner ? <Banner banner={overview.banner} /> : null}
      <Totals overview={overview} />
      <div className="overview-grid">
        <section className="section">
          <h2>Control plane revisions</h2>
          <div className="cards">
            {overview.revisions.length === 0 ? <div className="muted">No istiod revision is installed.</div> : null}
            {overview.revisions.map((r) => (
              <RevisionCardView key={r.name} revision={r} />
            ))}
          </div>
          {overview.orphanRevisions.map((o) => (
            <div key={o.name} className="warn-text small">
              Revision {o.name} has injection webhooks but no istiod; {o.proxies} proxies still use it.
            </div>
          ))}
        </section>
        <section className="section">
          <ProxyChart counts={overview.proxiesByVersion} />
        </section>
      </div>
      <NamespacesTable overview={overview} />
      {overview.notes.length ? (
        <ul className="notes muted small">
          {overview.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
