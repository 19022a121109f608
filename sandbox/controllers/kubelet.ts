// The kubelets of the simulated nodes: register the nodes, run bound pods through
// Pending (ContainerCreating) -> Running -> Ready, apply fault rules (crash loops, failing readiness),
// complete run-to-completion pods, and finish graceful deletions. Every pod status change is a
// write to the status subresource, so watchers see MODIFIED events as on a real cluster.
import { createHash, randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { KObject, PodFault, StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import { nodeInternalIP, readyNode } from "./nodes.js";
import {
  type Condition,
  controllerRef,
  findCondition,
  isDeleting,
  objKey,
  setCondition,
  splitNsName,
  timestamp,
} from "./meta.js";

const COMPONENT = "kubelet";
/** Istio's sidecar stays up while the application containers crash; the application crashes. */
const SIDECAR_NAMES = new Set(["istio-proxy"]);

/** What the kubelet remembers about one pod between reconciles (its pod worker). */
interface PodWorker {
  uid: string;
  admittedAt: number;
  /** when the current run of the app containers started (undefined while creating) */
  runStart?: number;
  /** crash-loop bookkeeping: containers waiting in CrashLoopBackOff since this time */
  backoffSince?: number;
  restartCount: number;
  lastTermination?: { startedAt: number; finishedAt: number };
  containerIds: Map<string, string>;
  terminatingSince?: number;
  killingRecorded?: boolean;
  startedRecorded?: boolean;
  podIP?: string;
}

/** Random bytes drawn a page at a time: one container ID each, without a system call per container. */
const entropy = { pool: Buffer.alloc(0), used: 0 };

function containerId(): string {
  if (entropy.used + 32 > entropy.pool.length) {
    entropy.pool = randomBytes(4096);
    entropy.used = 0;
  }
  const id = entropy.pool.toString("hex", entropy.used, entropy.used + 32);
  entropy.used += 32;
  return `containerd://${id}`;
}

/** image -> its imageID: the digest is a function of the image, and a fleet runs few images */
const imageIds = new Map<string, string>();

function imageId(image: string): string {
  let id = imageIds.get(image);
  if (id === undefined) {
    id = computeImageId(image);
    if (imageIds.size < 10_000) imageIds.set(image, id);
  }
  return id;
}

function computeImageId(image: string): string {
  const repo = image.split("@")[0].replace(/:[^/:]+$/, "");
  const qualified = repo.includes("/")
    ? repo.split("/")[0].includes(".")
      ? repo
      : `docker.io/${repo}`
    : `docker.io/library/${repo}`;
  return `${qualified}@sha256:${createHash("sha256").update(image).digest("hex")}`;
}

function isNativeSidecar(c: any): boolean {
  return c.restartPolicy === "Always";
}

/** Pods that run to completion: Job pods, and any pod whose restartPolicy is not Always. */
function runsToCompletion(pod: KObject): boolean {
  return controllerRef(pod)?.kind === "Job" || (pod.spec?.restartPolicy ?? "Always") !== "Always";
}

function sameFault(a: PodFault, b: PodFault): boolean {
  return !!a.crashLoop === !!b.crashLoop && !!a.neverReady === !!b.neverReady;
}

function crashingContainers(pod: KObject): Set<string> {
  const names: string[] = (pod.spec?.containers ?? []).map((c: any) => c.name);
  const app = names.filter((n) => !SIDECAR_NAMES.has(n));
  return new Set(app.length ? app : names);
}

export function kubeletController(ctx: ControllerContext): Controller {
  const { store, events, timing, index } = ctx;
  const workers = new Map<string, PodWorker>(); // by ns/name
  let ipCounter = 0;

  function nextPodIP(): string {
    const n = ipCounter++;
    return `10.${244 + (Math.floor(n / 65024) % 12)}.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
  }

  function nodeIP(nodeName: string): string {
    const node = store.get("/nodes", undefined, nodeName);
    const addr = (node?.status?.addresses ?? []).find((a: any) => a.type === "InternalIP");
    if (addr?.address) return addr.address;
    const i = ctx.nodes.indexOf(nodeName);
    return nodeInternalIP(i < 0 ? ctx.nodes.length : i);
  }

  /** A kubelet that starts (or restarts) with pods already running rebuilds its view from their status. */
  function restore(pod: KObject, now: number): PodWorker {
    const w: PodWorker = { uid: pod.metadata.uid!, admittedAt: now, restartCount: 0, containerIds: new Map() };
    const st = pod.status ?? {};
    if (st.startTime) w.admittedAt = Date.parse(st.startTime) || now;
    if (st.phase === "Running") {
      w.runStart = now;
      w.podIP = st.podIP;
      w.startedRecorded = true;
      for (const c of st.containerStatuses ?? []) {
        w.restartCount = Math.max(w.restartCount, c.restartCount ?? 0);
        if (c.containerID) w.containerIds.set(c.name, c.containerID);
      }
    }
    return w;
  }

  /** Registers each node the scenario did not store, and reports Ready for any that has no Ready condition. */
  function registerNodes(): void {
    const kubernetesVersion: string = (store as any).types?.kubernetesVersion ?? "1.31.0";
    ctx.nodes.forEach((name, i) => {
      const node = readyNode(name, i, { kubernetesVersion, maxPods: 110, now: timestamp(ctx.now()) });
      if (!store.get("/nodes", undefined, name)) {
        try {
          // a create may drop the status (as a real server does): the Ready report below then sets it
          store.create("/nodes", node, actor(COMPONENT));
        } catch {
          // registered concurrently by the scenario: fine
        }
      }
      const stored = store.get("/nodes", undefined, name);
      if (!stored || findCondition(stored, "Ready")) return;
      store.mutate(
        "/nodes",
        undefined,
        name,
        (n) => {
          n.status = { ...(n.status ?? {}), ...node.status };
        },
        { subresource: "status", ...actor(COMPONENT) },
      );
    });
  }

  /** The pod status the kubelet reports for the worker's current state. */
  function render(
    pod: KObject,
    w: PodWorker,
    now: number,
    state: { phase: string; ready: boolean; crashing: Set<string>; completedAt?: number; failed?: boolean },
  ) {
    const nowIso = timestamp(now);
    const st = pod.status ?? {};
    const running = w.runStart !== undefined;
    const inBackoff = w.backoffSince !== undefined;
    const terminal = state.phase === "Succeeded" || state.phase === "Failed";
    const containerStatus = (c: any, sidecar: boolean) => {
      const base: any = {
        name: c.name,
        image: c.image,
        imageID: running ? imageId(c.image ?? "") : "",
        lastState: {},
        ready: false,
        restartCount: 0,
        started: false,
      };
      if (!running) {
        base.state = { waiting: { reason: sidecar ? "PodInitializing" : "ContainerCreating" } };
        return base;
      }
      if (!w.containerIds.has(c.name)) w.containerIds.set(c.name, containerId());
      base.containerID = w.containerIds.get(c.name);
      const crashes = state.crashing.has(c.name);
      if (crashes) {
        base.restartCount = w.restartCount;
        if (w.lastTermination)
          base.lastState = {
            terminated: {
              exitCode: 1,
              reason: "Error",
              startedAt: timestamp(w.lastTermination.startedAt),
              finishedAt: timestamp(w.lastTermination.finishedAt),
              containerID: base.containerID,
            },
          };
      }
      if (terminal) {
        const failed = state.failed && crashes;
        base.state = {
          terminated: {
            exitCode: failed ? 1 : 0,
            reason: failed ? "Error" : "Completed",
            startedAt: timestamp(w.runStart!),
            finishedAt: timestamp(state.completedAt ?? now),
            containerID: base.containerID,
          },
        };
        return base;
      }
      if (crashes && inBackoff) {
        base.state = {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `back-off ${Math.max(1, Math.round(timing.crashLoopMs / 1000))}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          },
        };
        return base;
      }
      base.state = { running: { startedAt: timestamp(w.runStart!) } };
      base.started = true;
      base.ready = state.ready;
      return base;
    };
    const initContainers: any[] = pod.spec?.initContainers ?? [];
    const initStatuses = initContainers.map((c) => {
      if (isNativeSidecar(c)) {
        const s = containerStatus(c, true);
        // a native sidecar (restartPolicy Always init container) keeps running beside the app
        if (running && !terminal) {
          s.state = { running: { startedAt: timestamp(w.runStart!) } };
          s.started = true;
          s.ready = state.phase === "Running" && (state.ready || !state.crashing.has(c.name));
        }
        return s;
      }
      const s: any = {
        name: c.name,
        image: c.image,
        imageID: running ? imageId(c.image ?? "") : "",
        lastState: {},
        ready: running,
        restartCount: 0,
        started: false,
      };
      if (!w.containerIds.has(c.name)) w.containerIds.set(c.name, containerId());
      s.state = running
        ? {
            terminated: {
              exitCode: 0,
              reason: "Completed",
              startedAt: timestamp(w.admittedAt),
              finishedAt: timestamp(w.runStart!),
              containerID: w.containerIds.get(c.name),
            },
          }
        : { waiting: { reason: "PodInitializing" } };
      if (running) s.containerID = w.containerIds.get(c.name);
      return s;
    });
    const containerStatuses = (pod.spec?.containers ?? []).map((c: any) => containerStatus(c, false));
    const unready = [...containerStatuses, ...initStatuses.filter((_, i) => isNativeSidecar(initContainers[i]))]
      .filter((s) => !s.ready)
      .map((s) => s.name);

    let conditions: Condition[] = st.conditions ?? [];
    const put = (type: string, status: boolean, reason?: string, message?: string) => {
      const c: any = { type, status: status ? "True" : "False", lastProbeTime: null };
      if (reason) c.reason = reason;
      if (message) c.message = message;
      conditions = setCondition(conditions, c, nowIso);
      const i = conditions.findIndex((x) => x.type === type);
      if (!reason) delete (conditions[i] as any).reason;
      if (!message) delete (conditions[i] as any).message;
    };
    put("PodReadyToStartContainers", running && !terminal);
    const initDone = initContainers.filter((c) => !isNativeSidecar(c)).length === 0 || running;
    if (terminal) put("Initialized", true, "PodCompleted");
    else
      put(
        "Initialized",
        initDone,
        initDone ? undefined : "ContainersNotInitialized",
        initDone
          ? undefined
          : `containers with incomplete status: [${initContainers
              .filter((c) => !isNativeSidecar(c))
              .map((c) => c.name)
              .join(" ")}]`,
      );
    const readyReason = terminal ? "PodCompleted" : "ContainersNotReady";
    const readyMessage = terminal ? undefined : `containers with unready status: [${unready.join(" ")}]`;
    put("Ready", state.ready, state.ready ? undefined : readyReason, state.ready ? undefined : readyMessage);
    put("ContainersReady", state.ready, state.ready ? undefined : readyReason, state.ready ? undefined : readyMessage);
    put("PodScheduled", true);
    const order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
    conditions.sort((a, b) => (order.indexOf(a.type) + 1 || 99) - (order.indexOf(b.type) + 1 || 99));

    const hostIP = nodeIP(pod.spec.nodeName);
    const status: any = {
      ...st,
      phase: state.phase,
      conditions,
      hostIP,
      hostIPs: [{ ip: hostIP }],
      startTime: st.startTime ?? timestamp(w.admittedAt),
      containerStatuses,
      qosClass: st.qosClass ?? "BestEffort",
    };
    if (initStatuses.length) status.initContainerStatuses = initStatuses;
    else delete status.initContainerStatuses;
    if (running) {
      w.podIP ??= nextPodIP();
      status.podIP = w.podIP;
      status.podIPs = [{ ip: w.podIP }];
    }
    return status;
  }

  function writeStatus(pod: KObject, status: any): void {
    if (isDeepStrictEqual(status, pod.status)) return; // nothing new to report: no write
    const cur = store.get("/pods", pod.metadata.namespace, pod.metadata.name!);
    if (!cur || cur.metadata.uid !== pod.metadata.uid) return;
    // status is newly rendered and the rest is the stored pod's own: a copy-on-write status update
    store.updateShared("/pods", { ...cur, status }, { subresource: "status", ...actor(COMPONENT) });
  }

  function recordStart(pod: KObject): void {
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    for (const c of containers) {
      events.record(
        pod,
        "Normal",
        "Pulled",
        `Container image "${c.image}" already present on machine`,
        COMPONENT,
        pod.spec.nodeName,
      );
      events.record(pod, "Normal", "Created", `Created container ${c.name}`, COMPONENT, pod.spec.nodeName);
      events.record(pod, "Normal", "Started", `Started container ${c.name}`, COMPONENT, pod.spec.nodeName);
    }
  }

  const queue = ctx.loop.queue("kubelet", (key) => {
    const { namespace, name } = splitNsName(key);
    const pod = store.get("/pods", namespace, name);
    let w = workers.get(key);
    if (!pod) {
      workers.delete(key);
      return;
    }
    const nodeName: string | undefined = pod.spec?.nodeName;
    if (!nodeName) return;
    const now = ctx.now();
    if (!w || w.uid !== pod.metadata.uid) {
      w = restore(pod, now);
      workers.set(key, w);
    }

    // graceful deletion: containers get SIGTERM, the pod object goes once they stopped
    if (isDeleting(pod)) {
      w.terminatingSince ??= now;
      if (!w.killingRecorded && pod.status?.phase === "Running") {
        w.killingRecorded = true;
        for (const c of pod.spec?.containers ?? [])
          events.record(pod, "Normal", "Killing", `Stopping container ${c.name}`, COMPONENT, nodeName);
      }
      const remaining = w.terminatingSince + timing.podTerminateMs - now;
      if (remaining > 0) return { requeueAfterMs: remaining, settling: true };
      store.delete("/pods", namespace, name, {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
        actor: actor(COMPONENT).actor,
      });
      workers.delete(key);
      return;
    }
    const phase = pod.status?.phase ?? "Pending";
    if (phase === "Succeeded" || phase === "Failed") return;

    const fault = ctx.podFault(pod);
    const completes = runsToCompletion(pod);

    // Pending: admitted, sandbox and images being prepared
    if (w.runStart === undefined) {
      const due = w.admittedAt + timing.podStartMs;
      if (now < due || !pod.status?.startTime) {
        writeStatus(pod, render(pod, w, now, { phase: "Pending", ready: false, crashing: new Set() }));
        return { requeueAfterMs: Math.max(0, due - now), settling: true };
      }
      // the containers started when they were due. A kubelet that gets to the pod later reports the state as of
      // now (its status manager writes only the latest status), so a late sync may find them ready already and
      // the not-ready Running report is skipped, as on a busy node.
      w.runStart = due;
    }
    if (!w.startedRecorded) {
      w.startedRecorded = true;
      recordStart(pod);
    }

    const crashing = fault.crashLoop ? crashingContainers(pod) : new Set<string>();
    let result: { requeueAfterMs: number; settling: boolean } | undefined;
    const wake = (ms: number, settling: boolean) => {
      if (!result || ms < result.requeueAfterMs) result = { requeueAfterMs: Math.max(0, ms), settling };
    };

    if (fault.crashLoop) {
      // CrashLoopBackOff: run crashLoopMs, exit 1, wait crashLoopMs in back-off, start again
      if (w.backoffSince === undefined) {
        if (now >= w.runStart + timing.crashLoopMs) {
          w.lastTermination = { startedAt: w.runStart, finishedAt: now };
          if (completes && pod.spec?.restartPolicy === "Never") {
            writeStatus(
              pod,
              render(pod, w, now, { phase: "Failed", ready: false, crashing, completedAt: now, failed: true }),
            );
            return;
          }
          w.restartCount++;
          w.backoffSince = now;
          for (const c of crashing)
            events.record(
              pod,
              "Warning",
              "BackOff",
              `Back-off restarting failed container ${c} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
              COMPONENT,
              nodeName,
            );
          wake(timing.crashLoopMs, false);
        } else wake(w.runStart + timing.crashLoopMs - now, false);
      } else if (now >= w.backoffSince + timing.crashLoopMs) {
        w.backoffSince = undefined;
        w.runStart = now;
        wake(timing.crashLoopMs, false);
      } else wake(w.backoffSince + timing.crashLoopMs - now, false);
    } else if (w.backoffSince !== undefined) {
      // the fault is gone: the next restart succeeds
      w.backoffSince = undefined;
      w.runStart = now;
    }

    if (completes && !fault.crashLoop) {
      const doneAt = w.runStart + timing.jobRunMs;
      if (now >= doneAt) {
        writeStatus(pod, render(pod, w, now, { phase: "Succeeded", ready: false, crashing, completedAt: now }));
        return;
      }
      wake(doneAt - now, true);
    }

    let ready = false;
    if (!fault.crashLoop && !fault.neverReady) {
      const readyAt = w.runStart + timing.podReadyMs;
      ready = now >= readyAt;
      if (!ready) wake(readyAt - now, true);
    }
    writeStatus(pod, render(pod, w, now, { phase: "Running", ready, crashing }));
    return result;
  });

  registerNodes();

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key !== "/pods") return;
      if (ev.type === "DELETED") {
        workers.delete(objKey(ev.object));
        return;
      }
      // the kubelet acts on binding, deletion and spec changes; its own status writes and timers do the rest.
      // Labels matter only through the fault rules that match the pod: a relabelling they ignore changes nothing.
      const prev = ev.old;
      const cur = ev.object;
      if (!cur.spec?.nodeName) return;
      if (
        ev.type === "ADDED" ||
        !prev ||
        prev.spec?.nodeName !== cur.spec.nodeName ||
        prev.metadata.deletionTimestamp !== cur.metadata.deletionTimestamp ||
        prev.metadata.generation !== cur.metadata.generation ||
        (prev.metadata.labels !== cur.metadata.labels && !sameFault(ctx.podFault(prev), ctx.podFault(cur)))
      )
        queue.add(objKey(cur));
    },
    resync() {
      // fault rules may have changed: every pod is looked at again
      for (const ns of index.names("/namespaces", undefined))
        for (const name of index.names("/pods", ns)) queue.add(`${ns}/${name}`);
    },
  };
}
