// Prechecks on the mesh itself: labels, webhooks, workloads that restarts would change, gateways,
// PDBs, Jobs and completed pods, an upgrade already running.
import type { MeshSnapshot, ObjectRef, Workload } from "../mesh/schema.js";
import type { Check, Finding } from "./finding.js";

const FINISHED_STAGES = new Set(["Completed", "RolledBack", "Failed"]);

function workloadRef(w: Workload): ObjectRef {
  return { kind: w.kind, namespace: w.namespace, name: w.name };
}

function mwcRef(webhook: string): ObjectRef {
  return { kind: "MutatingWebhookConfiguration", name: webhook.split("/")[0] };
}

export const namespaceLabelConflicts: Check = (snapshot) =>
  snapshot.namespaces.flatMap((ns) =>
    ns.conflicts.map((c): Finding => ({
      id: "namespace-injection-label-conflict",
      severity: "warning",
      objects: [{ kind: "Namespace", name: ns.name }],
      message: `${c.message} (${c.code}); the upgrade relabels namespaces and the extra label would decide injection`,
      fix:
        ns.labels.istioInjection !== null
          ? `kubectl label namespace ${ns.name} istio-injection- (keep istio.io/rev)`
          : `Remove one of the labels from namespace ${ns.name}.`,
    })),
  );

export const webhookConflicts: Check = (snapshot) =>
  snapshot.webhookConflicts.map((c): Finding => {
    const objects = [...new Map(c.webhooks.map((w) => [w.split("/")[0], mwcRef(w)])).values()];
    if (c.kind === "missing-service") {
      return {
        id: "webhook-missing-service",
        severity: "error",
        objects,
        message: `${c.message} (IST0139)`,
        fix: "Reinstall the revision's istiod Service or delete the stale webhook configuration.",
      };
    }
    if (c.kind === "duplicate-tag") {
      return {
        id: "webhook-duplicate-tag",
        severity: "error",
        objects,
        message: c.message,
        fix: "Keep one webhook configuration per tag (istioctl tag list; delete the extra one).",
      };
    }
    return {
      id: "webhook-overlap",
      severity: "error",
      objects,
      message: `${c.message} (IST0139)`,
      fix: "Deactivate or delete one of the webhooks (istioctl tag set default deactivates the old default injector).",
    };
  });

export const orphanReferences: Check = (snapshot) => {
  const findings: Finding[] = [];
  for (const t of snapshot.tags) {
    if (t.revisionInstalled) continue;
    findings.push({
      id: "tag-points-to-missing-revision",
      severity: "warning",
      objects: t.configurations.map((c) => ({ kind: "MutatingWebhookConfiguration", name: c })),
      message: `tag ${t.name} points at revision ${t.revision ?? "(none)"}, which has no istiod Deployment${t.namespaces.length ? `; namespaces ${t.namespaces.join(", ")} use it` : ""}`,
      fix: `Point the tag at an installed revision (istioctl tag set ${t.name} --revision <rev> --overwrite) or remove it.`,
    });
  }
  return findings;
};

export const sidecarChangesOnRestart: Check = (snapshot) => {
  const findings: Finding[] = [];
  for (const w of snapshot.workloads) {
    const ref = [workloadRef(w)];
    if (w.flags.includes("double-injection")) {
      findings.push({
        id: "restart-double-injection",
        severity: "error",
        objects: ref,
        message: `${w.kind} ${w.namespace}/${w.name}: ${w.restart.reason}`,
        fix: "Resolve the overlapping webhooks before restarting anything.",
      });
    } else if (w.flags.includes("webhook-unavailable")) {
      findings.push({
        id: "restart-webhook-unavailable",
        severity: "error",
        objects: ref,
        message: `${w.kind} ${w.namespace}/${w.name}: ${w.restart.reason}`,
        fix: "Restore the injector Service or delete the stale webhook before restarting.",
      });
    } else if (w.flags.includes("image-auto-without-injection")) {
      findings.push({
        id: "restart-image-auto",
        severity: "error",
        objects: ref,
        message: `${w.kind} ${w.namespace}/${w.name} has istio-proxy image "auto" but no webhook would inject it: new pods would fail to pull "auto" (${w.restart.reason})`,
        fix: "Label the namespace or pod for an installed revision (istio.io/rev) before restarting.",
      });
    } else if (w.flags.includes("would-lose-sidecar")) {
      findings.push({
        id: "restart-loses-sidecar",
        severity: "warning",
        objects: ref,
        message: `${w.kind} ${w.namespace}/${w.name} has ${w.proxiedPods} proxied pod(s) but a restart would inject nothing: ${w.restart.reason}`,
        fix: "Label its namespace (istio.io/rev=<revision or tag>) or pod template before restarting, or accept leaving the mesh.",
      });
    } else if (w.flags.includes("would-gain-sidecar")) {
      findings.push({
        id: "restart-gains-sidecar",
        severity: "info",
        objects: ref,
        message: `${w.kind} ${w.namespace}/${w.name} runs ${w.livePods - w.proxiedPods} pod(s) without a proxy that a restart would inject (${w.restart.reason})`,
        fix: "Expected if the workload should join the mesh; otherwise set sidecar.istio.io/inject=false on its pod template.",
      });
    }
  }
  return findings;
};

export const nakedPods: Check = (snapshot) =>
  snapshot.workloads
    .filter((w) => w.kind === "Pod" && w.proxiedPods > 0)
    .map((w) => ({
      id: "naked-pod",
      severity: "warning" as const,
      objects: [{ kind: "Pod", namespace: w.namespace, name: w.name }],
      message: `pod ${w.namespace}/${w.name} has a proxy but no controller: nothing can restart it onto the new revision`,
      fix: "Delete and recreate it from its manifest after relabelling, or run it under a Deployment.",
    }));

export const singleReplicaGateways: Check = (snapshot) =>
  snapshot.workloads
    .filter((w) => w.gateway !== null && w.replicas === 1 && w.kind !== "Pod")
    .map((w) => ({
      id: "gateway-single-replica",
      severity: "warning" as const,
      objects: [workloadRef(w)],
      message: `gateway ${w.kind} ${w.namespace}/${w.name} runs a single replica: restarting it onto the new revision drops its traffic (istio/istio#26585)`,
      fix: `Scale it to at least 2 replicas (kubectl scale ${w.kind.toLowerCase()} ${w.name} -n ${w.namespace} --replicas=2) before the upgrade; meshlift surges single-replica gateways to two during restarts.`,
    }));

export const blockingPdbs: Check = (snapshot) =>
  snapshot.pdbs
    .filter((p) => p.blocksEviction)
    .map((p) => ({
      id: "pdb-allows-no-disruption",
      severity: "warning" as const,
      objects: [{ kind: "PodDisruptionBudget", namespace: p.namespace, name: p.name }, ...p.workloads],
      message: `PodDisruptionBudget ${p.namespace}/${p.name} allows no voluntary disruption (${p.reason}); evictions of ${p.workloads.map((w) => w.name).join(", ") || "its pods"} will wait forever`,
      fix: "Add replicas or relax minAvailable/maxUnavailable for the duration of the upgrade (restarts through the Deployment still honour maxUnavailable).",
    }));

export const jobsPinningRevisions: Check = (snapshot) => {
  const findings: Finding[] = [];
  for (const w of snapshot.workloads) {
    if ((w.kind === "Job" || w.kind === "CronJob") && w.proxiedPods > 0) {
      findings.push({
        id: "job-pins-revision",
        severity: "info",
        objects: [workloadRef(w)],
        message: `${w.kind} ${w.namespace}/${w.name} has ${w.proxiedPods} running pod(s) on revision(s) ${w.revisions.join(", ") || "unknown"}; they cannot be restarted and keep the old revision until they finish`,
        fix: "Let them complete before removing the old revision (new runs pick up the new revision).",
      });
    }
    if (w.flags.includes("completed-pods-pin-revision")) {
      findings.push({
        id: "completed-pods-pin-revision",
        severity: "info",
        objects: [workloadRef(w)],
        message: `${w.kind} ${w.namespace}/${w.name} has ${w.completedPods} completed pod(s) that still carry an injected proxy; reference-based tools count them as users of the old revision (sail-operator#2100)`,
        fix: `Delete the completed pods (kubectl delete pod -n ${w.namespace} --field-selector=status.phase!=Running) once their logs are no longer needed.`,
      });
    }
  }
  return findings;
};

export const upgradeInProgress: Check = (snapshot: MeshSnapshot) =>
  snapshot.upgrades
    .filter((u) => !u.stage || !FINISHED_STAGES.has(u.stage))
    .map((u) => ({
      id: "upgrade-in-progress",
      severity: "error" as const,
      objects: [{ kind: "MeshUpgrade", name: u.name }],
      message: `MeshUpgrade ${u.name} is ${u.stage ?? "not started yet"}${u.targetVersion ? ` (to ${u.targetVersion})` : ""}; only one upgrade may run at a time`,
      fix: `Finish it (meshlift upgrade proceed) or roll it back (meshlift upgrade rollback) first.`,
    }));
