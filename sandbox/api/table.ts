// Server-side printing (meta.k8s.io Table): the columns and cell formats of the real API server's printers
// (kubernetes pkg/printers/internalversion/printers.go) and CRD additionalPrinterColumns.
import { resourceKey, type KObject, type ResourceType } from "./types.js";

export type IncludeObject = "None" | "Metadata" | "Object";

export interface TableOptions {
  includeObject: IncludeObject;
  /** false drops priority>0 columns; by default all are sent and kubectl shows them only with -o wide */
  wide?: boolean;
  listMeta?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  /** "v1" (default) or "v1beta1", as the Accept header asked */
  apiVersion?: "v1" | "v1beta1";
  /** the clock for AGE cells (tests) */
  now?: Date;
}

interface Column {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  priority?: number;
  description: string;
  cell: (o: KObject, now: number) => unknown;
}

const NONE = "<none>";

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration: what kubectl prints in AGE columns. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    const years = Math.floor(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** translateTimestampSince: "<unknown>" for a missing time. */
export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return "<unknown>";
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now - t);
}

const nameColumn: Column = {
  name: "Name",
  type: "string",
  format: "name",
  description:
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  cell: (o) => o.metadata.name ?? "",
};
const ageColumn: Column = {
  name: "Age",
  type: "string",
  description:
    "CreationTimestamp is a timestamp representing the server time when this object was created. Represented in RFC3339 form and is in UTC.",
  cell: (o, now) => age(o.metadata.creationTimestamp, now),
};
const createdAtColumn: Column = {
  name: "Created At",
  type: "date",
  description: ageColumn.description,
  cell: (o) => o.metadata.creationTimestamp ?? "",
};

const col = (
  name: string,
  cell: Column["cell"],
  extra: { type?: Column["type"]; priority?: number; description?: string } = {},
): Column => ({
  name,
  type: extra.type ?? "string",
  priority: extra.priority,
  description: extra.description ?? name,
  cell,
});
const wide = (name: string, cell: Column["cell"], type: Column["type"] = "string") =>
  col(name, cell, { type, priority: 1 });
const int = (v: unknown) => (typeof v === "number" ? v : 0);

/** metav1.LabelSelectorAsSelector(...).String(): "app=web,tier in (a,b)". */
export function formatLabelSelector(sel: any): string {
  if (!sel) return NONE;
  const parts: string[] = [];
  for (const k of Object.keys(sel.matchLabels ?? {}).sort()) parts.push(`${k}=${sel.matchLabels[k]}`);
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(",") : NONE;
}

/** labels.FormatLabels: "k=v,k2=v2" sorted, "<none>" when empty. */
function formatLabels(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${m![k]}`).join(",") : NONE;
}

const containers = (o: KObject) => (o.spec?.template?.spec?.containers ?? []) as any[];
const containersColumn = wide("Containers", (o) =>
  containers(o)
    .map((c) => c.name)
    .join(","),
);
const imagesColumn = wide("Images", (o) =>
  containers(o)
    .map((c) => c.image)
    .join(","),
);
const selectorColumn = wide("Selector", (o) => formatLabelSelector(o.spec?.selector));

/** printPod: the STATUS kubectl shows (init progress, waiting/terminated reasons, Terminating). */
export function podStatus(pod: KObject): { ready: string; status: string; restarts: number; lastRestart?: string } {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  let restarts = 0;
  let sidecarRestarts = 0;
  let total = (spec.containers ?? []).length;
  let ready = 0;
  let lastRestart: string | undefined;
  const noteRestart = (cs: any) => {
    const finished = cs.lastState?.terminated?.finishedAt;
    if (finished && (!lastRestart || finished > lastRestart)) lastRestart = finished;
  };
  let reason: string = status.reason || status.phase || "";
  if ((status.conditions ?? []).some((c: any) => c.type === "PodScheduled" && c.reason === "SchedulingGated")) {
    reason = "SchedulingGated";
  }
  const initSpecs = new Map<string, any>((spec.initContainers ?? []).map((c: any) => [c.name, c]));
  const initCount = (spec.initContainers ?? []).length;
  let initializing = false;
  const initStatuses: any[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    restarts += cs.restartCount ?? 0;
    noteRestart(cs);
    // restartable init containers (native sidecars) count as regular containers once started
    if (initSpecs.get(cs.name)?.restartPolicy === "Always") {
      sidecarRestarts += cs.restartCount ?? 0;
      if (cs.started) {
        total++;
        if (cs.ready) ready++;
      }
      continue;
    }
    const term = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (term) {
      reason = term.reason
        ? `Init:${term.reason}`
        : term.signal
          ? `Init:Signal:${term.signal}`
          : `Init:ExitCode:${term.exitCode}`;
    } else if (waiting?.reason && waiting.reason !== "PodInitializing") {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    initializing = true;
    break;
  }
  const initializedTrue = (status.conditions ?? []).some((c: any) => c.type === "Initialized" && c.status === "True");
  if (!initializing || initializedTrue) {
    restarts = sidecarRestarts;
    let hasRunning = false;
    const statuses: any[] = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += cs.restartCount ?? 0;
      noteRestart(cs);
      const waiting = cs.state?.waiting;
      const term = cs.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      reason = (status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True")
        ? "Running"
        : "NotReady";
    }
  }
  if (pod.metadata.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata.deletionTimestamp && status.phase !== "Succeeded" && status.phase !== "Failed")
    reason = "Terminating";
  return { ready: `${ready}/${total}`, status: reason, restarts, lastRestart };
}

const podColumns: Column[] = [
  nameColumn,
  col("Ready", (o) => podStatus(o).ready, {
    description: "The aggregate readiness state of this pod for accepting traffic.",
  }),
  col("Status", (o) => podStatus(o).status, { description: "The aggregate status of the containers in this pod." }),
  col(
    "Restarts",
    (o, now) => {
      const s = podStatus(o);
      return s.restarts !== 0 && s.lastRestart ? `${s.restarts} (${age(s.lastRestart, now)} ago)` : String(s.restarts);
    },
    {
      description:
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    },
  ),
  ageColumn,
  wide("IP", (o) => o.status?.podIP || NONE),
  wide("Node", (o) => o.spec?.nodeName || NONE),
  wide("Nominated Node", (o) => o.status?.nominatedNodeName || NONE),
  wide("Readiness Gates", (o) => {
    const gates: any[] = o.spec?.readinessGates ?? [];
    if (!gates.length) return NONE;
    const trueCount = gates.filter((g) =>
      (o.status?.conditions ?? []).some((c: any) => c.type === g.conditionType && c.status === "True"),
    ).length;
    return `${trueCount}/${gates.length}`;
  }),
];

function serviceExternalIP(o: KObject): string {
  const spec = o.spec ?? {};
  const external: string[] = spec.externalIPs ?? [];
  switch (spec.type ?? "ClusterIP") {
    case "ClusterIP":
    case "NodePort":
      return external.length ? external.join(",") : NONE;
    case "LoadBalancer": {
      const ingress: string[] = (o.status?.loadBalancer?.ingress ?? [])
        .map((i: any) => i.ip || i.hostname)
        .filter(Boolean);
      const all = [...ingress, ...external];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return spec.externalName ?? NONE;
    default:
      return "<unknown>";
  }
}

function servicePorts(o: KObject): string {
  const ports: any[] = o.spec?.ports ?? [];
  if (!ports.length) return NONE;
  return ports
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? "TCP"}` : `${p.port}/${p.protocol ?? "TCP"}`))
    .join(",");
}

function nodeStatus(o: KObject): string {
  const ready = (o.status?.conditions ?? []).find((c: any) => c.type === "Ready");
  const parts = [
    ready ? (ready.status === "True" ? "Ready" : ready.status === "False" ? "NotReady" : "Unknown") : "Unknown",
  ];
  if (o.spec?.unschedulable) parts.push("SchedulingDisabled");
  return parts.join(",");
}

function nodeRoles(o: KObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) roles.add(k.slice("node-role.kubernetes.io/".length));
    else if (k === "kubernetes.io/role") roles.add(v);
  }
  return roles.size ? [...roles].sort().join(",") : NONE;
}

function nodeAddress(o: KObject, type: string): string {
  return (o.status?.addresses ?? []).find((a: any) => a.type === type)?.address ?? NONE;
}

const conditionTrue = (o: KObject, type: string) =>
  (o.status?.conditions ?? []).some((c: any) => c.type === type && c.status === "True");

function jobStatus(o: KObject): string {
  if (conditionTrue(o, "Complete")) return "Complete";
  if (conditionTrue(o, "Failed")) return "Failed";
  if (o.metadata.deletionTimestamp) return "Terminating";
  if (conditionTrue(o, "SuccessCriteriaMet")) return "SuccessCriteriaMet";
  if (conditionTrue(o, "FailureTarget")) return "FailureTarget";
  if (conditionTrue(o, "Suspended")) return "Suspended";
  return "Running";
}

function jobCompletions(o: KObject): string {
  const succeeded = int(o.status?.succeeded);
  if (o.spec?.completions != null) return `${succeeded}/${o.spec.completions}`;
  if (o.spec?.parallelism > 1) return `${succeeded}/1 of ${o.spec.parallelism}`;
  return `${succeeded}/1`;
}

function jobDuration(o: KObject, now: number): string {
  const start = o.status?.startTime;
  if (!start) return "";
  const end = o.status?.completionTime ? Date.parse(o.status.completionTime) : now;
  return humanDuration(end - Date.parse(start));
}

const jobContainers = (o: KObject) => (o.spec?.jobTemplate?.spec?.template?.spec?.containers ?? []) as any[];

function eventLastSeen(o: KObject, now: number): string {
  const t =
    o.lastTimestamp ?? o.deprecatedLastTimestamp ?? o.eventTime ?? o.series?.lastObservedTime ?? o.firstTimestamp;
  return age(t, now);
}

/** core/v1 and events.k8s.io/v1 Events print alike (the server converts both to the internal Event). */
const eventColumns = (modern: boolean): Column[] => [
  col("Last Seen", eventLastSeen),
  col("Type", (o) => o.type ?? ""),
  col("Reason", (o) => o.reason ?? ""),
  col("Object", (o) => {
    const ref = modern ? o.regarding : o.involvedObject;
    return `${String(ref?.kind ?? "").toLowerCase()}/${ref?.name ?? ""}`;
  }),
  wide("Subobject", (o) => (modern ? o.regarding : o.involvedObject)?.fieldPath ?? ""),
  wide("Source", (o) => {
    const component = modern ? o.reportingController : (o.source?.component ?? o.reportingComponent);
    const host = modern ? o.deprecatedSource?.host : o.source?.host;
    return host ? `${component ?? ""}, ${host}` : (component ?? "");
  }),
  col("Message", (o) => String((modern ? o.note : o.message) ?? "").trim()),
  wide("First Seen", (o, now) =>
    age(modern ? (o.deprecatedFirstTimestamp ?? o.eventTime) : (o.firstTimestamp ?? o.eventTime), now),
  ),
  wide(
    "Count",
    (o) => int(modern ? (o.deprecatedCount ?? o.series?.count ?? 1) : (o.count ?? o.series?.count ?? 1)),
    "integer",
  ),
  wide("Name", (o) => o.metadata.name ?? ""),
];

function hpaTargets(o: KObject): string {
  const metrics: any[] = o.spec?.metrics ?? [];
  if (!metrics.length && o.spec?.targetCPUUtilizationPercentage != null) {
    const current = o.status?.currentCPUUtilizationPercentage;
    return `cpu: ${current != null ? `${current}%` : "<unknown>"}/${o.spec.targetCPUUtilizationPercentage}%`;
  }
  if (!metrics.length) return NONE;
  return metrics
    .map((m, i) => {
      if (m.type !== "Resource" || !m.resource) return `<unknown>/<unknown>`;
      const t = m.resource.target ?? {};
      const cur = (o.status?.currentMetrics ?? [])[i]?.resource?.current ?? {};
      if (t.type === "Utilization") {
        const current = cur.averageUtilization != null ? `${cur.averageUtilization}%` : "<unknown>";
        return `${m.resource.name}: ${current}/${t.averageUtilization}%`;
      }
      return `${m.resource.name}: ${cur.averageValue ?? cur.value ?? "<unknown>"}/${t.averageValue ?? t.value}`;
    })
    .join(", ");
}

const intOrStringCell = (v: unknown) => (v === undefined || v === null ? "N/A" : String(v));

/** Built-in printers by resource key. */
const PRINTERS: Record<string, Column[]> = {
  [resourceKey("", "pods")]: podColumns,
  [resourceKey("", "namespaces")]: [nameColumn, col("Status", (o) => o.status?.phase ?? ""), ageColumn],
  [resourceKey("", "configmaps")]: [
    nameColumn,
    col("Data", (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, { type: "integer" }),
    ageColumn,
  ],
  [resourceKey("", "secrets")]: [
    nameColumn,
    col("Type", (o) => o.type ?? "Opaque"),
    col("Data", (o) => Object.keys(o.data ?? {}).length, { type: "integer" }),
    ageColumn,
  ],
  [resourceKey("", "serviceaccounts")]: [
    nameColumn,
    col("Secrets", (o) => (o.secrets ?? []).length, { type: "integer" }),
    ageColumn,
  ],
  [resourceKey("", "services")]: [
    nameColumn,
    col("Type", (o) => o.spec?.type ?? "ClusterIP"),
    col("Cluster-IP", (o) => o.spec?.clusterIP || NONE),
    col("External-IP", serviceExternalIP),
    col("Port(s)", servicePorts),
    ageColumn,
    wide("Selector", (o) => formatLabels(o.spec?.selector)),
  ],
  [resourceKey("", "endpoints")]: [
    nameColumn,
    col("Endpoints", (o) => {
      const eps: string[] = [];
      for (const s of o.subsets ?? []) {
        for (const a of s.addresses ?? [])
          for (const p of s.ports ?? [{}]) eps.push(p.port ? `${a.ip}:${p.port}` : a.ip);
      }
      if (!eps.length) return NONE;
      return eps.length > 3 ? `${eps.slice(0, 3).join(",")} + ${eps.length - 3} more...` : eps.join(",");
    }),
    ageColumn,
  ],
  [resourceKey("", "nodes")]: [
    nameColumn,
    col("Status", nodeStatus),
    col("Roles", nodeRoles),
    ageColumn,
    col("Version", (o) => o.status?.nodeInfo?.kubeletVersion ?? ""),
    wide("Internal-IP", (o) => nodeAddress(o, "InternalIP")),
    wide("External-IP", (o) => nodeAddress(o, "ExternalIP")),
    wide("OS-Image", (o) => o.status?.nodeInfo?.osImage || "<unknown>"),
    wide("Kernel-Version", (o) => o.status?.nodeInfo?.kernelVersion || "<unknown>"),
    wide("Container-Runtime", (o) => o.status?.nodeInfo?.containerRuntimeVersion || "<unknown>"),
  ],
  [resourceKey("", "events")]: eventColumns(false),
  [resourceKey("events.k8s.io", "events")]: eventColumns(true),
  [resourceKey("apps", "deployments")]: [
    nameColumn,
    col("Ready", (o) => `${int(o.status?.readyReplicas)}/${o.spec?.replicas ?? 1}`),
    col("Up-to-date", (o) => int(o.status?.updatedReplicas), { type: "integer" }),
    col("Available", (o) => int(o.status?.availableReplicas), { type: "integer" }),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn,
  ],
  [resourceKey("apps", "replicasets")]: [
    nameColumn,
    col("Desired", (o) => o.spec?.replicas ?? 1, { type: "integer" }),
    col("Current", (o) => int(o.status?.replicas), { type: "integer" }),
    col("Ready", (o) => int(o.status?.readyReplicas), { type: "integer" }),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn,
  ],
  [resourceKey("apps", "statefulsets")]: [
    nameColumn,
    col("Ready", (o) => `${int(o.status?.readyReplicas)}/${o.spec?.replicas ?? 1}`),
    ageColumn,
    containersColumn,
    imagesColumn,
  ],
  [resourceKey("apps", "daemonsets")]: [
    nameColumn,
    col("Desired", (o) => int(o.status?.desiredNumberScheduled), { type: "integer" }),
    col("Current", (o) => int(o.status?.currentNumberScheduled), { type: "integer" }),
    col("Ready", (o) => int(o.status?.numberReady), { type: "integer" }),
    col("Up-to-date", (o) => int(o.status?.updatedNumberScheduled), { type: "integer" }),
    col("Available", (o) => int(o.status?.numberAvailable), { type: "integer" }),
    col("Node Selector", (o) => formatLabels(o.spec?.template?.spec?.nodeSelector)),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn,
  ],
  [resourceKey("apps", "controllerrevisions")]: [
    nameColumn,
    col("Controller", (o) => {
      const owner = (o.metadata.ownerReferences ?? []).find((r) => r.controller);
      return owner ? `${owner.kind.toLowerCase()}.${owner.apiVersion.split("/")[0]}/${owner.name}` : NONE;
    }),
    col("Revision", (o) => int(o.revision), { type: "integer" }),
    ageColumn,
  ],
  [resourceKey("batch", "jobs")]: [
    nameColumn,
    col("Status", jobStatus),
    col("Completions", jobCompletions),
    col("Duration", jobDuration),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn,
  ],
  [resourceKey("batch", "cronjobs")]: [
    nameColumn,
    col("Schedule", (o) => o.spec?.schedule ?? ""),
    col("Timezone", (o) => o.spec?.timeZone || NONE),
    col("Suspend", (o) => (o.spec?.suspend ? "True" : "False")),
    col("Active", (o) => (o.status?.active ?? []).length, { type: "integer" }),
    col("Last Schedule", (o, now) => (o.status?.lastScheduleTime ? age(o.status.lastScheduleTime, now) : NONE)),
    ageColumn,
    wide("Containers", (o) =>
      jobContainers(o)
        .map((c) => c.name)
        .join(","),
    ),
    wide("Images", (o) =>
      jobContainers(o)
        .map((c) => c.image)
        .join(","),
    ),
    wide("Selector", (o) => formatLabelSelector(o.spec?.jobTemplate?.spec?.selector)),
  ],
  [resourceKey("policy", "poddisruptionbudgets")]: [
    nameColumn,
    col("Min Available", (o) => intOrStringCell(o.spec?.minAvailable)),
    col("Max Unavailable", (o) => intOrStringCell(o.spec?.maxUnavailable)),
    col("Allowed Disruptions", (o) => int(o.status?.disruptionsAllowed), { type: "integer" }),
    ageColumn,
  ],
  [resourceKey("autoscaling", "horizontalpodautoscalers")]: [
    nameColumn,
    col("Reference", (o) => `${o.spec?.scaleTargetRef?.kind ?? ""}/${o.spec?.scaleTargetRef?.name ?? ""}`),
    col("Targets", hpaTargets),
    col("MinPods", (o) => o.spec?.minReplicas ?? 1, { type: "integer" }),
    col("MaxPods", (o) => int(o.spec?.maxReplicas), { type: "integer" }),
    col("Replicas", (o) => int(o.status?.currentReplicas), { type: "integer" }),
    ageColumn,
  ],
  [resourceKey("admissionregistration.k8s.io", "mutatingwebhookconfigurations")]: [
    nameColumn,
    col("Webhooks", (o) => (o.webhooks ?? []).length, { type: "integer" }),
    ageColumn,
  ],
  [resourceKey("admissionregistration.k8s.io", "validatingwebhookconfigurations")]: [
    nameColumn,
    col("Webhooks", (o) => (o.webhooks ?? []).length, { type: "integer" }),
    ageColumn,
  ],
  [resourceKey("apiextensions.k8s.io", "customresourcedefinitions")]: [nameColumn, createdAtColumn],
  [resourceKey("coordination.k8s.io", "leases")]: [
    nameColumn,
    col("Holder", (o) => o.spec?.holderIdentity ?? ""),
    ageColumn,
  ],
  [resourceKey("rbac.authorization.k8s.io", "roles")]: [nameColumn, createdAtColumn],
  [resourceKey("rbac.authorization.k8s.io", "clusterroles")]: [nameColumn, createdAtColumn],
  [resourceKey("rbac.authorization.k8s.io", "rolebindings")]: bindingColumns(),
  [resourceKey("rbac.authorization.k8s.io", "clusterrolebindings")]: bindingColumns(),
  [resourceKey("networking.k8s.io", "networkpolicies")]: [
    nameColumn,
    col("Pod-Selector", (o) => formatLabelSelector(o.spec?.podSelector)),
    ageColumn,
  ],
  [resourceKey("networking.k8s.io", "ingresses")]: [
    nameColumn,
    col("Class", (o) => o.spec?.ingressClassName ?? NONE),
    col("Hosts", (o) => {
      const hosts = (o.spec?.rules ?? []).map((r: any) => r.host).filter(Boolean);
      return hosts.length ? hosts.join(",") : "*";
    }),
    col("Address", (o) => (o.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip || i.hostname).join(",")),
    col("Ports", (o) => ((o.spec?.tls ?? []).length ? "80, 443" : "80")),
    ageColumn,
  ],
  [resourceKey("discovery.k8s.io", "endpointslices")]: [
    nameColumn,
    col("AddressType", (o) => o.addressType ?? ""),
    col("Ports", (o) => {
      const ports = (o.ports ?? []).map((p: any) => p.port).filter((p: unknown) => p != null);
      return ports.length ? ports.join(",") : "<unset>";
    }),
    col("Endpoints", (o) => {
      const addrs = (o.endpoints ?? []).flatMap((e: any) => e.addresses ?? []);
      if (!addrs.length) return "<unset>";
      return addrs.length > 3 ? `${addrs.slice(0, 3).join(",")} + ${addrs.length - 3} more...` : addrs.join(",");
    }),
    ageColumn,
  ],
  [resourceKey("", "persistentvolumeclaims")]: [
    nameColumn,
    col("Status", (o) => (o.metadata.deletionTimestamp ? "Terminating" : (o.status?.phase ?? ""))),
    col("Volume", (o) => o.spec?.volumeName ?? ""),
    col("Capacity", (o) => o.status?.capacity?.storage ?? ""),
    col("Access Modes", (o) => accessModes(o.status?.accessModes ?? [])),
    col("StorageClass", (o) => o.spec?.storageClassName ?? ""),
    col("VolumeAttributesClass", (o) => o.spec?.volumeAttributesClassName || "<unset>"),
    ageColumn,
    wide("VolumeMode", (o) => o.spec?.volumeMode ?? "Filesystem"),
  ],
};

function accessModes(modes: string[]): string {
  const short: Record<string, string> = {
    ReadWriteOnce: "RWO",
    ReadOnlyMany: "ROX",
    ReadWriteMany: "RWX",
    ReadWriteOncePod: "RWOP",
  };
  return modes.map((m) => short[m] ?? m).join(",");
}

function bindingColumns(): Column[] {
  const subjects = (o: KObject, kind: string) =>
    (o.subjects ?? [])
      .filter((s: any) => s.kind === kind)
      .map((s: any) => (kind === "ServiceAccount" ? `${s.namespace ?? o.metadata.namespace ?? ""}/${s.name}` : s.name))
      .join(", ");
  return [
    nameColumn,
    col("Role", (o) => `${o.roleRef?.kind ?? ""}/${o.roleRef?.name ?? ""}`),
    ageColumn,
    wide("Users", (o) => subjects(o, "User")),
    wide("Groups", (o) => subjects(o, "Group")),
    wide("ServiceAccounts", (o) => subjects(o, "ServiceAccount")),
  ];
}

/**
 * Evaluates the JSONPath subset CRD printer columns use: `.a.b`, `.a[0].b`, `.a['x.y']`.
 * Returns undefined when any step is missing.
 */
export function evalSimpleJsonPath(obj: unknown, path: string): unknown {
  const expr = path
    .trim()
    .replace(/^\{|\}$/g, "")
    .replace(/^\$/, "");
  type Step =
    | string
    | number
    | { wildcard: true }
    | { filter: (string | number)[]; op: "==" | "!="; value: string }
    | { has: (string | number)[] };
  const steps: Step[] = [];
  // .name, [0], ['name'], [*], [?(@.a.b=="v")], [?(@.a!='v')], [?(@.a)] — the subset CRD printer columns use
  const re =
    /\.([A-Za-z0-9_\-$]+)|\[(\d+)\]|\[['"]([^'"]+)['"]\]|\[\*\]|\[\?\(@((?:\.[A-Za-z0-9_\-$]+)+)\s*(?:(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_.-]+)))?\)\]/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(expr)) !== null) {
    if (m.index !== consumed) return undefined;
    consumed = re.lastIndex;
    if (m[0] === "[*]") steps.push({ wildcard: true });
    else if (m[4] !== undefined) {
      const sub = m[4].split(".").filter(Boolean);
      if (m[5]) steps.push({ filter: sub, op: m[5] as "==" | "!=", value: m[6] ?? m[7] ?? m[8] ?? "" });
      else steps.push({ has: sub });
    } else steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]));
  }
  if (consumed !== expr.length) return undefined;
  const dig = (o: any, p: (string | number)[]) =>
    p.reduce((a, k) => (a === null || a === undefined ? undefined : a[k]), o);
  let cur: any[] = [obj];
  for (const st of steps) {
    const next: any[] = [];
    for (const c of cur) {
      if (c === null || c === undefined) continue;
      if (typeof st === "string" || typeof st === "number") next.push(c[st]);
      else if ("wildcard" in st) next.push(...(Array.isArray(c) ? c : Object.values(c)));
      else if ("filter" in st) {
        for (const e of Array.isArray(c) ? c : []) {
          const v = dig(e, st.filter);
          const eq = v !== undefined && v !== null && String(v) === st.value;
          if (st.op === "==" ? eq : !eq) next.push(e);
        }
      } else for (const e of Array.isArray(c) ? c : []) if (dig(e, st.has) !== undefined) next.push(e);
    }
    cur = next;
  }
  // a column shows the first result, as kubectl's and the apiserver's table printers do
  return cur.find((v) => v !== undefined);
}

/** A CRD printer column cell (apiextensions tableconvertor): dates become ages, lists and objects JSON. */
function customCell(o: KObject, c: NonNullable<ResourceType["columns"]>[number], now: number): unknown {
  const v = evalSimpleJsonPath(o, c.jsonPath);
  if (v === undefined || v === null) return null;
  if (c.type === "date") return typeof v === "string" ? age(v, now) : null;
  if (c.type === "integer" || c.type === "number") return typeof v === "number" ? v : null;
  if (c.type === "boolean") return typeof v === "boolean" ? v : null;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function columnsFor(type: ResourceType): Column[] {
  if (!type.custom) return PRINTERS[resourceKey(type.group, type.plural)] ?? [nameColumn, ageColumn];
  if (!type.columns?.length) return [nameColumn, ageColumn];
  return [
    nameColumn,
    ...type.columns.map((c) => ({
      name: c.name,
      // date columns go out as strings: the server already turned them into ages
      type: (c.type === "date" ? "date" : c.type) as Column["type"],
      priority: c.priority,
      description: c.description ?? c.name,
      cell: (o: KObject, now: number) => customCell(o, c, now),
    })),
  ];
}

/** A meta.k8s.io Table for a list (or one object) of `type`, as `Accept: application/json;as=Table;...` asks. */
export function toTable(type: ResourceType, items: KObject[], opts: TableOptions): object {
  const now = (opts.now ?? new Date()).getTime();
  const apiVersion = `meta.k8s.io/${opts.apiVersion ?? "v1"}`;
  const columns = columnsFor(type).filter((c) => opts.wide !== false || !c.priority);
  return {
    kind: "Table",
    apiVersion,
    metadata: { ...(opts.listMeta ?? {}) },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? "",
      description: c.description,
      priority: c.priority ?? 0,
    })),
    rows: items.map((o) => ({
      cells: columns.map((c) => c.cell(o, now)),
      ...(opts.includeObject === "None" ? {} : { object: rowObject(type, o, opts.includeObject, apiVersion) }),
    })),
  };
}

function rowObject(type: ResourceType, o: KObject, include: IncludeObject, tableApiVersion: string): KObject {
  if (include === "Object")
    return { apiVersion: type.group ? `${type.group}/${type.version}` : type.version, kind: type.kind, ...o };
  return { kind: "PartialObjectMetadata", apiVersion: tableApiVersion, metadata: o.metadata };
}
