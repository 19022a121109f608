// The operator's HTTP endpoints on node:http (three fixed GET routes need no framework, see
// docs/adr/0003): /metrics in the Prometheus text format, and /healthz (alias /livez) and /readyz
// answering like the kube-apiserver's: "ok", or 503 listing each check as [+]/[-] with the reason.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { errorFields, operatorLogger, type Logger } from "./log.js";
import type { OperatorMetrics } from "./metrics.js";

/** `true` when healthy, else the reason it is not. */
export type CheckResult = true | string;

export interface HealthCheck {
  name: string;
  check(): CheckResult;
}

/** Liveness ("restart me if this fails") and readiness ("don't count on me yet") checks. */
export class HealthChecks {
  private readonly checks = { healthz: [] as HealthCheck[], readyz: [] as HealthCheck[] };

  addLiveness(name: string, check: () => CheckResult): this {
    this.checks.healthz.push({ name, check });
    return this;
  }

  addReadiness(name: string, check: () => CheckResult): this {
    this.checks.readyz.push({ name, check });
    return this;
  }

  /** Runs the checks of one endpoint; a check that throws fails with its message. */
  evaluate(endpoint: "healthz" | "readyz"): { ok: boolean; results: { name: string; result: CheckResult }[] } {
    const results = this.checks[endpoint].map(({ name, check }) => {
      let result: CheckResult;
      try {
        result = check();
      } catch (err) {
        result = err instanceof Error ? err.message : String(err);
      }
      return { name, result };
    });
    return { ok: results.every((r) => r.result === true), results };
  }
}

/** kube-apiserver's format: "[+]name ok" / "[-]name failed: reason", then a verdict line. */
export function renderChecks(
  endpoint: "healthz" | "readyz",
  outcome: ReturnType<HealthChecks["evaluate"]>,
  verbose: boolean,
): string {
  if (outcome.ok && !verbose) return "ok";
  const lines = outcome.results.map(({ name, result }) =>
    result === true ? `[+]${name} ok` : `[-]${name} failed: ${result}`,
  );
  lines.push(`${endpoint} check ${outcome.ok ? "passed" : "failed"}`);
  return lines.join("\n") + "\n";
}

export interface OperatorHttpOptions {
  /** e.g. "0.0.0.0" in a pod, "127.0.0.1" locally */
  host: string;
  /** 0 picks a free port */
  port: number;
  metrics: OperatorMetrics;
  health: HealthChecks;
  logger?: Logger;
}

export interface OperatorHttpServer {
  host: string;
  /** the bound port (the ephemeral one when 0 was asked) */
  port: number;
  url: string;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8") {
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
  });
  res.end(body);
}

export async function startOperatorHttp(options: OperatorHttpOptions): Promise<OperatorHttpServer> {
  const logger = options.logger ?? operatorLogger();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://operator");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(res, 405, `${req.method} is not allowed on ${url.pathname}; use GET\n`);
    }
    switch (url.pathname) {
      case "/metrics":
        options.metrics.exposition().then(
          ({ contentType, text }) => send(res, 200, text, contentType),
          (err: unknown) => {
            logger.error(errorFields(err), "collecting metrics failed");
            send(res, 500, `collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
          },
        );
        return;
      case "/healthz":
      case "/livez":
      case "/readyz": {
        const endpoint = url.pathname === "/readyz" ? "readyz" : "healthz";
        const outcome = options.health.evaluate(endpoint);
        return send(res, outcome.ok ? 200 : 503, renderChecks(endpoint, outcome, url.searchParams.has("verbose")));
      }
      default:
        return send(
          res,
          404,
          `${url.pathname} not found; the operator serves /metrics, /healthz, /livez and /readyz\n`,
        );
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `cannot serve /metrics and /healthz on ${options.host}:${options.port}: ${err.code === "EADDRINUSE" ? "the address is in use" : err.message} — choose another host or port`,
          { cause: err },
        ),
      );
    };
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    host: options.host,
    port,
    url: `http://${hostForUrl}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
