// RFC 7386 JSON Merge Patch (`application/merge-patch+json`): objects merge, `null` deletes, everything else replaces.
import { badRequest, type KObject } from "../types.js";
import { cloneJson, isJsonObject } from "./json-value.js";

/** RFC 7386 section 2, MergePatch(Target, Patch), on values already cloned from the inputs. */
function mergeValue(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const merged: Record<string, unknown> = isJsonObject(target) ? target : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete merged[name];
    else merged[name] = mergeValue(merged[name], value);
  }
  return merged;
}

/**
 * Applies a JSON merge patch to a copy of `target`.
 * @throws ApiError 400 "Invalid JSON Patch" (evanphx/json-patch's words) when the patch is not a JSON object.
 */
export function applyMergePatch(target: KObject, patch: unknown): KObject {
  if (!isJsonObject(patch)) throw badRequest("Invalid JSON Patch");
  return mergeValue(cloneJson(target), cloneJson(patch)) as KObject;
}
