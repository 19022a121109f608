// Sustained pod writes against an API server while several all-namespace pod watches are open, and
// a check that every watch saw every write. Raw HTTPS (keep-alive) keeps the driver's own cost low:
// watch lines are scanned as bytes for the write's label, never JSON-parsed.
import { createWriteStream, statSync } from "node:fs";
import https from "node:https";
import { pipeline } from "node:stream/promises";

/** The label each write sets; its value ("w<seq>") identifies the write in the watch streams. */
export const WRITE_LABEL = "bench.meshlift.io/write";

export interface ApiEndpoint {
  url: string;
  token: string;
  caPem: string;
}

export interface PodName {
  namespace: string;
  name: string;
}

function request(
  agent: https.Agent,
  api: ApiEndpoint,
  method: string,
  path: string,
  body?: string,
  contentType?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(path, api.url),
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${api.token}`,
          accept: "application/json",
          ...(body !== undefined
            ? { "content-type": contentType ?? "application/json", "content-length": Buffer.byteLength(body) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The list resourceVersion of all pods: where the watches start, so they get no initial ADDED flood. */
export async function podListResourceVersion(api: ApiEndpoint): Promise<string> {
  const agent = new https.Agent({ ca: api.caPem });
  try {
    const res = await request(agent, api, "GET", "/api/v1/pods?limit=1");
    if (res.status !== 200)
      throw new Error(`GET /api/v1/pods?limit=1 answered ${res.status}: ${res.body.slice(0, 300)}`);
    return (JSON.parse(res.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  } finally {
    agent.destroy();
  }
}

/**
 * The server's side of `kubectl get pods -A`: every page of `limit` pods read as raw bytes (no JSON
 * decoding), following `continue` tokens as kubectl does. Separates server time from client time.
 */
export async function readPodListPages(
  api: ApiEndpoint,
  limit: number,
): Promise<{ ms: number; pages: number; bytes: number }> {
  const agent = new https.Agent({ ca: api.caPem, keepAlive: true });
  const started = performance.now();
  let pages = 0;
  let bytes = 0;
  let cont: string | undefined;
  try {
    do {
      const res = await request(
        agent,
        api,
        "GET",
        `/api/v1/pods?limit=${limit}${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`,
      );
      if (res.status !== 200)
        throw new Error(`GET /api/v1/pods page ${pages + 1} answered ${res.status}: ${res.body.slice(0, 300)}`);
      pages++;
      bytes += Buffer.byteLength(res.body);
      // the continue token sits in the list metadata, before the items: no need to parse 7 MB for it
      cont = /"continue":"([^"]+)"/.exec(res.body.slice(0, 2000))?.[1];
    } while (cont);
    return { ms: Math.round(performance.now() - started), pages, bytes };
  } finally {
    agent.destroy();
  }
}

/** Every pod as one PodList (no `limit`), streamed to `file` as the server sent it. */
export async function savePodList(api: ApiEndpoint, file: string): Promise<{ ms: number; bytes: number }> {
  const agent = new https.Agent({ ca: api.caPem });
  const started = performance.now();
  try {
    const res = await new Promise<import("node:http").IncomingMessage>((resolve, reject) =>
      https
        .get(
          new URL("/api/v1/pods", api.url),
          { agent, headers: { authorization: `Bearer ${api.token}`, accept: "application/json" } },
          resolve,
        )
        .on("error", reject),
    );
    if (res.statusCode !== 200) {
      res.resume();
      throw new Error(`GET /api/v1/pods answered ${res.statusCode}`);
    }
    await pipeline(res, createWriteStream(file));
    return { ms: Math.round(performance.now() - started), bytes: statSync(file).size };
  } finally {
    agent.destroy();
  }
}

/** What one watch stream received. */
export interface PodWatchTally {
  events: number;
  bookmarks: number;
  errors: number;
  /** seen[seq] = 1 once an event carried the write label value w<seq> */
  seen: Uint8Array;
  /** the stream ended (by the server) before close() */
  endedEarly: boolean;
}

export interface PodWatch {
  tally: PodWatchTally;
  close(): void;
}

const NEWLINE = 0x0a;
const LABEL_NEEDLE = Buffer.from(`"${WRITE_LABEL}":"w`);
const TYPE_BOOKMARK = Buffer.from(`{"type":"BOOKMARK"`);
const TYPE_ERROR = Buffer.from(`{"type":"ERROR"`);

/** Opens one all-namespace pod watch from `resourceVersion` and tallies its events as they arrive. */
export function openPodWatch(api: ApiEndpoint, resourceVersion: string, maxWrites: number): Promise<PodWatch> {
  const tally: PodWatchTally = {
    events: 0,
    bookmarks: 0,
    errors: 0,
    seen: new Uint8Array(maxWrites),
    endedEarly: false,
  };
  const agent = new https.Agent({ ca: api.caPem });
  let closing = false;
  const countLine = (line: Buffer) => {
    if (line.length === 0) return;
    if (line.subarray(0, TYPE_BOOKMARK.length).equals(TYPE_BOOKMARK)) return void tally.bookmarks++;
    if (line.subarray(0, TYPE_ERROR.length).equals(TYPE_ERROR)) return void tally.errors++;
    tally.events++;
    const at = line.indexOf(LABEL_NEEDLE);
    if (at < 0) return;
    let seq = 0;
    for (let i = at + LABEL_NEEDLE.length; i < line.length && line[i] >= 0x30 && line[i] <= 0x39; i++)
      seq = seq * 10 + (line[i] - 0x30);
    if (seq < maxWrites) tally.seen[seq] = 1;
  };
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(
        `/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`,
        api.url,
      ),
      { method: "GET", agent, headers: { authorization: `Bearer ${api.token}`, accept: "application/json" } },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`pod watch answered ${res.statusCode}`));
          res.resume();
          return;
        }
        let pending: Buffer = Buffer.alloc(0);
        res.on("data", (chunk: Buffer) => {
          let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
          let nl: number;
          while ((nl = buf.indexOf(NEWLINE)) >= 0) {
            countLine(buf.subarray(0, nl));
            buf = buf.subarray(nl + 1);
          }
          // copy the partial line so the chunk it came from can be freed
          pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
        });
        res.on("end", () => {
          if (!closing) tally.endedEarly = true;
        });
        res.on("error", () => {
          if (!closing) tally.endedEarly = true;
        });
        resolve({
          tally,
          close() {
            closing = true;
            req.destroy();
            agent.destroy();
          },
        });
      },
    );
    req.on("error", (err) => {
      if (!closing) reject(err);
    });
    req.end();
  });
}

export interface WriteLoadResult {
  /** writes answered 200 */
  completed: number;
  /** writes answered otherwise (status → count) or failed on the connection */
  failedByStatus: Record<string, number>;
  elapsedMs: number;
  writesPerSecond: number;
  /** per-write latency percentiles, ms */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** highest seq handed out + 1 (writes with seq < this were attempted) */
  attempted: number;
  /** seq of each write that was answered 200 */
  succeededSeqs: Uint8Array;
}

/**
 * Closed-loop load: `concurrency` label merge patches in flight at all times for `durationMs`, each on
 * the next pod round-robin (so no two in-flight writes hit the same pod), over keep-alive connections.
 */
export async function drivePodLabelPatches(
  api: ApiEndpoint,
  pods: readonly PodName[],
  options: { concurrency: number; durationMs: number; maxWrites: number },
): Promise<WriteLoadResult> {
  const agent = new https.Agent({ ca: api.caPem, keepAlive: true, maxSockets: options.concurrency });
  const succeededSeqs = new Uint8Array(options.maxWrites);
  const failedByStatus: Record<string, number> = {};
  const latencies: number[] = [];
  let next = 0;
  let completed = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;

  const worker = async () => {
    while (performance.now() < deadline && next < options.maxWrites) {
      const seq = next++;
      const pod = pods[seq % pods.length];
      const patch = JSON.stringify({ metadata: { labels: { [WRITE_LABEL]: `w${seq}` } } });
      const path = `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}`;
      const t = performance.now();
      try {
        const res = await request(agent, api, "PATCH", path, patch, "application/merge-patch+json");
        latencies.push(performance.now() - t);
        if (res.status === 200) {
          completed++;
          succeededSeqs[seq] = 1;
        } else failedByStatus[String(res.status)] = (failedByStatus[String(res.status)] ?? 0) + 1;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "network";
        failedByStatus[code] = (failedByStatus[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? NaN) * 10) /
    10;
  return {
    completed,
    failedByStatus,
    elapsedMs: Math.round(elapsedMs),
    writesPerSecond: Math.round(completed / (elapsedMs / 1000)),
    latencyMs: { p50: at(50), p95: at(95), p99: at(99), max: Math.round((latencies.at(-1) ?? NaN) * 10) / 10 },
    attempted: next,
    succeededSeqs,
  };
}

/** Successful writes a watch has not (yet) seen. */
export function missedWrites(watch: PodWatchTally, succeeded: Uint8Array, attempted: number): number {
  let missed = 0;
  for (let seq = 0; seq < attempted; seq++) if (succeeded[seq] && !watch.seen[seq]) missed++;
  return missed;
}

/** Waits until every watch has seen every successful write, or the timeout passes; returns the wait in ms. */
export async function awaitDelivery(
  watches: readonly PodWatchTally[],
  succeeded: Uint8Array,
  attempted: number,
  timeoutMs: number,
): Promise<{ waitedMs: number; complete: boolean }> {
  const started = performance.now();
  for (;;) {
    const complete = watches.every((w) => missedWrites(w, succeeded, attempted) === 0);
    const waitedMs = Math.round(performance.now() - started);
    if (complete || waitedMs > timeoutMs) return { waitedMs, complete };
    await new Promise((r) => setTimeout(r, 100));
  }
}
