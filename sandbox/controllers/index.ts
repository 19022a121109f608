// The sandbox's kube-controller-manager, scheduler and kubelets in one process: every simulated
// controller on one work loop, fed by the store's committed-change events.
import { type ClusterStore, type KObject, type PodFault, type SimTiming, type StoreEvent } from "../api/types.js";
import { ClusterIndex } from "./cluster-index.js";
import { informerFeed, servedKeys } from "./informer-feed.js";
import type { Controller, ControllerContext } from "./context.js";
import { cronJobController } from "./cronjob.js";
import { daemonSetController } from "./daemonset.js";
import { deploymentController } from "./deployment.js";
import { disruptionController } from "./disruption.js";
import { endpointsController } from "./endpoints.js";
import { eventRecorder, noEvents } from "./events.js";
import { garbageCollector } from "./gc.js";
import { jobController } from "./job.js";
import { kubeletController } from "./kubelet.js";
import { namespaceController } from "./namespace.js";
import { replicaSetController } from "./replicaset.js";
import { schedulerController } from "./scheduler.js";
import { statefulSetController } from "./statefulset.js";
import { WorkLoop } from "./workloop.js";

export { evictionAllowed, recordEviction, type EvictionDecision } from "./disruption.js";

export interface ControllerOptions {
  timing: SimTiming;
  podFault: (pod: KObject) => PodFault;
  /** the nodes whose kubelets are simulated (registered as /nodes objects if missing) */
  nodes: string[];
  /** wall clock for timestamps (ms since epoch); timers always run on real time */
  now?: () => number;
  /** record core/v1 Events (default true) */
  events?: boolean;
  /** most Events kept in the store (oldest deleted first); default 2000 */
  eventCap?: number;
  /** unexpected (non-ApiError) failures inside a reconcile; default: console.error */
  onError?: (controller: string, key: string, err: unknown) => void;
}

export interface RunningControllers {
  stop(): void;
  /** resolves when nothing is queued or being reconciled and no settling timer (pod start, ready,
   * termination, minReadySeconds…) is pending; background clocks (crash loops, cron, progress
   * deadlines, create retries) do not hold it */
  idle(): Promise<void>;
  /** re-reconcile every object: call after changing what `podFault` answers */
  resync(): void;
}

/** keys replayed at start when the store cannot list its served types */
const KNOWN_KEYS = [
  "/namespaces",
  "/nodes",
  "/pods",
  "/services",
  "/endpoints",
  "/events",
  "/configmaps",
  "/secrets",
  "/serviceaccounts",
  "apps/deployments",
  "apps/replicasets",
  "apps/statefulsets",
  "apps/daemonsets",
  "apps/controllerrevisions",
  "batch/jobs",
  "batch/cronjobs",
  "policy/poddisruptionbudgets",
  "discovery.k8s.io/endpointslices",
];

export function startControllers(store: ClusterStore, opts: ControllerOptions): RunningControllers {
  const now = opts.now ?? Date.now;
  const loop = new WorkLoop(
    opts.onError ??
      ((controller, key, err) => {
        console.error(`sandbox: ${controller} controller failed on ${key}:`, err);
      }),
  );
  const index = new ClusterIndex();
  const ctx: ControllerContext = {
    store,
    index,
    loop,
    events: opts.events === false ? noEvents : eventRecorder(store, now, opts.eventCap),
    now,
    timing: opts.timing,
    podFault: opts.podFault,
    nodes: opts.nodes,
  };

  const controllers: Controller[] = [];
  const deliver = (ev: StoreEvent) => {
    index.apply(ev);
    if (ev.key === "/events" || ev.key === "events.k8s.io/events") return; // nobody reconciles on Events
    for (const c of controllers) c.onEvent(ev);
  };
  // subscribe first so no change between the initial replay and the first live event is lost
  const feed = informerFeed(store, () => servedKeys(store, KNOWN_KEYS), deliver);

  controllers.push(
    kubeletController(ctx),
    schedulerController(ctx),
    replicaSetController(ctx),
    deploymentController(ctx),
    statefulSetController(ctx),
    daemonSetController(ctx),
    jobController(ctx),
    cronJobController(ctx),
    disruptionController(ctx),
    garbageCollector(ctx),
    namespaceController(ctx),
    endpointsController(ctx),
  );

  // replay what the store already holds, as an informer's initial list does
  feed.replay();

  return {
    stop() {
      feed.stop();
      loop.stop();
    },
    idle: () => loop.idle(),
    resync() {
      for (const c of controllers) c.resync?.();
    },
  };
}
