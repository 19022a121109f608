// Kubernetes objects for the workloads a scenario declares: the controller object (or naked Pod), its
// PodDisruptionBudget and Service, shaped like what `kubectl apply` of a typical manifest stores.
import type { KObject } from "../api/types.js";
import type { ScenarioNamespace, Workload } from "./schema.js";

/** The app container a workload gets when the scenario names none: a small HTTP service. */
export const DEFAULT_CONTAINER = {
  name: "app",
  image: "ghcr.io/stefanprodan/podinfo:6.7.1",
  ports: [{ name: "http", containerPort: 9898 }],
} as const;

/** `sidecar.istio.io/status` and the injected containers for a pre-injected pod template. */
export type PreInjector = (pod: KObject, w: Workload) => KObject;

const API_VERSION: Record<Workload["kind"], string> = {
  Deployment: "apps/v1",
  StatefulSet: "apps/v1",
  DaemonSet: "apps/v1",
  Job: "batch/v1",
  CronJob: "batch/v1",
  Pod: "v1",
};

/** The `app` label of the workload's pods (bookinfo style: reviews-v1/v2/v3 share app=reviews). */
export function appOf(w: Workload): string {
  return w.podLabels.app ?? w.name;
}

/** Labels that select exactly this workload's pods: app plus version when given, so reviews-v1 ≠ reviews-v2. */
export function selectorOf(w: Workload): Record<string, string> {
  const version = w.podLabels.version;
  return version !== undefined ? { app: appOf(w), version } : { app: appOf(w) };
}

function containersOf(w: Workload): any[] {
  const declared = w.containers ?? [DEFAULT_CONTAINER];
  return declared.map((c: any) => {
    const out: any = { name: c.name, image: c.image };
    if (c.command) out.command = [...c.command];
    if (c.args) out.args = [...c.args];
    if (c.ports?.length) out.ports = c.ports.map((p: any) => (typeof p === "number" ? { containerPort: p } : { ...p }));
    if (c.env) out.env = Object.entries(c.env).map(([name, value]) => ({ name, value }));
    if (c.resources) out.resources = structuredClone(c.resources);
    return out;
  });
}

function podTemplate(w: Workload, restartPolicy: "Always" | "Never" | "OnFailure"): KObject {
  const spec: any = { containers: containersOf(w) };
  if (restartPolicy !== "Always") spec.restartPolicy = restartPolicy;
  if (w.serviceAccountName) spec.serviceAccountName = w.serviceAccountName;
  if (w.hostNetwork) spec.hostNetwork = true;
  const metadata: KObject["metadata"] = { labels: { ...selectorOf(w), ...w.podLabels } };
  if (Object.keys(w.podAnnotations).length) metadata.annotations = { ...w.podAnnotations };
  return { metadata, spec };
}

/**
 * Applies the pre-injection to a template: the injector sees a pod owned by the workload, as
 * `istioctl kube-inject` does for a Deployment, and only its labels, annotations and spec are kept.
 */
function preInject(template: KObject, w: Workload, namespace: string, inject: PreInjector | undefined): KObject {
  if (!w.preInjected || !inject) return template;
  const pod: KObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...structuredClone(template.metadata),
      generateName: `${w.name}-`,
      namespace,
      ownerReferences:
        w.kind === "Pod"
          ? undefined
          : [{ apiVersion: API_VERSION[w.kind], kind: w.kind, name: w.name, uid: "", controller: true }],
    },
    spec: structuredClone(template.spec),
  };
  if (w.kind === "Pod") {
    pod.metadata.name = w.name;
    delete pod.metadata.generateName;
  }
  const injected = inject(pod, w);
  return {
    metadata: { labels: injected.metadata.labels, annotations: injected.metadata.annotations },
    spec: injected.spec,
  };
}

/** The workload's own object: Deployment, StatefulSet, DaemonSet, Job, CronJob or a naked Pod. */
export function workloadObject(ns: ScenarioNamespace, w: Workload, inject?: PreInjector): KObject {
  const metadata = {
    name: w.name,
    namespace: ns.name,
    labels: { app: appOf(w), ...w.labels },
    ...(Object.keys(w.annotations).length ? { annotations: { ...w.annotations } } : {}),
  };
  const head = { apiVersion: API_VERSION[w.kind], kind: w.kind, metadata };
  const selector = { matchLabels: selectorOf(w) };
  switch (w.kind) {
    case "Deployment":
      return {
        ...head,
        spec: {
          replicas: w.replicas ?? 1,
          selector,
          template: preInject(podTemplate(w, "Always"), w, ns.name, inject),
        },
      };
    case "StatefulSet":
      return {
        ...head,
        spec: {
          replicas: w.replicas ?? 1,
          serviceName: appOf(w),
          selector,
          template: preInject(podTemplate(w, "Always"), w, ns.name, inject),
        },
      };
    case "DaemonSet":
      return { ...head, spec: { selector, template: preInject(podTemplate(w, "Always"), w, ns.name, inject) } };
    case "Job": {
      // the API server generates a Job's selector (batch.kubernetes.io/controller-uid), so none is given
      const n = w.replicas ?? 1;
      return {
        ...head,
        spec: {
          parallelism: n,
          completions: n,
          backoffLimit: 2,
          template: preInject(podTemplate(w, "Never"), w, ns.name, inject),
        },
      };
    }
    case "CronJob": {
      const n = w.replicas ?? 1;
      return {
        ...head,
        spec: {
          schedule: w.schedule ?? "*/10 * * * *",
          concurrencyPolicy: "Forbid",
          jobTemplate: {
            spec: {
              parallelism: n,
              completions: n,
              backoffLimit: 2,
              template: preInject(podTemplate(w, "OnFailure"), w, ns.name, inject),
            },
          },
        },
      };
    }
    case "Pod": {
      const t = preInject(podTemplate(w, "Always"), w, ns.name, inject);
      return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          ...t.metadata,
          name: w.name,
          namespace: ns.name,
          labels: { ...t.metadata.labels, ...w.labels },
          annotations: { ...w.annotations, ...t.metadata.annotations },
        },
        spec: t.spec,
      };
    }
  }
}

export function pdbObject(ns: ScenarioNamespace, w: Workload): KObject | undefined {
  if (!w.pdb) return undefined;
  const budget =
    w.pdb.minAvailable !== undefined ? { minAvailable: w.pdb.minAvailable } : { maxUnavailable: w.pdb.maxUnavailable };
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: w.name, namespace: ns.name, labels: { app: appOf(w) } },
    spec: { ...budget, selector: { matchLabels: selectorOf(w) } },
  };
}

/**
 * The Service in front of the workload, named after its app label. The port name carries the protocol
 * (http, grpc, tcp-…): Istio's protocol selection reads the Service port name.
 */
export function serviceObject(ns: ScenarioNamespace, w: Workload): KObject | undefined {
  if (!w.service) return undefined;
  const opts = w.service === true ? { port: undefined, targetPort: undefined, type: "ClusterIP" as const } : w.service;
  const first = containersOf(w).flatMap((c) => c.ports ?? [])[0] as
    { name?: string; containerPort: number } | undefined;
  const port = opts.port ?? first?.containerPort ?? 80;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: appOf(w), namespace: ns.name, labels: { app: appOf(w), service: appOf(w) } },
    spec: {
      type: opts.type,
      selector: { app: appOf(w) },
      ports: [
        {
          name: first?.name ?? "http",
          port,
          targetPort: opts.targetPort ?? first?.containerPort ?? port,
          protocol: "TCP",
        },
      ],
    },
  };
}
