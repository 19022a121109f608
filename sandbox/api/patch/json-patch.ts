// RFC 6902 JSON Patch (`application/json-patch+json`), with kube-apiserver's status codes:
// a body that does not decode as a list of operations is 400; an operation that cannot apply is 422.
import jsonpatch, { type Operation } from "fast-json-patch";
import { ApiError, badRequest, type KObject } from "../types.js";
import { isJsonObject } from "./json-value.js";

/** What kube-apiserver answers when an operation fails (apimachinery NewGenericServerResponse for 422). */
export function patchRejected(detail: string): ApiError {
  return new ApiError(422, "Invalid", "the server rejected our request due to an error in our request", {
    causes: [{ reason: "UnexpectedServerResponse", message: detail }],
  });
}

/** Error texts in the words of evanphx/json-patch, the library kube-apiserver applies JSON patches with. */
function describeFailure(err: InstanceType<typeof jsonpatch.JsonPatchError>): string {
  const op = (err.operation ?? {}) as { op?: unknown; path?: unknown; from?: unknown };
  const path = String(op.path ?? "");
  switch (err.name) {
    case "TEST_OPERATION_FAILED":
      return `testing value ${path} failed: test failed`;
    case "OPERATION_PATH_UNRESOLVABLE":
    case "OPERATION_PATH_CANNOT_ADD":
    case "OPERATION_VALUE_OUT_OF_BOUNDS":
      return `${String(op.op)} operation does not apply: doc is missing path: "${path}": missing value`;
    case "OPERATION_FROM_UNRESOLVABLE":
      return `${String(op.op)} operation does not apply: doc is missing from path: "${String(op.from)}": missing value`;
    case "OPERATION_OP_INVALID":
      return `Unexpected kind: ${String(op.op)}`;
    case "OPERATION_VALUE_REQUIRED":
      return `${String(op.op)} operation does not apply: missing value`;
    case "OPERATION_PATH_INVALID":
    case "OPERATION_PATH_ILLEGAL_ARRAY_INDEX":
      return `${String(op.op)} operation does not apply: invalid path "${path}"`;
    default:
      return err.message.split("\n")[0];
  }
}

/**
 * Applies an RFC 6902 patch to a copy of `target`.
 * @throws ApiError 400 when `ops` is not an array of objects, 422 when an operation fails (including a failed `test`).
 */
export function applyJsonPatch(target: KObject, ops: unknown): KObject {
  if (!Array.isArray(ops)) {
    const got = ops === null ? "null" : typeof ops === "object" ? "object" : typeof ops;
    throw badRequest(`json: cannot unmarshal ${got} into Go value of type jsonpatch.Patch`);
  }
  if (!ops.every(isJsonObject)) {
    throw badRequest("json: cannot unmarshal a non-object operation into Go value of type jsonpatch.Operation");
  }
  let result: unknown;
  try {
    // validate=true checks every operation before use; mutateDocument=false works on a deep clone.
    result = jsonpatch.applyPatch(target, ops as unknown as Operation[], true, false).newDocument;
  } catch (err) {
    if (err instanceof jsonpatch.JsonPatchError) throw patchRejected(describeFailure(err));
    throw err;
  }
  if (!isJsonObject(result)) throw patchRejected("the patched document is not a JSON object");
  return result as KObject;
}
