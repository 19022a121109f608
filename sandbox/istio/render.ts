// What `istioctl install --revision` / the istiod Helm chart puts in a cluster for one revision, a revision tag
// and an istio/gateway release, as plain Kubernetes objects (istio-facts §1.3, §2, §5).
import YAML from "yaml";
import type { KObject } from "../api/types.js";
import type { InjectorValues } from "./templates.js";
import {
  LATEST_ISTIO_VERSION,
  defaultHub,
  installsStatsEnvoyFilters,
  installsValuesConfigMap,
  nativeSidecarsByDefault,
  parseIstioVersion,
  tagsHaveService,
} from "./templates-release.js";

export interface RevisionSpec {
  /** Istio release, e.g. "1.27.3" */
  version: string;
  /** revision name; "" = unrevisioned (revision "default") */
  revision: string;
  /** default "istio-system" */
  istioNamespace?: string;
  /** default: registry.istio.io/release for >=1.30, else docker.io/istio */
  hub?: string;
  replicas?: number;
  /** default true for >=1.27 (ENABLE_NATIVE_SIDECARS=auto), else false */
  nativeSidecars?: boolean;
}

const ISTIO_NAMESPACE = "istio-system";
const REV = "istio.io/rev";
const TAG = "istio.io/tag";
const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", "local-path-storage"];

/** "-<rev>" or "" (istio-facts §2 notation <r>). */
/** The Istio config API groups istiod and istio-reader read (istiod chart clusterrole.yaml). */
const ISTIO_CONFIG_GROUPS = [
  "config.istio.io",
  "security.istio.io",
  "networking.istio.io",
  "authentication.istio.io",
  "rbac.istio.io",
  "telemetry.istio.io",
  "extensions.istio.io",
];

export function revisionSuffix(revision: string): string {
  return revision && revision !== "default" ? `-${revision}` : "";
}

/** The revision as labels and webhooks name it: the revision, or "default" when unrevisioned. */
export function revisionLabel(revision: string): string {
  return revision || "default";
}

/** The istiod Service a revision (or "default"/"" for unrevisioned) is reached through. */
export function istiodServiceName(revision: string): string {
  return `istiod${revisionSuffix(revision)}`;
}

/** MWC and tag-MWC names get a -<ns> suffix outside istio-system. */
function clusterScopedSuffix(istioNamespace: string): string {
  return istioNamespace === ISTIO_NAMESPACE ? "" : `-${istioNamespace}`;
}

function commonLabels(
  spec: Required<Pick<RevisionSpec, "version" | "revision" | "istioNamespace">>,
): Record<string, string> {
  return {
    "app.kubernetes.io/instance": "istio",
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/name": "istiod",
    "app.kubernetes.io/part-of": "istio",
    "app.kubernetes.io/version": spec.version,
    "helm.sh/chart": `istiod-${spec.version}`,
    "install.operator.istio.io/owning-resource": "unknown",
    // added at apply time by istioctl install (getOwnerLabels)
    "install.operator.istio.io/owning-resource-namespace": spec.istioNamespace,
    "operator.istio.io/component": "Pilot",
    "operator.istio.io/managed": "Reconcile",
    "operator.istio.io/version": spec.version,
    [REV]: revisionLabel(spec.revision),
    release: "istio",
  };
}

const NOT_OPTED_OUT = { key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] };

function injectionWebhook(
  name: string,
  service: { name: string; namespace: string },
  namespaceSelector: object,
  objectSelector: object,
): Record<string, unknown> {
  return {
    admissionReviewVersions: ["v1"],
    clientConfig: { service: { name: service.name, namespace: service.namespace, path: "/inject", port: 443 } },
    failurePolicy: "Fail",
    name,
    namespaceSelector,
    objectSelector,
    reinvocationPolicy: "Never",
    rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }],
    sideEffects: "None",
  };
}

/**
 * The webhooks of an injector MWC, as the templates write them (istio-facts §1.3): rev.namespace and
 * rev.object for `selectorRevision`; the namespace./object. pair only for the unrevisioned MWC and the default tag.
 */
export function injectionWebhooks(
  selectorRevision: string,
  service: { name: string; namespace: string },
  withDefaultWebhooks: boolean,
  enableNamespacesByDefault = false,
): Record<string, unknown>[] {
  const notFalse = [NOT_OPTED_OUT];
  const hooks = [
    injectionWebhook(
      "rev.namespace.sidecar-injector.istio.io",
      service,
      {
        matchExpressions: [
          { key: REV, operator: "In", values: [selectorRevision] },
          { key: "istio-injection", operator: "DoesNotExist" },
        ],
      },
      { matchExpressions: [...notFalse] },
    ),
    injectionWebhook(
      "rev.object.sidecar-injector.istio.io",
      service,
      {
        matchExpressions: [
          { key: REV, operator: "DoesNotExist" },
          { key: "istio-injection", operator: "DoesNotExist" },
        ],
      },
      { matchExpressions: [...notFalse, { key: REV, operator: "In", values: [selectorRevision] }] },
    ),
  ];
  if (withDefaultWebhooks) {
    hooks.push(
      injectionWebhook(
        "namespace.sidecar-injector.istio.io",
        service,
        { matchExpressions: [{ key: "istio-injection", operator: "In", values: ["enabled"] }] },
        { matchExpressions: [...notFalse] },
      ),
      injectionWebhook(
        "object.sidecar-injector.istio.io",
        service,
        {
          matchExpressions: [
            { key: "istio-injection", operator: "DoesNotExist" },
            { key: REV, operator: "DoesNotExist" },
          ],
        },
        {
          matchExpressions: [
            { key: "sidecar.istio.io/inject", operator: "In", values: ["true"] },
            { key: REV, operator: "DoesNotExist" },
          ],
        },
      ),
    );
    if (enableNamespacesByDefault) {
      hooks.push(
        injectionWebhook(
          "auto.sidecar-injector.istio.io",
          service,
          {
            matchExpressions: [
              { key: "istio-injection", operator: "DoesNotExist" },
              { key: REV, operator: "DoesNotExist" },
              { key: "kubernetes.io/metadata.name", operator: "NotIn", values: SYSTEM_NAMESPACES },
            ],
          },
          {
            matchExpressions: [
              { key: "sidecar.istio.io/inject", operator: "DoesNotExist" },
              { key: REV, operator: "DoesNotExist" },
            ],
          },
        ),
      );
    }
  }
  return hooks;
}

function validationRules() {
  return [
    {
      apiGroups: ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io"],
      apiVersions: ["*"],
      operations: ["CREATE", "UPDATE"],
      resources: ["*"],
    },
  ];
}

function injectorValues(spec: Required<RevisionSpec>): InjectorValues & Record<string, unknown> {
  return {
    gateways: { seccompProfile: {}, securityContext: {} },
    global: {
      caAddress: "",
      hub: spec.hub,
      imagePullPolicy: "",
      imagePullSecrets: [],
      istioNamespace: spec.istioNamespace,
      logging: { level: "default:info" },
      meshID: "",
      multiCluster: { clusterName: "" },
      network: "",
      pilotCertProvider: "istiod",
      proxy: {
        autoInject: "enabled",
        clusterDomain: "cluster.local",
        componentLogLevel: "misc:error",
        excludeIPRanges: "",
        excludeInboundPorts: "",
        excludeOutboundPorts: "",
        image: "proxyv2",
        includeIPRanges: "*",
        includeInboundPorts: "*",
        includeOutboundPorts: "",
        logLevel: "warning",
        privileged: false,
        readinessFailureThreshold: 4,
        readinessInitialDelaySeconds: 0,
        readinessPeriodSeconds: 15,
        resources: { limits: { cpu: "2000m", memory: "1024Mi" }, requests: { cpu: "100m", memory: "128Mi" } },
        startupProbe: { enabled: true, failureThreshold: 600 },
        statusPort: 15020,
      },
      proxy_init: { image: "proxyv2" },
      tag: spec.version,
      variant: "",
    } as InjectorValues["global"],
    pilot: { cni: { enabled: false }, env: { ENABLE_NATIVE_SIDECARS: String(spec.nativeSidecars) } },
    revision: spec.revision,
    sidecarInjectorWebhook: {
      alwaysInjectSelector: [],
      defaultTemplates: [],
      enableNamespacesByDefault: false,
      injectedAnnotations: {},
      neverInjectSelector: [],
      reinvocationPolicy: "Never",
      rewriteAppHTTPProbe: true,
      templates: {},
    },
  };
}

// The `config` key: policy and selectors as istiod reads them. The templates themselves are implemented by the
// sandbox (sandbox/istio/templates.ts); their names must be listed here for a pod to request them.
function injectorConfig(version: string): string {
  const note = (name: string) =>
    `# Istio ${version} "${name}" injection template, rendered by the meshlift sandbox (sandbox/istio/templates.ts)\n`;
  return YAML.stringify({
    defaultTemplates: ["sidecar"],
    policy: "enabled",
    alwaysInjectSelector: [],
    neverInjectSelector: [],
    injectedAnnotations: {},
    template: "{{ Template_Version_And_Istio_Version_Mismatched_Check_Installation }}",
    templates: { sidecar: note("sidecar"), gateway: note("gateway") },
  });
}

function meshConfig(spec: Required<RevisionSpec>): string {
  return YAML.stringify({
    defaultConfig: { discoveryAddress: `${istiodServiceName(spec.revision)}.${spec.istioNamespace}.svc:15012` },
    defaultProviders: { metrics: ["prometheus"] },
    enablePrometheusMerge: true,
    rootNamespace: spec.istioNamespace,
    trustDomain: "cluster.local",
  });
}

function statsEnvoyFilters(spec: Required<RevisionSpec>, labels: Record<string, string>): KObject[] {
  const v = parseIstioVersion(spec.version)!;
  const minor = `1.${v.minor}`;
  const proxyVersion = `^1\\.${v.minor}.*`;
  const patch = (context: string, filter: string, subFilter?: string) => ({
    applyTo: subFilter ? "HTTP_FILTER" : "NETWORK_FILTER",
    match: {
      context,
      listener: { filterChain: { filter: { name: filter, ...(subFilter ? { subFilter: { name: subFilter } } : {}) } } },
      proxy: { proxyVersion },
    },
    patch: { operation: "INSERT_BEFORE", value: { name: "istio.stats" } },
  });
  const contexts = ["SIDECAR_OUTBOUND", "SIDECAR_INBOUND", "GATEWAY"];
  return [
    {
      apiVersion: "networking.istio.io/v1alpha3",
      kind: "EnvoyFilter",
      metadata: {
        name: `stats-filter-${minor}${revisionSuffix(spec.revision)}`,
        namespace: spec.istioNamespace,
        labels: { ...labels },
      },
      spec: {
        priority: -1,
        configPatches: contexts.map((c) =>
          patch(c, "envoy.filters.network.http_connection_manager", "envoy.filters.http.router"),
        ),
      },
    },
    {
      apiVersion: "networking.istio.io/v1alpha3",
      kind: "EnvoyFilter",
      metadata: {
        name: `tcp-stats-filter-${minor}${revisionSuffix(spec.revision)}`,
        namespace: spec.istioNamespace,
        labels: { ...labels },
      },
      spec: { priority: -1, configPatches: contexts.map((c) => patch(c, "envoy.filters.network.tcp_proxy")) },
    },
  ];
}

/** Everything a revision installs (istio-facts §2), with the labels `istioctl uninstall --revision` selects on. */
export function renderRevision(input: RevisionSpec): KObject[] {
  const spec: Required<RevisionSpec> = {
    version: input.version || LATEST_ISTIO_VERSION,
    revision: input.revision === "default" ? "" : input.revision,
    istioNamespace: input.istioNamespace ?? ISTIO_NAMESPACE,
    hub: input.hub ?? defaultHub(input.version || LATEST_ISTIO_VERSION),
    replicas: input.replicas ?? 1,
    nativeSidecars: input.nativeSidecars ?? nativeSidecarsByDefault(input.version || LATEST_ISTIO_VERSION),
  };
  if (spec.revision && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(spec.revision)) {
    throw new Error(
      `revision "${spec.revision}" is not a DNS-1123 label (lower-case letters, digits and "-", e.g. 1-30-0)`,
    );
  }
  const ns = spec.istioNamespace;
  const r = revisionSuffix(spec.revision);
  const rev = revisionLabel(spec.revision);
  const labels = commonLabels(spec);
  const name = `istiod${r}`;
  const revisioned = spec.revision !== "";
  // unrevisioned istiod pods are istio=pilot so the `istiod` Service never reaches canaries (istio-facts §1.1)
  const selector = revisioned ? { app: "istiod", [REV]: spec.revision } : { istio: "pilot" };
  const serviceSelector = revisioned ? { app: "istiod", [REV]: spec.revision } : { app: "istiod", istio: "pilot" };
  const service = { name, namespace: ns };
  const meta = (n: string, extra: Record<string, string> = {}, namespaced = true) => ({
    name: n,
    ...(namespaced ? { namespace: ns } : {}),
    labels: { ...labels, ...extra },
  });
  const pilotEnv = { ENABLE_NATIVE_SIDECARS: String(spec.nativeSidecars) };
  const values = injectorValues(spec);

  const objects: KObject[] = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(name, { app: "istiod" }) },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`istio${r}`),
      data: { mesh: meshConfig(spec), meshNetworks: "networks: {}" },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`istio-sidecar-injector${r}`),
      data: { config: injectorConfig(spec.version), values: JSON.stringify(values, null, 2) },
    },
  ];
  if (installsValuesConfigMap(spec.version)) {
    const original = {
      revision: spec.revision,
      global: { hub: spec.hub, tag: spec.version, istioNamespace: ns },
      pilot: { replicaCount: spec.replicas, env: pilotEnv },
    };
    objects.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`values${r}`),
      data: {
        "original-values": JSON.stringify(original, null, 2),
        "merged-values": JSON.stringify(
          { ...values, pilot: { ...values.pilot, replicaCount: spec.replicas } },
          null,
          2,
        ),
      },
    });
  }
  objects.push(
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: meta(`istio-sidecar-injector${r}${clusterScopedSuffix(ns)}`, { app: "sidecar-injector" }, false),
      webhooks: injectionWebhooks(rev, service, !revisioned),
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: meta(`istio-validator${r}-${ns}`, { app: "istiod", istio: "istiod" }, false),
      webhooks: [
        {
          admissionReviewVersions: ["v1"],
          clientConfig: { service: { name, namespace: ns, path: "/validate", port: 443 } },
          // istiod switches this to Fail once it serves validation
          failurePolicy: "Ignore",
          name: "rev.validation.istio.io",
          objectSelector: { matchExpressions: [{ key: REV, operator: "In", values: [rev] }] },
          rules: validationRules(),
          sideEffects: "None",
        },
      ],
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(name, { app: "istiod", istio: "pilot" }),
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: selector },
        strategy: { rollingUpdate: { maxSurge: "100%", maxUnavailable: "25%" } },
        template: {
          metadata: {
            annotations: {
              "prometheus.io/port": "15014",
              "prometheus.io/scrape": "true",
              "sidecar.istio.io/inject": "false",
            },
            labels: {
              app: "istiod",
              "app.kubernetes.io/instance": "istio",
              "app.kubernetes.io/managed-by": "Helm",
              "app.kubernetes.io/name": "istiod",
              "app.kubernetes.io/part-of": "istio",
              "app.kubernetes.io/version": spec.version,
              "helm.sh/chart": `istiod-${spec.version}`,
              "install.operator.istio.io/owning-resource": "unknown",
              istio: revisioned ? "istiod" : "pilot",
              "istio.io/dataplane-mode": "none",
              [REV]: rev,
              "operator.istio.io/component": "Pilot",
              "sidecar.istio.io/inject": "false",
            },
          },
          spec: {
            serviceAccountName: name,
            tolerations: [{ key: "cni.istio.io/not-ready", operator: "Exists" }],
            containers: [
              {
                name: "discovery",
                image: `${spec.hub}/pilot:${spec.version}`,
                args: [
                  "discovery",
                  "--monitoringAddr=:15014",
                  "--log_output_level=default:info",
                  "--domain",
                  "cluster.local",
                  "--keepaliveMaxServerConnectionAge",
                  "30m",
                ],
                env: [
                  { name: "REVISION", value: rev },
                  { name: "PILOT_CERT_PROVIDER", value: "istiod" },
                  { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
                  {
                    name: "POD_NAMESPACE",
                    valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
                  },
                  {
                    name: "SERVICE_ACCOUNT",
                    valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "spec.serviceAccountName" } },
                  },
                  { name: "CLUSTER_ID", value: "Kubernetes" },
                  ...Object.entries(pilotEnv).map(([k, v]) => ({ name: k, value: v })),
                ],
                ports: [
                  { containerPort: 8080, name: "http-debug", protocol: "TCP" },
                  { containerPort: 15010, name: "grpc-xds", protocol: "TCP" },
                  { containerPort: 15012, name: "tls-xds", protocol: "TCP" },
                  { containerPort: 15017, name: "https-webhooks", protocol: "TCP" },
                  { containerPort: 15014, name: "http-monitoring", protocol: "TCP" },
                ],
                readinessProbe: {
                  httpGet: { path: "/ready", port: 8080 },
                  initialDelaySeconds: 1,
                  periodSeconds: 3,
                  timeoutSeconds: 5,
                },
                resources: { requests: { cpu: "500m", memory: "2048Mi" } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ["ALL"] },
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                },
                volumeMounts: [
                  { mountPath: "/var/run/secrets/tokens", name: "istio-token", readOnly: true },
                  { mountPath: "/var/run/secrets/istio-dns", name: "local-certs" },
                  { mountPath: "/etc/cacerts", name: "cacerts", readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: "local-certs", emptyDir: { medium: "Memory" } },
              {
                name: "istio-token",
                projected: {
                  sources: [
                    { serviceAccountToken: { audience: "istio-ca", expirationSeconds: 43200, path: "istio-token" } },
                  ],
                },
              },
              { name: "cacerts", secret: { optional: true, secretName: "cacerts" } },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(name, { app: "istiod", istio: "pilot" }),
      spec: {
        ports: [
          { name: "grpc-xds", port: 15010, protocol: "TCP" },
          { name: "https-dns", port: 15012, protocol: "TCP" },
          { name: "https-webhook", port: 443, protocol: "TCP", targetPort: 15017 },
          { name: "http-monitoring", port: 15014, protocol: "TCP" },
        ],
        selector: serviceSelector,
      },
    },
    ...rbac(name, ns, r, labels),
  );
  if (spec.replicas > 1) {
    objects.push({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: meta(name, { app: "istiod", istio: "pilot" }),
      spec: { minAvailable: 1, selector: { matchLabels: selector } },
    });
  }
  if (installsStatsEnvoyFilters(spec.version)) objects.push(...statsEnvoyFilters(spec, labels));
  return objects;
}

function rbac(name: string, ns: string, r: string, labels: Record<string, string>): KObject[] {
  const rbacApi = "rbac.authorization.k8s.io/v1";
  const subject = [{ kind: "ServiceAccount", name, namespace: ns }];
  const cluster = (roleName: string, app: string, rules: object[], sa = subject): KObject[] => [
    { apiVersion: rbacApi, kind: "ClusterRole", metadata: { name: roleName, labels: { ...labels, app } }, rules },
    {
      apiVersion: rbacApi,
      kind: "ClusterRoleBinding",
      metadata: { name: roleName, labels: { ...labels, app } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
      subjects: sa,
    },
  ];
  const read = ["get", "list", "watch"];
  return [
    {
      apiVersion: rbacApi,
      kind: "Role",
      metadata: { name, namespace: ns, labels: { ...labels, app: "istiod" } },
      rules: [
        { apiGroups: ["networking.istio.io"], resources: ["gateways"], verbs: ["create"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["create", "get", "watch", "list", "update", "delete"] },
        { apiGroups: [""], resources: ["configmaps"], verbs: ["delete"] },
        {
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["validatingwebhookconfigurations"],
          verbs: ["update"],
        },
      ],
    },
    {
      apiVersion: rbacApi,
      kind: "RoleBinding",
      metadata: { name, namespace: ns, labels: { ...labels, app: "istiod" } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: subject,
    },
    ...cluster(`istiod-clusterrole${r}-${ns}`, "istiod", [
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations"],
        verbs: [...read, "update", "patch"],
      },
      { apiGroups: ["admissionregistration.k8s.io"], resources: ["validatingwebhookconfigurations"], verbs: read },
      {
        apiGroups: ISTIO_CONFIG_GROUPS,
        resources: ["*"],
        verbs: read,
      },
      { apiGroups: [""], resources: ["pods", "nodes", "services", "namespaces", "endpoints"], verbs: read },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: read },
      { apiGroups: [""], resources: ["configmaps"], verbs: ["create", "get", "list", "watch", "update"] },
    ]),
    ...cluster(`istiod-gateway-controller${r}-${ns}`, "istiod", [
      { apiGroups: ["apps"], resources: ["deployments"], verbs: [...read, "update", "patch", "create", "delete"] },
      {
        apiGroups: [""],
        resources: ["services", "serviceaccounts"],
        verbs: [...read, "update", "patch", "create", "delete"],
      },
    ]),
    ...cluster(
      `istio-reader-clusterrole${r}-${ns}`,
      "istio-reader",
      [
        {
          apiGroups: ISTIO_CONFIG_GROUPS,
          resources: ["*"],
          verbs: read,
        },
        {
          apiGroups: [""],
          resources: ["endpoints", "pods", "services", "nodes", "replicationcontrollers", "namespaces", "secrets"],
          verbs: read,
        },
      ],
      [{ kind: "ServiceAccount", name: "istio-reader-service-account", namespace: ns }],
    ),
  ];
}

/**
 * A revision tag (`istioctl tag generate`, the chart's revisionTags): MWC istio-revision-tag-<tag> calling the
 * target revision's istiod; from 1.28 also Service istiod-revision-tag-<tag>; for `default` the
 * namespace./object. webhooks and VWC istiod-default-validator.
 */
export function renderTag(
  tag: string,
  targetRevision: string,
  opts: { istioNamespace?: string; version?: string } = {},
): KObject[] {
  const ns = opts.istioNamespace ?? ISTIO_NAMESPACE;
  const version = opts.version ?? LATEST_ISTIO_VERSION;
  const target = revisionLabel(targetRevision);
  const service = { name: istiodServiceName(targetRevision), namespace: ns };
  const labels = { app: "sidecar-injector", [REV]: target, [TAG]: tag, release: "istio" };
  const objects: KObject[] = [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: `istio-revision-tag-${tag}${clusterScopedSuffix(ns)}`, labels },
      webhooks: injectionWebhooks(tag, service, tag === "default"),
    },
  ];
  if (tagsHaveService(version)) {
    objects.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: `istiod-revision-tag-${tag}`,
        namespace: ns,
        labels: { app: "istiod", istio: "pilot", [REV]: target, [TAG]: tag, release: "istio" },
      },
      spec: {
        ports: [
          { name: "grpc-xds", port: 15010, protocol: "TCP" },
          { name: "https-dns", port: 15012, protocol: "TCP" },
          { name: "https-webhook", port: 443, protocol: "TCP", targetPort: 15017 },
          { name: "http-monitoring", port: 15014, protocol: "TCP" },
        ],
        selector: target === "default" ? { app: "istiod", istio: "pilot" } : { app: "istiod", [REV]: target },
      },
    });
  }
  if (tag === "default") {
    objects.push({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: {
        name: "istiod-default-validator",
        labels: { app: "istiod", istio: "istiod", [REV]: target, [TAG]: tag, release: "istio" },
      },
      webhooks: [
        {
          admissionReviewVersions: ["v1"],
          clientConfig: { service: { name: service.name, namespace: ns, path: "/validate", port: 443 } },
          failurePolicy: "Ignore",
          name: "validation.istio.io",
          rules: validationRules(),
          sideEffects: "None",
        },
      ],
    });
  }
  return objects;
}

export interface GatewaySpec {
  /** Helm release / Deployment name, e.g. "istio-ingressgateway" */
  name: string;
  namespace: string;
  /** revision or tag to pin the gateway to (label istio.io/rev); absent = default revision */
  revision?: string;
  replicas: number;
  kind: "ingress" | "egress";
}

/** An `istio/gateway` chart release (istio-facts §5): injected with the gateway template via `image: auto`. */
export function renderGateway(opts: GatewaySpec): KObject[] {
  // gateway.selectorLabels: app=<name>, istio=<name without "istio-">
  const selector = { app: opts.name, istio: opts.name.replace(/^istio-/, "") };
  const labels = {
    ...selector,
    "app.kubernetes.io/name": opts.name,
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/part-of": "istio",
    ...(opts.revision ? { [REV]: opts.revision } : {}),
  };
  const meta = (extra: Record<string, string> = {}) => ({
    name: opts.name,
    namespace: opts.namespace,
    labels: { ...labels, ...extra },
  });
  const ingress = opts.kind === "ingress";
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta() },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(),
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "watch", "list"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: opts.name },
      subjects: [{ kind: "ServiceAccount", name: opts.name }],
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(),
      spec: {
        replicas: opts.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            annotations: {
              "inject.istio.io/templates": "gateway",
              "prometheus.io/path": "/stats/prometheus",
              "prometheus.io/port": "15020",
              "prometheus.io/scrape": "true",
              "sidecar.istio.io/inject": "true",
            },
            labels: {
              ...selector,
              "sidecar.istio.io/inject": "true",
              ...(opts.revision ? { [REV]: opts.revision } : {}),
            },
          },
          spec: {
            serviceAccountName: opts.name,
            securityContext: { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] },
            containers: [
              {
                name: "istio-proxy",
                // replaced by the injector with the revision's proxyv2 image
                image: "auto",
                ports: [{ containerPort: 15090, name: "http-envoy-prom", protocol: "TCP" }],
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ["ALL"] },
                  privileged: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  runAsGroup: 1337,
                  runAsUser: 1337,
                },
                resources: { limits: { cpu: "2000m", memory: "1024Mi" }, requests: { cpu: "100m", memory: "128Mi" } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(),
      spec: {
        // egress gateways are reached from inside the mesh only
        type: ingress ? "LoadBalancer" : "ClusterIP",
        ports: [
          { name: "status-port", port: 15021, protocol: "TCP", targetPort: 15021 },
          { name: "http2", port: 80, protocol: "TCP", targetPort: 80 },
          { name: "https", port: 443, protocol: "TCP", targetPort: 443 },
        ],
        selector,
      },
    },
  ];
}
