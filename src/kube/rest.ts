// Raw JSON requests to the API server, authenticated by client-node's KubeConfig.
//
// Why not the generated clients or KubernetesObjectApi.list for reads: both deserialize through
// typed models, which drop fields the model does not know (Istio annotations on unknown kinds,
// newer API fields) and turn timestamps into Date objects; KubernetesObjectApi.list also needs
// `kind` on every list response. The read model wants the objects exactly as the server sent
// them, so reads and watches go through here: KubeConfig still decides the server, TLS material,
// proxies and credentials (tokens, exec plugins, OIDC), and one keep-alive agent is shared by
// every request instead of client-node's new agent per call (kubernetes-client/javascript#2893).
import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { kubeErrorFromNetwork, kubeErrorFromResponse, KubeError, type RequestTarget } from "./errors.js";

export type QueryValue = string | number | boolean | undefined;

export interface RestRequest {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** absolute API path, e.g. /api/v1/namespaces/default/pods */
  path: string;
  query?: Record<string, QueryValue>;
  /** serialized as JSON unless already a string */
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** overrides the client's request timeout; 0 disables it (watches supervise themselves) */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** what the request is about, for error messages */
  target?: RequestTarget;
}

export interface RestClientOptions {
  /** per-request timeout for non-streaming calls, ms (kubectl --request-timeout) */
  requestTimeoutMs: number;
  /** kubeconfig context name, named in credential errors */
  context?: string;
}

type TlsMaterial = Pick<
  https.AgentOptions,
  "ca" | "cert" | "key" | "pfx" | "passphrase" | "rejectUnauthorized" | "servername"
>;

export class RestClient {
  readonly server: string;
  private agent: http.Agent | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly options: RestClientOptions,
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("RestClient needs a KubeConfig with a current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
  }

  get requestTimeoutMs(): number {
    return this.options.requestTimeoutMs;
  }

  /** One agent per cluster: keep-alive connections, TLS material from the kubeconfig. */
  private async sharedAgent(prepared: https.RequestOptions): Promise<http.Agent> {
    if (this.agent) return this.agent;
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster?.proxyUrl && prepared.agent instanceof http.Agent) {
      // proxy agents (http/https/socks) come from client-node; reuse the one it built
      this.agent = prepared.agent;
    } else if (this.server.startsWith("http:")) {
      this.agent = new http.Agent({ keepAlive: true });
    } else {
      const tls: TlsMaterial = {
        ca: prepared.ca,
        cert: prepared.cert,
        key: prepared.key,
        pfx: prepared.pfx,
        passphrase: prepared.passphrase,
        rejectUnauthorized: prepared.rejectUnauthorized,
        servername: prepared.servername,
      };
      this.agent = new https.Agent({ keepAlive: true, ...tls });
    }
    return this.agent;
  }

  /** Headers and TLS material for one request; credentials may refresh between calls (exec, OIDC). */
  private async prepare(): Promise<{ headers: Record<string, string>; agent: http.Agent }> {
    const prepared: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(prepared);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(prepared.headers ?? {})) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : String(v);
    }
    if (prepared.auth) headers.Authorization = `Basic ${Buffer.from(prepared.auth).toString("base64")}`;
    return { headers, agent: await this.sharedAgent(prepared) };
  }

  url(path: string, query?: Record<string, QueryValue>): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
    return url;
  }

  private target(req: RestRequest, url: URL): RequestTarget {
    return {
      server: this.server,
      context: this.options.context,
      verb: (req.method ?? "GET").toLowerCase(),
      path: url.pathname,
      ...req.target,
    };
  }

  /**
   * Sends a request and resolves with the response once headers arrive (status 2xx only);
   * non-2xx responses are read and thrown as KubeError. The caller consumes the body.
   */
  async open(req: RestRequest): Promise<http.IncomingMessage> {
    const url = this.url(req.path, req.query);
    const target = this.target(req, url);
    let auth: Awaited<ReturnType<RestClient["prepare"]>>;
    try {
      auth = await this.prepare();
    } catch (err) {
      throw new KubeError({
        code: 0,
        reason: "BadKubeconfig",
        message: `cannot build credentials for ${this.server}${this.options.context ? ` (context "${this.options.context}")` : ""}: ${(err as Error).message}`,
        object: target,
        cause: err,
      });
    }
    const timeoutMs = req.timeoutMs ?? this.options.requestTimeoutMs;
    const signals = [req.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s): s is AbortSignal => !!s,
    );
    const signal = signals.length ? AbortSignal.any(signals) : undefined;
    const body =
      req.body === undefined ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string> = {
      Accept: req.accept ?? "application/json",
      "User-Agent": "meshlift",
      ...auth.headers,
    };
    if (body !== undefined) {
      headers["Content-Type"] = req.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === "https:" ? https.request : http.request;
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = send(url, { method: req.method ?? "GET", headers, agent: auth.agent, signal }, resolve);
      request.on("error", (err) => {
        // an abort from our timeout signal surfaces as AbortError with the signal's reason
        const reason = signal?.aborted ? signal.reason : undefined;
        if (reason instanceof Error && reason.name === "TimeoutError")
          reject(kubeErrorFromNetwork(reason, target, timeoutMs));
        else if (req.signal?.aborted) reject(err);
        else reject(kubeErrorFromNetwork(err, target, timeoutMs));
      });
      if (body !== undefined) request.write(body);
      request.end();
    });
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return response;
    const text = await readText(response).catch(() => "");
    throw kubeErrorFromResponse(status, text, response.headers, target);
  }

  /** A request whose 2xx answer is JSON; errors are KubeError. */
  async requestJson<T = unknown>(req: RestRequest): Promise<T> {
    const response = await this.open(req);
    let text: string;
    try {
      text = await readText(response);
    } catch (err) {
      throw req.signal?.aborted ? err : kubeErrorFromNetwork(err, this.target(req, this.url(req.path, req.query)));
    }
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeError({
        code: response.statusCode ?? 0,
        reason: "BadResponse",
        message: `the API server at ${this.server} answered ${req.method ?? "GET"} ${req.path} with something that is not JSON (${text.slice(0, 80)}…) — is the kubeconfig's server address an API server?`,
        object: this.target(req, this.url(req.path, req.query)),
      });
    }
  }

  /** Closes idle keep-alive connections so a CLI process can exit. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

export async function readText(response: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
