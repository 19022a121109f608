// Server-side defaulting of built-in types, as the API server's registry strategies do on create/update.
import { randomBytes } from "node:crypto";
import { isStoredPart } from "./stored-parts.js";
import type { KObject } from "./types.js";

function defaultPodSpec(spec: any): void {
  // a stored pod's spec was defaulted when it was stored; updates that keep the spec share it unchanged
  if (!spec || isStoredPart(spec)) return;
  spec.restartPolicy ??= "Always";
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= "PreemptLowerPriority";
  spec.priority ??= 0;
  if (spec.serviceAccountName || spec.serviceAccount) {
    spec.serviceAccountName ??= spec.serviceAccount;
    spec.serviceAccount ??= spec.serviceAccountName;
  }
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    if (typeof c !== "object" || c === null) continue;
    const tag = typeof c.image === "string" ? (c.image.split("/").pop() ?? "").split(":")[1] : undefined;
    c.imagePullPolicy ??= !tag || tag === "latest" ? "Always" : "IfNotPresent";
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.resources ??= {};
    for (const p of c.ports ?? []) p.protocol ??= "TCP";
  }
}

function defaultTemplate(tpl: any): void {
  if (!tpl) return;
  tpl.metadata ??= {};
  defaultPodSpec(tpl.spec);
}

let clusterIpCounter = 1;
function nextClusterIp(): string {
  const n = clusterIpCounter++;
  return `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

/**
 * Applies create-time defaults for the given resource key. Mutates obj (the caller owns its top level), writing
 * only where a default is missing, so parts an update shares with a stored (complete, immutable) object stay untouched.
 */
export function applyCreateDefaults(key: string, obj: KObject): void {
  const spec = obj.spec;
  switch (key) {
    case "/namespaces":
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": obj.metadata.name! };
      obj.spec = { finalizers: ["kubernetes"], ...(obj.spec ?? {}) };
      obj.status = { phase: "Active" };
      break;
    case "/secrets":
      obj.type ??= "Opaque";
      break;
    case "/pods":
      defaultPodSpec(spec);
      obj.status = { phase: "Pending", qosClass: "BestEffort" };
      break;
    case "/services":
      if (spec) {
        spec.type ??= "ClusterIP";
        spec.sessionAffinity ??= "None";
        if (spec.type !== "ExternalName") {
          spec.clusterIP ??= spec.clusterIP === "None" ? "None" : nextClusterIp();
          spec.clusterIPs ??= [spec.clusterIP];
          spec.ipFamilies ??= ["IPv4"];
          spec.ipFamilyPolicy ??= "SingleStack";
          spec.internalTrafficPolicy ??= "Cluster";
        }
        for (const p of spec.ports ?? []) {
          p.protocol ??= "TCP";
          p.targetPort ??= p.port;
          if ((spec.type === "NodePort" || spec.type === "LoadBalancer") && p.nodePort === undefined)
            p.nodePort = 30000 + (randomBytes(2).readUInt16BE() % 2767);
        }
        if (spec.type === "LoadBalancer") spec.externalTrafficPolicy ??= "Cluster";
      }
      obj.status = spec?.type === "LoadBalancer" ? { loadBalancer: {} } : { loadBalancer: {} };
      break;
    case "apps/deployments":
      if (spec) {
        spec.replicas ??= 1;
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        spec.strategy ??= { type: "RollingUpdate" };
        // only what is missing is filled in: an update may share an already defaulted strategy with the stored object
        const rolling = spec.strategy.rollingUpdate;
        if (
          spec.strategy.type === "RollingUpdate" &&
          (rolling?.maxUnavailable === undefined || rolling?.maxSurge === undefined)
        )
          spec.strategy = {
            ...spec.strategy,
            rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%", ...(rolling ?? {}) },
          };
        defaultTemplate(spec.template);
      }
      break;
    case "apps/replicasets":
      if (spec) {
        spec.replicas ??= 1;
        defaultTemplate(spec.template);
      }
      break;
    case "apps/statefulsets":
      if (spec) {
        spec.replicas ??= 1;
        spec.podManagementPolicy ??= "OrderedReady";
        spec.revisionHistoryLimit ??= 10;
        spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
        spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: "Retain", whenScaled: "Retain" };
        defaultTemplate(spec.template);
      }
      break;
    case "apps/daemonsets":
      if (spec) {
        spec.revisionHistoryLimit ??= 10;
        spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
        defaultTemplate(spec.template);
      }
      break;
    case "batch/jobs":
      if (spec) {
        spec.parallelism ??= 1;
        if (spec.completions == null && spec.parallelism === 1) spec.completions = 1;
        spec.backoffLimit ??= 6;
        spec.completionMode ??= "NonIndexed";
        spec.suspend ??= false;
        defaultTemplate(spec.template);
        if (spec.template?.spec && spec.template.spec.restartPolicy === "Always")
          spec.template.spec.restartPolicy = "Never";
      }
      break;
    case "batch/cronjobs":
      if (spec) {
        spec.concurrencyPolicy ??= "Allow";
        spec.suspend ??= false;
        spec.successfulJobsHistoryLimit ??= 3;
        spec.failedJobsHistoryLimit ??= 1;
        defaultTemplate(spec.jobTemplate?.spec?.template);
      }
      break;
    case "policy/poddisruptionbudgets":
      obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
      break;
    case "admissionregistration.k8s.io/mutatingwebhookconfigurations":
    case "admissionregistration.k8s.io/validatingwebhookconfigurations":
      for (const w of obj.webhooks ?? []) {
        w.failurePolicy ??= "Fail";
        w.matchPolicy ??= "Equivalent";
        w.namespaceSelector ??= {};
        w.objectSelector ??= {};
        w.timeoutSeconds ??= 10;
        if (key.startsWith("admissionregistration.k8s.io/mutating")) w.reinvocationPolicy ??= "Never";
        for (const r of w.rules ?? []) r.scope ??= "*";
      }
      break;
  }
}

export function applyUpdateDefaults(key: string, obj: KObject): void {
  // Updates get the same field defaults (a PUT without them must not strip them).
  const keepStatus = obj.status;
  applyCreateDefaults(key, obj);
  if (key !== "/namespaces" && key !== "/pods" && key !== "/services" && key !== "policy/poddisruptionbudgets") return;
  obj.status = keepStatus;
  if (key === "/namespaces") obj.metadata.labels!["kubernetes.io/metadata.name"] = obj.metadata.name!;
}
