// `meshlift upgrade status [NAME] [-w]`: one MeshUpgrade as its status records it — the stage pipeline, waves,
// namespaces (proxies old/new), workloads not done, stragglers, recent history and conditions. Nothing is
// recomputed from the mesh: the status is the engine's record. -w follows the object through a watch.
import type { HistoryEntry, MeshUpgradeStatus } from "../../upgrade/api/schema.js";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import type { UpgradeStatusOptions } from "./index.js";
import { pipelineLine } from "./progress.js";
import { newReporter, reporterMode } from "./run.js";
import { reportingCrdMissing, resolveUpgrade, stopSignal, type MeshUpgradeObject } from "./upgrades.js";
import { exitCodeOf, progressView, type ProgressView } from "./view.js";

const HISTORY_SHOWN = 15;

type WorkloadProgress = NonNullable<NonNullable<MeshUpgradeStatus["progress"]>["workloads"]>[number];

function workloadDone(w: WorkloadProgress, backward: boolean): boolean {
  return backward
    ? w.state === "RolledBack" || w.state === "Skipped"
    : ["RolledOut", "Verified", "Skipped"].includes(w.state);
}

function ago(from: string | undefined, now: Date): string {
  if (!from) return "-";
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(from)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function targetOf(h: HistoryEntry): string {
  if (h.targets?.length) return `${h.targets.length} workload(s)`;
  if (!h.target) return "";
  return `${h.target.kind} ${h.target.namespace ? `${h.target.namespace}/` : ""}${h.target.name}`;
}

/** Without managedFields: long, and about the API server's bookkeeping rather than the upgrade. */
function forOutput(u: MeshUpgradeObject): MeshUpgradeObject {
  const { managedFields: _m, ...metadata } = u.metadata;
  return { ...u, metadata };
}

export function renderUpgrade(ctx: CommandContext, upgrade: MeshUpgradeObject, view: ProgressView): void {
  const out = ctx.out;
  const st: MeshUpgradeStatus = upgrade.status ?? { stage: "Pending" };
  const now = ctx.now();
  const revisions =
    st.from && st.to
      ? `${st.from.revision} (${st.from.version}) → ${st.to.revision} (${st.to.version})`
      : `→ Istio ${upgrade.spec.to.version}`;
  out.heading(`MESHUPGRADE ${upgrade.metadata.name}   ${revisions}`);
  out.line(
    `  stage    ${out.style("bold", st.stage)}${st.startedAt ? `   started ${ago(st.startedAt, now)} ago` : ""}${st.completedAt ? `   finished ${ago(st.completedAt, now)} ago` : ""}`,
  );
  out.line(`  stages   ${pipelineLine(view.pipeline, (s, t) => out.style(s, t))}`);
  if (st.progress?.summary) out.line(`  progress ${st.progress.summary}`);
  const message = view.needs?.message ?? view.waiting?.message ?? st.message;
  if (message) out.line(`  message  ${view.needs ? out.style("yellow", message) : message}`);
  if (view.needs) out.line(`  next     ${view.needs.hint}`);

  const waves = st.plan?.waves ?? [];
  const workloads = st.progress?.workloads ?? [];
  const backward = view.pipeline.some((s) => s.stage === "RollingBack");
  if (waves.length > 0) {
    const progressOf = new Map((st.progress?.waves ?? []).map((w) => [w.index, w]));
    out.line();
    out.heading("WAVES");
    out.table(
      [
        { header: "wave", value: (w: (typeof waves)[number]) => w.index + 1, align: "right" },
        { header: "state", value: (w) => progressOf.get(w.index)?.state ?? "Pending" },
        { header: "namespaces", value: (w) => w.namespaces.join(", ") },
        {
          header: "workloads",
          value: (w) =>
            `${workloads.filter((p) => p.wave === w.index && workloadDone(p, backward)).length}/${w.workloads.length}`,
          align: "right",
        },
        { header: "started", value: (w) => ago(progressOf.get(w.index)?.startedAt, now) },
        { header: "done", value: (w) => ago(progressOf.get(w.index)?.completedAt, now) },
        { header: "message", value: (w) => progressOf.get(w.index)?.message ?? "" },
      ],
      waves,
    );
  }
  const namespaces = st.progress?.namespaces ?? [];
  if (namespaces.length > 0) {
    out.line();
    out.heading("NAMESPACES");
    out.table(
      [
        { header: "namespace", value: (n: (typeof namespaces)[number]) => n.name },
        { header: "wave", value: (n) => n.wave + 1, align: "right" },
        { header: "state", value: (n) => n.state },
        { header: `old (${st.from?.revision ?? "?"})`, value: (n) => n.proxies.old, align: "right" },
        { header: `new (${st.to?.revision ?? "?"})`, value: (n) => n.proxies.new, align: "right" },
        { header: "no proxy", value: (n) => n.proxies.none, align: "right" },
      ],
      namespaces,
    );
  }
  const notDone = workloads.filter((w) => !workloadDone(w, backward) && !(backward && w.state === "Pending"));
  if (workloads.length > 0) {
    out.line();
    out.heading(`WORKLOADS NOT DONE (${notDone.length} of ${workloads.length})`);
    if (notDone.length === 0) out.line("None: every planned workload is done.");
    else
      out.table(
        [
          { header: "kind", value: (w: WorkloadProgress) => w.kind },
          { header: "namespace", value: (w) => w.namespace },
          { header: "name", value: (w) => w.name },
          { header: "wave", value: (w) => w.wave + 1, align: "right" },
          { header: "state", value: (w) => w.state },
          { header: "ready", value: (w) => w.ready ?? "-" },
          { header: "message", value: (w) => w.message ?? "" },
        ],
        notDone,
      );
  }
  const gates = st.gates ?? [];
  if (gates.length > 0) {
    out.line();
    out.heading("VERIFICATION GATES");
    type GateRow = { wave: number; phase: string; check: string; value: string; verdict: string; at: string };
    const rows: GateRow[] = [];
    for (const g of gates) {
      rows.push({
        wave: g.wave + 1,
        phase: g.phase,
        check: "health",
        value: "",
        verdict: g.health?.verdict ?? "-",
        at: g.health?.at ?? "",
      });
      for (const m of g.measurements)
        rows.push({
          wave: g.wave + 1,
          phase: g.phase,
          check: `${m.check}${m.dryRun ? " (dry run)" : ""}`,
          value: m.value === null ? "-" : String(Math.round(m.value * 1000) / 1000),
          verdict: m.verdict,
          at: m.at,
        });
    }
    out.table(
      [
        { header: "wave", value: (r: GateRow) => r.wave, align: "right" },
        { header: "phase", value: (r) => r.phase },
        { header: "check", value: (r) => r.check },
        { header: "value", value: (r) => r.value, align: "right" },
        { header: "verdict", value: (r) => r.verdict },
        { header: "at", value: (r) => (r.at ? ago(r.at, ctx.now()) : "") },
      ],
      rows,
    );
    for (const g of gates.filter((x) => x.phase !== "Passed" && x.message))
      out.line(`  wave ${g.wave + 1}: ${g.message}`);
  }
  const stragglers = st.stragglers ?? [];
  if (stragglers.length > 0 || ["DataPlaneUpgrade", "OldControlPlaneOffline", "RollingBack"].includes(st.stage)) {
    out.line();
    out.heading("STRAGGLERS");
    if (stragglers.length === 0) out.line("None recorded.");
    else
      out.table(
        [
          { header: "kind", value: (s: (typeof stragglers)[number]) => s.kind },
          { header: "namespace", value: (s) => s.namespace },
          { header: "name", value: (s) => s.name },
          { header: "why", value: (s) => s.why },
        ],
        stragglers,
      );
  }
  const history = st.history ?? [];
  if (history.length > 0) {
    out.line();
    out.heading(`HISTORY (last ${Math.min(HISTORY_SHOWN, history.length)} of ${history.length})`);
    out.table(
      [
        { header: "time", value: (h: HistoryEntry) => h.time.replace("T", " ").slice(0, 19) },
        { header: "actor", value: (h) => h.actor ?? "" },
        { header: "action", value: (h) => h.action },
        { header: "target", value: (h) => targetOf(h) },
        { header: "outcome", value: (h) => h.outcome ?? "" },
        { header: "reason", value: (h) => h.reason },
      ],
      history.slice(-HISTORY_SHOWN),
    );
  }
  const conditions = st.conditions ?? [];
  if (conditions.length > 0) {
    out.line();
    out.heading("CONDITIONS");
    out.table(
      [
        { header: "type", value: (c: (typeof conditions)[number]) => c.type },
        { header: "status", value: (c) => c.status },
        { header: "reason", value: (c) => c.reason },
        { header: "since", value: (c) => ago(c.lastTransitionTime, now) },
        { header: "message", value: (c) => c.message },
      ],
      conditions,
    );
  }
}

export function upgradeStatus(
  ctx: CommandContext,
  name: string | undefined,
  options: UpgradeStatusOptions,
): Promise<number> {
  return reportingCrdMissing(ctx, () => show(ctx, name, options));
}

async function show(ctx: CommandContext, nameArg: string | undefined, options: UpgradeStatusOptions): Promise<number> {
  const cluster = await ctx.connect();
  const upgrade = await resolveUpgrade(cluster, nameArg, { fallbackToLatest: true });
  const name = upgrade.metadata.name;
  const view = progressView(name, upgrade.status);
  if (!options.watch) {
    if (ctx.out.structured) await ctx.out.data(forOutput(upgrade));
    else renderUpgrade(ctx, upgrade, view);
    return ExitCode.Ok;
  }
  return watch(ctx, upgrade);
}

/**
 * Follows one MeshUpgrade through a list-watch until it reaches a terminal stage (exit code as `upgrade run`)
 * or Ctrl-C (exit 0). Tables: the full view once, then the live progress; json/yaml: the object per change.
 */
async function watch(ctx: CommandContext, first: MeshUpgradeObject): Promise<number> {
  const cluster = await ctx.connect();
  const name = first.metadata.name;
  const [{ ResourceCache }, { MESH_UPGRADES }, { stringify }] = await Promise.all([
    import("../../kube/cache.js"),
    import("../../kube/snapshot-source.js"),
    import("yaml"),
  ]);
  const structured = ctx.globals.output === "json" || ctx.globals.output === "yaml";
  const emitObject = (u: MeshUpgradeObject) =>
    ctx.io.stdout.write(
      ctx.globals.output === "yaml"
        ? `---\n${stringify(forOutput(u), { aliasDuplicateObjects: false, lineWidth: 0 })}`
        : `${JSON.stringify(forOutput(u))}\n`,
    );
  const reporter = structured ? null : newReporter(ctx, reporterMode(ctx, false));
  if (structured) emitObject(first);
  else {
    renderUpgrade(ctx, first, progressView(name, first.status));
    ctx.out.line();
    reporter!.begin(name, first.status);
  }
  let view = progressView(name, first.status);
  if (["Completed", "RolledBack", "Failed"].includes(view.stage)) return exitCodeOf(view);

  const cache = new ResourceCache(cluster.rest, MESH_UPGRADES, { fieldSelector: `metadata.name=${name}` });
  const stop = stopSignal(ctx.io);
  let lastVersion = first.metadata.resourceVersion;
  try {
    const ended = await new Promise<"finished" | "deleted" | "stopped">((resolve) => {
      const onAbort = () => resolve("stopped");
      stop.signal.addEventListener("abort", onAbort, { once: true });
      if (stop.signal.aborted) return resolve("stopped");
      cache.onChange((change) => {
        const u = change.object as MeshUpgradeObject;
        if (u.metadata.name !== name) return;
        if (change.type === "deleted") return resolve("deleted");
        if (u.metadata.resourceVersion === lastVersion) return;
        lastVersion = u.metadata.resourceVersion;
        view = progressView(name, u.status);
        if (structured) emitObject(u);
        else reporter!.update(name, u.status);
        if (["Completed", "RolledBack", "Failed"].includes(view.stage)) resolve("finished");
      });
      cache.start();
    });
    if (ended === "deleted") {
      ctx.out.error(`MeshUpgrade ${name} was deleted`);
      return ExitCode.Errors;
    }
    if (ended === "stopped") return ExitCode.Ok;
    reporter?.end();
    return exitCodeOf(view);
  } finally {
    stop.dispose();
    await cache.stop();
  }
}
