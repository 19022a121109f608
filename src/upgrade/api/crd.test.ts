import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";
import {
  StructuralSchemaError,
  meshUpgradeCrd,
  meshUpgradeCrdYaml,
  meshUpgradeOpenApiSchema,
  structuralSchemaOf,
  toStructural,
  type OpenApiSchema,
} from "./crd.js";
import { MESHUPGRADE, meshUpgradeSchema, meshUpgradeSpecSchema, meshUpgradeStatusSchema } from "./schema.js";

const repo = (p: string) => new URL(`../../../${p}`, import.meta.url);

/** Every node of a schema with its path, depth first. */
function* nodes(s: OpenApiSchema, path = ""): Generator<[string, OpenApiSchema]> {
  yield [path, s];
  for (const [k, child] of Object.entries((s.properties as Record<string, OpenApiSchema>) ?? {})) {
    yield* nodes(child, `${path}.${k}`);
  }
  if (s.items) yield* nodes(s.items as OpenApiSchema, `${path}[*]`);
  if (typeof s.additionalProperties === "object") yield* nodes(s.additionalProperties as OpenApiSchema, `${path}.*`);
}

describe("the committed CRD", () => {
  test("deploy/crds/meshupgrade.yaml is exactly what scripts/gen-crd.ts generates from the schema", () => {
    const committed = readFileSync(repo("deploy/crds/meshupgrade.yaml"), "utf8");
    assert.equal(committed, meshUpgradeCrdYaml(), "stale CRD: run `npx tsx scripts/gen-crd.ts`");
  });

  test("names, scope, status subresource and printer columns are those of MeshUpgrade", () => {
    const crd = parse(meshUpgradeCrdYaml());
    assert.equal(crd.metadata.name, "meshupgrades.meshlift.io");
    assert.equal(crd.spec.scope, "Cluster");
    assert.deepEqual(crd.spec.names.shortNames, ["mu"]);
    assert.deepEqual(crd.spec.names.categories, ["meshlift"]);
    const [v] = crd.spec.versions;
    assert.equal(v.name, MESHUPGRADE.version);
    assert.deepEqual(v.subresources, { status: {} });
    assert.deepEqual(
      v.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => `${c.name}=${c.jsonPath}`),
      [
        "Stage=.status.stage",
        "From=.status.from.revision",
        "To=.spec.to.version",
        "Progress=.status.progress.summary",
        "Age=.metadata.creationTimestamp",
      ],
    );
  });
});

describe("the OpenAPI schema is structural (apiextensions.k8s.io/v1 rules)", () => {
  const schema = meshUpgradeOpenApiSchema();

  test("every node has a type or preserves unknown fields; no $ref, unions or additionalProperties:false", () => {
    let count = 0;
    for (const [path, node] of nodes(schema)) {
      count++;
      assert.ok(node.type !== undefined || node["x-kubernetes-preserve-unknown-fields"] === true, `${path}: no type`);
      for (const banned of ["$ref", "$schema", "anyOf", "oneOf", "allOf", "not", "const", "propertyNames"]) {
        assert.equal(node[banned], undefined, `${path}: ${banned}`);
      }
      assert.ok(node.additionalProperties !== false, `${path}: additionalProperties false`);
      assert.ok(!(node.properties && node.additionalProperties), `${path}: properties with additionalProperties`);
      if (typeof node.pattern === "string") assert.doesNotMatch(node.pattern, /\(\?[=!<]/, `${path}: RE2 pattern`);
      for (const bound of ["minimum", "maximum"]) {
        if (node[bound] !== undefined) assert.ok(Math.abs(node[bound] as number) < Number.MAX_SAFE_INTEGER, path);
      }
    }
    assert.ok(count > 100, `walked ${count} nodes`);
  });

  test("constraints users rely on reach the API server: minimum, enums, required and defaults", () => {
    const spec = (schema.properties as Record<string, OpenApiSchema>).spec;
    const dataPlane = (spec.properties as Record<string, OpenApiSchema>).dataPlane;
    const maxConcurrent = (dataPlane.properties as Record<string, OpenApiSchema>).maxConcurrent;
    assert.deepEqual(maxConcurrent, {
      default: 5,
      description: "Most workloads restarting at once.",
      type: "integer",
      minimum: 1,
    });
    assert.deepEqual(spec.required, ["to"]);
    const mode = ((spec.properties as any).install.properties as Record<string, OpenApiSchema>).mode;
    assert.deepEqual(mode.enum, ["Adopt", "Manifests", "Sail"]);
    const stage = (schema.properties as any).status.properties.stage;
    assert.ok((stage.enum as string[]).includes("OldControlPlaneOffline"));
    assert.ok((dataPlane.properties as any).namespaces["x-kubernetes-validations"][0].rule.includes("has(self.names)"));
  });

  test("every default in the CRD is a value the zod schema accepts there", () => {
    // the API server applies defaults before meshlift reads the object: they must parse
    const spec = (schema.properties as Record<string, OpenApiSchema>).spec;
    const defaulted = { to: { version: "1.29.6" } } as Record<string, unknown>;
    for (const [k, node] of Object.entries(spec.properties as Record<string, OpenApiSchema>)) {
      if (node.default !== undefined) defaulted[k] = node.default;
    }
    assert.ok(meshUpgradeSpecSchema.safeParse(defaulted).success);
  });
});

describe("toStructural converts JSON Schema 2020-12 into structural OpenAPI", () => {
  test("nullable, const and numeric exclusive bounds take their OpenAPI 3.0 forms", () => {
    const s = structuralSchemaOf(
      z.object({
        a: z.object({ x: z.string() }).nullable(),
        b: z.literal("X"),
        c: z.number().positive(),
        d: z.string().nullable(),
      }),
    );
    const p = s.properties as Record<string, OpenApiSchema>;
    assert.equal(p.a.nullable, true);
    assert.equal(p.a.type, "object");
    assert.deepEqual(p.b.enum, ["X"]);
    assert.deepEqual([p.c.minimum, p.c.exclusiveMinimum], [0, true]);
    assert.deepEqual([p.d.type, p.d.nullable], ["string", true]);
  });

  test("free-form values preserve unknown fields instead of having no type", () => {
    const s = structuralSchemaOf(z.object({ values: z.record(z.string(), z.unknown()), any: z.unknown() }));
    const p = s.properties as Record<string, OpenApiSchema>;
    assert.deepEqual(p.values, { type: "object", "x-kubernetes-preserve-unknown-fields": true });
    assert.deepEqual(p.any, { "x-kubernetes-preserve-unknown-fields": true });
  });

  test("unions, tuples and $ref are refused with the path, not emitted", () => {
    assert.throws(
      () => structuralSchemaOf(z.object({ u: z.union([z.string(), z.number()]) })),
      (e: unknown) => e instanceof StructuralSchemaError && e.path === ".u",
    );
    assert.throws(() => structuralSchemaOf(z.object({ t: z.tuple([z.string(), z.number()]) })), StructuralSchemaError);
    assert.throws(() => toStructural({ $ref: "#/$defs/x" }), /\$ref is not allowed/);
    assert.throws(() => toStructural({ type: "string", if: {} }), /keyword "if"/);
  });
});

describe("the sample MeshUpgrades", () => {
  for (const file of ["meshupgrade-minimal.yaml", "meshupgrade-full.yaml"]) {
    test(`deploy/examples/${file} is a MeshUpgrade the schema accepts`, () => {
      const doc = parse(readFileSync(repo(`deploy/examples/${file}`), "utf8"));
      const result = meshUpgradeSchema.safeParse(doc);
      assert.ok(result.success, result.success ? "" : z.prettifyError(result.error));
    });
  }

  test("a status the engine would write parses (status is part of the same schema)", () => {
    const status = {
      stage: "DataPlaneUpgrade",
      observedGeneration: 2,
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "WaveInProgress",
          message: "wave 1 of 3",
          lastTransitionTime: "2026-08-22T10:00:00Z",
          observedGeneration: 2,
        },
      ],
      from: { revision: "1-27-9", version: "1.27.9" },
      to: { revision: "1-28-10", version: "1.28.10" },
      findings: [
        {
          id: "naked-pod",
          severity: "warning",
          objects: [{ kind: "Pod", namespace: "a", name: "p" }],
          message: "m",
          fix: "f",
        },
      ],
      plan: {
        waves: [
          {
            index: 0,
            namespaces: ["bookinfo"],
            workloads: [{ kind: "Deployment", namespace: "bookinfo", name: "details-v1" }],
          },
        ],
      },
      progress: {
        summary: "wave 1/3, 4/20 workloads",
        namespaces: [{ name: "bookinfo", wave: 0, state: "Restarting", proxies: { old: 2, new: 4, none: 0 } }],
        workloads: [
          {
            kind: "Deployment",
            namespace: "bookinfo",
            name: "details-v1",
            wave: 0,
            state: "RolledOut",
            restartToken: "w0-abc",
            ready: "1/1",
          },
        ],
        currentWave: 0,
        completedWaves: 0,
      },
      stragglers: [{ kind: "Pod", namespace: "bookinfo", name: "debug", why: "naked pod on 1-27-9" }],
      acknowledgedAction: { action: "Proceed", nonce: "1", at: "2026-08-22T10:00:00Z" },
      history: [
        {
          time: "2026-08-22T10:00:00Z",
          actor: "alice",
          action: "RestartWorkload",
          target: { kind: "Deployment", namespace: "bookinfo", name: "details-v1" },
          reason: "wave 0",
          outcome: "Intended",
        },
      ],
    };
    const result = meshUpgradeStatusSchema.safeParse(status);
    assert.ok(result.success, result.success ? "" : z.prettifyError(result.error));
    assert.equal(meshUpgradeStatusSchema.safeParse({ ...status, stage: "Upgrading" }).success, false);
  });

  test("docs/meshupgrade.md shows both samples exactly as committed", () => {
    const docs = readFileSync(repo("docs/meshupgrade.md"), "utf8");
    for (const file of ["meshupgrade-minimal.yaml", "meshupgrade-full.yaml"]) {
      const sample = readFileSync(repo(`deploy/examples/${file}`), "utf8");
      assert.ok(docs.includes("```yaml\n" + sample + "```"), `${file} differs from its copy in the docs`);
    }
  });

  test("the CRD object and its YAML agree", () => {
    assert.deepEqual(parse(meshUpgradeCrdYaml()), meshUpgradeCrd());
  });
});
