// What every command receives: the injected IO, the parsed global flags, the output layer, and
// lazy access to the cluster and the catalog. Heavy modules (client-node, the read model) are
// imported only when a command first asks for them, so `meshlift --help` stays instant.
import type { Catalog } from "../catalog/index.js";
import type { Cluster } from "../kube/config.js";
import { UsageError } from "./exit-codes.js";
import type { CliIO } from "./io.js";
import { Output, type OutputFormat } from "./output.js";

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  output?: OutputFormat;
  color: boolean;
  /** kubectl-style duration text: "30s", "1m", "0" (no timeout) */
  requestTimeout: string;
  catalog?: string;
}

/** kubectl's --request-timeout syntax: a number with an optional unit (s, m, h); "0" disables. */
export function parseDuration(text: string, flag = "--request-timeout"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} "${text}" is not a duration: use e.g. 30s, 2m or 0 (no timeout)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * unit);
}

export class CommandContext {
  readonly out: Output;
  private cluster: Cluster | undefined;
  private catalogPromise: Promise<Catalog> | undefined;

  constructor(
    readonly io: CliIO,
    readonly globals: GlobalOptions,
  ) {
    this.out = new Output(io, { format: globals.output, color: globals.color });
  }

  now(): Date {
    return this.io.now ? this.io.now() : new Date();
  }

  /** Loads the kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster) once. */
  async connect(): Promise<Cluster> {
    if (this.cluster) return this.cluster;
    const timeoutMs = parseDuration(this.globals.requestTimeout);
    const { loadCluster } = await import("../kube/config.js");
    this.cluster = loadCluster({
      kubeconfig: this.globals.kubeconfig,
      context: this.globals.context,
      env: this.io.env,
      requestTimeoutMs: timeoutMs,
    });
    return this.cluster;
  }

  /** The built-in Istio catalog, merged with --catalog when given. */
  catalog(): Promise<Catalog> {
    this.catalogPromise ??= import("../catalog/index.js").then((m) => m.loadCatalog(this.globals.catalog));
    return this.catalogPromise;
  }

  /** Releases connections so the process can exit on its own. */
  close(): void {
    this.cluster?.close();
  }
}

/** What a command folder gets to register itself with (pepr's model: one folder per command). */
export interface CommandHost {
  /**
   * Wraps a command body: builds the context from the global flags, runs the body, records its
   * exit code. Bodies import their heavy modules lazily.
   */
  action<Options>(body: (ctx: CommandContext, options: Options) => Promise<number>): (...args: any[]) => Promise<void>;
}
