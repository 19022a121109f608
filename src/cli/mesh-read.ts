// Reading the mesh for a one-shot command: one cold collection (parallel paginated LISTs), built
// into a MeshSnapshot; skipped optional sources are printed as notes on stderr.
import type { MeshSnapshot } from "../mesh/index.js";
import type { Cluster } from "../kube/config.js";
import type { CommandContext } from "./context.js";
import { UsageError } from "./exit-codes.js";

export interface MeshRead {
  snapshot: MeshSnapshot;
  cluster: Cluster;
  notes: string[];
}

export async function readMesh(ctx: CommandContext): Promise<MeshRead> {
  const cluster = await ctx.connect();
  const { ColdSnapshotSource, takeSnapshot } = await import("../kube/snapshot-source.js");
  const started = performance.now();
  const { snapshot, notes } = await takeSnapshot(new ColdSnapshotSource(cluster), { now: ctx.now() });
  for (const note of notes) ctx.out.note(note);
  const ns = ctx.globals.namespace;
  if (ns && !snapshot.namespaces.some((n) => n.name === ns)) {
    throw new UsageError(`namespace "${ns}" does not exist in the cluster at ${cluster.server} — check -n/--namespace`);
  }
  ctx.out.timing(
    `read ${snapshot.proxies.length} pods in ${snapshot.namespaces.length} namespaces from ${cluster.server} in ${Math.round(performance.now() - started)} ms`,
  );
  return { snapshot, cluster, notes };
}

/** "1.28.2 (5), 1.27.3 (1)": counts by key, largest first. */
export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length ? entries.map(([k, n]) => `${k} (${n})`).join(", ") : "-";
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
