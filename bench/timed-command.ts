// Wall time of one external command (kubectl, the meshlift CLI) with its stdout sent to a file or
// /dev/null, as a user would time `cmd > /dev/null` in a shell.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface TimedRun {
  ms: number;
  code: number;
  /** the last 2,000 characters of stderr, for the report when a run fails */
  stderrTail: string;
}

export function timeCommand(
  command: string,
  args: string[],
  options: { stdoutFile?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<TimedRun> {
  const out = openSync(options.stdoutFile ?? "/dev/null", "w");
  const started = performance.now();
  const child = spawn(command, args, { stdio: ["ignore", out, "pipe"], env: options.env ?? process.env });
  let stderrTail = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-2000);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
  return new Promise((resolve) => {
    child.once("close", (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      closeSync(out);
      resolve({
        ms: Math.round(ms),
        code: code ?? (signal ? 128 : 1),
        stderrTail: signal ? `${stderrTail}\nkilled by ${signal}` : stderrTail,
      });
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      closeSync(out);
      resolve({ ms: Math.round(performance.now() - started), code: 127, stderrTail: err.message });
    });
  });
}

/** kubectl pointed at a kubeconfig, without the user's kuberc, with a discovery cache of its own. */
export function kubectlInvocation(
  kubeconfig: string,
  cacheDir: string,
  args: string[],
): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    command: "kubectl",
    args: [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, ...args],
    env: { ...process.env, KUBECONFIG: kubeconfig, KUBECTL_KUBERC: "false" },
  };
}
