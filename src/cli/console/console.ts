// The console command: a thin shell over startConsoleServer (Vite's model — the CLI parses and
// prints, the server module does the work). Builds the browser app on first start when the package
// has no build yet, prints "console ready in N ms at URL", serves until interrupted.
import { readFileSync } from "node:fs";
import type { CommandContext } from "../context.js";
import { ExitCode, UsageError } from "../exit-codes.js";
import type { CliIO } from "../io.js";
import type { ConsoleOptions } from "./index.js";

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535)
    throw new UsageError(`--port "${text}" is not a port number (0–65535; 0 picks a free port)`);
  return Number(text);
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`${flag} ${file} cannot be read: ${(err as Error).message}`);
  }
}

/**
 * Resolves on Ctrl-C or SIGTERM. CliIO carries no stop signal of its own yet, so the process's
 * signals are listened to here; tests pass `signal` on the IO instead.
 */
function untilStopped(io: CliIO): Promise<void> {
  const signal = (io as CliIO & { signal?: AbortSignal }).signal;
  if (signal) {
    return signal.aborted
      ? Promise.resolve()
      : new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

export async function serveConsole(ctx: CommandContext, options: ConsoleOptions): Promise<number> {
  const started = performance.now();
  const port = parsePort(options.port);
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey))
    throw new UsageError("--tls-cert and --tls-key go together: give both to serve https, or neither");
  const tls = options.tlsCert
    ? { cert: readPem(options.tlsCert, "--tls-cert"), key: readPem(options.tlsKey!, "--tls-key") }
    : undefined;

  const [{ startConsoleServer, ensureConsoleBuilt }, { pino }] = await Promise.all([
    import("../../server/index.js"),
    import("pino"),
  ]);
  const build = await ensureConsoleBuilt({ log: (line) => ctx.out.note(line) });
  if (build.built) ctx.out.note(`built the web app in ${build.ms} ms`);
  const [cluster, catalog] = await Promise.all([ctx.connect(), ctx.catalog()]);
  const logger = pino({ level: ctx.io.env.MESHLIFT_LOG_LEVEL ?? "info", base: undefined }, ctx.io.stderr);
  const server = await startConsoleServer({
    cluster,
    catalog,
    host: options.host,
    port,
    tls,
    logger,
    now: () => ctx.now(),
  });
  ctx.out.line(`console ready in ${Math.round(performance.now() - started)} ms at ${server.url}`);
  ctx.out.line(`  reading ${cluster.server} (context ${cluster.contextName}); log in with a Kubernetes bearer token`);
  const { isLoopback } = await import("../../server/http.js");
  if (!tls && !isLoopback(options.host)) {
    ctx.out.warn(
      `serving plain http on ${options.host}: bearer tokens and session cookies cross the network unencrypted — add --tls-cert/--tls-key or put a TLS proxy in front`,
    );
  }
  await untilStopped(ctx.io);
  await server.close();
  return ExitCode.Ok;
}
