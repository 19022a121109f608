// Test scaffolding for the controller tests: a real store with controllers on tiny timings.
import { TypeRegistry } from "../api/registry.js";
import { createStore, type Store } from "../api/store.js";
import type { KObject, PodFault, SimTiming } from "../api/types.js";
import { startControllers, type RunningControllers } from "./index.js";

export const FAST: SimTiming = { podStartMs: 5, podReadyMs: 5, podTerminateMs: 5, jobRunMs: 10, crashLoopMs: 15 };

export interface TestCluster {
  store: Store;
  controllers: RunningControllers;
  errors: unknown[];
  stop(): void;
}

export function newCluster(
  opts: {
    nodes?: string[];
    timing?: Partial<SimTiming>;
    podFault?: (pod: KObject) => PodFault;
    namespaces?: string[];
    events?: boolean;
    /** the controllers' clock (timers still run on real time) */
    now?: () => number;
  } = {},
): TestCluster {
  const store = createStore({ types: new TypeRegistry("1.31.4") });
  for (const ns of opts.namespaces ?? ["default"]) store.create("/namespaces", { metadata: { name: ns } });
  const errors: unknown[] = [];
  const controllers = startControllers(store, {
    timing: { ...FAST, ...(opts.timing ?? {}) },
    podFault: opts.podFault ?? (() => ({})),
    nodes: opts.nodes ?? ["node-1", "node-2", "node-3"],
    events: opts.events,
    now: opts.now,
    onError: (c, k, e) => errors.push(new Error(`${c} ${k}: ${e instanceof Error ? e.stack : String(e)}`)),
  });
  return { store, controllers, errors, stop: () => controllers.stop() };
}

/** polls until `check` returns a truthy value (or throws the last assertion after the timeout) */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function podTemplate(app: string, image = "nginx:1.27", extra: Record<string, unknown> = {}): any {
  return {
    metadata: { labels: { app } },
    spec: { containers: [{ name: "app", image, ports: [{ containerPort: 8080, name: "http" }] }], ...extra },
  };
}

export function deployment(
  name: string,
  replicas: number,
  spec: Record<string, unknown> = {},
  namespace = "default",
): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate(name), ...spec },
  };
}

export function podsOf(store: Store, namespace: string, labelSelector: string): KObject[] {
  return store.list("/pods", namespace, { labelSelector });
}
