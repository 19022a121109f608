// Starts bench/sandbox-server.ts in a child process and reads its memory from /proc, so the
// figures are the sandbox's own and not the benchmark driver's.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { SandboxLine, SandboxProgress, SandboxStarted } from "./sandbox-server.js";

const SERVER = path.resolve(import.meta.dirname, "sandbox-server.ts");

export interface ProcessMemory {
  /** resident set size now (VmRSS) */
  rssMB: number;
  /** peak resident set size since the process started (VmHWM) */
  peakRssMB: number;
}

/** VmRSS and VmHWM of a live process (Linux /proc/<pid>/status, values in kB). */
export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field} line (not Linux?)`);
    return Number(m[1]);
  };
  return { rssMB: Math.round(kB("VmRSS") / 1024), peakRssMB: Math.round(kB("VmHWM") / 1024) };
}

/** CPU time a live process has used so far, user plus system, in ms (Linux /proc/<pid>/stat, clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  // the fields after the command name (which may hold spaces) start at state; utime and stime are the 12th and 13th
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ");
  if (!fields || fields.length < 13) throw new Error(`/proc/${pid}/stat has no utime/stime fields (not Linux?)`);
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface SandboxProcess {
  started: SandboxStarted;
  pid: number;
  /** resolves with the "ready" line, or the last "progress" line when `timeoutMs` passes first */
  allReady(timeoutMs: number): Promise<SandboxProgress>;
  memory(): ProcessMemory;
  /** CPU time the sandbox process has used so far (ms) */
  cpuMs(): number;
  stop(): Promise<void>;
}

/**
 * Spawns the sandbox with a scenario and resolves once it serves (pods may still be starting).
 * BENCH_SANDBOX_NODE_ARGS adds node flags to the sandbox process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
/** Progress lines for a benchmark's log: at most one every 15 s. */
export function logLoadProgress(bench: string): (progress: SandboxProgress) => void {
  let lastShown = 0;
  return (p) => {
    if (p.elapsedMs - lastShown < 15_000) return;
    lastShown = p.elapsedMs;
    console.log(
      `[${bench}]   … ${p.runningAndReady} of ${p.pods} pods Running and Ready after ${Math.round(p.elapsedMs / 1000)} s`,
    );
  };
}

export function startSandboxProcess(
  scenario: string,
  options: { startTimeoutMs?: number; onProgress?: (progress: SandboxProgress) => void } = {},
): Promise<SandboxProcess> {
  const nodeArgs = (process.env.BENCH_SANDBOX_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", SERVER, scenario], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  let stderrTail = "";
  child.stderr.on("data", (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let latest: SandboxProgress | undefined;
  let ready: SandboxProgress | undefined;
  const readyWaiters = new Set<(p: SandboxProgress) => void>();

  return new Promise<SandboxProcess>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 5 * 60_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sandbox ${scenario} not serving after ${timeoutMs} ms; its stderr ends with:\n${stderrTail}`));
    }, timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sandbox ${scenario} exited (${signal ?? code}); its stderr ends with:\n${stderrTail}`));
    });
    createInterface({ input: child.stdout }).on("line", (text) => {
      const line = JSON.parse(text) as SandboxLine;
      if (line.event === "started") {
        clearTimeout(timer);
        const pid = child.pid!;
        resolve({
          started: line,
          pid,
          allReady(waitMs) {
            if (ready) return Promise.resolve(ready);
            return new Promise((done) => {
              const t = setTimeout(() => {
                readyWaiters.delete(done);
                done(latest ?? { event: "progress", pods: line.pods, runningAndReady: 0, elapsedMs: line.startedMs });
              }, waitMs);
              readyWaiters.add((p) => {
                clearTimeout(t);
                done(p);
              });
            });
          },
          memory: () => processMemory(pid),
          cpuMs: () => processCpuMs(pid),
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill("SIGTERM");
            const forced = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(forced);
          },
        });
        return;
      }
      latest = line;
      options.onProgress?.(line);
      if (line.event === "ready") {
        ready = line;
        for (const w of readyWaiters) w(line);
        readyWaiters.clear();
      }
    });
  });
}
