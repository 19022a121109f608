// `meshlift decommission`: take an old control-plane revision offline as `istioctl uninstall --revision` would,
// only after a fresh LIST shows that no proxy uses it.
import type { Command } from "commander";
import type { CommandHost } from "../context.js";

export interface DecommissionOptions {
  revision?: string;
  dryRun?: boolean;
}

export default function registerDecommission(program: Command, host: CommandHost): void {
  program
    .command("decommission")
    .description("remove an old istiod revision once no proxy uses it (as istioctl uninstall --revision)")
    .option("--revision <name>", "the revision to remove (default: the only revision older than the newest)")
    .option("--dry-run", "list the objects that would be deleted; change nothing")
    .addHelpText(
      "after",
      "\n  Refused (exit 3), listing every straggler (kind, namespace, name, why), while any pod still runs a proxy\n  of the revision or is connected to its istiod; also while a revision tag or the default tag points at it,\n  or a MeshUpgrade is active. A Sail-managed revision is removed by deleting its IstioRevision.",
    )
    .action(
      host.action<DecommissionOptions>(async (ctx, options) =>
        (await import("./decommission.js")).decommission(ctx, options),
      ),
    );
}
