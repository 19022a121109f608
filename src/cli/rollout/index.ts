// `meshlift rollout`: Alauda's batch rollout — restart every sidecar workload and gateway whose proxies do not
// run the revision its namespace or labels now select, after a confirmation that lists them.
import type { Command } from "commander";
import type { CommandHost } from "../context.js";

export interface RolloutOptions {
  toRevision?: string;
  namespaces?: string;
  prompt: boolean;
  dryRun?: boolean;
}

export default function registerRollout(program: Command, host: CommandHost): void {
  program
    .command("rollout")
    .description("restart every workload and gateway whose proxies are stale (not on the revision their labels select)")
    .option("--to-revision <revision>", "only workloads a restart moves to this revision")
    .option("--namespaces <a,b>", "only these namespaces (the global -n/--namespace limits to one)")
    .option("--no-prompt", "restart without asking (scripts, CI)")
    .option("--dry-run", "list what would be restarted; change nothing")
    .addHelpText(
      "after",
      "\n  Each restart is the patch `kubectl rollout restart` makes (field manager meshlift). The list is read\n  from stdin's answer: y restarts, anything else changes nothing. Exit 0 done or nothing to do, 3 a restart failed.",
    )
    .action(host.action<RolloutOptions>(async (ctx, options) => (await import("./rollout.js")).rollout(ctx, options)));
}
