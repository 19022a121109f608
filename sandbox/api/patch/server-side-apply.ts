// Server-side apply (`application/apply-patch+yaml`), following structured-merge-diff's Updater.Apply as
// kube-apiserver runs it: merge the configuration into the live object, prune what the manager stopped applying,
// then refuse (409) or, with force, take over fields another manager owns and this apply changes.
import { ApiError, badRequest, type KObject } from "../types.js";
import {
  collectFields,
  compareFields,
  describePath,
  isAtomicMap,
  isKeyedRule,
  itemKey,
  listRule,
  pathKey,
  pathOf,
  schemaChild,
  type FieldPath,
  type PathKey,
} from "./field-set.js";
import { cloneJson, isJsonObject, jsonEqual, type JsonObject } from "./json-value.js";
import {
  decodeManagedFields,
  describeOwner,
  fieldsOf,
  ownerIdentity,
  withManagedFields,
  type FieldOwner,
} from "./managed-fields.js";
import { listMapKeys, builtinPatchSchema, type PatchSchema } from "./schema.js";

export interface ServerSideApplyOptions {
  /** the fieldManager query parameter (required for apply; kubectl sends "kubectl") */
  manager: string;
  /** force=true: take ownership of conflicting fields instead of failing */
  force: boolean;
  /** group/version of the request, e.g. "apps/v1"; the configuration must be written in it */
  apiVersion: string;
  /** RFC 3339 time recorded in the manager's entry */
  now: string;
  /** "status" when applying to the status subresource: only `.status` is applied */
  subresource?: string;
  /** patch schema of the kind; defaults to builtinPatchSchema(kind) */
  schema?: PatchSchema;
  /** the type has a status subresource: an apply to the main resource ignores `.status` (the reset-fields rule) */
  hasStatusSubresource?: boolean;
}

/** The manager the API server attributes an existing object's fields to when it was never tracked before. */
const beforeFirstApply = "before-first-apply";

/**
 * Applies `applied` (a partial object: the manager's whole intent) to `live` (undefined: create) and returns the
 * merged object with updated metadata.managedFields.
 * @throws ApiError 400 for managedFields in the body, a wrong apiVersion or a list item without its key;
 *   409 Conflict (causes with reason FieldManagerConflict) when another manager owns a field this apply changes.
 */
export function serverSideApply(live: KObject | undefined, applied: KObject, opts: ServerSideApplyOptions): KObject {
  if (!isJsonObject(applied)) throw badRequest("error decoding YAML: the apply configuration is not an object");
  const metadata = isJsonObject(applied.metadata) ? applied.metadata : {};
  if (metadata.managedFields !== undefined && metadata.managedFields !== null) {
    throw badRequest("metadata.managedFields must be nil");
  }
  if (applied.apiVersion !== opts.apiVersion) {
    throw badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${applied.apiVersion ?? ""}, expected: ${opts.apiVersion}`,
    );
  }
  const kind = applied.kind ?? live?.kind ?? "";
  const schema = opts.schema ?? builtinPatchSchema(kind);
  const config = applyConfiguration(applied, opts);
  const configFields = collectFields(config, schema, { strict: true });

  const liveObject: JsonObject = live ? cloneJson(live) : {};
  if (isJsonObject(liveObject.metadata)) delete liveObject.metadata.managedFields;
  const liveFields = fieldsOf(live && (liveObject as KObject), schema);
  const owners = decodeManagedFields(live?.metadata?.managedFields);
  if (live && owners.length === 0 && liveFields.size > 0) {
    owners.push({
      manager: beforeFirstApply,
      operation: "Update",
      apiVersion: opts.apiVersion,
      time: opts.now,
      fields: new Set(liveFields.keys()),
    });
  }

  const me: FieldOwner = {
    manager: opts.manager,
    operation: "Apply",
    apiVersion: opts.apiVersion,
    ...(opts.subresource ? { subresource: opts.subresource } : {}),
    fields: new Set(configFields.keys()),
  };
  const previous = owners.find((owner) => ownerIdentity(owner) === ownerIdentity(me));
  const others = owners.filter((owner) => owner !== previous);

  // fields this manager applied before, no longer applies, and nobody else owns, go away
  const stillOwned = new Set<PathKey>(me.fields);
  for (const owner of others) for (const key of owner.fields) stillOwned.add(key);
  const dropped = new Set([...(previous?.fields ?? [])].filter((key) => !stillOwned.has(key)));

  let merged = mergeConfiguration(liveObject, config, "", schema) as JsonObject;
  if (dropped.size > 0) {
    // merging the configuration again restores the empty lists and maps it names that pruning emptied
    merged = mergeConfiguration(pruneFields(merged, [], "", dropped, schema), config, "", schema) as JsonObject;
  }

  const changes = compareFields(liveFields, fieldsOf(merged as KObject, schema));
  const changed = new Set([...changes.added, ...changes.modified]);
  const conflicts = others.flatMap((owner) =>
    [...owner.fields].filter((key) => changed.has(key)).map((key) => ({ owner, path: pathOf(key), key })),
  );
  if (conflicts.length > 0 && !opts.force) throw applyConflict(conflicts);
  for (const { owner, key } of conflicts) owner.fields.delete(key);
  for (const owner of others) for (const key of changes.removed) owner.fields.delete(key);

  // the entry's time moves only when the apply changed the object (managedFieldsUpdater)
  const unchanged = live !== undefined && jsonEqual(merged, liveObject);
  me.time = unchanged && previous?.time ? previous.time : opts.now;
  return withManagedFields(merged as KObject, [...others, me], opts.now);
}

/** What of the request body is applied: `.status` alone on the status subresource, everything but it otherwise. */
function applyConfiguration(applied: KObject, opts: ServerSideApplyOptions): JsonObject {
  const config = cloneJson(applied) as JsonObject;
  if (opts.subresource === "status") {
    const identity: JsonObject = {};
    for (const field of ["name", "namespace"] as const)
      if (applied.metadata?.[field] !== undefined) identity[field] = applied.metadata[field];
    const status = config.status !== undefined ? { status: config.status } : {};
    return { apiVersion: applied.apiVersion, kind: applied.kind, metadata: identity, ...status };
  }
  if (opts.hasStatusSubresource) delete config.status;
  return config;
}

/** structured-merge-diff merge: maps merge, associative lists merge by key, sets unite, anything else is replaced. */
function mergeConfiguration(live: unknown, config: unknown, schemaPath: string, schema: PatchSchema): unknown {
  if (isJsonObject(config)) {
    if (!isJsonObject(live) || isAtomicMap(schema, schemaPath)) return stripNulls(config);
    const out: JsonObject = { ...live };
    for (const [field, value] of Object.entries(config)) {
      if (value === null || value === undefined) continue; // null applies nothing
      out[field] = mergeConfiguration(live[field], value, schemaChild(schemaPath, field), schema);
    }
    return out;
  }
  if (Array.isArray(config)) {
    const rule = listRule(schema, schemaPath);
    const liveList = Array.isArray(live) ? live : [];
    if (isKeyedRule(rule) && config.every(isJsonObject)) {
      const keyOf = (item: unknown) => itemKey(item, rule);
      return mergeListItems(liveList, config, keyOf, (l, c) => mergeConfiguration(l, c, `${schemaPath}[]`, schema));
    }
    if (rule && !isKeyedRule(rule))
      return mergeListItems(
        liveList,
        config,
        (v) => JSON.stringify(v),
        (_l, c) => c,
      );
    return cloneJson(config);
  }
  return config;
}

function stripNulls(value: unknown): unknown {
  if (isJsonObject(value)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, stripNulls(v)]),
    );
  }
  return Array.isArray(value) ? value.map(stripNulls) : value;
}

/**
 * Merges an associative list (by item key) or a set (by value) in structured-merge-diff's order (visitListItems):
 * live items the configuration does not name stay where they were, shared and new items follow the configuration.
 */
function mergeListItems(
  live: unknown[],
  config: unknown[],
  identity: (item: unknown) => string | undefined,
  mergeItem: (live: unknown, config: unknown) => unknown,
): unknown[] {
  const liveKeys = live.map((item, index) => identity(item) ?? `\0unidentified ${index}`);
  const configKeys = config.map((item) => identity(item)!);
  const liveByKey = new Map<string, unknown>();
  liveKeys.forEach((key, index) => liveByKey.has(key) || liveByKey.set(key, live[index]));
  const inConfig = new Set(configKeys);
  const sharedOrder = configKeys.filter((key) => liveByKey.has(key));
  let nextShared = sharedOrder.shift();
  const mergedKeys = new Set<string>();
  const out: unknown[] = [];
  let l = 0;
  let c = 0;
  while (l < live.length || c < config.length) {
    if (l < live.length && c < config.length) {
      const key = liveKeys[l];
      if (key === configKeys[c]) {
        mergedKeys.add(key);
        out.push(mergeItem(live[l], config[c]));
        l++;
        c++;
        nextShared = sharedOrder.shift();
        continue;
      }
      if (inConfig.has(key) && nextShared !== undefined && nextShared !== key) {
        l++; // a shared item, but not the next one the configuration wants
        continue;
      }
    }
    if (l < live.length) {
      const key = liveKeys[l];
      if (!inConfig.has(key)) {
        out.push(live[l]);
        l++;
        continue;
      }
      if (mergedKeys.has(key)) {
        l++;
        continue;
      }
    }
    if (c < config.length) {
      const key = configKeys[c];
      mergedKeys.add(key);
      out.push(mergeItem(liveByKey.get(key), config[c]));
      c++;
      if (nextShared !== undefined && nextShared === key) nextShared = sharedOrder.shift();
    }
  }
  return out;
}

/**
 * Removes the fields in `dropped` from an object. A list item goes only when nothing but its key fields would remain
 * (fields someone else owns, or nobody tracks, keep it); a map or list emptied by the removal goes too.
 */
function pruneFields(
  map: JsonObject,
  path: FieldPath,
  schemaPath: string,
  dropped: Set<PathKey>,
  schema: PatchSchema,
): JsonObject {
  const out: JsonObject = {};
  for (const [field, value] of Object.entries(map)) {
    const fieldPath = [...path, "f:" + field];
    const fieldSchemaPath = schemaChild(schemaPath, field);
    if (path.length === 0 && (field === "apiVersion" || field === "kind")) {
      out[field] = value;
      continue;
    }
    if (dropped.has(pathKey(fieldPath))) continue;
    const pruned = pruneValue(value, fieldPath, fieldSchemaPath, dropped, schema);
    if (pruned !== undefined) out[field] = pruned;
  }
  return out;
}

function pruneValue(
  value: unknown,
  path: FieldPath,
  schemaPath: string,
  dropped: Set<PathKey>,
  schema: PatchSchema,
): unknown {
  if (isJsonObject(value) && !isAtomicMap(schema, schemaPath) && Object.keys(value).length > 0) {
    const pruned = pruneFields(value, path, schemaPath, dropped, schema);
    return Object.keys(pruned).length > 0 ? pruned : undefined;
  }
  if (!Array.isArray(value) || value.length === 0) return value;
  const rule = listRule(schema, schemaPath);
  let kept: unknown[];
  if (isKeyedRule(rule) && value.every(isJsonObject)) {
    kept = [];
    for (const item of value as JsonObject[]) {
      const key = itemKey(item, rule);
      if (key === undefined) {
        kept.push(item);
        continue;
      }
      const itemPath = [...path, "k:" + key];
      const pruned = pruneFields(item, itemPath, `${schemaPath}[]`, dropped, schema);
      const keyFields = new Set(listMapKeys(rule));
      const onlyKeysLeft = Object.keys(pruned).every((field) => keyFields.has(field));
      if (dropped.has(pathKey(itemPath)) && onlyKeysLeft) continue;
      // key fields always stay with the item they identify
      for (const field of keyFields) if (item[field] !== undefined) pruned[field] = item[field];
      kept.push(pruned);
    }
  } else if (rule && !isKeyedRule(rule)) {
    kept = value.filter((member) => !dropped.has(pathKey([...path, "v:" + JSON.stringify(member)])));
  } else {
    return value;
  }
  return kept.length > 0 ? kept : undefined;
}

/** 409 with one FieldManagerConflict cause per field, worded as fieldmanager's NewConflictError. */
function applyConflict(conflicts: { owner: FieldOwner; path: FieldPath }[]): ApiError {
  const sorted = [...conflicts].sort(
    (a, b) =>
      compareText(describeOwner(a.owner), describeOwner(b.owner)) ||
      compareText(describePath(a.path), describePath(b.path)),
  );
  const causes = sorted.map(({ owner, path }) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${describeOwner(owner)}`,
    field: describePath(path),
  }));
  let message: string;
  if (sorted.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${describeOwner(sorted[0].owner)}: ${describePath(sorted[0].path)}`;
  } else {
    const lines: string[] = [];
    let current = "";
    for (const { owner, path } of sorted) {
      const who = describeOwner(owner);
      if (who !== current) lines.push(`conflicts with ${who}:`);
      current = who;
      lines.push(`- ${describePath(path)}`);
    }
    message = `Apply failed with ${sorted.length} conflicts: ${lines.join("\n")}`;
  }
  return new ApiError(409, "Conflict", message, { causes });
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
