// Watch streams: newline-delimited JSON events over a chunked 200 response, with the resourceVersion
// semantics of a real server (unset/0 → synthetic ADDED for current state; N → strictly after N;
// too old → one ERROR event with 410 Expired), selector-aware DELETED, bookmarks and WatchList.
import type { IncomingMessage, ServerResponse } from "node:http";
import { cachedJson, cachedJsonBytes } from "./http.js";
import type { Store } from "./store.js";
import { matchFilter, type Filter } from "./selectors.js";
import { ApiError, type KObject, type ResourceType, type StoreEvent } from "./types.js";

export interface WatchRequest {
  store: Store;
  type: ResourceType;
  key: string;
  namespace?: string;
  /** a watch on a single object (…/pods/name with watch=true, or fieldSelector metadata.name) is a filter */
  filter?: Filter;
  resourceVersion?: string;
  sendInitialEvents: boolean;
  allowWatchBookmarks: boolean;
  timeoutSeconds?: number;
  /** turns a stored object into what this client asked for (e.g. a Table, or another apiVersion) */
  render: (obj: KObject) => unknown;
  /** close the stream after this many ms (fault injection: watch cuts) */
  cutAfterMs?: number;
  bookmarkIntervalMs?: number;
  /** the server's set of live streams, so faults can cut them */
  live?: Set<WatchHandle>;
}

const DEFAULT_TIMEOUT_S = 1800;

/** A watch stream reports a failure as one ERROR event carrying a Status, then ends. */
function errorEvent(err: ApiError): string {
  return JSON.stringify({ type: "ERROR", object: err.toStatus() }) + "\n";
}

function bookmark(type: ResourceType, rv: number, initialEventsEnd = false): string {
  const apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
  const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
  if (initialEventsEnd) metadata.annotations = { "k8s.io/initial-events-end": "true" };
  return JSON.stringify({ type: "BOOKMARK", object: { kind: type.kind, apiVersion, metadata } }) + "\n";
}

export type WatchHandle = { resource: string; cut: () => void };

/**
 * The last watch event encoded: every watcher of a key is told of a change in the same synchronous fan-out,
 * so one slot is enough for all of them to write the same bytes (encoded once per event, not once per watcher).
 */
let lastEncoded: { object: KObject; type: string; bytes: Buffer } | undefined;

const EVENT_END = Buffer.from("}\n");

function encodedEvent(type: string, object: KObject): Buffer {
  if (lastEncoded?.object !== object || lastEncoded.type !== type)
    lastEncoded = {
      object,
      type,
      bytes: Buffer.concat([Buffer.from(`{"type":"${type}","object":`), cachedJsonBytes(object), EVENT_END]),
    };
  return lastEncoded.bytes;
}

export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  w: WatchRequest,
  done: (code: number) => void,
): void {
  const { store, type, key } = w;
  const inScope = (o: KObject) => !w.namespace || o.metadata.namespace === w.namespace;
  const matches = (o: KObject | undefined) => !!o && inScope(o) && (!w.filter || matchFilter(w.filter, o));
  // stored objects are immutable: one encoding serves every watcher (encodedEvent, cachedJson); the initial
  // replay of a whole list stays text, written as one chunk
  const encode = (t: string, o: KObject, live: boolean): string | Buffer => {
    const r = w.render(o);
    if (r !== o) return `{"type":"${t}","object":${JSON.stringify(r)}}\n`;
    return live ? encodedEvent(t, o) : `{"type":"${t}","object":${cachedJson(o)}}\n`;
  };

  res.writeHead(200, {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    "Transfer-Encoding": "chunked",
    "X-Content-Type-Options": "nosniff",
  });
  res.flushHeaders();

  let closed = false;
  // live events are queued and written together once per turn of the event loop: one chunk, one TLS write for
  // a burst (a corked series of writes costs several times more on a TLS socket). Bookmarks go through the same
  // queue, so none can overtake an event it claims to follow.
  let queued: (string | Buffer)[] = [];
  const flush = () => {
    const chunks = queued;
    queued = [];
    if (closed || chunks.length === 0) return;
    res.write(
      chunks.length === 1 ? chunks[0] : Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c))),
    );
  };
  const send = (chunk: string | Buffer) => {
    if (queued.push(chunk) === 1) setImmediate(flush);
  };
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: () => void = () => {};
  const handle = { resource: type.plural, cut: () => res.destroy() };
  w.live?.add(handle);
  const finish = () => {
    if (closed) return;
    if (!res.destroyed) flush();
    closed = true;
    w.live?.delete(handle);
    unsubscribe();
    timers.forEach(clearTimeout);
    timers.forEach(clearInterval);
    res.end();
    done(200);
  };
  req.on("close", finish);
  res.on("error", finish);

  const rvParam = w.resourceVersion ?? "";
  let lastSentRv = store.resourceVersion;
  let out = "";
  const replayCurrent = rvParam === "" || rvParam === "0" || w.sendInitialEvents;
  if (replayCurrent) {
    for (const o of store.list(key, type.namespaced ? w.namespace : undefined))
      if (matches(o)) out += encode("ADDED", o, false);
    if (w.sendInitialEvents) out += bookmark(type, store.resourceVersion, true);
  } else {
    const from = Number(rvParam);
    if (!Number.isInteger(from) || from < 0) {
      res.write(errorEvent(new ApiError(400, "BadRequest", `invalid resource version: ${rvParam}`)));
      finish();
      return;
    }
    const events = store.eventsSince(from);
    if (events === "expired") {
      res.write(
        errorEvent(new ApiError(410, "Expired", `too old resource version: ${from} (${store.oldestResumableVersion})`)),
      );
      finish();
      return;
    }
    for (const ev of events) if (ev.key === key) out += eventLine(ev, false);
  }
  if (out) res.write(out);

  function eventLine(ev: StoreEvent, live: boolean): string | Buffer {
    const line = (t: string, o: KObject) => encode(t, o, live);
    lastSentRv = ev.rv;
    const now = matches(ev.object);
    const before = ev.type === "ADDED" ? false : matches(ev.old ?? ev.object);
    if (ev.type === "DELETED") return before || now ? line("DELETED", ev.object) : "";
    if (ev.type === "ADDED") return now ? line("ADDED", ev.object) : "";
    if (now && before) return line("MODIFIED", ev.object);
    if (now && !before) return line("ADDED", ev.object);
    // the object left the selector: watchers see it deleted
    if (!now && before) return line("DELETED", ev.object);
    return "";
  }

  // subscribing right after the snapshot, in the same tick, is atomic: no event can fall between them
  unsubscribe = store.subscribe((ev) => {
    if (closed || ev.key !== key) return;
    const s = eventLine(ev, true);
    if (s) send(s);
  });

  const timeoutMs = (w.timeoutSeconds && w.timeoutSeconds > 0 ? w.timeoutSeconds : DEFAULT_TIMEOUT_S) * 1000;
  timers.push(setTimeout(finish, timeoutMs));
  if (w.cutAfterMs !== undefined) timers.push(setTimeout(() => res.destroy(), w.cutAfterMs));
  if (w.allowWatchBookmarks) {
    const every = w.bookmarkIntervalMs ?? Math.min(60_000, Math.max(1000, timeoutMs / 2));
    timers.push(
      setInterval(() => {
        if (!closed) send(bookmark(type, Math.max(lastSentRv, store.resourceVersion)));
      }, every),
    );
  }
}
