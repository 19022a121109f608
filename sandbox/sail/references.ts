// Which revision a namespace or pod references, by Sail's rules (sail-operator pkg/revision/references.go and
// controllers/istiorevision isRevisionReferenced), plus an incremental index of pod references so deciding
// "InUse" never lists every pod of a 20,000-pod cluster.
import type { KObject } from "../api/types.js";

const REV = "istio.io/rev";
const INJECTION = "istio-injection";
const INJECT = "sidecar.istio.io/inject";
/** Sail's DefaultRevision: the IstioRevision named "default" is the unrevisioned control plane */
export const DEFAULT_REVISION = "default";

/** The revision (or tag) a namespace's labels select: istio-injection=enabled means "default" and beats istio.io/rev. */
export function namespaceRevision(labels: Record<string, string> | undefined): string {
  if (labels?.[INJECTION] === "enabled") return DEFAULT_REVISION;
  return labels?.[REV] ?? "";
}

/** The revision (or tag) a pod's labels ask for: istio.io/rev, or "default" for sidecar.istio.io/inject=true. */
export function podLabelRevision(labels: Record<string, string> | undefined): string {
  if (labels?.[INJECT] === "false") return "";
  if (labels?.[REV]) return labels[REV];
  return labels?.[INJECT] === "true" ? DEFAULT_REVISION : "";
}

/** The revision that injected a pod: its istio.io/rev annotation (written by the injector). */
export function podInjectedRevision(annotations: Record<string, string> | undefined): string {
  return annotations?.[REV] ?? "";
}

interface PodRefs {
  injected: string;
  labelled: string;
}

/**
 * Pod references per revision name, kept up to date from store events. Succeeded pods reference nothing:
 * Sail skips them (a Failed pod still counts, as in isRevisionReferenced).
 */
export class PodReferenceIndex {
  private readonly byPod = new Map<string, PodRefs>();
  private readonly injectedBy = new Map<string, Set<string>>();
  private readonly labelledFor = new Map<string, Set<string>>();

  /** Records the pod's current references (undefined = the pod is gone); returns the revision names whose references changed. */
  update(podId: string, pod: KObject | undefined): string[] {
    const before = this.byPod.get(podId);
    const after: PodRefs | undefined =
      pod && pod.status?.phase !== "Succeeded"
        ? {
            injected: podInjectedRevision(pod.metadata.annotations),
            labelled: podLabelRevision(pod.metadata.labels),
          }
        : undefined;
    if (before?.injected === after?.injected && before?.labelled === after?.labelled) return [];
    if (before) {
      remove(this.injectedBy, before.injected, podId);
      remove(this.labelledFor, before.labelled, podId);
    }
    if (after && (after.injected || after.labelled)) {
      this.byPod.set(podId, after);
      add(this.injectedBy, after.injected, podId);
      add(this.labelledFor, after.labelled, podId);
    } else this.byPod.delete(podId);
    return [
      ...new Set(
        [before?.injected, before?.labelled, after?.injected, after?.labelled].filter((r): r is string => !!r),
      ),
    ];
  }

  /** pods (namespace/name) injected by `revision` */
  injectedPods(revision: string): ReadonlySet<string> {
    return this.injectedBy.get(revision) ?? EMPTY;
  }

  /** pods (namespace/name) whose labels ask for `revision` (or a tag of that name) */
  labelledPods(revision: string): ReadonlySet<string> {
    return this.labelledFor.get(revision) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function add(map: Map<string, Set<string>>, rev: string, podId: string): void {
  if (!rev) return;
  let set = map.get(rev);
  if (!set) map.set(rev, (set = new Set()));
  set.add(podId);
}

function remove(map: Map<string, Set<string>>, rev: string, podId: string): void {
  if (!rev) return;
  const set = map.get(rev);
  if (!set) return;
  set.delete(podId);
  if (set.size === 0) map.delete(rev);
}

/** What references a revision (or tag) name, given the cluster's namespaces and the pod index; undefined when nothing. */
export function findReference(
  name: string,
  namespaces: KObject[],
  pods: PodReferenceIndex,
  opts: { countInjected: boolean },
): string | undefined {
  const nsRevision = new Map<string, string>();
  for (const ns of namespaces) {
    const rev = namespaceRevision(ns.metadata.labels);
    if (rev === name) return `namespace ${ns.metadata.name} (label ${describeNamespaceLabel(ns.metadata.labels)})`;
    nsRevision.set(ns.metadata.name!, rev);
  }
  if (opts.countInjected) {
    for (const podId of pods.injectedPods(name)) return `pod ${podId} (injected by ${name})`;
  }
  // a pod's own label counts only in a namespace that references no revision (the namespace label wins)
  for (const podId of pods.labelledPods(name)) {
    const ns = podId.slice(0, podId.indexOf("/"));
    if (nsRevision.has(ns) && nsRevision.get(ns) === "") return `pod ${podId} (label)`;
  }
  return undefined;
}

function describeNamespaceLabel(labels: Record<string, string> | undefined): string {
  return labels?.[INJECTION] === "enabled" ? `${INJECTION}=enabled` : `${REV}=${labels?.[REV]}`;
}
