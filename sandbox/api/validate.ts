// Built-in validation of the API server (k8s.io/apimachinery validation + pkg/apis/*/validation), the
// messages real servers give, and strict field validation (fieldValidation=Strict) against the schemas.
import { kubernetesMinor } from "./registry.js";
import { builtinKindSchema, customKindSchema, type JsonSchema } from "./schemas.js";
import { isStoredPart } from "./stored-parts.js";
import type { KObject, ResourceType } from "./types.js";

export interface FieldError {
  field: string;
  message: string;
  reason?: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const MSG = {
  label:
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  subdomain:
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  dns1035:
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  namePart:
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  labelValue:
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  configKey:
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
};

/** IsValidLabelValue, for label selectors. */
export const LABEL_VALUE_PATTERN = LABEL_VALUE;
export const LABEL_VALUE_MESSAGE = MSG.labelValue;

/** Go's %q / %#v rendering of a string, as field errors quote values. */
const q = (s: unknown) => JSON.stringify(s);
const invalidValue = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  message: `Invalid value: ${typeof value === "string" ? q(value) : goValue(value)}: ${detail}`,
  reason: "FieldValueInvalid",
});
const required = (field: string, detail?: string): FieldError => ({
  field,
  message: detail ? `Required value: ${detail}` : "Required value",
  reason: "FieldValueRequired",
});
const duplicate = (field: string, value: unknown): FieldError => ({
  field,
  message: `Duplicate value: ${typeof value === "string" ? q(value) : goValue(value)}`,
  reason: "FieldValueDuplicate",
});
const forbidden = (field: string, detail: string): FieldError => ({
  field,
  message: `Forbidden: ${detail}`,
  reason: "FieldValueForbidden",
});

/** Go's %#v for the values validation errors print: map[string]string{"a":"b"}, v1.LabelSelector{...}. */
function goValue(v: unknown): string {
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return q(v);
}

function goStringMap(m: Record<string, string> | undefined): string {
  if (!m) return "map[string]string(nil)";
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${q(k)}:${q(m[k])}`).join(", ")}}`;
}

function goLabelSelector(sel: any): string {
  const exprs: any[] | undefined = sel?.matchExpressions;
  const renderedExprs = exprs?.length
    ? `[]v1.LabelSelectorRequirement{${exprs
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${q(e.key)}, Operator:${q(e.operator)}, Values:${
              e.values ? `[]string{${e.values.map(q).join(", ")}}` : "[]string(nil)"
            }}`,
        )
        .join(", ")}}`
    : "[]v1.LabelSelectorRequirement(nil)";
  return `v1.LabelSelector{MatchLabels:${goStringMap(sel?.matchLabels)}, MatchExpressions:${renderedExprs}}`;
}

/** Which name rule a kind's metadata.name follows (ValidateObjectMeta's nameFn per resource). */
function nameRule(type: ResourceType): "label" | "dns1035" | "subdomain" | "path" | "crd" {
  if (type.custom) return "subdomain";
  const key = `${type.group}/${type.plural}`;
  if (key === "/namespaces") return "label";
  if (key === "/services") return "dns1035";
  if (key === "apiextensions.k8s.io/customresourcedefinitions") return "crd";
  if (type.group === "rbac.authorization.k8s.io") return "path";
  return "subdomain";
}

function validateName(type: ResourceType, obj: KObject): FieldError[] {
  const name = obj.metadata?.name;
  if (!name) {
    return obj.metadata?.generateName ? [] : [required("metadata.name", "name or generateName is required")];
  }
  const rule = nameRule(type);
  const errs: FieldError[] = [];
  switch (rule) {
    case "label":
      if (name.length > 63) errs.push(invalidValue("metadata.name", name, "must be no more than 63 characters"));
      if (!DNS1123_LABEL.test(name)) errs.push(invalidValue("metadata.name", name, MSG.label));
      break;
    case "dns1035":
      if (name.length > 63) errs.push(invalidValue("metadata.name", name, "must be no more than 63 characters"));
      if (!DNS1035_LABEL.test(name)) errs.push(invalidValue("metadata.name", name, MSG.dns1035));
      break;
    case "path":
      // ValidatePathSegmentName: RBAC names may be anything usable as one URL path segment
      if (name === "." || name === "..") errs.push(invalidValue("metadata.name", name, `may not be '${name}'`));
      for (const bad of ["/", "%"])
        if (name.includes(bad)) errs.push(invalidValue("metadata.name", name, `may not contain '${bad}'`));
      break;
    case "crd": {
      const expected = `${obj.spec?.names?.plural ?? ""}.${obj.spec?.group ?? ""}`;
      if (name !== expected) errs.push(invalidValue("metadata.name", name, `must be spec.names.plural+"."+spec.group`));
      break;
    }
    default:
      if (name.length > 253) errs.push(invalidValue("metadata.name", name, "must be no more than 253 characters"));
      if (!DNS1123_SUBDOMAIN.test(name)) errs.push(invalidValue("metadata.name", name, MSG.subdomain));
  }
  return errs;
}

/** IsQualifiedName: [prefix/]name, prefix a DNS subdomain, name at most 63 characters. */
export function qualifiedNameErrors(key: string): string[] {
  const parts = key.split("/");
  let name = key;
  const msgs: string[] = [];
  if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (!prefix) msgs.push("prefix part must be non-empty");
    else if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) msgs.push(`prefix part ${MSG.subdomain}`);
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (!name) msgs.push("name part must be non-empty");
  else {
    if (name.length > 63) msgs.push("name part must be no more than 63 characters");
    if (!QUALIFIED_NAME_PART.test(name)) msgs.push(MSG.namePart);
  }
  return msgs;
}

/**
 * Errors of a part of an object that only depend on that part, reused for parts of stored objects (immutable,
 * sandbox/api/stored-parts.ts): most updates bring them back unchanged, e.g. a pod's spec when a label changes.
 * Every check of a part is remembered, and the last one made before the part was stored (the write that stored
 * it validated it just before) is the one reused. Keyed by the part and the rule that checked it.
 */
const checkedParts = new WeakMap<object, Map<string, FieldError[]>>();

function checkPart(part: unknown, rule: string, check: () => FieldError[]): FieldError[] {
  if (typeof part !== "object" || part === null) return check();
  let byRule = checkedParts.get(part);
  const known = byRule?.get(rule);
  if (known && isStoredPart(part)) return known;
  const errs = check();
  if (!byRule) checkedParts.set(part, (byRule = new Map()));
  byRule.set(rule, errs);
  return errs;
}

function validateLabelsAndAnnotations(meta: KObject["metadata"] | undefined, path: string): FieldError[] {
  return [
    ...checkPart(meta?.labels, `labels@${path}`, () => validateLabels(meta?.labels, path)),
    ...checkPart(meta?.annotations, `annotations@${path}`, () => validateAnnotations(meta?.annotations, path)),
  ];
}

function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of qualifiedNameErrors(k)) errs.push(invalidValue(`${path}.labels`, k, m));
    if (typeof v !== "string") errs.push(invalidValue(`${path}.labels`, v, "label values must be strings"));
    else {
      if (v.length > 63) errs.push(invalidValue(`${path}.labels`, v, "must be no more than 63 characters"));
      if (!LABEL_VALUE.test(v)) errs.push(invalidValue(`${path}.labels`, v, MSG.labelValue));
    }
  }
  return errs;
}

function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const m of qualifiedNameErrors(k.toLowerCase())) errs.push(invalidValue(`${path}.annotations`, k, m));
    size += k.length + String(v).length;
  }
  // ValidateAnnotationsSize: keys and values together at most 256 KiB
  if (size > 256 * 1024)
    errs.push({
      field: `${path}.annotations`,
      message: "Too long: must have at most 262144 bytes",
      reason: "FieldValueTooLong",
    });
  return errs;
}

function validatePorts(ports: any[] | undefined, path: string, portField: string): FieldError[] {
  const errs: FieldError[] = [];
  (ports ?? []).forEach((p, i) => {
    const n = p?.[portField];
    if (n === undefined || n === null) errs.push(required(`${path}[${i}].${portField}`));
    else if (!Number.isInteger(n) || n < 1 || n > 65535) {
      errs.push(invalidValue(`${path}[${i}].${portField}`, n, "must be between 1 and 65535, inclusive"));
    }
  });
  return errs;
}

function validatePodSpec(spec: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!spec || typeof spec !== "object") return [required(path)];
  const names = new Set<string>();
  const checkContainers = (list: any[] | undefined, field: string, requireNonEmpty: boolean) => {
    if (!Array.isArray(list) || list.length === 0) {
      if (requireNonEmpty) errs.push(required(`${path}.${field}`));
      return;
    }
    list.forEach((c, i) => {
      const at = `${path}.${field}[${i}]`;
      if (!c?.name) errs.push(required(`${at}.name`));
      else {
        if (!DNS1123_LABEL.test(c.name) || c.name.length > 63) errs.push(invalidValue(`${at}.name`, c.name, MSG.label));
        if (names.has(c.name)) errs.push(duplicate(`${at}.name`, c.name));
        names.add(c.name);
      }
      if (!c?.image) errs.push(required(`${at}.image`));
      errs.push(...validatePorts(c?.ports, `${at}.ports`, "containerPort"));
    });
  };
  checkContainers(spec.initContainers, "initContainers", false);
  checkContainers(spec.containers, "containers", true);
  if (spec.restartPolicy && !["Always", "OnFailure", "Never"].includes(spec.restartPolicy)) {
    errs.push({
      field: `${path}.restartPolicy`,
      message: `Unsupported value: ${q(spec.restartPolicy)}: supported values: "Always", "OnFailure", "Never"`,
      reason: "FieldValueNotSupported",
    });
  }
  return errs;
}

/** Label selector vs template labels: the apps/v1 and batch/v1 rule every workload controller relies on. */
function selectorMatches(sel: any, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries<string>(sel?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel?.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values: string[] = e.values ?? [];
    if (e.operator === "In" && !(has && values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function validateWorkload(type: ResourceType, obj: KObject, old: KObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj.spec ?? {};
  if (spec.replicas !== undefined && (!Number.isInteger(spec.replicas) || spec.replicas < 0)) {
    errs.push(invalidValue("spec.replicas", spec.replicas, "must be greater than or equal to 0"));
  }
  const sel = spec.selector;
  const empty = !sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length);
  if (!sel) errs.push(required("spec.selector"));
  else if (empty) {
    errs.push({
      field: "spec.selector",
      message: `Invalid value: ${goLabelSelector(sel)}: empty selector is invalid for ${type.singular}`,
      reason: "FieldValueInvalid",
    });
  }
  const labels: Record<string, string> = spec.template?.metadata?.labels ?? {};
  if (sel && !empty && !selectorMatches(sel, labels)) {
    errs.push({
      field: "spec.template.metadata.labels",
      message: `Invalid value: ${goStringMap(spec.template?.metadata?.labels)}: \`selector\` does not match template \`labels\``,
      reason: "FieldValueInvalid",
    });
  }
  if (!spec.template) errs.push(required("spec.template"));
  else {
    errs.push(...validateLabelsAndAnnotations(spec.template.metadata, "spec.template.metadata"));
    errs.push(...validatePodSpec(spec.template.spec, "spec.template.spec"));
    const restart = spec.template.spec?.restartPolicy;
    // workloads that keep pods running only allow restartPolicy Always
    if (restart && restart !== "Always") {
      errs.push({
        field: "spec.template.spec.restartPolicy",
        message: `Unsupported value: ${q(restart)}: supported values: "Always"`,
        reason: "FieldValueNotSupported",
      });
    }
  }
  // apps/v1: the selector is immutable after creation
  if (old && sel && JSON.stringify(normalizeSelector(old.spec?.selector)) !== JSON.stringify(normalizeSelector(sel))) {
    errs.push({
      field: "spec.selector",
      message: `Invalid value: ${goLabelSelector(sel)}: field is immutable`,
      reason: "FieldValueInvalid",
    });
  }
  return errs;
}

function normalizeSelector(sel: any): unknown {
  if (!sel) return null;
  const labels = Object.fromEntries(Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b)));
  return { labels, exprs: sel.matchExpressions ?? [] };
}

function validateJob(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const tpl = obj.spec?.template;
  if (!tpl) return [required("spec.template")];
  errs.push(...validatePodSpec(tpl.spec, "spec.template.spec"));
  const restart = tpl.spec?.restartPolicy;
  if (!restart || !["OnFailure", "Never"].includes(restart)) {
    errs.push(
      restart
        ? {
            field: "spec.template.spec.restartPolicy",
            message: `Unsupported value: ${q(restart)}: supported values: "OnFailure", "Never"`,
            reason: "FieldValueNotSupported",
          }
        : required("spec.template.spec.restartPolicy", 'supported values: "OnFailure", "Never"'),
    );
  }
  return errs;
}

const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

function validateService(obj: KObject, old: KObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj.spec ?? {};
  const type = spec.type ?? "ClusterIP";
  if (!SERVICE_TYPES.includes(type)) {
    errs.push({
      field: "spec.type",
      message: `Unsupported value: ${q(type)}: supported values: ${SERVICE_TYPES.map(q).join(", ")}`,
      reason: "FieldValueNotSupported",
    });
  }
  const ports: any[] = spec.ports ?? [];
  if (type === "ExternalName") {
    if (!spec.externalName) errs.push(required("spec.externalName"));
  } else if (!ports.length && spec.clusterIP !== "None") {
    errs.push(required("spec.ports"));
  }
  errs.push(...validatePorts(ports, "spec.ports", "port"));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    if (ports.length > 1 && !p?.name) errs.push(required(`spec.ports[${i}].name`));
    if (p?.name) {
      if (names.has(p.name)) errs.push(duplicate(`spec.ports[${i}].name`, p.name));
      names.add(p.name);
    }
    if (p?.nodePort !== undefined && type === "ClusterIP") {
      errs.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    }
  });
  const oldIP = old?.spec?.clusterIP;
  if (old && oldIP && spec.clusterIP && spec.clusterIP !== oldIP) {
    errs.push(invalidValue("spec.clusterIP", spec.clusterIP, "field is immutable"));
  }
  return errs;
}

function validateConfigData(obj: KObject, old: KObject | undefined, fields: string[]): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  for (const f of fields) {
    for (const key of Object.keys(obj[f] ?? {})) {
      if (!CONFIG_KEY.test(key) || key.length > 253) errs.push(invalidValue(`${f}[${key}]`, key, MSG.configKey));
      if (key === "." || key === "..") errs.push(invalidValue(`${f}[${key}]`, key, `must not be '${key}'`));
      if (seen.has(key)) errs.push(duplicate(`${f}[${key}]`, key));
      seen.add(key);
    }
  }
  // immutable ConfigMaps and Secrets: data cannot change and immutable cannot be unset
  if (old?.immutable === true) {
    if (obj.immutable !== true) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
    for (const f of fields) {
      if (JSON.stringify(obj[f] ?? {}) !== JSON.stringify(old[f] ?? {}))
        errs.push(forbidden(f, "field is immutable when `immutable` is set"));
    }
  }
  return errs;
}

/**
 * Field errors the real API server reports for a create (or an update, given `old`) of a built-in object.
 * Custom resources get metadata checks only here (their schema validation is the CRD's).
 */
export function validateObject(type: ResourceType, obj: KObject, old?: KObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!old) errs.push(...validateName(type, obj));
  else if (obj.metadata?.name && old.metadata?.name && obj.metadata.name !== old.metadata.name) {
    errs.push(invalidValue("metadata.name", obj.metadata.name, "field is immutable"));
  }
  errs.push(...validateLabelsAndAnnotations(obj.metadata, "metadata"));
  if (type.custom) return errs;
  switch (`${type.group}/${type.plural}`) {
    case "/pods":
      errs.push(...checkPart(obj.spec, "podSpec@spec", () => validatePodSpec(obj.spec, "spec")));
      break;
    case "apps/deployments":
    case "apps/replicasets":
    case "apps/statefulsets":
    case "apps/daemonsets":
      errs.push(...validateWorkload(type, obj, old));
      break;
    case "batch/jobs":
      errs.push(...validateJob(obj));
      break;
    case "/services":
      errs.push(...validateService(obj, old));
      break;
    case "/configmaps":
      errs.push(...validateConfigData(obj, old, ["data", "binaryData"]));
      break;
    case "/secrets":
      errs.push(...validateConfigData(obj, old, ["data"]));
      break;
  }
  return errs;
}

/** Resolves `$ref` (and single-element allOf) against the definitions of one schema set. */
function resolve(schema: JsonSchema | undefined, defs: Record<string, JsonSchema>): JsonSchema | undefined {
  let s = schema;
  for (let i = 0; s && i < 8; i++) {
    if (s.$ref) s = defs[String(s.$ref).replace(/^#\/(definitions|components\/schemas)\//, "")];
    else if (Array.isArray(s.allOf) && s.allOf.length === 1 && !s.properties) s = s.allOf[0];
    else break;
  }
  return s;
}

function walkUnknown(
  value: unknown,
  schema: JsonSchema | undefined,
  defs: Record<string, JsonSchema>,
  path: string,
  out: string[],
): void {
  const s = resolve(schema, defs);
  if (!s || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => walkUnknown(v, s.items, defs, `${path}[${i}]`, out));
    return;
  }
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = s["x-kubernetes-embedded-resource"] === true;
  const props: Record<string, JsonSchema> | undefined = s.properties;
  const additional = s.additionalProperties;
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k;
    if (props && props[k]) walkUnknown(v, props[k], defs, at, out);
    else if (additional && typeof additional === "object") walkUnknown(v, additional, defs, at, out);
    else if (additional === true || preserve) continue;
    else if (embedded && (k === "apiVersion" || k === "kind" || k === "metadata")) continue;
    else if (props || s.type === "object") out.push(at);
  }
}

/**
 * Fields of `obj` its schema does not know, as strict decoding names them ("spec.foo",
 * "spec.template.spec.containers[0].foo"); the server answers 400 `strict decoding error: unknown field "spec.foo"`.
 * For a custom resource pass its CRD (registry.crdFor(key)): the version's openAPIV3Schema is used.
 */
export function unknownFields(type: ResourceType, obj: KObject, crd?: KObject): string[] {
  const version = obj.apiVersion ? obj.apiVersion.slice(obj.apiVersion.lastIndexOf("/") + 1) : type.version;
  const schema = type.custom ? crd && customSchemaFor(type, crd, version) : builtinSchemaFor(type, version);
  if (!schema) return [];
  const out: string[] = [];
  walkUnknown(obj, schema.root, schema.definitions, "", out);
  return out;
}

type ResolvedSchema = { root: JsonSchema; definitions: Record<string, JsonSchema> };
const builtinSchemas = new Map<string, ResolvedSchema>();
const customSchemas = new WeakMap<KObject, Map<string, ResolvedSchema>>();

function builtinSchemaFor(type: ResourceType, version: string): ResolvedSchema {
  const v = type.versions.includes(version) ? version : type.version;
  const key = `${type.group}/${type.kind}@${v}`;
  let s = builtinSchemas.get(key);
  if (!s) builtinSchemas.set(key, (s = builtinKindSchema(type, v)));
  return s;
}

/** Cached per CRD object: a CRD update is a new object, so a stale schema is never used. */
function customSchemaFor(type: ResourceType, crd: KObject, version: string): ResolvedSchema {
  const versions: any[] = crd.spec?.versions ?? [];
  const v = versions.find((x) => x.name === version) ?? versions.find((x) => x.name === type.version);
  const name: string = v?.name ?? type.version;
  let perCrd = customSchemas.get(crd);
  if (!perCrd) customSchemas.set(crd, (perCrd = new Map()));
  let s = perCrd.get(name);
  if (!s) perCrd.set(name, (s = customKindSchema(type, name, v?.schema?.openAPIV3Schema)));
  return s;
}

/** The 400 message for fieldValidation=Strict, listing every unknown field. */
export function strictDecodingMessage(fields: string[]): string {
  return `strict decoding error: ${fields.map((f) => `unknown field ${q(f)}`).join(", ")}`;
}

/** API versions Kubernetes stopped serving, per the deprecation guide: groupVersion -> kinds, release removed, successor. */
const REMOVED_APIS: { groupVersion: string; kinds: string[]; removedIn: number; replacement: string }[] = [
  {
    groupVersion: "extensions/v1beta1",
    kinds: ["Deployment", "DaemonSet", "ReplicaSet", "NetworkPolicy", "PodSecurityPolicy"],
    removedIn: 16,
    replacement: "apps/v1",
  },
  {
    groupVersion: "apps/v1beta1",
    kinds: ["Deployment", "StatefulSet", "ReplicaSet", "ControllerRevision"],
    removedIn: 16,
    replacement: "apps/v1",
  },
  {
    groupVersion: "apps/v1beta2",
    kinds: ["Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "ControllerRevision"],
    removedIn: 16,
    replacement: "apps/v1",
  },
  { groupVersion: "extensions/v1beta1", kinds: ["Ingress"], removedIn: 22, replacement: "networking.k8s.io/v1" },
  {
    groupVersion: "networking.k8s.io/v1beta1",
    kinds: ["Ingress", "IngressClass"],
    removedIn: 22,
    replacement: "networking.k8s.io/v1",
  },
  {
    groupVersion: "admissionregistration.k8s.io/v1beta1",
    kinds: ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"],
    removedIn: 22,
    replacement: "admissionregistration.k8s.io/v1",
  },
  {
    groupVersion: "apiextensions.k8s.io/v1beta1",
    kinds: ["CustomResourceDefinition"],
    removedIn: 22,
    replacement: "apiextensions.k8s.io/v1",
  },
  {
    groupVersion: "rbac.authorization.k8s.io/v1beta1",
    kinds: ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
    removedIn: 22,
    replacement: "rbac.authorization.k8s.io/v1",
  },
  {
    groupVersion: "coordination.k8s.io/v1beta1",
    kinds: ["Lease"],
    removedIn: 22,
    replacement: "coordination.k8s.io/v1",
  },
  { groupVersion: "batch/v1beta1", kinds: ["CronJob"], removedIn: 25, replacement: "batch/v1" },
  {
    groupVersion: "discovery.k8s.io/v1beta1",
    kinds: ["EndpointSlice"],
    removedIn: 25,
    replacement: "discovery.k8s.io/v1",
  },
  { groupVersion: "events.k8s.io/v1beta1", kinds: ["Event"], removedIn: 25, replacement: "events.k8s.io/v1" },
  {
    groupVersion: "autoscaling/v2beta1",
    kinds: ["HorizontalPodAutoscaler"],
    removedIn: 25,
    replacement: "autoscaling/v2",
  },
  { groupVersion: "policy/v1beta1", kinds: ["PodDisruptionBudget"], removedIn: 25, replacement: "policy/v1" },
  {
    groupVersion: "policy/v1beta1",
    kinds: ["PodSecurityPolicy"],
    removedIn: 25,
    replacement: "Pod Security Admission",
  },
  {
    groupVersion: "autoscaling/v2beta2",
    kinds: ["HorizontalPodAutoscaler"],
    removedIn: 26,
    replacement: "autoscaling/v2",
  },
  {
    groupVersion: "flowcontrol.apiserver.k8s.io/v1beta2",
    kinds: ["FlowSchema", "PriorityLevelConfiguration"],
    removedIn: 29,
    replacement: "flowcontrol.apiserver.k8s.io/v1",
  },
  {
    groupVersion: "flowcontrol.apiserver.k8s.io/v1beta3",
    kinds: ["FlowSchema", "PriorityLevelConfiguration"],
    removedIn: 32,
    replacement: "flowcontrol.apiserver.k8s.io/v1",
  },
];

/**
 * What kubectl prints when a manifest uses an API version this release no longer serves (kubectl decides this
 * itself after discovery), with the removal and successor appended; undefined when the version is still served.
 */
export function removedApiMessage(
  group: string,
  version: string,
  kind: string,
  kubernetesVersion: string,
  ref: { name?: string; namespace?: string; file?: string } = {},
): string | undefined {
  const gv = group ? `${group}/${version}` : version;
  const minor = kubernetesMinor(kubernetesVersion);
  const removal = REMOVED_APIS.find((r) => r.groupVersion === gv && r.kinds.includes(kind) && minor >= r.removedIn);
  if (!removal) return undefined;
  const where = `name: ${q(ref.name ?? "")} namespace: ${q(ref.namespace ?? "")}${ref.file ? ` from ${q(ref.file)}` : ""}`;
  return (
    `resource mapping not found for ${where}: no matches for kind ${q(kind)} in version ${q(gv)}\n` +
    `ensure CRDs are installed first\n` +
    `(${gv} ${kind} was removed in Kubernetes 1.${removal.removedIn}; use ${removal.replacement})`
  );
}
