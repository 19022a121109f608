// Test support for the mesh simulation: a small in-memory ClusterStore (list/get over plain maps) and
// builders for injected pods and istiod revisions shaped like the istiod chart and injector render them.
import { ApiError, type ClusterStore, type KObject, type ResourceType } from "../api/types.js";

export class InMemoryStore implements ClusterStore {
  private readonly objects = new Map<string, Map<string, KObject>>();
  resourceVersion = 0;

  put(key: string, obj: KObject): KObject {
    let byName = this.objects.get(key);
    if (!byName) this.objects.set(key, (byName = new Map()));
    const stored = Object.freeze({
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(++this.resourceVersion) },
    });
    byName.set(`${obj.metadata.namespace ?? ""}/${obj.metadata.name}`, stored);
    return stored;
  }

  remove(key: string, namespace: string | undefined, name: string): void {
    this.objects.get(key)?.delete(`${namespace ?? ""}/${name}`);
  }

  get(key: string, namespace: string | undefined, name: string): KObject | undefined {
    return this.objects.get(key)?.get(`${namespace ?? ""}/${name}`);
  }

  list(key: string, namespace?: string): KObject[] {
    const all = [...(this.objects.get(key)?.values() ?? [])];
    return namespace ? all.filter((o) => o.metadata.namespace === namespace) : all;
  }

  type(key: string): ResourceType {
    throw new ApiError(404, "NotFound", `the test store serves no type registry (asked for ${key})`);
  }
  typeForKind(): ResourceType | undefined {
    return undefined;
  }
  create(): KObject {
    throw new Error("InMemoryStore supports put/remove only");
  }
  createShared(): KObject {
    throw new Error("InMemoryStore supports put/remove only");
  }
  update(): KObject {
    throw new Error("InMemoryStore supports put/remove only");
  }
  updateShared(): KObject {
    throw new Error("InMemoryStore supports put/remove only");
  }
  mutate(): KObject | undefined {
    throw new Error("InMemoryStore supports put/remove only");
  }
  delete(): KObject {
    throw new Error("InMemoryStore supports put/remove only");
  }
  subscribe(): () => void {
    return () => {};
  }
}

export interface MeshPodSpec {
  namespace: string;
  /** owning Deployment */
  deployment: string;
  /** pod suffix after the ReplicaSet name */
  suffix: string;
  podTemplateHash?: string;
  /** revision written by the injector ("default" for the unrevisioned istiod); undefined: no sidecar */
  revision?: string;
  proxyVersion?: string;
  /** image variant suffix, e.g. "-distroless" */
  variant?: string;
  ready?: boolean;
  readySince?: string;
  phase?: string;
  labels?: Record<string, string>;
  /** put istio-proxy in initContainers (native sidecar) instead of containers */
  native?: boolean;
  gateway?: boolean;
  uid?: string;
}

/** A pod as a Deployment + the injector leave it: ReplicaSet owner, pod-template-hash, istio-proxy, status annotation. */
export function meshPod(s: MeshPodSpec): KObject {
  const hash = s.podTemplateHash ?? "5d8f7c9b4";
  const rs = `${s.deployment}-${hash}`;
  const name = `${rs}-${s.suffix}`;
  const ready = s.ready ?? true;
  const proxy = s.revision
    ? {
        name: "istio-proxy",
        image: `docker.io/istio/proxyv2:${s.proxyVersion ?? "1.28.0"}${s.variant ?? ""}`,
        args: s.gateway ? ["proxy", "router"] : ["proxy", "sidecar"],
        ...(s.native ? { restartPolicy: "Always" } : {}),
      }
    : undefined;
  const app = { name: "app", image: `example/${s.deployment}:1.0` };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: s.namespace,
      uid: s.uid ?? `uid-${s.namespace}-${name}`,
      labels: {
        app: s.deployment,
        "pod-template-hash": hash,
        ...(s.revision ? { "security.istio.io/tlsMode": "istio" } : {}),
        ...s.labels,
      },
      annotations: s.revision
        ? {
            "istio.io/rev": s.revision,
            "sidecar.istio.io/status": JSON.stringify({
              initContainers: ["istio-init"],
              containers: ["istio-proxy"],
              volumes: [],
              imagePullSecrets: null,
              revision: s.revision,
            }),
            ...(s.gateway ? { "inject.istio.io/templates": "gateway" } : {}),
          }
        : {},
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs, uid: `uid-rs-${rs}`, controller: true }],
    },
    spec:
      proxy && !s.native
        ? { containers: [app, proxy] }
        : { containers: [app], ...(proxy ? { initContainers: [proxy] } : {}) },
    status: {
      phase: s.phase ?? "Running",
      conditions: [
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: s.readySince ?? "2026-01-01T00:00:00Z" },
      ],
    },
  };
}

/** istiod Deployment `istiod[-<rev>]` as the chart renders it (label istio.io/rev=<rev|default>). */
export function istiodDeployment(revision: string, namespace = "istio-system"): KObject {
  const name = revision === "default" ? "istiod" : `istiod-${revision}`;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      uid: `uid-deploy-${name}`,
      labels: { app: "istiod", "istio.io/rev": revision, istio: "pilot" },
    },
    spec: {
      selector: {
        matchLabels: revision === "default" ? { istio: "pilot" } : { app: "istiod", "istio.io/rev": revision },
      },
      template: {
        spec: {
          containers: [
            { name: "discovery", image: "docker.io/istio/pilot:1.28.0", env: [{ name: "REVISION", value: revision }] },
          ],
        },
      },
    },
  };
}

/** An istiod pod of the revision, Ready or not. */
export function istiodPod(
  revision: string,
  opts: { ready?: boolean; suffix?: string; version?: string; namespace?: string } = {},
): KObject {
  const deployment = revision === "default" ? "istiod" : `istiod-${revision}`;
  const pod = meshPod({
    namespace: opts.namespace ?? "istio-system",
    deployment,
    suffix: opts.suffix ?? "aaaaa",
    podTemplateHash: "7c9d8f6b5",
    ready: opts.ready ?? true,
  });
  pod.metadata.labels = {
    app: "istiod",
    "istio.io/rev": revision,
    istio: revision === "default" ? "pilot" : "istiod",
    "pod-template-hash": "7c9d8f6b5",
    "sidecar.istio.io/inject": "false",
  };
  pod.spec = { containers: [{ name: "discovery", image: `docker.io/istio/pilot:${opts.version ?? "1.28.0"}` }] };
  return pod;
}

/** Service `istiod[-<rev>]` with the chart's ports (15014 http-monitoring) and selector. */
export function istiodService(
  revision: string,
  opts: { name?: string; tag?: string; namespace?: string } = {},
): KObject {
  const name = opts.name ?? (revision === "default" ? "istiod" : `istiod-${revision}`);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: opts.namespace ?? "istio-system",
      labels: { app: "istiod", "istio.io/rev": revision, ...(opts.tag ? { "istio.io/tag": opts.tag } : {}) },
    },
    spec: {
      selector:
        revision === "default" ? { app: "istiod", istio: "pilot" } : { app: "istiod", "istio.io/rev": revision },
      ports: [
        { name: "grpc-xds", port: 15010 },
        { name: "https-dns", port: 15012 },
        { name: "https-webhook", port: 443, targetPort: 15017 },
        { name: "http-monitoring", port: 15014 },
      ],
    },
  };
}

export function appService(namespace: string, name: string, selector: Record<string, string>): KObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector, ports: [{ name: "http", port: 80 }] },
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_PAIR = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/;

function parseValue(text: string, line: number): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${line}: bad sample value "${text}"`);
  return Number(text);
}

/** The family a sample belongs to: histogram/summary samples carry _bucket, _sum, _count suffixes. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
    if (base && types.get(base) === "histogram") return base;
  }
  return name;
}

/**
 * A strict reader of the Prometheus text format 0.0.4 for tests: rejects what Prometheus' parser rejects
 * (bad names, bad escapes, bad values, TYPE after samples, a family split in two, duplicate series) and
 * checks histogram consistency (cumulative buckets, +Inf bucket equal to _count).
 */
export function parseExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a line feed");
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const seenSeries = new Set<string>();
  const finishedFamilies = new Set<string>();
  let currentFamily: string | undefined;
  text
    .slice(0, -1)
    .split("\n")
    .forEach((line, i) => {
      const n = i + 1;
      if (line.startsWith("#")) {
        const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
        if (!m) return;
        if (!METRIC_NAME.test(m[2])) throw new Error(`line ${n}: bad metric name in ${m[1]}`);
        if (m[1] === "TYPE") {
          if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3]))
            throw new Error(`line ${n}: bad type ${m[3]}`);
          if (types.has(m[2])) throw new Error(`line ${n}: second TYPE for ${m[2]}`);
          if (finishedFamilies.has(m[2]) || currentFamily === m[2])
            throw new Error(`line ${n}: TYPE for ${m[2]} after its samples`);
          types.set(m[2], m[3]);
        }
        return;
      }
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
      if (!m) throw new Error(`line ${n}: not a sample: ${line.slice(0, 120)}`);
      const labels: Record<string, string> = {};
      let rest = m[3] ?? "";
      while (rest.length) {
        const pair = LABEL_PAIR.exec(rest);
        if (!pair) throw new Error(`line ${n}: bad label pair at ${rest.slice(0, 60)}`);
        if (pair[1] in labels) throw new Error(`line ${n}: duplicate label ${pair[1]}`);
        labels[pair[1]] = pair[2].replace(/\\(["\\n])/g, (_, c) => (c === "n" ? "\n" : c));
        rest = rest.slice(pair[0].length);
      }
      const family = familyOf(m[1], types);
      if (family !== currentFamily) {
        if (finishedFamilies.has(family)) throw new Error(`line ${n}: samples of ${family} are not contiguous`);
        if (currentFamily) finishedFamilies.add(currentFamily);
        currentFamily = family;
      }
      const key = `${m[1]}{${Object.entries(labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(",")}}`;
      if (seenSeries.has(key)) throw new Error(`line ${n}: duplicate series ${key}`);
      seenSeries.add(key);
      samples.push({ name: m[1], labels, value: parseValue(m[4], n) });
    });
  checkHistograms(samples, types);
  return { samples, types };
}

function seriesKey(labels: Record<string, string>, without: string[] = []): string {
  return Object.entries(labels)
    .filter(([k]) => !without.includes(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

function checkHistograms(samples: Sample[], types: Map<string, string>): void {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const buckets = new Map<string, { le: number; value: number }[]>();
    const counts = new Map<string, number>();
    for (const s of samples) {
      if (s.name === `${family}_bucket`) {
        const k = seriesKey(s.labels, ["le"]);
        if (!buckets.has(k)) buckets.set(k, []);
        buckets.get(k)!.push({ le: parseValue(s.labels.le, 0), value: s.value });
      } else if (s.name === `${family}_count`) counts.set(seriesKey(s.labels), s.value);
    }
    for (const [k, list] of buckets) {
      list.sort((a, b) => a.le - b.le);
      for (let i = 1; i < list.length; i++)
        if (list[i].value < list[i - 1].value)
          throw new Error(`${family}{${k}}: bucket le=${list[i].le} below le=${list[i - 1].le}`);
      const inf = list.at(-1)!;
      if (inf.le !== Infinity) throw new Error(`${family}{${k}}: no +Inf bucket`);
      if (counts.get(k) !== inf.value)
        throw new Error(`${family}{${k}}: _count ${counts.get(k)} differs from the +Inf bucket ${inf.value}`);
    }
  }
}

/** Sum of the selected samples' values: sum(metric{labels...}). */
export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/**
 * histogram_quantile over the increase between two scrapes, as PromQL computes it from cumulative buckets:
 * linear interpolation inside the bucket holding the rank; the lowest bucket starts at 0; the +Inf bucket
 * answers with the highest finite bound.
 */
export function quantileOfIncrease(
  q: number,
  before: Sample[],
  after: Sample[],
  family: string,
  match: Record<string, string> = {},
): number {
  const increase = new Map<number, number>();
  const add = (samples: Sample[], sign: number) => {
    for (const s of samples) {
      if (s.name !== `${family}_bucket` || !Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
      const le = parseValue(s.labels.le, 0);
      increase.set(le, (increase.get(le) ?? 0) + sign * s.value);
    }
  };
  add(after, 1);
  add(before, -1);
  const buckets = [...increase.entries()].sort(([a], [b]) => a - b);
  const total = buckets.at(-1)![1];
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return NaN;
}
