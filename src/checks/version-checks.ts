// Prechecks on versions: target in the catalog, canary path, Kubernetes support, skew, revision name.
import { findRelease, isInCatalog, parseVersion } from "../catalog/catalog.js";
import { controlPlaneSkew, kubernetesSupport, upgradePath } from "../catalog/rules.js";
import {
  VersionError,
  formatVersion,
  isValidRevisionName,
  looseVersion,
  minorOf,
  revisionName,
  type IstioVersion,
} from "../catalog/version.js";
import type { Check, CheckTarget, Finding } from "./finding.js";
import type { Catalog } from "../catalog/catalog.js";
import type { MeshSnapshot } from "../mesh/schema.js";

/** The target as a version, or null when the text is not a version (reported by targetInCatalog). */
export function resolveTarget(target: CheckTarget, catalog: Catalog): IstioVersion | null {
  try {
    return parseVersion(target.version, catalog);
  } catch {
    return null;
  }
}

export function targetRevisionName(target: CheckTarget, catalog: Catalog): string | null {
  if (target.revision) return target.revision;
  const v = resolveTarget(target, catalog);
  return v ? revisionName(v) : null;
}

export const targetInCatalog: Check = (_snapshot, target, catalog) => {
  let version: IstioVersion;
  try {
    version = parseVersion(target.version, catalog);
  } catch (err) {
    const message = err instanceof VersionError ? err.message : String(err);
    return [
      {
        id: "target-version-invalid",
        severity: "error",
        objects: [],
        message: `target version: ${message}`,
        fix: "Give a released Istio version such as 1.29.6 (see `meshlift versions`).",
      },
    ];
  }
  const text = formatVersion(version);
  const release = findRelease(catalog, version);
  if (!isInCatalog(catalog, version)) {
    const known = release
      ? `${release.minor} is known up to ${release.latestVersion ?? release.prereleases.at(-1)}`
      : `the catalog covers ${catalog.releases[0]?.minor}–${catalog.releases.at(-1)?.minor}`;
    return [
      {
        id: "target-not-in-catalog",
        severity: "error",
        objects: [],
        message: `Istio ${text} is not in the release catalog (${known})`,
        fix: "Pick a version from `meshlift versions`, or add the release to a catalog file (--catalog) if it is newer than this meshlift build.",
      },
    ];
  }
  const findings: Finding[] = [];
  if (version.prerelease) {
    findings.push({
      id: "target-prerelease",
      severity: "warning",
      objects: [],
      message: `Istio ${text} is a pre-release`,
      fix: "Use a final release in production meshes.",
    });
  }
  if (release?.unconfirmed) {
    findings.push({
      id: "target-unconfirmed",
      severity: "info",
      objects: [],
      message: `catalog data for Istio ${release.minor} is unconfirmed (support matrix not final)`,
      fix: "Check the Istio support matrix before upgrading; override the catalog entry if it changed.",
    });
  }
  return findings;
};

function installedVersions(snapshot: MeshSnapshot): { revision: string; version: IstioVersion }[] {
  return snapshot.revisions.flatMap((r) => {
    const v = looseVersion(r.version);
    return v ? [{ revision: r.name, version: v }] : [];
  });
}

export const upgradePathCheck: Check = (snapshot, target, catalog) => {
  const to = resolveTarget(target, catalog);
  if (!to) return [];
  const findings: Finding[] = [];
  for (const { revision, version } of installedVersions(snapshot)) {
    const rev = snapshot.revisions.find((r) => r.name === revision)!;
    const objects = [{ kind: "Deployment", namespace: rev.namespace, name: rev.deployment }];
    const path = upgradePath(version, to, catalog);
    if (path.allowed) continue;
    if (path.reason === "same-version") {
      findings.push({
        id: "upgrade-same-version",
        severity: "error",
        objects,
        message: `revision ${revision} already runs Istio ${path.to}`,
        fix: "Choose a newer target version; nothing to upgrade.",
      });
    } else if (path.reason === "downgrade") {
      findings.push({
        id: "upgrade-downgrade",
        severity: "error",
        objects,
        message: `revision ${revision} runs ${path.from}; ${path.message}`,
        fix: "Choose a target newer than every installed revision.",
      });
    } else {
      findings.push({
        id: "upgrade-path-too-long",
        severity: "error",
        objects,
        message: `revision ${revision}: ${path.message}`,
        fix:
          path.hops.length > 0
            ? `Upgrade in steps: ${[path.from, ...path.hops].join(" → ")}.`
            : "No supported canary path; reinstall instead.",
      });
    }
  }
  return findings;
};

export const kubernetesCheck: Check = (snapshot, target, catalog) => {
  const findings: Finding[] = [];
  const to = resolveTarget(target, catalog);
  if (to) {
    const support = kubernetesSupport(to, snapshot.kubernetesVersion, catalog);
    if (support.status === "unsupported") {
      findings.push({
        id: "kubernetes-unsupported-by-target",
        severity: "error",
        objects: [],
        message: support.message,
        fix: `Upgrade Kubernetes into ${support.supported!.min}–${support.supported!.max} first, or choose an Istio version that supports Kubernetes ${support.kubernetes}.`,
      });
    } else if (support.status === "tested-only") {
      findings.push({
        id: "kubernetes-tested-only-by-target",
        severity: "warning",
        objects: [],
        message: support.message,
        fix: `Prefer Kubernetes ${support.supported!.min}–${support.supported!.max} for a supported combination.`,
      });
    }
    if (support.belowMinimum) {
      findings.push({
        id: "kubernetes-below-minimum",
        severity: "error",
        objects: [],
        message: `Kubernetes ${support.kubernetes} is below istioctl's minimum ${support.minimum} for Istio ${minorOf(to)} (IST0142)`,
        fix: `Upgrade Kubernetes to at least ${support.minimum}.`,
      });
    }
  }
  for (const { revision, version } of installedVersions(snapshot)) {
    const support = kubernetesSupport(version, snapshot.kubernetesVersion, catalog);
    if (support.status === "unsupported" || support.status === "tested-only") {
      const rev = snapshot.revisions.find((r) => r.name === revision)!;
      findings.push({
        id: "kubernetes-outside-current-range",
        severity: "warning",
        objects: [{ kind: "Deployment", namespace: rev.namespace, name: rev.deployment }],
        message: `current revision ${revision}: ${support.message}`,
        fix: "Upgrade Istio (this upgrade) before upgrading Kubernetes further.",
      });
    }
  }
  return findings;
};

/** Skew now: a proxy newer than its istiod, or more than one minor behind it ("Supported Releases"). */
export const skewCheck: Check = (snapshot) => {
  const findings: Finding[] = [];
  const versionOf = new Map(snapshot.revisions.map((r) => [r.name, looseVersion(r.version)]));
  const groups = new Map<
    string,
    { revision: string; proxyVersion: string; pods: { namespace: string; pod: string }[]; message: string }
  >();
  for (const p of snapshot.proxies) {
    if (!p.live || !p.revision) continue;
    const cp = versionOf.get(p.revision);
    const dp = looseVersion(p.version);
    if (!cp || !dp) continue;
    const verdict = controlPlaneSkew(cp, dp);
    if (verdict.allowed) continue;
    const key = `${p.revision}/${minorOf(dp)}`;
    const g = groups.get(key) ?? {
      revision: p.revision,
      proxyVersion: minorOf(dp),
      pods: [],
      message: verdict.message,
    };
    g.pods.push({ namespace: p.namespace, pod: p.pod });
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    findings.push({
      id: "version-skew",
      severity: "warning",
      objects: g.pods.slice(0, 20).map((p) => ({ kind: "Pod", namespace: p.namespace, name: p.pod })),
      message: `${g.pods.length} proxies at ${g.proxyVersion} on revision ${g.revision}: ${g.message}`,
      fix: "Restart these workloads so they are re-injected by their revision's current proxy.",
    });
  }
  return findings;
};

export const revisionNameCheck: Check = (snapshot, target, catalog) => {
  const name = targetRevisionName(target, catalog);
  const to = resolveTarget(target, catalog);
  if (!name) return [];
  if (!isValidRevisionName(name)) {
    return [
      {
        id: "revision-name-invalid",
        severity: "error",
        objects: [],
        message: `revision name "${name}" is not a DNS-1123 label`,
        fix: "Use lower-case letters, digits and dashes, at most 63 characters (e.g. 1-29-6).",
      },
    ];
  }
  const findings: Finding[] = [];
  const existing = snapshot.revisions.find((r) => r.name === name);
  if (existing && to) {
    const existingVersion = looseVersion(existing.version);
    if (!existingVersion || formatVersion(existingVersion) !== formatVersion(to)) {
      findings.push({
        id: "revision-name-taken",
        severity: "error",
        objects: [{ kind: "Deployment", namespace: existing.namespace, name: existing.deployment }],
        message: `revision ${name} already exists and runs ${existing.version ?? "an unknown version"}, not ${formatVersion(to)}`,
        fix: "Choose another revision name (--revision) or remove the existing revision first.",
      });
    }
  }
  if (snapshot.tags.some((t) => t.name === name)) {
    findings.push({
      id: "revision-name-is-tag",
      severity: "error",
      objects: [{ kind: "MutatingWebhookConfiguration", name: `istio-revision-tag-${name}` }],
      message: `"${name}" is already a revision tag; a revision with the same name would make istio.io/rev=${name} ambiguous`,
      fix: "Choose another revision name (--revision).",
    });
  }
  return findings;
};
