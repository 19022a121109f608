// The kubeconfig a sandbox writes for its clients (kubectl, client-node, meshlift).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { stringify } from "yaml";

export interface KubeconfigUser {
  name: string;
  token: string;
}

/** A kubeconfig with one context per user; the first user's context is current. */
export function renderKubeconfig(server: string, users: KubeconfigUser[], clusterName = "sandbox"): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: clusterName,
        // plain HTTP on loopback: client-node refuses http without insecure-skip-tls-verify (KUBE-NOTES §2)
        cluster: { server, "insecure-skip-tls-verify": true },
      },
    ],
    users: users.map((u) => ({ name: u.name, user: { token: u.token } })),
    contexts: users.map((u, i) => ({
      name: i === 0 ? clusterName : `${clusterName}-${u.name}`,
      context: { cluster: clusterName, user: u.name, namespace: "default" },
    })),
    "current-context": clusterName,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, server: string, users: KubeconfigUser[], clusterName = "sandbox"): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderKubeconfig(server, users, clusterName), { mode: 0o600 });
}
