// The namespace lifecycle controller: a Terminating namespace (deletionTimestamp set, spec.finalizers
// ["kubernetes"]) has all its content deleted; when nothing is left the `kubernetes` finalizer is
// removed and the store deletes the namespace. Conditions as the real controller reports them.
import { ApiError, type StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import { type Condition, setCondition, timestamp } from "./meta.js";

const COMPONENT = "namespace-controller";
const KUBERNETES_FINALIZER = "kubernetes";

/** "replicasets.apps" from "apps/replicasets" (the resource names the conditions use) */
function resourceName(key: string): string {
  const [group, plural] = key.split("/");
  return group ? `${plural}.${group}` : plural;
}

export function namespaceController(ctx: ControllerContext): Controller {
  const { store, index } = ctx;

  const queue = ctx.loop.queue("namespace", (name) => {
    const ns = store.get("/namespaces", undefined, name);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    if (!(ns.spec?.finalizers ?? []).includes(KUBERNETES_FINALIZER)) return;

    let failure: string | undefined;
    for (const [key, names] of index.contentOf(name)) {
      for (const n of names) {
        const obj = store.get(key, name, n);
        if (!obj || obj.metadata.deletionTimestamp) continue;
        try {
          store.delete(key, name, n, {
            propagationPolicy: "Background",
            preconditions: { uid: obj.metadata.uid },
            actor: actor(COMPONENT).actor,
          });
        } catch (err) {
          if (!(err instanceof ApiError && (err.code === 404 || err.code === 409)))
            failure = `Failed to delete all resource types, 1 remaining: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
    }

    const remaining = index.contentOf(name);
    const counts: string[] = [];
    const finalizerCounts = new Map<string, number>();
    for (const [key, names] of remaining) {
      counts.push(`${resourceName(key)} has ${names.length} resource instances`);
      for (const n of names)
        for (const f of store.get(key, name, n)?.metadata.finalizers ?? [])
          finalizerCounts.set(f, (finalizerCounts.get(f) ?? 0) + 1);
    }
    const nowIso = timestamp(ctx.now());
    store.mutate(
      "/namespaces",
      undefined,
      name,
      (o) => {
        let conds: Condition[] = o.status?.conditions ?? [];
        const set = (type: string, status: boolean, reason: string, message: string) => {
          conds = setCondition(conds, { type, status: status ? "True" : "False", reason, message }, nowIso);
        };
        set("NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered", "All resources successfully discovered");
        set(
          "NamespaceDeletionGroupVersionParsingFailure",
          false,
          "ParsedGroupVersions",
          "All legacy kube types successfully parsed",
        );
        if (failure) set("NamespaceDeletionContentFailure", true, "ContentDeletionFailed", failure);
        else
          set(
            "NamespaceDeletionContentFailure",
            false,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
          );
        if (counts.length)
          set(
            "NamespaceContentRemaining",
            true,
            "SomeResourcesRemain",
            `Some resources are remaining: ${counts.join(", ")}`,
          );
        else set("NamespaceContentRemaining", false, "ContentRemoved", "All content successfully removed");
        if (finalizerCounts.size)
          set(
            "NamespaceFinalizersRemaining",
            true,
            "SomeFinalizersRemain",
            `Some content in the namespace has finalizers remaining: ${[...finalizerCounts].map(([f, c]) => `${f} in ${c} resource instances`).join(", ")}`,
          );
        else
          set(
            "NamespaceFinalizersRemaining",
            false,
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
          );
        o.status = { ...(o.status ?? {}), phase: "Terminating", conditions: conds };
      },
      { subresource: "status", ...actor(COMPONENT) },
    );

    if (remaining.size > 0) return { requeueAfterMs: 1000, settling: false };
    // the finalize step: an empty list, not a missing one (defaulting would put "kubernetes" back)
    store.mutate(
      "/namespaces",
      undefined,
      name,
      (o) => {
        const rest = (o.spec?.finalizers ?? []).filter((f: string) => f !== KUBERNETES_FINALIZER);
        o.spec = { ...(o.spec ?? {}), finalizers: rest };
      },
      actor(COMPONENT),
    );
  });

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "/namespaces") {
        if (ev.type !== "DELETED" && ev.object.metadata.deletionTimestamp) queue.add(ev.object.metadata.name!);
        return;
      }
      const ns = ev.object.metadata.namespace;
      if (ns && ev.type === "DELETED") {
        const owner = store.get("/namespaces", undefined, ns);
        if (owner?.metadata.deletionTimestamp) queue.add(ns);
      }
    },
  };
}
