// CRD structural schema defaulting and validation: each keyword with the kube-apiserver's message,
// the real Istio CRDs against real EnvoyFilters, meshlift's CRD against its samples, and the sandbox
// refusing an invalid MeshUpgrade over HTTPS with 422 while filling defaults on a valid one.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:https";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { startSandbox } from "../index.js";
import {
  applyCrdDefaults,
  crdVersionSchema,
  validateAgainstCrdSchema,
  type CrdSchema,
  type SchemaFieldError,
} from "./crd-schema.js";
import type { KObject } from "./types.js";

const repoFile = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const sharedFixture = (p: string) => fileURLToPath(new URL(`../../../shared/fixtures/istio/${p}`, import.meta.url));
const readDocs = (path: string): KObject[] =>
  parseAllDocuments(readFileSync(path, "utf8"))
    .map((d) => d.toJS() as KObject | null)
    .filter((d): d is KObject => !!d);

const errorLines = (errs: SchemaFieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);

/** `spec` holding one field `x` with the given schema. */
const specWith = (x: CrdSchema, extra: Partial<CrdSchema> = {}): CrdSchema => ({
  type: "object",
  properties: { spec: { type: "object", properties: { x }, ...extra } },
});

describe("validateAgainstCrdSchema: one keyword at a time, with kube-apiserver's messages", () => {
  const cases: { name: string; schema: CrdSchema; spec: unknown; errors: string[]; reasons?: string[] }[] = [
    {
      name: "type: a string where an integer belongs",
      schema: specWith({ type: "integer" }),
      spec: { x: "five" },
      errors: ['spec.x: Invalid value: "string": spec.x in body must be of type integer: "string"'],
      reasons: ["FieldValueTypeInvalid"],
    },
    {
      name: "type: a fraction is not an integer, an integer is a number",
      schema: {
        type: "object",
        properties: { spec: { type: "object", properties: { i: { type: "integer" }, n: { type: "number" } } } },
      },
      spec: { i: 1.5, n: 2 },
      errors: ['spec.i: Invalid value: "number": spec.i in body must be of type integer: "number"'],
    },
    {
      name: "type: object and array mismatches name the JSON type found",
      schema: {
        type: "object",
        properties: { spec: { type: "object", properties: { o: { type: "object" }, a: { type: "array" } } } },
      },
      spec: { o: [], a: {} },
      errors: [
        'spec.o: Invalid value: "array": spec.o in body must be of type object: "array"',
        'spec.a: Invalid value: "object": spec.a in body must be of type array: "object"',
      ],
    },
    {
      name: "required: a missing field",
      schema: specWith({ type: "string" }, { required: ["to", "x"] }),
      spec: { x: "a" },
      errors: ["spec.to: Required value"],
      reasons: ["FieldValueRequired"],
    },
    {
      name: "enum: a value outside the list, every supported value quoted",
      schema: specWith({ type: "string", enum: ["Adopt", "Manifests", "Sail"] }),
      spec: { x: "Foo" },
      errors: ['spec.x: Unsupported value: "Foo": supported values: "Adopt", "Manifests", "Sail"'],
      reasons: ["FieldValueNotSupported"],
    },
    {
      name: "enum: non-string values are rendered as JSON, then quoted",
      schema: specWith({ type: "boolean", enum: [true] }),
      spec: { x: false },
      errors: ['spec.x: Unsupported value: false: supported values: "true"'],
    },
    {
      name: "minimum",
      schema: specWith({ type: "integer", minimum: 1 }),
      spec: { x: 0 },
      errors: ["spec.x: Invalid value: 0: spec.x in body should be greater than or equal to 1"],
      reasons: ["FieldValueInvalid"],
    },
    {
      name: "maximum",
      schema: specWith({ type: "integer", maximum: 10 }),
      spec: { x: 11 },
      errors: ["spec.x: Invalid value: 11: spec.x in body should be less than or equal to 10"],
    },
    {
      name: "exclusiveMinimum and exclusiveMaximum refuse the bound itself",
      schema: {
        type: "object",
        properties: {
          spec: {
            type: "object",
            properties: {
              lo: { type: "number", minimum: 0, exclusiveMinimum: true },
              hi: { type: "number", maximum: 1, exclusiveMaximum: true },
            },
          },
        },
      },
      spec: { lo: 0, hi: 1 },
      errors: [
        "spec.lo: Invalid value: 0: spec.lo in body should be greater than 0",
        "spec.hi: Invalid value: 1: spec.hi in body should be less than 1",
      ],
    },
    {
      name: "multipleOf",
      schema: specWith({ type: "integer", multipleOf: 5 }),
      spec: { x: 12 },
      errors: ["spec.x: Invalid value: 12: spec.x in body should be a multiple of 5"],
    },
    {
      name: "maxLength counts characters, not bytes",
      schema: specWith({ type: "string", maxLength: 3 }),
      spec: { x: "abcd" },
      errors: ["spec.x: Too long: may not be longer than 3"],
      reasons: ["FieldValueTooLong"],
    },
    {
      name: "maxLength: four multi-byte characters fit in four",
      schema: specWith({ type: "string", maxLength: 4 }),
      spec: { x: "ßßßß" },
      errors: [],
    },
    {
      name: "minLength",
      schema: specWith({ type: "string", minLength: 1 }),
      spec: { x: "" },
      errors: ['spec.x: Invalid value: "": spec.x in body should be at least 1 chars long'],
    },
    {
      name: "pattern",
      schema: specWith({ type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" }),
      spec: { x: "Bad_Name" },
      errors: ["spec.x: Invalid value: \"Bad_Name\": spec.x in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"],
    },
    {
      name: "format date-time",
      schema: specWith({ type: "string", format: "date-time" }),
      spec: { x: "yesterday" },
      errors: ['spec.x: Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday"'],
      reasons: ["FieldValueTypeInvalid"],
    },
    {
      name: "format date-time accepts RFC 3339",
      schema: specWith({ type: "string", format: "date-time" }),
      spec: { x: "2025-03-01T10:00:00Z" },
      errors: [],
    },
    {
      name: "format int32 refuses a fraction (format named with the Go type found)",
      schema: specWith({ type: "integer", format: "int32" }),
      spec: { x: 1.5 },
      errors: ['spec.x: Invalid value: "float64": spec.x in body must be of type int32: "float64"'],
    },
    {
      name: "format: an unknown format is not checked",
      schema: specWith({ type: "string", format: "color-name" }),
      spec: { x: "anything" },
      errors: [],
    },
    {
      name: "minItems and items: each item has its index in the path",
      schema: specWith({ type: "array", minItems: 3, items: { type: "string", maxLength: 2 } }),
      spec: { x: ["ok", "long"] },
      errors: [
        "spec.x[1]: Too long: may not be longer than 2",
        "spec.x: Invalid value: 2: spec.x in body should have at least 3 items",
      ],
    },
    {
      name: "maxItems",
      schema: specWith({ type: "array", maxItems: 1 }),
      spec: { x: [1, 2, 3] },
      errors: ["spec.x: Too many: 3: must have at most 1 item"],
      reasons: ["FieldValueTooMany"],
    },
    {
      name: "uniqueItems",
      schema: specWith({ type: "array", uniqueItems: true }),
      spec: { x: [{ a: 1 }, { a: 1 }] },
      errors: ['spec.x: Invalid value: "": spec.x in body shouldn\'t contain duplicates'],
    },
    {
      name: "minProperties",
      schema: specWith({ type: "object", minProperties: 2 }),
      spec: { x: { a: "1" } },
      errors: ["spec.x: Invalid value: 1: spec.x in body should have at least 2 properties"],
    },
    {
      name: "maxProperties",
      schema: specWith({ type: "object", maxProperties: 1 }),
      spec: { x: { a: "1", b: "2" } },
      errors: ["spec.x: Too many: 2: must have at most 1 item"],
    },
    {
      name: "additionalProperties as a schema checks every value under its key",
      schema: specWith({ type: "object", additionalProperties: { type: "string" } }),
      spec: { x: { app: "web", tier: 3 } },
      errors: ['spec.x.tier: Invalid value: "integer": spec.x.tier in body must be of type string: "integer"'],
    },
    {
      name: "additionalProperties: false forbids undeclared keys",
      schema: specWith({ type: "object", properties: { a: { type: "string" } }, additionalProperties: false }),
      spec: { x: { a: "1", b: "2" } },
      errors: ['spec.x: Invalid value: "b": spec.x.b in body is a forbidden property'],
    },
    {
      name: "nullable: null accepted only where nullable",
      schema: specWith({ type: "array", items: { type: "number", nullable: true } }),
      spec: { x: [1, null] },
      errors: [],
    },
    {
      name: "null array items of a non-nullable type are refused",
      schema: specWith({ type: "array", items: { type: "string" } }),
      spec: { x: ["a", null] },
      errors: ['spec.x[1]: Invalid value: "null": spec.x[1] in body must be of type string: "null"'],
    },
    {
      name: "x-kubernetes-int-or-string accepts both, refuses the rest",
      schema: {
        type: "object",
        properties: {
          spec: {
            type: "object",
            properties: {
              a: { "x-kubernetes-int-or-string": true },
              b: { "x-kubernetes-int-or-string": true },
              c: { "x-kubernetes-int-or-string": true },
            },
          },
        },
      },
      spec: { a: 80, b: "http", c: true },
      errors: ['spec.c: Invalid value: "boolean": spec.c in body must be of type integer,string: "boolean"'],
    },
    {
      name: "x-kubernetes-preserve-unknown-fields: unknown content is not checked, declared fields are",
      schema: specWith({
        type: "object",
        "x-kubernetes-preserve-unknown-fields": true,
        properties: { known: { type: "integer" } },
      }),
      spec: { x: { anything: { deep: [1, "a"] }, known: "no" } },
      errors: ['spec.x.known: Invalid value: "string": spec.x.known in body must be of type integer: "string"'],
    },
    {
      name: "x-kubernetes-embedded-resource needs apiVersion and kind",
      schema: specWith({
        type: "object",
        "x-kubernetes-embedded-resource": true,
        "x-kubernetes-preserve-unknown-fields": true,
      }),
      spec: { x: { metadata: { name: "a" } } },
      errors: [
        "spec.x.apiVersion: Required value: must not be empty",
        "spec.x.kind: Required value: must not be empty",
      ],
    },
    {
      name: "x-kubernetes-list-type set: a repeated item is a duplicate",
      schema: specWith({ type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } }),
      spec: { x: ["a", "b", "a"] },
      errors: ['spec.x[2]: Duplicate value: "a"'],
      reasons: ["FieldValueDuplicate"],
    },
    {
      name: "x-kubernetes-list-type map: a repeated key is a duplicate",
      schema: specWith({
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        items: { type: "object", properties: { name: { type: "string" }, port: { type: "integer" } } },
      }),
      spec: {
        x: [
          { name: "http", port: 80 },
          { name: "http", port: 81 },
        ],
      },
      errors: ['spec.x[1]: Duplicate value: "http"'],
    },
    {
      name: "oneOf (Istio's protobuf oneof): two alternatives set",
      schema: specWith({
        type: "object",
        properties: { a: { type: "string" }, b: { type: "string" } },
        oneOf: [
          { not: { anyOf: [{ required: ["a"] }, { required: ["b"] }] } },
          { required: ["a"] },
          { required: ["b"] },
        ],
      }),
      spec: { x: { a: "1", b: "2" } },
      errors: [
        '<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). Found 2 valid alternatives',
      ],
    },
    {
      name: "oneOf: one alternative set is valid, none set is valid too",
      schema: specWith({
        type: "array",
        items: {
          type: "object",
          oneOf: [
            { not: { anyOf: [{ required: ["a"] }, { required: ["b"] }] } },
            { required: ["a"] },
            { required: ["b"] },
          ],
        },
      }),
      spec: { x: [{ a: "1" }, {}] },
      errors: [],
    },
    {
      name: "anyOf: no branch matches, the closest branch's errors follow",
      schema: specWith({ anyOf: [{ type: "integer" }, { type: "string", minLength: 2 }] }),
      spec: { x: "a" },
      errors: [
        '<nil>: Invalid value: "": "spec.x" must validate at least one schema (anyOf)',
        'spec.x: Invalid value: "string": spec.x in body must be of type integer: "string"',
      ],
    },
    {
      name: "allOf: every branch must hold",
      schema: specWith({ type: "integer", allOf: [{ minimum: 1 }, { maximum: 5 }] }),
      spec: { x: 9 },
      errors: [
        "spec.x: Invalid value: 9: spec.x in body should be less than or equal to 5",
        '<nil>: Invalid value: "": "spec.x" must validate all the schemas (allOf)',
      ],
    },
    {
      name: "not: matching the negated schema is refused",
      schema: specWith({ type: "string", not: { enum: ["forbidden"] } }),
      spec: { x: "forbidden" },
      errors: ['<nil>: Invalid value: "": "spec.x" must not validate the schema (not)'],
    },
  ];

  for (const c of cases)
    test(c.name, () => {
      const errs = validateAgainstCrdSchema(c.schema, { spec: c.spec });
      assert.deepEqual(errorLines(errs), c.errors);
      if (c.reasons)
        assert.deepEqual(
          errs.map((e) => e.reason),
          c.reasons,
        );
    });

  test("x-kubernetes-validations (CEL) rules are not evaluated", () => {
    const schema = specWith({ type: "integer", "x-kubernetes-validations": [{ rule: "self > 100" }] });
    assert.deepEqual(validateAgainstCrdSchema(schema, { spec: { x: 1 } }), []);
  });

  test("with a status subresource, a main write leaves .status out and a status write checks only .status", () => {
    const schema: CrdSchema = {
      type: "object",
      properties: {
        spec: { type: "object", properties: { n: { type: "integer", minimum: 1 } } },
        status: { type: "object", properties: { phase: { type: "string", enum: ["Running"] } } },
      },
    };
    const obj = { spec: { n: 0 }, status: { phase: "Lost" } };
    assert.deepEqual(errorLines(validateAgainstCrdSchema(schema, obj, { part: "main" })), [
      "spec.n: Invalid value: 0: spec.n in body should be greater than or equal to 1",
    ]);
    assert.deepEqual(errorLines(validateAgainstCrdSchema(schema, obj, { part: "status" })), [
      'status.phase: Unsupported value: "Lost": supported values: "Running"',
    ]);
    assert.equal(validateAgainstCrdSchema(schema, obj).length, 2);
  });
});

describe("applyCrdDefaults: structural defaulting as at decode", () => {
  const schema: CrdSchema = {
    type: "object",
    properties: {
      metadata: { type: "object", properties: { name: { type: "string", default: "never" } } },
      spec: {
        type: "object",
        properties: {
          install: { type: "object", default: {}, properties: { mode: { type: "string", default: "Adopt" } } },
          maxConcurrent: { type: "integer", default: 5 },
          note: { type: "string" },
          ratio: { type: "number", nullable: true, default: 0.5 },
          ports: {
            type: "array",
            items: { type: "object", properties: { protocol: { type: "string", default: "TCP" } } },
          },
          labels: {
            type: "object",
            additionalProperties: { type: "object", properties: { weight: { type: "integer", default: 1 } } },
          },
        },
      },
    },
  };

  test("absent fields get their default, defaults inside a defaulted object apply too; root metadata is left alone", () => {
    const obj = applyCrdDefaults(schema, { metadata: {}, spec: {} } as Record<string, any>);
    assert.deepEqual(obj, { metadata: {}, spec: { install: { mode: "Adopt" }, maxConcurrent: 5, ratio: 0.5 } });
  });

  test("a present field keeps its value, even a falsy one", () => {
    const obj = applyCrdDefaults(schema, { spec: { maxConcurrent: 0, install: { mode: "Sail" } } });
    assert.deepEqual(obj.spec, { maxConcurrent: 0, install: { mode: "Sail" }, ratio: 0.5 });
  });

  test("defaults apply inside array items and additionalProperties", () => {
    const obj = applyCrdDefaults(schema, {
      spec: { ports: [{}, { protocol: "UDP" }], labels: { a: {}, b: { weight: 3 } } },
    });
    assert.deepEqual(obj.spec.ports, [{ protocol: "TCP" }, { protocol: "UDP" }]);
    assert.deepEqual(obj.spec.labels, { a: { weight: 1 }, b: { weight: 3 } });
  });

  test("null on a non-nullable field takes the default; without a default it is dropped; nullable null stays", () => {
    const obj = applyCrdDefaults(schema, { spec: { maxConcurrent: null, note: null, ratio: null } });
    assert.deepEqual(obj.spec, { install: { mode: "Adopt" }, maxConcurrent: 5, ratio: null });
  });

  test("each defaulted object is a copy: changing one never changes the schema's default", () => {
    const a = applyCrdDefaults(schema, { spec: {} } as Record<string, any>);
    a.spec.install.mode = "Changed";
    const b = applyCrdDefaults(schema, { spec: {} } as Record<string, any>);
    assert.equal(b.spec.install.mode, "Adopt");
  });
});

describe("real CRDs against real objects", () => {
  const istioCrds = readDocs(repoFile("sandbox/istio/data/crd-all.gen.yaml"));
  const schemaOf = (crds: KObject[], obj: KObject): CrdSchema => {
    const [group, version] = obj.apiVersion!.split("/");
    const crd = crds.find((c) => c.spec?.group === group && c.spec?.names?.kind === obj.kind);
    assert.ok(crd, `no CRD for ${obj.apiVersion} ${obj.kind}`);
    const schema = crdVersionSchema(crd, version);
    assert.ok(schema, `no schema for ${version} in ${crd.metadata.name}`);
    return schema;
  };

  test("Istio's EnvoyFilter CRD accepts the real EnvoyFilter fixtures", () => {
    const filters = [
      ...readDocs(sharedFixture("envoyfilter.yaml")),
      ...readDocs(sharedFixture("relative-envoy-filter-operation.yaml")),
    ];
    assert.equal(filters.length, 4);
    for (const f of filters) {
      const schema = schemaOf(istioCrds, f);
      const errs = validateAgainstCrdSchema(schema, applyCrdDefaults(schema, structuredClone(f)));
      assert.deepEqual(errorLines(errs), [], f.metadata.name);
    }
  });

  test("Istio's EnvoyFilter CRD refuses an unknown match context and a negative port", () => {
    const [f] = readDocs(sharedFixture("envoyfilter.yaml"));
    const bad = structuredClone(f);
    bad.spec.configPatches[0].match.context = "EVERYWHERE";
    bad.spec.configPatches[0].match.listener.portNumber = -1;
    assert.deepEqual(errorLines(validateAgainstCrdSchema(schemaOf(istioCrds, bad), bad)), [
      'spec.configPatches[0].match.context: Unsupported value: "EVERYWHERE": supported values: "ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY", "WAYPOINT"',
      "spec.configPatches[0].match.listener.portNumber: Invalid value: -1: spec.configPatches[0].match.listener.portNumber in body should be greater than or equal to 0",
    ]);
  });

  test("meshlift's CRD accepts every sample in deploy/examples, after defaulting", () => {
    const crds = readDocs(repoFile("deploy/crds/meshupgrade.yaml"));
    const samples = ["meshupgrade-minimal.yaml", "meshupgrade-full.yaml"].flatMap((f) =>
      readDocs(repoFile(`deploy/examples/${f}`)),
    );
    assert.ok(samples.length >= 2);
    for (const s of samples) {
      const schema = schemaOf(crds, s);
      const defaulted = applyCrdDefaults(schema, structuredClone(s));
      assert.deepEqual(errorLines(validateAgainstCrdSchema(schema, defaulted)), [], s.metadata.name);
    }
  });
});

/** One HTTPS request to the sandbox as admin. */
function call(
  sb: { url: string; caPem: string; tokens: { admin: string } },
  method: string,
  path: string,
  body?: unknown,
) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(
      new URL(path, sb.url),
      {
        method,
        ca: sb.caPem,
        headers: { authorization: `Bearer ${sb.tokens.admin}`, "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe("the sandbox API server with meshlift's CRD", () => {
  test("refuses maxConcurrent: 0 with 422 and stores a valid MeshUpgrade with its defaults filled", async () => {
    const sb = await startSandbox({ scenario: "demo", empty: true });
    try {
      const [crd] = readDocs(repoFile("deploy/crds/meshupgrade.yaml"));
      const created = await call(sb, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const path = "/apis/meshlift.io/v1alpha1/meshupgrades";
      const mu = (name: string, dataPlane: unknown) => ({
        apiVersion: "meshlift.io/v1alpha1",
        kind: "MeshUpgrade",
        metadata: { name },
        spec: { to: { version: "1.29" }, dataPlane },
      });

      const refused = await call(sb, "POST", path, mu("zero", { maxConcurrent: 0 }));
      assert.equal(refused.status, 422);
      assert.equal(refused.body.reason, "Invalid");
      assert.equal(
        refused.body.message,
        'MeshUpgrade.meshlift.io "zero" is invalid: spec.dataPlane.maxConcurrent: Invalid value: 0: spec.dataPlane.maxConcurrent in body should be greater than or equal to 1',
      );
      assert.deepEqual(refused.body.details.causes, [
        {
          reason: "FieldValueInvalid",
          message: "Invalid value: 0: spec.dataPlane.maxConcurrent in body should be greater than or equal to 1",
          field: "spec.dataPlane.maxConcurrent",
        },
      ]);

      const accepted = await call(sb, "POST", path, mu("ok", { restart: "Manual" }));
      assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
      const stored = (await call(sb, "GET", `${path}/ok`)).body;
      assert.equal(stored.spec.install.mode, "Adopt");
      assert.equal(stored.spec.dataPlane.maxConcurrent, 5);
      assert.equal(stored.spec.dataPlane.restart, "Manual");
      assert.equal(stored.spec.dataPlane.gateways.strategy, "InPlace");
      assert.equal(stored.spec.verification.healthGate.minReadySeconds, 30);

      // an update is defaulted and validated too
      const update = { ...stored, spec: { ...stored.spec, install: { mode: "Helm" } } };
      const refusedUpdate = await call(sb, "PUT", `${path}/ok`, update);
      assert.equal(refusedUpdate.status, 422);
      assert.match(
        refusedUpdate.body.message,
        /spec\.install\.mode: Unsupported value: "Helm": supported values: "Adopt", "Manifests", "Sail"/,
      );
      const noMode = { ...stored, spec: { ...stored.spec, install: {} } };
      const updated = await call(sb, "PUT", `${path}/ok`, noMode);
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      assert.equal(updated.body.spec.install.mode, "Adopt");
    } finally {
      await sb.stop();
    }
  });
});
