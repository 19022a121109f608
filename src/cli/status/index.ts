// `meshlift status`: revisions, gateways, namespaces and stragglers of the mesh as it is now.
import type { Command } from "commander";
import type { CommandHost } from "../context.js";

export interface StatusOptions {
  wide?: boolean;
}

export default function registerStatus(program: Command, host: CommandHost): void {
  program
    .command("status")
    .description("show revisions, gateways, namespaces and stale proxies of the mesh")
    .option("--wide", "also list every workload with its proxies' revisions and versions")
    .addHelpText(
      "after",
      "\n  -o json|yaml prints the full mesh snapshot (schema: meshSnapshotJsonSchema in src/mesh/schema.ts).",
    )
    .action(host.action<StatusOptions>(async (ctx, options) => (await import("./status.js")).status(ctx, options)));
}
