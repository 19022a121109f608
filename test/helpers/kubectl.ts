// Runs the real kubectl binaries found on this machine against a sandbox.
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every kubectl on the machine: `kubectl` plus `kubectl.1.NN` beside the real binary, sorted by version. */
export function kubectlBinaries(): { name: string; path: string }[] {
  const found = new Map<string, string>();
  const pathDirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  for (const dir of pathDirs) {
    const p = join(dir, "kubectl");
    if (existsSync(p) && !found.has("kubectl")) {
      found.set("kubectl", p);
      const realDir = dirname(realpathSync(p));
      for (const d of new Set([dir, realDir])) {
        for (const f of readdirSync(d)) if (/^kubectl\.1\.\d+$/.test(f)) found.set(f, join(d, f));
      }
    }
  }
  const minor = (n: string) => (n === "kubectl" ? 999 : Number(n.split(".")[2]));
  return [...found.entries()].map(([name, path]) => ({ name, path })).sort((a, b) => minor(a.name) - minor(b.name));
}

export function kubectl(
  bin: string,
  kubeconfig: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      [`--kubeconfig=${kubeconfig}`, ...args],
      {
        timeout: opts.timeoutMs ?? 90_000,
        maxBuffer: 512 * 1024 * 1024,
        env: { ...process.env, KUBECONFIG: kubeconfig, KUBECTL_KUBERC: "false", HOME: process.env.HOME ?? "/tmp" },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === "number" ? (err as any).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) {
      child.stdin?.end(opts.input);
    }
  });
}

/** Starts a long-running kubectl (e.g. `get -w`) and collects its output until it exits. */
export function kubectlStream(
  bin: string,
  kubeconfig: string,
  args: string[],
): { done: Promise<KubectlResult>; output: () => string; kill: () => void } {
  const child = spawn(bin, [`--kubeconfig=${kubeconfig}`, ...args], {
    env: { ...process.env, KUBECTL_KUBERC: "false" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<KubectlResult>((resolve) =>
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr })),
  );
  return { done, output: () => stdout, kill: () => child.kill("SIGTERM") };
}
