// What changes between Istio releases in the installed objects and the injection templates
// (istio-facts §1.2, §2). A version that does not parse (e.g. "latest", a dev build) counts as the newest.

export interface IstioVersion {
  major: number;
  minor: number;
  patch: number;
}

/** "1.27.3", "1.31.0-rc.0", "1.27.3-distroless" (an image tag) → numbers; undefined when not a release. */
export function parseIstioVersion(version: string): IstioVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/** true when `version` is 1.<minor> or newer (unparsable versions are treated as the newest). */
export function isAtLeast(version: string, minor: number): boolean {
  const v = parseIstioVersion(version);
  if (!v) return true;
  return v.major > 1 || (v.major === 1 && v.minor >= minor);
}

/** The release hub: registry.istio.io/release from 1.30 (PR #59364), docker.io/istio before. */
export function defaultHub(version: string): string {
  return isAtLeast(version, 30) ? "registry.istio.io/release" : "docker.io/istio";
}

/** ENABLE_NATIVE_SIDECARS defaults to "auto" from 1.27 on (pilot/pkg/features/pilot.go); the sandbox treats auto as on. */
export function nativeSidecarsByDefault(version: string): boolean {
  return isAtLeast(version, 27);
}

/** The sidecar template mounts the optional istio-ca-crl ConfigMap from 1.27 (PR #56308); 1.18–1.26 have 8 volumes. */
export function mountsCaCrl(version: string): boolean {
  return isAtLeast(version, 27);
}

/** ConfigMap values<r> (original-values, merged-values) exists from 1.26. */
export function installsValuesConfigMap(version: string): boolean {
  return isAtLeast(version, 26);
}

/** Revision tags also get Service istiod-revision-tag-<tag> from 1.28 (PR #56963). */
export function tagsHaveService(version: string): boolean {
  return isAtLeast(version, 28);
}

/** 1.18–1.20 install EnvoyFilters stats-filter-1.NN<r> and tcp-stats-filter-1.NN<r>; gone from 1.21. */
export function installsStatsEnvoyFilters(version: string): boolean {
  const v = parseIstioVersion(version);
  return !!v && v.major === 1 && v.minor >= 18 && v.minor <= 20;
}

/** The newest release the sandbox knows, used when no version is given. */
export const LATEST_ISTIO_VERSION = "1.30.3";
