// The batch rollout (Alauda's "upgrade all services"): from one read of the mesh, every workload with a stale
// proxy — one that does not run the revision its namespace, tag or pod labels select now — is restarted
// through its controller, as `kubectl rollout restart` does. Workloads a restart cannot fix are listed with
// the reason, never touched: pods without a controller, templates that carry their own proxy, and those a
// restart would leave without a sidecar.
import { createInterface } from "node:readline";
import type { MeshSnapshot, Workload } from "../../mesh/index.js";
import type { CommandContext } from "../context.js";
import { ExitCode, UsageError } from "../exit-codes.js";
import { plural } from "../mesh-read.js";
import type { RolloutOptions } from "./index.js";

const RESTARTABLE = new Set(["Deployment", "StatefulSet", "DaemonSet"]);
const CONCURRENCY = 5;

export interface RolloutCandidate {
  kind: string;
  namespace: string;
  name: string;
  /** revisions its live proxies run now */
  current: string[];
  /** the revision a new pod gets */
  target: string;
  gateway: boolean;
}

export interface SkippedWorkload {
  kind: string;
  namespace: string;
  name: string;
  current: string[];
  why: string;
}

export interface RolloutSelection {
  restart: RolloutCandidate[];
  skipped: SkippedWorkload[];
}

function whyNotRestartable(w: Workload): string | null {
  if (!RESTARTABLE.has(w.kind))
    return w.kind === "Pod"
      ? "a pod without a controller: delete and recreate it to re-inject"
      : `a ${w.kind} is not restarted by meshlift: its next run gets the new revision`;
  if (w.manualProxy || w.gateway === "legacy")
    return "its template carries the proxy itself (istioctl kube-inject or a legacy gateway): re-inject the template";
  if (w.gateway === "gateway-api") return "a Gateway API gateway: Istio's deployment controller updates it";
  if (w.restart.revision === null) return `a restart would leave it without a sidecar (${w.restart.reason})`;
  return null;
}

/** Which stale workloads a rollout restarts and which it only lists. Pure, over one snapshot. */
export function selectRollout(
  snapshot: MeshSnapshot,
  options: { toRevision?: string; namespaces?: Set<string> } = {},
): RolloutSelection {
  const restart: RolloutCandidate[] = [];
  const skipped: SkippedWorkload[] = [];
  for (const w of snapshot.workloads) {
    if (!w.flags.includes("stale")) continue;
    if (options.namespaces && !options.namespaces.has(w.namespace)) continue;
    if (options.toRevision && w.restart.revision !== options.toRevision) continue;
    const why = whyNotRestartable(w);
    const ref = { kind: w.kind, namespace: w.namespace, name: w.name, current: w.revisions };
    if (why) skipped.push({ ...ref, why });
    else restart.push({ ...ref, target: w.restart.revision!, gateway: w.gateway !== null });
  }
  const order = (a: { namespace: string; kind: string; name: string }, b: typeof a) =>
    a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);
  return { restart: restart.sort(order), skipped: skipped.sort(order) };
}

/** One line from stdin (null at its end): the answer to the confirmation. */
function readAnswer(stdin: NodeJS.ReadableStream): Promise<string | null> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: stdin, terminal: false });
    let answered = false;
    rl.once("line", (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    rl.once("close", () => {
      if (!answered) resolve(null);
    });
  });
}

export async function rollout(ctx: CommandContext, options: RolloutOptions): Promise<number> {
  const out = ctx.out;
  const wanted = new Set<string>();
  if (options.namespaces !== undefined) {
    const list = options.namespaces.split(",").map((s) => s.trim());
    if (list.some((s) => s === ""))
      throw new UsageError(
        `--namespaces "${options.namespaces}" has an empty item — give e.g. --namespaces bookinfo,payments`,
      );
    for (const n of list) wanted.add(n);
  }
  if (ctx.globals.namespace) wanted.add(ctx.globals.namespace);
  if (options.prompt && !options.dryRun && !ctx.io.stdin)
    throw new UsageError(
      "rollout asks for confirmation on stdin, and there is none — pass --no-prompt to restart without asking",
    );

  const cluster = await ctx.connect();
  const [{ ColdSnapshotSource, takeSnapshot }, { mergePatch, rolloutRestartPatch }, { rolloutResource }] =
    await Promise.all([
      import("../../kube/snapshot-source.js"),
      import("../../kube/patch.js"),
      import("../../kube/resources.js"),
    ]);
  const { snapshot, notes } = await takeSnapshot(new ColdSnapshotSource(cluster), { now: ctx.now(), syncz: false });
  for (const note of notes) out.note(note);
  const existing = new Set(snapshot.namespaces.map((n) => n.name));
  const unknown = [...wanted].filter((n) => !existing.has(n));
  if (unknown.length > 0)
    throw new UsageError(
      `namespace ${unknown.map((n) => `"${n}"`).join(", ")} does not exist in the cluster at ${cluster.server}`,
    );
  if (options.toRevision && !snapshot.revisions.some((r) => r.name === options.toRevision))
    throw new UsageError(
      `revision "${options.toRevision}" is not installed; installed: ${snapshot.revisions.map((r) => r.name).join(", ") || "none"}`,
    );
  const selection = selectRollout(snapshot, {
    toRevision: options.toRevision,
    namespaces: wanted.size > 0 ? wanted : undefined,
  });
  const result = {
    dryRun: !!options.dryRun,
    workloads: selection.restart,
    skipped: selection.skipped,
    restarted: [] as RolloutCandidate[],
    failed: [] as (RolloutCandidate & { message: string })[],
  };

  if (!out.structured) {
    if (selection.restart.length === 0) out.line("Nothing to restart: no restartable workload has a stale proxy.");
    else {
      out.heading(`STALE WORKLOADS (${selection.restart.length})`);
      out.table(
        [
          { header: "kind", value: (c: RolloutCandidate) => (c.gateway ? `${c.kind} (gateway)` : c.kind) },
          { header: "namespace", value: (c) => c.namespace },
          { header: "name", value: (c) => c.name },
          { header: "revision", value: (c) => `${c.current.join(",") || "?"} → ${c.target}` },
        ],
        selection.restart,
      );
    }
    if (selection.skipped.length > 0) {
      out.line();
      out.heading(`NOT RESTARTED (${selection.skipped.length})`);
      out.table(
        [
          { header: "kind", value: (s: SkippedWorkload) => s.kind },
          { header: "namespace", value: (s) => s.namespace },
          { header: "name", value: (s) => s.name },
          { header: "revision", value: (s) => s.current.join(",") || "?" },
          { header: "why", value: (s) => s.why },
        ],
        selection.skipped,
      );
    }
  }
  if (selection.restart.length === 0 || options.dryRun) {
    if (out.structured) await out.data(result);
    else if (options.dryRun && selection.restart.length > 0) out.line("\nDry run: nothing was restarted.");
    return ExitCode.Ok;
  }

  if (options.prompt) {
    ctx.io.stderr.write(`Restart ${plural(selection.restart.length, "workload")}? [y/N] `);
    const answer = await readAnswer(ctx.io.stdin!);
    if (!/^\s*y(es)?\s*$/i.test(answer ?? "")) {
      ctx.io.stderr.write("\n");
      if (out.structured) await out.data(result);
      else out.line("\nNothing was restarted.");
      return ExitCode.Ok;
    }
  }

  const patch = rolloutRestartPatch(ctx.now());
  const queue = [...selection.restart];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        await mergePatch(cluster.rest, rolloutResource(c.kind)!, c, patch);
        result.restarted.push(c);
        if (!out.structured) out.line(`restarted ${c.kind} ${c.namespace}/${c.name} → ${c.target}`);
      } catch (err) {
        const message = (err as Error).message;
        result.failed.push({ ...c, message });
        out.error(`restart ${c.kind} ${c.namespace}/${c.name}: ${message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  if (out.structured) await out.data(result);
  else
    out.line(
      `\n${plural(result.restarted.length, "workload")} restarted${result.failed.length ? `, ${result.failed.length} failed` : ""}; follow with \`meshlift status\`.`,
    );
  return result.failed.length > 0 ? ExitCode.Errors : ExitCode.Ok;
}
