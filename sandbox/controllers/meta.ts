// Object helpers shared by the simulated controllers: owner references, conditions, timestamps,
// label selectors, int-or-percent values, template hashes and generated names.
import { isDeepStrictEqual } from "node:util";
import type { KObject, OwnerReference } from "../api/types.js";

export const POD_TEMPLATE_HASH = "pod-template-hash";
export const CONTROLLER_REVISION_HASH = "controller-revision-hash";
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";

const lastTimestamp = { second: NaN, text: "" };

/** RFC 3339 with second precision, as metav1.Time serialises (the text of the latest second is kept: most calls share it). */
export function timestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastTimestamp.second) {
    lastTimestamp.second = second;
    lastTimestamp.text = new Date(second * 1000).toISOString().replace(".000Z", "Z");
  }
  return lastTimestamp.text;
}

/** RFC 3339 with microseconds, as metav1.MicroTime (Event.eventTime) serialises. */
export function microTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function parseTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

export function controllerRef(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** The owner reference a controller puts on what it creates (controller=true, blockOwnerDeletion=true). */
export function ownerRefTo(owner: KObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isDeleting(obj: KObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined;
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  observedGeneration?: number;
}

export function findCondition(obj: KObject | undefined, type: string): Condition | undefined {
  const list: Condition[] | undefined = obj?.status?.conditions;
  return list?.find((c) => c.type === type);
}

/**
 * Sets a condition in place, keeping lastTransitionTime when the status does not change
 * (the rule every Kubernetes controller follows). Returns the new conditions array.
 */
export function setCondition(conditions: Condition[] | undefined, next: Condition, nowIso: string): Condition[] {
  const list = conditions ? [...conditions] : [];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const merged: Condition = { ...next };
  merged.lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : nowIso;
  if ("lastUpdateTime" in next || prev?.lastUpdateTime !== undefined)
    merged.lastUpdateTime = next.lastUpdateTime ?? nowIso;
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

export function removeCondition(conditions: Condition[] | undefined, type: string): Condition[] | undefined {
  if (!conditions) return conditions;
  const list = conditions.filter((c) => c.type !== type);
  return list.length ? list : undefined;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * metav1.LabelSelector semantics: all requirements ANDed; an empty selector matches everything,
 * a missing (null) selector matches nothing.
 */
export function selectorMatches(
  selector: LabelSelector | null | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !values.includes(l[e.key])) return false;
        break;
      case "NotIn":
        if (has && values.includes(l[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service-style selector (plain map): an empty map selects nothing for endpoints. */
export function mapSelectorMatches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector)) if (l[k] !== v) return false;
  return true;
}

/**
 * intstr.GetScaledValueFromIntOrPercent: "25%" of total, rounded up or down as asked; plain ints as they are.
 * Kubernetes rounds maxSurge up and maxUnavailable down.
 */
export function scaledValue(
  value: number | string | undefined,
  total: number,
  roundUp: boolean,
  fallback: number | string,
): number {
  const v = value ?? fallback;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v.trim());
  if (m) {
    const raw = (Number(m[1]) * total) / 100;
    return roundUp ? Math.ceil(raw) : Math.floor(raw);
  }
  const n = Number(v);
  if (Number.isInteger(n)) return n;
  throw new Error(`invalid value for IntOrString: ${JSON.stringify(v)} is not an integer or a percentage`);
}

/** JSON with object keys sorted, so equal objects give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

/** structural equality, key order ignored (util.isDeepStrictEqual) */
export function deepEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/** The alphabet of k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable digits, so no words. */
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** rand.SafeEncodeString: each character mapped into the safe alphabet. */
export function safeEncode(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** rand.String(n): the random suffix of generated names (`<rs>-x7k2p`). */
export function randomSuffix(n = 5): string {
  let out = "";
  for (let i = 0; i < n; i++) out += SAFE_ALPHABET[Math.floor(Math.random() * SAFE_ALPHABET.length)];
  return out;
}

/** FNV-1a 32-bit, the hasher controller.ComputeHash uses. */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * controller.ComputeHash: FNV-1a of the pod template (plus the collision count when set),
 * encoded with SafeEncodeString — the `pod-template-hash` / `controller-revision-hash` value.
 */
export function templateHash(template: unknown, collisionCount?: number): string {
  const text = canonicalJson(template) + (collisionCount ? String(collisionCount) : "");
  return safeEncode(String(fnv32a(text)));
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function nsName(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitNsName(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function objKey(obj: KObject): string {
  return nsName(obj.metadata.namespace, obj.metadata.name!);
}

export function creationMs(obj: KObject): number {
  return parseTime(obj.metadata.creationTimestamp) ?? 0;
}

/** Drop zero/empty fields the way Go's `omitempty` does for integer status fields. */
export function omitZero<T extends Record<string, unknown>>(status: T): T {
  for (const k of Object.keys(status)) {
    const v = status[k];
    if (v === 0 || v === undefined) delete status[k];
  }
  return status;
}
