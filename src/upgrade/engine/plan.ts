// The planner: which namespaces and workloads move, in which waves. Pure, over the validated spec and
// the snapshot taken when the upgrade starts; the plan is recorded in status and never recomputed, so
// a restart of meshlift continues the same waves.
import { ROLLOUT_RESOURCES } from "../../kube/resources.js";
import type { MeshSnapshot, NamespaceView, Workload } from "../../mesh/schema.js";
import type { ResolvedUpgradeSpec } from "../api/validate.js";
import type { WorkloadRef } from "./types.js";

/** Kinds meshlift can restart through their controller (the same patch `kubectl rollout restart` makes). */
export const RESTARTABLE_KINDS: ReadonlySet<string> = new Set(Object.keys(ROLLOUT_RESOURCES));

/**
 * How a namespace moves to the target:
 * - label: its istio-injection / istio.io/rev labels select the source revision; relabel it;
 * - tag: it uses the revision tag meshlift moves; its labels stay;
 * - per-pod: it has no injection label, so each pod's labels decide (istio-facts §1.3 rule 4);
 *   restarts also set the template's istio.io/rev label;
 * - none: nothing can move it (injection disabled, or another revision selected); its proxies are stragglers.
 */
export type SwitchMode = "label" | "tag" | "per-pod" | "none";

export interface PlannedWave {
  index: number;
  namespaces: string[];
  workloads: WorkloadRef[];
}

export interface Plan {
  waves: PlannedWave[];
}

/** The switch mode of a namespace on the way from `from` to `to` (tag = the tag meshlift moves, if any). */
export function switchMode(ns: NamespaceView, from: string, tag: string | null): SwitchMode {
  if (tag && ns.labels.rev === tag && ns.labels.istioInjection === null) return "tag";
  if (ns.perPodRules) return "per-pod";
  if (ns.injection.revision === from) return "label";
  return "none";
}

/** A workload that a restart through its controller can move: it runs proxies that a new pod would get again. */
export function movable(w: Workload): boolean {
  return (
    RESTARTABLE_KINDS.has(w.kind) &&
    w.proxiedPods > 0 &&
    !w.manualProxy &&
    w.gateway !== "legacy" &&
    w.gateway !== "gateway-api"
  );
}

/** The revision tag meshlift re-points instead of relabelling namespaces, if the spec asks for one. */
export function movedTag(spec: Pick<ResolvedUpgradeSpec, "dataPlane">): string | null {
  const t = spec.dataPlane.revisionTag;
  return t && t.moveInsteadOfRelabel ? t.name : null;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function byName(a: WorkloadRef, b: WorkloadRef): number {
  return a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);
}

/**
 * Waves: the canary namespaces first (their own wave), then explicit waves or groups of `size`
 * (default one namespace per wave), in the order validation resolved. Gateways whose namespace is not
 * selected (gateway namespaces usually carry no injection label) form a last wave of their own.
 */
export function planWaves(spec: ResolvedUpgradeSpec, snapshot: MeshSnapshot): Plan {
  const ordered = spec.namespaces ?? [];
  const selected = new Set(ordered);
  const groups: string[][] = [];
  const canary = (spec.dataPlane.canary ?? []).filter((n) => selected.has(n));
  const rest = ordered.filter((n) => !canary.includes(n));
  if (canary.length > 0) groups.push(canary);
  if (spec.dataPlane.waves?.explicit) {
    for (const wave of spec.dataPlane.waves.explicit) {
      const names = wave.filter((n) => selected.has(n) && !canary.includes(n));
      if (names.length > 0) groups.push(names);
    }
    const listed = new Set(groups.flat());
    const leftover = rest.filter((n) => !listed.has(n));
    if (leftover.length > 0) groups.push(leftover);
  } else {
    groups.push(...chunk(rest, spec.dataPlane.waves?.size ?? 1));
  }

  const from = spec.from.revision;
  const includeGateways = spec.dataPlane.gateways.include;
  const onSource = (w: Workload) => w.revisions.includes(from);
  const tag = movedTag(spec);
  const modes = new Map(snapshot.namespaces.map((ns) => [ns.name, switchMode(ns, from, tag)]));
  const workloadsIn = (names: Set<string>) =>
    snapshot.workloads
      .filter(
        (w) =>
          names.has(w.namespace) &&
          movable(w) &&
          onSource(w) &&
          modes.get(w.namespace) !== "none" &&
          (includeGateways || w.gateway === null),
      )
      .map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name }))
      .sort(byName);

  const waves: PlannedWave[] = groups.map((namespaces, index) => ({
    index,
    namespaces,
    workloads: workloadsIn(new Set(namespaces)),
  }));
  if (includeGateways) {
    const gateways = snapshot.workloads
      .filter((w) => w.gateway === "injected" && !selected.has(w.namespace) && movable(w) && onSource(w))
      .map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name }))
      .sort(byName);
    if (gateways.length > 0) {
      waves.push({
        index: waves.length,
        namespaces: [...new Set(gateways.map((g) => g.namespace))].sort(),
        workloads: gateways,
      });
    }
  }
  return { waves };
}
