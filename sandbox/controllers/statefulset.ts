// The StatefulSet controller: pods <name>-0..N-1 with stable identity, created in order and removed
// from the highest ordinal (OrderedReady waits for each to be Running and Ready; Parallel does not),
// ControllerRevisions with the `controller-revision-hash` pod label, RollingUpdate from the highest
// ordinal down to `partition`, OnDelete, and the status `kubectl rollout status sts` reads.
import { ApiError, type KObject, type StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import { CONTROLLER_REVISION_HASH, controllerRef, isDeleting, objKey, omitZero, splitNsName } from "./meta.js";
import { isAvailable, isReady, isTerminal, msUntilAvailable, podChangeMatters } from "./pods.js";
import { createErrorMessage, podFromTemplate } from "./replicaset.js";
import { ensureRevision, ownedRevisions, templateOf, truncateHistory } from "./revisions.js";

const COMPONENT = "statefulset-controller";

function ordinalOf(sts: KObject, pod: KObject): number | undefined {
  const prefix = `${sts.metadata.name}-`;
  const name = pod.metadata.name!;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export function statefulSetController(ctx: ControllerContext): Controller {
  const { store, index, events } = ctx;

  const queue = ctx.loop.queue("statefulset", (key) => {
    const { namespace, name } = splitNsName(key);
    const sts = store.get("apps/statefulsets", namespace, name);
    if (!sts) return;
    const now = ctx.now();
    const minReady: number = sts.spec?.minReadySeconds ?? 0;
    const healthy = (p: KObject) => p.status?.phase === "Running" && isAvailable(p, minReady, now) && !isDeleting(p);

    const revisions = ownedRevisions(ctx, sts);
    const { revision: updateRev } = ensureRevision(ctx, sts, "apps/v1", "StatefulSet", revisions, COMPONENT);
    const allRevisions = ownedRevisions(ctx, sts);
    const updateName = updateRev.metadata.name!;
    const currentName: string = allRevisions.some((r) => r.metadata.name === sts.status?.currentRevision)
      ? sts.status.currentRevision
      : updateName;
    const currentRev = allRevisions.find((r) => r.metadata.name === currentName) ?? updateRev;

    const pods: KObject[] = [];
    for (const ref of index.dependents(sts.metadata.uid!)) {
      if (ref.key !== "/pods") continue;
      const p = store.get("/pods", ref.namespace, ref.name);
      if (p && controllerRef(p)?.uid === sts.metadata.uid) pods.push(p);
    }
    const byOrdinal = new Map<number, KObject>();
    for (const p of pods) {
      const o = ordinalOf(sts, p);
      if (o !== undefined) byOrdinal.set(o, p);
    }
    const replicas: number = sts.spec?.replicas ?? 1;
    const monotonic = (sts.spec?.podManagementPolicy ?? "OrderedReady") !== "Parallel";
    const strategy = sts.spec?.updateStrategy?.type ?? "RollingUpdate";
    const partition: number =
      strategy === "RollingUpdate" ? (sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
    let result: { requeueAfterMs: number; settling: boolean } | undefined;

    const createPod = (ordinal: number): boolean => {
      // newVersionedStatefulSetPod: below the partition pods keep the current revision
      const rev = strategy === "RollingUpdate" && ordinal < partition ? currentRev : updateRev;
      const podName = `${name}-${ordinal}`;
      try {
        const pod = store.create(
          "/pods",
          podFromTemplate({
            owner: sts,
            ownerApiVersion: "apps/v1",
            ownerKind: "StatefulSet",
            template: templateOf(rev),
            name: podName,
            labels: {
              [CONTROLLER_REVISION_HASH]: rev.metadata.name!,
              "statefulset.kubernetes.io/pod-name": podName,
              "apps.kubernetes.io/pod-index": String(ordinal),
            },
            extraSpec: { hostname: podName, ...(sts.spec?.serviceName ? { subdomain: sts.spec.serviceName } : {}) },
          }),
          actor(COMPONENT),
        );
        byOrdinal.set(ordinal, pod);
        events.record(
          sts,
          "Normal",
          "SuccessfulCreate",
          `create Pod ${podName} in StatefulSet ${name} successful`,
          COMPONENT,
        );
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.code === 409) return false; // the old pod is still terminating
        events.record(
          sts,
          "Warning",
          "FailedCreate",
          `create Pod ${podName} in StatefulSet ${name} failed error: ${createErrorMessage(err)}`,
          COMPONENT,
        );
        result = { requeueAfterMs: 1000, settling: false };
        return false;
      }
    };
    const deletePod = (pod: KObject): void => {
      try {
        store.delete("/pods", namespace, pod.metadata.name!, {
          preconditions: { uid: pod.metadata.uid },
          actor: actor(COMPONENT).actor,
        });
        events.record(
          sts,
          "Normal",
          "SuccessfulDelete",
          `delete Pod ${pod.metadata.name} in StatefulSet ${name} successful`,
          COMPONENT,
        );
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    };

    const sync = (): void => {
      if (isDeleting(sts)) return;
      // bring up 0..replicas-1 in order
      for (let ord = 0; ord < replicas; ord++) {
        const pod = byOrdinal.get(ord);
        if (!pod) {
          createPod(ord);
          if (monotonic) return;
          continue;
        }
        if (isTerminal(pod)) {
          // a failed (or finished) member is replaced
          deletePod(pod);
          if (monotonic) return;
          continue;
        }
        if (isDeleting(pod)) {
          if (monotonic) return;
          continue;
        }
        if (!healthy(pod) && monotonic) {
          const wait = msUntilAvailable(pod, minReady, now);
          if (wait !== undefined) result = { requeueAfterMs: wait + 5, settling: true };
          return;
        }
      }
      // scale down from the highest ordinal, one at a time when ordered
      const condemned = [...byOrdinal.entries()].filter(([o]) => o >= replicas).sort((a, b) => b[0] - a[0]);
      for (const [, pod] of condemned) {
        if (isDeleting(pod)) {
          if (monotonic) return;
          continue;
        }
        deletePod(pod);
        if (monotonic) return;
      }
      if (strategy !== "RollingUpdate") return;
      // rolling update: highest ordinal first, down to the partition; one pod at a time
      for (let ord = replicas - 1; ord >= partition; ord--) {
        const pod = byOrdinal.get(ord);
        if (!pod) return;
        if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH] !== updateName && !isDeleting(pod)) {
          deletePod(pod);
          return;
        }
        if (!healthy(pod)) return;
      }
    };
    sync();

    // status over every pod the set owns
    let created = 0;
    let ready = 0;
    let available = 0;
    let current = 0;
    let updated = 0;
    for (const ref of index.dependents(sts.metadata.uid!)) {
      if (ref.key !== "/pods") continue;
      const p = store.get("/pods", ref.namespace, ref.name);
      if (!p || controllerRef(p)?.uid !== sts.metadata.uid) continue;
      created++;
      if (p.status?.phase === "Running" && isReady(p)) {
        ready++;
        if (isAvailable(p, minReady, now)) available++;
      }
      if (!isDeleting(p)) {
        const rev = p.metadata.labels?.[CONTROLLER_REVISION_HASH];
        if (rev === currentName) current++;
        if (rev === updateName) updated++;
      }
    }
    let statusCurrent = currentName;
    // completeRollingUpdate: once every pod runs the update revision it becomes the current one
    if (updated === replicas && ready === replicas && created === replicas) {
      statusCurrent = updateName;
      current = updated;
    }
    store.mutate(
      "apps/statefulsets",
      namespace,
      name,
      (o) => {
        const status: Record<string, unknown> = omitZero({
          observedGeneration: o.metadata.generation,
          replicas: created,
          readyReplicas: ready,
          currentReplicas: current,
          updatedReplicas: updated,
          availableReplicas: available,
        });
        status.replicas = created;
        status.availableReplicas = available;
        status.currentRevision = statusCurrent;
        status.updateRevision = updateName;
        status.collisionCount = o.status?.collisionCount ?? 0;
        o.status = status;
      },
      { subresource: "status", ...actor(COMPONENT) },
    );

    const live = new Set<string>([statusCurrent, updateName]);
    for (const p of byOrdinal.values()) {
      const rev = p.metadata.labels?.[CONTROLLER_REVISION_HASH];
      if (rev) live.add(rev);
    }
    truncateHistory(ctx, sts, ownedRevisions(ctx, sts), live, COMPONENT);
    return result;
  });

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "apps/statefulsets") {
        if (ev.type !== "DELETED") queue.add(objKey(ev.object));
      } else if (ev.key === "/pods") {
        const ref = controllerRef(ev.object);
        if (ref?.kind === "StatefulSet" && podChangeMatters(ev))
          queue.add(`${ev.object.metadata.namespace}/${ref.name}`);
      }
    },
  };
}
