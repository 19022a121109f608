// Decommissioning a revision by hand (the engine does the same at OldControlPlaneOffline): DESIGN.md's rule
// that a revision is removed only after a fresh LIST (never a cache) plus its istiod's syncz show zero
// proxies on it (invariant 1), and istioctl's rule that the default revision or a tagged one is not removed
// while tags still point at it (pods using the tag would silently lose injection).
import type { Cluster } from "../../kube/config.js";
import type { MeshSnapshot, Straggler } from "../../mesh/index.js";
import type { CommandContext } from "../context.js";
import { ExitCode, UsageError } from "../exit-codes.js";
import { plural } from "../mesh-read.js";
import type { DecommissionOptions } from "./index.js";

interface ObjectLine {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  outcome?: string;
  message?: string;
}

const TERMINAL = ["Completed", "RolledBack", "Failed"];

/** The revision meant: --revision, or the only one that is not the newest version. */
function chooseRevision(snapshot: MeshSnapshot, asked: string | undefined): string {
  const names = [...snapshot.revisions.map((r) => r.name), ...snapshot.orphanRevisions.map((r) => r.name)];
  if (asked) {
    if (!names.includes(asked))
      throw new UsageError(`revision "${asked}" is not installed; installed: ${names.join(", ") || "none"}`);
    return asked;
  }
  const key = (v: string | null) =>
    (v ?? "0.0.0")
      .split(/[.-]/)
      .map((p) => p.padStart(6, "0"))
      .join(".");
  const byVersion = [...snapshot.revisions].sort((a, b) => key(b.version).localeCompare(key(a.version)));
  const older = byVersion.slice(1).map((r) => r.name);
  if (byVersion.length === 0) throw new UsageError("no istiod revision is installed: nothing to decommission");
  if (older.length === 0)
    throw new UsageError(`only revision ${byVersion[0].name} is installed: nothing to decommission`);
  if (older.length > 1)
    throw new UsageError(
      `several revisions are older than ${byVersion[0].name}: ${older.join(", ")} — name the one to remove with --revision`,
    );
  return older[0];
}

function refusal(ctx: CommandContext, what: string, fix: string): number {
  ctx.out.error(`${what} — ${fix}`);
  return ExitCode.Errors;
}

async function sailOwned(cluster: Cluster, revision: string): Promise<boolean> {
  const { readIstioRevision } = await import("../../upgrade/install/index.js");
  // no Sail CRD (404) or no IstioRevision: an istioctl/Helm install
  return (await readIstioRevision(cluster.rest, revision).catch(() => null))?.exists ?? false;
}

export async function decommission(ctx: CommandContext, options: DecommissionOptions): Promise<number> {
  const out = ctx.out;
  const cluster = await ctx.connect();
  const [{ ColdSnapshotSource, takeSnapshot }, { proxiesOnRevision }] = await Promise.all([
    import("../../kube/snapshot-source.js"),
    import("../../mesh/index.js"),
  ]);
  // a fresh LIST of every pod, and each istiod's connected proxies (syncz): never a cache
  const { snapshot, notes } = await takeSnapshot(new ColdSnapshotSource(cluster), { now: ctx.now(), syncz: true });
  for (const note of notes) out.note(note);
  const revision = chooseRevision(snapshot, options.revision);
  const result = {
    revision,
    dryRun: !!options.dryRun,
    stragglers: [] as Straggler[],
    objects: [] as ObjectLine[],
    refused: null as string | null,
  };
  const refuse = async (what: string, fix: string) => {
    result.refused = what;
    if (out.structured) await out.data(result);
    return refusal(ctx, what, fix);
  };

  const active = snapshot.upgrades.filter((u) => !TERMINAL.includes(u.stage ?? "Pending"));
  if (active.length > 0)
    return refuse(
      `MeshUpgrade ${active.map((u) => `"${u.name}" (stage ${u.stage ?? "Pending"})`).join(", ")} is active`,
      "it takes the old revision offline itself once every proxy has moved; removing a revision now could make its rollback impossible. Wait for it, or roll it back first",
    );

  result.stragglers = proxiesOnRevision(snapshot, revision);
  if (result.stragglers.length > 0) {
    if (!out.structured) {
      out.heading(`STRAGGLERS ON ${revision} (${result.stragglers.length})`);
      out.table(
        [
          { header: "kind", value: (s: Straggler) => s.kind },
          { header: "namespace", value: (s) => s.namespace },
          { header: "name", value: (s) => s.name },
          { header: "pod", value: (s) => s.pod },
          { header: "why", value: (s) => s.why },
        ],
        result.stragglers,
      );
    }
    return refuse(
      `revision ${revision} still has ${plural(result.stragglers.length, "proxy", "proxies")} (fresh LIST and syncz); nothing was removed`,
      `move them first: \`meshlift rollout --to-revision <new revision>\` restarts the workloads, naked pods must be recreated, then run decommission again`,
    );
  }

  const view =
    snapshot.revisions.find((r) => r.name === revision) ?? snapshot.orphanRevisions.find((r) => r.name === revision);
  const tags = (view?.tags ?? []).filter((t) => t !== "default");
  const isDefault = (view && "isDefault" in view && view.isDefault) || view?.tags.includes("default");
  if (isDefault || tags.length > 0) {
    const which = [...(isDefault ? ["default"] : []), ...tags];
    return refuse(
      `revision ${revision} is the target of tag${which.length > 1 ? "s" : ""} ${which.join(", ")}; namespaces and pods using ${which.length > 1 ? "them" : "it"} would silently lose injection`,
      `point ${which.length > 1 ? "them" : "it"} at the new revision first: ${which.map((t) => `istioctl tag set ${t} --revision <new revision> --overwrite`).join("; ")}`,
    );
  }

  const install = await import("../../upgrade/install/index.js");
  if (await sailOwned(cluster, revision)) {
    result.objects = [{ apiVersion: install.SAIL_API_VERSION, kind: "IstioRevision", name: revision }];
    if (!options.dryRun) {
      const outcome = await install.deleteIstioRevision(cluster.rest, revision);
      result.objects[0].outcome = outcome;
    }
  } else if (options.dryRun) {
    result.objects = await install.revisionObjects(cluster.rest, revision);
  } else {
    const removed = await install.removeRevision(cluster.rest, revision);
    result.objects = removed.map((r) => ({
      ...r.ref,
      outcome: r.outcome,
      ...(r.message ? { message: r.message } : {}),
    }));
  }
  const failed = result.objects.filter((o) => o.outcome === "failed");
  if (out.structured) {
    await out.data(result);
    return failed.length > 0 ? ExitCode.Errors : ExitCode.Ok;
  }
  out.heading(
    `${options.dryRun ? "WOULD DELETE" : "DELETED"} (revision ${revision}, ${plural(result.objects.length, "object")})`,
  );
  out.table(
    [
      { header: "kind", value: (o: ObjectLine) => o.kind },
      { header: "namespace", value: (o) => o.namespace ?? "" },
      { header: "name", value: (o) => o.name },
      ...(options.dryRun ? [] : [{ header: "outcome", value: (o: ObjectLine) => o.outcome ?? "" }]),
      ...(failed.length > 0 ? [{ header: "message", value: (o: ObjectLine) => o.message ?? "" }] : []),
    ],
    result.objects,
  );
  out.line();
  if (options.dryRun) out.line(`Dry run: no proxy uses revision ${revision}; nothing was removed.`);
  else if (failed.length > 0)
    out.line(
      out.style("red", `${plural(failed.length, "object")} could not be removed; run decommission again to retry.`),
    );
  else out.line(out.style("green", `Revision ${revision} is removed: no proxy used it.`));
  return failed.length > 0 ? ExitCode.Errors : ExitCode.Ok;
}
