// OpenAPI v3 (index + one document per group version) and v2 (swagger 2.0) built from the registry.
// kubectl needs: v3 PATCH operations carrying x-kubernetes-group-version-kind and a `fieldValidation`
// query parameter (query_param_verifier_v3.go) to trust server-side validation, and v3 schemas for explain.
import { createHash } from "node:crypto";
import type { TypeRegistry } from "./registry.js";
import { SchemaCollector, definitionName, type JsonSchema } from "./schemas.js";
import { parseAccept, acceptsPlainJson } from "./discovery.js";
import { encodeSwaggerProto } from "./openapi-proto.js";
import { ApiError, type ResourceType } from "./types.js";

export interface OpenApiResponse {
  status: 200 | 406;
  contentType: string;
  /** JSON body, or a Buffer for protobuf */
  body: object | Buffer;
}

const JSON_TYPE = "application/json";
const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const PATCH_SCHEMA = `${META}.Patch`;
const STATUS_SCHEMA = `${META}.Status`;
const SCALE_SCHEMA = "io.k8s.api.autoscaling.v1.Scale";

type Style = "v3" | "v2";

/** Group-version path as the v3 index names it: "api/v1", "apis/apps/v1". */
export function groupVersionPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function parseGroupVersionPath(gvPath: string): { group: string; version: string } | undefined {
  const parts = gvPath.replace(/^\/+|\/+$/g, "").split("/");
  if (parts.length === 2 && parts[0] === "api") return { group: "", version: parts[1] };
  if (parts.length === 3 && parts[0] === "apis") return { group: parts[1], version: parts[2] };
  return undefined;
}

interface Param {
  name: string;
  in: "query" | "path";
  description: string;
}

const P = {
  name: { name: "name", in: "path", description: "name of the resource" },
  namespace: {
    name: "namespace",
    in: "path",
    description: "object name and auth scope, such as for teams and projects",
  },
  pretty: { name: "pretty", in: "query", description: "If 'true', then the output is pretty printed." },
  dryRun: {
    name: "dryRun",
    in: "query",
    description:
      "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
  },
  fieldManager: {
    name: "fieldManager",
    in: "query",
    description: "fieldManager is a name associated with the actor or entity that is making these changes.",
  },
  fieldValidation: {
    name: "fieldValidation",
    in: "query",
    description:
      "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
  },
  force: {
    name: "force",
    in: "query",
    description:
      'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people.',
  },
  labelSelector: {
    name: "labelSelector",
    in: "query",
    description: "A selector to restrict the list of returned objects by their labels.",
  },
  fieldSelector: {
    name: "fieldSelector",
    in: "query",
    description: "A selector to restrict the list of returned objects by their fields.",
  },
  limit: {
    name: "limit",
    in: "query",
    description: "limit is a maximum number of responses to return for a list call.",
  },
  continue: {
    name: "continue",
    in: "query",
    description: "The continue option should be set when retrieving more results from the server.",
  },
  resourceVersion: {
    name: "resourceVersion",
    in: "query",
    description: "resourceVersion sets a constraint on what resource versions a request may be served from.",
  },
  watch: {
    name: "watch",
    in: "query",
    description:
      "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
  },
  timeoutSeconds: { name: "timeoutSeconds", in: "query", description: "Timeout for the list/watch call." },
  allowWatchBookmarks: {
    name: "allowWatchBookmarks",
    in: "query",
    description: 'allowWatchBookmarks requests watch events with type "BOOKMARK".',
  },
} satisfies Record<string, Param>;

const LIST_PARAMS = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.timeoutSeconds,
  P.watch,
];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];

function paramSchema(style: Style, p: Param): JsonSchema {
  const isBool = p.name === "force" || p.name === "watch" || p.name === "allowWatchBookmarks";
  const isInt = p.name === "limit" || p.name === "timeoutSeconds";
  const type = isBool ? "boolean" : isInt ? "integer" : "string";
  const required = p.in === "path" ? { required: true } : {};
  return style === "v3"
    ? { name: p.name, in: p.in, description: p.description, ...required, schema: { type, uniqueItems: true } }
    : { name: p.name, in: p.in, description: p.description, ...required, type, uniqueItems: true };
}

const PATCH_TYPES = [
  "application/apply-patch+yaml",
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];

/** One document being built: schemas plus the style-specific shapes of references, bodies and responses. */
class DocumentBuilder {
  readonly collector: SchemaCollector;
  readonly paths: Record<string, Record<string, any>> = {};
  constructor(
    readonly style: Style,
    private readonly registry: TypeRegistry,
  ) {
    this.collector = new SchemaCollector(style === "v3" ? "#/components/schemas/" : "#/definitions/");
    const s = this.collector.schemas;
    s[PATCH_SCHEMA] = {
      type: "object",
      description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    };
    s[STATUS_SCHEMA] = {
      type: "object",
      description: "Status is a return value for calls that don't return other objects.",
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        code: { type: "integer", format: "int32" },
        details: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        message: { type: "string" },
        metadata: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        reason: { type: "string" },
        status: { type: "string" },
      },
      "x-kubernetes-group-version-kind": [{ group: "", kind: "Status", version: "v1" }],
    };
  }

  private ref(name: string): JsonSchema {
    return { $ref: `${this.style === "v3" ? "#/components/schemas/" : "#/definitions/"}${name}` };
  }

  private response(schemaName: string): JsonSchema {
    return this.style === "v3"
      ? { "200": { description: "OK", content: { [JSON_TYPE]: { schema: this.ref(schemaName) } } } }
      : { "200": { description: "OK", schema: this.ref(schemaName) } };
  }

  private withBody(op: JsonSchema, schemaName: string, contentTypes: string[], params: Param[]): JsonSchema {
    if (this.style === "v3") {
      op.parameters = params.map((p) => paramSchema("v3", p));
      op.requestBody = {
        required: true,
        content: Object.fromEntries(contentTypes.map((ct) => [ct, { schema: this.ref(schemaName) }])),
      };
    } else {
      op.parameters = [
        { name: "body", in: "body", required: true, schema: this.ref(schemaName) },
        ...params.map((p) => paramSchema("v2", p)),
      ];
      op.consumes = contentTypes;
    }
    return op;
  }

  private operation(
    action: string,
    id: string,
    gvk: { group: string; version: string; kind: string },
    responseSchema: string,
    params: Param[] = [],
  ): JsonSchema {
    return {
      description: `${action} ${gvk.kind}`,
      operationId: id,
      ...(this.style === "v2" ? { produces: [JSON_TYPE], schemes: ["https"] } : {}),
      parameters: params.map((p) => paramSchema(this.style, p)),
      responses: this.response(responseSchema),
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
    };
  }

  /** Adds a resource's schemas and REST paths at one version. */
  addResource(t: ResourceType, version: string): void {
    const crdSchema = t.custom ? crdVersionSchema(this.registry, t, version) : undefined;
    const kindSchema = t.custom
      ? this.collector.addCustomKind(t, version, this.style === "v3" ? crdSchema : structuralToV2(crdSchema), {
          untypedWhenOpen: this.style === "v2",
        })
      : this.collector.addBuiltinKind(t, version);
    const listSchema = `${kindSchema}List`;
    this.collector.schemas[listSchema] = {
      description: `${t.listKind} is a list of ${t.kind}`,
      type: "object",
      required: ["items"],
      properties: {
        apiVersion: { type: "string" },
        items: { type: "array", items: this.ref(kindSchema) },
        kind: { type: "string" },
        metadata: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      },
      "x-kubernetes-group-version-kind": [{ group: t.group, kind: t.listKind, version }],
    };
    const gvk = { group: t.group, version, kind: t.kind };
    const idBase = `${pascal(t.group || "core")}${pascal(version)}${t.namespaced ? "Namespaced" : ""}${t.kind}`;
    const prefix = `/${groupVersionPath(t.group, version)}`;
    const collection = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
    const item = `${collection}/{name}`;
    const has = (v: string) => t.verbs.includes(v);
    const patchTypes = t.custom ? PATCH_TYPES.filter((ct) => !ct.includes("strategic")) : PATCH_TYPES;
    const scopeParams = t.namespaced ? [P.namespace] : [];

    const collectionOps: Record<string, any> = {};
    if (has("list")) collectionOps.get = this.operation("list", `list${idBase}`, gvk, listSchema, LIST_PARAMS);
    if (has("create")) {
      collectionOps.post = this.withBody(
        this.operation("post", `create${idBase}`, gvk, kindSchema),
        kindSchema,
        [JSON_TYPE, "application/yaml"],
        WRITE_PARAMS,
      );
    }
    if (has("deletecollection")) {
      collectionOps.delete = this.operation(
        "deletecollection",
        `deletecollection${idBase}`,
        gvk,
        STATUS_SCHEMA,
        LIST_PARAMS,
      );
    }
    if (Object.keys(collectionOps).length) this.addPath(collection, collectionOps, [...scopeParams, P.pretty]);
    if (t.namespaced && has("list")) {
      const all = {
        get: this.operation(
          "list",
          `list${idBase.replace("Namespaced", "")}ForAllNamespaces`,
          gvk,
          listSchema,
          LIST_PARAMS,
        ),
      };
      this.addPath(`${prefix}/${t.plural}`, all, [P.pretty]);
    }

    const itemOps: Record<string, any> = {};
    if (has("get")) itemOps.get = this.operation("get", `read${idBase}`, gvk, kindSchema);
    if (has("update")) {
      itemOps.put = this.withBody(
        this.operation("put", `replace${idBase}`, gvk, kindSchema),
        kindSchema,
        [JSON_TYPE],
        WRITE_PARAMS,
      );
    }
    if (has("patch")) {
      itemOps.patch = this.withBody(
        this.operation("patch", `patch${idBase}`, gvk, kindSchema),
        PATCH_SCHEMA,
        patchTypes,
        [...WRITE_PARAMS, P.force],
      );
    }
    if (has("delete")) itemOps.delete = this.operation("delete", `delete${idBase}`, gvk, STATUS_SCHEMA, [P.dryRun]);
    if (Object.keys(itemOps).length) this.addPath(item, itemOps, [P.name, ...scopeParams, P.pretty]);

    for (const sub of ["status", "scale"] as const) {
      if (!t.subresources.includes(sub)) continue;
      const subGvk = sub === "scale" ? { group: "autoscaling", version: "v1", kind: "Scale" } : gvk;
      const schema = sub === "scale" ? this.scaleSchema() : kindSchema;
      const subId = `${idBase}${pascal(sub)}`;
      const ops = {
        get: this.operation("get", `read${subId}`, subGvk, schema),
        put: this.withBody(this.operation("put", `replace${subId}`, subGvk, schema), schema, [JSON_TYPE], WRITE_PARAMS),
        patch: this.withBody(this.operation("patch", `patch${subId}`, subGvk, schema), PATCH_SCHEMA, patchTypes, [
          ...WRITE_PARAMS,
          P.force,
        ]),
      };
      this.addPath(`${item}/${sub}`, ops, [P.name, ...scopeParams, P.pretty]);
    }
  }

  private scaleSchema(): string {
    this.collector.schemas[SCALE_SCHEMA] ??= {
      description: "Scale represents a scaling request for a resource.",
      type: "object",
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: this.collector.ref(`${META}.ObjectMeta`),
        spec: { type: "object", properties: { replicas: { type: "integer", format: "int32" } } },
        status: {
          type: "object",
          required: ["replicas"],
          properties: { replicas: { type: "integer", format: "int32" }, selector: { type: "string" } },
        },
      },
      "x-kubernetes-group-version-kind": [{ group: "autoscaling", kind: "Scale", version: "v1" }],
    };
    return SCALE_SCHEMA;
  }

  private addPath(path: string, ops: Record<string, any>, shared: Param[]): void {
    this.paths[path] = { ...ops, parameters: shared.map((p) => paramSchema(this.style, p)) };
  }
}

function pascal(s: string): string {
  return s
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");
}

/** `spec.versions[name=version].schema.openAPIV3Schema` of the CRD behind a custom type. */
export function crdVersionSchema(registry: TypeRegistry, t: ResourceType, version: string): JsonSchema | undefined {
  const crd = registry.crdFor(`${t.group}/${t.plural}`);
  const versions: any[] = crd?.spec?.versions ?? [];
  return versions.find((v) => v.name === version)?.schema?.openAPIV3Schema;
}

/**
 * A CRD's structural schema as the apiextensions server publishes it in OpenAPI v2 (ToStructuralOpenAPIV2):
 * no allOf/anyOf/oneOf/not; a nullable level loses its type; a level that keeps unknown fields, or is
 * nullable, loses its properties and items, because kubectl's v2 validation would reject what they leave
 * out. A root that keeps unknown fields publishes no properties at all (undefined: an open kind).
 */
export function structuralToV2(schema: JsonSchema | undefined): JsonSchema | undefined {
  if (!schema) return undefined;
  const walk = (s: JsonSchema): JsonSchema => {
    const { allOf: _a, anyOf: _b, oneOf: _c, not: _d, nullable, ...rest } = s;
    const out: JsonSchema = { ...rest };
    if (nullable) delete out.type;
    if (nullable || out["x-kubernetes-preserve-unknown-fields"]) {
      delete out.properties;
      delete out.items;
      return out;
    }
    if (out.properties)
      out.properties = Object.fromEntries(
        Object.entries(out.properties as Record<string, JsonSchema>).map(([k, v]) => [k, walk(v)]),
      );
    if (out.items && typeof out.items === "object") out.items = walk(out.items as JsonSchema);
    if (out.additionalProperties && typeof out.additionalProperties === "object")
      out.additionalProperties = walk(out.additionalProperties as JsonSchema);
    return out;
  };
  return schema["x-kubernetes-preserve-unknown-fields"] ? undefined : walk(schema);
}

interface Cached {
  body: any;
  hash: string;
}

/** Documents are rebuilt only after the registry changes (CRDs come and go). */
const caches = new WeakMap<TypeRegistry, Map<string, Cached>>();

function cacheFor(registry: TypeRegistry): Map<string, Cached> {
  let cache = caches.get(registry);
  if (!cache) {
    const fresh = new Map<string, Cached>();
    registry.onChange(() => fresh.clear());
    caches.set(registry, fresh);
    cache = fresh;
  }
  return cache;
}

function cached(registry: TypeRegistry, key: string, build: () => object): Cached {
  const cache = cacheFor(registry);
  let entry = cache.get(key);
  if (!entry) {
    const body = build();
    // the real server's hash is an uppercase hex SHA-512 of the document
    const bytes = Buffer.isBuffer(body) ? body : JSON.stringify(body);
    entry = { body, hash: createHash("sha512").update(bytes).digest("hex").toUpperCase() };
    cache.set(key, entry);
  }
  return entry;
}

function buildV3(registry: TypeRegistry, group: string, version: string): object {
  const b = new DocumentBuilder("v3", registry);
  for (const t of registry.resourcesIn(group, version)) b.addResource(t, version);
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: `v${registry.kubernetesVersion}` },
    paths: b.paths,
    components: {
      schemas: b.collector.schemas,
      securitySchemes: {
        BearerToken: {
          type: "apiKey",
          description: "Bearer Token authentication",
          name: "authorization",
          in: "header",
        },
      },
    },
  };
}

/** `/openapi/v3`: one entry per served group version, each with a content hash in its URL. */
export function openapiV3Index(registry: TypeRegistry): OpenApiResponse {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of registry.groups()) {
    for (const version of g.versions) {
      const gvPath = groupVersionPath(g.name, version);
      const { hash } = cached(registry, `v3:${gvPath}`, () => buildV3(registry, g.name, version));
      paths[gvPath] = { serverRelativeURL: `/openapi/v3/${gvPath}?hash=${hash}` };
    }
  }
  return { status: 200, contentType: JSON_TYPE, body: { paths } };
}

/**
 * `/openapi/v3/<api/v1 | apis/g/v>`: the group version's document, undefined (404) when not served,
 * 406 when the client accepts only protobuf (the client then falls back, as with a real server without it).
 */
export function openapiV3Document(
  registry: TypeRegistry,
  gvPath: string,
  accept?: string,
): OpenApiResponse | undefined {
  const gv = parseGroupVersionPath(gvPath.split("?")[0]);
  if (!gv || !registry.isServedGroupVersion(gv.group, gv.version)) return undefined;
  if (!acceptsJson(accept)) return notAcceptable();
  const { body } = cached(registry, `v3:${groupVersionPath(gv.group, gv.version)}`, () =>
    buildV3(registry, gv.group, gv.version),
  );
  return { status: 200, contentType: JSON_TYPE, body };
}

/** What client-go asks for; `@` is not a token character, so the response names it with a dot (kube-openapi). */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const OPENAPI_V2_PROTOBUF_RESPONSE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/**
 * `/openapi/v2` as swagger 2.0, in JSON or, when asked for, as gnostic protobuf (kubectl 1.27/1.28 ask only
 * for protobuf and cannot apply without it). The protobuf body is a Buffer: write it as is.
 */
export function openapiV2(registry: TypeRegistry, accept?: string): OpenApiResponse {
  const json = cached(registry, "v2", () => {
    const b = new DocumentBuilder("v2", registry);
    for (const g of registry.groups())
      for (const v of g.versions) for (const t of registry.resourcesIn(g.name, v)) b.addResource(t, v);
    return {
      swagger: "2.0",
      info: { title: "Kubernetes", version: `v${registry.kubernetesVersion}` },
      paths: b.paths,
      definitions: withoutV3Keywords(b.collector.schemas),
      securityDefinitions: {
        BearerToken: {
          type: "apiKey",
          description: "Bearer Token authentication",
          name: "authorization",
          in: "header",
        },
      },
      security: [{ BearerToken: [] }],
    };
  });
  for (const range of parseAccept(accept)) {
    if (acceptsPlainJson(range)) return { status: 200, contentType: JSON_TYPE, body: json.body };
    if (range.type === OPENAPI_V2_PROTOBUF) {
      const proto = cached(registry, "v2proto", () => encodeSwaggerProto(json.body));
      return { status: 200, contentType: OPENAPI_V2_PROTOBUF_RESPONSE, body: proto.body };
    }
  }
  return notAcceptable();
}

/** Swagger 2.0 has no anyOf/oneOf/not/nullable: int-or-string becomes a string with format int-or-string. */
function withoutV3Keywords<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutV3Keywords) as T;
  if (!value || typeof value !== "object") return value;
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "anyOf" || k === "oneOf" || k === "not" || k === "nullable") continue;
    out[k] = withoutV3Keywords(v);
  }
  if (out["x-kubernetes-int-or-string"] && !out.type) Object.assign(out, { type: "string", format: "int-or-string" });
  return out as T;
}

function acceptsJson(accept: string | undefined): boolean {
  return parseAccept(accept).some(acceptsPlainJson);
}

function notAcceptable(): OpenApiResponse {
  const message = "only the following media types are accepted: application/json";
  return { status: 406, contentType: JSON_TYPE, body: new ApiError(406, "NotAcceptable", message).toStatus() };
}

export { definitionName };
