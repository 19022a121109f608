// `meshlift upgrade start|run|status|proceed|rollback|pause|resume`: a MeshUpgrade from the command line,
// driven in-process by the same reconcile loop the operator runs. Bodies load lazily (`--help` stays instant).
// host.action reads the options and the Command from the end of its arguments, so a NAME argument is
// captured here and the rest handed on.
import { Option, type Command } from "commander";
import type { CommandHost } from "../context.js";
import type { StartFlags } from "./flags.js";

export interface StartOptions extends StartFlags {
  name?: string;
  dryRun?: boolean;
  installCrd?: boolean;
}

export interface RunOptions {
  filename?: string[];
  json?: boolean;
}

export interface UpgradeStatusOptions {
  watch?: boolean;
}

export interface ActionOptions {
  timeout: string;
  wait: boolean;
}

export type UpgradeActionVerb = "proceed" | "rollback" | "pause" | "resume";

const collect = (value: string, previous: string[] = []) => [...previous, value];

const EXIT_CODES_HELP =
  "\nExit codes: 0 done (run: Completed), 3 errors (run: RolledBack or Failed), 4 invalid input or refused action,\n5 cluster unreachable or access denied, 6 the upgrade needs you (approval, paused), 130 interrupted.";

const ACTIONS: { verb: UpgradeActionVerb; what: string }[] = [
  {
    verb: "proceed",
    what: "approve the next step (a wave under PerWave approval, or taking the old revision offline)",
  },
  { verb: "rollback", what: "roll back: namespaces back to the old revision, pods rebuilt, the new revision removed" },
  { verb: "pause", what: "pause the upgrade where it is (no new restarts, nothing removed)" },
  { verb: "resume", what: "resume a paused upgrade" },
];

export default function registerUpgrade(program: Command, host: CommandHost): void {
  const upgrade = program
    .command("upgrade")
    .description("start, drive, watch and steer a canary upgrade (a MeshUpgrade)")
    .addHelpText("after", EXIT_CODES_HELP);

  upgrade
    .command("start")
    .description("validate and plan an upgrade, then create its MeshUpgrade (--dry-run: only show the plan)")
    .requiredOption("--to <version>", "target Istio version, e.g. 1.28.10 or 1.28 (latest patch)")
    .option("--revision <name>", "target revision name (default: the version with dashes, e.g. 1-28-10)")
    .option("--from <revision>", "source revision (default: detected, the revision the mesh runs on)")
    .addOption(
      new Option("--install <mode>", "who installs the target: Adopt (you), Manifests (-f files), Sail").choices([
        "Adopt",
        "Manifests",
        "Sail",
      ]),
    )
    .option(
      "-f, --filename <file>",
      "rendered manifests of the target revision (repeatable); implies --install Manifests",
      collect,
    )
    .option("--manifests-configmap <ns/name[:key]>", "ConfigMap with the rendered manifests, for the operator")
    .option("--namespaces <a,b>", "only these namespaces (default: every namespace on the source revision)")
    .option("--selector <k=v,…>", "only namespaces whose labels match (kubectl -l syntax)")
    .option("--exclude <a,b>", "never these namespaces")
    .option("--waves <a,b;c>", 'explicit waves: ";" between waves, "," between namespaces')
    .option("--wave-size <n>", "namespaces per wave (default 1)")
    .option("--canary <a,b>", "namespaces moved first, as a wave of their own")
    .option("--max-concurrent <n>", "most workloads restarting at once (default 5)")
    .option("--manual", "switch injection only; you restart the workloads (Tencent's manual mode)")
    .option("--tag <name>", "move this revision tag to the target instead of relabelling namespaces")
    .addOption(
      new Option("--gateways <strategy>", "gateways: InPlace (default), Canary, or none (leave them)").choices([
        "InPlace",
        "Canary",
        "none",
      ]),
    )
    .addOption(
      new Option("--approval <mode>", "wait for `upgrade proceed`: None (default), BeforeOffline, PerWave").choices([
        "None",
        "BeforeOffline",
        "PerWave",
      ]),
    )
    .option("--min-ready <duration>", "how long a wave's workloads must stay Ready before the next wave (default 30s)")
    .option("--prometheus <url>", "also analyse each wave's request success rate, p99 latency and xDS rejects here")
    .addOption(
      new Option("--on-failure <what>", "when a wave fails verification: Pause (default) or Rollback").choices([
        "Pause",
        "Rollback",
      ]),
    )
    .option("--offline-grace <duration>", "how long the old revision must have no proxy before removal (default 60s)")
    .option("--name <name>", "MeshUpgrade name (default: to-<revision>)")
    .option("--dry-run", "print the plan and check that the API accepts the MeshUpgrade; change nothing")
    .option("--install-crd", "install the MeshUpgrade CRD first when it is missing")
    .addHelpText(
      "after",
      "\n  Invalid input is refused with the flag, what is wrong and how to fix it; nothing is written.\n  -o json|yaml prints {name, dryRun, created, spec, from, to, plan, findings}.",
    )
    .action(host.action<StartOptions>(async (ctx, options) => (await import("./start.js")).start(ctx, options)));

  upgrade
    .command("run")
    .argument("[name]", "the MeshUpgrade (default: the one active upgrade)")
    .description("drive an upgrade in-process until it completes, rolls back, fails, or needs you")
    .option("-f, --filename <file>", "rendered manifests for --install Manifests (repeatable)", collect)
    .option("--json", "one JSON object per line per change (NDJSON), for scripts")
    .addHelpText("after", `\n  Ctrl-C stops cleanly; run it again (or let the operator) to continue.${EXIT_CODES_HELP}`)
    .action((name: string | undefined, options: RunOptions, command: Command) =>
      host.action<RunOptions>(async (ctx, o) => (await import("./run.js")).runCommand(ctx, name, o))(options, command),
    );

  upgrade
    .command("status")
    .argument("[name]", "the MeshUpgrade (default: the active one, else the newest)")
    .description("stages, waves, namespaces, workloads not done, stragglers, history and conditions")
    .option("-w, --watch", "follow changes until the upgrade finishes (Ctrl-C to stop)")
    .action((name: string | undefined, options: UpgradeStatusOptions, command: Command) =>
      host.action<UpgradeStatusOptions>(async (ctx, o) => (await import("./status.js")).upgradeStatus(ctx, name, o))(
        options,
        command,
      ),
    );

  for (const { verb, what } of ACTIONS) {
    upgrade
      .command(verb)
      .argument("[name]", "the MeshUpgrade (default: the one active upgrade)")
      .description(what)
      .option("--timeout <duration>", "how long to wait for the engine to acknowledge it", "30s")
      .option("--no-wait", "set the action and return without waiting for the acknowledgement")
      .action((name: string | undefined, options: ActionOptions, command: Command) =>
        host.action<ActionOptions>(async (ctx, o) => (await import("./action.js")).upgradeAction(ctx, verb, name, o))(
          options,
          command,
        ),
      );
  }
}
