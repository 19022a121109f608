// `meshlift upgrade start` flags → a MeshUpgrade spec, as users would write it in YAML. Pure: the flag
// syntax is checked here (comma lists, waves, label selectors, whole numbers); what the values mean for
// the mesh is the validator's job (src/upgrade/api/validate.ts), whose errors are mapped back to flags.
import type { LabelSelector, MeshUpgradeSpecInput } from "../../upgrade/api/schema.js";
import type { SpecError } from "../../upgrade/api/validate.js";

export interface StartFlags {
  to: string;
  revision?: string;
  from?: string;
  install?: "Adopt" | "Manifests" | "Sail";
  filename?: string[];
  manifestsConfigmap?: string;
  namespaces?: string;
  selector?: string;
  exclude?: string;
  waves?: string;
  waveSize?: string;
  canary?: string;
  maxConcurrent?: string;
  manual?: boolean;
  tag?: string;
  gateways?: "InPlace" | "Canary" | "none";
  approval?: "None" | "BeforeOffline" | "PerWave";
  /** seconds or a duration ("30s", "2m") the old revision must have zero proxies before removal */
  offlineGrace?: string;
  /** how long a wave's workloads must stay Ready before the wave passes its health gate */
  minReady?: string;
  /** Prometheus base URL: each wave's built-in metric checks are analysed there */
  prometheus?: string;
  onFailure?: "Pause" | "Rollback";
}

export interface BuiltSpec {
  spec: MeshUpgradeSpecInput;
  /** flag syntax errors; the spec is not worth validating when there are any */
  errors: SpecError[];
}

/** "a, b,c" → ["a", "b", "c"]; an empty item is reported, not dropped (a typo would silently widen a list). */
export function parseList(text: string, flag: string, errors: SpecError[]): string[] {
  const items = text.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) {
    errors.push({
      field: flag,
      message: `"${text}" has an empty item`,
      fix: `Give ${flag} a comma-separated list without empty items, e.g. ${flag} bookinfo,payments.`,
    });
    return items.filter((s) => s !== "");
  }
  return items;
}

/** --waves "a,b;c": waves separated by ';', namespaces within a wave by ','. */
export function parseWaves(text: string, errors: SpecError[]): string[][] {
  const waves = text.split(";").map((w) => w.split(",").map((s) => s.trim()));
  waves.forEach((wave, i) => {
    if (wave.every((s) => s === "")) {
      errors.push({
        field: "--waves",
        message: `wave ${i + 1} of "${text}" is empty`,
        fix: 'Separate waves with ";" and namespaces in a wave with ",", e.g. --waves "bookinfo,orders;payments".',
      });
    } else if (wave.some((s) => s === "")) {
      errors.push({
        field: "--waves",
        message: `wave ${i + 1} of "${text}" has an empty namespace name`,
        fix: 'Remove the stray ",": e.g. --waves "bookinfo,orders;payments".',
      });
    }
  });
  return waves.map((w) => w.filter((s) => s !== ""));
}

/** A whole number flag; the range (e.g. ≥ 1) is the schema's to check, so its message names the limit. */
export function parseWholeNumber(text: string, flag: string, errors: SpecError[]): number | undefined {
  if (!/^\s*-?\d+\s*$/.test(text)) {
    errors.push({ field: flag, message: `"${text}" is not a whole number`, fix: `Give ${flag} a number such as 5.` });
    return undefined;
  }
  return Number(text);
}

const SELECTOR_KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

/** Splits at commas outside parentheses: "a in (x,y),b" → ["a in (x,y)", "b"]. */
function selectorTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(current.trim());
      current = "";
    } else current += ch;
  }
  terms.push(current.trim());
  return terms;
}

/**
 * A label selector in kubectl's `-l` syntax (apimachinery labels.Parse): `k=v`, `k==v`, `k!=v`,
 * `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist), joined by commas (AND).
 */
export function parseSelector(text: string, errors: SpecError[], flag = "--selector"): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: NonNullable<LabelSelector["matchExpressions"]> = [];
  const bad = (term: string, why: string) =>
    errors.push({
      field: flag,
      message: `"${term}" in "${text}" ${why}`,
      fix: `Use kubectl's selector syntax: ${flag} team=payments,tier!=batch or ${flag} "env in (prod,staging)".`,
    });
  for (const term of selectorTerms(text)) {
    if (term === "") {
      bad(term, "is an empty requirement");
      continue;
    }
    const set = /^(\S+)\s+(in|notin)\s+\(([^()]*)\)$/.exec(term);
    const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/.exec(term);
    const exists = /^(!?)\s*([^=!\s(),]+)$/.exec(term);
    let key: string;
    if (set) {
      key = set[1];
      const values = set[3].split(",").map((v) => v.trim());
      if (values.some((v) => v === "")) {
        bad(term, "has an empty value in its list");
        continue;
      }
      matchExpressions.push({ key, operator: set[2] === "in" ? "In" : "NotIn", values });
    } else if (cmp) {
      key = cmp[1];
      if (cmp[2] === "!=") matchExpressions.push({ key, operator: "NotIn", values: [cmp[3]] });
      else if (key in matchLabels && matchLabels[key] !== cmp[3]) {
        bad(term, `asks ${key} to equal both "${matchLabels[key]}" and "${cmp[3]}": nothing could match`);
        continue;
      } else matchLabels[key] = cmp[3];
    } else if (exists) {
      key = exists[2];
      matchExpressions.push({ key, operator: exists[1] ? "DoesNotExist" : "Exists" });
    } else {
      bad(term, "is not a label requirement");
      continue;
    }
    if (!SELECTOR_KEY.test(key)) bad(term, `has an invalid label key "${key}"`);
  }
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}

/** --manifests-configmap NAMESPACE/NAME[:KEY] */
function parseConfigMapRef(text: string, errors: SpecError[]) {
  const m = /^([^/:\s]+)\/([^/:\s]+)(?::(\S+))?$/.exec(text.trim());
  if (!m) {
    errors.push({
      field: "--manifests-configmap",
      message: `"${text}" is not NAMESPACE/NAME[:KEY]`,
      fix: "Name the ConfigMap holding the rendered manifests, e.g. --manifests-configmap istio-system/istio-1-28-10.",
    });
    return undefined;
  }
  return { namespace: m[1], name: m[2], ...(m[3] ? { key: m[3] } : {}) };
}

/** Seconds from "90", "90s", "1m30s". */
function parseSeconds(text: string, flag: string, errors: SpecError[]): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== t) {
    errors.push({ field: flag, message: `"${text}" is not a duration`, fix: `Give ${flag} e.g. 60s, 2m or 90.` });
    return undefined;
  }
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 } as const;
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0));
}

/** Builds the spec from the flags. Every syntax problem is collected, so the user sees them all at once. */
export function specFromFlags(flags: StartFlags): BuiltSpec {
  const errors: SpecError[] = [];
  const files = flags.filename ?? [];
  const mode = flags.install ?? (files.length > 0 || flags.manifestsConfigmap ? "Manifests" : undefined);
  if ((files.length > 0 || flags.manifestsConfigmap) && mode !== "Manifests") {
    errors.push({
      field: files.length > 0 ? "-f" : "--manifests-configmap",
      message: `manifests are given but --install is ${mode}`,
      fix: "Use --install Manifests with manifests, or drop them.",
    });
  }
  if (files.length > 0 && flags.manifestsConfigmap) {
    errors.push({
      field: "-f",
      message: "both -f files and --manifests-configmap are given",
      fix: "Give the manifests once: as files (the CLI runs the upgrade) or as a ConfigMap (the operator runs it).",
    });
  }
  const configMapRef = flags.manifestsConfigmap ? parseConfigMapRef(flags.manifestsConfigmap, errors) : undefined;

  const namespaces: NonNullable<NonNullable<MeshUpgradeSpecInput["dataPlane"]>["namespaces"]> = {};
  if (flags.namespaces !== undefined) namespaces.names = parseList(flags.namespaces, "--namespaces", errors);
  if (flags.selector !== undefined) namespaces.selector = parseSelector(flags.selector, errors);
  if (flags.exclude !== undefined) namespaces.exclude = parseList(flags.exclude, "--exclude", errors);

  const dataPlane: NonNullable<MeshUpgradeSpecInput["dataPlane"]> = {};
  if (Object.keys(namespaces).length > 0) dataPlane.namespaces = namespaces;
  if (flags.canary !== undefined) dataPlane.canary = parseList(flags.canary, "--canary", errors);
  if (flags.waves !== undefined || flags.waveSize !== undefined) {
    dataPlane.waves = {
      ...(flags.waves !== undefined ? { explicit: parseWaves(flags.waves, errors) } : {}),
      ...(flags.waveSize !== undefined ? { size: parseWholeNumber(flags.waveSize, "--wave-size", errors) } : {}),
    };
  }
  if (flags.maxConcurrent !== undefined)
    dataPlane.maxConcurrent = parseWholeNumber(flags.maxConcurrent, "--max-concurrent", errors);
  if (flags.manual) dataPlane.restart = "Manual";
  if (flags.tag !== undefined) dataPlane.revisionTag = { name: flags.tag };
  if (flags.gateways === "none") dataPlane.gateways = { include: false };
  else if (flags.gateways !== undefined) dataPlane.gateways = { strategy: flags.gateways };

  const spec: MeshUpgradeSpecInput = {
    to: { version: flags.to, ...(flags.revision !== undefined ? { revision: flags.revision } : {}) },
    ...(flags.from !== undefined ? { from: flags.from } : {}),
    ...(mode ? { install: { mode, ...(configMapRef ? { manifests: { configMapRef } } : {}) } } : {}),
    ...(Object.keys(dataPlane).length > 0 ? { dataPlane } : {}),
    ...(flags.approval !== undefined ? { approval: { mode: flags.approval } } : {}),
  };
  if (flags.offlineGrace !== undefined) {
    const graceSeconds = parseSeconds(flags.offlineGrace, "--offline-grace", errors);
    if (graceSeconds !== undefined) spec.decommission = { graceSeconds };
  }
  const verification: NonNullable<MeshUpgradeSpecInput["verification"]> = {};
  if (flags.minReady !== undefined) {
    const minReadySeconds = parseSeconds(flags.minReady, "--min-ready", errors);
    if (minReadySeconds !== undefined) verification.healthGate = { minReadySeconds };
  }
  if (flags.prometheus !== undefined) verification.prometheus = { url: flags.prometheus };
  if (flags.onFailure !== undefined) verification.onFailure = flags.onFailure;
  if (Object.keys(verification).length > 0) spec.verification = verification;
  return { spec, errors };
}

/** The flag that set a spec field, longest prefix first, so errors speak the user's language. */
const FLAG_OF_FIELD: [string, string][] = [
  ["spec.to.version", "--to"],
  ["spec.to.revision", "--revision"],
  ["spec.from", "--from"],
  ["spec.install.manifests", "--manifests-configmap"],
  ["spec.install.mode", "--install"],
  ["spec.dataPlane.namespaces.names", "--namespaces"],
  ["spec.dataPlane.namespaces.selector", "--selector"],
  ["spec.dataPlane.namespaces.exclude", "--exclude"],
  ["spec.dataPlane.namespaces", "--namespaces/--selector"],
  ["spec.dataPlane.waves.explicit", "--waves"],
  ["spec.dataPlane.waves.size", "--wave-size"],
  ["spec.dataPlane.waves", "--waves/--wave-size"],
  ["spec.dataPlane.canary", "--canary"],
  ["spec.dataPlane.maxConcurrent", "--max-concurrent"],
  ["spec.dataPlane.restart", "--manual"],
  ["spec.dataPlane.revisionTag", "--tag"],
  ["spec.dataPlane.gateways", "--gateways"],
  ["spec.approval", "--approval"],
  ["spec.decommission.graceSeconds", "--offline-grace"],
  ["spec.verification.healthGate", "--min-ready"],
  ["spec.verification.prometheus", "--prometheus"],
  ["spec.verification.onFailure", "--on-failure"],
];

export function flagOf(field: string): string | null {
  const hit = FLAG_OF_FIELD.filter(
    ([prefix]) => field === prefix || field.startsWith(`${prefix}.`) || field.startsWith(`${prefix}[`),
  ).sort((a, b) => b[0].length - a[0].length)[0];
  return hit ? hit[1] : null;
}

/** "--waves (spec.dataPlane.waves.explicit[1]): wave 1 is empty — fix: …" */
export function formatSpecError(e: SpecError): string {
  const flag = e.field.startsWith("spec") ? flagOf(e.field) : null;
  return `${flag ? `${flag} (${e.field})` : e.field}: ${e.message} — fix: ${e.fix}`;
}
