// ControllerRevisions, the pod-template history of StatefulSets and DaemonSets
// (k8s.io/kubernetes/pkg/controller/history): data is a replace-patch of spec.template,
// named <owner>-<hash>, numbered by `revision`; equal templates reuse their revision.
import { ApiError, type KObject } from "../api/types.js";
import type { ControllerContext } from "./context.js";
import { clone, controllerRef, deepEqual, ownerRefTo, templateHash } from "./meta.js";

export const REVISION_HASH_LABEL = "controller.kubernetes.io/hash";

/** the patch a revision stores: `{spec: {template: {..., $patch: replace}}}` */
export function revisionData(owner: KObject): any {
  return { spec: { template: { ...clone(owner.spec?.template ?? {}), $patch: "replace" } } };
}

/** the pod template a revision records */
export function templateOf(revision: KObject): any {
  const tpl = clone(revision.data?.spec?.template ?? {});
  delete tpl.$patch;
  return tpl;
}

export function ownedRevisions(ctx: ControllerContext, owner: KObject): KObject[] {
  const out: KObject[] = [];
  for (const ref of ctx.index.dependents(owner.metadata.uid!)) {
    if (ref.key !== "apps/controllerrevisions") continue;
    const r = ctx.store.get("apps/controllerrevisions", ref.namespace, ref.name);
    if (r && controllerRef(r)?.uid === owner.metadata.uid) out.push(r);
  }
  return out.sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
}

/**
 * The revision for the owner's current template: an equal existing one (moved to the newest revision
 * number when it is not the newest, as `rollout undo` does) or a new one.
 */
export function ensureRevision(
  ctx: ControllerContext,
  owner: KObject,
  ownerApiVersion: string,
  ownerKind: string,
  revisions: KObject[],
  component: string,
): { revision: KObject; hash: string } {
  const data = revisionData(owner);
  const collisionCount: number = owner.status?.collisionCount ?? 0;
  const hash = templateHash(data, collisionCount);
  const max = revisions.reduce((m, r) => Math.max(m, r.revision ?? 0), 0);
  const equal = revisions.filter((r) => deepEqual(r.data, data));
  if (equal.length) {
    const latest = equal[equal.length - 1];
    const h =
      latest.metadata.labels?.[REVISION_HASH_LABEL] ?? latest.metadata.name!.slice(owner.metadata.name!.length + 1);
    if ((latest.revision ?? 0) === max) return { revision: latest, hash: h };
    const updated = ctx.store.mutate(
      "apps/controllerrevisions",
      latest.metadata.namespace,
      latest.metadata.name!,
      (o) => {
        o.revision = max + 1;
      },
      { actor: `system:serviceaccount:kube-system:${component}` },
    )!;
    return { revision: updated, hash: h };
  }
  const name = `${owner.metadata.name}-${hash}`;
  try {
    const created = ctx.store.create(
      "apps/controllerrevisions",
      {
        apiVersion: "apps/v1",
        kind: "ControllerRevision",
        metadata: {
          name,
          namespace: owner.metadata.namespace,
          labels: { ...(owner.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
          ownerReferences: [ownerRefTo(owner, ownerApiVersion, ownerKind)],
        },
        data,
        revision: max + 1,
      },
      { actor: `system:serviceaccount:kube-system:${component}` },
    );
    return { revision: created, hash };
  } catch (err) {
    if (err instanceof ApiError && err.code === 409) {
      const clash = ctx.store.get("apps/controllerrevisions", owner.metadata.namespace, name);
      if (clash && controllerRef(clash)?.uid === owner.metadata.uid && deepEqual(clash.data, data))
        return { revision: clash, hash };
    }
    throw err;
  }
}

/** truncateHistory: keep revisionHistoryLimit revisions besides the live ones, oldest go first */
export function truncateHistory(
  ctx: ControllerContext,
  owner: KObject,
  revisions: KObject[],
  live: Set<string>,
  component: string,
): void {
  const limit: number = owner.spec?.revisionHistoryLimit ?? 10;
  const history = revisions.filter((r) => !live.has(r.metadata.name!));
  for (const r of history.slice(0, Math.max(0, history.length - limit))) {
    try {
      ctx.store.delete("apps/controllerrevisions", r.metadata.namespace, r.metadata.name!, {
        actor: `system:serviceaccount:kube-system:${component}`,
      });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
}
