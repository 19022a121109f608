// kube-scheduler, reduced to what the sandbox needs: bind each unscheduled pod to a Ready,
// schedulable node that satisfies its nodeSelector, required node affinity on metadata.name
// (how DaemonSet pods are pinned) and NoSchedule taints — round-robin over the fitting nodes.
import type { KObject, StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import { findCondition, isDeleting, objKey, splitNsName, timestamp } from "./meta.js";
import { podNode } from "./pods.js";

const COMPONENT = "default-scheduler";

function tolerates(pod: KObject, taint: { key: string; value?: string; effect: string }): boolean {
  return (pod.spec?.tolerations ?? []).some((t: any) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === "Exists") return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
  });
}

/** why a node does not fit the pod, or undefined when it fits */
export function nodeMismatch(pod: KObject, node: KObject): string | undefined {
  if (findCondition(node, "Ready")?.status !== "True") return "node(s) were not ready";
  if (node.spec?.unschedulable) return "node(s) were unschedulable";
  const pinned = podNode(pod);
  if (pinned && pinned !== node.metadata.name) return "node(s) didn't match Pod's node affinity/selector";
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries<string>(pod.spec?.nodeSelector ?? {})) {
    if (labels[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
  }
  for (const taint of node.spec?.taints ?? []) {
    if ((taint.effect === "NoSchedule" || taint.effect === "NoExecute") && !tolerates(pod, taint))
      return "node(s) had untolerated taint";
  }
  return undefined;
}

export function schedulerController(ctx: ControllerContext): Controller {
  const { store, events } = ctx;
  let next = 0;
  const unschedulable = new Set<string>();

  const queue = ctx.loop.queue("scheduler", (key) => {
    const { namespace, name } = splitNsName(key);
    const pod = store.get("/pods", namespace, name);
    if (!pod || pod.spec?.nodeName || isDeleting(pod) || (pod.spec?.schedulerName ?? COMPONENT) !== COMPONENT) {
      unschedulable.delete(key);
      return;
    }
    const nodes = store.list("/nodes");
    const reasons = new Map<string, number>();
    const fitting: KObject[] = [];
    for (const n of nodes) {
      const why = nodeMismatch(pod, n);
      if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
      else fitting.push(n);
    }
    if (fitting.length === 0) {
      unschedulable.add(key);
      const detail = [...reasons].map(([why, n]) => `${n} ${why}`).join(", ");
      const message = `0/${nodes.length} nodes are available${detail ? `: ${detail}` : ""}.`;
      store.mutate(
        "/pods",
        namespace,
        name,
        (p) => {
          const conds = (p.status?.conditions ?? []).filter((c: any) => c.type !== "PodScheduled");
          conds.push({
            type: "PodScheduled",
            status: "False",
            lastProbeTime: null,
            lastTransitionTime: timestamp(ctx.now()),
            reason: "Unschedulable",
            message,
          });
          const prev = (p.status?.conditions ?? []).find((c: any) => c.type === "PodScheduled");
          if (prev?.status === "False" && prev.message === message) return false;
          p.status = { ...(p.status ?? {}), phase: "Pending", conditions: conds };
        },
        { subresource: "status", ...actor(COMPONENT) },
      );
      events.record(pod, "Warning", "FailedScheduling", message, COMPONENT);
      return;
    }
    unschedulable.delete(key);
    const node = fitting[next++ % fitting.length];
    const nodeName = node.metadata.name!;
    // the Binding subresource's effect: spec.nodeName set once (the kubelet then reports PodScheduled)
    const bound = store.mutate(
      "/pods",
      namespace,
      name,
      (p) => {
        if (p.spec.nodeName) return false;
        p.spec.nodeName = nodeName;
      },
      actor(COMPONENT),
    );
    if (bound?.spec?.nodeName === nodeName)
      events.record(pod, "Normal", "Scheduled", `Successfully assigned ${namespace}/${name} to ${nodeName}`, COMPONENT);
  });

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "/pods") {
        if (ev.type !== "DELETED" && !ev.object.spec?.nodeName && !isDeleting(ev.object)) queue.add(objKey(ev.object));
        else unschedulable.delete(objKey(ev.object));
      } else if (ev.key === "/nodes") {
        for (const k of unschedulable) queue.add(k);
      }
    },
  };
}
