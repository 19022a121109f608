// Label and field selectors as the API server parses them (k8s.io/apimachinery/pkg/labels, fields).
import { ApiError, type KObject, type LabelRequirement } from "./types.js";

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

function bad(selector: string, why: string): ApiError {
  return new ApiError(400, "BadRequest", `unable to parse requirement: ${why}`, {
    causes: [{ reason: "FieldValueInvalid", message: why, field: "labelSelector" }],
  });
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t.length > 0);
}

function checkKey(selector: string, key: string): void {
  if (!KEY.test(key) || key.length > 317) throw bad(selector, `invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
}
function checkValue(selector: string, v: string): void {
  if (!VALUE.test(v)) throw bad(selector, `invalid label value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
}

/** Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k`. Throws ApiError 400 on bad syntax. */
export function parseLabelSelector(selector: string | undefined | null): LabelRequirement[] {
  if (!selector) return [];
  const reqs: LabelRequirement[] = [];
  for (const term of splitTerms(selector)) {
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^!\s*([^\s=!(),]+)$/))) {
      checkKey(selector, m[1]);
      reqs.push({ key: m[1], operator: "DoesNotExist", values: [] });
    } else if ((m = term.match(/^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      checkKey(selector, m[1]);
      const values = m[3].split(",").map((v) => v.trim());
      values.forEach((v) => checkValue(selector, v));
      reqs.push({ key: m[1], operator: m[2] === "in" ? "In" : "NotIn", values });
    } else if ((m = term.match(/^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/))) {
      checkKey(selector, m[1]);
      checkValue(selector, m[3]);
      reqs.push({ key: m[1], operator: m[2] === "!=" ? "NotEquals" : "Equals", values: [m[3]] });
    } else if ((m = term.match(/^([^\s=!(),]+)$/))) {
      checkKey(selector, m[1]);
      reqs.push({ key: m[1], operator: "Exists", values: [] });
    } else {
      throw bad(selector, `found '${term}', expected: key, !key, key=value, key!=value, key in (v1,v2) or key notin (v1,v2)`);
    }
  }
  return reqs;
}

export function matchRequirements(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.operator) {
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      case "Equals":
      case "In":
        if (!has || !r.values.includes(v)) return false;
        break;
      // != and notin also match objects without the key (labels.md)
      case "NotEquals":
      case "NotIn":
        if (has && r.values.includes(v)) return false;
        break;
    }
  }
  return true;
}

/** A metav1.LabelSelector object (matchLabels + matchExpressions) as requirements. */
export function requirementsFromLabelSelector(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined | null): LabelRequirement[] {
  if (!sel) return [];
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, operator: "Equals", values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator as LabelRequirement["operator"];
    reqs.push({ key: e.key, operator: op, values: e.values ?? [] });
  }
  return reqs;
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Field selector fields a real server accepts per resource (beyond metadata.name/namespace). */
const EXTRA_FIELDS: Record<string, string[]> = {
  "/pods": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
  "/events": ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
  "/namespaces": ["status.phase"],
  "/nodes": ["spec.unschedulable"],
  "/secrets": ["type"],
  "apps/replicasets": ["status.replicas"],
  "batch/jobs": ["status.successful"],
};

export function parseFieldSelector(selector: string | undefined | null, key: string): FieldRequirement[] {
  if (!selector) return [];
  const allowed = new Set(["metadata.name", "metadata.namespace", ...(EXTRA_FIELDS[key] ?? [])]);
  const out: FieldRequirement[] = [];
  for (const term of selector.split(",").map((t) => t.trim()).filter(Boolean)) {
    const m = term.match(/^([^=!]+)(==|=|!=)(.*)$/);
    if (!m) throw new ApiError(400, "BadRequest", `invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1].trim();
    if (!allowed.has(field)) {
      const kind = key.split("/")[1].replace(/s$/, "");
      const Kind = kind.charAt(0).toUpperCase() + kind.slice(1);
      throw new ApiError(400, "BadRequest", `field label not supported: ${field}`, {
        causes: [{ reason: "FieldValueInvalid", message: `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace" for ${Kind}`, field: "fieldSelector" }],
      });
    }
    out.push({ field, op: m[2] === "!=" ? "!=" : "=", value: m[3].trim() });
  }
  return out;
}

function fieldValue(obj: KObject, path: string): string {
  let cur: any = obj;
  for (const p of path.split(".")) cur = cur?.[p];
  if (cur === undefined || cur === null) return "";
  return String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: KObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}

export interface Filter {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export function compileFilter(key: string, labelSelector?: string | null, fieldSelector?: string | null): Filter {
  return { labels: parseLabelSelector(labelSelector), fields: parseFieldSelector(fieldSelector, key) };
}

export function matchFilter(f: Filter, obj: KObject): boolean {
  return matchRequirements(f.labels, obj.metadata.labels) && matchFields(f.fields, obj);
}
