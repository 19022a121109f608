// The MeshUpgrade CustomResourceDefinition, generated from the zod schema (schema.ts) so the two never
// drift. z.toJSONSchema() gives JSON Schema 2020-12; Kubernetes wants a *structural* OpenAPI v3
// schema (apiextensions.k8s.io/v1, "Specifying a structural schema"): a type on every node, no $ref,
// nullable instead of type unions, no additionalProperties:false, RE2 patterns. toStructural() converts.
import { z } from "zod";
import { stringify } from "yaml";
import { MESHUPGRADE, meshUpgradeSpecSchema, meshUpgradeStatusSchema } from "./schema.js";

export type OpenApiSchema = { [keyword: string]: unknown };

/** A JSON Schema construct that has no structural OpenAPI form; change the zod schema, not the converter. */
export class StructuralSchemaError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${path || "<root>"}: ${message}`);
    this.name = "StructuralSchemaError";
  }
}

/** Keywords copied unchanged; anything else zod emits must be handled below or is refused. */
const COPIED = new Set([
  "type",
  "description",
  "default",
  "enum",
  "format",
  "pattern",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "required",
  "x-kubernetes-validations",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
]);

/** Keywords dropped: JSON Schema bookkeeping, and constraints Kubernetes gets another way. */
const DROPPED = new Set(["$schema", "$id", "id", "propertyNames", "title", "examples"]);

const JS_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

function isPlainObject(v: unknown): v is OpenApiSchema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A schema that accepts anything: `{}` or `{ description }`. */
function acceptsAnything(s: OpenApiSchema): boolean {
  return Object.keys(s).every((k) => k === "description" || k === "default");
}

/**
 * Converts one JSON Schema node (as z.toJSONSchema emits it) into a structural OpenAPI v3 node.
 * Throws StructuralSchemaError, naming the path, on constructs with no structural form.
 */
export function toStructural(schema: unknown, path = ""): OpenApiSchema {
  if (!isPlainObject(schema)) throw new StructuralSchemaError("expected a schema object", path);
  let s: OpenApiSchema = { ...schema };
  let nullable = false;

  if (s.$ref !== undefined) throw new StructuralSchemaError("$ref is not allowed; inline the schema", path);
  // zod's .nullable() of an object: anyOf [X, {type: null}] → X with nullable: true
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = s[key];
    if (!Array.isArray(branches)) continue;
    const rest = branches.filter((b) => !(isPlainObject(b) && b.type === "null"));
    if (rest.length === 1 && branches.length === 2) {
      const { [key]: _drop, ...outer } = s;
      void _drop;
      s = { ...(rest[0] as OpenApiSchema), ...outer };
      nullable = true;
    } else {
      throw new StructuralSchemaError(
        `${key} of ${branches.length} branches has no structural form; model it as one object with optional fields`,
        path,
      );
    }
  }
  if (s.allOf !== undefined || s.not !== undefined) {
    throw new StructuralSchemaError("allOf/not are not supported here; use one object schema", path);
  }
  if (Array.isArray(s.type)) {
    const types = (s.type as string[]).filter((t) => t !== "null");
    if (types.length !== 1) throw new StructuralSchemaError(`type union ${JSON.stringify(s.type)}`, path);
    nullable ||= types.length !== (s.type as string[]).length;
    s.type = types[0];
  }

  if (acceptsAnything(s)) {
    return { ...pick(s, ["description"]), "x-kubernetes-preserve-unknown-fields": true };
  }

  const out: OpenApiSchema = {};
  for (const [k, v] of Object.entries(s)) {
    if (DROPPED.has(k)) continue;
    switch (k) {
      case "const":
        out.enum = [v];
        break;
      case "exclusiveMinimum":
        // JSON Schema 2020-12 numeric form → OpenAPI 3.0 boolean form
        out.minimum = v;
        out.exclusiveMinimum = true;
        break;
      case "exclusiveMaximum":
        out.maximum = v;
        out.exclusiveMaximum = true;
        break;
      case "minimum":
      case "maximum":
        // zod's .int() adds ±Number.MAX_SAFE_INTEGER; int64 already bounds Kubernetes integers
        if (Math.abs(v as number) !== JS_SAFE_INTEGER) out[k] = v;
        break;
      case "pattern":
        // format date-time is checked by the API server itself; zod's date-time regex is not needed
        if (s.format !== "date-time") out.pattern = checkRe2(v as string, path);
        break;
      case "properties": {
        const props: Record<string, OpenApiSchema> = {};
        for (const [name, child] of Object.entries(v as Record<string, unknown>)) {
          props[name] = toStructural(child, `${path}.${name}`);
        }
        out.properties = props;
        break;
      }
      case "items":
        if (Array.isArray(v)) throw new StructuralSchemaError("tuple items are not structural", path);
        out.items = toStructural(v, `${path}[*]`);
        break;
      case "prefixItems":
        throw new StructuralSchemaError("tuples are not structural; use an array or an object", path);
      case "additionalProperties":
        if (v === false) break; // unknown fields are pruned by the API server instead
        if (v === true || (isPlainObject(v) && acceptsAnything(v))) {
          out["x-kubernetes-preserve-unknown-fields"] = true;
        } else {
          out.additionalProperties = toStructural(v, `${path}.*`);
        }
        break;
      default:
        if (!COPIED.has(k)) throw new StructuralSchemaError(`keyword "${k}" has no structural equivalent`, path);
        out[k] = v;
    }
  }
  if (nullable) out.nullable = true;
  if (out.type === undefined && out["x-kubernetes-preserve-unknown-fields"] !== true) {
    throw new StructuralSchemaError("every node needs a type", path);
  }
  if (out.type === "object" && out.properties && out.additionalProperties) {
    throw new StructuralSchemaError("properties and additionalProperties are mutually exclusive", path);
  }
  return out;
}

function pick(s: OpenApiSchema, keys: string[]): OpenApiSchema {
  return Object.fromEntries(Object.entries(s).filter(([k]) => keys.includes(k)));
}

/** Kubernetes compiles patterns with Go's RE2: no lookaround, no backreferences. */
function checkRe2(pattern: string, path: string): string {
  if (/\(\?[=!<]|\\[1-9]/.test(pattern)) {
    throw new StructuralSchemaError(`pattern ${pattern} needs lookaround or backreferences, which RE2 lacks`, path);
  }
  return pattern;
}

/** Structural OpenAPI v3 schema of a zod schema, as users write it (fields with defaults optional). */
export function structuralSchemaOf(schema: z.ZodType): OpenApiSchema {
  return toStructural(z.toJSONSchema(schema, { io: "input", unrepresentable: "throw" }));
}

/** `spec.versions[0].schema.openAPIV3Schema` of the MeshUpgrade CRD. */
export function meshUpgradeOpenApiSchema(): OpenApiSchema {
  return {
    type: "object",
    description:
      "MeshUpgrade is one canary upgrade of an Istio mesh: control plane, data plane in waves, then the old control plane offline.",
    required: ["spec"],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      spec: structuralSchemaOf(meshUpgradeSpecSchema),
      status: structuralSchemaOf(meshUpgradeStatusSchema),
    },
  };
}

/** The CustomResourceDefinition object (apiextensions.k8s.io/v1). */
export function meshUpgradeCrd(): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${MESHUPGRADE.plural}.${MESHUPGRADE.group}`,
      labels: { "app.kubernetes.io/name": "meshlift", "app.kubernetes.io/component": "crd" },
    },
    spec: {
      group: MESHUPGRADE.group,
      scope: MESHUPGRADE.scope,
      names: {
        kind: MESHUPGRADE.kind,
        listKind: MESHUPGRADE.listKind,
        plural: MESHUPGRADE.plural,
        singular: MESHUPGRADE.singular,
        shortNames: [...MESHUPGRADE.shortNames],
        categories: [...MESHUPGRADE.categories],
      },
      versions: [
        {
          name: MESHUPGRADE.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Stage", type: "string", jsonPath: ".status.stage" },
            { name: "From", type: "string", jsonPath: ".status.from.revision" },
            { name: "To", type: "string", jsonPath: ".spec.to.version" },
            { name: "Progress", type: "string", jsonPath: ".status.progress.summary" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: { openAPIV3Schema: meshUpgradeOpenApiSchema() },
        },
      ],
    },
  };
}

const YAML_HEADER =
  "# Generated by scripts/gen-crd.ts from src/upgrade/api/schema.ts. Do not edit; change the schema and regenerate:\n" +
  "#   npx tsx scripts/gen-crd.ts\n";

/** The CRD as the YAML file committed under deploy/crds/. */
export function meshUpgradeCrdYaml(): string {
  return YAML_HEADER + stringify(meshUpgradeCrd(), { lineWidth: 0 });
}
