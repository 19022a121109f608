// Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds, following
// k8s.io/apimachinery/pkg/util/strategicpatch (mergeMap / mergeSlice / mergePatchIntoOriginal) as kube-apiserver
// runs it: MergeParallelList and IgnoreUnmatchedNulls on.
import { ApiError, badRequest, type KObject } from "../types.js";
import { patchRejected } from "./json-patch.js";
import { cloneJson, isJsonObject, jsonEqual, type JsonObject } from "./json-value.js";
import type { ListRule, PatchSchema } from "./schema.js";

const directiveMarker = "$patch";
const retainKeysDirective = "$retainKeys";
const setElementOrderPrefix = "$setElementOrder/";
const deleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/";

/** The 415 kube-apiserver answers to a strategic merge patch of a custom resource (kubernetes/kubernetes#97423). */
export function smpUnsupportedForCustomResource(): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
  );
}

// The messages of k8s.io/apimachinery/pkg/util/mergepatch/errors.go.
const errNoListOfLists = () => patchRejected("lists of lists are not supported");
const errBadRetainKeys = () => badRequest("invalid patch format of retainKeys");
const errBadSetElementOrder = () => badRequest("invalid patch format of setElementOrder list");
const errBadPrimitiveList = () => badRequest("invalid patch format of primitive list");
const errNoMergeKey = (item: unknown, mergeKey: string) =>
  badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);

type ElementKind = "map" | "scalar";

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * Applies a strategic merge patch to a copy of `target`. Lists named in `schema` merge by their key
 * (or as sets of primitives); every other list is replaced. Directives: `$patch: replace|delete|merge`,
 * `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`, `$retainKeys`; `null` deletes a key.
 * @throws ApiError 400 for a malformed patch, 422 for lists of lists (as kube-apiserver does).
 */
export function applyStrategicMergePatch(target: KObject, patch: unknown, schema: PatchSchema): KObject {
  if (!isJsonObject(patch)) {
    const got = Array.isArray(patch) ? "array" : patch === null ? "null" : typeof patch;
    throw badRequest(`json: cannot unmarshal ${got} into Go value of type map[string]interface {}`);
  }
  return new StrategicMerge(schema).mergeMap(cloneJson(target) as JsonObject, cloneJson(patch), "") as KObject;
}

/** One patch application. Works in place on clones made by applyStrategicMergePatch. */
class StrategicMerge {
  constructor(private readonly schema: PatchSchema) {}

  private rule(listPath: string): ListRule | undefined {
    return Object.hasOwn(this.schema.lists, listPath) ? this.schema.lists[listPath] : undefined;
  }

  mergeMap(original: JsonObject | undefined, patch: JsonObject, path: string): JsonObject {
    if (Object.hasOwn(patch, directiveMarker)) {
      const directive = patch[directiveMarker];
      const rest = { ...patch };
      delete rest[directiveMarker];
      if (directive === "delete") return {};
      // replace: the patch is the new value (still cleaned of nulls and directives, as typed decoding would).
      if (directive === "replace") return this.mergeMap({}, rest, path);
      // merge is what a map does anyway; accepted for symmetry with list items.
      if (directive === "merge") return this.mergeMap(original, rest, path);
      throw badRequest(`unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`);
    }
    const merged: JsonObject = original ?? {};
    this.applyRetainKeys(merged, patch);
    this.mergeOrderedLists(merged, patch, path);

    // deletion lists first, so a value both deleted and re-added by one patch ends up present
    const keys = Object.keys(patch).sort(
      (a, b) =>
        Number(!a.startsWith(deleteFromPrimitiveListPrefix)) - Number(!b.startsWith(deleteFromPrimitiveListPrefix)),
    );
    for (const patchKey of keys) {
      const patchValue = patch[patchKey];
      let key = patchKey;
      let isDeleteList = false;
      if (patchKey.startsWith(deleteFromPrimitiveListPrefix)) {
        key = patchKey.slice(deleteFromPrimitiveListPrefix.length);
        if (!key) throw errBadPrimitiveList();
        isDeleteList = true;
      } else if (patchKey.startsWith("$")) {
        // unknown directive-like keys are not fields of any built-in type: typed decoding would drop them
        continue;
      }

      if (patchValue === null) {
        delete merged[key];
        continue;
      }
      const fieldPath = childPath(path, key);
      if (!Object.hasOwn(merged, key)) {
        if (!isDeleteList) merged[key] = this.materialize(patchValue, fieldPath);
        continue;
      }
      const current = merged[key];
      if (kindOf(current) !== kindOf(patchValue)) {
        if (!isDeleteList) merged[key] = this.materialize(patchValue, fieldPath);
        continue;
      }
      if (isJsonObject(current)) {
        merged[key] = this.mergeMap(current, patchValue as JsonObject, fieldPath);
      } else if (Array.isArray(current)) {
        merged[key] = this.mergeListField(current, patchValue as unknown[], fieldPath, isDeleteList);
      } else if (!isDeleteList) {
        merged[key] = patchValue;
      }
    }
    return merged;
  }

  /** A value with no counterpart in the original: merged into emptiness so nulls and directives do not survive. */
  private materialize(value: unknown, path: string): unknown {
    if (isJsonObject(value)) return this.mergeMap({}, value, path);
    if (Array.isArray(value)) return this.mergeListField([], value, path, false);
    return value;
  }

  private mergeListField(original: unknown[], patch: unknown[], path: string, isDeleteList: boolean): unknown[] {
    const rule = this.rule(path);
    if (rule) return this.mergeSlice(original, patch, rule, `${path}[]`, isDeleteList);
    // no patch strategy: the patch list replaces the original (atomic list)
    if (isDeleteList) return original.filter((v) => !patch.some((d) => jsonEqual(d, v)));
    return patch.map((item) => (isJsonObject(item) ? this.mergeMap({}, item, `${path}[]`) : item));
  }

  /** `$retainKeys`: keys of the original not listed are cleared; every non-null patch key must be listed. */
  private applyRetainKeys(original: JsonObject, patch: JsonObject): void {
    if (!Object.hasOwn(patch, retainKeysDirective)) return;
    const retain = patch[retainKeysDirective];
    delete patch[retainKeysDirective];
    if (!Array.isArray(retain)) throw errBadRetainKeys();
    const retained = new Set(retain);
    for (const [key, value] of Object.entries(patch)) {
      if (value === null || key.startsWith(deleteFromPrimitiveListPrefix) || key.startsWith(setElementOrderPrefix))
        continue;
      if (!retained.has(key)) throw errBadRetainKeys();
    }
    for (const key of Object.keys(original)) if (!retained.has(key)) delete original[key];
  }

  /**
   * `$setElementOrder/<list>`: merges the list now and orders it: $setElementOrder first, then the live order
   * for items the client did not know about (strategicpatch mergePatchIntoOriginal).
   */
  private mergeOrderedLists(original: JsonObject, patch: JsonObject, path: string): void {
    for (const directiveKey of Object.keys(patch)) {
      if (!directiveKey.startsWith(setElementOrderPrefix)) continue;
      const order = patch[directiveKey];
      delete patch[directiveKey];
      const listKey = directiveKey.slice(setElementOrderPrefix.length);
      if (!listKey || !Array.isArray(order)) throw errBadSetElementOrder();
      const foundOriginal = Object.hasOwn(original, listKey);
      const foundPatch = Object.hasOwn(patch, listKey);
      const originalList = original[listKey];
      const patchList = patch[listKey];
      if ((foundOriginal && !Array.isArray(originalList)) || (foundPatch && !Array.isArray(patchList))) {
        throw errBadSetElementOrder();
      }
      const listPath = childPath(path, listKey);
      const rule = this.rule(listPath);
      if (!rule) continue; // atomic lists have no order to keep: the list itself (if any) is merged below
      const originalItems = (originalList as unknown[] | undefined) ?? [];
      const patchItemsIn = (patchList as unknown[] | undefined) ?? [];
      validatePatchWithSetOrderList(patchItemsIn, order, rule.mergeKey);

      let merged: unknown[];
      if (foundOriginal && foundPatch)
        merged = this.mergeSlice(originalItems, patchItemsIn, rule, `${listPath}[]`, false);
      else if (foundPatch) merged = this.mergeSlice([], patchItemsIn, rule, `${listPath}[]`, false);
      else if (foundOriginal) merged = originalItems;
      else continue;

      const elementKind = sliceElementKind(originalItems, patchItemsIn);
      if (elementKind === undefined) {
        original[listKey] = merged;
        delete patch[listKey];
        continue;
      }
      const mergeKey = elementKind === "map" ? requireMergeKey(rule, listPath) : undefined;
      const [ordered, serverOnly] = partitionByPresence(merged, order, mergeKey);
      original[listKey] = normalizeElementOrder(ordered, serverOnly, order, originalItems, mergeKey);
      delete patch[listKey];
    }
  }

  /** strategicpatch mergeSlice: a merged list (`patchStrategy:"merge"`). */
  private mergeSlice(
    original: unknown[],
    patch: unknown[],
    rule: ListRule,
    itemPath: string,
    isDeleteList: boolean,
  ): unknown[] {
    if (original.length === 0 && patch.length === 0) return original;
    const elementKind = sliceElementKind(original, patch);
    let merged: unknown[];
    let mergeKey: string | undefined;
    let serverOrder = original;
    let patchOrder = patch;
    if (elementKind !== "map") {
      if (isDeleteList) return original.filter((v) => !patch.some((d) => d === v));
      merged = dedupeScalars([...original, ...patch]);
    } else {
      mergeKey = requireMergeKey(rule, itemPath.slice(0, -2));
      const special = withoutSpecialElements(original, patch as JsonObject[], mergeKey);
      if (special.replaced) {
        return special.original.map((item) => this.mergeMap({}, item as JsonObject, itemPath));
      }
      serverOrder = special.original;
      patchOrder = special.patch;
      merged = [...special.original];
      for (const item of special.patch) {
        if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
        const at = merged.findIndex(
          (m) => isJsonObject(m) && Object.hasOwn(m, mergeKey!) && jsonEqual(m[mergeKey!], item[mergeKey!]),
        );
        if (at >= 0) merged[at] = this.mergeMap(merged[at] as JsonObject, item, itemPath);
        else merged.push(this.mergeMap({}, item, itemPath));
      }
    }
    const [fromPatch, serverOnly] = partitionByPresence(merged, patchOrder, mergeKey);
    return normalizeElementOrder(fromPatch, serverOnly, patchOrder, serverOrder, mergeKey);
  }
}

function kindOf(value: unknown): "map" | "list" | "scalar" {
  return isJsonObject(value) ? "map" : Array.isArray(value) ? "list" : "scalar";
}

function requireMergeKey(rule: ListRule, listPath: string): string {
  if (rule.mergeKey === undefined) throw badRequest(`cannot merge lists without merge key for ${listPath}`);
  return rule.mergeKey;
}

/** The element kind shared by every item of the lists; lists of lists are refused (422, like kube-apiserver). */
function sliceElementKind(...lists: unknown[][]): ElementKind | undefined {
  let kind: ElementKind | undefined;
  for (const list of lists) {
    for (const item of list) {
      if (Array.isArray(item)) throw errNoListOfLists();
      const itemKind: ElementKind = isJsonObject(item) ? "map" : "scalar";
      if (kind !== undefined && kind !== itemKind) {
        throw badRequest(`list element types are not identical: ${JSON.stringify(lists)}`);
      }
      kind = itemKind;
    }
  }
  return kind;
}

/** Handles `$patch: delete` and `$patch: replace` items; returns the original after deletions and the plain patch items. */
function withoutSpecialElements(
  original: unknown[],
  patch: JsonObject[],
  mergeKey: string,
): { original: unknown[]; patch: JsonObject[]; replaced: boolean } {
  const plain: JsonObject[] = [];
  let remaining = original;
  let replace = false;
  for (const item of patch) {
    if (!Object.hasOwn(item, directiveMarker)) {
      plain.push(item);
      continue;
    }
    const directive = item[directiveMarker];
    if (directive === "delete") {
      if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      remaining = remaining.filter(
        (m) => !(isJsonObject(m) && Object.hasOwn(m, mergeKey) && jsonEqual(m[mergeKey], item[mergeKey])),
      );
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      // a list with a merge key merges already; an item that only says so carries nothing else to apply
      const rest = { ...item };
      delete rest[directiveMarker];
      if (Object.hasOwn(rest, mergeKey)) plain.push(rest);
    } else {
      throw badRequest(`unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(item)}`);
    }
  }
  // replace: the list becomes exactly the plain items, in their order
  return replace
    ? { original: plain, patch: [], replaced: true }
    : { original: remaining, patch: plain, replaced: false };
}

function dedupeScalars(items: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of items) if (!out.some((o) => o === item)) out.push(item);
  return out;
}

/** Identity of a list item for ordering: its merge key value, or the scalar itself. */
function identity(item: unknown, mergeKey: string | undefined): unknown {
  return mergeKey === undefined ? item : isJsonObject(item) ? item[mergeKey] : undefined;
}

function indexIn(list: unknown[], item: unknown, mergeKey: string | undefined): number {
  const id = identity(item, mergeKey);
  return list.findIndex((candidate) => jsonEqual(identity(candidate, mergeKey), id));
}

function partitionByPresence(items: unknown[], by: unknown[], mergeKey: string | undefined): [unknown[], unknown[]] {
  const present: unknown[] = [];
  const absent: unknown[] = [];
  for (const item of items) {
    if (mergeKey !== undefined && !(isJsonObject(item) && Object.hasOwn(item, mergeKey)))
      throw errNoMergeKey(item, mergeKey);
    (indexIn(by, item, mergeKey) >= 0 ? present : absent).push(item);
  }
  return [present, absent];
}

/** Sorts by position in `order`; items `order` does not name keep their relative order, after the others. */
function sortByOrder(items: unknown[], order: unknown[], mergeKey: string | undefined): unknown[] {
  const positioned = items.map((item, at) => ({ item, at, rank: indexIn(order, item, mergeKey) }));
  positioned.sort((a, b) => {
    if (a.rank >= 0 && b.rank >= 0) return a.rank - b.rank || a.at - b.at;
    if (a.rank >= 0) return -1;
    if (b.rank >= 0) return 1;
    return a.at - b.at;
  });
  return positioned.map((p) => p.item);
}

/**
 * strategicpatch normalizeElementOrder + mergeSortedSlice: patch items in patch order, server-only items in live
 * order, then interleaved so that each server-only item stays before the patch items that followed it live.
 */
function normalizeElementOrder(
  fromPatch: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string | undefined,
): unknown[] {
  const right = sortByOrder(fromPatch, patchOrder, mergeKey);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey);
      const ri = indexIn(serverOrder, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** The relative order of the patch items must agree with the $setElementOrder list (deletions aside). */
function validatePatchWithSetOrderList(patchList: unknown[], order: unknown[], mergeKey: string | undefined): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = patchList.filter((item) => !(isJsonObject(item) && item[directiveMarker] === "delete"));
  let p = 0;
  let o = 0;
  while (p < nonDelete.length && o < order.length) {
    const item = nonDelete[p];
    if (isJsonObject(item) && Object.hasOwn(item, directiveMarker)) {
      p++;
      continue;
    }
    if (mergeKey !== undefined) {
      if (!isJsonObject(item) || !Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      const entry = order[o];
      if (!isJsonObject(entry) || !Object.hasOwn(entry, mergeKey)) throw errNoMergeKey(entry, mergeKey);
    }
    if (jsonEqual(identity(item, mergeKey), identity(order[o], mergeKey))) p++;
    o++;
  }
  if (p < nonDelete.length) {
    throw badRequest(
      `The order in patch list:\n${JSON.stringify(patchList)}\n doesn't match ${setElementOrderPrefix.slice(0, -1)} list:\n${JSON.stringify(order)}\n`,
    );
  }
}
