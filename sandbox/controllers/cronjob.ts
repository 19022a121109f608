// The CronJob controller (v2): create a Job for the most recent missed schedule time, honour
// concurrencyPolicy, startingDeadlineSeconds and suspend, track active Jobs, lastScheduleTime and
// lastSuccessfulTime, and keep successful/failed Job history within their limits.
import { CronExpressionParser } from "cron-parser";
import { ApiError, type KObject, type StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import {
  clone,
  controllerRef,
  creationMs,
  findCondition,
  isDeleting,
  objKey,
  ownerRefTo,
  parseTime,
  splitNsName,
  timestamp,
} from "./meta.js";

const COMPONENT = "cronjob-controller";
const SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/** a schedule may name its zone as `CRON_TZ=<zone> ...` / `TZ=<zone> ...`; spec.timeZone wins */
function parseSchedule(schedule: string, timeZone: string | undefined, from: Date) {
  let expr = schedule.trim();
  let tz = timeZone;
  const m = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(expr);
  if (m) {
    tz ??= m[1];
    expr = m[2];
  }
  return CronExpressionParser.parse(expr, { currentDate: from, tz: tz ?? "UTC" });
}

/** mostRecentScheduleTime: the latest schedule time in (earliest, now], and the next one after now */
export function scheduleTimes(
  schedule: string,
  timeZone: string | undefined,
  earliestMs: number,
  nowMs: number,
): { mostRecent?: number; next: number; missed: number } {
  const it = parseSchedule(schedule, timeZone, new Date(earliestMs));
  let mostRecent: number | undefined;
  let missed = 0;
  for (;;) {
    const t = it.next().getTime();
    if (t > nowMs) return { mostRecent, next: t, missed };
    mostRecent = t;
    missed++;
    if (missed > 100) {
      // too many missed start times: jump to just before now, as the real controller gives up counting
      const jump = parseSchedule(schedule, timeZone, new Date(nowMs));
      const prev = jump.prev().getTime();
      return {
        mostRecent: prev > earliestMs ? prev : mostRecent,
        next: parseSchedule(schedule, timeZone, new Date(nowMs)).next().getTime(),
        missed,
      };
    }
  }
}

function jobFinished(job: KObject): "Complete" | "Failed" | undefined {
  if (findCondition(job, "Complete")?.status === "True") return "Complete";
  if (findCondition(job, "Failed")?.status === "True") return "Failed";
  return undefined;
}

export function cronJobController(ctx: ControllerContext): Controller {
  const { store, index, events } = ctx;

  function deleteJob(cj: KObject, job: KObject, reason: string): void {
    try {
      store.delete("batch/jobs", job.metadata.namespace, job.metadata.name!, {
        propagationPolicy: "Background",
        actor: actor(COMPONENT).actor,
      });
      events.record(cj, "Normal", reason, `Deleted job ${job.metadata.name}`, COMPONENT);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }

  const queue = ctx.loop.queue("cronjob", (key) => {
    const { namespace, name } = splitNsName(key);
    const cj = store.get("batch/cronjobs", namespace, name);
    if (!cj || isDeleting(cj)) return;
    const now = ctx.now();
    const jobs: KObject[] = [];
    for (const ref of index.dependents(cj.metadata.uid!)) {
      if (ref.key !== "batch/jobs") continue;
      const j = store.get("batch/jobs", ref.namespace, ref.name);
      if (j && controllerRef(j)?.uid === cj.metadata.uid) jobs.push(j);
    }
    const active = jobs.filter((j) => !jobFinished(j) && !isDeleting(j));
    let lastSuccessful = parseTime(cj.status?.lastSuccessfulTime);
    for (const j of jobs) {
      if (jobFinished(j) === "Complete") {
        const t = parseTime(j.status?.completionTime);
        if (t !== undefined && (lastSuccessful === undefined || t > lastSuccessful)) lastSuccessful = t;
      }
    }

    let lastSchedule = parseTime(cj.status?.lastScheduleTime);
    let nextRun: number | undefined;
    let invalid: string | undefined;
    if (!cj.spec?.suspend) {
      try {
        const earliest = lastSchedule ?? creationMs(cj);
        const { mostRecent, next } = scheduleTimes(cj.spec.schedule, cj.spec.timeZone, earliest, now);
        nextRun = next;
        const deadline: number | undefined = cj.spec.startingDeadlineSeconds;
        const tooLate = mostRecent !== undefined && deadline !== undefined && mostRecent + deadline * 1000 < now;
        if (mostRecent !== undefined && tooLate) {
          events.record(
            cj,
            "Warning",
            "MissSchedule",
            `Missed scheduled time to start a job: ${timestamp(mostRecent)}`,
            COMPONENT,
          );
        } else if (mostRecent !== undefined) {
          const policy = cj.spec.concurrencyPolicy ?? "Allow";
          if (policy === "Forbid" && active.length > 0) {
            events.record(
              cj,
              "Normal",
              "JobAlreadyActive",
              "Not starting job because prior execution is running and concurrency policy is Forbid",
              COMPONENT,
            );
          } else {
            if (policy === "Replace") for (const j of active) deleteJob(cj, j, "SuccessfulDelete");
            // getJobName: the schedule time in minutes since the epoch keeps the name unique and idempotent
            const jobName = `${name}-${Math.floor(mostRecent / 60000)}`;
            const tpl = cj.spec.jobTemplate ?? {};
            try {
              const job = store.create(
                "batch/jobs",
                {
                  apiVersion: "batch/v1",
                  kind: "Job",
                  metadata: {
                    name: jobName,
                    namespace,
                    labels: { ...(tpl.metadata?.labels ?? {}) },
                    annotations: { ...(tpl.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP]: timestamp(mostRecent) },
                    ownerReferences: [ownerRefTo(cj, "batch/v1", "CronJob")],
                  },
                  spec: clone(tpl.spec ?? {}),
                },
                actor(COMPONENT),
              );
              active.push(job);
              events.record(cj, "Normal", "SuccessfulCreate", `Created job ${jobName}`, COMPONENT);
            } catch (err) {
              if (!(err instanceof ApiError && err.code === 409)) {
                events.record(
                  cj,
                  "Warning",
                  "FailedCreate",
                  `Error creating job: ${err instanceof Error ? err.message : String(err)}`,
                  COMPONENT,
                );
                throw err;
              }
            }
          }
          lastSchedule = mostRecent;
        }
      } catch (err) {
        if (err instanceof ApiError) throw err;
        invalid = err instanceof Error ? err.message : String(err);
        events.record(
          cj,
          "Warning",
          "UnparseableSchedule",
          `unparseable schedule: ${JSON.stringify(cj.spec?.schedule)} : ${invalid}`,
          COMPONENT,
        );
      }
    }

    // history limits: oldest finished Jobs beyond the limits go
    const finishedJobs = (kind: "Complete" | "Failed") =>
      jobs
        .filter((j) => jobFinished(j) === kind && !isDeleting(j))
        .sort(
          (a, b) =>
            (parseTime(a.status?.startTime) ?? creationMs(a)) - (parseTime(b.status?.startTime) ?? creationMs(b)),
        );
    const okJobs = finishedJobs("Complete");
    const failedJobs = finishedJobs("Failed");
    const okLimit: number = cj.spec?.successfulJobsHistoryLimit ?? 3;
    const failLimit: number = cj.spec?.failedJobsHistoryLimit ?? 1;
    for (const j of okJobs.slice(0, Math.max(0, okJobs.length - okLimit))) deleteJob(cj, j, "SawCompletedJob");
    for (const j of failedJobs.slice(0, Math.max(0, failedJobs.length - failLimit)))
      deleteJob(cj, j, "SawCompletedJob");

    store.mutate(
      "batch/cronjobs",
      namespace,
      name,
      (o) => {
        const status: Record<string, unknown> = {};
        const refs = active
          .filter((j) => store.get("batch/jobs", j.metadata.namespace, j.metadata.name!))
          .map((j) => ({
            kind: "Job",
            namespace: j.metadata.namespace,
            name: j.metadata.name,
            uid: j.metadata.uid,
            apiVersion: "batch/v1",
            resourceVersion: j.metadata.resourceVersion,
          }));
        if (refs.length) status.active = refs;
        if (lastSchedule !== undefined) status.lastScheduleTime = timestamp(lastSchedule);
        if (lastSuccessful !== undefined) status.lastSuccessfulTime = timestamp(lastSuccessful);
        o.status = status;
      },
      { subresource: "status", ...actor(COMPONENT) },
    );

    if (nextRun !== undefined && !invalid) return { requeueAfterMs: Math.max(0, nextRun - now) + 100, settling: false };
  });

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "batch/cronjobs") {
        if (ev.type !== "DELETED") queue.add(objKey(ev.object));
      } else if (ev.key === "batch/jobs") {
        const ref = controllerRef(ev.object);
        if (ref?.kind !== "CronJob") return;
        // only finishing, starting and deleting matter to the CronJob
        if (ev.type === "MODIFIED" && jobFinished(ev.object) === jobFinished(ev.old!)) return;
        queue.add(`${ev.object.metadata.namespace}/${ref.name}`);
      }
    },
  };
}
