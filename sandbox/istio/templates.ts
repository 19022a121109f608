// The `sidecar` and `gateway` injection templates of istiod (manifests/charts/istio-control/istio-discovery/
// files/injection-template.yaml and gateway-injection-template.yaml), written as functions instead of Go
// templates. Output shapes follow pkg/kube/inject/testdata/inject/*.injected (istio-facts §1.2).
import type { KObject } from "../api/types.js";
import { mountsCaCrl } from "./templates-release.js";

/** The `values` JSON of ConfigMap istio-sidecar-injector<r> (only the fields the templates read). */
export interface InjectorValues {
  global: {
    hub: string;
    tag: string;
    variant?: string;
    istioNamespace: string;
    caAddress?: string;
    pilotCertProvider?: string;
    imagePullPolicy?: string;
    meshID?: string;
    network?: string;
    multiCluster?: { clusterName?: string };
    logging?: { level?: string };
    proxy: {
      image: string;
      autoInject?: string;
      clusterDomain?: string;
      logLevel?: string;
      componentLogLevel?: string;
      includeIPRanges?: string;
      excludeIPRanges?: string;
      includeInboundPorts?: string;
      excludeInboundPorts?: string;
      includeOutboundPorts?: string;
      excludeOutboundPorts?: string;
      statusPort?: number;
      privileged?: boolean;
      readinessFailureThreshold?: number;
      readinessPeriodSeconds?: number;
      readinessInitialDelaySeconds?: number;
      startupProbe?: { enabled?: boolean; failureThreshold?: number };
      resources?: Record<string, unknown>;
    };
    proxy_init?: { image?: string };
  };
  revision: string;
  pilot?: { cni?: { enabled?: boolean }; env?: Record<string, string> };
  sidecarInjectorWebhook?: Record<string, unknown>;
}

/** The workload a pod belongs to, as istiod derives it (GetDeployMetaFromPod). */
export interface WorkloadMeta {
  name: string;
  kind: string;
  apiVersion: string;
}

export interface TemplateContext {
  pod: KObject;
  values: InjectorValues;
  /** istiod's own revision; "" for an unrevisioned install */
  revision: string;
  /** effective ProxyConfig (mesh defaultConfig + proxy.istio.io/config) */
  proxyConfig: Record<string, any>;
  /** PROXY_CONFIG: the ProxyConfig JSON minus defaults */
  proxyConfigJSON: string;
  proxyImage: string;
  nativeSidecar: boolean;
  workload: WorkloadMeta;
  /** Istio version of the injecting istiod (the proxy tag) */
  version: string;
  /** mesh trustDomain (MeshConfig), "cluster.local" by default */
  trustDomain: string;
}

export interface TemplateOutput {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** containers the template adds before the pod's own init containers */
  initContainers: any[];
  /** containers the template adds after the pod's own containers */
  containers: any[];
  volumes: any[];
  podSecurityContext?: Record<string, unknown>;
}

const ISTIO_PROXY = "istio-proxy";

function annotation(pod: KObject, key: string, fallback: string): string {
  const v = pod.metadata.annotations?.[key];
  return v === undefined ? fallback : v;
}

function fieldRef(name: string, fieldPath: string) {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

function resourceRef(name: string, resource: string) {
  return { name, valueFrom: { resourceFieldRef: { divisor: "1", resource } } };
}

function interceptionMode(ctx: TemplateContext): string {
  return annotation(ctx.pod, "sidecar.istio.io/interceptionMode", ctx.proxyConfig.interceptionMode ?? "REDIRECT");
}

function statusPort(ctx: TemplateContext): string {
  return annotation(ctx.pod, "status.sidecar.istio.io/port", String(ctx.values.global.proxy.statusPort ?? 15020));
}

// excludeInboundPort: the user's list with the status port appended unless already present.
function excludedInboundPorts(ctx: TemplateContext): string {
  const user = annotation(
    ctx.pod,
    "traffic.sidecar.istio.io/excludeInboundPorts",
    ctx.values.global.proxy.excludeInboundPorts ?? "",
  );
  const port = statusPort(ctx);
  const ports = user
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (port !== "0" && !ports.includes(port)) ports.push(port);
  return ports.join(",");
}

function proxyResources(ctx: TemplateContext): Record<string, unknown> {
  const a = ctx.pod.metadata.annotations ?? {};
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (a["sidecar.istio.io/proxyCPU"] !== undefined) requests.cpu = a["sidecar.istio.io/proxyCPU"];
  if (a["sidecar.istio.io/proxyMemory"] !== undefined) requests.memory = a["sidecar.istio.io/proxyMemory"];
  if (a["sidecar.istio.io/proxyCPULimit"] !== undefined) limits.cpu = a["sidecar.istio.io/proxyCPULimit"];
  if (a["sidecar.istio.io/proxyMemoryLimit"] !== undefined) limits.memory = a["sidecar.istio.io/proxyMemoryLimit"];
  // any resource annotation replaces the global proxy resources entirely
  if (Object.keys(requests).length || Object.keys(limits).length) {
    return { ...(Object.keys(limits).length ? { limits } : {}), ...(Object.keys(requests).length ? { requests } : {}) };
  }
  return structuredClone(ctx.values.global.proxy.resources ?? {});
}

function proxyMetadataEnv(ctx: TemplateContext): { name: string; value: string }[] {
  return Object.entries((ctx.proxyConfig.proxyMetadata ?? {}) as Record<string, string>).map(([name, value]) => ({
    name,
    value: String(value),
  }));
}

function initContainer(ctx: TemplateContext): any {
  const g = ctx.values.global;
  const cni = !!ctx.values.pilot?.cni?.enabled;
  const args = ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", interceptionMode(ctx)];
  args.push(
    "-i",
    annotation(ctx.pod, "traffic.sidecar.istio.io/includeOutboundIPRanges", g.proxy.includeIPRanges ?? "*"),
  );
  args.push(
    "-x",
    annotation(ctx.pod, "traffic.sidecar.istio.io/excludeOutboundIPRanges", g.proxy.excludeIPRanges ?? ""),
  );
  args.push(
    "-b",
    annotation(ctx.pod, "traffic.sidecar.istio.io/includeInboundPorts", g.proxy.includeInboundPorts ?? "*"),
  );
  const excluded = excludedInboundPorts(ctx);
  args.push("-d", excluded ? `15090,15021,${excluded}` : "15090,15021");
  const includeOut = annotation(
    ctx.pod,
    "traffic.sidecar.istio.io/includeOutboundPorts",
    g.proxy.includeOutboundPorts ?? "",
  );
  if (includeOut) args.push("-q", includeOut);
  const excludeOut = annotation(
    ctx.pod,
    "traffic.sidecar.istio.io/excludeOutboundPorts",
    g.proxy.excludeOutboundPorts ?? "",
  );
  if (excludeOut) args.push("-o", excludeOut);
  args.push(
    `--log_output_level=${annotation(ctx.pod, "sidecar.istio.io/agentLogLevel", g.logging?.level ?? "default:info")}`,
  );
  if (cni) args.push("--run-validation", "--skip-rule-apply");
  const env = proxyMetadataEnv(ctx);
  return {
    args,
    ...(env.length ? { env } : {}),
    image: ctx.proxyImage,
    ...(g.imagePullPolicy ? { imagePullPolicy: g.imagePullPolicy } : {}),
    name: cni ? "istio-validation" : "istio-init",
    resources: proxyResources(ctx),
    securityContext: cni
      ? {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          privileged: false,
          readOnlyRootFilesystem: true,
          runAsGroup: 1337,
          runAsNonRoot: true,
          runAsUser: 1337,
        }
      : {
          allowPrivilegeEscalation: false,
          capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
          privileged: false,
          readOnlyRootFilesystem: false,
          runAsGroup: 0,
          runAsNonRoot: false,
          runAsUser: 0,
        },
  };
}

function caAddress(values: InjectorValues): string {
  if (values.global.caAddress) return values.global.caAddress;
  // istio-facts §2 "How the proxy finds istiod": CA_ADDR=istiod<r>.<istioNs>.svc:15012
  return `istiod${values.revision ? `-${values.revision}` : ""}.${values.global.istioNamespace}.svc:15012`;
}

// ISTIO_META_POD_PORTS is printed by the template line by line: "[", each port JSON, "]".
function podPortsJSON(pod: KObject): string {
  let out = "[";
  let first = true;
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      // Go struct field order of corev1.ContainerPort, empty fields omitted
      const port: Record<string, unknown> = {};
      for (const k of ["name", "hostPort", "containerPort", "protocol", "hostIP"])
        if (p[k] !== undefined && p[k] !== "" && p[k] !== 0) port[k] = p[k];
      out += `\n    ${first ? "" : ","}${JSON.stringify(port)}`;
      first = false;
    }
  }
  return out + "\n]";
}

function appContainerNames(pod: KObject): string[] {
  return (pod.spec?.containers ?? []).map((c: any) => c.name).filter((n: string) => n !== ISTIO_PROXY);
}

function commonProxyEnv(ctx: TemplateContext) {
  return [
    { name: "PILOT_CERT_PROVIDER", value: ctx.values.global.pilotCertProvider ?? "istiod" },
    { name: "CA_ADDR", value: caAddress(ctx.values) },
    fieldRef("POD_NAME", "metadata.name"),
    fieldRef("POD_NAMESPACE", "metadata.namespace"),
    fieldRef("INSTANCE_IP", "status.podIP"),
    fieldRef("SERVICE_ACCOUNT", "spec.serviceAccountName"),
    fieldRef("HOST_IP", "status.hostIP"),
    resourceRef("ISTIO_CPU_LIMIT", "limits.cpu"),
    { name: "PROXY_CONFIG", value: `${ctx.proxyConfigJSON}\n` },
    { name: "ISTIO_META_POD_PORTS", value: podPortsJSON(ctx.pod) },
  ];
}

function workloadEnv(ctx: TemplateContext) {
  const g = ctx.values.global;
  const ns = ctx.pod.metadata.namespace ?? "default";
  const plural = `${ctx.workload.kind.toLowerCase()}s`;
  const owner = ctx.workload.apiVersion.includes("/")
    ? `kubernetes://apis/${ctx.workload.apiVersion}/namespaces/${ns}/${plural}/${ctx.workload.name}`
    : `kubernetes://api/${ctx.workload.apiVersion}/namespaces/${ns}/${plural}/${ctx.workload.name}`;
  const trustDomain = ctx.trustDomain;
  return [
    { name: "ISTIO_META_CLUSTER_ID", value: g.multiCluster?.clusterName || "Kubernetes" },
    fieldRef("ISTIO_META_NODE_NAME", "spec.nodeName"),
    { name: "ISTIO_META_INTERCEPTION_MODE", value: interceptionMode(ctx) },
    ...(g.network ? [{ name: "ISTIO_META_NETWORK", value: g.network }] : []),
    {
      name: "ISTIO_META_WORKLOAD_NAME",
      value: ctx.pod.metadata.labels?.["service.istio.io/workload-name"] ?? ctx.workload.name,
    },
    { name: "ISTIO_META_OWNER", value: owner },
    { name: "ISTIO_META_MESH_ID", value: g.meshID || trustDomain },
    { name: "TRUST_DOMAIN", value: trustDomain },
  ];
}

function readinessProbe(ctx: TemplateContext) {
  const p = ctx.values.global.proxy;
  return {
    failureThreshold: p.readinessFailureThreshold ?? 4,
    httpGet: { path: "/healthz/ready", port: 15021 },
    ...(p.readinessInitialDelaySeconds ? { initialDelaySeconds: p.readinessInitialDelaySeconds } : {}),
    periodSeconds: p.readinessPeriodSeconds ?? 15,
    timeoutSeconds: 3,
  };
}

function proxyArgs(ctx: TemplateContext, kind: "sidecar" | "router"): string[] {
  const g = ctx.values.global;
  return [
    "proxy",
    kind,
    "--domain",
    `$(POD_NAMESPACE).svc.${g.proxy.clusterDomain ?? "cluster.local"}`,
    `--proxyLogLevel=${annotation(ctx.pod, "sidecar.istio.io/logLevel", g.proxy.logLevel ?? "warning")}`,
    `--proxyComponentLogLevel=${annotation(ctx.pod, "sidecar.istio.io/componentLogLevel", g.proxy.componentLogLevel ?? "misc:error")}`,
    `--log_output_level=${annotation(ctx.pod, "sidecar.istio.io/agentLogLevel", g.logging?.level ?? "default:info")}`,
  ];
}

function proxyVolumeMounts(ctx: TemplateContext, withCrl: boolean) {
  return [
    { mountPath: "/var/run/secrets/workload-spiffe-uds", name: "workload-socket" },
    { mountPath: "/var/run/secrets/credential-uds", name: "credential-socket" },
    { mountPath: "/var/run/secrets/workload-spiffe-credentials", name: "workload-certs" },
    { mountPath: "/var/run/secrets/istio", name: "istiod-ca-cert" },
    ...(withCrl ? [{ mountPath: "/var/run/secrets/istio/crl", name: "istio-ca-crl" }] : []),
    { mountPath: "/var/lib/istio/data", name: "istio-data" },
    { mountPath: "/etc/istio/proxy", name: "istio-envoy" },
    { mountPath: "/var/run/secrets/tokens", name: "istio-token" },
    { mountPath: "/etc/istio/pod", name: "istio-podinfo" },
  ];
}

function proxyVolumes(withCrl: boolean) {
  return [
    { name: "workload-socket", emptyDir: {} },
    { name: "credential-socket", emptyDir: {} },
    { name: "workload-certs", emptyDir: {} },
    { name: "istio-envoy", emptyDir: { medium: "Memory" } },
    { name: "istio-data", emptyDir: {} },
    {
      name: "istio-podinfo",
      downwardAPI: {
        items: [
          { fieldRef: { fieldPath: "metadata.labels" }, path: "labels" },
          { fieldRef: { fieldPath: "metadata.annotations" }, path: "annotations" },
        ],
      },
    },
    {
      name: "istio-token",
      projected: {
        sources: [{ serviceAccountToken: { audience: "istio-ca", expirationSeconds: 43200, path: "istio-token" } }],
      },
    },
    { name: "istiod-ca-cert", configMap: { name: "istio-ca-root-cert" } },
    ...(withCrl ? [{ name: "istio-ca-crl", configMap: { name: "istio-ca-crl", optional: true } }] : []),
  ];
}

function canonicalLabels(ctx: TemplateContext): Record<string, string> {
  const l = ctx.pod.metadata.labels ?? {};
  // istio-facts §1.1: canonical-name ← itself → app.kubernetes.io/name → app → workload; revision ← itself → app.kubernetes.io/version → version → latest
  const name = (l["service.istio.io/canonical-name"] || l["app.kubernetes.io/name"] || l["app"] || ctx.workload.name)
    .slice(0, 63)
    .replace(/-+$/, "");
  const revision =
    l["service.istio.io/canonical-revision"] || l["app.kubernetes.io/version"] || l["version"] || "latest";
  return { "service.istio.io/canonical-name": name, "service.istio.io/canonical-revision": revision };
}

/** The `sidecar` template: istio-init (unless interception NONE) and istio-proxy, classic or native. */
export function sidecarTemplate(ctx: TemplateContext): TemplateOutput {
  const withCrl = mountsCaCrl(ctx.version);
  const apps = appContainerNames(ctx.pod);
  const startup = ctx.values.global.proxy.startupProbe;
  const proxy: any = {
    args: proxyArgs(ctx, "sidecar"),
    env: [
      ...commonProxyEnv(ctx),
      { name: "ISTIO_META_APP_CONTAINERS", value: apps.join(",") },
      resourceRef("GOMEMLIMIT", "limits.memory"),
      ...workloadEnv(ctx),
      ...proxyMetadataEnv(ctx),
    ],
    image: ctx.proxyImage,
    ...(ctx.values.global.imagePullPolicy ? { imagePullPolicy: ctx.values.global.imagePullPolicy } : {}),
    // native sidecars start draining on preStop, once the application containers are gone
    ...(ctx.nativeSidecar
      ? {
          lifecycle: {
            preStop: {
              exec: { command: ["pilot-agent", "request", `--debug-port=${statusPort(ctx)}`, "POST", "drain"] },
            },
          },
        }
      : {}),
    name: ISTIO_PROXY,
    ports: [{ containerPort: 15090, name: "http-envoy-prom", protocol: "TCP" }],
    readinessProbe: readinessProbe(ctx),
    resources: proxyResources(ctx),
    ...(ctx.nativeSidecar ? { restartPolicy: "Always" } : {}),
    securityContext: {
      allowPrivilegeEscalation: !!ctx.values.global.proxy.privileged,
      capabilities: { drop: ["ALL"] },
      privileged: !!ctx.values.global.proxy.privileged,
      readOnlyRootFilesystem: true,
      runAsGroup: 1337,
      runAsNonRoot: true,
      runAsUser: 1337,
    },
    ...(startup?.enabled !== false
      ? {
          startupProbe: {
            failureThreshold: startup?.failureThreshold ?? 600,
            httpGet: { path: "/healthz/ready", port: 15021 },
            periodSeconds: 1,
            timeoutSeconds: 3,
          },
        }
      : {}),
    volumeMounts: proxyVolumeMounts(ctx, withCrl),
  };
  const redirect = interceptionMode(ctx) !== "NONE";
  const initContainers = [...(redirect ? [initContainer(ctx)] : []), ...(ctx.nativeSidecar ? [proxy] : [])];
  const annotations: Record<string, string> = { "istio.io/rev": ctx.revision || "default" };
  const podAnnotations = ctx.pod.metadata.annotations ?? {};
  if (apps.length) {
    if (podAnnotations["kubectl.kubernetes.io/default-container"] === undefined)
      annotations["kubectl.kubernetes.io/default-container"] = apps[0];
    if (podAnnotations["kubectl.kubernetes.io/default-logs-container"] === undefined)
      annotations["kubectl.kubernetes.io/default-logs-container"] = apps[0];
  }
  return {
    labels: {
      "security.istio.io/tlsMode": ctx.pod.metadata.labels?.["security.istio.io/tlsMode"] || "istio",
      ...canonicalLabels(ctx),
    },
    annotations,
    initContainers,
    containers: ctx.nativeSidecar ? [] : [proxy],
    volumes: proxyVolumes(withCrl),
  };
}

/** The `gateway` template: a router proxy only, no iptables, no native sidecar, no CRL volume. */
export function gatewayTemplate(ctx: TemplateContext): TemplateOutput {
  const proxy: any = {
    args: proxyArgs(ctx, "router"),
    env: [
      ...commonProxyEnv(ctx),
      resourceRef("GOMEMLIMIT", "limits.memory"),
      { name: "ISTIO_META_APP_CONTAINERS", value: appContainerNames(ctx.pod).join(",") },
      ...workloadEnv(ctx),
      ...proxyMetadataEnv(ctx),
    ],
    image: ctx.proxyImage,
    ...(ctx.values.global.imagePullPolicy ? { imagePullPolicy: ctx.values.global.imagePullPolicy } : {}),
    name: ISTIO_PROXY,
    ports: [{ containerPort: 15090, name: "http-envoy-prom", protocol: "TCP" }],
    readinessProbe: readinessProbe(ctx),
    resources: proxyResources(ctx),
    securityContext: { runAsGroup: 1337, runAsUser: 1337 },
    volumeMounts: proxyVolumeMounts(ctx, false),
  };
  return {
    labels: canonicalLabels(ctx),
    annotations: { "istio.io/rev": ctx.revision || "default" },
    initContainers: [],
    containers: [proxy],
    volumes: proxyVolumes(false),
    // lets the unprivileged gateway bind ports below 1024
    podSecurityContext: { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] },
  };
}

export const INJECTION_TEMPLATES: Record<string, (ctx: TemplateContext) => TemplateOutput> = {
  sidecar: sidecarTemplate,
  gateway: gatewayTemplate,
};
