// Field sets of server-side apply (sigs.k8s.io/structured-merge-diff): which leaves and list items an object sets,
// the FieldsV1 encoding managedFields stores them in, and the `.spec.replicas` form conflicts are reported in.
import { badRequest } from "../types.js";
import { isJsonObject, jsonEqual, type JsonObject } from "./json-value.js";
import { listMapKeys, type ListRule, type PatchSchema } from "./schema.js";

/** One step of a field path in FieldsV1 spelling: `f:<field>`, `k:<json of key fields>` (list item), `v:<json>` (set member). */
export type PathElement = string;
export type FieldPath = PathElement[];
/** A field path as a comparable string (the JSON of its elements). */
export type PathKey = string;

/** What an object sets at one path: a leaf value, or a list item (owned as a whole by whoever added it). */
export type FieldValue = { leaf: unknown } | { item: true };

export const pathKey = (path: FieldPath): PathKey => JSON.stringify(path);
export const pathOf = (key: PathKey): FieldPath => JSON.parse(key) as FieldPath;

/** Fields the API server stamps or that name the object: never owned (fieldmanager's StripMeta). */
const strippedMetadata = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "selfLink",
  "managedFields",
]);

export function schemaChild(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

export function listRule(schema: PatchSchema, path: string): ListRule | undefined {
  return Object.hasOwn(schema.lists, path) ? schema.lists[path] : undefined;
}

export function isAtomicMap(schema: PatchSchema, path: string): boolean {
  return schema.atomicMaps?.includes(path) ?? false;
}

/** A list rule that identifies object items by key (an associative list), rather than a set of primitives. */
export function isKeyedRule(rule: ListRule | undefined): rule is ListRule {
  return rule !== undefined && listMapKeys(rule).length > 0;
}

/**
 * The identity of an item of an associative list: its key fields (defaults filled in), sorted by name, as JSON.
 * Undefined when a key field is missing and has no default.
 */
export function itemKey(item: unknown, rule: ListRule): string | undefined {
  if (!isJsonObject(item)) return undefined;
  const key: JsonObject = {};
  for (const name of [...listMapKeys(rule)].sort()) {
    const value = item[name] ?? rule.keyDefaults?.[name];
    if (value === undefined || value === null) return undefined;
    key[name] = value;
  }
  return JSON.stringify(key);
}

export interface CollectOptions {
  /** a list item without its key fields is a 400 (the applied configuration), or is skipped (a stored object) */
  strict: boolean;
}

/** Every leaf and list item an object sets, by path, skipping the fields nobody owns (identity and server stamps). */
export function collectFields(obj: JsonObject, schema: PatchSchema, options: CollectOptions): Map<PathKey, FieldValue> {
  const out = new Map<PathKey, FieldValue>();
  for (const [field, value] of Object.entries(obj)) {
    if (field === "apiVersion" || field === "kind") continue;
    if (field === "metadata" && isJsonObject(value)) {
      const owned = Object.fromEntries(Object.entries(value).filter(([name]) => !strippedMetadata.has(name)));
      collectMap(owned, "metadata", ["f:metadata"], schema, options, out);
      continue;
    }
    collectValue(value, field, ["f:" + field], schema, options, out);
  }
  return out;
}

function collectMap(
  map: JsonObject,
  schemaPath: string,
  path: FieldPath,
  schema: PatchSchema,
  options: CollectOptions,
  out: Map<PathKey, FieldValue>,
): void {
  for (const [field, value] of Object.entries(map)) {
    collectValue(value, schemaChild(schemaPath, field), [...path, "f:" + field], schema, options, out);
  }
}

function collectValue(
  value: unknown,
  schemaPath: string,
  path: FieldPath,
  schema: PatchSchema,
  options: CollectOptions,
  out: Map<PathKey, FieldValue>,
): void {
  if (value === null || value === undefined) return; // null means "not set"
  if (isJsonObject(value)) {
    // an empty map is still a value someone set; an atomic map is one value
    if (Object.keys(value).length === 0 || isAtomicMap(schema, schemaPath)) out.set(pathKey(path), { leaf: value });
    else collectMap(value, schemaPath, path, schema, options, out);
    return;
  }
  if (!Array.isArray(value)) {
    out.set(pathKey(path), { leaf: value });
    return;
  }
  const rule = listRule(schema, schemaPath);
  // like an empty map, an empty list is a value someone set
  if (isKeyedRule(rule) && value.length > 0 && value.every(isJsonObject)) {
    value.forEach((item, index) => {
      const key = itemKey(item, rule);
      if (key === undefined) {
        if (options.strict) throw missingKeyField(describePath(path), index, rule, item as JsonObject);
        return;
      }
      const itemPath = [...path, "k:" + key];
      if (out.has(pathKey(itemPath))) {
        if (options.strict)
          throw badRequest(`${describePath(path)}: duplicate entries for key ${describeElement("k:" + key)}`);
        return;
      }
      out.set(pathKey(itemPath), { item: true });
      collectMap(item as JsonObject, `${schemaPath}[]`, itemPath, schema, options, out);
    });
    return;
  }
  if (rule && !isKeyedRule(rule) && value.length > 0 && value.every((v) => !isJsonObject(v) && !Array.isArray(v))) {
    for (const member of value) out.set(pathKey([...path, "v:" + JSON.stringify(member)]), { leaf: member });
    return;
  }
  out.set(pathKey(path), { leaf: value }); // atomic list
}

function missingKeyField(listPath: string, index: number, rule: ListRule, item: JsonObject) {
  const missing = listMapKeys(rule).find((name) => item[name] === undefined && rule.keyDefaults?.[name] === undefined);
  return badRequest(
    `${listPath}: element ${index}: associative list with keys has an element that omits key field "${missing}" (and doesn't have default value)`,
  );
}

/** The changes between two objects' fields (structured-merge-diff Comparison). */
export interface FieldComparison {
  added: Set<PathKey>;
  modified: Set<PathKey>;
  removed: Set<PathKey>;
}

export function compareFields(before: Map<PathKey, FieldValue>, after: Map<PathKey, FieldValue>): FieldComparison {
  const added = new Set<PathKey>();
  const modified = new Set<PathKey>();
  const removed = new Set<PathKey>();
  for (const [key, value] of after) {
    const old = before.get(key);
    if (old === undefined) added.add(key);
    else if (
      "leaf" in value !== "leaf" in old ||
      ("leaf" in value && "leaf" in old && !jsonEqual(value.leaf, old.leaf))
    ) {
      modified.add(key);
    }
  }
  for (const key of before.keys()) if (!after.has(key)) removed.add(key);
  return { added, modified, removed };
}

/** `.spec.replicas`, `[name="app"]`, `[="finalizer"]`: how fieldpath.Path prints one element. */
export function describeElement(element: PathElement): string {
  const body = element.slice(2);
  if (element.startsWith("f:")) return "." + body;
  if (element.startsWith("k:")) {
    const key = JSON.parse(body) as JsonObject;
    return `[${Object.entries(key)
      .map(([name, v]) => `${name}=${JSON.stringify(v)}`)
      .join(",")}]`;
  }
  if (element.startsWith("v:")) return `[=${body}]`;
  return `[${body}]`;
}

export function describePath(path: FieldPath): string {
  return path.map(describeElement).join("");
}

interface TrieNode {
  member: boolean;
  children: Map<PathElement, TrieNode>;
}

const elementRank = (element: PathElement) => ["f:", "k:", "v:", "i:"].indexOf(element.slice(0, 2));

/** Encodes a field set as FieldsV1: nested `f:`/`k:`/`v:` keys, `{}` for a leaf, `".": {}` for a member that has children. */
export function encodeFieldsV1(keys: Iterable<PathKey>): JsonObject {
  const root: TrieNode = { member: false, children: new Map() };
  for (const key of keys) {
    let node = root;
    for (const element of pathOf(key)) {
      let child = node.children.get(element);
      if (!child) node.children.set(element, (child = { member: false, children: new Map() }));
      node = child;
    }
    node.member = true;
  }
  const encode = (node: TrieNode): JsonObject => {
    const out: JsonObject = {};
    if (node.member && node.children.size > 0) out["."] = {};
    const elements = [...node.children.keys()].sort(
      (a, b) => elementRank(a) - elementRank(b) || (a < b ? -1 : a > b ? 1 : 0),
    );
    for (const element of elements) out[element] = encode(node.children.get(element)!);
    return out;
  };
  return encode(root);
}

/** Decodes FieldsV1 into the set of member paths; anything malformed is ignored. */
export function decodeFieldsV1(fields: unknown): Set<PathKey> {
  const out = new Set<PathKey>();
  const walk = (node: unknown, path: FieldPath) => {
    if (!isJsonObject(node)) return;
    for (const [element, child] of Object.entries(node)) {
      if (element === ".") {
        if (path.length > 0) out.add(pathKey(path));
        continue;
      }
      const childPath = [...path, element];
      if (isJsonObject(child) && Object.keys(child).length === 0) out.add(pathKey(childPath));
      else walk(child, childPath);
    }
  };
  walk(fields, []);
  return out;
}
