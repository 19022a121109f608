// The scenario file: which cluster the sandbox starts (Kubernetes version, nodes, Istio revisions and
// tags, namespaces and workloads, gateways, mesh config, traffic, faults). YAML, validated with zod.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { FaultRulesSchema } from "../faults.js";
import { TrafficConfigSchema } from "../istio/traffic.js";
import { expandGenerated, generatedNamespaceNames, parseLargeOverrides } from "./generate.js";
import { formatPath, ScenarioError, scenarioIssues } from "./issues.js";

export { ScenarioError, type ScenarioIssue } from "./issues.js";

// ---- building blocks -------------------------------------------------------------------------

/** RFC 1123 label: namespaces, Services, revision names (Istio validates revisions as DNS-1123 labels). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: names of most other objects. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

const dnsLabel = (what: string) =>
  z
    .string()
    .max(63, `${what} must be at most 63 characters`)
    .regex(
      DNS_LABEL,
      `${what} must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit`,
    );

const dnsSubdomain = (what: string) =>
  z
    .string()
    .max(253)
    .regex(DNS_SUBDOMAIN, `${what} must be a DNS-1123 subdomain: lower-case letters, digits, "-" and "."`);

const labels = z.record(
  z
    .string()
    .regex(
      LABEL_KEY,
      'label keys are "[prefix/]name" with a DNS prefix and a name of ≤63 letters, digits, "-", "_", "."',
    ),
  z.string().regex(LABEL_VALUE, 'label values are ≤63 letters, digits, "-", "_", "." (or empty)'),
);
const annotations = z.record(z.string().regex(LABEL_KEY, 'annotation keys are "[prefix/]name"'), z.string());

const count = z.number().int("must be a whole number").min(0);
const millis = z.number().int("milliseconds must be a whole number").min(0);
/** an int or a percentage, as PodDisruptionBudget and rolling-update fields take */
const intOrPercent = z.union([count, z.string().regex(/^\d{1,3}%$/, 'use a whole number or a percentage like "50%"')]);

/** Kubernetes minor releases the sandbox can impersonate (1.20 … 1.36, the range Istio 1.18–1.31 were tested on). */
export const KUBERNETES_MINORS = { min: 20, max: 36 } as const;

const kubernetesVersion = z.string().transform((v, ctx) => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(v.trim());
  if (!m) {
    ctx.addIssue({
      code: "custom",
      message: `"${v}" is not a Kubernetes version — write MAJOR.MINOR.PATCH, e.g. "1.31.4"`,
    });
    return z.NEVER;
  }
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major !== 1 || minor < KUBERNETES_MINORS.min || minor > KUBERNETES_MINORS.max) {
    ctx.addIssue({
      code: "custom",
      message: `unknown Kubernetes version "${v}" — the sandbox knows Kubernetes 1.${KUBERNETES_MINORS.min}–1.${KUBERNETES_MINORS.max}; use e.g. "1.31.4"`,
    });
    return z.NEVER;
  }
  return `${m[1]}.${m[2]}.${m[3]}`;
});

const istioVersion = z
  .string()
  .regex(
    /^1\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/,
    'an Istio version is MAJOR.MINOR.PATCH, e.g. "1.27.9" (or a pre-release like "1.31.0-rc.0")',
  );

/** Any Kubernetes object given verbatim; only the identifying fields are checked here, the API server checks the rest. */
const rawObject = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: dnsSubdomain("metadata.name"),
    namespace: dnsLabel("metadata.namespace").optional(),
  }),
});

// ---- sections --------------------------------------------------------------------------------

const timingSchema = z.strictObject({
  podStartMs: millis.default(300),
  podReadyMs: millis.default(400),
  podTerminateMs: millis.default(300),
  jobRunMs: millis.default(2000),
  crashLoopMs: millis.default(1000),
});

const tokenSchema = z
  .strictObject({
    name: z.string().min(1),
    token: z.string().min(16, "tokens must be at least 16 characters (a bearer token that is hard to guess)"),
    groups: z.array(z.string().min(1)).default([]),
    /** a preset (cluster-admin, edit without RBAC writes, view without secrets) … */
    role: z.enum(["admin", "edit", "view"]).optional(),
    /** … or RBAC-style rules of its own, which replace the preset */
    rules: z
      .array(
        z.strictObject({
          verbs: z.array(z.string().min(1)).min(1),
          apiGroups: z.array(z.string()).min(1),
          resources: z.array(z.string().min(1)).min(1),
          namespaces: z.array(z.string().min(1)).optional(),
        }),
      )
      .optional(),
  })
  .refine((t) => t.role !== undefined || t.rules !== undefined, {
    error: "a token needs a role (admin, edit or view) or rules",
  });

const revisionSchema = z.strictObject({
  version: istioVersion,
  /** revision name; "" is the unrevisioned install (istiod, istio-sidecar-injector); default: version with dashes */
  name: z.union([z.literal(""), dnsLabel("a revision name")]).optional(),
  default: z.boolean().default(false),
  tags: z.array(dnsLabel("a revision tag")).default([]),
  replicas: z.number().int().min(1, "istiod needs at least one replica").default(1),
  native: z.boolean().optional(),
  hub: z.string().min(1).optional(),
});

const istioSchema = z.strictObject({
  namespace: dnsLabel("the Istio namespace").default("istio-system"),
  crds: z.boolean().default(true),
  revisions: z.array(revisionSchema).default([]),
});

const containerPort = z.union([
  z.number().int().min(1).max(65535),
  z.strictObject({
    name: z.string().max(15).optional(),
    containerPort: z.number().int().min(1).max(65535),
    protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
  }),
]);

const containerSchema = z.strictObject({
  name: dnsLabel("a container name"),
  image: z.string().min(1),
  ports: z.array(containerPort).optional(),
  env: z.record(z.string(), z.string()).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  resources: z.looseObject({}).optional(),
});

const pdbSchema = z
  .strictObject({ minAvailable: intOrPercent.optional(), maxUnavailable: intOrPercent.optional() })
  .refine((p) => (p.minAvailable === undefined) !== (p.maxUnavailable === undefined), {
    message: "set exactly one of minAvailable or maxUnavailable (Kubernetes rejects a PodDisruptionBudget with both)",
  });

const serviceSchema = z.union([
  z.boolean(),
  z.strictObject({
    port: z.number().int().min(1).max(65535).default(80),
    targetPort: z.union([z.number().int().min(1).max(65535), z.string().min(1)]).optional(),
    type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).default("ClusterIP"),
  }),
]);

export const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"] as const;

const workloadSchema = z.strictObject({
  kind: z.enum(WORKLOAD_KINDS).default("Deployment"),
  name: dnsLabel("a workload name"),
  replicas: count.optional(),
  labels: labels.default({}),
  annotations: annotations.default({}),
  podLabels: labels.default({}),
  podAnnotations: annotations.default({}),
  containers: z.array(containerSchema).min(1).optional(),
  pdb: pdbSchema.optional(),
  service: serviceSchema.optional(),
  /** CronJob only */
  schedule: z.string().min(1).optional(),
  serviceAccountName: dnsSubdomain("serviceAccountName").optional(),
  hostNetwork: z.boolean().optional(),
  /**
   * Pods that already carry a sidecar in their template, as `istioctl kube-inject` writes them: the webhook
   * skips pods with `sidecar.istio.io/status`, so they keep this proxy whatever the namespace says.
   */
  preInjected: z
    .strictObject({ revision: z.union([z.literal(""), dnsLabel("a revision name")]), version: istioVersion.optional() })
    .optional(),
});

const namespaceSchema = z.strictObject({
  name: dnsLabel("a namespace name"),
  labels: labels.default({}),
  /**
   * the labels the namespace had when its workloads were first deployed; once their pods run, the
   * namespace is relabelled to `labels` — e.g. injection enabled then disabled: pods keep sidecars
   * that a restart would drop
   */
  initialLabels: labels.optional(),
  annotations: annotations.default({}),
  workloads: z.array(workloadSchema).default([]),
});

const gatewaySchema = z.strictObject({
  name: dnsLabel("a gateway name"),
  namespace: dnsLabel("a namespace name").optional(),
  kind: z.enum(["ingress", "egress"]),
  replicas: count.default(1),
  revision: z.union([z.literal(""), dnsLabel("a revision name")]).optional(),
});

/** Shorthand for the EnvoyFilter users most often pin to one proxy version: a Lua filter before the router. */
const envoyFilterSchema = z.strictObject({
  name: dnsSubdomain("an EnvoyFilter name"),
  namespace: dnsLabel("a namespace name").optional(),
  /** regex on the proxy's ISTIO_VERSION, e.g. "^1\\.27.*" */
  proxyVersion: z.string().min(1).optional(),
  context: z.enum(["ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY"]).default("SIDECAR_INBOUND"),
  workloadLabels: labels.optional(),
  priority: z.number().int().optional(),
  /** `istio.io/rev` label: which control plane's config this is (omit for all) */
  revision: z.string().optional(),
});

const generateSchema = z.strictObject({
  namespaces: count,
  podsPerNamespace: z.number().int().min(1).optional(),
  /** total pods, spread evenly over the namespaces (wins over podsPerNamespace) */
  pods: count.optional(),
  workloadsPerNamespace: z.number().int().min(1).default(4),
  namePrefix: dnsLabel("namePrefix").max(40).default("load"),
  /** label sets cycled over the generated namespaces; default: half istio-injection=enabled, half istio.io/rev=<default revision> */
  namespaceLabels: z.array(labels).min(1).optional(),
});

const scenarioFields = z.strictObject({
  name: dnsLabel("the scenario name"),
  description: z.string().optional(),
  kubernetesVersion: kubernetesVersion.default("1.31.4"),
  nodes: z
    .union([
      z.number().int().min(1, "a cluster needs at least one node").max(5000),
      z.array(dnsSubdomain("a node name")).min(1),
    ])
    .default(3),
  timing: timingSchema.prefault({}),
  tokens: z.array(tokenSchema).min(1).optional(),
  istio: istioSchema.prefault({}),
  /** install the Sail operator's CRDs (Istio, IstioRevision, IstioRevisionTag); the simulated operator always runs */
  sail: z.strictObject({ enabled: z.boolean().default(false) }).optional(),
  namespaces: z.array(namespaceSchema).default([]),
  gateways: z.array(gatewaySchema).default([]),
  istioConfig: z.array(rawObject).default([]),
  envoyFilters: z.array(envoyFilterSchema).default([]),
  objects: z.array(rawObject).default([]),
  traffic: TrafficConfigSchema.prefault({}),
  faults: FaultRulesSchema.default([]),
  generate: generateSchema.optional(),
});

type ScenarioInput = z.output<typeof scenarioFields>;

// ---- cross-field rules -----------------------------------------------------------------------

function duplicates<T>(
  items: readonly T[],
  keyOf: (t: T) => string,
  ctx: z.RefinementCtx,
  path: (i: number) => PropertyKey[],
  what: string,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else
      ctx.addIssue({
        code: "custom",
        path: path(i),
        message: `duplicate ${what} "${key}" (first declared at index ${first}) — names must be unique`,
      });
  });
}

function checkScenario(s: ScenarioInput, ctx: z.RefinementCtx): void {
  const revs = s.istio.revisions;
  const revNames = revs.map((r) => r.name ?? revisionNameOf(r.version));
  duplicates(
    revNames,
    (n) => n,
    ctx,
    (i) => ["istio", "revisions", i, "name"],
    "revision name",
  );
  const defaults = revs.flatMap((r, i) => (r.default || r.tags.includes("default") ? [i] : []));
  if (defaults.length > 1)
    ctx.addIssue({
      code: "custom",
      path: ["istio", "revisions", defaults[1], "default"],
      message: `only one revision can be the default (revision tag "default"); revision "${revNames[defaults[0]]}" already is`,
    });
  const tags = revs.flatMap((r, i) => r.tags.filter((t) => t !== "default").map((t, j) => ({ t, i, j })));
  duplicates(
    tags,
    (x) => x.t,
    ctx,
    (k) => ["istio", "revisions", tags[k].i, "tags", tags[k].j],
    "revision tag",
  );
  for (const { t, i, j } of tags)
    if (revNames.includes(t))
      // istioctl tag set refuses a tag named like an existing revision (istioctl/pkg/tag/tag.go)
      ctx.addIssue({
        code: "custom",
        path: ["istio", "revisions", i, "tags", j],
        message: `tag "${t}" has the same name as a revision — pick another tag name`,
      });

  const nodeNames = typeof s.nodes === "number" ? [] : s.nodes;
  duplicates(
    nodeNames,
    (n) => n,
    ctx,
    (i) => ["nodes", i],
    "node name",
  );

  duplicates(
    s.namespaces,
    (n) => n.name,
    ctx,
    (i) => ["namespaces", i, "name"],
    "namespace",
  );
  if (s.generate) {
    const explicit = new Set(s.namespaces.map((n) => n.name));
    const clash = generatedNamespaceNames(s.generate).find((n) => explicit.has(n));
    if (clash)
      ctx.addIssue({
        code: "custom",
        path: ["generate", "namePrefix"],
        message: `generated namespace "${clash}" is also declared in namespaces — change namePrefix`,
      });
    if (s.generate.pods !== undefined && s.generate.podsPerNamespace !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["generate", "pods"],
        message: "set pods (total) or podsPerNamespace, not both",
      });
  }

  s.namespaces.forEach((ns, n) => {
    // a workload's Service is named after its pods' app label (bookinfo: reviews-v1..v3 share Service reviews)
    const services = ns.workloads.flatMap((w, i) => (w.service ? [{ name: w.podLabels.app ?? w.name, i }] : []));
    duplicates(
      services,
      (x) => x.name,
      ctx,
      (k) => ["namespaces", n, "workloads", services[k].i, "service"],
      `Service (named after the app label) in namespace "${ns.name}"`,
    );
    duplicates(
      ns.workloads,
      (w) => w.name,
      ctx,
      (i) => ["namespaces", n, "workloads", i, "name"],
      `workload in namespace "${ns.name}"`,
    );
    ns.workloads.forEach((w, i) => {
      const at = (...p: PropertyKey[]) => ["namespaces", n, "workloads", i, ...p];
      if (w.kind === "DaemonSet" && w.replicas !== undefined)
        ctx.addIssue({
          code: "custom",
          path: at("replicas"),
          message: "a DaemonSet runs one pod per node — remove replicas (or use a Deployment)",
        });
      if (w.kind === "Pod" && w.replicas !== undefined && w.replicas !== 1)
        ctx.addIssue({
          code: "custom",
          path: at("replicas"),
          message: "a naked Pod is one pod — remove replicas or use a Deployment",
        });
      if (w.schedule !== undefined && w.kind !== "CronJob")
        ctx.addIssue({ code: "custom", path: at("schedule"), message: `schedule is for kind CronJob, not ${w.kind}` });
      if (w.pdb && (w.kind === "Job" || w.kind === "CronJob"))
        ctx.addIssue({
          code: "custom",
          path: at("pdb"),
          message: `a PodDisruptionBudget protects long-running pods; remove pdb from this ${w.kind}`,
        });
      if (w.preInjected && !w.preInjected.version && !revNames.includes(w.preInjected.revision))
        ctx.addIssue({
          code: "custom",
          path: at("preInjected", "revision"),
          message: `revision "${w.preInjected.revision}" is not in istio.revisions — add preInjected.version (the proxy version those pods run)`,
        });
      const containerNames = (w.containers ?? []).map((c) => c.name);
      duplicates(
        containerNames,
        (c) => c,
        ctx,
        (k) => at("containers", k, "name"),
        "container name",
      );
    });
  });

  const gatewayNs = (g: (typeof s.gateways)[number]) => g.namespace ?? defaultGatewayNamespace(g.kind);
  duplicates(
    s.gateways,
    (g) => `${gatewayNs(g)}/${g.name}`,
    ctx,
    (i) => ["gateways", i, "name"],
    "gateway",
  );
  s.gateways.forEach((g, i) => {
    const ns = s.namespaces.find((n) => n.name === gatewayNs(g));
    if (ns?.workloads.some((w) => w.name === g.name))
      ctx.addIssue({
        code: "custom",
        path: ["gateways", i, "name"],
        message: `gateway "${g.name}" clashes with a workload of that name in namespace "${ns.name}"`,
      });
  });

  s.istioConfig.forEach((o, i) => {
    if (!/(^|\.)istio\.io\//.test(o.apiVersion))
      ctx.addIssue({
        code: "custom",
        path: ["istioConfig", i, "apiVersion"],
        message: `istioConfig holds Istio objects (*.istio.io); put ${o.kind} under objects`,
      });
  });
  duplicates(
    s.envoyFilters,
    (f) => `${f.namespace ?? s.istio.namespace}/${f.name}`,
    ctx,
    (i) => ["envoyFilters", i, "name"],
    "EnvoyFilter",
  );
  const objKey = (o: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }) =>
    `${o.apiVersion}/${o.kind} ${o.metadata.namespace ? o.metadata.namespace + "/" : ""}${o.metadata.name}`;
  duplicates(s.objects, objKey, ctx, (i) => ["objects", i, "metadata", "name"], "object");

  duplicates(
    (s.tokens ?? []).map((t) => t.name),
    (n) => n,
    ctx,
    (i) => ["tokens", i, "name"],
    "token name",
  );
  duplicates(
    (s.tokens ?? []).map((t) => t.token),
    () => "(hidden)",
    ctx,
    (i) => ["tokens", i, "token"],
    "token value",
  );

  const workloadKeys = new Set(s.namespaces.flatMap((ns) => ns.workloads.map((w) => `${ns.name}/${w.name}`)));
  const generated = new Set(s.generate ? generatedNamespaceNames(s.generate) : []);
  (s.traffic.workloads ?? []).forEach((t, i) => {
    if (!workloadKeys.has(`${t.namespace}/${t.workload}`) && !generated.has(t.namespace))
      ctx.addIssue({
        code: "custom",
        path: ["traffic", "workloads", i, "workload"],
        message: `no workload "${t.workload}" in namespace "${t.namespace}" — traffic can only target declared workloads`,
      });
  });
}

// ---- normalised scenario ---------------------------------------------------------------------

export function revisionNameOf(version: string): string {
  return version.replace(/\./g, "-");
}

export function defaultGatewayNamespace(kind: "ingress" | "egress"): string {
  return kind === "ingress" ? "istio-ingress" : "istio-egress";
}

function defaultTokens(): z.output<typeof tokenSchema>[] {
  const secret = () => randomBytes(24).toString("base64url");
  return [
    { name: "admin", token: secret(), groups: ["system:masters"], role: "admin" },
    { name: "viewer", token: secret(), groups: [], role: "view" },
  ];
}

const scenarioSchema = scenarioFields.superRefine(checkScenario).transform((s) => {
  const revisions = s.istio.revisions.map((r) => ({
    ...r,
    name: r.name ?? revisionNameOf(r.version),
    default: r.default || r.tags.includes("default"),
    tags: r.tags.filter((t) => t !== "default"),
  }));
  const base = {
    ...s,
    nodes: typeof s.nodes === "number" ? Array.from({ length: s.nodes }, (_, i) => `sandbox-node-${i + 1}`) : s.nodes,
    tokens: s.tokens ?? defaultTokens(),
    istio: { ...s.istio, revisions },
    gateways: s.gateways.map((g) => ({ ...g, namespace: g.namespace ?? defaultGatewayNamespace(g.kind) })),
    envoyFilters: s.envoyFilters.map((f) => ({ ...f, namespace: f.namespace ?? s.istio.namespace })),
    istioConfig: s.istioConfig as KObjectLike[],
    objects: s.objects as KObjectLike[],
  };
  return s.generate
    ? {
        ...base,
        namespaces: [
          ...base.namespaces,
          ...(expandGenerated(s.generate, revisions) as z.output<typeof namespaceSchema>[]),
        ],
      }
    : base;
});

interface KObjectLike {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [field: string]: unknown;
}

export type Scenario = z.output<typeof scenarioSchema> & { source: string };
export type ScenarioNamespace = Scenario["namespaces"][number];
export type Workload = ScenarioNamespace["workloads"][number];
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
export type Revision = Scenario["istio"]["revisions"][number];
export type GatewaySpec = Scenario["gateways"][number];
export type EnvoyFilterShorthand = Scenario["envoyFilters"][number];
export type GenerateSpec = z.output<typeof generateSchema>;
export type ScenarioTiming = Scenario["timing"];

/** The schema itself, for tools that want to describe the format (JSON Schema export, editors). */
export const scenarioFileSchema = scenarioFields;

// ---- parsing and loading ---------------------------------------------------------------------

/**
 * Parses and validates a scenario file. `source` names it in messages (a path or `builtin:demo`).
 * Throws ScenarioError listing every problem with file:line:column, field path and a fix.
 */
export function parseScenario(text: string, source: string): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ScenarioError(
      source,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        // the pretty message repeats the offending line with a caret; keep only the first line here
        return {
          path: "",
          line: pos?.line,
          column: pos?.col,
          message: `YAML syntax error: ${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`,
        };
      }),
    );
  }
  const data = doc.toJS({ maxAliasCount: 1000 });
  if (data === null || typeof data !== "object" || Array.isArray(data))
    throw new ScenarioError(source, [
      {
        path: "",
        line: 1,
        column: 1,
        message: `a scenario is a YAML mapping with at least "name:", got ${data === null ? "an empty file" : Array.isArray(data) ? "a list" : typeof data}`,
      },
    ]);
  const result = scenarioSchema.safeParse(data, { reportInput: true });
  if (!result.success) throw new ScenarioError(source, scenarioIssues(result.error.issues, scenarioFields, doc, lines));
  return { ...result.data, source };
}

export const BUILTIN_SCENARIOS = ["demo", "large"] as const;

/**
 * Loads a built-in scenario by name (`demo`, `large`, `large:namespaces=100,pods=2000`) or a scenario file by path.
 * `large` also reads SANDBOX_LARGE (same `key=value,…` syntax) from the environment; the name's overrides win.
 */
export function loadScenario(nameOrPath: string, env: NodeJS.ProcessEnv = process.env): Scenario {
  const [name, params] = splitOnce(nameOrPath, ":");
  if ((BUILTIN_SCENARIOS as readonly string[]).includes(name) && !/[/\\]/.test(nameOrPath)) {
    const file = new URL(`./builtin/${name}.yaml`, import.meta.url);
    const text = readFileSync(file, "utf8");
    if (name !== "large") {
      if (params)
        throw new ScenarioError(`builtin:${name}`, [
          { path: "", message: `built-in scenario "${name}" takes no parameters (got "${params}")` },
        ]);
      return parseScenario(text, `builtin:${name}`);
    }
    return parseLarge(
      text,
      [env.SANDBOX_LARGE, params].filter((p): p is string => !!p),
    );
  }
  let text: string;
  try {
    text = readFileSync(nameOrPath, "utf8");
  } catch (e: any) {
    throw new ScenarioError(nameOrPath, [
      {
        path: "",
        message:
          e?.code === "ENOENT"
            ? `no such file, and not a built-in scenario (${BUILTIN_SCENARIOS.join(", ")})`
            : `cannot read: ${e?.message ?? e}`,
      },
    ]);
  }
  return parseScenario(text, nameOrPath);
}

function parseLarge(text: string, overrideStrings: string[]): Scenario {
  const source = `builtin:large${overrideStrings.length ? `:${overrideStrings.join(",")}` : ""}`;
  const doc = parseDocument(text);
  let overrides: Record<string, number>;
  try {
    overrides = Object.assign({}, ...overrideStrings.map(parseLargeOverrides));
  } catch (e: any) {
    throw new ScenarioError(source, [{ path: "generate", message: e.message }]);
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (k === "pods") doc.deleteIn(["generate", "podsPerNamespace"]);
    if (k === "podsPerNamespace") doc.deleteIn(["generate", "pods"]);
    doc.setIn(["generate", k], v);
  }
  return parseScenario(doc.toString(), source);
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** Warnings about a valid scenario that still describes a misconfigured mesh (realistic on purpose, but worth saying). */
export function scenarioWarnings(s: Scenario): string[] {
  const served = new Set(
    s.istio.revisions.flatMap((r) => [r.name || "default", ...r.tags, ...(r.default ? ["default"] : [])]),
  );
  const out: string[] = [];
  for (const ns of s.namespaces) {
    const rev = ns.labels["istio.io/rev"];
    const injection = ns.labels["istio-injection"];
    if (rev !== undefined && injection !== undefined)
      out.push(`namespace ${ns.name}: both istio-injection and istio.io/rev are set (IST0123); istio-injection wins`);
    else if (rev !== undefined && !served.has(rev))
      out.push(`namespace ${ns.name}: istio.io/rev=${rev} names no installed revision or tag; its pods get no sidecar`);
  }
  for (const g of s.gateways)
    if (g.revision !== undefined && !served.has(g.revision || "default"))
      out.push(`gateway ${g.namespace}/${g.name}: revision "${g.revision}" is not installed; its pods get no proxy`);
  return out;
}

export { formatPath };
