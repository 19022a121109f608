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

// every pod's readiness, kept from the store's change events (seeded from a list in the same tick, so none is
// missed): checking it every 250 ms costs nothing, where listing 20,000 pods 4 times a second slowed the load
const podReady = new Map<string, boolean>();
const podId = (pod: KObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;
for (const pod of sb.store.list("/pods")) podReady.set(podId(pod), runningAndReady(pod));
let readyCount = [...podReady.values()].filter(Boolean).length;
const unsubscribe = sb.store.subscribe((ev) => {
  if (ev.key !== "/pods") return;
  const id = podId(ev.object);
  if (podReady.get(id)) readyCount--;
  if (ev.type === "DELETED") podReady.delete(id);
  else {
    const ready = runningAndReady(ev.object);
    podReady.set(id, ready);
    if (ready) readyCount++;
  }
});

let lastProgress = 0;
for (;;) {
  const pods = podReady.size;
  const ready = readyCount;
  const elapsedMs = Math.round(performance.now() - t0);
  if (pods > 0 && ready === pods) {
    unsubscribe();
    emit({ event: "ready", pods, runningAndReady: ready, elapsedMs });
    break;
  }
  if (elapsedMs - lastProgress >= 2000) {
    emit({ event: "progress", pods, runningAndReady: ready, elapsedMs });
    lastProgress = elapsedMs;
  }
  await new Promise((r) => setTimeout(r, 250));
}
