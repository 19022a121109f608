// Exit codes scripts can rely on (documented in docs/cli.md). Computed from what a command
// found, never from which code path happened to end the process.

export const ExitCode = {
  /** done, nothing to report */
  Ok: 0,
  /** done, with warnings */
  Warnings: 1,
  /** warnings, and --strict asked to treat them as failure */
  StrictWarnings: 2,
  /** errors: the upgrade is blocked, or the command failed */
  Errors: 3,
  /** bad invocation: unknown flag or command, malformed or unknown version */
  Usage: 4,
  /** the cluster could not be used: unreachable, bad kubeconfig, credentials rejected, permission missing */
  ClusterAccess: 5,
  /** the upgrade waits for a person: approval, paused, manual decommission */
  NeedsAction: 6,
  /** interrupted (Ctrl-C): 128 + SIGINT */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A refused invocation; its message is printed as is and the exit code is Usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The exit code for counted findings (precheck): errors beat warnings; --strict escalates warnings. */
export function exitCodeForFindings(counts: { errors: number; warnings: number }, strict: boolean): ExitCode {
  if (counts.errors > 0) return ExitCode.Errors;
  if (counts.warnings > 0) return strict ? ExitCode.StrictWarnings : ExitCode.Warnings;
  return ExitCode.Ok;
}
