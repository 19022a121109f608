// Pure parts of the Sail mode and of readiness: the IstioRevision Sail accepts, and when a Deployment counts as
// rolled out.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deploymentProblems } from "./readiness.js";
import { istioRevisionObject } from "./sail.js";

describe("istioRevisionObject", () => {
  test("fills in what Sail requires: v-prefixed version, values.revision = name, global.istioNamespace", () => {
    const obj = istioRevisionObject({
      name: "1-28-10",
      version: "1.28.10",
      namespace: "istio-system",
      values: { pilot: { replicaCount: 2 }, global: { hub: "registry.local/istio" } },
    });
    assert.deepEqual(obj, {
      apiVersion: "sailoperator.io/v1",
      kind: "IstioRevision",
      metadata: { name: "1-28-10" },
      spec: {
        version: "v1.28.10",
        namespace: "istio-system",
        values: {
          pilot: { replicaCount: 2 },
          revision: "1-28-10",
          global: { hub: "registry.local/istio", istioNamespace: "istio-system" },
        },
      },
    });
    assert.equal(
      istioRevisionObject({ name: "default", version: "v1.28.10", namespace: "istio-system" }).spec.values.revision,
      "",
    );
  });

  test("refuses values Sail would reject, and names that are not revision names", () => {
    assert.throws(
      () =>
        istioRevisionObject({
          name: "1-28-10",
          version: "1.28.10",
          namespace: "istio-system",
          values: { revision: "canary" },
        }),
      /values\.revision is "canary", but Sail requires it to equal the IstioRevision name \("1-28-10"\)/,
    );
    assert.throws(
      () =>
        istioRevisionObject({
          name: "1-28-10",
          version: "1.28.10",
          namespace: "istio-system",
          values: { global: { istioNamespace: "other" } },
        }),
      /global\.istioNamespace is "other".*equal spec\.namespace/,
    );
    assert.throws(
      () => istioRevisionObject({ name: "1.28.10", version: "1.28.10", namespace: "istio-system" }),
      /DNS-1123/,
    );
    assert.throws(
      () => istioRevisionObject({ name: "r", version: "latest", namespace: "istio-system" }),
      /not an Istio release/,
    );
  });
});

const deployment = (spec: Record<string, unknown>, status: Record<string, unknown>, generation = 2) => ({
  metadata: { name: "istiod-1-28-10", namespace: "istio-system", generation },
  spec,
  status,
});

describe("deploymentProblems", () => {
  test("rolled out and available: no problems", () => {
    const d = deployment(
      { replicas: 2 },
      { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
    );
    assert.deepEqual(deploymentProblems(d), []);
  });

  test("each unmet condition is its own sentence", () => {
    assert.deepEqual(deploymentProblems(deployment({ replicas: 2 }, { observedGeneration: 1 })), [
      "Deployment istio-system/istiod-1-28-10: its controller has not yet observed generation 2 (the latest spec)",
    ]);
    assert.deepEqual(deploymentProblems(deployment({ replicas: 0 }, { observedGeneration: 2 })), [
      "Deployment istio-system/istiod-1-28-10 is scaled to zero replicas — scale it up",
    ]);
    assert.deepEqual(
      deploymentProblems(
        deployment(
          { replicas: 2 },
          { observedGeneration: 2, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 },
        ),
      ),
      [
        "Deployment istio-system/istiod-1-28-10: 1 of 2 replicas run the latest template",
        "Deployment istio-system/istiod-1-28-10: 2 replica(s) of the previous template still run",
      ],
    );
    assert.deepEqual(
      deploymentProblems(deployment({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 0 })),
      ["Deployment istio-system/istiod-1-28-10: 0 of 1 replicas are ready"],
    );
  });
});
