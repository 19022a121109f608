// One WATCH connection: newline-delimited JSON events, read with backpressure (the next event is
// parsed only after the handler for the previous one resolved), ended by the server's
// timeoutSeconds, by silence, by a 410, by the caller — or by a network error, which is thrown.
//
// client-node's Watch is not used: it cannot be aborted before response headers arrive, drops
// unparseable lines silently (a lost event would desynchronise the cache), sets no client timeout
// (its 30 s signal is overwritten, KUBE-NOTES §2) and makes a new agent per call (#2893).
import { StringDecoder } from "node:string_decoder";
import { KubeError, kubeErrorFromNetwork, kubeErrorFromResponse, type StatusDetails } from "./errors.js";
import type { RestClient } from "./rest.js";
import type { KubeObject } from "./resources.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

export interface WatchRequest {
  /** the collection path, e.g. /api/v1/pods */
  path: string;
  /** start strictly after this version (the list's resourceVersion) */
  resourceVersion: string;
  /** the server ends the stream cleanly after this long; client-node 1.4 has no client timeout */
  timeoutSeconds: number;
  /** abort and report "silent" when neither an event nor a bookmark arrived for this long */
  silenceTimeoutMs: number;
  labelSelector?: string;
  fieldSelector?: string;
  signal?: AbortSignal;
  /** names the resource in error messages */
  resource?: string;
}

/** Why a watch ended without an error; `resourceVersion` is the last one seen (resume from it). */
export type WatchEnd =
  | { reason: "closed"; resourceVersion: string; events: number }
  | { reason: "silent"; resourceVersion: string; events: number }
  | { reason: "expired"; resourceVersion: string; events: number; message: string }
  | { reason: "aborted"; resourceVersion: string; events: number };

interface StatusObject {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: StatusDetails;
}

/**
 * Opens a watch and feeds each event to `onEvent`, awaiting it. Resolves with how the stream
 * ended; throws KubeError for HTTP errors (other than 410), ERROR events other than Expired,
 * malformed lines, and cut connections.
 */
export async function watchOnce<T extends KubeObject = KubeObject>(
  rest: RestClient,
  request: WatchRequest,
  onEvent: (event: WatchEvent<T>) => Promise<void> | void,
): Promise<WatchEnd> {
  let resourceVersion = request.resourceVersion;
  let events = 0;
  const local = new AbortController();
  let silent = false;
  let timer: NodeJS.Timeout | undefined;
  const armSilenceTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      silent = true;
      local.abort(new Error("watch silent"));
    }, request.silenceTimeoutMs);
    timer.unref?.();
  };
  const onCallerAbort = () => local.abort(request.signal?.reason);
  // an already-aborted signal never fires "abort" again: check it first
  if (request.signal?.aborted) return { reason: "aborted", resourceVersion, events };
  request.signal?.addEventListener("abort", onCallerAbort, { once: true });
  const ended = (): WatchEnd | undefined => {
    if (silent) return { reason: "silent", resourceVersion, events };
    if (request.signal?.aborted) return { reason: "aborted", resourceVersion, events };
    return undefined;
  };
  const target = { verb: "watch", resource: request.resource, path: request.path };
  armSilenceTimer();
  try {
    let response;
    try {
      response = await rest.open({
        path: request.path,
        query: {
          watch: true,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: request.timeoutSeconds,
          labelSelector: request.labelSelector,
          fieldSelector: request.fieldSelector,
        },
        timeoutMs: 0, // supervised by the silence timer instead
        signal: local.signal,
        target,
      });
    } catch (err) {
      const end = ended();
      if (end) return end;
      if (err instanceof KubeError && err.code === 410)
        return { reason: "expired", resourceVersion, events, message: err.serverMessage ?? err.message };
      throw err;
    }
    armSilenceTimer();
    const decoder = new StringDecoder("utf8");
    let handlerError: { error: unknown } | undefined;
    let pending = "";
    try {
      for await (const chunk of response) {
        armSilenceTimer();
        pending += decoder.write(chunk as Buffer);
        let newline: number;
        while ((newline = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (!line) continue;
          let parsed: { type?: string; object?: unknown };
          try {
            parsed = JSON.parse(line);
          } catch {
            throw new KubeError({
              code: 0,
              reason: "BadResponse",
              message: `watch ${request.path} sent a line that is not JSON (${line.slice(0, 80)}) — the stream is abandoned and the resource relisted`,
              object: { server: rest.server, ...target },
            });
          }
          if (parsed.type === "ERROR") {
            const status = (parsed.object ?? {}) as StatusObject;
            if (status.code === 410 || status.reason === "Expired" || status.reason === "Gone") {
              response.destroy();
              return {
                reason: "expired",
                resourceVersion,
                events,
                message: status.message ?? "resource version too old",
              };
            }
            throw kubeErrorFromResponse(status.code ?? 500, status, undefined, { server: rest.server, ...target });
          }
          const object = parsed.object as T | undefined;
          if (!object || !isEventType(parsed.type)) continue;
          // handle first, then advance: a crash mid-handler resumes from the previous version;
          // a slow handler is not silence, so the timer waits for it
          clearTimeout(timer);
          try {
            await onEvent({ type: parsed.type, object });
          } catch (err) {
            handlerError = { error: err };
            throw err;
          }
          events++;
          const rv = object.metadata?.resourceVersion;
          if (rv) resourceVersion = rv;
          armSilenceTimer();
        }
      }
    } catch (err) {
      if (handlerError) throw handlerError.error;
      const end = ended();
      if (end) return end;
      if (err instanceof KubeError) throw err;
      throw kubeErrorFromNetwork(err, { server: rest.server, ...target });
    }
    return ended() ?? { reason: "closed", resourceVersion, events };
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener("abort", onCallerAbort);
    if (!local.signal.aborted) local.abort();
  }
}

function isEventType(type: unknown): type is WatchEventType {
  return type === "ADDED" || type === "MODIFIED" || type === "DELETED" || type === "BOOKMARK";
}
