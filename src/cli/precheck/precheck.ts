// The precheck view: validate the target against the catalog first (no cluster needed to refuse
// a malformed or unknown version), then run every check on the live snapshot. The exit code is
// computed from the counted findings: errors 3, warnings 1 (2 with --strict), clean 0.
import type { CommandContext } from "../context.js";
import { ExitCode, UsageError, exitCodeForFindings } from "../exit-codes.js";
import { readMesh } from "../mesh-read.js";
import type { PrecheckOptions } from "./index.js";

export async function precheck(ctx: CommandContext, options: PrecheckOptions): Promise<number> {
  const [catalog, lib] = await Promise.all([ctx.catalog(), import("../../catalog/index.js")]);
  const target = lib.parseVersion(options.to, catalog); // VersionError (exit 4) when malformed
  const targetText = lib.formatVersion(target);
  if (!lib.isInCatalog(catalog, target)) {
    const known = catalog.releases.filter((r) => r.latestVersion);
    const span = known.length ? `${known[0].minor}.0–${known.at(-1)!.latestVersion}` : "none";
    throw new UsageError(
      `Istio ${targetText} is not a known release (catalog as of ${catalog.asOf ?? "?"}: ${span}) — check the version, or pass --catalog with a file that lists it`,
    );
  }

  const { snapshot } = await readMesh(ctx);
  const { runChecks } = await import("../../checks/index.js");
  const findings = runChecks(snapshot, { version: targetText, revision: options.revision }, catalog);
  const counts = {
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
    info: findings.filter((f) => f.severity === "info").length,
  };
  const exitCode = exitCodeForFindings(counts, options.strict ?? false);

  if (ctx.out.structured) {
    await ctx.out.data({
      target: { version: targetText, revision: options.revision ?? lib.revisionName(target) },
      kubernetesVersion: snapshot.kubernetesVersion,
      counts,
      exitCode,
      findings,
    });
    return exitCode;
  }

  const order = { error: 0, warning: 1, info: 2 } as Record<string, number>;
  const sorted = [...findings].sort((a, b) => (order[a.severity] ?? 3) - (order[b.severity] ?? 3));
  const mark = (severity: string) =>
    severity === "error"
      ? ctx.out.style("red", "ERROR")
      : severity === "warning"
        ? ctx.out.style("yellow", "WARNING")
        : ctx.out.style("dim", "INFO");
  ctx.out.heading(
    `PRECHECK ${
      snapshot.revisions
        .map((r) => r.version)
        .filter(Boolean)
        .join(", ") || "?"
    } → ${targetText}`,
  );
  for (const f of sorted) {
    ctx.out.line(`${mark(f.severity)}  ${f.id}  ${f.message}`);
    if (f.fix) ctx.out.line(`         fix: ${f.fix}`);
  }
  if (sorted.length) ctx.out.line();
  const summary = `${counts.errors} error(s), ${counts.warnings} warning(s), ${counts.info} info`;
  if (counts.errors > 0)
    ctx.out.line(ctx.out.style("red", `Blocked: ${summary}. Fix the errors before upgrading to ${targetText}.`));
  else if (counts.warnings > 0)
    ctx.out.line(
      ctx.out.style("yellow", `Passed with warnings: ${summary}. Review them before upgrading to ${targetText}.`),
    );
  else ctx.out.line(ctx.out.style("green", `Passed: no issues found; the mesh can be upgraded to ${targetText}.`));
  return exitCode === ExitCode.Ok ? ExitCode.Ok : exitCode;
}
