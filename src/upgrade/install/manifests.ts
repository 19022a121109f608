// The Manifests install mode, pure part: rendered manifests (`istioctl manifest generate --set revision=R`,
// `helm template`) parsed into objects, checked for what would make them unsafe to apply for one revision,
// and put in a safe apply order. The I/O (server-side apply, the ConfigMap source) is in apply.ts.
import YAML, { LineCounter, isMap, isScalar, isSeq, type Node as YamlNode } from "yaml";
import type { KubeObject } from "../../kube/resources.js";
import { splitApiVersion } from "./discovery.js";
import { describeObject } from "./object-ref.js";
import { LABEL_REV, istiodName, revisionByName, revisionLabel, tagOf } from "./revision-names.js";

/** Manifests that cannot be used as given: every problem found, each with where and how to fix it. */
export class ManifestError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      problems.length === 1
        ? problems[0]
        : `${source}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ManifestError";
  }
}

const FIX_SHAPE =
  "every object needs apiVersion, kind and metadata.name; give rendered output (`istioctl manifest generate --set revision=…` or `helm template`), not chart values";

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return `a ${typeof value}`;
}

function lineOf(node: YamlNode | null | undefined, lines: LineCounter, fallback: number): number {
  const offset = node?.range?.[0];
  return offset === undefined ? fallback : lines.linePos(offset).line;
}

/** The line of `key` in a mapping node, else `fallback`. */
function keyLine(node: unknown, key: string, lines: LineCounter, fallback: number): number {
  if (!isMap(node)) return fallback;
  const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
  return pair ? lineOf(pair.key as YamlNode, lines, fallback) : fallback;
}

/** The problems of one would-be object, or none; `at(key)` is "source:line" of that key (or of the object). */
function shapeProblems(value: unknown, at: (key?: string) => string): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value))
    return [`${at()}: this document is ${describeValue(value)}, not a Kubernetes object — ${FIX_SHAPE}`];
  const o = value as Record<string, unknown>;
  const problems: string[] = [];
  const meta = o.metadata as Record<string, unknown> | undefined;
  const name = meta && typeof meta.name === "string" ? meta.name : undefined;
  const what = `${typeof o.kind === "string" && o.kind ? o.kind : "object"}${name ? ` "${name}"` : ""}`;
  if (typeof o.apiVersion !== "string" || !o.apiVersion)
    problems.push(`${at()}: ${what} has no apiVersion — ${FIX_SHAPE}`);
  if (typeof o.kind !== "string" || !o.kind) problems.push(`${at()}: ${what} has no kind — ${FIX_SHAPE}`);
  if (!meta || typeof meta !== "object" || Array.isArray(meta)) {
    problems.push(`${at()}: ${what} has no metadata — ${FIX_SHAPE}`);
  } else if (!name) {
    problems.push(
      meta.generateName
        ? `${at("metadata")}: ${what} has only metadata.generateName — server-side apply needs a fixed metadata.name; give it one`
        : `${at("metadata")}: ${what} has no metadata.name — ${FIX_SHAPE}`,
    );
  } else if (meta.namespace !== undefined && typeof meta.namespace !== "string") {
    problems.push(
      `${at("metadata")}: ${what} has a metadata.namespace that is not a string — write it as a plain name`,
    );
  }
  return problems;
}

/** YAML's message without its own position and excerpt (the caller prefixes source:line). */
function yamlMessage(message: string): string {
  return message.split(/ at line \d+, column \d+/)[0].trim();
}

/**
 * Multi-document YAML → objects, in document order. Empty documents (comments only, as `helm template` prints)
 * are skipped and `kind: *List` documents are flattened into their items. Every problem is reported at once, as
 * "source:line: what — how to fix", in a ManifestError.
 */
export function parseManifests(text: string, source: string): KubeObject[] {
  const lines = new LineCounter();
  const documents = YAML.parseAllDocuments(text, { lineCounter: lines, prettyErrors: true });
  const objects: KubeObject[] = [];
  const problems: string[] = [];
  for (const doc of documents) {
    const docLine = lineOf(doc.contents, lines, lines.linePos(doc.range[0]).line);
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const line = e.linePos?.[0]?.line ?? docLine;
        problems.push(`${source}:${line}: ${yamlMessage(e.message)} — fix the YAML syntax there`);
      }
      continue;
    }
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      problems.push(`${source}:${docLine}: ${(err as Error).message} — fix the YAML there`);
      continue;
    }
    if (value === null || value === undefined) continue;
    const record = value as Record<string, unknown>;
    const isList =
      typeof record === "object" &&
      !Array.isArray(record) &&
      typeof record.kind === "string" &&
      record.kind.endsWith("List") &&
      Array.isArray(record.items);
    if (!isList) {
      const found = shapeProblems(value, (k) => `${source}:${k ? keyLine(doc.contents, k, lines, docLine) : docLine}`);
      if (found.length) problems.push(...found);
      else objects.push(value as KubeObject);
      continue;
    }
    const itemsNode = isMap(doc.contents) ? doc.contents.get("items", true) : undefined;
    (record.items as unknown[]).forEach((item, i) => {
      const node = isSeq(itemsNode) ? (itemsNode.items[i] as YamlNode | undefined) : undefined;
      const itemLine = lineOf(node, lines, docLine);
      const found = shapeProblems(item, (k) => `${source}:${k ? keyLine(node, k, lines, itemLine) : itemLine}`);
      if (found.length) problems.push(...found);
      else objects.push(item as KubeObject);
    });
  }
  if (problems.length) throw new ManifestError(source, problems);
  return objects;
}

function identity(o: KubeObject): { kind?: string; namespace?: string; name: string } {
  return { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name ?? "" };
}

/** The Istio version an image runs: the tag without a -distroless/-debug variant; undefined for digests. */
export function imageVersion(image: string): string | undefined {
  if (image.includes("@")) return undefined;
  const last = image.slice(image.lastIndexOf("/") + 1);
  const colon = last.indexOf(":");
  if (colon < 0) return undefined;
  return last
    .slice(colon + 1)
    .replace(/^v/, "")
    .replace(/-(distroless|debug)$/, "");
}

/** "1.28.10" matches 1.28.10; a requested "1.28" matches any 1.28 patch. */
function sameVersion(running: string, requested: string): boolean {
  const want = requested.replace(/^v/, "");
  return running === want || (want.split(".").length === 2 && running.startsWith(`${want}.`));
}

export interface RevisionTarget {
  /** the revision being installed, e.g. "1-28-10" ("" or "default" = the unrevisioned install) */
  revision: string;
  /** the Istio version being installed; when given, the istiod image must run it */
  version?: string;
  istioNamespace: string;
}

function objectKey(o: KubeObject): string {
  const { group } = splitApiVersion(o.apiVersion ?? "");
  return `${group}|${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
}

/**
 * What makes rendered manifests unsafe to apply when installing `target.revision` beside the running ones:
 * no istiod Deployment for the revision, objects of another revision (by their istio.io/rev label or by the name
 * that revision uses), revision tags and the default validator (moving a tag, above all `default`, is the
 * upgrade's own step, never a side effect of an install), an istiod image of another version, and objects given
 * twice. Empty when they are safe; each message names the object and why.
 */
export function checkManifestsForRevision(objects: KubeObject[], target: RevisionTarget): string[] {
  const want = revisionLabel(target.revision);
  const renderHint = want === "default" ? "" : ` (render with --set revision=${target.revision})`;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const o of objects) {
    const id = identity(o);
    const d = describeObject(id);
    const key = objectKey(o);
    if (seen.has(key)) {
      problems.push(`${d} is given more than once: which copy wins would depend on the order; keep one`);
      continue;
    }
    seen.add(key);
    const labels = o.metadata.labels;
    const tag = tagOf(o.kind, id.name, labels);
    if (tag && (o.kind === "MutatingWebhookConfiguration" || o.kind === "Service")) {
      const to = labels?.[LABEL_REV] ? ` to revision ${labels[LABEL_REV]}` : "";
      problems.push(
        tag === "default"
          ? `${d} is the default revision tag: applying it would move the default revision${to} as a side effect of the install — moving the default tag is the upgrade's own step; render the manifests without it (no revisionTags, no defaultRevision)`
          : `${d} belongs to revision tag "${tag}": applying it would move the tag${to} as a side effect of the install — tags move in the data-plane stage; render the manifests without revisionTags`,
      );
      continue;
    }
    if (o.kind === "ValidatingWebhookConfiguration" && id.name === "istiod-default-validator") {
      problems.push(
        `${d} sends validation to the default revision${labels?.[LABEL_REV] ? ` (here ${labels[LABEL_REV]})` : ""}: it moves with the default tag, which is the upgrade's own step — drop it from the manifests (it comes from the base chart's defaultRevision)`,
      );
      continue;
    }
    const labelled = labels?.[LABEL_REV];
    if (labelled && labelled !== want) {
      problems.push(
        `${d} is labelled istio.io/rev=${labelled}: it is revision ${labelled}'s object, and applying it would overwrite that revision's; these manifests are not for revision ${want}${renderHint}`,
      );
      continue;
    }
    const named = revisionByName(o.kind, id.namespace, id.name, target.istioNamespace);
    if (named && named !== want) {
      problems.push(
        `${d} has the name revision ${named} uses: applying it would overwrite that revision's object; these manifests are not for revision ${want}${renderHint}`,
      );
    }
  }
  problems.push(...istiodProblems(objects, target, renderHint));
  return problems;
}

function istiodProblems(objects: KubeObject[], target: RevisionTarget, renderHint: string): string[] {
  const name = istiodName(target.revision);
  const deployments = objects.filter((o) => o.kind === "Deployment" && o.metadata.name === name);
  const istiod = deployments.find((o) => o.metadata.namespace === target.istioNamespace);
  if (!istiod) {
    const elsewhere = deployments.map((o) => o.metadata.namespace ?? "(no namespace)");
    return [
      elsewhere.length
        ? `the istiod Deployment "${name}" is in namespace ${elsewhere.join(", ")}, not in the Istio namespace ${target.istioNamespace}: render with --set values.global.istioNamespace=${target.istioNamespace}, or set the upgrade's Istio namespace`
        : `no istiod Deployment for revision ${revisionLabel(target.revision)}: expected Deployment ${target.istioNamespace}/${name}${renderHint}, and check that the Pilot component is enabled`,
    ];
  }
  if (!target.version) return [];
  const containers: { name?: string; image?: string }[] = istiod.spec?.template?.spec?.containers ?? [];
  const discovery = containers.find((c) => c.name === "discovery") ?? containers[0];
  const running = discovery?.image ? imageVersion(discovery.image) : undefined;
  if (!running || sameVersion(running, target.version)) return [];
  return [
    `${describeObject(identity(istiod))} runs ${discovery!.image}, Istio ${running}, not the requested ${target.version.replace(/^v/, "")}: render the manifests with the istioctl (or chart) of ${target.version.replace(/^v/, "")}, or request ${running}`,
  ];
}

/**
 * The rank of a kind in apply order: definitions and namespaces first, then what pods need (accounts, RBAC,
 * config, Services), the workloads, other custom resources, and admission webhooks last, so no webhook points
 * at an istiod that does not exist yet (an injector with failurePolicy Fail would refuse pods).
 */
export function applyRank(kind: string | undefined): number {
  switch (kind) {
    case "CustomResourceDefinition":
      return 0;
    case "Namespace":
      return 1;
    case "PriorityClass":
    case "StorageClass":
    case "ResourceQuota":
    case "LimitRange":
    case "NetworkPolicy":
      return 2;
    case "ServiceAccount":
      return 3;
    case "ClusterRole":
    case "Role":
      return 4;
    case "ClusterRoleBinding":
    case "RoleBinding":
      return 5;
    case "ConfigMap":
    case "Secret":
      return 6;
    case "Service":
      return 7;
    case "PodDisruptionBudget":
      return 8;
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Pod":
    case "Job":
    case "CronJob":
      return 9;
    case "HorizontalPodAutoscaler":
      return 10;
    case "ValidatingAdmissionPolicy":
    case "ValidatingAdmissionPolicyBinding":
    case "ValidatingWebhookConfiguration":
      return 12;
    case "MutatingWebhookConfiguration":
      return 13;
    default:
      // custom resources (EnvoyFilter, Gateway…) and kinds not listed: after the workloads, before the webhooks
      return 11;
  }
}

/** The objects in apply order; objects of one rank keep their order in the manifests. */
export function inApplyOrder<T extends { kind?: string }>(objects: T[]): T[] {
  return objects
    .map((o, i) => ({ o, i, rank: applyRank(o.kind) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.o);
}
