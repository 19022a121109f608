// The console's HTTP server: the JSON API under /api, live updates on /api/events (SSE), and the
// browser app for every other path. Written on node:http (ADR 0008): about fifteen routes, a
// streaming endpoint that needs the raw response, and no framework in the dependencies.
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pino, type Logger } from "pino";
import {
  builtinCatalog,
  formatVersion,
  isInCatalog,
  isValidRevisionName,
  parseVersion,
  revisionName,
  type Catalog,
} from "../catalog/index.js";
import { runChecks } from "../checks/index.js";
import type { Cluster } from "../kube/config.js";
import { clusterForToken } from "../kube/user-cluster.js";
import type { ValidationContext } from "../upgrade/api/index.js";
import {
  canListUpgrades,
  ConsoleError,
  identify,
  kubernetesReason,
  permissionsOf,
  readAccess,
  verifyToken,
} from "./access.js";
import type { LiveEvent, PrecheckResult, RowPage, SessionInfo, UpgradeFormOptions } from "./api-types.js";
import { checkCsrf, checkHost, isLoopback, readJson, sendError, sendJson, SECURITY_HEADERS } from "./http.js";
import { LiveMesh, type LiveMeshOptions } from "./live.js";
import {
  clearedSessionCookie,
  parseCookies,
  sessionCookie,
  sessionCookieName,
  SessionStore,
  type Session,
  type SessionStoreOptions,
} from "./session.js";
import { EventHub } from "./sse.js";
import { StaticFiles, webDir } from "./static.js";
import { namespaceQuery, QueryError, workloadQuery } from "./table-query.js";
import { createUpgrade, previewUpgrade, requestAction, restartWorkloads, selectForRestart } from "./writes.js";

export interface ConsoleServerOptions {
  /** the console's own identity: it fills the shared read cache (never used for a user's write) */
  cluster: Cluster;
  catalog?: Catalog;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0: any free port */
  port?: number;
  /** serve https; the session cookie is then Secure */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** the built app (default: the package's web/dist) */
  staticRoot?: string;
  logger?: Logger;
  now?: () => Date;
  session?: SessionStoreOptions;
  /** how long a user's read access and permissions are reused before Kubernetes is asked again (default 60 s) */
  accessTtlMs?: number;
  live?: Omit<LiveMeshOptions, "cluster" | "catalog" | "logger" | "now">;
}

export interface ConsoleServer {
  url: string;
  port: number;
  live: LiveMesh;
  sessions: SessionStore;
  close(): Promise<void>;
}

interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** set once the request authenticated, for the access log */
  user?: string | null;
}

type Handler = (ctx: RequestContext) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

function route(method: string, template: string, handler: Handler): Route {
  const names: string[] = [];
  const pattern = new RegExp(
    `^${template.replace(/:([a-z]+)/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    })}$`,
  );
  return { method, pattern, names, handler };
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const logger = options.logger ?? pino({ level: "info" });
  const catalog = options.catalog ?? builtinCatalog();
  const now = options.now ?? (() => new Date());
  const secure = options.tls !== undefined;
  const host = options.host ?? "127.0.0.1";
  const loopbackOnly = isLoopback(host);
  const accessTtlMs = options.accessTtlMs ?? 60_000;
  const staticFiles = new StaticFiles(options.staticRoot ?? path.join(webDir(), "dist"));
  const sessions = new SessionStore(options.session);
  const hub = new EventHub();
  const live = new LiveMesh({ ...options.live, cluster: options.cluster, catalog, logger, now });
  const abandon = async () => {
    sessions.close();
    hub.close();
    await live.close();
  };
  try {
    await live.start();
  } catch (err) {
    await abandon();
    throw err;
  }

  live.subscribe((events) => hub.broadcast(events, live.version));
  sessions.onEnd((session, reason) => {
    logger.info({ user: session.user.username, reason }, "session ended");
    hub.endSession(session, { type: "session-ended", reason: `your session ended (${reason}); log in again` });
  });

  // --- auth ------------------------------------------------------------------------------------

  function sessionOf(ctx: RequestContext): Session {
    const id = parseCookies(ctx.req.headers.cookie)[sessionCookieName(secure)];
    const session = sessions.get(id);
    if (!session) {
      throw new ConsoleError(
        401,
        "Unauthorized",
        id ? "your session has ended" : "not logged in",
        "Log in with a Kubernetes bearer token.",
      );
    }
    ctx.user = session.user.username;
    return session;
  }

  function guardWrite(ctx: RequestContext, session: Session | undefined): void {
    const refused = checkCsrf(ctx.req.headers, secure, session?.csrfToken);
    if (refused) throw refused;
  }

  const fresh = (at: number | undefined) => at !== undefined && Date.now() - at < accessTtlMs;

  /** The session may read the mesh: proven with its own token (cached for accessTtlMs). */
  async function requireRead(session: Session): Promise<void> {
    if (!fresh(session.readAccess?.checkedAt)) {
      try {
        session.readAccess = { checkedAt: Date.now(), value: await readAccess(session.cluster) };
      } catch (err) {
        if (err instanceof ConsoleError && err.status === 401) sessions.end(session, "token-rejected");
        throw err;
      }
    }
    const access = session.readAccess!.value;
    if (!access.allowed) {
      throw new ConsoleError(
        403,
        "Forbidden",
        `Kubernetes does not let you read the mesh: ${access.message}`,
        "Ask a cluster admin for a role that may list these kinds cluster-wide (e.g. the view ClusterRole).",
      );
    }
  }

  async function requireUpgradeRead(session: Session): Promise<void> {
    if (!fresh(session.upgradeAccess?.checkedAt)) {
      const probe = await canListUpgrades(session.cluster);
      if (probe.error?.code === 401) {
        sessions.end(session, "token-rejected");
        throw new ConsoleError(401, "Unauthorized", "Kubernetes no longer accepts your token", "Log in again.");
      }
      // 404: the CRD is not installed, which the list itself reports (crdInstalled: false)
      const refusal = probe.ok || probe.error?.code === 404 ? null : kubernetesReason(probe.error!);
      session.upgradeAccess = { checkedAt: Date.now(), refusal };
    }
    const refusal = session.upgradeAccess!.refusal;
    if (refusal) throw new ConsoleError(403, "Forbidden", `Kubernetes does not let you list MeshUpgrades: ${refusal}`);
  }

  async function sessionInfo(session: Session): Promise<SessionInfo> {
    if (!fresh(session.permissions?.checkedAt))
      session.permissions = { checkedAt: Date.now(), value: await permissionsOf(session.cluster, session.user) };
    return {
      user: session.user,
      csrfToken: session.csrfToken,
      expiresAt: new Date(sessions.expiresAt(session)).toISOString(),
      permissions: session.permissions!.value,
    };
  }

  async function validationContext(): Promise<ValidationContext> {
    const snapshot = live.snapshot;
    return {
      snapshot,
      catalog,
      kubernetesVersion: snapshot.kubernetesVersion,
      activeUpgrades: live.activeUpgrades(),
      namespaceLabels: live.namespaceLabels(),
      manifestRevisions: await live.manifestRevisions(),
    };
  }

  async function formOptions(): Promise<UpgradeFormOptions> {
    const snapshot = live.snapshot;
    const banner = live.overview.banner;
    return {
      current: banner?.current ?? null,
      offers: banner?.offers ?? [],
      manifestRevisions: await live.manifestRevisions(),
      tags: snapshot.tags.map((t) => ({ name: t.name, revision: t.revision })),
      namespaces: snapshot.namespaces
        .filter((ns) => ns.injection.revision !== null || ns.proxies > 0)
        .map((ns) => ns.name)
        .sort(),
    };
  }

  // --- routes ----------------------------------------------------------------------------------

  const routes: Route[] = [
    route("GET", "/api/healthz", async ({ res }) =>
      sendJson(res, 200, { ok: true, version: live.version, sessions: sessions.size, streams: hub.size }),
    ),

    route("POST", "/api/session", async (ctx) => {
      guardWrite(ctx, undefined);
      const body = (await readJson(ctx.req)) as { token?: unknown };
      if (typeof body?.token !== "string" || body.token.trim() === "") {
        throw new ConsoleError(400, "BadRequest", "no token given", "Paste a Kubernetes bearer token.", [
          { field: "token", message: "required", fix: "Paste a Kubernetes bearer token." },
        ]);
      }
      const token = body.token.trim();
      let userCluster: Cluster;
      try {
        userCluster = clusterForToken(options.cluster, token);
      } catch (err) {
        throw new ConsoleError(
          400,
          "BadRequest",
          (err as Error).message,
          "Paste the token alone, as kubectl uses it.",
          [{ field: "token", message: (err as Error).message, fix: "Paste the token alone." }],
        );
      }
      try {
        await verifyToken(userCluster);
        const user = await identify(userCluster, options.cluster, token);
        const session = sessions.create(user, userCluster);
        ctx.user = user.username;
        const info = await sessionInfo(session);
        logger.info({ user: user.username }, "logged in");
        sendJson(ctx.res, 201, info, { "Set-Cookie": sessionCookie(session.id, secure) });
      } catch (err) {
        userCluster.close();
        throw err;
      }
    }),

    route("GET", "/api/session", async (ctx) => sendJson(ctx.res, 200, await sessionInfo(sessionOf(ctx)))),

    route("DELETE", "/api/session", async (ctx) => {
      const session = sessionOf(ctx);
      guardWrite(ctx, session);
      sessions.end(session, "logout");
      ctx.res.writeHead(204, { ...SECURITY_HEADERS, "Set-Cookie": clearedSessionCookie(secure) });
      ctx.res.end();
    }),

    route("GET", "/api/overview", async (ctx) => {
      await requireRead(sessionOf(ctx));
      sendJson(ctx.res, 200, live.overview);
    }),

    route("GET", "/api/namespaces", async (ctx) => {
      await requireRead(sessionOf(ctx));
      const page = live.namespaces.query(namespaceQuery(ctx.url.searchParams));
      sendJson(ctx.res, 200, { ...page, version: live.version } satisfies RowPage<unknown>);
    }),

    route("GET", "/api/workloads", async (ctx) => {
      await requireRead(sessionOf(ctx));
      const page = live.workloads.query(workloadQuery(ctx.url.searchParams));
      sendJson(ctx.res, 200, { ...page, version: live.version } satisfies RowPage<unknown>);
    }),

    route("POST", "/api/workloads/restart", async (ctx) => {
      const session = sessionOf(ctx);
      guardWrite(ctx, session);
      const results = await restartWorkloads(session.cluster, await readJson(ctx.req), now());
      const failed = results.filter((r) => !r.ok);
      logger.info(
        { user: session.user.username, restarted: results.length - failed.length, failed: failed.length },
        "restart",
      );
      if (failed.length === results.length) {
        // nothing happened: answer with the first refusal (a 403 stays a 403, with Kubernetes' reason)
        const first = failed[0];
        sendJson(ctx.res, first.status, {
          error: {
            status: first.status,
            reason: first.status === 403 ? "Forbidden" : "Failed",
            message: first.message,
          },
          results,
        });
        return;
      }
      sendJson(ctx.res, 200, { results });
    }),

    route("GET", "/api/precheck", async (ctx) => {
      await requireRead(sessionOf(ctx));
      const to = ctx.url.searchParams.get("to")?.trim();
      if (!to) throw new ConsoleError(400, "BadRequest", "no target version given", "Choose a version, e.g. 1.28.");
      let version: string;
      try {
        version = formatVersion(parseVersion(to, catalog));
      } catch (err) {
        throw new ConsoleError(400, "BadRequest", (err as Error).message, "Use a version such as 1.28 or 1.28.10.");
      }
      if (!isInCatalog(catalog, version)) {
        const known = catalog.releases.filter((r) => r.latestVersion);
        const span = known.length ? `${known[0].minor}.0–${known.at(-1)!.latestVersion}` : "none";
        throw new ConsoleError(
          400,
          "BadRequest",
          `Istio ${version} is not a known release (catalog as of ${catalog.asOf ?? "?"}: ${span})`,
          "Check the version.",
        );
      }
      const revision = ctx.url.searchParams.get("revision")?.trim() || undefined;
      if (revision !== undefined && !isValidRevisionName(revision)) {
        throw new ConsoleError(
          400,
          "BadRequest",
          `"${revision}" is not a valid revision name: lower-case letters, digits and '-', at most 63 characters`,
          "Leave it empty to use the version with dashes (e.g. 1-28-10).",
        );
      }
      const snapshot = live.snapshot;
      const findings = runChecks(snapshot, { version, revision }, catalog);
      const count = (s: string) => findings.filter((f) => f.severity === s).length;
      const result: PrecheckResult = {
        target: { version, revision: revision ?? revisionName(version) },
        kubernetesVersion: snapshot.kubernetesVersion,
        currentVersions: [...new Set(snapshot.revisions.map((r) => r.version).filter((v): v is string => !!v))],
        counts: { errors: count("error"), warnings: count("warning"), info: count("info") },
        findings,
        version: live.version,
      };
      sendJson(ctx.res, 200, result);
    }),

    route("GET", "/api/upgrades", async (ctx) => {
      await requireUpgradeRead(sessionOf(ctx));
      sendJson(ctx.res, 200, live.upgradeList());
    }),

    route("GET", "/api/upgrades/:name", async (ctx) => {
      await requireUpgradeRead(sessionOf(ctx));
      const upgrade = live.upgrade(ctx.params.name);
      if (!upgrade) throw new ConsoleError(404, "NotFound", `MeshUpgrade "${ctx.params.name}" does not exist`);
      sendJson(ctx.res, 200, upgrade);
    }),

    route("GET", "/api/upgrade-options", async (ctx) => {
      await requireRead(sessionOf(ctx));
      sendJson(ctx.res, 200, await formOptions());
    }),

    route("POST", "/api/upgrades", async (ctx) => {
      const session = sessionOf(ctx);
      guardWrite(ctx, session);
      if (ctx.url.searchParams.get("dryRun") === "true") {
        // the plan preview: validation, prechecks, waves and a dry-run create; nothing is created
        await requireRead(session);
        const preview = await previewUpgrade(session.cluster, await readJson(ctx.req), await validationContext());
        sendJson(ctx.res, 200, preview);
        return;
      }
      const created = await createUpgrade(
        session.cluster,
        await readJson(ctx.req),
        await validationContext(),
        session.user.username,
      );
      logger.info({ user: session.user.username, upgrade: created.metadata.name }, "MeshUpgrade created");
      sendJson(ctx.res, 201, created);
    }),

    route("POST", "/api/upgrades/:name/action", async (ctx) => {
      const session = sessionOf(ctx);
      guardWrite(ctx, session);
      const name = ctx.params.name;
      const patched = await requestAction(session.cluster, name, await readJson(ctx.req), session.user.username);
      logger.info({ user: session.user.username, upgrade: name, action: patched.spec?.action }, "action");
      sendJson(ctx.res, 200, patched);
    }),

    route("POST", "/api/upgrades/:name/restart-selected", async (ctx) => {
      const session = sessionOf(ctx);
      guardWrite(ctx, session);
      const name = ctx.params.name;
      const patched = await selectForRestart(session.cluster, name, await readJson(ctx.req), session.user.username);
      logger.info(
        { user: session.user.username, upgrade: name, selected: patched.spec?.dataPlane?.restartSelected?.length },
        "workloads selected for restart",
      );
      sendJson(ctx.res, 200, patched);
    }),

    route("GET", "/api/events", async (ctx) => {
      const session = sessionOf(ctx);
      await requireRead(session);
      const mayListUpgrades = await requireUpgradeRead(session).then(
        () => true,
        (err: unknown) => {
          if (err instanceof ConsoleError && err.status === 403) return false;
          throw err;
        },
      );
      const hello: LiveEvent = {
        type: "hello",
        overview: live.overview,
        upgrades: mayListUpgrades ? live.upgradeList() : { crdInstalled: live.upgradeList().crdInstalled, items: [] },
      };
      hub.open(ctx.res, session, hello, live.version, { upgrades: mayListUpgrades });
    }),
  ];

  // streams are long-lived: check now and then that their users may still read the mesh
  const recheck = setInterval(() => {
    for (const session of hub.sessions()) {
      if (!sessions.isLive(session)) continue;
      sessions.touch(session);
      session.readAccess = undefined;
      requireRead(session).catch((err: unknown) => {
        const reason = err instanceof ConsoleError ? err.message : String(err);
        hub.endSession(session, { type: "session-ended", reason });
      });
    }
  }, accessTtlMs);
  recheck.unref();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const ctx: RequestContext = { req, res, url: new URL("http://console/"), params: {} };
    res.once("close", () => {
      // the path only: query strings are the user's, and nothing secret ever travels in a URL
      logger.info(
        {
          method: req.method,
          path: ctx.url.pathname,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
          user: ctx.user,
        },
        "request",
      );
    });
    try {
      const badHost = checkHost(req.headers, loopbackOnly);
      if (badHost) return sendError(res, badHost);
      ctx.url = new URL(req.url ?? "/", "http://console");
      const pathname = ctx.url.pathname;
      if (!pathname.startsWith("/api/")) {
        if (req.method !== "GET" && req.method !== "HEAD")
          return sendError(res, new ConsoleError(405, "MethodNotAllowed", `${req.method} is not served here`));
        return await staticFiles.serve(req, res, pathname);
      }
      const matching = routes.filter((r) => r.pattern.test(pathname));
      const found = matching.find((r) => r.method === req.method);
      if (!found) {
        if (matching.length > 0) {
          const allowed = matching.map((r) => r.method).join(", ");
          return sendError(
            res,
            new ConsoleError(405, "MethodNotAllowed", `${req.method} ${pathname} is not served; use ${allowed}`),
            { Allow: allowed },
          );
        }
        return sendError(res, new ConsoleError(404, "NotFound", `no API at ${pathname}`));
      }
      const values = found.pattern.exec(pathname)!.slice(1);
      ctx.params = Object.fromEntries(found.names.map((n, i) => [n, decodeURIComponent(values[i])]));
      await found.handler(ctx);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof ConsoleError) return sendError(res, err);
      if (err instanceof QueryError) return sendError(res, new ConsoleError(400, "BadRequest", err.message));
      logger.error(
        { err: (err as Error).message, stack: (err as Error).stack, path: ctx.url.pathname },
        "request failed",
      );
      sendError(res, new ConsoleError(500, "InternalError", `the console failed: ${(err as Error).message}`));
    }
  }

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => void handle(req, res);
  const server = options.tls ? https.createServer({ ...options.tls }, listener) : http.createServer(listener);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (err) {
    // e.g. EADDRINUSE: nothing may keep watching the cluster for a server that never served
    clearInterval(recheck);
    await abandon();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  const url = `${secure ? "https" : "http"}://${shownHost}:${port}`;

  return {
    url,
    port,
    live,
    sessions,
    async close() {
      clearInterval(recheck);
      hub.close();
      sessions.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await live.close();
    },
  };
}
