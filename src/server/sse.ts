// Server-sent events to every open console page. Each event is serialised once and the same text
// is written to every stream; a stream that cannot keep up (its socket buffer past a limit) is
// closed, and the browser's EventSource reconnects and starts again from a `hello` (a fresh view).
import type { ServerResponse } from "node:http";
import type { LiveEvent } from "./api-types.js";
import type { Session } from "./session.js";

/** What a slow client may have buffered before it is dropped (it reconnects and resyncs). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/** One SSE message: `event:` the type, `id:` the view version when there is one, `data:` the JSON. */
export function formatEvent(event: LiveEvent, id?: number): string {
  return `event: ${event.type}\n${id !== undefined ? `id: ${id}\n` : ""}data: ${JSON.stringify(event)}\n\n`;
}

interface Stream {
  res: ServerResponse;
  session: Session;
  /** the user may list MeshUpgrades: only then does the stream carry them */
  upgrades: boolean;
}

const isUpgradeEvent = (e: LiveEvent) => e.type === "upgrade" || e.type === "upgrades";

export class EventHub {
  private readonly streams = new Set<Stream>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor() {
    // a comment line keeps proxies from closing an idle stream and lets the server notice dead sockets
    this.heartbeat = setInterval(() => this.writeAll(": keep-alive\n\n"), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  /** Opens an event stream on `res` and sends `first` (the hello) before any change. */
  open(res: ServerResponse, session: Session, first: LiveEvent, version: number, may: { upgrades: boolean }): void {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-store",
      Connection: "keep-alive",
      // nginx and similar proxies buffer responses unless told not to
      "X-Accel-Buffering": "no",
    });
    res.write(`retry: 2000\n\n${formatEvent(first, version)}`);
    const stream = { res, session, upgrades: may.upgrades };
    this.streams.add(stream);
    res.on("close", () => this.streams.delete(stream));
  }

  broadcast(events: LiveEvent[], version: number): void {
    if (this.streams.size === 0) return;
    const all = events.map((e) => formatEvent(e, version)).join("");
    const withoutUpgrades = events.some(isUpgradeEvent)
      ? events
          .filter((e) => !isUpgradeEvent(e))
          .map((e) => formatEvent(e, version))
          .join("")
      : all;
    this.writeAll(all, withoutUpgrades);
  }

  private writeAll(text: string, withoutUpgrades = text): void {
    for (const stream of this.streams) {
      const chunk = stream.upgrades ? text : withoutUpgrades;
      if (chunk === "") continue;
      const { res } = stream;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.streams.delete(stream);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  /** Sends a last event to every stream of a session and closes them. */
  endSession(session: Session, event: LiveEvent): void {
    for (const stream of [...this.streams]) {
      if (stream.session.id !== session.id) continue;
      this.streams.delete(stream);
      stream.res.end(formatEvent(event));
    }
  }

  sessions(): Session[] {
    return [...new Set([...this.streams].map((s) => s.session))];
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const stream of this.streams) stream.res.end();
    this.streams.clear();
  }
}
