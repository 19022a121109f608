// core/v1 Events as client-go's event recorder writes them: `<object>.<hex time>` names,
// repeats of the same (object, reason, message) folded into `count` (the EventCorrelator rule),
// and a cap on stored events so a 20,000-pod scenario does not drown in them.
import type { ClusterStore, KObject } from "../api/types.js";
import { timestamp } from "./meta.js";

export type EventType = "Normal" | "Warning";

export interface EventRecorder {
  record(obj: KObject, type: EventType, reason: string, message: string, component: string, host?: string): void;
}

interface Recorded {
  namespace: string;
  name: string;
}

/** a silent recorder for `events: false` */
export const noEvents: EventRecorder = { record() {} };

export function eventRecorder(store: ClusterStore, now: () => number, cap = 2000): EventRecorder {
  const byCorrelation = new Map<string, Recorded>();
  const fifo: string[] = [];
  let seq = 0;

  return {
    record(obj, type, reason, message, component, host) {
      const uid = obj.metadata.uid ?? "";
      const correlation = `${uid}\u0000${reason}\u0000${message}`;
      const nowMs = now();
      const ts = timestamp(nowMs);
      const prev = byCorrelation.get(correlation);
      try {
        if (prev) {
          const cur = store.get("/events", prev.namespace, prev.name);
          if (cur) {
            // count and lastTimestamp are all that change: a copy-on-write update of the stored Event
            store.updateShared(
              "/events",
              { ...cur, count: (cur.count ?? 1) + 1, lastTimestamp: ts },
              { actor: `system:${component}` },
            );
            return;
          }
          byCorrelation.delete(correlation);
        }
        const namespace = obj.metadata.namespace ?? "default";
        // client-go names events `<object>.<UnixNano in hex>`; the sequence keeps same-millisecond events apart
        const name = `${obj.metadata.name}.${(BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(seq++ % 1_000_000)).toString(16)}`;
        // a new object nobody else holds: handed to the store without a copy
        store.createShared(
          "/events",
          {
            apiVersion: "v1",
            kind: "Event",
            metadata: { name, namespace },
            involvedObject: {
              apiVersion: obj.apiVersion,
              kind: obj.kind,
              name: obj.metadata.name,
              namespace: obj.metadata.namespace,
              uid: obj.metadata.uid,
              resourceVersion: obj.metadata.resourceVersion,
            },
            reason,
            message,
            type,
            count: 1,
            firstTimestamp: ts,
            lastTimestamp: ts,
            eventTime: null,
            source: host ? { component, host } : { component },
            reportingComponent: component,
            reportingInstance: host ?? "",
          },
          { actor: `system:${component}` },
        );
        byCorrelation.set(correlation, { namespace, name });
        fifo.push(correlation);
        while (fifo.length > cap) {
          const old = fifo.shift()!;
          const r = byCorrelation.get(old);
          byCorrelation.delete(old);
          if (r && store.get("/events", r.namespace, r.name))
            store.delete("/events", r.namespace, r.name, { actor: `system:${component}` });
        }
      } catch {
        // events are best effort, as in client-go: a terminating namespace refuses them (403)
      }
    },
  };
}
