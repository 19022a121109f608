// `upgrade start` flags → spec: what each flag writes, and flag syntax refused with the flag's name.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { selectorMatches } from "../../mesh/selectors.js";
import type { SpecError } from "../../upgrade/api/validate.js";
import { flagOf, formatSpecError, parseSelector, parseWaves, specFromFlags } from "./flags.js";

describe("specFromFlags", () => {
  test("every flag lands in its spec field; nothing else is set, so the CRD's defaults apply", () => {
    const { spec, errors } = specFromFlags({
      to: "1.28",
      revision: "canary",
      from: "1-27-9",
      filename: ["a.yaml"],
      namespaces: "bookinfo, payments",
      exclude: "tools",
      waves: "bookinfo;payments",
      canary: "bookinfo",
      maxConcurrent: "3",
      manual: true,
      tag: "prod-stable",
      gateways: "none",
      approval: "PerWave",
      offlineGrace: "1m30s",
      minReady: "0",
      prometheus: "http://prom:9090",
      onFailure: "Rollback",
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(spec, {
      to: { version: "1.28", revision: "canary" },
      from: "1-27-9",
      install: { mode: "Manifests" },
      dataPlane: {
        namespaces: { names: ["bookinfo", "payments"], exclude: ["tools"] },
        canary: ["bookinfo"],
        waves: { explicit: [["bookinfo"], ["payments"]] },
        maxConcurrent: 3,
        restart: "Manual",
        revisionTag: { name: "prod-stable" },
        gateways: { include: false },
      },
      approval: { mode: "PerWave" },
      decommission: { graceSeconds: 90 },
      verification: {
        healthGate: { minReadySeconds: 0 },
        prometheus: { url: "http://prom:9090" },
        onFailure: "Rollback",
      },
    });
    assert.deepEqual(specFromFlags({ to: "1.28.10" }).spec, { to: { version: "1.28.10" } });
  });

  test("a ConfigMap of manifests sets Manifests mode with its reference", () => {
    const { spec, errors } = specFromFlags({ to: "1.28", manifestsConfigmap: "istio-system/istio-1-28:all.yaml" });
    assert.deepEqual(errors, []);
    assert.deepEqual(spec.install, {
      mode: "Manifests",
      manifests: { configMapRef: { namespace: "istio-system", name: "istio-1-28", key: "all.yaml" } },
    });
  });

  test("flag syntax errors name the flag and say how to write it", () => {
    const cases: [Parameters<typeof specFromFlags>[0], string, RegExp][] = [
      [{ to: "1.28", waves: "bookinfo;;payments" }, "--waves", /wave 2 of "bookinfo;;payments" is empty/],
      [{ to: "1.28", waves: "bookinfo,,orders" }, "--waves", /wave 1 .* has an empty namespace name/],
      [{ to: "1.28", namespaces: "a,,b" }, "--namespaces", /has an empty item/],
      [{ to: "1.28", maxConcurrent: "five" }, "--max-concurrent", /"five" is not a whole number/],
      [{ to: "1.28", waveSize: "1.5" }, "--wave-size", /not a whole number/],
      [{ to: "1.28", offlineGrace: "soon" }, "--offline-grace", /is not a duration/],
      [{ to: "1.28", selector: "team in (a,)" }, "--selector", /empty value/],
      [{ to: "1.28", selector: "a=b=c" }, "--selector", /is not a label requirement/],
      [{ to: "1.28", install: "Adopt", filename: ["m.yaml"] }, "-f", /manifests are given but --install is Adopt/],
      [{ to: "1.28", manifestsConfigmap: "just-a-name" }, "--manifests-configmap", /NAMESPACE\/NAME/],
    ];
    for (const [flags, field, message] of cases) {
      const { errors } = specFromFlags(flags);
      assert.equal(errors.length, 1, JSON.stringify(flags));
      assert.equal(errors[0].field, field);
      assert.match(errors[0].message, message);
      assert.ok(errors[0].fix.length > 0);
    }
  });

  test("a zero --max-concurrent is passed on: the schema, not the flag parser, owns the limit", () => {
    assert.deepEqual(specFromFlags({ to: "1.28", maxConcurrent: "0" }).spec.dataPlane, { maxConcurrent: 0 });
  });
});

describe("parseSelector (kubectl -l syntax)", () => {
  test("equality, inequality, set and existence requirements", () => {
    const errors: SpecError[] = [];
    assert.deepEqual(parseSelector("team=payments,tier!=batch,env in (prod, staging),!legacy,mesh", errors), {
      matchLabels: { team: "payments" },
      matchExpressions: [
        { key: "tier", operator: "NotIn", values: ["batch"] },
        { key: "env", operator: "In", values: ["prod", "staging"] },
        { key: "legacy", operator: "DoesNotExist" },
        { key: "mesh", operator: "Exists" },
      ],
    });
    assert.deepEqual(errors, []);
  });

  test("the parsed selector matches exactly what the requirements say (property)", () => {
    const value = fc.constantFrom("a", "b", "c");
    fc.assert(
      fc.property(
        fc.record({ team: fc.option(value, { nil: undefined }), tier: fc.option(value, { nil: undefined }) }),
        (raw) => {
          const labels = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as Record<
            string,
            string
          >;
          const sel = parseSelector("team=a,tier notin (b,c)", []);
          const expected = labels.team === "a" && labels.tier !== "b" && labels.tier !== "c";
          assert.equal(selectorMatches(sel, labels), expected);
        },
      ),
    );
  });
});

test("parseWaves keeps the order of waves and of namespaces within them", () => {
  assert.deepEqual(parseWaves(" a , b ; c ", []), [["a", "b"], ["c"]]);
});

test("validator errors are shown with the flag that set the field", () => {
  assert.equal(flagOf("spec.dataPlane.waves.explicit[1][0]"), "--waves");
  assert.equal(flagOf("spec.dataPlane.namespaces.names[2]"), "--namespaces");
  assert.equal(flagOf("spec.dataPlane.namespaces"), "--namespaces/--selector");
  assert.equal(flagOf("spec.dataPlane.maxConcurrent"), "--max-concurrent");
  assert.equal(flagOf("spec.actionNonce"), null);
  assert.equal(
    formatSpecError({
      field: "spec.dataPlane.maxConcurrent",
      message: "number 0 is below the minimum 1",
      fix: "Use 1.",
    }),
    "--max-concurrent (spec.dataPlane.maxConcurrent): number 0 is below the minimum 1 — fix: Use 1.",
  );
  assert.equal(
    formatSpecError({ field: "metadata.name", message: "taken", fix: "Wait." }),
    "metadata.name: taken — fix: Wait.",
  );
});
