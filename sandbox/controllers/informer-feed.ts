// What an informer gives a controller, on the store directly: subscribe first, then replay every stored
// object as ADDED (the initial list), then the changes that came meanwhile, minus ADDEDs the replay already
// delivered, so nothing between the list and the first live event is lost or delivered twice.
import { resourceKey, type ClusterStore, type KObject, type ResourceType, type StoreEvent } from "../api/types.js";

export interface InformerFeed {
  /** deliver what the store holds, then what changed since subscribing; live events follow directly */
  replay(): void;
  stop(): void;
}

/** The resource keys a store serves (all its types), or `fallback` when it cannot list them. */
export function servedKeys(store: ClusterStore, fallback: readonly string[]): string[] {
  const types = (store as { types?: { all?: () => ResourceType[] } }).types;
  const all = typeof types?.all === "function" ? types.all().map((t) => resourceKey(t.group, t.plural)) : fallback;
  return [...new Set(all)];
}

/** Subscribes now (events are held until replay()); `keys` is read at replay time. */
export function informerFeed(
  store: ClusterStore,
  keys: () => string[],
  deliver: (ev: StoreEvent) => void,
): InformerFeed {
  const buffered: StoreEvent[] = [];
  let replaying = true;
  const unsubscribe = store.subscribe((ev) => (replaying ? buffered.push(ev) : deliver(ev)));
  return {
    replay() {
      const seen = new Set<string>();
      for (const key of keys()) {
        let items: KObject[];
        try {
          items = store.list(key);
        } catch {
          continue;
        }
        for (const object of items) {
          seen.add(`${key}|${object.metadata.uid}`);
          deliver({ type: "ADDED", key, object, rv: Number(object.metadata.resourceVersion ?? 0) });
        }
      }
      replaying = false;
      for (const ev of buffered.splice(0))
        if (!(ev.type === "ADDED" && seen.has(`${ev.key}|${ev.object.metadata.uid}`))) deliver(ev);
    },
    stop: unsubscribe,
  };
}
