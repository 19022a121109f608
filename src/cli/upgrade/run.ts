// `meshlift upgrade run [NAME]`: the operator's reconcile loop in this process (UpgradeReconciler over warm
// list-watch caches, runUpgrade's sleep-until-change loop) for users without the operator. It stops when
// the upgrade ends, or when it needs a person (approval, paused, manual decommission) — with the command
// that answers — or on Ctrl-C. State lives in the MeshUpgrade, so stopping anywhere is safe: the next
// `upgrade run` (or the operator) continues from what it observes.
import type { Catalog } from "../../catalog/index.js";
import type { KubeObject } from "../../kube/resources.js";
import type { CommandContext } from "../context.js";
import { ExitCode, UsageError } from "../exit-codes.js";
import type { RunOptions } from "./index.js";
import { ProgressReporter, type ReporterMode } from "./progress.js";
import {
  cliActor,
  isTerminal,
  readManifestFiles,
  reportingCrdMissing,
  resolveUpgrade,
  stopSignal,
  type MeshUpgradeObject,
} from "./upgrades.js";
import { UpgradeExitCode, exitCodeOf, progressView, stopsRun, type ProgressView } from "./view.js";

/** Failures the loop cannot outlive by retrying: the credentials or the permission are missing. */
function isFatal(err: unknown): boolean {
  const e = err as { name?: string; code?: number };
  return e?.name === "KubeError" && (e.code === 401 || e.code === 403);
}

export function reporterMode(ctx: CommandContext, json: boolean | undefined): ReporterMode {
  if (json || ctx.globals.output === "json") return "json";
  return ctx.out.interactive ? "tty" : "plain";
}

export function newReporter(ctx: CommandContext, mode: ReporterMode): ProgressReporter {
  return new ProgressReporter(ctx.io.stdout, {
    mode,
    style: (s, t) => ctx.out.style(s, t),
    columns: (ctx.io.stdout as { columns?: number }).columns,
    now: () => ctx.now(),
  });
}

/** Refuses a run that could only fail: Manifests mode with nothing to install from, or files it cannot use. */
async function checkManifests(upgrade: MeshUpgradeObject, manifests: KubeObject[], catalog: Catalog) {
  const spec = upgrade.spec;
  const status = upgrade.status;
  const name = upgrade.metadata.name;
  const mode = spec.install?.mode ?? "Adopt";
  if (manifests.length > 0 && mode !== "Manifests")
    throw new UsageError(`-f is for install mode Manifests; MeshUpgrade ${name} uses ${mode} — drop -f`);
  const stage = status?.stage ?? "Pending";
  const installPending =
    ["Pending", "Prechecking", "ControlPlaneUpgrade"].includes(stage) && (status?.installedObjects ?? []).length === 0;
  if (mode !== "Manifests" || !installPending) return;
  const lib = await import("../../catalog/index.js");
  const target =
    status?.to ??
    (() => {
      try {
        const v = lib.parseVersion(spec.to.version, catalog);
        return { version: lib.formatVersion(v), revision: spec.to.revision ?? lib.revisionName(v) };
      } catch {
        return null;
      }
    })();
  if (manifests.length === 0) {
    if (spec.install?.manifests?.configMapRef) return;
    throw new UsageError(
      `MeshUpgrade ${name} installs revision ${target?.revision ?? spec.to.version} from manifests given as files: run \`meshlift upgrade run ${name} -f <file>\` with the output of \`istioctl manifest generate --set revision=${target?.revision ?? "<revision>"}\``,
    );
  }
  if (!target) return;
  const { checkManifestsForRevision } = await import("../../upgrade/install/index.js");
  const problems = checkManifestsForRevision(manifests, { ...target, istioNamespace: "istio-system" });
  if (problems.length > 0)
    throw new UsageError(
      `-f: these manifests cannot install revision ${target.revision} (${target.version}): ${problems.join("; ")} — render them with istioctl manifest generate --set revision=${target.revision}`,
    );
}

function finalWords(ctx: CommandContext, view: ProgressView): void {
  const out = ctx.out;
  const message = view.message ?? "";
  switch (view.stage) {
    case "Completed":
      out.line(out.style("green", `Completed: ${message || `every proxy runs ${view.to}`}`));
      return;
    case "RolledBack":
      out.line(out.style("yellow", `Rolled back: ${message || `every proxy runs ${view.from} again`}`));
      return;
    case "Failed":
      out.line(out.style("red", `Failed: ${message}`));
      out.line(`  see: meshlift upgrade status ${view.name}`);
      return;
  }
  if (view.needs) {
    out.line(out.style("yellow", `The upgrade needs you: ${view.needs.message}`));
    out.line(`  next: ${view.needs.hint}`);
  }
}

export function runCommand(ctx: CommandContext, name: string | undefined, options: RunOptions): Promise<number> {
  return reportingCrdMissing(ctx, () => drive(ctx, name, options));
}

async function drive(ctx: CommandContext, nameArg: string | undefined, options: RunOptions): Promise<number> {
  const manifests = await readManifestFiles(options.filename ?? []);
  const cluster = await ctx.connect();
  const upgrade = await resolveUpgrade(cluster, nameArg);
  const name = upgrade.metadata.name;
  const catalog = await ctx.catalog();
  await checkManifests(upgrade, manifests, catalog);
  const mode = reporterMode(ctx, options.json);
  const reporter = newReporter(ctx, mode);
  reporter.begin(name, upgrade.status);
  let view = progressView(name, upgrade.status);
  if (isTerminal(view.stage)) {
    reporter.end();
    if (mode !== "json") finalWords(ctx, view);
    return exitCodeOf(view);
  }

  const [{ WarmSnapshotSource }, { UpgradeReconciler }, { ClusterInstaller }, { runUpgrade }] = await Promise.all([
    import("../../kube/snapshot-source.js"),
    import("../../upgrade/engine/reconcile.js"),
    import("../../upgrade/engine/installer.js"),
    import("../../upgrade/engine/run.js"),
  ]);
  const source = new WarmSnapshotSource(cluster);
  const reconciler = new UpgradeReconciler({
    cluster,
    source,
    catalog,
    installer: new ClusterInstaller(cluster.rest, manifests.length > 0 ? { manifests } : {}),
    actor: cliActor(cluster),
    manifestsFromFiles: manifests.length > 0,
  });
  const stop = stopSignal(ctx.io);
  const loop = new AbortController();
  const onStop = () => loop.abort(stop.signal.reason);
  stop.signal.addEventListener("abort", onStop, { once: true });
  if (stop.signal.aborted) onStop();
  let fatal: unknown;
  let gone: boolean;
  const interrupted = () => {
    reporter.end({ interrupted: true });
    if (mode !== "json")
      ctx.out.line(
        `Interrupted at stage ${view.stage}; nothing is lost — continue with \`meshlift upgrade run ${name}\` (or let the operator).`,
      );
    return UpgradeExitCode.Interrupted;
  };
  try {
    const result = await runUpgrade(reconciler, name, {
      signal: loop.signal,
      source,
      onResult: (r) => {
        reporter.update(name, r.decision.status);
        for (const f of r.failures) reporter.failure(name, f.message);
        view = progressView(name, r.decision.status);
      },
      // an interruption seen between reconciles ends the loop at once rather than after its next sleep
      until: () => loop.signal.aborted || stopsRun(view),
      onError: (err) => {
        if (isFatal(err)) {
          fatal = err;
          loop.abort(err);
          return;
        }
        reporter.failure(name, `reconcile failed, retrying: ${(err as Error).message}`);
      },
    });
    if (fatal) throw fatal;
    if (stop.signal.aborted) return interrupted();
    gone = result === null;
  } catch (err) {
    if (fatal) throw fatal;
    if (!stop.signal.aborted) throw err;
    return interrupted();
  } finally {
    stop.signal.removeEventListener("abort", onStop);
    stop.dispose();
    await source.close();
  }
  if (gone) {
    ctx.out.error(`MeshUpgrade ${name} was deleted while it ran; nothing more is done for it`);
    return ExitCode.Errors;
  }
  reporter.end();
  if (mode !== "json") finalWords(ctx, view);
  return exitCodeOf(view);
}
