// The Event recorder against an in-memory sink with a manual clock: the Event's shape (as client-go
// writes it), aggregation of repeats within the window, a new Event after it, recovery when the
// first Event is gone, and failures that are logged, never thrown.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { KubeError } from "../kube/errors.js";
import { ManualClock } from "./clock.js";
import { EventRecorder, eventName, subjectOf, type CoreEvent, type EventSink, type EventSubject } from "./events.js";
import { operatorLogger, silentLogger } from "./log.js";

const T0 = Date.parse("2026-03-01T12:00:00.250Z");

const upgrade: EventSubject = {
  apiVersion: "meshlift.io/v1alpha1",
  kind: "MeshUpgrade",
  name: "to-1-28",
  uid: "3f2b9c1e-0000-4000-8000-000000000001",
};

class MemorySink implements EventSink {
  readonly events = new Map<string, CoreEvent>();
  creates = 0;
  patches = 0;
  failWith: Error | undefined;

  async create(event: CoreEvent): Promise<unknown> {
    if (this.failWith) throw this.failWith;
    const key = `${event.metadata.namespace}/${event.metadata.name}`;
    if (this.events.has(key)) throw new KubeError({ code: 409, reason: "AlreadyExists", message: "exists" });
    this.creates++;
    this.events.set(key, structuredClone(event));
    return event;
  }

  async patch(namespace: string, name: string, patch: Partial<CoreEvent>): Promise<unknown> {
    if (this.failWith) throw this.failWith;
    const event = this.events.get(`${namespace}/${name}`);
    if (!event) throw new KubeError({ code: 404, reason: "NotFound", message: `events "${name}" not found` });
    this.patches++;
    Object.assign(event, patch);
    return event;
  }
}

function recorder(sink: EventSink, clock: ManualClock, windowMs?: number) {
  return new EventRecorder(sink, {
    clock,
    host: "operator-7d9f",
    logger: silentLogger(),
    aggregationWindowMs: windowMs,
  });
}

describe("EventRecorder", () => {
  test("an Event about a cluster-scoped object goes to namespace default, shaped as client-go writes it", async () => {
    const sink = new MemorySink();
    await recorder(sink, new ManualClock(T0)).record(upgrade, "Normal", "StageChanged", "ControlPlaneUpgrade started");
    const [event] = sink.events.values();
    assert.match(event.metadata.name, /^to-1-28\.[0-9a-f]+$/);
    assert.deepEqual(event, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: event.metadata.name, namespace: "default" },
      involvedObject: { ...upgrade, namespace: undefined },
      reason: "StageChanged",
      message: "ControlPlaneUpgrade started",
      type: "Normal",
      count: 1,
      firstTimestamp: "2026-03-01T12:00:00Z",
      lastTimestamp: "2026-03-01T12:00:00Z",
      source: { component: "meshlift-operator", host: "operator-7d9f" },
      reportingComponent: "meshlift.io/operator",
      reportingInstance: "operator-7d9f",
    });
  });

  test("an Event about a namespaced object stays in its namespace", async () => {
    const sink = new MemorySink();
    const deployment = subjectOf(
      { metadata: { name: "reviews-v1", namespace: "bookinfo", uid: "u-1", resourceVersion: "77" } },
      { group: "apps", version: "v1", kind: "Deployment" },
    );
    await recorder(sink, new ManualClock(T0)).record(deployment, "Warning", "RestartBlocked", "PDB allows 0");
    const [event] = sink.events.values();
    assert.equal(event.metadata.namespace, "bookinfo");
    assert.deepEqual(event.involvedObject, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "reviews-v1",
      namespace: "bookinfo",
      uid: "u-1",
      resourceVersion: "77",
    });
  });

  test("a repeat within the window bumps count and lastTimestamp of the first Event", async () => {
    const sink = new MemorySink();
    const clock = new ManualClock(T0);
    const r = recorder(sink, clock);
    await r.record(upgrade, "Warning", "Straggler", "pod bookinfo/ratings-abc still on 1-27");
    await clock.advance(9 * 60_000);
    await r.record(upgrade, "Warning", "Straggler", "pod bookinfo/ratings-abc still on 1-27");
    await clock.advance(9 * 60_000);
    await r.record(upgrade, "Warning", "Straggler", "pod bookinfo/ratings-abc still on 1-27");
    assert.equal(sink.creates, 1);
    assert.equal(sink.patches, 2);
    const [event] = sink.events.values();
    assert.equal(event.count, 3);
    assert.equal(event.firstTimestamp, "2026-03-01T12:00:00Z");
    assert.equal(event.lastTimestamp, "2026-03-01T12:18:00Z");
  });

  test("a repeat after more than the window since the last one starts a new Event", async () => {
    const sink = new MemorySink();
    const clock = new ManualClock(T0);
    const r = recorder(sink, clock);
    await r.record(upgrade, "Normal", "Waiting", "waiting for istiod 1-28");
    await clock.advance(10 * 60_000 + 1);
    await r.record(upgrade, "Normal", "Waiting", "waiting for istiod 1-28");
    assert.equal(sink.creates, 2);
    assert.deepEqual(
      [...sink.events.values()].map((e) => e.count),
      [1, 1],
    );
  });

  test("a different message, reason, type or object is a different Event", async () => {
    const sink = new MemorySink();
    const r = recorder(sink, new ManualClock(T0));
    await r.record(upgrade, "Normal", "Wave", "wave 1 done");
    await r.record(upgrade, "Normal", "Wave", "wave 2 done");
    await r.record(upgrade, "Normal", "WaveDone", "wave 2 done");
    await r.record(upgrade, "Warning", "WaveDone", "wave 2 done");
    await r.record({ ...upgrade, name: "other", uid: "u-2" }, "Warning", "WaveDone", "wave 2 done");
    assert.equal(sink.creates, 5);
    assert.equal(sink.patches, 0);
  });

  test("repeats recorded without awaiting still aggregate (writes of one Event are serialised)", async () => {
    const sink = new MemorySink();
    const r = recorder(sink, new ManualClock(T0));
    const writes = [1, 2, 3].map(() => r.record(upgrade, "Normal", "Resumed", "resumed by user"));
    await Promise.all(writes);
    assert.equal(sink.creates, 1);
    assert.equal([...sink.events.values()][0].count, 3);
  });

  test("when the first Event was deleted, the repeat creates a new one carrying the count", async () => {
    const sink = new MemorySink();
    const clock = new ManualClock(T0);
    const r = recorder(sink, clock);
    await r.record(upgrade, "Normal", "Paused", "paused by user");
    sink.events.clear();
    await clock.advance(1_000);
    await r.record(upgrade, "Normal", "Paused", "paused by user");
    const [event] = sink.events.values();
    assert.equal(event.count, 2);
    assert.equal(event.firstTimestamp, "2026-03-01T12:00:00Z");
  });

  test("a failed write is logged with the object and reason, and record() still resolves", async () => {
    const sink = new MemorySink();
    sink.failWith = new KubeError({
      code: 403,
      reason: "Forbidden",
      message: 'events is forbidden: User "system:serviceaccount:meshlift:operator" cannot create resource "events"',
    });
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const r = new EventRecorder(sink, {
      clock: new ManualClock(T0),
      logger: operatorLogger({ level: "warn", destination }),
    });
    await r.record(upgrade, "Warning", "Failed", "could not apply manifests");
    assert.equal(lines.length, 1);
    const logged = JSON.parse(lines[0]);
    assert.equal(logged.msg, "could not write Event");
    assert.equal(logged.code, 403);
    assert.equal(logged.object, "MeshUpgrade/to-1-28");
    assert.equal(logged.reason, "Forbidden");
    assert.equal(logged.eventReason, "Failed");
  });

  test("event names are the object name and the time in hex nanoseconds, within 253 characters", () => {
    assert.equal(eventName(upgrade, 1_000, 7), `to-1-28.${(1_000_000_007).toString(16)}`);
    const long = eventName({ ...upgrade, name: "x".repeat(253) }, T0, 0);
    assert.ok(long.length <= 253, `${long.length}`);
  });

  test("subjectOf refuses an object without kind unless its resource is given", () => {
    assert.throws(() => subjectOf({ metadata: { name: "x" } }), /apiVersion, kind and metadata.name/);
  });
});
