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

/**
 * compareFields(collectFields(before), collectFields(after)), computed by walking both objects together. A value
 * both share (the same object, as a copy-on-write update leaves every part it does not change) sets the same
 * fields on both sides and is skipped, so the cost follows the size of the change, not of the object. Maps are
 * descended key by key; anything else that differs (lists, leaves, atomic or empty maps) is collected on both
 * sides and compared. Fields of disjoint paths never interact, which is what makes the split exact.
 */
export function diffFields(before: JsonObject | undefined, after: JsonObject, schema: PatchSchema): FieldComparison {
  const out: FieldComparison = { added: new Set(), modified: new Set(), removed: new Set() };
  const b: JsonObject = before ?? {};
  for (const field of unionKeys(b, after)) {
    if (field === "apiVersion" || field === "kind") continue;
    const bv = b[field];
    const av = after[field];
    if (bv === av) continue;
    if (field === "metadata" && isJsonObject(bv) && isJsonObject(av)) {
      // metadata is always a map of fields (even when empty), minus what nobody owns
      for (const name of unionKeys(bv, av)) {
        if (strippedMetadata.has(name)) continue;
        diffValue(bv[name], av[name], schemaChild("metadata", name), ["f:metadata", "f:" + name], schema, out);
      }
      continue;
    }
    if (field === "metadata") {
      const fieldsOf = (v: unknown) => {
        const one: JsonObject = {};
        if (v !== undefined) one.metadata = v;
        return collectFields(one, schema, { strict: false });
      };
      addComparison(out, compareFields(fieldsOf(bv), fieldsOf(av)));
      continue;
    }
    diffValue(bv, av, field, ["f:" + field], schema, out);
  }
  return out;
}

function unionKeys(a: JsonObject, b: JsonObject): Set<string> {
  const keys = new Set(Object.keys(a));
  for (const k of Object.keys(b)) keys.add(k);
  return keys;
}

/** A map collectValue descends into (rather than a leaf): non-empty and not atomic. */
function isFieldMap(value: unknown, schema: PatchSchema, schemaPath: string): value is JsonObject {
  return isJsonObject(value) && Object.keys(value).length > 0 && !isAtomicMap(schema, schemaPath);
}

function diffValue(
  before: unknown,
  after: unknown,
  schemaPath: string,
  path: FieldPath,
  schema: PatchSchema,
  out: FieldComparison,
): void {
  if (before === after) return;
  if (isFieldMap(before, schema, schemaPath) && isFieldMap(after, schema, schemaPath)) {
    const child = (field: string) =>
      diffValue(before[field], after[field], schemaChild(schemaPath, field), [...path, "f:" + field], schema, out);
    for (const field of Object.keys(before)) if (before[field] !== after[field]) child(field);
    for (const field of Object.keys(after)) if (!Object.hasOwn(before, field)) child(field);
    return;
  }
  const beforeFields = new Map<PathKey, FieldValue>();
  const afterFields = new Map<PathKey, FieldValue>();
  collectValue(before, schemaPath, path, schema, { strict: false }, beforeFields);
  collectValue(after, schemaPath, path, schema, { strict: false }, afterFields);
  addComparison(out, compareFields(beforeFields, afterFields));
}

function addComparison(into: FieldComparison, part: FieldComparison): void {
  for (const key of part.added) into.added.add(key);
  for (const key of part.modified) into.modified.add(key);
  for (const key of part.removed) into.removed.add(key);
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
  return encodeTrie(root) ?? {};
}

/** A trie node as FieldsV1; undefined for a node with no member at or below it. */
function encodeTrie(node: TrieNode): JsonObject | undefined {
  const elements = [...node.children.keys()].sort(
    (a, b) => elementRank(a) - elementRank(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const children: [PathElement, JsonObject][] = [];
  for (const element of elements) {
    const child = encodeTrie(node.children.get(element)!);
    if (child) children.push([element, child]);
  }
  if (!node.member && children.length === 0) return undefined;
  const out: JsonObject = {};
  if (node.member && children.length > 0) out["."] = {};
  for (const [element, child] of children) out[element] = child;
  return out;
}

/**
 * encodeFieldsV1(collectFields(obj, schema).keys()) in one walk of the object, without field-path keys: the
 * field set of a writer that creates the object (or owns all of it). The walk is collectFields', step for step.
 */
export function fieldsV1Of(obj: JsonObject, schema: PatchSchema): JsonObject {
  const root: TrieNode = { member: false, children: new Map() };
  const child = (node: TrieNode, element: PathElement) => {
    let next = node.children.get(element);
    if (!next) node.children.set(element, (next = { member: false, children: new Map() }));
    return next;
  };
  const walkMap = (map: JsonObject, schemaPath: string, node: TrieNode) => {
    for (const [field, value] of Object.entries(map))
      walkValue(value, schemaChild(schemaPath, field), node, "f:" + field);
  };
  const walkValue = (value: unknown, schemaPath: string, parent: TrieNode, element: PathElement): void => {
    if (value === null || value === undefined) return;
    if (isJsonObject(value)) {
      if (Object.keys(value).length === 0 || isAtomicMap(schema, schemaPath)) child(parent, element).member = true;
      else walkMap(value, schemaPath, child(parent, element));
      return;
    }
    if (!Array.isArray(value)) {
      child(parent, element).member = true;
      return;
    }
    const rule = listRule(schema, schemaPath);
    if (isKeyedRule(rule) && value.length > 0 && value.every(isJsonObject)) {
      const list = child(parent, element);
      for (const item of value) {
        const key = itemKey(item, rule);
        if (key === undefined || list.children.get("k:" + key)?.member) continue; // no key, or a duplicate: skipped
        const itemNode = child(list, "k:" + key);
        itemNode.member = true;
        walkMap(item as JsonObject, `${schemaPath}[]`, itemNode);
      }
      return;
    }
    if (rule && !isKeyedRule(rule) && value.length > 0 && value.every((v) => !isJsonObject(v) && !Array.isArray(v))) {
      const set = child(parent, element);
      for (const member of value) child(set, "v:" + JSON.stringify(member)).member = true;
      return;
    }
    child(parent, element).member = true; // atomic list
  };
  for (const [field, value] of Object.entries(obj)) {
    if (field === "apiVersion" || field === "kind") continue;
    if (field === "metadata" && isJsonObject(value)) {
      const meta = child(root, "f:metadata");
      for (const [name, v] of Object.entries(value))
        if (!strippedMetadata.has(name)) walkValue(v, schemaChild("metadata", name), meta, "f:" + name);
      continue;
    }
    walkValue(value, field, root, "f:" + field);
  }
  return encodeTrie(root) ?? {};
}

/** Whether a FieldsV1 set holds `path` as a member, as decodeFieldsV1 would find it, without decoding the set. */
export function fieldsV1Has(fields: unknown, path: FieldPath): boolean {
  let node = fields;
  for (const element of path) {
    if (!isJsonObject(node) || !Object.hasOwn(node, element)) return false;
    node = node[element];
  }
  return path.length > 0 && isJsonObject(node) && (Object.keys(node).length === 0 || Object.hasOwn(node, "."));
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
