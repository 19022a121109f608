// `meshlift precheck --to <version>`: every upgrade check against the live cluster.
import type { Command } from "commander";
import type { CommandHost } from "../context.js";

export interface PrecheckOptions {
  to: string;
  revision?: string;
  strict?: boolean;
}

export default function registerPrecheck(program: Command, host: CommandHost): void {
  program
    .command("precheck")
    .description("check whether the mesh can be upgraded to a version")
    .requiredOption("--to <version>", "target Istio version, e.g. 1.29.6 or 1.29 (latest patch)")
    .option(
      "--revision <name>",
      "revision name the new control plane will use (default: the version with dashes, e.g. 1-29-6)",
    )
    .option("--strict", "exit 2 instead of 1 when there are warnings")
    .addHelpText(
      "after",
      "\n  Exit 0: no findings; 1: warnings only (2 with --strict); 3: errors, the upgrade is blocked.",
    )
    .action(
      host.action<PrecheckOptions>(async (ctx, options) => (await import("./precheck.js")).precheck(ctx, options)),
    );
}
