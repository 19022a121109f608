// Pure Sail semantics: versions, the active revision name of an Istio, the Helm values Sail computes for it,
// and what an IstioRevision / IstioRevisionTag installs (the istiod chart as the sandbox renders it).
import type { KObject } from "../api/types.js";
import { renderRevision, renderTag } from "../istio/render.js";
import { parseIstioVersion } from "../istio/templates-release.js";
import { DEFAULT_REVISION } from "./references.js";

/** A spec the controller refuses (Sail's reconciler.NewValidationError): reported in status, not retried. */
export class SailValidationError extends Error {}

export type UpdateStrategyType = "InPlace" | "RevisionBased";

/** Sail's DefaultRevisionDeletionGracePeriodSeconds */
export const DEFAULT_GRACE_SECONDS = 30;

/**
 * "v1.28.0" or "1.28.0" → "1.28.0". Sail resolves `vX.Y-latest` aliases and `master` from its own release list;
 * the sandbox has none, so those are refused with a message naming a concrete version.
 */
export function releaseOf(version: unknown): string {
  if (typeof version !== "string" || version === "") throw new SailValidationError("spec.version not set");
  if (/-latest$/.test(version) || version === "master")
    throw new SailValidationError(
      `spec.version "${version}" is an alias the sandbox cannot resolve; give a release such as v1.28.0`,
    );
  if (!parseIstioVersion(version) || !/^v?\d+\.\d+\.\d+/.test(version))
    throw new SailValidationError(`spec.version "${version}" is not an Istio release (expected e.g. v1.28.0)`);
  return version.replace(/^v/, "");
}

export function updateStrategyOf(istio: KObject): UpdateStrategyType {
  return istio.spec?.updateStrategy?.type === "RevisionBased" ? "RevisionBased" : "InPlace";
}

/** Grace before an unused, inactive revision is pruned (default 30 s, minimum 0). */
export function gracePeriodMs(istio: KObject): number {
  const raw = istio.spec?.updateStrategy?.inactiveRevisionDeletionGracePeriodSeconds;
  const seconds = typeof raw === "number" ? Math.max(0, raw) : DEFAULT_GRACE_SECONDS;
  return seconds * 1000;
}

/** getActiveRevisionName: the Istio's name (InPlace), or name + version with dots turned into dashes (RevisionBased). */
export function activeRevisionName(istio: KObject): string {
  const name = istio.metadata.name!;
  if (updateStrategyOf(istio) !== "RevisionBased") return name;
  return `${name}-${String(istio.spec?.version ?? "").replaceAll(".", "-")}`;
}

/** The namespace the control plane goes to (the CRD defaults it to istio-system). */
export function istioNamespaceOf(obj: KObject): string {
  return obj.spec?.namespace || "istio-system";
}

/** revision.ComputeValues, reduced to what the sandbox renders: values.revision, global.istioNamespace, profile. */
export function computeValues(istio: KObject, revisionName: string): Record<string, any> {
  const values: Record<string, any> = structuredClone(istio.spec?.values ?? {});
  if (istio.spec?.profile) values.profile = istio.spec.profile;
  values.revision = revisionName === DEFAULT_REVISION ? "" : revisionName;
  values.global = { ...(values.global ?? {}), istioNamespace: istioNamespaceOf(istio) };
  return values;
}

/** The IstioRevision checks of Sail's validate(), except those that need the cluster (namespace, tag names). */
export function validateRevisionSpec(rev: KObject): void {
  const name = rev.metadata.name!;
  releaseOf(rev.spec?.version);
  if (!rev.spec?.namespace) throw new SailValidationError("spec.namespace not set");
  const values = rev.spec?.values;
  if (!values) throw new SailValidationError("spec.values not set");
  const revision = values.revision;
  if (name === DEFAULT_REVISION && revision)
    throw new SailValidationError(`spec.values.revision must be "" when IstioRevision name is ${DEFAULT_REVISION}`);
  if (name !== DEFAULT_REVISION && revision !== name)
    throw new SailValidationError("spec.values.revision does not match IstioRevision name");
  if (values.global?.istioNamespace !== rev.spec.namespace)
    throw new SailValidationError("spec.values.global.istioNamespace does not match spec.namespace");
}

/** The revision label value the chart renders for an IstioRevision: "" for the IstioRevision named default. */
export function chartRevision(rev: KObject): string {
  return rev.spec?.values?.revision ?? "";
}

/** The istiod Deployment an IstioRevision installs (istiodDeploymentKey). */
export function istiodDeploymentName(rev: KObject): string {
  const r = chartRevision(rev);
  return r ? `istiod-${r}` : "istiod";
}

/** True when the revision needs the IstioCNI resource (DependsOnIstioCNI: pilot.cni.enabled). */
export function dependsOnIstioCNI(rev: KObject): boolean {
  return rev.spec?.values?.pilot?.cni?.enabled === true;
}

// labels `istioctl install` adds at apply time; a Helm install (Sail) has none of them
const ISTIOCTL_ONLY_LABELS = [
  "install.operator.istio.io/owning-resource-namespace",
  "operator.istio.io/managed",
  "operator.istio.io/version",
];

/** Sail installs the chart as Helm release `<IstioRevision name>-istiod`: labels say so, not istioctl's. */
function asHelmRelease(objects: KObject[], release: string): KObject[] {
  for (const o of objects) {
    const labels = o.metadata.labels;
    if (!labels) continue;
    for (const l of ISTIOCTL_ONLY_LABELS) delete labels[l];
    if ("release" in labels) labels.release = release;
    if ("app.kubernetes.io/instance" in labels) labels["app.kubernetes.io/instance"] = release;
  }
  return objects;
}

function parseBoolean(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return undefined;
}

/** What the istiod chart installs for an IstioRevision, from its spec (version, namespace, values). */
export function renderIstioRevision(rev: KObject): KObject[] {
  validateRevisionSpec(rev);
  const values = rev.spec.values;
  const replicas = values.pilot?.replicaCount;
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 0))
    throw new SailValidationError(`spec.values.pilot.replicaCount must be a non-negative integer, not ${replicas}`);
  let objects: KObject[];
  try {
    objects = renderRevision({
      version: releaseOf(rev.spec.version),
      revision: chartRevision(rev),
      istioNamespace: rev.spec.namespace,
      hub: values.pilot?.hub ?? values.global?.hub,
      replicas,
      nativeSidecars: parseBoolean(values.pilot?.env?.ENABLE_NATIVE_SIDECARS),
    });
  } catch (e) {
    throw new SailValidationError(e instanceof Error ? e.message : String(e));
  }
  return asHelmRelease(objects, `${rev.metadata.name}-istiod`);
}

/** What an IstioRevisionTag installs once resolved to an IstioRevision: the tag's webhook (and Service from 1.28). */
export function renderIstioRevisionTag(tag: KObject, target: KObject): KObject[] {
  return asHelmRelease(
    renderTag(tag.metadata.name!, chartRevision(target), {
      istioNamespace: target.spec.namespace,
      version: releaseOf(target.spec.version),
    }),
    `${tag.metadata.name}-revisiontags`,
  );
}
