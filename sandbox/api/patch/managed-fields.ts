// metadata.managedFields bookkeeping (k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager): one entry per
// manager/operation/subresource (plus apiVersion for updates), each owning a field set.
import type { KObject, ManagedFieldsEntry } from "../types.js";
import {
  collectFields,
  compareFields,
  decodeFieldsV1,
  encodeFieldsV1,
  type FieldValue,
  type PathKey,
} from "./field-set.js";
import { cloneJson, isJsonObject } from "./json-value.js";
import { builtinPatchSchema, type PatchSchema } from "./schema.js";

/** A decoded managedFields entry: who owns which fields. */
export interface FieldOwner {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  subresource?: string;
  fields: Set<PathKey>;
}

/** BuildManagerIdentifier: appliers are one manager across API versions; updaters are one per version. */
export function ownerIdentity(owner: Pick<FieldOwner, "manager" | "operation" | "apiVersion" | "subresource">): string {
  return JSON.stringify([
    owner.manager,
    owner.operation,
    owner.operation === "Apply" ? "" : owner.apiVersion,
    owner.subresource ?? "",
  ]);
}

/** How a conflict names its manager (fieldmanager printManager, time left out as in the identifier). */
export function describeOwner(owner: FieldOwner): string {
  let text = JSON.stringify(owner.manager);
  if (owner.subresource) text += ` with subresource ${JSON.stringify(owner.subresource)}`;
  if (owner.operation === "Update") text += ` using ${owner.apiVersion}`;
  return text;
}

/** Decodes stored entries; entries with the same identity are merged, malformed ones keep an empty set. */
export function decodeManagedFields(entries: unknown): FieldOwner[] {
  if (!Array.isArray(entries)) return [];
  const owners = new Map<string, FieldOwner>();
  for (const entry of entries) {
    if (!isJsonObject(entry)) continue;
    const owner: FieldOwner = {
      manager: typeof entry.manager === "string" ? entry.manager : "",
      operation: entry.operation === "Apply" ? "Apply" : "Update",
      apiVersion: typeof entry.apiVersion === "string" ? entry.apiVersion : "",
      ...(typeof entry.time === "string" ? { time: entry.time } : {}),
      ...(typeof entry.subresource === "string" && entry.subresource ? { subresource: entry.subresource } : {}),
      fields: decodeFieldsV1(entry.fieldsV1),
    };
    const id = ownerIdentity(owner);
    const existing = owners.get(id);
    if (existing) for (const key of owner.fields) existing.fields.add(key);
    else owners.set(id, owner);
  }
  return [...owners.values()];
}

/**
 * Encodes owners with a non-empty set, in the API server's order: Apply before Update, then by time, manager, version.
 * An entry stored without a time gets `fallbackTime` (the entry type requires one).
 */
export function encodeManagedFields(owners: FieldOwner[], fallbackTime: string): ManagedFieldsEntry[] {
  const seconds = (time?: string) => (time ? Math.floor(Date.parse(time) / 1000) || 0 : 0);
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return owners
    .filter((owner) => owner.fields.size > 0)
    .sort(
      (p, q) =>
        compare(p.operation, q.operation) ||
        seconds(p.time) - seconds(q.time) ||
        compare(p.manager, q.manager) ||
        compare(p.apiVersion, q.apiVersion) ||
        compare(p.subresource ?? "", q.subresource ?? ""),
    )
    .map((owner) => ({
      manager: owner.manager,
      operation: owner.operation,
      apiVersion: owner.apiVersion,
      time: owner.time ?? fallbackTime,
      fieldsType: "FieldsV1" as const,
      fieldsV1: encodeFieldsV1(owner.fields),
      ...(owner.subresource ? { subresource: owner.subresource } : {}),
    }));
}

/** Sets (or drops, when no owner is left) metadata.managedFields on an object that is already a copy. */
export function withManagedFields(obj: KObject, owners: FieldOwner[], now: string): KObject {
  const entries = encodeManagedFields(owners, now);
  const metadata = { ...(obj.metadata ?? {}) };
  if (entries.length > 0) metadata.managedFields = entries;
  else delete metadata.managedFields;
  return { ...obj, metadata };
}

export function fieldsOf(obj: KObject | undefined, schema: PatchSchema): Map<PathKey, FieldValue> {
  return obj ? collectFields(obj as Record<string, unknown>, schema, { strict: false }) : new Map();
}

/**
 * Records a non-apply write (create, update, patch) in managedFields: the writer's "Update" entry gains every field
 * the write added or changed, and every other owner loses the fields that were changed or removed.
 * A write that changes nothing leaves managedFields as they were. managedFields sent in the body (not on a
 * subresource) replace the stored ones, so `[{}]` clears them (fieldmanager FieldManager.Update).
 */
export function recordUpdate(
  before: KObject | undefined,
  after: KObject,
  manager: string,
  apiVersion: string,
  now: string,
  subresource?: string,
  schema: PatchSchema = builtinPatchSchema(after.kind ?? before?.kind ?? ""),
): KObject {
  return recordWithFields(
    before,
    after,
    fieldsOf(before, schema),
    fieldsOf(after, schema),
    manager,
    apiVersion,
    now,
    subresource,
  );
}

/** Field sets of objects the store holds (immutable), so the next write against one need not walk it again. */
const storedFields = new WeakMap<object, Map<PathKey, FieldValue>>();

/**
 * recordUpdate for the store, whose `before` is an immutable stored object: its field set is remembered from
 * the write that produced it. Only the fields managedFields ignores (resourceVersion, managedFields) may change
 * on the returned object afterwards.
 */
export function recordStoredUpdate(
  before: KObject | undefined,
  after: KObject,
  manager: string,
  apiVersion: string,
  now: string,
  subresource?: string,
): KObject {
  const schema = builtinPatchSchema(after.kind ?? before?.kind ?? "");
  const beforeFields = (before && storedFields.get(before)) ?? fieldsOf(before, schema);
  const afterFields = fieldsOf(after, schema);
  const result = recordWithFields(before, after, beforeFields, afterFields, manager, apiVersion, now, subresource);
  storedFields.set(result, afterFields);
  return result;
}

function recordWithFields(
  before: KObject | undefined,
  after: KObject,
  beforeFields: Map<PathKey, FieldValue>,
  afterFields: Map<PathKey, FieldValue>,
  manager: string,
  apiVersion: string,
  now: string,
  subresource?: string,
): KObject {
  const sent = after.metadata?.managedFields;
  const owners =
    Array.isArray(sent) && sent.length > 0 && !subresource
      ? decodeManagedFields(sent)
      : decodeManagedFields(before?.metadata?.managedFields);
  const changes = compareFields(beforeFields, afterFields);
  const taken = new Set([...changes.added, ...changes.modified]);
  for (const owner of owners) {
    for (const key of taken) owner.fields.delete(key);
    for (const key of changes.removed) owner.fields.delete(key);
  }
  if (taken.size > 0) {
    const writer: FieldOwner = {
      manager,
      operation: "Update",
      apiVersion,
      ...(subresource ? { subresource } : {}),
      fields: new Set(),
    };
    const existing = owners.find((owner) => ownerIdentity(owner) === ownerIdentity(writer));
    const target = existing ?? writer;
    if (!existing) owners.push(writer);
    for (const key of taken) target.fields.add(key);
    target.time = now;
  }
  return withManagedFields(cloneJson(after), owners, now);
}
