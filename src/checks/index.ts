// Prechecks: (snapshot, target, catalog) → findings, each check a pure function.
import type { Catalog } from "../catalog/catalog.js";
import type { MeshSnapshot } from "../mesh/schema.js";
import {
  envoyFilterInventory,
  envoyFilterProxyVersion,
  envoyFilterRelativePatches,
  envoyFilterRemovedFeatures,
} from "./envoyfilter-checks.js";
import { sortFindings, type Check, type CheckTarget, type Finding } from "./finding.js";
import {
  blockingPdbs,
  jobsPinningRevisions,
  nakedPods,
  namespaceLabelConflicts,
  orphanReferences,
  sidecarChangesOnRestart,
  singleReplicaGateways,
  upgradeInProgress,
  webhookConflicts,
} from "./mesh-checks.js";
import { kubernetesCheck, revisionNameCheck, skewCheck, targetInCatalog, upgradePathCheck } from "./version-checks.js";

export * from "./finding.js";
export * from "./version-checks.js";
export * from "./envoyfilter-checks.js";
export * from "./mesh-checks.js";

/** Every precheck, in reporting order before sorting. */
export const ALL_CHECKS: Record<string, Check> = {
  targetInCatalog,
  upgradePath: upgradePathCheck,
  kubernetes: kubernetesCheck,
  skew: skewCheck,
  revisionName: revisionNameCheck,
  upgradeInProgress,
  webhookConflicts,
  orphanReferences,
  namespaceLabelConflicts,
  sidecarChangesOnRestart,
  nakedPods,
  singleReplicaGateways,
  blockingPdbs,
  jobsPinningRevisions,
  envoyFilterInventory,
  envoyFilterProxyVersion,
  envoyFilterRelativePatches,
  envoyFilterRemovedFeatures,
};

/** Runs the given checks (default: all) and returns their findings, errors first. */
export function runChecks(
  snapshot: MeshSnapshot,
  target: CheckTarget,
  catalog: Catalog,
  checks: Check[] = Object.values(ALL_CHECKS),
): Finding[] {
  return sortFindings(checks.flatMap((check) => check(snapshot, target, catalog)));
}
