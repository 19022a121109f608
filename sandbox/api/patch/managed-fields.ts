// metadata.managedFields bookkeeping (k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager): one entry per
// manager/operation/subresource (plus apiVersion for updates), each owning a field set.
import type { KObject, ManagedFieldsEntry } from "../types.js";
import {
  collectFields,
  compareFields,
  decodeFieldsV1,
  diffFields,
  encodeFieldsV1,
  fieldsV1Has,
  fieldsV1Of,
  pathOf,
  type FieldComparison,
  type FieldValue,
  type PathKey,
} from "./field-set.js";
import { cloneJson, isJsonObject, type JsonObject } from "./json-value.js";
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
type EntryOrder = Pick<FieldOwner, "manager" | "operation" | "apiVersion" | "time" | "subresource">;

/** The API server's order of managedFields entries: Apply before Update, then by time (seconds), manager, version. */
function compareEntries(p: EntryOrder, q: EntryOrder): number {
  const seconds = (time?: string) => (time ? Math.floor(Date.parse(time) / 1000) || 0 : 0);
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return (
    compare(p.operation, q.operation) ||
    seconds(p.time) - seconds(q.time) ||
    compare(p.manager, q.manager) ||
    compare(p.apiVersion, q.apiVersion) ||
    compare(p.subresource ?? "", q.subresource ?? "")
  );
}

export function encodeManagedFields(owners: FieldOwner[], fallbackTime: string): ManagedFieldsEntry[] {
  return owners
    .filter((owner) => owner.fields.size > 0)
    .sort(compareEntries)
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

/**
 * recordUpdate for the store: `before` is an immutable stored object and `after` a new object the store owns,
 * typically sharing with `before` every part the write left alone. The field changes come from walking the two
 * together (diffFields), which skips shared parts, and `after` is not copied: only its top level and metadata
 * are replaced. Gives exactly what recordUpdate gives.
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
  const sent = after.metadata?.managedFields;
  let entries: ManagedFieldsEntry[] | undefined;
  if (!before && !(Array.isArray(sent) && sent.length > 0 && !subresource)) {
    // a create: the writer owns every field, in one walk of the object
    const fieldsV1 = fieldsV1Of(after as JsonObject, schema);
    entries =
      Object.keys(fieldsV1).length === 0
        ? []
        : [
            {
              manager,
              operation: "Update",
              apiVersion,
              time: now,
              fieldsType: "FieldsV1",
              fieldsV1,
              ...(subresource ? { subresource } : {}),
            },
          ];
  } else {
    const changes = diffFields(before as JsonObject | undefined, after as JsonObject, schema);
    entries = entriesAfter(before, after, changes, manager, apiVersion, now, subresource);
    if (!entries)
      return withManagedFields(after, ownersAfter(before, after, changes, manager, apiVersion, now, subresource), now);
  }
  const metadata = { ...after.metadata };
  if (entries.length > 0) metadata.managedFields = entries;
  else delete metadata.managedFields;
  return { ...after, metadata };
}

function isStoredEntry(entry: unknown): entry is ManagedFieldsEntry {
  return (
    isJsonObject(entry) &&
    typeof entry.manager === "string" &&
    (entry.operation === "Apply" || entry.operation === "Update") &&
    typeof entry.apiVersion === "string" &&
    typeof entry.time === "string" &&
    entry.fieldsType === "FieldsV1" &&
    isJsonObject(entry.fieldsV1) &&
    (entry.subresource === undefined || (typeof entry.subresource === "string" && entry.subresource !== ""))
  );
}

/**
 * The common case of ownersAfter without decoding and re-encoding every entry: when no other manager owns a
 * field the write changed, only the writer's entry changes (its time, or a new entry for a new writer). Works on
 * the stored entries (our own encoding, so canonical); undefined when the general path is needed.
 */
function entriesAfter(
  before: KObject | undefined,
  after: KObject,
  changes: FieldComparison,
  manager: string,
  apiVersion: string,
  now: string,
  subresource?: string,
): ManagedFieldsEntry[] | undefined {
  const stored = before?.metadata?.managedFields ?? [];
  const sent = after.metadata?.managedFields;
  if (Array.isArray(sent) && sent.length > 0 && !subresource && sent !== stored) return undefined;
  if (!Array.isArray(stored) || !stored.every(isStoredEntry)) return undefined;
  const changed = [...changes.added, ...changes.modified, ...changes.removed].map(pathOf);
  const writerId = ownerIdentity({ manager, operation: "Update", apiVersion, subresource });
  const identities = new Set<string>();
  let writer = -1;
  for (let i = 0; i < stored.length; i++) {
    const id = ownerIdentity(stored[i]);
    // one entry per identity, each owning something: what the general path would keep as it is
    if (identities.has(id) || Object.keys(stored[i].fieldsV1).length === 0) return undefined;
    identities.add(id);
    if (id === writerId) writer = i;
    else if (changed.some((path) => fieldsV1Has(stored[i].fieldsV1, path))) return undefined;
  }
  const taken = [...changes.added, ...changes.modified];
  if (writer >= 0) {
    const owned = stored[writer].fieldsV1;
    if ([...changes.removed].some((key) => fieldsV1Has(owned, pathOf(key)))) return undefined;
    if (taken.some((key) => !fieldsV1Has(owned, pathOf(key)))) return undefined;
  }
  if (taken.length === 0) return stored;
  const next = [...stored];
  if (writer >= 0) next[writer] = { ...stored[writer], time: now };
  else
    next.push({
      manager,
      operation: "Update",
      apiVersion,
      time: now,
      fieldsType: "FieldsV1",
      fieldsV1: encodeFieldsV1(taken),
      ...(subresource ? { subresource } : {}),
    });
  return next.sort(compareEntries);
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
  const changes = compareFields(beforeFields, afterFields);
  return withManagedFields(
    cloneJson(after),
    ownersAfter(before, after, changes, manager, apiVersion, now, subresource),
    now,
  );
}

/** The owners once a write made `changes`: the writer takes what it added or changed, the others lose it. */
function ownersAfter(
  before: KObject | undefined,
  after: KObject,
  changes: FieldComparison,
  manager: string,
  apiVersion: string,
  now: string,
  subresource?: string,
): FieldOwner[] {
  const sent = after.metadata?.managedFields;
  const owners =
    Array.isArray(sent) && sent.length > 0 && !subresource
      ? decodeManagedFields(sent)
      : decodeManagedFields(before?.metadata?.managedFields);
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
  return owners;
}
