// Turns YAML and zod failures into messages that say what was wrong, where (file:line:column and a
// field path like `namespaces[3].workloads[1].replicas`) and how to fix it.
import { closest, distance } from "fastest-levenshtein";
import { isMap, isNode, isScalar, type Document, type LineCounter } from "yaml";
import type { core, ZodType } from "zod";

export interface ScenarioIssue {
  /** field path, e.g. `namespaces[3].workloads[1].replicas` ("" for the whole file) */
  path: string;
  /** 1-based position in the scenario file, when the field exists there */
  line?: number;
  column?: number;
  message: string;
}

/** A scenario file that cannot be used; `issues` lists every problem found, in file order. */
export class ScenarioError extends Error {
  constructor(
    public readonly source: string,
    public readonly issues: ScenarioIssue[],
  ) {
    super(
      `invalid scenario ${source}:\n` +
        issues
          .map(
            (i) =>
              `  ${source}${i.line ? `:${i.line}:${i.column ?? 1}` : ""}: ${i.path ? `${i.path}: ` : ""}${i.message}`,
          )
          .join("\n"),
    );
    this.name = "ScenarioError";
  }
}

type PathKey = PropertyKey;

/** `namespaces[3].labels["istio.io/rev"]` */
export function formatPath(path: readonly PathKey[]): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else if (typeof k === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(String(k))}]`;
  }
  return out;
}

/** Where a field sits in the YAML source: the key when the value is missing, else the value. */
function locate(
  doc: Document | undefined,
  lines: LineCounter | undefined,
  path: readonly PathKey[],
  key?: string,
): { line: number; column: number } | undefined {
  if (!doc || !lines) return undefined;
  let node: unknown = doc.contents;
  let range: [number, number, number] | undefined = isNode(node) ? (node.range ?? undefined) : undefined;
  const steps = key === undefined ? path : [...path, key];
  for (const step of steps) {
    if (!isNode(node)) break;
    const coll = node as any;
    if (!Array.isArray(coll.items)) break;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === step);
      if (!pair) break;
      // an unknown field is reported at its key, so the column points at the misspelling
      const keyRange = isNode(pair.key) ? pair.key.range : undefined;
      if (step === key && keyRange) {
        range = keyRange;
        break;
      }
      next = pair.value ?? pair.key;
    } else {
      next = typeof step === "number" ? coll.items[step] : undefined;
    }
    if (!isNode(next)) break;
    node = next;
    if (next.range) range = next.range;
  }
  if (!range) return undefined;
  const { line, col } = lines.linePos(range[0]);
  return { line, column: col };
}

/** The object keys the schema accepts at `path` (for "did you mean"), found by walking zod 4 definitions. */
function knownKeysAt(schema: ZodType, path: readonly PathKey[]): string[] {
  const candidates = (s: core.$ZodType | undefined, rest: readonly PathKey[]): string[] => {
    if (!s) return [];
    const def = (s as any)._zod.def;
    switch (def.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "readonly":
      case "catch":
      case "nonoptional":
        return candidates(def.innerType, rest);
      case "pipe":
        return candidates(def.in, rest);
      case "lazy":
        return candidates(def.getter(), rest);
      case "union":
        return [...new Set(def.options.flatMap((o: core.$ZodType) => candidates(o, rest)))] as string[];
      case "array":
        return rest.length ? candidates(def.element, rest.slice(1)) : [];
      case "record":
        return rest.length ? candidates(def.valueType, rest.slice(1)) : [];
      case "object":
        if (!rest.length) return Object.keys(def.shape);
        return candidates(def.shape[rest[0] as string], rest.slice(1));
      default:
        return [];
    }
  };
  return candidates(schema as unknown as core.$ZodType, path);
}

function didYouMean(word: string, options: readonly string[]): string | undefined {
  if (!options.length) return undefined;
  const best = closest(word, options as string[]);
  // close enough to be a typo: at most a third of the word changed (plural/singular, swapped letters)
  return distance(word.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(word.length / 3))
    ? best
    : undefined;
}

function describe(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "object") return "a mapping";
  if (typeof input === "string")
    return `the string ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + "…" : input)}`;
  if (input === undefined) return "nothing";
  return `${typeof input} ${String(input)}`;
}

const typeNames: Record<string, string> = {
  object: "a mapping (key: value)",
  array: "a list",
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
};

/** zod's own English messages; anything else was written by the schema's author and is kept as is. */
const ZOD_DEFAULT_MESSAGE =
  /^(Invalid (input|option|string|number|key|element|value)|Too (small|big)|Unrecognized key)/;

function messageFor(issue: core.$ZodIssue, schema: ZodType): string[] {
  if (issue.code !== "unrecognized_keys" && !ZOD_DEFAULT_MESSAGE.test(issue.message)) {
    const guess =
      issue.code === "invalid_value" && typeof issue.input === "string"
        ? didYouMean(issue.input, issue.values.map(String))
        : undefined;
    return [guess ? `${issue.message} — did you mean "${guess}"?` : issue.message];
  }
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeysAt(schema, issue.path);
      return issue.keys.map((k) => {
        const guess = didYouMean(k, known);
        return guess
          ? `unknown field "${k}" — did you mean "${guess}"?`
          : `unknown field "${k}" — allowed fields here: ${known.join(", ")}`;
      });
    }
    case "invalid_type": {
      const want = typeNames[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return [`is required (${want})`];
      const quoteHint =
        issue.expected === "string" && (typeof issue.input === "boolean" || typeof issue.input === "number")
          ? ` — quote it: "${String(issue.input)}" (label and annotation values are strings)`
          : "";
      return [`expected ${want}, got ${describe(issue.input)}${quoteHint}`];
    }
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "array") return [`needs at least ${min} item${min === 1 ? "" : "s"}`];
      if (issue.origin === "string") return [`must not be empty`];
      return [`must be ${issue.inclusive ? "≥" : ">"} ${min}, got ${String(issue.input)}`];
    }
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "string") return [`is longer than ${max} characters`];
      if (issue.origin === "array") return [`has more than ${max} items`];
      return [`must be ${issue.inclusive ? "≤" : "<"} ${max}, got ${String(issue.input)}`];
    }
    case "invalid_value": {
      const values = issue.values.map((v) => String(v));
      const guess = typeof issue.input === "string" ? didYouMean(issue.input, values) : undefined;
      return [
        `${describe(issue.input)} is not allowed; use one of ${values.map((v) => JSON.stringify(v)).join(", ")}` +
          (guess ? ` — did you mean "${guess}"?` : ""),
      ];
    }
    default:
      return [issue.message];
  }
}

/** Converts zod issues to scenario issues with positions; unknown fields are named one by one. */
export function scenarioIssues(
  zodIssues: readonly core.$ZodIssue[],
  schema: ZodType,
  doc?: Document,
  lines?: LineCounter,
): ScenarioIssue[] {
  const out: ScenarioIssue[] = [];
  const add = (issue: core.$ZodIssue): void => {
    if (issue.code === "invalid_union") {
      // report the alternative that got furthest (fewest issues) instead of a wall of text
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      if (best?.length) {
        for (const sub of best) add({ ...sub, path: [...issue.path, ...sub.path] } as core.$ZodIssue);
        return;
      }
    }
    const messages = messageFor(issue, schema);
    if (issue.code === "unrecognized_keys") {
      issue.keys.forEach((k, i) =>
        out.push({ path: formatPath(issue.path), ...locate(doc, lines, issue.path, k), message: messages[i] }),
      );
      return;
    }
    for (const m of messages) out.push({ path: formatPath(issue.path), ...locate(doc, lines, issue.path), message: m });
  };
  zodIssues.forEach(add);
  return out.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
}
