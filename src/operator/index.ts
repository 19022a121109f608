// The controller runtime `meshlift operator` runs the upgrade engine in.
export { runController, defaultIdentity, stopOnSignals } from "./runtime.js";
export type { ControllerOptions, ReconcileContext, Reconciler, RunningController, WatchedResource } from "./runtime.js";
export { LeaderElector, LeadershipEnded, leaderElectorFor, decideLease, LEASES } from "./leader.js";
export type { LeaderCallbacks, LeaderElectionOptions, Lease, LeaseSpec, LeaseStore } from "./leader.js";
export { WorkQueue } from "./queue.js";
export type { ReconcileOutcome, ReconcileResult, WorkQueueHooks, WorkQueueOptions, QueueBackoff } from "./queue.js";
export { EventRecorder, EVENTS, subjectOf } from "./events.js";
export type { EventRecorderOptions, EventSubject, EventType } from "./events.js";
export { OperatorMetrics } from "./metrics.js";
export { HealthChecks, startOperatorHttp } from "./http.js";
export type { CheckResult, OperatorHttpServer } from "./http.js";
export { operatorLogger, silentLogger, type Logger } from "./log.js";
export { systemClock, type Clock } from "./clock.js";
