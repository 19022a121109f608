// What every simulated controller is given: the store, the shared indexes, the work loop, the clock.
import type { ClusterStore, KObject, PodFault, SimTiming, StoreEvent } from "../api/types.js";
import type { ClusterIndex } from "./cluster-index.js";
import type { EventRecorder } from "./events.js";
import type { Queue, WorkLoop } from "./workloop.js";

export interface ControllerContext {
  store: ClusterStore;
  index: ClusterIndex;
  loop: WorkLoop;
  events: EventRecorder;
  /** wall clock for timestamps written into objects (ms since epoch) */
  now: () => number;
  timing: SimTiming;
  podFault: (pod: KObject) => PodFault;
  /** names of the nodes whose kubelet this sandbox simulates */
  nodes: string[];
}

/** One simulated controller: routes store events to its own queue. */
export interface Controller {
  readonly queue: Queue;
  onEvent(ev: StoreEvent): void;
  /** look at every object again (after a change the store does not announce, e.g. fault rules) */
  resync?(): void;
}

/**
 * The actor recorded for a controller's writes. No field manager: the store records managedFields only for
 * API requests, because tracking the simulated controllers' status churn would cost more than the write itself.
 */
export function actor(component: string): { actor: string } {
  return { actor: `system:serviceaccount:kube-system:${component}` };
}
