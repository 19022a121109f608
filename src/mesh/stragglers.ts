// Stragglers: what still uses a revision, so it must not be removed yet (DESIGN invariant 1).
import type { MeshSnapshot } from "./schema.js";

export interface Straggler {
  /** the owning workload's kind and name, or Pod and the pod's name for naked pods */
  kind: string;
  namespace: string;
  name: string;
  pod: string;
  why: string;
}

/**
 * Live pods whose proxy was injected by `revision` (istio.io/rev annotation / status) or is
 * connected to it (syncz). Succeeded and Failed pods hold no proxy and are skipped (sail-operator#2100).
 */
export function proxiesOnRevision(snapshot: MeshSnapshot, revision: string): Straggler[] {
  const stragglers: Straggler[] = [];
  for (const p of snapshot.proxies) {
    if (!p.live) continue;
    const reasons: string[] = [];
    if (p.revision === revision) {
      const source =
        p.revisionSource === "annotation"
          ? "istio.io/rev annotation"
          : p.revisionSource === "status"
            ? "sidecar.istio.io/status"
            : p.revisionSource === "label"
              ? "istio.io/rev label"
              : "CA_ADDR";
      reasons.push(`proxy ${p.version ?? "of unknown version"} injected by revision ${revision} (${source})`);
      if (p.selectedRevision && p.selectedRevision !== revision)
        reasons.push(`a restart would move it to ${p.selectedRevision}`);
      else if (!p.selectedRevision) reasons.push("a restart would leave it without a sidecar");
      else reasons.push("its labels still select this revision");
    }
    if (p.connected?.revision === revision && p.revision !== revision)
      reasons.push(`connected to istiod ${revision} (syncz)`);
    if (reasons.length === 0) continue;
    if (p.gateway) reasons.push("gateway");
    stragglers.push({
      kind: p.workload?.kind ?? "Pod",
      namespace: p.namespace,
      name: p.workload?.name ?? p.pod,
      pod: p.pod,
      why: reasons.join("; "),
    });
  }
  return stragglers.sort(
    (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.pod.localeCompare(b.pod),
  );
}
