// The DaemonSet controller: one pod per eligible node (nodeSelector, tolerated taints), pinned by
// node affinity on metadata.name as the real controller does, ControllerRevisions with the
// `controller-revision-hash` pod label, RollingUpdate within maxUnavailable (rounded up, as for
// DaemonSets), OnDelete, and the status `kubectl rollout status ds` reads.
import { ApiError, type KObject, type StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import {
  CONTROLLER_REVISION_HASH,
  controllerRef,
  creationMs,
  isDeleting,
  objKey,
  randomSuffix,
  scaledValue,
  splitNsName,
} from "./meta.js";
import { isAvailable, isReady, isTerminal, msUntilAvailable, podNode, podChangeMatters } from "./pods.js";
import { createErrorMessage, podFromTemplate } from "./replicaset.js";
import { ensureRevision, ownedRevisions, truncateHistory } from "./revisions.js";

const COMPONENT = "daemonset-controller";

/** util.AddOrUpdateDaemonPodTolerations: what every daemon pod tolerates */
const DAEMON_TOLERATIONS = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

function tolerated(tolerations: any[], taint: any): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === "Exists") return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
  });
}

/** nodeShouldRunDaemonPod: the node matches the template's nodeSelector and its taints are tolerated */
export function nodeRunsDaemon(ds: KObject, node: KObject): boolean {
  const spec = ds.spec?.template?.spec ?? {};
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries<string>(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const tolerations = [...(spec.tolerations ?? []), ...DAEMON_TOLERATIONS];
  for (const taint of node.spec?.taints ?? []) {
    if ((taint.effect === "NoSchedule" || taint.effect === "NoExecute") && !tolerated(tolerations, taint)) return false;
  }
  return true;
}

export function daemonSetController(ctx: ControllerContext): Controller {
  const { store, index, events } = ctx;

  const queue = ctx.loop.queue("daemonset", (key) => {
    const { namespace, name } = splitNsName(key);
    const ds = store.get("apps/daemonsets", namespace, name);
    if (!ds) return;
    const now = ctx.now();
    const minReady: number = ds.spec?.minReadySeconds ?? 0;
    const revisions = ownedRevisions(ctx, ds);
    const { revision, hash } = ensureRevision(ctx, ds, "apps/v1", "DaemonSet", revisions, COMPONENT);
    let result: { requeueAfterMs: number; settling: boolean } | undefined;

    const nodes = store.list("/nodes");
    const eligible = new Set(nodes.filter((n) => nodeRunsDaemon(ds, n)).map((n) => n.metadata.name!));
    const podsByNode = new Map<string, KObject[]>();
    for (const ref of index.dependents(ds.metadata.uid!)) {
      if (ref.key !== "/pods") continue;
      const p = store.get("/pods", ref.namespace, ref.name);
      if (!p || controllerRef(p)?.uid !== ds.metadata.uid) continue;
      const node = podNode(p) ?? "";
      const list = podsByNode.get(node) ?? [];
      list.push(p);
      podsByNode.set(node, list);
    }

    const del = (p: KObject) => {
      try {
        store.delete("/pods", namespace, p.metadata.name!, {
          preconditions: { uid: p.metadata.uid },
          actor: actor(COMPONENT).actor,
        });
        events.record(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata.name}`, COMPONENT);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    };
    const create = (nodeName: string): KObject | undefined => {
      const pod = podFromTemplate({
        owner: ds,
        ownerApiVersion: "apps/v1",
        ownerKind: "DaemonSet",
        template: ds.spec.template,
        name: `${name}-${randomSuffix()}`,
        labels: { [CONTROLLER_REVISION_HASH]: hash, "pod-template-generation": String(ds.metadata.generation ?? 1) },
      });
      const spec = pod.spec;
      // pinned to its node through required node affinity on metadata.name (ScheduleDaemonSetPods)
      spec.affinity = {
        ...(spec.affinity ?? {}),
        nodeAffinity: {
          ...(spec.affinity?.nodeAffinity ?? {}),
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] }],
          },
        },
      };
      const existing: any[] = spec.tolerations ?? [];
      spec.tolerations = [
        ...existing,
        ...DAEMON_TOLERATIONS.filter((t) => !existing.some((e) => e.key === t.key && e.effect === t.effect)),
      ];
      try {
        const created = store.create("/pods", pod, actor(COMPONENT));
        events.record(ds, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`, COMPONENT);
        return created;
      } catch (err) {
        events.record(ds, "Warning", "FailedCreate", `Error creating: ${createErrorMessage(err)}`, COMPONENT);
        result = { requeueAfterMs: 1000, settling: false };
        return undefined;
      }
    };

    if (!isDeleting(ds)) {
      for (const [node, pods] of podsByNode) {
        if (!eligible.has(node)) for (const p of pods) if (!isDeleting(p)) del(p);
      }
      for (const node of eligible) {
        const pods = podsByNode.get(node) ?? [];
        for (const p of pods) if (isTerminal(p) && !isDeleting(p)) del(p); // failed daemon pods are replaced
        const running = pods
          .filter((p) => !isDeleting(p) && !isTerminal(p))
          .sort((a, b) => creationMs(a) - creationMs(b));
        if (running.length === 0) {
          const p = create(node);
          if (p) podsByNode.set(node, [...pods, p]);
        } else for (const extra of running.slice(1)) del(extra);
      }
      if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
        const maxUnavailable = scaledValue(
          ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable,
          eligible.size,
          true,
          1,
        );
        const live = (node: string) => (podsByNode.get(node) ?? []).filter((p) => !isDeleting(p) && !isTerminal(p));
        let unavailable = 0;
        const oldAvailable: KObject[] = [];
        for (const node of eligible) {
          const pods = live(node);
          const newPod = pods.find((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash);
          const oldPods = pods.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== hash);
          const availableNow = pods.some((p) => isAvailable(p, minReady, now));
          if (!availableNow) unavailable++;
          for (const old of oldPods) {
            if (newPod) continue;
            // an old pod that is not available anyway can go at no cost
            if (!isAvailable(old, minReady, now)) del(old);
            else oldAvailable.push(old);
          }
        }
        for (const old of oldAvailable.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
          if (unavailable >= maxUnavailable) break;
          del(old);
          unavailable++;
        }
      }
    }

    // status
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    for (const [node, pods] of podsByNode) {
      const live = pods
        .map((p) => store.get("/pods", p.metadata.namespace, p.metadata.name!))
        .filter((p): p is KObject => !!p && !isDeleting(p));
      if (live.length === 0) continue;
      if (!eligible.has(node)) {
        misscheduled++;
        continue;
      }
      current++;
      if (live.some((p) => isReady(p))) ready++;
      if (live.some((p) => isAvailable(p, minReady, now))) available++;
      else {
        const wait = live.map((p) => msUntilAvailable(p, minReady, now)).find((w) => w !== undefined);
        if (wait !== undefined && !result) result = { requeueAfterMs: wait + 5, settling: true };
      }
      if (live.some((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash)) updated++;
    }
    store.mutate(
      "apps/daemonsets",
      namespace,
      name,
      (o) => {
        const status: Record<string, unknown> = {
          currentNumberScheduled: current,
          numberMisscheduled: misscheduled,
          desiredNumberScheduled: eligible.size,
          numberReady: ready,
          observedGeneration: o.metadata.generation,
          updatedNumberScheduled: updated,
          numberAvailable: available,
          numberUnavailable: Math.max(0, eligible.size - available),
        };
        if (!updated) delete status.updatedNumberScheduled;
        if (!available) delete status.numberAvailable;
        if (!status.numberUnavailable) delete status.numberUnavailable;
        if (o.status?.collisionCount !== undefined) status.collisionCount = o.status.collisionCount;
        o.status = status;
      },
      { subresource: "status", ...actor(COMPONENT) },
    );

    const live = new Set<string>([revision.metadata.name!]);
    for (const pods of podsByNode.values())
      for (const p of pods)
        if (p.metadata.labels?.[CONTROLLER_REVISION_HASH])
          live.add(`${name}-${p.metadata.labels[CONTROLLER_REVISION_HASH]}`);
    truncateHistory(ctx, ds, ownedRevisions(ctx, ds), live, COMPONENT);
    return result;
  });

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "apps/daemonsets") {
        if (ev.type !== "DELETED") queue.add(objKey(ev.object));
      } else if (ev.key === "/pods") {
        const ref = controllerRef(ev.object);
        if (ref?.kind === "DaemonSet" && podChangeMatters(ev)) queue.add(`${ev.object.metadata.namespace}/${ref.name}`);
      } else if (ev.key === "/nodes") {
        if (
          ev.type === "MODIFIED" &&
          JSON.stringify([ev.old?.metadata.labels, ev.old?.spec]) ===
            JSON.stringify([ev.object.metadata.labels, ev.object.spec])
        )
          return;
        // node added/removed/relabelled/tainted: every DaemonSet looks again (there are few)
        for (const ns of new Set(index.names("/namespaces", undefined))) {
          for (const n of index.names("apps/daemonsets", ns)) queue.add(`${ns}/${n}`);
        }
      }
    },
  };
}
