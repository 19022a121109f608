// Upgrade rules over the catalog: canary path length, Kubernetes support, available upgrades,
// control-plane/data-plane skew (istio-facts §4).
import { builtinCatalog, findRelease, type Catalog, type IstioRelease, type KubernetesRange } from "./catalog.js";
import {
  compareKubernetesVersions,
  compareVersions,
  formatKubernetesVersion,
  formatVersion,
  minorDistance,
  minorOf,
  parseFullVersion,
  parseKubernetesVersion,
  type IstioVersion,
  type KubernetesVersion,
} from "./version.js";

type VersionInput = IstioVersion | string;

function asVersion(v: VersionInput): IstioVersion {
  return typeof v === "string" ? parseFullVersion(v) : v;
}

/** Canary upgrades may skip at most one minor ("1.8 → 1.10 is supported", canary upgrade doc). */
export const MAX_CANARY_MINOR_STEP = 2;

export type UpgradePath =
  | {
      allowed: true;
      from: string;
      to: string;
      kind: "patch" | "minor" | "skip-one-minor";
      minorSteps: number;
      message: string;
    }
  | {
      allowed: false;
      from: string;
      to: string;
      reason: "same-version" | "downgrade" | "too-far" | "major-change";
      minorSteps: number;
      message: string;
      /** for "too-far": intermediate canary upgrades that each stay within the rule */
      hops: string[];
    };

function latestOfMinor(catalog: Catalog, major: number, minor: number): string {
  return catalog.releases.find((r) => r.minor === `${major}.${minor}`)?.latestVersion ?? `${major}.${minor}.0`;
}

/** Whether a canary upgrade from → to is allowed; refuses same version, downgrades and >1 skipped minor. */
export function upgradePath(
  fromInput: VersionInput,
  toInput: VersionInput,
  catalog: Catalog = builtinCatalog(),
): UpgradePath {
  const from = asVersion(fromInput);
  const to = asVersion(toInput);
  const base = { from: formatVersion(from), to: formatVersion(to), minorSteps: minorDistance(from, to) };
  const order = compareVersions(from, to);
  if (order === 0) {
    return {
      ...base,
      allowed: false,
      reason: "same-version",
      hops: [],
      message: `${base.to} is already the current version; nothing to upgrade`,
    };
  }
  if (order > 0) {
    return {
      ...base,
      allowed: false,
      reason: "downgrade",
      hops: [],
      message: `${base.from} → ${base.to} is a downgrade; meshlift upgrades forward only (to go back, roll back the running upgrade instead)`,
    };
  }
  if (from.major !== to.major) {
    return {
      ...base,
      allowed: false,
      reason: "major-change",
      hops: [],
      message: `${base.from} → ${base.to} changes the major version; no supported canary path is known`,
    };
  }
  if (base.minorSteps > MAX_CANARY_MINOR_STEP) {
    const hops: string[] = [];
    for (let minor = from.minor + MAX_CANARY_MINOR_STEP; minor < to.minor; minor += MAX_CANARY_MINOR_STEP) {
      hops.push(latestOfMinor(catalog, from.major, minor));
    }
    hops.push(base.to);
    return {
      ...base,
      allowed: false,
      reason: "too-far",
      hops,
      message: `${base.from} → ${base.to} crosses ${base.minorSteps} minor versions; a canary upgrade may skip at most one minor (e.g. 1.27 → 1.29). Upgrade in steps: ${[base.from, ...hops].join(" → ")}`,
    };
  }
  const kind = base.minorSteps === 0 ? "patch" : base.minorSteps === 1 ? "minor" : "skip-one-minor";
  return {
    ...base,
    allowed: true,
    kind,
    message: `${base.from} → ${base.to} is a supported canary ${kind === "patch" ? "patch upgrade" : kind === "minor" ? "minor upgrade" : "upgrade skipping one minor"}`,
  };
}

export type KubernetesSupportStatus = "supported" | "tested-only" | "unsupported" | "unknown-release";

export interface KubernetesSupport {
  status: KubernetesSupportStatus;
  istio: string;
  kubernetes: string;
  supported: KubernetesRange | null;
  tested: KubernetesRange | null;
  /** MinK8SVersion of istioctl at that release; below it `istioctl x precheck` fails with IST0142 */
  minimum: string | null;
  belowMinimum: boolean;
  message: string;
}

function within(k: KubernetesVersion, range: KubernetesRange): boolean {
  return (
    compareKubernetesVersions(k, parseKubernetesVersion(range.min)) >= 0 &&
    compareKubernetesVersions(k, parseKubernetesVersion(range.max)) <= 0
  );
}

/** Where a Kubernetes version stands for an Istio version: supported, tested but not supported, or unsupported. */
export function kubernetesSupport(
  versionInput: VersionInput,
  kubernetesVersion: string,
  catalog: Catalog = builtinCatalog(),
): KubernetesSupport {
  const version = asVersion(versionInput);
  const k8s = parseKubernetesVersion(kubernetesVersion);
  const kText = formatKubernetesVersion(k8s);
  const release = findRelease(catalog, version);
  if (!release) {
    return {
      status: "unknown-release",
      istio: formatVersion(version),
      kubernetes: kText,
      supported: null,
      tested: null,
      minimum: null,
      belowMinimum: false,
      message: `Istio ${minorOf(version)} is not in the catalog, so its Kubernetes support is unknown`,
    };
  }
  const { supported, tested, minimum } = release.kubernetes;
  const belowMinimum = compareKubernetesVersions(k8s, parseKubernetesVersion(minimum)) < 0;
  const status: KubernetesSupportStatus = within(k8s, supported)
    ? "supported"
    : tested && within(k8s, tested)
      ? "tested-only"
      : "unsupported";
  const range = `${supported.min}–${supported.max}`;
  const message =
    status === "supported"
      ? `Kubernetes ${kText} is supported by Istio ${release.minor} (supported ${range})`
      : status === "tested-only"
        ? `Kubernetes ${kText} is tested but not supported by Istio ${release.minor} (supported ${range}, tested ${tested!.min}–${tested!.max})`
        : `Kubernetes ${kText} is not supported by Istio ${release.minor} (supported ${range}${tested ? `, tested ${tested.min}–${tested.max}` : ""})`;
  return {
    status,
    istio: formatVersion(version),
    kubernetes: kText,
    supported,
    tested,
    minimum,
    belowMinimum,
    message,
  };
}

function toDay(today: Date | string): string {
  return typeof today === "string" ? today.slice(0, 10) : today.toISOString().slice(0, 10);
}

function daysBetween(fromDay: string, toDayText: string): number {
  return Math.round((Date.parse(toDayText) - Date.parse(fromDay)) / 86_400_000);
}

export interface EndOfLife {
  date: string | null;
  estimated: boolean;
  reached: boolean;
  /** negative once reached; null when the date is unknown */
  daysLeft: number | null;
}

function endOfLife(release: IstioRelease | undefined, day: string): EndOfLife {
  const date = release?.endOfLife ?? null;
  const daysLeft = date ? daysBetween(day, date) : null;
  return {
    date,
    estimated: release?.endOfLifeEstimated ?? false,
    reached: daysLeft !== null && daysLeft < 0,
    daysLeft,
  };
}

export interface AvailableUpgrade {
  version: string;
  minor: string;
  kind: "patch" | "minor" | "skip-one-minor";
  released: string;
  endOfLife: EndOfLife;
  kubernetes: KubernetesSupport;
  /** newest patch of its minor, supported on this Kubernetes and not end-of-life */
  recommended: boolean;
}

export interface UpgradeOptions {
  current: {
    version: string;
    release: string | null;
    endOfLife: EndOfLife;
    kubernetes: KubernetesSupport;
    latestPatchOfMinor: string | null;
  };
  /** reachable in one canary upgrade: the latest patch of the current minor and of the next two minors */
  upgrades: AvailableUpgrade[];
  /** newer releases beyond one canary step, with the hops needed */
  beyondOneStep: { version: string; hops: string[] }[];
  newVersionAvailable: boolean;
  newestVersion: string | null;
  recommended: string | null;
}

/**
 * What the mesh can upgrade to now: per minor the latest final patch, each with Kubernetes
 * compatibility and end-of-life on `today`. Pre-releases are never offered.
 */
export function availableUpgrades(
  currentInput: VersionInput,
  kubernetesVersion: string,
  today: Date | string,
  catalog: Catalog = builtinCatalog(),
): UpgradeOptions {
  const current = asVersion(currentInput);
  const day = toDay(today);
  const currentRelease = findRelease(catalog, current);
  const upgrades: AvailableUpgrade[] = [];
  const beyondOneStep: { version: string; hops: string[] }[] = [];
  for (const release of catalog.releases) {
    if (!release.latestVersion) continue;
    const candidate = parseFullVersion(release.latestVersion);
    if (compareVersions(candidate, current) <= 0) continue;
    const path = upgradePath(current, candidate, catalog);
    if (!path.allowed) {
      if (path.reason === "too-far") beyondOneStep.push({ version: release.latestVersion, hops: path.hops });
      continue;
    }
    upgrades.push({
      version: release.latestVersion,
      minor: release.minor,
      kind: path.kind,
      released: release.released,
      endOfLife: endOfLife(release, day),
      kubernetes: kubernetesSupport(candidate, kubernetesVersion, catalog),
      recommended: false,
    });
  }
  const recommendable = upgrades.filter((u) => u.kubernetes.status === "supported" && !u.endOfLife.reached);
  const recommended = recommendable.at(-1)?.version ?? null;
  for (const u of upgrades) u.recommended = u.version === recommended;
  const newest = [...upgrades.map((u) => u.version), ...beyondOneStep.map((b) => b.version)]
    .map(parseFullVersion)
    .sort(compareVersions)
    .at(-1);
  return {
    current: {
      version: formatVersion(current),
      release: currentRelease?.minor ?? null,
      endOfLife: endOfLife(currentRelease, day),
      kubernetes: kubernetesSupport(current, kubernetesVersion, catalog),
      latestPatchOfMinor: currentRelease?.latestVersion ?? null,
    },
    upgrades,
    beyondOneStep,
    newVersionAvailable: upgrades.length > 0 || beyondOneStep.length > 0,
    newestVersion: newest ? formatVersion(newest) : null,
    recommended,
  };
}

export interface SkewVerdict {
  allowed: boolean;
  reason: "same-minor" | "control-plane-one-ahead" | "control-plane-behind" | "control-plane-too-far-ahead";
  /** control-plane minor minus data-plane minor */
  minorsAhead: number;
  message: string;
}

/** Skew policy ("Supported Releases"): the control plane may be one minor ahead of the data plane, never behind. */
export function controlPlaneSkew(controlPlaneInput: VersionInput, dataPlaneInput: VersionInput): SkewVerdict {
  const cp = asVersion(controlPlaneInput);
  const dp = asVersion(dataPlaneInput);
  const ahead = minorDistance(dp, cp);
  const pair = `control plane ${minorOf(cp)}, data plane ${minorOf(dp)}`;
  if (ahead === 0) return { allowed: true, reason: "same-minor", minorsAhead: 0, message: `${pair}: same minor` };
  if (ahead === 1)
    return {
      allowed: true,
      reason: "control-plane-one-ahead",
      minorsAhead: 1,
      message: `${pair}: control plane one minor ahead (supported)`,
    };
  if (ahead < 0) {
    return {
      allowed: false,
      reason: "control-plane-behind",
      minorsAhead: ahead,
      message: `${pair}: the control plane must never be behind its proxies; upgrade the control plane first`,
    };
  }
  return {
    allowed: false,
    reason: "control-plane-too-far-ahead",
    minorsAhead: ahead,
    message: `${pair}: the control plane may be at most one minor ahead; restart the proxies onto a newer revision`,
  };
}
