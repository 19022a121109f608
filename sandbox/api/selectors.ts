// Label and field selectors as the API server parses them (k8s.io/apimachinery/pkg/labels, fields).
import { ApiError, type KObject, type LabelRequirement } from "./types.js";
import { LABEL_VALUE_MESSAGE, LABEL_VALUE_PATTERN, qualifiedNameErrors } from "./validate.js";

/** A parsed requirement; string selectors also take `gt`/`lt` (integer label values), which LabelSelector objects cannot. */
export interface SelectorRequirement extends Omit<LabelRequirement, "operator"> {
  operator: LabelRequirement["operator"] | "GreaterThan" | "LessThan";
}

// ---- lexer and parser: a port of k8s.io/apimachinery/pkg/labels/selector.go, so errors read as the server's ----

type Token =
  | "Error"
  | "EndOfString"
  | "ClosedPar"
  | "Comma"
  | "DoesNotExist"
  | "DoubleEquals"
  | "Equals"
  | "GreaterThan"
  | "Identifier"
  | "In"
  | "LessThan"
  | "NotEquals"
  | "NotIn"
  | "OpenPar";

const STRING_TO_TOKEN: Record<string, Token> = {
  ")": "ClosedPar",
  ",": "Comma",
  "!": "DoesNotExist",
  "==": "DoubleEquals",
  "=": "Equals",
  ">": "GreaterThan",
  in: "In",
  "<": "LessThan",
  "!=": "NotEquals",
  notin: "NotIn",
  "(": "OpenPar",
};
const isWhitespace = (ch: string) => ch === " " || ch === "\t" || ch === "\r" || ch === "\n";
const isSpecialSymbol = (ch: string) => "=!(),><".includes(ch);

function lex(selector: string): { tok: Token; lit: string }[] {
  const items: { tok: Token; lit: string }[] = [];
  let pos = 0;
  for (;;) {
    while (pos < selector.length && isWhitespace(selector[pos])) pos++;
    if (pos >= selector.length) {
      items.push({ tok: "EndOfString", lit: "" });
      return items;
    }
    if (isSpecialSymbol(selector[pos])) {
      // the longest run of symbols that is still a known operator ("!=" before "!")
      let buffer = "";
      let last: { tok: Token; lit: string } | undefined;
      while (pos < selector.length && isSpecialSymbol(selector[pos])) {
        buffer += selector[pos];
        if (STRING_TO_TOKEN[buffer]) last = { tok: STRING_TO_TOKEN[buffer], lit: buffer };
        else if (last) break;
        pos++;
      }
      items.push(last ?? { tok: "Error", lit: `error expected: keyword found '${buffer}'` });
      continue;
    }
    let word = "";
    while (pos < selector.length && !isWhitespace(selector[pos]) && !isSpecialSymbol(selector[pos]))
      word += selector[pos++];
    items.push(
      word === "in" || word === "notin" ? { tok: STRING_TO_TOKEN[word], lit: word } : { tok: "Identifier", lit: word },
    );
  }
}

const BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt";

class SelectorParser {
  private position = 0;
  constructor(private readonly items: { tok: Token; lit: string }[]) {}

  /** In a values context the words `in` and `notin` are plain identifiers. */
  private lookahead(values: boolean): [Token, string] {
    const { tok, lit } = this.items[this.position];
    return [values && (tok === "In" || tok === "NotIn") ? "Identifier" : tok, lit];
  }
  private consume(values: boolean): [Token, string] {
    const r = this.lookahead(values);
    this.position++;
    return r;
  }

  parse(): SelectorRequirement[] {
    const reqs: SelectorRequirement[] = [];
    for (;;) {
      const [tok, lit] = this.lookahead(true);
      if (tok === "EndOfString") return reqs;
      if (tok !== "Identifier" && tok !== "DoesNotExist")
        throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        throw new Error(`unable to parse requirement: ${(e as Error).message}`, { cause: e });
      }
      const [t, l] = this.consume(true);
      if (t === "EndOfString") return reqs;
      if (t !== "Comma") throw new Error(`found '${l}', expected: ',' or 'end of string'`);
      const [t2, l2] = this.lookahead(true);
      if (t2 !== "Identifier" && t2 !== "DoesNotExist")
        throw new Error(`found '${l2}', expected: identifier after ','`);
    }
  }

  private requirement(): SelectorRequirement {
    let [tok, key] = this.consume(true);
    let operator: SelectorRequirement["operator"] | undefined;
    if (tok === "DoesNotExist") {
      operator = "DoesNotExist";
      [tok, key] = this.consume(true);
    }
    if (tok !== "Identifier") throw new Error(`found '${key}', expected: identifier`);
    const keyErrors = qualifiedNameErrors(key);
    if (keyErrors.length) throw new Error(`<nil>: Invalid value: ${JSON.stringify(key)}: ${keyErrors.join("; ")}`);
    // `!key` ends the requirement whatever follows: the caller then wants ',' or the end
    if (operator === "DoesNotExist") return { key, operator, values: [] };
    const [next] = this.lookahead(true);
    if (next === "EndOfString" || next === "Comma") return { key, operator: "Exists", values: [] };
    const [opTok, opLit] = this.consume(false);
    const op = (
      {
        In: "In",
        NotIn: "NotIn",
        Equals: "Equals",
        DoubleEquals: "Equals",
        NotEquals: "NotEquals",
        GreaterThan: "GreaterThan",
        LessThan: "LessThan",
      } as const
    )[opTok as string];
    if (!op) throw new Error(`found '${opLit}', expected: ${BINARY_OPERATORS}`);
    const values = op === "In" || op === "NotIn" ? this.valueSet() : this.exactValue();
    return { key, operator: op, values: newRequirementValues(key, op, values) };
  }

  private valueSet(): string[] {
    const [open, openLit] = this.consume(true);
    if (open !== "OpenPar") throw new Error(`found '${openLit}' expected: '('`);
    const [tok, lit] = this.lookahead(true);
    if (tok === "ClosedPar") {
      this.consume(true);
      return [""];
    }
    if (tok !== "Identifier" && tok !== "Comma") throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
    const s = this.identifierList();
    if (this.consume(true)[0] !== "ClosedPar") throw new Error(`found '${lit}', expected: ')'`);
    return s;
  }

  private identifierList(): string[] {
    const s = new Set<string>();
    for (;;) {
      const [tok, lit] = this.consume(true);
      if (tok === "Identifier") {
        s.add(lit);
        const [tok2, lit2] = this.lookahead(true);
        if (tok2 === "Comma") continue;
        if (tok2 === "ClosedPar") return [...s].sort();
        throw new Error(`found '${lit2}', expected: ',' or ')'`);
      }
      if (tok !== "Comma") throw new Error(`found '${lit}', expected: ',', or identifier`);
      // "(,", ",)" and ",," stand for empty values
      if (s.size === 0) s.add("");
      const [tok2] = this.lookahead(true);
      if (tok2 === "ClosedPar") {
        s.add("");
        return [...s].sort();
      }
      if (tok2 === "Comma") {
        this.consume(true);
        s.add("");
      }
    }
  }

  private exactValue(): string[] {
    const [tok] = this.lookahead(true);
    if (tok === "EndOfString" || tok === "Comma") return [""];
    const [t, lit] = this.consume(true);
    if (t === "Identifier") return [lit];
    throw new Error(`found '${lit}', expected: identifier`);
  }
}

/** NewRequirement's checks on the values (field paths as the server prints them: `values[0][key]`). */
function newRequirementValues(key: string, op: SelectorRequirement["operator"], values: string[]): string[] {
  const errs: string[] = [];
  values.forEach((v, i) => {
    if ((op === "GreaterThan" || op === "LessThan") && !/^[+-]?\d+$/.test(v))
      errs.push(
        `values[${i}]: Invalid value: ${JSON.stringify(v)}: for 'Gt', 'Lt' operators, the value must be an integer`,
      );
  });
  values.forEach((v, i) => {
    if (v.length > 63)
      errs.push(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: must be no more than 63 characters`);
    else if (!LABEL_VALUE_PATTERN.test(v))
      errs.push(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${LABEL_VALUE_MESSAGE}`);
  });
  // an aggregate of several errors prints as a list in brackets
  if (errs.length === 1) throw new Error(errs[0]);
  if (errs.length > 1) throw new Error(`[${errs.join(", ")}]`);
  return values;
}

/** Parses a label selector string (`a=b,c!=d,e in (f,g),h notin (i),j,!k,n>1`) as the API server does; 400 on bad syntax. */
export function parseLabelSelector(selector: string | undefined | null): SelectorRequirement[] {
  if (!selector) return [];
  try {
    return new SelectorParser(lex(selector)).parse();
  } catch (e) {
    throw new ApiError(400, "BadRequest", (e as Error).message);
  }
}

export function matchRequirements(
  reqs: readonly SelectorRequirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.operator) {
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      case "Equals":
      case "In":
        if (!has || !r.values.includes(v)) return false;
        break;
      // != and notin also match objects without the key (labels.md)
      case "NotEquals":
      case "NotIn":
        if (has && r.values.includes(v)) return false;
        break;
      // gt/lt compare the label as an integer; a missing or non-integer label does not match
      case "GreaterThan":
      case "LessThan": {
        if (!has || !/^[+-]?\d+$/.test(v)) return false;
        const [label, bound] = [Number(v), Number(r.values[0])];
        if (r.operator === "GreaterThan" ? !(label > bound) : !(label < bound)) return false;
        break;
      }
    }
  }
  return true;
}

/** A metav1.LabelSelector object (matchLabels + matchExpressions) as requirements. */
export function requirementsFromLabelSelector(
  sel:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined
    | null,
): LabelRequirement[] {
  if (!sel) return [];
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, operator: "Equals", values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator as LabelRequirement["operator"];
    reqs.push({ key: e.key, operator: op, values: e.values ?? [] });
  }
  return reqs;
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Field selector fields a real server accepts per resource (beyond metadata.name/namespace). */
const EXTRA_FIELDS: Record<string, string[]> = {
  "/pods": [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  "/events": [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  "/namespaces": ["status.phase"],
  "/nodes": ["spec.unschedulable"],
  "/secrets": ["type"],
  "apps/replicasets": ["status.replicas"],
  "batch/jobs": ["status.successful"],
};

export function parseFieldSelector(
  selector: string | undefined | null,
  key: string,
  opts: { custom?: boolean } = {},
): FieldRequirement[] {
  if (!selector) return [];
  const allowed = new Set(["metadata.name", "metadata.namespace", ...(EXTRA_FIELDS[key] ?? [])]);
  const out: FieldRequirement[] = [];
  for (const term of selector
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)) {
    const m = term.match(/^([^=!]+)(==|=|!=)(.*)$/);
    if (!m) throw new ApiError(400, "BadRequest", `invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1].trim();
    if (!allowed.has(field))
      // kinds with a registered field-label conversion (and custom resources) refuse in their own words; the rest
      // fall through to runtime.DefaultMetaV1FieldSelectorConversion
      throw new ApiError(
        400,
        "BadRequest",
        EXTRA_FIELDS[key] || opts.custom
          ? `field label not supported: ${field}`
          : `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
      );
    out.push({ field, op: m[2] === "!=" ? "!=" : "=", value: m[3].trim() });
  }
  return out;
}

function fieldValue(obj: KObject, path: string): string {
  let cur: any = obj;
  for (const p of path.split(".")) cur = cur?.[p];
  if (cur === undefined || cur === null) return "";
  return String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: KObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}

export interface Filter {
  labels: SelectorRequirement[];
  fields: FieldRequirement[];
}

export function compileFilter(
  key: string,
  labelSelector?: string | null,
  fieldSelector?: string | null,
  opts: { custom?: boolean } = {},
): Filter {
  return { labels: parseLabelSelector(labelSelector), fields: parseFieldSelector(fieldSelector, key, opts) };
}

export function matchFilter(f: Filter, obj: KObject): boolean {
  return matchRequirements(f.labels, obj.metadata.labels) && matchFields(f.fields, obj);
}
