// istiod's side of sidecar injection, after one of its webhooks fired (pkg/kube/inject/webhook.go, inject.go):
// injectRequired decides, then the pod's templates are applied and the status annotation is written.
import YAML from "yaml";
import { labelSelectorMatches, type LabelSelector } from "../api/admission.js";
import type { KObject } from "../api/types.js";
import { INJECTION_TEMPLATES, type InjectorValues, type TemplateContext, type WorkloadMeta } from "./templates.js";
import { LATEST_ISTIO_VERSION, nativeSidecarsByDefault, parseIstioVersion } from "./templates-release.js";

export interface InjectionContext {
  /** the pod's Namespace object */
  namespace: KObject;
  /** ConfigMap istio-sidecar-injector<r> of the injecting revision */
  injectorConfigMap: KObject;
  /** ConfigMap istio<r> (mesh config) of the injecting revision */
  meshConfigMap?: KObject;
  /** istiod's REVISION: the revision name, or "" / "default" for an unrevisioned install */
  revision: string;
  istioNamespace: string;
}

export type InjectionResult = { injected: true; pod: KObject } | { injected: false; reason: string };

/** The injection config of the revision is unusable (e.g. an unknown template was requested): istiod rejects the pod. */
export class InjectionError extends Error {}

/** The parsed `config` key of istio-sidecar-injector<r> (pkg/kube/inject Config). */
export interface InjectionConfig {
  policy: "enabled" | "disabled";
  defaultTemplates: string[];
  templates: Record<string, unknown>;
  neverInjectSelector: LabelSelector[];
  alwaysInjectSelector: LabelSelector[];
  injectedAnnotations: Record<string, string>;
}

export const SIDECAR_STATUS = "sidecar.istio.io/status";
const ISTIO_PROXY = "istio-proxy";
// kube.IgnoredNamespaces: never injected, whatever the webhooks matched
const IGNORED_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "local-path-storage"]);
const DEFAULT_DISCOVERY_ADDRESS = "istiod.istio-system.svc:15012";
// mesh.DefaultProxyConfig(): values equal to these are dropped from PROXY_CONFIG (cleanProxyConfig)
const PROXY_CONFIG_DEFAULTS: Record<string, unknown> = {
  configPath: "./etc/istio/proxy",
  binaryPath: "/usr/local/bin/envoy",
  serviceCluster: "istio-proxy",
  drainDuration: "45s",
  terminationDrainDuration: "5s",
  proxyAdminPort: 15000,
  controlPlaneAuthPolicy: "MUTUAL_TLS",
  discoveryAddress: DEFAULT_DISCOVERY_ADDRESS,
  statNameLength: 189,
  statusPort: 15020,
};
// ProxyConfig proto field order, which protojson follows when printing PROXY_CONFIG
const PROXY_CONFIG_FIELD_ORDER = [
  "configPath",
  "binaryPath",
  "serviceCluster",
  "drainDuration",
  "parentShutdownDuration",
  "discoveryAddress",
  "zipkinAddress",
  "statsdUdpAddress",
  "proxyAdminPort",
  "controlPlaneAuthPolicy",
  "customConfigFile",
  "statNameLength",
  "concurrency",
  "proxyBootstrapTemplatePath",
  "interceptionMode",
  "tracing",
  "envoyAccessLogService",
  "envoyMetricsService",
  "proxyMetadata",
  "statusPort",
  "extraStatTags",
  "gatewayTopology",
  "terminationDrainDuration",
  "meshId",
  "readinessProbe",
  "proxyStatsMatcher",
  "holdApplicationUntilProxyStarts",
  "caCertificatesPem",
  "image",
];

// stored objects are immutable, so a ConfigMap's parse is kept for as long as that object version lives
const configCache = new WeakMap<KObject, InjectionConfig>();
const valuesCache = new WeakMap<KObject, InjectorValues>();

export function parseInjectionConfig(configMap: KObject): InjectionConfig {
  let parsed = configCache.get(configMap);
  if (!parsed) {
    parsed = readInjectionConfig(configMap);
    configCache.set(configMap, parsed);
  }
  return parsed;
}

export function parseInjectorValues(configMap: KObject): InjectorValues {
  let parsed = valuesCache.get(configMap);
  if (!parsed) {
    parsed = readInjectorValues(configMap);
    valuesCache.set(configMap, parsed);
  }
  return parsed;
}

function readInjectionConfig(configMap: KObject): InjectionConfig {
  const raw = configMap.data?.config;
  if (typeof raw !== "string")
    throw new InjectionError(
      `ConfigMap ${configMap.metadata.namespace}/${configMap.metadata.name} has no "config" key`,
    );
  const c = (YAML.parse(raw) ?? {}) as Record<string, any>;
  return {
    policy: c.policy === "disabled" ? "disabled" : "enabled",
    defaultTemplates: c.defaultTemplates?.length ? c.defaultTemplates : ["sidecar"],
    templates: c.templates ?? {},
    neverInjectSelector: c.neverInjectSelector ?? [],
    alwaysInjectSelector: c.alwaysInjectSelector ?? [],
    injectedAnnotations: c.injectedAnnotations ?? {},
  };
}

function readInjectorValues(configMap: KObject): InjectorValues {
  const raw = configMap.data?.values;
  if (typeof raw !== "string")
    throw new InjectionError(
      `ConfigMap ${configMap.metadata.namespace}/${configMap.metadata.name} has no "values" key`,
    );
  return JSON.parse(raw) as InjectorValues;
}

/** injectRequired (pkg/kube/inject/inject.go): the decision istiod makes once a webhook sent it the pod. */
export function injectionRequired(
  pod: KObject,
  namespaceName: string,
  config: InjectionConfig,
): { required: boolean; reason: string } {
  if (pod.spec?.hostNetwork) return { required: false, reason: "pod uses hostNetwork" };
  if (IGNORED_NAMESPACES.has(namespaceName))
    return { required: false, reason: `namespace ${namespaceName} is never injected` };
  // the label is the newer API and beats the annotation
  const label = pod.metadata.labels?.["sidecar.istio.io/inject"];
  const choice = label ?? pod.metadata.annotations?.["sidecar.istio.io/inject"] ?? "";
  const source = label !== undefined ? "label" : "annotation";
  let useDefault = false;
  let inject = false;
  const lower = choice.toLowerCase();
  if (["y", "yes", "true", "on"].includes(lower)) inject = true;
  else if (lower === "") useDefault = true;
  let reason = useDefault ? `policy ${config.policy}` : `sidecar.istio.io/inject ${source} is "${choice}"`;
  const labels = pod.metadata.labels ?? {};
  const nonEmpty = (s: LabelSelector) =>
    (s.matchLabels && Object.keys(s.matchLabels).length > 0) || (s.matchExpressions?.length ?? 0) > 0;
  if (useDefault && config.neverInjectSelector.some((s) => nonEmpty(s) && labelSelectorMatches(s, labels))) {
    useDefault = false;
    inject = false;
    reason = "pod matches neverInjectSelector";
  }
  if (useDefault && config.alwaysInjectSelector.some((s) => nonEmpty(s) && labelSelectorMatches(s, labels))) {
    useDefault = false;
    inject = true;
    reason = "pod matches alwaysInjectSelector";
  }
  const required = useDefault ? config.policy === "enabled" : inject;
  return { required, reason };
}

/** GetDeployMetaFromPod: the owning workload, guessed from generateName and the controller reference. */
export function workloadOf(pod: KObject): WorkloadMeta {
  const meta: WorkloadMeta = { name: pod.metadata.name ?? "", kind: "Pod", apiVersion: "v1" };
  const labels = pod.metadata.labels ?? {};
  const controller = pod.metadata.ownerReferences?.find((r) => r.controller);
  if (pod.metadata.generateName && controller) {
    meta.apiVersion = controller.apiVersion;
    meta.kind = controller.kind;
    meta.name = controller.name;
    const hash = labels["pod-template-hash"];
    if (controller.kind === "ReplicaSet" && hash && controller.name.endsWith(hash)) {
      meta.name = controller.name.slice(0, -(hash.length + 1));
      meta.kind = "Deployment";
      meta.apiVersion = "apps/v1";
    } else if (controller.kind === "Job") {
      // CronJob jobs are named <cronjob>-<8..10 digit schedule time>
      const m = /^(.+)-\d{8,10}$/.exec(labels["job-name"] ?? controller.name);
      if (m) {
        meta.name = m[1];
        meta.kind = "CronJob";
        meta.apiVersion = "batch/v1";
      }
    }
  }
  if (!meta.name) meta.name = pod.metadata.generateName?.replace(/-$/, "") ?? "";
  return meta;
}

/** ProxyImage (pkg/kube/inject/inject.go): <hub>/<proxy.image>:<tag>[-variant]; a proxy.image with "/" is used as the repository. */
export function proxyImageFor(values: InjectorValues, annotations: Record<string, string>): string {
  if (annotations["sidecar.istio.io/proxyImage"]) return annotations["sidecar.istio.io/proxyImage"];
  const name = values.global.proxy?.image || "proxyv2";
  const repo = name.includes("/") ? name : `${values.global.hub}/${name}`;
  const tag = values.global.tag === undefined || values.global.tag === null ? "" : String(values.global.tag);
  if (!tag) return repo;
  const variant = annotations["sidecar.istio.io/proxyImageType"] ?? values.global.variant ?? "";
  const suffix = variant && variant !== "default" && !tag.endsWith(`-${variant}`) ? `-${variant}` : "";
  return `${repo}:${tag}${suffix}`;
}

function deepMerge(base: Record<string, any>, overlay: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object" && !Array.isArray(out[k])
        ? deepMerge(out[k], v)
        : v;
  }
  return out;
}

const meshCache = new WeakMap<KObject, Record<string, any>>();

function meshConfigOf(ctx: InjectionContext): Record<string, any> {
  const cm = ctx.meshConfigMap;
  if (!cm) return {};
  let parsed = meshCache.get(cm);
  if (!parsed) {
    const raw = cm.data?.mesh;
    parsed = typeof raw === "string" ? ((YAML.parse(raw) ?? {}) as Record<string, any>) : {};
    meshCache.set(cm, parsed);
  }
  return parsed;
}

/** The pod's ProxyConfig: mesh defaultConfig, then the proxy.istio.io/config annotation on top. */
function effectiveProxyConfig(pod: KObject, mesh: Record<string, any>, values: InjectorValues): Record<string, any> {
  const rev = values.revision ? `-${values.revision}` : "";
  const fromMesh = mesh.defaultConfig ?? { discoveryAddress: `istiod${rev}.${values.global.istioNamespace}.svc:15012` };
  const raw = pod.metadata.annotations?.["proxy.istio.io/config"];
  let fromPod: Record<string, any> = {};
  if (raw) {
    try {
      fromPod = (YAML.parse(raw) ?? {}) as Record<string, any>;
    } catch (err) {
      throw new InjectionError(`failed to parse proxy.istio.io/config annotation: ${(err as Error).message}`);
    }
  }
  return deepMerge(fromMesh, fromPod);
}

// cleanProxyConfig: only what differs from the defaults travels in PROXY_CONFIG, so an unrevisioned
// pod gets "{}" and a revisioned one carries its discoveryAddress (istio-facts §2).
function proxyConfigJSON(config: Record<string, any>): string {
  const keys = Object.keys(config).filter(
    (k) => JSON.stringify(config[k]) !== JSON.stringify(PROXY_CONFIG_DEFAULTS[k]),
  );
  const rank = (k: string) => {
    const i = PROXY_CONFIG_FIELD_ORDER.indexOf(k);
    return i < 0 ? PROXY_CONFIG_FIELD_ORDER.length : i;
  };
  keys.sort((a, b) => rank(a) - rank(b));
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, config[k]])));
}

function nativeSidecarFor(pod: KObject, values: InjectorValues, version: string): boolean {
  const setting = String(values.pilot?.env?.ENABLE_NATIVE_SIDECARS ?? "auto").toLowerCase();
  const revisionDefault = setting === "true" ? true : setting === "false" ? false : nativeSidecarsByDefault(version);
  // template: ne (annotation `sidecar.istio.io/nativeSidecar` | default .NativeSidecars) "false"
  const perPod = pod.metadata.annotations?.["sidecar.istio.io/nativeSidecar"];
  return perPod === undefined || perPod === "" ? revisionDefault : perPod !== "false";
}

function byName(list: any[]): Map<string, any> {
  return new Map(list.map((c) => [c.name, c]));
}

/**
 * Runs istiod's injection for one pod. Returns the injected pod, or why it was left alone.
 * Throws InjectionError when the revision's injection config cannot serve the pod (istiod denies it).
 */
export function injectPod(pod: KObject, ctx: InjectionContext): InjectionResult {
  const annotations = pod.metadata.annotations ?? {};
  if (annotations[SIDECAR_STATUS] !== undefined)
    return { injected: false, reason: "pod is already injected (has sidecar.istio.io/status)" };
  const config = parseInjectionConfig(ctx.injectorConfigMap);
  const values = parseInjectorValues(ctx.injectorConfigMap);
  const namespaceName = pod.metadata.namespace ?? ctx.namespace.metadata.name ?? "";
  const decision = injectionRequired(pod, namespaceName, config);
  if (!decision.required) return { injected: false, reason: decision.reason };

  const requested = annotations["inject.istio.io/templates"]
    ? annotations["inject.istio.io/templates"]
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean)
    : config.defaultTemplates;
  for (const t of requested) {
    if (!(t in config.templates) || !INJECTION_TEMPLATES[t]) {
      throw new InjectionError(
        `requested template "${t}" not found; have ${Object.keys(config.templates)
          .filter((k) => INJECTION_TEMPLATES[k])
          .join(", ")}`,
      );
    }
  }

  const version = parseIstioVersion(String(values.global.tag ?? "")) ? String(values.global.tag) : LATEST_ISTIO_VERSION;
  const mesh = meshConfigOf(ctx);
  const proxyConfig = effectiveProxyConfig(pod, mesh, values);
  const revision = ctx.revision === "default" ? "" : ctx.revision;
  const out: KObject = structuredClone(pod);
  out.metadata.labels ??= {};
  out.metadata.annotations ??= {};
  out.spec ??= {};
  const spec = out.spec;
  spec.containers ??= [];

  // a container named istio-proxy in the pod customizes the injected one (image "auto" means "use the template's")
  const userProxy = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].find(
    (c: any) => c.name === ISTIO_PROXY,
  );
  const ctxBase: TemplateContext = {
    pod: out,
    values,
    revision,
    proxyConfig,
    proxyConfigJSON: proxyConfigJSON(proxyConfig),
    proxyImage: proxyImageFor(values, annotations),
    nativeSidecar: nativeSidecarFor(pod, values, version),
    workload: workloadOf(pod),
    version,
    trustDomain: mesh.trustDomain ?? "cluster.local",
  };

  const addedInit: any[] = [];
  const addedContainers: any[] = [];
  const addedVolumes: any[] = [];
  for (const name of requested) {
    const t = INJECTION_TEMPLATES[name](ctxBase);
    Object.assign(out.metadata.labels, t.labels);
    Object.assign(out.metadata.annotations, t.annotations);
    for (const c of t.initContainers) if (!addedInit.some((x) => x.name === c.name)) addedInit.push(c);
    for (const c of t.containers) if (!addedContainers.some((x) => x.name === c.name)) addedContainers.push(c);
    for (const v of t.volumes) if (!addedVolumes.some((x) => x.name === v.name)) addedVolumes.push(v);
    if (t.podSecurityContext && !spec.securityContext?.sysctls)
      spec.securityContext = { ...(spec.securityContext ?? {}), ...t.podSecurityContext };
  }

  if (userProxy) {
    const { image, ...overrides } = userProxy;
    const merge = (c: any) =>
      c.name === ISTIO_PROXY ? { ...c, ...overrides, ...(image && image !== "auto" ? { image } : {}) } : c;
    for (let i = 0; i < addedInit.length; i++) addedInit[i] = merge(addedInit[i]);
    for (let i = 0; i < addedContainers.length; i++) addedContainers[i] = merge(addedContainers[i]);
    out.metadata.annotations["proxy.istio.io/overrides"] = JSON.stringify({ containers: [overrides] });
  }
  const initNames = new Set(addedInit.map((c) => c.name));
  const containerNames = new Set([...addedContainers, ...addedInit].map((c) => c.name));
  spec.initContainers = [
    ...addedInit,
    ...(spec.initContainers ?? []).filter((c: any) => !initNames.has(c.name) && c.name !== ISTIO_PROXY),
  ];
  spec.containers = [...spec.containers.filter((c: any) => !containerNames.has(c.name)), ...addedContainers];
  if (spec.initContainers.length === 0) delete spec.initContainers;
  const existingVolumes = byName(spec.volumes ?? []);
  spec.volumes = [...(spec.volumes ?? []), ...addedVolumes.filter((v) => !existingVolumes.has(v.name))];
  const pullSecrets: string[] = ((values.global as any).imagePullSecrets ?? []).map((s: any) =>
    typeof s === "string" ? s : s.name,
  );
  if (pullSecrets.length) {
    const have = new Set((spec.imagePullSecrets ?? []).map((s: any) => s.name));
    spec.imagePullSecrets = [
      ...(spec.imagePullSecrets ?? []),
      ...pullSecrets.filter((n) => !have.has(n)).map((name) => ({ name })),
    ];
  }

  applyPrometheusMerge(out, mesh, values);
  Object.assign(out.metadata.annotations, config.injectedAnnotations);
  // SidecarInjectionStatus, key order as istiod marshals it (istio-facts §1.2); the istio.io/rev label is never written
  out.metadata.annotations[SIDECAR_STATUS] = JSON.stringify({
    initContainers: addedInit.length ? addedInit.map((c) => c.name) : null,
    containers: addedContainers.length ? addedContainers.map((c) => c.name) : null,
    volumes: addedVolumes.length ? addedVolumes.map((v) => v.name) : null,
    imagePullSecrets: pullSecrets.length ? pullSecrets : null,
    revision: revision || "default",
  });
  return { injected: true, pod: out };
}

// applyPrometheusMerge: with enablePrometheusMerge (default on) the agent serves merged metrics on the
// status port; the app's own scrape settings move into ISTIO_PROMETHEUS_ANNOTATIONS.
function applyPrometheusMerge(pod: KObject, mesh: Record<string, any>, values: InjectorValues): void {
  if (mesh.enablePrometheusMerge === false) return;
  const a = pod.metadata.annotations!;
  if (a["prometheus.io/scrape"] === "false") return;
  const port = a["status.sidecar.istio.io/port"] ?? String(values.global.proxy.statusPort ?? 15020);
  if (port === "0") return;
  const original = { scrape: a["prometheus.io/scrape"], path: a["prometheus.io/path"], port: a["prometheus.io/port"] };
  if (original.scrape !== undefined || original.path !== undefined || original.port !== undefined) {
    const proxy = [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])].find(
      (c: any) => c.name === ISTIO_PROXY,
    );
    proxy?.env?.push({
      name: "ISTIO_PROMETHEUS_ANNOTATIONS",
      value: JSON.stringify({ scrape: original.scrape ?? "", path: original.path ?? "", port: original.port ?? "" }),
    });
  }
  a["prometheus.io/path"] = "/stats/prometheus";
  a["prometheus.io/port"] = port;
  a["prometheus.io/scrape"] = "true";
}
