// Reading MeshUpgrades for the `upgrade …` commands: is the CRD served, which upgrade a command without
// NAME means (the one active upgrade), and the mesh read with what spec validation needs beside the
// snapshot (every namespace's labels, for a namespace selector).
import { readFileSync } from "node:fs";
import type { Cluster } from "../../kube/config.js";
import { toKubeError } from "../../kube/errors.js";
import type { KubeObject } from "../../kube/resources.js";
import type { MeshSnapshot } from "../../mesh/index.js";
import type { MeshUpgradeSpec, MeshUpgradeStatus } from "../../upgrade/api/schema.js";
import type { CommandContext } from "../context.js";
import { ExitCode, UsageError } from "../exit-codes.js";

export const CRD_FILE = "deploy/crds/meshupgrade.yaml";
const GROUP_VERSION_PATH = "/apis/meshlift.io/v1alpha1";
const COLLECTION_PATH = `${GROUP_VERSION_PATH}/meshupgrades`;

/** Who writes spec.action from the CLI: managedFields then tell the engine's history who asked. */
export const CLI_FIELD_MANAGER = "meshlift-cli";

/** Stages after which nothing more happens (schema TERMINAL_STAGES, kept here so `--help` loads no schema). */
const TERMINAL = new Set(["Completed", "RolledBack", "Failed"]);

export interface MeshUpgradeObject extends KubeObject {
  /** cluster-scoped and named: the API server never returns one without a name */
  metadata: KubeObject["metadata"] & { name: string };
  spec: MeshUpgradeSpec;
  status?: MeshUpgradeStatus;
}

/** The cluster cannot hold a MeshUpgrade: the CRD is missing. Exit code Errors, with how to install it. */
export class CrdMissingError extends Error {
  constructor(server: string, hint = "") {
    super(
      `the MeshUpgrade CRD (meshupgrades.meshlift.io) is not installed in the cluster at ${server} — install it with \`kubectl apply -f ${CRD_FILE}\`${hint}`,
    );
    this.name = "CrdMissingError";
  }
}

/** Runs a command body, printing a missing CRD as one error line (exit 3) instead of an unexpected failure. */
export async function reportingCrdMissing(ctx: CommandContext, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof CrdMissingError)) throw err;
    ctx.out.error(err.message);
    return ExitCode.Errors;
  }
}

export function upgradePath(name: string): string {
  return `${COLLECTION_PATH}/${encodeURIComponent(name)}`;
}

export function upgradesPath(): string {
  return COLLECTION_PATH;
}

/** Whether the API server serves meshupgrades.meshlift.io (discovery of its group version). */
export async function crdInstalled(cluster: Cluster): Promise<boolean> {
  try {
    const list = await cluster.rest.requestJson<{ resources?: { name: string }[] }>({
      path: GROUP_VERSION_PATH,
      target: { verb: "get", path: GROUP_VERSION_PATH },
    });
    return (list.resources ?? []).some((r) => r.name === "meshupgrades");
  } catch (err) {
    if (toKubeError(err).code === 404) return false;
    throw err;
  }
}

export function isTerminal(stage: string | undefined | null): boolean {
  return stage !== undefined && stage !== null && TERMINAL.has(stage);
}

export function stageOf(u: KubeObject): string {
  return (u.status as MeshUpgradeStatus | undefined)?.stage ?? "Pending";
}

export async function listUpgrades(cluster: Cluster): Promise<MeshUpgradeObject[]> {
  try {
    const list = await cluster.rest.requestJson<{ items: MeshUpgradeObject[] }>({
      path: COLLECTION_PATH,
      target: { verb: "list", resource: "meshupgrades.meshlift.io" },
    });
    return list.items.sort((a, b) =>
      String(b.metadata.creationTimestamp ?? "").localeCompare(String(a.metadata.creationTimestamp ?? "")),
    );
  } catch (err) {
    if (toKubeError(err).code === 404) throw new CrdMissingError(cluster.server);
    throw err;
  }
}

export async function getUpgrade(cluster: Cluster, name: string): Promise<MeshUpgradeObject> {
  try {
    return await cluster.rest.requestJson<MeshUpgradeObject>({
      path: upgradePath(name),
      target: { verb: "get", resource: "meshupgrades.meshlift.io", name },
    });
  } catch (err) {
    if (toKubeError(err).code !== 404) throw err;
    if (!(await crdInstalled(cluster))) throw new CrdMissingError(cluster.server);
    const others = (await listUpgrades(cluster)).map((u) => `${u.metadata.name} (${stageOf(u)})`);
    throw new UsageError(
      `MeshUpgrade "${name}" does not exist in the cluster at ${cluster.server}; ${others.length ? `there are: ${others.join(", ")}` : "there is none — start one with `meshlift upgrade start --to <version>`"}`,
    );
  }
}

/**
 * The MeshUpgrade a command means: NAME when given, else the one active upgrade (one per mesh). With
 * `fallbackToLatest`, a mesh with no active upgrade shows its newest one (for `upgrade status`).
 */
export async function resolveUpgrade(
  cluster: Cluster,
  name: string | undefined,
  options: { fallbackToLatest?: boolean } = {},
): Promise<MeshUpgradeObject> {
  if (name) return getUpgrade(cluster, name);
  const all = await listUpgrades(cluster);
  const active = all.filter((u) => !isTerminal(stageOf(u)));
  if (active.length === 1) return active[0];
  const describe = (list: MeshUpgradeObject[]) => list.map((u) => `${u.metadata.name} (${stageOf(u)})`).join(", ");
  if (active.length > 1)
    throw new UsageError(
      `several MeshUpgrades are active: ${describe(active)} — name the one you mean, e.g. \`meshlift upgrade status ${active[0].metadata.name}\``,
    );
  if (options.fallbackToLatest && all.length > 0) return all[0];
  throw new UsageError(
    all.length === 0
      ? "no MeshUpgrade exists — start one with `meshlift upgrade start --to <version>`"
      : `no MeshUpgrade is active (finished: ${describe(all)}) — name one, or start another with \`meshlift upgrade start --to <version>\``,
  );
}

export interface MeshForUpgrade {
  snapshot: MeshSnapshot;
  /** every namespace's labels, to resolve a namespace label selector */
  namespaceLabels: Record<string, Record<string, string>>;
  /** revisions whose rendered manifests a ConfigMap labelled meshlift.io/manifests-revision holds */
  manifestRevisions: string[];
  cluster: Cluster;
}

/** One cold read of the mesh (parallel paginated LISTs), with notes on skipped optional sources. */
export async function readMeshForUpgrade(
  ctx: CommandContext,
  options: { syncz?: boolean } = {},
): Promise<MeshForUpgrade> {
  const cluster = await ctx.connect();
  const [{ ColdSnapshotSource }, { buildSnapshot }, { manifestRevisionsOf }] = await Promise.all([
    import("../../kube/snapshot-source.js"),
    import("../../mesh/index.js"),
    import("../../upgrade/api/validate.js"),
  ]);
  const started = performance.now();
  const { input, notes } = await new ColdSnapshotSource(cluster).collect({ syncz: options.syncz ?? false });
  for (const note of notes) ctx.out.note(note);
  const snapshot = buildSnapshot({ ...input, now: ctx.now() });
  const namespaceLabels = Object.fromEntries(
    input.namespaces.map((n) => [n.metadata?.name ?? "", n.metadata?.labels ?? {}]),
  );
  ctx.out.timing(
    `read ${snapshot.proxies.length} pods in ${snapshot.namespaces.length} namespaces from ${cluster.server} in ${Math.round(performance.now() - started)} ms`,
  );
  return { snapshot, namespaceLabels, manifestRevisions: manifestRevisionsOf(input.configmaps), cluster };
}

/** Rendered manifests from -f files (multi-document YAML), with file:line in every problem. */
export async function readManifestFiles(files: string[]): Promise<KubeObject[]> {
  const { parseManifests } = await import("../../upgrade/install/index.js");
  const objects: KubeObject[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new UsageError(`-f ${file} cannot be read: ${(err as Error).message}`);
    }
    try {
      objects.push(...parseManifests(text, file));
    } catch (err) {
      if ((err as Error).name === "ManifestError") throw new UsageError(`-f ${file}: ${(err as Error).message}`);
      throw err;
    }
  }
  if (files.length > 0 && objects.length === 0)
    throw new UsageError(
      `-f ${files.join(", ")}: no objects — give rendered manifests (istioctl manifest generate --set revision=…)`,
    );
  return objects;
}

/**
 * Aborts on Ctrl-C or SIGTERM. CliIO carries no stop signal of its own yet, so the process's signals
 * are listened to here (as `meshlift console` does); tests pass `signal` on the IO instead.
 */
export function stopSignal(io: CommandContext["io"]): { signal: AbortSignal; dispose(): void } {
  const given = (io as CommandContext["io"] & { signal?: AbortSignal }).signal;
  if (given) return { signal: given, dispose() {} };
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    },
  };
}

/** The kubeconfig user, for the engine's history: "cli/<user>". */
export function cliActor(cluster: Cluster): string {
  const user = cluster.kubeConfig.getCurrentUser()?.name ?? cluster.contextName;
  return `cli/${user}`;
}

/**
 * A mesh with nothing in it, for checks that do not depend on the mesh: the shape of a spec before the
 * cluster is contacted, and whether a stage allows an action (validate.ts's rules for spec.action).
 */
export async function emptyMesh(kubernetesVersion = "0.0.0"): Promise<MeshSnapshot> {
  const { buildSnapshot, emptySnapshotInput } = await import("../../mesh/index.js");
  return buildSnapshot(emptySnapshotInput(kubernetesVersion));
}
