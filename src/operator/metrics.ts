// The operator's Prometheus metrics, on one prom-client Registry served at /metrics. Names follow
// controller-runtime's (controller_runtime_reconcile_total, workqueue_depth, leader_election_master_status)
// under the meshlift_ namespace, so the usual controller dashboards translate one to one. The engine
// adds its own series (meshlift_upgrade_stage{upgrade,stage}, meshlift_workloads{upgrade,state})
// through gauge()/counter()/histogram() on the same Registry.
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Metric,
} from "prom-client";
import type { CacheLifecycleEvent } from "../kube/cache.js";
import type { ReconcileResult, WorkQueueHooks } from "./queue.js";

export interface OperatorMetricsOptions {
  /** Node.js process metrics (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …); default true */
  processMetrics?: boolean;
}

type Labels = "controller";

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<"controller" | "result">;
  readonly reconcileDuration: Histogram<Labels>;
  readonly workqueueDepth: Gauge<Labels>;
  readonly workqueueAdds: Counter<Labels>;
  readonly workqueueRetries: Counter<Labels>;
  readonly leader: Gauge<"lease">;
  readonly cacheRelists: Counter<"resource" | "reason">;
  readonly cacheErrors: Counter<"resource" | "phase">;

  constructor(options: OperatorMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.reconcileTotal = new Counter({
      name: "meshlift_reconcile_total",
      help: "Reconciles by controller and result (success, error, requeue_after)",
      labelNames: ["controller", "result"],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: "meshlift_reconcile_duration_seconds",
      help: "How long one reconcile took",
      labelNames: ["controller"],
      // controller-runtime's reconcile buckets: API round trips up to long waits
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.workqueueDepth = new Gauge({
      name: "meshlift_workqueue_depth",
      help: "Keys waiting in the work queue",
      labelNames: ["controller"],
      registers,
    });
    this.workqueueAdds = new Counter({
      name: "meshlift_workqueue_adds_total",
      help: "Keys added to the work queue (repeats of a queued key included)",
      labelNames: ["controller"],
      registers,
    });
    this.workqueueRetries = new Counter({
      name: "meshlift_workqueue_retries_total",
      help: "Keys requeued with backoff after a failed reconcile",
      labelNames: ["controller"],
      registers,
    });
    this.leader = new Gauge({
      name: "meshlift_leader",
      help: "1 while this process holds the Lease, else 0",
      labelNames: ["lease"],
      registers,
    });
    this.cacheRelists = new Counter({
      name: "meshlift_cache_relists_total",
      help: "Full relists of a watched resource (expired watch, periodic repair, errors)",
      labelNames: ["resource", "reason"],
      registers,
    });
    this.cacheErrors = new Counter({
      name: "meshlift_cache_errors_total",
      help: "List, watch or handler failures of a watched resource",
      labelNames: ["resource", "phase"],
      registers,
    });
  }

  /** Work-queue hooks that feed this registry for `controller`. */
  queueHooks(controller: string): WorkQueueHooks<string> {
    return {
      depth: (depth) => this.workqueueDepth.set({ controller }, depth),
      added: () => this.workqueueAdds.inc({ controller }),
      retried: () => this.workqueueRetries.inc({ controller }),
      processed: (_key, result: ReconcileResult, durationMs) => {
        this.reconcileTotal.inc({ controller, result });
        this.reconcileDuration.observe({ controller }, durationMs / 1000);
      },
    };
  }

  /** A ResourceCache lifecycle listener that counts relists and errors. */
  cacheListener(): (event: CacheLifecycleEvent) => void {
    return (event) => {
      if (event.type === "relisted") this.cacheRelists.inc({ resource: event.resource, reason: event.reason });
      else if (event.type === "error") this.cacheErrors.inc({ resource: event.resource, phase: event.phase });
    };
  }

  /**
   * A gauge on this registry for the engine, e.g.
   * `gauge({name: "meshlift_upgrade_stage", help, labelNames: ["upgrade", "stage"]})`.
   * Asking twice for one name returns the same gauge; `collect` runs at each scrape.
   */
  gauge<T extends string>(config: Omit<GaugeConfiguration<T>, "registers">): Gauge<T> {
    return this.existing<Gauge<T>>(config.name, Gauge) ?? new Gauge<T>({ ...config, registers: [this.registry] });
  }

  counter<T extends string>(config: Omit<CounterConfiguration<T>, "registers">): Counter<T> {
    return this.existing<Counter<T>>(config.name, Counter) ?? new Counter<T>({ ...config, registers: [this.registry] });
  }

  histogram<T extends string>(config: Omit<HistogramConfiguration<T>, "registers">): Histogram<T> {
    return (
      this.existing<Histogram<T>>(config.name, Histogram) ?? new Histogram<T>({ ...config, registers: [this.registry] })
    );
  }

  /** The exposition text (what /metrics serves) and its content type. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  private existing<M>(name: string, type: abstract new (...args: never[]) => Metric): M | undefined {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return undefined;
    if (!(metric instanceof type))
      throw new Error(`metric ${name} is already registered as a different type — pick another name`);
    return metric as M;
  }
}
