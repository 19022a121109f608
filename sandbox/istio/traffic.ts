// A deterministic model of inbound HTTP traffic to every sidecar in the mesh, kept as Envoy keeps it:
// per-pod counters that only grow, integrated from the request rate over elapsed time, so PromQL rate()
// and histogram_quantile() over scrapes give the configured success rate and latency.
import { z } from "zod";
import type { KObject } from "../api/types.js";
import { isServingEndpoint, proxyIdentity, readySince, type Workload } from "./proxy-identity.js";

export const TrafficConfigSchema = z.strictObject({
  /** requests per second each Ready pod of a workload without its own entry receives */
  defaultRps: z
    .number({ error: "traffic.defaultRps must be a number of requests per second" })
    .min(0, { error: "traffic.defaultRps must not be negative" })
    .optional(),
  workloads: z
    .array(
      z.strictObject({
        namespace: z.string().min(1, { error: "traffic.workloads[].namespace is required" }),
        workload: z.string().min(1, { error: "traffic.workloads[].workload is required" }),
        /** requests per second for the whole workload, spread evenly over its Ready pods */
        rps: z
          .number({ error: "traffic.workloads[].rps must be a number of requests per second" })
          .min(0, { error: "traffic.workloads[].rps must not be negative" }),
      }),
    )
    .optional(),
});
export type TrafficConfig = z.infer<typeof TrafficConfigSchema>;

export const DEFAULT_RPS_PER_POD = 10;

/** Upper bounds (ms) of istio_request_duration_milliseconds: Istio's default buckets, +Inf implied. */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** Status code of requests failed by an `errorRate` fault: Envoy's answer when the upstream app fails. */
export const FAULT_RESPONSE_CODE = "503";
export const SUCCESS_RESPONSE_CODE = "200";

// Base service time: log-normal with median 5 ms and p99 20 ms (σ = ln(20/5) / z0.99).
const BASE_MEDIAN_MS = 5;
const BASE_P99_MS = 20;
const Z_99 = 2.3263478740408408;
const MU = Math.log(BASE_MEDIAN_MS);
const SIGMA = Math.log(BASE_P99_MS / BASE_MEDIAN_MS) / Z_99;
const BASE_MEAN_MS = Math.exp(MU + (SIGMA * SIGMA) / 2);

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Probability that a request takes at most `ms` when the pod adds `addedLatencyMs` to the base service time. */
export function latencyCdf(ms: number, addedLatencyMs = 0): number {
  const base = ms - addedLatencyMs;
  if (base <= 0) return 0;
  return normalCdf((Math.log(base) - MU) / SIGMA);
}

export function meanLatencyMs(addedLatencyMs = 0): number {
  return BASE_MEAN_MS + addedLatencyMs;
}

// The bucket fractions depend only on the added latency: computed once per distinct value.
const bucketFractionCache = new Map<number, Float64Array>();
function bucketFractions(addedLatencyMs: number): Float64Array {
  let f = bucketFractionCache.get(addedLatencyMs);
  if (!f) {
    f = Float64Array.from(ISTIO_DURATION_BUCKETS_MS, (le) => latencyCdf(le, addedLatencyMs));
    if (bucketFractionCache.size > 1000) bucketFractionCache.clear();
    bucketFractionCache.set(addedLatencyMs, f);
  }
  return f;
}

/** Accumulated requests of one response code at one pod (fractional; exposed rounded down, so still monotonic). */
export interface ResponseSeries {
  responseCode: string;
  requests: number;
  /** cumulative per bucket of ISTIO_DURATION_BUCKETS_MS; the +Inf bucket is `requests` */
  buckets: Float64Array;
  sumMs: number;
}

export interface PodTraffic {
  uid: string;
  namespace: string;
  pod: string;
  workload: Workload;
  /** keyed by response code; a code appears with its first request, like an Envoy stat */
  responses: Map<string, ResponseSeries>;
  /** model time (epoch ms) up to which requests are counted */
  countedUntil: number;
  serving: boolean;
}

/** The part of Faults the model reads (sandbox/faults.ts). */
export interface TrafficFaultSource {
  trafficFault(pod: KObject): { errorRate: number; addedLatencyMs: number };
}

function newSeries(responseCode: string): ResponseSeries {
  return { responseCode, requests: 0, buckets: new Float64Array(ISTIO_DURATION_BUCKETS_MS.length), sumMs: 0 };
}

function record(series: ResponseSeries, count: number, addedLatencyMs: number): void {
  if (count <= 0) return;
  const fractions = bucketFractions(addedLatencyMs);
  series.requests += count;
  for (let i = 0; i < fractions.length; i++) series.buckets[i] += count * fractions[i];
  series.sumMs += count * meanLatencyMs(addedLatencyMs);
}

export class TrafficModel {
  readonly startedAt: number;
  private defaultRps: number;
  private workloadRps = new Map<string, number>();
  private readonly pods = new Map<string, PodTraffic>();

  constructor(
    config: TrafficConfig = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.startedAt = clock();
    this.defaultRps = DEFAULT_RPS_PER_POD;
    this.configure(config);
  }

  /** Changes the request rates from now on; counted requests stay. */
  configure(config: TrafficConfig): void {
    const parsed = TrafficConfigSchema.parse(config);
    this.defaultRps = parsed.defaultRps ?? DEFAULT_RPS_PER_POD;
    this.workloadRps = new Map((parsed.workloads ?? []).map((w) => [`${w.namespace}/${w.workload}`, w.rps]));
  }

  now(): number {
    return this.clock();
  }

  /**
   * Counts the requests every serving sidecar received since the last advance (or since it became Ready,
   * or since the model started), and forgets pods that are gone: a replaced pod's counters start again at 0.
   */
  advance(pods: readonly KObject[], faults: TrafficFaultSource, now: number = this.clock()): void {
    const seen = new Set<string>();
    const servingPerWorkload = new Map<string, number>();
    const candidates: { pod: KObject; uid: string; workloadKey: string; workload: Workload; serving: boolean }[] = [];
    for (const pod of pods) {
      const uid = pod.metadata.uid;
      if (!uid) continue;
      const identity = proxyIdentity(pod);
      // gateways (routers) report as the source of requests, not as their destination
      if (identity.proxyType !== "sidecar") continue;
      seen.add(uid);
      const workloadKey = identity.workloadKey;
      const serving = isServingEndpoint(pod);
      candidates.push({ pod, uid, workloadKey, workload: identity.workload, serving });
      if (serving) servingPerWorkload.set(workloadKey, (servingPerWorkload.get(workloadKey) ?? 0) + 1);
    }
    for (const uid of this.pods.keys()) if (!seen.has(uid)) this.pods.delete(uid);

    for (const { pod, uid, workloadKey, workload, serving } of candidates) {
      let state = this.pods.get(uid);
      if (!serving) {
        if (state) {
          state.serving = false;
          state.countedUntil = Math.max(state.countedUntil, now);
        }
        continue;
      }
      let from: number;
      if (state?.serving) from = state.countedUntil;
      else from = Math.max(readySince(pod) ?? now, state?.countedUntil ?? this.startedAt);
      from = Math.min(from, now);
      if (!state) {
        state = {
          uid,
          namespace: pod.metadata.namespace ?? "",
          pod: pod.metadata.name ?? "",
          workload,
          responses: new Map([[SUCCESS_RESPONSE_CODE, newSeries(SUCCESS_RESPONSE_CODE)]]),
          countedUntil: from,
          serving: true,
        };
        this.pods.set(uid, state);
      }
      state.serving = true;
      const seconds = Math.max(0, now - Math.max(from, state.countedUntil)) / 1000;
      state.countedUntil = Math.max(state.countedUntil, now);
      const workloadTotal = this.workloadRps.get(workloadKey);
      const rps =
        workloadTotal !== undefined ? workloadTotal / (servingPerWorkload.get(workloadKey) ?? 1) : this.defaultRps;
      const requests = rps * seconds;
      const { errorRate, addedLatencyMs } = faults.trafficFault(pod);
      record(state.responses.get(SUCCESS_RESPONSE_CODE)!, requests * (1 - errorRate), addedLatencyMs);
      if (errorRate > 0) {
        let failed = state.responses.get(FAULT_RESPONSE_CODE);
        if (!failed) state.responses.set(FAULT_RESPONSE_CODE, (failed = newSeries(FAULT_RESPONSE_CODE)));
        record(failed, requests * errorRate, addedLatencyMs);
      }
    }
  }

  /** Traffic counted for a pod (by uid), or undefined before it first served. */
  podTraffic(uid: string): PodTraffic | undefined {
    return this.pods.get(uid);
  }

  get podCount(): number {
    return this.pods.size;
  }
}
