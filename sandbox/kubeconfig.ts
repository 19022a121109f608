// The kubeconfig a sandbox writes for its clients (kubectl, client-node, meshlift).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { stringify } from "yaml";

export interface KubeconfigUser {
  name: string;
  token: string;
}

/** A kubeconfig with one context per user; the first user's context is current. */
export function renderKubeconfig(
  server: string,
  users: KubeconfigUser[],
  caPem?: string,
  clusterName = "sandbox",
): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: clusterName,
        // HTTPS with the sandbox's own CA; plain HTTP would need insecure-skip-tls-verify for client-node
        // and kubectl would not send the token at all
        cluster: caPem
          ? { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") }
          : { server, "insecure-skip-tls-verify": true },
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

export function writeKubeconfig(
  path: string,
  server: string,
  users: KubeconfigUser[],
  caPem?: string,
  clusterName = "sandbox",
): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderKubeconfig(server, users, caPem, clusterName), { mode: 0o600 });
  // the CA beside the kubeconfig, for clients configured by file (Prometheus' tls_config.ca_file)
  if (caPem) writeFileSync(join(dirname(path), "ca.crt"), caPem);
}
