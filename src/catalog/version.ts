// Istio and Kubernetes version text: parsing, ordering, revision names, image tags.
// Pure and catalog-free; resolving "1.28" to its latest patch needs the catalog (catalog.ts).

/** An Istio release version, e.g. 1.28.2 or 1.31.0-rc.0. */
export interface IstioVersion {
  major: number;
  minor: number;
  patch: number;
  /** "rc.0", "beta.1", "alpha.2"; null for a final release */
  prerelease: string | null;
}

/** A Kubernetes minor version, e.g. 1.29 (patch and vendor suffix dropped). */
export interface KubernetesVersion {
  major: number;
  minor: number;
}

/** Refused version text; the message says what was expected. */
export class VersionError extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
    this.name = "VersionError";
  }
}

const NUMBER = "(0|[1-9]\\d*)";
const FULL_VERSION = new RegExp(`^v?${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-((?:alpha|beta|rc)\\.${NUMBER}))?$`);
const MINOR_ONLY = new RegExp(`^v?${NUMBER}\\.${NUMBER}$`);

/** Parses "1.28.2", "v1.28.2" or "1.31.0-rc.0". Use parseVersion (catalog.ts) to also accept "1.28". */
export function parseFullVersion(text: string): IstioVersion {
  const trimmed = text.trim();
  const m = FULL_VERSION.exec(trimmed);
  if (!m) {
    throw new VersionError(
      `"${text}" is not an Istio version: expected MAJOR.MINOR.PATCH such as 1.28.2 (optionally v-prefixed, or a pre-release like 1.31.0-rc.0)`,
      text,
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ?? null };
}

/** Splits "1.28" or "v1.28" into major/minor; null when the text is not of that shape. */
export function parseMinorOnly(text: string): { major: number; minor: number } | null {
  const m = MINOR_ONLY.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export function formatVersion(v: IstioVersion): string {
  return `${v.major}.${v.minor}.${v.patch}${v.prerelease ? `-${v.prerelease}` : ""}`;
}

export function minorOf(v: IstioVersion): string {
  return `${v.major}.${v.minor}`;
}

const PRERELEASE_RANK: Record<string, number> = { alpha: 0, beta: 1, rc: 2 };

function comparePrerelease(a: string | null, b: string | null): number {
  // semver: a final release sorts after every pre-release of the same patch
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const [ka, na] = a.split(".");
  const [kb, nb] = b.split(".");
  const byKind = (PRERELEASE_RANK[ka] ?? -1) - (PRERELEASE_RANK[kb] ?? -1);
  return byKind !== 0 ? byKind : Number(na) - Number(nb);
}

/** Negative when a < b, 0 when equal, positive when a > b (semver order). */
export function compareVersions(a: IstioVersion, b: IstioVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || comparePrerelease(a.prerelease, b.prerelease);
}

/** Minor versions from a to b (1.27 → 1.29 is 2); only meaningful within one major. */
export function minorDistance(from: { major: number; minor: number }, to: { major: number; minor: number }): number {
  return (to.major - from.major) * 1000 + (to.minor - from.minor);
}

/**
 * The conventional revision name of a version: dots become dashes ("1.28.2" → "1-28-2"), the
 * form istioctl docs and Sail use; revision names must be DNS-1123 labels.
 */
export function revisionName(version: IstioVersion | string): string {
  const v = typeof version === "string" ? parseFullVersion(version) : version;
  return formatVersion(v).replace(/\./g, "-");
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Revision names are DNS-1123 labels (operator/pkg/apis/validation). */
export function isValidRevisionName(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

/**
 * The version an Istio image tag names: "1.28.2-distroless" → "1.28.2". Image variants
 * (`-distroless`, `-debug`) are suffixes of global.tag; null for tags like "latest" or digests.
 */
export function versionFromImage(image: string): string | null {
  const withoutDigest = image.split("@")[0];
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  if (colon < 0) return null;
  const tag = withoutDigest.slice(colon + 1).replace(/-(distroless|debug)$/, "");
  return /^v?\d+\.\d+/.test(tag) ? tag.replace(/^v/, "") : null;
}

/** Parses a version that may carry build noise ("1.3.0-prerelease"); null unless it starts with X.Y.Z. */
export function looseVersion(text: string | null | undefined): IstioVersion | null {
  if (!text) return null;
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-((?:alpha|beta|rc)\.\d+))?/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ?? null } : null;
}

/** "v1.29.3-gke.1200", "1.29", "1.29.0" → 1.29; refuses anything else. */
export function parseKubernetesVersion(text: string): KubernetesVersion {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(text.trim());
  if (!m) {
    throw new VersionError(
      `"${text}" is not a Kubernetes version: expected MAJOR.MINOR[.PATCH] such as 1.29 or v1.29.3`,
      text,
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function formatKubernetesVersion(v: KubernetesVersion): string {
  return `${v.major}.${v.minor}`;
}

export function compareKubernetesVersions(a: KubernetesVersion, b: KubernetesVersion): number {
  return a.major - b.major || a.minor - b.minor;
}
