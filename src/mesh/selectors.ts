// Kubernetes label selectors (metav1.LabelSelector), evaluated exactly as the API server does for
// admission webhooks: an absent or empty selector matches everything; NotIn matches an absent key.
import type { LabelSelectorLike, LabelSelectorRequirementLike, Labels } from "./kube-types.js";

function requirementMatches(req: LabelSelectorRequirementLike, labels: Labels): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case "In":
      return has && (req.values ?? []).includes(value);
    case "NotIn":
      return !has || !(req.values ?? []).includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    default:
      // an unknown operator makes the selector invalid; the API server would have refused it
      return false;
  }
}

export function selectorMatches(selector: LabelSelectorLike | undefined | null, labels: Labels): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    if (!requirementMatches(req, labels)) return false;
  }
  return true;
}

/** Keys a selector looks at: evaluation results depend on nothing else. */
export function selectorKeys(selector: LabelSelectorLike | undefined | null): string[] {
  if (!selector) return [];
  return [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((r) => r.key)];
}

/** Per-key constraint: the set of allowed values (null = any value), whether the key must exist / must be absent. */
interface KeyConstraint {
  allowed: Set<string> | null;
  excluded: Set<string>;
  mustExist: boolean;
  mustBeAbsent: boolean;
}

function constraintsOf(selectors: (LabelSelectorLike | undefined | null)[]): Map<string, KeyConstraint> | null {
  const byKey = new Map<string, KeyConstraint>();
  const get = (key: string) => {
    let c = byKey.get(key);
    if (!c) byKey.set(key, (c = { allowed: null, excluded: new Set(), mustExist: false, mustBeAbsent: false }));
    return c;
  };
  const allow = (c: KeyConstraint, values: string[]) => {
    const next = new Set(values);
    c.allowed = c.allowed ? new Set([...c.allowed].filter((v) => next.has(v))) : next;
    c.mustExist = true;
  };
  for (const selector of selectors) {
    if (!selector) continue;
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) allow(get(key), [value]);
    for (const req of selector.matchExpressions ?? []) {
      const c = get(req.key);
      if (req.operator === "In") allow(c, req.values ?? []);
      else if (req.operator === "NotIn") for (const v of req.values ?? []) c.excluded.add(v);
      else if (req.operator === "Exists") c.mustExist = true;
      else if (req.operator === "DoesNotExist") c.mustBeAbsent = true;
      else return null;
    }
  }
  return byKey;
}

/**
 * Whether some label set satisfies every selector at once. Selectors are conjunctions of per-key
 * constraints, so this is exact: each key must admit a value (or absence) that all selectors accept.
 */
export function selectorsIntersect(...selectors: (LabelSelectorLike | undefined | null)[]): boolean {
  const byKey = constraintsOf(selectors);
  if (!byKey) return false;
  for (const c of byKey.values()) {
    if (c.mustExist && c.mustBeAbsent) return false;
    if (c.allowed && [...c.allowed].every((v) => c.excluded.has(v))) return false;
  }
  return true;
}
