// The versions view: what runs, what the catalog offers from there, and whether it suits this
// cluster's Kubernetes. The rules (one-minor skip, support ranges, EOL) live in src/catalog.
import type { EndOfLife, KubernetesSupport } from "../../catalog/index.js";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { formatCounts, readMesh } from "../mesh-read.js";

function endOfLifeText(eol: EndOfLife): string {
  if (!eol.date) return "not announced";
  const estimated = eol.estimated ? " (estimated)" : "";
  if (eol.reached) return `${eol.date}${estimated}, ended`;
  return `${eol.date}${estimated}, ${eol.daysLeft} days left`;
}

function supportText(k: KubernetesSupport): string {
  if (!k.supported) return "unknown";
  const range = `${k.supported.min}–${k.supported.max}`;
  const status = k.status === "supported" ? "supported" : k.status === "tested-only" ? "tested only" : "not supported";
  return `${status} (${range})`;
}

export async function versions(ctx: CommandContext): Promise<number> {
  const [{ snapshot, cluster }, catalog, lib] = await Promise.all([
    readMesh(ctx),
    ctx.catalog(),
    import("../../catalog/index.js"),
  ]);
  const installed = snapshot.revisions
    .map((r) => ({
      revision: r.name,
      namespace: r.namespace,
      version: r.version,
      parsed: lib.looseVersion(r.version),
      default: r.isDefault,
      proxies: r.proxies,
    }))
    .sort((a, b) => (a.parsed && b.parsed ? lib.compareVersions(a.parsed, b.parsed) : 0));
  const newest = installed.filter((i) => i.parsed).at(-1);
  const today = ctx.now();
  const upgrades = newest?.parsed
    ? lib.availableUpgrades(newest.parsed, snapshot.kubernetesVersion, today, catalog)
    : null;

  if (ctx.out.structured) {
    await ctx.out.data({
      kubernetesVersion: snapshot.kubernetesVersion,
      installed: installed.map(({ parsed: _p, ...i }) => i),
      dataPlane: snapshot.summary.proxiesByVersion,
      catalog: { asOf: catalog.asOf, sources: catalog.sources },
      upgrades,
    });
    return ExitCode.Ok;
  }

  const k8s = lib.formatKubernetesVersion(lib.parseKubernetesVersion(snapshot.kubernetesVersion));
  ctx.out.line(
    `${ctx.out.style("dim", "context")} ${cluster.contextName}   ${ctx.out.style("dim", "kubernetes")} ${snapshot.kubernetesVersion}   ${ctx.out.style("dim", "catalog")} ${catalog.asOf ?? "?"} (${catalog.sources.join(", ")})`,
  );
  ctx.out.line();
  ctx.out.heading("INSTALLED");
  if (installed.length === 0) {
    ctx.out.line("Istio is not installed: no istiod Deployment (app=istiod) was found.");
    return ExitCode.Ok;
  }
  ctx.out.table(
    [
      { header: "revision", value: (i) => i.revision },
      { header: "version", value: (i) => i.version ?? "unknown" },
      { header: "default", value: (i) => (i.default ? "yes" : "") },
      { header: "proxies", value: (i) => i.proxies, align: "right" },
      {
        header: "end of life",
        value: (i) =>
          i.parsed
            ? endOfLifeText(
                lib.availableUpgrades(i.parsed, snapshot.kubernetesVersion, today, catalog).current.endOfLife,
              )
            : "-",
      },
      {
        header: `kubernetes ${k8s}`,
        value: (i) =>
          i.parsed ? supportText(lib.kubernetesSupport(i.parsed, snapshot.kubernetesVersion, catalog)) : "-",
      },
    ],
    installed,
  );
  ctx.out.line();
  ctx.out.line(`Data plane: ${formatCounts(snapshot.summary.proxiesByVersion)}`);
  if (!upgrades || !newest) {
    ctx.out.warn(
      "no installed revision has a readable version (image tag or version label); upgrades cannot be computed",
    );
    return ExitCode.Ok;
  }
  ctx.out.line();
  ctx.out.heading(`AVAILABLE UPGRADES FROM ${upgrades.current.version}`);
  if (upgrades.upgrades.length === 0) {
    ctx.out.line("None within one canary step.");
  } else {
    ctx.out.table(
      [
        { header: "version", value: (u) => (u.recommended ? `${u.version} *` : u.version) },
        { header: "type", value: (u) => u.kind },
        { header: "released", value: (u) => u.released },
        { header: "end of life", value: (u) => endOfLifeText(u.endOfLife) },
        { header: `kubernetes ${k8s}`, value: (u) => supportText(u.kubernetes) },
      ],
      upgrades.upgrades,
    );
    ctx.out.line();
    if (upgrades.recommended)
      ctx.out.line(
        ctx.out.style(
          "dim",
          "* recommended: the newest within one step that supports this Kubernetes and is maintained",
        ),
      );
  }
  for (const beyond of upgrades.beyondOneStep)
    ctx.out.line(`${beyond.version}: more than one canary step away — upgrade via ${beyond.hops.join(" → ")}`);
  ctx.out.line();
  if (upgrades.newVersionAvailable && upgrades.newestVersion) {
    const advice = upgrades.recommended
      ? ` Recommended: ${upgrades.recommended} — run \`meshlift precheck --to ${upgrades.recommended}\`.`
      : ` None of the upgrades within one step supports Kubernetes ${k8s} and is still maintained.`;
    ctx.out.line(
      ctx.out.style(
        "bold",
        `New version available: Istio ${upgrades.newestVersion} (installed ${upgrades.current.version}).`,
      ) + advice,
    );
  } else {
    ctx.out.line(
      `Istio ${upgrades.current.version} is the newest release in the catalog (as of ${catalog.asOf ?? "unknown"}).`,
    );
  }
  return ExitCode.Ok;
}
