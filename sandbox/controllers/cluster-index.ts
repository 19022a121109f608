// Indexes kept current from store events, so no controller scans every pod on every event
// (the `large` scenario holds 20,000 pods): dependents by owner uid, objects by namespace,
// and pods without a controller (adoption candidates).
import type { KObject, StoreEvent } from "../api/types.js";
import { controllerRef } from "./meta.js";

/** One stored object: its group/resource key, namespace and name. */
export interface ObjectRef {
  key: string;
  namespace: string | undefined;
  name: string;
}

const SEP = "\u0000";

export function refId(key: string, namespace: string | undefined, name: string): string {
  return `${key}${SEP}${namespace ?? ""}${SEP}${name}`;
}

export function parseRefId(id: string): ObjectRef {
  const [key, ns, name] = id.split(SEP);
  return { key, namespace: ns || undefined, name };
}

export class ClusterIndex {
  /** owner uid -> dependents (any resource) */
  private readonly dependentsByOwner = new Map<string, Set<string>>();
  /** key -> namespace -> names */
  private readonly byNamespace = new Map<string, Map<string, Set<string>>>();
  /** namespace -> names of pods that have no controller */
  private readonly orphanPodsByNs = new Map<string, Set<string>>();

  apply(ev: StoreEvent): void {
    const { key, object } = ev;
    const ns = object.metadata.namespace;
    const name = object.metadata.name!;
    const id = refId(key, ns, name);
    if (ev.old) this.unindex(key, id, ev.old);
    if (ev.type !== "DELETED") this.index(key, id, object);
    else this.unindex(key, id, object);
  }

  private index(key: string, id: string, obj: KObject): void {
    for (const r of obj.metadata.ownerReferences ?? []) {
      let set = this.dependentsByOwner.get(r.uid);
      if (!set) this.dependentsByOwner.set(r.uid, (set = new Set()));
      set.add(id);
    }
    const ns = obj.metadata.namespace;
    if (ns !== undefined) {
      let byNs = this.byNamespace.get(key);
      if (!byNs) this.byNamespace.set(key, (byNs = new Map()));
      let names = byNs.get(ns);
      if (!names) byNs.set(ns, (names = new Set()));
      names.add(obj.metadata.name!);
    } else {
      let byNs = this.byNamespace.get(key);
      if (!byNs) this.byNamespace.set(key, (byNs = new Map()));
      let names = byNs.get("");
      if (!names) byNs.set("", (names = new Set()));
      names.add(obj.metadata.name!);
    }
    if (key === "/pods" && ns !== undefined && !controllerRef(obj)) {
      let set = this.orphanPodsByNs.get(ns);
      if (!set) this.orphanPodsByNs.set(ns, (set = new Set()));
      set.add(obj.metadata.name!);
    }
  }

  private unindex(key: string, id: string, obj: KObject): void {
    for (const r of obj.metadata.ownerReferences ?? []) {
      const set = this.dependentsByOwner.get(r.uid);
      if (set) {
        set.delete(id);
        if (set.size === 0) this.dependentsByOwner.delete(r.uid);
      }
    }
    const ns = obj.metadata.namespace ?? "";
    const names = this.byNamespace.get(key)?.get(ns);
    if (names) {
      names.delete(obj.metadata.name!);
      if (names.size === 0) this.byNamespace.get(key)!.delete(ns);
    }
    if (key === "/pods" && obj.metadata.namespace !== undefined) {
      const set = this.orphanPodsByNs.get(obj.metadata.namespace);
      if (set) {
        set.delete(obj.metadata.name!);
        if (set.size === 0) this.orphanPodsByNs.delete(obj.metadata.namespace);
      }
    }
  }

  /** refs of every object that names `uid` in its ownerReferences */
  dependents(uid: string): ObjectRef[] {
    const set = this.dependentsByOwner.get(uid);
    return set ? [...set].map(parseRefId) : [];
  }

  hasDependents(uid: string): boolean {
    return (this.dependentsByOwner.get(uid)?.size ?? 0) > 0;
  }

  /** names of objects of one resource in one namespace ("" for cluster-scoped resources) */
  names(key: string, namespace: string | undefined): string[] {
    const set = this.byNamespace.get(key)?.get(namespace ?? "");
    return set ? [...set] : [];
  }

  /** every resource key with objects in the namespace, with their names */
  contentOf(namespace: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, byNs] of this.byNamespace) {
      const names = byNs.get(namespace);
      if (names && names.size > 0 && key !== "/namespaces") out.set(key, [...names]);
    }
    return out;
  }

  orphanPods(namespace: string): string[] {
    const set = this.orphanPodsByNs.get(namespace);
    return set ? [...set] : [];
  }
}
