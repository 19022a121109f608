// `meshlift operator`: reconciles MeshUpgrade objects in the cluster (leader election on a Lease,
// /metrics, /healthz, /readyz). Runs until SIGTERM/SIGINT.
import type { Command } from "commander";
import type { CommandHost } from "../context.js";

export interface OperatorOptions {
  metricsAddress: string;
  leaseNamespace?: string;
  identity?: string;
}

export default function registerOperator(program: Command, host: CommandHost): void {
  program
    .command("operator")
    .description("run the MeshUpgrade operator: reconcile every MeshUpgrade until stopped")
    .option("--metrics-address <host:port>", "where /metrics, /healthz and /readyz are served", "127.0.0.1:9464")
    .option("--lease-namespace <ns>", "namespace of the leader-election Lease (default: the context's namespace)")
    .option("--identity <id>", "this replica's identity in the Lease (default: hostname_uuid)")
    .action(
      host.action<OperatorOptions>(async (ctx, options) => (await import("./operator.js")).operator(ctx, options)),
    );
}
