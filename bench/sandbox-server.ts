// The sandbox as its own process for benchmarks, so its memory can be read from /proc/<pid>/status
// without the benchmark's own heap mixed in. Usage: node --import tsx bench/sandbox-server.ts <scenario>
// Prints JSON lines on stdout: one "started" (serving), "progress" every 2 s, one "ready" once every pod
// is Running and Ready; then serves until SIGTERM.
import { startSandbox } from "../sandbox/index.js";
import type { KObject } from "../sandbox/api/types.js";

export interface SandboxStarted {
  event: "started";
  url: string;
  kubeconfigPath: string;
  adminToken: string;
  caPem: string;
  pods: number;
  /** from the startSandbox() call until it resolved (objects created, istiod Available) */
  startedMs: number;
}

export interface SandboxProgress {
  event: "progress" | "ready";
  pods: number;
  runningAndReady: number;
  /** from the startSandbox() call */
  elapsedMs: number;
}

export type SandboxLine = SandboxStarted | SandboxProgress;

// the pod-level gate: phase Running and condition Ready=True, set by the kubelet when every container is ready
function runningAndReady(pod: KObject): boolean {
  if (pod.status?.phase !== "Running") return false;
  return (pod.status.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
  );
}

const emit = (line: SandboxLine) => process.stdout.write(JSON.stringify(line) + "\n");

const scenario = process.argv[2] ?? "large";
const t0 = performance.now();
const sb = await startSandbox({ scenario });
emit({
  event: "started",
  url: sb.url,
  kubeconfigPath: sb.kubeconfigPath,
  adminToken: sb.tokens.admin,
  caPem: sb.caPem,
  pods: sb.store.count("/pods"),
  startedMs: Math.round(performance.now() - t0),
});

const stop = async () => {
  await sb.stop();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());

let lastProgress = 0;
for (;;) {
  const pods = sb.store.list("/pods");
  const ready = pods.filter(runningAndReady).length;
  const elapsedMs = Math.round(performance.now() - t0);
  if (pods.length > 0 && ready === pods.length) {
    emit({ event: "ready", pods: pods.length, runningAndReady: ready, elapsedMs });
    break;
  }
  if (elapsedMs - lastProgress >= 2000) {
    emit({ event: "progress", pods: pods.length, runningAndReady: ready, elapsedMs });
    lastProgress = elapsedMs;
  }
  await new Promise((r) => setTimeout(r, 250));
}
