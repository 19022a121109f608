// Custom resources checked against their CRD's structural schema, as kube-apiserver does:
// defaulting at decode (apiextensions-apiserver schema/defaulting), then value validation with the
// messages of k8s.io/kube-openapi/pkg/validation/validate mapped to field errors by apiextensions'
// kubeOpenAPIResultToFieldErrors, then embedded-resource and list-type checks.
// x-kubernetes-validations (CEL) rules are not evaluated.
import { isDeepStrictEqual } from "node:util";
import type { AdmissionPlugin, Validator } from "./store.js";
import { resourceKey, type KObject, type ResourceType } from "./types.js";

/** One node of a CRD's `openAPIV3Schema` (apiextensions.k8s.io/v1 JSONSchemaProps, the structural subset). */
export interface CrdSchema {
  type?: string;
  format?: string;
  nullable?: boolean;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, CrdSchema>;
  additionalProperties?: CrdSchema | boolean;
  items?: CrdSchema;
  required?: string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  allOf?: CrdSchema[];
  oneOf?: CrdSchema[];
  anyOf?: CrdSchema[];
  not?: CrdSchema;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: unknown[];
}

export interface SchemaFieldError {
  field: string;
  message: string;
  reason: string;
}

export interface CrdValidationOptions {
  /**
   * Which part of the object this write may change. With a status subresource the main endpoint
   * validates everything but `.status` and the status endpoint only `.status` (the CR strategies).
   */
  part?: "all" | "main" | "status";
}

type Json = unknown;
type JsonMap = Record<string, Json>;

const isMap = (v: Json): v is JsonMap => typeof v === "object" && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

// ---------------------------------------------------------------------------------------------------
// Defaulting

/**
 * Applies `default`s in place, as the apiserver does when it decodes a custom resource: a property
 * that is absent (or null while not nullable) gets a deep copy of its default, recursively through
 * properties, additionalProperties and array items, so defaults inside a defaulted object apply too.
 * Root `metadata` is never defaulted (CRDs may only constrain name/generateName there). Afterwards
 * nulls of non-nullable fields without a default are dropped (PruneNonNullableNullsWithoutDefaults).
 */
export function applyCrdDefaults<T extends Json>(schema: CrdSchema | undefined, obj: T): T {
  if (!schema) return obj;
  defaultValue(obj, schema, true);
  pruneNonNullableNulls(obj, schema);
  return obj;
}

function isNonNullableNull(v: Json, s: CrdSchema | undefined): boolean {
  return v === null && !!s && !s.nullable;
}

function additionalSchema(s: CrdSchema): CrdSchema | undefined {
  return typeof s.additionalProperties === "object" ? s.additionalProperties : undefined;
}

function defaultValue(x: Json, s: CrdSchema, root = false): void {
  if (isMap(x)) {
    for (const [k, prop] of Object.entries(s.properties ?? {})) {
      if (root && k === "metadata") continue;
      if (prop.default === undefined) continue;
      if (!(k in x) || isNonNullableNull(x[k], prop)) x[k] = clone(prop.default);
    }
    const extra = additionalSchema(s);
    for (const [k, v] of Object.entries(x)) {
      const prop = s.properties?.[k];
      if (prop) {
        if (!(root && k === "metadata")) defaultValue(v, prop);
      } else if (extra) {
        if (isNonNullableNull(v, extra) && extra.default !== undefined) x[k] = clone(extra.default);
        defaultValue(x[k], extra);
      }
    }
  } else if (Array.isArray(x) && s.items) {
    for (let i = 0; i < x.length; i++) {
      if (isNonNullableNull(x[i], s.items) && s.items.default !== undefined) x[i] = clone(s.items.default);
      defaultValue(x[i], s.items);
    }
  }
}

function pruneNonNullableNulls(x: Json, s: CrdSchema): void {
  if (isMap(x)) {
    for (const [k, v] of Object.entries(x)) {
      const prop = s.properties?.[k] ?? additionalSchema(s);
      if (!prop) continue;
      if (v === null && !prop.nullable && prop.default === undefined) delete x[k];
      else pruneNonNullableNulls(v, prop);
    }
  } else if (Array.isArray(x) && s.items) {
    for (const v of x) pruneNonNullableNulls(v, s.items);
  }
}

// ---------------------------------------------------------------------------------------------------
// Validation: kube-openapi results

/** A kube-openapi validation result before apiextensions turns it into a field error. */
type Issue =
  | { code: "type"; name: string; value: Json; message: string }
  | { code: "required"; name: string }
  | { code: "enum"; name: string; value: Json; values: Json[] }
  | { code: "tooLong"; name: string; max: number }
  | { code: "tooMany"; name: string; actual: number; max: number }
  | { code: "invalid"; name: string; value: Json; message: string }
  /** a plain openapi error (anyOf/oneOf/allOf/not, number range): reported on the nil path */
  | { code: "composite"; message: string };

/**
 * Validates a custom resource against its version's openAPIV3Schema and returns field errors with
 * the real server's wording, e.g. `spec.to: Required value` or
 * `spec.maxConcurrent: Invalid value: 0: spec.maxConcurrent in body should be greater than or equal to 1`.
 */
export function validateAgainstCrdSchema(
  schema: CrdSchema | undefined,
  obj: Json,
  opts: CrdValidationOptions = {},
): SchemaFieldError[] {
  if (!schema) return [];
  const part = opts.part ?? "all";
  let root = schema;
  let value = obj;
  if (part !== "all" && isMap(obj)) {
    // the other part is not this write's to change: leave it out of the checks
    const props = { ...(schema.properties ?? {}) };
    const rest: JsonMap = { ...obj };
    if (part === "main") {
      delete props.status;
      delete rest.status;
    } else {
      for (const k of Object.keys(rest)) if (!["status", "apiVersion", "kind", "metadata"].includes(k)) delete rest[k];
      for (const k of Object.keys(props))
        if (!["status", "apiVersion", "kind", "metadata"].includes(k)) delete props[k];
    }
    root = {
      ...schema,
      properties: props,
      required: schema.required?.filter((r) => (part === "main" ? r !== "status" : r === "status")),
    };
    value = rest;
  }
  const issues = validateNode(root, value, "");
  return [...issues.map(toFieldError), ...embeddedResourceErrors(root, value, ""), ...listTypeErrors(root, value, "")];
}

function validateNode(s: CrdSchema, data: Json, path: string): Issue[] {
  const out: Issue[] = [];
  const types = schemaTypes(s);
  if (data === null || data === undefined) {
    // only the type and enum checks apply to null
    if (types.length && !s.nullable)
      out.push({ code: "type", name: path, value: "null", message: typeFail(path, types.join(","), "null") });
    out.push(...enumIssues(s, null, path));
    return out;
  }
  out.push(...typeIssues(s, types, data, path));
  out.push(...composedIssues(s, data, path));
  if (typeof data === "string") {
    out.push(...stringIssues(s, data, path));
    out.push(...formatIssues(s, data, path));
  }
  if (typeof data === "number") out.push(...numberIssues(s, data, path));
  if (Array.isArray(data)) out.push(...arrayIssues(s, data, path));
  out.push(...enumIssues(s, data, path));
  if (isMap(data)) out.push(...objectIssues(s, data, path));
  return out;
}

/** apiextensions turns x-kubernetes-int-or-string into the openapi types integer,string. */
function schemaTypes(s: CrdSchema): string[] {
  if (s.type) return [s.type];
  if (s["x-kubernetes-int-or-string"]) return ["integer", "string"];
  return [];
}

function typeFail(path: string, typeName: string, actual: string): string {
  return `${path} in body must be of type ${typeName}: ${goQuote(actual)}`;
}

/** The JSON type and go-openapi format kube-openapi infers for a decoded value. */
function jsonType(v: Json): [string, string] {
  if (typeof v === "boolean") return ["boolean", ""];
  if (typeof v === "string") return ["string", ""];
  if (typeof v === "number") return Number.isInteger(v) ? ["integer", "int64"] : ["number", "float64"];
  if (Array.isArray(v)) return ["array", ""];
  return ["object", ""];
}

function typeIssues(s: CrdSchema, types: string[], data: Json, path: string): Issue[] {
  if (!types.length && !s.format) return [];
  const [schType, format] = jsonType(data);
  const isStringOrArray = typeof data === "string" || Array.isArray(data);
  const isIntFloat = schType === "integer" && types.includes("number");
  const isLowerInt = s.format === "int64" && format === "int32";
  // a decoded number is float64 in Go only when it is not integral, so float-as-int never applies
  if (!isStringOrArray && s.format && !(types.includes(schType) || format === s.format || isIntFloat || isLowerInt))
    return [{ code: "type", name: path, value: format, message: typeFail(path, s.format, format) }];
  if (!(types.includes("number") || types.includes("integer")) && s.format && isStringOrArray) return [];
  if (!types.length) return [];
  if (!(types.includes(schType) || isIntFloat))
    return [{ code: "type", name: path, value: schType, message: typeFail(path, types.join(","), schType) }];
  return [];
}

function stringIssues(s: CrdSchema, data: string, path: string): Issue[] {
  const out: Issue[] = [];
  const length = [...data].length; // kube-openapi counts runes
  if (s.maxLength !== undefined && length > s.maxLength) out.push({ code: "tooLong", name: path, max: s.maxLength });
  if (s.minLength !== undefined && length < s.minLength)
    out.push({
      code: "invalid",
      name: path,
      value: data,
      message: `${path} in body should be at least ${s.minLength} chars long`,
    });
  if (s.pattern !== undefined && !compilePattern(s.pattern).test(data))
    out.push({ code: "invalid", name: path, value: data, message: `${path} in body should match '${s.pattern}'` });
  return out;
}

const patterns = new Map<string, RegExp>();
function compilePattern(p: string): RegExp {
  let re = patterns.get(p);
  if (!re) {
    // Go RE2 syntax; the unicode flag makes JS reject the same non-RE2 escapes and count code points
    try {
      re = new RegExp(p, "u");
    } catch {
      re = new RegExp(p);
    }
    patterns.set(p, re);
  }
  return re;
}

// The formats apiextensions keeps (apiserver/validation/formats.go); any other format is not checked.
const FORMAT_CHECKS: Record<string, (v: string) => boolean> = {
  "date-time": (v) => /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?$/.test(v),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)),
  byte: (v) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v),
  uuid: (v) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v),
  uuid3: (v) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v),
  uuid4: (v) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i.test(v),
  uuid5: (v) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i.test(v),
  ipv4: (v) => /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(v),
  ipv6: (v) => v.includes(":") && isIPv6(v),
  cidr: (v) => {
    const [ip, bits, more] = v.split("/");
    if (bits === undefined || more !== undefined || !/^\d{1,3}$/.test(bits)) return false;
    if (FORMAT_CHECKS.ipv4(ip)) return Number(bits) <= 32;
    return isIPv6(ip) && Number(bits) <= 128;
  },
  mac: (v) => /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(v) || /^([0-9a-f]{4}\.){2}[0-9a-f]{4}$/i.test(v),
  hostname: (v) =>
    v.length <= 255 && /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/i.test(v),
  email: (v) => /^[^@\s]+@[^@\s]+$/.test(v),
  duration: (v) =>
    /^[-+]?(\d+(\.\d+)?\s*(ns|us|µs|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?))+$/.test(
      v,
    ),
  // Go's url.Parse accepts relative references; it refuses control characters and bad escapes
  uri: (v) => ![...v].some((c) => c <= " " || c === "\x7f") && !/%(?![0-9a-fA-F]{2})/.test(v),
};

function isIPv6(v: string): boolean {
  return /^(([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(([0-9a-f]{1,4}:){0,7}[0-9a-f]{1,4})?::(([0-9a-f]{1,4}:){0,7}[0-9a-f]{1,4})?|([0-9a-f]{1,4}:){6}\d+\.\d+\.\d+\.\d+|(([0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::(([0-9a-f]{1,4}:){0,5})?\d+\.\d+\.\d+\.\d+)$/i.test(
    v,
  );
}

function formatIssues(s: CrdSchema, data: string, path: string): Issue[] {
  if (!s.format) return [];
  const check = FORMAT_CHECKS[s.format === "datetime" ? "date-time" : s.format];
  if (!check || check(data)) return [];
  return [{ code: "type", name: path, value: data, message: typeFail(path, s.format, data) }];
}

const INT32 = { min: -2147483648, max: 2147483647 };

function numberIssues(s: CrdSchema, data: number, path: string): Issue[] {
  const out: Issue[] = [];
  const integral = Number.isInteger(data);
  if (s.format === "int32" && integral && (data < INT32.min || data > INT32.max))
    out.push({ code: "composite", message: `${path} in body must be of type int32: ${goNumber(data)}` });
  if (s.multipleOf !== undefined && s.multipleOf > 0) {
    const q = data / s.multipleOf;
    if (Math.abs(q - Math.round(q)) > 1e-9)
      out.push({
        code: "invalid",
        name: path,
        value: data,
        message: `${path} in body should be a multiple of ${goNumber(s.multipleOf)}`,
      });
  }
  // an integer value is compared with the bound truncated to an integer (MinimumNativeType)
  const bound = (b: number) => (integral ? Math.trunc(b) : b);
  if (s.minimum !== undefined) {
    const min = bound(s.minimum);
    if (s.exclusiveMinimum ? data <= min : data < min)
      out.push({
        code: "invalid",
        name: path,
        value: data,
        message: `${path} in body should be greater than ${s.exclusiveMinimum ? "" : "or equal to "}${goNumber(min)}`,
      });
  }
  if (s.maximum !== undefined) {
    const max = bound(s.maximum);
    if (s.exclusiveMaximum ? data >= max : data > max)
      out.push({
        code: "invalid",
        name: path,
        value: data,
        message: `${path} in body should be less than ${s.exclusiveMaximum ? "" : "or equal to "}${goNumber(max)}`,
      });
  }
  return out;
}

function arrayIssues(s: CrdSchema, data: Json[], path: string): Issue[] {
  const out: Issue[] = [];
  if (s.items) for (let i = 0; i < data.length; i++) out.push(...validateNode(s.items, data[i], `${path}[${i}]`));
  if (s.minItems !== undefined && data.length < s.minItems)
    out.push({
      code: "invalid",
      name: path,
      value: data.length,
      message: `${path} in body should have at least ${s.minItems} items`,
    });
  if (s.maxItems !== undefined && data.length > s.maxItems)
    out.push({ code: "tooMany", name: path, actual: data.length, max: s.maxItems });
  if (s.uniqueItems && data.some((v, i) => data.findIndex((w) => isDeepStrictEqual(v, w)) !== i))
    out.push({ code: "invalid", name: path, value: "", message: `${path} in body shouldn't contain duplicates` });
  return out;
}

function enumIssues(s: CrdSchema, data: Json, path: string): Issue[] {
  if (!s.enum?.length) return [];
  // a null value never matches (kube-openapi skips nil enum entries)
  if (data !== null && s.enum.some((e) => e !== null && isDeepStrictEqual(e, data))) return [];
  return [{ code: "enum", name: path, value: data, values: s.enum }];
}

function objectIssues(s: CrdSchema, data: JsonMap, path: string): Issue[] {
  const keys = Object.keys(data);
  // min/maxProperties failures end the object's checks (objectValidator returns early)
  if (s.minProperties !== undefined && keys.length < s.minProperties)
    return [
      {
        code: "invalid",
        name: path,
        value: keys.length,
        message: `${path} in body should have at least ${s.minProperties} properties`,
      },
    ];
  if (s.maxProperties !== undefined && keys.length > s.maxProperties)
    return [{ code: "tooMany", name: path, actual: keys.length, max: s.maxProperties }];
  const out: Issue[] = [];
  const props = s.properties ?? {};
  if (s.additionalProperties === false) {
    for (const k of keys)
      if (!(k in props))
        out.push({ code: "invalid", name: path, value: k, message: `${path}.${k} in body is a forbidden property` });
  } else {
    const extra = additionalSchema(s);
    if (extra) for (const k of keys) if (!(k in props)) out.push(...validateNode(extra, data[k], `${path}.${k}`));
  }
  for (const [k, ps] of Object.entries(props))
    if (k in data) out.push(...validateNode(ps, data[k], path ? `${path}.${k}` : k));
  for (const r of s.required ?? []) if (!(r in data)) out.push({ code: "required", name: `${path}.${r}` });
  return out;
}

/** anyOf / oneOf / allOf / not: value validations, reported as kube-openapi's schemaPropsValidator does. */
function composedIssues(s: CrdSchema, data: Json, path: string): Issue[] {
  const out: Issue[] = [];
  const fewest = (results: Issue[][]) =>
    results.reduce<Issue[] | undefined>((best, r) => (!best || r.length < best.length ? r : best), undefined) ?? [];
  if (s.anyOf?.length) {
    const results = s.anyOf.map((b) => validateNode(b, data, path));
    if (!results.some((r) => r.length === 0)) {
      out.push({ code: "composite", message: `${goQuote(path)} must validate at least one schema (anyOf)` });
      out.push(...fewest(results));
    }
  }
  if (s.oneOf?.length) {
    const results = s.oneOf.map((b) => validateNode(b, data, path));
    const valid = results.filter((r) => r.length === 0).length;
    if (valid !== 1) {
      const detail = valid === 0 ? "Found none valid" : `Found ${valid} valid alternatives`;
      out.push({
        code: "composite",
        message: `${goQuote(path)} must validate one and only one schema (oneOf). ${detail}`,
      });
      if (valid === 0) out.push(...fewest(results));
    }
  }
  if (s.allOf?.length) {
    const results = s.allOf.map((b) => validateNode(b, data, path));
    for (const r of results) out.push(...r);
    const valid = results.filter((r) => r.length === 0).length;
    if (valid !== results.length)
      out.push({
        code: "composite",
        message: `${goQuote(path)} must validate all the schemas (allOf)${valid === 0 ? ". None validated" : ""}`,
      });
  }
  if (s.not && validateNode(s.not, data, path).length === 0)
    out.push({ code: "composite", message: `${goQuote(path)} must not validate the schema (not)` });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// kubeOpenAPIResultToFieldErrors and field.Error rendering

/** field.Path of a kube-openapi error name: the name without its leading dot; the root prints as <nil>. */
function fieldOf(name: string): string {
  const trimmed = name.startsWith(".") ? name.slice(1) : name;
  return trimmed && name !== "." ? trimmed : "<nil>";
}

function toFieldError(i: Issue): SchemaFieldError {
  switch (i.code) {
    case "required":
      return { field: fieldOf(i.name), message: "Required value", reason: "FieldValueRequired" };
    case "enum": {
      const values = i.values.map((v) => goQuote(typeof v === "string" ? v : JSON.stringify(v)));
      return {
        field: fieldOf(i.name),
        message: `Unsupported value: ${badValue(i.value)}: supported values: ${values.join(", ")}`,
        reason: "FieldValueNotSupported",
      };
    }
    case "tooLong":
      return {
        field: fieldOf(i.name),
        message: `Too long: may not be longer than ${i.max}`,
        reason: "FieldValueTooLong",
      };
    case "tooMany":
      return {
        field: fieldOf(i.name),
        message: `Too many: ${i.actual}: must have at most ${i.max} ${i.max === 1 ? "item" : "items"}`,
        reason: "FieldValueTooMany",
      };
    case "type":
      return {
        field: fieldOf(i.name),
        message: `Invalid value: ${badValue(i.value)}: ${i.message}`,
        reason: "FieldValueTypeInvalid",
      };
    case "invalid":
      return {
        field: fieldOf(i.name),
        message: `Invalid value: ${badValue(i.value)}: ${i.message}`,
        reason: "FieldValueInvalid",
      };
    case "composite":
      return { field: "<nil>", message: `Invalid value: "": ${i.message}`, reason: "FieldValueInvalid" };
  }
}

/** Go's %q for the strings the messages quote. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's %v of a float64 or int64 bound or value. */
function goNumber(n: number): string {
  return String(n);
}

/** field.Error's rendering of a bad value: %v for numbers and booleans, %q for strings, JSON otherwise. */
function badValue(v: Json): string {
  if (typeof v === "string") return goQuote(v);
  if (typeof v === "number") return goNumber(v);
  if (typeof v === "boolean") return String(v);
  return JSON.stringify(v ?? null);
}

// ---------------------------------------------------------------------------------------------------
// Embedded resources and list types (apiextensions schema/objectmeta and schema/listtype)

function join(path: string, child: string): string {
  return path ? `${path}.${child}` : child;
}

function walkChildren(
  s: CrdSchema,
  data: Json,
  path: string,
  visit: (s: CrdSchema, v: Json, path: string) => SchemaFieldError[],
): SchemaFieldError[] {
  const out: SchemaFieldError[] = [];
  if (isMap(data)) {
    const extra = additionalSchema(s);
    for (const [k, v] of Object.entries(data)) {
      const child = s.properties?.[k] ?? extra;
      if (child) out.push(...visit(child, v, join(path, k)));
    }
  } else if (Array.isArray(data) && s.items) {
    data.forEach((v, i) => out.push(...visit(s.items!, v, `${path}[${i}]`)));
  }
  return out;
}

/** An embedded object must carry a non-empty apiVersion and kind (objectmeta.validateEmbeddedResource). */
function embeddedResourceErrors(s: CrdSchema, data: Json, path: string): SchemaFieldError[] {
  const out: SchemaFieldError[] = [];
  if (s["x-kubernetes-embedded-resource"] && isMap(data)) {
    for (const f of ["apiVersion", "kind"]) {
      const field = join(path, f);
      const v = data[f];
      if (!(f in data)) out.push({ field, message: "Required value: must not be empty", reason: "FieldValueRequired" });
      else if (typeof v !== "string")
        out.push({ field, message: `Invalid value: ${badValue(v)}: must be a string`, reason: "FieldValueInvalid" });
      else if (v === "")
        out.push({ field, message: `Invalid value: "": must not be empty`, reason: "FieldValueInvalid" });
      else if (f === "apiVersion" && v.split("/").length > 2)
        out.push({
          field,
          message: `Invalid value: ${goQuote(v)}: unexpected GroupVersion string: ${v}`,
          reason: "FieldValueInvalid",
        });
    }
  }
  return out.concat(walkChildren(s, data, path, embeddedResourceErrors));
}

/** x-kubernetes-list-type set and map: items (or map keys) must be unique. */
function listTypeErrors(s: CrdSchema, data: Json, path: string): SchemaFieldError[] {
  const out: SchemaFieldError[] = [];
  if (Array.isArray(data)) {
    const listType = s["x-kubernetes-list-type"];
    const dup = (i: number, v: Json): SchemaFieldError => ({
      field: `${path}[${i}]`,
      message: `Duplicate value: ${badValue(v)}`,
      reason: "FieldValueDuplicate",
    });
    if (listType === "set") {
      data.forEach((v, i) => {
        if (data.findIndex((w) => isDeepStrictEqual(v, w)) !== i) out.push(dup(i, v));
      });
    } else if (listType === "map") {
      const keys = s["x-kubernetes-list-map-keys"] ?? [];
      const bad = data.findIndex((x) => x !== null && !isMap(x));
      if (bad >= 0)
        out.push({
          field: `${path}[${bad}]`,
          message: `Invalid value: ${badValue(data[bad])}: must be an object for an array of list-type map`,
          reason: "FieldValueInvalid",
        });
      else {
        const keyOf = (x: Json): Json => {
          // a key field left out counts with its default
          const pick = (k: string) => (isMap(x) && k in x ? x[k] : s.items?.properties?.[k]?.default);
          if (keys.length === 1) return pick(keys[0]);
          return Object.fromEntries(keys.map((k) => [k, pick(k)]).filter(([, v]) => v !== undefined));
        };
        const seen: Json[] = [];
        data.forEach((x, i) => {
          const k = keyOf(x);
          if (seen.some((o) => isDeepStrictEqual(o, k))) out.push(dup(i, k));
          seen.push(k);
        });
      }
    }
  }
  return out.concat(walkChildren(s, data, path, listTypeErrors));
}

// ---------------------------------------------------------------------------------------------------
// Sandbox wiring

/** What the wiring needs from the type registry (sandbox/api/registry.ts). */
export interface CrdLookup {
  byKey(key: string): ResourceType | undefined;
  crdFor(key: string): KObject | undefined;
}

/** The openAPIV3Schema of one version of a CRD (the served type's version when that one is absent). */
export function crdVersionSchema(crd: KObject, version: string): CrdSchema | undefined {
  return crdVersion(crd, version)?.schema?.openAPIV3Schema;
}

function crdVersion(crd: KObject, version: string): any {
  return (crd.spec?.versions ?? []).find((v: any) => v.name === version);
}

function objectVersion(t: ResourceType, obj: KObject): string {
  const v = obj.apiVersion?.slice(obj.apiVersion.lastIndexOf("/") + 1);
  return v && t.versions.includes(v) ? v : t.version;
}

/**
 * Mutating step for custom resources: fills CRD defaults before webhooks and validation, as the
 * apiserver defaults while decoding the request body.
 */
export function crdDefaulting(registry: CrdLookup): AdmissionPlugin {
  return (req) => {
    const t = registry.byKey(req.key);
    if (!t?.custom) return req.object;
    const crd = registry.crdFor(resourceKey(t.group, t.plural));
    const schema = crd && crdVersionSchema(crd, objectVersion(t, req.object));
    if (!schema) return req.object;
    return applyCrdDefaults(schema, structuredClone(req.object));
  };
}

/**
 * Validation of custom resources against their CRD schema. The store runs validators on main-resource
 * writes only, so with a status subresource `.status` is left to the status endpoint.
 */
export function crdSchemaValidator(registry: CrdLookup): Validator {
  return (t, obj) => {
    if (!t.custom) return [];
    const crd = registry.crdFor(resourceKey(t.group, t.plural));
    if (!crd) return [];
    const version = objectVersion(t, obj);
    const schema = crdVersionSchema(crd, version);
    const hasStatus = !!crdVersion(crd, version)?.subresources?.status || !!crd.spec?.subresources?.status;
    return validateAgainstCrdSchema(schema, obj, { part: hasStatus ? "main" : "all" });
  };
}
