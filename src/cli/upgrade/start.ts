// `meshlift upgrade start`: flags → spec → validated against the live mesh (the engine's own validator, so
// the CLI refuses exactly what the engine would) → the plan (the engine's planner) and the prechecks → the
// MeshUpgrade created (or, with --dry-run, created with dryRun=All: the API server proves it would accept it
// and stores nothing). Invalid input is refused before any write (DESIGN.md invariant 6).
import type { Catalog } from "../../catalog/index.js";
import type { Finding } from "../../checks/finding.js";
import type { KubeObject } from "../../kube/resources.js";
import type { MeshSnapshot } from "../../mesh/index.js";
import type { MeshUpgradeSpecInput } from "../../upgrade/api/schema.js";
import type { ResolvedUpgradeSpec, SpecError } from "../../upgrade/api/validate.js";
import type { PlannedWave } from "../../upgrade/engine/plan.js";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { plural } from "../mesh-read.js";
import { formatSpecError, specFromFlags } from "./flags.js";
import type { StartOptions } from "./index.js";
import {
  CLI_FIELD_MANAGER,
  CRD_FILE,
  CrdMissingError,
  crdInstalled,
  emptyMesh,
  readManifestFiles,
  readMeshForUpgrade,
  reportingCrdMissing,
  upgradesPath,
} from "./upgrades.js";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Workloads listed per wave in the table view; the rest are counted (-o json has them all). */
const WORKLOADS_SHOWN_PER_WAVE = 25;

async function refuse(ctx: CommandContext, errors: SpecError[]): Promise<number> {
  for (const e of errors) ctx.out.error(formatSpecError(e));
  if (ctx.out.structured) await ctx.out.data({ refused: true, created: false, errors });
  else ctx.out.line(`Refused: ${plural(errors.length, "problem")}; nothing was changed.`);
  return ExitCode.Usage;
}

/** Checks that need no cluster: the spec's shape and the target version against the catalog. */
async function offlineErrors(spec: MeshUpgradeSpecInput, catalog: Catalog): Promise<SpecError[]> {
  const [{ meshUpgradeSpecSchema, validateUpgradeSpec }, lib] = await Promise.all([
    import("../../upgrade/api/index.js"),
    import("../../catalog/index.js"),
  ]);
  if (!meshUpgradeSpecSchema.safeParse(spec).success) {
    // a spec of the wrong shape is refused before the validator looks at the mesh: no mesh needed
    const shape = validateUpgradeSpec(spec, {
      snapshot: await emptyMesh(),
      catalog,
      kubernetesVersion: "0.0.0",
      activeUpgrades: [],
    });
    return shape.ok ? [] : shape.errors;
  }
  try {
    const version = lib.parseVersion(spec.to.version, catalog);
    if (lib.isInCatalog(catalog, version)) return [];
    const known = catalog.releases.filter((r) => r.latestVersion);
    const span = known.length ? `${known[0].minor}.0–${known.at(-1)!.latestVersion}` : "none";
    return [
      {
        field: "spec.to.version",
        message: `Istio ${lib.formatVersion(version)} is not a known release (catalog as of ${catalog.asOf ?? "?"}: ${span})`,
        fix: "Pick a version from `meshlift versions`, or pass --catalog with a file that lists it.",
      },
    ];
  } catch (err) {
    if ((err as Error).name !== "VersionError") throw err;
    return [
      {
        field: "spec.to.version",
        message: (err as Error).message,
        fix: "Give a released Istio version such as 1.28.10 or a minor such as 1.28 (see `meshlift versions`).",
      },
    ];
  }
}

function describeInstall(spec: ResolvedUpgradeSpec, files: string[], objects: number): string {
  const to = spec.to.revision;
  switch (spec.install.mode) {
    case "Adopt":
      return `Adopt — you install revision ${to} (istioctl, Helm, GitOps); meshlift waits until it is Ready`;
    case "Sail":
      return `Sail — meshlift creates IstioRevision ${spec.install.sail?.name ?? to} (sailoperator.io/v1)`;
    case "Manifests": {
      const ref = spec.install.manifests?.configMapRef;
      return ref
        ? `Manifests — from ConfigMap ${ref.namespace}/${ref.name}${ref.key ? ` (key ${ref.key})` : ""}`
        : `Manifests — ${plural(objects, "object")} from ${files.join(", ")} (give them again to \`upgrade run -f\`)`;
    }
  }
}

function describeDataPlane(spec: ResolvedUpgradeSpec, waves: PlannedWave[]): string {
  const dp = spec.dataPlane;
  const workloads = waves.reduce((n, w) => n + w.workloads.length, 0);
  const parts = [
    `${plural(waves.length, "wave")}, ${plural(workloads, "workload")}`,
    dp.restart === "Manual" ? "you restart the workloads (manual)" : `at most ${dp.maxConcurrent} restarting at once`,
    dp.revisionTag?.moveInsteadOfRelabel
      ? `tag ${dp.revisionTag.name} moved instead of relabelling`
      : "namespaces relabelled",
    dp.gateways.include
      ? `gateways ${dp.gateways.strategy === "Canary" ? "by canary" : "in place"}`
      : "gateways left alone",
  ];
  return parts.join("; ");
}

function renderPlan(
  ctx: CommandContext,
  name: string,
  spec: ResolvedUpgradeSpec,
  waves: PlannedWave[],
  findings: Finding[],
  manifests: { files: string[]; objects: number },
): void {
  const out = ctx.out;
  out.heading(
    `UPGRADE ${name}   ${spec.from.revision} (${spec.from.version}) → ${spec.to.revision} (${spec.to.version}), ${spec.pathKind}`,
  );
  out.line(`  install      ${describeInstall(spec, manifests.files, manifests.objects)}`);
  out.line(`  data plane   ${describeDataPlane(spec, waves)}`);
  out.line(
    `  approval     ${spec.approval.mode === "None" ? "none: runs to the end" : spec.approval.mode === "PerWave" ? "after every wave (meshlift upgrade proceed)" : "before the old revision goes offline (meshlift upgrade proceed)"}`,
  );
  const v = spec.verification;
  out.line(
    `  verify       each wave: Ready for ${v.healthGate.minReadySeconds}s${v.prometheus ? `, metrics at ${v.prometheus.url}` : ""}; on failure ${v.onFailure === "Rollback" ? "roll back" : "pause"}`,
  );
  out.line(
    `  offline      ${spec.decommission.mode === "Manual" ? "you remove" : "meshlift removes"} revision ${spec.from.revision} once a fresh LIST shows no proxy on it for ${spec.decommission.graceSeconds}s`,
  );
  out.line();
  out.heading("WAVES");
  out.table(
    [
      { header: "wave", value: (w: PlannedWave) => w.index + 1, align: "right" },
      { header: "namespaces", value: (w) => w.namespaces.join(", ") },
      { header: "workloads", value: (w) => w.workloads.length, align: "right" },
    ],
    waves,
  );
  for (const wave of waves) {
    out.line();
    out.line(`Wave ${wave.index + 1}: ${wave.namespaces.join(", ")}`);
    for (const w of wave.workloads.slice(0, WORKLOADS_SHOWN_PER_WAVE)) out.line(`  ${w.kind} ${w.namespace}/${w.name}`);
    if (wave.workloads.length > WORKLOADS_SHOWN_PER_WAVE)
      out.line(`  … and ${wave.workloads.length - WORKLOADS_SHOWN_PER_WAVE} more (-o json lists them all)`);
    if (wave.workloads.length === 0) out.line("  (no workload to restart: only the namespace labels change)");
  }
  out.line();
  const count = (s: string) => findings.filter((f) => f.severity === s).length;
  out.heading(`PRECHECKS   ${count("error")} error(s), ${count("warning")} warning(s), ${count("info")} info`);
  for (const f of findings.filter((x) => x.severity !== "info")) {
    const mark = f.severity === "error" ? out.style("red", "ERROR") : out.style("yellow", "WARNING");
    out.line(`  ${mark}  ${f.id}  ${f.message}`);
    out.line(`           fix: ${f.fix}`);
  }
  if (count("info") > 0)
    out.line(`  (${plural(count("info"), "info finding")}: meshlift precheck --to ${spec.to.version})`);
}

async function ensureCrd(ctx: CommandContext, options: StartOptions): Promise<void> {
  const cluster = await ctx.connect();
  if (await crdInstalled(cluster)) return;
  if (!options.installCrd) throw new CrdMissingError(cluster.server, ", or add --install-crd");
  const [{ meshUpgradeCrd }, { applyServerSide }, { RESOURCES }] = await Promise.all([
    import("../../upgrade/api/index.js"),
    import("../../kube/patch.js"),
    import("../../kube/resources.js"),
  ]);
  await applyServerSide(cluster.rest, RESOURCES.customResourceDefinitions, meshUpgradeCrd() as KubeObject, {
    dryRun: options.dryRun,
  });
  ctx.out.note(
    options.dryRun
      ? `the MeshUpgrade CRD would be installed (${CRD_FILE}); the API server accepted it (dry run)`
      : `installed the MeshUpgrade CRD (${CRD_FILE})`,
  );
}

function existingNameError(name: string, snapshot: MeshSnapshot): SpecError | null {
  const existing = snapshot.upgrades.find((u) => u.name === name);
  if (!existing) return null;
  return {
    field: "--name",
    message: `MeshUpgrade "${name}" already exists (stage ${existing.stage ?? "Pending"})`,
    fix: `Choose another name with --name (e.g. ${name}-2), or delete it first: kubectl delete mu ${name}.`,
  };
}

export function start(ctx: CommandContext, options: StartOptions): Promise<number> {
  return reportingCrdMissing(ctx, () => startUpgrade(ctx, options));
}

async function startUpgrade(ctx: CommandContext, options: StartOptions): Promise<number> {
  const built = specFromFlags(options);
  if (built.errors.length > 0) return refuse(ctx, built.errors);
  const spec = built.spec;
  const catalog = await ctx.catalog();
  const offline = await offlineErrors(spec, catalog);
  if (offline.length > 0) return refuse(ctx, offline);
  const files = options.filename ?? [];
  const manifests = await readManifestFiles(files);

  const { snapshot, namespaceLabels, manifestRevisions, cluster } = await readMeshForUpgrade(ctx);
  const [{ validateUpgradeSpec, MESHUPGRADE }, { planWaves }, { runChecks, hasBlockingFindings }, install] =
    await Promise.all([
      import("../../upgrade/api/index.js"),
      import("../../upgrade/engine/plan.js"),
      import("../../checks/index.js"),
      import("../../upgrade/install/index.js"),
    ]);
  const validation = validateUpgradeSpec(spec, {
    snapshot,
    catalog,
    kubernetesVersion: snapshot.kubernetesVersion,
    activeUpgrades: snapshot.upgrades.map((u) => ({ name: u.name, stage: u.stage })),
    namespaceLabels,
    manifestsFromFiles: files.length > 0,
    // the engine takes a ConfigMap labelled meshlift.io/manifests-revision=<rev> too: refuse exactly what it would
    manifestRevisions,
  });
  const errors = validation.ok ? [] : [...validation.errors];
  const resolved = validation.ok ? validation.spec : null;
  const name = options.name ?? (resolved ? `to-${resolved.to.revision}` : undefined);
  if (name !== undefined) {
    if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name))
      errors.push({
        field: "--name",
        message: `"${name}" cannot name a MeshUpgrade`,
        fix: "Use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, e.g. to-1-28-10.",
      });
    const taken = existingNameError(name, snapshot);
    if (taken) errors.push(taken);
  }
  if (resolved && manifests.length > 0) {
    for (const problem of install.checkManifestsForRevision(manifests, {
      revision: resolved.to.revision,
      version: resolved.to.version,
      istioNamespace: "istio-system",
    }))
      errors.push({
        field: "-f",
        message: problem,
        fix: `Render the manifests for this revision: istioctl manifest generate --set revision=${resolved.to.revision} --set tag=${resolved.to.version}.`,
      });
  }
  if (errors.length > 0 || !resolved || !name) return refuse(ctx, errors);

  const plan = planWaves(resolved, snapshot);
  const findings = runChecks(snapshot, { version: resolved.to.version, revision: resolved.to.revision }, catalog);
  const blocked = hasBlockingFindings(findings);
  const object = {
    apiVersion: MESHUPGRADE.apiVersion,
    kind: MESHUPGRADE.kind,
    metadata: { name },
    spec,
  };
  const result = {
    name,
    dryRun: !!options.dryRun,
    created: false,
    spec,
    from: resolved.from,
    to: resolved.to,
    pathKind: resolved.pathKind,
    plan: { waves: plan.waves },
    findings,
  };
  if (!ctx.out.structured) renderPlan(ctx, name, resolved, plan.waves, findings, { files, objects: manifests.length });
  if (blocked) {
    if (ctx.out.structured) await ctx.out.data(result);
    else {
      ctx.out.line();
      ctx.out.line(ctx.out.style("red", `Blocked: the prechecks found errors; fix them first. Nothing was changed.`));
    }
    return ExitCode.Errors;
  }

  await ensureCrd(ctx, options);
  const crdServed = options.dryRun ? await crdInstalled(cluster) : true;
  if (crdServed) {
    try {
      await cluster.rest.requestJson<KubeObject>({
        method: "POST",
        path: upgradesPath(),
        query: { fieldManager: CLI_FIELD_MANAGER, dryRun: options.dryRun ? "All" : undefined },
        body: object,
        target: { verb: "create", resource: "meshupgrades.meshlift.io", name },
      });
    } catch (err) {
      const { toKubeError } = await import("../../kube/errors.js");
      const e = toKubeError(err);
      if (e.code === 409 || e.code === 422) {
        return refuse(ctx, [
          {
            field: e.code === 409 ? "--name" : "spec",
            message: `the API server refused the MeshUpgrade: ${e.serverMessage ?? e.message}`,
            fix:
              e.code === 409
                ? `Choose another --name, or delete the existing one (kubectl delete mu ${name}).`
                : `Check that the CRD is current: kubectl apply -f ${CRD_FILE}.`,
          },
        ]);
      }
      throw err;
    }
  }
  result.created = !options.dryRun;
  if (ctx.out.structured) {
    await ctx.out.data(result);
    return ExitCode.Ok;
  }
  ctx.out.line();
  if (options.dryRun) {
    ctx.out.line(
      crdServed
        ? `Dry run: the API server accepts MeshUpgrade ${name}; nothing was changed. Run again without --dry-run to start it.`
        : `Dry run: nothing was changed; the MeshUpgrade CRD is not installed yet, so the API server was not asked.`,
    );
    return ExitCode.Ok;
  }
  const fileArgs = files.map((f) => ` -f ${f}`).join("");
  ctx.out.line(ctx.out.style("green", `Created MeshUpgrade ${name}.`));
  ctx.out.line(`  drive it here:  meshlift upgrade run ${name}${fileArgs}   (or let the meshlift operator drive it)`);
  ctx.out.line(`  follow it:      meshlift upgrade status ${name} -w`);
  return ExitCode.Ok;
}
