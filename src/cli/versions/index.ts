// `meshlift versions`: installed Istio versions, available upgrades with Kubernetes support and EOL.
import type { Command } from "commander";
import type { CommandHost } from "../context.js";

export default function registerVersions(program: Command, host: CommandHost): void {
  program
    .command("versions")
    .description("show installed Istio versions and the upgrades available from the catalog")
    .action(host.action<Record<string, never>>(async (ctx) => (await import("./versions.js")).versions(ctx)));
}
