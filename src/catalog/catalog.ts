// The Istio release catalog: built-in data, overridable by a user file (JSON or YAML) so that a
// new Istio release needs no new meshlift release. Validated with zod; errors name the field.
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { BUILTIN_CATALOG } from "./releases.js";
import {
  VersionError,
  compareVersions,
  formatVersion,
  parseFullVersion,
  parseMinorOnly,
  type IstioVersion,
} from "./version.js";

const minorText = z.string().regex(/^(0|[1-9]\d*)\.(0|[1-9]\d*)$/, "expected MAJOR.MINOR such as 1.32");

function minorKey(text: string): number {
  const [major, minor] = text.split(".").map(Number);
  return major * 1000 + minor;
}

const kubernetesRange = z
  .tuple([minorText, minorText])
  .refine(([min, max]) => minorKey(min) <= minorKey(max), "range start must not be after its end");

const releaseEntry = z
  .object({
    minor: minorText,
    released: z.iso.date(),
    endOfLife: z.iso.date().nullable(),
    endOfLifeEstimated: z.boolean().optional(),
    /** newest final patch number; null when only pre-releases exist */
    latestPatch: z.number().int().nonnegative().nullable(),
    prereleases: z.array(z.string()).optional(),
    unconfirmed: z.boolean().optional(),
    kubernetes: z
      .object({ supported: kubernetesRange, tested: kubernetesRange.nullable().optional(), minimum: minorText })
      .strict(),
  })
  .strict()
  .superRefine((entry, ctx) => {
    for (const [i, pre] of (entry.prereleases ?? []).entries()) {
      try {
        const v = parseFullVersion(pre);
        if (`${v.major}.${v.minor}` !== entry.minor || v.prerelease === null) {
          ctx.addIssue({
            code: "custom",
            path: ["prereleases", i],
            message: `${pre} is not a pre-release of ${entry.minor}`,
          });
        }
      } catch (err) {
        ctx.addIssue({ code: "custom", path: ["prereleases", i], message: (err as Error).message });
      }
    }
  });

export const catalogFileSchema = z
  .object({
    asOf: z.iso.date().optional(),
    /** merge (default): entries replace built-in ones of the same minor; replace: the file is the whole catalog */
    mode: z.enum(["merge", "replace"]).optional(),
    releases: z.array(releaseEntry).min(1),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.releases.forEach((r, i) => {
      if (seen.has(r.minor))
        ctx.addIssue({ code: "custom", path: ["releases", i, "minor"], message: `${r.minor} is listed twice` });
      seen.add(r.minor);
    });
  });

export type CatalogFile = z.input<typeof catalogFileSchema>;

export interface KubernetesRange {
  min: string;
  max: string;
}

/** One Istio minor release line with its patches and Kubernetes support. */
export interface IstioRelease {
  minor: string;
  released: string;
  endOfLife: string | null;
  endOfLifeEstimated: boolean;
  /** rows istio-facts marks as unconfirmed (e.g. a release not yet final) */
  unconfirmed: boolean;
  /** final versions, ascending: 1.28.0 … 1.28.10 */
  versions: string[];
  prereleases: string[];
  latestVersion: string | null;
  kubernetes: { supported: KubernetesRange; tested: KubernetesRange | null; minimum: string };
}

export interface Catalog {
  asOf: string | null;
  /** where the data came from: "builtin" and/or file paths */
  sources: string[];
  /** ascending by minor */
  releases: IstioRelease[];
}

/** A catalog file that cannot be read or does not validate. */
export class CatalogError extends Error {
  constructor(
    message: string,
    readonly source: string,
  ) {
    super(message);
    this.name = "CatalogError";
  }
}

type ReleaseEntry = z.output<typeof releaseEntry>;

function toRelease(entry: ReleaseEntry): IstioRelease {
  const versions =
    entry.latestPatch === null
      ? []
      : Array.from({ length: entry.latestPatch + 1 }, (_, patch) => `${entry.minor}.${patch}`);
  return {
    minor: entry.minor,
    released: entry.released,
    endOfLife: entry.endOfLife,
    endOfLifeEstimated: entry.endOfLifeEstimated ?? false,
    unconfirmed: entry.unconfirmed ?? false,
    versions,
    prereleases: [...(entry.prereleases ?? [])].sort((a, b) =>
      compareVersions(parseFullVersion(a), parseFullVersion(b)),
    ),
    latestVersion: versions.at(-1) ?? null,
    kubernetes: {
      supported: { min: entry.kubernetes.supported[0], max: entry.kubernetes.supported[1] },
      tested: entry.kubernetes.tested ? { min: entry.kubernetes.tested[0], max: entry.kubernetes.tested[1] } : null,
      minimum: entry.kubernetes.minimum,
    },
  };
}

function validate(data: unknown, source: string): z.output<typeof catalogFileSchema> {
  const result = catalogFileSchema.safeParse(data);
  if (!result.success) {
    throw new CatalogError(
      `Istio catalog ${source} is invalid:\n${z.prettifyError(result.error)}\nFix the file (see the built-in catalog for the shape) and retry.`,
      source,
    );
  }
  return result.data;
}

/** Builds a catalog from file data; with a base catalog, "merge" entries override its minors. */
export function catalogFromData(data: unknown, source: string, base?: Catalog): Catalog {
  const file = validate(data, source);
  const byMinor = new Map<string, IstioRelease>();
  if (base && file.mode !== "replace") for (const r of base.releases) byMinor.set(r.minor, r);
  for (const entry of file.releases) byMinor.set(entry.minor, toRelease(entry));
  return {
    asOf: file.asOf ?? base?.asOf ?? null,
    sources: [...(base && file.mode !== "replace" ? base.sources : []), source],
    releases: [...byMinor.values()].sort((a, b) => minorKey(a.minor) - minorKey(b.minor)),
  };
}

let builtin: Catalog | undefined;

/** The catalog compiled into this meshlift build. */
export function builtinCatalog(): Catalog {
  builtin ??= catalogFromData(BUILTIN_CATALOG, "builtin");
  return builtin;
}

/**
 * The built-in catalog, merged with (or replaced by) a user file when a path is given.
 * JSON and YAML are both accepted (YAML is a superset of JSON).
 */
export async function loadCatalog(path?: string): Promise<Catalog> {
  if (!path) return builtinCatalog();
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new CatalogError(`cannot read Istio catalog ${path}: ${(err as Error).message}`, path);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new CatalogError(`Istio catalog ${path} is not valid JSON/YAML: ${(err as Error).message}`, path);
  }
  return catalogFromData(data, path, builtinCatalog());
}

/** The release line of a version or "1.28" minor text; undefined when the catalog lacks it. */
export function findRelease(catalog: Catalog, version: IstioVersion | string): IstioRelease | undefined {
  const minor = typeof version === "string" ? (parseMinorOnly(version) ?? parseFullVersion(version)) : version;
  const key = `${minor.major}.${minor.minor}`;
  return catalog.releases.find((r) => r.minor === key);
}

/** Whether this exact version (final patch or listed pre-release) is in the catalog. */
export function isInCatalog(catalog: Catalog, version: IstioVersion | string): boolean {
  const v = typeof version === "string" ? parseFullVersion(version) : version;
  const release = findRelease(catalog, v);
  const text = formatVersion(v);
  return !!release && (release.versions.includes(text) || release.prereleases.includes(text));
}

function catalogSpan(catalog: Catalog): string {
  const first = catalog.releases[0]?.minor;
  const last = catalog.releases.at(-1)?.minor;
  return first ? `${first}–${last}` : "none";
}

/**
 * Parses a user-given Istio version: "1.28.2", "v1.28.2", a pre-release "1.31.0-rc.0", or a
 * minor "1.28" which resolves to that minor's latest patch in the catalog.
 */
export function parseVersion(text: string, catalog: Catalog = builtinCatalog()): IstioVersion {
  const minorOnly = parseMinorOnly(text);
  if (!minorOnly) return parseFullVersion(text);
  const release = catalog.releases.find((r) => r.minor === `${minorOnly.major}.${minorOnly.minor}`);
  if (!release) {
    throw new VersionError(
      `Istio ${minorOnly.major}.${minorOnly.minor} is not in the catalog (known: ${catalogSpan(catalog)}); give a full version such as ${minorOnly.major}.${minorOnly.minor}.0 or add the release to a catalog file (--catalog)`,
      text,
    );
  }
  if (!release.latestVersion) {
    throw new VersionError(
      `Istio ${release.minor} has no final release in the catalog (pre-releases: ${release.prereleases.join(", ") || "none"}); name a pre-release explicitly or update the catalog file`,
      text,
    );
  }
  return parseFullVersion(release.latestVersion);
}
