// The Job controller: run pods until `completions` succeed, at most `parallelism` at a time; fail the
// Job past backoffLimit; conditions Complete / Failed (with SuccessCriteriaMet / FailureTarget as
// Kubernetes ≥1.31 reports them); ttlSecondsAfterFinished.
import { ApiError, type KObject, type StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import {
  type Condition,
  controllerRef,
  findCondition,
  isDeleting,
  objKey,
  parseTime,
  randomSuffix,
  setCondition,
  splitNsName,
  timestamp,
} from "./meta.js";
import { isActive, isReady, podChangeMatters } from "./pods.js";
import { createErrorMessage, podFromTemplate } from "./replicaset.js";

const COMPONENT = "job-controller";

function finished(job: KObject): "Complete" | "Failed" | undefined {
  if (findCondition(job, "Complete")?.status === "True") return "Complete";
  if (findCondition(job, "Failed")?.status === "True") return "Failed";
  return undefined;
}

export function jobController(ctx: ControllerContext): Controller {
  const { store, index, events } = ctx;

  const queue = ctx.loop.queue("job", (key) => {
    const { namespace, name } = splitNsName(key);
    const job = store.get("batch/jobs", namespace, name);
    if (!job || isDeleting(job)) return;
    const now = ctx.now();
    const nowIso = timestamp(now);

    const done = finished(job);
    if (done) {
      const ttl: number | undefined = job.spec?.ttlSecondsAfterFinished;
      if (ttl === undefined) return;
      const at =
        (parseTime(job.status?.completionTime) ?? parseTime(findCondition(job, done)?.lastTransitionTime) ?? now) +
        ttl * 1000;
      if (now < at) return { requeueAfterMs: at - now, settling: false };
      // the TTL-after-finished controller deletes in the foreground, taking the pods along
      store.delete("batch/jobs", namespace, name, {
        propagationPolicy: "Foreground",
        preconditions: { uid: job.metadata.uid },
        actor: actor("ttl-after-finished-controller").actor,
      });
      return;
    }

    const pods: KObject[] = [];
    for (const ref of index.dependents(job.metadata.uid!)) {
      if (ref.key !== "/pods") continue;
      const p = store.get("/pods", ref.namespace, ref.name);
      if (p && controllerRef(p)?.uid === job.metadata.uid) pods.push(p);
    }
    const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
    const failed = pods.filter((p) => p.status?.phase === "Failed").length;
    const active = pods.filter(isActive);
    const parallelism: number = job.spec?.parallelism ?? 1;
    const completions: number | undefined = job.spec?.completions ?? undefined;
    const backoffLimit: number = job.spec?.backoffLimit ?? 6;
    const suspended = !!job.spec?.suspend;

    let conds: Condition[] = job.status?.conditions ?? [];
    let completionTime: string | undefined;
    const complete = completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;
    const failedOut = failed > backoffLimit;
    if (complete) {
      conds = setCondition(
        conds,
        {
          type: "SuccessCriteriaMet",
          status: "True",
          reason: "CompletionsReached",
          message: "Reached expected number of succeeded pods",
          lastProbeTime: nowIso,
        },
        nowIso,
      );
      conds = setCondition(
        conds,
        {
          type: "Complete",
          status: "True",
          reason: "CompletionsReached",
          message: "Reached expected number of succeeded pods",
          lastProbeTime: nowIso,
        },
        nowIso,
      );
      completionTime = nowIso;
      events.record(job, "Normal", "Completed", "Job completed", COMPONENT);
    } else if (failedOut) {
      for (const p of active) store.delete("/pods", namespace, p.metadata.name!, { actor: actor(COMPONENT).actor });
      conds = setCondition(
        conds,
        {
          type: "FailureTarget",
          status: "True",
          reason: "BackoffLimitExceeded",
          message: "Job has reached the specified backoff limit",
          lastProbeTime: nowIso,
        },
        nowIso,
      );
      conds = setCondition(
        conds,
        {
          type: "Failed",
          status: "True",
          reason: "BackoffLimitExceeded",
          message: "Job has reached the specified backoff limit",
          lastProbeTime: nowIso,
        },
        nowIso,
      );
      events.record(job, "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit", COMPONENT);
    } else if (suspended) {
      for (const p of active) store.delete("/pods", namespace, p.metadata.name!, { actor: actor(COMPONENT).actor });
      conds = setCondition(
        conds,
        { type: "Suspended", status: "True", reason: "JobSuspended", message: "Job suspended", lastProbeTime: nowIso },
        nowIso,
      );
    } else {
      if (findCondition(job, "Suspended")?.status === "True")
        conds = setCondition(
          conds,
          { type: "Suspended", status: "False", reason: "JobResumed", message: "Job resumed", lastProbeTime: nowIso },
          nowIso,
        );
      const remaining = completions !== undefined ? completions - succeeded : succeeded > 0 ? 0 : parallelism;
      const want = Math.max(0, Math.min(parallelism, remaining));
      for (let i = active.length; i < want; i++) {
        try {
          const pod = podFromTemplate({
            owner: job,
            ownerApiVersion: "batch/v1",
            ownerKind: "Job",
            template: job.spec.template,
            name: `${name}-${randomSuffix()}`,
            labels: {
              "batch.kubernetes.io/controller-uid": job.metadata.uid!,
              "batch.kubernetes.io/job-name": name,
              "controller-uid": job.metadata.uid!,
              "job-name": name,
            },
          });
          const created = store.create("/pods", pod, actor(COMPONENT));
          active.push(created);
          events.record(job, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`, COMPONENT);
        } catch (err) {
          if (err instanceof ApiError && err.code === 409) continue;
          events.record(job, "Warning", "FailedCreate", `Error creating: ${createErrorMessage(err)}`, COMPONENT);
          return { requeueAfterMs: 1000, settling: false };
        }
      }
    }

    const liveActive = complete || failedOut || suspended ? [] : active.filter(isActive);
    store.mutate(
      "batch/jobs",
      namespace,
      name,
      (o) => {
        const status: Record<string, unknown> = { ...(o.status ?? {}) };
        status.startTime ??= job.status?.startTime ?? nowIso;
        if (liveActive.length) status.active = liveActive.length;
        else delete status.active;
        const ready = liveActive.filter(isReady).length;
        status.ready = ready;
        status.terminating = pods.filter(
          (p) => isDeleting(p) && !["Succeeded", "Failed"].includes(p.status?.phase),
        ).length;
        if (succeeded) status.succeeded = succeeded;
        else delete status.succeeded;
        if (failed) status.failed = failed;
        else delete status.failed;
        status.uncountedTerminatedPods = {};
        if (completionTime) status.completionTime = completionTime;
        if (conds.length) status.conditions = conds;
        o.status = status;
      },
      { subresource: "status", ...actor(COMPONENT) },
    );
    if (complete || failedOut) {
      const ttl: number | undefined = job.spec?.ttlSecondsAfterFinished;
      if (ttl !== undefined) return { requeueAfterMs: ttl * 1000, settling: false };
    }
  });

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "batch/jobs") {
        if (ev.type !== "DELETED") queue.add(objKey(ev.object));
      } else if (ev.key === "/pods") {
        const ref = controllerRef(ev.object);
        if (ref?.kind === "Job" && podChangeMatters(ev)) queue.add(`${ev.object.metadata.namespace}/${ref.name}`);
      }
    },
  };
}
