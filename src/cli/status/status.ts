// The status view. Everything shown is read from the MeshSnapshot; nothing is recomputed here.
import type { MeshSnapshot, NamespaceView, Workload } from "../../mesh/index.js";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { formatCounts, plural, readMesh } from "../mesh-read.js";
import type { StatusOptions } from "./index.js";

function injectionLabel(ns: NamespaceView): string {
  const labels: string[] = [];
  if (ns.labels.istioInjection !== null) labels.push(`istio-injection=${ns.labels.istioInjection}`);
  if (ns.labels.rev !== null) labels.push(`istio.io/rev=${ns.labels.rev}`);
  if (ns.labels.dataplaneMode !== null) labels.push(`istio.io/dataplane-mode=${ns.labels.dataplaneMode}`);
  return labels.join(", ") || "-";
}

/** The revision a new pod in the namespace gets; the tag is shown when a tag webhook resolved it. */
function effectiveRevision(ns: NamespaceView): string {
  const d = ns.injection;
  if (d.revision) return d.tag ? `${d.revision} (tag ${d.tag})` : d.revision;
  if (d.outcome === "webhook-unavailable") return "none (no webhook serves the label)";
  if (ns.perPodRules) return "per pod";
  return "-";
}

function onRestart(w: Workload): string {
  return w.restart.revision ?? (w.manualProxy ? "manual proxy" : "no sidecar");
}

function gatewayState(w: Workload): string {
  if (w.flags.includes("stale")) return `stale → ${onRestart(w)}`;
  if (w.flags.includes("mixed-revisions")) return "mixed revisions";
  return "up to date";
}

function renderRevisions(ctx: CommandContext, snapshot: MeshSnapshot): void {
  ctx.out.heading("REVISIONS");
  if (snapshot.revisions.length === 0) {
    ctx.out.line("No istiod revision is installed (no Deployment labelled app=istiod).");
    return;
  }
  ctx.out.table(
    [
      { header: "revision", value: (r) => r.name },
      { header: "version", value: (r) => r.version },
      { header: "namespace", value: (r) => r.namespace },
      { header: "ready", value: (r) => `${r.replicas.ready}/${r.replicas.desired}` },
      { header: "default", value: (r) => (r.isDefault ? "yes" : "") },
      { header: "tags", value: (r) => r.tags.join(",") },
      { header: "proxies", value: (r) => r.proxies, align: "right" },
      { header: "connected", value: (r) => r.connectedProxies ?? "?", align: "right" },
    ],
    snapshot.revisions,
  );
  for (const orphan of snapshot.orphanRevisions) {
    ctx.out.warn(
      `revision ${orphan.name} has webhooks (${orphan.webhookConfigurations.join(", ")}) but no istiod Deployment; ${plural(orphan.proxies, "proxy", "proxies")} still use it`,
    );
  }
}

function renderGateways(ctx: CommandContext, gateways: Workload[]): void {
  ctx.out.heading("GATEWAYS");
  if (gateways.length === 0) {
    ctx.out.line("No gateways.");
    return;
  }
  ctx.out.table(
    [
      { header: "namespace", value: (w) => w.namespace },
      { header: "name", value: (w) => w.name },
      { header: "type", value: (w) => w.gateway },
      { header: "pods", value: (w) => `${w.livePods}/${w.replicas ?? w.livePods}` },
      { header: "revision", value: (w) => w.revisions.join(",") || "-" },
      { header: "version", value: (w) => w.versions.join(",") || "-" },
      { header: "status", value: (w) => gatewayState(w) },
    ],
    gateways,
  );
}

function renderNamespaces(ctx: CommandContext, namespaces: NamespaceView[]): void {
  ctx.out.heading("NAMESPACES");
  ctx.out.table(
    [
      { header: "namespace", value: (n) => n.name },
      { header: "injection label", value: (n) => injectionLabel(n) },
      { header: "revision", value: (n) => effectiveRevision(n) },
      { header: "pods", value: (n) => n.pods, align: "right" },
      { header: "proxies", value: (n) => n.proxies, align: "right" },
      { header: "proxy versions", value: (n) => formatCounts(n.proxiesByVersion) },
      { header: "stale", value: (n) => n.staleProxies, align: "right" },
    ],
    namespaces,
  );
  for (const n of namespaces)
    for (const c of n.conflicts) ctx.out.warn(`namespace ${n.name}: ${c.message} (${c.code})`);
}

function renderWorkloads(ctx: CommandContext, workloads: Workload[]): void {
  ctx.out.heading("WORKLOADS");
  ctx.out.table(
    [
      { header: "namespace", value: (w) => w.namespace },
      { header: "kind", value: (w) => w.kind },
      { header: "name", value: (w) => w.name },
      { header: "pods", value: (w) => `${w.livePods}/${w.replicas ?? w.livePods}` },
      { header: "proxied", value: (w) => w.proxiedPods, align: "right" },
      { header: "revisions", value: (w) => w.revisions.join(",") || "-" },
      { header: "versions", value: (w) => w.versions.join(",") || "-" },
      { header: "on restart", value: (w) => onRestart(w) },
      { header: "flags", value: (w) => w.flags.join(",") || "-" },
    ],
    workloads,
  );
}

function renderStragglers(
  ctx: CommandContext,
  snapshot: MeshSnapshot,
  workloads: Workload[],
  namespace: string | undefined,
): void {
  ctx.out.heading("STRAGGLERS");
  const stale = workloads.filter((w) => w.flags.includes("stale"));
  const staleProxies = namespace
    ? snapshot.proxies.filter((p) => p.live && p.stale && p.namespace === namespace).length
    : snapshot.summary.staleProxies;
  if (stale.length === 0 && staleProxies === 0) {
    ctx.out.line("No stale proxies: every proxy runs the revision its labels select.");
  } else {
    ctx.out.line(
      `${plural(staleProxies, "stale proxy", "stale proxies")} in ${plural(stale.length, "workload")}; restart them to move to the revision their labels select:`,
    );
    for (const w of stale) {
      const stalePods = snapshot.proxies.filter(
        (p) =>
          p.live &&
          p.stale &&
          p.namespace === w.namespace &&
          p.workload?.kind === w.kind &&
          p.workload?.name === w.name,
      ).length;
      ctx.out.line(
        `  ${w.namespace}/${w.kind}/${w.name}: ${plural(stalePods, "pod")} on ${w.revisions.join(",") || "?"}, restart → ${onRestart(w)}`,
      );
    }
  }
  const losing = snapshot.podsLosingSidecar.filter((p) => !namespace || p.namespace === namespace);
  if (losing.length > 0)
    ctx.out.warn(
      `${plural(losing.length, "pod")} would lose the sidecar when restarted (e.g. ${losing[0].namespace}/${losing[0].pod}: ${losing[0].reason})`,
    );
  for (const conflict of snapshot.webhookConflicts) ctx.out.warn(conflict.message);
}

export async function status(ctx: CommandContext, options: StatusOptions): Promise<number> {
  const { snapshot, cluster } = await readMesh(ctx);
  if (ctx.out.structured) {
    await ctx.out.data(snapshot);
    return ExitCode.Ok;
  }
  const ns = ctx.globals.namespace;
  const inScope = <T extends { namespace: string }>(items: T[]) =>
    ns ? items.filter((i) => i.namespace === ns) : items;
  const workloads = inScope(snapshot.workloads);
  const namespaces = ns ? snapshot.namespaces.filter((n) => n.name === ns) : snapshot.namespaces;

  ctx.out.line(
    `${ctx.out.style("dim", "context")} ${cluster.contextName}   ${ctx.out.style("dim", "server")} ${cluster.server}   ${ctx.out.style("dim", "kubernetes")} ${snapshot.kubernetesVersion}`,
  );
  ctx.out.line();
  renderRevisions(ctx, snapshot);
  ctx.out.line();
  renderGateways(
    ctx,
    workloads.filter((w) => w.gateway !== null),
  );
  ctx.out.line();
  renderNamespaces(ctx, namespaces);
  if (options.wide) {
    ctx.out.line();
    renderWorkloads(ctx, workloads);
  }
  ctx.out.line();
  renderStragglers(ctx, snapshot, workloads, ns);
  return ExitCode.Ok;
}
