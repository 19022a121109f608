// Pure patch engine of the sandbox API server: JSON patch, merge patch, strategic merge patch,
// server-side apply and managedFields bookkeeping, with kube-apiserver's semantics and errors.
export { applyJsonPatch } from "./json-patch.js";
export { applyMergePatch } from "./merge-patch.js";
export { applyStrategicMergePatch, smpUnsupportedForCustomResource } from "./strategic-merge-patch.js";
export { builtinPatchSchema, type ListRule, type PatchSchema } from "./schema.js";
export { serverSideApply, type ServerSideApplyOptions } from "./server-side-apply.js";
export { recordStoredUpdate, recordUpdate } from "./managed-fields.js";
