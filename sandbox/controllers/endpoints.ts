// The endpoints and endpointslice controllers: for every Service with a selector, an Endpoints object
// of the same name (Ready pods in addresses, the rest in notReadyAddresses) and one EndpointSlice
// labelled kubernetes.io/service-name (terminating pods kept with ready=false, terminating=true).
import { ApiError, type KObject, type StoreEvent } from "../api/types.js";
import { actor, type Controller, type ControllerContext } from "./context.js";
import {
  controllerRef,
  deepEqual,
  isDeleting,
  mapSelectorMatches,
  objKey,
  ownerRefTo,
  randomSuffix,
  splitNsName,
  timestamp,
} from "./meta.js";
import { isReady, isTerminal } from "./pods.js";

const COMPONENT = "endpoint-controller";
const SLICE_COMPONENT = "endpointslice-controller";
const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
const MANAGED_BY_VALUE = "endpointslice-controller.k8s.io";

/** podutil.FindPort: a named targetPort resolves to the pod's container port of that name */
function resolvePort(pod: KObject, port: any): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(String(target))) return Number(target);
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? "TCP") === (port.protocol ?? "TCP")) return p.containerPort;
  }
  return undefined;
}

export function endpointsController(ctx: ControllerContext): Controller {
  const { store, index } = ctx;

  function podsOf(svc: KObject): KObject[] {
    const ns = svc.metadata.namespace!;
    const out: KObject[] = [];
    for (const name of index.names("/pods", ns)) {
      const pod = store.get("/pods", ns, name);
      if (pod && mapSelectorMatches(svc.spec.selector, pod.metadata.labels)) out.push(pod);
    }
    return out.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  }

  function write(key: string, desired: KObject, component: string): void {
    const existing = store.get(key, desired.metadata.namespace, desired.metadata.name!);
    if (!existing) {
      try {
        store.create(key, desired, actor(component));
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 409)) throw err;
      }
      return;
    }
    store.mutate(
      key,
      desired.metadata.namespace,
      desired.metadata.name!,
      (o) => {
        o.metadata.labels = desired.metadata.labels;
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), ...(desired.metadata.annotations ?? {}) };
        if (desired.metadata.ownerReferences) o.metadata.ownerReferences = desired.metadata.ownerReferences;
        for (const field of ["subsets", "addressType", "endpoints", "ports"]) {
          if (field in desired) o[field] = desired[field];
          else delete o[field];
        }
      },
      actor(component),
    );
  }

  const queue = ctx.loop.queue("endpoints", (key) => {
    const { namespace, name } = splitNsName(key);
    const svc = store.get("/services", namespace, name);
    const selector = svc?.spec?.selector;
    const sliceNames = index.names("discovery.k8s.io/endpointslices", namespace).filter((n) => {
      const s = store.get("discovery.k8s.io/endpointslices", namespace, n);
      return s?.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY] === MANAGED_BY_VALUE;
    });
    if (!svc || isDeleting(svc) || !selector || Object.keys(selector).length === 0) {
      // Endpoints of a selector-less Service belong to the user; ours go when the Service goes
      if (!svc) {
        const ep = store.get("/endpoints", namespace, name);
        if (ep && !ep.metadata.labels?.["endpoints.kubernetes.io/managed-by-user"]) {
          try {
            store.delete("/endpoints", namespace, name, actor(COMPONENT));
          } catch (err) {
            if (!(err instanceof ApiError && err.code === 404)) throw err;
          }
        }
      }
      return;
    }
    const pods = podsOf(svc).filter((p) => !isTerminal(p) && p.status?.podIP);
    const publishNotReady = !!svc.spec.publishNotReadyAddresses;
    const ports: any[] = svc.spec.ports ?? [];

    // Endpoints: one subset per distinct resolved port set (pods usually agree, giving one subset)
    const subsets = new Map<string, any>();
    for (const pod of pods) {
      if (isDeleting(pod) && !publishNotReady) continue;
      const resolved = ports
        .map((p) => ({
          name: p.name,
          port: resolvePort(pod, p),
          protocol: p.protocol ?? "TCP",
          ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
        }))
        .filter((p) => p.port !== undefined);
      if (ports.length && resolved.length === 0) continue;
      const portsKey = JSON.stringify(resolved);
      const subset = subsets.get(portsKey) ?? { addresses: [], notReadyAddresses: [], ports: resolved };
      subsets.set(portsKey, subset);
      const address = {
        ip: pod.status.podIP,
        nodeName: pod.spec.nodeName,
        targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
      };
      if (isReady(pod) || publishNotReady) subset.addresses.push(address);
      else subset.notReadyAddresses.push(address);
    }
    const subsetList = [...subsets.values()].map((s) => {
      const out: any = {};
      if (s.addresses.length) out.addresses = s.addresses;
      if (s.notReadyAddresses.length) out.notReadyAddresses = s.notReadyAddresses;
      if (s.ports.length) out.ports = s.ports;
      return out;
    });
    const existingEp = store.get("/endpoints", namespace, name);
    const epLabels = { ...(svc.metadata.labels ?? {}), "endpoints.kubernetes.io/managed-by": "endpoint-controller" };
    const triggerTime = timestamp(ctx.now());
    const epDesired: KObject = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name, namespace, labels: epLabels },
      ...(subsetList.length ? { subsets: subsetList } : {}),
    };
    const epChanged =
      !existingEp ||
      !deepEqual(existingEp.subsets ?? [], subsetList) ||
      !deepEqual(existingEp.metadata.labels ?? {}, epLabels);
    if (epChanged) {
      epDesired.metadata.annotations = { "endpoints.kubernetes.io/last-change-trigger-time": triggerTime };
      write("/endpoints", epDesired, COMPONENT);
    }

    // EndpointSlice: one slice per Service (the real controller splits at 100 endpoints)
    const endpoints = pods.map((pod) => {
      const terminating = isDeleting(pod);
      const ready = isReady(pod);
      return {
        addresses: [pod.status.podIP],
        conditions: { ready: ready && !terminating, serving: ready, terminating },
        nodeName: pod.spec.nodeName,
        targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
      };
    });
    const slicePorts = ports.map((p) => {
      const port = pods.length ? resolvePort(pods[0], p) : typeof p.targetPort === "number" ? p.targetPort : p.port;
      return {
        name: p.name ?? "",
        port,
        protocol: p.protocol ?? "TCP",
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      };
    });
    const sliceName = sliceNames[0] ?? `${name}-${randomSuffix()}`;
    const sliceLabels = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY]: MANAGED_BY_VALUE };
    const existingSlice = store.get("discovery.k8s.io/endpointslices", namespace, sliceName);
    const sliceDesired: KObject = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: sliceName,
        namespace,
        labels: sliceLabels,
        ownerReferences: [ownerRefTo(svc, "v1", "Service")],
      },
      addressType: "IPv4",
      endpoints,
      ports: slicePorts,
    };
    if (
      !existingSlice ||
      !deepEqual(existingSlice.endpoints ?? [], endpoints) ||
      !deepEqual(existingSlice.ports ?? [], slicePorts) ||
      !deepEqual(existingSlice.metadata.labels ?? {}, sliceLabels)
    ) {
      sliceDesired.metadata.annotations = { "endpoints.kubernetes.io/last-change-trigger-time": triggerTime };
      write("discovery.k8s.io/endpointslices", sliceDesired, SLICE_COMPONENT);
    }
    for (const extra of sliceNames.slice(1)) {
      try {
        store.delete("discovery.k8s.io/endpointslices", namespace, extra, actor(SLICE_COMPONENT));
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
  });

  /** names of the Services in the pod's namespace whose selector matches these labels */
  function servicesSelecting(ns: string, labels: Record<string, string> | undefined): Set<string> {
    const out = new Set<string>();
    for (const name of index.names("/services", ns)) {
      const svc = store.get("/services", ns, name);
      if (svc && mapSelectorMatches(svc.spec?.selector, labels)) out.add(name);
    }
    return out;
  }

  return {
    queue,
    onEvent(ev: StoreEvent) {
      if (ev.key === "/services") queue.add(objKey(ev.object));
      else if (ev.key === "/pods") {
        const o = ev.object;
        const prev = ev.old;
        const ns = o.metadata.namespace!;
        // only what endpoints show: IP, readiness, deletion, node (endpointslice util podEndpointsChanged)
        const podChanged =
          !prev ||
          ev.type !== "MODIFIED" ||
          prev.status?.podIP !== o.status?.podIP ||
          isReady(prev) !== isReady(o) ||
          !!prev.metadata.deletionTimestamp !== !!o.metadata.deletionTimestamp ||
          isTerminal(prev) !== isTerminal(o);
        const labelsChanged =
          !!prev && prev.metadata.labels !== o.metadata.labels && !deepEqual(prev.metadata.labels, o.metadata.labels);
        if (!podChanged && !labelsChanged) return;
        const services = servicesSelecting(ns, o.metadata.labels);
        if (labelsChanged) {
          // GetServicesToUpdateOnPodChange: a label change alone touches only the Services the pod joined or left
          const before = servicesSelecting(ns, prev!.metadata.labels);
          if (podChanged) for (const name of before) services.add(name);
          else {
            for (const name of before) if (!services.delete(name)) services.add(name);
          }
        }
        for (const name of services) queue.add(`${ns}/${name}`);
      } else if (ev.key === "discovery.k8s.io/endpointslices" && ev.type === "DELETED") {
        const ref = controllerRef(ev.object);
        if (ref?.kind === "Service") queue.add(`${ev.object.metadata.namespace}/${ref.name}`);
      }
    },
  };
}
