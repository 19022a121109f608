// The garbage collector (k8s.io/kubernetes/pkg/controller/garbagecollector): dependents whose owners
// are all gone are deleted; owners marked with the `foregroundDeletion` finalizer wait until their
// blocking dependents are gone; the `orphan` finalizer strips owner references from dependents first.
import { ApiError, type KObject, type OwnerReference, type StoreEvent } from "../api/types.js";
import { parseRefId, refId } from "./cluster-index.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import { deepEqual } from "./meta.js";

const COMPONENT = "generic-garbage-collector";
const FOREGROUND = "foregroundDeletion";
const ORPHAN = "orphan";

function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.code === 404;
}

export function garbageCollector(ctx: ControllerContext): Controller {
  const { store, index } = ctx;

  function keyOfKind(apiVersion: string, kind: string): { key: string; namespaced: boolean } | undefined {
    const t = store.typeForKind(apiVersion, kind);
    return t ? { key: `${t.group}/${t.plural}`, namespaced: t.namespaced } : undefined;
  }

  /** present = an object with that name and uid exists (being deleted still counts as present) */
  function ownerPresent(ref: OwnerReference, namespace: string | undefined): boolean {
    const k = keyOfKind(ref.apiVersion, ref.kind);
    if (!k) return true; // an unresolvable kind is never treated as absent: deleting on doubt is worse
    const owner = store.get(k.key, k.namespaced ? namespace : undefined, ref.name);
    return owner?.metadata.uid === ref.uid;
  }

  function removeFinalizer(key: string, obj: KObject, finalizer: string): void {
    store.mutate(
      key,
      obj.metadata.namespace,
      obj.metadata.name!,
      (o) => {
        if (o.metadata.uid !== obj.metadata.uid || !o.metadata.finalizers?.includes(finalizer)) return false;
        o.metadata.finalizers = o.metadata.finalizers.filter((f) => f !== finalizer);
        if (o.metadata.finalizers.length === 0) delete o.metadata.finalizers;
      },
      actor(COMPONENT),
    );
  }

  function deleteQuietly(key: string, obj: KObject, policy: "Foreground" | "Background"): void {
    try {
      store.delete(key, obj.metadata.namespace, obj.metadata.name!, {
        propagationPolicy: policy,
        preconditions: { uid: obj.metadata.uid },
        actor: actor(COMPONENT).actor,
      });
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof ApiError && err.code === 409)) throw err;
    }
  }

  const queue = ctx.loop.queue("garbage-collector", (id) => {
    const { key, namespace, name } = parseRefId(id);
    let obj: KObject | undefined;
    try {
      obj = store.get(key, namespace, name);
    } catch {
      return; // the resource type is gone (CRD deleted)
    }
    if (!obj) return;
    const uid = obj.metadata.uid!;
    const finalizers = obj.metadata.finalizers ?? [];

    if (obj.metadata.deletionTimestamp && finalizers.includes(ORPHAN)) {
      for (const dep of index.dependents(uid)) {
        store.mutate(
          dep.key,
          dep.namespace,
          dep.name,
          (o) => {
            const refs = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
            if (refs.length === (o.metadata.ownerReferences ?? []).length) return false;
            if (refs.length) o.metadata.ownerReferences = refs;
            else delete o.metadata.ownerReferences;
          },
          actor(COMPONENT),
        );
      }
      removeFinalizer(key, obj, ORPHAN);
      return;
    }
    if (obj.metadata.deletionTimestamp && finalizers.includes(FOREGROUND)) {
      let blocking = 0;
      for (const dep of index.dependents(uid)) {
        const d = store.get(dep.key, dep.namespace, dep.name);
        if (!d) continue;
        const ref = d.metadata.ownerReferences?.find((r) => r.uid === uid);
        if (!ref) continue;
        // a dependent with dependents of its own is deleted in the foreground too, so the chain waits
        if (!d.metadata.deletionTimestamp)
          deleteQuietly(dep.key, d, index.hasDependents(d.metadata.uid!) ? "Foreground" : "Background");
        const still = store.get(dep.key, dep.namespace, dep.name);
        if (still?.metadata.uid === d.metadata.uid && ref.blockOwnerDeletion) blocking++;
      }
      if (blocking === 0) removeFinalizer(key, obj, FOREGROUND);
      return;
    }

    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const dangling = refs.filter((r) => !ownerPresent(r, namespace));
    if (dangling.length === 0) return;
    if (dangling.length === refs.length) {
      if (!obj.metadata.deletionTimestamp) deleteQuietly(key, obj, "Background");
      return;
    }
    // some owners remain: only the references to the missing ones are removed
    store.mutate(
      key,
      namespace,
      name,
      (o) => {
        const kept = (o.metadata.ownerReferences ?? []).filter((r) => !dangling.some((x) => x.uid === r.uid));
        if (deepEqual(kept, o.metadata.ownerReferences)) return false;
        o.metadata.ownerReferences = kept;
      },
      actor(COMPONENT),
    );
  });

  /** owners in foreground deletion re-check when one of their dependents goes away */
  function wakeWaitingOwners(obj: KObject): void {
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const k = keyOfKind(ref.apiVersion, ref.kind);
      if (!k) continue;
      const ns = k.namespaced ? obj.metadata.namespace : undefined;
      const owner = store.get(k.key, ns, ref.name);
      if (owner?.metadata.uid === ref.uid && owner.metadata.finalizers?.includes(FOREGROUND))
        queue.add(refId(k.key, ns, ref.name));
    }
  }

  return {
    queue,
    onEvent(ev: StoreEvent) {
      const obj = ev.object;
      const id = refId(ev.key, obj.metadata.namespace, obj.metadata.name!);
      if (ev.type === "DELETED") {
        for (const dep of index.dependents(obj.metadata.uid!)) queue.add(refId(dep.key, dep.namespace, dep.name));
        wakeWaitingOwners(obj);
        return;
      }
      const refs = obj.metadata.ownerReferences;
      if (refs?.length && (ev.type === "ADDED" || !deepEqual(refs, ev.old?.metadata.ownerReferences))) queue.add(id);
      const fin = obj.metadata.finalizers;
      if (obj.metadata.deletionTimestamp && (fin?.includes(FOREGROUND) || fin?.includes(ORPHAN))) queue.add(id);
      // a dependent that started terminating may be the last one an owner waits for
      if (obj.metadata.deletionTimestamp && !ev.old?.metadata.deletionTimestamp && refs?.length) wakeWaitingOwners(obj);
    },
  };
}
