// The sandbox's Kubernetes API server: routing of REST paths to verbs, authentication and authorization,
// discovery/OpenAPI, CRUD, patch (JSON, merge, strategic, server-side apply), watch, subresources
// (status, scale, eviction, namespace finalize, service proxy, pod log), dryRun, Table output and faults.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { Authenticator, unauthorized, type UserInfo } from "./auth.js";
import {
  cachedJson,
  cachedJsonBytes,
  goJsonKind,
  goJsonSyntaxError,
  parseBody,
  readBody,
  sendJson,
  sendStatus,
  sendText,
  successStatus,
} from "./http.js";
import { RequestLog } from "./requestlog.js";
import { compileFilter, matchFilter, type Filter } from "./selectors.js";
import type { Store } from "./store.js";
import {
  ApiError,
  badRequest,
  notFound,
  qualifiedResource,
  resourceKey,
  type KObject,
  type ResourceType,
} from "./types.js";
import { serveWatch, type WatchHandle } from "./watch.js";

/** What the server needs from the type registry and discovery/OpenAPI builders (registry.ts, discovery.ts, openapi.ts, table.ts). */
export interface ApiSurface {
  byResource(group: string, version: string, plural: string): ResourceType | undefined;
  isServedGroupVersion(group: string, version: string): boolean;
  version(): unknown;
  discovery(
    path: "/api" | "/apis" | string,
    accept: string | undefined,
  ): { status: number; contentType: string; body: unknown } | undefined;
  openapi(path: string, accept: string | undefined): { status: number; contentType: string; body: unknown } | undefined;
  table?(
    type: ResourceType,
    items: KObject[],
    opts: { includeObject: "None" | "Metadata" | "Object"; listMeta?: unknown },
  ): unknown;
  unknownFields?(type: ResourceType, obj: KObject): string[];
}

export interface PatchEngine {
  json(target: KObject, ops: unknown): KObject;
  merge(target: KObject, patch: unknown): KObject;
  strategic(target: KObject, patch: unknown, kind: string): KObject;
  apply(
    live: KObject | undefined,
    applied: KObject,
    opts: {
      manager: string;
      force: boolean;
      apiVersion: string;
      now: string;
      subresource?: string;
      kind: string;
      hasStatusSubresource: boolean;
    },
  ): KObject;
}

export interface ApiFault {
  code?: number;
  reason?: string;
  message?: string;
  delayMs: number;
  retryAfterSeconds?: number;
}

export type ServiceProxyHandler = (
  namespace: string,
  service: string,
  port: string,
  path: string,
  query: URLSearchParams,
) => { status: number; contentType: string; body: string } | undefined;

export interface ApiServerOptions {
  store: Store;
  surface: ApiSurface;
  patch: PatchEngine;
  auth: Authenticator;
  requestLog?: RequestLog;
  apiFault?: (req: { verb: string; group: string; resource: string; namespace?: string }) => ApiFault | undefined;
  watchCutMs?: (resource: string) => number | undefined;
  serviceProxy?: ServiceProxyHandler;
  /** eviction check (PodDisruptionBudgets) — returns a 429 ApiError to refuse */
  evictionCheck?: (pod: KObject) => ApiError | undefined;
  podLog?: (pod: KObject, container: string | undefined) => string;
  /** extra unauthenticated or sandbox-specific routes (metrics, control API); return true when handled */
  extraRoutes?: (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    user: UserInfo | undefined,
  ) => boolean | Promise<boolean>;
  bookmarkIntervalMs?: number;
  /** serve HTTPS with this certificate (kubectl sends bearer tokens only over TLS) */
  tls?: { cert: string; key: string };
}

interface Target {
  group: string;
  version: string;
  type: ResourceType;
  key: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  subpath?: string;
}

/** a list longer than this is streamed in chunks of this many items (about 4 MB of pods each) */
const LIST_CHUNK_ITEMS = 500;
const CONTINUE_TTL_MS = 5 * 60_000;

/** Created by kube-apiserver itself at start (its "start-system-namespaces-controller" post-start hook). */
const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

/**
 * JSON, merge and strategic merge patch bodies decoded with the apiserver's errors (handlers/patch.go): under
 * fieldValidation Warn (the default) or Strict, JSON and merge patches are first decoded strictly.
 */
function decodePatchBody(text: string, contentType: string, fieldValidation: string): unknown {
  const strict = fieldValidation !== "Ignore";
  const fail = (message: string) => new ApiError(400, "BadRequest", message);
  const syntax = goJsonSyntaxError(text);
  if (contentType === "application/strategic-merge-patch+json") {
    if (syntax) throw fail(syntax);
    const v = JSON.parse(text);
    if (goJsonKind(v) !== "object")
      throw fail(`json: cannot unmarshal ${goJsonKind(v)} into Go value of type map[string]interface {}`);
    return v;
  }
  if (syntax)
    throw fail(
      strict
        ? `error decoding patch: ${syntax}`
        : contentType === "application/merge-patch+json"
          ? "Invalid JSON Patch"
          : syntax,
    );
  const v = JSON.parse(text);
  if (contentType === "application/json-patch+json" && !Array.isArray(v) && v !== null)
    throw fail(
      strict
        ? `error decoding patch: json: cannot unmarshal ${goJsonKind(v)} into Go value of type []handlers.jsonPatchOp`
        : `json: cannot unmarshal ${goJsonKind(v)} into Go value of type jsonpatch.Patch`,
    );
  if (contentType === "application/merge-patch+json" && strict && goJsonKind(v) !== "object" && v !== null)
    throw fail(
      `error decoding patch: json: cannot unmarshal ${goJsonKind(v)} into Go value of type map[string]interface {}`,
    );
  return v;
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class ApiServer {
  readonly requestLog: RequestLog;
  private readonly server: Server;
  private readonly snapshots = new Map<string, { items: KObject[]; rv: number; at: number }>();
  private snapshotSeq = 0;
  private readonly liveWatches = new Set<WatchHandle>();

  constructor(private readonly o: ApiServerOptions) {
    this.requestLog = o.requestLog ?? new RequestLog();
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent)
          sendStatus(
            res,
            err instanceof ApiError
              ? err
              : new ApiError(500, "InternalError", `Internal error occurred: ${(err as Error).message}`),
          );
        else res.destroy();
        if (!(err instanceof ApiError)) console.error("sandbox: request failed:", err);
      });
    };
    this.server = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key }, handler) : createHttpServer(handler);
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
  }

  get httpServer(): Server {
    return this.server;
  }

  listen(port: number, host = "127.0.0.1"): Promise<number> {
    for (const name of SYSTEM_NAMESPACES)
      if (!this.o.store.get("/namespaces", undefined, name))
        this.o.store.create(
          "/namespaces",
          { apiVersion: "v1", kind: "Namespace", metadata: { name } },
          { actor: "system:apiserver", fieldManager: "kube-apiserver" },
        );
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        const addr = this.server.address();
        resolve(typeof addr === "object" && addr ? addr.port : port);
      });
    });
  }

  /** Cuts every open watch stream (of one resource, or all): the fault "watch cut". */
  cutWatches(resource?: string): number {
    let n = 0;
    for (const w of [...this.liveWatches]) {
      if (resource && w.resource !== resource) continue;
      w.cut();
      n++;
    }
    return n;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://sandbox");
    const user = this.o.auth.authenticate(req.headers.authorization);
    const log = (verb: string, t: Partial<Target>, code: number) =>
      this.requestLog.add({
        time: new Date().toISOString(),
        user: user?.username ?? "system:anonymous",
        userAgent: String(req.headers["user-agent"] ?? ""),
        method: req.method ?? "GET",
        verb,
        path: url.pathname,
        group: t.group ?? "",
        resource: t.type?.plural ?? "",
        subresource: t.subresource,
        namespace: t.namespace,
        name: t.name,
        code,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
    const p = url.pathname.replace(/\/+$/, "") || "/";

    // unauthenticated endpoints, as on a real server
    if (p === "/healthz" || p === "/readyz" || p === "/livez") return sendText(res, 200, "ok");
    if (p === "/version") return sendJson(res, 200, this.o.surface.version());
    if (this.o.extraRoutes && (await this.o.extraRoutes(req, res, url, user))) return;

    if (!user) {
      log("", {}, 401);
      return sendStatus(res, unauthorized());
    }

    if (p === "/api" || p === "/apis" || p.startsWith("/openapi")) {
      const doc = p.startsWith("/openapi")
        ? this.o.surface.openapi(p + url.search, req.headers.accept)
        : this.o.surface.discovery(p, req.headers.accept);
      log("get", {}, doc ? doc.status : 404);
      if (!doc)
        return sendStatus(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
      return this.sendDocument(res, doc);
    }

    let target: Target | undefined;
    let verb = "";
    try {
      const parsed = this.route(p);
      if (parsed === "discovery") {
        const doc = this.o.surface.discovery(p, req.headers.accept);
        if (!doc) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        log("get", {}, doc.status);
        return this.sendDocument(res, doc);
      }
      target = parsed.target;
      verb = this.verbOf(req.method ?? "GET", target, url, parsed.legacyWatch);
      const authResource = target.subresource ? `${target.type.plural}/${target.subresource}` : target.type.plural;
      this.o.auth.authorize(user, {
        verb: target.subresource === "eviction" ? "create" : verb,
        group: target.group,
        resource: authResource,
        namespace: target.namespace,
        name: target.name,
      });
      const fault = this.o.apiFault?.({
        verb,
        group: target.group,
        resource: target.type.plural,
        namespace: target.namespace,
      });
      if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.code)
        throw new ApiError(
          fault.code,
          fault.reason ?? "InternalError",
          fault.message ?? "injected fault",
          fault.retryAfterSeconds !== undefined ? { retryAfterSeconds: fault.retryAfterSeconds } : undefined,
        );
      const code = await this.dispatch(req, res, url, target, verb, user);
      log(verb, target, code);
    } catch (err) {
      const e =
        err instanceof ApiError
          ? err
          : new ApiError(500, "InternalError", `Internal error occurred: ${(err as Error).message}`);
      if (!(err instanceof ApiError)) console.error("sandbox: internal error:", err);
      log(verb, target ?? {}, e.code);
      if (!res.headersSent) sendStatus(res, e);
      else res.end();
    }
  }

  /** Discovery and OpenAPI documents: JSON, a protobuf Buffer, or a 406 Status body. */
  private sendDocument(res: ServerResponse, doc: { status: number; contentType: string; body: unknown }): void {
    if (Buffer.isBuffer(doc.body)) {
      res.writeHead(doc.status, { "Content-Type": doc.contentType, "Content-Length": doc.body.length, Vary: "Accept" });
      res.end(doc.body);
      return;
    }
    const text = JSON.stringify(doc.body);
    res.writeHead(doc.status, {
      "Content-Type": doc.contentType,
      "Content-Length": Buffer.byteLength(text),
      Vary: "Accept",
      "Cache-Control": "no-cache, private",
    });
    res.end(text);
  }

  /** Maps a REST path to its resource, namespace, name and subresource. */
  private route(p: string): "discovery" | { target: Target; legacyWatch: boolean } {
    const segs = p.split("/").filter(Boolean).map(decodeURIComponent);
    let group = "";
    let version: string;
    let rest: string[];
    if (segs[0] === "api") {
      if (segs.length < 2) return "discovery";
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === "apis") {
      if (segs.length < 3) return "discovery";
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
    } else throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    if (!this.o.surface.isServedGroupVersion(group, version))
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    if (rest.length === 0) return "discovery";
    let legacyWatch = false;
    if (rest[0] === "watch") {
      legacyWatch = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    let subresource: string | undefined;
    let subpath: string | undefined;
    // /api/v1/namespaces/<ns>/status|finalize are subresources of the namespace itself
    const namespaced =
      rest[0] === "namespaces" &&
      rest.length >= 3 &&
      !(group === "" && rest.length === 3 && (rest[2] === "status" || rest[2] === "finalize"));
    if (namespaced) {
      namespace = rest[1];
      plural = rest[2];
      name = rest[3];
      subresource = rest[4];
      subpath = rest.length > 5 ? rest.slice(5).join("/") : undefined;
    } else {
      plural = rest[0];
      name = rest[1];
      subresource = rest[2];
      subpath = rest.length > 3 ? rest.slice(3).join("/") : undefined;
    }
    const type = this.o.surface.byResource(group, version, plural);
    if (!type) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    if (namespace !== undefined && !type.namespaced)
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    if (
      subresource &&
      !type.subresources.includes(subresource as never) &&
      !(plural === "namespaces" && subresource === "finalize")
    )
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    return {
      target: { group, version, type, key: resourceKey(group, plural), namespace, name, subresource, subpath },
      legacyWatch,
    };
  }

  private verbOf(method: string, t: Target, url: URL, legacyWatch: boolean): string {
    const watch = legacyWatch || url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
    switch (method) {
      case "GET":
      case "HEAD":
        if (t.subresource === "proxy" || t.subresource === "log") return "get";
        if (watch) return "watch";
        return t.name ? "get" : "list";
      case "POST":
        if (t.subresource === "eviction") return "create";
        if (t.name && !t.subresource)
          throw new ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
          );
        return "create";
      case "PUT":
        if (!t.name)
          throw new ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
          );
        return "update";
      case "PATCH":
        if (!t.name)
          throw new ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
          );
        return "patch";
      case "DELETE":
        return t.name ? "delete" : "deletecollection";
      default:
        throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    }
  }

  private render(t: Target, obj: KObject): KObject {
    // one stored version; a request through another served version sees the same fields under its apiVersion
    if (t.version !== t.type.version) return { ...obj, apiVersion: t.group ? `${t.group}/${t.version}` : t.version };
    return obj;
  }

  private wantsTable(req: IncomingMessage): "None" | "Metadata" | "Object" | undefined {
    const accept = req.headers.accept ?? "";
    if (!/as=Table/.test(accept) || !this.o.surface.table) return undefined;
    return "Metadata";
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    t: Target,
    verb: string,
    user: UserInfo,
  ): Promise<number> {
    const q = url.searchParams;
    const dryRun = q.getAll("dryRun").includes("All");
    const store = this.o.store;
    const actor = user.username;
    const fieldManager = q.get("fieldManager") ?? undefined;

    if (t.subresource === "proxy") return this.serviceProxy(res, t, url);
    if (t.subresource === "log") {
      const pod = this.mustGet(t);
      const text = this.o.podLog?.(pod, q.get("container") ?? undefined) ?? "";
      sendText(res, 200, text);
      return 200;
    }

    switch (verb) {
      case "get": {
        const obj = this.mustGet(t);
        if (t.subresource === "scale") return this.send(res, 200, this.toScale(t, obj));
        const tableMode = this.wantsTable(req);
        if (tableMode && !t.subresource)
          return this.send(
            res,
            200,
            this.o.surface.table!(t.type, [obj], { includeObject: (q.get("includeObject") as never) ?? tableMode }),
          );
        return this.sendObject(res, 200, t, obj);
      }
      case "list":
        return this.list(req, res, t, q);
      case "watch": {
        let filter: Filter | undefined = compileFilter(t.key, q.get("labelSelector"), q.get("fieldSelector"), {
          custom: t.type.custom,
        });
        if (t.name)
          filter = {
            labels: filter.labels,
            fields: [...filter.fields, { field: "metadata.name", op: "=", value: t.name }],
          };
        const tableMode = this.wantsTable(req);
        return new Promise<number>((resolve) =>
          serveWatch(
            req,
            res,
            {
              store,
              type: t.type,
              key: t.key,
              namespace: t.namespace,
              filter,
              resourceVersion: q.get("resourceVersion") ?? undefined,
              sendInitialEvents: q.get("sendInitialEvents") === "true",
              allowWatchBookmarks: q.get("allowWatchBookmarks") === "true",
              timeoutSeconds: q.has("timeoutSeconds") ? Number(q.get("timeoutSeconds")) : undefined,
              render: tableMode
                ? (o) =>
                    this.o.surface.table!(t.type, [o], {
                      includeObject: (q.get("includeObject") as never) ?? tableMode,
                    })
                : (o) => this.render(t, o),
              cutAfterMs: this.o.watchCutMs?.(t.type.plural),
              bookmarkIntervalMs: this.o.bookmarkIntervalMs,
              live: this.liveWatches,
            },
            resolve,
          ),
        );
      }
      case "create": {
        const body = parseBody(await readBody(req), req.headers["content-type"]) as KObject;
        if (t.subresource === "eviction") return this.evict(res, t, body, dryRun, actor);
        if (t.key === "authentication.k8s.io/tokenreviews") return this.send(res, 201, this.tokenReview(body));
        if (t.key === "authentication.k8s.io/selfsubjectreviews")
          return this.send(res, 201, {
            kind: "SelfSubjectReview",
            apiVersion: t.version === "v1" ? "authentication.k8s.io/v1" : `authentication.k8s.io/${t.version}`,
            metadata: {},
            status: { userInfo: { username: user.username, uid: user.uid, groups: user.groups } },
          });
        if (t.group === "authorization.k8s.io") return this.send(res, 201, this.accessReview(t, body, user));
        const obj = this.checkBody(t, body);
        this.strictFields(t, obj, q);
        const created = store.create(t.key, obj, {
          dryRun,
          fieldManager: fieldManager ?? this.managerFromAgent(req),
          actor,
        });
        return this.sendObject(res, 201, t, created);
      }
      case "update": {
        const body = parseBody(await readBody(req), req.headers["content-type"]) as KObject;
        if (t.subresource === "scale") return this.updateScale(res, t, body, dryRun, actor);
        if (t.subresource === "finalize" && t.key === "/namespaces") {
          const cur = this.mustGet(t);
          const next = {
            ...structuredClone(cur),
            spec: { ...(cur.spec ?? {}), finalizers: body?.spec?.finalizers ?? [] },
          };
          return this.sendObject(res, 200, t, store.update(t.key, next, { dryRun, actor, fieldManager }));
        }
        const obj = this.checkBody(t, body);
        this.strictFields(t, obj, q);
        const updated = store.update(t.key, obj, {
          dryRun,
          actor,
          fieldManager: fieldManager ?? this.managerFromAgent(req),
          subresource: t.subresource === "status" ? "status" : undefined,
        });
        return this.sendObject(res, 200, t, updated);
      }
      case "patch":
        return this.patch(req, res, t, q, dryRun, actor);
      case "delete": {
        const text = await readBody(req);
        const body = (text.trim() ? parseBody(text, req.headers["content-type"]) : {}) as any;
        const grace = q.has("gracePeriodSeconds") ? Number(q.get("gracePeriodSeconds")) : body?.gracePeriodSeconds;
        const policy =
          q.get("propagationPolicy") ??
          body?.propagationPolicy ??
          (body?.orphanDependents === true ? "Orphan" : undefined);
        const deleted = store.delete(t.key, t.namespace, t.name!, {
          gracePeriodSeconds: grace,
          propagationPolicy: policy,
          preconditions: body?.preconditions,
          dryRun: dryRun || (Array.isArray(body?.dryRun) && body.dryRun.includes("All")),
          actor,
        });
        // 200 with the object: still present (finalizers, graceful deletion) or as it was when removed
        return this.sendObject(res, 200, t, deleted);
      }
      case "deletecollection": {
        const text = await readBody(req);
        const body = (text.trim() ? parseBody(text, req.headers["content-type"]) : {}) as any;
        const items = store.list(t.key, t.namespace, {
          labelSelector: q.get("labelSelector") ?? undefined,
          fieldSelector: q.get("fieldSelector") ?? undefined,
        });
        const deleted: KObject[] = [];
        for (const o of items) {
          try {
            deleted.push(
              store.delete(t.key, o.metadata.namespace, o.metadata.name!, {
                propagationPolicy: q.get("propagationPolicy") ?? body?.propagationPolicy,
                dryRun,
                actor,
              }),
            );
          } catch (e) {
            if (!(e instanceof ApiError && e.code === 404)) throw e;
          }
        }
        return this.send(res, 200, {
          kind: t.type.listKind,
          apiVersion: t.group ? `${t.group}/${t.version}` : t.version,
          metadata: { resourceVersion: String(store.resourceVersion) },
          items: deleted.map((o) => this.render(t, o)),
        });
      }
    }
    throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  }

  private managerFromAgent(req: IncomingMessage): string {
    // as the apiserver does: the user agent's program name is the default field manager
    const ua = String(req.headers["user-agent"] ?? "unknown");
    return ua.split("/")[0].slice(0, 128) || "unknown";
  }

  private send(res: ServerResponse, code: number, body: unknown): number {
    sendJson(res, code, body);
    return code;
  }

  private sendObject(res: ServerResponse, code: number, t: Target, obj: KObject): number {
    const r = this.render(t, obj);
    // a write's response carries the bytes its watch events were made of (encoded once)
    sendJson(res, code, r === obj ? cachedJsonBytes(obj) : JSON.stringify(r));
    return code;
  }

  private mustGet(t: Target): KObject {
    const obj = this.o.store.get(t.key, t.namespace, t.name!);
    if (!obj) throw notFound(t.type, t.name!);
    return obj;
  }

  /** Body checks a real server makes before storage: kind/apiVersion, name and namespace agree with the URL. */
  private checkBody(t: Target, body: KObject): KObject {
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw badRequest("the object provided is unrecognized (must be a JSON object)");
    const gv = t.group ? `${t.group}/${t.version}` : t.version;
    if (body.kind && body.kind !== t.type.kind && !(t.subresource === "status"))
      throw badRequest(
        `${body.kind} in version "${body.apiVersion ?? gv}" cannot be handled as a ${t.type.kind}: no kind "${body.kind}" is registered for version "${gv}"`,
      );
    if (
      body.apiVersion &&
      body.apiVersion !== gv &&
      !t.type.versions.includes(String(body.apiVersion).split("/").pop()!)
    )
      throw badRequest(
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${gv})`,
      );
    const obj: KObject = { ...body, metadata: { ...(body.metadata ?? {}) } };
    if (t.type.namespaced) {
      if (obj.metadata.namespace && t.namespace && obj.metadata.namespace !== t.namespace)
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      obj.metadata.namespace = t.namespace ?? obj.metadata.namespace;
      if (!obj.metadata.namespace)
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    if (t.name && obj.metadata.name && obj.metadata.name !== t.name)
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${t.name})`);
    if (t.name) obj.metadata.name = t.name;
    return obj;
  }

  /** fieldValidation=Strict (kubectl's default --validate=strict) refuses unknown fields. */
  private strictFields(t: Target, obj: KObject, q: URLSearchParams): void {
    const mode = q.get("fieldValidation");
    if (mode !== "Strict" || !this.o.surface.unknownFields) return;
    const unknown = this.o.surface.unknownFields(t.type, obj);
    if (unknown.length)
      throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(", ")}`);
  }

  private async list(req: IncomingMessage, res: ServerResponse, t: Target, q: URLSearchParams): Promise<number> {
    const store = this.o.store;
    const limit = Number(q.get("limit") ?? 0);
    const cont = q.get("continue");
    let items: KObject[];
    let rv: number;
    let offset = 0;
    let snapId: string | undefined;
    if (cont) {
      // continue tokens name a point-in-time snapshot (objects are immutable): every page shows one RV
      let parsed: { id: string; offset: number } | undefined;
      try {
        parsed = JSON.parse(Buffer.from(cont, "base64").toString("utf8"));
      } catch {
        throw badRequest("continue key is not valid: illegal base64 data");
      }
      const snap = parsed && this.snapshots.get(parsed.id);
      if (!snap || Date.now() - snap.at > CONTINUE_TTL_MS)
        throw new ApiError(
          410,
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        );
      items = snap.items;
      rv = snap.rv;
      offset = parsed!.offset;
      snapId = parsed!.id;
    } else {
      const filter = compileFilter(t.key, q.get("labelSelector"), q.get("fieldSelector"), { custom: t.type.custom });
      const all = store.list(t.key, t.namespace);
      items = filter.labels.length || filter.fields.length ? all.filter((o) => matchFilter(filter, o)) : all;
      rv = store.resourceVersion;
    }
    let page = items;
    let next: string | undefined;
    let remaining: number | undefined;
    if (limit > 0 && offset + limit < items.length) {
      page = items.slice(offset, offset + limit);
      if (!snapId) {
        snapId = String(++this.snapshotSeq);
        this.snapshots.set(snapId, { items, rv, at: Date.now() });
        this.gcSnapshots();
      }
      next = Buffer.from(JSON.stringify({ id: snapId, offset: offset + limit, rv })).toString("base64");
      remaining = items.length - offset - limit;
    } else if (offset > 0 || limit > 0) page = items.slice(offset, limit > 0 ? offset + limit : undefined);
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (next) {
      metadata.continue = next;
      metadata.remainingItemCount = remaining;
    }
    const tableMode = this.wantsTable(req);
    if (tableMode)
      return this.send(
        res,
        200,
        this.o.surface.table!(t.type, page, {
          includeObject: (q.get("includeObject") as never) ?? tableMode,
          listMeta: metadata,
        }),
      );
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    // items are written from their cached JSON
    const head = `{"kind":${JSON.stringify(t.type.listKind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(metadata)},"items":[`;
    const json = (o: KObject) => (t.version === t.type.version ? cachedJson(o) : JSON.stringify(this.render(t, o)));
    if (page.length <= LIST_CHUNK_ITEMS) {
      const body = head + page.map(json).join(",") + "]}";
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Cache-Control": "no-cache, private",
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(body);
      return 200;
    }
    // a large list (no limit: 20,000 pods are 160 MB) is streamed in chunks as the client reads them,
    // never held as one string; the items are the ones taken above, so the list stays consistent
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
    res.write(head);
    for (let i = 0; i < page.length && !res.destroyed; i += LIST_CHUNK_ITEMS) {
      const chunk =
        (i ? "," : "") +
        page
          .slice(i, i + LIST_CHUNK_ITEMS)
          .map(json)
          .join(",");
      if (!res.write(chunk) && !res.destroyed)
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.on("drain", done);
          res.on("close", done);
        });
    }
    res.end("]}");
    return 200;
  }

  private gcSnapshots(): void {
    const now = Date.now();
    for (const [id, s] of this.snapshots) if (now - s.at > CONTINUE_TTL_MS) this.snapshots.delete(id);
    while (this.snapshots.size > 64) this.snapshots.delete(this.snapshots.keys().next().value!);
  }

  private async patch(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    q: URLSearchParams,
    dryRun: boolean,
    actor: string,
  ): Promise<number> {
    const store = this.o.store;
    const ct = (req.headers["content-type"] ?? "").split(";")[0].trim();
    const patchTypes = [
      "application/json-patch+json",
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
      "application/apply-patch+yaml",
    ];
    if (!patchTypes.includes(ct) || (ct === "application/strategic-merge-patch+json" && t.type.custom))
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: ${t.type.custom ? "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" : patchTypes.join(", ")}`,
      );
    const text = await readBody(req);
    const body =
      ct === "application/apply-patch+yaml"
        ? parseBody(text, ct)
        : decodePatchBody(text, ct, q.get("fieldValidation") || "Warn");
    const subresource = t.subresource === "status" ? "status" : undefined;
    const now = rfc3339(new Date());
    const fm = q.get("fieldManager") ?? undefined;

    if (ct === "application/apply-patch+yaml") {
      if (!fm)
        throw new ApiError(
          422,
          "Invalid",
          `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`,
          {
            kind: "PatchOptions",
            group: "meta.k8s.io",
            causes: [
              {
                reason: "FieldValueRequired",
                message: "Required value: is required for apply patch",
                field: "fieldManager",
              },
            ],
          },
        );
      if (!body || typeof body !== "object")
        throw badRequest("error decoding YAML: the body of an apply patch must be an object");
      if (t.subresource === "scale")
        throw new ApiError(
          415,
          "UnsupportedMediaType",
          "apply patches are not supported on the scale subresource in the sandbox",
        );
      const applied = this.checkBody(t, body as KObject);
      this.strictFields(t, applied, q);
      const live = store.get(t.key, t.namespace, t.name!);
      const merged = this.o.patch.apply(live, applied, {
        manager: fm,
        force: q.get("force") === "true",
        apiVersion: t.group ? `${t.group}/${t.version}` : t.version,
        now,
        subresource,
        kind: t.type.kind,
        hasStatusSubresource: t.type.subresources.includes("status"),
      });
      if (!live) {
        const created = store.create(t.key, merged, { dryRun, fieldManager: fm, actor, applied: true });
        return this.sendObject(res, 201, t, created);
      }
      const updated = store.update(
        t.key,
        { ...merged, metadata: { ...merged.metadata, resourceVersion: live.metadata.resourceVersion } },
        { dryRun, fieldManager: fm, actor, subresource, applied: true },
      );
      return this.sendObject(res, 200, t, updated);
    }

    const cur = this.mustGet(t);
    // the patchers never change their target: the stored object itself is patched (merge patch shares what it leaves alone)
    const base = t.subresource === "scale" ? this.toScale(t, cur) : cur;
    let patched: KObject;
    if (ct === "application/json-patch+json") patched = this.o.patch.json(base, body);
    else if (ct === "application/merge-patch+json") patched = this.o.patch.merge(base, body);
    else patched = this.o.patch.strategic(base, body, t.subresource === "scale" ? "Scale" : t.type.kind);
    if (t.subresource === "scale") return this.updateScale(res, t, patched, dryRun, actor);
    // a patch that sets metadata.resourceVersion is a precondition
    const rv = patched.metadata?.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion)
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${qualifiedResource(t.type)} "${t.name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name: t.name, group: t.group || undefined, kind: t.type.plural },
      );
    patched.metadata = { ...patched.metadata, resourceVersion: cur.metadata.resourceVersion };
    this.strictFields(t, patched, q);
    const updated = store.updateShared(t.key, patched, {
      dryRun,
      fieldManager: fm ?? this.managerFromAgent(req),
      actor,
      subresource,
    });
    return this.sendObject(res, 200, t, updated);
  }

  private toScale(t: Target, obj: KObject): KObject {
    const specPath = t.type.scale?.specReplicasPath ?? ".spec.replicas";
    const statusPath = t.type.scale?.statusReplicasPath ?? ".status.replicas";
    const get = (o: any, path: string) =>
      path
        .replace(/^\./, "")
        .split(".")
        .reduce((a, k) => a?.[k], o);
    const sel = t.type.scale?.labelSelectorPath ? get(obj, t.type.scale.labelSelectorPath) : obj.spec?.selector;
    const selector =
      typeof sel === "string"
        ? sel
        : sel
          ? [
              ...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
              ...(sel.matchExpressions ?? []).map(
                (e: any) => `${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(",")})`,
              ),
            ].join(",")
          : undefined;
    return {
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: get(obj, specPath) ?? 0 },
      status: { replicas: get(obj, statusPath) ?? 0, ...(selector ? { selector } : {}) },
    };
  }

  private updateScale(res: ServerResponse, t: Target, scale: KObject, dryRun: boolean, actor: string): number {
    const replicas = scale?.spec?.replicas;
    if (typeof replicas !== "number" || replicas < 0 || !Number.isInteger(replicas))
      throw new ApiError(
        422,
        "Invalid",
        `Scale.autoscaling "${t.name}" is invalid: spec.replicas: Invalid value: ${replicas}: must be greater than or equal to 0`,
        {
          name: t.name,
          group: "autoscaling",
          kind: "Scale",
          causes: [
            {
              reason: "FieldValueInvalid",
              message: `Invalid value: ${replicas}: must be greater than or equal to 0`,
              field: "spec.replicas",
            },
          ],
        },
      );
    const cur = this.mustGet(t);
    if (scale.metadata?.resourceVersion && scale.metadata.resourceVersion !== cur.metadata.resourceVersion)
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${qualifiedResource(t.type)} "${t.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    const specPath = (t.type.scale?.specReplicasPath ?? ".spec.replicas").replace(/^\./, "").split(".");
    const next = structuredClone(cur);
    let o: any = next;
    for (const k of specPath.slice(0, -1)) o = o[k] ??= {};
    o[specPath[specPath.length - 1]] = replicas;
    const updated = this.o.store.update(t.key, next, { dryRun, actor, fieldManager: "kubectl" });
    return this.send(res, 200, this.toScale(t, updated));
  }

  private evict(res: ServerResponse, t: Target, body: KObject, dryRun: boolean, actor: string): number {
    const pod = this.mustGet(t);
    if (!pod.metadata.deletionTimestamp) {
      const refusal = this.o.evictionCheck?.(pod);
      if (refusal) throw refusal;
    }
    const grace = body?.deleteOptions?.gracePeriodSeconds;
    this.o.store.delete("/pods", t.namespace, t.name!, {
      gracePeriodSeconds: grace,
      dryRun: dryRun || body?.deleteOptions?.dryRun?.includes?.("All"),
      preconditions: body?.deleteOptions?.preconditions,
      actor,
    });
    return this.send(res, 201, successStatus());
  }

  private serviceProxy(res: ServerResponse, t: Target, url: URL): number {
    if (t.key !== "/services" || !t.name)
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const [svc, port = ""] = t.name.split(":");
    if (!this.o.store.get("/services", t.namespace, svc)) throw notFound(t.type, svc);
    const out = this.o.serviceProxy?.(t.namespace!, svc, port, "/" + (t.subpath ?? ""), url.searchParams);
    if (!out) {
      sendJson(
        res,
        503,
        new ApiError(503, "ServiceUnavailable", `no endpoints available for service "${svc}:${port}"`).toStatus(),
      );
      return 503;
    }
    res.writeHead(out.status, { "Content-Type": out.contentType, "Content-Length": Buffer.byteLength(out.body) });
    res.end(out.body);
    return out.status;
  }

  private tokenReview(body: KObject): KObject {
    const token = body?.spec?.token;
    const u = typeof token === "string" ? this.o.auth.userForToken(token) : undefined;
    return {
      kind: "TokenReview",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { creationTimestamp: null as never },
      spec: body?.spec ?? {},
      status: u
        ? {
            authenticated: true,
            user: { username: u.username, uid: u.uid, groups: u.groups },
            audiences: body?.spec?.audiences ?? [],
          }
        : { user: {}, error: "invalid bearer token" },
    };
  }

  private accessReview(t: Target, body: KObject, caller: UserInfo): KObject {
    const spec = body?.spec ?? {};
    const kind = t.type.kind;
    if (kind === "SelfSubjectRulesReview") {
      const rules = this.o.auth
        .rulesFor(caller.username)
        .filter((r) => !r.namespaces || r.namespaces.includes(spec.namespace));
      return {
        kind,
        apiVersion: "authorization.k8s.io/v1",
        metadata: {},
        spec,
        status: {
          resourceRules: rules.map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources })),
          nonResourceRules: [
            {
              verbs: ["get"],
              nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/version", "/openapi", "/openapi/*"],
            },
          ],
          incomplete: false,
        },
      };
    }
    let subject: UserInfo | undefined = caller;
    if (kind === "SubjectAccessReview" || kind === "LocalSubjectAccessReview") {
      const e = this.o.auth.entries.find((x) => x.name === spec.user);
      subject = e ? { username: e.name, uid: `uid-${e.name}`, groups: e.groups ?? [] } : undefined;
    }
    const ra = spec.resourceAttributes;
    let allowed = false;
    if (subject && ra) {
      allowed = this.o.auth.allowed(subject, {
        verb: ra.verb ?? "get",
        group: ra.group ?? "",
        resource: ra.subresource ? `${ra.resource}/${ra.subresource}` : (ra.resource ?? ""),
        namespace: ra.namespace || (kind === "LocalSubjectAccessReview" ? t.namespace : undefined),
        name: ra.name,
      });
    } else if (subject && spec.nonResourceAttributes) allowed = true;
    return {
      kind,
      apiVersion: "authorization.k8s.io/v1",
      metadata: {},
      spec,
      status: allowed
        ? { allowed: true, reason: `allowed by sandbox role of "${subject!.username}"` }
        : { allowed: false, ...(subject ? {} : { reason: "unknown user" }) },
    };
  }
}
