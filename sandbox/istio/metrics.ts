// The mesh's Prometheus metrics in text exposition format 0.0.4: Istio standard request metrics per
// sidecar (what a real Envoy reports with reporter="destination") and istiod's xDS metrics per revision.
// Written by hand, not with prom-client's Registry: series are computed from model state at scrape time
// (not observed events), and one shared label prefix per series keeps a large mesh's scrape fast.
import type { ClusterStore, KObject } from "../api/types.js";
import type { Faults } from "../faults.js";
import { imageVersion, proxyIdentity, readySince, type ProxyIdentity } from "./proxy-identity.js";
import { ISTIO_DURATION_BUCKETS_MS, normalCdf, type PodTraffic, type TrafficModel } from "./traffic.js";
import { xdsTopology, type XdsConnection } from "./xds-topology.js";

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Buckets (seconds) of pilot_proxy_convergence_time, as istiod defines them (pilot/pkg/xds/monitoring.go). */
export const CONVERGENCE_BUCKETS_S: readonly number[] = [0.1, 0.5, 1, 3, 5, 10, 20, 30];

const XDS_TYPES = ["cds", "eds", "lds", "rds"] as const;
type XdsType = (typeof XDS_TYPES)[number];

/**
 * How often a connected proxy is pushed each type in steady state: endpoints churn most; clusters,
 * listeners and routes follow config changes. A new connection gets one push of every type at once.
 */
const PUSH_INTERVAL_S: Record<XdsType, number> = { cds: 60, eds: 15, lds: 60, rds: 60 };
/** A proxy with an `xdsRejects` fault NACKs every listener push (the usual victim of a bad EnvoyFilter). */
const REJECTED_TYPE: XdsType = "lds";

// Convergence: log-normal with median 60 ms and p99 400 ms, mostly in the first two buckets.
const CONVERGENCE_MU = Math.log(0.06);
const CONVERGENCE_SIGMA = Math.log(0.4 / 0.06) / 2.3263478740408408;

const CONVERGENCE_FRACTIONS = CONVERGENCE_BUCKETS_S.map((le) =>
  normalCdf((Math.log(le) - CONVERGENCE_MU) / CONVERGENCE_SIGMA),
);
const CONVERGENCE_MEAN_S = Math.exp(CONVERGENCE_MU + (CONVERGENCE_SIGMA * CONVERGENCE_SIGMA) / 2);

/** Counters of one istiod pod; they only grow, and vanish with the pod. */
interface IstiodCounters {
  pushes: Record<XdsType, number>;
  rejects: number;
  convergenceBuckets: number[];
  convergenceCount: number;
  convergenceSum: number;
  connected: Set<string>;
  countedUntil: number;
}

/** xDS counters must survive between scrapes; they live as long as the traffic model (the sandbox's lifetime). */
const xdsCountersByModel = new WeakMap<TrafficModel, Map<string, IstiodCounters>>();

function advanceXds(
  model: TrafficModel,
  connections: XdsConnection[],
  istiodPods: KObject[],
  faults: Faults,
  now: number,
): Map<string, IstiodCounters> {
  let byIstiod = xdsCountersByModel.get(model);
  if (!byIstiod) xdsCountersByModel.set(model, (byIstiod = new Map()));
  const live = new Set(istiodPods.map((p) => p.metadata.uid ?? ""));
  for (const uid of byIstiod.keys()) if (!live.has(uid)) byIstiod.delete(uid);

  const proxiesByIstiod = new Map<string, XdsConnection[]>();
  for (const c of connections) {
    const uid = c.istiod.metadata.uid ?? "";
    let list = proxiesByIstiod.get(uid);
    if (!list) proxiesByIstiod.set(uid, (list = []));
    list.push(c);
  }
  for (const pod of istiodPods) {
    const uid = pod.metadata.uid ?? "";
    let counters = byIstiod.get(uid);
    if (!counters) {
      counters = {
        pushes: { cds: 0, eds: 0, lds: 0, rds: 0 },
        rejects: 0,
        convergenceBuckets: CONVERGENCE_BUCKETS_S.map(() => 0),
        convergenceCount: 0,
        convergenceSum: 0,
        connected: new Set(),
        // steady-state pushes count from when this istiod became Ready (or the model started), never from before
        countedUntil: Math.max(model.startedAt, Math.min(now, readySince(pod) ?? now)),
      };
      byIstiod.set(uid, counters);
    }
    const seconds = Math.max(0, now - counters.countedUntil) / 1000;
    counters.countedUntil = Math.max(counters.countedUntil, now);
    const proxies = proxiesByIstiod.get(uid) ?? [];
    const connectedNow = new Set<string>();
    let newlyConnected = 0;
    let rejecting = 0;
    let newlyRejecting = 0;
    for (const c of proxies) {
      const proxyUid = c.proxy.metadata.uid ?? "";
      connectedNow.add(proxyUid);
      const isNew = !counters.connected.has(proxyUid);
      if (isNew) newlyConnected++;
      if (faults.podEffects(c.proxy).xdsRejects) {
        rejecting++;
        if (isNew) newlyRejecting++;
      }
    }
    counters.connected = connectedNow;
    for (const type of XDS_TYPES)
      counters.pushes[type] += newlyConnected + (proxies.length * seconds) / PUSH_INTERVAL_S[type];
    counters.rejects += newlyRejecting + (rejecting * seconds) / PUSH_INTERVAL_S[REJECTED_TYPE];
    // one convergence observation per full push (a cds push stands for one) reaching one proxy
    const observations = newlyConnected + (proxies.length * seconds) / PUSH_INTERVAL_S.cds;
    counters.convergenceCount += observations;
    counters.convergenceSum += observations * CONVERGENCE_MEAN_S;
    for (let i = 0; i < CONVERGENCE_FRACTIONS.length; i++)
      counters.convergenceBuckets[i] += observations * CONVERGENCE_FRACTIONS[i];
  }
  return byIstiod;
}

/** Label value escaping of the text format: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

function label(name: string, value: string): string {
  return `${name}="${escapeLabelValue(value)}"`;
}

function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  if (Number.isNaN(n)) return "NaN";
  return String(n);
}

/** Service (namespace, name) whose selector selects the pod: what Istio calls the destination service. */
function serviceIndex(services: readonly KObject[]): (pod: KObject) => KObject | undefined {
  const byNamespace = new Map<string, { service: KObject; selector: [string, string][] }[]>();
  for (const s of services) {
    const selector = Object.entries((s.spec?.selector ?? {}) as Record<string, string>);
    // a Service without a selector selects nothing (its endpoints are managed by hand)
    if (selector.length === 0) continue;
    const ns = s.metadata.namespace ?? "";
    let list = byNamespace.get(ns);
    if (!list) byNamespace.set(ns, (list = []));
    list.push({ service: s, selector });
  }
  for (const list of byNamespace.values())
    list.sort((a, b) => (a.service.metadata.name ?? "").localeCompare(b.service.metadata.name ?? ""));
  return (pod) => {
    const labels = pod.metadata.labels ?? {};
    return byNamespace
      .get(pod.metadata.namespace ?? "")
      ?.find(({ selector }) => selector.every(([k, v]) => labels[k] === v))?.service;
  };
}

/**
 * canonical service / revision as the injector derives them (service.istio.io/canonical-name, then
 * app.kubernetes.io/name, then app, then the workload; revision: canonical-revision, app.kubernetes.io/version, version, "latest").
 */
function canonicalNames(pod: KObject, identity: ProxyIdentity): { service: string; revision: string; version: string } {
  const l = pod.metadata.labels ?? {};
  return {
    service: l["service.istio.io/canonical-name"] || l["app.kubernetes.io/name"] || l.app || identity.workload.name,
    revision: l["service.istio.io/canonical-revision"] || l["app.kubernetes.io/version"] || l.version || "latest",
    version: l.version || l["app.kubernetes.io/version"] || "unknown",
  };
}

/** Labels of a pod's request series, without response_code (and without `pod` when aggregated per workload). */
function destinationLabels(
  pod: KObject,
  identity: ProxyIdentity,
  service: KObject | undefined,
  clusterDomain: string,
  withPod: boolean,
): string {
  const ns = pod.metadata.namespace ?? "";
  const canonical = canonicalNames(pod, identity);
  const serviceName = service?.metadata.name ?? "unknown";
  const serviceNs = service ? ns : "unknown";
  const serviceHost = service ? `${serviceName}.${ns}.svc.${clusterDomain}` : "unknown";
  const labels = [
    'reporter="destination"',
    // requests enter from outside the mesh in this model, which Istio reports as an unknown source
    'source_workload="unknown"',
    'source_workload_namespace="unknown"',
    label("destination_workload", identity.workload.name),
    label("destination_workload_namespace", ns),
    label("destination_service", serviceHost),
    label("destination_service_name", serviceName),
    label("destination_service_namespace", serviceNs),
    label("destination_canonical_service", canonical.service),
    label("destination_canonical_revision", canonical.revision),
    label("destination_version", canonical.version),
    'request_protocol="http"',
    'response_flags="-"',
    'connection_security_policy="mutual_tls"',
  ];
  if (withPod) labels.push(label("pod", pod.metadata.name ?? ""));
  labels.push(label("namespace", ns));
  return labels.join(",");
}

/** Request counts of one series: one pod's, or the sum of a workload's pods. */
interface SeriesTotals {
  requests: number;
  buckets: Float64Array;
  sumMs: number;
}

function addInto(target: SeriesTotals, source: SeriesTotals): void {
  target.requests += source.requests;
  target.sumMs += source.sumMs;
  for (let i = 0; i < target.buckets.length; i++) target.buckets[i] += source.buckets[i];
}

function emptyTotals(): SeriesTotals {
  return { requests: 0, buckets: new Float64Array(ISTIO_DURATION_BUCKETS_MS.length), sumMs: 0 };
}

/**
 * Per-workload sums must stay monotonic when pods are replaced: a pod that goes away leaves its final
 * counts behind in `retired` under the label set it was first counted in (pinned for its lifetime).
 */
interface WorkloadAggregation {
  /** pod uid -> the series key (labels + response_code) of each of its response codes */
  pinned: Map<string, { labels: string; keys: Map<string, string>; traffic: PodTraffic }>;
  retired: Map<string, SeriesTotals>;
}

/** What one render leaves for the next: aggregation state and line prefixes, for as long as the traffic model lives. */
interface RenderState {
  aggregation?: WorkloadAggregation;
  lines: Map<string, SeriesLines>;
}
const renderStateByModel = new WeakMap<TrafficModel, RenderState>();

export interface MeshMetricsOptions {
  clusterDomain?: string;
  /**
   * "pod": one series set per sidecar, as each Envoy reports it; "workload": summed per workload and label
   * set without the `pod` label (what Istio's large-mesh guidance aggregates to); "auto" (default): "pod"
   * up to `podSeriesLimit` sidecars with traffic, else "workload", so a 20,000-pod mesh scrapes in well under a second.
   */
  detail?: "pod" | "workload" | "auto";
  podSeriesLimit?: number;
}

export const DEFAULT_POD_SERIES_LIMIT = 2000;

const LE_LABELS = ISTIO_DURATION_BUCKETS_MS.map((le) => `,le="${formatNumber(le)}"}`);

/** Every line prefix of one request series (counter + histogram), built once per label set and reused by later scrapes. */
interface SeriesLines {
  requests: string;
  buckets: string[];
  inf: string;
  sum: string;
  count: string;
}

function seriesLines(labels: string): SeriesLines {
  const bucketPrefix = `istio_request_duration_milliseconds_bucket{${labels}`;
  return {
    requests: `istio_requests_total{${labels}} `,
    buckets: LE_LABELS.map((le) => `${bucketPrefix}${le} `),
    inf: `${bucketPrefix},le="+Inf"} `,
    sum: `istio_request_duration_milliseconds_sum{${labels}} `,
    count: `istio_request_duration_milliseconds_count{${labels}} `,
  };
}

/** Writes one istio_requests_total sample and one duration histogram; counts are rounded down (integral like Envoy's, still monotonic). */
function writeRequestSeries(requests: string[], durations: string[], lines: SeriesLines, totals: SeriesTotals): void {
  const count = Math.floor(totals.requests);
  requests.push(lines.requests + count);
  for (let i = 0; i < lines.buckets.length; i++)
    durations.push(lines.buckets[i] + Math.min(count, Math.floor(totals.buckets[i])));
  durations.push(lines.inf + count);
  durations.push(lines.sum + formatNumber(totals.sumMs));
  durations.push(lines.count + count);
}

/**
 * Everything the mesh exposes to a scrape at time `now` (epoch ms): advances the traffic model and the
 * xDS counters to `now`, then writes istio_requests_total, istio_request_duration_milliseconds and the
 * pilot_* metrics of every Ready istiod pod. Lists pods once.
 */
export function renderMeshMetrics(
  store: ClusterStore,
  faults: Faults,
  traffic: TrafficModel,
  now: number,
  opts: MeshMetricsOptions = {},
): string {
  const clusterDomain = opts.clusterDomain ?? "cluster.local";
  const pods = store.list("/pods");
  traffic.advance(pods, faults, now);
  const serviceOf = serviceIndex(store.list("/services"));
  const topology = xdsTopology(store.list("apps/deployments"), pods);

  const requests: string[] = [
    "# HELP istio_requests_total Total requests handled by an Istio proxy",
    "# TYPE istio_requests_total counter",
  ];
  const durations: string[] = [
    "# HELP istio_request_duration_milliseconds Duration of requests handled by an Istio proxy",
    "# TYPE istio_request_duration_milliseconds histogram",
  ];
  const detail = opts.detail ?? "auto";
  const perPod =
    detail === "pod" || (detail === "auto" && traffic.podCount <= (opts.podSeriesLimit ?? DEFAULT_POD_SERIES_LIMIT));
  const serviceByWorkload = new Map<string, KObject | undefined>();
  const serviceFor = (pod: KObject, identity: ProxyIdentity) => {
    if (!serviceByWorkload.has(identity.workloadKey)) serviceByWorkload.set(identity.workloadKey, serviceOf(pod));
    return serviceByWorkload.get(identity.workloadKey);
  };

  let state = renderStateByModel.get(traffic);
  if (!state) renderStateByModel.set(traffic, (state = { lines: new Map() }));
  const linesCache = state.lines;
  const usedLines = new Map<string, SeriesLines>();
  const linesFor = (key: string) => {
    let lines = usedLines.get(key) ?? linesCache.get(key);
    if (!lines) lines = seriesLines(key);
    usedLines.set(key, lines);
    return lines;
  };

  if (perPod) {
    state.aggregation = undefined;
    for (const pod of pods) {
      const podTraffic = pod.metadata.uid ? traffic.podTraffic(pod.metadata.uid) : undefined;
      if (!podTraffic) continue;
      const identity = proxyIdentity(pod);
      const base = destinationLabels(pod, identity, serviceFor(pod, identity), clusterDomain, true);
      for (const series of podTraffic.responses.values()) {
        writeRequestSeries(requests, durations, linesFor(`${base},response_code="${series.responseCode}"`), series);
      }
    }
  } else {
    const aggregation = (state.aggregation ??= { pinned: new Map(), retired: new Map() });
    const keyOf = (pin: { labels: string; keys: Map<string, string> }, code: string) => {
      let key = pin.keys.get(code);
      if (!key) pin.keys.set(code, (key = `${pin.labels},response_code="${code}"`));
      return key;
    };
    const current = new Map<string, SeriesTotals>();
    const seen = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata.uid;
      const podTraffic = uid ? traffic.podTraffic(uid) : undefined;
      if (!uid || !podTraffic) continue;
      seen.add(uid);
      let pin = aggregation.pinned.get(uid);
      if (!pin) {
        const identity = proxyIdentity(pod);
        pin = {
          labels: destinationLabels(pod, identity, serviceFor(pod, identity), clusterDomain, false),
          keys: new Map(),
          traffic: podTraffic,
        };
        aggregation.pinned.set(uid, pin);
      }
      pin.traffic = podTraffic;
      for (const series of podTraffic.responses.values()) {
        const key = keyOf(pin, series.responseCode);
        let totals = current.get(key);
        if (!totals) current.set(key, (totals = emptyTotals()));
        addInto(totals, series);
      }
    }
    for (const [uid, pin] of aggregation.pinned) {
      if (seen.has(uid)) continue;
      for (const series of pin.traffic.responses.values()) {
        const key = keyOf(pin, series.responseCode);
        let retired = aggregation.retired.get(key);
        if (!retired) aggregation.retired.set(key, (retired = emptyTotals()));
        addInto(retired, series);
      }
      aggregation.pinned.delete(uid);
    }
    for (const [key, retired] of aggregation.retired) {
      const totals = current.get(key);
      // a label set without live pods disappears, as its per-pod series would
      if (totals) addInto(totals, retired);
      else aggregation.retired.delete(key);
    }
    for (const [key, totals] of current) writeRequestSeries(requests, durations, linesFor(key), totals);
  }
  state.lines = usedLines;

  const istiodPods = [...topology.istiods.entries()].flatMap(([revision, list]) =>
    list.map((pod) => ({ pod, revision })),
  );
  const counters = advanceXds(
    traffic,
    topology.connections,
    istiodPods.map((i) => i.pod),
    faults,
    now,
  );
  const pilot = renderPilotMetrics(istiodPods, topology.connections, counters);
  return `${requests.join("\n")}\n${durations.join("\n")}\n${pilot}`;
}

function renderPilotMetrics(
  istiodPods: { pod: KObject; revision: string }[],
  connections: XdsConnection[],
  counters: Map<string, IstiodCounters>,
): string {
  const build = ["# HELP istio_build Istio component build info", "# TYPE istio_build gauge"];
  const pushes = [
    "# HELP pilot_xds_pushes Pilot build and send errors for lds, rds, cds and eds.",
    "# TYPE pilot_xds_pushes counter",
  ];
  const rejects = [
    "# HELP pilot_total_xds_rejects Total number of XDS responses from pilot rejected by proxy.",
    "# TYPE pilot_total_xds_rejects counter",
  ];
  const clients = ["# HELP pilot_xds Number of endpoints connected to this pilot using XDS.", "# TYPE pilot_xds gauge"];
  const convergence = [
    "# HELP pilot_proxy_convergence_time Delay in seconds between config change and a proxy receiving all required configuration.",
    "# TYPE pilot_proxy_convergence_time histogram",
  ];
  const versionsByIstiod = new Map<string, Map<string, number>>();
  for (const c of connections) {
    const uid = c.istiod.metadata.uid ?? "";
    let versions = versionsByIstiod.get(uid);
    if (!versions) versionsByIstiod.set(uid, (versions = new Map()));
    const version = c.identity.proxyVersion ?? "unknown";
    versions.set(version, (versions.get(version) ?? 0) + 1);
  }
  for (const { pod, revision } of istiodPods) {
    const uid = pod.metadata.uid ?? "";
    const c = counters.get(uid);
    if (!c) continue;
    const base = [
      label("app", "istiod"),
      label("istio_io_rev", revision),
      label("namespace", pod.metadata.namespace ?? ""),
      label("pod", pod.metadata.name ?? ""),
    ].join(",");
    const discovery =
      (pod.spec?.containers ?? []).find((x: KObject) => x?.name === "discovery") ?? pod.spec?.containers?.[0];
    build.push(`istio_build{${base},component="pilot",${label("tag", imageVersion(discovery?.image) ?? "unknown")}} 1`);
    for (const type of XDS_TYPES) pushes.push(`pilot_xds_pushes{${base},type="${type}"} ${Math.floor(c.pushes[type])}`);
    for (const type of XDS_TYPES)
      rejects.push(
        `pilot_total_xds_rejects{${base},type="${type}"} ${type === REJECTED_TYPE ? Math.floor(c.rejects) : 0}`,
      );
    const versions = [...(versionsByIstiod.get(uid) ?? new Map<string, number>()).entries()].sort(([a], [b]) =>
      a.localeCompare(b),
    );
    for (const [version, n] of versions) clients.push(`pilot_xds{${base},${label("version", version)}} ${n}`);
    const count = Math.floor(c.convergenceCount);
    CONVERGENCE_BUCKETS_S.forEach((le, i) => {
      convergence.push(
        `pilot_proxy_convergence_time_bucket{${base},le="${formatNumber(le)}"} ${Math.min(count, Math.floor(c.convergenceBuckets[i]))}`,
      );
    });
    convergence.push(`pilot_proxy_convergence_time_bucket{${base},le="+Inf"} ${count}`);
    convergence.push(`pilot_proxy_convergence_time_sum{${base}} ${formatNumber(c.convergenceSum)}`);
    convergence.push(`pilot_proxy_convergence_time_count{${base}} ${count}`);
  }
  return [...build, ...pushes, ...rejects, ...clients, ...convergence].join("\n") + "\n";
}
