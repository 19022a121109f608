// Generated namespaces for load scenarios (`generate:` in a scenario, the built-in `large`):
// N namespaces × M Deployments, pods spread evenly, injection labels cycled like a real fleet.
import { closest } from "fastest-levenshtein";

export interface GenerateParams {
  namespaces: number;
  podsPerNamespace?: number;
  pods?: number;
  workloadsPerNamespace: number;
  namePrefix: string;
  namespaceLabels?: Record<string, string>[];
}

interface RevisionRef {
  name: string;
  default: boolean;
}

const DEFAULT_PODS_PER_NAMESPACE = 20;
const SERVICE_NAMES = [
  "web",
  "api",
  "orders",
  "payments",
  "catalog",
  "cart",
  "search",
  "auth",
  "inventory",
  "shipping",
  "reviews",
  "ratings",
];

export function generatedNamespaceNames(g: GenerateParams): string[] {
  const width = Math.max(4, String(g.namespaces).length);
  return Array.from({ length: g.namespaces }, (_, i) => `${g.namePrefix}-${String(i + 1).padStart(width, "0")}`);
}

/** Splits `total` into `parts` near-equal whole numbers, larger ones first (20 into 3 → 7, 7, 6). */
export function spread(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

function workloadName(i: number, perNamespace: number): string {
  if (perNamespace <= SERVICE_NAMES.length) return SERVICE_NAMES[i];
  return `${SERVICE_NAMES[i % SERVICE_NAMES.length]}-${Math.floor(i / SERVICE_NAMES.length) + 1}`;
}

/**
 * Namespace label sets when the scenario gives none: half `istio-injection=enabled` (the default revision
 * injects), half `istio.io/rev=<default revision>` — the two ways real fleets opt in.
 */
function defaultLabelCycle(revisions: readonly RevisionRef[]): Record<string, string>[] {
  const def = revisions.find((r) => r.default) ?? revisions[0];
  if (!def) return [{}];
  if (def.name === "") return [{ "istio-injection": "enabled" }];
  return [{ "istio-injection": "enabled" }, { "istio.io/rev": def.name }];
}

/** The namespaces a `generate:` block stands for, in the same shape as declared ones. */
export function expandGenerated(g: GenerateParams, revisions: readonly RevisionRef[]) {
  const names = generatedNamespaceNames(g);
  const podsPerNs =
    g.pods !== undefined
      ? spread(g.pods, Math.max(1, g.namespaces))
      : names.map(() => g.podsPerNamespace ?? DEFAULT_PODS_PER_NAMESPACE);
  const cycle = g.namespaceLabels ?? defaultLabelCycle(revisions);
  return names.map((name, n) => {
    const pods = podsPerNs[n];
    const workloads = Math.max(1, Math.min(g.workloadsPerNamespace, pods));
    return {
      name,
      labels: { ...cycle[n % cycle.length] },
      annotations: {},
      workloads: spread(pods, workloads).map((replicas, i) => ({
        kind: "Deployment" as const,
        name: workloadName(i, workloads),
        replicas,
        labels: {},
        annotations: {},
        podLabels: { version: "v1" },
        podAnnotations: {},
        service: true as const,
      })),
    };
  });
}

const OVERRIDE_KEYS = ["namespaces", "pods", "podsPerNamespace", "workloadsPerNamespace"] as const;

/** Parses `namespaces=100,pods=2000` (the `large:` suffix and SANDBOX_LARGE); throws with a fix on bad input. */
export function parseLargeOverrides(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z]+)=(\d+)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not key=number — write e.g. large:namespaces=100,pods=2000`);
    const key = m[1];
    if (!(OVERRIDE_KEYS as readonly string[]).includes(key))
      throw new Error(
        `unknown large parameter "${key}" — did you mean "${closest(key, [...OVERRIDE_KEYS])}"? (allowed: ${OVERRIDE_KEYS.join(", ")})`,
      );
    out[key] = Number(m[2]);
  }
  return out;
}
