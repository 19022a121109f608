// The Manifests install mode, I/O part: server-side apply of parsed manifests as field manager `meshlift`, in a
// safe order, reporting what each apply created; and reading the manifests from a ConfigMap (operator mode).
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { toKubeError } from "../../kube/errors.js";
import { applyServerSide } from "../../kube/patch.js";
import type { RestClient } from "../../kube/rest.js";
import { RESOURCES, objectPath, type KubeObject, type ResourceRef } from "../../kube/resources.js";
import { ResourceDiscovery } from "./discovery.js";
import { ManifestError, inApplyOrder, parseManifests } from "./manifests.js";
import { describeObject, type ObjectRef } from "./object-ref.js";

export interface AppliedObject extends ObjectRef {
  /** the object did not exist before (in a dry run: would be created) */
  created: boolean;
}

export interface ApplyOptions {
  /** server-side dry run: every object is validated and admitted by the API server, nothing is persisted */
  dryRun?: boolean;
  signal?: AbortSignal;
  /**
   * RFC 3339 time on the API server's clock, e.g. the MeshUpgrade's creationTimestamp: an object that already
   * exists but was created at or after it also counts as created, so an apply resumed after a crash reports
   * what the interrupted one created (second precision, as creationTimestamp).
   */
  createdSince?: string;
  /** how long to wait for applied CRDs to become Established (default 30 s) */
  crdEstablishedTimeoutMs?: number;
}

/** An apply that failed part-way: `applied` lists what was applied before `failed` was refused. */
export class ManifestApplyError extends Error {
  constructor(
    readonly failed: ObjectRef,
    readonly applied: AppliedObject[],
    cause: unknown,
  ) {
    super(
      `applying ${describeObject(failed)} failed after ${applied.length} object(s) were applied: ${cause instanceof Error ? cause.message : String(cause)} — fix the cause and apply again (applying is idempotent)`,
      { cause },
    );
    this.name = "ManifestApplyError";
  }
}

const CRD = "CustomResourceDefinition";

interface PlannedObject {
  object: KubeObject;
  resource: ResourceRef;
  ref: ObjectRef;
  /** served only once a CRD of these manifests exists */
  definedHere: boolean;
}

/** The resources the CRDs among the manifests define: "<group>/<version>|<Kind>" → resource. */
function resourcesDefinedBy(objects: KubeObject[]): Map<string, ResourceRef> {
  const defined = new Map<string, ResourceRef>();
  for (const o of objects) {
    if (o.kind !== CRD || !o.apiVersion?.startsWith("apiextensions.k8s.io/")) continue;
    const { group, names, scope, versions } = o.spec ?? {};
    if (!group || !names?.plural || !names?.kind) continue;
    for (const v of (versions ?? []) as { name: string; served?: boolean }[]) {
      if (v.served === false) continue;
      defined.set(`${group}/${v.name}|${names.kind}`, {
        group,
        version: v.name,
        plural: names.plural,
        kind: names.kind,
        namespaced: scope === "Namespaced",
      });
    }
  }
  return defined;
}

/** Resolves every object to its resource before anything is written; all problems are reported together. */
async function plan(objects: KubeObject[], discovery: ResourceDiscovery): Promise<PlannedObject[]> {
  const defined = resourcesDefinedBy(objects);
  const problems: string[] = [];
  const planned: PlannedObject[] = [];
  const seen = new Set<string>();
  for (const original of inApplyOrder(objects)) {
    const apiVersion = original.apiVersion ?? "";
    const kind = original.kind ?? "";
    const name = original.metadata.name ?? "";
    const served = await discovery.resolve(apiVersion, kind);
    const resource = served ?? defined.get(`${apiVersion}|${kind}`);
    const what = describeObject({ kind, namespace: original.metadata.namespace, name });
    if (!resource) {
      problems.push(
        `${what}: ${kind} (${apiVersion}) is not served by this cluster — install its CRD first, or include the CRD in the manifests`,
      );
      continue;
    }
    let object = original;
    if (resource.namespaced && !original.metadata.namespace) {
      problems.push(
        `${what}: ${kind} is namespaced but the object has no metadata.namespace — render with the namespace (e.g. helm template --namespace istio-system)`,
      );
      continue;
    }
    if (!resource.namespaced && original.metadata.namespace !== undefined) {
      // kubectl drops a namespace on cluster-scoped objects too; the API server would refuse the mismatch
      const { namespace: _dropped, ...metadata } = original.metadata;
      object = { ...original, metadata };
    }
    const ref: ObjectRef = {
      apiVersion,
      kind,
      name,
      ...(resource.namespaced ? { namespace: object.metadata.namespace } : {}),
    };
    const key = `${resource.group}|${resource.plural}|${ref.namespace ?? ""}|${name}`;
    if (seen.has(key)) {
      problems.push(`${what} is given more than once: which copy wins would depend on the order; keep one`);
      continue;
    }
    seen.add(key);
    planned.push({ object, resource, ref, definedHere: !served });
  }
  if (problems.length) throw new ManifestError("manifests", problems);
  return planned;
}

async function readObject(
  rest: RestClient,
  resource: ResourceRef,
  ref: ObjectRef,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  try {
    return await rest.requestJson<KubeObject>({ path: objectPath(resource, ref.name, ref.namespace), signal });
  } catch (err) {
    const error = toKubeError(err);
    if (error.code === 404) return undefined;
    throw error;
  }
}

/** Waits until each CRD is Established (its kinds are served), as `kubectl wait --for condition=established`. */
async function waitEstablished(rest: RestClient, names: string[], timeoutMs: number, signal?: AbortSignal) {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await rest.requestJson<KubeObject>({
        path: objectPath(RESOURCES.customResourceDefinitions, name),
        signal,
      });
      const conditions: { type: string; status: string; message?: string }[] = crd.status?.conditions ?? [];
      if (conditions.some((c) => c.type === "Established" && c.status === "True")) break;
      const refused = conditions.find((c) => c.type === "NamesAccepted" && c.status === "False");
      if (refused)
        throw new Error(
          `CustomResourceDefinition ${name} was not accepted: ${refused.message ?? "NamesAccepted=False"}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `CustomResourceDefinition ${name} was not Established within ${Math.round(timeoutMs / 1000)} s — check its status (kubectl get crd ${name} -o yaml)`,
        );
      await sleep(100, undefined, { signal });
    }
  }
}

/** The object without what every write changes (resourceVersion, managedFields times). */
function content(o: KubeObject): KubeObject {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = o.metadata;
  return { ...o, metadata };
}

/**
 * Applies only when the apply would change the object. A server-side dry run tells: an apply of unchanged content
 * can still bump the resourceVersion when the server defaults fields inside atomic lists (a webhook's
 * rules[].scope), because the merged object differs until defaulting and the managedFields time moves with the
 * second (kubernetes/kubernetes#121404). Skipping it keeps a repeated apply free of writes.
 */
async function applyUnlessUnchanged(
  rest: RestClient,
  resource: ResourceRef,
  object: KubeObject,
  live: KubeObject,
  signal?: AbortSignal,
): Promise<void> {
  const wouldBe = await applyServerSide(rest, resource, object, { dryRun: true, signal });
  if (isDeepStrictEqual(content(wouldBe), content(live))) return;
  await applyServerSide(rest, resource, object, { signal });
}

function createdSince(live: KubeObject, since: string | undefined): boolean {
  if (!since) return false;
  const created = Date.parse(String(live.metadata.creationTimestamp ?? ""));
  const from = Date.parse(since);
  return !Number.isNaN(created) && !Number.isNaN(from) && created >= from;
}

/**
 * Server-side applies the objects exactly as given (field manager `meshlift`, force) in a safe order
 * (`inApplyOrder`: CRDs … webhooks last), waiting for applied CRDs to be Established before their kinds are
 * used. Every object's kind is resolved through discovery before the first write, so manifests with an unknown
 * kind or a missing namespace write nothing (ManifestError). Idempotent: an object the apply would not change is
 * not written (checked by a server-side dry run), so applying the same objects again writes nothing. A failure
 * part-way is a ManifestApplyError listing what was applied.
 */
export async function applyManifests(
  rest: RestClient,
  objects: KubeObject[],
  options: ApplyOptions = {},
): Promise<AppliedObject[]> {
  const { dryRun = false, signal } = options;
  const planned = await plan(objects, new ResourceDiscovery(rest, signal));
  const applied: AppliedObject[] = [];
  // in a dry run nothing is persisted: objects in a namespace or of a kind the same run would create cannot be
  // checked by the server, and are reported as to be created
  const dryRunNamespaces = new Set<string>();
  const appliedCRDs: string[] = [];
  let crdsEstablished = false;
  for (const p of planned) {
    try {
      if (!dryRun && !crdsEstablished && p.ref.kind !== CRD) {
        await waitEstablished(rest, appliedCRDs, options.crdEstablishedTimeoutMs ?? 30_000, signal);
        crdsEstablished = true;
      }
      if (dryRun && ((p.ref.namespace && dryRunNamespaces.has(p.ref.namespace)) || p.definedHere)) {
        applied.push({ ...p.ref, created: true });
        continue;
      }
      const live = await readObject(rest, p.resource, p.ref, signal);
      if (dryRun || !live) await applyServerSide(rest, p.resource, p.object, { dryRun, signal });
      else await applyUnlessUnchanged(rest, p.resource, p.object, live, signal);
      const created = !live || createdSince(live, options.createdSince);
      applied.push({ ...p.ref, created });
      if (p.ref.kind === CRD) appliedCRDs.push(p.ref.name);
      if (dryRun && !live && p.ref.kind === "Namespace") dryRunNamespaces.add(p.ref.name);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ManifestApplyError(p.ref, applied, err);
    }
  }
  return applied;
}

export interface ConfigMapSource {
  namespace: string;
  name: string;
  /** the data key holding the manifests; default: every key, in key order */
  key?: string;
}

function sourceName(src: ConfigMapSource, key?: string): string {
  return `ConfigMap ${src.namespace}/${src.name}${key ? `[${key}]` : ""}`;
}

/** The ConfigMap's manifests per key, in key order (or the one key asked for). */
async function configMapTexts(
  rest: RestClient,
  src: ConfigMapSource,
  signal?: AbortSignal,
): Promise<{ key: string; text: string }[]> {
  let cm: KubeObject;
  try {
    cm = await rest.requestJson<KubeObject>({
      path: objectPath(RESOURCES.configMaps, src.name, src.namespace),
      signal,
      target: { verb: "get", resource: "configmaps", namespace: src.namespace, name: src.name },
    });
  } catch (err) {
    const error = toKubeError(err);
    if (error.code !== 404) throw error;
    throw new ManifestError(sourceName(src), [
      `${sourceName(src)} not found — create it from the rendered manifests (kubectl create configmap ${src.name} -n ${src.namespace} --from-file=manifests.yaml=<file>) or correct install.manifests.configMapRef`,
    ]);
  }
  const texts = new Map<string, string>();
  for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>)) texts.set(k, v);
  for (const [k, v] of Object.entries((cm.binaryData ?? {}) as Record<string, string>))
    texts.set(k, Buffer.from(v, "base64").toString("utf8"));
  const keys = [...texts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (src.key !== undefined) {
    if (!texts.has(src.key))
      throw new ManifestError(sourceName(src), [
        `${sourceName(src)} has no key "${src.key}" (it has ${keys.length ? keys.map((k) => `"${k}"`).join(", ") : "no keys"}) — correct install.manifests.configMapRef.key, or leave it unset to use every key`,
      ]);
    return [{ key: src.key, text: texts.get(src.key)! }];
  }
  if (!keys.length)
    throw new ManifestError(sourceName(src), [
      `${sourceName(src)} holds no data — put the rendered manifests in it (kubectl create configmap ${src.name} -n ${src.namespace} --from-file=manifests.yaml=<file>)`,
    ]);
  return keys.map((key) => ({ key, text: texts.get(key)! }));
}

/**
 * The manifests text of a ConfigMap: the one key asked for, or every key in key order joined as YAML documents.
 * A missing ConfigMap or key is a ManifestError saying how to provide it.
 */
export async function manifestsFromConfigMap(
  rest: RestClient,
  src: ConfigMapSource,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  const texts = await configMapTexts(rest, src, options.signal);
  return texts.map((t) => t.text.replace(/\n*$/, "\n")).join("---\n");
}

/** The ConfigMap's manifests parsed per key, so parse errors name the key and its own line numbers. */
export async function objectsFromConfigMap(
  rest: RestClient,
  src: ConfigMapSource,
  options: { signal?: AbortSignal } = {},
): Promise<KubeObject[]> {
  const texts = await configMapTexts(rest, src, options.signal);
  const objects: KubeObject[] = [];
  const problems: string[] = [];
  for (const { key, text } of texts) {
    try {
      objects.push(...parseManifests(text, sourceName(src, key)));
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length) throw new ManifestError(sourceName(src), problems);
  return objects;
}
