// Findings: what a precheck reports. Each says what is wrong, where, and how to fix it.
import type { Catalog } from "../catalog/catalog.js";
import type { MeshSnapshot, ObjectRef } from "../mesh/schema.js";

export type Severity = "error" | "warning" | "info";

export interface Finding {
  /** stable id, e.g. "envoyfilter-relative-patch"; Istio analyzer codes appear in the message */
  id: string;
  severity: Severity;
  objects: ObjectRef[];
  message: string;
  fix: string;
}

export interface CheckTarget {
  version: string;
  /** revision name to install; defaults to the version with dots as dashes ("1-28-2") */
  revision?: string;
}

export type Check = (snapshot: MeshSnapshot, target: CheckTarget, catalog: Catalog) => Finding[];

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

function objectKey(o: ObjectRef | undefined): string {
  return o ? `${o.kind}/${o.namespace ?? ""}/${o.name}` : "";
}

/** Errors first, then warnings, then info; within a severity by id and first object. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.id.localeCompare(b.id) ||
      objectKey(a.objects[0]).localeCompare(objectKey(b.objects[0])),
  );
}

/** True when any finding blocks the upgrade (severity error). */
export function hasBlockingFindings(findings: Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}
