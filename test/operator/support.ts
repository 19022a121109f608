// Shared by the operator's sandbox tests: an empty sandbox with the namespaces the operator needs,
// polling with a deadline, and a strict-enough parser of the Prometheus text format.
import { startSandbox, type Sandbox } from "../../sandbox/index.js";
import { loadCluster, type Cluster } from "../../src/kube/config.js";
import { collectionPath, RESOURCES } from "../../src/kube/resources.js";

export const LEASE_NAMESPACE = "meshlift-system";

/** An empty cluster plus `meshlift-system` for Leases (`default` already exists, for Events about cluster-scoped objects). */
export async function operatorSandbox(): Promise<{ sb: Sandbox; cluster: Cluster }> {
  const sb = await startSandbox({ scenario: "demo", empty: true });
  const cluster = loadCluster({ kubeconfig: sb.kubeconfigPath, env: {} });
  // an empty sandbox still has "default" and the other system namespaces
  await cluster.rest.requestJson({
    method: "POST",
    path: collectionPath(RESOURCES.namespaces),
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: LEASE_NAMESPACE } },
  });
  return { sb, cluster };
}

/** Polls until `condition` holds; fails naming `what` after `ms`. */
export async function eventually(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (0.0.4) and checks what scrapers reject: every
 * sample belongs to a family declared by # TYPE before it, names and labels are well formed,
 * values are numbers, a family is not declared twice.
 */
export function parsePromText(text: string): { types: Map<string, string>; samples: PromSample[] } {
  const types = new Map<string, string>();
  const samples: PromSample[] = [];
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const sampleLine = new RegExp(`^(${name})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
  const labelPair = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/;
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    const at = `line ${i + 1} "${line}"`;
    const typeMatch = line.match(new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`));
    if (typeMatch) {
      if (types.has(typeMatch[1])) throw new Error(`${at}: family declared twice`);
      types.set(typeMatch[1], typeMatch[2]);
      return;
    }
    if (line.startsWith("# HELP ") && !new RegExp(`^# HELP ${name}( |$)`).test(line))
      throw new Error(`${at}: malformed HELP`);
    if (line.startsWith("#")) return;
    const m = line.match(sampleLine);
    if (!m) throw new Error(`${at}: not a sample`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const pair of m[2].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
        const p = pair.match(labelPair);
        if (!p) throw new Error(`${at}: bad label ${pair}`);
        labels[p[1]] = p[2];
      }
    }
    const value = Number(m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`${at}: value is not a number`);
    const family = [...types.keys()].find(
      (f) => m[1] === f || (/_(bucket|sum|count|total|created)$/.test(m[1]) && m[1].startsWith(`${f}_`)),
    );
    if (!family) throw new Error(`${at}: sample of an undeclared family`);
    samples.push({ name: m[1], labels, value });
  });
  return { types, samples };
}

export function sampleValue(
  samples: PromSample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
