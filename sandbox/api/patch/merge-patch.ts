// RFC 7386 JSON Merge Patch (`application/merge-patch+json`): objects merge, `null` deletes, everything else replaces.
import { badRequest, type KObject } from "../types.js";
import { cloneJson, isJsonObject } from "./json-value.js";

/**
 * RFC 7386 section 2, MergePatch(Target, Patch), copy-on-write: a map the patch changes is copied, everything the
 * patch leaves alone is the target's own value (shared, not copied), and values taken from the patch are copies.
 * Neither input is changed.
 */
function mergeValue(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const base: Record<string, unknown> = isJsonObject(target) ? target : {};
  let merged: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) {
      if (Object.hasOwn(base, name)) {
        merged ??= { ...base };
        delete merged[name];
      }
      continue;
    }
    const next = mergeValue(base[name], value);
    if (next === base[name] && Object.hasOwn(base, name)) continue;
    merged ??= { ...base };
    merged[name] = next;
  }
  return merged ?? base;
}

/**
 * Applies a JSON merge patch to `target` without changing it. The result is a new object whose unpatched parts are
 * shared with `target` (copy-on-write): callers that change the result in place must copy what they change.
 * @throws ApiError 400 "Invalid JSON Patch" (evanphx/json-patch's words) when the patch is not a JSON object.
 */
export function applyMergePatch(target: KObject, patch: unknown): KObject {
  if (!isJsonObject(patch)) throw badRequest("Invalid JSON Patch");
  const merged = mergeValue(target, patch) as KObject;
  return merged === target ? { ...target } : merged;
}
