// Kubernetes Events (core/v1) written the way client-go's record.EventRecorder writes them, so
// `kubectl describe meshupgrade X` and `kubectl get events` show what the operator did:
// involvedObject names the object, source/reportingComponent name the operator, and a repeat of the
// same (object, type, reason, message) within the aggregation window PATCHes count and
// lastTimestamp of the first Event instead of creating another (client-go's EventCorrelator).
// Events are best effort, as in client-go: a failed write is logged and never fails a reconcile.
import { hostname } from "node:os";
import { isKubeError } from "../kube/errors.js";
import { mergePatch } from "../kube/patch.js";
import type { RestClient } from "../kube/rest.js";
import { apiVersionOf, collectionPath, type KubeObject, type ResourceRef } from "../kube/resources.js";
import { systemClock, type Clock } from "./clock.js";
import { errorFields, operatorLogger, type Logger } from "./log.js";

export const EVENTS: ResourceRef = { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true };

export type EventType = "Normal" | "Warning";

/** The object an Event is about (core/v1 ObjectReference). */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  name: string;
  /** absent for cluster-scoped objects such as MeshUpgrade */
  namespace?: string;
  /** `kubectl describe` selects Events by the object's uid: pass it */
  uid?: string;
  resourceVersion?: string;
}

/** The reference to `object` as Events carry it. */
export function subjectOf(
  object: KubeObject,
  resource?: Pick<ResourceRef, "group" | "version" | "kind">,
): EventSubject {
  const apiVersion = object.apiVersion ?? (resource ? apiVersionOf(resource) : undefined);
  const kind = object.kind ?? resource?.kind;
  if (!apiVersion || !kind || !object.metadata.name)
    throw new Error(
      "an Event subject needs apiVersion, kind and metadata.name — pass the object's ResourceRef when the server omitted apiVersion/kind",
    );
  return {
    apiVersion,
    kind,
    name: object.metadata.name,
    namespace: object.metadata.namespace || undefined,
    uid: object.metadata.uid,
    resourceVersion: object.metadata.resourceVersion,
  };
}

/** core/v1 Event as meshlift writes it. */
export interface CoreEvent {
  apiVersion: "v1";
  kind: "Event";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  involvedObject: EventSubject;
  reason: string;
  message: string;
  type: EventType;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string; host?: string };
  /** the Go field ReportingController; must be a domain-prefixed path ("meshlift.io/operator") */
  reportingComponent: string;
  reportingInstance: string;
}

/** Events about cluster-scoped objects live in "default": client-go's rule, where kubectl describe finds them. */
export function eventNamespace(subject: EventSubject): string {
  return subject.namespace || "default";
}

/** RFC 3339 with second precision (metav1.Time). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** client-go's `<object>.<UnixNano in hex>`, within the 253-character name limit. */
export function eventName(subject: EventSubject, nowMs: number, sequence: number): string {
  const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(sequence % 1_000_000);
  const suffix = nanos.toString(16);
  return `${subject.name.slice(0, 252 - suffix.length)}.${suffix}`;
}

/** What makes two Events "the same" (client-go's getEventKey). */
export function correlationKey(subject: EventSubject, type: EventType, reason: string, message: string): string {
  return JSON.stringify([
    subject.apiVersion,
    subject.kind,
    subject.namespace ?? "",
    subject.name,
    subject.uid ?? "",
    type,
    reason,
    message,
  ]);
}

/** Where Events go: the API server in production, a Map in unit tests. */
export interface EventSink {
  create(event: CoreEvent): Promise<unknown>;
  /** merge patch; NotFound (404) when the Event expired or was deleted */
  patch(namespace: string, name: string, patch: Partial<CoreEvent>): Promise<unknown>;
}

export function restEventSink(rest: RestClient): EventSink {
  return {
    create: (event) =>
      rest.requestJson({
        method: "POST",
        path: collectionPath(EVENTS, event.metadata.namespace),
        body: event,
        target: { verb: "create", resource: "events", namespace: event.metadata.namespace, name: event.metadata.name },
      }),
    patch: (namespace, name, patch) => mergePatch(rest, EVENTS, { name, namespace }, patch),
  };
}

export interface EventRecorderOptions {
  /** source.component (default "meshlift-operator") */
  component?: string;
  /** reportingComponent (default "meshlift.io/operator") */
  reportingController?: string;
  /** source.host and reportingInstance (default the host name) */
  host?: string;
  /** a repeat within this long of the last occurrence updates the first Event (default 10 min) */
  aggregationWindowMs?: number;
  /** how many distinct Events are remembered for aggregation (default 4096, client-go's LRU size) */
  maxTracked?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Tracked {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
  lastSeenMs: number;
}

export class EventRecorder {
  private readonly sink: EventSink;
  private readonly component: string;
  private readonly reportingController: string;
  private readonly host: string;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly tracked = new Map<string, Tracked>();
  /** writes of one correlation key run in order, so a quick repeat patches instead of racing a create */
  private readonly chains = new Map<string, Promise<void>>();
  private sequence = 0;

  constructor(target: RestClient | EventSink, options: EventRecorderOptions = {}) {
    this.sink = "requestJson" in target ? restEventSink(target) : target;
    this.component = options.component ?? "meshlift-operator";
    this.reportingController = options.reportingController ?? "meshlift.io/operator";
    this.host = options.host ?? hostname();
    this.windowMs = options.aggregationWindowMs ?? 10 * 60_000;
    this.maxTracked = options.maxTracked ?? 4096;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? operatorLogger()).child({ component: "events" });
  }

  /** Records an Event; resolves when written (or when writing failed and was logged). Never rejects. */
  record(subject: EventSubject, type: EventType, reason: string, message: string): Promise<void> {
    const key = correlationKey(subject, type, reason, message);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.write(key, subject, type, reason, message));
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  /** Waits for every Event write started so far. */
  async flush(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  private async write(
    key: string,
    subject: EventSubject,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const nowMs = this.clock.now();
    const now = rfc3339(nowMs);
    try {
      const seen = this.tracked.get(key);
      if (seen && nowMs - seen.lastSeenMs <= this.windowMs) {
        const count = seen.count + 1;
        try {
          await this.sink.patch(seen.namespace, seen.name, { count, lastTimestamp: now });
          this.remember(key, { ...seen, count, lastSeenMs: nowMs });
          return;
        } catch (err) {
          // the first Event was deleted (TTL, kubectl delete): write a new one carrying the count
          if (!(isKubeError(err) && err.code === 404)) throw err;
          await this.create(key, subject, type, reason, message, nowMs, count, seen.firstTimestamp);
          return;
        }
      }
      await this.create(key, subject, type, reason, message, nowMs, 1, now);
    } catch (err) {
      const object = `${subject.kind}/${subject.namespace ? `${subject.namespace}/` : ""}${subject.name}`;
      this.logger.warn({ ...errorFields(err), object, eventReason: reason }, "could not write Event");
    }
  }

  private async create(
    key: string,
    subject: EventSubject,
    type: EventType,
    reason: string,
    message: string,
    nowMs: number,
    count: number,
    firstTimestamp: string,
  ): Promise<void> {
    const namespace = eventNamespace(subject);
    for (let attempt = 1; ; attempt++) {
      const event: CoreEvent = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: eventName(subject, nowMs, this.sequence++), namespace },
        involvedObject: { ...subject, namespace: subject.namespace || undefined },
        reason,
        message,
        type,
        count,
        firstTimestamp,
        lastTimestamp: rfc3339(nowMs),
        source: { component: this.component, host: this.host },
        reportingComponent: this.reportingController,
        reportingInstance: this.host,
      };
      try {
        await this.sink.create(event);
        this.remember(key, { namespace, name: event.metadata.name, count, firstTimestamp, lastSeenMs: nowMs });
        return;
      } catch (err) {
        // a name taken by another replica's Event of the same nanosecond: a new sequence number fixes it
        if (attempt >= 3 || !(isKubeError(err) && err.code === 409)) throw err;
      }
    }
  }

  private remember(key: string, entry: Tracked): void {
    this.tracked.delete(key);
    this.tracked.set(key, entry);
    while (this.tracked.size > this.maxTracked) this.tracked.delete(this.tracked.keys().next().value!);
  }
}
