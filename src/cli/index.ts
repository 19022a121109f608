// The CLI factory: `createCli().run(argv, io)` parses with commander, runs one command with the
// injected IO and resolves with the exit code. It never calls process.exit, so tests run it
// in-process and the launcher (bin/meshlift.js) decides how the process ends.
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { CommandContext, type CommandHost, type GlobalOptions } from "./context.js";
import { ExitCode } from "./exit-codes.js";
import type { CliIO } from "./io.js";
import { Output, OUTPUT_FORMATS, type OutputFormat } from "./output.js";
import registerConsole from "./console/index.js";
import registerOperator from "./operator/index.js";
import registerDecommission from "./decommission/index.js";
import registerPrecheck from "./precheck/index.js";
import registerRollout from "./rollout/index.js";
import registerStatus from "./status/index.js";
import registerUpgrade from "./upgrade/index.js";
import registerVersions from "./versions/index.js";

export type { CliIO } from "./io.js";
export { processIO } from "./io.js";
export { ExitCode } from "./exit-codes.js";

/** A command folder's registration function (src/cli/<command>/index.ts default export). */
export type CommandRegistration = (program: Command, host: CommandHost) => void;

export const COMMANDS: CommandRegistration[] = [
  registerStatus,
  registerVersions,
  registerPrecheck,
  registerUpgrade,
  registerRollout,
  registerDecommission,
  registerConsole,
  registerOperator,
];

export interface CliOptions {
  /** "kubectl meshlift" when run as the kubectl plugin */
  programName?: string;
  commands?: CommandRegistration[];
}

export interface Cli {
  run(argv: string[], io: CliIO): Promise<number>;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

const USAGE_ERRORS_ARE_PRINTED_BY_COMMANDER = new Set([
  "commander.unknownOption",
  "commander.unknownCommand",
  "commander.missingArgument",
  "commander.optionMissingArgument",
  "commander.missingMandatoryOptionValue",
  "commander.invalidArgument",
  "commander.excessArguments",
  "commander.conflictingOption",
  "commander.error",
]);

/** Maps a failure to its line on stderr and its exit code. Name checks keep heavy modules unloaded. */
function report(err: unknown, out: Output, io: CliIO): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return ExitCode.Ok;
    if (err.code === "commander.help") return ExitCode.Usage; // no command given: help went to stderr
    if (USAGE_ERRORS_ARE_PRINTED_BY_COMMANDER.has(err.code)) return ExitCode.Usage;
    out.error(err.message);
    return ExitCode.Usage;
  }
  const e = err as { name?: string; message?: string; code?: number; reason?: string; stack?: string };
  switch (e?.name) {
    case "UsageError":
    case "VersionError":
    case "CatalogError":
      out.error(e.message ?? String(err));
      return ExitCode.Usage;
    case "KubeError": {
      out.error(e.message ?? String(err));
      const access = e.code === 0 ? e.reason !== "BadResponse" : e.code === 401 || e.code === 403;
      return access ? ExitCode.ClusterAccess : ExitCode.Errors;
    }
  }
  out.error(
    `unexpected failure: ${e?.message ?? String(err)}${io.env.MESHLIFT_DEBUG ? `\n${e?.stack ?? ""}` : " (set MESHLIFT_DEBUG=1 for the stack)"}`,
  );
  return ExitCode.Errors;
}

function parseOutputFormat(value: string): OutputFormat {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) {
    throw new CommanderError(
      ExitCode.Usage,
      "commander.invalidArgument",
      `-o/--output must be one of ${OUTPUT_FORMATS.join(", ")} (got "${value}")`,
    );
  }
  return value as OutputFormat;
}

export function createCli(options: CliOptions = {}): Cli {
  return {
    async run(argv: string[], io: CliIO): Promise<number> {
      let exitCode: number = ExitCode.Ok;
      let context: CommandContext | undefined;
      const host: CommandHost = {
        action:
          (body) =>
          async (...args: any[]) => {
            const command = args.at(-1) as Command;
            const commandOptions = args.at(-2) as any;
            const globals = command.optsWithGlobals() as GlobalOptions;
            context = new CommandContext(io, { ...globals, color: globals.color !== false });
            exitCode = await body(context, commandOptions);
          },
      };
      const program = new Command()
        .name(options.programName ?? "meshlift")
        .description("Canary upgrades of an Istio service mesh on Kubernetes")
        .version(packageVersion(), "--version", "print the meshlift version")
        .addOption(
          new Option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)"),
        )
        .addOption(new Option("--context <name>", "kubeconfig context (default: its current-context)"))
        .addOption(new Option("-n, --namespace <namespace>", "limit the human-readable views to one namespace"))
        .addOption(
          new Option("-o, --output <format>", `output format: ${OUTPUT_FORMATS.join("|")} (default: table)`).argParser(
            parseOutputFormat,
          ),
        )
        .addOption(new Option("--no-color", "no ANSI colours (also NO_COLOR=1; pipes and CI never get colour)"))
        .addOption(
          new Option("--request-timeout <duration>", "timeout of each API request, e.g. 30s, 2m; 0 = none").default(
            "30s",
          ),
        )
        .addOption(
          new Option("--catalog <file>", "Istio release catalog file (JSON/YAML) merged over the built-in one"),
        )
        .showSuggestionAfterError()
        .exitOverride()
        .configureOutput({
          writeOut: (text) => io.stdout.write(text),
          writeErr: (text) => io.stderr.write(text),
        })
        .addHelpText(
          "after",
          "\nExit codes: 0 ok, 1 warnings, 2 warnings with --strict, 3 errors/blocked, 4 usage error, 5 cluster unreachable or access denied, 6 the upgrade needs you, 130 interrupted.",
        );
      for (const register of options.commands ?? COMMANDS) register(program, host);
      for (const sub of program.commands) sub.exitOverride().configureOutput(program.configureOutput());
      try {
        await program.parseAsync(argv, { from: "user" });
        return exitCode;
      } catch (err) {
        const out = context?.out ?? new Output(io, { color: !argv.includes("--no-color") });
        return report(err, out, io);
      } finally {
        context?.close();
      }
    },
  };
}

/** Shorthand: `run(argv, io)` with the default commands. */
export function run(argv: string[], io: CliIO): Promise<number> {
  return createCli().run(argv, io);
}
