// A real Prometheus (the Debian package's /usr/bin/prometheus) for tests and benchmarks: a generated
// config that scrapes the sandbox's /sandbox/metrics over HTTPS, a temp TSDB, a free loopback port.
// Ready means more than /-/ready: every target has been scraped successfully at least once, so a test's
// first query already sees samples.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";

export const PROMETHEUS_BINARY = process.env.PROMETHEUS_BINARY ?? "/usr/bin/prometheus";

export interface ScrapeTarget {
  /** the sandbox's metrics URL, e.g. https://127.0.0.1:PORT/sandbox/metrics */
  url: string;
  /** PEM file of the CA that signed the target's certificate; without it TLS verification is skipped */
  caFile?: string;
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  /** scrape and rule-evaluation interval, ms (default 1000); Prometheus' own minimum is 1 ms, tests use 1 s */
  scrapeIntervalMs?: number;
  /** how long to wait for readiness and the first successful scrape (default 30 s) */
  startTimeoutMs?: number;
}

export interface RunningPrometheus {
  /** base URL of the HTTP API, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** the generated prometheus.yml */
  configFile: string;
  /** the last lines Prometheus wrote to stderr (its log), for failure messages */
  logTail(): string;
  /** kills Prometheus (SIGTERM, then SIGKILL after 5 s) and removes its temp dir; safe to call twice */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** One scrape job per target: Prometheus keeps the exposed labels (honor_labels) as a pod scrape would. */
export function prometheusConfig(targets: ScrapeTarget[], scrapeIntervalMs: number): Record<string, unknown> {
  const interval = durationText(scrapeIntervalMs);
  return {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: targets.map((t, i) => {
      const url = new URL(t.url);
      return {
        job_name: `sandbox-${i}`,
        honor_labels: true,
        scheme: url.protocol.replace(":", ""),
        metrics_path: url.pathname,
        ...(url.protocol === "https:"
          ? { tls_config: t.caFile ? { ca_file: t.caFile } : { insecure_skip_verify: true } }
          : {}),
        static_configs: [{ targets: [url.host] }],
      };
    }),
  };
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /-/ready answers plain text
  }
  return { status: response.status, body };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  try {
    accessSync(PROMETHEUS_BINARY, constants.X_OK);
  } catch {
    throw new Error(
      `Prometheus is not installed (${PROMETHEUS_BINARY} is missing or not executable) — install the Debian package prometheus: apt-get install prometheus (or set PROMETHEUS_BINARY)`,
    );
  }
  if (options.targets.length === 0) throw new Error("startPrometheus needs at least one scrape target");
  const scrapeIntervalMs = options.scrapeIntervalMs ?? 1000;
  const dir = mkdtempSync(path.join(tmpdir(), "meshlift-prometheus-"));
  const configFile = path.join(dir, "prometheus.yml");
  writeFileSync(configFile, stringify(prometheusConfig(options.targets, scrapeIntervalMs)));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const log: string[] = [];
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=2h",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    log.push(...chunk.split("\n").filter(Boolean));
    if (log.length > 40) log.splice(0, log.length - 40);
  });
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    }),
  );
  const logTail = () => log.slice(-10).join("\n");

  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      if (exited === undefined) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exit;
        clearTimeout(killer);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let waitingFor = "/-/ready";
  try {
    for (;;) {
      if (exited !== undefined) throw new Error(`Prometheus exited (${exited}) during start-up:\n${logTail()}`);
      if (Date.now() > deadline) {
        throw new Error(
          `Prometheus at ${url} was not ready within ${options.startTimeoutMs ?? 30_000} ms (waiting for ${waitingFor}):\n${logTail()}`,
        );
      }
      try {
        if (waitingFor === "/-/ready") {
          if ((await getJson(`${url}/-/ready`)).status === 200) waitingFor = "a successful scrape of every target";
        } else {
          const { body } = await getJson(`${url}/api/v1/targets?state=active`);
          const targets: { health?: string; lastError?: string; scrapeUrl?: string }[] =
            body?.data?.activeTargets ?? [];
          if (targets.length === options.targets.length && targets.every((t) => t.health === "up")) break;
          const failing = targets.find((t) => t.lastError);
          if (failing) waitingFor = `a successful scrape (last error from ${failing.scrapeUrl}: ${failing.lastError})`;
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, configFile, logTail, stop };
}
