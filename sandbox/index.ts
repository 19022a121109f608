// The sandbox: a Kubernetes API server simulator with an Istio mesh inside, started in-process.
// Tests and the demo use startSandbox(); real clients (kubectl, client-node, Prometheus) talk to it over HTTP.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { mutatingWebhookAdmission } from "./api/admission.js";
import { crdDefaulting, crdSchemaValidator } from "./api/crd-schema.js";
import { Authenticator, type TokenEntry, type UserInfo } from "./api/auth.js";
import { discoveryResponse, versionInfo } from "./api/discovery.js";
import { parseBody, readBody, sendJson, sendStatus, sendText } from "./api/http.js";
import { openapiV2, openapiV3Document, openapiV3Index } from "./api/openapi.js";
import * as patch from "./api/patch/index.js";
import { TypeRegistry } from "./api/registry.js";
import { RequestLog } from "./api/requestlog.js";
import { ApiServer, type ApiSurface, type PatchEngine } from "./api/server.js";
import { createStore, type Store } from "./api/store.js";
import { toTable } from "./api/table.js";
import { ApiError, resourceKey, type KObject, type SimTiming } from "./api/types.js";
import { unknownFields, validateObject } from "./api/validate.js";
import { startControllers, evictionAllowed, recordEviction } from "./controllers/index.js";
import { startSailController } from "./sail/controller.js";
import { EVICTION_REFUSED_MESSAGE } from "./controllers/disruption.js";
import { Faults } from "./faults.js";
import { renderMeshMetrics } from "./istio/metrics.js";
import { serviceProxyHandler } from "./istio/syncz.js";
import { TrafficModel } from "./istio/traffic.js";
import { istioWebhookResolver } from "./istio/webhook.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { makeServingCerts } from "./tls.js";
import { loadIntoStore } from "./scenario/load.js";
import { loadScenario, type Scenario } from "./scenario/schema.js";

export interface SandboxOptions {
  /** "demo", "large", "large:namespaces=10,pods=100", a file path, or a parsed scenario */
  scenario: string | Scenario;
  port?: number;
  host?: string;
  /** where to write the kubeconfig (default: a fresh temp dir) */
  kubeconfigPath?: string;
  /** override the scenario's timings (tests use a few ms) */
  timing?: Partial<SimTiming>;
  /** how often watch streams send bookmarks */
  bookmarkIntervalMs?: number;
  /** how many events the store keeps for watch resumption (older resourceVersions get 410 Expired) */
  historySize?: number;
  /** don't create the scenario's objects (an empty cluster with the scenario's version and tokens) */
  empty?: boolean;
}

export interface Sandbox {
  url: string;
  port: number;
  kubeconfigPath: string;
  tokens: { admin: string; viewer: string; [name: string]: string };
  scenario: Scenario;
  store: Store;
  registry: TypeRegistry;
  faults: Faults;
  traffic: TrafficModel;
  requestLog: RequestLog;
  server: ApiServer;
  /** PEM of the CA that signed the sandbox's serving certificate (also written as ca.crt beside the kubeconfig) */
  caPem: string;
  /** resolves when the simulated controllers have nothing left to do right now */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_TIMING: SimTiming = {
  podStartMs: 300,
  podReadyMs: 300,
  podTerminateMs: 300,
  jobRunMs: 1000,
  crashLoopMs: 500,
};

function newToken(prefix: string): string {
  return `${prefix}-${randomBytes(16).toString("hex")}`;
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const scenario = typeof opts.scenario === "string" ? loadScenario(opts.scenario) : opts.scenario;
  const registry = new TypeRegistry(scenario.kubernetesVersion);
  const store = createStore({ types: registry, historySize: opts.historySize });
  const timing: SimTiming = { ...DEFAULT_TIMING, ...(scenario.timing ?? {}), ...(opts.timing ?? {}) };
  const faults = new Faults(scenario.faults);
  const traffic = new TrafficModel(scenario.traffic);

  store.validators.push((t, obj, old) => (t.custom ? [] : validateObject(t, obj, old)));
  store.validators.push(crdSchemaValidator(registry));
  store.managedFields = patch.recordStoredUpdate;
  store.admission.push(crdDefaulting(registry)); // CRD defaults come before webhooks, as at decode
  store.admission.push(mutatingWebhookAdmission(store, istioWebhookResolver(store)));

  const tokenEntries: TokenEntry[] = scenario.tokens?.length
    ? scenario.tokens.map((t: any) => ({ ...t }))
    : [
        { name: "admin", token: newToken("admin"), role: "admin", groups: ["system:masters"] },
        { name: "viewer", token: newToken("viewer"), role: "view" },
      ];
  for (const t of tokenEntries) t.token ||= newToken(t.name);
  const auth = new Authenticator(tokenEntries);
  const requestLog = new RequestLog();

  const surface: ApiSurface = {
    byResource: (g, v, p) => registry.byResource(g, v, p),
    isServedGroupVersion: (g, v) => registry.isServedGroupVersion(g, v),
    version: () => versionInfo(registry),
    discovery: (path, accept) => discoveryResponse(registry, path, accept),
    openapi: (path, accept) => {
      const [p, query] = path.split("?");
      if (p === "/openapi/v2") return openapiV2(registry, accept);
      if (p === "/openapi/v3") return openapiV3Index(registry);
      if (p.startsWith("/openapi/v3/"))
        return openapiV3Document(registry, p.slice("/openapi/v3/".length) + (query ? `?${query}` : ""), accept);
      return undefined;
    },
    table: (type, items, o) => toTable(type, items, { includeObject: o.includeObject, listMeta: o.listMeta as never }),
    unknownFields: (type, obj) =>
      unknownFields(type, obj, type.custom ? registry.crdFor(resourceKey(type.group, type.plural)) : undefined),
  };

  const patchEngine: PatchEngine = {
    json: (t, ops) => patch.applyJsonPatch(t, ops),
    merge: (t, p) => patch.applyMergePatch(t, p),
    strategic: (t, p, kind) => patch.applyStrategicMergePatch(t, p, patch.builtinPatchSchema(kind)),
    apply: (live, applied, o) =>
      patch.serverSideApply(live, applied, { ...o, schema: o.kind ? patch.builtinPatchSchema(o.kind) : undefined }),
  };

  const controllers = startControllers(store, { timing, podFault: (pod) => faults.podFault(pod), nodes: [] });
  const sail = startSailController(store); // acts only on sailoperator.io objects; its timers never hold the process
  const proxy = serviceProxyHandler(store, faults);

  const isAdmin = (u: UserInfo | undefined) =>
    !!u && auth.allowed(u, { verb: "update", group: "sandbox", resource: "faults" });
  const extraRoutes = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    user: UserInfo | undefined,
  ): Promise<boolean> => {
    if (!url.pathname.startsWith("/sandbox/")) return false;
    const path = url.pathname.replace(/\/+$/, "");
    // Prometheus scrapes the mesh's Envoy and istiod metrics here without a token, as it scrapes pods in a cluster
    if (path === "/sandbox/metrics" && req.method === "GET") {
      sendText(
        res,
        200,
        renderMeshMetrics(store, faults, traffic, Date.now()),
        "text/plain; version=0.0.4; charset=utf-8",
      );
      return true;
    }
    if (!user) {
      sendStatus(res, new ApiError(401, "Unauthorized", "Unauthorized"));
      return true;
    }
    if (path === "/sandbox/info") {
      sendJson(res, 200, {
        scenario: scenario.name,
        kubernetesVersion: scenario.kubernetesVersion,
        resourceVersion: store.resourceVersion,
        pods: store.count("/pods"),
        namespaces: store.count("/namespaces"),
      });
      return true;
    }
    if (!isAdmin(user)) {
      sendStatus(
        res,
        new ApiError(403, "Forbidden", `sandbox control API is forbidden: User "${user.username}" is not an admin`),
      );
      return true;
    }
    if (path === "/sandbox/requests") {
      sendJson(res, 200, {
        totals: requestLog.totals(),
        items: requestLog.since(Number(url.searchParams.get("since") ?? 0)),
      });
      return true;
    }
    if (path === "/sandbox/faults") {
      try {
        if (req.method === "GET") return (sendJson(res, 200, faults.rules), true);
        const body = parseBody(await readBody(req), req.headers["content-type"]);
        if (req.method === "PUT") faults.replace(body as never);
        else if (req.method === "POST") faults.add(body as never);
        else if (req.method === "DELETE") faults.clear();
        else
          throw new ApiError(405, "MethodNotAllowed", "use GET, PUT (replace), POST (add one rule) or DELETE (clear)");
        sendJson(res, 200, faults.rules);
      } catch (e) {
        sendStatus(res, e instanceof ApiError ? e : new ApiError(422, "Invalid", (e as Error).message));
      }
      return true;
    }
    return false;
  };

  const certs = await makeServingCerts();
  const server = new ApiServer({
    store,
    surface,
    patch: patchEngine,
    auth,
    requestLog,
    apiFault: (r) => faults.apiFault(r as never),
    watchCutMs: (resource) => faults.watchCutMs(resource),
    serviceProxy: (ns, svc, port, path) => proxy(ns, svc, port, path),
    evictionCheck: (pod) => {
      const pdbs = store.list("policy/poddisruptionbudgets", pod.metadata.namespace);
      const verdict = evictionAllowed(pdbs, pod);
      if (verdict.allowed) {
        // the eviction spends one disruption now, so back-to-back evictions cannot all pass
        if (verdict.pdb)
          store.mutate(
            "policy/poddisruptionbudgets",
            pod.metadata.namespace,
            verdict.pdb,
            (pdb) => recordEviction(pdb, pod.metadata.name!, Date.now()),
            { subresource: "status", actor: "system:eviction" },
          );
        return undefined;
      }
      const reason = verdict.code === 429 ? "TooManyRequests" : verdict.code === 403 ? "Forbidden" : "InternalError";
      const message = verdict.code === 429 ? EVICTION_REFUSED_MESSAGE : verdict.message;
      return new ApiError(verdict.code, reason, message, {
        causes: [{ reason: "DisruptionBudget", message: verdict.message }],
      });
    },
    podLog: (pod, container) => podLog(pod, container),
    extraRoutes,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    tls: { cert: certs.certPem, key: certs.keyPem },
  });
  // fault changes take effect at once: watch cuts close the streams already open, pod faults reach running pods
  const scheduledCuts = new WeakSet<object>();
  faults.onChange((rules) => {
    for (const r of rules as any[]) {
      if (!("watchCut" in r) || scheduledCuts.has(r)) continue;
      scheduledCuts.add(r);
      setTimeout(() => server.cutWatches(r.watchCut.resource), r.watchCut.afterMs ?? 1000).unref();
    }
    controllers.resync();
  });
  const host = opts.host ?? "127.0.0.1";
  const port = await server.listen(opts.port ?? 0, host);
  const url = `https://${host}:${port}`;
  const kubeconfigPath = opts.kubeconfigPath ?? join(mkdtempSync(join(tmpdir(), "meshlift-sandbox-")), "kubeconfig");
  writeKubeconfig(
    kubeconfigPath,
    url,
    tokenEntries.map((t) => ({ name: t.name, token: t.token })),
    certs.caPem,
  );

  if (!opts.empty) await loadIntoStore(store, scenario, { idle: () => controllers.idle() });

  const tokens: Sandbox["tokens"] = { admin: "", viewer: "" };
  for (const t of tokenEntries) tokens[t.name] = t.token;
  tokens.admin ||= tokenEntries.find((t) => t.role === "admin")?.token ?? "";
  tokens.viewer ||= tokenEntries.find((t) => t.role === "view")?.token ?? "";

  return {
    url,
    port,
    kubeconfigPath,
    tokens,
    scenario,
    store,
    registry,
    faults,
    traffic,
    requestLog,
    server,
    caPem: certs.caPem,
    idle: () => controllers.idle(),
    async stop() {
      controllers.stop();
      sail.stop();
      await server.close();
    },
  };
}

/** A plausible container log, so `kubectl logs` works. */
function podLog(pod: KObject, container: string | undefined): string {
  const c = container ?? pod.spec?.containers?.[0]?.name ?? "";
  const started = pod.status?.startTime ?? pod.metadata.creationTimestamp;
  if (c === "istio-proxy") return `${started} info\tEnvoy proxy is ready\n`;
  return `${started} ${pod.metadata.name}/${c}: started\n`;
}
