// Writes by patch, always as field manager "meshlift" so `kubectl get -o yaml --show-managed-fields`
// tells users which fields meshlift owns. Custom resources take merge patch or server-side apply
// only (strategic merge patch answers 415 on them, kubernetes/kubernetes#97423).
import { PatchStrategy, setHeaderOptions, type ConfigurationOptions } from "@kubernetes/client-node";
import fastJsonPatch, { type Operation } from "fast-json-patch";
import type { RestClient } from "./rest.js";
import { objectPath, qualifiedName, type KubeObject, type ResourceRef } from "./resources.js";

export const FIELD_MANAGER = "meshlift";

/**
 * Options for client-node's generated `patch*` methods. They send the first media type of their
 * list (JSON Patch) unless the Content-Type is overridden like this (KUBE-NOTES §2, middleware.ts).
 */
export function mergePatchOptions(): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
}

export function strategicMergePatchOptions(): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
}

export function serverSideApplyOptions(): ConfigurationOptions {
  return setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
}

export interface WriteOptions {
  /** server-side dry run: validated and admitted, not persisted */
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface ObjectName {
  name: string;
  namespace?: string;
}

function patchRequest(
  resource: ResourceRef,
  target: ObjectName,
  contentType: string,
  body: unknown,
  options: WriteOptions & { force?: boolean },
) {
  return {
    method: "PATCH" as const,
    path: objectPath(resource, target.name, target.namespace),
    query: {
      fieldManager: FIELD_MANAGER,
      dryRun: options.dryRun ? "All" : undefined,
      force: options.force ? true : undefined,
    },
    body,
    contentType,
    signal: options.signal,
    target: { verb: "patch", resource: qualifiedName(resource), name: target.name, namespace: target.namespace },
  };
}

/**
 * RFC 7386 merge patch: objects merge, `null` deletes a key, lists are replaced whole. The usual
 * way to set or remove labels and annotations (it is what `kubectl label` sends).
 */
export function mergePatch(
  rest: RestClient,
  resource: ResourceRef,
  target: ObjectName,
  patch: Record<string, unknown>,
  options: WriteOptions = {},
): Promise<KubeObject> {
  return rest.requestJson<KubeObject>(patchRequest(resource, target, PatchStrategy.MergePatch, patch, options));
}

/** Strategic merge patch, built-in kinds only (lists merge by key, e.g. containers by name). */
export function strategicMergePatch(
  rest: RestClient,
  resource: ResourceRef,
  target: ObjectName,
  patch: Record<string, unknown>,
  options: WriteOptions = {},
): Promise<KubeObject> {
  return rest.requestJson<KubeObject>(
    patchRequest(resource, target, PatchStrategy.StrategicMergePatch, patch, options),
  );
}

/** RFC 6902 JSON patch; a failing `test` operation makes the server refuse the whole patch. */
export function jsonPatch(
  rest: RestClient,
  resource: ResourceRef,
  target: ObjectName,
  operations: Operation[],
  options: WriteOptions = {},
): Promise<KubeObject> {
  return rest.requestJson<KubeObject>(patchRequest(resource, target, PatchStrategy.JsonPatch, operations, options));
}

/**
 * The JSON patch that turns `before` into `after`, guarded by a test of `before`'s
 * resourceVersion so it applies only to the version that was read (optimistic concurrency).
 */
export function guardedJsonPatch(before: KubeObject, after: KubeObject): Operation[] {
  const operations = fastJsonPatch
    .compare(before, after)
    .filter((op) => !op.path.startsWith("/metadata/resourceVersion"));
  const rv = before.metadata.resourceVersion;
  return rv ? [{ op: "test", path: "/metadata/resourceVersion", value: rv }, ...operations] : operations;
}

/**
 * Server-side apply (`application/apply-patch+yaml`; JSON is valid YAML): meshlift declares the
 * fields it owns. `force` (default true, the SSA guidance for controllers) takes ownership of fields
 * another manager set. Creates the object when absent. managedFields must not be sent.
 */
export function applyServerSide(
  rest: RestClient,
  resource: ResourceRef,
  object: KubeObject,
  options: WriteOptions & { force?: boolean } = {},
): Promise<KubeObject> {
  const name = object.metadata.name;
  if (!name) throw new Error(`server-side apply of a ${resource.kind} needs metadata.name`);
  const { managedFields: _managed, resourceVersion: _rv, ...metadata } = object.metadata;
  const body = { ...object, metadata };
  return rest.requestJson<KubeObject>(
    patchRequest(resource, { name, namespace: object.metadata.namespace }, PatchStrategy.ServerSideApply, body, {
      force: true,
      ...options,
    }),
  );
}

/** The pod-template annotation `kubectl rollout restart` writes; changing it rolls the workload. */
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

/** A merge patch that restarts a Deployment/StatefulSet/DaemonSet exactly as `kubectl rollout restart` does. */
export function rolloutRestartPatch(at: Date = new Date()): Record<string, unknown> {
  return {
    spec: {
      template: {
        metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at.toISOString().replace(/\.\d{3}Z$/, "Z") } },
      },
    },
  };
}
