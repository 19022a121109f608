// Validation of a MeshUpgrade spec against the mesh it would change (DESIGN.md invariant 6: bad input
// is refused with a clear reason and changes nothing). Pure: (spec, snapshot, catalog, lock state) →
// the resolved spec or every error, each with the field path, what is wrong and how to fix it.
import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";
import { isInCatalog, parseVersion, type Catalog } from "../../catalog/catalog.js";
import { kubernetesSupport, upgradePath } from "../../catalog/rules.js";
import { VersionError, formatVersion, looseVersion, revisionName, type IstioVersion } from "../../catalog/version.js";
import { ALL_CHECKS } from "../../checks/index.js";
import { validateMetricChecks } from "../gates/checks.js";
import type { MeshSnapshot, NamespaceView } from "../../mesh/schema.js";
import { selectorMatches } from "../../mesh/selectors.js";
import {
  ROLLBACK_STAGES,
  TERMINAL_STAGES,
  durationMs,
  meshUpgradeSpecSchema,
  type MeshUpgradeSpec,
  type UpgradeAction,
  type UpgradeStage,
} from "./schema.js";

export interface SpecError {
  /** where: the field path in the MeshUpgrade, e.g. "spec.dataPlane.waves.explicit[1]" */
  field: string;
  /** what is wrong */
  message: string;
  /** how to fix it */
  fix: string;
}

export interface ValidationContext {
  snapshot: MeshSnapshot;
  catalog: Catalog;
  /** the cluster's Kubernetes version, e.g. "1.31" or "v1.31.2" */
  kubernetesVersion: string;
  /** every MeshUpgrade in the cluster (this one included, if it exists) with its status.stage */
  activeUpgrades: { name: string; stage: string | null }[];
  /** the MeshUpgrade being validated, when it already exists: its stage decides which actions are allowed */
  self?: {
    name: string;
    stage?: UpgradeStage | null;
    acknowledgedAction?: { action: UpgradeAction; nonce?: string } | null;
  };
  /**
   * Every namespace's labels, to resolve spec.dataPlane.namespaces.selector (the snapshot keeps only
   * Istio labels). Without them a selector is checked for shape only and the selection stays unresolved.
   */
  namespaceLabels?: Record<string, Record<string, string>>;
  /** the CLI passes rendered manifests as files, so Manifests mode needs no configMapRef there */
  manifestsFromFiles?: boolean;
  /** revisions whose manifests a ConfigMap labelled meshlift.io/manifests-revision=<revision> holds */
  manifestRevisions?: string[];
}

export interface ResolvedRevision {
  revision: string;
  version: string;
}

/** A valid spec with every default applied and every "auto" resolved against the mesh. */
export type ResolvedUpgradeSpec = Omit<MeshUpgradeSpec, "from" | "to"> & {
  from: ResolvedRevision;
  to: ResolvedRevision;
  pathKind: "patch" | "minor" | "skip-one-minor";
  /**
   * Selected namespaces in the order they move: canary, then order, then the rest by name.
   * null when a label selector could not be resolved (no namespaceLabels given).
   */
  namespaces: string[] | null;
};

export type SpecValidation = { ok: true; spec: ResolvedUpgradeSpec } | { ok: false; errors: SpecError[] };

// --- shape errors (zod) ----------------------------------------------------------------------------

type JsonNode = { properties?: Record<string, JsonNode>; items?: JsonNode; enum?: unknown[] };
let specJsonSchema: JsonNode | undefined;

/** Field names the spec allows at a path, for "did you mean" on unknown fields. */
function knownFields(path: PropertyKey[]): string[] {
  specJsonSchema ??= z.toJSONSchema(meshUpgradeSpecSchema, { io: "input" }) as JsonNode;
  let node: JsonNode | undefined = specJsonSchema;
  for (const seg of path) node = typeof seg === "number" ? node?.items : node?.properties?.[String(seg)];
  return Object.keys(node?.properties ?? {});
}

function fieldPath(path: readonly PropertyKey[], prefix = "spec"): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : `${acc}.${String(seg)}`),
    prefix,
  );
}

/** The closest known word, when it is close enough to be a typo. */
function suggestion(word: string, known: readonly string[]): string | null {
  if (known.length === 0) return null;
  const best = closest(word, [...known]);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function didYouMean(word: string, known: readonly string[]): string {
  const best = suggestion(word, known);
  return best ? ` (did you mean "${best}"?)` : "";
}

function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;
}

function article(noun: string): string {
  return `${/^[aeiou]/.test(noun) ? "an" : "a"} ${noun}`;
}

function formatFix(format: string, message: string): string {
  if (format === "url") return "Give an absolute URL such as http://prometheus.monitoring:9090.";
  if (/DNS-1123/.test(message))
    return "Use lower-case letters, digits and '-', starting and ending with a letter or digit (e.g. 1-29-6), at most 63 characters.";
  if (/duration/.test(message)) return 'Use a positive duration such as "30s", "1m" or "1m30s".';
  return `Correct the value: ${message}.`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const seg of path)
    v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

function shapeErrors(error: z.ZodError, input: unknown): SpecError[] {
  const errors: SpecError[] = [];
  for (const issue of error.issues) {
    const field = fieldPath(issue.path);
    const found = valueAt(input, issue.path);
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) {
          const known = knownFields(issue.path);
          const best = suggestion(key, known);
          errors.push({
            field: fieldPath([...issue.path, key]),
            message: `unknown field "${key}"${best ? ` (did you mean "${best}"?)` : ""}`,
            fix: best ? `Rename it to "${best}".` : `Remove it; the fields here are: ${known.join(", ")}.`,
          });
        }
        break;
      case "invalid_type":
        errors.push(
          found === undefined
            ? { field, message: "required field is missing", fix: `Add ${field} (${article(issue.expected)}).` }
            : {
                field,
                message: `expected ${article(issue.expected)}, found ${describeValue(found)}`,
                fix: `Give ${field} ${article(issue.expected)} value.`,
              },
        );
        break;
      case "invalid_value": {
        const allowed = issue.values.map((v) => String(v));
        const text = String(found);
        errors.push({
          field,
          message: `${describeValue(found)} is not allowed${typeof found === "string" ? didYouMean(text, allowed) : ""}`,
          fix: `Use one of: ${allowed.join(", ")}.`,
        });
        break;
      }
      case "too_small":
        errors.push({
          field,
          message:
            issue.origin === "array"
              ? `needs at least ${issue.minimum} item(s)`
              : issue.origin === "string"
                ? "must not be empty"
                : `${describeValue(found)} is below the minimum ${issue.minimum}`,
          fix:
            issue.origin === "array" || issue.origin === "string"
              ? `Fill ${field} or remove it.`
              : `Use a value of at least ${issue.minimum}.`,
        });
        break;
      case "too_big":
        errors.push({
          field,
          message: `${describeValue(found)} is too long or too large (limit ${issue.maximum})`,
          fix: `Use at most ${issue.maximum}${issue.origin === "string" ? " characters" : ""}.`,
        });
        break;
      case "invalid_format":
        errors.push({
          field,
          message: `${describeValue(found)} ${issue.format === "url" ? "is not a valid URL" : issue.message}`,
          fix: formatFix(issue.format, issue.message),
        });
        break;
      case "custom": {
        const fix = (issue.params as { fix?: string } | undefined)?.fix;
        errors.push({ field, message: issue.message, fix: fix ?? "Correct the value." });
        break;
      }
      default:
        errors.push({ field, message: issue.message, fix: "Correct the value as the message says." });
    }
  }
  return errors;
}

// --- semantic checks -------------------------------------------------------------------------------

/** Collects errors; each check adds what it finds and the validation goes on, so users see them all. */
class Refusals {
  readonly errors: SpecError[] = [];
  add(field: string, message: string, fix: string): void {
    this.errors.push({ field, message, fix });
  }
}

function catalogSpan(catalog: Catalog): string {
  return catalog.releases.length ? `${catalog.releases[0].minor}–${catalog.releases.at(-1)!.minor}` : "none";
}

function exampleVersion(catalog: Catalog): string {
  return [...catalog.releases].reverse().find((r) => r.latestVersion)?.latestVersion ?? "1.29.0";
}

function resolveTargetVersion(spec: MeshUpgradeSpec, ctx: ValidationContext, out: Refusals): IstioVersion | null {
  let version: IstioVersion;
  try {
    version = parseVersion(spec.to.version, ctx.catalog);
  } catch (err) {
    if (!(err instanceof VersionError)) throw err;
    out.add(
      "spec.to.version",
      err.message,
      `Give a released Istio version such as ${exampleVersion(ctx.catalog)} (see \`meshlift versions\`).`,
    );
    return null;
  }
  if (!isInCatalog(ctx.catalog, version)) {
    out.add(
      "spec.to.version",
      `Istio ${formatVersion(version)} is not in the release catalog (it covers ${catalogSpan(ctx.catalog)})`,
      "Pick a version from `meshlift versions`, or add the release to a catalog file (--catalog) if it is newer than this meshlift build.",
    );
    return null;
  }
  return version;
}

function revisionSummary(snapshot: MeshSnapshot): string {
  return snapshot.revisions
    .map((r) => `${r.name} (${r.version ?? "version unknown"}, ${r.proxies} proxies)`)
    .join(", ");
}

/** The revision the mesh runs on: spec.from, or the one installed revision in use that is not the target. */
function resolveSource(
  spec: MeshUpgradeSpec,
  targetRevision: string | null,
  snapshot: MeshSnapshot,
  out: Refusals,
): ResolvedRevision | null {
  let source;
  if (spec.from !== undefined) {
    source = snapshot.revisions.find((r) => r.name === spec.from);
    if (!source) {
      const names = snapshot.revisions.map((r) => r.name);
      out.add(
        "spec.from",
        `revision "${spec.from}" is not installed${didYouMean(spec.from, names)}; installed: ${names.join(", ") || "none"}`,
        "Name an installed revision (see `meshlift status`), or remove spec.from to detect it.",
      );
      return null;
    }
  } else {
    // the target may already be installed (Adopt, or a resumed upgrade): prefer any other revision
    const notTarget = snapshot.revisions.filter((r) => r.name !== targetRevision);
    const others = notTarget.length > 0 ? notTarget : snapshot.revisions;
    const inUse = others.filter(
      (r) => r.proxies > 0 || snapshot.namespaces.some((ns) => ns.injection.revision === r.name),
    );
    const candidates = inUse.length > 0 ? inUse : others;
    if (candidates.length === 0) {
      out.add(
        "spec.from",
        "no Istio revision is installed, so there is nothing to upgrade from",
        "Install Istio first, or point meshlift at the cluster that runs the mesh.",
      );
      return null;
    }
    if (candidates.length > 1) {
      out.add(
        "spec.from",
        `several revisions are in use, so the source cannot be detected: ${revisionSummary({ ...snapshot, revisions: candidates })}`,
        `Set spec.from to the revision to upgrade (one of ${candidates.map((r) => r.name).join(", ")}).`,
      );
      return null;
    }
    source = candidates[0];
  }
  const version = looseVersion(source.version);
  if (!version) {
    out.add(
      spec.from !== undefined ? "spec.from" : "spec",
      `the Istio version of revision ${source.name} is unknown (istiod ${source.namespace}/${source.deployment} image ${source.image ?? "unknown"})`,
      "Run istiod from an image tagged with its version (e.g. istio/pilot:1.28.2) so the upgrade path can be checked.",
    );
    return null;
  }
  return { revision: source.name, version: formatVersion(version) };
}

function checkTargetRevision(
  target: ResolvedRevision,
  source: ResolvedRevision | null,
  spec: MeshUpgradeSpec,
  snapshot: MeshSnapshot,
  out: Refusals,
): void {
  const field = spec.to.revision !== undefined ? "spec.to.revision" : "spec.to.version";
  const explicit = spec.to.revision !== undefined;
  if (source && target.revision === source.revision) {
    out.add(
      field,
      `target revision "${target.revision}" is the revision the mesh runs now (${source.version})${explicit ? "" : `, named after the version ${target.version}`}`,
      `Give the new revision its own name in spec.to.revision, e.g. ${revisionName(target.version)}${explicit ? "" : "-canary"}.`,
    );
    return;
  }
  const existing = snapshot.revisions.find((r) => r.name === target.revision);
  const existingVersion = looseVersion(existing?.version);
  if (existing && (!existingVersion || formatVersion(existingVersion) !== target.version)) {
    out.add(
      field,
      `revision "${target.revision}" already exists and runs ${existing.version ?? "an unknown version"}, not ${target.version}`,
      "Choose another revision name in spec.to.revision, or remove that revision first.",
    );
  }
  if (snapshot.tags.some((t) => t.name === target.revision)) {
    out.add(
      field,
      `"${target.revision}" is already a revision tag; a revision of the same name makes istio.io/rev=${target.revision} ambiguous`,
      "Choose another revision name in spec.to.revision.",
    );
  }
}

function checkPath(source: ResolvedRevision, target: ResolvedRevision, ctx: ValidationContext, out: Refusals) {
  const path = upgradePath(source.version, target.version, ctx.catalog);
  if (path.allowed) return path.kind;
  const fix =
    path.reason === "too-far" && path.hops.length > 0
      ? `Upgrade in steps, one MeshUpgrade each: ${[path.from, ...path.hops].join(" → ")}.`
      : path.reason === "same-version"
        ? "Choose a newer target version; nothing to upgrade."
        : path.reason === "downgrade"
          ? `Choose a version newer than ${path.from}; to undo a running upgrade, set spec.action: Rollback on it.`
          : "No supported canary path is known; reinstall instead.";
  out.add("spec.to.version", `from revision ${source.revision}: ${path.message}`, fix);
  return null;
}

function checkKubernetes(
  source: ResolvedRevision | null,
  target: ResolvedRevision,
  ctx: ValidationContext,
  out: Refusals,
) {
  let support;
  try {
    support = kubernetesSupport(target.version, ctx.kubernetesVersion, ctx.catalog);
  } catch (err) {
    if (!(err instanceof VersionError)) throw err;
    out.add("(cluster)", err.message, "Check the cluster's /version endpoint; meshlift needs its Kubernetes version.");
    return;
  }
  if (support.status !== "unsupported" && !support.belowMinimum) return;
  const alternatives = source
    ? ctx.catalog.releases
        .filter((r) => r.latestVersion)
        .map((r) => r.latestVersion!)
        .filter(
          (v) =>
            upgradePath(source.version, v, ctx.catalog).allowed &&
            kubernetesSupport(v, ctx.kubernetesVersion, ctx.catalog).status === "supported",
        )
    : [];
  const range = support.supported ? `${support.supported.min}–${support.supported.max}` : "its supported range";
  out.add(
    "spec.to.version",
    support.belowMinimum && support.status !== "unsupported"
      ? `Kubernetes ${support.kubernetes} is below istioctl's minimum ${support.minimum} for Istio ${target.version} (IST0142)`
      : support.message,
    alternatives.length > 0
      ? `Choose a version that supports Kubernetes ${support.kubernetes} (${alternatives.join(", ")}), or upgrade Kubernetes into ${range} first.`
      : `Upgrade Kubernetes into ${range} first.`,
  );
}

/** Namespaces taking part in this upgrade: injection or proxies on the source or the target revision. */
function meshNamespaces(snapshot: MeshSnapshot, revisions: string[]): NamespaceView[] {
  return snapshot.namespaces.filter(
    (ns) =>
      (ns.injection.revision !== null && revisions.includes(ns.injection.revision)) ||
      revisions.some((r) => (ns.proxiesByRevision[r] ?? 0) > 0),
  );
}

interface Selection {
  /** null when unresolved (a selector without namespace labels) */
  selected: Set<string> | null;
  excluded: Set<string>;
  existing: Set<string>;
}

function namespaceError(name: string, selection: Selection, inMesh: Set<string>, revisions: string[]): string | null {
  if (!selection.existing.has(name)) {
    return `namespace "${name}" does not exist${didYouMean(name, [...selection.existing])}`;
  }
  if (selection.excluded.has(name)) return `namespace "${name}" is excluded (spec.dataPlane.namespaces.exclude)`;
  if (!inMesh.has(name)) return `namespace "${name}" is not on revision ${revisions.join(" or ")}`;
  if (selection.selected && !selection.selected.has(name)) {
    return `namespace "${name}" is not selected by spec.dataPlane.namespaces`;
  }
  return null;
}

function checkNamespaces(
  spec: MeshUpgradeSpec,
  source: ResolvedRevision,
  target: ResolvedRevision,
  ctx: ValidationContext,
  out: Refusals,
): string[] | null {
  const revisions = [source.revision, target.revision];
  const sel = spec.dataPlane.namespaces;
  const existing = new Set(ctx.snapshot.namespaces.map((ns) => ns.name));
  const inMesh = new Set(meshNamespaces(ctx.snapshot, revisions).map((ns) => ns.name));
  const excluded = new Set(sel.exclude ?? []);
  const base = "spec.dataPlane.namespaces";

  sel.exclude?.forEach((name, i) => {
    if (!existing.has(name)) {
      out.add(
        `${base}.exclude[${i}]`,
        `namespace "${name}" does not exist${didYouMean(name, [...existing])}`,
        "Correct the name; an exclusion with a typo would leave the namespace you meant selected.",
      );
    }
  });

  let selected: Set<string> | null;
  if (sel.names) {
    const named = new Set<string>();
    selected = named;
    sel.names.forEach((name, i) => {
      if (!existing.has(name)) {
        out.add(
          `${base}.names[${i}]`,
          `namespace "${name}" does not exist${didYouMean(name, [...existing])}`,
          "Correct the name or remove it from the list.",
        );
      } else if (!inMesh.has(name)) {
        const view = ctx.snapshot.namespaces.find((ns) => ns.name === name)!;
        out.add(
          `${base}.names[${i}]`,
          `namespace "${name}" is not on revision ${source.revision} (${view.injection.reason}; no proxies of ${source.revision})`,
          `Remove it from the list; only namespaces on ${source.revision} can move to ${target.revision}.`,
        );
      } else if (!excluded.has(name)) named.add(name);
    });
  } else if (sel.selector) {
    selected = ctx.namespaceLabels
      ? new Set(
          [...inMesh].filter((n) => !excluded.has(n) && selectorMatches(sel.selector, ctx.namespaceLabels![n] ?? {})),
        )
      : null;
  } else {
    selected = new Set([...inMesh].filter((n) => !excluded.has(n)));
  }
  if (selected && selected.size === 0 && !(sel.names && out.errors.some((e) => e.field.startsWith(`${base}.names`)))) {
    out.add(
      base,
      `no namespace is selected: none on revision ${source.revision}${sel.selector ? " matches the selector" : ""}${excluded.size ? " outside exclude" : ""}`,
      `Select namespaces that use ${source.revision} (see \`meshlift status\`), or check spec.from.`,
    );
  }
  const selection: Selection = { selected, excluded, existing };

  const checkList = (list: string[] | undefined, field: string, role: string) => {
    const seen = new Set<string>();
    list?.forEach((name, i) => {
      if (seen.has(name)) {
        out.add(`${field}[${i}]`, `namespace "${name}" is listed twice`, "List each namespace once.");
        return;
      }
      seen.add(name);
      const problem = namespaceError(name, selection, inMesh, revisions);
      if (problem)
        out.add(`${field}[${i}]`, `${role}: ${problem}`, `Remove it from ${field}, or select it in ${base}.`);
    });
  };
  checkList(spec.dataPlane.canary, "spec.dataPlane.canary", "canary namespace");
  checkList(spec.dataPlane.order, "spec.dataPlane.order", "ordered namespace");

  const explicit = spec.dataPlane.waves?.explicit;
  if (explicit) {
    for (const [field, list] of [
      ["spec.dataPlane.canary", spec.dataPlane.canary],
      ["spec.dataPlane.order", spec.dataPlane.order],
    ] as const) {
      if (list?.length) {
        out.add(
          field,
          `${field.split(".").pop()} conflicts with spec.dataPlane.waves.explicit, which already fixes the order`,
          `Remove ${field} and put those namespaces in the first waves of spec.dataPlane.waves.explicit.`,
        );
      }
    }
    const waveOf = new Map<string, number>();
    explicit.forEach((wave, w) => {
      if (wave.length === 0) {
        out.add(
          `spec.dataPlane.waves.explicit[${w}]`,
          `wave ${w} is empty`,
          "Remove the empty wave or put namespaces in it.",
        );
      }
      wave.forEach((name, i) => {
        const field = `spec.dataPlane.waves.explicit[${w}][${i}]`;
        const first = waveOf.get(name);
        if (first !== undefined) {
          out.add(
            field,
            `namespace "${name}" is in wave ${first} and again in wave ${w}`,
            "Keep each namespace in exactly one wave.",
          );
          return;
        }
        waveOf.set(name, w);
        const problem = namespaceError(name, selection, inMesh, revisions);
        if (problem) out.add(field, `wave ${w}: ${problem}`, `Remove it from the wave, or select it in ${base}.`);
      });
    });
    const missing = selected ? [...selected].filter((n) => !waveOf.has(n)).sort() : [];
    if (missing.length > 0) {
      out.add(
        "spec.dataPlane.waves.explicit",
        `selected namespaces in no wave: ${missing.join(", ")}`,
        `Add them to a wave, or exclude them in ${base}.exclude.`,
      );
    }
  }

  if (!selected) return null;
  const ordered: string[] = [];
  const push = (n: string) => {
    if (selected.has(n) && !ordered.includes(n)) ordered.push(n);
  };
  if (explicit) explicit.flat().forEach(push);
  spec.dataPlane.canary?.forEach(push);
  spec.dataPlane.order?.forEach(push);
  [...selected].sort().forEach(push);
  return ordered;
}

function checkRevisionTag(
  spec: MeshUpgradeSpec,
  source: ResolvedRevision,
  target: ResolvedRevision,
  namespaces: string[] | null,
  snapshot: MeshSnapshot,
  out: Refusals,
): void {
  const tagSpec = spec.dataPlane.revisionTag;
  if (!tagSpec) return;
  const field = "spec.dataPlane.revisionTag.name";
  const tag = snapshot.tags.find((t) => t.name === tagSpec.name);
  if (!tag) {
    const names = snapshot.tags.map((t) => t.name);
    out.add(
      field,
      `revision tag "${tagSpec.name}" does not exist${didYouMean(tagSpec.name, names)}; existing tags: ${names.join(", ") || "none"}`,
      `Create it (istioctl tag set ${tagSpec.name} --revision ${source.revision}) and label namespaces istio.io/rev=${tagSpec.name}, or remove spec.dataPlane.revisionTag.`,
    );
    return;
  }
  if (tagSpec.name === target.revision) {
    out.add(
      field,
      `tag "${tagSpec.name}" has the target revision's name`,
      "Use a tag name that differs from every revision name.",
    );
  }
  if (tag.revision !== source.revision && tag.revision !== target.revision) {
    out.add(
      field,
      `revision tag "${tag.name}" points at ${tag.revision ?? "no revision"}, not at the source revision ${source.revision}`,
      `Name the tag your namespaces use for ${source.revision}, or set spec.from to ${tag.revision ?? "the tag's revision"}.`,
    );
    return;
  }
  if (tagSpec.moveInsteadOfRelabel && namespaces) {
    // moving a tag switches every namespace labelled with it at once (istioctl tag set --overwrite)
    const selected = new Set(namespaces);
    const dragged = tag.namespaces.filter((n) => !selected.has(n)).sort();
    if (dragged.length > 0) {
      out.add(
        "spec.dataPlane.revisionTag",
        `moving tag "${tag.name}" would also switch namespaces that are not selected: ${dragged.join(", ")}`,
        `Select them too, or set moveInsteadOfRelabel: false so meshlift relabels only the selected namespaces.`,
      );
    }
  }
}

function checkInstall(spec: MeshUpgradeSpec, ctx: ValidationContext, out: Refusals): void {
  const { mode, manifests, sail } = spec.install;
  if (manifests && mode !== "Manifests") {
    out.add(
      "spec.install.manifests",
      `manifests are set but install.mode is ${mode}`,
      "Set spec.install.mode: Manifests, or remove spec.install.manifests.",
    );
  }
  if (sail && mode !== "Sail") {
    out.add(
      "spec.install.sail",
      `sail is set but install.mode is ${mode}`,
      "Set spec.install.mode: Sail, or remove spec.install.sail.",
    );
  }
}

/** Manifests mode needs the manifests: files (CLI), a referenced ConfigMap, or one labelled for the target revision. */
function checkManifestsSource(
  spec: MeshUpgradeSpec,
  to: ResolvedRevision,
  ctx: ValidationContext,
  out: Refusals,
): void {
  const { mode, manifests } = spec.install;
  if (mode !== "Manifests" || manifests?.configMapRef || ctx.manifestsFromFiles) return;
  if (ctx.manifestRevisions?.includes(to.revision)) return;
  out.add(
    "spec.install.manifests.configMapRef",
    `install.mode is Manifests but no ConfigMap holds the manifests of revision ${to.revision}`,
    `Store \`istioctl manifest generate --set revision=${to.revision}\` output in a ConfigMap in the Istio namespace and reference it here, or label it ${MANIFESTS_REVISION_LABEL}=${to.revision} (the CLI can take files instead).`,
  );
}

/** A ConfigMap with this label holds the rendered manifests of that revision (Manifests mode without configMapRef). */
export const MANIFESTS_REVISION_LABEL = "meshlift.io/manifests-revision";

/** The revisions whose manifests these ConfigMaps hold by MANIFESTS_REVISION_LABEL, each once, sorted. */
export function manifestRevisionsOf(
  configmaps: readonly { metadata?: { labels?: Record<string, string> } }[],
): string[] {
  const labelled = configmaps
    .map((cm) => cm.metadata?.labels?.[MANIFESTS_REVISION_LABEL])
    .filter((r): r is string => !!r);
  return [...new Set(labelled)].sort();
}

function checkVerification(spec: MeshUpgradeSpec, out: Refusals): void {
  const prom = spec.verification.prometheus;
  if (!prom) return;
  const base = "spec.verification.prometheus";
  if (durationMs(prom.interval) <= 0) {
    out.add(`${base}.interval`, `interval "${prom.interval}" is zero`, 'Use a positive interval such as "1m".');
  }
  if (prom.failureLimit >= prom.count) {
    out.add(
      `${base}.failureLimit`,
      `failureLimit ${prom.failureLimit} is not below count ${prom.count}: the analysis could never fail`,
      `Lower failureLimit below ${prom.count}, or raise count.`,
    );
  }
  if (prom.inconclusiveLimit >= prom.count) {
    out.add(
      `${base}.inconclusiveLimit`,
      `inconclusiveLimit ${prom.inconclusiveLimit} is not below count ${prom.count}: a wave with no traffic at all would pass`,
      `Lower inconclusiveLimit below ${prom.count}, or raise count.`,
    );
  }
  for (const e of validateMetricChecks(prom.checks)) out.add(e.field, e.message, e.fix);
}

/** An action is new until status.acknowledgedAction holds the same action and nonce. */
function checkAction(spec: MeshUpgradeSpec, ctx: ValidationContext, out: Refusals): void {
  if (spec.action === undefined) {
    if (spec.actionNonce !== undefined) {
      out.add(
        "spec.actionNonce",
        "actionNonce is set without an action",
        "Set spec.action too, or remove spec.actionNonce.",
      );
    }
    return;
  }
  const stage = ctx.self?.stage;
  const ack = ctx.self?.acknowledgedAction;
  if (!stage || (ack && ack.action === spec.action && (ack.nonce ?? undefined) === spec.actionNonce)) return;
  const field = "spec.action";
  if (TERMINAL_STAGES.includes(stage)) {
    out.add(
      field,
      `${spec.action} asked, but the upgrade has finished (${stage})`,
      "Remove spec.action; start another upgrade with a new MeshUpgrade.",
    );
    return;
  }
  const rollingBack = stage === "RollingBack" || stage === "NewControlPlaneOffline";
  switch (spec.action) {
    case "Rollback":
      if (!ROLLBACK_STAGES.includes(stage) && !rollingBack) {
        out.add(
          field,
          `Rollback asked at stage ${stage}: rollback is possible only before OldControlPlaneOffline`,
          "Remove spec.action; the old revision is being removed, so upgrade forward to fix problems.",
        );
      }
      break;
    case "Resume":
      if (stage !== "Paused") {
        out.add(
          field,
          `Resume asked, but the upgrade is not paused (stage ${stage})`,
          "Remove spec.action, or use Pause first.",
        );
      }
      break;
    case "Proceed":
    case "Pause":
      if (rollingBack) {
        out.add(
          field,
          `${spec.action} asked while rolling back (stage ${stage}); a rollback runs to its end`,
          "Remove spec.action and wait for RolledBack, then create a new MeshUpgrade.",
        );
      }
      break;
  }
}

/** One active upgrade per mesh: any other MeshUpgrade not Completed/RolledBack/Failed holds the lock. */
function checkLock(ctx: ValidationContext, out: Refusals): void {
  const active = ctx.activeUpgrades.filter(
    (u) => u.name !== ctx.self?.name && !(u.stage !== null && (TERMINAL_STAGES as readonly string[]).includes(u.stage)),
  );
  if (active.length === 0) return;
  const [first, ...rest] = active;
  out.add(
    "metadata.name",
    `MeshUpgrade "${first.name}" is already active (stage ${first.stage ?? "Pending"})${rest.length ? ` as are ${rest.map((u) => `"${u.name}"`).join(", ")}` : ""}; one upgrade at a time per mesh`,
    `Wait until "${first.name}" completes (kubectl get mu ${first.name}), roll it back, or delete it; then create this one again.`,
  );
}

function checkClusters(spec: MeshUpgradeSpec, out: Refusals): void {
  const seen = new Set<string>();
  let local = 0;
  spec.clusters?.forEach((c, i) => {
    if (seen.has(c.name))
      out.add(`spec.clusters[${i}].name`, `cluster "${c.name}" is listed twice`, "Give every cluster its own name.");
    seen.add(c.name);
    if (!c.kubeconfigSecretRef && ++local > 1) {
      out.add(
        `spec.clusters[${i}].kubeconfigSecretRef`,
        `cluster "${c.name}" has no kubeconfigSecretRef, like another cluster: only the local cluster may omit it`,
        "Reference a Secret holding this cluster's kubeconfig.",
      );
    }
  });
  const steps = new Set<string>();
  spec.preUpgradeSteps?.forEach((s, i) => {
    if (steps.has(s.name))
      out.add(`spec.preUpgradeSteps[${i}].name`, `step "${s.name}" is listed twice`, "Give every step its own name.");
    steps.add(s.name);
    const known = Object.keys(ALL_CHECKS);
    s.checks?.forEach((name, j) => {
      if (!known.includes(name)) {
        out.add(
          `spec.preUpgradeSteps[${i}].checks[${j}]`,
          `"${name}" is not a meshlift precheck${didYouMean(name, known)}`,
          `Use one of: ${known.join(", ")}.`,
        );
      }
    });
  });
}

/**
 * Validates a MeshUpgrade spec (as users wrote it) against the mesh. Returns every error, each with
 * the field, what is wrong and how to fix it; or the spec with defaults applied and source, target
 * and namespaces resolved. Never throws on any input.
 */
export function validateUpgradeSpec(spec: unknown, ctx: ValidationContext): SpecValidation {
  const parsed = meshUpgradeSpecSchema.safeParse(spec);
  if (!parsed.success) return { ok: false, errors: shapeErrors(parsed.error, spec) };
  const s = parsed.data;
  const out = new Refusals();

  checkLock(ctx, out);
  checkAction(s, ctx, out);
  checkInstall(s, ctx, out);
  checkVerification(s, out);
  checkClusters(s, out);

  const toVersion = resolveTargetVersion(s, ctx, out);
  const to: ResolvedRevision | null = toVersion
    ? { version: formatVersion(toVersion), revision: s.to.revision ?? revisionName(toVersion) }
    : null;
  const from = resolveSource(s, to?.revision ?? s.to.revision ?? null, ctx.snapshot, out);
  let pathKind: ResolvedUpgradeSpec["pathKind"] | null = null;
  let namespaces: string[] | null = null;
  if (to) {
    checkManifestsSource(s, to, ctx, out);
    checkTargetRevision(to, from, s, ctx.snapshot, out);
    checkKubernetes(from, to, ctx, out);
    if (from) pathKind = checkPath(from, to, ctx, out);
  }
  if (from && to) {
    namespaces = checkNamespaces(s, from, to, ctx, out);
    checkRevisionTag(s, from, to, namespaces, ctx.snapshot, out);
  }

  if (out.errors.length > 0 || !from || !to || !pathKind) {
    return { ok: false, errors: out.errors };
  }
  return { ok: true, spec: { ...s, from, to, pathKind, namespaces } };
}
