// A Ready worker node as a kubelet registers it: the one shape the scenario loader stores up front and the
// simulated kubelet registers for any node the scenario did not create.
import type { KObject } from "../api/types.js";

const ZONES = ["a", "b", "c"];

export interface NodeShape {
  kubernetesVersion: string;
  /** the node's pod capacity (a kubelet's default is 110) */
  maxPods: number;
  /** RFC 3339 time of the conditions' heartbeat and transition */
  now: string;
}

/** The InternalIP of node `index`. */
export function nodeInternalIP(index: number): string {
  return `10.0.${Math.floor(index / 250)}.${(index % 250) + 2}`;
}

/** Node `index` of the cluster (addresses, pod CIDR, zone and machine ids follow from it). */
export function readyNode(name: string, index: number, shape: NodeShape): KObject {
  const capacity = { cpu: "16", memory: "65851340Ki", "ephemeral-storage": "203056560Ki", pods: String(shape.maxPods) };
  const version = `v${shape.kubernetesVersion}`;
  const cidr = `10.244.${index % 256}.0/24`;
  const id = (index + 1).toString(16);
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: shape.now,
    lastTransitionTime: shape.now,
    reason,
    message,
  });
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": `zone-${ZONES[index % ZONES.length]}`,
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: { podCIDR: cidr, podCIDRs: [cidr] },
    status: {
      capacity,
      allocatable: { ...capacity, cpu: "15800m" },
      conditions: [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
      ],
      addresses: [
        { type: "InternalIP", address: nodeInternalIP(index) },
        { type: "Hostname", address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        kubeletVersion: version,
        kubeProxyVersion: version,
        containerRuntimeVersion: "containerd://1.7.22",
        kernelVersion: "6.1.0-28-cloud-amd64",
        osImage: "Debian GNU/Linux 12 (bookworm)",
        operatingSystem: "linux",
        architecture: "amd64",
        machineID: id.padStart(32, "0"),
        systemUUID: `${id.padStart(8, "0")}-0000-4000-8000-000000000000`,
        bootID: `${id.padStart(8, "0")}-0000-4000-8000-00000000b007`,
      },
    },
  };
}
